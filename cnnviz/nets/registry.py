"""The model registry: each entry says what the model expects, how to build it and where its weights live."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from torch import nn

from cnnviz.data.digits import DIGITS_CLASSES
from cnnviz.data.registry import dataset_stats
from cnnviz.data.shapes import SHAPES_CLASSES
from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.nets.checkpoints import load_checkpoint
from cnnviz.nets.convnet import _LENET5, _TINYVGG, ConvNet
from cnnviz.nets.resnet import SmallResNet

__all__ = [
    "MODELS_DIR",
    "ModelSpec",
    "available_models",
    "build",
    "count_parameters",
    "get_spec",
    "load_manifest",
    "spec_for_data",
]


MODELS_DIR = Path(__file__).resolve().parents[2] / "assets" / "models"


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
            f"The manifest {path} cannot be read ({err}): run `python -m cnnviz.train.bundled --model {spec.name}`."
        ) from err
