"""Keys the runs table and the classroom queue build with f-strings, and where their values come from."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.ui.training_runs import STATUSES

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "runs.status.{}": lambda: STATUSES,
}
