"""What the page shows of a network as it trains: per epoch and per layer, the filters and the feature maps of
one validation image (the probe) for every convolution, and for every convolution and linear layer a histogram of
its weights and of its gradients at the epoch's last step, with their norm.

Memory stays bounded (a finished run keeps its snapshots): at most 16 × 16 channels of filters in float16, at most
16 feature maps per layer area-downsampled to 64 × 64 and kept as uint8 levels with their scale, histograms as
counts over fixed bins (linear for weights, log-spaced for gradient magnitudes, so that a vanishing or an exploding
gradient shows as a shift by decades).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.explain.hooks import capture_activations
from cnnviz.train.history import EpochSnapshot, Histogram, LayerSnapshot, Quantized

__all__ = [
    "GRADIENT_EDGES",
    "LayerGradients",
    "MAP_SIDE",
    "MAX_CHANNELS",
    "WEIGHT_BINS",
    "gradient_summary",
    "magnitude_histogram",
    "quantize",
    "snapshot_layers",
    "take_snapshot",
    "value_histogram",
    "weight_range",
]

MAX_CHANNELS = 16  # output (and input) channels kept per layer
MAP_SIDE = 64  # feature maps larger than this are area-downsampled to fit MAP_SIDE × MAP_SIDE
WEIGHT_BINS = 51  # linear bins over ±weight_range (odd: zero sits in the middle of a bin)
WEIGHT_RANGE_FACTOR = 3.0  # weight bins span ±3/√fan_in: 3× the bound of PyTorch's default initialisation
GRADIENT_DECADES = (-12, 4)  # gradient magnitudes from 1e-12 to 1e4
GRADIENT_BINS_PER_DECADE = 4
_GRADIENT_BINS = (GRADIENT_DECADES[1] - GRADIENT_DECADES[0]) * GRADIENT_BINS_PER_DECADE
GRADIENT_EDGES = np.logspace(*GRADIENT_DECADES, _GRADIENT_BINS + 1)  # (65,) bin edges, 1e-12 … 1e4
GRADIENT_EDGES.flags.writeable = False


@dataclass(frozen=True)
class LayerGradients:
    """A layer's weight gradient at one step: its magnitudes over GRADIENT_EDGES and its L2 norm."""

    histogram: Histogram
    norm: float


def snapshot_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Return (name, module) of every ``nn.Conv2d`` and ``nn.Linear`` in definition order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def weight_range(module: nn.Conv2d | nn.Linear) -> float:
    """Half-width of the layer's weight bins: 3/√fan_in (PyTorch initialises within ±1/√fan_in)."""
    fan_in = module.weight[0].numel()  # in_channels / groups × kH × kW, or in_features
    return WEIGHT_RANGE_FACTOR / math.sqrt(max(fan_in, 1))


def value_histogram(values: torch.Tensor, limit: float, bins: int = WEIGHT_BINS) -> Histogram:
    """Counts of ``values`` over ``bins`` equal bins spanning [−limit, limit]; outside ones counted apart."""
    v = values.detach().float().flatten()
    finite = torch.isfinite(v)
    f = v[finite]
    counts = torch.histc(f, bins=bins, min=-limit, max=limit)  # values outside [−limit, limit] are left out
    below, above = int((f < -limit).sum()), int((f > limit).sum())
    edges = np.linspace(-limit, limit, bins + 1)
    return Histogram(_frozen(edges), _frozen(counts.cpu().numpy().astype(np.int64)), below, above, 0,
                     int(v.numel() - f.numel()))  # fmt: skip


def magnitude_histogram(values: torch.Tensor) -> Histogram:
    """Counts of |values| over the log-spaced GRADIENT_EDGES; zeros, tiny, huge and non-finite ones counted apart."""
    v = values.detach().float().flatten()
    finite = torch.isfinite(v)
    a = v[finite].abs()
    positive = a[a > 0]
    logs = positive.log10()
    low, high = GRADIENT_DECADES
    bins = len(GRADIENT_EDGES) - 1
    counts = torch.histc(logs, bins=bins, min=low, max=high)
    below, above = int((logs < low).sum()), int((logs > high).sum())
    zeros = int(a.numel() - positive.numel())
    return Histogram(GRADIENT_EDGES, _frozen(counts.cpu().numpy().astype(np.int64)), below, above, zeros,
                     int(v.numel() - a.numel()))  # fmt: skip


