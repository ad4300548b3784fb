"""Feature visualisation and top patches, checked with forward passes written out here (no hooks, no cnnviz code)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.data import list_samples, load_image, preprocess
from cnnviz.errors import ConfigError
from cnnviz.explain import (
    FeatureVisConfig,
    Penalty,
    forward_to_layer,
    top_activating_patches,
    visualize_channel,
)
from cnnviz.nets import build, get_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # two threads on a busy 2-core box wait on each other
QUICK = FeatureVisConfig(size=64, steps=40)  # seconds on the CPU; the page's default is 128×128, 100 steps


@pytest.fixture(scope="module")
def tinyvgg() -> nn.Module:
    return build("tinyvgg", weights="bundled")


def _up_to_block2_conv2(model: nn.Module) -> nn.Sequential:
    """TinyVGG's layers up to block2.conv2, chained by hand."""
    return nn.Sequential(*model.block1, model.block2.conv1, model.block2.relu1, model.block2.conv2)


def _model_input(image: np.ndarray, mean, std) -> torch.Tensor:
    """(H, W, 3) uint8 → the normalised (1, 3, H, W) batch, computed without cnnviz."""
    x = torch.from_numpy(image).permute(2, 0, 1).float().unsqueeze(0) / 255.0
    return (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)


def _channel_means(model: nn.Module, image: np.ndarray) -> np.ndarray:
    spec = get_spec("tinyvgg")
    with torch.no_grad():
        act = _up_to_block2_conv2(model)(_model_input(image, spec.mean, spec.std))  # (1, 10, h, w)
    return act[0].mean(dim=(1, 2)).numpy()


