"""Example tables for the network builder: a small working CNN (the default) and classic designs, as rows."""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.arch.builder import builder_row as row
from cnnviz.errors import ConfigError

__all__ = ["BUILDER_PRESETS", "DEFAULT_BUILDER_PRESET", "BuilderPreset", "preset_rows"]


@dataclass(frozen=True)
class BuilderPreset:
    """A named table of layers and the input it is meant for."""

    key: str  # short name; pages translate it as "network_builder.preset.<key>"
    input_size: tuple[int, int, int]  # (C, H, W)
    rows: tuple[dict, ...]  # builder rows (copied by preset_rows before anyone edits them)


def _conv_relu(out: int, kernel: int = 3, padding: int = 1, *, batch_norm: bool = False) -> tuple[dict, ...]:
    norm = (row("batchnorm"),) if batch_norm else ()
    return (row("conv", out, kernel, 1, padding), *norm, row("relu"))


BUILDER_PRESETS: tuple[BuilderPreset, ...] = (
    # TinyVGG (CNN Explainer's network): two blocks of conv-ReLU-conv-ReLU-maxpool, then one linear layer.
    BuilderPreset(
        "tinyvgg",
        (3, 32, 32),
        (*_conv_relu(10), *_conv_relu(10), row("maxpool", kernel_size=2),
         *_conv_relu(10), *_conv_relu(10), row("maxpool", kernel_size=2),
         row("flatten"), row("linear", 10)),
    ),  # fmt: skip
    # LeNet-5 (LeCun et al., 1998) as usually written today: 61,706 parameters for 1×32×32 inputs.
    BuilderPreset(
        "lenet5",
        (1, 32, 32),
        (row("conv", 6, 5, 1, 0), row("tanh"), row("avgpool", kernel_size=2),
         row("conv", 16, 5, 1, 0), row("tanh"), row("avgpool", kernel_size=2),
         row("flatten"), row("linear", 120), row("tanh"), row("linear", 84), row("tanh"), row("linear", 10)),
    ),  # fmt: skip
    # A VGG-style stack: 3×3 convs with batch norm, widths doubling after each 2×2 pool, a dropout head.
    BuilderPreset(
        "vgg",
        (3, 32, 32),
        (*_conv_relu(32, batch_norm=True), *_conv_relu(32, batch_norm=True), row("maxpool", kernel_size=2),
         *_conv_relu(64, batch_norm=True), *_conv_relu(64, batch_norm=True), row("maxpool", kernel_size=2),
         *_conv_relu(128, batch_norm=True), row("maxpool", kernel_size=2),
         row("flatten"), row("linear", 256), row("relu"), row("dropout", p=0.5), row("linear", 10)),
    ),  # fmt: skip
    # A ResNet-style stack (He et al., 2015, CIFAR design): a stem, residual blocks that halve the map
    # and double the channels through a 1×1 projection, global average pooling, one linear layer.
    BuilderPreset(
        "resnet",
        (3, 32, 32),
        (*_conv_relu(16, batch_norm=True), row("residual", 16), row("residual", 32, stride=2),
         row("residual", 64, stride=2), row("avgpool", kernel_size=8), row("flatten"), row("linear", 10)),
    ),  # fmt: skip
    # A classic mistake to read about: a linear layer straight after a convolution, without flatten.
    BuilderPreset("mistake", (3, 32, 32), (*_conv_relu(8), row("linear", 10))),
)
DEFAULT_BUILDER_PRESET = "tinyvgg"


def preset_rows(key: str) -> list[dict]:
    """Return a fresh copy of a preset's rows; raises ConfigError listing the presets for an unknown key."""
    for preset in BUILDER_PRESETS:
        if preset.key == key:
            return [dict(r) for r in preset.rows]
    raise ConfigError.from_key(
        "errors.builder_preset_unknown", key=repr(key), keys=", ".join(p.key for p in BUILDER_PRESETS)
    )
