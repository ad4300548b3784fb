"""Keys the Detection page builds at run time, and their values' source."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.detect import PIPELINES, PROPOSERS
from cnnviz.ui.detection import COST_COLUMNS, PIPELINE_STEPS

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "detection.pipeline.{}": lambda: PIPELINES,
    "detection.proposer.{}": lambda: PROPOSERS,
    "detection.rcnn_col.{}": lambda: COST_COLUMNS,
    "detection.step.{}": lambda: sorted({step for steps in PIPELINE_STEPS.values() for step in steps}),
}
