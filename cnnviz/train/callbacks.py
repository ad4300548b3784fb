"""Keras-style callbacks: hooks into a run, early stopping, and keeping the best epoch's weights."""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

import torch
from torch import nn

from cnnviz.errors import ConfigError, Phrase
from cnnviz.train.history import EpochStats, History, RunStatus, StepStats

if TYPE_CHECKING:  # only for annotations: importing it would make a cycle
    from cnnviz.train.trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "LambdaCallback", "ModelCheckpoint", "Monitor"]


class Monitor(StrEnum):
    """The validation metric a callback watches."""

    VAL_LOSS = "val_loss"  # smaller is better
    VAL_ACCURACY = "val_accuracy"  # larger is better


def _monitor(value: Monitor | str) -> Monitor:
    try:
        return Monitor(value)
    except ValueError:
        raise ConfigError.from_key("errors.train_unknown_monitor", value=str(value),
                                   allowed=", ".join(m.value for m in Monitor)) from None  # fmt: skip


class Callback:
    """Keras-style hooks; override the ones you need. Set ``trainer.request_stop(...)`` to stop."""

    def on_fit_start(self, trainer: Trainer) -> None: ...

    def on_step_end(self, trainer: Trainer, stats: StepStats | None) -> None:
        """Called after every optimizer step; ``stats`` is set every ``sync_every`` steps only."""

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None: ...

    def on_fit_end(self, trainer: Trainer, history: History) -> None: ...


class LambdaCallback(Callback):
    """Wrap plain functions as a callback (Keras' LambdaCallback)."""

    def __init__(
        self,
        *,
        on_fit_start: Callable[[Trainer], None] | None = None,
        on_step_end: Callable[[Trainer, StepStats | None], None] | None = None,
        on_epoch_end: Callable[[Trainer, EpochStats], None] | None = None,
        on_fit_end: Callable[[Trainer, History], None] | None = None,
    ) -> None:
        self._fns = {"fit_start": on_fit_start, "step": on_step_end, "epoch": on_epoch_end, "fit_end": on_fit_end}

    def on_fit_start(self, trainer: Trainer) -> None:
        if self._fns["fit_start"]:
            self._fns["fit_start"](trainer)

    def on_step_end(self, trainer: Trainer, stats: StepStats | None) -> None:
        if self._fns["step"]:
            self._fns["step"](trainer, stats)

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        if self._fns["epoch"]:
            self._fns["epoch"](trainer, stats)

    def on_fit_end(self, trainer: Trainer, history: History) -> None:
        if self._fns["fit_end"]:
            self._fns["fit_end"](trainer, history)


class EarlyStopping(Callback):
    """Stop when the monitored validation metric has not improved for ``patience`` epochs."""

    def __init__(self, patience: int, *, monitor: Monitor | str = Monitor.VAL_LOSS, min_delta: float = 0.0) -> None:
        self.patience, self.monitor, self.min_delta = patience, _monitor(monitor), min_delta
        self.best = math.inf
        self.wait = 0

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        value = _monitored(stats, self.monitor)
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            loss = self.monitor is Monitor.VAL_LOSS
            what = Phrase("errors.monitor_val_loss" if loss else "errors.monitor_val_accuracy")
            message = Phrase("errors.run_early_stopped", {"epoch": stats.epoch, "monitor": what, "n": self.patience})
            trainer.request_stop(RunStatus.EARLY_STOPPED, message)


class ModelCheckpoint(Callback):
    """Keep the weights of the best epoch in memory (a CPU state dict), by validation loss or accuracy."""

    def __init__(self, *, monitor: Monitor | str = Monitor.VAL_LOSS) -> None:
        self.monitor = _monitor(monitor)
        self.best_value = math.inf
        self.best_epoch = 0  # 0 until an epoch with a finite value has ended
        self.best_stats: EpochStats | None = None
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        value = _monitored(stats, self.monitor)
        if value < self.best_value:
            self.best_value, self.best_epoch, self.best_stats = value, stats.epoch, stats
            self.best_state = _cpu_state(trainer.model)


def _monitored(stats: EpochStats, monitor: Monitor) -> float:
    """Return the monitored value so that smaller is better (NaN counts as worst)."""
    value = stats.val_loss if monitor is Monitor.VAL_LOSS else -stats.val_accuracy
    return value if math.isfinite(value) else math.inf


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
