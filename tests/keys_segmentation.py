"""Keys the Segmentation page builds at run time, and their values' source."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.segment import Upsampling

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "segmentation.upsampling.{}": lambda: [u.value for u in Upsampling],
}
