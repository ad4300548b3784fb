"""Plain conv nets written as data: TinyVGG and LeNet-5 are lists of blocks fed to one ``ConvNet``.

Every layer is a named child module (``block1.conv1``, ``block1.relu1``, ..., ``classifier``) so
forward hooks can address each one, as torchvision writes VGG from a list of widths."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.errors import ConfigError

__all__ = ["ConvBlock", "ConvNet"]


@dataclass(frozen=True)
class ConvBlock:
    """One stage of a plain conv net: a few convs with the same kernel, then a 2×2 max-pool."""

    widths: tuple[int, ...]  # out_channels of each conv, in order
    kernel_size: int  # square kernel of every conv in the block
    padding: int = 0  # padding of the first conv (later convs use 0)


# Architectures as data: (blocks, hidden widths of the fully connected head).
_TINYVGG = ((ConvBlock((10, 10), 3), ConvBlock((10, 10), 3)), ())  # exactly CNN Explainer's TinyVGG
_LENET5 = ((ConvBlock((6,), 5, padding=2), ConvBlock((16,), 5)), (120, 84))  # 28×28 input, padding 2


def _conv_net_output_size(blocks: tuple[ConvBlock, ...], image_size: int) -> int:
    """Return the side of the last block's output for a square input of ``image_size``."""
    size = image_size
    for block in blocks:
        for i in range(len(block.widths)):
            size += 2 * (block.padding if i == 0 else 0) - block.kernel_size + 1  # conv, stride 1
        size //= 2  # 2×2 max-pool (a size already below 1 stays below 1)
        if size < 1:
            raise ConfigError(
                f"An input of {image_size}×{image_size} pixels shrinks to nothing inside this network: "
                "use a larger image_size (28 or more works for every model)."
            )
    return size


class ConvNet(nn.Module):
    """Plain conv net: blocks of conv-(bn)-relu ... maxpool, then flatten and a linear head.

    Input (N, in_channels, image_size, image_size) → logits (N, num_classes).
    """

    def __init__(
        self,
        blocks: tuple[ConvBlock, ...],
        hidden: tuple[int, ...],
        *,
        in_channels: int,
        image_size: int,
        num_classes: int,
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        channels = in_channels
        for b, block in enumerate(blocks, start=1):
            stage = nn.Sequential()
            for i, width in enumerate(block.widths, start=1):
                padding = block.padding if i == 1 else 0
                stage.add_module(f"conv{i}", nn.Conv2d(channels, width, block.kernel_size, padding=padding))
                if batch_norm:
                    stage.add_module(f"bn{i}", nn.BatchNorm2d(width))
                stage.add_module(f"relu{i}", nn.ReLU())
                channels = width
            stage.add_module("pool", nn.MaxPool2d(2))
            self.add_module(f"block{b}", stage)
        side = _conv_net_output_size(blocks, image_size)
        self.flatten = nn.Flatten()
        features = channels * side * side
        for h, width in enumerate(hidden, start=1):
            self.add_module(f"fc{h}", nn.Linear(features, width))
            self.add_module(f"relu_fc{h}", nn.ReLU())
            features = width
        if dropout > 0:
            self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) → (N, num_classes)
        for module in self.children():
            x = module(x)
        return x
