"""What the design ideas of the ImageNet winners cost, computed on real layers with the learner's sizes.

1×1 convolutions as channel reductions (GoogLeNet), depthwise separable convolutions (MobileNet),
stacks of 3×3 kernels in place of one large kernel (VGG), and the receptive field growing layer by
layer. Every count comes from a real ``nn.Conv2d`` built on the meta device: parameters are
``sum(p.numel())``, output shapes a forward pass, MACs ``output elements × in_channels/groups × k²``
(what ``torch.utils.flop_counter`` counts, halved).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.errors import ConfigError

__all__ = [
    "COST_ROLES",
    "ConvCost",
    "CostComparison",
    "KernelStack",
    "RFStep",
    "channel_reduction",
    "conv_cost",
    "receptive_field_growth",
    "separable_vs_plain",
    "stacked_kernels",
]


COST_ROLES = ("plain", "reduce", "conv", "depthwise", "pointwise")  # what a layer does in a comparison


@dataclass(frozen=True)
class ConvCost:
    """One convolution's shape, parameters and multiply-accumulates for one image."""

    role: str  # what the layer does in its comparison: "plain", "reduce", "conv", "depthwise", "pointwise"
    in_channels: int
    out_channels: int
    kernel_size: int
    groups: int
    input_shape: tuple[int, int, int]  # (C, H, W)
    output_shape: tuple[int, int, int]  # (C, H, W)
    params: int  # sum(p.numel()) of the real layer (weights, and biases when it has them)
    macs: int  # output elements × (in_channels / groups) × kernel_size²


@dataclass(frozen=True)
class CostComparison:
    """One way of computing a result (``before``) against a cheaper one (``after``), layer by layer."""

    before: tuple[ConvCost, ...]
    after: tuple[ConvCost, ...]

    @property
    def before_params(self) -> int:
        return sum(c.params for c in self.before)

    @property
    def after_params(self) -> int:
        return sum(c.params for c in self.after)

    @property
    def before_macs(self) -> int:
        return sum(c.macs for c in self.before)

    @property
    def after_macs(self) -> int:
        return sum(c.macs for c in self.after)

    @property
    def param_ratio(self) -> float:
        """How many times fewer parameters ``after`` needs (before / after)."""
        return self.before_params / self.after_params

    @property
    def mac_ratio(self) -> float:
        """How many times fewer multiply-accumulates ``after`` needs (before / after)."""
        return self.before_macs / self.after_macs


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if int(value) < 1:
            raise ConfigError.from_key("errors.arch_not_positive", name=name, value=value)


def conv_cost(
    role: str,
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    height: int,
    width: int,
    groups: int = 1,
    bias: bool = False,
) -> ConvCost:
    """Build the convolution on the meta device ('same' padding, stride 1) and count what it costs.

    Raises ConfigError for a size below 1 or channels that ``groups`` does not divide.
    """
    _check_positive(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size,
                    height=height, width=width, groups=groups)  # fmt: skip
    if in_channels % groups or out_channels % groups:
        raise ConfigError.from_key("errors.arch_groups", groups=groups, cin=in_channels, cout=out_channels)
    with torch.device("meta"):
        layer = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, groups=groups, bias=bias)
        out = layer(torch.empty(1, in_channels, height, width))  # (1, C_out, H', W')
    shape = tuple(int(s) for s in out.shape[1:])
    macs = out.numel() * (in_channels // groups) * kernel_size * kernel_size
    params = sum(p.numel() for p in layer.parameters())
    return ConvCost(role, in_channels, out_channels, kernel_size, groups, (in_channels, height, width), shape,
                    params, int(macs))  # fmt: skip


def channel_reduction(
    in_channels: int, reduced: int, out_channels: int, kernel_size: int, *, height: int, width: int
) -> CostComparison:
    """A k×k convolution straight from ``in_channels`` against a 1×1 reduction to ``reduced`` channels first.

    GoogLeNet's inception branches do the second: the k×k kernel then sees ``reduced`` channels, not
    ``in_channels``. Both give an (out_channels, H, W) output.
    """
    plain = conv_cost("plain", in_channels, out_channels, kernel_size, height=height, width=width)
    reduce = conv_cost("reduce", in_channels, reduced, 1, height=height, width=width)
    conv = conv_cost("conv", reduced, out_channels, kernel_size, height=height, width=width)
    return CostComparison((plain,), (reduce, conv))


def separable_vs_plain(
    in_channels: int, out_channels: int, kernel_size: int, *, height: int, width: int
) -> CostComparison:
    """A plain k×k convolution against a depthwise k×k (one filter per channel) followed by a pointwise 1×1.

    MobileNet's factorisation: the cost falls by about ``1/out_channels + 1/k²``.
    """
    plain = conv_cost("plain", in_channels, out_channels, kernel_size, height=height, width=width)
    depthwise = conv_cost("depthwise", in_channels, in_channels, kernel_size, height=height, width=width,
                          groups=in_channels)  # fmt: skip
    pointwise = conv_cost("pointwise", in_channels, out_channels, 1, height=height, width=width)
    return CostComparison((plain,), (depthwise, pointwise))


@dataclass(frozen=True)
class KernelStack:
    """One large kernel against a stack of 3×3 kernels that sees as far (VGG's argument)."""

    kernel_size: int  # the large kernel (5 or 7, any odd size ≥ 3)
    depth: int  # how many 3×3 layers see as far: (kernel_size - 1) / 2
    receptive_field: int  # of the stack of 3×3 layers, computed layer by layer
    comparison: CostComparison  # the large kernel (before) against the 3×3 stack (after)

    @property
    def weights_per_pair(self) -> tuple[int, int]:
        """Weights per (input channel, output channel) pair: k² against 9 × depth (25 against 18 for 5×5)."""
        return self.kernel_size**2, 9 * self.depth


def stacked_kernels(kernel_size: int, channels: int, *, height: int, width: int) -> KernelStack:
    """Compare one k×k convolution with the stack of 3×3 convolutions of the same receptive field.

    ``channels`` in and out for every layer. Raises ConfigError for an even kernel or one below 3.
    """
    if kernel_size < 3 or kernel_size % 2 == 0:
        raise ConfigError.from_key("errors.arch_kernel_odd", kernel=kernel_size)
    depth = (kernel_size - 1) // 2
    large = conv_cost("plain", channels, channels, kernel_size, height=height, width=width)
    small = tuple(conv_cost("conv", channels, channels, 3, height=height, width=width) for _ in range(depth))
    field = receptive_field_growth([(3, 1)] * depth)[-1].receptive_field
    return KernelStack(kernel_size, depth, field, CostComparison((large,), small))


@dataclass(frozen=True)
class RFStep:
    """The receptive field after one layer of a stack."""

    kernel_size: int
    stride: int
    receptive_field: int  # input pixels one output unit sees (per side)
    jump: int  # input pixels between two neighbouring units of this layer


def receptive_field_growth(layers: Sequence[tuple[int, int]]) -> list[RFStep]:
    """Follow the receptive field through ``layers`` given as (kernel_size, stride), convolutions or poolings.

    r ← r + (k − 1) · j and j ← j · s, from r = j = 1 at the input. Raises ConfigError for a kernel or
    stride below 1.
    """
    field, jump, steps = 1, 1, []
    for kernel_size, stride in layers:
        _check_positive(kernel_size=kernel_size, stride=stride)
        field += (kernel_size - 1) * jump
        jump *= stride
        steps.append(RFStep(int(kernel_size), int(stride), field, jump))
    return steps
