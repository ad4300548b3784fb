"""The ideas behind training, as code a page can run: neurons and perceptrons, activations, losses,
optimizers on 2-D surfaces, initialisation, normalisation and dropout, regularisation, upsampling."""

from __future__ import annotations

from cnnviz.foundations import (
    activations,
    generalization,
    init_study,
    losses,
    normalization,
    optimizers,
    perceptron,
    upsampling,
)
from cnnviz.foundations.activations import *  # noqa: F403
from cnnviz.foundations.generalization import *  # noqa: F403
from cnnviz.foundations.init_study import *  # noqa: F403
from cnnviz.foundations.losses import *  # noqa: F403
from cnnviz.foundations.normalization import *  # noqa: F403
from cnnviz.foundations.optimizers import *  # noqa: F403
from cnnviz.foundations.perceptron import *  # noqa: F403
from cnnviz.foundations.upsampling import *  # noqa: F403

MODULES = (perceptron, activations, losses, optimizers)
MODULES += (init_study, normalization, generalization, upsampling)
__all__ = [name for module in MODULES for name in module.__all__]
