"""cnnviz.explain against independent PyTorch computations: hooks, filters, top-k, Grad-CAM, receptive fields."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz import explain as features
from cnnviz.errors import ConfigError
from cnnviz.explain import (
    capture_activations,
    filter_map_pairs,
    filter_rgb,
    filter_tiles,
    grad_cam,
    grad_cam_all,
    layer_names,
    receptive_field,
    record_calls,
    run_with_activations,
    saliency,
    spatial_layers,
    top_activating_images,
    top_k_predictions,
)
from cnnviz.explain.hooks import _hooked


def _block(in_channels: int, width: int, *, inplace: bool) -> nn.Sequential:
    layers = [
        ("conv1", nn.Conv2d(in_channels, width, 3)),
        ("relu1", nn.ReLU(inplace=inplace)),
        ("conv2", nn.Conv2d(width, width, 3)),
        ("relu2", nn.ReLU(inplace=inplace)),
        ("pool", nn.MaxPool2d(2)),
    ]
    return nn.Sequential(OrderedDict(layers))


class Tiny(nn.Module):
    """TinyVGG-shaped test network (3×32×32 → 5 classes) with readable names."""

    def __init__(self, *, inplace: bool = False) -> None:
        super().__init__()
        self.block1 = _block(3, 6, inplace=inplace)
        self.block2 = _block(6, 6, inplace=inplace)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(6 * 5 * 5, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.block2(self.block1(x)))


class Residual(nn.Module):
    """A stride-2 block whose 1×1 shortcut runs after the main path."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.conv1 = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.shortcut = nn.Conv2d(4, 4, 1, stride=2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.conv2(self.relu(self.conv1(x)))
        return self.head(self.relu(y + self.shortcut(x)))


@pytest.fixture
def model() -> Tiny:
    return Tiny().eval()


@pytest.fixture
def image() -> torch.Tensor:
    return torch.randn(1, 3, 32, 32)


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _manual_forward(model: Tiny, x: torch.Tensor) -> dict[str, torch.Tensor]:
    out = {}
    for block in ("block1", "block2"):
        for name, layer in getattr(model, block).named_children():
            x = layer(x)
            out[f"{block}.{name}"] = x.clone()  # the next in-place ReLU would rewrite x
    out["classifier.0"] = x = model.classifier[0](x)
    out["classifier.1"] = model.classifier[1](x)
    return out


# --------------------------------------------------------------------------- hooks


def test_layer_names_are_leaves_in_order(model: Tiny) -> None:
    assert layer_names(model) == [
        *(f"block{b}.{n}" for b in (1, 2) for n in ("conv1", "relu1", "conv2", "relu2", "pool")),
        "classifier.0",
        "classifier.1",
    ]


@pytest.mark.parametrize("inplace", [False, True])
def test_activations_equal_a_manual_forward(image: torch.Tensor, inplace: bool) -> None:
    model = Tiny(inplace=inplace).eval()
    logits, acts = run_with_activations(model, image)
    with torch.no_grad():
        expected = _manual_forward(model, image)
    assert list(acts) == list(expected)  # execution order
    for name, tensor in expected.items():
        torch.testing.assert_close(acts[name], tensor, rtol=0, atol=0)
    torch.testing.assert_close(logits, expected["classifier.1"], rtol=0, atol=0)
    # conv outputs are stored before the in-place ReLU rewrites them: they keep negative values
    assert float(acts["block1.conv1"].min()) < 0


def test_capture_selected_layers_and_containers(model: Tiny, image: torch.Tensor) -> None:
    with capture_activations(model, ["block1", "block2.conv2"]) as acts, torch.no_grad():
        model(image)
    assert set(acts) == {"block1", "block2.conv2"}
    assert tuple(acts["block1"].shape) == (1, 6, 14, 14)
    assert not acts["block1"].requires_grad


@pytest.mark.parametrize("training", [True, False])
def test_mode_is_eval_inside_and_restored_after(model: Tiny, image: torch.Tensor, training: bool) -> None:
    model.train(training)
    with capture_activations(model):
        assert not model.training and not model.block1.conv1.training
        model(image)
    assert model.training is training
    assert all(m.training is training for m in model.modules())
    assert _hook_count(model) == 0


