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
from cnnviz.train import Trainer
from cnnviz.train.bundled import evaluate_accuracy, fold_batch_norm

BUNDLED = ["tinyvgg", "lenet5"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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


@pytest.mark.parametrize("name", BUNDLED)
def test_fold_batch_norm_keeps_the_function(name: str) -> None:
    trained = build(name, batch_norm=True)
    for module in trained.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-1, 1)
    trained.train()  # fold_batch_norm uses the running statistics and gives the mode back
    state = fold_batch_norm(trained)
    assert trained.training
    plain = build(name)
    assert set(state) == set(plain.state_dict())  # exactly the plain architecture's entries
    plain.load_state_dict(state)
    spec = get_spec(name)
    x = torch.randn(3, spec.in_channels, spec.image_size, spec.image_size)
    with torch.no_grad():  # the eval-mode network with batch norm is the reference; float32 sums: 1e-4
        torch.testing.assert_close(plain.eval()(x), trained.eval()(x), rtol=1e-4, atol=1e-4)


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
    for key in ("dataset", "val_accuracy", "command", "torch_version", "date", "training", "train_seconds", "threads"):
        assert key in first
    assert first["command"] == "python -m cnnviz.train.bundled --model lenet5" and first["threads"] == 1
    training = first["training"]
    assert training["n_train"] == 48 and training["seed"] == 0 and training["optimizer"] == "adamw"
    assert training["optimizer_class"] == "torch.optim.AdamW" and training["warmup"] == 0.15
    assert training["scheduler_class"] == "torch.optim.lr_scheduler.OneCycleLR" and training["batch_norm_folded"]
    folded = build("lenet5", weights=tmp_path / "a" / "lenet5.pt")  # the folded file loads into the plain architecture

    # One training loop: the script's epochs are the Trainer's, and the folded model is as accurate as the trained one.
    trainer = Trainer(tiny)
    history = trainer.fit()
    assert [(e["epoch"], e["train_loss"], e["val_loss"]) for e in first["history"]] == [
        (e.epoch, round(e.train_loss, 5), round(e.val_loss, 5)) for e in history.epochs
    ]
    spec = get_spec("lenet5")
    data = trainer.data
    assert first["val_accuracy"] == evaluate_accuracy(folded, spec, data.val_x, data.val_y)
    assert first["val_accuracy"] == pytest.approx(history.epochs[-1].val_accuracy, abs=1 / 16)
