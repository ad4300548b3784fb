"""Keys the Live-training page and cnnviz.train build with f-strings, and where their values come from."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.train import InitName, JobState, OptimizerName, Precision, Schedule
from cnnviz.ui import training

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "train.preset.{}": lambda: training.PRESETS,
    "train.story.{}": lambda: training.PRESETS,
    "train.opt.{}": lambda: OptimizerName,
    "train.sched.{}": lambda: Schedule,
    "train.init.{}": lambda: InitName,
    "train.prec.{}": lambda: Precision,
    "train.state.{}": lambda: JobState,
}
