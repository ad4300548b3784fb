"""Segmentation as a task of the Trainer: per-pixel cross-entropy, pixel accuracy, mean IoU, IoU per class.

``Trainer(config, data=load_scenes(..., target="mask"), model=FCN(spec), task=SegmentationTask(K + 1))``
trains the FCN with the same loop as a classifier; the validation metric (``EpochStats.val_accuracy``)
is the mean IoU of the predicted masks (``cnnviz.segment.mean_iou``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from cnnviz.data.scenes import SCENE_CLASSES, SceneSplit, load_scenes
from cnnviz.errors import ConfigError
from cnnviz.segment.fcn import FCN, FCNConfig
from cnnviz.segment.metrics import confusion_matrix, iou_per_class, mean_iou, pixel_accuracy
from cnnviz.train.callbacks import Monitor
from cnnviz.train.components import _GLOBAL_RNG_LOCK
from cnnviz.train.config import OptimizerName, Schedule, TrainConfig
from cnnviz.train.history import History
from cnnviz.train.tasks import Task
from cnnviz.train.trainer import Trainer

__all__ = [
    "SEGMENTATION_CLASSES",
    "SEGMENTATION_TRAINING",
    "SegmentationParts",
    "SegmentationTask",
    "segmentation_parts",
    "segmentation_run",
    "seeded_fcn",
]


SEGMENTATION_CLASSES = ("background", *SCENE_CLASSES)  # mask value v is class v


class SegmentationTask(Task):
    """A class per pixel: scores (B, K + 1, H, W) against masks (B, H, W); the metric is mean IoU ("miou")."""

    name = "segmentation"
    metric = "miou"
    augmentable = False  # the Trainer's flips, crops and rotations move the images, not their masks

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes  # K + 1, background included

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(output.float(), target)  # the mean over every pixel of the batch

    def batch_score(self, output: Tensor, target: Tensor) -> tuple[Tensor, int]:
        """(right pixels, pixels): the training score is pixel accuracy."""
        return (output.detach().argmax(1) == target).sum(), int(target.numel())

    def check_output(self, output: Tensor, data: Any, model_name: str) -> None:
        size, k = int(data.image_size), len(data.class_names)
        target = getattr(data, "train_y", None)
        if target is None or target.ndim != 3 or tuple(target.shape[1:]) != (size, size):
            raise ConfigError.from_key("errors.segment_wrong_targets", size=size)
        if output.ndim != 4 or tuple(output.shape[1:]) != (self.num_classes, size, size) or k != self.num_classes:
            shape = "×".join(map(str, output.shape[1:]))
            raise ConfigError.from_key("errors.segment_wrong_output", model=model_name, shape=shape,
                                       classes=k, size=size)  # fmt: skip

    def confusion(self, output: Tensor, target: Tensor) -> Tensor:
        """The pixel confusion matrix (K + 1, K + 1) of the predicted classes (argmax of ``output``)."""
        return confusion_matrix(output.argmax(1), target, self.num_classes)

    def evaluate(self, output: Tensor, target: Tensor) -> tuple[float, float]:
        loss = F.cross_entropy(output, target).item()
        return loss, mean_iou(self.confusion(output, target))

    def report(self, output: Tensor, target: Tensor, history: History) -> None:
        """``history.confusion`` (pixels), ``history.results``: "miou", "pixel_accuracy", "iou" (class → IoU)."""
        confusion = self.confusion(output, target)
        history.confusion = confusion.cpu().numpy()
        history.results["miou"] = mean_iou(confusion)
        history.results["pixel_accuracy"] = pixel_accuracy(confusion)
        history.results["iou"] = dict(zip(history.class_names, iou_per_class(confusion), strict=True))


# The recipe of the Segmentation page (and of bench/bench_segmentation.py): scenes, schedule, optimizer.
SEGMENTATION_TRAINING = TrainConfig(
    model="fcn",  # a name for people: the network is built here, not by the registry
    dataset="scenes",
    n_train=2000,
    n_val=200,
    batch_size=16,  # more steps per scene: on a CPU, small batches reach the goal sooner
    epochs=8,
    learning_rate=4e-3,
    optimizer=OptimizerName.ADAM,
    schedule=Schedule.ONE_CYCLE,
    warmup=0.2,
    monitor=Monitor.VAL_ACCURACY,  # the best epoch is the one with the best mean IoU
    sync_every=5,
)


@dataclass(frozen=True)
class SegmentationParts:
    """What a segmentation run is made of: the scenes, the FCN (seeded weights) and its task."""

    data: SceneSplit
    model: FCN
    task: SegmentationTask


def segmentation_parts(config: TrainConfig, spec: FCNConfig | None = None, *,
                       data: SceneSplit | None = None) -> SegmentationParts:  # fmt: skip
    """Draw the scenes of ``config`` (n_train, n_val, seed) unless given, and build a seeded FCN for them."""
    spec = FCNConfig(SEGMENTATION_CLASSES) if spec is None else spec
    if data is None:
        data = load_scenes(n_train=config.n_train, n_val=config.n_val, seed=config.seed, size=spec.image_size,
                           target="mask")  # fmt: skip
    return SegmentationParts(data, seeded_fcn(spec, config.seed), SegmentationTask(spec.num_classes))


def seeded_fcn(spec: FCNConfig, seed: int) -> FCN:
    """Build an FCN whose initial weights depend on ``seed`` only (torch's global generator is left as it was)."""
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return FCN(spec)


def segmentation_run(config: TrainConfig = SEGMENTATION_TRAINING, spec: FCNConfig | None = None) -> Trainer:
    """A Trainer for a segmentation run (``.fit()`` trains it)."""
    parts = segmentation_parts(config, spec)
    return Trainer(config, data=parts.data, model=parts.model, task=parts.task)
