"""Trainer: tiny seeded runs on a toy data set (loss falls, reproducible, callbacks, divergence, checkpoints)."""

from __future__ import annotations

import dataclasses
import io

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torch import nn
from torchvision.transforms import InterpolationMode

from cnnviz import nets as models
from cnnviz.data import DataSplit
from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.explain import capture_activations
from cnnviz.i18n import translate
from cnnviz.train import (
    PRESETS,
    Augmentation,
    AugmentParams,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    OptimizerName,
    RunStatus,
    Schedule,
    TrainConfig,
    Trainer,
    apply_params,
    augment_batch,
    components,
    config_from_dict,
    config_from_flat,
    config_to_dict,
    draw_params,
    flatten_config,
    get_preset,
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
    assert history.message.key == "errors.run_early_stopped"
    assert str(history.message) == "Early stopping after epoch 2: the validation loss did not improve for 1 epoch."
    korean = history.message.localized("ko")
    assert "조기 종료" in korean and "검증 손실" in korean and "Early" not in korean

    stopper = EarlyStopping(2, monitor="val_accuracy", min_delta=10.0)  # can never improve by 10
    history = Trainer(_config(epochs=6), data=split).fit(callbacks=[stopper])
    assert len(history.epochs) == 3 and history.status is RunStatus.EARLY_STOPPED
    assert "validation accuracy did not improve for 2 epochs" in str(history.message)
    with pytest.raises(ConfigError, match="Unknown metric to watch “train_loss”"):
        EarlyStopping(1, monitor="train_loss")


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
    assert "diverged in epoch 2" in str(history.message) and "weights of epoch 1 were kept" in str(history.message)
    assert "발산" in history.message.localized("ko") and "에폭 1의 가중치" in history.message.localized("ko")
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, kept[key], rtol=0, atol=0)
    assert history.confusion is not None  # the kept model is still evaluated


def test_an_exploding_but_finite_loss_also_counts_as_diverged(split: DataSplit) -> None:
    history = Trainer(_config(optimizer="sgd", learning_rate=10.0), data=split).fit()
    assert history.status is RunStatus.DIVERGED
    assert "exploded to" in str(history.message)


def test_huge_learning_rate_diverges_in_the_first_epoch(split: DataSplit) -> None:
    history = Trainer(_config(optimizer="sgd", learning_rate=1e6), data=split).fit()
    assert history.status is RunStatus.DIVERGED
    assert "initial weights were kept" in str(history.message)
    assert "e.g. 100000" in str(history.message)  # suggests a 10× smaller learning rate
    assert "예: 100000" in history.message.localized("ko")


# What each name must build, written from torch.optim's documentation (not from our code): the class and
# the settings of its parameter group, for a config with momentum 0.8, betas (0.85, 0.99), alpha 0.95, eps 1e-7.
EXPECTED_OPTIMIZERS = {
    OptimizerName.SGD: (torch.optim.SGD, {"momentum": 0, "nesterov": False, "dampening": 0}),
    OptimizerName.MOMENTUM: (torch.optim.SGD, {"momentum": 0.8, "nesterov": False, "dampening": 0}),
    OptimizerName.NESTEROV: (torch.optim.SGD, {"momentum": 0.8, "nesterov": True, "dampening": 0}),
    OptimizerName.ADAGRAD: (torch.optim.Adagrad, {"eps": 1e-7, "lr_decay": 0}),
    OptimizerName.RMSPROP: (torch.optim.RMSprop, {"alpha": 0.95, "eps": 1e-7, "momentum": 0, "centered": False}),
    OptimizerName.ADAM: (torch.optim.Adam, {"betas": (0.85, 0.99), "eps": 1e-7, "decoupled_weight_decay": False}),
    OptimizerName.ADAMW: (torch.optim.AdamW, {"betas": (0.85, 0.99), "eps": 1e-7, "decoupled_weight_decay": True}),
}


@pytest.mark.parametrize("optimizer", list(OptimizerName))
def test_every_optimizer_name_builds_its_own_torch_optimizer_and_steps(optimizer: OptimizerName) -> None:
    assert set(EXPECTED_OPTIMIZERS) == set(OptimizerName)
    config = _config(epochs=1, optimizer=optimizer.value, weight_decay=1e-4, momentum=0.8, betas=(0.85, 0.99),
                     rms_alpha=0.95, eps=1e-7)  # fmt: skip
    trainer = Trainer(config, data=_toy_split(32, 8))
    trainer.prepare()
    cls, settings = EXPECTED_OPTIMIZERS[optimizer]
    assert type(trainer._optimizer) is cls  # exactly: AdamW is a subclass of Adam
    group = trainer._optimizer.param_groups[0]
    assert group["lr"] == 3e-3 and group["weight_decay"] == 1e-4
    assert {key: group[key] for key in settings} == settings
    assert sum(p.numel() for p in group["params"]) == sum(p.numel() for p in trainer.model.parameters())
    before = [p.detach().clone() for p in trainer.model.parameters()]
    history = trainer.fit()
    assert history.status is RunStatus.FINISHED
    assert any(not torch.equal(b, p) for b, p in zip(before, trainer.model.parameters(), strict=True))