def _total_variation(image: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels of an (H, W, 3) uint8 image, in [0, 1] units."""
    arr = image.astype(np.float64) / 255.0
    return float(np.abs(np.diff(arr, axis=0)).mean() + np.abs(np.diff(arr, axis=1)).mean())


@pytest.mark.parametrize("penalty", list(Penalty))
@pytest.mark.parametrize("channel", [2, 7])
def test_the_image_excites_its_channel_more_than_noise_and_more_than_the_others(tinyvgg, penalty, channel) -> None:
    spec = get_spec("tinyvgg")
    config = FeatureVisConfig(size=64, steps=60, penalty=penalty, weight=1.0)
    result = visualize_channel(tinyvgg, "block2.conv2", channel, config, mean=spec.mean, std=spec.std)
    assert result.image.shape == (64, 64, 3) and result.image.dtype == np.uint8
    before, after = _channel_means(tinyvgg, result.start), _channel_means(tinyvgg, result.image)
    assert after[channel] > before[channel] + 1.2  # the channel's mean activation, a real forward pass
    assert after[channel] > 2 * max(abs(before[channel]), 0.1)
    assert after[channel] > np.delete(after, channel).mean() + 1.0
    np.testing.assert_allclose(result.start_activation, before[channel], atol=0.02)  # uint8 rounding of the start


def test_a_seeded_run_is_repeated_exactly_and_another_seed_differs(tinyvgg) -> None:
    spec = get_spec("tinyvgg")
    runs = [visualize_channel(tinyvgg, "block1.conv2", 4, FeatureVisConfig(size=48, steps=15, seed=s),
                              mean=spec.mean, std=spec.std) for s in (3, 3, 4)]  # fmt: skip
    np.testing.assert_array_equal(runs[0].image, runs[1].image)
    np.testing.assert_allclose(runs[0].activations, runs[1].activations, rtol=0, atol=1e-6)
    assert not np.array_equal(runs[0].image, runs[2].image)


@pytest.mark.parametrize(
    ("penalty", "none", "strong"), [(Penalty.SMOOTHNESS, 0.0, 10.0), (Penalty.FREQUENCY, 0.0, 1.5)]
)
def test_the_penalty_makes_the_image_smoother(tinyvgg, penalty, none, strong) -> None:
    spec = get_spec("tinyvgg")
    images = [visualize_channel(tinyvgg, "block1.conv2", 1, FeatureVisConfig(size=64, steps=40, penalty=penalty,
                                weight=w), mean=spec.mean, std=spec.std).image for w in (none, strong)]  # fmt: skip
    rough, smooth = (_total_variation(image) for image in images)
    assert smooth < 0.7 * rough


def test_each_step_is_reported_and_the_model_is_left_as_it_was(tinyvgg) -> None:
    spec = get_spec("tinyvgg")
    tinyvgg.train()
    weights = {k: v.clone() for k, v in tinyvgg.state_dict().items()}
    seen = []
    result = visualize_channel(tinyvgg, "block2.relu2", 0, FeatureVisConfig(size=40, steps=6),
                               mean=spec.mean, std=spec.std, on_step=seen.append)  # fmt: skip
    assert [p.step for p in seen] == list(range(1, 7)) and {p.steps for p in seen} == {6}
    np.testing.assert_allclose([p.activation for p in seen], result.activations, rtol=1e-6)
    np.testing.assert_array_equal(seen[-1].image, result.image)
    assert tinyvgg.training
    tinyvgg.eval()
    assert all(p.grad is None for p in tinyvgg.parameters())
    for key, value in tinyvgg.state_dict().items():
        torch.testing.assert_close(value, weights[key], rtol=0, atol=0)


def test_a_one_channel_model_gives_a_grey_picture() -> None:
    spec = get_spec("lenet5")
    model = build("lenet5", weights="bundled")
    result = visualize_channel(model, "block2.conv1", 5, FeatureVisConfig(size=32, steps=10),
                               mean=spec.mean, std=spec.std)  # fmt: skip
    assert result.image.shape == (32, 32, 3)
    np.testing.assert_array_equal(result.image[..., 0], result.image[..., 2])


def test_bad_settings_say_what_to_change(tinyvgg) -> None:
    spec = get_spec("tinyvgg")
    stats = {"mean": spec.mean, "std": spec.std}
    with pytest.raises(ConfigError, match=r"channels 0…9, not 10"):
        visualize_channel(tinyvgg, "block2.conv2", 10, QUICK, **stats)
    with pytest.raises(ConfigError, match="no feature maps"):
        visualize_channel(tinyvgg, "classifier", 0, FeatureVisConfig(size=64, steps=2), **stats)
    with pytest.raises(ConfigError, match=r"size is 4: use 16…512"):
        visualize_channel(tinyvgg, "block2.conv2", 0, FeatureVisConfig(size=4), **stats)
    with pytest.raises(ConfigError, match="There is no layer"):
        visualize_channel(tinyvgg, "block9", 0, QUICK, **stats)


def test_forward_to_layer_stops_there(tinyvgg) -> None:
    x = torch.randn(1, 3, 128, 128)  # the classifier would refuse 128×128; it is never reached
    out = forward_to_layer(tinyvgg, "block2.conv2", x)
    with torch.no_grad():
        expected = _up_to_block2_conv2(tinyvgg)(x)
    torch.testing.assert_close(out.detach(), expected, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- top patches


@pytest.fixture(scope="module")
def photos() -> dict[str, torch.Tensor]:
    spec = get_spec("tinyvgg")
    return {name: preprocess(spec, load_image(path)) for name, path in list_samples().items()}


@pytest.mark.parametrize(("layer", "channel"), [("block2.conv2", 3), ("block1.relu1", 6)])
def test_the_top_patch_is_the_strongest_unit_over_the_photos(tinyvgg, photos, layer, channel) -> None:
    spec = get_spec("tinyvgg")
    patches = top_activating_patches(tinyvgg, layer, channel, photos, mean=spec.mean, std=spec.std, k=6, per_image=2)
    chain = _up_to_block2_conv2(tinyvgg) if layer == "block2.conv2" else nn.Sequential(*tinyvgg.block1[:2])
    with torch.no_grad():
        maps = {name: chain(x)[0, channel] for name, x in photos.items()}  # (h, w) per photo
    best = max(float(m.max()) for m in maps.values())
    np.testing.assert_allclose(patches[0].activation, best, rtol=1e-5)
    assert [p.activation for p in patches] == sorted((p.activation for p in patches), reverse=True)
    assert len(patches) == 6 and max(sum(p.source == n for p in patches) for n in photos) <= 2
    side = 14 if layer == "block2.conv2" else 3  # 3×3 convs and a 2×2 pool: 1 + 2 + 2, ×2, + 2·2 + 2·2 = 14
    for patch in patches:
        np.testing.assert_allclose(patch.activation, float(maps[patch.source][patch.row, patch.col]), rtol=1e-5)
        assert patch.box.height == side and patch.box.width == side  # no padding in TinyVGG: never clipped
        assert (patch.box.top, patch.box.left) == (
            (patch.row * 2, patch.col * 2) if side == 14 else (patch.row, patch.col)
        )
        seen = np.clip((photos[patch.source][0].permute(1, 2, 0).numpy() * 0.25 + 0.5), 0, 1)
        crop = np.rint(seen[patch.box.top : patch.box.bottom, patch.box.left : patch.box.right] * 255)
        np.testing.assert_array_equal(patch.image, crop.astype(np.uint8))


def test_patches_need_photos_of_one_size(tinyvgg) -> None:
    spec = get_spec("tinyvgg")
    inputs = {"a": torch.zeros(1, 3, 64, 64), "b": torch.zeros(1, 3, 32, 32)}
    with pytest.raises(ConfigError, match="prepare every photo the same way"):
        top_activating_patches(tinyvgg, "block2.conv2", 0, inputs, mean=spec.mean, std=spec.std)
    with pytest.raises(ConfigError, match="channels 0…9"):
        top_activating_patches(tinyvgg, "block2.conv2", 12, {"a": inputs["a"]}, mean=spec.mean, std=spec.std)
