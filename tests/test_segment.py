"""Segmentation: IoU against a brute-force set computation, the FCN's shapes and checkerboard, files, a tiny run."""

from __future__ import annotations

import io
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz.data import load_scenes
from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.segment import (
    FCN,
    SEGMENTATION_CLASSES,
    SEGMENTATION_TRAINING,
    FCNConfig,
    SegmentationTask,
    confusion_matrix,
    iou_per_class,
    load_fcn,
    mean_iou,
    pixel_accuracy,
    predict_masks,
    save_fcn,
    segmentation_parts,
)
from cnnviz.train import Trainer

K = len(SEGMENTATION_CLASSES)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _set_iou(pred: np.ndarray, true: np.ndarray, c: int) -> float | None:
    """IoU of class c as sets of pixel positions (None when c is in neither)."""
    p = {tuple(i) for i in np.argwhere(pred == c)}
    t = {tuple(i) for i in np.argwhere(true == c)}
    return None if not p | t else len(p & t) / len(p | t)


@pytest.mark.parametrize("seed", range(6))
def test_iou_equals_a_brute_force_set_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 8))
    shape = (int(rng.integers(1, 4)), int(rng.integers(3, 12)), int(rng.integers(3, 12)))
    used = rng.choice(classes, size=max(1, classes - 2), replace=False)  # some classes absent from both masks
    pred, true = rng.choice(used, shape), rng.choice(used, shape)
    if seed == 0:
        true[:] = used[0]  # a class predicted but never true has IoU 0, not None
    confusion = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(true), classes)
    expected = np.zeros((classes, classes), dtype=np.int64)
    for p, t in zip(pred.ravel(), true.ravel(), strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(confusion.numpy(), expected)
    ious = iou_per_class(confusion)
    for c in range(classes):
        reference = _set_iou(pred, true, c)
        assert (ious[c] is None) == (reference is None), c
        if reference is not None:
            assert ious[c] == pytest.approx(reference, abs=1e-12)
    present = [v for v in (_set_iou(pred, true, c) for c in range(classes)) if v is not None]
    assert mean_iou(confusion) == pytest.approx(sum(present) / len(present), abs=1e-12)
    assert pixel_accuracy(confusion) == pytest.approx(float((pred == true).mean()), abs=1e-12)


def test_metrics_refuse_what_they_cannot_compare() -> None:
    with pytest.raises(ConfigError, match="differ in size"):
        confusion_matrix(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long), 2)
    with pytest.raises(ConfigError, match="outside 0 to 2"):
        confusion_matrix(torch.tensor([0, 3]), torch.tensor([0, 1]), 3)
    assert math.isnan(mean_iou(torch.zeros(3, 3, dtype=torch.long)))


@pytest.mark.parametrize(("upsampling", "size"), [("transposed", 96), ("bilinear", 96), ("transposed", 64)])
def test_fcn_gives_class_scores_per_pixel(upsampling: str, size: int) -> None:
    torch.manual_seed(0)
    model = FCN(FCNConfig(SEGMENTATION_CLASSES, image_size=size, upsampling=upsampling)).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, K, size, size)
    probabilities = out.softmax(1)
    assert 0.7 < float(probabilities[:, 0].mean()) < 0.95  # starts near the background prior (0.85)
    with pytest.raises(ConfigError, match="multiple of 8"):
        FCNConfig(SEGMENTATION_CLASSES, image_size=100)
    with pytest.raises(ConfigError, match="transposed, bilinear"):
        FCNConfig(SEGMENTATION_CLASSES, upsampling="nearest")


