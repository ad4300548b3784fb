"""Making feature maps bigger: transposed convolution step by step, nearest and bilinear upsampling, checkerboards.

Transposed convolution ("deconvolution" in FCN) is an ordinary convolution on a spread-out input:
insert S − 1 zeros between the input cells, pad by F − 1 − P on each side (+ output_padding at the
bottom and right), and slide the flipped kernel with stride 1. The steps are kept so that a page can
show them; the sizes come from :func:`cnnviz.conv.conv_transpose_output_size` (and its keyed errors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.conv import conv2d, conv_transpose_output_size, spread_size, transpose_padding
from cnnviz.errors import ConfigError

__all__ = [
    "TransposedSteps",
    "checkerboard_counts",
    "example_grid",
    "is_uneven",
    "transposed_conv_steps",
    "upsample_bilinear",
    "upsample_nearest",
]


@dataclass(frozen=True)
class TransposedSteps:
    """One channel through a transposed convolution, every intermediate grid kept."""

    x: np.ndarray  # (H, W) the input
    kernel: np.ndarray  # (F, F) the kernel as ConvTranspose2d stores it
    inserted: np.ndarray  # ((H − 1)·S + 1, (W − 1)·S + 1) the input with S − 1 zeros between its cells
    padded: np.ndarray  # inserted, padded by F − 1 − P per side (+ output_padding bottom/right; negative crops)
    output: np.ndarray  # (OH, OW) the padded grid convolved (stride 1) with the flipped kernel
    lead: int  # F − 1 − P: zeros added on each side (negative: cells cropped)
    stride: int
    padding: int
    output_padding: int


def example_grid(rows: int, cols: int | None = None) -> np.ndarray:
    """Return the small grid the pages start from: 1, 2, 3, … row by row, (rows, cols) floats."""
    cols = rows if cols is None else cols
    return np.arange(1, rows * cols + 1, dtype=np.float64).reshape(rows, cols)


def _pad_or_crop(grid: np.ndarray, before: int, after: int) -> np.ndarray:
    """Pad both axes with zeros (positive amounts) or crop them (negative amounts)."""
    grid = np.pad(grid, (max(before, 0), max(after, 0)))
    top, bottom = max(-before, 0), max(-after, 0)
    return grid[top : grid.shape[0] - bottom, top : grid.shape[1] - bottom]


def transposed_conv_steps(
    x: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0, output_padding: int = 0
) -> TransposedSteps:
    """Run ``conv_transpose2d`` of one (H, W) channel with one (F, F) kernel as zero insertion + padding + conv.

    Raises ConfigError (keyed) for settings PyTorch rejects: output_padding ≥ stride, an empty output, ...
    """
    x, kernel = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    (h, w), f = x.shape, kernel.shape[0]
    conv_transpose_output_size((h, w), f, stride, padding, output_padding)  # validate, keyed errors
    inserted = np.zeros((spread_size(h, stride), spread_size(w, stride)))
    inserted[::stride, ::stride] = x
    lead = transpose_padding(f, 1, padding)
    padded = _pad_or_crop(inserted, lead, lead + output_padding)
    flipped = kernel[::-1, ::-1]
    output = conv2d(padded[None, None], flipped[None, None])[0, 0]  # (OH, OW)
    return TransposedSteps(x, kernel, inserted, padded, output, lead, stride, padding, output_padding)


def _check_scale(scale: int) -> None:
    if not 1 <= scale <= 16:
        raise ConfigError.from_key("errors.upsample_scale_range", scale=scale)


def upsample_nearest(x: np.ndarray, scale: int) -> np.ndarray:
    """Repeat every cell ``scale`` times in both directions, as ``F.interpolate(mode="nearest")``: (H·s, W·s)."""
    _check_scale(scale)
    x = np.asarray(x, dtype=np.float64)
    rows = np.floor(np.arange(x.shape[0] * scale) / scale).astype(int)  # source cell of each output row
    cols = np.floor(np.arange(x.shape[1] * scale) / scale).astype(int)
    return x[np.ix_(rows, cols)]


def _bilinear_weights(size: int, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source index pairs and the weight of the second one for each output index (align_corners=False)."""
    src = np.maximum((np.arange(size * scale) + 0.5) / scale - 0.5, 0.0)  # output centre in input coordinates
    low = np.minimum(np.floor(src).astype(int), size - 1)
    high = np.minimum(low + 1, size - 1)
    return low, high, src - low


def upsample_bilinear(x: np.ndarray, scale: int) -> np.ndarray:
    """Interpolate linearly along rows, then columns, as ``F.interpolate(mode="bilinear")``: (H·s, W·s)."""
    _check_scale(scale)
    x = np.asarray(x, dtype=np.float64)
    r0, r1, wr = _bilinear_weights(x.shape[0], scale)
    c0, c1, wc = _bilinear_weights(x.shape[1], scale)
    rows = x[r0] * (1 - wr)[:, None] + x[r1] * wr[:, None]  # (H·s, W)
    return rows[:, c0] * (1 - wc) + rows[:, c1] * wc


def checkerboard_counts(size: int, kernel_size: int, stride: int, padding: int = 0) -> np.ndarray:
    """How many kernel placements reach each output cell: transposed conv of ones by ones, (OH, OW) ints."""
    steps = transposed_conv_steps(np.ones((size, size)), np.ones((kernel_size, kernel_size)), stride, padding)
    return np.rint(steps.output).astype(int)


def is_uneven(counts: np.ndarray, kernel_size: int, stride: int) -> bool:
    """True when the overlap counts vary away from the borders (max(F − S, 0) cells cropped each side)."""
    edge = max(kernel_size - stride, 0)
    inner = counts[edge : counts.shape[0] - edge, edge : counts.shape[1] - edge]
    return bool(inner.size and inner.min() != inner.max())