def gradient_summary(model: nn.Module) -> dict[str, LayerGradients]:
    """Summarise each conv and linear layer's weight gradient now held by ``model`` (after backward, before the step).

    Layers without a gradient (frozen) are left out. One small read-back per layer, once per epoch.
    """
    out: dict[str, LayerGradients] = {}
    for name, module in snapshot_layers(model):
        grad = module.weight.grad
        if grad is None:
            continue
        g = grad.detach().float()
        out[name] = LayerGradients(magnitude_histogram(g), float(torch.linalg.vector_norm(g)))
    return out


def quantize(values: np.ndarray) -> Quantized:
    """Keep ``values`` as uint8 levels between their minimum and maximum (each within step / 2)."""
    values = np.where(np.isfinite(values), values, 0.0)  # an overflowing activation shows as 0, not as NaN levels
    low, high = float(values.min()), float(values.max())
    step = (high - low) / 255 if high > low else 0.0
    levels = np.zeros(values.shape, np.uint8) if step == 0 else np.rint((values - low) / step).clip(0, 255)
    return Quantized(_frozen(levels.astype(np.uint8)), low, step)


def take_snapshot(
    model: nn.Module,
    probe_x: torch.Tensor,
    epoch: int,
    *,
    predict: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    gradients: dict[str, LayerGradients] | None = None,
    frozen_like: EpochSnapshot | None = None,
) -> EpochSnapshot | None:
    """The snapshot of ``model`` at the end of ``epoch``; None for a network without convolutions.

    ``probe_x`` (1, C, H, W) is the normalised probe image; ``predict(net, x)`` runs the network in eval mode
    the way the run does (autocast); ``gradients``: ``gradient_summary`` of the epoch's last step; ``frozen_like``:
    an earlier snapshot of a frozen backbone (features cached): its frozen layers are reused as they are (no
    forward pass), and only the layers that train get new weight histograms.
    """
    layers = snapshot_layers(model)
    if not any(isinstance(m, nn.Conv2d) for _, m in layers):
        return None
    gradients = gradients or {}
    if frozen_like is not None:
        return EpochSnapshot(epoch, tuple(_refresh(model, old, gradients) for old in frozen_like.layers))
    convs = [name for name, m in layers if isinstance(m, nn.Conv2d)]
    with capture_activations(model, convs) as captured, torch.no_grad():  # restores the training mode afterwards
        predict(model, probe_x)
    return EpochSnapshot(epoch, tuple(_layer(name, m, captured.get(name), gradients.get(name)) for name, m in layers))


def _refresh(model: nn.Module, old: LayerSnapshot, gradients: dict[str, LayerGradients]) -> LayerSnapshot:
    """A frozen layer's snapshot as it was; a trainable one's with its weights and gradients now."""
    if not old.trainable:
        return old
    module = model.get_submodule(old.name)
    grads = gradients.get(old.name)
    return replace(old, weights=value_histogram(module.weight, weight_range(module)),
                   gradients=grads.histogram if grads else None, grad_norm=grads.norm if grads else None)  # fmt: skip


def _layer(name: str, module: nn.Module, output: torch.Tensor | None, grads: LayerGradients | None) -> LayerSnapshot:
    """One layer's snapshot: shape, weight histogram, gradients; filters and probe maps for a convolution."""
    weight = module.weight.detach()
    hist = value_histogram(weight, weight_range(module))
    grad_hist, grad_norm = (grads.histogram, grads.norm) if grads else (None, None)
    trainable = module.weight.requires_grad
    if isinstance(module, nn.Linear):
        return LayerSnapshot(name, "linear", module.in_features, module.out_features, weights=hist,
                             gradients=grad_hist, grad_norm=grad_norm, trainable=trainable)  # fmt: skip
    kept = weight[:MAX_CHANNELS, :MAX_CHANNELS].float().cpu().numpy().astype(np.float16)  # (≤16, ≤16, kH, kW)
    maps, size = None, (0, 0)
    if output is not None:
        out = output[0, :MAX_CHANNELS].float()  # (≤16, H, W)
        size = (int(out.shape[-2]), int(out.shape[-1]))
        if max(size) > MAP_SIDE:
            out = F.adaptive_avg_pool2d(out, (min(size[0], MAP_SIDE), min(size[1], MAP_SIDE)))
        maps = quantize(out.cpu().numpy())
    return LayerSnapshot(name, "conv", module.in_channels, module.out_channels, tuple(module.kernel_size),
                         module.groups, _frozen(kept), maps, size, hist, grad_hist, grad_norm, trainable)  # fmt: skip


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array
