"""torchvision's ImageNet winners, built through our registry under their torchvision names.

The models are torchvision's own (``torchvision.models.get_model``), so their parameter counts and
operations are exactly those torchvision publishes in its weights metadata
(``weights.meta["num_params"]``, ``weights.meta["_ops"]``). GoogLeNet is built as torchvision
publishes its ImageNet weights: without the auxiliary classifiers, and with ``transform_input``
(it converts ImageNet-normalised photos to the normalisation its weights were trained with).
"""

from __future__ import annotations

from functools import partial

import torchvision
from torch import nn
from torchvision.models import WeightsEnum

from cnnviz.errors import ConfigError

__all__ = ["ZOO_MODELS", "official_weights", "torchvision_builder"]

ZOO_MODELS: tuple[str, ...] = (
    "alexnet",
    "vgg11", "vgg13", "vgg16", "vgg19",
    "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
    "googlenet",
    "resnet18", "resnet34", "resnet50",
    "mobilenet_v2",
)  # fmt: skip

_EXTRA_ARGS: dict[str, dict[str, object]] = {
    "googlenet": {"aux_logits": False, "init_weights": False, "transform_input": True},
}


def official_weights(name: str) -> WeightsEnum:
    """Return torchvision's default ImageNet weights entry of zoo model ``name`` (its URL, hash and metadata)."""
    return torchvision.models.get_model_weights(name).DEFAULT


def _build_torchvision(
    name: str, *, in_channels: int, image_size: int, num_classes: int, batch_norm: bool, dropout: float
) -> nn.Module:
    """torchvision's ``name``, untrained, with ``num_classes`` outputs.

    The architecture is torchvision's as published: 3 input channels, its own dropout (``dropout``
    is not applied), batch norm only in the ``_bn`` variants; any input of ``image_size`` works
    (adaptive pooling before the classifier). Raises ConfigError for other channels or batch norm.
    """
    del image_size, dropout
    if in_channels != 3:
        raise ConfigError.from_key("errors.zoo_in_channels", name=name, value=in_channels)
    if batch_norm and not name.endswith("_bn"):
        variant = f"{name}_bn" if name.startswith("vgg") else "—"
        raise ConfigError.from_key("errors.zoo_batch_norm", name=name, variant=variant)
    return torchvision.models.get_model(name, weights=None, num_classes=num_classes, **_EXTRA_ARGS.get(name, {}))


def torchvision_builder(name: str):  # noqa: ANN201 - a registry Builder
    """Return the registry builder of torchvision model ``name``."""
    return partial(_build_torchvision, name)
