"""The detector: its output's layout, anchor matching and the loss against plain per-anchor references,
post-processing against torchvision, saving and loading (also of bad files), and a tiny seeded training run."""

from __future__ import annotations

import io
import math
import pickle
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn

from cnnviz.data import load_scenes
from cnnviz.detect import (
    BOX_WEIGHTS,
    DETECTION_TRAINING,
    DetectionTask,
    Detector,
    DetectorConfig,
    detect_objects,
    detection_loss,
    detection_parts,
    load_detector,
    make_anchors,
    match_anchors,
    predict_scenes,
    save_detector,
    scene_from_photo,
)
from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.train import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLASSES = ("circle", "square", "triangle")
SPEC = DetectorConfig(CLASSES, image_size=48, widths=(8, 8), strides=(2, 2), head_width=8, anchor_sizes=(10.0, 16.0),
                      aspect_ratios=(0.5, 1.0))  # fmt: skip


def _targets(rng: torch.Generator, scenes: int, rows: int, size: int = 48) -> torch.Tensor:
    """Random padded targets (scenes, rows, 5): a random number of boxes per scene, the rest class -1."""
    out = torch.zeros(scenes, rows, 5)
    out[..., 0] = -1
    for s in range(scenes):
        n = int(torch.randint(1, rows + 1, (1,), generator=rng))
        xy = torch.rand(n, 2, generator=rng) * (size - 20)
        wh = 6 + torch.rand(n, 2, generator=rng) * 14
        out[s, :n, 0] = torch.randint(0, len(CLASSES), (n,), generator=rng).float()
        out[s, :n, 1:] = torch.cat([xy, xy + wh], 1)
    return out


def test_output_follows_the_anchor_order() -> None:
    model = Detector(SPEC).eval()
    a, c = SPEC.anchors_per_cell, 5 + SPEC.num_classes
    h = w = SPEC.feature_size
    # Replace the head by one whose value at (channel, i, j) says where it is: 1000·anchor + 100·column + 10·i + j.
    code = torch.zeros(1, a * c, h, w)
    for ch in range(a * c):
        for i in range(h):
            for j in range(w):
                code[0, ch, i, j] = 1000 * (ch // c) + 100 * (ch % c) + 10 * i + j
    model.head = nn.Sequential(nn.Identity())
    model.backbone = nn.Sequential(_Const(code))
    out = model(torch.zeros(1, 3, 48, 48))
    anchors = make_anchors(h, SPEC.stride, SPEC.anchor_sizes, SPEC.aspect_ratios)
    assert out.shape == (1, anchors.shape[0], c)
    for index in (0, 1, a, a * w + 3, anchors.shape[0] - 1):
        cell, anchor = divmod(index, a)
        i, j = divmod(cell, w)
        for col in range(c):
            assert out[0, index, col] == 1000 * anchor + 100 * col + 10 * i + j
    torch.testing.assert_close(SPEC.anchors(), anchors, rtol=0, atol=0)


class _Const(nn.Module):
    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value.expand(x.shape[0], -1, -1, -1)


def test_the_head_starts_by_saying_background() -> None:
    model = Detector(SPEC).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 48, 48))
    last = model.head[-1]
    bias = last.bias.view(SPEC.anchors_per_cell, -1)
    # Without input the scores are the biases: softmax gives background 0.99 and each of the 3 classes 0.01 / 3.
    probs = bias[:, 4:].softmax(-1)
    torch.testing.assert_close(probs[:, 0], torch.full((SPEC.anchors_per_cell,), 0.99), rtol=0, atol=1e-6)
    assert float(bias[0, 4]) == pytest.approx(math.log(0.99 * 3 / 0.01), rel=1e-6)
    assert out.shape == (2, SPEC.anchors().shape[0], 8)


