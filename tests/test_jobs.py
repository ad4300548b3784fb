"""Background training jobs: completion, pause/resume/stop, heartbeat timeout, the cap, isolation."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator

import pytest
import torch
import torch.nn.functional as F

from cnnviz.data import DataSplit
from cnnviz.train import (
    JobLimiter,
    JobState,
    RunStatus,
    TrainConfig,
    Trainer,
    TrainingJob,
    jobs,
    load_trained,
    save_trained,
)

SIZE = 16


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def started() -> Iterator[list[TrainingJob]]:
    """Collect the jobs a test starts and make sure every thread is stopped and joined afterwards."""
    made: list[TrainingJob] = []
    yield made
    for job in made:
        job.stop()
    for job in made:
        assert job.join(timeout=60), "a training thread did not stop"


def _split(seed: int = 0) -> DataSplit:
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(48) % 2
    x = torch.rand(48, 3, SIZE, SIZE, generator=gen) * 0.5
    x[y == 1, 0] += 0.5
    return DataSplit(x[:32], y[:32], x[32:], y[32:], ("a", "b"), 3, SIZE, "toy", (0.4,) * 3, (0.25,) * 3)


def _config(**changes) -> TrainConfig:
    return dataclasses.replace(TrainConfig(epochs=2, batch_size=8, sync_every=1), **changes)


def _wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_a_job_runs_to_the_end_and_hands_over_the_model(started) -> None:
    limiter = JobLimiter(2)
    job = TrainingJob(_config(), data=_split(), limiter=limiter)
    started.append(job.start())
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state is JobState.FINISHED and snap.done and snap.status is RunStatus.FINISHED
    assert snap.epoch == 2 and len(snap.epoch_stats) == 2 and snap.progress == 1.0
    assert [s.epoch for s in snap.snapshots] == [0, 1, 2]
    assert isinstance(snap.epoch_stats, tuple) and isinstance(snap.step_stats, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.epoch = 5  # type: ignore[misc]
    assert job.trained is not None and not job.trained.model.training
    assert job.checkpoint.best_state is not None
    assert limiter.running == 0
    assert "CPU" in str(snap.device) and snap.message is None


def test_pause_resume_and_stop(started) -> None:
    job = TrainingJob(_config(epochs=200), data=_split(), limiter=JobLimiter(1))
    job.pause()
    started.append(job.start())
    _wait_for(lambda: job.snapshot().state is JobState.PAUSED)
    step = job.snapshot().step
    time.sleep(0.4)
    assert job.snapshot().step == step, "a paused job must not step"
    job.resume()
    _wait_for(lambda: job.snapshot().step > step + 2)
    job.stop()
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state is JobState.STOPPED and snap.status is RunStatus.STOPPED
    assert str(snap.message) == "Stopped by the user."
    assert snap.message.localized("ko") == "사용자가 학습을 중지했습니다."
    assert snap.epoch < 200


def test_stop_while_paused_ends_the_thread(started) -> None:
    job = TrainingJob(_config(epochs=200), data=_split(), limiter=JobLimiter(1))
    job.pause()
    started.append(job.start())
    _wait_for(lambda: job.snapshot().state is JobState.PAUSED)
    job.stop()
    assert job.join(timeout=30)
    assert job.snapshot().state is JobState.STOPPED


def test_missing_heartbeat_stops_the_job(started) -> None:
    job = TrainingJob(_config(epochs=500), data=_split(), heartbeat_timeout=0.5, limiter=JobLimiter(1))
    started.append(job.start())
    assert job.join(timeout=60), "the job should stop by itself when nobody touches it"
    snap = job.snapshot()
    assert snap.state is JobState.STOPPED and "sent no heartbeat for 0.5 s" in str(snap.message)
    assert "0.5초 동안 하트비트" in snap.message.localized("ko")
    assert snap.epoch < 500


def test_a_live_session_counts_as_a_heartbeat(started, monkeypatch) -> None:
    monkeypatch.setattr(jobs, "ALIVE_CHECK_SECONDS", 0.05)
    alive = {"yes": True}
    job = TrainingJob(
        _config(epochs=500), data=_split(), heartbeat_timeout=0.5, is_alive=lambda: alive["yes"], limiter=JobLimiter(1)
    )
    started.append(job.start())
    time.sleep(1.5)
    assert job.snapshot().state.active, job.snapshot().message
    alive["yes"] = False  # the session closed
    assert job.join(timeout=60)
    assert job.snapshot().message.key == "errors.run_heartbeat_lost"


def test_a_bad_setting_fails_the_job_with_the_message(started) -> None:
    limiter = JobLimiter(1)
    job = TrainingJob(_config(model="nosuchnet"), data=_split(), limiter=limiter)
    started.append(job.start())
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state is JobState.FAILED and str(snap.message).startswith("Unknown model “nosuchnet”")
    assert snap.message.localized("ko").startswith("알 수 없는 모델 “nosuchnet”")
    assert limiter.running == 0 and job.trained is None


def test_two_jobs_at_once_do_not_share_state(started) -> None:
    configs = [_config(seed=0), _config(seed=1, learning_rate=3e-3)]
    expected = [[(e.train_loss, e.val_loss) for e in Trainer(c, data=_split()).fit().epochs] for c in configs]
    limiter = JobLimiter(2)
    both = [TrainingJob(c, data=_split(), limiter=limiter) for c in configs]
    for job in both:
        started.append(job.start())
    for job in both:
        assert job.join(timeout=60)
    got = [[(e.train_loss, e.val_loss) for e in job.snapshot().epoch_stats] for job in both]
    assert got == expected


def test_an_unexpected_error_fails_the_job_with_a_message_in_both_languages(started, monkeypatch) -> None:
    def broken(self) -> None:
        raise RuntimeError("out of memory\nmore lines")

    monkeypatch.setattr(Trainer, "prepare", broken)
    job = TrainingJob(_config(), data=_split(), limiter=JobLimiter(1))
    started.append(job.start())
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state is JobState.FAILED
    assert str(snap.message).startswith("Training failed unexpectedly (out of memory). Try other settings")
    assert "RuntimeError" not in str(snap.message)
    assert snap.message.localized("ko").startswith("학습이 예기치 않게 실패했습니다 (out of memory)")


def _noise(seed: int = 0) -> DataSplit:
    """Random images with random labels: the validation loss soon stops falling, so the best epoch is not the last."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (48,), generator=gen)
    x = torch.rand(48, 3, SIZE, SIZE, generator=gen)
    return DataSplit(x[:32], y[:32], x[32:], y[32:], ("a", "b"), 3, SIZE, "noise", (0.5,) * 3, (0.29,) * 3)


