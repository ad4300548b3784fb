"""The sliding-window picture as data: the plane a kernel slides over, and the cells and numbers of one step.

Convolution, pooling and transposed convolution are drawn the same way: a *plane* of cells (the
input with its padding; for a transposed convolution the input with S − 1 zeros inserted between
cells and padded by D·(F − 1) − P, over which an ordinary stride-1 convolution with the flipped
kernel gives the same result as PyTorch's ``conv_transpose2d``), a window that steps over it, and
the output grid. Example values are small seeded integers, so one output cell's sum can be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.conv import scratch
from cnnviz.conv.layers import LayerKind, LayerSpec, describe_layer
from cnnviz.conv.rules import as_pair, conv_paddings, kernel_span
from cnnviz.errors import ConfigError

__all__ = [
    "CellKind",
    "ExampleRun",
    "ExampleTensors",
    "Plane",
    "StepDetail",
    "build_plane",
    "example_output",
    "example_run",
    "example_tensors",
    "plane_values",
    "step_detail",
]


MAX_TEXT_CELLS = 16  # write values in the cells when the plane is at most this many cells wide and high


MAX_HOVER_CELLS = 64 * 64  # per-cell hover text only up to this many cells (keeps the figure light)


class CellKind(IntEnum):
    """What a cell of the plane is."""

    INPUT = 0  # a real input cell
    PADDING = 1  # zero padding (−∞ for max pooling)
    INSERTED = 2  # a zero inserted between input cells (transposed convolution)
    OUTSIDE = 3  # beyond the padding, reached only by a ceil-mode pooling window (ignored)


@dataclass(frozen=True)
class Plane:
    """The grid the window slides over and how it slides."""

    kinds: np.ndarray  # (Hp, Wp) CellKind codes
    source: np.ndarray  # (Hp, Wp, 2) input (row, col) of each INPUT cell, −1 elsewhere
    origin: tuple[int, int]  # plane cell under kernel cell (0, 0) when computing output (0, 0)
    stride: tuple[int, int]  # window step on the plane (1 for a transposed convolution)
    dilation: tuple[int, int]  # distance between kernel cells on the plane
    kernel: tuple[int, int]  # (KH, KW)
    out_size: tuple[int, int]  # (OH, OW)

    @property
    def steps(self) -> int:
        """Number of window positions (one per output cell)."""
        return self.out_size[0] * self.out_size[1]


@dataclass(frozen=True)
class ExampleTensors:
    """Seeded small-integer example values for the diagram."""

    x: torch.Tensor  # (1, C, H, W)
    weight: torch.Tensor | None  # (K, C, KH, KW) for conv, (C, K, KH, KW) for transposed, None for pooling
    bias: torch.Tensor | None  # (K,) or None


@dataclass(frozen=True)
class StepDetail:
    """One output cell: where its window sits and, with example values, how its number is computed."""

    out_index: tuple[int, int]  # (row, col) in the output grid
    plane_cells: tuple[tuple[int, int], ...]  # window cells on the plane, in kernel order (row-major)
    input_cells: tuple[tuple[int, int], ...]  # the window cells that are input cells, in input coordinates
    patch: np.ndarray  # (C, KH, KW) example values under the window; NaN where a cell does not count
    kernel: np.ndarray | None  # (C, KH, KW) filter 0 as applied on the plane (flipped if transposed)
    bias: float | None  # bias of filter 0, or None
    value: float  # the example output at this cell, channel/filter 0
    expression: str | None  # the computation written out (None when the window is too big to read)


@dataclass(frozen=True)
class ExampleRun:
    """The example layer computed by PyTorch and by the NumPy scratch version."""

    torch_out: np.ndarray  # (1, K, OH, OW)
    scratch_out: np.ndarray  # (1, K, OH, OW)
    max_abs_diff: float


def build_plane(spec: LayerSpec, in_size: tuple[int, int]) -> Plane:
    """Lay out the plane for ``spec`` on an (H, W) input. Raises ConfigError on impossible settings."""
    report = describe_layer(spec, (1, *in_size))  # validates everything PyTorch would
    out_size = report.out_shape[1:]
    kernel = as_pair(spec.kernel_size)
    dilation = as_pair(spec.dilation)
    axes = []
    for d in range(2):
        axes.append(_axis(spec, d, in_size[d], kernel[d], dilation[d], out_size[d]))
    kinds = np.full((len(axes[0][0]), len(axes[1][0])), CellKind.INPUT)
    for kind in (CellKind.INSERTED, CellKind.PADDING, CellKind.OUTSIDE):  # later kinds win where row and col differ
        kinds[np.logical_or.outer(axes[0][0] == kind, axes[1][0] == kind)] = kind
    rows, cols = np.meshgrid(axes[0][1], axes[1][1], indexing="ij")
    inside = kinds == CellKind.INPUT
    source = np.stack([np.where(inside, rows, -1), np.where(inside, cols, -1)], axis=-1)
    stride = (1, 1) if spec.kind is LayerKind.CONV_TRANSPOSE else _stride(spec)
    origin = (axes[0][2], axes[1][2])
    return Plane(kinds.astype(np.int8), source, origin, stride, dilation, kernel, out_size)


def _axis(
    spec: LayerSpec, d: int, size: int, kernel: int, dilation: int, out: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """One axis of the plane: kind of each position, input index of each position, origin."""
    span = kernel_span(kernel, dilation)
    if spec.kind is LayerKind.CONV_TRANSPOSE:
        stride, pad = _stride(spec)[d], as_pair(spec.padding)[d]
        lead = span - 1 - pad  # D·(F − 1) − P, negative means crop
        trail = lead + as_pair(spec.output_padding)[d]
        spread = (size - 1) * stride + 1
        kinds = np.full(spread, CellKind.INSERTED)
        kinds[::stride] = CellKind.INPUT
        index = np.full(spread, -1)
        index[::stride] = np.arange(size)
        return _surround(kinds, index, max(lead, 0), max(trail, 0)) + (max(-lead, 0),)
    if spec.kind is LayerKind.CONV:
        lo, hi = conv_paddings(spec.padding, kernel, dilation=dilation)[d]  # stride was checked by describe_layer
    else:
        lo = hi = as_pair(spec.padding)[d]
    kinds, index = _surround(np.full(size, CellKind.INPUT), np.arange(size), lo, hi)
    needed = (out - 1) * _stride(spec)[d] + span  # ceil-mode windows may hang past the padding
    extra = max(0, needed - len(kinds))
    kinds = np.concatenate([kinds, np.full(extra, CellKind.OUTSIDE)])
    return kinds, np.concatenate([index, np.full(extra, -1)]), 0


def _surround(kinds: np.ndarray, index: np.ndarray, lead: int, trail: int) -> tuple[np.ndarray, np.ndarray]:
    kinds = np.concatenate([np.full(lead, CellKind.PADDING), kinds, np.full(trail, CellKind.PADDING)])
    return kinds, np.concatenate([np.full(lead, -1), index, np.full(trail, -1)])


def _stride(spec: LayerSpec) -> tuple[int, int]:
    if spec.stride is None:
        return as_pair(spec.kernel_size) if spec.kind in (LayerKind.MAX_POOL, LayerKind.AVG_POOL) else (1, 1)
    return as_pair(spec.stride)


def _window(plane: Plane, step: int) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """Output (row, col) of ``step`` and the plane cells under its window, in kernel order."""
    if not 0 <= step < plane.steps:
        raise ConfigError(f"step {step} is outside 0…{plane.steps - 1}: pick a step in that range")
    row, col = divmod(step, plane.out_size[1])
    top = plane.origin[0] + row * plane.stride[0]
    left = plane.origin[1] + col * plane.stride[1]
    cells = [
        (top + i * plane.dilation[0], left + j * plane.dilation[1])
        for i in range(plane.kernel[0])
        for j in range(plane.kernel[1])
    ]
    return (row, col), cells


def example_tensors(spec: LayerSpec, in_shape: tuple[int, int, int], *, seed: int = 0) -> ExampleTensors:
    """Draw small integers: inputs 0…4, weights −1…2, biases −1…1 (exact in float32)."""
    generator = torch.Generator().manual_seed(seed)
    channels = in_shape[0]
    x = torch.randint(0, 5, (1, *in_shape), generator=generator).float()  # (1, C, H, W)
    if spec.kind in (LayerKind.MAX_POOL, LayerKind.AVG_POOL):
        return ExampleTensors(x, None, None)
    kernel = as_pair(spec.kernel_size)
    filters = spec.out_channels or 1
    shape = (filters, channels, *kernel) if spec.kind is LayerKind.CONV else (channels, filters, *kernel)
    weight = torch.randint(-1, 3, shape, generator=generator).float()
    bias = torch.randint(-1, 2, (filters,), generator=generator).float() if spec.bias else None
    return ExampleTensors(x, weight, bias)


def step_detail(
    spec: LayerSpec, in_shape: tuple[int, int, int], step: int, *, seed: int = 0, max_terms: int = 27
) -> StepDetail:
    """Compute output cell ``step`` (row-major) of filter/channel 0 by hand from the example values.

    Raises ConfigError on impossible settings or a step outside the output.
    """
    plane = build_plane(spec, in_shape[1:])
    (row, col), cells = _window(plane, step)
    example = example_tensors(spec, in_shape, seed=seed)
    values = plane_values(plane, example.x[0].numpy(), spec.kind)  # (C, Hp, Wp)
    channels = in_shape[0] if spec.kind in (LayerKind.CONV, LayerKind.CONV_TRANSPOSE) else 1
    rows, cols = zip(*cells, strict=True)
    patch = values[:channels, list(rows), list(cols)].reshape(channels, *plane.kernel)  # (C, KH, KW)
    inputs = tuple(tuple(int(v) for v in plane.source[r, c]) for r, c in cells if plane.kinds[r, c] == CellKind.INPUT)
    kernel = _applied_kernel(spec, example)
    bias = None if example.bias is None else float(example.bias[0])
    value, expression = _compute(spec.kind, patch, kernel, bias, max_terms)
    return StepDetail((row, col), tuple(cells), inputs, patch, kernel, bias, value, expression)


def plane_values(plane: Plane, x: np.ndarray, kind: LayerKind) -> np.ndarray:
    """Example values on the plane: x (C, H, W) → (C, Hp, Wp); cells that do not count are NaN."""
    pad_value = np.nan if kind is LayerKind.MAX_POOL else 0.0
    values = np.full((x.shape[0], *plane.kinds.shape), pad_value)
    values[:, plane.kinds == CellKind.INSERTED] = 0.0
    values[:, plane.kinds == CellKind.OUTSIDE] = np.nan
    inside = plane.kinds == CellKind.INPUT
    values[:, inside] = x[:, plane.source[inside][:, 0], plane.source[inside][:, 1]]
    return values


def _applied_kernel(spec: LayerSpec, example: ExampleTensors) -> np.ndarray | None:
    if example.weight is None:
        return None
    weight = example.weight.numpy()
    if spec.kind is LayerKind.CONV_TRANSPOSE:
        return weight[:, 0, ::-1, ::-1].copy()  # (C, KH, KW): filter 0, flipped
    return weight[0]  # (C, KH, KW)


def _compute(kind: LayerKind, patch: np.ndarray, kernel: np.ndarray | None, bias: float | None, max_terms: int):
    """The value of one output cell and, for small windows, the computation as text."""
    counted = patch[~np.isnan(patch)]
    readable = patch.size <= max_terms
    if kind is LayerKind.MAX_POOL:
        value = float(counted.max())
        return value, f"max({', '.join(_num(v) for v in counted)}) = {_num(value)}" if readable else None
    if kind is LayerKind.AVG_POOL:
        value = float(counted.sum() / counted.size)  # padding counts (as 0), cells beyond it do not
        text = f"({' + '.join(_num(v) for v in counted)}) / {counted.size} = {value:.3f}"
        return value, text if readable else None
    value = float((patch * kernel).sum()) + (bias or 0.0)
    if not readable:
        return value, None
    terms = " + ".join(f"{_num(a)}·{_num(w)}" for a, w in zip(patch.ravel(), kernel.ravel(), strict=True))
    bias_text = "" if bias is None else f" + {_num(bias)}"
    return value, f"{terms}{bias_text} = {_num(value)}"


def _num(value: float) -> str:
    text = f"{abs(value):g}"
    return text if value >= 0 else f"(−{text})"


def example_output(spec: LayerSpec, in_shape: tuple[int, int, int], *, seed: int = 0) -> np.ndarray:
    """Run the example layer with torch.nn.functional: (1, K, OH, OW) float64. Raises ConfigError first."""
    describe_layer(spec, in_shape)
    ex = example_tensors(spec, in_shape, seed=seed)
    x, w, b, stride = ex.x, ex.weight, ex.bias, _stride(spec)
    with torch.no_grad():
        if spec.kind is LayerKind.CONV:
            out = F.conv2d(x, w, b, stride, spec.padding, spec.dilation)
        elif spec.kind is LayerKind.CONV_TRANSPOSE:
            out = F.conv_transpose2d(x, w, b, stride, spec.padding, spec.output_padding, 1, spec.dilation)
        elif spec.kind is LayerKind.MAX_POOL:
            out = F.max_pool2d(x, spec.kernel_size, stride, spec.padding, spec.dilation, spec.ceil_mode)
        else:
            out = F.avg_pool2d(x, spec.kernel_size, stride, spec.padding, spec.ceil_mode)
    return out.numpy().astype(np.float64)


def example_run(spec: LayerSpec, in_shape: tuple[int, int, int], *, seed: int = 0) -> ExampleRun:
    """Run the example layer with torch.nn.functional and with cnnviz.conv.scratch; report the largest difference."""
    theirs = example_output(spec, in_shape, seed=seed)
    ex = example_tensors(spec, in_shape, seed=seed)
    x = ex.x.numpy()
    w = None if ex.weight is None else ex.weight.numpy()
    b = None if ex.bias is None else ex.bias.numpy()
    stride, pad, dil = _stride(spec), spec.padding, spec.dilation
    if spec.kind is LayerKind.CONV:
        ours = scratch.conv2d(x, w, b, stride, pad, dil)
    elif spec.kind is LayerKind.CONV_TRANSPOSE:
        ours = scratch.conv_transpose2d(x, w, b, stride, pad, spec.output_padding, dil)
    elif spec.kind is LayerKind.MAX_POOL:
        ours = scratch.max_pool2d(x, spec.kernel_size, stride, pad, dil, spec.ceil_mode)
    else:
        ours = scratch.avg_pool2d(x, spec.kernel_size, stride, pad, spec.ceil_mode)
    return ExampleRun(theirs, ours, float(np.abs(theirs - ours).max()))
