"""Keys the Feature-visualisation page builds at run time, and their values' source."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.explain import Penalty

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "feature_visualization.penalty.{}": lambda: [p.value for p in Penalty],
}
