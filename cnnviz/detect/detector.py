"""A small one-stage, anchor-based detector (in the spirit of SSD and RetinaNet, with one feature map).

A convolutional backbone turns a scene into a coarse feature map (96×96 pixels → 12×12 cells with
stride 8). At every cell sit the same few anchors (:func:`cnnviz.detect.make_anchors`), and a
head of two convolutions predicts, for each anchor, four box offsets and K + 1 class scores:

    output (B, num_anchors, 4 + K + 1):  [dx, dy, dw, dh, background, class 0, ..., class K−1]

The offsets move the anchor onto an object (:func:`cnnviz.detect.decode_boxes`, with ``BOX_WEIGHTS``);
the scores go through a softmax over the K object classes and "background" (nothing here). One
tensor per batch, so a trainer can concatenate the outputs of many batches. The architecture is data
(:class:`DetectorConfig`): the widths of the stages, the anchors' sizes and aspect ratios.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, BinaryIO

import torch
from torch import Tensor, nn

from cnnviz.detect.anchors import make_anchors
from cnnviz.errors import CheckpointError, ConfigError

__all__ = [
    "BOX_WEIGHTS",
    "DETECTOR_FORMAT",
    "Detector",
    "DetectorConfig",
    "LoadedDetector",
    "load_detector",
    "save_detector",
]


BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)  # SSD's "variances" 0.1, 0.2: offsets of a few tenths become numbers near 1
DETECTOR_FORMAT = "cnnviz-detector-1"  # the "format" entry of a saved detector
BACKGROUND_PRIOR = 0.99  # at the start, every anchor says "background" with this probability (RetinaNet's trick)
MAX_WIDTH = 512  # most channels of one convolution (a file cannot ask for a network too big to build)


@dataclass(frozen=True)
class DetectorConfig:
    """What a detector is built from; saved with its weights, so a file rebuilds the same network."""

    class_names: tuple[str, ...]  # the K object classes (background is not one of them)
    image_size: int = 96  # side of the square scenes, in pixels
    widths: tuple[int, ...] = (16, 32, 32, 64, 64)  # output channels of the backbone's 3×3 convolutions
    strides: tuple[int, ...] = (2, 2, 1, 2, 1)  # their strides; the product is the feature map's stride
    head_width: int = 64  # channels of the head's hidden 3×3 convolution
    anchor_sizes: tuple[float, ...] = (16.0, 24.0, 36.0)  # anchor sides in pixels (the scenes' objects: 16–40)
    aspect_ratios: tuple[float, ...] = (1.0,)  # height / width of the anchors (the drawn shapes are about square)

    def __post_init__(self) -> None:
        for name in ("class_names", "widths", "strides", "anchor_sizes", "aspect_ratios"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.class_names:
            raise ConfigError.from_key("errors.detector_no_classes")
        if len(self.widths) != len(self.strides) or not self.widths:
            raise ConfigError.from_key("errors.detector_stages", widths=len(self.widths), strides=len(self.strides))
        if not all(1 <= w <= MAX_WIDTH for w in (*self.widths, self.head_width)) or not all(
            1 <= s <= 4 for s in self.strides
        ):
            raise ConfigError.from_key("errors.detector_widths", limit=MAX_WIDTH)
        if not 16 <= self.image_size <= 512 or self.image_size % self.stride:
            raise ConfigError.from_key("errors.detector_stride", size=self.image_size, stride=self.stride)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def stride(self) -> int:
        """Pixels of the scene per cell of the feature map (the product of the strides)."""
        return math.prod(self.strides)

    @property
    def feature_size(self) -> int:
        return self.image_size // self.stride

    @property
    def anchors_per_cell(self) -> int:
        return len(self.anchor_sizes) * len(self.aspect_ratios)

    def anchors(self) -> Tensor:
        """Every anchor of the feature map, in the order of the detector's output: (num_anchors, 4)."""
        return make_anchors(self.feature_size, self.stride, self.anchor_sizes, self.aspect_ratios)


