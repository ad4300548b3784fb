"""The zoo: torchvision's ImageNet winners through our registry, the paper's AlexNet, and their official weights."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnviz.arch import summarize
from cnnviz.data.imagenet import IMAGENET_CLASSES, IMAGENET_MEAN, IMAGENET_STD
from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.nets import (
    MODELS,
    WEIGHTS_DIR,
    ZOO_MODELS,
    AlexNetOriginal,
    available_models,
    build,
    download_weights,
    get_spec,
    load_weights,
    weights_filename,
)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # small CPU passes: two threads only wait on each other
# The unit counts our course notes give for AlexNet's 8 layers (conv3's and conv4's 64,896 written once)
NOTES_UNITS = (290_400, 186_624, 64_896, 43_264, 4_096, 4_096, 1_000)


def _meta_flop_macs(model: nn.Module, size: tuple[int, int, int]) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, *size, device="meta"))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("name", available_models())
def test_every_registry_model_summarises_with_flop_counters_macs(name: str) -> None:
    spec = get_spec(name)
    size = (spec.in_channels, spec.image_size, spec.image_size)
    model = build(name, device="meta")
    summary = summarize(model, size)
    assert summary.total_params == sum(p.numel() for p in model.parameters())
    assert summary.total_macs == _meta_flop_macs(model, size)
    assert summary.output_shape == (len(spec.class_names),)


@pytest.mark.parametrize("name", ZOO_MODELS)
def test_zoo_totals_equal_torchvisions_published_figures(name: str) -> None:
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    summary = summarize(build(name, device="meta"), (3, 224, 224))
    assert summary.total_params == meta["num_params"]
    assert summary.total_macs / 1e9 == pytest.approx(meta["_ops"], rel=0.02)  # torchvision's "GFLOPS" are MACs


def test_resnet18_has_its_published_1_8_g_multiply_adds() -> None:
    assert round(summarize(build("resnet18", device="meta"), (3, 224, 224)).total_macs / 1e9, 1) == 1.8


def test_zoo_specs_are_imagenets() -> None:
    for name in (*ZOO_MODELS, "alexnet_original"):
        spec = get_spec(name)
        assert (spec.dataset, spec.in_channels, spec.class_names) == ("imagenet", 3, IMAGENET_CLASSES)
        assert (spec.mean, spec.std) == (IMAGENET_MEAN, IMAGENET_STD)
        assert spec.image_size == (227 if name == "alexnet_original" else 224)


def test_alexnet_original_has_the_papers_units_and_groups() -> None:
    model = build("alexnet_original", device="meta")
    summary = summarize(model, (3, 227, 227))
    layers = [r for r in summary.rows if r.kind in ("Conv2d", "Linear")]
    units = [torch.Size(r.output_shape).numel() for r in layers]
    assert units == [290_400, 186_624, 64_896, 64_896, 43_264, 4_096, 4_096, 1_000]
    assert units[:3] + units[4:] == list(NOTES_UNITS)  # conv3 and conv4 both have 64,896: the notes list it once
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    # parameters by hand: weights + biases of each layer, grouped layers see half the channels
    conv = (96 * 3 * 11 * 11 + 96) + (256 * 48 * 5 * 5 + 256) + (384 * 256 * 9 + 384) + (384 * 192 * 9 + 384) \
        + (256 * 192 * 9 + 256)  # fmt: skip
    fc = (9216 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert sum(r.params for r in layers if r.kind == "Conv2d") == conv == 2_334_080
    assert summary.total_params == conv + fc == sum(p.numel() for p in model.parameters())


def test_alexnet_original_takes_other_sizes_and_runs_on_the_cpu() -> None:
    model = AlexNetOriginal(num_classes=10, image_size=99).eval()
    assert model(torch.rand(1, 3, 99, 99)).shape == (1, 10) and model.classifier[1].in_features == 256 * 2 * 2
    assert build("alexnet_original", image_size=224, device="meta").classifier[1].in_features == 256 * 5 * 5


def test_zoo_builds_replace_the_head_and_refuse_settings_they_do_not_have() -> None:
    model = build("resnet18", num_classes=10)
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 10)
    assert not next(model.parameters()).is_meta
    with pytest.raises(ConfigError, match="3 channels"):
        build("vgg11", in_channels=1, device="meta")
    with pytest.raises(ConfigError, match="vgg11_bn"):
        build("vgg11", batch_norm=True, device="meta")
    with pytest.raises(ConfigError, match="meta"):
        build("resnet18", weights="bundled", device="meta")


def test_googlenet_is_built_as_published() -> None:
    model = build("googlenet", device="meta")
    assert model.aux1 is None and model.aux2 is None and model.transform_input


# ---- weights -------------------------------------------------------------------------------------------------


@pytest.fixture
def resnet18_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A weights folder in tmp_path: the registry's resnet18 entry looks there (for its file name)."""
    path = tmp_path / weights_filename("resnet18")
    entry = MODELS["resnet18"]
    monkeypatch.setitem(MODELS, "resnet18", replace(entry, spec=replace(entry.spec, weights_file=path)))
    return path


