"""The book's weight-initialisation experiment: activations of a deep stack of layers for each initialisation.

A batch of standard-normal inputs goes through ``layers`` fully connected layers of ``units`` units
(no bias), each followed by the activation (and optionally a batch-norm layer in between). The weights
are drawn by ``torch.nn.init``; each layer's activations are collected with their histogram and
statistics. With N(0, 1) sigmoid units saturate at 0 and 1, with N(0, 0.01²) they all crowd at 0.5,
Xavier keeps them spread for sigmoid and tanh, He does the same for ReLU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch
from torch import nn

from cnnviz.errors import ConfigError

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "InitConfig",
    "InitScheme",
    "InitStudy",
    "init_weight_",
    "run_init_study",
    "weight_std",
]

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu")  # the activations the experiment offers
BINS = 30  # histogram bins, as in the book


class InitScheme(StrEnum):
    """How the weights of each layer are drawn."""

    STD_1 = "std_1"  # N(0, 1)
    STD_001 = "std_001"  # N(0, 0.01²)
    XAVIER = "xavier"  # torch.nn.init.xavier_normal_: std = √(2 / (n_in + n_out)) (= 1/√n for square layers)
    HE = "he"  # torch.nn.init.kaiming_normal_(nonlinearity="relu"): std = √(2 / n_in)


@dataclass(frozen=True)
class InitConfig:
    """One run of the experiment."""

    scheme: InitScheme = InitScheme.XAVIER  # how the weights are drawn
    activation: str = "sigmoid"  # one of HIDDEN_ACTIVATIONS
    layers: int = 5  # hidden layers
    units: int = 100  # units per layer (and input features)
    samples: int = 1000  # inputs in the batch
    batch_norm: bool = False  # a BatchNorm1d (training mode: batch statistics) before each activation
    seed: int = 0  # seeds the inputs and the weights


@dataclass(frozen=True)
class InitStudy:
    """Each layer's activations, summarised: histogram, mean, standard deviation."""

    config: InitConfig
    weight_std: float  # the standard deviation the weights are drawn with
    edges: np.ndarray  # (BINS + 1,) histogram bin edges, shared by every layer
    counts: np.ndarray  # (layers, BINS) activations per bin (ReLU: zeros left out)
    means: np.ndarray  # (layers,) mean activation of each layer
    stds: np.ndarray  # (layers,) standard deviation of each layer's activations
    zero_share: np.ndarray  # (layers,) fraction of exact zeros (units switched off by ReLU)


def weight_std(scheme: InitScheme, fan_in: int, fan_out: int) -> float:
    """Return the standard deviation ``scheme`` draws the weights of a fan_in → fan_out layer with."""
    scheme = InitScheme(scheme)
    if scheme is InitScheme.STD_1:
        return 1.0
    if scheme is InitScheme.STD_001:
        return 0.01
    if scheme is InitScheme.XAVIER:
        return math.sqrt(2.0 / (fan_in + fan_out))
    return math.sqrt(2.0 / fan_in)


def init_weight_(weight: torch.Tensor, scheme: InitScheme, *, generator: torch.Generator) -> torch.Tensor:
    """Fill a (fan_out, fan_in) weight in place with ``torch.nn.init``'s function for ``scheme``."""
    scheme = InitScheme(scheme)
    if scheme is InitScheme.XAVIER:
        return nn.init.xavier_normal_(weight, generator=generator)
    if scheme is InitScheme.HE:
        return nn.init.kaiming_normal_(weight, nonlinearity="relu", generator=generator)
    return nn.init.normal_(weight, 0.0, weight_std(scheme, 1, 1), generator=generator)


def _activation(name: str) -> nn.Module:
    if name not in HIDDEN_ACTIVATIONS:
        raise ConfigError.from_key("errors.unknown_hidden_activation", name=name, known=", ".join(HIDDEN_ACTIVATIONS))
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[name]()


def _check(config: InitConfig) -> None:
    for name, value, low, high in (("layers", config.layers, 1, 20), ("units", config.units, 2, 1000),
                                   ("samples", config.samples, 2, 20000)):  # fmt: skip
        if not low <= value <= high:
            raise ConfigError.from_key("errors.init_setting_range", name=name, value=value, low=low, high=high)


def _layer_activations(config: InitConfig) -> list[np.ndarray]:
    """Run the stack once and return each layer's activations, (samples, units) each."""
    generator = torch.Generator().manual_seed(config.seed)
    z = torch.randn(config.samples, config.units, generator=generator)  # (N, units)
    outputs = []
    with torch.no_grad():
        for _ in range(config.layers):
            linear = nn.Linear(config.units, config.units, bias=False)
            init_weight_(linear.weight, config.scheme, generator=generator)
            z = linear(z)
            if config.batch_norm:
                z = nn.BatchNorm1d(config.units).train()(z)  # normalised by this batch's mean and variance
            z = _activation(config.activation)(z)
            outputs.append(z.numpy().astype(np.float64))
    return outputs


def _histogram_range(activation: str, outputs: list[np.ndarray]) -> tuple[float, float]:
    """Sigmoid: (0, 1); tanh: (−1, 1); ReLU: 0 to the largest 99th percentile of the layers' positive values."""
    if activation == "sigmoid":
        return 0.0, 1.0
    if activation == "tanh":
        return -1.0, 1.0
    tops = [np.percentile(a[a > 0], 99) for a in outputs if np.any(a > 0)]
    return 0.0, float(max(tops)) if tops and max(tops) > 0 else 1.0


def run_init_study(config: InitConfig) -> InitStudy:
    """Run the experiment; return every layer's histogram (shared bins), mean and standard deviation.

    Raises ConfigError for an unknown activation or a size out of range.
    """
    _check(config)
    _activation(config.activation)
    outputs = _layer_activations(config)
    low, high = _histogram_range(config.activation, outputs)
    edges = np.linspace(low, high, BINS + 1)
    relu = config.activation == "relu"
    counts = np.stack([np.histogram(a[a != 0] if relu else a, bins=edges)[0] for a in outputs])
    return InitStudy(
        config=config,
        weight_std=weight_std(config.scheme, config.units, config.units),
        edges=edges,
        counts=counts,
        means=np.array([a.mean() for a in outputs]),
        stds=np.array([a.std() for a in outputs]),
        zero_share=np.array([np.mean(a == 0) for a in outputs]),
    )
