"""The data sets by name: their classes, statistics and loaders, and one seeded way to load a split.

Every loader returns a :class:`~cnnviz.data.split.DataSplit` of float32 tensors (N, C, H, W) in
[0, 1] with int64 labels. The procedural sets are deterministic by seed and of any size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cnnviz.data.digits import DIGITS_CLASSES, make_digits
from cnnviz.data.downloads import REMOTE_SOURCES, Progress, _fetch
from cnnviz.data.formats import read_cifar10, read_idx
from cnnviz.data.shapes import SHAPES_CLASSES, make_shapes
from cnnviz.data.split import DataSplit, _to_tensor
from cnnviz.errors import ConfigError, DataError

__all__ = ["CIFAR10_CLASSES", "FASHION_CLASSES", "available_datasets", "dataset_stats", "load_dataset"]


FASHION_CLASSES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
)  # fmt: skip


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# Per-data-set normalisation (mean, std per channel), the constants the models are trained with.
_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "shapes": ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
    "digits": ((0.1307,), (0.3081,)),  # MNIST's, as the digits imitate MNIST
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}


# Largest n_train + n_val a procedural set will generate in one call (memory guard).
_MAX_GENERATED = {"shapes": 30_000, "digits": 120_000}


def available_datasets() -> list[str]:
    """Return the data set names: the procedural ones (offline) first, then the downloadable ones."""
    return ["shapes", "digits", *REMOTE_SOURCES]


def dataset_stats(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Return (mean, std) per channel used to normalise data set ``name``."""
    if name not in _STATS:
        raise DataError(f"Unknown data set {name!r}: choose one of {', '.join(available_datasets())}.")
    return _STATS[name]


def load_dataset(
    name: str,
    *,
    n_train: int,
    n_val: int,
    seed: int = 0,
    root: str | Path | None = None,
    progress: Progress | None = None,
) -> DataSplit:
    """Return a seeded train/validation split of ``name`` (see available_datasets()).

    Procedural sets draw train and validation images from independent seeded streams, so the
    validation images do not depend on n_train. Downloaded sets draw n_train images from the
    official training set and n_val from the official test set. Raises ConfigError for bad
    counts and DataError when the data cannot be had (offline, corrupt file, ...).
    """
    key = name.lower().strip()
    if key not in available_datasets():
        raise DataError(f"Unknown data set {name!r}: choose one of {', '.join(available_datasets())}.")
    _check_counts(key, n_train, n_val)
    train_seq, val_seq = np.random.SeedSequence(seed).spawn(2)
    if key in _MAX_GENERATED:
        make = make_shapes if key == "shapes" else make_digits
        train_x, train_y = make(n_train, seed=train_seq)
        val_x, val_y = make(n_val, seed=val_seq)
        classes = SHAPES_CLASSES if key == "shapes" else DIGITS_CLASSES
    else:
        (tx, ty), (vx, vy), classes = _load_remote(key, root=root, progress=progress)
        train_x, train_y = _subset(tx, ty, n_train, np.random.default_rng(train_seq), key, "training")
        val_x, val_y = _subset(vx, vy, n_val, np.random.default_rng(val_seq), key, "test")
    mean, std = _STATS[key]
    return DataSplit(
        train_x=_to_tensor(train_x),
        train_y=torch.from_numpy(train_y.astype(np.int64)),
        val_x=_to_tensor(val_x),
        val_y=torch.from_numpy(val_y.astype(np.int64)),
        class_names=classes,
        in_channels=len(mean),
        image_size=int(train_x.shape[1]),
        name=key,
        mean=mean,
        std=std,
    )


def _check_counts(name: str, n_train: int, n_val: int) -> None:
    """Raise ConfigError unless 1 ≤ n_train and 0 ≤ n_val, within the memory guard."""
    if n_train < 1 or n_val < 0:
        raise ConfigError(f"n_train={n_train}, n_val={n_val} are not allowed: use n_train ≥ 1 and n_val ≥ 0.")
    limit = _MAX_GENERATED.get(name)
    if limit is not None and n_train + n_val > limit:
        raise ConfigError(
            f"n_train + n_val = {n_train + n_val} images of {name!r} would use too much memory: "
            f"ask for at most {limit} in total."
        )


def _subset(
    x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator, name: str, part: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` images drawn without replacement (ConfigError when there are fewer)."""
    if n > len(x):
        raise ConfigError(f"{name} has {len(x)} {part} images, fewer than the {n} asked for: ask for at most {len(x)}.")
    idx = np.sort(rng.choice(len(x), size=n, replace=False))
    return x[idx], y[idx]


def _load_remote(
    name: str, *, root: str | Path | None, progress: Progress | None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], tuple[str, ...]]:
    """Fetch and parse a downloadable set: ((train_x, train_y), (test_x, test_y), class names)."""
    paths = _fetch(name, root, progress)
    if name == "cifar10":
        train, test = read_cifar10(paths["cifar-10-python.tar.gz"])
        return train, test, CIFAR10_CLASSES
    images = {k: read_idx(paths[f"{k}-images-idx3-ubyte.gz"]) for k in ("train", "t10k")}
    labels = {k: read_idx(paths[f"{k}-labels-idx1-ubyte.gz"]).astype(np.int64) for k in ("train", "t10k")}
    for k in ("train", "t10k"):
        if images[k].ndim != 3 or len(images[k]) != len(labels[k]):
            raise DataError(f"{name} {k} images {images[k].shape} and labels {labels[k].shape} do not match.")
    classes = DIGITS_CLASSES if name == "mnist" else FASHION_CLASSES
    train = (images["train"][..., None], labels["train"])
    test = (images["t10k"][..., None], labels["t10k"])
    return train, test, classes
