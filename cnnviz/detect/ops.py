"""The four building blocks of a detector, written to be read: IoU, non-maximum suppression, RoI pooling, RoI align.

Each one follows ``torchvision.ops`` exactly (argument meaning, rounding, borders), and the tests check that
they give the same numbers. Boxes are ``x1, y1, x2, y2`` in pixels, ``x2 ≥ x1`` and ``y2 ≥ y1``. A region of
interest (RoI) is a box with the index of its image in the batch first: ``(batch_index, x1, y1, x2, y2)``.
``spatial_scale`` is the size of the feature map over the size of the image (1/16 for a map 16 times
smaller), so a box in image pixels lands at ``box × spatial_scale`` on the map.

The lesson helpers return the steps the page draws: :func:`nms_steps` (who suppressed whom),
:func:`roi_bins` (RoI pooling's whole-cell bins) and :func:`align_samples` (RoI align's sampling points);
:func:`roi_pool` and :func:`roi_align` use the same helpers, so the picture is what is computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from cnnviz.errors import ConfigError, Phrase

__all__ = [
    "AlignSamples",
    "BOX_NAMES",
    "NmsStep",
    "NmsTrace",
    "RoiBins",
    "align_samples",
    "box_area",
    "box_intersection_union",
    "box_iou",
    "check_boxes",
    "nms",
    "nms_steps",
    "pooled_size",
    "roi_align",
    "roi_bins",
    "roi_pool",
]


# ---------------------------------------------------------------------------------------------------------
# Checks, shared by every function here (and by anchors.py)
# ---------------------------------------------------------------------------------------------------------
BOX_NAMES = {  # what a message calls the boxes it complains about
    "boxes": Phrase("errors.detect_name_boxes"),
    "first_boxes": Phrase("errors.detect_name_first_boxes"),
    "second_boxes": Phrase("errors.detect_name_second_boxes"),
    "rois": Phrase("errors.detect_name_rois"),
    "anchors": Phrase("errors.detect_name_anchors"),
}


def _shape_text(tensor: Tensor) -> str:
    return "×".join(str(n) for n in tensor.shape) or "a single number"


def check_boxes(boxes: Tensor, name: str = "boxes") -> Tensor:
    """Return ``boxes`` if it is an (N, 4) tensor of x1, y1, x2, y2 with x1 ≤ x2 and y1 ≤ y2.

    ``name`` (a key of ``BOX_NAMES``) says in the message which boxes are wrong. Raises ConfigError
    (``errors.detect_boxes_shape`` or ``errors.detect_box_inverted``) otherwise.
    """
    label = BOX_NAMES[name]
    if not isinstance(boxes, Tensor) or boxes.dim() != 2 or boxes.shape[1] != 4:
        shape = _shape_text(boxes) if isinstance(boxes, Tensor) else type(boxes).__name__
        raise ConfigError.from_key("errors.detect_boxes_shape", name=label, shape=shape)
    inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if inverted.any():
        index = int(inverted.nonzero()[0, 0])
        x1, y1, x2, y2 = (round(float(v), 2) for v in boxes[index])
        raise ConfigError.from_key("errors.detect_box_inverted", name=label, index=index, x1=x1, y1=y1, x2=x2, y2=y2)
    return boxes


def pooled_size(output_size: int | tuple[int, int]) -> tuple[int, int]:
    """Return ``output_size`` (an int or an (h, w) pair, as torchvision takes it) as a (h, w) pair ≥ 1."""
    pair = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair):
        raise ConfigError.from_key("errors.detect_output_size", value=repr(output_size))
    return pair  # type: ignore[return-value]


def _check_roi_inputs(features: Tensor, rois: Tensor, spatial_scale: float) -> None:
    if not isinstance(features, Tensor) or features.dim() != 4:
        raise ConfigError.from_key("errors.detect_features_shape", shape=_shape_text(torch.as_tensor(features)))
    if not isinstance(rois, Tensor) or rois.dim() != 2 or rois.shape[1] != 5:
        raise ConfigError.from_key("errors.detect_rois_shape", shape=_shape_text(torch.as_tensor(rois)))
    if not (isinstance(spatial_scale, int | float) and math.isfinite(spatial_scale) and spatial_scale > 0):
        raise ConfigError.from_key("errors.detect_spatial_scale", value=spatial_scale)
    check_boxes(rois[:, 1:], "rois")
    batch = rois[:, 0]
    bad = (batch != batch.round()) | (batch < 0) | (batch >= features.shape[0])
    if bad.any():
        index = int(bad.nonzero()[0, 0])
        raise ConfigError.from_key(
            "errors.detect_roi_batch", index=index, batch=float(batch[index]), last=features.shape[0] - 1
        )


# ---------------------------------------------------------------------------------------------------------
# IoU
# ---------------------------------------------------------------------------------------------------------
def box_area(boxes: Tensor) -> Tensor:
    """Return the area (x2 − x1)·(y2 − y1) of each of the (N, 4) ``boxes``, shape (N,)."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_intersection_union(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Return the areas of intersection and of union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4).

    The intersection of two boxes is a box too: its top-left corner is the larger of the two top-left
    corners, its bottom-right the smaller of the two bottom-right ones; if they do not overlap its
    width or height comes out negative and counts as 0. area(A ∪ B) = area(A) + area(B) − area(A ∩ B).
    Both results are (N, M). Raises ConfigError as :func:`box_iou`.
    """
    check_boxes(a, "first_boxes")
    check_boxes(b, "second_boxes")
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2): x1, y1 of each intersection
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])  # (N, M, 2): x2, y2
    size = (bottom_right - top_left).clamp(min=0)  # (N, M, 2): width, height, 0 where they do not overlap
    intersection = size[..., 0] * size[..., 1]  # (N, M)
    union = box_area(a)[:, None] + box_area(b)[None, :] - intersection  # (N, M)
    return intersection, union


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Return the intersection over union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4): (N, M).

    IoU = area(A ∩ B) / area(A ∪ B): 1 for the same box, 0 for boxes that do not touch. Two boxes of
    zero area give 0/0 = nan, as in torchvision. Raises ConfigError for boxes that are not (N, 4) or
    have x2 < x1 or y2 < y1.
    """
    intersection, union = box_intersection_union(a, b)
    return intersection / union


