"""Plain conv nets written as data: a list of blocks fed to one ``ConvNet`` (the registry holds TinyVGG and LeNet-5).

Every layer is a named child module (``block1.conv1``, ``block1.relu1``, ..., ``classifier``) so
forward hooks can address each one, as torchvision writes VGG from a list of widths."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.conv.sizes import conv_output_size, pool_output_size
from cnnviz.errors import ConfigError

__all__ = ["ConvBlock", "ConvNet"]


@dataclass(frozen=True)
class ConvBlock:
    """One stage of a plain conv net: a few convs with the same kernel, then a 2×2 max-pool."""

    widths: tuple[int, ...]  # out_channels of each conv, in order
    kernel_size: int  # square kernel of every conv in the block
    padding: int = 0  # padding of the first conv (later convs use 0)


def _conv_net_output_size(blocks: tuple[ConvBlock, ...], image_size: int) -> int:
    """Return the side of the last block's output for a square input of ``image_size`` (cnnviz.conv's rules)."""
    size = image_size
    try:
        for block in blocks:
            for i in range(len(block.widths)):
                size = conv_output_size(size, block.kernel_size, padding=block.padding if i == 0 else 0)
            size = pool_output_size(size, 2)  # 2×2 max-pool
    except ConfigError as err:
        raise ConfigError.from_key("errors.model_input_too_small", size=image_size) from err
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
