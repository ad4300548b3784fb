"""Output sizes of convolution, pooling and transposed convolution, with exactly PyTorch's rules.

The size functions return an int when every argument is an int, else an ``(h, w)`` tuple. Every
setting PyTorch rejects raises :class:`~cnnviz.errors.ConfigError` with a message that names the
values and what to change.
"""

from __future__ import annotations

import math

from cnnviz.conv.rules import (
    IntOrPair,
    Padding,
    all_scalar,
    as_pair,
    conv_paddings,
    in_dimension,
    kernel_span,
    pair_text,
    pool_strides,
    size_result,
    which_dimension,
)
from cnnviz.errors import ConfigError

__all__ = ["conv_output_size", "conv_transpose_output_size", "pool_output_size"]


def conv_output_size(
    size: IntOrPair, kernel: IntOrPair, stride: IntOrPair = 1, padding: Padding = 0, dilation: IntOrPair = 1
) -> IntOrPair:
    """Return the output size of ``nn.Conv2d``: ⌊(W + P_l + P_r − D·(F − 1) − 1)/S⌋ + 1 per dimension.

    ``padding`` is an int, an (h, w) pair, ``"valid"`` (no padding) or ``"same"`` (stride 1 only).
    Raises ConfigError when the (dilated) kernel does not fit the padded input or an argument is invalid.
    """
    sizes = as_pair(size, "input size", minimum=1)
    kernels = as_pair(kernel, "kernel", minimum=1)
    strides = as_pair(stride, "stride", minimum=1)
    dilations = as_pair(dilation, "dilation", minimum=1)
    pads = conv_paddings(padding, kernels, stride=strides, dilation=dilations)
    out = []
    for dim in range(2):
        padded = sizes[dim] + sum(pads[dim])
        span = kernel_span(kernels[dim], dilations[dim])
        if span > padded:
            raise _kernel_too_big(sizes, kernels, dilations, padding, pads, dim)
        out.append((padded - span) // strides[dim] + 1)
    return size_result(out[0], out[1], all_scalar(size, kernel, stride, padding, dilation))


def _kernel_too_big(
    sizes: tuple[int, int], kernels: tuple[int, int], dilations: tuple[int, int], padding: Padding, pads, dim: int
) -> ConfigError:
    """Explain why the kernel does not fit and what would make it fit."""
    size, kernel, dilation = sizes[dim], kernels[dim], dilations[dim]
    padded = size + sum(pads[dim])
    span = kernel_span(kernel, dilation)
    values = dict(
        kernel=pair_text(kernels),
        which=which_dimension([sizes, kernels, dilations], dim),
        size=f"{sizes[0]}×{sizes[1]}",
        padding=f'"{padding}"' if isinstance(padding, str) else pair_text(as_pair(padding, "padding", minimum=0)),
        max_kernel=(padded - 1) // dilation + 1,
        min_padding=math.ceil((span - size) / 2),
    )
    if dilation > 1:
        return ConfigError.from_key(
            "errors.kernel_too_big_dilated",
            dilation=pair_text(dilations),
            span=span,
            max_dilation=(padded - 1) // (kernel - 1),
            **values,
        )
    return ConfigError.from_key("errors.kernel_too_big", **values)


def _pool_dim(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape: floor or ceil, and in ceil mode the last window starts inside."""
    span = kernel_span(kernel, dilation)
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
    sizes = as_pair(size, "input size", minimum=1)
    kernels = as_pair(kernel, "kernel", minimum=1)
    strides = pool_strides(stride, kernels)
    if isinstance(padding, str):
        raise ConfigError.from_key("errors.pool_padding_text", padding=repr(padding))
    pads = as_pair(padding, "padding", minimum=0)
    dilations = as_pair(dilation, "dilation", minimum=1)
    out = []
    for dim in range(2):
        kernel_d, pad = kernels[dim], pads[dim]
        which = which_dimension([sizes, kernels, pads], dim)
        if pad > kernel_d // 2:
            raise ConfigError.from_key(
                "errors.pool_padding_too_big",
                padding=pair_text(pads),
                kernel=pair_text(kernels),
                in_dim=in_dimension(which, dim),
                half=kernel_d // 2,
                min_kernel=2 * pad,
            )
        o = _pool_dim(sizes[dim], kernel_d, strides[dim], pad, dilations[dim], ceil_mode)
        if o < 1:
            span = kernel_span(kernel_d, dilations[dim])
            raise ConfigError.from_key(
                "errors.pool_too_big_dilated" if dilations[dim] > 1 else "errors.pool_too_big",
                kernel=pair_text(kernels),
                span=span,
                which=which,
                size=f"{sizes[0]}×{sizes[1]}",
                padding=pair_text(pads),
                max_kernel=(sizes[dim] + 2 * pad - 1) // dilations[dim] + 1,
            )
        out.append(o)
    return size_result(out[0], out[1], all_scalar(size, kernel, stride, padding, dilation))


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
    sizes = as_pair(size, "input size", minimum=1)
    kernels = as_pair(kernel, "kernel", minimum=1)
    strides = as_pair(stride, "stride", minimum=1)
    if isinstance(padding, str):
        raise ConfigError.from_key("errors.transposed_padding_text", padding=repr(padding))
    pads = as_pair(padding, "padding", minimum=0)
    extras = as_pair(output_padding, "output_padding", minimum=0)
    dilations = as_pair(dilation, "dilation", minimum=1)
    out = []
    for dim in range(2):
        extra, s, d = extras[dim], strides[dim], dilations[dim]
        which = which_dimension([strides, dilations, extras], dim)
        if extra >= s and extra >= d:
            raise ConfigError.from_key(
                "errors.output_padding_too_big",
                output_padding=pair_text(extras),
                stride=pair_text(strides),
                dilation=pair_text(dilations),
                in_dim=in_dimension(which, dim),
                max_output_padding=max(s, d) - 1,
                min_stride=extra + 1,
            )
        full = (sizes[dim] - 1) * s + d * (kernels[dim] - 1) + extra + 1
        o = full - 2 * pads[dim]
        if o < 1:
            raise ConfigError.from_key(
                "errors.transposed_padding_too_big",
                padding=pair_text(pads),
                in_dim=in_dimension(which_dimension([sizes, pads, kernels], dim), dim),
                full=full,
                removed=2 * pads[dim],
                max_padding=(full - 1) // 2,
            )
        out.append(o)
    return size_result(out[0], out[1], all_scalar(size, kernel, stride, padding, output_padding, dilation))
