"""What a run produced: statistics per step window and per epoch, snapshots of the first layer, the history."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from cnnviz.errors import Phrase

__all__ = ["EpochSnapshot", "EpochStats", "FeatureProjection", "History", "RunStatus", "StepStats"]


class RunStatus(StrEnum):
    FINISHED = "finished"
    EARLY_STOPPED = "early_stopped"
    STOPPED = "stopped"
    DIVERGED = "diverged"


@dataclass(frozen=True)
class StepStats:
    step: int  # optimizer steps done so far in the run
    epoch: int  # 1-based epoch the step belongs to
    loss: float  # mean training loss over the steps since the previous StepStats
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
class EpochSnapshot:
    epoch: int  # 0 = before training
    filters: np.ndarray  # (C_out, C_in, k, k) first convolution's weights, float32, read-only
    probe_maps: np.ndarray  # (C_out, H, W) first convolution's output for the probe image, read-only


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
