"""The procedural scenes: boxes against the masks (recomputed here with numpy), seeds, counts, balance, splits."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from cnnviz.data import (
    DATASETS,
    SCENE_CLASSES,
    available_datasets,
    load_dataset,
    load_scenes,
    make_scenes,
    pad_targets,
)
from cnnviz.errors import ConfigError


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(120, seed=3)


def test_images_masks_and_boxes_have_the_documented_form(scenes) -> None:
    assert scenes.images.shape == (120, 3, 96, 96) and scenes.images.dtype == torch.float32
    assert float(scenes.images.min()) >= 0.0 and float(scenes.images.max()) <= 1.0
    assert scenes.masks.shape == (120, 96, 96) and scenes.masks.dtype == torch.int64
    assert int(scenes.masks.min()) == 0 and int(scenes.masks.max()) == len(SCENE_CLASSES)
    assert len(scenes.boxes) == len(scenes.labels) == 120 and scenes.class_names == SCENE_CLASSES
    for b, c in zip(scenes.boxes, scenes.labels, strict=True):
        assert b.dtype == torch.float32 and b.shape == (len(c), 4) and c.dtype == torch.int64


def test_each_box_is_the_extent_of_its_objects_visible_mask_pixels(scenes) -> None:
    masks, instances = scenes.masks.numpy(), scenes.instances.numpy()
    for i, (boxes, labels) in enumerate(zip(scenes.boxes, scenes.labels, strict=True)):
        assert set(np.unique(instances[i])) == set(range(len(labels) + 1))  # every object kept is seen
        np.testing.assert_array_equal(masks[i] == 0, instances[i] == 0)
        for k, (box, label) in enumerate(zip(boxes.tolist(), labels.tolist(), strict=True)):
            ys, xs = np.nonzero(instances[i] == k + 1)
            assert box == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], (i, k)  # pixel edges
            assert (masks[i][ys, xs] == label + 1).all()


def test_objects_stand_out_from_the_background_around_them(scenes) -> None:
    contrast = []
    for i, boxes in enumerate(scenes.boxes):
        img, inst = scenes.images[i].numpy(), scenes.instances[i].numpy()
        for k, box in enumerate(boxes.int().tolist()):
            x1, y1, x2, y2 = box
            inside = inst[y1:y2, x1:x2]
            patch = img[:, y1:y2, x1:x2]
            if (inside == 0).sum() < 10:
                continue
            gap = patch[:, inside == k + 1].mean(1) - patch[:, inside == 0].mean(1)
            contrast.append(np.linalg.norm(gap))
    assert np.mean(np.array(contrast) > 0.15) > 0.9  # colours drawn ≥ 0.5 from the background's base colour


def test_same_seed_same_scenes_other_seed_other_scenes() -> None:
    a, b, c = make_scenes(20, seed=5), make_scenes(20, seed=5), make_scenes(20, seed=6)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert all(torch.equal(x, y) for x, y in zip(a.boxes, b.boxes, strict=True))
    assert all(torch.equal(x, y) for x, y in zip(a.labels, b.labels, strict=True))
    assert not torch.equal(a.images, c.images)


@pytest.mark.parametrize("max_objects", [1, 3, 5])
def test_every_scene_holds_one_to_max_objects(max_objects: int) -> None:
    scenes = make_scenes(150, seed=1, max_objects=max_objects, size=64)
    counts = np.array([len(c) for c in scenes.labels])
    assert counts.min() >= 1 and counts.max() <= max_objects
    assert set(counts.tolist()) == set(range(1, max_objects + 1))  # every count occurs


def test_classes_are_roughly_balanced(scenes) -> None:
    counts = np.bincount(torch.cat(scenes.labels).numpy(), minlength=len(SCENE_CLASSES))
    share = counts / counts.sum()
    np.testing.assert_allclose(share, 1 / len(SCENE_CLASSES), atol=0.05)  # a few hidden objects are left out


def test_pad_targets_rows_and_padding(scenes) -> None:
    targets = pad_targets(scenes.boxes, scenes.labels, 5)
    assert targets.shape == (120, 5, 5) and targets.dtype == torch.float32
    for i, (boxes, labels) in enumerate(zip(scenes.boxes, scenes.labels, strict=True)):
        n = len(labels)
        assert targets[i, :n, 0].tolist() == labels.float().tolist()
        assert torch.equal(targets[i, :n, 1:], boxes)
        assert (targets[i, n:, 0] == -1).all() and (targets[i, n:, 1:] == 0).all()
    with pytest.raises(ConfigError, match="max_objects"):
        pad_targets(scenes.boxes, scenes.labels, 0)


def test_load_scenes_targets_and_the_registry_entry() -> None:
    masks = load_scenes(n_train=6, n_val=4, seed=2)
    boxes = load_scenes(n_train=6, n_val=4, seed=2, target="boxes", size=128)
    assert masks.train_y.shape == (6, 96, 96) and masks.class_names == ("background", *SCENE_CLASSES)
    assert boxes.train_y.shape == (6, 5, 5) and boxes.val_x.shape == (4, 3, 128, 128)
    assert boxes.class_names == SCENE_CLASSES and (boxes.image_size, boxes.in_channels) == (128, 3)
    assert torch.equal(boxes.val_y, pad_targets(boxes.val_scenes.boxes, boxes.val_scenes.labels, 5))
    same = load_dataset("scenes", n_train=6, n_val=4, seed=2)  # the registry draws the same scenes and masks
    torch.testing.assert_close(same.train_x, masks.train_x, rtol=0, atol=0)
    assert torch.equal(same.train_y, masks.train_y) and torch.equal(same.val_y, masks.val_y)
    assert torch.equal(load_scenes(n_train=2, n_val=4, seed=2).val_x, masks.val_x)  # independent of n_train
    assert DATASETS["scenes"].task == "scenes" and "scenes" not in available_datasets()
    assert available_datasets("scenes") == ["scenes"]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ConfigError, match="mask, boxes"):
        load_scenes(n_train=2, n_val=1, target="labels")
    with pytest.raises(ConfigError, match="multiple of 16"):
        make_scenes(2, size=100)
    with pytest.raises(ConfigError, match="1 to 8"):
        make_scenes(2, max_objects=0)
    with pytest.raises(ConfigError, match="n_train"):
        load_scenes(n_train=0, n_val=1)
    assert len(make_scenes(0)) == 0


def test_generation_is_fast() -> None:
    start = time.process_time()  # CPU seconds of this process: a machine shared with other work does not count
    make_scenes(1000, seed=0)
    assert time.process_time() - start < 8.0  # about 1.5 s of CPU; per-pixel Python loops would take minutes
