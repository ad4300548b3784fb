"""Networks: the model registry (what each model expects, how it is built, its bundled weights), the
architectures, and safe checkpoint loading."""

from __future__ import annotations

from cnnviz.nets import (
    alexnet,
    checkpoints,
    convnet,
    efficientnet,
    registry,
    resnet,
    zoo,
    zoo_weights,
)
from cnnviz.nets.alexnet import *  # noqa: F403
from cnnviz.nets.checkpoints import *  # noqa: F403
from cnnviz.nets.convnet import *  # noqa: F403
from cnnviz.nets.efficientnet import *  # noqa: F403
from cnnviz.nets.registry import *  # noqa: F403
from cnnviz.nets.resnet import *  # noqa: F403
from cnnviz.nets.zoo import *  # noqa: F403
from cnnviz.nets.zoo_weights import *  # noqa: F403

MODULES = (convnet, resnet, efficientnet, checkpoints, alexnet, zoo, zoo_weights, registry)
__all__ = [name for module in MODULES for name in module.__all__]