@pytest.mark.parametrize("training", [True, False])
def test_hooks_removed_and_mode_restored_when_forward_raises(model: Tiny, training: bool) -> None:
    model.train(training)
    with pytest.raises(RuntimeError), capture_activations(model):
        model(torch.randn(1, 4, 32, 32))  # wrong channel count: the conv raises
    assert model.training is training
    assert _hook_count(model) == 0


def test_exception_in_body_propagates_unchanged(model: Tiny) -> None:
    with pytest.raises(KeyError, match="mine"), capture_activations(model):
        raise KeyError("mine")
    assert _hook_count(model) == 0


def test_unknown_layer_lists_valid_names(model: Tiny) -> None:
    with pytest.raises(ConfigError, match=r"block9.*block1\.conv1"):
        with capture_activations(model, ["block9"]):
            pass
    assert _hook_count(model) == 0
    with pytest.raises(ConfigError, match="block1.relu1"):
        grad_cam(model, torch.zeros(1, 3, 32, 32), "nope")


def test_record_calls_sees_every_call_with_its_shapes() -> None:
    model = Residual().train()  # its ReLU runs twice per forward pass
    with record_calls(model) as calls, torch.no_grad():
        assert not model.training
        model(torch.zeros(1, 3, 16, 16))
    assert model.training  # the mode is restored
    assert [c.name for c in calls].count("relu") == 2
    x = torch.zeros(1, 3, 16, 16)
    with torch.no_grad():  # the same pass by hand, the reference for names and shapes
        model.eval()
        stem = model.stem(x)
        conv1 = model.conv1(stem)
        conv2 = model.conv2(model.relu(conv1))
        short = model.shortcut(stem)
    expected = [("stem", x, stem), ("conv1", stem, conv1), ("relu", conv1, conv1), ("conv2", conv1, conv2),
                ("shortcut", stem, short), ("relu", conv2, conv2)]  # fmt: skip
    assert [(c.name, c.in_shape, c.out_shape) for c in calls[:6]] == [
        (name, tuple(a.shape), tuple(b.shape)) for name, a, b in expected
    ]
    assert _hook_count(model) == 0
    with pytest.raises(ConfigError, match="nope"), record_calls(model, ["nope"]):
        pass
    assert _hook_count(model) == 0


def test_input_and_parameters_not_modified(model: Tiny, image: torch.Tensor) -> None:
    before = image.clone()
    params = copy.deepcopy(model.state_dict())
    run_with_activations(model, image)
    grad_cam_all(model, image, ["block1.conv1", "block2.conv2"])
    saliency(model, image)
    torch.testing.assert_close(image, before, rtol=0, atol=0)
    assert not image.requires_grad
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, params[key], rtol=0, atol=0)
    assert all(p.grad is None for p in model.parameters())
    assert _hook_count(model) == 0


# --------------------------------------------------------------------------- filters and predictions


def test_conv_filters_are_copies_of_the_weights(model: Tiny) -> None:
    filters = features.conv_filters(model)
    assert list(filters) == ["block1.conv1", "block1.conv2", "block2.conv1", "block2.conv2"]
    np.testing.assert_array_equal(filters["block2.conv1"], model.block2.conv1.weight.detach().numpy())
    filters["block1.conv1"][:] = 0
    assert float(model.block1.conv1.weight.detach().abs().sum()) > 0


def test_filter_rgb_maps_zero_to_grey_and_extremes_to_ends() -> None:
    weight = np.zeros((2, 3, 3, 3), np.float32)
    weight[0, 0, 1, 1], weight[0, 2, 0, 0] = 2.0, -1.0
    rgb = filter_rgb(weight)
    assert rgb.shape == (2, 3, 3, 3) and rgb.dtype == np.uint8
    assert rgb[0, 1, 1, 0] == 255 and rgb[0, 0, 0, 2] == 64  # -1/2 → 0.25 → 64
    assert (rgb[1] == 128).all()  # an all-zero filter is uniform grey
    with pytest.raises(ConfigError, match="3 input channels"):
        filter_rgb(np.zeros((2, 1, 3, 3)))


