"""Convolution arithmetic with exactly PyTorch's rules: output sizes, parameters, MACs, receptive fields.

Sizes, kernels, strides, paddings and dilations are an int (the same for height and width) or an
``(h, w)`` tuple. The size functions return an int when every argument is an int, else an
``(h, w)`` tuple. Every setting PyTorch rejects raises :class:`~cnnviz.errors.ConfigError` with a
message that names the values and what to change.

The ``*_formula`` functions return the formula with the user's numbers substituted, so a page
shows the arithmetic without computing anything itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cnnviz.errors import ConfigError, Phrase

__all__ = [
    "LayerKind",
    "LayerSpec",
    "LayerReport",
    "Formula",
    "conv_output_size",
    "pool_output_size",
    "conv_transpose_output_size",
    "conv_param_count",
    "conv_macs",
    "conv_output_formula",
    "pool_output_formula",
    "conv_transpose_output_formula",
    "param_count_formula",
    "macs_formula",
    "describe_layer",
    "walk_stack",
    "receptive_window",
    "same_padding",
    "StackPreset",
    "parse_padding",
    "layer_from_row",
    "layer_to_row",
    "STACK_PRESETS",
]

IntOrPair = int | tuple[int, int]
Padding = IntOrPair | str
DIMS = ("height", "width")


class LayerKind(StrEnum):
    """The layer types the arithmetic knows."""

    CONV = "conv"
    MAX_POOL = "maxpool"
    AVG_POOL = "avgpool"
    CONV_TRANSPOSE = "convtranspose"


@dataclass(frozen=True)
class Formula:
    """A formula written out symbolically and with the user's numbers substituted."""

    symbolic: str  # e.g. "O = ⌊(W − F + 2P)/S⌋ + 1"
    substituted: str  # e.g. "O = ⌊(7 − 3 + 2·1)/2⌋ + 1 = ⌊6/2⌋ + 1 = 4"
    value: int  # the result


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


# ----------------------------------------------------------------------------------------------
# Argument checking


def _pair(value: IntOrPair, name: str, *, minimum: int) -> tuple[int, int]:
    """Return ``value`` as (h, w) ints ≥ ``minimum``; raise ConfigError otherwise."""
    values = (value, value) if isinstance(value, int) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ConfigError.from_key("errors.not_a_pair", name=_name(name), value=repr(value))
    if min(values) < minimum:
        raise ConfigError.from_key("errors.below_minimum", name=_name(name), value=_text(values), minimum=minimum)
    return values  # type: ignore[return-value]


def _name(name: str) -> Phrase:
    """An argument name ("kernel", "input size", ...) as a translatable phrase."""
    return Phrase(f"errors.name.{name.replace(' ', '_')}")


def _text(pair: tuple[int, int]) -> str:
    """Write a pair as "3" when both values agree, else "3×5"."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def _which(pair_args: Sequence[tuple[int, int]], dim: int) -> Phrase | str:
    """Name the dimension in a message ("the height of ") only when height and width differ somewhere."""
    square = all(p[0] == p[1] for p in pair_args)
    return "" if square else Phrase(f"errors.which.{DIMS[dim]}")


def _in_dim(which: Phrase | str, dim: int) -> Phrase | str:
    """ " (height)" when the message must say which dimension, else ""."""
    return Phrase(f"errors.in_dim.{DIMS[dim]}") if which else ""


def _all_int(*values: object) -> bool:
    return all(isinstance(v, int | str) or v is None for v in values)


def _result(h: int, w: int, as_int: bool) -> IntOrPair:
    return h if as_int else (h, w)


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """Return PyTorch's (left, right) padding for ``padding="same"``: the total D·(F − 1), extra on the right."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def _conv_paddings(
    padding: Padding, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Return ((top, bottom), (left, right)) padding for a convolution; check strings as nn.Conv2d does."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ConfigError.from_key("errors.padding_unknown", padding=repr(padding))
        if stride != (1, 1):
            raise ConfigError.from_key("errors.same_needs_stride_1", stride=_text(stride))
        return same_padding(kernel[0], dilation[0]), same_padding(kernel[1], dilation[1])
    pad = _pair(padding, "padding", minimum=0)
    return (pad[0], pad[0]), (pad[1], pad[1])


# ----------------------------------------------------------------------------------------------
# Output sizes


