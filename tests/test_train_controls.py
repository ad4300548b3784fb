"""The controls a learner sets before a run: the devices offered, the precision's number types, the learning-rate
curve drawn before the run (against a real Trainer run and the closed forms), the split sizes and their checks."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
import torch

from cnnviz import device as device_module
from cnnviz.data import load_dataset
from cnnviz.device import allowed_cpus, available_devices, select_device
from cnnviz.errors import ConfigError
from cnnviz.train import (
    Precision,
    Schedule,
    TrainConfig,
    Trainer,
    check_split,
    fold_data,
    fold_indices,
    lr_curve,
    precision_plan,
    run_steps,
    split_sizes,
    steps_per_epoch,
)
from cnnviz.train.components import _precision

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = TrainConfig(model="lenet5", dataset="shapes", n_train=40, n_val=8, batch_size=8, epochs=3, sync_every=1)


# ------------------------------------------------------------------------------------------------ devices


@pytest.mark.parametrize(("cuda", "mps", "offered"), [
    (False, False, ("auto", "cpu")),
    (True, False, ("auto", "cuda", "cpu")),
    (False, True, ("auto", "mps", "cpu")),
    (True, True, ("auto", "cuda", "mps", "cpu")),
])  # fmt: skip
def test_only_devices_that_exist_are_offered_and_auto_prefers_cuda_then_mps(monkeypatch, cuda, mps, offered) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert available_devices() == offered
    assert all(select_device(name).type == name for name in offered if name != "auto")
    assert select_device("auto").type == ("cuda" if cuda else "mps" if mps else "cpu")
    for missing in {"cuda", "mps"} - set(offered):
        with pytest.raises(ConfigError, match=missing.upper()):
            select_device(missing)


def test_allowed_cpus_are_the_pinned_cores_capped_by_a_container_quota(monkeypatch, tmp_path) -> None:
    cores = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(device_module, "CGROUP_CPU_MAX", quota)
    assert allowed_cpus() == cores  # no quota file
    quota.write_text("max 100000\n")
    assert allowed_cpus() == cores
    quota.write_text("150000 100000\n")  # one and a half cores: two threads may run
    assert allowed_cpus() == min(cores, 2)
    quota.write_text("50000 100000\n")
    assert allowed_cpus() == 1


# ---------------------------------------------------------------------------------------------- precision


@pytest.mark.filterwarnings("ignore::UserWarning")  # CUDA's autocast and scaler warn that they are disabled here
@pytest.mark.parametrize("device", ["cpu", "cuda", "mps"])
@pytest.mark.parametrize("precision", list(Precision))
def test_the_precision_plan_is_what_the_trainer_builds(precision: Precision, device: str) -> None:
    """The plan the form states, against the autocast and scaler the Trainer really makes (never run on CUDA)."""
    plan = precision_plan(precision, device)
    make_context, scaler = _precision(precision, torch.device(device))
    context = make_context()
    if isinstance(context, torch.autocast):
        assert context.device == device and plan.autocast_dtype == context.fast_dtype
    else:
        assert plan.autocast_dtype is None
    assert plan.grad_scaler == isinstance(scaler, torch.amp.GradScaler)
    assert plan.grad_scaler == (precision is Precision.MIXED and device == "cuda")
    if precision is Precision.MIXED:
        assert plan.autocast_dtype == (torch.float16 if device == "cuda" else torch.bfloat16)


# ------------------------------------------------------------------------------------- learning-rate curve


@pytest.mark.parametrize("schedule", list(Schedule))
def test_the_curve_is_the_rate_a_real_run_records_at_every_step(schedule: Schedule) -> None:
    config = TrainConfig(**{**TINY.__dict__, "schedule": schedule, "step_every": 1, "step_gamma": 0.5})
    trainer = Trainer(config)
    history = trainer.fit()
    per_epoch, total = run_steps(config)
    assert (per_epoch, total) == (trainer.steps_per_epoch, trainer.total_steps) == (5, 15)
    curve = lr_curve(config, per_epoch)
    assert curve.shape == (total,)
    recorded = np.array([s.lr for s in history.steps])
    assert [s.step for s in history.steps] == list(range(1, total + 1))
    # StepStats.lr is read after the scheduler's step: at global step g it is the rate step g + 1 uses.
    np.testing.assert_allclose(recorded[:-1], curve[1:], rtol=1e-12, atol=0)
    epoch_ends = [e.lr for e in history.epochs[:-1]]
    np.testing.assert_allclose(epoch_ends, curve[per_epoch::per_epoch], rtol=1e-12, atol=0)


def test_cosine_and_step_curves_match_their_closed_forms() -> None:
    lr, per_epoch, epochs = 0.02, 7, 5
    total = per_epoch * epochs
    i = np.arange(total)
    cosine = lr_curve(TrainConfig(learning_rate=lr, epochs=epochs, schedule=Schedule.COSINE), per_epoch)
    np.testing.assert_allclose(cosine, lr / 2 * (1 + np.cos(np.pi * i / total)), rtol=1e-9, atol=1e-15)
    step = TrainConfig(learning_rate=lr, epochs=epochs, schedule=Schedule.STEP, step_every=2, step_gamma=0.3)
    np.testing.assert_allclose(lr_curve(step, per_epoch), lr * 0.3 ** (i // (2 * per_epoch)), rtol=1e-12, atol=0)
    constant = lr_curve(TrainConfig(learning_rate=lr, epochs=epochs), per_epoch)
    np.testing.assert_array_equal(constant, np.full(total, lr))


def test_one_cycle_warms_up_to_the_learning_rate_then_anneals() -> None:
    lr, per_epoch, epochs, warmup = 0.01, 10, 4, 0.25
    config = TrainConfig(learning_rate=lr, epochs=epochs, schedule=Schedule.ONE_CYCLE, warmup=warmup)
    curve = lr_curve(config, per_epoch)
    peak = int(np.argmax(curve))
    assert math.isclose(curve[0], lr / 25, rel_tol=1e-9)  # OneCycleLR's default div_factor
    # the peak falls between two steps: the highest sampled rate is within a fraction of a percent of it
    assert math.isclose(curve[peak], lr, rel_tol=2e-3) and abs(peak - warmup * per_epoch * epochs) <= 1
    assert np.all(np.diff(curve[: peak + 1]) > 0) and np.all(np.diff(curve[peak:]) < 0)
    assert curve[-1] < lr / 25


def test_the_curve_does_not_warn_about_the_order_of_optimizer_and_scheduler_steps() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lr_curve(TrainConfig(schedule=Schedule.COSINE, epochs=2), 3)


# ---------------------------------------------------------------------------------- split sizes and checks


@pytest.mark.parametrize(("n", "batch"), [(40, 8), (41, 8), (47, 8), (7, 8), (1, 8)])
def test_steps_per_epoch_are_the_full_batches_or_one(n: int, batch: int) -> None:
    batches = [len(b) for b in torch.arange(n).split(batch)]
    assert steps_per_epoch(n, batch) == max(sum(1 for size in batches if size == batch), 1)


@pytest.mark.parametrize(("fraction", "batch"), [(0.0, 8), (0.2, 8), (0.25, 5), (0.5, 16)])
def test_split_sizes_and_steps_are_the_trainers_on_a_data_set(fraction: float, batch: int) -> None:
    config = TrainConfig(**{**TINY.__dict__, "n_train": 41, "n_val": 9, "val_fraction": fraction, "batch_size": batch})
    trainer = Trainer(config)
    trainer.prepare()
    assert split_sizes(config) == (trainer._train_x.shape[0], trainer._val_x.shape[0])
    assert run_steps(config) == (trainer.steps_per_epoch, trainer.total_steps)


def test_split_sizes_of_a_given_split_and_of_k_folds() -> None:
    data = load_dataset("shapes", n_train=30, n_val=7, seed=0)
    given = (30, 7)
    config = TrainConfig(**{**TINY.__dict__, "val_fraction": 0.3})
    trainer = Trainer(config, data=data)
    trainer.prepare()
    assert split_sizes(config, given) == (trainer._train_x.shape[0], trainer._val_x.shape[0]) == (26, 11)
    assert split_sizes(TINY, given) == given
    for k in (3, 5, 10):
        folded = TrainConfig(**{**TINY.__dict__, "folds": k})
        first = fold_data(data, k, 0, seed=folded.seed)
        assert split_sizes(folded, given) == (first.train_x.shape[0], first.val_x.shape[0])
        assert max(len(f) for f in fold_indices(37, k)) == split_sizes(folded, given)[1]


def test_impossible_splits_say_what_to_change_in_both_languages() -> None:
    with pytest.raises(ConfigError, match="validation fraction") as info:
        TrainConfig(folds=5, val_fraction=0.2)
    assert "5" in str(info.value) and "검증 비율" in info.value.localized("ko")
    with pytest.raises(ConfigError, match="10 folds cannot be made from 6 images") as info:
        check_split(TrainConfig(folds=10), given=(4, 2))  # a zip of six photos
    assert "6" in info.value.localized("ko")
    check_split(TrainConfig(folds=5), given=(4, 2))
    with pytest.raises(ConfigError, match="leaves no image to train on"):
        split_sizes(TrainConfig(val_fraction=0.9), given=(1, 1))
    with pytest.raises(ConfigError, match="folds"):
        run_steps(TrainConfig(folds=10, n_train=4, n_val=2))
