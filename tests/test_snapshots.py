"""Per-epoch snapshots of every layer: filters, probe maps, weight and gradient histograms, against references."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.data import DataSplit
from cnnviz.explain import capture_activations
from cnnviz.train import (
    GRADIENT_EDGES,
    MAP_SIDE,
    MAX_CHANNELS,
    PRESETS,
    TrainConfig,
    Trainer,
    gradient_summary,
    quantize,
    take_snapshot,
    weight_range,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZE = 16


def _toy_split(n_train: int = 48, n_val: int = 16, size: int = SIZE) -> DataSplit:
    """Three classes told apart by which colour channel is bright; (N, 3, size, size) in [0, 1]."""
    gen = torch.Generator().manual_seed(0)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % 3
        x = torch.rand(n, 3, size, size, generator=gen) * 0.4
        x[torch.arange(n), y] += 0.5
        return x, y

    (tx, ty), (vx, vy) = make(n_train), make(n_val)
    return DataSplit(tx, ty, vx, vy, ("red", "green", "blue"), 3, size, "toy", (0.45,) * 3, (0.2,) * 3)


def _predict(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    net.eval()
    return net(x)


class _Recorder:
    """An independent record of a run: every conv weight and probe map at each epoch's end, every weight gradient."""

    def __init__(self, model: nn.Module, probe: torch.Tensor) -> None:
        self.model, self.probe = model, probe
        self.convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
        self.weights: dict[int, dict[str, torch.Tensor]] = {}
        self.maps: dict[int, dict[str, torch.Tensor]] = {}
        self.last_grad: dict[str, torch.Tensor] = {}  # the latest gradient seen by a tensor hook, per layer
        self.grads: dict[int, dict[str, torch.Tensor]] = {}
        for name, m in model.named_modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                m.weight.register_hook(lambda g, name=name: self.last_grad.__setitem__(name, g.detach().clone()))

    def __call__(self, trainer: Trainer, stats) -> None:  # called after each epoch, after the trainer's snapshot
        epoch = stats.epoch
        self.weights[epoch] = {n: self.model.get_submodule(n).weight.detach().clone() for n in self.convs}
        self.grads[epoch] = dict(self.last_grad)
        with capture_activations(self.model, self.convs) as acts, torch.no_grad():
            self.model(self.probe)
        self.maps[epoch] = {n: acts[n][0].clone() for n in self.convs}


@pytest.fixture(scope="module")
def recorded() -> tuple[Trainer, _Recorder]:
    split = _toy_split()
    torch.manual_seed(0)
    config = TrainConfig(model="tinyvgg", epochs=2, batch_size=16, learning_rate=3e-3, sync_every=2)
    trainer = Trainer(config, data=split)
    trainer.prepare()
    mean, std = torch.tensor(split.mean).view(1, -1, 1, 1), torch.tensor(split.std).view(1, -1, 1, 1)
    p = trainer.history.probe_index
    recorder = _Recorder(trainer.model, (split.val_x[p : p + 1] - mean) / std)  # (1, 3, 16, 16) normalised
    trainer.fit(callbacks=[recorder])
    return trainer, recorder


def test_every_conv_layer_keeps_its_filters_and_probe_maps_each_epoch(recorded) -> None:
    trainer, rec = recorded
    shots = trainer.history.snapshots
    assert [s.epoch for s in shots] == [0, 1, 2]
    assert [layer.name for layer in shots[1].convs] == rec.convs and len(rec.convs) == 4
    for epoch in (1, 2):
        for name in rec.convs:
            layer = shots[epoch].layer(name)
            weight = rec.weights[epoch][name]
            assert layer.filters.dtype == np.float16 and not layer.filters.flags.writeable
            kept = weight[:MAX_CHANNELS, :MAX_CHANNELS].numpy()
            np.testing.assert_allclose(layer.filters, kept, rtol=1e-3, atol=1e-4)  # float16
            reference = rec.maps[epoch][name].numpy()  # (10, H, W): no downsampling at 16 × 16
            assert layer.map_size == reference.shape[1:]
            np.testing.assert_allclose(layer.maps.values(), reference, rtol=0, atol=layer.maps.step / 2 + 1e-6)
    assert not np.array_equal(shots[0].layers[0].filters, shots[2].layers[0].filters)  # it did train


def test_gradient_histograms_and_norms_match_the_gradients_seen_by_a_hook(recorded) -> None:
    trainer, rec = recorded
    log_edges = np.log10(GRADIENT_EDGES)
    for epoch in (1, 2):
        shot = trainer.history.snapshots[epoch]
        for layer in shot.layers:
            grad = rec.grads[epoch][layer.name].double().numpy()  # the epoch's last step's gradient
            magnitude = np.abs(grad[grad != 0])
            reference, _ = np.histogram(np.log10(magnitude), bins=log_edges)
            np.testing.assert_allclose(layer.gradients.counts, reference, rtol=0, atol=2)  # float32 log10 at edges
            assert layer.gradients.total == grad.size
            np.testing.assert_allclose(layer.grad_norm, np.linalg.norm(grad), rtol=1e-4)
    assert all(layer.gradients is None and layer.grad_norm is None for layer in trainer.history.snapshots[0].layers)


