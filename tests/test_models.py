"""Model zoo: shapes per input size, parameter counts, layer names, checkpoints, bundled weights."""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image
from torch import nn

from cnnviz.data import load_dataset, normalize, preprocess
from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.nets import (
    MODELS,
    MODELS_DIR,
    ConvBlock,
    ConvNet,
    ModelEntry,
    ModelSpec,
    available_models,
    build,
    count_parameters,
    get_spec,
    load_checkpoint,
    spec_for_data,
)


def test_registry_names_and_specs() -> None:
    assert available_models()[:3] == ["tinyvgg", "lenet5", "smallresnet"]  # then the ImageNet networks
    for name in available_models():
        spec = get_spec(name)
        assert isinstance(spec, ModelSpec) and spec.name == name
        assert len(spec.mean) == len(spec.std) == spec.in_channels
    assert get_spec("TinyVGG").name == "tinyvgg"
    with pytest.raises(ConfigError, match="lenet.*tinyvgg, lenet5, smallresnet"):
        get_spec("lenet")


def test_an_unknown_name_is_refused_not_built_as_another_model() -> None:
    with pytest.raises(ConfigError, match="tinyvgg, lenet5, smallresnet"):
        build("lenet")  # was quietly LeNet-5 before


def test_the_registry_says_which_models_ship_trained() -> None:
    trained = {name: get_spec(name).has_bundled_weights for name in ("tinyvgg", "lenet5", "smallresnet")}
    assert trained == {"tinyvgg": True, "lenet5": True, "smallresnet": False}  # smallresnet ships untrained
    assert (MODELS_DIR / "tinyvgg.pt").is_file() and get_spec("smallresnet").weights_file is None


def test_adding_a_model_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    wide = ModelEntry(
        replace(get_spec("tinyvgg"), name="widevgg", weights_file=None, description="wider TinyVGG"),
        partial(ConvNet, (ConvBlock((16,), 3), ConvBlock((32,), 3)), (64,)),
    )
    monkeypatch.setitem(MODELS, "widevgg", wide)
    assert "widevgg" in available_models() and get_spec("widevgg") is wide.spec
    model = build("widevgg", num_classes=3)
    assert [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)] == [16, 32]
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 3)


@pytest.mark.parametrize("name", ["tinyvgg", "lenet5", "smallresnet"])
@pytest.mark.parametrize(("in_channels", "image_size"), [(3, 64), (1, 28), (1, 64), (3, 28), (3, 32)])
def test_output_shape_for_each_input(name: str, in_channels: int, image_size: int) -> None:
    model = build(name, in_channels=in_channels, image_size=image_size, num_classes=5)
    out = model(torch.rand(2, in_channels, image_size, image_size))
    assert out.shape == (2, 5)


def test_tinyvgg_is_cnn_explainers() -> None:
    model = build("tinyvgg")
    acts: dict[str, tuple[int, ...]] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, o, n=n: acts.__setitem__(n, tuple(o.shape)))
             for n, m in model.named_modules() if n]  # fmt: skip
    model(torch.rand(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    expected = {
        "block1.conv1": (1, 10, 62, 62), "block1.relu1": (1, 10, 62, 62), "block1.conv2": (1, 10, 60, 60),
        "block1.relu2": (1, 10, 60, 60), "block1.pool": (1, 10, 30, 30), "block2.conv1": (1, 10, 28, 28),
        "block2.relu1": (1, 10, 28, 28), "block2.conv2": (1, 10, 26, 26), "block2.relu2": (1, 10, 26, 26),
        "block2.pool": (1, 10, 13, 13), "flatten": (1, 1690), "classifier": (1, 8),
    }  # fmt: skip
    assert {k: acts[k] for k in expected} == expected
    assert isinstance(model.classifier, nn.Linear) and model.classifier.in_features == 10 * 13 * 13


def test_lenet5_layers() -> None:
    model = build("lenet5")
    names = [n for n, _ in model.named_modules() if n]
    assert names[:4] == ["block1", "block1.conv1", "block1.relu1", "block1.pool"]
    assert [model.fc1.out_features, model.fc2.out_features, model.classifier.out_features] == [120, 84, 10]
    assert model.block1.conv1.padding == (2, 2) and model.block1.conv1.kernel_size == (5, 5)


def _reference(name: str) -> nn.Sequential:
    """The architectures written out layer by layer in plain PyTorch, from their papers (CNN Explainer, LeNet-5)."""
    if name == "tinyvgg":
        return nn.Sequential(
            nn.Conv2d(3, 10, 3), nn.ReLU(), nn.Conv2d(10, 10, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(10, 10, 3), nn.ReLU(), nn.Conv2d(10, 10, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(10 * 13 * 13, 8),
        )  # fmt: skip
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


@pytest.mark.parametrize("name", ["tinyvgg", "lenet5"])
def test_architecture_equals_a_plain_pytorch_reference(name: str) -> None:
    model, reference = build(name).eval(), _reference(name).eval()
    assert count_parameters(model) == sum(p.numel() for p in reference.parameters())
    if name == "lenet5":
        assert count_parameters(model) == 61_706  # the classic count of LeNet-5 with 28×28 input and padding 2
    reference.load_state_dict(dict(zip(reference.state_dict(), model.state_dict().values(), strict=True)))
    spec = get_spec(name)
    x = torch.randn(3, spec.in_channels, spec.image_size, spec.image_size)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)


def test_count_parameters_trainable_only() -> None:
    model = build("lenet5")
    model.block1.requires_grad_(False)
    frozen = sum(p.numel() for p in model.block1.parameters())
    assert count_parameters(model, trainable_only=True) == sum(p.numel() for p in model.parameters()) - frozen
    assert frozen > 0


def test_options_batch_norm_dropout_and_every_child_named() -> None:
    model = build("tinyvgg", batch_norm=True, dropout=0.3)
    names = dict(model.named_modules())
    assert isinstance(names["block1.bn1"], nn.BatchNorm2d) and isinstance(names["dropout"], nn.Dropout)
    resnet = build("smallresnet", in_channels=1, image_size=28, num_classes=10, dropout=0.1)
    for name, _ in resnet.named_modules():
        assert not any(part.isdigit() for part in name.split(".")), name  # no anonymous Sequential indices
    assert any(isinstance(m, nn.BatchNorm2d) for m in resnet.modules())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"num_classes": 1}, "num_classes"), ({"in_channels": 4}, "in_channels"), ({"image_size": 8}, "image_size"),
     ({"dropout": 1.0}, "dropout")],
)  # fmt: skip
def test_bad_settings_raise_config_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build("tinyvgg", **kwargs)


