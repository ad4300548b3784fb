"""Pay the one-time costs of a first training run in the background, once per process.

The first optimizer a process creates imports ``torch._dynamo`` (seconds on a busy 2-core machine),
and the first convolutions, batch norms and optimizer steps set up their kernels. ``start_warmup()``
does all of that in a daemon thread with a tiny model, so that a learner's first run starts at once;
pages call it from ``bootstrap()`` (it returns at once, and only the first call starts anything).
The state is one thread per process, by nature module-level: there is nothing else to keep.
"""

from __future__ import annotations

import importlib
import threading

import torch
from torch import nn

from cnnviz.train.components import _GLOBAL_RNG_LOCK

__all__ = ["start_warmup", "warmup_done"]


_START_LOCK = threading.Lock()
_DONE = threading.Event()
_THREAD: list[threading.Thread] = []  # the one warm-up thread of this process, once started


def start_warmup() -> threading.Thread:
    """Start the warm-up thread unless it was started before in this process; return it (cheap, idempotent)."""
    with _START_LOCK:
        if not _THREAD:
            thread = threading.Thread(target=_warm_up, name="cnnviz-training-warmup", daemon=True)
            _THREAD.append(thread)
            thread.start()
        return _THREAD[0]


def warmup_done(timeout: float | None = 0.0) -> bool:
    """True once the warm-up has finished (waits up to ``timeout`` seconds; None waits for it)."""
    return _DONE.wait(timeout)


def _warm_up() -> None:
    """Import what a first run imports and run one training step and one evaluation of a tiny conv net."""
    try:
        importlib.import_module("torch._dynamo")  # what the first optimizer would import

        # building draws initial weights from torch's global generator: not while a run seeds and draws its own
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(4 * 7 * 7, 2))  # fmt: skip
        x = torch.zeros(2, 3, 16, 16).contiguous(memory_format=torch.channels_last)  # (N, C, H, W)
        model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        loss = nn.functional.cross_entropy(model(x), torch.tensor([0, 1]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.eval()(x)
    finally:
        _DONE.set()
