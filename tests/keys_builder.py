"""Keys the network builder (cnnviz.arch.builder and its page) builds with f-strings, and their sources."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.arch import BUILDER_COLUMNS, BUILDER_PRESETS, ROW_STATUSES, SKIPS, BuilderKind
from cnnviz.ui import builder

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "errors.builder_column.{}": lambda: BUILDER_COLUMNS,
    "errors.builder_kind.{}": lambda: BuilderKind,
    "network_builder.preset.{}": lambda: [p.key for p in BUILDER_PRESETS],
    "network_builder.help.{}": lambda: BUILDER_COLUMNS,
    "network_builder.column.{}": lambda: BUILDER_COLUMNS,
    "network_builder.status.{}": lambda: ROW_STATUSES,
    "network_builder.skip.{}": lambda: SKIPS,
    "network_builder.col.{}": lambda: builder.PLAN_COLUMNS,
    "network_builder.kind_help.{}": lambda: BuilderKind,
    "network_builder.size.{}": lambda: builder.SIZE_NAMES,
}
