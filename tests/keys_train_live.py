"""Keys the live panel's layer section builds with f-strings, and where their values come from."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.ui.training_figures import MARK_KINDS
from cnnviz.ui.training_layers import OUTSIDE_KINDS, VIEWS

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "train_live.view.{}": lambda: VIEWS,
    "train_live.outside_{}": lambda: OUTSIDE_KINDS,
}
ENUMERATIONS["train_live.mark.{}"] = lambda: MARK_KINDS
ENUMERATIONS["train_live.mark_caption.{}"] = lambda: MARK_KINDS