def _val_loss(file: bytes, data: DataSplit) -> float:
    """Load a downloaded .pt file and measure its validation loss ourselves."""
    trained = load_trained(file)
    mean, std = torch.tensor(trained.mean).view(1, 3, 1, 1), torch.tensor(trained.std).view(1, 3, 1, 1)
    with torch.no_grad():
        return F.cross_entropy(trained.model((data.val_x - mean) / std), data.val_y).item()


def test_the_best_epoch_file_holds_the_best_epochs_weights(started) -> None:
    data = _noise()
    job = TrainingJob(_config(epochs=6, learning_rate=1e-2), data=data, limiter=JobLimiter(1))
    started.append(job.start())
    assert job.join(timeout=60)
    epochs = job.snapshot().epoch_stats
    best = min(epochs, key=lambda e: e.val_loss)
    assert best.epoch < epochs[-1].epoch, "precondition: this run's best epoch is not its last"
    best_file, last_file = save_trained(job.best_trained), save_trained(job.trained)
    assert load_trained(best_file).epoch == best.epoch and not load_trained(best_file).last
    assert load_trained(last_file).epoch == epochs[-1].epoch and load_trained(last_file).last
    assert _val_loss(best_file, data) == pytest.approx(best.val_loss, rel=1e-5)
    assert _val_loss(last_file, data) == pytest.approx(epochs[-1].val_loss, rel=1e-5)
    assert _val_loss(best_file, data) < _val_loss(last_file, data)