def test_filter_map_pairs_layout() -> None:
    tiles = np.arange(2 * 2 * 2, dtype=np.float32).reshape(2, 2, 2) - 3
    maps = np.random.default_rng(0).normal(size=(2, 4, 6)).astype(np.float32)
    pairs = filter_map_pairs(tiles, maps, gap=1)
    assert pairs.shape == (2, 4, 13)
    np.testing.assert_allclose(pairs[:, :, 7:], maps / np.abs(maps).max(), rtol=1e-6, atol=0)
    np.testing.assert_array_equal(pairs[:, :, 6], 0)
    np.testing.assert_allclose(pairs[0, :2, :3], np.full((2, 3), -3 / 4), rtol=1e-6, atol=0)
    np.testing.assert_allclose(filter_tiles(np.ones((4, 2, 3, 3))), np.ones((4, 3, 3)), rtol=0, atol=0)
    with pytest.raises(ConfigError, match="as many"):
        filter_map_pairs(tiles, maps[:1])


def test_top_k_predictions_match_softmax() -> None:
    logits = torch.randn(1, 7)
    names = [f"c{i}" for i in range(7)]
    preds = top_k_predictions(logits, names, k=3)
    probs = torch.softmax(logits[0], 0)
    values, indices = probs.topk(3)
    assert [p.index for p in preds] == indices.tolist()
    assert [p.label for p in preds] == [names[i] for i in indices.tolist()]
    np.testing.assert_allclose([p.probability for p in preds], values.numpy(), rtol=1e-6, atol=0)
    assert sum(p.probability for p in preds) <= 1 + 1e-6
    assert [p.probability for p in preds] == sorted((p.probability for p in preds), reverse=True)
    everything = top_k_predictions(logits[0], names, k=50)
    assert len(everything) == 7
    assert sum(p.probability for p in everything) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ConfigError, match="7 classes"):
        top_k_predictions(torch.randn(2, 7), names)


# --------------------------------------------------------------------------- gradients


def _reference_grad_cam(model: Tiny, x: torch.Tensor, block: str, target: int) -> np.ndarray:
    """Grad-CAM at the block's conv2 with the network split by hand (no hooks)."""
    if block == "block1":
        first, rest = model.block1[:3], nn.Sequential(model.block1[3:], model.block2, model.classifier)
    else:
        first, rest = nn.Sequential(model.block1, model.block2[:3]), nn.Sequential(model.block2[3:], model.classifier)
    with torch.no_grad():
        act = first(x)
    act.requires_grad_(True)
    score = rest(act)[0, target]
    (grad,) = torch.autograd.grad(score, act)
    weights = grad.mean(dim=(2, 3))[0]  # (K,)
    return torch.relu(torch.einsum("k,khw->hw", weights, act[0])).detach().numpy()


@pytest.mark.parametrize("block", ["block1", "block2"])
@pytest.mark.parametrize("target", [None, 3])
def test_grad_cam_against_a_manual_split(model: Tiny, image: torch.Tensor, block: str, target: int | None) -> None:
    cam = grad_cam(model, image, f"{block}.conv2", target=target)
    expected_target = int(model(image)[0].argmax()) if target is None else target
    assert cam.target == expected_target
    expected = _reference_grad_cam(model, image, block, expected_target)
    np.testing.assert_allclose(cam.cam, expected, rtol=1e-5, atol=1e-6)
    assert cam.heatmap.shape == (32, 32)
    assert 0 <= cam.heatmap.min() and cam.heatmap.max() <= 1
    if expected.max() > 0:
        assert cam.heatmap.max() == pytest.approx(1.0, abs=1e-6)


def test_grad_cam_all_equals_one_layer_at_a_time(model: Tiny, image: torch.Tensor) -> None:
    layers = ["block1.conv1", "block1.conv2", "block2.conv1", "block2.conv2"]
    together = grad_cam_all(model, image, layers, target=1)
    for name, cam in zip(layers, together, strict=True):
        alone = grad_cam(model, image, name, target=1)
        np.testing.assert_allclose(cam.cam, alone.cam, rtol=1e-5, atol=1e-7)


