"""Semantic segmentation: a fully convolutional network (FCN) trained live on the scenes' masks, and mean IoU."""

from __future__ import annotations

from cnnviz.segment import fcn, inference, metrics, task
from cnnviz.segment.fcn import *  # noqa: F403
from cnnviz.segment.inference import *  # noqa: F403
from cnnviz.segment.metrics import *  # noqa: F403
from cnnviz.segment.task import *  # noqa: F403

MODULES = (fcn, metrics, task, inference)
__all__ = [name for module in MODULES for name in module.__all__]