def test_weight_histograms_count_the_weights_over_fixed_linear_bins(recorded) -> None:
    trainer, _ = recorded
    model = trainer.model
    for layer in trainer.history.snapshots[-1].layers:
        weight = model.get_submodule(layer.name).weight.detach().double().numpy().ravel()
        fan_in = weight.size // layer.out_channels
        limit = 3 / np.sqrt(fan_in)  # 3× PyTorch's default init bound 1/√fan_in
        reference, _ = np.histogram(weight, bins=np.linspace(-limit, limit, len(layer.weights.counts) + 1))
        np.testing.assert_allclose(layer.weights.counts, reference, rtol=0, atol=2)
        assert layer.weights.below == int((weight < -limit).sum())
        assert layer.weights.above == int((weight > limit).sum())
        assert layer.weights.total == weight.size
        np.testing.assert_allclose(weight_range(model.get_submodule(layer.name)), limit, rtol=1e-12)


def test_zero_tiny_huge_and_non_finite_gradients_are_counted_apart() -> None:
    layer = nn.Linear(4, 5)
    grad = torch.tensor([0.0, 0.0, 1e-20, 1e6, float("inf"), float("nan"), 0.5, -0.5, 1e-3, -2.0] * 2)
    layer.weight.grad = grad.view(5, 4)
    hist = gradient_summary(nn.Sequential(layer))["0"].histogram
    assert (hist.zeros, hist.below, hist.above, hist.nonfinite) == (4, 2, 2, 4)
    finite = np.array([0.5, 0.5, 1e-3, 2.0] * 2)
    reference, _ = np.histogram(np.log10(finite), bins=np.log10(GRADIENT_EDGES))
    np.testing.assert_array_equal(hist.counts, reference)


def test_big_maps_are_area_downsampled_and_channels_capped() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 20, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(20, 2))  # fmt: skip
    x = torch.randn(1, 3, 2 * MAP_SIDE, 2 * MAP_SIDE)
    shot = take_snapshot(model, x, 0, predict=_predict)
    conv = shot.convs[0]
    assert conv.map_size == (2 * MAP_SIDE, 2 * MAP_SIDE) and conv.filters.shape == (MAX_CHANNELS, 3, 3, 3)
    with torch.no_grad():
        full = model[0](x)[0, :MAX_CHANNELS].numpy()  # (16, 128, 128)
    blocks = full.reshape(MAX_CHANNELS, MAP_SIDE, 2, MAP_SIDE, 2).mean(axis=(2, 4))  # 2 × 2 block means
    np.testing.assert_allclose(conv.maps.values(), blocks, rtol=0, atol=conv.maps.step / 2 + 1e-5)
    assert model.training  # the snapshot restored the training mode


def test_quantized_values_stay_within_half_a_step() -> None:
    values = np.random.default_rng(0).normal(size=(3, 7, 5)).astype(np.float32)
    q = quantize(values)
    assert q.levels.dtype == np.uint8 and q.levels.min() == 0 and q.levels.max() == 255
    np.testing.assert_allclose(q.values(), values, rtol=0, atol=q.step / 2 + 1e-6)
    constant = quantize(np.full((2, 2), 3.0, np.float32))
    np.testing.assert_array_equal(constant.values(), np.full((2, 2), 3.0))


def test_a_network_without_convolutions_has_no_snapshot() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    assert take_snapshot(model, torch.zeros(1, 3, 2, 2), 0, predict=_predict) is None


def test_transfer_over_cached_features_reuses_the_frozen_layers_and_follows_the_head() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 3))
    model[0].requires_grad_(False)
    trainer = Trainer(TrainConfig(transfer=True, epochs=2, batch_size=16, learning_rate=1e-2), data=_toy_split(),
                      model=model)  # fmt: skip
    history = trainer.fit()
    assert history.features is not None, "precondition: the features were cached"
    first, last = history.snapshots[0], history.snapshots[-1]
    assert last.convs[0] is first.convs[0] and not first.convs[0].trainable  # the same frozen arrays, not copies
    head = last.layer("4")
    weight = model[4].weight.detach().double().numpy().ravel()
    limit = 3 / np.sqrt(16)
    reference, _ = np.histogram(weight, bins=np.linspace(-limit, limit, len(head.weights.counts) + 1))
    np.testing.assert_allclose(head.weights.counts, reference, rtol=0, atol=1)
    assert head.gradients is not None and head.grad_norm > 0 and first.layer("4").gradients is None


def test_the_snapshots_of_a_ten_epoch_tinyvgg_run_on_shapes_stay_small() -> None:
    config = dataclasses.replace(PRESETS["baseline"], n_train=32, n_val=16, epochs=10, batch_size=32, image_size=64)
    history = Trainer(config).fit()
    assert [s.epoch for s in history.snapshots] == list(range(11))
    size = len(pickle.dumps(history.snapshots))
    assert size < 5_000_000, f"{size / 1e6:.1f} MB"
    maps = history.snapshots[-1].convs[0].maps
    assert maps.levels.shape == (10, 62, 62)  # shapes are 64 × 64: the first layer's maps keep every pixel