# ---------------------------------------------------------------------------------------------------------
# Non-maximum suppression
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NmsStep:
    """One step of NMS: the best box left is kept and removes every box that overlaps it too much."""

    kept: int  # index (into the input boxes) of the box kept at this step
    suppressed: tuple[int, ...]  # the boxes it removed (IoU > threshold), in score order
    ious: tuple[float, ...]  # their IoU with the kept box


@dataclass(frozen=True)
class NmsTrace:
    """Every step of one NMS run; ``keep`` equals ``nms(boxes, scores, iou_threshold)``."""

    order: tuple[int, ...]  # box indices sorted by score, highest first (ties: lower index first)
    steps: tuple[NmsStep, ...]

    @property
    def keep(self) -> tuple[int, ...]:
        return tuple(step.kept for step in self.steps)


def _check_nms_inputs(boxes: Tensor, scores: Tensor, iou_threshold: float) -> None:
    check_boxes(boxes)
    if not isinstance(scores, Tensor) or scores.shape != (boxes.shape[0],):
        shape = _shape_text(scores) if isinstance(scores, Tensor) else type(scores).__name__
        raise ConfigError.from_key("errors.detect_scores_shape", boxes=boxes.shape[0], shape=shape)
    if not (isinstance(iou_threshold, int | float) and 0 <= iou_threshold <= 1):
        raise ConfigError.from_key("errors.detect_iou_threshold", value=iou_threshold)


