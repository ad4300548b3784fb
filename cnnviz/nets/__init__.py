"""Networks: the model registry (what each model expects, how it is built, its bundled weights), the
architectures, and safe checkpoint loading."""

from __future__ import annotations

from cnnviz.nets import (
    checkpoints,
    convnet,
    registry,
    resnet,
)
from cnnviz.nets.checkpoints import *  # noqa: F403
from cnnviz.nets.convnet import *  # noqa: F403
from cnnviz.nets.registry import *  # noqa: F403
from cnnviz.nets.resnet import *  # noqa: F403

MODULES = (convnet, resnet, checkpoints, registry)
__all__ = [name for module in MODULES for name in module.__all__]
