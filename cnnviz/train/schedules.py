"""The learning rate at every step of a run, before it starts: the Trainer's own scheduler stepped on a dummy.

``lr_curve`` builds the optimizer and scheduler the Trainer builds (``components._make_optimizer`` and
``_make_scheduler``) for one dummy parameter and steps them as a run would, so the curve a page draws is the
schedule the run will follow, not a formula that could drift from it.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import torch

from cnnviz.train.components import _make_optimizer, _make_scheduler
from cnnviz.train.config import TrainConfig, split_sizes

__all__ = ["lr_curve", "run_steps", "steps_per_epoch"]

SCHEDULER_FIRST = "Detected call of `lr_scheduler.step()` before `optimizer.step()`"  # torch's warning, not ours


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps in one epoch over ``n_train`` images: full batches only, and at least one.

    The images a last, partial batch would hold wait for another epoch's shuffle (every step then has the same
    weight in the schedule and in the averages); fewer images than one batch make one smaller batch.
    """
    return max(n_train // batch_size, 1)


def run_steps(config: TrainConfig, given: tuple[int, int] | None = None) -> tuple[int, int]:
    """Return (steps per epoch, steps in all) of one model of the run (``given``: see ``config.split_sizes``).

    Raises ConfigError when the images cannot be split as the config asks.
    """
    per_epoch = steps_per_epoch(split_sizes(config, given)[0], config.batch_size)
    return per_epoch, per_epoch * config.epochs


def lr_curve(config: TrainConfig, steps_per_epoch: int) -> np.ndarray:
    """Return the learning rate of every optimizer step of the run, shape (epochs × steps_per_epoch,).

    Entry ``i`` is the rate optimizer step ``i + 1`` uses (the first is the rate before any scheduler
    step). The schedule is defined over the run, so fewer steps per epoch draw the same shape in epochs
    at a coarser grain (a page may pass fewer for a very long run).
    """
    total = steps_per_epoch * config.epochs
    weight = torch.nn.Parameter(torch.zeros(1))
    opt = _make_optimizer(config, [weight])
    scheduler = _make_scheduler(config, opt, total, steps_per_epoch)
    rates = np.empty(total)
    with warnings.catch_warnings():  # the optimizer never steps here: nothing to learn, only the rates to read
        warnings.filterwarnings("ignore", re.escape(SCHEDULER_FIRST), UserWarning)
        for i in range(total):
            rates[i] = opt.param_groups[0]["lr"]
            if scheduler is not None:
                scheduler.step()
    return rates
