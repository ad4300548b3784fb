"""Run one training in a background thread per browser session, and read its progress safely.

The page starts a ``TrainingJob`` and keeps it in its session state; a fragment that reruns every
second calls ``job.touch()`` (the heartbeat) and draws ``job.snapshot()``, an immutable copy of the
progress taken under a lock. The thread never touches Streamlit. It waits in the server's queue
(``cnnviz.train.job_queue``) until a slot is free, then trains; it stops when asked, when the session's
liveness probe has said "closed" for ``GONE_SECONDS`` (the tab was closed), when the heartbeat is missing
for ``heartbeat_timeout`` seconds, or at the end of the run. With ``config.folds >= 2`` it trains one
model per fold (k-fold cross-validation) and reports each fold's best validation score.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import torch
from torch import nn

from cnnviz.errors import CnnvizError, Phrase, TrainingError
from cnnviz.train.callbacks import Callback, ModelCheckpoint
from cnnviz.train.config import TrainConfig
from cnnviz.train.fold_results import FoldResult
from cnnviz.train.history import EpochSnapshot, EpochStats, History, RunStatus, StepStats
from cnnviz.train.job_queue import DEFAULT_LIMITER, JobLimiter, return_freed_memory, threads_per_job
from cnnviz.train.kfold import fold_data
from cnnviz.train.tasks import Task
from cnnviz.train.trainer import TrainedModel, Trainer

__all__ = ["JobSnapshot", "JobState", "TrainingJob"]

POLL_SECONDS = 0.1  # how often a paused or queued job looks at its stop flag and heartbeat
ALIVE_CHECK_SECONDS = 0.5  # how often is_alive() is asked
GONE_SECONDS = 3.0  # a session reported closed this long stops its run (a brief reconnect does not)


class JobState(StrEnum):
    CREATED = "created"
    QUEUED = "queued"  # waiting for a free slot on the server
    PREPARING = "preparing"  # loading data, building the model
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # the run ended by itself (all epochs, early stopping or divergence)
    STOPPED = "stopped"  # stopped by the user or by a missing heartbeat
    FAILED = "failed"  # an error; the message says what to change

    @property
    def active(self) -> bool:
        return self in (JobState.CREATED, JobState.QUEUED, JobState.PREPARING, JobState.RUNNING, JobState.PAUSED)


@dataclass(frozen=True)
class JobSnapshot:
    """An immutable copy of a job's progress, safe to read while the job goes on."""

    state: JobState
    epoch: int  # epochs finished (of the current fold with k-fold)
    epochs: int  # epochs planned (per fold)
    step: int  # optimizer steps done (all folds)
    total_steps: int  # optimizer steps planned (0 until the data is loaded)
    samples_per_s: float  # last measured training speed
    elapsed_s: float  # seconds of training, pauses excluded
    eta_s: float | None  # estimated seconds left, None before the first measurement
    device: Phrase  # e.g. "CPU (2 threads)", translatable
    epoch_stats: tuple[EpochStats, ...]  # of the current fold with k-fold
    step_stats: tuple[StepStats, ...]
    snapshots: tuple[EpochSnapshot, ...]  # network snapshots per epoch (0 = start)
    status: RunStatus | None  # how the run ended, None while it runs
    message: Phrase | None  # why it stopped (divergence, early stopping, heartbeat) or what failed; None if nothing
    queue_place: int = 0  # QUEUED: 1 = next to get a slot; 0 otherwise
    queue_length: int = 0  # jobs waiting on the server (this one included), when queued
    capacity: int = 0  # trainings the server runs at once
    fold: int = 0  # k-fold: the fold being trained (1-based), 0 without k-fold
    folds: int = 0  # k-fold: folds planned, 0 without k-fold
    fold_results: tuple[FoldResult, ...] = ()  # k-fold: the folds finished so far

    @property
    def progress(self) -> float:
        """Fraction of the planned steps done, in [0, 1]."""
        return min(self.step / self.total_steps, 1.0) if self.total_steps else 0.0

    @property
    def done(self) -> bool:
        return not self.state.active


