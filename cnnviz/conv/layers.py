"""One layer and a stack of layers: shapes, parameters, MACs and the receptive field, layer by layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from cnnviz.conv.formulas import (
    Formula,
    conv_output_formula,
    conv_transpose_output_formula,
    macs_formula,
    param_count_formula,
    pool_output_formula,
)
from cnnviz.conv.rules import IntOrPair, Padding, as_pair, conv_paddings, kernel_span, pool_strides
from cnnviz.conv.sizes import conv_output_size, conv_transpose_output_size, pool_output_size
from cnnviz.errors import ConfigError

__all__ = ["LayerKind", "LayerReport", "LayerSpec", "describe_layer", "receptive_window", "walk_stack"]


class LayerKind(StrEnum):
    """The layer types the arithmetic knows."""

    CONV = "conv"
    MAX_POOL = "maxpool"
    AVG_POOL = "avgpool"
    CONV_TRANSPOSE = "convtranspose"


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a stack, with PyTorch's argument names (Conv2d / MaxPool2d / AvgPool2d / ConvTranspose2d)."""

    kind: LayerKind = LayerKind.CONV
    out_channels: int | None = None  # filters K of a convolution; None for pooling (channels pass through)
    kernel_size: IntOrPair = 3  # F
    stride: IntOrPair | None = 1  # S; None means "= kernel_size" (pooling's default)
    padding: Padding = 0  # P, or "same" / "valid" for a convolution
    dilation: IntOrPair = 1  # D; the kernel spans D·(F − 1) + 1 cells
    groups: int = 1  # convolution groups; must divide both channel counts
    bias: bool = True  # convolution bias (one per filter)
    ceil_mode: bool = False  # pooling: round the output size up
    output_padding: IntOrPair = 0  # transposed convolution: extra cells on the bottom/right

    @property
    def pooling(self) -> bool:
        """True for max and average pooling."""
        return LayerKind(self.kind) in (LayerKind.MAX_POOL, LayerKind.AVG_POOL)

    @property
    def strides(self) -> tuple[int, int]:
        """The (h, w) stride with PyTorch's default filled in: 1 for a convolution, the kernel for pooling."""
        if self.pooling:
            return pool_strides(self.stride, self.kernel_size)
        return as_pair(1 if self.stride is None else self.stride, "stride", minimum=1)


@dataclass(frozen=True)
class LayerReport:
    """What one layer does to its input: shapes, sizes written out, parameters, MACs, receptive field."""

    spec: LayerSpec
    in_shape: tuple[int, int, int]  # (C, H, W)
    out_shape: tuple[int, int, int]  # (C, H, W)
    size_formulas: tuple[Formula, Formula]  # output height, output width
    params: int  # weights + biases
    param_formula: Formula | None  # None for pooling (no weights)
    macs: int  # multiply-accumulates for one image (0 for pooling)
    macs_formula: Formula | None  # None for pooling
    receptive_field: tuple[int, int] | None  # (h, w) input cells that one output cell sees; None if transposed
    jump: tuple[int, int] | None  # input cells between neighbouring output cells
    start: tuple[float, float] | None  # centre of output cell (0, 0)'s receptive field, in input cells


def describe_layer(spec: LayerSpec, in_shape: tuple[int, int, int]) -> LayerReport:
    """Compute everything about one layer applied to a (C, H, W) input.

    Raises ConfigError for any setting PyTorch rejects (and for dilation or string padding on
    average pooling, which ``nn.AvgPool2d`` does not have).
    """
    channels, height, width = in_shape
    if not isinstance(channels, int) or channels < 1:
        raise ConfigError.from_key("errors.input_channels", channels=channels)
    kind = LayerKind(spec.kind)
    if kind is LayerKind.CONV:
        return _describe_conv(spec, in_shape)
    if kind is LayerKind.CONV_TRANSPOSE:
        return _describe_conv_transpose(spec, in_shape)
    if kind is LayerKind.AVG_POOL and as_pair(spec.dilation, "dilation", minimum=1) != (1, 1):
        raise ConfigError.from_key("errors.avgpool_dilation", dilation=str(spec.dilation))
    out = pool_output_size((height, width), spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.ceil_mode)
    kernels = as_pair(spec.kernel_size, "kernel", minimum=1)
    strides = spec.strides
    pads = as_pair(spec.padding, "padding", minimum=0)
    dilations = as_pair(spec.dilation, "dilation", minimum=1)
    formulas = tuple(
        pool_output_formula(size, kernels[d], strides[d], pads[d], dilations[d], spec.ceil_mode)
        for d, size in enumerate((height, width))
    )
    rf = _layer_receptive(kernels, strides, ((pads[0], pads[0]), (pads[1], pads[1])), dilations)
    return LayerReport(spec, in_shape, (channels, *out), formulas, 0, None, 0, None, *rf)