def nms_steps(boxes: Tensor, scores: Tensor, iou_threshold: float) -> NmsTrace:
    """Run non-maximum suppression and return each step (see :class:`NmsTrace`).

    The idea: a detector fires many overlapping boxes around one object. Sort them by score; take
    the best box left, keep it, and remove every box whose IoU with it is above ``iou_threshold``
    (they are taken to be the same object); repeat until no box is left. ``boxes`` (N, 4),
    ``scores`` (N,), ``iou_threshold`` in 0…1. Raises ConfigError for other shapes or thresholds.
    """
    _check_nms_inputs(boxes, scores, iou_threshold)
    order = torch.sort(scores, descending=True, stable=True).indices  # (N,) ties keep the input order
    iou = box_iou(boxes[order], boxes[order])  # (N, N), rows and columns in score order
    alive = torch.ones(len(order), dtype=torch.bool)  # not removed yet
    steps = []
    for rank in range(len(order)):
        if not alive[rank]:
            continue
        # The best box left is kept; every later box alive that overlaps it more than the threshold goes.
        hits = alive & (iou[rank] > iou_threshold)
        hits[: rank + 1] = False
        alive &= ~hits
        ranks = hits.nonzero().flatten()  # in score order
        steps.append(NmsStep(int(order[rank]), tuple(order[ranks].tolist()), tuple(iou[rank, ranks].tolist())))
    return NmsTrace(tuple(order.tolist()), tuple(steps))


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Return the indices (int64, highest score first) of the boxes non-maximum suppression keeps.

    As ``torchvision.ops.nms``; :func:`nms_steps` explains the steps. Raises ConfigError for boxes
    that are not (N, 4), scores that are not (N,), or a threshold outside 0…1.
    """
    return torch.tensor(nms_steps(boxes, scores, iou_threshold).keep, dtype=torch.int64)


# ---------------------------------------------------------------------------------------------------------
# RoI pooling: whole cells, the maximum of each bin
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoiBins:
    """RoI pooling's bins of one box on the feature map: whole cells, end exclusive, clipped to the map.

    Bin (i, j) covers rows ``rows[i][0] ≤ y < rows[i][1]`` and columns ``cols[j][0] ≤ x < cols[j][1]``;
    neighbouring bins may share a row or column (floor for starts, ceiling for ends) and a bin outside
    the map is empty (its value is 0).
    """

    region: tuple[int, int, int, int]  # the box rounded to cells on the map: x1, y1, x2, y2 (inclusive)
    rows: tuple[tuple[int, int], ...]  # (start, end) of each bin row
    cols: tuple[tuple[int, int], ...]  # (start, end) of each bin column


def _round_half_away(values: Tensor) -> Tensor:
    """Round as C's ``round()`` does (2.5 → 3, −2.5 → −3); ``torch.round`` would round 2.5 to 2."""
    exact = values.double()
    return torch.sign(exact) * torch.floor(exact.abs() + 0.5)


def _bin_edges(start: int, cells: int, bins: int, limit: int, dtype: torch.dtype) -> tuple[tuple[int, int], ...]:
    """Cut ``cells`` cells from ``start`` into ``bins`` bins: floor(i·size) … ceil((i + 1)·size), clipped to 0…limit."""
    size = torch.tensor(cells, dtype=dtype) / bins  # may be fractional: bins then share a cell
    edges = []
    for i in range(bins):
        low = int(torch.floor(i * size)) + start
        high = int(torch.ceil((i + 1) * size)) + start
        edges.append((min(max(low, 0), limit), min(max(high, 0), limit)))
    return tuple(edges)


def roi_bins(
    box: Tensor, output_size: int | tuple[int, int], spatial_scale: float, map_size: tuple[int, int]
) -> RoiBins:
    """Return the bins RoI pooling cuts box ``box`` (x1, y1, x2, y2 in image pixels, shape (4,)) into.

    The box is scaled onto the map and rounded to whole cells (this rounding is what RoI align
    removes); a box thinner than one cell is taken as one cell. ``map_size`` is the map's (H, W).
    """
    out_h, out_w = pooled_size(output_size)
    x1, y1, x2, y2 = (int(v) for v in _round_half_away(box * torch.tensor(spatial_scale, dtype=box.dtype)))
    width, height = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)  # in cells, both ends included
    rows = _bin_edges(y1, height, out_h, map_size[0], box.dtype)
    cols = _bin_edges(x1, width, out_w, map_size[1], box.dtype)
    return RoiBins((x1, y1, x2, y2), rows, cols)