def test_the_transposed_upsampling_of_a_constant_makes_a_checkerboard_and_bilinear_does_not() -> None:
    torch.manual_seed(1)
    transposed = FCN(FCNConfig(SEGMENTATION_CLASSES, upsampling="transposed"))
    up = transposed.ups[0].conv
    ones = torch.ones(1, up.in_channels, 8, 8)
    reference = F.conv_transpose2d(ones, up.weight, up.bias, stride=2, padding=1, output_padding=1)[0]
    response = transposed.upsampling_response(0, size=8)
    torch.testing.assert_close(response, reference, rtol=1e-5, atol=1e-6)
    inner = response[:, 2:-2, 2:-2]  # away from the zero-padded border
    parity = torch.stack([inner[:, a::2, b::2].mean((1, 2)) for a in (0, 1) for b in (0, 1)], 1)  # (C, 4)
    assert (inner[:, 0::2, 0::2].std((1, 2)) < 1e-5).all()  # each parity class is constant...
    assert (parity.std(1) > 1e-3).all()  # ...but the four classes differ: a checkerboard in every channel
    bilinear = FCN(FCNConfig(SEGMENTATION_CLASSES, upsampling="bilinear"))
    smooth = bilinear.upsampling_response(0, size=8)[:, 2:-2, 2:-2]
    assert float(smooth.std((1, 2)).max()) < 1e-5  # every inner output made the same way


def test_a_saved_fcn_loads_back_and_wrong_files_are_refused() -> None:
    torch.manual_seed(2)
    model = FCN(FCNConfig(SEGMENTATION_CLASSES, upsampling="bilinear")).eval()
    data = save_fcn(model, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), epoch=3)
    loaded = load_fcn(data)
    x = torch.rand(2, 3, 96, 96)
    torch.testing.assert_close(loaded.model(x), model(x), rtol=0, atol=0)
    assert loaded.epoch == 3 and loaded.model.config == model.config
    with pytest.raises(CheckpointError, match="could not be read"):
        load_fcn(b"not a torch file")
    other = io.BytesIO()
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="not a segmentation network"):
        load_fcn(other.getvalue())
    payload = torch.load(io.BytesIO(data), weights_only=True)
    payload["config"]["widths"] = [8, 16, 32]  # the weights no longer fit
    broken = io.BytesIO()
    torch.save(payload, broken)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_fcn(broken.getvalue())


def test_predict_masks_is_the_normalised_forward_pass_and_leaves_the_mode() -> None:
    torch.manual_seed(3)
    model = FCN(FCNConfig(SEGMENTATION_CLASSES)).train()
    images = torch.rand(3, 3, 96, 96)
    found = predict_masks(model, images, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3), batch=2)
    assert model.training  # restored
    model.eval()
    mean, std = torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1), torch.tensor([0.2, 0.25, 0.3]).view(1, 3, 1, 1)
    expected = model((images - mean) / std).softmax(1)
    torch.testing.assert_close(found.probabilities, expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(found.mask, expected.argmax(1))


def _tiny_run(seed: int = 0) -> Trainer:
    config = replace(SEGMENTATION_TRAINING, n_train=32, n_val=8, epochs=2, batch_size=8, seed=seed, sync_every=2)
    spec = FCNConfig(SEGMENTATION_CLASSES, image_size=64, widths=(8, 16, 16))
    parts = segmentation_parts(config, spec, data=load_scenes(n_train=32, n_val=8, seed=seed, size=64))
    trainer = Trainer(config, data=parts.data, model=parts.model, task=parts.task)
    trainer.fit()
    return trainer


def test_a_tiny_run_learns_and_reports_iou_per_class() -> None:
    trainer = _tiny_run()
    h = trainer.history
    assert h.epochs[-1].train_loss < h.epochs[0].train_loss
    assert h.metric == "miou" and 0.0 <= h.epochs[-1].val_accuracy <= 1.0
    assert set(h.results["iou"]) == set(SEGMENTATION_CLASSES) and h.confusion.shape == (K, K)
    assert h.results["miou"] == pytest.approx(h.epochs[-1].val_accuracy, abs=1e-9)  # the same weights, measured twice
    again = _tiny_run()
    assert [e.train_loss for e in again.history.epochs] == [e.train_loss for e in h.epochs]  # seeded


def test_the_task_refuses_a_network_or_targets_that_do_not_fit() -> None:
    data = load_scenes(n_train=4, n_val=2, seed=0, size=64)
    task = SegmentationTask(K)
    with pytest.raises(ConfigError, match="7 class scores per pixel"):
        task.check_output(torch.zeros(2, 5, 64, 64), data, "fcn")
    boxes = load_scenes(n_train=4, n_val=2, seed=0, size=64, target="boxes")
    with pytest.raises(ConfigError, match='target="mask"'):
        task.check_output(torch.zeros(2, K, 64, 64), boxes, "fcn")
