"""Keys the Live-training page and cnnviz.train build with f-strings, and where their values come from."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cnnviz.train import PRESETS, InitName, JobState, OptimizerName, Precision, Schedule, setting_names

ENUMERATIONS: dict[str, Callable[[], Iterable[object]]] = {
    "train.preset.{}": lambda: PRESETS,
    "train.story.{}": lambda: PRESETS,
    "train.opt.{}": lambda: OptimizerName,
    "train.sched.{}": lambda: Schedule,
    "train.init.{}": lambda: InitName,
    "train.prec.{}": lambda: Precision,
    "train.state.{}": lambda: JobState,
    "errors.setting.{}": setting_names,
}
