"""Trainer: tiny seeded runs on a toy data set (loss falls, reproducible, callbacks, divergence, checkpoints)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from cnnviz import nets as models
from cnnviz.data import DataSplit
from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.train import (
    Augmentation,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    OptimizerName,
    RunStatus,
    Schedule,
    TrainConfig,
    Trainer,
    augment_batch,
    components,
    config_from_dict,
    config_to_dict,
    load_trained,
    save_trained,
)

SIZE = 16


def _toy_split(n_train: int = 96, n_val: int = 32, seed: int = 0) -> DataSplit:
    """Three classes told apart by which colour channel is bright; (N, 3, 16, 16) in [0, 1]."""
    gen = torch.Generator().manual_seed(seed)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % 3
        x = torch.rand(n, 3, SIZE, SIZE, generator=gen) * 0.4
        x[torch.arange(n), y] += 0.5
        return x, y

    (tx, ty), (vx, vy) = make(n_train), make(n_val)
    return DataSplit(tx, ty, vx, vy, ("red", "green", "blue"), 3, SIZE, "toy", (0.45,) * 3, (0.2,) * 3)


def _config(**changes) -> TrainConfig:
    base = TrainConfig(model="tinyvgg", epochs=3, batch_size=16, learning_rate=3e-3, sync_every=2)
    return dataclasses.replace(base, **changes)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def split() -> DataSplit:
    return _toy_split()


def test_loss_falls_and_history_is_complete(split: DataSplit) -> None:
    history = Trainer(_config(epochs=4), data=split).fit()
    losses = [e.train_loss for e in history.epochs]
    assert history.status is RunStatus.FINISHED
    assert len(history.epochs) == 4
    assert losses[-1] < 0.7 * losses[0], losses
    assert history.epochs[-1].val_accuracy > 0.6
    steps_per_epoch = 96 // 16
    assert history.steps[-1].step == 4 * steps_per_epoch
    assert all(s.samples_per_s > 0 and s.grad_norm >= 0 and s.lr == pytest.approx(3e-3) for s in history.steps)
    # one snapshot before training and one per epoch: first conv (10, 3, 3, 3) and its maps (10, 14, 14)
    assert [s.epoch for s in history.snapshots] == [0, 1, 2, 3, 4]
    assert history.snapshots[0].filters.shape == (10, 3, 3, 3)
    assert history.snapshots[0].probe_maps.shape == (10, SIZE - 2, SIZE - 2)
    assert not history.snapshots[0].filters.flags.writeable


def test_confusion_matrix_and_misclassified_agree_with_predictions(split: DataSplit) -> None:
    trainer = Trainer(_config(epochs=1, learning_rate=1e-4), data=split)
    history = trainer.fit()
    model = trainer.model.eval()
    mean, std = torch.tensor(trainer.mean).view(1, 3, 1, 1), torch.tensor(trainer.std).view(1, 3, 1, 1)
    with torch.no_grad():
        pred = model((split.val_x - mean) / std).argmax(1)
    expected = torch.zeros(3, 3, dtype=torch.int64)
    for t, p in zip(split.val_y.tolist(), pred.tolist(), strict=True):
        expected[t, p] += 1
    assert history.confusion.tolist() == expected.tolist()
    wrong = set((pred != split.val_y).nonzero().flatten().tolist())
    assert set(history.misclassified) == wrong
    assert all(pred[i].item() == p for i, p in zip(history.misclassified, history.misclassified_pred, strict=True))


def test_same_seed_gives_the_same_history_and_another_seed_does_not(split: DataSplit) -> None:
    config = _config(epochs=2, dropout=0.3, augmentation=Augmentation(flip=True, crop=True, rotation=10))
    runs = [Trainer(config, data=split).fit() for _ in range(2)]
    other = Trainer(dataclasses.replace(config, seed=1), data=split).fit()

    def curve(h):
        return [(e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy) for e in h.epochs]

    assert curve(runs[0]) == curve(runs[1])
    assert [s.loss for s in runs[0].steps] == [s.loss for s in runs[1].steps]
    assert curve(runs[0]) != curve(other)


def test_early_stopping_stops_when_validation_loss_stalls(split: DataSplit) -> None:
    # a learning rate of 1e-12 leaves the validation loss unchanged, so patience 1 stops after epoch 2
    config = _config(epochs=6, optimizer="sgd", learning_rate=1e-12, patience=1)
    history = Trainer(config, data=split).fit()
    assert history.status is RunStatus.EARLY_STOPPED
    assert len(history.epochs) == 2
    assert "Early stopping" in history.message

    stopper = EarlyStopping(2, monitor="val_accuracy", min_delta=10.0)  # can never improve by 10
    history = Trainer(_config(epochs=6), data=split).fit(callbacks=[stopper])
    assert len(history.epochs) == 3 and history.status is RunStatus.EARLY_STOPPED


def test_model_checkpoint_keeps_the_best_epoch(split: DataSplit) -> None:
    checkpoint = ModelCheckpoint(monitor="val_loss")
    trainer = Trainer(_config(epochs=4, learning_rate=1e-2), data=split)
    history = trainer.fit(callbacks=[checkpoint])
    best = min(history.epochs, key=lambda e: e.val_loss)
    assert checkpoint.best_epoch == best.epoch
    # reload the kept state dict and measure the validation loss independently
    model = models.build("tinyvgg", num_classes=3, in_channels=3, image_size=SIZE)
    model.load_state_dict(checkpoint.best_state)
    mean, std = torch.tensor(trainer.mean).view(1, 3, 1, 1), torch.tensor(trainer.std).view(1, 3, 1, 1)
    with torch.no_grad():
        loss = nn.functional.cross_entropy(model.eval()((split.val_x - mean) / std), split.val_y).item()
    assert loss == pytest.approx(best.val_loss, rel=1e-4)


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_weights(split: DataSplit) -> None:
    kept: dict[str, torch.Tensor] = {}

    def blow_up_after_epoch_1(trainer: Trainer, stats) -> None:
        kept.update({k: v.clone() for k, v in trainer.model.state_dict().items()})
        for group in trainer._optimizer.param_groups:
            group["lr"] = 1e12

    config = _config(epochs=4, optimizer="sgd", learning_rate=1e-3)
    trainer = Trainer(config, data=split)
    history = trainer.fit(callbacks=[LambdaCallback(on_epoch_end=blow_up_after_epoch_1)])
    assert history.status is RunStatus.DIVERGED
    assert len(history.epochs) == 1 and history.last_good_epoch == 1
    assert "diverged" in history.message and "learning rate" in history.message
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, kept[key], rtol=0, atol=0)
    assert history.confusion is not None  # the kept model is still evaluated


def test_an_exploding_but_finite_loss_also_counts_as_diverged(split: DataSplit) -> None:
    history = Trainer(_config(optimizer="sgd", learning_rate=10.0), data=split).fit()
    assert history.status is RunStatus.DIVERGED
    assert "exploded to" in history.message


def test_huge_learning_rate_diverges_in_the_first_epoch(split: DataSplit) -> None:
    history = Trainer(_config(optimizer="sgd", learning_rate=1e6), data=split).fit()
    assert history.status is RunStatus.DIVERGED
    assert "initial weights were kept" in history.message
    assert "e.g. 100000" in history.message  # suggests a 10× smaller learning rate


@pytest.mark.parametrize("optimizer", list(OptimizerName))
def test_every_optimizer_constructs_and_steps(split: DataSplit, optimizer: OptimizerName) -> None:
    trainer = Trainer(_config(epochs=1, optimizer=optimizer.value, weight_decay=1e-4), data=_toy_split(32, 8))
    trainer.prepare()
    before = [p.detach().clone() for p in trainer.model.parameters()]
    history = trainer.fit()
    assert history.status is RunStatus.FINISHED
    assert any(not torch.equal(b, p) for b, p in zip(before, trainer.model.parameters(), strict=True))


@pytest.mark.parametrize("schedule", [Schedule.COSINE, Schedule.ONE_CYCLE])
def test_schedules_change_the_learning_rate(schedule: Schedule) -> None:
    history = Trainer(_config(epochs=2, schedule=schedule), data=_toy_split(64, 8)).fit()
    lrs = [s.lr for s in history.steps]
    assert len(set(lrs)) > 2 and max(lrs) <= 3e-3 * (1 + 1e-6)


def test_mixed_precision_runs_on_cpu_in_bfloat16(split: DataSplit) -> None:
    history = Trainer(_config(epochs=2, precision="mixed"), data=split).fit()
    assert history.status is RunStatus.FINISHED
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss


def test_augmentation_keeps_shape_range_and_input() -> None:
    x = torch.rand(8, 3, SIZE, SIZE)
    original = x.clone()
    aug = Augmentation(flip=True, crop=True, rotation=30, color_jitter=0.5)
    out = augment_batch(x, aug, torch.Generator().manual_seed(0))
    again = augment_batch(x, aug, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert 0.0 <= out.min() and out.max() <= 1.0
    torch.testing.assert_close(x, original, rtol=0, atol=0)  # no side effect
    torch.testing.assert_close(out, again, rtol=0, atol=0)  # seeded
    flipped = augment_batch(x, Augmentation(flip=True), torch.Generator().manual_seed(3))
    for i in range(8):  # every image is either itself or its mirror image
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(-1))
    gray = augment_batch(x[:, :1], Augmentation(color_jitter=0.3, crop=True), torch.Generator().manual_seed(0))
    assert gray.shape == (8, 1, SIZE, SIZE)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": -1.0}, "learning rate"),
        ({"optimizer": "lion"}, "optimizer"),
        ({"dropout": 1.0}, "dropout"),
        ({"optimizer": "nesterov", "momentum": 0.0}, "Nesterov"),
        ({"augmentation": Augmentation(rotation=400)}, "rotation"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_settings_raise_config_error_saying_what_to_change(changes: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _config(**changes)


def test_a_model_that_does_not_fit_the_data_says_so() -> None:
    tiny = _toy_split(8, 4)
    small = DataSplit(
        tiny.train_x[:, :, :6, :6], tiny.train_y, tiny.val_x[:, :, :6, :6], tiny.val_y, tiny.class_names, 3, 6, "t"
    )
    with pytest.raises(ConfigError, match="image_size|does not fit"):
        Trainer(_config(), data=small).fit()
    with pytest.raises(ConfigError, match="Unknown model"):
        Trainer(_config(model="alexnet"), data=tiny).fit()


def test_transfer_learning_freezes_convolutions_and_trains_a_new_head(monkeypatch, split: DataSplit) -> None:
    real_build = models.build
    pretrained = real_build("tinyvgg", image_size=SIZE)  # stands in for the bundled weights (8 classes)
    fake_build = lambda name, **kw: pretrained if kw.get("weights") else real_build(name, **kw)  # noqa: E731
    monkeypatch.setattr(components, "build", fake_build)
    spec = models.get_spec("tinyvgg")
    monkeypatch.setattr(components, "get_spec", lambda name: dataclasses.replace(spec, image_size=SIZE))
    conv_before = pretrained.block1.conv1.weight.detach().clone()
    trainer = Trainer(_config(epochs=2, transfer=True), data=split)
    history = trainer.fit()
    assert trainer.model.classifier.out_features == 3
    assert not trainer.model.block1.conv1.weight.requires_grad
    torch.testing.assert_close(trainer.model.block1.conv1.weight.detach(), conv_before, rtol=0, atol=0)
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss
    assert trainer.mean == spec.mean  # the bundled model's normalisation is kept


def test_transfer_learning_refuses_data_of_another_size(split: DataSplit) -> None:
    with pytest.raises(ConfigError, match="64×64"):
        Trainer(_config(transfer=True), data=split).fit()


def test_save_and_load_round_trip_and_bad_files(split: DataSplit) -> None:
    trainer = Trainer(_config(epochs=1, batch_norm=True), data=split)
    trainer.fit()
    trained = trainer.trained()
    loaded = load_trained(save_trained(trained))
    assert loaded.config == trained.config and loaded.class_names == ("red", "green", "blue")
    x = torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), trained.model(x), rtol=0, atol=0)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_trained(b"not a checkpoint")
    buffer = __import__("io").BytesIO()
    torch.save({"weights": torch.zeros(2)}, buffer)
    with pytest.raises(CheckpointError, match="not saved by the Live training page"):
        load_trained(buffer.getvalue())


def test_config_dict_round_trip() -> None:
    config = _config(optimizer="adamw", augmentation=Augmentation(flip=True, rotation=5.0), schedule="cosine")
    assert config_from_dict(config_to_dict(config)) == config
    with pytest.raises(ConfigError, match="Unknown training settings"):
        config_from_dict({**config_to_dict(config), "warp_speed": 9})
