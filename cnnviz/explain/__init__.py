"""Look inside a network: activations (one hook helper), filters, predictions, Grad-CAM and saliency,
receptive fields, the images that excite a channel most."""

from __future__ import annotations

from cnnviz.explain import (
    activations,
    blocks,
    feature_vis,
    filters,
    gradients,
    hooks,
    patches,
    predictions,
    receptive,
    top_images,
)
from cnnviz.explain.activations import *  # noqa: F403
from cnnviz.explain.blocks import *  # noqa: F403
from cnnviz.explain.feature_vis import *  # noqa: F403
from cnnviz.explain.filters import *  # noqa: F403
from cnnviz.explain.gradients import *  # noqa: F403
from cnnviz.explain.hooks import *  # noqa: F403
from cnnviz.explain.patches import *  # noqa: F403
from cnnviz.explain.predictions import *  # noqa: F403
from cnnviz.explain.receptive import *  # noqa: F403
from cnnviz.explain.top_images import *  # noqa: F403

MODULES = (hooks, activations, blocks, filters, predictions, gradients, receptive, top_images, feature_vis, patches)
__all__ = [name for module in MODULES for name in module.__all__]
