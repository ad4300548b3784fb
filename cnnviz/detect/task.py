"""Detection as a task of the Trainer: the anchor loss, a training score, mAP@0.5 on validation, AP per class.

``Trainer(config, data=load_scenes(..., target="boxes"), model=Detector(spec), task=DetectionTask(spec))``
trains the detector with the same loop as a classifier; the validation metric (``EpochStats.val_accuracy``)
is the mean average precision at IoU 0.5 after decoding, score threshold and per-class NMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from cnnviz.data.scenes import SCENE_CLASSES, SceneSplit, load_scenes
from cnnviz.detect.assign import detection_loss, match_anchors
from cnnviz.detect.detector import BOX_WEIGHTS, Detector, DetectorConfig
from cnnviz.detect.metrics import MapResult, mean_average_precision
from cnnviz.detect.postprocess import Detections, detect_objects
from cnnviz.errors import ConfigError
from cnnviz.train.callbacks import Monitor
from cnnviz.train.components import _GLOBAL_RNG_LOCK
from cnnviz.train.config import OptimizerName, Schedule, TrainConfig
from cnnviz.train.history import History
from cnnviz.train.tasks import Task
from cnnviz.train.trainer import Trainer

__all__ = ["DETECTION_TRAINING", "DetectionParts", "DetectionTask", "detection_parts", "detection_run", "truth_of"]


EVAL_SCORE_THRESHOLD = 0.05  # detections kept for mAP (low: AP sums over every recall level)
EVAL_IOU_THRESHOLD = 0.5  # NMS during evaluation


def truth_of(targets: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """Split padded targets (N, M, 5) into each scene's boxes (m_i, 4) and classes (m_i,), padding dropped."""
    boxes, labels = [], []
    for rows in targets.cpu():
        real = rows[rows[:, 0] >= 0]
        boxes.append(real[:, 1:])
        labels.append(real[:, 0].long())
    return boxes, labels


class DetectionTask(Task):
    """Anchor-based detection on padded box targets; the metric is mAP@0.5 (catalog ``train.metric.map50``)."""

    name = "detection"
    metric = "map50"
    augmentable = False  # flips, crops and rotations would move the objects away from their boxes

    def __init__(self, config: DetectorConfig, *, negative_ratio: float = 3.0) -> None:
        self.config = config
        self.negative_ratio = negative_ratio
        self._anchors = config.anchors()  # (A, 4) on the CPU; a copy per device in _anchors_on
        self._on: dict[torch.device, Tensor] = {}

    def _anchors_on(self, device: torch.device) -> Tensor:
        if device not in self._on:
            self._on[device] = self._anchors.to(device)
        return self._on[device]

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        anchors = self._anchors_on(output.device)
        return detection_loss(output, target, anchors, box_weights=BOX_WEIGHTS,
                              negative_ratio=self.negative_ratio).total  # fmt: skip

    def batch_score(self, output: Tensor, target: Tensor) -> tuple[Tensor, int]:
        """Per scene, the share of its positive anchors whose best class is the right one; summed over scenes."""
        with torch.no_grad():
            matches = match_anchors(self._anchors_on(output.device), target)
            positive = matches.positive  # (B, A)
            right = (output[..., 4:].argmax(-1) == matches.labels) & positive
            share = right.sum(1) / positive.sum(1).clamp(min=1)  # (B,)
        return share.sum(), int(target.shape[0])

    def check_output(self, output: Tensor, data: Any, model_name: str) -> None:
        targets = getattr(data, "train_y", None)
        if targets is None or targets.ndim != 3 or targets.shape[-1] != 5:
            raise ConfigError.from_key("errors.detector_wrong_targets")
        classes = len(data.class_names)
        if classes != self.config.num_classes:
            raise ConfigError.from_key("errors.detector_wrong_classes", model=model_name,
                                       detector=self.config.num_classes, classes=classes)  # fmt: skip
        want = (self.config.anchors_per_cell * self.config.feature_size**2, 5 + self.config.num_classes)
        if output.ndim != 3 or tuple(output.shape[1:]) != want:
            shape = "×".join(map(str, output.shape[1:]))
            raise ConfigError.from_key("errors.detector_wrong_output", model=model_name, shape=shape, anchors=want[0],
                                       columns=want[1], classes=classes)  # fmt: skip

    def detections(self, output: Tensor, **thresholds: float) -> list[Detections]:
        """The detections of every scene of ``output`` (see ``cnnviz.detect.detect_objects`` for the thresholds)."""
        return detect_objects(output, self._anchors, box_weights=BOX_WEIGHTS, image_size=self.config.image_size,
                      **thresholds)  # fmt: skip

    def evaluate(self, output: Tensor, target: Tensor) -> tuple[float, float]:
        loss = detection_loss(output, target, self._anchors_on(output.device), box_weights=BOX_WEIGHTS,
                              negative_ratio=self.negative_ratio)  # fmt: skip
        result = self._map(output, target)
        return float(loss.total), result.mean

    def _map(self, output: Tensor, target: Tensor) -> MapResult:
        found = self.detections(output, score_threshold=EVAL_SCORE_THRESHOLD, iou_threshold=EVAL_IOU_THRESHOLD)
        boxes, labels = truth_of(target)
        return mean_average_precision(found, boxes, labels, self.config.num_classes)

    def report(self, output: Tensor, target: Tensor, history: History) -> None:
        """``history.results``: "map50" and "ap50" (class name → AP, None for a class without boxes)."""
        result = self._map(output, target)
        history.results["map50"] = result.mean
        history.results["ap50"] = dict(zip(self.config.class_names, result.per_class, strict=True))


# The recipe of the Detection page (and of bench/bench_detection.py): scenes, schedule, optimizer.
DETECTION_TRAINING = TrainConfig(
    model="detector",  # a name for people: the network is built here, not by the registry
    dataset="scenes",
    n_train=2000,
    n_val=300,
    batch_size=32,
    epochs=8,
    learning_rate=3e-3,
    optimizer=OptimizerName.ADAM,
    schedule=Schedule.ONE_CYCLE,
    warmup=0.2,
    monitor=Monitor.VAL_ACCURACY,  # the best epoch is the one with the best mAP
    sync_every=5,
)


@dataclass(frozen=True)
class DetectionParts:
    """What a detection run is made of: the scenes, the detector (seeded weights) and its task."""

    data: SceneSplit
    model: Detector
    task: DetectionTask


def detection_parts(config: TrainConfig, spec: DetectorConfig | None = None, *,
                    data: SceneSplit | None = None) -> DetectionParts:  # fmt: skip
    """Draw the scenes of ``config`` (n_train, n_val, seed) unless given, and build a seeded detector for them."""
    spec = DetectorConfig(SCENE_CLASSES) if spec is None else spec
    if data is None:
        data = load_scenes(n_train=config.n_train, n_val=config.n_val, seed=config.seed, size=spec.image_size,
                           target="boxes")  # fmt: skip
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):  # the same seed gives the same weights
        torch.manual_seed(config.seed)
        model = Detector(spec)
    return DetectionParts(data, model, DetectionTask(spec))


def detection_run(config: TrainConfig = DETECTION_TRAINING, spec: DetectorConfig | None = None) -> Trainer:
    """A Trainer for a detection run (``.fit()`` trains it)."""
    parts = detection_parts(config, spec)
    return Trainer(config, data=parts.data, model=parts.model, task=parts.task)
