"""Anchors and box coding: the boxes a one-stage detector or an RPN starts from, and the offsets it predicts.

A detector does not predict boxes out of nothing. At every cell of a feature map it places a few
fixed boxes, the anchors (each size × each aspect ratio, centred on the cell), and for each anchor it
predicts a score and four offsets that move and stretch it onto an object. The offsets are
relative, so the same numbers mean the same thing for a small and a large anchor:

    dx = (x − xₐ) / wₐ,  dy = (y − yₐ) / hₐ,  dw = log(w / wₐ),  dh = log(h / hₐ)

(centres x, y and sizes w, h of the box; subscript a for the anchor; each multiplied by its
weight). Everything follows torchvision: :func:`make_anchors` equals ``AnchorGenerator`` (its order,
its rounded base anchors, shifts of index × stride) and :func:`encode_boxes` / :func:`decode_boxes`
equal ``BoxCoder.encode_single`` / ``decode_single`` (with its clamp of dw, dh at log(1000/16)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from cnnviz.detect.ops import BOX_NAMES, check_boxes
from cnnviz.errors import ConfigError, Phrase

__all__ = ["BBOX_XFORM_CLIP", "anchor_count", "cell_anchors", "decode_boxes", "encode_boxes", "make_anchors"]

BBOX_XFORM_CLIP = math.log(1000.0 / 16)  # torchvision's cap on dw, dh: a box at most 62.5 times its anchor

Weights = tuple[float, float, float, float]

_GRID_NAMES = {"feature_size": Phrase("errors.detect_name_feature_size"), "stride": Phrase("errors.detect_name_stride")}


def _positive_numbers(values: Sequence[float], key: str) -> list[float]:
    values = list(values) if isinstance(values, Sequence) else [values]
    if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values):
        raise ConfigError.from_key(key, value=repr(values))
    return values


def _grid_pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair):
        raise ConfigError.from_key("errors.detect_grid", name=_GRID_NAMES[name], value=repr(value))
    return pair  # type: ignore[return-value]


def anchor_count(feature_size: int | tuple[int, int], sizes: Sequence[float], aspect_ratios: Sequence[float]) -> int:
    """Return how many anchors a map of ``feature_size`` holds: H · W · (sizes × aspect ratios)."""
    height, width = _grid_pair(feature_size, "feature_size")
    sizes = _positive_numbers(sizes, "errors.detect_anchor_sizes")
    ratios = _positive_numbers(aspect_ratios, "errors.detect_aspect_ratios")
    return height * width * len(sizes) * len(ratios)


def cell_anchors(sizes: Sequence[float], aspect_ratios: Sequence[float]) -> Tensor:
    """Return the anchors of one cell, centred at (0, 0): (A, 4) x1, y1, x2, y2 with A = ratios × sizes.

    An anchor of size s and aspect ratio r (height over width) keeps the area s², so it is
    w = s / √r wide and h = s · √r high. The order is ratio-major: every size of the first ratio,
    then every size of the next. Corners are rounded to whole pixels, as torchvision does.
    Raises ConfigError for an empty list or a size or ratio ≤ 0.
    """
    scales = torch.as_tensor(_positive_numbers(sizes, "errors.detect_anchor_sizes"), dtype=torch.float32)
    ratios = torch.as_tensor(_positive_numbers(aspect_ratios, "errors.detect_aspect_ratios"), dtype=torch.float32)
    h_ratios = torch.sqrt(ratios)  # (R,)
    w_ratios = 1 / h_ratios
    widths = (w_ratios[:, None] * scales[None, :]).reshape(-1)  # (R·S,)
    heights = (h_ratios[:, None] * scales[None, :]).reshape(-1)
    return (torch.stack([-widths, -heights, widths, heights], dim=1) / 2).round()  # (A, 4)


def make_anchors(
    feature_size: int | tuple[int, int],
    stride: int | tuple[int, int],
    sizes: Sequence[float],
    aspect_ratios: Sequence[float],
) -> Tensor:
    """Return every anchor of a feature map, in image pixels: (H · W · A, 4) x1, y1, x2, y2.

    Cell (i, j) of an H × W map sits at (j · stride_w, i · stride_h) in the image (torchvision's
    convention: the top-left pixel of the cell's patch, not its centre) and carries the A anchors of
    :func:`cell_anchors` shifted there. The order is cell-major, rows first: all anchors of cell
    (0, 0), then (0, 1), ... ``feature_size`` and ``stride`` are an int or an (h, w) pair; torchvision
    takes the stride as image size // feature size. Raises ConfigError for values below 1.
    """
    height, width = _grid_pair(feature_size, "feature_size")
    stride_h, stride_w = _grid_pair(stride, "stride")
    base = cell_anchors(sizes, aspect_ratios)  # (A, 4)
    shift_y, shift_x = torch.meshgrid(
        torch.arange(height) * stride_h, torch.arange(width) * stride_w, indexing="ij"
    )  # (H, W) each
    shifts = torch.stack([shift_x, shift_y, shift_x, shift_y], dim=-1).reshape(-1, 1, 4)  # (H·W, 1, 4)
    return (shifts + base[None]).reshape(-1, 4)  # (H·W·A, 4)


def _check_weights(weights: Weights) -> Weights:
    values = tuple(weights) if isinstance(weights, Sequence) else ()
    if len(values) != 4 or not all(isinstance(v, int | float) and v > 0 for v in values):
        raise ConfigError.from_key("errors.detect_weights", value=repr(weights))
    return values  # type: ignore[return-value]


def _check_sized(boxes: Tensor, name: str) -> None:
    """Raise ConfigError when a box has zero width or height (coding divides by them and takes their log)."""
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    empty = (width <= 0) | (height <= 0)
    if empty.any():
        i = int(empty.nonzero()[0, 0])
        raise ConfigError.from_key(
            "errors.detect_box_empty", name=BOX_NAMES[name], index=i,
            width=round(float(width[i]), 2), height=round(float(height[i]), 2),
        )


def _centres_and_sizes(boxes: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Return the centre x, centre y, width and height of (N, 4) boxes, each (N,)."""
    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    return boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights, widths, heights


def encode_boxes(boxes: Tensor, anchors: Tensor, weights: Weights = (1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """Return the offsets (dx, dy, dw, dh) that move each anchor onto its box: (N, 4).

    Box i is coded against anchor i (both (N, 4), x1, y1, x2, y2): the centre shift in anchor widths
    and heights, and the log of the size ratio, each times its weight. Equals torchvision's
    ``BoxCoder(weights).encode_single(boxes, anchors)``. Raises ConfigError for different counts,
    inverted boxes, or a box or anchor of zero width or height.
    """
    wx, wy, ww, wh = _check_weights(weights)
    check_boxes(boxes)
    check_boxes(anchors, "anchors")
    if boxes.shape[0] != anchors.shape[0]:
        raise ConfigError.from_key("errors.detect_count_mismatch", boxes=boxes.shape[0], anchors=anchors.shape[0])
    _check_sized(boxes, "boxes")
    _check_sized(anchors, "anchors")
    anchor_x, anchor_y, anchor_w, anchor_h = _centres_and_sizes(anchors)
    box_x, box_y, box_w, box_h = _centres_and_sizes(boxes)
    dx = wx * (box_x - anchor_x) / anchor_w  # (N,)
    dy = wy * (box_y - anchor_y) / anchor_h
    dw = ww * torch.log(box_w / anchor_w)
    dh = wh * torch.log(box_h / anchor_h)
    return torch.stack([dx, dy, dw, dh], dim=1)  # (N, 4)


def decode_boxes(deltas: Tensor, anchors: Tensor, weights: Weights = (1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """Return the boxes (x1, y1, x2, y2) that the offsets ``deltas`` (N, 4) make of the ``anchors`` (N, 4).

    The inverse of :func:`encode_boxes`: centre = anchor centre + d · anchor size, size = anchor size
    · exp(d), with dw and dh first capped at log(1000/16) so that a wild prediction cannot overflow.
    Equals torchvision's ``BoxCoder(weights).decode_single(deltas, anchors)``.
    Raises ConfigError for shapes that do not match.
    """
    wx, wy, ww, wh = _check_weights(weights)
    check_boxes(anchors, "anchors")
    if not isinstance(deltas, Tensor) or deltas.dim() != 2 or deltas.shape != anchors.shape:
        shape = "×".join(map(str, deltas.shape)) if isinstance(deltas, Tensor) else type(deltas).__name__
        raise ConfigError.from_key("errors.detect_deltas_shape", shape=shape, anchors=anchors.shape[0])
    anchors = anchors.to(deltas.dtype)
    anchor_x, anchor_y, anchor_w, anchor_h = _centres_and_sizes(anchors)
    dx, dy = deltas[:, 0] / wx, deltas[:, 1] / wy  # (N,)
    dw = torch.clamp(deltas[:, 2] / ww, max=BBOX_XFORM_CLIP)
    dh = torch.clamp(deltas[:, 3] / wh, max=BBOX_XFORM_CLIP)
    centre_x = dx * anchor_w + anchor_x
    centre_y = dy * anchor_h + anchor_y
    half_w = 0.5 * (torch.exp(dw) * anchor_w)  # half the new width
    half_h = 0.5 * (torch.exp(dh) * anchor_h)
    return torch.stack([centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], dim=1)
