"""Keys the Architectures page builds at run time, and their values' source (constants of the code)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.arch import COST_ROLES, NOTES_ALEXNET, STEP_ROLES, WINNERS, inception_branches
from cnnviz.ui.architectures import CHART_MODES, COLUMNS
from cnnviz.ui.architectures_explainers import EXPLAINERS

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "architectures.col.{}": lambda: COLUMNS,
    "architectures.chart_by.{}": lambda: CHART_MODES,
    "architectures.role.{}": lambda: {*COST_ROLES, *STEP_ROLES, "pool"},
    "architectures.branch.{}": lambda: [branch.name for branch in inception_branches(1, 1, 1).branches],
    "architectures.explainer.{}": lambda: EXPLAINERS,
    "architectures.explainer.{}.intro": lambda: EXPLAINERS,
    "architectures.winner.{}": lambda: [m.key for m in WINNERS],
    "architectures.claim.{}": lambda: NOTES_ALEXNET,
    "architectures.x.{}": lambda: ("before", "after"),
}
