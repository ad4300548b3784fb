"""Keras-style callbacks: hooks into a run, early stopping, and keeping the best epoch's weights."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from cnnviz.errors import ConfigError
from cnnviz.train.history import EpochStats, History, RunStatus, StepStats

if TYPE_CHECKING:  # only for annotations: importing it would make a cycle
    from cnnviz.train.trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "LambdaCallback", "ModelCheckpoint"]


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

    def __init__(self, patience: int, *, monitor: str = "val_loss", min_delta: float = 0.0) -> None:
        if monitor not in {"val_loss", "val_accuracy"}:
            raise ConfigError(f"monitor {monitor!r} is not known: use 'val_loss' or 'val_accuracy'.")
        self.patience, self.monitor, self.min_delta = patience, monitor, min_delta
        self.best = math.inf
        self.wait = 0

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        value = _monitored(stats, self.monitor)
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.request_stop(
                RunStatus.EARLY_STOPPED,
                f"Early stopping after epoch {stats.epoch}: {self.monitor} did not improve for "
                f"{self.patience} epoch(s).",
            )


class ModelCheckpoint(Callback):
    """Keep the weights of the best epoch in memory (a CPU state dict), by validation loss or accuracy."""

    def __init__(self, *, monitor: str = "val_loss") -> None:
        if monitor not in {"val_loss", "val_accuracy"}:
            raise ConfigError(f"monitor {monitor!r} is not known: use 'val_loss' or 'val_accuracy'.")
        self.monitor = monitor
        self.best_value = math.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        value = _monitored(stats, self.monitor)
        if value < self.best_value:
            self.best_value, self.best_epoch = value, stats.epoch
            self.best_state = _cpu_state(trainer.model)


def _monitored(stats: EpochStats, monitor: str) -> float:
    """Return the monitored value so that smaller is better (NaN counts as worst)."""
    value = stats.val_loss if monitor == "val_loss" else -stats.val_accuracy
    return value if math.isfinite(value) else math.inf


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
