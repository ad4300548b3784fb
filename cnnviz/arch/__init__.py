"""Architectures: per-layer summaries (shapes, parameters, MACs, receptive fields) of any network,
the ImageNet winners compared, design explainers computed live, and the network builder."""

from __future__ import annotations

from cnnviz.arch import (
    builder,
    builder_code,
    builder_modules,
    builder_presets,
    claims,
    explainers,
    fields,
    modules,
    network_diagram,
    skips,
    summary,
    timeline,
)
from cnnviz.arch.builder import *  # noqa: F403
from cnnviz.arch.builder_code import *  # noqa: F403
from cnnviz.arch.builder_modules import *  # noqa: F403
from cnnviz.arch.builder_presets import *  # noqa: F403
from cnnviz.arch.claims import *  # noqa: F403
from cnnviz.arch.explainers import *  # noqa: F403
from cnnviz.arch.fields import *  # noqa: F403
from cnnviz.arch.modules import *  # noqa: F403
from cnnviz.arch.network_diagram import *  # noqa: F403
from cnnviz.arch.skips import *  # noqa: F403
from cnnviz.arch.summary import *  # noqa: F403
from cnnviz.arch.timeline import *  # noqa: F403

MODULES = (fields, summary, builder, builder_modules, builder_code, builder_presets)
MODULES += (explainers, modules, skips, network_diagram, timeline, claims)
__all__ = [name for module in MODULES for name in module.__all__]
