"""Mean average precision at IoU 0.5 (mAP@0.5), the usual score of a detector, computed step by step.

For one class, over all validation scenes:

1. Sort that class's detections by score, highest first.
2. Walk down the list. A detection is a *true positive* when it overlaps (IoU ≥ 0.5) a box of its
   class in its scene that no better detection has claimed yet (of those, the one it overlaps most);
   otherwise (no such box, or a second detection of an object already found) a *false positive*.
3. After each detection: precision = true positives so far / detections so far, and
   recall = true positives so far / boxes of the class in all scenes.
4. Average precision (AP) is the area under the precision–recall curve, with the curve first made
   non-increasing (at each recall, the best precision reachable at that recall or beyond): the
   all-point interpolation of PASCAL VOC 2010 and later.

mAP is the mean AP over the classes that have at least one box in the ground truth (a class that has
boxes but no detections scores 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from cnnviz.detect.ops import box_iou
from cnnviz.detect.postprocess import Detections

__all__ = ["MapResult", "average_precision", "match_detections", "mean_average_precision", "precision_recall"]


@dataclass(frozen=True)
class MapResult:
    mean: float  # mAP: mean AP over the classes present in the ground truth (0 when none is)
    per_class: tuple[float | None, ...]  # AP of each class; None for a class without ground-truth boxes
    iou_threshold: float


def match_detections(boxes: Tensor, scores: Tensor, truth: Tensor, iou_threshold: float = 0.5) -> Tensor:
    """Return which detections (n, 4) of one class in one scene are true positives: bool (n,).

    Detections are taken by score, highest first (ties: in the given order); each claims the
    unclaimed true box (m, 4) it overlaps most, when that IoU is at least ``iou_threshold``.
    """
    hit = torch.zeros(boxes.shape[0], dtype=torch.bool)
    if boxes.shape[0] == 0 or truth.shape[0] == 0:
        return hit
    iou = box_iou(boxes.float(), truth.float())  # (n, m)
    claimed = torch.zeros(truth.shape[0], dtype=torch.bool)
    for i in scores.argsort(descending=True, stable=True).tolist():
        free = iou[i].masked_fill(claimed, -1.0)  # boxes already found cannot be found again
        best = int(free.argmax())
        if free[best] >= iou_threshold:
            hit[i], claimed[best] = True, True
    return hit


def precision_recall(scores: Tensor, hits: Tensor, n_truth: int) -> tuple[Tensor, Tensor]:
    """Precision and recall after each detection, best score first: two (n,) float64 tensors."""
    order = scores.argsort(descending=True, stable=True)
    tp = hits[order].double().cumsum(0)  # true positives among the first i + 1 detections
    seen = torch.arange(1, len(order) + 1, dtype=torch.float64)
    return tp / seen, tp / max(n_truth, 1)


def average_precision(scores: Tensor, hits: Tensor, n_truth: int) -> float:
    """The area under the precision–recall curve made non-increasing (VOC all-point); 0 without true boxes."""
    if n_truth == 0:
        return 0.0
    precision, recall = precision_recall(scores, hits, n_truth)
    # The envelope: at each point, the best precision at this recall or any larger one.
    envelope = precision.flip(0).cummax(0).values.flip(0)
    # Sum of rectangles: each rise in recall times the envelope's precision there.
    rise = torch.diff(recall, prepend=recall.new_zeros(1))
    return float((rise * envelope).sum())


def mean_average_precision(detections: Sequence[Detections], truth_boxes: Sequence[Tensor],
                           truth_labels: Sequence[Tensor], num_classes: int,
                           iou_threshold: float = 0.5) -> MapResult:  # fmt: skip
    """mAP over scenes: ``detections[i]`` found in scene i, whose true boxes (m_i, 4) have classes (m_i,)."""
    per_class: list[float | None] = []
    for c in range(num_classes):
        scores, hits, n_truth = [], [], 0
        for found, boxes, labels in zip(detections, truth_boxes, truth_labels, strict=True):
            mine, truth = found.labels == c, boxes[labels == c]
            n_truth += truth.shape[0]
            scores.append(found.scores[mine])
            hits.append(match_detections(found.boxes[mine], found.scores[mine], truth, iou_threshold))
        all_scores = torch.cat(scores) if scores else torch.zeros(0)
        all_hits = torch.cat(hits) if hits else torch.zeros(0, dtype=torch.bool)
        per_class.append(average_precision(all_scores, all_hits, n_truth) if n_truth else None)
    present = [ap for ap in per_class if ap is not None]
    return MapResult(sum(present) / len(present) if present else 0.0, tuple(per_class), iou_threshold)
