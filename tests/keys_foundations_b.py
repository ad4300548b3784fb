"""Keys the initialisation, batch-norm, regularisation and upsampling pages build at run time, and their source."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.foundations import HIDDEN_ACTIVATIONS, InitScheme
from cnnviz.ui.regularization import TABS

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "initialization.scheme.{}": lambda: [s.value for s in InitScheme],
    "initialization.activation.{}": lambda: HIDDEN_ACTIVATIONS,
    "initialization.lesson.{}": lambda: [f"{s.value}_{a}" for s in InitScheme for a in HIDDEN_ACTIVATIONS],
    "regularization.tab.{}": lambda: TABS,
}