@pytest.mark.parametrize("schedule", [Schedule.COSINE, Schedule.ONE_CYCLE])
def test_schedules_change_the_learning_rate(schedule: Schedule) -> None:
    history = Trainer(_config(epochs=2, schedule=schedule), data=_toy_split(64, 8)).fit()
    lrs = [s.lr for s in history.steps]
    assert len(set(lrs)) > 2 and max(lrs) <= 3e-3 * (1 + 1e-6)


@pytest.mark.parametrize(("precision", "dtype"), [("fp32", torch.float32), ("mixed", torch.bfloat16)])
def test_mixed_precision_really_computes_in_bfloat16_on_the_cpu(split: DataSplit, precision: str, dtype) -> None:
    """The dtype of a layer's output during every training step: bfloat16 under mixed precision, else float32."""
    trainer = Trainer(_config(epochs=2, precision=precision), data=split)
    trainer.prepare()
    seen: list[torch.dtype] = []
    with capture_activations(trainer.model, ["block1.conv1", "classifier"]) as acts:
        step = LambdaCallback(on_step_end=lambda _t, _s: seen.extend(acts[name].dtype for name in acts))
        history = trainer.fit(callbacks=[step])
    assert len(seen) == 2 * trainer.global_step and set(seen) == {dtype}
    assert history.status is RunStatus.FINISHED
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"batch_size": 0}, "Batch size: 0 is not allowed; use a whole number from 1 to 4096"),
        ({"n_train": 2.5}, "Training images: 2.5 is not allowed"),
        ({"learning_rate": -1.0}, "learning rate -1.0 must be a positive number"),
        ({"optimizer": "lion"}, "Unknown Optimizer “lion”: use one of sgd, momentum"),
        ({"dropout": 1.0}, r"Dropout: 1.0 is outside \[0.0, 1.0\)"),
        ({"optimizer": "nesterov", "momentum": 0.0}, "Nesterov momentum needs momentum above 0"),
        ({"augmentation": Augmentation(rotation=400)}, r"Rotation: 400 is outside \[0.0, 180.0\]"),
        ({"warmup": 0.0}, "warm-up fraction 0.0 must lie between 0 and 1"),
        ({"betas": (0.9,)}, "two numbers"),
        ({"transfer": True, "batch_norm": True}, "turn batch norm off"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_settings_raise_config_error_saying_what_to_change(changes: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        _config(**changes)
    assert info.value.key is not None
    korean = info.value.localized("ko")
    assert korean != str(info.value) and not any(word in korean for word in ("allowed", "outside", "must"))


def test_a_model_that_does_not_fit_the_data_says_so() -> None:
    tiny = _toy_split(8, 4)
    small = DataSplit(
        tiny.train_x[:, :, :6, :6], tiny.train_y, tiny.val_x[:, :, :6, :6], tiny.val_y, tiny.class_names, 3, 6, "t"
    )
    made_for_16 = models.build("tinyvgg", num_classes=3, image_size=SIZE)
    with pytest.raises(ConfigError, match="Model tinyvgg does not fit 6×6 RGB colour images") as info:
        Trainer(_config(), data=small, model=made_for_16).fit()
    assert "6×6 RGB 컬러 이미지에 맞지 않습니다" in info.value.localized("ko")
    with pytest.raises(ConfigError, match="gives 8 outputs per image, but the data has 3 classes"):
        Trainer(_config(), data=tiny, model=models.build("tinyvgg", image_size=SIZE)).fit()
    with pytest.raises(ConfigError, match="Unknown model “nosuchnet”: choose one of tinyvgg"):
        Trainer(_config(model="nosuchnet"), data=tiny).fit()


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
    with pytest.raises(ConfigError, match="needs 64×64 RGB colour images, but the data has 16×16 RGB colour") as info:
        Trainer(_config(transfer=True), data=split).fit()
    assert "64×64 RGB 컬러 이미지가 필요하지만" in info.value.localized("ko")


def test_save_and_load_round_trip_and_bad_files(split: DataSplit) -> None:
    trainer = Trainer(_config(epochs=1, batch_norm=True), data=split)
    trainer.fit()
    trained = trainer.trained()
    loaded = load_trained(save_trained(trained))
    assert loaded.config == trained.config and loaded.class_names == ("red", "green", "blue")
    x = torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), trained.model(x), rtol=0, atol=0)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint that can be loaded safely:") as info:
        load_trained(b"not a checkpoint")
    assert "Error" not in str(info.value)  # no exception class names for a learner
    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(2)}, buffer)
    with pytest.raises(CheckpointError, match="not saved by the Live training page"):
        load_trained(buffer.getvalue())