def _conv_block(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """3×3 convolution (no bias: batch norm has one), batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Detector(nn.Module):
    """Backbone → head; ``forward`` returns (B, num_anchors, 4 + K + 1) offsets and class logits per anchor."""

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__()
        self.config = config
        blocks, channels = [], 3
        for width, stride in zip(config.widths, config.strides, strict=True):
            blocks.append(_conv_block(channels, width, stride))
            channels = width
        self.backbone = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            _conv_block(channels, config.head_width, 1),
            nn.Conv2d(config.head_width, config.anchors_per_cell * (5 + config.num_classes), 1),
        )
        self.register_buffer("anchors", config.anchors(), persistent=False)  # (num_anchors, 4)
        self._init_background_prior()

    def _init_background_prior(self) -> None:
        """Start with P(background) = BACKGROUND_PRIOR everywhere, so the many empty anchors do not swamp training."""
        last: nn.Conv2d = self.head[-1]
        k = self.config.num_classes
        bias = last.bias.detach().view(self.config.anchors_per_cell, 5 + k)
        bias.zero_()
        bias[:, 4] = math.log(BACKGROUND_PRIOR * k / (1 - BACKGROUND_PRIOR))  # softmax: e^b / (e^b + K) = prior

    def forward(self, x: Tensor) -> Tensor:
        """Predict per anchor: ``x`` (B, 3, H, W) normalised scenes → (B, H/s · W/s · A, 4 + K + 1)."""
        maps = self.head(self.backbone(x))  # (B, A · (5 + K), h, w)
        b, _, h, w = maps.shape
        a = self.config.anchors_per_cell
        maps = maps.view(b, a, 5 + self.config.num_classes, h, w).permute(0, 3, 4, 1, 2)  # (B, h, w, A, 5 + K)
        return maps.reshape(b, h * w * a, 5 + self.config.num_classes)  # cell-major, as make_anchors orders them


# -- saving and loading ---------------------------------------------------------------------------


def save_detector(model: Detector, *, mean: tuple[float, ...], std: tuple[float, ...], epoch: int = 0) -> bytes:
    """Serialise a detector as a ``.pt`` file: its config, state dict and input normalisation, no pickled code."""
    payload = {
        "format": DETECTOR_FORMAT,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(model.config).items()},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "epoch": int(epoch),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class LoadedDetector:
    model: Detector  # on the CPU, in eval mode
    mean: tuple[float, ...]  # per-channel normalisation of [0, 1] scenes
    std: tuple[float, ...]
    epoch: int


def load_detector(source: bytes | BinaryIO) -> LoadedDetector:
    """Load a file written by :func:`save_detector`, always with ``torch.load(..., weights_only=True)``.

    Raises CheckpointError when the file is not readable safely, is not a saved detector, or its
    weights do not fit the network its config describes.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        payload = torch.load(stream, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types (UnpicklingError, EOFError, ...): all mean unusable
        raise CheckpointError.from_key("errors.detector_unreadable") from err
    if not isinstance(payload, dict) or payload.get("format") != DETECTOR_FORMAT:
        raise CheckpointError.from_key("errors.detector_not_ours")
    try:
        model = Detector(_config_from(payload["config"]))
        model.load_state_dict(payload["state_dict"])
        mean, std = tuple(map(float, payload["mean"])), tuple(map(float, payload["std"]))
        epoch = int(payload.get("epoch", 0))
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:  # ConfigError is a ValueError
        raise CheckpointError.from_key("errors.detector_mismatch") from err
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise CheckpointError.from_key("errors.detector_mismatch")
    return LoadedDetector(model.eval(), mean, std, epoch)


def _config_from(values: Any) -> DetectorConfig:
    """Rebuild a DetectorConfig from its saved plain values (TypeError/ValueError when they do not fit)."""
    if not isinstance(values, dict) or set(values) - {f.name for f in fields(DetectorConfig)}:
        raise TypeError("not a detector config")
    casts = {"class_names": str, "widths": int, "strides": int, "anchor_sizes": float, "aspect_ratios": float}
    plain = {k: tuple(casts[k](v) for v in values[k]) if k in casts else int(values[k]) for k in values}
    if any(v <= 0 for k in ("widths", "strides", "anchor_sizes", "aspect_ratios") for v in plain.get(k, (1,))):
        raise ValueError("sizes must be positive")
    return DetectorConfig(**plain)
