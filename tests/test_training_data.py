"""The page's data sets for training: the last procedural split kept for the next run, the default drawn at start."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from cnnviz.train import PRESETS, JobLimiter, TrainConfig, Trainer, TrainingJob, load_config_data
from cnnviz.ui import training_data

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = dataclasses.replace(PRESETS["baseline"], n_train=64, n_val=16, epochs=1, batch_size=16)


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> dict:
    """An empty store for this test (the module's own may hold the default preset's split)."""
    store: dict = {}
    monkeypatch.setattr(training_data, "_KEPT", store)
    return store


def test_the_last_split_is_kept_and_equals_a_fresh_load(kept: dict) -> None:
    first = training_data.config_data(SMALL)
    assert training_data.config_data(dataclasses.replace(SMALL, learning_rate=0.5, epochs=3)) is first  # same images
    fresh = load_config_data(SMALL)
    for name in ("train_x", "train_y", "val_x", "val_y"):
        torch.testing.assert_close(getattr(first, name), getattr(fresh, name), rtol=0, atol=0)
    other = training_data.config_data(dataclasses.replace(SMALL, seed=1))  # other images: they replace the kept ones
    assert other is not first and len(kept) == 1
    fraction = training_data.config_data(dataclasses.replace(SMALL, val_fraction=0.25))  # 80 images, a quarter val
    assert (len(fraction.train_y), len(fraction.val_y)) == (60, 20)


def test_a_run_on_the_kept_split_trains_as_one_that_loads_its_own(kept: dict) -> None:
    job = TrainingJob(SMALL, limiter=JobLimiter(1), threads=1, loader=training_data.config_data).start()
    assert job.join(timeout=120)
    alone = Trainer(SMALL).fit()
    assert [(e.train_loss, e.val_loss) for e in job.snapshot().epoch_stats] == [
        (e.train_loss, e.val_loss) for e in alone.epochs
    ]
    assert training_data.config_data(SMALL).train_x.min() >= 0  # the kept images were not normalised in place


def test_downloaded_sets_are_not_kept(kept: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[TrainConfig] = []
    monkeypatch.setattr(training_data, "load_config_data", lambda config: calls.append(config) or object())
    config = dataclasses.replace(SMALL, dataset="mnist", batch_norm=False)
    training_data.config_data(config)
    training_data.config_data(config)
    assert calls == [config, config] and kept == {}


def test_the_warm_up_draws_the_default_presets_split_once(kept: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_data, "_WARMUP", [])
    monkeypatch.setitem(PRESETS, training_data.DEFAULT_DATA_PRESET, SMALL)  # a small default: quick to draw
    thread = training_data.start_data_warmup()
    assert training_data.start_data_warmup() is thread  # once per process
    thread.join(timeout=60)
    assert list(kept) == [training_data._key(SMALL)]
    assert training_data.config_data(SMALL) is kept[training_data._key(SMALL)]