def _reference_matches(anchors: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Labels per anchor, written as a loop over scenes with torchvision's box_iou."""
    labels = torch.full((targets.shape[0], anchors.shape[0]), -1, dtype=torch.long)
    for s, rows in enumerate(targets):
        real = rows[rows[:, 0] >= 0]
        iou = torchvision.ops.box_iou(real[:, 1:], anchors)  # (m, A)
        for a in range(anchors.shape[0]):
            best = float(iou[:, a].max())
            if best >= 0.5:
                labels[s, a] = int(real[int(iou[:, a].argmax()), 0]) + 1
            elif best < 0.4:
                labels[s, a] = 0
        for m in range(real.shape[0]):  # each object's best anchor is positive (the last object wins a tie)
            labels[s, int(iou[m].argmax())] = int(real[m, 0]) + 1
    return labels


def test_matching_equals_a_loop_over_anchors() -> None:
    rng = torch.Generator().manual_seed(0)
    anchors = SPEC.anchors()
    targets = _targets(rng, 6, 4)
    matches = match_anchors(anchors, targets)
    assert torch.equal(matches.labels, _reference_matches(anchors, targets))
    assert (matches.positive.sum(1) >= (targets[..., 0] >= 0).sum(1).clamp(max=1)).all()


def _reference_loss(output: torch.Tensor, targets: torch.Tensor, anchors: torch.Tensor) -> float:
    """The loss per scene with torchvision's BoxCoder: CE of positives + the 3 × positives hardest negatives."""
    labels = _reference_matches(anchors, targets)
    coder = torchvision.models.detection._utils.BoxCoder(BOX_WEIGHTS)
    cls_sum, box_sum, n_pos = 0.0, 0.0, 0
    for s in range(output.shape[0]):
        ce = F.cross_entropy(output[s, :, 4:], labels[s].clamp(min=0), reduction="none")
        pos = labels[s] > 0
        neg_losses = sorted(ce[labels[s] == 0].tolist(), reverse=True)
        cls_sum += float(ce[pos].sum()) + sum(neg_losses[: max(3 * int(pos.sum()), 1)])
        real = targets[s][targets[s, :, 0] >= 0]
        iou = torchvision.ops.box_iou(real[:, 1:], anchors)
        owner = iou.argmax(0)
        for m in range(real.shape[0]):
            owner[int(iou[m].argmax())] = m
        idx = pos.nonzero().flatten()
        wanted = coder.encode_single(real[owner[idx], 1:], anchors[idx])
        box_sum += float(F.smooth_l1_loss(output[s, idx, :4], wanted, reduction="sum"))
        n_pos += int(pos.sum())
    return (cls_sum + box_sum) / n_pos


def test_loss_equals_a_per_scene_reference() -> None:
    rng = torch.Generator().manual_seed(1)
    anchors = SPEC.anchors()
    targets = _targets(rng, 4, 3)
    output = torch.randn(4, anchors.shape[0], 8, generator=rng)
    loss = detection_loss(output, targets, anchors, box_weights=BOX_WEIGHTS)
    assert float(loss.total) == pytest.approx(_reference_loss(output, targets, anchors), rel=1e-5)
    assert loss.positives == int((_reference_matches(anchors, targets) > 0).sum())


def test_detections_before_and_after_nms_match_torchvision() -> None:
    rng = torch.Generator().manual_seed(2)
    anchors = SPEC.anchors()
    output = torch.randn(3, anchors.shape[0], 8, generator=rng) * 2
    found = detect_objects(output, anchors, box_weights=BOX_WEIGHTS, image_size=48, score_threshold=0.2,
                           max_candidates=60, max_detections=1000)  # fmt: skip
    raw = detect_objects(output, anchors, box_weights=BOX_WEIGHTS, image_size=48, score_threshold=0.2,
                         max_candidates=60, suppress=False)  # fmt: skip
    coder = torchvision.models.detection._utils.BoxCoder(BOX_WEIGHTS)
    for s in range(3):
        boxes = coder.decode_single(output[s, :, :4], anchors).clamp(0, 48)
        probs = output[s, :, 4:].softmax(-1)[:, 1:]
        a, k = (probs >= 0.2).nonzero(as_tuple=True)
        order = probs[a, k].argsort(descending=True)[:60]
        a, k = a[order], k[order]
        torch.testing.assert_close(raw[s].boxes, boxes[a], rtol=1e-5, atol=1e-4)
        keep = torchvision.ops.batched_nms(boxes[a], probs[a, k], k, 0.5)
        torch.testing.assert_close(found[s].scores, probs[a, k][keep], rtol=0, atol=0)
        assert torch.equal(found[s].labels, k[keep])
        assert len(found[s]) <= len(raw[s])


def test_save_and_load_give_the_same_outputs() -> None:
    model = Detector(SPEC).eval()
    data = save_detector(model, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), epoch=3)
    loaded = load_detector(data)
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), model(x), rtol=0, atol=0)
    assert loaded.model.config == SPEC and loaded.epoch == 3 and loaded.std == (0.25, 0.25, 0.25)


