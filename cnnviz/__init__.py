"""cnnviz: the core of a browser-based CNN visualizer (plain Python over torch, numpy and PIL).

The core reads by its folder names, one package per area and one module per idea:

- :mod:`cnnviz.foundations`: neurons, activations, losses, optimizers, initialisation, normalisation,
  regularisation and upsampling as runnable lessons;
- :mod:`cnnviz.conv`: convolution arithmetic (sizes, counts, formulas, stacks), scratch NumPy ops,
  the sliding-window diagram, image kernels, pooling;
- :mod:`cnnviz.data`: image loading, data sets, archives of the user's own classes, preprocessing;
- :mod:`cnnviz.nets`: the model registry, architectures, checkpoints;
- :mod:`cnnviz.explain`: activations, filters, predictions, Grad-CAM, saliency, receptive fields;
- :mod:`cnnviz.train`: config, trainer, callbacks, history, augmentation, checkpoints, background jobs;
- :mod:`cnnviz.arch`: per-layer summaries, the architecture zoo compared, design explainers, the builder;
- :mod:`cnnviz.detect`: IoU, NMS, RoI pooling and align, anchors, a one-stage detector, mean average precision;
- :mod:`cnnviz.segment`: a fully convolutional segmenter and mean IoU;
- at the top: :mod:`~cnnviz.errors`, :mod:`~cnnviz.i18n`, :mod:`~cnnviz.device`, :mod:`~cnnviz.render`.

Each package names its public API in ``__all__`` and this root re-exports all of them, so
``cnnviz.conv_output_size`` and ``cnnviz.conv.conv_output_size`` are the same function. Only
``cnnviz.ui`` imports streamlit, and it is not re-exported here.
"""

from __future__ import annotations

from cnnviz import arch, conv, data, detect, device, errors, explain, foundations, i18n, nets, render, segment, train
from cnnviz.arch import *  # noqa: F403
from cnnviz.conv import *  # noqa: F403
from cnnviz.data import *  # noqa: F403
from cnnviz.detect import *  # noqa: F403
from cnnviz.device import *  # noqa: F403
from cnnviz.errors import *  # noqa: F403
from cnnviz.explain import *  # noqa: F403
from cnnviz.foundations import *  # noqa: F403
from cnnviz.i18n import *  # noqa: F403
from cnnviz.nets import *  # noqa: F403
from cnnviz.render import *  # noqa: F403
from cnnviz.segment import *  # noqa: F403
from cnnviz.train import *  # noqa: F403

__version__ = "0.1.0"

PACKAGES = (errors, i18n, device, render, foundations, conv, data, nets, explain, train, arch, detect, segment)
__all__ = [name for package in PACKAGES for name in package.__all__]
