"""A small fully convolutional network (FCN) that gives every pixel a class: encoder, decoder, one skip.

Long, Shelhamer and Darrell's FCN replaced a classifier's fully connected layers by convolutions, so
the network keeps a grid of class scores instead of one vector, and upsampled that coarse grid back
to the input's size with transposed convolutions ("deconvolution"), adding the scores of a finer
stage (the skip connection) to recover the detail the strided layers had thrown away. This one, for 96×96 scenes and the
default widths (24, 48, 64):

    encoder   per stage a 3×3 conv with stride 2, then a 3×3 conv:      96 → 48 → 24 → 12
    decoder   per stage an upsampling ×2, then a 3×3 conv:              12 → 24 → 48
    skip      the encoder's 48×48 features are added to the decoder's 48×48 features
    head      a 1×1 convolution to K + 1 class scores per cell (background first), and one
              more upsampling ×2 of those scores:                       48 → 96

``upsampling`` chooses how the decoder doubles the size: a learnt ``ConvTranspose2d`` with kernel 3
and stride 2 (its kernel does not divide by the stride, so neighbouring outputs receive 1 and 2
kernel taps alternately: the checkerboard artefact), or fixed bilinear interpolation followed by an
ordinary 3×3 convolution (every output is made the same way: no checkerboard).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnviz.errors import ConfigError

__all__ = ["FCN", "FCNConfig", "Upsampling"]


MAX_WIDTH = 256  # most channels of one convolution (a saved file cannot ask for a network too big to build)


BACKGROUND_PRIOR = 0.85  # at the start every pixel says "background" with this probability (about its share)


class Upsampling(StrEnum):
    """How the decoder doubles the size of its feature maps."""

    TRANSPOSED = "transposed"  # ConvTranspose2d(kernel 3, stride 2): learnt, shows the checkerboard
    BILINEAR = "bilinear"  # F.interpolate(×2, bilinear) then Conv2d(kernel 3): smooth


@dataclass(frozen=True)
class FCNConfig:
    """What an FCN is built from; saved with its weights, so a file rebuilds the same network."""

    class_names: tuple[str, ...]  # the output classes, background first (what a mask value v means)
    image_size: int = 96  # side of the square scenes in pixels (a multiple of 2 ** (len(widths) - 1))
    widths: tuple[int, ...] = (24, 48, 64)  # channels of the encoder stages (each halves the size), finest first
    upsampling: Upsampling = Upsampling.TRANSPOSED
    skip_stage: int = 0  # the encoder stage added into the decoder (0: the 48×48 one of a 96×96 scene)

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(self.class_names))
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        try:
            object.__setattr__(self, "upsampling", Upsampling(self.upsampling))
        except ValueError as err:
            allowed = ", ".join(u.value for u in Upsampling)
            raise ConfigError.from_key("errors.fcn_upsampling", value=repr(self.upsampling), allowed=allowed) from err
        if len(self.class_names) < 2:
            raise ConfigError.from_key("errors.fcn_classes", count=len(self.class_names))
        if not 2 <= len(self.widths) <= 4 or not all(1 <= w <= MAX_WIDTH for w in self.widths):
            raise ConfigError.from_key("errors.fcn_widths", stages=len(self.widths), limit=MAX_WIDTH)
        if not 0 <= self.skip_stage <= len(self.widths) - 2:
            raise ConfigError.from_key("errors.fcn_skip", stage=self.skip_stage, last=len(self.widths) - 2)
        if not 16 <= self.image_size <= 512 or self.image_size % self.stride:
            raise ConfigError.from_key("errors.fcn_size", size=self.image_size, stride=self.stride)

    @property
    def num_classes(self) -> int:
        """K + 1: the object classes and the background."""
        return len(self.class_names)

    @property
    def stride(self) -> int:
        """Pixels of the input per cell of the coarsest feature map."""
        return 2 ** len(self.widths)


def _conv_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3×3 convolution (no bias: batch norm has one), batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Up(nn.Module):
    """Double the height and width: a transposed convolution, or bilinear interpolation then a convolution."""

    def __init__(self, in_channels: int, out_channels: int, upsampling: Upsampling) -> None:
        super().__init__()
        self.upsampling = upsampling
        if upsampling is Upsampling.TRANSPOSED:  # (H, W) → (2H, 2W): (H − 1)·2 − 2·1 + 3 + 1
            self.conv = nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1, output_padding=1)
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        if self.upsampling is Upsampling.BILINEAR:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.conv(x)


class FCN(nn.Module):
    """Encoder → decoder with one skip → 1×1 classifier → ×2 upsampling of the scores.

    ``forward`` maps normalised scenes (B, 3, H, W) to class scores (logits) per pixel (B, K + 1, H, W).
    """

    def __init__(self, config: FCNConfig, *, in_channels: int = 3) -> None:
        super().__init__()
        self.config = config
        w = config.widths
        # encoder stage i: a 3×3 conv with stride 2 then a 3×3 conv: (B, w[i], H / 2**(i+1), W / 2**(i+1))
        self.encoder = nn.ModuleList(
            nn.Sequential(_conv_block(in_channels if i == 0 else w[i - 1], w[i], stride=2), _conv_block(w[i], w[i]))
            for i in range(len(w))
        )
        # decoder stage i: the features of stage i + 1 brought up to the size of stage i, then a 3×3 conv
        self.ups = nn.ModuleList(Up(w[i + 1], w[i], config.upsampling) for i in range(len(w) - 1))
        self.after = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(w[i]), nn.ReLU(inplace=True), _conv_block(w[i], w[i]))
            for i in range(len(w) - 1)
        )
        self.classifier = nn.Conv2d(w[0], config.num_classes, 1)  # K + 1 scores per cell of stage 0 (H / 2)
        self.score_up = Up(config.num_classes, config.num_classes, config.upsampling)  # scores: H / 2 → H
        self._init_background_prior()

    def _init_background_prior(self) -> None:
        """Start at P(background) = BACKGROUND_PRIOR everywhere: training skips learning the classes' shares."""
        bias = self.score_up.conv.bias.detach()
        bias.zero_()
        objects = self.config.num_classes - 1
        bias[0] = math.log(BACKGROUND_PRIOR * objects / (1 - BACKGROUND_PRIOR))  # softmax: e^b / (e^b + K)

    def forward(self, x: Tensor) -> Tensor:
        skip = None
        for i, stage in enumerate(self.encoder):
            x = stage(x)  # (B, w[i], H / 2**(i+1), W / 2**(i+1))
            if i == self.config.skip_stage:
                skip = x
        for i in reversed(range(len(self.ups))):
            x = self.ups[i](x)  # (B, w[i], H / 2**(i+1), W / 2**(i+1))
            if i == self.config.skip_stage:
                x = x + skip  # the skip connection: the finer encoder features bring back the detail
            x = self.after[i](x)
        return self.score_up(self.classifier(x))  # (B, K + 1, H, W)

    @torch.no_grad()
    def upsampling_response(self, stage: int = 0, *, size: int = 12) -> Tensor:
        """Return what decoder stage ``stage``'s upsampling makes of a constant input of ones, (C_out, 2·size, 2·size).

        A transposed convolution with kernel 3 and stride 2 gives a checkerboard (outputs that
        receive 1 and 2 kernel taps alternate); bilinear interpolation then a convolution gives an
        even map (apart from its zero-padded border).
        """
        up = self.ups[stage]
        x = torch.ones(1, up.conv.in_channels, size, size, device=next(self.parameters()).device)
        return up(x)[0]