def test_checkpoint_roundtrip_path_and_bytes(tmp_path: Path) -> None:
    model = build("lenet5")
    torch.save(model.state_dict(), tmp_path / "m.pt")
    other = build("lenet5", weights=tmp_path / "m.pt")
    assert not other.training
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    buffer = io.BytesIO()
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, buffer)
    load_checkpoint(build("lenet5"), buffer.getvalue())


def test_checkpoint_that_does_not_fit(tmp_path: Path) -> None:
    torch.save(build("tinyvgg").state_dict(), tmp_path / "tiny.pt")
    with pytest.raises(CheckpointError, match="does not fit"):
        build("lenet5", weights=tmp_path / "tiny.pt")
    with pytest.raises(CheckpointError, match=r"wrong shapes.*classifier\.weight \(8×1690 / 3×1690\)") as info:
        build("tinyvgg", num_classes=3, weights=tmp_path / "tiny.pt")
    korean = info.value.localized("ko")
    assert "모양이 다른 가중치" in korean and "classifier.weight" in korean and "wrong" not in korean
    with pytest.raises(CheckpointError, match="missing"):
        build("tinyvgg", batch_norm=True, weights=tmp_path / "tiny.pt")


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_garbage_and_malicious_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint") as info:
        build("tinyvgg", weights=tmp_path / "junk.pt")
    for text in (str(info.value), info.value.localized("ko")):
        assert "Error" not in text and "Unpickling" not in text  # says what it means, not the exception's class
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(_Exploit(), protocol=2))
    with pytest.raises(CheckpointError):
        load_checkpoint(build("tinyvgg"), tmp_path / "evil.pt")
    torch.save({"state_dict": _Exploit()}, tmp_path / "evil2.pt")
    with pytest.raises(CheckpointError, match="safely"):
        load_checkpoint(build("tinyvgg"), tmp_path / "evil2.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="state dict"):
        load_checkpoint(build("tinyvgg"), tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(build("tinyvgg"), tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="no bundled weights"):
        build("smallresnet", weights="bundled")


def test_preprocess_shapes_and_normalisation() -> None:
    spec = get_spec("tinyvgg")
    img = Image.new("RGB", (300, 200), (255, 128, 0))
    x = preprocess(spec, img)
    assert x.shape == (1, 3, 64, 64) and x.dtype == torch.float32
    expected = (torch.tensor([1.0, 128 / 255, 0.0]) - torch.tensor(spec.mean)) / torch.tensor(spec.std)
    torch.testing.assert_close(x[0, :, 10, 10], expected, rtol=0, atol=1e-5)
    assert img.size == (300, 200)  # input unchanged


def test_preprocess_digit_inverts_and_centres() -> None:
    spec = get_spec("lenet5")
    img = Image.new("L", (120, 90), 250)  # dark ink on light paper, off-centre
    img.paste(20, (10, 10, 40, 70))
    x = preprocess(spec, img)
    assert x.shape == (1, 1, 28, 28)
    raw = x[0, 0] * spec.std[0] + spec.mean[0]  # back to [0, 1]
    assert float(raw[0, 0]) < 0.05 and float(raw.max()) > 0.9  # white on black
    rows = torch.arange(28.0)
    cy = float((raw.sum(1) * rows).sum() / raw.sum())
    cx = float((raw.sum(0) * rows).sum() / raw.sum())
    assert abs(cy - 13.5) < 1.0 and abs(cx - 13.5) < 1.0


def test_spec_for_data_follows_the_split() -> None:
    split = load_dataset("digits", n_train=4, n_val=2, seed=0)
    spec = spec_for_data("smallresnet", split)
    assert (spec.in_channels, spec.image_size, spec.class_names, spec.dataset) == (1, 28, split.class_names, "digits")
    assert (spec.mean, spec.std, spec.weights_file, spec.digit_style) == (split.mean, split.std, None, True)
    model = build("smallresnet", in_channels=spec.in_channels, image_size=spec.image_size)
    assert model(normalize(split.train_x, spec)).shape == (4, 8)


def test_spec_for_data_of_any_data() -> None:
    data = SimpleNamespace(name="my images", in_channels=3, image_size=32, class_names=("a", "b"), mean=(0.5,),
                           std=(0.25,))  # fmt: skip
    spec = spec_for_data("tinyvgg", data)
    assert (spec.mean, spec.std, spec.digit_style, spec.class_names) == ((0.5,) * 3, (0.25,) * 3, False, ("a", "b"))
    with pytest.raises(ConfigError, match="3.*2 mean"):
        spec_for_data("tinyvgg", replace_ns(data, mean=(0.1, 0.2)))


def replace_ns(ns: SimpleNamespace, **changes: object) -> SimpleNamespace:
    return SimpleNamespace(**{**vars(ns), **changes})
