"""Model zoo: TinyVGG, LeNet-5 and a small ResNet, with readable layer names and bundled weights.

Every layer is a named child module (``block1.conv1``, ``block1.relu1``, ..., ``classifier``) so
forward hooks can address each one. The plain conv nets are written as data (`ConvBlock` lists fed
to one `ConvNet`), as torchvision writes VGG.
"""

from __future__ import annotations

import io
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import nn

from cnnviz.datasets import DIGITS_CLASSES, SHAPES_CLASSES, dataset_stats
from cnnviz.errors import CheckpointError, ConfigError, Phrase

__all__ = [
    "MODELS_DIR",
    "ConvBlock",
    "ConvNet",
    "ModelSpec",
    "SmallResNet",
    "available_models",
    "build",
    "count_parameters",
    "get_spec",
    "load_checkpoint",
    "load_manifest",
    "normalize",
    "preprocess",
    "spec_for_data",
]

MODELS_DIR = Path(__file__).resolve().parent.parent / "assets" / "models"


@dataclass(frozen=True)
class ModelSpec:
    """What a model expects and where its trained weights live."""

    name: str  # registry name, lower case ("tinyvgg")
    dataset: str  # data set it is (or would be) trained on ("shapes")
    in_channels: int  # 3 for RGB, 1 for grayscale
    image_size: int  # square input side in pixels
    class_names: tuple[str, ...]  # output index → class name
    mean: tuple[float, ...]  # per-channel mean subtracted by preprocess()
    std: tuple[float, ...]  # per-channel std divided by preprocess()
    weights_file: Path | None  # bundled state dict, None when the model ships untrained
    description: str  # one line for the page
    digit_style: bool = False  # preprocess like MNIST: white-on-black, fit 20×20 box, centre by mass


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


def _spec_table() -> dict[str, ModelSpec]:
    """Return the registry: name → ModelSpec (built on each call; no module-level state)."""
    shapes_mean, shapes_std = dataset_stats("shapes")
    digits_mean, digits_std = dataset_stats("digits")
    return {
        "tinyvgg": ModelSpec(
            name="tinyvgg",
            dataset="shapes",
            in_channels=3,
            image_size=64,
            class_names=SHAPES_CLASSES,
            mean=shapes_mean,
            std=shapes_std,
            weights_file=MODELS_DIR / "tinyvgg.pt",
            description="TinyVGG from CNN Explainer: two blocks of conv3×3(10)-ReLU-conv3×3(10)-ReLU-maxpool.",
        ),
        "lenet5": ModelSpec(
            name="lenet5",
            dataset="digits",
            in_channels=1,
            image_size=28,
            class_names=DIGITS_CLASSES,
            mean=digits_mean,
            std=digits_std,
            weights_file=MODELS_DIR / "lenet5.pt",
            description="LeNet-5 (ReLU and max pooling): conv5×5(6)-pool-conv5×5(16)-pool-fc120-fc84-fc10.",
            digit_style=True,
        ),
        "smallresnet": ModelSpec(
            name="smallresnet",
            dataset="shapes",
            in_channels=3,
            image_size=64,
            class_names=SHAPES_CLASSES,
            mean=shapes_mean,
            std=shapes_std,
            weights_file=None,
            description="Small ResNet: a stem and three residual blocks with batch norm and skip connections.",
        ),
    }


def available_models() -> list[str]:
    """Return the registry's model names, lower case."""
    return list(_spec_table())


def get_spec(name: str) -> ModelSpec:
    """Return the ModelSpec of ``name``; raises ConfigError for an unknown name."""
    table = _spec_table()
    key = name.lower().strip()
    if key not in table:
        raise ConfigError(f"Unknown model {name!r}: choose one of {', '.join(table)}.")
    return table[key]