def test_config_dict_round_trip() -> None:
    config = _config(optimizer="adamw", augmentation=Augmentation(flip=True, rotation=5.0), schedule="cosine")
    assert config_from_dict(config_to_dict(config)) == config
    with pytest.raises(ConfigError, match="Unknown training settings: warp_speed"):
        config_from_dict({**config_to_dict(config), "warp_speed": 9})


# --------------------------------------------------------------------------- augmentation vs torchvision


def _with_only(params: AugmentParams, *names: str) -> AugmentParams:
    """The same drawn parameters with every change but ``names`` switched off."""
    off = {name: None for name in ("flip", "crop", "angle", "factors") if name not in names}
    return dataclasses.replace(params, **off)


def _torchvision_one(image: torch.Tensor, p: AugmentParams, i: int) -> torch.Tensor:
    """Image i changed by torchvision.transforms.v2.functional with the batch's drawn parameters, in our order."""
    h, w = image.shape[-2:]
    if p.flip is not None and bool(p.flip[i]):
        image = TF.horizontal_flip(image)
    if p.crop is not None:
        top, left = (int(v) for v in p.crop[i])
        image = TF.crop(TF.pad(image, [p.padding], padding_mode="reflect"), top, left, h, w)
    if p.angle is not None:
        image = TF.rotate(image, float(p.angle[i]), interpolation=InterpolationMode.BILINEAR)
    if p.factors is not None:
        brightness, contrast, saturation = (float(v) for v in p.factors[i])
        image = TF.adjust_brightness(image, brightness)
        image = TF.adjust_contrast(image, contrast)
        image = TF.adjust_saturation(image, saturation)
    return image


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(
    ("names", "atol"),
    [(("flip",), 0.0), (("crop",), 0.0), (("angle",), 1e-5), (("factors",), 1e-6),
     (("flip", "crop", "angle", "factors"), 1e-5)],
)  # fmt: skip
def test_each_augmentation_equals_torchvision_on_every_image(channels: int, names: tuple, atol: float) -> None:
    # flips and crops move pixels (exact); rotation resamples and colour blends, in float32: 1e-5 and 1e-6
    x = torch.rand(8, channels, 20, 24, generator=torch.Generator().manual_seed(0))  # not square: both sides count
    aug = Augmentation(flip=True, crop=True, rotation=40, color_jitter=0.5)
    params = _with_only(draw_params(x.shape, aug, torch.Generator().manual_seed(1)), *names)
    out = apply_params(x, params)
    for i in range(len(x)):
        torch.testing.assert_close(out[i], _torchvision_one(x[i], params, i), rtol=0, atol=atol)
    if "angle" in names:  # the rotations really differ per image (and are not all near zero)
        assert params.angle.abs().max() > 10 and len(set(params.angle.tolist())) == len(x)


def test_augmentation_parameters_are_per_image_in_range_and_seeded() -> None:
    aug = Augmentation(flip=True, crop=True, rotation=15, color_jitter=0.2)
    p = draw_params((256, 3, 16, 16), aug, torch.Generator().manual_seed(0))
    assert p.padding == 2  # 16 // 8
    assert 0.3 < p.flip.float().mean() < 0.7
    assert p.crop.min() == 0 and p.crop.max() == 2 * p.padding
    assert p.angle.abs().max() <= 15 and p.angle.abs().max() > 14
    assert p.factors.min() >= 0.8 and p.factors.max() <= 1.2 and p.factors.std() > 0.05
    again = draw_params((256, 3, 16, 16), aug, torch.Generator().manual_seed(0))
    for name in ("flip", "crop", "angle", "factors"):
        assert torch.equal(getattr(p, name), getattr(again, name)), name