def roi_pool(
    features: Tensor, rois: Tensor, output_size: int | tuple[int, int], spatial_scale: float = 1.0
) -> Tensor:
    """Max-pool each region of interest of ``features`` (N, C, H, W) into a fixed grid: (K, C, out_h, out_w).

    Fast R-CNN's idea: one forward pass gives the feature map of the whole image; every proposal
    is then cut out of that map and pooled to the same size (e.g. 7×7), whatever its own size, so
    the same fully connected head can score it. ``rois`` (K, 5) are (batch_index, x1, y1, x2, y2) in
    image pixels. Equals ``torchvision.ops.roi_pool``. Raises ConfigError for bad shapes or values.
    """
    _check_roi_inputs(features, rois, spatial_scale)
    out_h, out_w = pooled_size(output_size)
    pooled = features.new_zeros(rois.shape[0], features.shape[1], out_h, out_w)  # (K, C, out_h, out_w)
    for k, roi in enumerate(rois):
        plane = features[int(roi[0])]  # (C, H, W): the map of this RoI's image
        bins = roi_bins(roi[1:], (out_h, out_w), spatial_scale, plane.shape[1:])
        for i, (top, bottom) in enumerate(bins.rows):
            for j, (left, right) in enumerate(bins.cols):
                if bottom > top and right > left:  # an empty bin (outside the map) stays 0
                    pooled[k, :, i, j] = plane[:, top:bottom, left:right].amax(dim=(1, 2))
    return pooled


# ---------------------------------------------------------------------------------------------------------
# RoI align: no rounding, bilinear samples averaged in each bin
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlignSamples:
    """RoI align's grid for one box on the feature map, in (fractional) map coordinates.

    Bin (i, j) spans ``y_edges[i]…y_edges[i + 1]`` and ``x_edges[j]…x_edges[j + 1]``; its value is the
    mean of the bilinear samples at every (y, x) with y in ``ys[i]`` and x in ``xs[j]``.
    """

    y_edges: tuple[float, ...]  # out_h + 1 edges
    x_edges: tuple[float, ...]  # out_w + 1 edges
    ys: tuple[tuple[float, ...], ...]  # per bin row, the sample rows (grid_h of them)
    xs: tuple[tuple[float, ...], ...]  # per bin column, the sample columns (grid_w of them)


def _sample_points(start: Tensor, length: Tensor, bins: int, sampling_ratio: int) -> tuple[Tensor, Tensor]:
    """Return the bin edges (bins + 1,) and the sample positions (bins, grid) along one axis.

    The region is at least one cell long; each bin holds ``sampling_ratio`` evenly spaced samples
    (adaptive, ceil(length / bins), when ``sampling_ratio ≤ 0``), at the centres of equal sub-cells.
    """
    length = torch.clamp(length, min=1.0)  # aligned=False: a region is never thinner than one cell
    size = length / bins
    grid = sampling_ratio if sampling_ratio > 0 else int(torch.ceil(length / bins))
    bin_index = torch.arange(bins, dtype=start.dtype)[:, None]  # (bins, 1)
    sub_index = torch.arange(grid, dtype=start.dtype)[None, :]  # (1, grid)
    points = start + bin_index * size + (sub_index + 0.5) * size / grid  # (bins, grid)
    edges = start + torch.arange(bins + 1, dtype=start.dtype) * size
    return edges, points


