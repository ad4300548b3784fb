"""The data sets by name: one entry each says what a set holds and how to get it; one seeded way to load a split.

Every loader returns a :class:`~cnnviz.data.split.DataSplit` of float32 tensors (N, C, H, W) in
[0, 1] with int64 labels. The procedural sets are deterministic by seed and of any size (up to a
memory cap); the downloaded ones come from checksum-verified files. Adding a data set is one
entry in ``DATASETS``; an unknown name raises a DataError that lists the known ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.data.digits import DIGITS_CLASSES, make_digits
from cnnviz.data.downloads import Progress, RemoteSource, _fetch
from cnnviz.data.formats import read_cifar10, read_idx
from cnnviz.data.scenes import MAX_SCENES, SCENE_CLASSES, SCENE_SIZE, _scene_arrays
from cnnviz.data.shapes import SHAPES_CLASSES, SHAPES_SIZES, make_shapes
from cnnviz.data.split import DataSplit, _to_tensor
from cnnviz.errors import ConfigError, DataError

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "FASHION_CLASSES",
    "REMOTE_SOURCES",
    "IMAGE_SIZES",
    "DatasetInfo",
    "available_datasets",
    "dataset_info",
    "dataset_stats",
    "image_limit",
    "load_dataset",
]

Arrays = tuple[np.ndarray, np.ndarray]  # uint8 images (N, H, W, C), int64 labels (N,)


IMAGE_SIZES = SHAPES_SIZES  # the smallest and largest side a classification set can be loaded at (image_size=)


FASHION_CLASSES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
)  # fmt: skip


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass(frozen=True)
class DatasetInfo:
    """What a data set holds and how to get it: drawn by a seeded generator, or downloaded and parsed."""

    name: str  # registry name, lower case ("shapes")
    class_names: tuple[str, ...]  # label index → class name (the data labels; display names live in the catalogs)
    mean: tuple[float, ...]  # per-channel normalisation mean, the constant models are trained with
    std: tuple[float, ...]  # per-channel normalisation std
    image_size: int  # H == W of every image
    in_channels: int  # C: 1 grayscale, 3 RGB
    generate: Callable[..., Arrays] | None = None  # procedural: generate(n, seed=...) → images, labels
    max_images: int | None = None  # procedural: largest n_train + n_val drawn in one call at image_size (memory cap)
    any_size: bool = False  # procedural: generate(n, seed=, size=) draws at any side of IMAGE_SIZES; others are resized
    source: RemoteSource | None = None  # downloaded: where the files live, with their md5
    read: Callable[[dict[str, Path]], tuple[Arrays, Arrays]] | None = None  # downloaded: files → (train, test)
    digit_style: bool = False  # photos are prepared like MNIST digits: white ink on black, fitted, centred by mass
    task: str = "classification"  # "classification": one label per image; "scenes": masks and boxes (load_scenes)

    @property
    def procedural(self) -> bool:
        """True when the set is drawn here, offline, by a seeded generator (examples can be drawn from it)."""
        return self.generate is not None


def _read_idx_set(paths: dict[str, Path]) -> tuple[Arrays, Arrays]:
    """Parse MNIST-layout IDX files (train and t10k images and labels) into ((train), (test))."""
    parts = []
    for part in ("train", "t10k"):
        images = read_idx(paths[f"{part}-images-idx3-ubyte.gz"])
        labels = read_idx(paths[f"{part}-labels-idx1-ubyte.gz"]).astype(np.int64)
        if images.ndim != 3 or len(images) != len(labels):
            raise DataError.from_key("errors.idx_mismatch", images=len(images), labels=len(labels))
        parts.append((images[..., None], labels))  # (N, H, W, 1)
    return parts[0], parts[1]


def _read_cifar_set(paths: dict[str, Path]) -> tuple[Arrays, Arrays]:
    return read_cifar10(paths["cifar-10-python.tar.gz"])


_IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz")  # fmt: skip


def _idx_source(mirrors: tuple[str, ...], md5s: tuple[str, ...], sizes: tuple[int, ...]) -> RemoteSource:
    """The four IDX files of an MNIST-layout set, in _IDX_FILES order, with their md5 and size."""
    return RemoteSource(mirrors=mirrors, files=tuple(zip(_IDX_FILES, md5s, sizes, strict=True)))


DATASETS: dict[str, DatasetInfo] = {
    "shapes": DatasetInfo(
        "shapes", SHAPES_CLASSES, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), image_size=64, in_channels=3,
        generate=make_shapes, max_images=30_000, any_size=True,
    ),
    "digits": DatasetInfo(  # MNIST's statistics, as the digits imitate MNIST
        "digits", DIGITS_CLASSES, mean=(0.1307,), std=(0.3081,), image_size=28, in_channels=1,
        generate=make_digits, max_images=120_000, digit_style=True,
    ),
    "scenes": DatasetInfo(  # objects on textures; generate gives the class masks, load_scenes the boxes too
        "scenes", SCENE_CLASSES, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), image_size=SCENE_SIZE,
        in_channels=3, generate=_scene_arrays, max_images=MAX_SCENES, task="scenes",
    ),
    "mnist": DatasetInfo(
        "mnist", DIGITS_CLASSES, mean=(0.1307,), std=(0.3081,), image_size=28, in_channels=1, digit_style=True,
        read=_read_idx_set, source=_idx_source(
            ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
            ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
             "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
            (9_912_422, 28_881, 1_648_877, 4_542),
        ),
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", FASHION_CLASSES, mean=(0.2860,), std=(0.3530,), image_size=28, in_channels=1,
        read=_read_idx_set, source=_idx_source(
            ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
             "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
            (26_421_880, 29_515, 4_422_102, 5_148),
        ),
    ),
    "cifar10": DatasetInfo(
        "cifar10", CIFAR10_CLASSES, mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616), image_size=32,
        in_channels=3, read=_read_cifar_set, source=RemoteSource(
            mirrors=("https://www.cs.toronto.edu/~kriz/",),
            files=(("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170_498_071),),
        ),
    ),
}  # fmt: skip


# Where each downloadable set lives (read-only view of the registry's sources).
REMOTE_SOURCES = MappingProxyType({name: info.source for name, info in DATASETS.items() if info.source is not None})


def available_datasets(task: str = "classification") -> list[str]:
    """Return the names of the data sets for ``task``: the procedural ones (offline) first, then the downloadable ones.

    The default lists the classification sets (one label per image); ``task="scenes"`` the scenes.
    """
    names = [name for name, info in DATASETS.items() if info.task == task]
    return sorted(names, key=lambda name: not DATASETS[name].procedural)


def dataset_info(name: str) -> DatasetInfo:
    """Return the registry entry of ``name`` (case and surrounding spaces ignored).

    Raises DataError for an unknown name; the message lists the known ones.
    """
    key = name.lower().strip()
    if key not in DATASETS:
        raise DataError.from_key("errors.dataset_unknown", name=repr(name), known=", ".join(available_datasets()))
    return DATASETS[key]


def dataset_stats(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Return (mean, std) per channel used to normalise data set ``name``; DataError for an unknown name."""
    info = dataset_info(name)
    return info.mean, info.std


