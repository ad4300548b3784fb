"""Batch normalisation and dropout: the book's NumPy forward passes, a short real training run, dropout masks.

- :func:`batch_norm_forward`: the book's batch norm in NumPy (equals ``nn.BatchNorm1d`` in training mode);
- :func:`train_with_and_without_bn`: the same deep MLP trained on digits with and without batch norm;
- :func:`dropout_layer`: one layer's mask and its outputs in training and at inference (PyTorch's
  inverted dropout and the book's scaled-at-inference form);
- :func:`dropout_ensemble`: a network trained with dropout, the average prediction of several random
  masks against the one prediction of the scaled (inference-mode) network.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.data import make_digits
from cnnviz.errors import ConfigError
from cnnviz.foundations.init_study import InitScheme, init_weight_

__all__ = [
    "BNRun",
    "BNTrainConfig",
    "DropoutEnsemble",
    "DropoutLayer",
    "batch_norm_forward",
    "digit_vectors",
    "dropout_ensemble",
    "dropout_layer",
    "single_threaded",
    "train_with_and_without_bn",
]


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch on one thread inside the block, then restore the thread count.

    The networks here are tiny: on a busy 2-core machine a second thread makes each step wait for it
    (measured: 100 SGD steps of a 784-100×5-10 MLP took 15 s on 2 threads, 0.8 s on one, at load 8).
    """
    was = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(was)


