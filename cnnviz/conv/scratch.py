"""Convolution and pooling from scratch in NumPy, written to be read (as in "Deep Learning from Scratch", ch. 7).

Every function takes a batch ``x`` of shape (N, C, H, W) and follows PyTorch's arguments and rules
(output sizes come from :mod:`cnnviz.conv.sizes`, so impossible settings raise ConfigError).
The trick is ``im2col``: copy every window of the input into one row of a matrix, so that a
convolution becomes a single matrix product with the flattened filters.
"""

from __future__ import annotations

import numpy as np

from cnnviz.conv.rules import (
    IntOrPair,
    Padding,
    as_pair,
    avg_pool_divisor,
    conv_paddings,
    pool_strides,
    spread_size,
    transpose_padding,
    window_reach,
)
from cnnviz.conv.sizes import conv_output_size, conv_transpose_output_size, pool_output_size
from cnnviz.errors import ConfigError

__all__ = ["im2col", "conv2d", "max_pool2d", "avg_pool2d", "conv_transpose2d"]


def _windows(
    padded: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out: tuple[int, int],
) -> np.ndarray:
    """Gather every kernel window of an already padded batch.

    padded: (N, C, Hp, Wp) → (N, C, KH, KW, OH, OW); entry [.., i, j, oh, ow] is the input cell that
    kernel position (i, j) sees when the window sits over output cell (oh, ow).
    """
    n, c = padded.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=padded.dtype)
    for i in range(kh):
        top = i * dh  # row of the first window's cell i
        for j in range(kw):
            left = j * dw
            cols[:, :, i, j] = padded[:, :, top : top + sh * oh : sh, left : left + sw * ow : sw]
    return cols


def im2col(
    x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair = 1, padding: Padding = 0, dilation: IntOrPair = 1
) -> np.ndarray:
    """Unfold every convolution window of ``x`` into one row.

    x: (N, C, H, W) → (N·OH·OW, C·KH·KW); row r = (n, oh, ow) in that order, columns ordered like a
    PyTorch weight's (C, KH, KW), so ``im2col(x, ...) @ weight.reshape(K, -1).T`` is the convolution.
    """
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    kernel, strides, dilations = as_pair(kernel_size), as_pair(stride), as_pair(dilation)
    out = as_pair(conv_output_size((h, w), kernel, strides, padding, dilations))
    pads = conv_paddings(padding, kernel, dilation=dilations)
    padded = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))  # (N, C, H + P_t + P_b, W + P_l + P_r)
    cols = _windows(padded, kernel, strides, dilations, out)  # (N, C, KH, KW, OH, OW)
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * out[0] * out[1], -1)


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
) -> np.ndarray:
    """Convolve (cross-correlate, as PyTorch does) a batch with K filters.

    x: (N, C, H, W), weight: (K, C, KH, KW), bias: (K,) or None → (N, K, OH, OW), float64.
    """
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    n, c, h, w = x.shape
    k, wc, kh, kw = weight.shape
    if wc != c:
        raise ConfigError.from_key("errors.filter_channels", filter_channels=wc, channels=c)
    oh, ow = as_pair(conv_output_size((h, w), (kh, kw), stride, padding, dilation))
    cols = im2col(x, (kh, kw), stride, padding, dilation)  # (N·OH·OW, C·KH·KW)
    out = cols @ weight.reshape(k, -1).T  # (N·OH·OW, K): one dot product per window and filter
    if bias is not None:
        out = out + np.asarray(bias, dtype=np.float64)  # (K,) broadcast over rows
    return out.reshape(n, oh, ow, k).transpose(0, 3, 1, 2)  # (N, K, OH, OW)


