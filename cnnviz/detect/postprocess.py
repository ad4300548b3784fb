"""From a detector's raw output to a few boxes per scene: decode, keep the confident ones, suppress duplicates.

Per scene: every anchor's offsets are decoded into a box (:func:`cnnviz.detect.decode_boxes`) and
clipped to the image; every (anchor, class) pair whose softmax probability is at least
``score_threshold`` is a candidate; the ``max_candidates`` best go through non-maximum suppression
per class (:func:`cnnviz.detect.nms`: a box only suppresses boxes of its own class), and the
``max_detections`` best survivors are the detections.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from cnnviz.detect.anchors import decode_boxes
from cnnviz.detect.ops import nms
from cnnviz.errors import ConfigError

__all__ = ["Detections", "detect_objects", "split_output"]


@dataclass(frozen=True)
class Detections:
    """The boxes found in one scene, best first."""

    boxes: Tensor  # (n, 4) float32 x1, y1, x2, y2 in pixels
    scores: Tensor  # (n,) float32 softmax probability of the class
    labels: Tensor  # (n,) int64 object class (0 … K − 1)

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def split_output(output: Tensor, anchors: Tensor, box_weights: tuple[float, ...],
                 image_size: int) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Return the decoded, clipped boxes (B, A, 4) and the object-class probabilities (B, A, K) of an output."""
    b, a, _ = output.shape
    output = output.float()
    deltas = output[..., :4].reshape(-1, 4)
    boxes = decode_boxes(deltas, anchors.to(output.device).repeat(b, 1), box_weights).view(b, a, 4)
    probs = output[..., 4:].softmax(dim=-1)[..., 1:]  # (B, A, K) background dropped
    return boxes.clamp(0, image_size), probs


def detect_objects(output: Tensor, anchors: Tensor, *, box_weights: tuple[float, ...], image_size: int,
           score_threshold: float = 0.05, iou_threshold: float = 0.5, max_candidates: int = 100,
           max_detections: int = 20, suppress: bool = True) -> list[Detections]:  # fmt: skip
    """Turn a detector's output (B, A, 4 + K + 1) into the detections of each of its B scenes.

    ``suppress=False`` skips non-maximum suppression (what the page shows as "before NMS").
    Raises ConfigError for thresholds outside 0…1.
    """
    if not 0 <= score_threshold <= 1:
        raise ConfigError.from_key("errors.detector_score_threshold", value=score_threshold)
    if not 0 <= iou_threshold <= 1:
        raise ConfigError.from_key("errors.detect_iou_threshold", value=iou_threshold)
    boxes, probs = split_output(output, anchors, box_weights, image_size)
    k = probs.shape[-1]
    found = []
    for scene_boxes, scene_probs in zip(boxes, probs, strict=True):
        scores = scene_probs.flatten()  # (A · K,) anchor-major: pair i is anchor i // K, class i % K
        keep = (scores >= score_threshold).nonzero().flatten()
        keep = keep[scores[keep].argsort(descending=True, stable=True)[:max_candidates]]
        cand_boxes, cand_scores, cand_labels = scene_boxes[keep // k], scores[keep], keep % k
        if suppress:
            kept = _nms_per_class(cand_boxes, cand_scores, cand_labels, iou_threshold)
            cand_boxes, cand_scores, cand_labels = cand_boxes[kept], cand_scores[kept], cand_labels[kept]
        n = max_detections if suppress else max_candidates
        found.append(Detections(cand_boxes[:n].cpu(), cand_scores[:n].cpu(), cand_labels[:n].cpu()))
    return found


def _nms_per_class(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float) -> Tensor:
    """NMS in which boxes of different classes never suppress each other: one NMS per class, highest score first."""
    kept = [torch.zeros(0, dtype=torch.int64)]
    for c in labels.unique().tolist():
        mine = (labels == c).nonzero().flatten()
        kept.append(mine[nms(boxes[mine].cpu(), scores[mine].cpu(), iou_threshold)])
    kept = torch.cat(kept)
    return kept[scores[kept].argsort(descending=True, stable=True)]