def load_dataset(
    name: str,
    *,
    n_train: int,
    n_val: int,
    seed: int = 0,
    image_size: int | None = None,
    root: str | Path | None = None,
    progress: Progress | None = None,
) -> DataSplit:
    """Return a seeded train/validation split of ``name`` (see available_datasets()).

    Procedural sets draw train and validation images from independent seeded streams, so the
    validation images do not depend on n_train. Downloaded sets draw n_train images from the
    official training set and n_val from the official test set. ``image_size`` (a side within
    IMAGE_SIZES; None: the set's own) draws the images at that side where the generator can
    (shapes), and resizes them otherwise (bilinear, antialiased). Raises ConfigError for bad
    counts or sizes and DataError for an unknown name or when the data cannot be had (offline, corrupt file, ...).
    """
    info = dataset_info(name)
    size = info.image_size if image_size is None else int(image_size)
    _check_counts(info, n_train, n_val, size)
    train_seq, val_seq = np.random.SeedSequence(seed).spawn(2)
    native = {"size": size} if info.any_size and size != info.image_size else {}
    if info.generate is not None:
        train_x, train_y = info.generate(n_train, seed=train_seq, **native)
        val_x, val_y = info.generate(n_val, seed=val_seq, **native)
    else:
        train, test = info.read(_fetch(info.name, info.source, root, progress))
        train_x, train_y = _subset(*train, n_train, np.random.default_rng(train_seq), info.name, "training")
        val_x, val_y = _subset(*test, n_val, np.random.default_rng(val_seq), info.name, "test")
    drawn = info.image_size if not native else size
    expected = (drawn, drawn, info.in_channels)
    if train_x.shape[1:] != expected or val_x.shape[1:] != expected:
        got = "×".join(map(str, train_x.shape[1:]))
        raise DataError.from_key("errors.dataset_wrong_size", name=info.name, size=got,
                                 expected="×".join(map(str, expected)))  # fmt: skip
    return DataSplit(
        train_x=_resized(_to_tensor(train_x), size),  # (N, C, size, size) in [0, 1]
        train_y=torch.from_numpy(train_y.astype(np.int64)),
        val_x=_resized(_to_tensor(val_x), size),
        val_y=torch.from_numpy(val_y.astype(np.int64)),
        class_names=info.class_names,
        in_channels=info.in_channels,
        image_size=size,
        name=info.name,
        mean=info.mean,
        std=info.std,
    )


