"""Convolution arithmetic and convolution on real data: sizes, counts, formulas, stacks, scratch ops, kernels, pooling.

- :mod:`~cnnviz.conv.rules`: the argument rules (pairs, padding, the average-pool divisor);
- :mod:`~cnnviz.conv.sizes`, :mod:`~cnnviz.conv.counts`, :mod:`~cnnviz.conv.formulas`: output sizes,
  parameters and MACs exactly as PyTorch computes them, and the formulas with the user's numbers;
- :mod:`~cnnviz.conv.layers`, :mod:`~cnnviz.conv.table`, :mod:`~cnnviz.conv.presets`: one layer or a
  stack of layers with its receptive field, read from a table, and the course's example stacks;
- :mod:`~cnnviz.conv.scratch`: convolution and pooling from scratch in NumPy (tested against PyTorch);
- :mod:`~cnnviz.conv.diagram`, :mod:`~cnnviz.conv.svg`, :mod:`~cnnviz.conv.diagram_plot`: the
  sliding-window picture as data, as SVG (the pages) and as a Plotly figure;
- :mod:`~cnnviz.conv.kernels`, :mod:`~cnnviz.conv.pooling`: classic kernels and pooling on photos.
"""

from __future__ import annotations

from cnnviz.conv import (
    counts,
    diagram,
    diagram_plot,
    formulas,
    kernels,
    layers,
    pooling,
    presets,
    rules,
    scratch,
    sizes,
    svg,
    table,
)
from cnnviz.conv.counts import *  # noqa: F403
from cnnviz.conv.diagram import *  # noqa: F403
from cnnviz.conv.diagram_plot import *  # noqa: F403
from cnnviz.conv.formulas import *  # noqa: F403
from cnnviz.conv.kernels import *  # noqa: F403
from cnnviz.conv.layers import *  # noqa: F403
from cnnviz.conv.pooling import *  # noqa: F403
from cnnviz.conv.presets import *  # noqa: F403
from cnnviz.conv.rules import *  # noqa: F403
from cnnviz.conv.scratch import *  # noqa: F403
from cnnviz.conv.sizes import *  # noqa: F403
from cnnviz.conv.svg import *  # noqa: F403
from cnnviz.conv.table import *  # noqa: F403

MODULES = (
    rules,
    sizes,
    counts,
    formulas,
    layers,
    table,
    presets,
    scratch,
    diagram,
    diagram_plot,
    svg,
    kernels,
    pooling,
)
__all__ = [name for module in MODULES for name in module.__all__]
