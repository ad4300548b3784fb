"""Run one training in a background thread per browser session, and read its progress safely.

The page starts a ``TrainingJob`` and keeps it in its session state; a fragment that reruns every
second calls ``job.touch()`` (the heartbeat) and draws ``job.snapshot()``, an immutable copy of the
progress taken under a lock. The thread never touches Streamlit. It stops when asked, when the
heartbeat is missing for ``heartbeat_timeout`` seconds (the tab was closed), or at the end of the
run. A process-wide ``JobLimiter`` caps how many trainings run at once on the server.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from torch import nn

from cnnviz.errors import CnnvizError, Phrase, TrainingError
from cnnviz.train.callbacks import Callback, ModelCheckpoint
from cnnviz.train.config import TrainConfig
from cnnviz.train.history import EpochSnapshot, EpochStats, History, RunStatus, StepStats
from cnnviz.train.tasks import Task
from cnnviz.train.trainer import TrainedModel, Trainer

__all__ = ["DEFAULT_LIMITER", "JobLimiter", "JobSnapshot", "JobState", "TrainingJob"]

POLL_SECONDS = 0.1  # how often a paused job looks at its stop flag and heartbeat
ALIVE_CHECK_SECONDS = 1.0  # how often is_alive() is asked (it may take a lock in Streamlit)


class JobState(StrEnum):
    CREATED = "created"
    PREPARING = "preparing"  # loading data, building the model
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # the run ended by itself (all epochs, early stopping or divergence)
    STOPPED = "stopped"  # stopped by the user or by a missing heartbeat
    FAILED = "failed"  # an error; the message says what to change

    @property
    def active(self) -> bool:
        return self in (JobState.CREATED, JobState.PREPARING, JobState.RUNNING, JobState.PAUSED)


@dataclass(frozen=True)
class JobSnapshot:
    """An immutable copy of a job's progress, safe to read while the job goes on."""

    state: JobState
    epoch: int  # epochs finished
    epochs: int  # epochs planned
    step: int  # optimizer steps done
    total_steps: int  # optimizer steps planned (0 until the data is loaded)
    samples_per_s: float  # last measured training speed
    elapsed_s: float  # seconds of training, pauses excluded
    eta_s: float | None  # estimated seconds left, None before the first measurement
    device: Phrase  # e.g. "CPU (2 threads)", translatable
    epoch_stats: tuple[EpochStats, ...]
    step_stats: tuple[StepStats, ...]
    snapshots: tuple[EpochSnapshot, ...]  # first-layer filters and probe feature maps per epoch (0 = start)
    status: RunStatus | None  # how the run ended, None while it runs
    message: Phrase | None  # why it stopped (divergence, early stopping, heartbeat) or what failed; None if nothing

    @property
    def progress(self) -> float:
        """Fraction of the planned steps done, in [0, 1]."""
        return min(self.step / self.total_steps, 1.0) if self.total_steps else 0.0

    @property
    def done(self) -> bool:
        return not self.state.active


