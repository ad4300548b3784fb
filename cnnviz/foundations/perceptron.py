"""Perceptrons as logic gates, why XOR needs two layers, and a 2-2-1 network that learns XOR.

A perceptron outputs 1 when w₁x₁ + w₂x₂ + b > 0, else 0 (the book's convention). :func:`gate_outputs`
computes its truth table over the four inputs; :func:`separating_weights` searches a grid of weights and
biases for the ones that compute a given table (none for XOR); :func:`xor_by_layers` wires NAND and OR
into AND. :func:`train_xor_network` trains a 2-2-1 sigmoid network on XOR with ``torch.autograd`` and
:func:`train_xor_numpy` the same network from scratch in NumPy (backpropagation written out, as the
book does), both from the same start, recording snapshots for the decision regions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from cnnviz.errors import ConfigError

__all__ = [
    "BOOK_GATES",
    "GATE_INPUTS",
    "GATE_TARGETS",
    "XorSnapshot",
    "decision_line",
    "gate_outputs",
    "network_outputs",
    "separating_weights",
    "train_xor_network",
    "train_xor_numpy",
    "xor_by_layers",
]

GATE_INPUTS = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float64)  # (4, 2) rows (x₁, x₂)
GATE_TARGETS: dict[str, np.ndarray] = {
    "and": np.array([0, 0, 0, 1]),
    "or": np.array([0, 1, 1, 1]),
    "nand": np.array([1, 1, 1, 0]),
    "xor": np.array([0, 1, 1, 0]),
}
BOOK_GATES: dict[str, tuple[float, float, float]] = {  # (w₁, w₂, b) as "Deep Learning from Scratch" chooses them
    "and": (0.5, 0.5, -0.7),
    "or": (0.5, 0.5, -0.2),
    "nand": (-0.5, -0.5, 0.7),
}


def gate_outputs(w1: float, w2: float, b: float, inputs: np.ndarray = GATE_INPUTS) -> np.ndarray:
    """The perceptron's outputs (N,) for ``inputs`` (N, 2): 1 where w₁x₁ + w₂x₂ + b > 0, else 0."""
    return (inputs @ np.array([w1, w2]) + b > 0).astype(np.int64)


def decision_line(w1: float, w2: float, b: float, x_range: tuple[float, float]) -> np.ndarray | None:
    """Two points (2, 2) of the line w₁x₁ + w₂x₂ + b = 0 spanning ``x_range``; None when w₁ = w₂ = 0 (no line)."""
    lo, hi = x_range
    if w2 != 0:
        return np.array([[lo, -(w1 * lo + b) / w2], [hi, -(w1 * hi + b) / w2]])
    if w1 != 0:
        return np.array([[-b / w1, lo], [-b / w1, hi]])
    return None