def test_augmentation_keeps_shape_range_and_input() -> None:
    x = torch.rand(8, 3, SIZE, SIZE)
    original = x.clone()
    aug = Augmentation(flip=True, crop=True, rotation=30, color_jitter=0.5)
    out = augment_batch(x, aug, torch.Generator().manual_seed(0))
    again = augment_batch(x, aug, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert not torch.equal(out, x)
    torch.testing.assert_close(x, original, rtol=0, atol=0)  # no side effect
    torch.testing.assert_close(out, again, rtol=0, atol=0)  # seeded
    gray = augment_batch(x[:, :1], Augmentation(color_jitter=0.3, crop=True), torch.Generator().manual_seed(0))
    assert gray.shape == (8, 1, SIZE, SIZE)


# --------------------------------------------------------------------------- presets and round trips


def test_presets_are_train_configs_that_survive_the_flat_form() -> None:
    assert {"baseline", "overfitting", "regularised", "high_lr", "batch_8", "batch_256"} <= set(PRESETS)
    for name, config in PRESETS.items():
        assert isinstance(config, TrainConfig), name
        assert config_from_flat(flatten_config(config)) == config, name
    assert PRESETS["high_lr"].learning_rate == 10.0 and PRESETS["high_lr"].optimizer is OptimizerName.SGD
    assert PRESETS["regularised"].augmentation.flip and PRESETS["overfitting"].n_train == 160
    with pytest.raises(ConfigError, match="Unknown preset “fast”: choose one of baseline"):
        get_preset("fast")
    with pytest.raises(ConfigError, match="Unknown training settings: lr"):
        config_from_flat({"lr": 0.1})


def _round_trip(trainer: Trainer) -> None:
    """Save the trained model, load it back, and compare the outputs on the validation images exactly."""
    trained = trainer.trained()
    loaded = load_trained(save_trained(trained))
    assert loaded.config == trained.config and loaded.class_names == trained.class_names
    assert (loaded.mean, loaded.std, loaded.image_size) == (trained.mean, trained.std, trained.image_size)
    x = trainer.data.val_x[:8]
    mean, std = torch.tensor(trained.mean).view(1, -1, 1, 1), torch.tensor(trained.std).view(1, -1, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model((x - mean) / std), trained.model((x - mean) / std), rtol=0, atol=0)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_trains_and_its_download_loads_back(name: str) -> None:
    config = dataclasses.replace(PRESETS[name], n_train=32, n_val=16, epochs=1, batch_size=16)
    trainer = Trainer(config)
    trainer.fit()
    _round_trip(trainer)


def test_a_transfer_learning_download_loads_back_with_the_bundled_architecture() -> None:
    config = dataclasses.replace(PRESETS["baseline"], batch_norm=False, transfer=True, image_size=0, dropout=0.2,
                                 n_train=32, n_val=16, epochs=1, batch_size=16)  # fmt: skip
    trainer = Trainer(config)
    trainer.fit()
    bundled = models.build("tinyvgg", weights="bundled")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in trainer.model.modules())
    torch.testing.assert_close(trainer.model.block1.conv1.weight, bundled.block1.conv1.weight, rtol=0, atol=0)
    assert isinstance(trainer.model.dropout, nn.Dropout) and trainer.model.dropout.p == 0.2  # the config says so
    _round_trip(trainer)


def test_a_transfer_checkpoint_that_claims_batch_norm_still_loads() -> None:
    """Files downloaded before the fix said batch_norm=True for a transfer model that never had batch norm."""
    config = dataclasses.replace(PRESETS["baseline"], batch_norm=False, transfer=True, image_size=0, n_train=32,
                                 n_val=16, epochs=1, batch_size=16)  # fmt: skip
    trainer = Trainer(config)
    trainer.fit()
    payload = torch.load(io.BytesIO(save_trained(trainer.trained())), weights_only=True)
    payload["config"]["batch_norm"] = True
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    loaded = load_trained(buffer.getvalue())
    assert loaded.config.batch_norm is False and loaded.config.transfer


def test_a_checkpoint_whose_weights_do_not_fit_says_so_for_a_learner(split: DataSplit) -> None:
    trainer = Trainer(_config(epochs=1), data=split)
    trainer.fit()
    payload = torch.load(io.BytesIO(save_trained(trainer.trained())), weights_only=True)
    payload["config"]["batch_norm"] = True  # weights of a plain TinyVGG, config of one with batch norm
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with pytest.raises(CheckpointError, match="do not fit the model its settings describe \\(tinyvgg\\)") as info:
        load_trained(buffer.getvalue())
    assert "state_dict" not in str(info.value) and "가중치가" in info.value.localized("ko")
    assert translate("errors.trained_mismatch", "ko", model="tinyvgg") == info.value.localized("ko")
