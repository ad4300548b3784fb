"""The formulas of output sizes, parameters and MACs, written out with the user's numbers substituted.

A page shows the arithmetic without computing anything itself: each function returns the formula
symbolically, with the numbers, and its value (computed by :mod:`cnnviz.conv.sizes` and
:mod:`cnnviz.conv.counts`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.conv.counts import conv_macs, conv_param_count
from cnnviz.conv.rules import IntOrPair, as_pair, kernel_span, pool_strides, same_padding
from cnnviz.conv.sizes import conv_output_size, conv_transpose_output_size, pool_output_size

__all__ = [
    "Formula",
    "conv_output_formula",
    "conv_transpose_output_formula",
    "macs_formula",
    "param_count_formula",
    "pool_output_formula",
]


@dataclass(frozen=True)
class Formula:
    """A formula written out symbolically and with the user's numbers substituted."""

    symbolic: str  # e.g. "O = ⌊(W − F + 2P)/S⌋ + 1"
    substituted: str  # e.g. "O = ⌊(7 − 3 + 2·1)/2⌋ + 1 = ⌊6/2⌋ + 1 = 4"
    value: int  # the result


def conv_output_formula(size: int, kernel: int, stride: int = 1, padding: int | str = 0, dilation: int = 1) -> Formula:
    """Write the convolution output size of one dimension with the numbers substituted."""
    value = conv_output_size(size, kernel, stride, padding, dilation)
    span_sym, span_sub, f = _span_parts(kernel, dilation)
    if isinstance(padding, str) and padding == "same":
        lo, hi = same_padding(kernel, dilation)
        symbolic = f"{span_sym}P_l + P_r = D·(F − 1),  O = ⌊(W − {f} + P_l + P_r)/S⌋ + 1"
        substituted = (
            f"{span_sub}P_l + P_r = {dilation}·({kernel} − 1) = {lo} + {hi},  "
            f"O = ⌊({size} − {kernel_span(kernel, dilation)} + {lo} + {hi})/1⌋ + 1 = {value}"
        )
        return Formula(symbolic, substituted, value)
    pad = 0 if isinstance(padding, str) else padding
    prefix = "P = 0 (valid),  " if isinstance(padding, str) else ""
    top = size - kernel_span(kernel, dilation) + 2 * pad
    symbolic = f"{span_sym}{prefix}O = ⌊(W − {f} + 2P)/S⌋ + 1"
    substituted = (
        f"{span_sub}O = ⌊({size} − {kernel_span(kernel, dilation)} + 2·{pad})/{stride}⌋ + 1 "
        f"= ⌊{top}/{stride}⌋ + 1 = {top // stride} + 1 = {value}"
    )
    return Formula(symbolic, substituted, value)


def _span_parts(kernel: int, dilation: int) -> tuple[str, str, str]:
    """The effective-kernel prefix (only when dilated) and the symbol to use for the kernel."""
    if dilation == 1:
        return "", "", "F"
    span = kernel_span(kernel, dilation)
    return "F′ = D·(F − 1) + 1,  ", f"F′ = {dilation}·({kernel} − 1) + 1 = {span},  ", "F′"


def pool_output_formula(
    size: int, kernel: int, stride: int | None = None, padding: int = 0, dilation: int = 1, ceil_mode: bool = False
) -> Formula:
    """Write the pooling output size of one dimension with the numbers substituted (floor or ceil)."""
    value = pool_output_size(size, kernel, stride, padding, dilation, ceil_mode)
    stride = pool_strides(stride, kernel)[0]
    span_sym, span_sub, f = _span_parts(kernel, dilation)
    top = size - kernel_span(kernel, dilation) + 2 * padding
    lb, rb = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    rounded = -(-top // stride) if ceil_mode else top // stride
    symbolic = f"{span_sym}O = {lb}(W − {f} + 2P)/S{rb} + 1"
    substituted = (
        f"{span_sub}O = {lb}({size} − {kernel_span(kernel, dilation)} + 2·{padding})/{stride}{rb} + 1 "
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
    kh, kw = as_pair(kernel, "kernel", minimum=1)
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
    kh, kw = as_pair(kernel, "kernel", minimum=1)
    oh, ow = as_pair(output_size, "output size", minimum=1)
    depth_sym, depth_sub = ("D1", str(in_channels)) if groups == 1 else ("D1/G", f"{in_channels}/{groups}")
    symbolic = f"MACs = H_out×W_out×K×(F×F×{depth_sym})"
    substituted = f"MACs = {oh}×{ow}×{out_channels}×({kh}×{kw}×{depth_sub}) = {value:,}"
    return Formula(symbolic, substituted, value)