def align_samples(
    box: Tensor, output_size: int | tuple[int, int], spatial_scale: float, sampling_ratio: int = -1
) -> AlignSamples:
    """Return where RoI align samples box ``box`` (x1, y1, x2, y2 in image pixels, shape (4,)) on the map."""
    out_h, out_w = pooled_size(output_size)
    x1, y1, x2, y2 = box * torch.tensor(spatial_scale, dtype=box.dtype)  # on the map, not rounded
    y_edges, ys = _sample_points(y1, y2 - y1, out_h, sampling_ratio)
    x_edges, xs = _sample_points(x1, x2 - x1, out_w, sampling_ratio)
    return AlignSamples(tuple(y_edges.tolist()), tuple(x_edges.tolist()), tuple(map(tuple, ys.tolist())),
                        tuple(map(tuple, xs.tolist())))


def _interpolation_weights(points: Tensor, size: int) -> Tensor:
    """Return the (P, size) matrix whose row p holds the two linear-interpolation weights of position ``points[p]``.

    A position between cells ``low`` and ``low + 1`` at fraction f gets weight 1 − f on ``low`` and f on
    ``low + 1``. Positions within one cell outside the map are moved onto its edge; farther ones
    get no weight (their samples are 0), as in torchvision.
    """
    inside = (points >= -1.0) & (points <= size)
    points = points.clamp(min=0.0)
    low = points.floor().long().clamp(max=size - 1)
    high = (low + 1).clamp(max=size - 1)
    fraction = torch.where(low >= size - 1, torch.zeros_like(points), points - low.to(points.dtype))
    weights = points.new_zeros(points.shape[0], size)  # (P, size)
    rows = torch.arange(points.shape[0])
    weights.index_put_((rows, low), 1 - fraction, accumulate=True)
    weights.index_put_((rows, high), fraction, accumulate=True)
    return weights * inside[:, None]


def roi_align(
    features: Tensor,
    rois: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
) -> Tensor:
    """Pool each region of interest of ``features`` (N, C, H, W) into (K, C, out_h, out_w) without rounding.

    Mask R-CNN's fix of RoI pooling: rounding a box to whole cells shifts it by up to half a cell
    (8 pixels at stride 16). RoI align keeps the box's exact position, cuts it into equal bins, reads
    the map at a few points inside each bin by bilinear interpolation and averages them. ``rois``
    (K, 5) are (batch_index, x1, y1, x2, y2) in image pixels; ``sampling_ratio`` points per bin side
    (≤ 0: ⌈bin size⌉ of them, chosen per RoI). Equals ``torchvision.ops.roi_align`` with
    ``aligned=False``. Raises ConfigError for bad shapes or values.
    """
    _check_roi_inputs(features, rois, spatial_scale)
    if not isinstance(sampling_ratio, int) or isinstance(sampling_ratio, bool):
        raise ConfigError.from_key("errors.detect_sampling_ratio", value=repr(sampling_ratio))
    out_h, out_w = pooled_size(output_size)
    height, width = features.shape[2:]
    pooled = features.new_zeros(rois.shape[0], features.shape[1], out_h, out_w)  # (K, C, out_h, out_w)
    scale = torch.tensor(spatial_scale, dtype=features.dtype)
    for k, roi in enumerate(rois):
        x1, y1, x2, y2 = roi[1:].to(features.dtype) * scale  # the box on the map, not rounded
        _, ys = _sample_points(y1, y2 - y1, out_h, sampling_ratio)  # (out_h, grid_h)
        _, xs = _sample_points(x1, x2 - x1, out_w, sampling_ratio)  # (out_w, grid_w)
        # Bilinear interpolation on a grid of points is two weighted sums: along the rows, then the columns.
        row_weights = _interpolation_weights(ys.reshape(-1), height)  # (out_h·grid_h, H)
        col_weights = _interpolation_weights(xs.reshape(-1), width)  # (out_w·grid_w, W)
        samples = row_weights @ features[int(roi[0])] @ col_weights.T  # (C, out_h·grid_h, out_w·grid_w)
        # Each bin's value is the mean of its grid_h × grid_w samples.
        grid_h, grid_w = ys.shape[1], xs.shape[1]
        pooled[k] = samples.reshape(-1, out_h, grid_h, out_w, grid_w).mean(dim=(2, 4))
    return pooled
