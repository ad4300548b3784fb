"""Example stacks from the course material (one 5×5 against two 3×3, a VGG block, AlexNet's head)."""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.conv.layers import LayerKind, LayerSpec

__all__ = ["STACK_PRESETS", "StackPreset"]


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
