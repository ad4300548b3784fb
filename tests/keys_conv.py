"""Keys the convolution pages and cnnviz.conv build with f-strings, and where their values come from."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.conv import STACK_PRESETS, LayerKind, PoolKind, available_kernels
from cnnviz.conv.rules import ARGUMENT_NAMES, DIMS
from cnnviz.ui import arith, pooling

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "filters.kernel.{}": lambda: [*available_kernels(), "custom"],
    "pool.source.{}": lambda: pooling.SOURCES,
    "pool.kind.{}": lambda: PoolKind,
    "{}.formula_h": lambda: ["filters", "pool"],  # the two pages that call caption_size_formulas
    "{}.formula_w": lambda: ["filters", "pool"],
    "arith.mode.{}": lambda: LayerKind,
    "arith.padding_mode.{}": lambda: arith.PADDING_MODES,
    "arith.diagram.{}": lambda: arith.DIAGRAM_TEXTS,
    "arith.preset.{}": lambda: [p.key for p in STACK_PRESETS],
    "errors.name.{}": lambda: [name.replace(" ", "_") for name in ARGUMENT_NAMES],
    "errors.which.{}": lambda: DIMS,
    "errors.in_dim.{}": lambda: DIMS,
}
