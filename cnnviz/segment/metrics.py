"""How good a segmentation is: the pixel confusion matrix, intersection over union per class, mean IoU.

For class c, IoU = |predicted c ∩ true c| / |predicted c ∪ true c|: in the confusion matrix C
(rows: true class, columns: predicted), the diagonal C[c, c] over row sum + column sum − C[c, c].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from cnnviz.errors import ConfigError

__all__ = ["confusion_matrix", "iou_per_class", "mean_iou", "pixel_accuracy"]


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """Count the pixels of every (true class, predicted class) pair: int64 (num_classes, num_classes).

    ``pred`` and ``target`` are class indices of the same shape (any, e.g. (N, H, W)), on any device;
    row = true class, column = predicted. Raises ConfigError when the shapes differ or a value is
    outside 0…num_classes − 1.
    """
    if pred.shape != target.shape:
        raise ConfigError.from_key("errors.segment_shapes", pred="×".join(map(str, pred.shape)),
                                   target="×".join(map(str, target.shape)))  # fmt: skip
    pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
    if pred.numel() and (min(int(pred.min()), int(target.min())) < 0
                         or max(int(pred.max()), int(target.max())) >= num_classes):  # fmt: skip
        raise ConfigError.from_key("errors.segment_class_range", classes=num_classes, last=num_classes - 1)
    counts = torch.bincount(target * num_classes + pred, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes)


def iou_per_class(confusion: Tensor) -> list[float | None]:
    """Return each class's IoU from a confusion matrix; None for a class absent from prediction and truth.

    A class that is neither in the truth nor predicted anywhere has no IoU (0 / 0), and is left out
    of the mean; a class predicted but absent from the truth (or the reverse) has IoU 0.
    """
    c = confusion.double().cpu()
    inter = c.diagonal()
    union = c.sum(0) + c.sum(1) - inter
    return [None if u == 0 else float(i / u) for i, u in zip(inter.tolist(), union.tolist(), strict=True)]


def mean_iou(confusion: Tensor) -> float:
    """Return the mean IoU over the classes present in the prediction or the truth (NaN when none is).

    Classes absent from both (IoU 0 / 0) are excluded, as in the PASCAL VOC and Cityscapes
    evaluations; the background counts as a class like the others.
    """
    values = [v for v in iou_per_class(confusion) if v is not None]
    return sum(values) / len(values) if values else math.nan


def pixel_accuracy(confusion: Tensor) -> float:
    """Return the share of pixels whose predicted class is the true one (NaN for no pixels)."""
    total = int(confusion.sum())
    return int(confusion.diagonal().sum()) / total if total else math.nan
