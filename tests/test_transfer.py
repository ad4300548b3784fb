"""Transfer learning: a new head on EfficientNet-Lite0's frozen features from a zip of photos; the builder's network.

The zips are made here from the bundled sample photos (crops, mirror images, colour and brightness
changes), three classes of ten photos; held-out photos are other crops of the same pictures.
"""

from __future__ import annotations

import dataclasses
import io
import random
import zipfile
from pathlib import Path

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image, ImageEnhance, ImageOps
from torch import nn

from cnnviz import nets
from cnnviz.arch import build_network, preset_rows
from cnnviz.data import IMAGENET_MEAN, IMAGENET_STD, DataSplit
from cnnviz.errors import ConfigError
from cnnviz.train import (
    AUGMENTED_VIEWS,
    BUILT_MODEL,
    Augmentation,
    TrainConfig,
    Trainer,
    cache_features,
    head_name,
    load_archive_for,
    load_trained,
    pick_views,
    save_trained,
)

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"
CLASSES = ("cat", "coffee", "rocket")


def photo_zip(classes: tuple[str, ...] = CLASSES, per_class: int = 10, seed: int = 0) -> bytes:
    """A zip with one folder per class of ``per_class`` JPEGs cut from the sample photo of that name."""
    rng = random.Random(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in classes:
            photo = Image.open(SAMPLES / f"{name}.jpg").convert("RGB")
            for i in range(per_class):
                archive.writestr(f"{name}/{i}.jpg", _variation(photo, rng))
    return buffer.getvalue()


def _variation(photo: Image.Image, rng: random.Random) -> bytes:
    w, h = photo.size
    f = rng.uniform(0.6, 0.95)
    cw, ch = int(w * f), int(h * f)
    left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
    image = photo.crop((left, top, left + cw, top + ch))
    image = ImageOps.mirror(image) if rng.random() < 0.5 else image
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.5, 1.5))
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.7, 1.3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture(scope="module")
def lite0() -> nn.Module:
    return nets.build("efficientnet_lite0", weights="bundled")


@pytest.fixture(scope="module")
def photos() -> DataSplit:
    return load_archive_for(photo_zip(), nets.get_spec("efficientnet_lite0")).split


@pytest.fixture(scope="module")
def run(photos: DataSplit) -> Trainer:
    config = TrainConfig(model="efficientnet_lite0", transfer=True, epochs=10, batch_size=16, learning_rate=1e-3)
    trainer = Trainer(config, data=photos)
    trainer.fit()
    return trainer


def test_photos_are_prepared_the_imagenet_way(photos: DataSplit) -> None:
    """Short side resized to 256, centre crop 224: compared with torchvision's own resize and center_crop."""
    assert photos.train_x.shape[1:] == (3, 224, 224) and len(photos.train_x) + len(photos.val_x) == 30
    one = Image.open(SAMPLES / "coffee.jpg").convert("RGB")  # 600×400: a wide photo, cropped at the sides
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("a", "b"):
            png = io.BytesIO()
            one.save(png, "PNG")
            archive.writestr(f"{name}/1.png", png.getvalue())
            archive.writestr(f"{name}/2.png", png.getvalue())
    ours = load_archive_for(buffer.getvalue(), nets.get_spec("efficientnet_lite0")).split.train_x[0]  # (3, 224, 224)
    reference = TF.center_crop(TF.resize(TF.to_image(one), 256, antialias=True), 224)
    reference = TF.to_dtype(reference, torch.float32, scale=True)
    assert (ours - reference).abs().mean() < 0.02  # two resampling orders of the same photo, not one bit-exact


def test_the_cached_features_are_the_backbones_pooled_features(run: Trainer, lite0: nn.Module,
                                                               photos: DataSplit) -> None:  # fmt: skip
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        reference = lite0.forward_features((photos.val_x - mean) / std)  # (N_val, 1280), the model's own method
    torch.testing.assert_close(run._val_x, reference, rtol=1e-4, atol=1e-4)  # what the head was validated on
    assert run._views.shape == (1, len(photos.train_x), 1280)  # no augmentation: one view per image
    projection = run.history.features
    assert projection.points.shape == (len(photos.train_x) + len(photos.val_x), 2)
    assert projection.head_params == 1280 * 3 + 3
    assert projection.frozen_params + projection.head_params == sum(p.numel() for p in run.model.parameters())
    assert projection.frozen_params == sum(p.numel() for n, p in lite0.named_parameters() if not n.startswith("_fc."))


