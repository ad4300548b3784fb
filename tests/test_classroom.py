"""A classroom on one server: the queue, closed tabs, memory after many runs, isolated sessions, k-fold, NaN."""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import statistics
import threading
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
    fold_data,
    jobs,
    load_config_data,
    return_freed_memory,
)
from cnnviz.ui.training import make_record

SIZE = 16
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def started() -> Iterator[list[TrainingJob]]:
    """Jobs a test starts; every thread is stopped and joined afterwards."""
    made: list[TrainingJob] = []
    yield made
    for job in made:
        job.stop()
    for job in made:
        assert job.join(timeout=60), "a training thread did not stop"


def _split(seed: int = 0, n: int = 48) -> DataSplit:
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.rand(n, 3, SIZE, SIZE, generator=gen) * 0.5
    x[y == 1, 0] += 0.5
    k = n * 2 // 3
    return DataSplit(x[:k], y[:k], x[k:], y[k:], ("a", "b"), 3, SIZE, "toy", (0.4,) * 3, (0.25,) * 3)


def _config(**changes) -> TrainConfig:
    return dataclasses.replace(TrainConfig(epochs=2, batch_size=8, sync_every=1), **changes)


def _wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _history(epochs) -> list[tuple[float, float, float]]:
    return [(e.train_loss, e.val_loss, e.val_accuracy) for e in epochs]


def test_a_job_too_many_waits_in_the_queue_and_starts_by_itself(started) -> None:
    limiter = JobLimiter(1)
    first, second, third = (TrainingJob(_config(epochs=e), data=_split(), limiter=limiter, threads=1)
                            for e in (500, 2, 2))  # fmt: skip
    for job in (first, second, third):
        started.append(job.start())
    _wait_for(lambda: first.snapshot().state is JobState.RUNNING)
    snaps = second.snapshot(), third.snapshot()
    assert [s.state for s in snaps] == [JobState.QUEUED, JobState.QUEUED]
    assert [(s.queue_place, s.queue_length, s.capacity) for s in snaps] == [(1, 2, 1), (2, 2, 1)]
    assert not snaps[0].done and snaps[0].step == 0
    second.stop()  # Stop while queued leaves the queue
    assert second.join(timeout=10)
    assert second.snapshot().state is JobState.STOPPED and second.snapshot().message.key == "errors.run_left_queue"
    assert "대기열에서 나왔습니다" in second.snapshot().message.localized("ko")
    _wait_for(lambda: third.snapshot().queue_place == 1)
    assert limiter.running == 1 and limiter.waiting == 1
    first.stop()
    assert third.join(timeout=60), "the queued run should start and finish once the slot is free"
    assert third.snapshot().state is JobState.FINISHED and third.snapshot().epoch == 2
    assert limiter.running == 0 and limiter.waiting == 0


def test_the_queue_is_first_come_first_served_across_threads() -> None:
    limiter = JobLimiter(2)
    order: list[int] = []
    assert [limiter.enter(i) for i in range(5)] == [0, 0, 1, 2, 3]

    def wait(i: int) -> None:
        assert limiter.wait(i, 10)
        order.append(i)

    waiters = [threading.Thread(target=wait, args=(i,)) for i in (4, 3, 2)]
    for th in waiters:
        th.start()
    for done in (0, 1, 2):
        limiter.release(done)
        time.sleep(0.05)
    for th in waiters:
        th.join(10)
    assert order == [2, 3, 4] and limiter.running == 2


def test_a_job_sets_its_own_threads_without_changing_the_pages(started) -> None:
    page_threads = torch.get_num_threads()  # 1 here (the fixture)
    job = TrainingJob(_config(), data=_split(), limiter=JobLimiter(1), threads=2)
    started.append(job.start())
    assert job.join(timeout=60)
    assert job.snapshot().device.values == {"n": 2} and torch.get_num_threads() == page_threads


def test_a_closed_session_stops_its_run_within_seconds_and_a_blip_does_not(started, monkeypatch) -> None:
    monkeypatch.setattr(jobs, "ALIVE_CHECK_SECONDS", 0.05)
    monkeypatch.setattr(jobs, "GONE_SECONDS", 0.5)
    probes = {"closed": True, "blip": True}
    limiter = JobLimiter(2)
    closed, blip = (TrainingJob(_config(epochs=500, seed=i), data=_split(), is_alive=lambda k=k: probes[k],
                                limiter=limiter) for i, k in enumerate(probes))  # fmt: skip
    for job in (closed, blip):
        started.append(job.start())
    _wait_for(lambda: closed.snapshot().step > 3 and blip.snapshot().step > 3)
    probes["blip"] = False  # a reconnect shorter than GONE_SECONDS
    time.sleep(0.2)
    probes["blip"] = True
    probes["closed"] = False
    gone = time.monotonic()
    assert closed.join(timeout=10)
    assert time.monotonic() - gone < 0.5 + 1.5  # GONE_SECONDS and one step of slack
    assert closed.snapshot().state is JobState.STOPPED and closed.snapshot().message.key == "errors.run_heartbeat_lost"
    assert blip.snapshot().state is JobState.RUNNING  # the other session trains on
    assert not hasattr(closed.trainer.data, "train_x")  # nobody will record it: its images are freed at once
    assert not any(t.name == f"cnnviz-train-{id(closed):x}" for t in threading.enumerate())


def test_a_queued_job_whose_session_closed_leaves_the_queue(started, monkeypatch) -> None:
    monkeypatch.setattr(jobs, "ALIVE_CHECK_SECONDS", 0.05)
    monkeypatch.setattr(jobs, "GONE_SECONDS", 0.3)
    limiter = JobLimiter(1)
    started.append(TrainingJob(_config(epochs=500), data=_split(), limiter=limiter, threads=1).start())
    queued = TrainingJob(_config(), data=_split(), is_alive=lambda: False, limiter=limiter, threads=1)
    started.append(queued.start())
    assert queued.join(timeout=10) and queued.snapshot().state is JobState.STOPPED
    assert limiter.waiting == 0