def conv_output_size(
    size: IntOrPair, kernel: IntOrPair, stride: IntOrPair = 1, padding: Padding = 0, dilation: IntOrPair = 1
) -> IntOrPair:
    """Return the output size of ``nn.Conv2d``: ⌊(W + P_l + P_r − D·(F − 1) − 1)/S⌋ + 1 per dimension.

    ``padding`` is an int, an (h, w) pair, ``"valid"`` (no padding) or ``"same"`` (stride 1 only).
    Raises ConfigError when the (dilated) kernel does not fit the padded input or an argument is invalid.
    """
    sizes = _pair(size, "input size", minimum=1)
    kernels = _pair(kernel, "kernel", minimum=1)
    strides = _pair(stride, "stride", minimum=1)
    dilations = _pair(dilation, "dilation", minimum=1)
    pads = _conv_paddings(padding, kernels, strides, dilations)
    out = []
    for dim in range(2):
        padded = sizes[dim] + sum(pads[dim])
        span = dilations[dim] * (kernels[dim] - 1) + 1
        if span > padded:
            raise _kernel_too_big(sizes, kernels, dilations, padding, pads, dim)
        out.append((padded - span) // strides[dim] + 1)
    return _result(out[0], out[1], _all_int(size, kernel, stride, padding, dilation))


def _kernel_too_big(
    sizes: tuple[int, int], kernels: tuple[int, int], dilations: tuple[int, int], padding: Padding, pads, dim: int
) -> ConfigError:
    """Explain why the kernel does not fit and what would make it fit."""
    size, kernel, dilation = sizes[dim], kernels[dim], dilations[dim]
    padded = size + sum(pads[dim])
    span = dilation * (kernel - 1) + 1
    values = dict(
        kernel=_text(kernels),
        which=_which([sizes, kernels, dilations], dim),
        size=f"{sizes[0]}×{sizes[1]}",
        padding=f'"{padding}"' if isinstance(padding, str) else _text(_pair(padding, "padding", minimum=0)),
        max_kernel=(padded - 1) // dilation + 1,
        min_padding=math.ceil((span - size) / 2),
    )
    if dilation > 1:
        return ConfigError.from_key(
            "errors.kernel_too_big_dilated",
            dilation=_text(dilations),
            span=span,
            max_dilation=(padded - 1) // (kernel - 1),
            **values,
        )
    return ConfigError.from_key("errors.kernel_too_big", **values)


def _pool_dim(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape: floor or ceil, and in ceil mode the last window starts inside."""
    span = dilation * (kernel - 1) + 1
    out = (size + 2 * pad - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pool_output_size(
    size: IntOrPair,
    kernel: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
) -> IntOrPair:
    """Return the output size of ``nn.MaxPool2d`` / ``nn.AvgPool2d`` (``stride=None`` means the kernel size).

    Floor mode: ⌊(W + 2P − D·(F − 1) − 1)/S⌋ + 1. Ceil mode rounds up, but drops a last window that
    would start beyond the input and its left padding. Raises ConfigError when the padding is more
    than half the kernel (PyTorch's rule) or the output would be empty.
    """
    sizes = _pair(size, "input size", minimum=1)
    kernels = _pair(kernel, "kernel", minimum=1)
    strides = kernels if stride is None else _pair(stride, "stride", minimum=1)
    if isinstance(padding, str):
        raise ConfigError.from_key("errors.pool_padding_text", padding=repr(padding))
    pads = _pair(padding, "padding", minimum=0)
    dilations = _pair(dilation, "dilation", minimum=1)
    out = []
    for dim in range(2):
        kernel_d, pad = kernels[dim], pads[dim]
        which = _which([sizes, kernels, pads], dim)
        if pad > kernel_d // 2:
            raise ConfigError.from_key(
                "errors.pool_padding_too_big",
                padding=_text(pads),
                kernel=_text(kernels),
                in_dim=_in_dim(which, dim),
                half=kernel_d // 2,
                min_kernel=2 * pad,
            )
        o = _pool_dim(sizes[dim], kernel_d, strides[dim], pad, dilations[dim], ceil_mode)
        if o < 1:
            span = dilations[dim] * (kernel_d - 1) + 1
            raise ConfigError.from_key(
                "errors.pool_too_big_dilated" if dilations[dim] > 1 else "errors.pool_too_big",
                kernel=_text(kernels),
                span=span,
                which=which,
                size=f"{sizes[0]}×{sizes[1]}",
                padding=_text(pads),
                max_kernel=(sizes[dim] + 2 * pad - 1) // dilations[dim] + 1,
            )
        out.append(o)
    return _result(out[0], out[1], _all_int(size, kernel, stride, padding, dilation))


def conv_transpose_output_size(
    size: IntOrPair,
    kernel: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> IntOrPair:
    """Return the output size of ``nn.ConvTranspose2d``: (W − 1)·S − 2P + D·(F − 1) + output_padding + 1.

    Raises ConfigError when output_padding is not smaller than the stride or the dilation, when
    padding is a string, or when the output would be empty (PyTorch rejects a negative size and
    returns an empty tensor for 0; an empty feature map is never a usable layer, so we reject both).
    """
    sizes = _pair(size, "input size", minimum=1)
    kernels = _pair(kernel, "kernel", minimum=1)
    strides = _pair(stride, "stride", minimum=1)
    if isinstance(padding, str):
        raise ConfigError.from_key("errors.transposed_padding_text", padding=repr(padding))
    pads = _pair(padding, "padding", minimum=0)
    extras = _pair(output_padding, "output_padding", minimum=0)
    dilations = _pair(dilation, "dilation", minimum=1)
    out = []
    for dim in range(2):
        extra, s, d = extras[dim], strides[dim], dilations[dim]
        which = _which([strides, dilations, extras], dim)
        if extra >= s and extra >= d:
            raise ConfigError.from_key(
                "errors.output_padding_too_big",
                output_padding=_text(extras),
                stride=_text(strides),
                dilation=_text(dilations),
                in_dim=_in_dim(which, dim),
                max_output_padding=max(s, d) - 1,
                min_stride=extra + 1,
            )
        full = (sizes[dim] - 1) * s + d * (kernels[dim] - 1) + extra + 1
        o = full - 2 * pads[dim]
        if o < 1:
            raise ConfigError.from_key(
                "errors.transposed_padding_too_big",
                padding=_text(pads),
                in_dim=_in_dim(_which([sizes, pads, kernels], dim), dim),
                full=full,
                removed=2 * pads[dim],
                max_padding=(full - 1) // 2,
            )
        out.append(o)
    return _result(out[0], out[1], _all_int(size, kernel, stride, padding, output_padding, dilation))


# ----------------------------------------------------------------------------------------------
# Parameters and MACs


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError.from_key("errors.int_at_least_1", name=name, value=repr(value))
    if in_channels % groups or out_channels % groups:
        raise ConfigError.from_key(
            "errors.groups_must_divide",
            groups=groups,
            in_channels=in_channels,
            out_channels=out_channels,
            gcd=math.gcd(in_channels, out_channels),
        )


def conv_param_count(in_channels: int, out_channels: int, kernel: IntOrPair, bias: bool = True, groups: int = 1) -> int:
    """Return the parameters of ``nn.Conv2d`` (and ``nn.ConvTranspose2d``): F_h·F_w·(C_in/G)·K + K.

    Raises ConfigError when ``groups`` does not divide both channel counts.
    """
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair(kernel, "kernel", minimum=1)
    return kh * kw * (in_channels // groups) * out_channels + (out_channels if bias else 0)


def conv_macs(
    in_channels: int,
    out_channels: int,
    kernel: IntOrPair,
    output_size: IntOrPair,
    groups: int = 1,
) -> int:
    """Return the multiply-accumulates of one convolution on one image: H_out·W_out·K·(F_h·F_w·C_in/G).

    For a transposed convolution pass its *input* size as ``output_size`` and swap the channels:
    every input cell is multiplied by every kernel weight once.
    """
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair(kernel, "kernel", minimum=1)
    oh, ow = _pair(output_size, "output size", minimum=1)
    return oh * ow * out_channels * kh * kw * (in_channels // groups)


# ----------------------------------------------------------------------------------------------
# Formulas with the user's numbers


def conv_output_formula(size: int, kernel: int, stride: int = 1, padding: int | str = 0, dilation: int = 1) -> Formula:
    """Write the convolution output size of one dimension with the numbers substituted."""
    value = conv_output_size(size, kernel, stride, padding, dilation)
    span_sym, span_sub, f = _span_parts(kernel, dilation)
    if isinstance(padding, str) and padding == "same":
        lo, hi = same_padding(kernel, dilation)
        symbolic = f"{span_sym}P_l + P_r = D·(F − 1),  O = ⌊(W − {f} + P_l + P_r)/S⌋ + 1"
        substituted = (
            f"{span_sub}P_l + P_r = {dilation}·({kernel} − 1) = {lo} + {hi},  "
            f"O = ⌊({size} − {_span(kernel, dilation)} + {lo} + {hi})/1⌋ + 1 = {value}"
        )
        return Formula(symbolic, substituted, value)
    pad = 0 if isinstance(padding, str) else padding
    prefix = "P = 0 (valid),  " if isinstance(padding, str) else ""
    top = size - _span(kernel, dilation) + 2 * pad
    symbolic = f"{span_sym}{prefix}O = ⌊(W − {f} + 2P)/S⌋ + 1"
    substituted = (
        f"{span_sub}O = ⌊({size} − {_span(kernel, dilation)} + 2·{pad})/{stride}⌋ + 1 "
        f"= ⌊{top}/{stride}⌋ + 1 = {top // stride} + 1 = {value}"
    )
    return Formula(symbolic, substituted, value)


def _span(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1


def _span_parts(kernel: int, dilation: int) -> tuple[str, str, str]:
    """The effective-kernel prefix (only when dilated) and the symbol to use for the kernel."""
    if dilation == 1:
        return "", "", "F"
    span = _span(kernel, dilation)
    return "F′ = D·(F − 1) + 1,  ", f"F′ = {dilation}·({kernel} − 1) + 1 = {span},  ", "F′"


def pool_output_formula(
    size: int, kernel: int, stride: int | None = None, padding: int = 0, dilation: int = 1, ceil_mode: bool = False
) -> Formula:
    """Write the pooling output size of one dimension with the numbers substituted (floor or ceil)."""
    value = pool_output_size(size, kernel, stride, padding, dilation, ceil_mode)
    stride = kernel if stride is None else stride
    span_sym, span_sub, f = _span_parts(kernel, dilation)
    top = size - _span(kernel, dilation) + 2 * padding
    lb, rb = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    rounded = -(-top // stride) if ceil_mode else top // stride
    symbolic = f"{span_sym}O = {lb}(W − {f} + 2P)/S{rb} + 1"
    substituted = (
        f"{span_sub}O = {lb}({size} − {_span(kernel, dilation)} + 2·{padding})/{stride}{rb} + 1 "
        f"= {lb}{top}/{stride}{rb} + 1 = {rounded} + 1 = {rounded + 1}"
    )
    if rounded + 1 != value:  # ceil mode dropped a window that would start past the input
        symbolic += ";  if (O − 1)·S ≥ W + P: O − 1"
        substituted += f";  ({rounded}·{stride} = {rounded * stride} ≥ {size} + {padding}) → {value}"
    return Formula(symbolic, substituted, value)


def conv_transpose_output_formula(
    size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> Formula:
    """Write the transposed-convolution output size of one dimension with the numbers substituted."""
    value = conv_transpose_output_size(size, kernel, stride, padding, output_padding, dilation)
    symbolic = "O = (W − 1)·S − 2P + D·(F − 1) + output_padding + 1"
    substituted = (
        f"O = ({size} − 1)·{stride} − 2·{padding} + {dilation}·({kernel} − 1) + {output_padding} + 1 = {value}"
    )
    return Formula(symbolic, substituted, value)


def param_count_formula(
    in_channels: int, out_channels: int, kernel: IntOrPair, bias: bool = True, groups: int = 1
) -> Formula:
    """Write the parameter count as (F×F×D1)×K + K with the numbers substituted."""
    value = conv_param_count(in_channels, out_channels, kernel, bias, groups)
    kh, kw = _pair(kernel, "kernel", minimum=1)
    depth_sym, depth_sub = ("D1", str(in_channels)) if groups == 1 else ("D1/G", f"{in_channels}/{groups}")
    kernel_sym = "F×F" if kh == kw else "F_h×F_w"
    symbolic = f"({kernel_sym}×{depth_sym})×K" + (" + K" if bias else "")
    substituted = f"({kh}×{kw}×{depth_sub})×{out_channels}" + (f" + {out_channels}" if bias else "") + f" = {value}"
    return Formula(symbolic, substituted, value)


def macs_formula(
    in_channels: int, out_channels: int, kernel: IntOrPair, output_size: IntOrPair, groups: int = 1
) -> Formula:
    """Write the MACs of a convolution as H_out×W_out×K×(F×F×D1) with the numbers substituted."""
    value = conv_macs(in_channels, out_channels, kernel, output_size, groups)
    kh, kw = _pair(kernel, "kernel", minimum=1)
    oh, ow = _pair(output_size, "output size", minimum=1)
    depth_sym, depth_sub = ("D1", str(in_channels)) if groups == 1 else ("D1/G", f"{in_channels}/{groups}")
    symbolic = f"MACs = H_out×W_out×K×(F×F×{depth_sym})"
    substituted = f"MACs = {oh}×{ow}×{out_channels}×({kh}×{kw}×{depth_sub}) = {value:,}"
    return Formula(symbolic, substituted, value)


# ----------------------------------------------------------------------------------------------
# One layer, and a stack of layers


def describe_layer(spec: LayerSpec, in_shape: tuple[int, int, int]) -> LayerReport:
    """Compute everything about one layer applied to a (C, H, W) input.

    Raises ConfigError for any setting PyTorch rejects (and for dilation or string padding on
    average pooling, which ``nn.AvgPool2d`` does not have).
    """
    channels, height, width = in_shape
    if not isinstance(channels, int) or channels < 1:
        raise ConfigError.from_key("errors.input_channels", channels=repr(channels))
    kind = LayerKind(spec.kind)
    if kind is LayerKind.CONV:
        return _describe_conv(spec, in_shape)
    if kind is LayerKind.CONV_TRANSPOSE:
        return _describe_conv_transpose(spec, in_shape)
    if kind is LayerKind.AVG_POOL and _pair(spec.dilation, "dilation", minimum=1) != (1, 1):
        raise ConfigError.from_key("errors.avgpool_dilation", dilation=str(spec.dilation))
    out = pool_output_size((height, width), spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.ceil_mode)
    kernels = _pair(spec.kernel_size, "kernel", minimum=1)
    strides = kernels if spec.stride is None else _pair(spec.stride, "stride", minimum=1)
    pads = _pair(spec.padding, "padding", minimum=0)
    dilations = _pair(spec.dilation, "dilation", minimum=1)
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
    stride = 1 if spec.stride is None else spec.stride
    out = conv_output_size((height, width), spec.kernel_size, stride, spec.padding, spec.dilation)
    kernels = _pair(spec.kernel_size, "kernel", minimum=1)
    strides = _pair(stride, "stride", minimum=1)
    dilations = _pair(spec.dilation, "dilation", minimum=1)
    pads = _conv_paddings(spec.padding, kernels, strides, dilations)
    padding_1d = [
        spec.padding if isinstance(spec.padding, str) else _pair(spec.padding, "padding", minimum=0)[d]
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
    stride = 1 if spec.stride is None else spec.stride
    out = conv_transpose_output_size(
        (height, width), spec.kernel_size, stride, spec.padding, spec.output_padding, spec.dilation
    )
    kernels = _pair(spec.kernel_size, "kernel", minimum=1)
    strides = _pair(stride, "stride", minimum=1)
    pads = _pair(spec.padding, "padding", minimum=0)
    extras = _pair(spec.output_padding, "output_padding", minimum=0)
    dilations = _pair(spec.dilation, "dilation", minimum=1)
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
    spans = tuple(_span(kernels[d], dilations[d]) for d in range(2))
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


# ----------------------------------------------------------------------------------------------
# Reading layers typed into a table


def parse_padding(value: object) -> int | str:
    """Read a padding typed by a user: a whole number ≥ 0, "same" or "valid"."""
    text = str(value).strip().lower()
    if text in ("same", "valid"):
        return text
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if number < 0 or number != int(number):
        raise ConfigError.from_key("errors.padding_not_understood", padding=repr(value))
    return int(number)


def layer_from_row(row: Mapping[str, object]) -> LayerSpec:
    """Turn one table row (kind, out_channels, kernel_size, stride, padding, dilation, bias) into a LayerSpec.

    Empty cells take the layer's defaults (stride = kernel for pooling). Raises ConfigError on
    unknown kinds or values that are not whole numbers.
    """
    kind_text = _cell(row, "kind")
    kinds = [k.value for k in LayerKind if k is not LayerKind.CONV_TRANSPOSE]
    if kind_text not in kinds:
        raise ConfigError.from_key("errors.layer_kind_unknown", kind=repr(kind_text), kinds=", ".join(kinds))
    kind = LayerKind(kind_text)
    pooling = kind is not LayerKind.CONV
    out_channels = None if pooling else _whole(row, "out_channels", 1)
    kernel = _whole(row, "kernel_size", 3)
    stride = _whole(row, "stride", None if pooling else 1)
    padding_cell = _cell(row, "padding")
    padding = 0 if padding_cell is None else parse_padding(padding_cell)
    bias = _cell(row, "bias")
    bias = True if bias is None else bool(bias)
    return LayerSpec(kind, out_channels, kernel, stride, padding, _whole(row, "dilation", 1), bias=bias)


def layer_to_row(spec: LayerSpec) -> dict[str, object]:
    """The inverse of :func:`layer_from_row`, for filling a table (square kernels and strides)."""
    stride = None if spec.stride is None else _pair(spec.stride, "stride", minimum=1)[0]
    padding = spec.padding if isinstance(spec.padding, str) else _pair(spec.padding, "padding", minimum=0)[0]
    return {
        "kind": LayerKind(spec.kind).value,
        "out_channels": spec.out_channels,
        "kernel_size": _pair(spec.kernel_size, "kernel", minimum=1)[0],
        "stride": stride,
        "padding": str(padding),
        "dilation": _pair(spec.dilation, "dilation", minimum=1)[0],
        "bias": spec.bias if LayerKind(spec.kind) is LayerKind.CONV else None,
    }


def _cell(row: Mapping[str, object], name: str) -> object:
    """A cell's value, with empty cells (None, NaN, "") as None."""
    value = row.get(name)
    if value is None or value != value or (isinstance(value, str) and not value.strip()):  # NaN != NaN
        return None
    return value


def _whole(row: Mapping[str, object], name: str, default: int | None) -> int | None:
    value = _cell(row, name)
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if number != number or number != int(number):
        raise ConfigError.from_key("errors.not_whole", name=name, value=repr(value))
    return int(number)


# ----------------------------------------------------------------------------------------------
# Example stacks from the course material


@dataclass(frozen=True)
class StackPreset:
    """A named example stack and the input it is meant for."""

    key: str  # short name; pages translate it as "arith.preset.<key>"
    in_shape: tuple[int, int, int]  # (C, H, W)
    layers: tuple[LayerSpec, ...]


def _conv(out_channels: int, kernel: int, stride: int = 1, padding: int | str = 0, bias: bool = True) -> LayerSpec:
    return LayerSpec(LayerKind.CONV, out_channels, kernel, stride, padding, bias=bias)


def _max_pool(kernel: int = 2, stride: int | None = None) -> LayerSpec:
    return LayerSpec(LayerKind.MAX_POOL, None, kernel, stride)


STACK_PRESETS: tuple[StackPreset, ...] = (
    # One 5×5 vs two 3×3 (one channel, no bias): 25 vs 18 weights, both see 5×5 input cells.
    StackPreset("one_5x5", (1, 9, 9), (_conv(1, 5, bias=False),)),
    StackPreset("two_3x3", (1, 9, 9), (_conv(1, 3, bias=False), _conv(1, 3, bias=False))),
    # One 7×7 vs three 3×3: 49 vs 27 weights, both see 7×7 input cells.
    StackPreset("one_7x7", (1, 9, 9), (_conv(1, 7, bias=False),)),
    StackPreset("three_3x3", (1, 9, 9), (_conv(1, 3, bias=False),) * 3),
    # A small VGG-like block pattern (torchvision's vgg "cfg" style: 3×3 convs, "same" padding, 2×2 pools).
    StackPreset(
        "small_vgg",
        (3, 32, 32),
        (
            _conv(16, 3, padding=1),
            _conv(16, 3, padding=1),
            _max_pool(),
            _conv(32, 3, padding=1),
            _conv(32, 3, padding=1),
            _max_pool(),
        ),
    ),
    # The first layers of AlexNet as in torchvision.
    StackPreset(
        "alexnet_head",
        (3, 224, 224),
        (_conv(64, 11, stride=4, padding=2), _max_pool(3, 2), _conv(192, 5, padding=2), _max_pool(3, 2)),
    ),
)