def test_augmented_views_are_cached_once_and_each_epoch_picks_one_per_image(lite0: nn.Module) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 32, 32, generator=gen)
    split = DataSplit(x, torch.arange(3) % 2, x[:2], torch.arange(2), ("a", "b"), 3, 32, "toy")
    cache = cache_features(lite0, head_name(lite0), split, mean=(0.5,) * 3, std=(0.5,) * 3,
                           augmentation=Augmentation(flip=True), generator=gen, device=torch.device("cpu"))  # fmt: skip
    assert cache.train.shape == (1 + AUGMENTED_VIEWS, 3, 1280)
    with torch.no_grad():  # view 0 is each image as it is; the others are the image or its mirror image
        plain, mirrored = (lite0.forward_features((v - 0.5) / 0.5) for v in (x, x.flip(-1)))  # (3, 1280) each
    torch.testing.assert_close(cache.train[0], plain, rtol=1e-4, atol=1e-4)
    close = lambda a, b: torch.allclose(a, b, rtol=1e-4, atol=1e-4)  # noqa: E731
    kinds = [[close(cache.train[v, i], mirrored[i]) for i in range(3)] for v in range(1, 1 + AUGMENTED_VIEWS)]
    assert all(close(cache.train[v + 1, i], plain[i]) or kind[i] for v, kind in enumerate(kinds) for i in range(3))
    assert any(any(kind) for kind in kinds)  # 12 coin flips, all tails: 1 in 4,096 (the seed fixes it)
    picked = pick_views(cache.train, gen)  # (3, 1280)
    for i in range(3):
        assert any(torch.equal(picked[i], cache.train[v, i]) for v in range(cache.train.shape[0]))


def test_a_zip_of_photos_trains_a_head_on_frozen_features(run: Trainer, lite0: nn.Module) -> None:
    history = run.history
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss
    assert history.features is not None and history.features.dims == 1280
    assert run.model._fc.out_features == 3
    held_out = load_archive_for(photo_zip(per_class=4, seed=1), nets.get_spec("efficientnet_lite0")).split
    trained = run.trained()
    x = torch.cat([held_out.train_x, held_out.val_x])  # (12, 3, 224, 224): other crops of the same photos
    y = torch.cat([held_out.train_y, held_out.val_y])
    mean, std = torch.tensor(trained.mean).view(1, 3, 1, 1), torch.tensor(trained.std).view(1, 3, 1, 1)
    with torch.no_grad():
        accuracy = (trained.model((x - mean) / std).argmax(1) == y).float().mean().item()
    assert trained.mean == IMAGENET_MEAN and trained.class_names == CLASSES
    assert accuracy >= 0.8  # chance is 1/3


def test_the_frozen_backbone_and_its_batch_norm_statistics_are_unchanged(run: Trainer, lite0: nn.Module) -> None:
    trained, bundled = run.model.state_dict(), lite0.state_dict()
    backbone = [k for k in bundled if not k.startswith("_fc.")]
    assert any(k.endswith("running_var") for k in backbone) and any(k.endswith("num_batches_tracked") for k in backbone)
    for key in backbone:  # weights, running means and variances, batch counters
        torch.testing.assert_close(trained[key], bundled[key], rtol=0, atol=0, msg=key)
    assert all(not m.training for m in run.model.modules() if isinstance(m, nn.BatchNorm2d))


def test_batch_norm_of_a_frozen_part_stays_in_eval_mode_without_the_cache() -> None:
    """A model whose frozen convolution and batch norm sit before two trainable layers: no cache, stats kept."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                          nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))  # fmt: skip
    model[1].running_mean.fill_(0.3)
    model[0].requires_grad_(False)
    model[1].requires_grad_(False)
    before = {k: v.clone() for k, v in model[1].state_dict().items()}
    x = torch.rand(48, 3, 16, 16)
    split = DataSplit(x, torch.arange(48) % 3, x[:12], torch.arange(12) % 3, ("a", "b", "c"), 3, 16, "toy")
    trainer = Trainer(TrainConfig(epochs=2, batch_size=16), data=split, model=model)
    trainer.fit()
    for key, value in model[1].state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0, msg=key)
    assert trainer.history.features is None  # trainable layers after the frozen ones: images, not features


def test_the_transfer_download_loads_back_with_weights_only(run: Trainer, photos: DataSplit) -> None:
    data = save_trained(run.trained())
    torch.load(io.BytesIO(data), weights_only=True)  # no pickled code
    loaded = load_trained(data)
    x = (photos.val_x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), run.trained().model(x), rtol=1e-5, atol=1e-5)
    assert loaded.class_names == CLASSES and loaded.config.transfer and loaded.image_size == 224


# --------------------------------------------------------------------------- a network from the builder


def test_a_built_network_trains_on_shapes_and_loads_back() -> None:
    rows = preset_rows("tinyvgg")
    config = TrainConfig(model=BUILT_MODEL, architecture=rows, n_train=64, n_val=32, epochs=1, batch_size=16)
    trainer = Trainer(config)
    history = trainer.fit()
    assert len(history.epochs) == 1 and history.epochs[0].val_loss > 0
    reference = build_network(rows, in_channels=3, image_size=64, num_classes=8)  # the builder's own build
    assert sum(p.numel() for p in trainer.model.parameters()) == sum(p.numel() for p in reference.parameters())
    loaded = load_trained(save_trained(trainer.trained()))
    assert loaded.config.architecture == tuple(rows)
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(loaded.model(x), trainer.trained().model(x), rtol=0, atol=0)


def test_an_impossible_built_network_says_which_row() -> None:
    rows = preset_rows("mistake")  # a linear layer straight after a convolution
    config = TrainConfig(model=BUILT_MODEL, architecture=rows, n_train=32, n_val=16, epochs=1)
    with pytest.raises(ConfigError, match="row 3"):
        Trainer(config).fit()
    with pytest.raises(ConfigError, match="no layers"):
        TrainConfig(model=BUILT_MODEL)
    with pytest.raises(ConfigError, match="no trained weights to transfer"):
        dataclasses.replace(config, transfer=True)