def separating_weights(targets: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Every (w₁, w₂, b) with each value taken from ``grid`` whose perceptron computes ``targets`` (4,).

    Returns (M, 3); M = 0 means no perceptron on the grid computes the table (XOR's case).
    """
    w1, w2, b = (a.ravel() for a in np.meshgrid(grid, grid, grid, indexing="ij"))
    sums = GATE_INPUTS[:, :1] * w1 + GATE_INPUTS[:, 1:] * w2 + b  # (4, M)
    ok = ((sums > 0).astype(np.int64) == np.asarray(targets)[:, None]).all(axis=0)
    return np.stack([w1[ok], w2[ok], b[ok]], axis=1)


def xor_by_layers(inputs: np.ndarray = GATE_INPUTS) -> dict[str, np.ndarray]:
    """XOR as two layers of the book's gates: s₁ = NAND(x), s₂ = OR(x), y = AND(s₁, s₂). Returns each (N,)."""
    s1 = gate_outputs(*BOOK_GATES["nand"], inputs)
    s2 = gate_outputs(*BOOK_GATES["or"], inputs)
    y = gate_outputs(*BOOK_GATES["and"], np.stack([s1, s2], axis=1).astype(np.float64))
    return {"s1": s1, "s2": s2, "y": y}


# --- a 2-2-1 network learning XOR -----------------------------------------------------------------------


@dataclass(frozen=True)
class XorSnapshot:
    step: int  # gradient steps taken
    loss: float  # mean binary cross-entropy on the four inputs
    w1: np.ndarray  # (2, 2) input → hidden, rows are hidden units
    b1: np.ndarray  # (2,)
    w2: np.ndarray  # (1, 2) hidden → output
    b2: np.ndarray  # (1,)


def _start(seed: int) -> list[np.ndarray]:
    """The shared start: weights N(0, 1), biases 0 (the same for the torch and the NumPy version)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1, (2, 2)), np.zeros(2), rng.normal(0, 1, (1, 2)), np.zeros(1)]


def _check_training(lr: float, steps: int, every: int) -> None:
    if not (math.isfinite(lr) and lr > 0) or int(steps) != steps or steps < 1 or every < 1:
        raise ConfigError.from_key("errors.xor_training", lr=lr, steps=steps)


def network_outputs(snapshot: XorSnapshot, inputs: np.ndarray) -> np.ndarray:
    """The network's output probabilities (N,) for ``inputs`` (N, 2): σ(W₂ σ(W₁x + b₁) + b₂)."""
    hidden = 1 / (1 + np.exp(-(inputs @ snapshot.w1.T + snapshot.b1)))  # (N, 2)
    return (1 / (1 + np.exp(-(hidden @ snapshot.w2.T + snapshot.b2))))[:, 0]


def train_xor_network(*, lr: float = 2.0, steps: int = 2000, every: int = 50, seed: int = 0) -> list[XorSnapshot]:
    """Train the 2-2-1 sigmoid network on XOR by full-batch gradient descent (torch autograd, torch.optim.SGD).

    Returns snapshots at step 0, every ``every`` steps and at the end; the loss is that of the snapshot's weights.
    """
    _check_training(lr, steps, every)
    params = [torch.tensor(a, requires_grad=True) for a in _start(seed)]
    x = torch.tensor(GATE_INPUTS)
    t = torch.tensor(GATE_TARGETS["xor"], dtype=torch.float64)
    opt = torch.optim.SGD(params, lr=lr)
    snapshots = []
    for step in range(int(steps) + 1):
        w1, b1, w2, b2 = params
        logit = (torch.sigmoid(x @ w1.T + b1) @ w2.T + b2)[:, 0]  # (4,)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, t)
        if step % every == 0 or step == steps:
            snapshots.append(XorSnapshot(step, loss.item(), *(p.detach().numpy().copy() for p in params)))
        if step == steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return snapshots


def train_xor_numpy(*, lr: float = 2.0, steps: int = 2000, every: int = 50, seed: int = 0) -> list[XorSnapshot]:
    """The same training from scratch in NumPy: forward pass, backpropagation by hand, the SGD update."""
    _check_training(lr, steps, every)
    w1, b1, w2, b2 = _start(seed)
    t = GATE_TARGETS["xor"].astype(np.float64)
    snapshots = []
    for step in range(int(steps) + 1):
        h = 1 / (1 + np.exp(-(GATE_INPUTS @ w1.T + b1)))  # (4, 2) hidden activations
        y = 1 / (1 + np.exp(-(h @ w2.T + b2)))[:, 0]  # (4,) output probabilities
        loss = -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))
        if step % every == 0 or step == steps:
            snapshots.append(XorSnapshot(step, float(loss), w1.copy(), b1.copy(), w2.copy(), b2.copy()))
        if step == steps:
            break
        d_out = ((y - t) / len(t))[:, None]  # (4, 1) ∂loss/∂logit for sigmoid + cross-entropy
        d_hidden = (d_out @ w2) * h * (1 - h)  # (4, 2) back through W₂ and the hidden sigmoid
        w2, b2 = w2 - lr * d_out.T @ h, b2 - lr * d_out.sum(axis=0)
        w1, b1 = w1 - lr * d_hidden.T @ GATE_INPUTS, b1 - lr * d_hidden.sum(axis=0)
    return snapshots