def test_weights_in_the_folder_make_the_model_available(resnet18_file: Path) -> None:
    assert not get_spec("resnet18").has_bundled_weights
    with pytest.raises(CheckpointError, match=resnet18_file.name):
        build("resnet18", weights="bundled")
    torch.manual_seed(0)
    reference = torchvision.models.resnet18()
    torch.save(reference.state_dict(), resnet18_file)
    assert get_spec("resnet18").has_bundled_weights
    model = build("resnet18", weights="bundled")
    assert not model.training
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)


def test_the_repository_weights_folder_is_the_specs() -> None:
    file = "vgg16-397923af.pth"
    assert get_spec("vgg16").weights_file == WEIGHTS_DIR / file == ROOT / "weights" / file
    assert (ROOT / "weights" / "README.md").is_file()
    ignored = subprocess.run(["git", "check-ignore", "-q", "weights/vgg16-397923af.pth"], cwd=ROOT, check=False)
    kept = subprocess.run(["git", "check-ignore", "-q", "weights/README.md"], cwd=ROOT, check=False)
    assert (ignored.returncode, kept.returncode) == (0, 1)


def _zeros_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A state dict of zeros with the names and shapes of ``model`` (which may live on the meta device)."""
    return {k: torch.zeros(v.shape, dtype=v.dtype, device="cpu") for k, v in model.state_dict().items()}


def test_another_architectures_weights_are_named(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save(_zeros_state(build("mobilenet_v2", device="meta")), path)
    with pytest.raises(CheckpointError, match="mobilenet_v2, not of resnet18"):
        load_weights("resnet18", build("resnet18", device="meta"), path)


def test_missing_keys_and_other_heads_are_listed(tmp_path: Path) -> None:
    state = _zeros_state(build("resnet18", num_classes=10, device="meta"))
    path = tmp_path / "ten_classes.pth"
    torch.save(state, path)
    model = build("resnet18", device="meta")
    with pytest.raises(CheckpointError, match=r"resnet18 .*fc\.weight \(10×512 / 1000×512\)"):
        load_weights("resnet18", model, path)
    del state["conv1.weight"]
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"weights of resnet18 .*missing from the file: conv1\.weight"):
        load_weights("resnet18", model, path)


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def test_pickles_that_are_not_state_dicts_are_refused_safely(tmp_path: Path) -> None:
    model = build("resnet18", device="meta")
    plain = tmp_path / "list.pth"
    torch.save([1, 2, 3], plain)
    with pytest.raises(CheckpointError, match="ImageNet weights of resnet18: .*holds no state dict"):
        load_weights("resnet18", model, plain)
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"conv1.weight": _Evil(marker)}, protocol=2))
    with pytest.raises(CheckpointError, match="ImageNet weights of resnet18: .*refused for your safety"):
        load_weights("resnet18", model, evil)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="resnet18"):
        load_weights("resnet18", model, b"not a checkpoint at all")


def test_googlenets_file_with_auxiliary_heads_loads() -> None:
    model = build("googlenet")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["aux1.fc2.weight"] = torch.zeros(1000, 1024)  # torchvision's file holds the auxiliary classifiers too
    state["conv1.conv.weight"].fill_(0.5)
    load_weights("googlenet", model, _saved(state))
    assert float(model.conv1.conv.weight.detach().mean()) == 0.5


def _saved(state: dict) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_download_checks_the_hash_reports_progress_and_caches(tmp_path: Path) -> None:
    data = _saved(nn.Linear(3, 2).state_dict()) * 1
    digest = hashlib.sha256(data).hexdigest()
    source = tmp_path / "src" / f"tiny-{digest[:8]}.pth"
    source.parent.mkdir()
    source.write_bytes(data)
    seen: list[tuple[int, int | None]] = []
    path = download_weights("resnet18", lambda done, total: seen.append((done, total)), url=source.as_uri(),
                            model_dir=tmp_path / "cache")  # fmt: skip
    assert path == tmp_path / "cache" / source.name and path.read_bytes() == data
    assert seen[-1] == (len(data), len(data)) and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:], strict=False))
    seen.clear()
    assert download_weights("resnet18", lambda d, t: seen.append((d, t)), url=source.as_uri(),
                            model_dir=tmp_path / "cache") == path and seen == [(len(data), len(data))]  # fmt: skip
    bad = source.with_name("tiny-deadbeef.pth")
    bad.write_bytes(data)
    with pytest.raises(CheckpointError, match="damaged"):
        download_weights("resnet18", url=bad.as_uri(), model_dir=tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [source.name]
    with pytest.raises(CheckpointError, match="could not be downloaded"):
        download_weights("resnet18", url=(tmp_path / "nowhere-00.pth").as_uri(), model_dir=tmp_path / "cache")


def test_the_default_download_is_torchvisions_file() -> None:
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    assert weights_filename("resnet18") == weights.url.rsplit("/", 1)[-1] == "resnet18-f37072fd.pth"
