"""cnnviz: the core of a browser-based CNN visualizer (plain Python over torch, numpy and PIL).

One module per idea; this package re-exports each module's public names (its ``__all__``), so
``cnnviz.conv_output_size`` and ``cnnviz.arithmetic.conv_output_size`` are the same function.
Only ``cnnviz.ui`` imports streamlit, and it is not re-exported here.
"""

from __future__ import annotations

from cnnviz import (
    archives,
    arithmetic,
    conv_diagram,
    datasets,
    device,
    errors,
    examples,
    features,
    i18n,
    images,
    jobs,
    kernels,
    models,
    pooling,
    render,
    scratch,
    training,
)
from cnnviz.archives import *  # noqa: F403
from cnnviz.arithmetic import *  # noqa: F403
from cnnviz.conv_diagram import *  # noqa: F403
from cnnviz.datasets import *  # noqa: F403
from cnnviz.device import *  # noqa: F403
from cnnviz.errors import *  # noqa: F403
from cnnviz.examples import *  # noqa: F403
from cnnviz.features import *  # noqa: F403
from cnnviz.i18n import *  # noqa: F403
from cnnviz.images import *  # noqa: F403
from cnnviz.jobs import *  # noqa: F403
from cnnviz.kernels import *  # noqa: F403
from cnnviz.models import *  # noqa: F403
from cnnviz.pooling import *  # noqa: F403
from cnnviz.render import *  # noqa: F403
from cnnviz.scratch import *  # noqa: F403
from cnnviz.training import *  # noqa: F403

__version__ = "0.1.0"

_MODULES = (
    errors, device, i18n, arithmetic, scratch, conv_diagram, images, render, kernels, pooling,
    datasets, examples, models, features, training, jobs, archives,
)
__all__ = [name for module in _MODULES for name in module.__all__]
