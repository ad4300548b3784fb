"""Data in: images from any source, data sets by name (procedural shapes and digits, downloads), zips of the
user's own classes, and the preprocessing that turns a picture into a model's input."""

from __future__ import annotations

from cnnviz.data import (
    archives,
    digits,
    downloads,
    examples,
    formats,
    imagenet,
    images,
    preprocessing,
    registry,
    scenes,
    shapes,
    split,
)
from cnnviz.data.archives import *  # noqa: F403
from cnnviz.data.digits import *  # noqa: F403
from cnnviz.data.downloads import *  # noqa: F403
from cnnviz.data.examples import *  # noqa: F403
from cnnviz.data.formats import *  # noqa: F403
from cnnviz.data.imagenet import *  # noqa: F403
from cnnviz.data.images import *  # noqa: F403
from cnnviz.data.preprocessing import *  # noqa: F403
from cnnviz.data.registry import *  # noqa: F403
from cnnviz.data.scenes import *  # noqa: F403
from cnnviz.data.shapes import *  # noqa: F403
from cnnviz.data.split import *  # noqa: F403

MODULES = (
    split, images, shapes, scenes, digits, downloads, formats, registry, archives, preprocessing, examples, imagenet,
)
__all__ = [name for module in MODULES for name in module.__all__]