def _check_counts(info: DatasetInfo, n_train: int, n_val: int, size: int) -> None:
    """Raise ConfigError unless 1 ≤ n_train, 0 ≤ n_val and the side is allowed, within the memory cap.

    The cap is in pixels: ``max_images`` at the set's own side, more images at a smaller side, fewer at a larger.
    """
    if n_train < 1 or n_val < 0:
        raise ConfigError.from_key("errors.dataset_counts", n_train=n_train, n_val=n_val)
    if size != info.image_size and (info.task != "classification" or not IMAGE_SIZES[0] <= size <= IMAGE_SIZES[1]):
        raise ConfigError.from_key("errors.dataset_image_size", size=size, name=info.name, own=info.image_size,
                                   low=IMAGE_SIZES[0], high=IMAGE_SIZES[1])  # fmt: skip
    limit = image_limit(info, size)
    if limit is not None and n_train + n_val > limit:
        raise ConfigError.from_key("errors.dataset_too_many", total=n_train + n_val, name=info.name,
                                   limit=limit)  # fmt: skip


def image_limit(info: DatasetInfo, size: int) -> int | None:
    """Return the most images of ``info`` loaded at side ``size`` in one call (None: no cap), the same pixels in all."""
    if info.max_images is None:
        return None
    return info.max_images * info.image_size**2 // size**2


def _resized(x: torch.Tensor, size: int) -> torch.Tensor:
    """Return images (N, C, H, W) at side ``size``: unchanged when they have it, else bilinear with antialiasing."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp_(0.0, 1.0)


def _subset(
    x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator, name: str, part: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` images drawn without replacement (ConfigError when there are fewer)."""
    if n > len(x):
        key = "errors.dataset_too_few_training" if part == "training" else "errors.dataset_too_few_test"
        raise ConfigError.from_key(key, name=name, have=len(x), n=n)
    idx = np.sort(rng.choice(len(x), size=n, replace=False))
    return x[idx], y[idx]
