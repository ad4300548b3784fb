"""Max and average pooling of images and feature maps with PyTorch, and a small grid to read it off.

Pooling slides a window over each channel separately: it has no parameters (nothing to learn) and
keeps the number of channels; only height and width shrink. Max pooling keeps the largest value
in each window (and we record which input cell won), average pooling the mean (PyTorch's default
``count_include_pad=True``: padding zeros count in the mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from cnnviz.conv.rules import avg_pool_divisor, pool_strides
from cnnviz.conv.sizes import pool_output_size
from cnnviz.data.images import image_to_chw
from cnnviz.errors import ConfigError

__all__ = ["PoolCell", "PoolConfig", "PoolKind", "PoolResult", "grid_cells", "image_grid", "pool_maps"]


class PoolKind(StrEnum):
    """Which pooling: the widget's string is converted once, at the page."""

    MAX = "max"
    AVG = "avg"


@dataclass(frozen=True)
class PoolConfig:
    """One pooling layer, with nn.MaxPool2d / nn.AvgPool2d argument names."""

    kind: PoolKind = PoolKind.MAX  # max or average
    kernel_size: int = 2  # F: the window is F×F
    stride: int | None = None  # S; None means S = F (PyTorch's default)
    padding: int = 0  # P ≤ F // 2 on every side (-inf for max, zeros for average)
    ceil_mode: bool = False  # round the output size up (a last, partial window)

    @property
    def step(self) -> int:
        return pool_strides(self.stride, self.kernel_size)[0]


@dataclass(frozen=True)
class PoolResult:
    """Input and output of one pooling layer; arrays are float32 NumPy."""

    input: np.ndarray  # (C, H, W)
    output: np.ndarray  # (C, Ho, Wo): same C
    winners: np.ndarray | None  # (C, Ho, Wo) flat index r·W + c of each max in the input; None for average
    config: PoolConfig


def pool_maps(maps: np.ndarray | Image.Image, config: PoolConfig) -> PoolResult:
    """Pool every channel of ``maps`` (C, H, W) (or of a PIL image, in [0, 1]) as PyTorch does.

    The output size comes from ``cnnviz.conv.pool_output_size``.
    Raises ConfigError for a window that does not fit or padding larger than half the kernel.
    """
    x = image_to_chw(maps) if isinstance(maps, Image.Image) else np.asarray(maps, dtype=np.float32)
    if x.ndim != 3:
        raise ConfigError.from_key("errors.pool_maps_shape", shape="×".join(map(str, x.shape)))
    # Check the settings first: a ConfigError that says what to change, not a PyTorch RuntimeError.
    pool_output_size(tuple(x.shape[1:]), config.kernel_size, config.stride, config.padding, 1, config.ceil_mode)
    args = dict(kernel_size=config.kernel_size, stride=config.step, padding=config.padding, ceil_mode=config.ceil_mode)
    with torch.no_grad():
        t = torch.from_numpy(x)[None]  # (1, C, H, W)
        if config.kind == PoolKind.MAX:
            out, idx = F.max_pool2d(t, return_indices=True, **args)
            winners = idx[0].numpy()
        else:
            out, winners = F.avg_pool2d(t, count_include_pad=True, **args), None
    output = out[0].numpy()  # (C, Ho, Wo)
    return PoolResult(input=x, output=output, winners=winners, config=config)


@dataclass(frozen=True)
class PoolCell:
    """One output cell of a pooled 2-D grid and the input window it summarises."""

    out_row: int
    out_col: int
    rows: range  # input rows inside the window (clipped to the input; the rest is padding)
    cols: range  # input columns inside the window
    value: float  # the pooled value PyTorch computed
    winner: tuple[int, int] | None  # (row, col) of the max in the input; None for average pooling
    divisor: int | None  # average pooling: the count PyTorch divides by (padding included); None for max


def grid_cells(result: PoolResult, channel: int = 0) -> list[PoolCell]:
    """Return every output cell of one channel with its input window and, for max pooling, the winner."""
    cfg = result.config
    _, height, width = result.input.shape
    _, out_h, out_w = result.output.shape
    cells = []
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * cfg.step - cfg.padding, j * cfg.step - cfg.padding
            winner = divisor = None
            if result.winners is not None:
                winner = divmod(int(result.winners[channel, i, j]), width)
            else:  # PyTorch clips a ceil-mode window at the padded border before counting its cells
                divisor = avg_pool_divisor(top, cfg.kernel_size, height, cfg.padding) * avg_pool_divisor(
                    left, cfg.kernel_size, width, cfg.padding
                )
            cells.append(
                PoolCell(
                    out_row=i,
                    out_col=j,
                    rows=range(max(top, 0), min(top + cfg.kernel_size, height)),
                    cols=range(max(left, 0), min(left + cfg.kernel_size, width)),
                    value=float(result.output[channel, i, j]),
                    winner=winner,
                    divisor=divisor,
                )
            )
    return cells


def image_grid(img: Image.Image, size: int = 8) -> np.ndarray:
    """Shrink a photo to a ``size``×``size`` grid of gray levels 0..255 (float32) to pool by hand."""
    if not 2 <= size <= 32:
        raise ConfigError.from_key("errors.grid_size", size=size)
    small = img.convert("L").resize((size, size), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32)  # (size, size)
