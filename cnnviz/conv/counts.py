"""Parameters and multiply-accumulates (MACs) of a convolution, as PyTorch's layers hold and compute them."""

from __future__ import annotations

import math

from cnnviz.conv.rules import IntOrPair, argument_name, as_pair
from cnnviz.errors import ConfigError

__all__ = ["conv_macs", "conv_param_count"]


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError.from_key("errors.int_at_least_1", name=argument_name(name), value=repr(value))
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
    kh, kw = as_pair(kernel, "kernel", minimum=1)
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
    kh, kw = as_pair(kernel, "kernel", minimum=1)
    oh, ow = as_pair(output_size, "output size", minimum=1)
    return oh * ow * out_channels * kh * kw * (in_channels // groups)
