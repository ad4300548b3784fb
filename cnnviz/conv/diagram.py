"""The sliding-window picture as data: the plane a kernel slides over, and the cells and numbers of one step.

Convolution, pooling and transposed convolution are drawn the same way: a *plane* of cells (the
input with its padding; for a transposed convolution the input with S − 1 zeros inserted between
cells and padded by D·(F − 1) − P, over which an ordinary stride-1 convolution with the flipped
kernel gives the same result as PyTorch's ``conv_transpose2d``), a window that steps over it, and
the output grid. Example values are small seeded integers, so one output cell's sum can be read.

:func:`layer_example` computes everything a page shows about one layer once (the report, the example
values, PyTorch's output, the plane); :func:`explain_step` and the drawings read from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.conv import scratch
from cnnviz.conv.layers import LayerKind, LayerReport, LayerSpec, describe_layer
from cnnviz.conv.rules import (
    as_pair,
    avg_pool_divisor,
    conv_paddings,
    spread_size,
    transpose_padding,
    window_reach,
)
from cnnviz.errors import ConfigError

__all__ = [
    "CellKind",
    "ExampleRun",
    "ExampleTensors",
    "LayerExample",
    "Plane",
    "StepCodes",
    "StepDetail",
    "build_plane",
    "example_output",
    "example_run",
    "example_tensors",
    "explain_step",
    "layer_example",
    "plane_values",
    "run_scratch",
    "step_codes",
    "step_detail",
]


MAX_TEXT_CELLS = 16  # write values in the cells when the plane is at most this many cells wide and high


MAX_HOVER_CELLS = 64 * 64  # per-cell hover text only up to this many cells (keeps the picture light)


MAX_PLANE_CELLS = 512 * 512  # a larger plane is described but not laid out (it would take hundreds of MB)


MAX_EXAMPLE_WORK = 20_000_000  # multiply-adds (or pooled window cells) up to which the example layer is run


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
class LayerExample:
    """One layer with its seeded example, computed once: what every part of a page about the layer reads."""

    spec: LayerSpec
    report: LayerReport  # shapes, formulas, parameters, MACs, receptive field
    tensors: ExampleTensors  # only filter 0's weights when the layer is too large to run
    output: np.ndarray | None  # (1, K, OH, OW) PyTorch's result on the example; None above MAX_EXAMPLE_WORK
    plane: Plane | None  # the sliding window's plane; None when it has more than MAX_PLANE_CELLS cells


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
class StepCodes:
    """Colour codes of one step's picture, shared by every drawing of the diagram."""

    out_index: tuple[int, int]  # (row, col) computed at this step
    plane: np.ndarray  # (Hp, Wp) CellKind code, + 4 under the window
    output: np.ndarray  # (OH, OW) 0 still to compute, 1 computed, 2 this step
    box: tuple[int, int, int, int]  # the window's (top, left, bottom, right) plane cells, inclusive


@dataclass(frozen=True)
class ExampleRun:
    """The example layer computed by PyTorch and by the NumPy scratch version."""

    torch_out: np.ndarray  # (1, K, OH, OW)
    scratch_out: np.ndarray  # (1, K, OH, OW)
    max_abs_diff: float


def layer_example(spec: LayerSpec, in_shape: tuple[int, int, int], *, seed: int = 0) -> LayerExample:
    """Describe ``spec`` on a (C, H, W) input and draw, run and lay out its seeded example, each once.

    The example layer is run only up to MAX_EXAMPLE_WORK multiply-adds and the plane laid out only
    up to MAX_PLANE_CELLS cells (``output`` / ``plane`` are None beyond). Raises ConfigError for any
    setting PyTorch rejects.
    """
    report = describe_layer(spec, in_shape)
    runnable = _work(report) <= MAX_EXAMPLE_WORK
    tensors = _draw(spec, in_shape, seed, filters=(spec.out_channels or 1) if runnable else 1)
    output = _run_torch(spec, tensors) if runnable else None
    return LayerExample(spec, report, tensors, output, _layout(spec, report))


def _work(report: LayerReport) -> int:
    """Multiply-adds of the layer, or for pooling the window cells it reads."""
    kernel = as_pair(report.spec.kernel_size)
    return max(report.macs, math.prod(report.out_shape) * kernel[0] * kernel[1])