def test_grad_cam_inplace_relu_model(image: torch.Tensor) -> None:
    model = Tiny(inplace=True).eval()
    reference = Tiny(inplace=False).eval()
    reference.load_state_dict(model.state_dict())
    for layer in ("block1.conv2", "block2.conv2"):
        np.testing.assert_allclose(
            grad_cam(model, image, layer, target=2).cam,
            grad_cam(reference, image, layer, target=2).cam,
            rtol=1e-5,
            atol=1e-7,
        )


def test_grad_cam_bad_target(model: Tiny, image: torch.Tensor) -> None:
    with pytest.raises(ConfigError, match="0…4"):
        grad_cam(model, image, "block1.conv1", target=5)
    with pytest.raises(ConfigError, match="one image"):
        grad_cam(model, torch.zeros(2, 3, 32, 32), "block1.conv1")
    assert _hook_count(model) == 0


def test_saliency_against_autograd(model: Tiny, image: torch.Tensor) -> None:
    sal = saliency(model, image, target=4)
    x = image.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x)[0, 4], x)
    np.testing.assert_allclose(sal, grad[0].abs().amax(0).numpy(), rtol=1e-6, atol=0)
    assert sal.shape == (32, 32)


# --------------------------------------------------------------------------- receptive fields


def _linearised(model: nn.Module) -> nn.Module:
    """Copy with ReLU → identity, max → average pooling, all weights 1 and biases 0.

    Every input pixel inside the (clipped) receptive field then has a strictly positive gradient.
    """
    lin = copy.deepcopy(model)
    for name, module in list(lin.named_modules()):
        parent = lin.get_submodule(name.rpartition(".")[0]) if "." in name else lin
        leaf = name.rpartition(".")[2]
        if isinstance(module, nn.ReLU):
            setattr(parent, leaf, nn.Identity())
        elif isinstance(module, nn.MaxPool2d):
            setattr(parent, leaf, nn.AvgPool2d(module.kernel_size, module.stride, module.padding))
    with torch.no_grad():
        for module in lin.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
    return lin.eval()


def _gradient_box(model: nn.Module, layer: str, row: int, col: int, shape: tuple[int, ...]) -> tuple | None:
    """Bounding box (top, left, bottom, right) of the input pixels with a nonzero gradient of one unit."""
    x = torch.rand(1, *shape, dtype=torch.float64).requires_grad_(True)
    model = copy.deepcopy(model).double()
    with _hooked(model, [layer], detach=False) as store, torch.enable_grad():
        model(x)
        unit = store[layer][0, :, row, col].sum()
        (grad,) = torch.autograd.grad(unit, x)
    rows, cols = np.nonzero(grad[0].abs().sum(0).numpy())
    if len(rows) == 0:
        return None
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def _units(height: int, width: int) -> list[tuple[int, int]]:
    return sorted({(0, 0), (height - 1, width - 1), (height // 2, width // 3), (0, width - 1)})


@pytest.mark.parametrize("layer", ["block1.conv1", "block1.relu2", "block1.pool", "block2.conv2", "block2.pool"])
def test_receptive_field_equals_the_gradient_region(model: Tiny, layer: str) -> None:
    shape = (3, 32, 32)
    lin = _linearised(model)
    with capture_activations(model, layer) as acts, torch.no_grad():
        model(torch.zeros(1, *shape))
    height, width = acts[layer].shape[-2:]
    for row, col in _units(height, width):
        field = receptive_field(model, layer, row, col, input_shape=shape)
        box = field.box
        assert _gradient_box(lin, layer, row, col, shape) == (box.top, box.left, box.bottom, box.right)
        # the real (ReLU, max-pool) network sees a subset of it
        real = _gradient_box(model, layer, row, col, shape)
        if real is not None:
            assert box.top <= real[0] and box.left <= real[1] and real[2] <= box.bottom and real[3] <= box.right


def test_receptive_field_size_and_jump_equal_the_gradient_regions(model: Tiny) -> None:
    """Away from the border the full field is the gradient region; neighbours' regions are a jump apart."""
    shape = (3, 32, 32)
    lin = _linearised(model)
    field = receptive_field(model, "block2.pool", 1, 2, input_shape=shape)
    top, left, bottom, right = _gradient_box(lin, "block2.pool", 1, 2, shape)
    assert field.full == features.Box(top, left, bottom, right) == field.box  # not clipped: inside the image
    assert field.size == (bottom - top, right - left)
    below = _gradient_box(lin, "block2.pool", 2, 2, shape)
    beside = _gradient_box(lin, "block2.pool", 1, 3, shape)
    assert field.jump == (below[0] - top, beside[1] - left)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(
    "conv",
    [
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=(5, 3), stride=(1, 2), padding=(2, 0)),
        dict(kernel_size=3, dilation=2, padding="same"),
        dict(kernel_size=4, padding="same"),
        dict(kernel_size=2, stride=3, padding="valid"),
    ],
)
def test_receptive_field_grid_of_settings(conv: dict) -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, **conv), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1), nn.Conv2d(2, 2, 3))
    shape = (1, 19, 17)
    lin = _linearised(model)
    with torch.no_grad():
        height, width = model(torch.zeros(1, *shape)).shape[-2:]
    for row, col in _units(height, width):
        box = receptive_field(model, "3", row, col, input_shape=shape).box
        assert _gradient_box(lin, "3", row, col, shape) == (box.top, box.left, box.bottom, box.right)