def _pool_windows(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None,
    padding: IntOrPair,
    dilation: IntOrPair,
    ceil_mode: bool,
    fill: float,
) -> np.ndarray:
    """Windows of a pooling layer: x (N, C, H, W) → (N, C, OH, OW, KH·KW), cells outside the input = ``fill``."""
    n, c, h, w = x.shape
    kernel, strides = as_pair(kernel_size), pool_strides(stride, kernel_size)
    (ph, pw), dilations = as_pair(padding), as_pair(dilation)
    oh, ow = as_pair(pool_output_size((h, w), kernel, strides, (ph, pw), dilations, ceil_mode))
    # In ceil mode the last window may hang over the bottom/right padding: pad a little more.
    need_h = window_reach(oh, strides[0], kernel[0], dilations[0])
    need_w = window_reach(ow, strides[1], kernel[1], dilations[1])
    extra_h, extra_w = max(0, need_h - h - 2 * ph), max(0, need_w - w - 2 * pw)
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)), constant_values=fill)
    cols = _windows(padded, kernel, strides, dilations, (oh, ow))  # (N, C, KH, KW, OH, OW)
    return cols.transpose(0, 1, 4, 5, 2, 3).reshape(n, c, oh, ow, -1)


def max_pool2d(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Take the largest value of every window; padding never wins (it counts as −∞).

    x: (N, C, H, W) → (N, C, OH, OW), float64.
    """
    x = np.asarray(x, dtype=np.float64)
    windows = _pool_windows(x, kernel_size, stride, padding, dilation, ceil_mode, fill=-np.inf)
    return windows.max(axis=-1)


def avg_pool2d(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Average every window, counting padding cells as zeros (PyTorch's default count_include_pad=True).

    Cells of a ceil-mode window that lie beyond the padding are not counted. x: (N, C, H, W) → (N, C, OH, OW).
    """
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    kernel, strides, pads = as_pair(kernel_size), pool_strides(stride, kernel_size), as_pair(padding)
    sums = _pool_windows(x, kernel, strides, pads, 1, ceil_mode, fill=0.0).sum(axis=-1)  # (N, C, OH, OW)
    counts = [
        [avg_pool_divisor(i * s - p, k, size, p) for i in range(o)]  # window cells inside input + padding
        for size, k, s, p, o in zip((h, w), kernel, strides, pads, sums.shape[2:], strict=True)
    ]
    return sums / np.outer(counts[0], counts[1])  # (OH, OW) divisors broadcast over N, C


def conv_transpose2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> np.ndarray:
    """Transposed convolution as an ordinary one: insert S − 1 zeros between input cells, pad, flip the kernel.

    x: (N, C, H, W), weight: (C, K, KH, KW) (PyTorch's ConvTranspose2d layout), bias: (K,) → (N, K, OH, OW).
    The zero-inserted input is padded by D·(F − 1) − P on each side (+ output_padding at the bottom/right);
    a negative amount crops instead.
    """
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    n, c, h, w = x.shape
    wc, k, kh, kw = weight.shape
    if wc != c:
        raise ConfigError.from_key("errors.filter_channels", filter_channels=wc, channels=c)
    (sh, sw), (ph, pw), (eh, ew), (dh, dw) = map(as_pair, (stride, padding, output_padding, dilation))
    conv_transpose_output_size((h, w), (kh, kw), (sh, sw), (ph, pw), (eh, ew), (dh, dw))  # validate
    spread = np.zeros((n, c, spread_size(h, sh), spread_size(w, sw)))  # (N, C, (H−1)·S + 1, (W−1)·S + 1)
    spread[:, :, ::sh, ::sw] = x
    lead_h, lead_w = transpose_padding(kh, dh, ph), transpose_padding(kw, dw, pw)
    edges = [(lead_h, lead_h + eh), (lead_w, lead_w + ew)]
    spread = _pad_or_crop(spread, edges)
    flipped = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (K, C, KH, KW)
    return conv2d(spread, flipped, bias, stride=1, padding=0, dilation=(dh, dw))


def _pad_or_crop(x: np.ndarray, edges: list[tuple[int, int]]) -> np.ndarray:
    """Zero-pad (positive) or crop (negative) the last two axes by (before, after) amounts."""
    x = np.pad(x, ((0, 0), (0, 0), *[(max(a, 0), max(b, 0)) for a, b in edges]))
    (top, bottom), (left, right) = [(max(-a, 0), max(-b, 0)) for a, b in edges]
    return x[:, :, top : x.shape[2] - bottom, left : x.shape[3] - right]