class JobLimiter:
    """Count running jobs process-wide and refuse a new one above ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._running: set[int] = set()

    def acquire(self, job_id: int) -> None:
        """Reserve a slot for ``job_id``; raise TrainingError when every slot is taken."""
        with self._lock:
            if len(self._running) >= self.capacity:
                raise TrainingError.from_key("errors.jobs_limit", n=len(self._running), limit=self.capacity)
            self._running.add(job_id)

    def release(self, job_id: int) -> None:
        with self._lock:
            self._running.discard(job_id)

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)


def _default_capacity() -> int:
    """Jobs allowed at once: CNNVIZ_MAX_JOBS, else 2 (small servers have few cores)."""
    try:
        return max(1, int(os.environ.get("CNNVIZ_MAX_JOBS", "2")))
    except ValueError:
        return 2


DEFAULT_LIMITER = JobLimiter(_default_capacity())  # process-wide on purpose: it is the cap


class TrainingJob:
    """Own a Trainer running in a daemon thread; control it with pause/resume/stop, read it with snapshot().

    ``is_alive`` (optional) is asked about once a second from the thread; returning True counts as a
    heartbeat, so training goes on while the user visits other pages of a still-open session.
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
    ) -> None:
        self.config = config
        self.trainer = Trainer(config, data=data, model=model, task=task)
        self.checkpoint = ModelCheckpoint(monitor=config.monitor)  # the best epoch's weights, in memory
        self.heartbeat_timeout = heartbeat_timeout
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
        self._step = 0
        self._speed = 0.0
        self._started = 0.0
        self._idle = 0.0
        self._last_touch = time.monotonic()
        self._last_alive_check = 0.0
        self._trained: TrainedModel | None = None
        self._best: TrainedModel | None = None

    # -- control (called from the page) -------------------------------------------------------

    def start(self) -> TrainingJob:
        """Start the thread; raise TrainingError when the server already runs its maximum of jobs."""
        if self._thread is not None:
            raise TrainingError.from_key("errors.jobs_already_started")
        self._limiter.acquire(id(self))
        self.touch()
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
        """Ask the run to stop after the current step (also when paused)."""
        self._stop.set()

    def touch(self) -> None:
        """Record a heartbeat: the page that shows this job is still open."""
        self._last_touch = time.monotonic()

    def release(self) -> None:
        """Free the data set held by a finished job (the trained model, history and snapshots stay)."""
        if not self.join(timeout=5.0):  # a finished job's thread ends right after its last state change
            raise TrainingError.from_key("errors.jobs_still_running")
        self.trainer.release()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; return True if it has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- reading (any thread) -----------------------------------------------------------------

    @property
    def history(self) -> History:
        """The trainer's history: complete only once ``snapshot().done``."""
        return self.trainer.history

    @property
    def trained(self) -> TrainedModel | None:
        """The trained model (CPU, eval) with its weights at the end of the run, once it has ended; else None."""
        with self._lock:
            return self._trained

    @property
    def best_trained(self) -> TrainedModel | None:
        """The same model with the weights of its best epoch by validation loss, once the run has ended.

        None while it runs and when no epoch finished with a finite validation loss.
        """
        with self._lock:
            return self._best

    def snapshot(self) -> JobSnapshot:
        """Return an immutable copy of the progress, taken under the lock."""
        with self._lock:
            total = self.trainer.total_steps
            elapsed = (time.perf_counter() - self._started - self._idle) if self._started else 0.0
            eta = elapsed / self._step * (total - self._step) if self._step and self._state.active else None
            return JobSnapshot(
                self._state, len(self._epochs), self.config.epochs, self._step, total, self._speed,
                max(elapsed, 0.0), eta, self.trainer.device_phrase, tuple(self._epochs), tuple(self._steps),
                tuple(self._snapshots), self.trainer.history.status, self._message,
            )  # fmt: skip

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._set_state(JobState.PREPARING)
            self.trainer.prepare()
            with self._lock:
                self._started, self._state = time.perf_counter(), JobState.RUNNING
            history = self.trainer.fit(callbacks=[self.checkpoint, _JobCallback(self)])
            trained = self.trainer.trained()
            best = self.checkpoint.best_state
            best = None if best is None else self.trainer.trained(state=best, epoch=self.checkpoint.best_epoch)
            with self._lock:
                self._trained, self._best = trained, best
                self._message = self._message or history.message
                self._state = JobState.STOPPED if history.status is RunStatus.STOPPED else JobState.FINISHED
        except CnnvizError as err:  # kept as a key and values, never the exception (its traceback holds the data)
            self._fail(Phrase(err.key, dict(err.values)) if err.key else Phrase("errors.plain", {"text": str(err)}))
        except Exception as err:  # the thread must end in a state the page can show, never silently
            detail = (str(err).splitlines() or [type(err).__name__])[0]
            self._fail(Phrase("errors.run_failed_unexpectedly", {"detail": detail}))
        finally:
            self._limiter.release(id(self))

    def _set_state(self, state: JobState) -> None:
        with self._lock:
            self._state = state

    def _fail(self, message: Phrase) -> None:
        with self._lock:
            self._state, self._message = JobState.FAILED, message

    def _heartbeat_lost(self) -> bool:
        now = time.monotonic()
        if self._is_alive is not None and now - self._last_alive_check >= ALIVE_CHECK_SECONDS:
            self._last_alive_check = now
            try:
                if self._is_alive():
                    self.touch()
            except Exception:  # a broken liveness probe must not kill the run; the heartbeat still decides
                pass
        return now - self._last_touch > self.heartbeat_timeout

    def _check_control(self, trainer: Trainer) -> None:
        """Honour stop, pause and a lost heartbeat between two steps (runs in the job's thread)."""
        if self._pause.is_set() and not self._stop.is_set():
            self._wait_while_paused(trainer)
        if self._heartbeat_lost():
            self._stop_for(trainer, Phrase("errors.run_heartbeat_lost", {"seconds": self.heartbeat_timeout}))
        elif self._stop.is_set():
            self._stop_for(trainer, Phrase("errors.run_stopped_by_user"))

    def _wait_while_paused(self, trainer: Trainer) -> None:
        start = time.perf_counter()
        self._set_state(JobState.PAUSED)
        while self._pause.is_set() and not self._stop.is_set() and not self._heartbeat_lost():
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
            job._step = trainer.global_step
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