def build_plane(spec: LayerSpec, in_size: tuple[int, int]) -> Plane:
    """Lay out the plane for ``spec`` on an (H, W) input. Raises ConfigError on impossible settings or a huge plane."""
    return _require_plane(_layout(spec, describe_layer(spec, (1, *in_size))))


def _require_plane(plane: Plane | None) -> Plane:
    if plane is None:
        raise ConfigError.from_key("errors.plane_too_big", cells=f"{MAX_PLANE_CELLS:,}")
    return plane


def _layout(spec: LayerSpec, report: LayerReport) -> Plane | None:
    """The plane of a described layer, or None when it has more than MAX_PLANE_CELLS cells."""
    in_size, out_size = report.in_shape[1:], report.out_shape[1:]
    kernel, dilation = as_pair(spec.kernel_size), as_pair(spec.dilation)
    axes = [_axis(spec, d, in_size[d], kernel[d], dilation[d], out_size[d]) for d in range(2)]
    if len(axes[0][0]) * len(axes[1][0]) > MAX_PLANE_CELLS:
        return None
    kinds = np.full((len(axes[0][0]), len(axes[1][0])), CellKind.INPUT)
    for kind in (CellKind.INSERTED, CellKind.PADDING, CellKind.OUTSIDE):  # later kinds win where row and col differ
        kinds[np.logical_or.outer(axes[0][0] == kind, axes[1][0] == kind)] = kind
    rows, cols = np.meshgrid(axes[0][1], axes[1][1], indexing="ij")
    inside = kinds == CellKind.INPUT
    source = np.stack([np.where(inside, rows, -1), np.where(inside, cols, -1)], axis=-1)
    stride = (1, 1) if spec.kind is LayerKind.CONV_TRANSPOSE else spec.strides
    origin = (axes[0][2], axes[1][2])
    return Plane(kinds.astype(np.int8), source, origin, stride, dilation, kernel, tuple(out_size))


def _axis(
    spec: LayerSpec, d: int, size: int, kernel: int, dilation: int, out: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """One axis of the plane: kind of each position, input index of each position, origin."""
    if spec.kind is LayerKind.CONV_TRANSPOSE:
        stride = spec.strides[d]
        lead = transpose_padding(kernel, dilation, as_pair(spec.padding)[d])  # negative means crop
        trail = lead + as_pair(spec.output_padding)[d]
        spread = spread_size(size, stride)
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
    extra = max(0, window_reach(out, spec.strides[d], kernel, dilation) - len(kinds))  # ceil mode: past the padding
    kinds = np.concatenate([kinds, np.full(extra, CellKind.OUTSIDE)])
    return kinds, np.concatenate([index, np.full(extra, -1)]), 0


def _surround(kinds: np.ndarray, index: np.ndarray, lead: int, trail: int) -> tuple[np.ndarray, np.ndarray]:
    kinds = np.concatenate([np.full(lead, CellKind.PADDING), kinds, np.full(trail, CellKind.PADDING)])
    return kinds, np.concatenate([np.full(lead, -1), index, np.full(trail, -1)])


def _window(plane: Plane, step: int) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """Output (row, col) of ``step`` and the plane cells under its window, in kernel order."""
    if not 0 <= step < plane.steps:
        raise ConfigError.from_key("errors.step_outside", step=step, last=plane.steps - 1)
    row, col = divmod(step, plane.out_size[1])
    top = plane.origin[0] + row * plane.stride[0]
    left = plane.origin[1] + col * plane.stride[1]
    cells = [
        (top + i * plane.dilation[0], left + j * plane.dilation[1])
        for i in range(plane.kernel[0])
        for j in range(plane.kernel[1])
    ]
    return (row, col), cells


def step_codes(plane: Plane, step: int) -> StepCodes:
    """Colour codes of ``step``'s picture: the plane with its window, the output with the cells done so far.

    Raises ConfigError for a step outside the output.
    """
    (row, col), cells = _window(plane, step)
    codes = plane.kinds.astype(int)
    rows, cols = (np.array(axis) for axis in zip(*cells, strict=True))
    codes[rows, cols] += 4  # the window's variant of the same kind
    out_codes = np.zeros(plane.out_size, dtype=int)
    out_codes.flat[:step] = 1
    out_codes[row, col] = 2
    return StepCodes((row, col), codes, out_codes, (int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())))


def example_tensors(spec: LayerSpec, in_shape: tuple[int, int, int], *, seed: int = 0) -> ExampleTensors:
    """Draw small integers: inputs 0…4, weights −1…2, biases −1…1 (exact in float32)."""
    return _draw(spec, in_shape, seed, filters=spec.out_channels or 1)


