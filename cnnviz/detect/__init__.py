"""Object detection as lessons and as a detector that trains live: IoU, non-maximum suppression, RoI pooling
and RoI align (equal to torchvision.ops), anchors and box coding, a one-stage detector and mean average precision."""

from __future__ import annotations

from cnnviz.detect import anchors, assign, detector, inference, lessons, metrics, ops, postprocess, task
from cnnviz.detect.anchors import *  # noqa: F403
from cnnviz.detect.assign import *  # noqa: F403
from cnnviz.detect.detector import *  # noqa: F403
from cnnviz.detect.inference import *  # noqa: F403
from cnnviz.detect.lessons import *  # noqa: F403
from cnnviz.detect.metrics import *  # noqa: F403
from cnnviz.detect.ops import *  # noqa: F403
from cnnviz.detect.postprocess import *  # noqa: F403
from cnnviz.detect.task import *  # noqa: F403

MODULES = (ops, anchors, lessons, detector, assign, postprocess, metrics, task, inference)
__all__ = [name for module in MODULES for name in module.__all__]