def batch_norm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise a batch (N, D) by its own mean and variance, then scale and shift: γ·x̂ + β (the book's forward).

    Returns (output (N, D), batch mean (D,), batch variance (D,), the biased one, as the book and PyTorch use).
    """
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=0)  # (D,)
    var = ((x - mu) ** 2).mean(axis=0)  # (D,)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta, mu, var


def digit_vectors(n: int, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` procedural digits as flat float vectors in [0, 1]: (n, 784), and their labels (n,)."""
    images, labels = make_digits(n, seed=seed)
    x = torch.from_numpy(images.reshape(n, -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels)


@dataclass(frozen=True)
class BNTrainConfig:
    """The short training run that compares a network with and without batch norm (the book's experiment)."""

    scheme: InitScheme = InitScheme.STD_001  # how the weights are drawn
    epochs: int = 10  # passes over the training digits
    samples: int = 1000  # training digits, as in the book
    layers: int = 5  # hidden layers of 100 ReLU units
    lr: float = 0.01  # plain SGD's learning rate, as in the book
    batch_size: int = 100
    seed: int = 0


@dataclass(frozen=True)
class BNRun:
    """Training accuracy and loss after each epoch, for both networks (index 0: before training)."""

    config: BNTrainConfig
    accuracy: dict[bool, np.ndarray]  # batch_norm → (epochs + 1,) accuracy on the training digits
    loss: dict[bool, np.ndarray]  # batch_norm → (epochs + 1,) mean cross-entropy on the training digits


def _mlp(layers: int, *, batch_norm: bool, scheme: InitScheme, dropout: float, generator: torch.Generator) -> nn.Module:
    """784 → layers × 100 (ReLU, optional BatchNorm1d before it, optional Dropout after it) → 10."""
    blocks: list[nn.Module] = []
    width = 784
    for _ in range(layers):
        linear = nn.Linear(width, 100)
        init_weight_(linear.weight, scheme, generator=generator)
        nn.init.zeros_(linear.bias)
        blocks += [linear, *([nn.BatchNorm1d(100)] if batch_norm else []), nn.ReLU()]
        blocks += [nn.Dropout(dropout)] if dropout > 0 else []
        width = 100
    head = nn.Linear(width, 10)
    init_weight_(head.weight, scheme, generator=generator)
    nn.init.zeros_(head.bias)
    return nn.Sequential(*blocks, head)


def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
    model.train()
    return float((logits.argmax(1) == y).float().mean()), float(nn.functional.cross_entropy(logits, y))


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: BNTrainConfig) -> tuple[list, list]:
    """Plain mini-batch SGD; return the accuracy and loss on the training digits before and after each epoch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    order = torch.Generator().manual_seed(config.seed + 1)
    first_acc, first_loss = _evaluate(model, x, y)
    acc, loss = [first_acc], [first_loss]
    for _ in range(config.epochs):
        for batch in torch.randperm(len(x), generator=order).split(config.batch_size):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        a, c = _evaluate(model, x, y)
        acc.append(a)
        loss.append(c)
    return acc, loss


def train_with_and_without_bn(config: BNTrainConfig) -> BNRun:
    """Train the same MLP (same initial weights) with and without batch norm; seconds on a CPU."""
    if not 1 <= config.epochs <= 50:
        raise ConfigError.from_key("errors.init_setting_range", name="epochs", value=config.epochs, low=1, high=50)
    x, y = digit_vectors(config.samples, seed=config.seed)
    accuracy, loss = {}, {}
    for batch_norm in (False, True):
        generator = torch.Generator().manual_seed(config.seed)
        model = _mlp(config.layers, batch_norm=batch_norm, scheme=config.scheme, dropout=0.0, generator=generator)
        with single_threaded():
            acc, cost = _train(model, x, y, config)
        accuracy[batch_norm], loss[batch_norm] = np.array(acc), np.array(cost)
    return BNRun(config, accuracy, loss)


@dataclass(frozen=True)
class DropoutLayer:
    """One small layer's activations under one dropout mask."""

    p: float  # the probability of switching a unit off
    x: np.ndarray  # (units,) the layer's activations
    keep: np.ndarray  # (units,) bool: True where the unit stays on
    train_inverted: np.ndarray  # PyTorch in training: x · mask / (1 − p)
    eval_inverted: np.ndarray  # PyTorch at inference: x unchanged
    train_book: np.ndarray  # the book in training: x · mask
    eval_book: np.ndarray  # the book at inference: x · (1 − p)


def _check_p(p: float) -> None:
    if not 0.0 <= p < 1.0:
        raise ConfigError.from_key("errors.dropout_p_range", p=p)


def dropout_layer(p: float, *, units: int = 10, seed: int = 0) -> DropoutLayer:
    """Draw a layer's activations (uniform on [0, 1], 2 decimals) and one mask that keeps each unit with 1 − p.

    Both dropout conventions are applied to the activations; the activations depend only on ``units``.
    """
    _check_p(p)
    x = np.round(np.random.default_rng(units).random(units), 2)  # (units,)
    generator = torch.Generator().manual_seed(seed)
    keep = (torch.rand(units, generator=generator) >= p).numpy()
    return DropoutLayer(p, x, keep, x * keep / (1 - p), x.copy(), x * keep, x * (1 - p))


@dataclass(frozen=True)
class DropoutEnsemble:
    """A network trained with dropout: predictions of random masks against the scaled network, for one digit."""

    p: float
    label: int  # the digit's true class
    mask_probs: np.ndarray  # (masks, 10) softmax of the network under each random mask
    running_mean: np.ndarray  # (masks, 10) average of the first k masks' predictions, k = 1..masks
    scaled_probs: np.ndarray  # (10,) softmax of the network at inference (no mask, PyTorch's scaling)
    gap: np.ndarray  # (masks,) largest |average of k masks − scaled network| over the classes
    image: np.ndarray  # (28, 28) the digit


def dropout_ensemble(
    p: float, *, masks: int = 30, epochs: int = 5, samples: int = 1000, index: int = 0, seed: int = 0
) -> DropoutEnsemble:
    """Train a 2-hidden-layer MLP with dropout ``p`` on ``samples`` digits, then predict digit ``index`` with masks."""
    _check_p(p)
    x, y = digit_vectors(samples, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    model = _mlp(2, batch_norm=False, scheme=InitScheme.HE, dropout=p, generator=generator)
    torch.manual_seed(seed)  # nn.Dropout draws its masks from the global generator
    sample = x[index % len(x)][None]  # (1, 784)
    with single_threaded():
        _train(model, x, y, BNTrainConfig(epochs=epochs, lr=0.1, seed=seed))
        with torch.no_grad():
            model.train()  # dropout on: a new random mask on every call
            mask_probs = torch.cat([model(sample).softmax(1) for _ in range(masks)]).numpy()
            model.eval()
            scaled = model(sample).softmax(1)[0].numpy()
    running = np.cumsum(mask_probs, axis=0) / np.arange(1, masks + 1)[:, None]
    gap = np.abs(running - scaled).max(axis=1)
    return DropoutEnsemble(p, int(y[index % len(x)]), mask_probs, running, scaled, gap, sample.reshape(28, 28).numpy())
