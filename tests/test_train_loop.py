"""The Trainer's loop: what each recorded window holds, and how a NaN loss ends a run (cnnviz.train.trainer)."""

from __future__ import annotations

import math
import sys
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.data import DataSplit
from cnnviz.train import LambdaCallback, RunStatus, TrainConfig, Trainer, start_warmup, warmup_done
from cnnviz.train.warmup import _warm_up

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_TRAIN, N_VAL, SIDE, CLASSES = 50, 12, 4, 3


def _indexed_split() -> DataSplit:
    """Random (N, 3, 4, 4) images whose pixel (0, 0, 0) holds index / 100, so a model can tell which image it saw."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(N_TRAIN + N_VAL, 3, SIDE, SIDE, generator=gen)
    x[:, 0, 0, 0] = torch.arange(N_TRAIN + N_VAL) / 100
    y = torch.randint(0, CLASSES, (N_TRAIN + N_VAL,), generator=gen)
    # mean 0 and std 1: the Trainer's normalisation leaves the images exactly as they are
    return DataSplit(x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:], ("a", "b", "c"), 3, SIDE, "indexed",
                     (0.0,) * 3, (1.0,) * 3)  # fmt: skip


class Recorder(nn.Module):
    """A linear classifier that keeps, in training mode, the indices of the images of every batch it sees.

    From its ``nan_at``-th training batch on, it returns NaN logits.
    """

    def __init__(self, nan_at: int | None = None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(3 * SIDE * SIDE, CLASSES)
        self.batches: list[list[int]] = []
        self.nan_at = nan_at

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 4, 4) → (B, 3)
        out = self.fc(x.flatten(1))
        if self.training:
            self.batches.append((x[:, 0, 0, 0] * 100).round().long().tolist())
            if self.nan_at is not None and len(self.batches) >= self.nan_at:
                out = out * math.nan
        return out


def _config(**changes) -> TrainConfig:
    base = dict(epochs=3, batch_size=8, optimizer="sgd", learning_rate=1e-3, sync_every=4, n_train=N_TRAIN)
    return TrainConfig(**(base | changes))


def test_windows_hold_equal_steps_across_epochs_and_their_true_mean_loss() -> None:
    data, model = _indexed_split(), Recorder()
    with torch.no_grad():  # per-image losses of the initial weights: with lr 1e-12 they stay (almost) the same
        per_image = F.cross_entropy(model.fc(data.train_x.flatten(1)), data.train_y, reduction="none")
    handed: list = []
    config = _config(learning_rate=1e-12)
    history = Trainer(config, data=data, model=model).fit(
        callbacks=[LambdaCallback(on_step_end=lambda _t, s: s is not None and handed.append(s))]
    )
    steps_per_epoch = N_TRAIN // 8  # 6 full batches; the 2 images left over wait for another shuffle
    assert len(model.batches) == 3 * steps_per_epoch and all(len(b) == 8 for b in model.batches)
    for e in range(3):  # each epoch: distinct images
        epoch_images = sum(model.batches[e * steps_per_epoch : (e + 1) * steps_per_epoch], [])
        assert len(set(epoch_images)) == 48
    ends = [s.step for s in history.steps]
    assert ends == [1, 5, 9, 13, 17, 18]  # the first step alone, then 4 steps each (across epochs), the rest last
    assert [s.epoch for s in history.steps] == [1, 1, 2, 3, 3, 3]
    assert handed == history.steps  # the callbacks (the job, the page) get every window
    for start, stats in zip([0, *ends], history.steps, strict=False):
        images = sum(model.batches[start : stats.step], [])
        expected = per_image[images].mean().item()
        assert stats.loss == pytest.approx(expected, rel=1e-5), stats
        assert stats.samples_per_s > 0
    for e, stats in enumerate(history.epochs):
        images = sum(model.batches[e * steps_per_epoch : (e + 1) * steps_per_epoch], [])
        assert stats.train_loss == pytest.approx(per_image[images].mean().item(), rel=1e-5)


@pytest.mark.parametrize(("nan_at", "sync_every", "kept_epoch"), [(8, 1, 1), (2, 1, 0), (7, 4, 1)])
def test_a_nan_loss_is_recorded_then_stops_the_run_with_the_last_good_weights(
    nan_at: int, sync_every: int, kept_epoch: int
) -> None:
    model = Recorder(nan_at=nan_at)
    states = {0: {k: v.clone() for k, v in model.state_dict().items()}}

    def keep(trainer: Trainer, stats) -> None:
        states[stats.epoch] = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    trainer = Trainer(_config(sync_every=sync_every), data=_indexed_split(), model=model)
    history = trainer.fit(callbacks=[keep])
    assert history.status is RunStatus.DIVERGED and history.last_good_epoch == kept_epoch
    assert "NaN or infinite" in str(history.message)
    last = history.steps[-1]
    # the window holding the NaN step is recorded: the step itself with sync_every 1, else its window's end (9)
    assert last.step == (nan_at if sync_every == 1 else 9)
    limit = 100 * math.log(CLASSES)
    assert math.isfinite(last.loss) and last.loss == pytest.approx(10 * limit)  # a marker a log axis can draw
    assert all(s.loss < limit for s in history.steps[:-1])
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, states[kept_epoch][key], rtol=0, atol=0)


def test_the_warm_up_runs_once_in_the_background_and_leaves_the_global_generator_alone() -> None:
    thread = start_warmup()
    assert start_warmup() is thread and thread.daemon  # one thread per process, whoever calls
    assert warmup_done(timeout=120)
    assert "torch._dynamo" in sys.modules  # what the first optimizer of a run would import
    start = time.perf_counter()
    torch.optim.AdamW([nn.Parameter(torch.zeros(3))], lr=1e-3)
    assert time.perf_counter() - start < 0.5
    before = torch.get_rng_state()
    _warm_up()  # builds a model: a run seeding the global generator at the same time must not see draws
    torch.testing.assert_close(torch.get_rng_state(), before, rtol=0, atol=0)