def test_two_sessions_at_once_train_as_each_alone(started) -> None:
    configs = [_config(seed=3, epochs=3), _config(seed=4, epochs=3, learning_rate=3e-3)]
    alone = [_history(Trainer(c, data=_split()).fit().epochs) for c in configs]
    limiter = JobLimiter(2)
    both = [TrainingJob(c, data=_split(), is_alive=lambda: True, limiter=limiter) for c in configs]
    for job in both:
        started.append(job.start())
    for job in both:
        assert job.join(timeout=60)
    assert [_history(job.snapshot().epoch_stats) for job in both] == alone


def test_k_fold_trains_every_fold_and_reports_their_mean_and_spread(started) -> None:
    data, config = _split(n=30), _config(folds=3, epochs=2)
    job = TrainingJob(config, data=data, limiter=JobLimiter(1), threads=1)
    seen: set[tuple[int, int]] = set()
    started.append(job.start())
    while not job.snapshot().done:
        snap = job.snapshot()
        seen.add((snap.fold, snap.folds))
        time.sleep(0.005)
    snap = job.snapshot()
    assert snap.state is JobState.FINISHED and (snap.fold, snap.folds) == (3, 3) and (2, 3) in seen
    fold_config = dataclasses.replace(config, folds=0)
    trainers = [Trainer(fold_config, data=fold_data(data, 3, i, seed=config.seed)) for i in range(3)]
    separate = [trainer.fit().epochs for trainer in trainers]
    assert [_history(f.epochs) for f in snap.fold_results] == [_history(e) for e in separate]
    best = [max(e.val_accuracy for e in epochs) for epochs in separate]
    record = make_record(job, "k-fold")
    cv = record.cross_validation
    assert [f.best_val_accuracy for f in cv.folds] == best
    assert cv.mean == pytest.approx(statistics.mean(best), abs=1e-12)
    assert cv.std == pytest.approx(statistics.pstdev(best), abs=1e-12)
    assert snap.total_steps == snap.step == sum(trainer.total_steps for trainer in trainers)


def test_k_fold_on_a_registry_data_set_loads_its_images_once(started, monkeypatch) -> None:
    loads: list[tuple[int, int]] = []

    def loader(config: TrainConfig) -> DataSplit:  # the job's loader, counted
        loads.append((config.n_train, config.n_val))
        return load_config_data(config)

    config = TrainConfig(dataset="shapes", model="tinyvgg", n_train=24, n_val=6, epochs=1, batch_size=8, folds=2)
    job = TrainingJob(config, limiter=JobLimiter(1), threads=1, loader=loader)
    started.append(job.start())
    assert job.join(timeout=60) and job.snapshot().state is JobState.FINISHED, job.snapshot().message
    assert loads == [(24, 6)] and [len(f.epochs) for f in job.snapshot().fold_results] == [1, 1]


def test_a_nan_loss_stops_the_job_with_a_message_and_keeps_the_last_good_weights(started) -> None:
    data = _split()
    config = _config(epochs=30, learning_rate=1e6, optimizer="sgd")
    job = TrainingJob(config, data=data, limiter=JobLimiter(1), threads=1)
    started.append(job.start())
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state is JobState.FINISHED and snap.status is RunStatus.DIVERGED
    assert snap.message.key == "errors.run_diverged" and "학습률" in snap.message.localized("ko")
    trained = job.trained
    assert all(torch.isfinite(p).all() for p in trained.model.state_dict().values())
    mean, std = torch.tensor(trained.mean).view(1, 3, 1, 1), torch.tensor(trained.std).view(1, 3, 1, 1)
    with torch.no_grad():
        loss = F.cross_entropy(trained.model((data.val_x - mean) / std), data.val_y).item()
    if snap.epoch_stats:  # the weights of the last epoch with finite losses: its recorded validation loss
        assert loss == pytest.approx(snap.epoch_stats[-1].val_loss, rel=1e-5)
    assert math.isfinite(loss)


def _rss_mb() -> float:
    """Resident memory of this process in MB, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_memory_returns_after_ten_real_runs() -> None:
    config = TrainConfig(dataset="shapes", model="tinyvgg", batch_norm=True, n_train=128, n_val=32, epochs=1)
    records = []
    for thread in threading.enumerate():  # a page test in this process may have started the servers' warm-ups
        if thread.name.startswith("cnnviz-") and thread.name.endswith("warmup"):
            thread.join(timeout=120)

    def one_run(seed: int) -> None:
        job = TrainingJob(dataclasses.replace(config, seed=seed), limiter=JobLimiter(1), threads=1).start()
        assert job.join(timeout=120) and job.snapshot().state is JobState.FINISHED
        records.append(make_record(job, f"#{seed}"))  # as the page records it (the page keeps 5)
        del records[:-5]
        assert job.trainer is None and job.checkpoint.best_state is None and job.best_trained is None

    one_run(0)  # the first run pays for imports and the allocator's first growth
    gc.collect()
    return_freed_memory()
    before = _rss_mb()
    for seed in range(1, 11):
        one_run(seed)
    gc.collect()
    return_freed_memory()
    after = _rss_mb()
    # a run holds ~15 MB of images (128 + 32 of 64×64×3 floats, raw and normalised): 10 kept would be ~150 MB
    print(f"RSS before the 10 runs {before:.0f} MB, after {after:.0f} MB")
    assert after - before < 100, f"RSS grew from {before:.0f} MB to {after:.0f} MB over 10 runs"