class _Evil:
    def __reduce__(self) -> tuple:
        return (print, ("this ran",))


def _saved(payload: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def test_bad_files_raise_keyed_errors() -> None:
    good = torch.load(io.BytesIO(save_detector(Detector(SPEC), mean=(0.5,) * 3, std=(0.25,) * 3)), weights_only=True)
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        load_detector(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        load_detector(pickle.dumps(_Evil()))
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        load_detector(_saved({"format": "cnnviz-detector-1", "x": _Evil()}))
    with pytest.raises(CheckpointError, match="not a detector saved"):
        load_detector(_saved({"state_dict": good["state_dict"]}))
    wrong_shape = dict(good, config=dict(good["config"], head_width=9))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_detector(_saved(wrong_shape))
    huge = dict(good, config=dict(good["config"], widths=[100_000, 8]))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_detector(_saved(huge))


def test_task_checks_the_output_and_scores_in_range() -> None:
    data = load_scenes(n_train=4, n_val=2, size=48, target="boxes")
    task = DetectionTask(replace(SPEC, class_names=data.class_names))
    model = Detector(replace(SPEC, class_names=data.class_names)).eval()
    out = model(data.train_x[:2])
    task.check_output(out, data, "detector")
    with pytest.raises(ConfigError, match="anchor"):
        task.check_output(out[:, :-1], data, "detector")
    with pytest.raises(ConfigError, match="target"):
        task.check_output(out, load_scenes(n_train=2, n_val=1, size=48, target="mask"), "detector")
    right, count = task.batch_score(out, data.train_y[:2])
    assert count == 2 and 0 <= float(right) <= 2


def test_a_tiny_run_learns_and_repeats() -> None:
    spec = DetectorConfig(("circle", "square", "triangle", "star", "cross", "ring"), image_size=48, widths=(8, 16),
                          strides=(2, 2), head_width=16, anchor_sizes=(10.0, 16.0))  # fmt: skip
    config = replace(DETECTION_TRAINING, n_train=48, n_val=8, batch_size=16, epochs=3, learning_rate=1e-2)
    data = load_scenes(n_train=48, n_val=8, size=48, target="boxes")

    def run() -> list:
        parts = detection_parts(config, spec, data=data)
        history = Trainer(config, data=parts.data, model=parts.model, task=parts.task).fit()
        return history

    first, second = run(), run()
    losses = [e.train_loss for e in first.epochs]
    assert losses[-1] < losses[0]
    assert losses == [e.train_loss for e in second.epochs]
    assert first.metric == "map50" and set(first.results["ap50"]) == set(spec.class_names)
    assert 0 <= first.results["map50"] <= 1


def test_a_photo_becomes_its_centre_square_at_the_scene_size() -> None:
    photo = Image.new("RGB", (90, 30), (255, 0, 0))
    photo.paste((0, 0, 255), (30, 0, 60, 30))  # the centre square is blue, the sides red
    scene = scene_from_photo(photo, 48)
    assert scene.shape == (3, 48, 48) and scene.dtype == torch.float32
    torch.testing.assert_close(scene[:, 4:-4, 4:-4], torch.tensor([0.0, 0.0, 1.0]).view(3, 1, 1).expand(3, 40, 40),
                               rtol=0, atol=1e-6)  # fmt: skip


def test_predictions_after_nms_are_among_those_before_and_the_mode_is_kept() -> None:
    model = Detector(SPEC).train()
    with torch.no_grad():
        model.head[-1].bias.view(SPEC.anchors_per_cell, -1)[:, 4] = -5.0  # background unlikely: many boxes
    pred = predict_scenes(model, torch.rand(2, 3, 48, 48), mean=(0.5,) * 3, std=(0.25,) * 3, score_threshold=0.1)
    assert model.training
    for before, after in zip(pred.before_nms, pred.after_nms, strict=True):
        assert 0 < len(after) <= len(before)
        pairs = {(tuple(b), int(c)) for b, c in zip(before.boxes.tolist(), before.labels, strict=True)}
        assert all((tuple(b), int(c)) in pairs for b, c in zip(after.boxes.tolist(), after.labels, strict=True))
    with pytest.raises(ConfigError, match="score threshold"):
        predict_scenes(model, torch.rand(1, 3, 48, 48), mean=(0.5,) * 3, std=(0.25,) * 3, score_threshold=1.5)
