"""The bundled weights: reproducible by our own script, what their manifests say, and as accurate on fresh data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from cnnviz.data import load_dataset
from cnnviz.nets import build, get_spec, load_manifest
from cnnviz.train.bundled import evaluate_accuracy

BUNDLED = ["tinyvgg", "lenet5"]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_weights_match_manifest(name: str) -> None:
    spec = get_spec(name)
    manifest = load_manifest(name)
    assert hashlib.sha256(spec.weights_file.read_bytes()).hexdigest() == manifest["sha256"]
    assert manifest["dataset"] == spec.dataset and manifest["class_names"] == list(spec.class_names)
    total = sum(get_spec(n).weights_file.stat().st_size for n in BUNDLED)
    assert total < 5 * 2**20


@pytest.mark.parametrize(("name", "n_val"), [("tinyvgg", 1500), ("lenet5", 2000)])
def test_bundled_accuracy_on_a_fresh_split(name: str, n_val: int) -> None:
    spec = get_spec(name)
    manifest = load_manifest(name)
    fresh_seed = 20_240_917  # never used for training
    assert fresh_seed != manifest["training"]["seed"]
    data = load_dataset(spec.dataset, n_train=1, n_val=n_val, seed=fresh_seed)
    model = build(name, weights="bundled")
    accuracy = evaluate_accuracy(model, spec, data.val_x, data.val_y)
    assert abs(accuracy - manifest["val_accuracy"]) <= 0.02, (accuracy, manifest["val_accuracy"])


def test_fold_batch_norm_keeps_the_function() -> None:
    from cnnviz.train.bundled import fold_batch_norm

    trained = build("tinyvgg", batch_norm=True)
    for module in trained.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-1, 1)
    trained.eval()
    plain = build("tinyvgg")
    plain.load_state_dict(fold_batch_norm(trained))
    x = torch.randn(3, 3, 64, 64)
    torch.testing.assert_close(plain.eval()(x), trained(x), rtol=1e-4, atol=1e-4)


def test_train_bundled_is_deterministic_and_writes_a_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from cnnviz.train import bundled as train_bundled

    tiny = replace(train_bundled.BUNDLES["lenet5"], n_train=48, n_val=16, epochs=1, batch_size=16)
    monkeypatch.setitem(train_bundled.BUNDLES, "lenet5", tiny)
    assert train_bundled.main(["--model", "lenet5", "--out", str(tmp_path / "a")]) == 0
    again = train_bundled.train_bundle(tiny, tmp_path / "b")
    first = json.loads((tmp_path / "a" / "lenet5.json").read_text(encoding="utf-8"))
    assert first["sha256"] == again["sha256"] == hashlib.sha256((tmp_path / "b" / "lenet5.pt").read_bytes()).hexdigest()
    assert first["history"] == again["history"]
    for key in ("dataset", "val_accuracy", "command", "torch_version", "date", "training", "train_seconds"):
        assert key in first
    assert first["training"]["n_train"] == 48 and first["training"]["optimizer"] == "AdamW"
    build("lenet5", weights=tmp_path / "a" / "lenet5.pt")  # the folded file loads into the plain architecture
