"""Training: the config and its named presets, the trainer and its callbacks, augmentation, the history,
checkpoints of trained models, and background jobs for the page (``python -m cnnviz.train.bundled`` trains
the bundled weights through the same Trainer)."""

from __future__ import annotations

from cnnviz.train import (
    augment,
    callbacks,
    checkpoints,
    components,
    config,
    fold_results,
    history,
    job_queue,
    jobs,
    kfold,
    presets,
    schedules,
    snapshots,
    step_window,
    tasks,
    trained,
    trainer,
    transfer,
    warmup,
)
from cnnviz.train.augment import *  # noqa: F403
from cnnviz.train.callbacks import *  # noqa: F403
from cnnviz.train.checkpoints import *  # noqa: F403
from cnnviz.train.components import *  # noqa: F403
from cnnviz.train.config import *  # noqa: F403
from cnnviz.train.fold_results import *  # noqa: F403
from cnnviz.train.history import *  # noqa: F403
from cnnviz.train.job_queue import *  # noqa: F403
from cnnviz.train.jobs import *  # noqa: F403
from cnnviz.train.kfold import *  # noqa: F403
from cnnviz.train.presets import *  # noqa: F403
from cnnviz.train.schedules import *  # noqa: F403
from cnnviz.train.snapshots import *  # noqa: F403
from cnnviz.train.step_window import *  # noqa: F403
from cnnviz.train.tasks import *  # noqa: F403
from cnnviz.train.trained import *  # noqa: F403
from cnnviz.train.trainer import *  # noqa: F403
from cnnviz.train.transfer import *  # noqa: F403
from cnnviz.train.warmup import *  # noqa: F403

MODULES = (config, presets, history, callbacks, augment, components, transfer, tasks, kfold, snapshots, trainer)
MODULES += (trained, step_window, warmup, checkpoints, jobs, schedules, fold_results, job_queue)
__all__ = [name for module in MODULES for name in module.__all__]