def _draw(spec: LayerSpec, in_shape: tuple[int, int, int], seed: int, *, filters: int) -> ExampleTensors:
    generator = torch.Generator().manual_seed(seed)
    channels = in_shape[0]
    x = torch.randint(0, 5, (1, *in_shape), generator=generator).float()  # (1, C, H, W)
    if spec.pooling:
        return ExampleTensors(x, None, None)
    kernel = as_pair(spec.kernel_size)
    shape = (filters, channels, *kernel) if spec.kind is LayerKind.CONV else (channels, filters, *kernel)
    weight = torch.randint(-1, 3, shape, generator=generator).float()
    bias = torch.randint(-1, 2, (filters,), generator=generator).float() if spec.bias else None
    return ExampleTensors(x, weight, bias)


def explain_step(example: LayerExample, step: int, *, max_terms: int = 27) -> StepDetail:
    """Compute output cell ``step`` (row-major) of filter/channel 0 by hand from the example values.

    Raises ConfigError for a step outside the output, or when the plane was too large to lay out.
    """
    spec = example.spec
    plane = _require_plane(example.plane)
    (row, col), cells = _window(plane, step)
    x = example.tensors.x[0].numpy()  # (C, H, W)
    channels = 1 if spec.pooling else x.shape[0]
    rows, cols = (np.array(axis) for axis in zip(*cells, strict=True))
    kinds, source = plane.kinds[rows, cols], plane.source[rows, cols]  # (KH·KW,), (KH·KW, 2)
    patch = _fill(kinds, source, x[:channels], spec.kind).reshape(channels, *plane.kernel)  # (C, KH, KW)
    inputs = tuple((int(r), int(c)) for (r, c), k in zip(source, kinds, strict=True) if k == CellKind.INPUT)
    kernel = _applied_kernel(spec, example.tensors)
    bias = None if example.tensors.bias is None else float(example.tensors.bias[0])
    divisor = _avg_divisor(example.report, row, col) if spec.kind is LayerKind.AVG_POOL else None
    value, expression = _compute(spec.kind, patch, kernel, bias, divisor, max_terms)
    return StepDetail((row, col), tuple(cells), inputs, patch, kernel, bias, value, expression)


def step_detail(
    spec: LayerSpec, in_shape: tuple[int, int, int], step: int, *, seed: int = 0, max_terms: int = 27
) -> StepDetail:
    """Compute output cell ``step`` (row-major) of filter/channel 0 by hand from the example values.

    Raises ConfigError on impossible settings or a step outside the output.
    """
    return explain_step(layer_example(spec, in_shape, seed=seed), step, max_terms=max_terms)


def _fill(kinds: np.ndarray, source: np.ndarray, x: np.ndarray, kind: LayerKind) -> np.ndarray:
    """Example values of plane cells (any shape S) from x (C, H, W) → (C, *S); cells that do not count are NaN."""
    pad_value = np.nan if kind is LayerKind.MAX_POOL else 0.0
    values = np.full((x.shape[0], *kinds.shape), pad_value)
    values[:, kinds == CellKind.INSERTED] = 0.0
    values[:, kinds == CellKind.OUTSIDE] = np.nan
    inside = kinds == CellKind.INPUT
    values[:, inside] = x[:, source[inside][:, 0], source[inside][:, 1]]
    return values


def plane_values(plane: Plane, x: np.ndarray, kind: LayerKind) -> np.ndarray:
    """Example values on the plane: x (C, H, W) → (C, Hp, Wp); cells that do not count are NaN."""
    return _fill(plane.kinds, plane.source, x, kind)


def _avg_divisor(report: LayerReport, row: int, col: int) -> int:
    """The count average pooling divides output cell (row, col) by (padding counts, cells beyond it do not)."""
    spec, sizes = report.spec, report.in_shape[1:]
    kernels, strides, pads = as_pair(spec.kernel_size), spec.strides, as_pair(spec.padding)
    starts = (row * strides[0] - pads[0], col * strides[1] - pads[1])  # window starts, in input cells
    return math.prod(avg_pool_divisor(starts[d], kernels[d], sizes[d], pads[d]) for d in range(2))


