"""The numbers the Detection page's lessons show: a detector's overlapping candidates, grids, and what R-CNNs share.

:func:`candidate_boxes` plays a detector before NMS: around each true object it fires several
boxes, shifted and stretched a little, scored by how well they fit, plus a few weak false alarms.
:func:`detector_costs` counts the work of R-CNN, Fast R-CNN and Faster R-CNN for a number of
proposals and an image size: how many times the backbone runs, how many pixels it sees, how many
RoI poolings and head runs follow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from cnnviz.detect.ops import box_iou, check_boxes
from cnnviz.errors import ConfigError

__all__ = ["PIPELINES", "PROPOSERS", "Candidates", "PipelineCost", "candidate_boxes", "detector_costs", "feature_grid"]


@dataclass(frozen=True)
class Candidates:
    """Boxes a detector might fire before NMS."""

    boxes: Tensor  # (N, 4) x1, y1, x2, y2 in pixels, inside the image
    scores: Tensor  # (N,) confidence in 0…1
    owners: Tensor  # (N,) int64: the object each box was drawn around, −1 for a false alarm


def _clip(boxes: Tensor, image_size: tuple[int, int]) -> Tensor:
    height, width = image_size
    limit = torch.tensor([width, height, width, height], dtype=boxes.dtype)
    return torch.minimum(boxes.clamp(min=0), limit)


def _jitter(truth: Tensor, count: int, generator: torch.Generator) -> Tensor:
    """``count`` copies of each (M, 4) box, centre moved by ~12 % of its size, sides scaled by ~15 %: (M·count, 4)."""
    centre = ((truth[:, :2] + truth[:, 2:]) / 2).repeat_interleave(count, 0)  # (M·count, 2)
    size = (truth[:, 2:] - truth[:, :2]).clamp(min=1).repeat_interleave(count, 0)  # (M·count, 2)
    centre = centre + torch.randn(len(centre), 2, generator=generator) * 0.12 * size
    size = size * torch.exp(torch.randn(len(centre), 2, generator=generator) * 0.15)
    return torch.cat([centre - size / 2, centre + size / 2], dim=1)


def candidate_boxes(
    objects: Tensor, image_size: tuple[int, int], *, per_object: int = 5, false_alarms: int = 2, seed: int = 0
) -> Candidates:
    """Return overlapping candidates around the true ``objects`` (M, 4), as a detector fires them before NMS.

    A candidate's score grows with its IoU with the object it was drawn around (0.3 + 0.65·IoU, plus
    a little noise); the false alarms are small boxes anywhere with scores below 0.35. Boxes are
    clipped to ``image_size`` (H, W) and rounded to whole pixels. Deterministic for a ``seed``.
    """
    check_boxes(objects)
    generator = torch.Generator().manual_seed(seed)
    near = _clip(_jitter(objects.float(), per_object, generator), image_size).round()  # (M·per_object, 4)
    fit = _own_iou(near, objects.float(), per_object)  # (M·per_object,) how well each fits its object
    scores = (0.3 + 0.65 * fit + torch.randn(len(near), generator=generator) * 0.03).clamp(0.05, 0.99)
    height, width = image_size
    corner = torch.rand(false_alarms, 2, generator=generator) * torch.tensor([width * 0.8, height * 0.8])
    side = (0.1 + 0.15 * torch.rand(false_alarms, 2, generator=generator)) * min(height, width)
    alarms = _clip(torch.cat([corner, corner + side], dim=1), image_size).round()
    alarm_scores = 0.1 + 0.25 * torch.rand(false_alarms, generator=generator)
    owners = torch.cat([torch.arange(len(objects)).repeat_interleave(per_object), torch.full((false_alarms,), -1)])
    return Candidates(torch.cat([near, alarms]), torch.cat([scores, alarm_scores]).round(decimals=2), owners)


def _own_iou(near: Tensor, objects: Tensor, per_object: int) -> Tensor:
    """IoU of each candidate with the object it was drawn around (candidates grouped per object): (M·per_object,)."""
    owners = torch.arange(len(objects)).repeat_interleave(per_object)
    return box_iou(near, objects)[torch.arange(len(near)), owners]


def feature_grid(image_size: tuple[int, int], stride: int) -> tuple[int, int]:
    """Return the (H, W) of the feature map a backbone of total ``stride`` makes of an image: ⌈size / stride⌉."""
    if not (isinstance(stride, int) and stride >= 1):
        raise ConfigError.from_key("errors.detect_lesson_stride", value=repr(stride))
    _check_image_size(image_size)
    return math.ceil(image_size[0] / stride), math.ceil(image_size[1] / stride)


def _check_image_size(image_size: tuple[int, int]) -> None:
    if len(image_size) != 2 or min(image_size) < 1:
        raise ConfigError.from_key("errors.detect_image_size", value="×".join(map(str, image_size)))


PIPELINES = ("rcnn", "fast_rcnn", "faster_rcnn")  # oldest first


PROPOSERS = ("selective_search", "rpn")  # where the region proposals come from


@dataclass(frozen=True)
class PipelineCost:
    """The work one detector of the R-CNN family does on one image."""

    name: str  # one of PIPELINES
    proposals_from: str  # "selective_search" (a separate, hand-made algorithm on the CPU) or "rpn" (on the shared map)
    backbone_passes: int  # forward passes of the CNN backbone
    backbone_pixels: int  # pixels those passes take in, all together
    anchors_scored: int  # anchors the region proposal network scores (Faster R-CNN only)
    roi_pools: int  # RoI poolings of the shared feature map
    head_runs: int  # runs of the classifier and box regressor


def detector_costs(
    num_proposals: int,
    image_size: tuple[int, int],
    *,
    warp_size: int = 224,
    stride: int = 16,
    anchors_per_cell: int = 9,
) -> tuple[PipelineCost, ...]:
    """Count what R-CNN, Fast R-CNN and Faster R-CNN do for ``num_proposals`` proposals on an (H, W) image.

    R-CNN warps every proposal to ``warp_size`` × ``warp_size`` and runs the whole CNN on each; Fast
    R-CNN runs the CNN once on the image and RoI-pools each proposal out of the shared map; Faster
    R-CNN also finds the proposals on that map, with a region proposal network scoring
    ``anchors_per_cell`` anchors per cell of the stride-``stride`` map. Raises ConfigError for fewer
    than one proposal or an empty image.
    """
    if not (isinstance(num_proposals, int) and num_proposals >= 1):
        raise ConfigError.from_key("errors.detect_proposals", value=repr(num_proposals))
    height, width = feature_grid(image_size, stride)
    image_pixels = image_size[0] * image_size[1]
    return (
        PipelineCost("rcnn", "selective_search", num_proposals, num_proposals * warp_size**2, 0, 0, num_proposals),
        PipelineCost("fast_rcnn", "selective_search", 1, image_pixels, 0, num_proposals, num_proposals),
        PipelineCost("faster_rcnn", "rpn", 1, image_pixels, height * width * anchors_per_cell, num_proposals,
                     num_proposals),
    )
