"""Keys the Feature-maps page, cnnviz.data, cnnviz.nets and cnnviz.explain build with f-strings."""

from __future__ import annotations

from collections.abc import Callable, Iterable

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {}