def test_receptive_field_follows_the_main_path_of_a_residual_block() -> None:
    model = Residual().eval()
    shape = (3, 16, 16)
    assert [g.name for g in spatial_layers(model, shape)] == ["stem", "conv1", "conv2", "head.0"]  # not the shortcut
    lin = _linearised(model)
    for row, col in _units(8, 8):
        box = receptive_field(model, "conv2", row, col, input_shape=shape).box
        assert _gradient_box(lin, "conv2", row, col, shape) == (box.top, box.left, box.bottom, box.right)


def test_receptive_field_errors(model: Tiny) -> None:
    with pytest.raises(ConfigError, match=r"row 0…29"):
        receptive_field(model, "block1.conv1", 30, 0, input_shape=(3, 32, 32))
    with pytest.raises(ConfigError, match="no feature maps"):
        receptive_field(model, "classifier.1", 0, 0, input_shape=(3, 32, 32))
    with pytest.raises(ConfigError, match="block1.conv1"):
        receptive_field(model, "fc", 0, 0, input_shape=(3, 32, 32))
    assert _hook_count(model) == 0


# --------------------------------------------------------------------------- data set images


def test_top_activating_images_brute_force(model: Tiny) -> None:
    images = torch.randn(40, 3, 32, 32)
    before = images.clone()
    indices, scores = top_activating_images(model, "block2.relu1", 2, images, k=5, batch_size=16)
    with torch.no_grad():
        maps = model.block2[:2](model.block1(images))[:, 2]  # (N, h, w)
    expected = maps.amax(dim=(1, 2))
    values, order = expected.topk(5)
    np.testing.assert_array_equal(indices, order.numpy())
    np.testing.assert_allclose(scores, values.numpy(), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(images, before, rtol=0, atol=0)
    with pytest.raises(ConfigError, match="channels 0…5"):
        top_activating_images(model, "block2.relu1", 6, images, k=5)
    assert _hook_count(model) == 0


@pytest.mark.parametrize(
    ("name", "layer"),
    [
        ("tinyvgg", "block2.pool"),
        ("tinyvgg", "block1.relu2"),
        ("lenet5", "block2.conv1"),
        ("smallresnet", "block2.relu2"),
        ("smallresnet", "block3.conv2"),
        ("smallresnet", "pool"),  # global average pooling: one unit sees the whole image
    ],
)
def test_receptive_field_of_registry_models_equals_the_gradient_region(name: str, layer: str) -> None:
    from cnnviz.nets import build, get_spec

    spec = get_spec(name)
    model = build(name).eval()
    shape = (spec.in_channels, spec.image_size, spec.image_size)
    lin = _linearised(model)
    with capture_activations(model, layer) as acts, torch.no_grad():
        model(torch.zeros(1, *shape))
    height, width = acts[layer].shape[-2:]
    for row, col in _units(height, width):
        box = receptive_field(model, layer, row, col, input_shape=shape).box
        assert _gradient_box(lin, layer, row, col, shape) == (box.top, box.left, box.bottom, box.right)