class TrainingJob:
    """Own a Trainer running in a daemon thread; control it with pause/resume/stop, read it with snapshot().

    ``is_alive`` (optional) is asked twice a second from the thread: True counts as a heartbeat, so training
    goes on while the user visits other pages of a still-open session; False for ``GONE_SECONDS`` stops it.
    ``threads``: torch threads of the job's own thread on the CPU (default: the cores shared by the
    limiter's slots). ``loader``: how the config's data set is loaded, in the job's thread (see ``Trainer``).
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        data: Any = None,
        model: nn.Module | None = None,
        task: Task | None = None,
        heartbeat_timeout: float = 30.0,
        is_alive: Callable[[], bool] | None = None,
        limiter: JobLimiter = DEFAULT_LIMITER,
        threads: int | None = None,
        loader: Callable[[TrainConfig], Any] | None = None,
    ) -> None:
        self.config = config
        self.trainer = Trainer(config, data=data, model=model, task=task, loader=loader)
        self.checkpoint = ModelCheckpoint(monitor=config.monitor)  # the best epoch's weights, in memory
        self.heartbeat_timeout = heartbeat_timeout
        self.threads = threads_per_job(limiter.capacity) if threads is None else max(1, threads)
        self._is_alive = is_alive
        self._limiter = limiter
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = JobState.CREATED
        self._message: Phrase | None = None
        self._epochs: list[EpochStats] = []
        self._steps: list[StepStats] = []
        self._snapshots: list[EpochSnapshot] = []
        self._folds: list[FoldResult] = []
        self._fold = 0
        self._steps_before = 0  # k-fold: steps of the folds already trained
        self._step = 0
        self._speed = 0.0
        self._started = 0.0
        self._ended = 0.0  # when the thread ended: a finished run's time stops there
        self._idle = 0.0
        self._device: Phrase | None = None  # read in the job's thread (its own thread count)
        self._last_touch = time.monotonic()
        self._last_alive_check = 0.0
        self._gone_since: float | None = None
        self._trained: TrainedModel | None = None
        self._best: TrainedModel | None = None
        self._final: JobSnapshot | None = None  # kept by release()

    # -- control (called from the page) -------------------------------------------------------

    def start(self) -> TrainingJob:
        """Queue the job on the server and start its thread (it trains as soon as it has a slot)."""
        if self._thread is not None:
            raise TrainingError.from_key("errors.jobs_already_started")
        self.touch()
        self._threads_before = torch.get_num_threads()
        if self._limiter.enter(id(self)):
            self._state = JobState.QUEUED
        self._thread = threading.Thread(target=self._run, name=f"cnnviz-train-{id(self):x}", daemon=True)
        self._thread.start()
        return self

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()
        self.touch()

    @property
    def paused(self) -> bool:
        """True when a pause was asked for (the thread pauses after the current step)."""
        return self._pause.is_set()

    def stop(self) -> None:
        """Ask the run to stop after the current step (also when paused); a queued job leaves the queue."""
        self._stop.set()

    def touch(self) -> None:
        """Record a heartbeat: the page that shows this job is still open."""
        self._last_touch = time.monotonic()

    def release(self) -> None:
        """Keep only what a finished run shows (progress, history, the trained model); free the rest.

        The data set and its device copies, the trainer (optimizer state, device model) and the best
        epoch's weights go (the page keeps their .pt bytes). Raises TrainingError while the thread runs.
        """
        if not self.join(timeout=5.0):  # a finished job's thread ends right after its last state change
            raise TrainingError.from_key("errors.jobs_still_running")
        final = self.snapshot()
        with self._lock:
            self._final, self._history = final, self.trainer.history
            self.trainer.release()
            self.trainer, self._best, self.checkpoint.best_state = None, None, None
            self._epochs, self._steps, self._snapshots = [], [], []
        return_freed_memory()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; return True if it has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- reading (any thread) -----------------------------------------------------------------

    @property
    def history(self) -> History:
        """The trainer's history (the current fold's with k-fold): complete only once ``snapshot().done``."""
        trainer = self.trainer
        return self._history if trainer is None else trainer.history

    @property
    def trained(self) -> TrainedModel | None:
        """The trained model (CPU, eval) with its weights at the end of the run, once it has ended; else None."""
        with self._lock:
            return self._trained

    @property
    def best_trained(self) -> TrainedModel | None:
        """The same model with the weights of its best epoch (``config.monitor``), once the run has ended.

        None while it runs, when no epoch finished with a finite value, and after ``release()``.
        """
        with self._lock:
            return self._best

    def snapshot(self) -> JobSnapshot:
        """Return an immutable copy of the progress, taken under the lock."""
        with self._lock:
            if self._final is not None:
                return self._final
            trainer, folds = self.trainer, self.config.folds if self.config.folds >= 2 else 0
            per_fold = trainer.total_steps
            total = self._steps_before + per_fold * (folds - len(self._folds)) if folds else per_fold
            now = self._ended or time.perf_counter()
            elapsed = (now - self._started - self._idle) if self._started else 0.0
            eta = elapsed / self._step * (total - self._step) if self._step and self._state.active else None
            queued = self._state is JobState.QUEUED
            return JobSnapshot(
                self._state, len(self._epochs), self.config.epochs, self._step, total, self._speed,
                max(elapsed, 0.0), eta, self._device or trainer.device_phrase, tuple(self._epochs),
                tuple(self._steps), tuple(self._snapshots), trainer.history.status, self._message,
                self._limiter.place(id(self)) if queued else 0, self._limiter.waiting if queued else 0,
                self._limiter.capacity, self._fold, folds, tuple(self._folds),
            )  # fmt: skip

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if not self._wait_for_slot():
                return
            if self.trainer.device.type == "cpu":
                torch.set_num_threads(self.threads)  # this thread's own pool (and the default of later threads)
            self._device = self.trainer.device_phrase
            if self.config.folds >= 2:
                self._run_folds()
            else:
                self._finish(self._fit(self.trainer))
            if self._message is not None and self._message.key == "errors.run_heartbeat_lost":
                self.trainer.release()  # the page is gone and may never record the run: free its data now
                return_freed_memory()
        except CnnvizError as err:  # kept as a key and values, never the exception (its traceback holds the data)
            self._fail(Phrase(err.key, dict(err.values)) if err.key else Phrase("errors.plain", {"text": str(err)}))
        except Exception as err:  # the thread must end in a state the page can show, never silently
            detail = (str(err).splitlines() or [type(err).__name__])[0]
            self._fail(Phrase("errors.run_failed_unexpectedly", {"detail": detail}))
        finally:
            with self._lock:
                self._ended = time.perf_counter()
            self._limiter.release(id(self))
            torch.set_num_threads(self._threads_before)  # later threads start with the page's count again

    def _wait_for_slot(self) -> bool:
        """Wait in the queue; False (and state STOPPED) when stopped or the session ended before a slot was free."""
        while not self._limiter.wait(id(self), POLL_SECONDS):
            gone = self._heartbeat_lost()
            if gone or self._stop.is_set():
                message = gone or Phrase("errors.run_left_queue")
                with self._lock:
                    self._state, self._message = JobState.STOPPED, message
                return False
        return True

    def _fit(self, trainer: Trainer) -> History:
        """Prepare and train one model (one fold with k-fold) with the job's callbacks."""
        self._set_state(JobState.PREPARING)
        trainer.prepare()
        with self._lock:
            self._started = self._started or time.perf_counter()
            self._state = JobState.RUNNING
        return trainer.fit(callbacks=[self.checkpoint, _JobCallback(self)])

    def _finish(self, history: History) -> None:
        """Hand over the trained model and the best epoch's, and set the final state."""
        trained = self.trainer.trained()
        best = self.checkpoint.best_state
        best = None if best is None else self.trainer.trained(state=best, epoch=self.checkpoint.best_epoch)
        with self._lock:
            self._trained, self._best = trained, best
            self._message = self._message or history.message
            self._state = JobState.STOPPED if history.status is RunStatus.STOPPED else JobState.FINISHED

    def _run_folds(self) -> None:
        """k-fold cross-validation: train one model per fold of the same images, each validated on its fold."""
        c, first = self.config, self.trainer
        data = first.data if first.data is not None else first.loader(c)  # loaded once for every fold
        fold_config = replace(c, folds=0, val_fraction=0.0)  # the folds are the split
        initial = None if first.model is None else copy.deepcopy(first.model)
        for i in range(c.folds):
            model = None if initial is None else copy.deepcopy(initial)
            trainer = Trainer(fold_config, data=fold_data(data, c.folds, i, seed=c.seed), model=model, task=first.task)
            with self._lock:
                self.trainer, self._fold = trainer, i + 1
                self._epochs, self._steps, self._snapshots = [], [], []
            self.checkpoint = ModelCheckpoint(monitor=c.monitor)
            history = self._fit(trainer)
            with self._lock:
                self._folds.append(FoldResult(i + 1, tuple(history.epochs), history.status))
                self._steps_before = self._step
            if history.status in (RunStatus.STOPPED, RunStatus.DIVERGED) or self._stop.is_set():
                break
            if i + 1 < c.folds:
                trainer.release()
        self._finish(history)

    def _set_state(self, state: JobState) -> None:
        with self._lock:
            self._state = state

    def _fail(self, message: Phrase) -> None:
        with self._lock:
            self._state, self._message = JobState.FAILED, message

    def _heartbeat_lost(self) -> Phrase | None:
        """Why the page is gone (as the message to show), or None while it is open."""
        now = time.monotonic()
        if self._is_alive is not None and now - self._last_alive_check >= ALIVE_CHECK_SECONDS:
            self._last_alive_check = now
            try:
                alive = self._is_alive()
            except Exception:  # a broken liveness probe must not kill the run; the heartbeat still decides
                alive = None
            if alive:
                self._gone_since = None
                self.touch()
            elif alive is not None:
                self._gone_since = self._gone_since or now
        if self._gone_since is not None and now - self._gone_since >= GONE_SECONDS:
            return Phrase("errors.run_heartbeat_lost", {"seconds": GONE_SECONDS})
        if now - self._last_touch > self.heartbeat_timeout:
            return Phrase("errors.run_heartbeat_lost", {"seconds": self.heartbeat_timeout})
        return None

    def _check_control(self, trainer: Trainer) -> None:
        """Honour stop, pause and a lost heartbeat between two steps (runs in the job's thread)."""
        if self._pause.is_set() and not self._stop.is_set():
            self._wait_while_paused(trainer)
        gone = self._heartbeat_lost()
        if gone is not None:
            self._stop_for(trainer, gone)
        elif self._stop.is_set():
            self._stop_for(trainer, Phrase("errors.run_stopped_by_user"))

    def _wait_while_paused(self, trainer: Trainer) -> None:
        start = time.perf_counter()
        self._set_state(JobState.PAUSED)
        while self._pause.is_set() and not self._stop.is_set() and self._heartbeat_lost() is None:
            self._stop.wait(POLL_SECONDS)
        idle = time.perf_counter() - start
        trainer.add_idle_time(idle)
        with self._lock:
            self._idle += idle
            self._state = JobState.RUNNING

    def _stop_for(self, trainer: Trainer, message: Phrase) -> None:
        trainer.request_stop(RunStatus.STOPPED, message)
        with self._lock:
            self._message = message


class _JobCallback(Callback):
    """Copy the trainer's progress into the job under its lock, and apply pause/stop/heartbeat."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = job

    def on_fit_start(self, trainer: Trainer) -> None:
        with self.job._lock:
            self.job._snapshots.extend(trainer.history.snapshots)
        self.job._check_control(trainer)

    def on_step_end(self, trainer: Trainer, stats: StepStats | None) -> None:
        job = self.job
        with job._lock:
            job._step = job._steps_before + trainer.global_step
            if stats is not None:
                job._steps.append(stats)
                job._speed = stats.samples_per_s
        job._check_control(trainer)

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        with self.job._lock:
            self.job._epochs.append(stats)
            shots = trainer.history.snapshots  # none for a network without convolutions (an MLP from the builder)
            if shots and shots[-1].epoch == stats.epoch:
                self.job._snapshots.append(shots[-1])
        self.job._check_control(trainer)
