"""A small ResNet: a stem, three basic blocks with skip connections and batch norm, global average pooling."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

__all__ = ["BasicBlock", "SmallResNet"]


class BasicBlock(nn.Module):
    """ResNet basic block: conv3×3-bn-relu-conv3×3-bn, plus the (projected) input, then relu."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                OrderedDict(
                    conv=nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                    bn=nn.BatchNorm2d(out_channels),
                )
            )
        else:
            self.shortcut = nn.Identity()
        self.relu2 = nn.ReLU()  # after the skip connection is added

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C_in, H, W) → (N, C_out, H/stride, W/stride)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class SmallResNet(nn.Module):
    """Small ResNet for 28 or 64 px input: stem, three basic blocks (16, 32, 64 channels), global average pool.

    Batch norm is part of the architecture (always on). Input (N, C, H, W) → logits (N, num_classes).
    """

    def __init__(
        self, *, in_channels: int, num_classes: int, widths: tuple[int, ...] = (16, 32, 64), dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential()
        self.stem.add_module("conv", nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False))
        self.stem.add_module("bn", nn.BatchNorm2d(widths[0]))
        self.stem.add_module("relu", nn.ReLU())
        channels = widths[0]
        for b, width in enumerate(widths, start=1):
            self.add_module(f"block{b}", BasicBlock(channels, width, stride=1 if b == 1 else 2))
            channels = width
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        if dropout > 0:
            self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) → (N, num_classes)
        for module in self.children():
            x = module(x)
        return x