def _describe_conv(spec: LayerSpec, in_shape: tuple[int, int, int]) -> LayerReport:
    channels, height, width = in_shape
    out_channels = _out_channels(spec)
    params = param_count_formula(channels, out_channels, spec.kernel_size, spec.bias, spec.groups)
    strides = spec.strides
    out = conv_output_size((height, width), spec.kernel_size, strides, spec.padding, spec.dilation)
    kernels = as_pair(spec.kernel_size, "kernel", minimum=1)
    dilations = as_pair(spec.dilation, "dilation", minimum=1)
    pads = conv_paddings(spec.padding, kernels, stride=strides, dilation=dilations)
    padding_1d = [
        spec.padding if isinstance(spec.padding, str) else as_pair(spec.padding, "padding", minimum=0)[d]
        for d in range(2)
    ]
    formulas = tuple(
        conv_output_formula(size, kernels[d], strides[d], padding_1d[d], dilations[d])
        for d, size in enumerate((height, width))
    )
    macs = macs_formula(channels, out_channels, kernels, out, spec.groups)
    rf = _layer_receptive(kernels, strides, pads, dilations)
    return LayerReport(spec, in_shape, (out_channels, *out), formulas, params.value, params, macs.value, macs, *rf)


def _describe_conv_transpose(spec: LayerSpec, in_shape: tuple[int, int, int]) -> LayerReport:
    channels, height, width = in_shape
    out_channels = _out_channels(spec)
    params = param_count_formula(channels, out_channels, spec.kernel_size, spec.bias, spec.groups)
    strides = spec.strides
    out = conv_transpose_output_size(
        (height, width), spec.kernel_size, strides, spec.padding, spec.output_padding, spec.dilation
    )
    kernels = as_pair(spec.kernel_size, "kernel", minimum=1)
    pads = as_pair(spec.padding, "padding", minimum=0)
    extras = as_pair(spec.output_padding, "output_padding", minimum=0)
    dilations = as_pair(spec.dilation, "dilation", minimum=1)
    formulas = tuple(
        conv_transpose_output_formula(size, kernels[d], strides[d], pads[d], extras[d], dilations[d])
        for d, size in enumerate((height, width))
    )
    # Scatter view: every input cell meets every kernel weight once.
    macs = macs_formula(out_channels, channels, kernels, (height, width), spec.groups)
    macs = Formula("MACs = H_in×W_in×D1×(F×F×K)", macs.substituted, macs.value)
    return LayerReport(
        spec, in_shape, (out_channels, *out), formulas, params.value, params, macs.value, macs, None, None, None
    )


def _out_channels(spec: LayerSpec) -> int:
    if spec.out_channels is None:
        raise ConfigError.from_key("errors.needs_out_channels")
    return spec.out_channels


def _layer_receptive(kernels, strides, pads, dilations) -> tuple[tuple[int, int], tuple[int, int], tuple[float, float]]:
    """Receptive field, jump and start of one layer alone (input cells of size 1, centre 0 at 0)."""
    spans = tuple(kernel_span(kernels[d], dilations[d]) for d in range(2))
    start = tuple((spans[d] - 1) / 2 - pads[d][0] for d in range(2))
    return spans, tuple(strides), start  # type: ignore[return-value]


def walk_stack(layers: Sequence[LayerSpec], in_shape: tuple[int, int, int]) -> list[LayerReport]:
    """Apply conv/pool layers one after another; return each layer's report with the stack's receptive field.

    ``receptive_field``, ``jump`` and ``start`` are measured in cells of the stack's input:
    r_out = r_in + (F′ − 1)·j_in, j_out = j_in·S, start_out = start_in + ((F′ − 1)/2 − P_left)·j_in.
    Raises ConfigError naming the layer (1-based) when one layer's settings are impossible.
    """
    reports: list[LayerReport] = []
    rf, jump, start = (1, 1), (1, 1), (0.0, 0.0)
    shape = in_shape
    for number, spec in enumerate(layers, start=1):
        if LayerKind(spec.kind) is LayerKind.CONV_TRANSPOSE:
            raise ConfigError.from_key("errors.stack_transposed", number=number)
        try:
            report = describe_layer(spec, shape)
        except ConfigError as err:
            raise ConfigError.from_key(
                "errors.stack_layer",
                number=number,
                kind=LayerKind(spec.kind).value,
                shape=f"{shape[1]}×{shape[2]}",
                message=err,
            ) from err
        span, stride, own_start = report.receptive_field, report.jump, report.start
        start = tuple(start[d] + own_start[d] * jump[d] for d in range(2))
        rf = tuple(rf[d] + (span[d] - 1) * jump[d] for d in range(2))
        jump = tuple(jump[d] * stride[d] for d in range(2))
        report = LayerReport(**{**report.__dict__, "receptive_field": rf, "jump": jump, "start": start})
        reports.append(report)
        shape = report.out_shape
    return reports


def receptive_window(report: LayerReport, index: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Return the input rows and columns (first, last), unclipped, that output cell ``index`` (row, col) sees."""
    if report.receptive_field is None:
        raise ConfigError.from_key("errors.transposed_no_window")
    windows = []
    for d in range(2):
        centre = report.start[d] + index[d] * report.jump[d]
        half = (report.receptive_field[d] - 1) / 2
        windows.append((round(centre - half), round(centre + half)))
    return windows[0], windows[1]
