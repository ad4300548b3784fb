"""What a run produced: statistics per step window and per epoch, per-epoch snapshots of every layer, the history."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from cnnviz.errors import Phrase

__all__ = [
    "EpochSnapshot",
    "EpochStats",
    "FeatureProjection",
    "Histogram",
    "History",
    "LayerSnapshot",
    "Quantized",
    "RunStatus",
    "StepStats",
]


class RunStatus(StrEnum):
    FINISHED = "finished"
    EARLY_STOPPED = "early_stopped"
    STOPPED = "stopped"
    DIVERGED = "diverged"


@dataclass(frozen=True)
class StepStats:
    step: int  # optimizer steps done so far in the run
    epoch: int  # 1-based epoch the step belongs to
    loss: float  # mean training loss of the window since the previous StepStats (NaN/inf: a finite marker, step_window)
    accuracy: float  # training accuracy over the same window, in [0, 1]
    lr: float  # learning rate of the first parameter group
    samples_per_s: float  # training images per second over the window (pauses excluded)
    grad_norm: float  # L2 norm of all gradients at the last step of the window


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    lr: float
    samples_per_s: float  # training images per second over the epoch (pauses excluded)
    seconds: float  # wall time of the epoch, validation included, pauses excluded
    grad_norm: float  # gradient norm at the epoch's last synchronised step


@dataclass(frozen=True)
class Quantized:
    """An array kept as 256 levels with its scale (a quarter of float32's memory): values ≈ low + levels × step."""

    levels: np.ndarray  # uint8, read-only, any shape
    low: float  # the value of level 0 (the array's minimum)
    step: float  # the value between two levels ((max − min) / 255; 0 for a constant array)

    def values(self) -> np.ndarray:
        """The array as float32 (read-only); each value within step / 2 of the one quantised."""
        out = (self.low + self.levels.astype(np.float32) * np.float32(self.step)).astype(np.float32)
        out.flags.writeable = False
        return out


@dataclass(frozen=True)
class Histogram:
    """Counts over fixed bins; what falls outside them is counted apart so that nothing disappears silently."""

    edges: np.ndarray  # (B + 1,) float64 bin edges, increasing (log-spaced for gradient magnitudes)
    counts: np.ndarray  # (B,) int64
    below: int = 0  # finite values under edges[0] (for magnitudes: above zero but under the first edge)
    above: int = 0  # finite values over edges[-1]
    zeros: int = 0  # exact zeros (magnitudes only: a log axis has no place for them)
    nonfinite: int = 0  # NaN or ±inf

    @property
    def total(self) -> int:
        return int(self.counts.sum()) + self.below + self.above + self.zeros + self.nonfinite


@dataclass(frozen=True)
class LayerSnapshot:
    """One convolution or linear layer at the end of an epoch: what the page shows of it."""

    name: str  # module name in the model ("features.0")
    kind: str  # "conv" or "linear"
    in_channels: int  # input channels (in_features for a linear layer)
    out_channels: int  # output channels (out_features)
    kernel_size: tuple[int, int] = (1, 1)  # (kH, kW); (1, 1) for a linear layer
    groups: int = 1
    filters: np.ndarray | None = None  # conv: (≤16, ≤16, kH, kW) float16, read-only: the first output × input channels
    maps: Quantized | None = None  # conv: the probe's output (≤16, h, w), area-downsampled to at most 64 × 64
    map_size: tuple[int, int] = (0, 0)  # (H, W) of the output before downsampling
    weights: Histogram | None = None  # the weight values over ±3/√fan_in (3× PyTorch's default init bound)
    gradients: Histogram | None = None  # |∂loss/∂weight| at the epoch's last step, log-spaced bins (None at epoch 0)
    grad_norm: float | None = None  # L2 norm of the weight's gradient at that step
    trainable: bool = True  # False for a frozen layer (transfer learning)


@dataclass(frozen=True)
class EpochSnapshot:
    epoch: int  # 0 = before training
    layers: tuple[LayerSnapshot, ...] = ()  # every convolution and linear layer, in definition order

    @property
    def convs(self) -> tuple[LayerSnapshot, ...]:
        return tuple(layer for layer in self.layers if layer.kind == "conv")

    @property
    def filters(self) -> np.ndarray:
        """(C_out, C_in, k, k) the first convolution's weights (its first 16 × 16 channels), float32, read-only."""
        out = self.convs[0].filters.astype(np.float32)
        out.flags.writeable = False
        return out

    @property
    def probe_maps(self) -> np.ndarray:
        """(C_out, H, W) the first convolution's output for the probe image (≤ 16 channels), read-only."""
        return self.convs[0].maps.values()

    def layer(self, name: str) -> LayerSnapshot | None:
        return next((layer for layer in self.layers if layer.name == name), None)


@dataclass(frozen=True)
class FeatureProjection:
    """A frozen backbone's features of every image in 2-D (transfer learning over cached features)."""

    points: np.ndarray  # (N_train + N_val, 2) float32: the first two principal components, training images first
    labels: np.ndarray  # (N_train + N_val,) int64 true class
    is_val: np.ndarray  # (N_train + N_val,) bool: a validation image
    dims: int  # length of one feature vector (1,280 for EfficientNet-Lite0)
    explained: tuple[float, float]  # share of the training features' variance along each of the two axes
    frozen_params: int  # parameters of the backbone, not trained
    head_params: int  # parameters of the new head, the only ones trained


@dataclass
class History:
    """Everything a run produced; grows while ``fit`` runs (jobs copy it into immutable snapshots)."""

    epochs: list[EpochStats] = field(default_factory=list)
    steps: list[StepStats] = field(default_factory=list)
    snapshots: list[EpochSnapshot] = field(default_factory=list)
    status: RunStatus | None = None  # None while running
    message: Phrase | None = None  # why the run stopped early (diverged, early stopping, stopped by the user)
    last_good_epoch: int = 0  # last epoch whose losses were finite; the model holds its weights after a divergence
    class_names: tuple[str, ...] = ()
    probe_index: int = 0  # validation image used for the probe feature maps
    confusion: np.ndarray | None = None  # (K, K) counts, rows = true class, columns = predicted
    misclassified: tuple[int, ...] = ()  # validation indices, most confident mistakes first
    misclassified_pred: tuple[int, ...] = ()  # predicted class of each misclassified image
    features: FeatureProjection | None = None  # transfer learning over cached features: the features in 2-D
    metric: str = "accuracy"  # what EpochStats.val_accuracy holds for this run's task (catalog train.metric.<metric>)
    results: dict[str, Any] = field(default_factory=dict)  # a task's own end-of-run results (per-class IoU, AP, ...)
