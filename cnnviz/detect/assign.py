"""How a one-stage detector learns: which anchor should find which object, and the loss, written out.

1. **Matching.** Every anchor is compared (IoU) with every object of its scene. An anchor whose best
   IoU is at least ``positive_iou`` (0.5) is a *positive*: it should say that object's class and move
   onto its box. One whose best IoU is below ``negative_iou`` (0.4) is a *negative*: it should say
   "background". The ones in between are ignored (neither clearly on nor clearly off an object). So
   that no object is left without an anchor, each object's best anchor is made positive too.
2. **Classification loss.** Cross-entropy over K + 1 classes (class 0 of the targets = background).
   A scene has a few positives and hundreds of negatives, most of them trivially empty: only the
   hardest negatives count, ``negative_ratio`` (3) of them per positive (SSD's hard-negative mining).
3. **Box loss.** For positives only: smooth-L1 between the predicted offsets and the offsets that
   move the anchor exactly onto its object (:func:`cnnviz.detect.encode_boxes`).

Both losses are summed and divided by the number of positives: ``loss = classification + box``.
Targets are padded rows ``[class, x1, y1, x2, y2]`` (N, M, 5), class −1 for padding (``cnnviz.data.pad_targets``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from cnnviz.detect.anchors import encode_boxes
from cnnviz.detect.ops import box_iou

__all__ = ["IGNORED", "DetectionLoss", "Matches", "detection_loss", "match_anchors"]


IGNORED = -1  # the target class of an anchor that is neither positive nor negative


@dataclass(frozen=True)
class Matches:
    """What every anchor of every scene should predict."""

    labels: Tensor  # (B, A) int64: 0 background, k + 1 for object class k, IGNORED (-1) for "do not care"
    objects: Tensor  # (B, A) int64: the index (into the M target rows) of each anchor's best object
    iou: Tensor  # (B, A) float: that best IoU (0 for a scene without objects)

    @property
    def positive(self) -> Tensor:
        return self.labels > 0  # (B, A)


@dataclass(frozen=True)
class DetectionLoss:
    """The loss of a batch, in its parts (each a scalar tensor)."""

    classification: Tensor
    box: Tensor
    positives: int  # positive anchors in the batch (the loss is divided by it)

    @property
    def total(self) -> Tensor:
        return self.classification + self.box


def match_anchors(anchors: Tensor, targets: Tensor, *, positive_iou: float = 0.5,
                  negative_iou: float = 0.4) -> Matches:  # fmt: skip
    """Assign each anchor (A, 4) a target class from the padded targets (B, M, 5): see the module's step 1."""
    b, m, _ = targets.shape
    valid = targets[..., 0] >= 0  # (B, M) real objects, not padding
    iou = box_iou(targets[..., 1:].reshape(-1, 4), anchors).view(b, m, -1)  # (B, M, A)
    iou = iou.masked_fill(~valid[..., None], -1.0)  # padding overlaps nothing
    best_iou, objects = iou.max(dim=1)  # (B, A) each anchor's best object
    classes = targets[..., 0].long().gather(1, objects)  # (B, A) that object's class
    labels = torch.full_like(objects, IGNORED)
    labels[best_iou < negative_iou] = 0
    labels = torch.where(best_iou >= positive_iou, classes + 1, labels)
    # Every object keeps at least its best anchor, even a small one that no anchor covers at IoU 0.5.
    best_anchor = iou.argmax(dim=2)  # (B, M)
    scene, row = valid.nonzero(as_tuple=True)
    anchor = best_anchor[scene, row]
    objects[scene, anchor] = row
    labels[scene, anchor] = targets[scene, row, 0].long() + 1
    best_iou = best_iou.clone()
    best_iou[scene, anchor] = iou[scene, row, anchor]
    return Matches(labels, objects, best_iou.clamp(min=0))


def _hardest_negatives(ce: Tensor, matches: Matches, negative_ratio: float) -> Tensor:
    """Return a mask (B, A) of the negatives with the largest loss, ``negative_ratio`` per positive of each scene."""
    negative = matches.labels == 0
    wanted = (matches.positive.sum(1, keepdim=True) * negative_ratio).clamp(min=1)  # (B, 1)
    loss = ce.detach().masked_fill(~negative, -1.0)  # only negatives compete
    rank = loss.argsort(dim=1, descending=True).argsort(dim=1)  # (B, A) 0 = hardest
    return negative & (rank < wanted)


def detection_loss(output: Tensor, targets: Tensor, anchors: Tensor, *, box_weights: tuple[float, ...],
                   negative_ratio: float = 3.0, matches: Matches | None = None) -> DetectionLoss:  # fmt: skip
    """The loss of a batch: ``output`` (B, A, 4 + K + 1) as :class:`cnnviz.detect.Detector` gives it, targets (B, M, 5).

    ``anchors`` (A, 4) on the output's device; ``box_weights`` as for encode_boxes; ``matches`` from
    :func:`match_anchors` when already computed. See the module's steps 2 and 3.
    """
    output = output.float()
    matches = match_anchors(anchors, targets) if matches is None else matches
    deltas, logits = output[..., :4], output[..., 4:]  # (B, A, 4), (B, A, K + 1)
    positive = matches.positive
    n_pos = int(positive.sum())
    # 2. Classification: cross-entropy of every anchor; the positives and the hardest negatives count.
    ce = F.cross_entropy(logits.flatten(0, 1), matches.labels.clamp(min=0).flatten(), reduction="none")
    ce = ce.view_as(matches.labels)  # (B, A)
    counted = positive | _hardest_negatives(ce, matches, negative_ratio)
    classification = (ce * counted).sum() / max(n_pos, 1)
    # 3. Box offsets: only positives have an object to move onto.
    scene, anchor = positive.nonzero(as_tuple=True)
    boxes = targets[scene, matches.objects[scene, anchor], 1:]  # (P, 4) each positive's object
    wanted = encode_boxes(boxes, anchors[anchor], box_weights)  # (P, 4) the offsets that would be exact
    box = F.smooth_l1_loss(deltas[scene, anchor], wanted, reduction="sum") / max(n_pos, 1)
    return DetectionLoss(classification, box, n_pos)