def _applied_kernel(spec: LayerSpec, example: ExampleTensors) -> np.ndarray | None:
    if example.weight is None:
        return None
    weight = example.weight.numpy()
    if spec.kind is LayerKind.CONV_TRANSPOSE:
        return weight[:, 0, ::-1, ::-1].copy()  # (C, KH, KW): filter 0, flipped
    return weight[0]  # (C, KH, KW)


def _compute(
    kind: LayerKind, patch: np.ndarray, kernel: np.ndarray | None, bias: float | None, divisor: int | None, terms: int
) -> tuple[float, str | None]:
    """The value of one output cell and, for windows of at most ``terms`` cells, the computation as text."""
    counted = patch[~np.isnan(patch)]
    readable = patch.size <= terms
    if kind is LayerKind.MAX_POOL:
        value = float(counted.max())
        return value, f"max({', '.join(_num(v) for v in counted)}) = {_num(value)}" if readable else None
    if kind is LayerKind.AVG_POOL:
        value = float(counted.sum() / divisor)  # padding counts (as 0), cells beyond it do not
        return value, f"({' + '.join(_num(v) for v in counted)}) / {divisor} = {value:.3f}" if readable else None
    value = float((patch * kernel).sum()) + (bias or 0.0)
    if not readable:
        return value, None
    terms_text = " + ".join(f"{_num(a)}·{_num(w)}" for a, w in zip(patch.ravel(), kernel.ravel(), strict=True))
    bias_text = "" if bias is None else f" {'−' if bias < 0 else '+'} {abs(bias):g}"
    return value, f"{terms_text}{bias_text} = {_signed(value)}"


def _num(value: float) -> str:
    """A factor or a list item: negative numbers in parentheses, with a real minus sign."""
    text = f"{abs(value):g}"
    return text if value >= 0 else f"(−{text})"


def _signed(value: float) -> str:
    return f"−{abs(value):g}" if value < 0 else f"{value:g}"


def _run_torch(spec: LayerSpec, ex: ExampleTensors) -> np.ndarray:
    """Run the example layer with torch.nn.functional: (1, K, OH, OW) float64."""
    x, w, b, stride = ex.x, ex.weight, ex.bias, spec.strides
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


def _run_numpy(spec: LayerSpec, ex: ExampleTensors) -> np.ndarray:
    """Run the example layer with cnnviz.conv.scratch: (1, K, OH, OW) float64."""
    x = ex.x.numpy()
    w = None if ex.weight is None else ex.weight.numpy()
    b = None if ex.bias is None else ex.bias.numpy()
    stride, pad, dil = spec.strides, spec.padding, spec.dilation
    if spec.kind is LayerKind.CONV:
        return scratch.conv2d(x, w, b, stride, pad, dil)
    if spec.kind is LayerKind.CONV_TRANSPOSE:
        return scratch.conv_transpose2d(x, w, b, stride, pad, spec.output_padding, dil)
    if spec.kind is LayerKind.MAX_POOL:
        return scratch.max_pool2d(x, spec.kernel_size, stride, pad, dil, spec.ceil_mode)
    return scratch.avg_pool2d(x, spec.kernel_size, stride, pad, spec.ceil_mode)


def example_output(spec: LayerSpec, in_shape: tuple[int, int, int], *, seed: int = 0) -> np.ndarray:
    """Run the example layer with torch.nn.functional: (1, K, OH, OW) float64. Raises ConfigError first."""
    describe_layer(spec, in_shape)
    return _run_torch(spec, example_tensors(spec, in_shape, seed=seed))


def run_scratch(example: LayerExample) -> ExampleRun:
    """Run the example layer with cnnviz.conv.scratch too and compare it with PyTorch's output.

    Raises ConfigError when the layer was too large to run (``example.output`` is None).
    """
    if example.output is None:
        raise ConfigError.from_key("errors.example_too_big", work=f"{MAX_EXAMPLE_WORK:,}")
    ours = _run_numpy(example.spec, example.tensors)
    return ExampleRun(example.output, ours, float(np.abs(example.output - ours).max()))


def example_run(spec: LayerSpec, in_shape: tuple[int, int, int], *, seed: int = 0) -> ExampleRun:
    """Run the example layer with torch.nn.functional and with cnnviz.conv.scratch; report the largest difference."""
    describe_layer(spec, in_shape)
    ex = example_tensors(spec, in_shape, seed=seed)
    theirs, ours = _run_torch(spec, ex), _run_numpy(spec, ex)
    return ExampleRun(theirs, ours, float(np.abs(theirs - ours).max()))