def spec_for_data(name: str, split: Any) -> ModelSpec:
    """Return ``name``'s spec adapted to a DataSplit (channels, size, classes, normalisation), without weights."""
    digit_style = split.name in {"digits", "mnist"}
    channels = int(split.in_channels)
    mean = tuple(split.mean) if len(split.mean) == channels else (0.5,) * channels
    std = tuple(split.std) if len(split.std) == channels else (0.5,) * channels
    return replace(
        get_spec(name),
        dataset=split.name,
        in_channels=channels,
        image_size=int(split.image_size),
        class_names=tuple(split.class_names),
        mean=mean,
        std=std,
        weights_file=None,
        digit_style=digit_style,
    )


def build(
    name: str,
    *,
    weights: str | Path | None = None,
    num_classes: int | None = None,
    in_channels: int | None = None,
    image_size: int | None = None,
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> nn.Module:
    """Build model ``name``; with ``weights`` ("bundled" or a checkpoint path) load them and return it in eval mode.

    Overrides default to the spec's values. ``batch_norm`` adds BatchNorm2d after every conv of the
    plain nets (the ResNet always has it). Raises ConfigError for bad settings and CheckpointError
    when the weights cannot be loaded or do not fit.
    """
    spec = get_spec(name)
    num_classes = len(spec.class_names) if num_classes is None else num_classes
    in_channels = spec.in_channels if in_channels is None else in_channels
    image_size = spec.image_size if image_size is None else image_size
    _check_settings(num_classes, in_channels, image_size, dropout)
    if spec.name == "smallresnet":
        model: nn.Module = SmallResNet(in_channels=in_channels, num_classes=num_classes, dropout=dropout)
    else:
        blocks, hidden = _TINYVGG if spec.name == "tinyvgg" else _LENET5
        model = ConvNet(
            blocks,
            hidden,
            in_channels=in_channels,
            image_size=image_size,
            num_classes=num_classes,
            batch_norm=batch_norm,
            dropout=dropout,
        )
    if weights is None:
        return model
    if isinstance(weights, str) and weights == "bundled":
        if spec.weights_file is None:
            bundled = [n for n, s in _spec_table().items() if s.weights_file is not None]
            raise CheckpointError(
                f"Model {spec.name!r} has no bundled weights (models with bundled weights: {', '.join(bundled)}): "
                "use weights=None and train it, or pass a checkpoint file."
            )
        weights = spec.weights_file
    load_checkpoint(model, weights)
    return model.eval()


def _check_settings(num_classes: int, in_channels: int, image_size: int, dropout: float) -> None:
    """Raise ConfigError when an override is outside what the models support."""
    if not 2 <= num_classes <= 1000:
        raise ConfigError(f"num_classes={num_classes} is not allowed: use 2 to 1000 classes.")
    if in_channels not in (1, 3):
        raise ConfigError(f"in_channels={in_channels} is not allowed: use 1 (grayscale) or 3 (RGB).")
    if not 16 <= image_size <= 512:
        raise ConfigError(f"image_size={image_size} is not allowed: use 16 to 512 pixels (28 or 64 are typical).")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout={dropout} is not allowed: use a probability from 0 up to (not including) 1.")


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Return the number of parameters (all, or only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _read_state_dict(source: str | Path | bytes | BinaryIO) -> dict[str, torch.Tensor]:
    """Read a state dict safely (``weights_only=True``); raises CheckpointError on anything else."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    label = str(source) if isinstance(source, str | Path) else Phrase("errors.uploaded_file")
    try:
        obj = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError.from_key("errors.checkpoint_missing", label=label) from err
    except Exception as err:  # noqa: BLE001 - torch.load raises many types on bad input; all mean 'unusable'
        raise CheckpointError.from_key("errors.checkpoint_unsafe", label=label, error=type(err).__name__) from err
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise CheckpointError.from_key("errors.checkpoint_no_state_dict", label=label)
    return dict(obj)


def load_checkpoint(model: nn.Module, source: str | Path | bytes | BinaryIO) -> nn.Module:
    """Load a state dict from a path, bytes or file into ``model`` and return the model.

    Loads with ``torch.load(..., weights_only=True)``. Raises CheckpointError when the file is not
    a checkpoint, or its names or shapes do not fit the model (the message lists them).
    """
    state = _read_state_dict(source)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {_short_list(missing)}")
        if unexpected:
            parts.append(f"unexpected {_short_list(unexpected)}")
        if wrong:
            parts.append(f"wrong shapes {_short_list(wrong)}")
        raise CheckpointError.from_key("errors.checkpoint_mismatch", model=type(model).__name__, parts="; ".join(parts))
    model.load_state_dict(state)
    return model


def _short_list(items: list[str], limit: int = 4) -> str:
    """Return at most ``limit`` items joined, with a count of the rest."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def load_manifest(name: str) -> dict[str, Any]:
    """Return the training manifest of a bundled model (data, seed, accuracy, sha256, ...)."""
    spec = get_spec(name)
    if spec.weights_file is None:
        raise CheckpointError(f"Model {spec.name!r} has no bundled weights and so no manifest.")
    path = spec.weights_file.with_suffix(".json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(
            f"The manifest {path} cannot be read ({err}): run `python -m cnnviz.train_bundled --model {spec.name}`."
        ) from err


def normalize(x: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """Return ``(x - mean) / std`` per channel for a batch in [0, 1], shape (N, C, H, W)."""
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - mean) / std


def preprocess(spec: ModelSpec, pil_image: Image.Image) -> torch.Tensor:
    """Turn a PIL image into the normalised batch the model was trained on, shape (1, C, H, W).

    Colour models: convert, resize the short side and centre-crop to image_size. Digit models
    (``spec.digit_style``): grayscale, white-on-black (inverted when the background is light), the
    ink fitted into a 20×20 box and centred by mass in 28×28, as MNIST was made.
    """
    mode = "RGB" if spec.in_channels == 3 else "L"
    img = pil_image.convert(mode)
    if spec.digit_style and spec.in_channels == 1:
        arr = _digit_like(np.asarray(img, dtype=np.float32) / 255.0, spec.image_size)
    else:
        img = ImageOps.fit(img, (spec.image_size, spec.image_size), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32) / 255.0
    x = torch.from_numpy(np.ascontiguousarray(arr)).float()
    x = x.unsqueeze(0) if x.ndim == 2 else x.permute(2, 0, 1)  # (C, H, W)
    return normalize(x.unsqueeze(0), spec)  # (1, C, H, W)


def _digit_like(gray: np.ndarray, size: int) -> np.ndarray:
    """Return a (size, size) array in [0, 1]: bright ink on black, fitted to 20/28 of the side, centred by mass."""
    background = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    if background > 0.5:
        gray, background = 1.0 - gray, 1.0 - background  # dark ink on light paper → light ink on black
    gray = np.clip((gray - background) / max(1.0 - background, 1e-3), 0.0, 1.0)
    rows, cols = np.nonzero(gray > 0.2)
    if rows.size == 0:
        img = Image.fromarray((gray * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(img, dtype=np.float32) / 255.0
    crop = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    box = max(1, round(size * 20 / 28))
    scale = box / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = Image.fromarray((crop * 255).astype(np.uint8)).resize((w, h), Image.Resampling.LANCZOS)
    small_arr = np.asarray(small, dtype=np.float32) / 255.0
    out = np.zeros((size, size), dtype=np.float32)
    total = small_arr.sum()
    cy = (small_arr.sum(1) @ np.arange(h)) / total if total > 0 else (h - 1) / 2
    cx = (small_arr.sum(0) @ np.arange(w)) / total if total > 0 else (w - 1) / 2
    top = int(np.clip(round((size - 1) / 2 - cy), 0, size - h))
    left = int(np.clip(round((size - 1) / 2 - cx), 0, size - w))
    out[top : top + h, left : left + w] = small_arr
    return out
