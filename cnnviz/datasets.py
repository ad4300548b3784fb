"""Data sets: procedural "shapes" and "digits" that work offline, and MNIST / Fashion-MNIST / CIFAR-10 downloads.

Every loader returns a `DataSplit` of float32 tensors (N, C, H, W) in [0, 1] with int64 labels.
The procedural sets are deterministic by seed and of any size. Downloads are checksum-verified,
cached in the user cache folder, and parsed without unpickling arbitrary objects.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from cnnviz.errors import ConfigError, DataError

__all__ = [
    "CIFAR10_CLASSES",
    "DIGITS_CLASSES",
    "FASHION_CLASSES",
    "FONTS_DIR",
    "REMOTE_SOURCES",
    "SHAPES_CLASSES",
    "DataSplit",
    "RemoteSource",
    "available_datasets",
    "cache_dir",
    "dataset_stats",
    "download",
    "load_dataset",
    "make_digits",
    "make_shapes",
    "read_cifar10",
    "read_idx",
]

SHAPES_CLASSES = ("circle", "square", "triangle", "star", "cross", "ring", "stripes", "checker")
DIGITS_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
)  # fmt: skip
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FONTS_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"

Progress = Callable[[int, int], None]  # progress(done_bytes, total_bytes); total 0 when unknown

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


@dataclass(frozen=True, eq=False)
class DataSplit:
    """A train/validation split ready for training: float32 (N, C, H, W) in [0, 1], int64 labels."""

    train_x: torch.Tensor  # (N_train, C, H, W) float32 in [0, 1]
    train_y: torch.Tensor  # (N_train,) int64 class indices
    val_x: torch.Tensor  # (N_val, C, H, W) float32 in [0, 1]
    val_y: torch.Tensor  # (N_val,) int64 class indices
    class_names: tuple[str, ...]  # class index → name
    in_channels: int  # C
    image_size: int  # H == W
    name: str  # data set name ("shapes", "mnist", ...)
    mean: tuple[float, ...] = (0.5,)  # per-channel normalisation mean for this data set
    std: tuple[float, ...] = (0.5,)  # per-channel normalisation std for this data set


@dataclass(frozen=True)
class RemoteSource:
    """Where a downloadable data set lives: mirrors tried in order, and its files with md5 and size."""

    mirrors: tuple[str, ...]  # base URLs ending with "/"
    files: tuple[tuple[str, str, int], ...]  # (file name, md5, approximate size in bytes)


REMOTE_SOURCES: dict[str, RemoteSource] = {
    "mnist": RemoteSource(
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        files=(
            ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9_912_422),
            ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28_881),
            ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1_648_877),
            ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4_542),
        ),
    ),
    "fashion-mnist": RemoteSource(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files=(
            ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26_421_880),
            ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", 29_515),
            ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", 4_422_102),
            ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", 5_148),
        ),
    ),
    "cifar10": RemoteSource(
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        files=(("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170_498_071),),
    ),
}


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


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    """Convert uint8 (N, H, W, C) to float32 (N, C, H, W) in [0, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def _subset(
    x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator, name: str, part: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` images drawn without replacement (ConfigError when there are fewer)."""
    if n > len(x):
        raise ConfigError(f"{name} has {len(x)} {part} images, fewer than the {n} asked for: ask for at most {len(x)}.")
    idx = np.sort(rng.choice(len(x), size=n, replace=False))
    return x[idx], y[idx]


def _balanced_labels(n: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` labels with every class equally often (±1), in random order."""
    return rng.permutation(np.arange(n) % num_classes).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# Shapes: 64×64 RGB, drawn with signed distance functions, vectorised over a chunk of images.
# ----------------------------------------------------------------------------------------------

_SHAPES_SIZE = 64
_CHUNK = 512
# Pixels a shape's centre may move from the image centre (TinyVGG's linear head is not shift-invariant).
_MAX_OFFSET = 10.0


def make_shapes(n: int, *, seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` shape images: uint8 (n, 64, 64, 3) and int64 labels (n,) indexing SHAPES_CLASSES.

    Each image has a random class (balanced), position, size, rotation, foreground and background
    colour, background gradient and noise. The same seed gives the same images.
    """
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n, len(SHAPES_CLASSES), rng)
    params = _shape_params(n, rng)
    images = np.empty((n, _SHAPES_SIZE, _SHAPES_SIZE, 3), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        part = slice(start, min(start + _CHUNK, n))
        chunk = {k: v[part] for k, v in params.items()}
        images[part] = _render_shapes(labels[part], chunk, rng)
    return images, labels


def _shape_params(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw every per-image random setting at once (keeps the stream independent of chunking)."""
    size = _SHAPES_SIZE
    radius = rng.uniform(12.0, 24.0, n)
    reach = np.minimum(_MAX_OFFSET, size / 2 - radius - 1.0)  # how far the centre may move from the middle
    fg = rng.uniform(0.0, 1.0, (n, 3))
    bg = rng.uniform(0.0, 1.0, (n, 3))
    for _ in range(8):  # redraw foregrounds too close to their background
        close = np.linalg.norm(fg - bg, axis=1) < 0.45
        fg[close] = rng.uniform(0.0, 1.0, (int(close.sum()), 3))
    params = {
        "radius": radius,
        "cx": size / 2 + reach * rng.uniform(-1.0, 1.0, n),
        "cy": size / 2 + reach * rng.uniform(-1.0, 1.0, n),
        "angle": rng.uniform(0.0, 2 * np.pi, n),
        "period": rng.uniform(7.0, 16.0, n),  # texture period in pixels
        "phase": rng.uniform(0.0, 1.0, (n, 2)),
        "fg": fg,
        "bg": bg,
        "gradient": rng.uniform(-0.25, 0.25, n),
        "gradient_angle": rng.uniform(0.0, 2 * np.pi, n),
        "noise": rng.uniform(0.0, 0.06, n),
        "form": rng.uniform(0.0, 1.0, n),  # per-class shape variation: arm width, ring thickness, star depth
    }
    return {k: v.astype(np.float32) for k, v in params.items()}


def _render_shapes(labels: np.ndarray, p: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Render one chunk: uint8 (n, 64, 64, 3)."""
    n, size = len(labels), _SHAPES_SIZE
    grid = np.arange(size, dtype=np.float32) + 0.5
    gx, gy = grid[None, None, :], grid[None, :, None]  # (1, 1, W), (1, H, 1)
    cos = np.cos(p["angle"]).astype(np.float32)[:, None, None]
    sin = np.sin(p["angle"]).astype(np.float32)[:, None, None]
    dx, dy = gx - p["cx"].astype(np.float32)[:, None, None], gy - p["cy"].astype(np.float32)[:, None, None]
    u_px, v_px = dx * cos + dy * sin, -dx * sin + dy * cos  # (n, H, W) rotated pixel coordinates
    alpha = np.zeros((n, size, size), dtype=np.float32)
    for c, cls in enumerate(SHAPES_CLASSES):
        m = labels == c
        if m.any():
            alpha[m] = _shape_alpha(cls, u_px[m], v_px[m], {k: v[m] for k, v in p.items()})
    t = (dx * np.cos(p["gradient_angle"])[:, None, None] + dy * np.sin(p["gradient_angle"])[:, None, None]) / size
    background = p["bg"][:, None, None, :] + (p["gradient"][:, None, None] * t)[..., None]  # (n, H, W, 3)
    a = alpha[..., None]
    img = background * (1.0 - a) + p["fg"][:, None, None, :] * a
    img += rng.standard_normal(img.shape, dtype=np.float32) * p["noise"].astype(np.float32)[:, None, None, None]
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _shape_alpha(cls: str, u: np.ndarray, v: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """Return the anti-aliased coverage (n, H, W) in [0, 1] of class ``cls`` from a signed distance in pixels."""
    r = p["radius"].astype(np.float32)[:, None, None]
    if cls in ("stripes", "checker"):
        period = p["period"].astype(np.float32)[:, None, None]
        su = np.abs(np.mod(u / period + p["phase"][:, 0, None, None], 1.0) - 0.5)
        a = _coverage((su - 0.25) * period)  # stripes across u
        if cls == "stripes":
            return a
        sv = np.abs(np.mod(v / period + p["phase"][:, 1, None, None], 1.0) - 0.5)
        b = _coverage((sv - 0.25) * period)
        return a * (1 - b) + (1 - a) * b  # soft XOR: a checkerboard
    un, vn = u / r, v / r  # unit-radius coordinates
    form = p["form"][:, None, None]
    rho = np.sqrt(un * un + vn * vn)
    if cls == "circle":
        d = rho - 1.0
    elif cls == "square":
        d = np.maximum(np.abs(un), np.abs(vn)) - 0.8
    elif cls == "triangle":
        normals = [(np.cos(a), np.sin(a)) for a in np.deg2rad([90.0, 210.0, 330.0])]
        d = np.max([un * nx + vn * ny for nx, ny in normals], axis=0) - 0.55
    elif cls == "star":
        phi = np.arctan2(vn, un)
        wave = np.abs(2.0 * np.mod(phi * 5 / (2 * np.pi), 1.0) - 1.0)  # 1 at the 5 tips, 0 between
        inner = 0.35 + 0.15 * form  # inner radius of the star, relative to its tips at 1.05
        d = (rho - (inner + (1.05 - inner) * wave)) * 0.8
    elif cls == "cross":
        arm = 0.18 + 0.17 * form  # half-width of each bar
        horizontal = np.maximum(np.abs(un) - 1.0, np.abs(vn) - arm)
        vertical = np.maximum(np.abs(un) - arm, np.abs(vn) - 1.0)
        d = np.minimum(horizontal, vertical)
    elif cls == "ring":
        half = 0.15 + 0.15 * form  # half the ring's thickness
        d = np.abs(rho - (1.0 - half)) - half
    else:  # pragma: no cover - SHAPES_CLASSES and this function are kept in step
        raise DataError(f"No drawing rule for shape class {cls!r}.")
    return _coverage(d * r)


def _coverage(distance_px: np.ndarray) -> np.ndarray:
    """Map a signed distance in pixels (negative inside) to a one-pixel anti-aliased coverage."""
    return np.clip(0.5 - distance_px, 0.0, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Digits: 28×28 MNIST-like digits rendered from fonts, then warped in a batch with grid_sample.
# ----------------------------------------------------------------------------------------------

_DIGIT_SIZE = 28
_TEMPLATE_SCALE = 2  # templates are drawn at 2× and averaged down, for smooth edges


def _font_files() -> list[Path]:
    """Return the bundled TrueType fonts (may be empty; then PIL's built-in font is used)."""
    return sorted(FONTS_DIR.glob("*.ttf")) if FONTS_DIR.is_dir() else []


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> tuple[tuple[float, float], ...]:
    """Return a closed loop of points on an ellipse, starting at the top (for stroke digits)."""
    t = np.linspace(0.0, 2 * np.pi, 33)
    return tuple((cx + rx * float(np.sin(a)), cy - ry * float(np.cos(a))) for a in t)


# Handwriting-like digits as pen strokes in a box x∈[0, 0.7], y∈[0, 1] (y down): per digit, variants
# of ("s"mooth | "l"ine, points). Drawn with round pens of a few widths, they add the plain "1",
# open "4", crossed "7" and straight-stemmed "9" of handwriting that printed fonts lack.
# fmt: off
_STROKE_DIGITS: dict[int, tuple[tuple[tuple[str, tuple[tuple[float, float], ...]], ...], ...]] = {
    0: ((("s", _ellipse(0.35, 0.5, 0.3, 0.48)),), (("s", _ellipse(0.35, 0.5, 0.22, 0.48)),)),
    1: ((("l", ((0.35, 0.0), (0.35, 1.0))),), (("l", ((0.12, 0.2), (0.4, 0.0), (0.4, 1.0))),)),
    2: (
        (("s", ((0.05, 0.22), (0.15, 0.06), (0.35, 0.0), (0.55, 0.07), (0.62, 0.25), (0.5, 0.47), (0.25, 0.72),
                (0.02, 1.0))), ("l", ((0.02, 1.0), (0.68, 0.98)))),
        (("s", ((0.08, 0.15), (0.35, 0.0), (0.6, 0.18), (0.45, 0.5), (0.05, 0.98), (0.25, 0.85), (0.45, 0.95),
                (0.7, 0.92))),),
    ),
    3: (
        (("s", ((0.05, 0.12), (0.3, 0.0), (0.55, 0.08), (0.58, 0.26), (0.3, 0.46), (0.58, 0.62), (0.62, 0.82),
                (0.4, 1.0), (0.05, 0.9))),),
        (("l", ((0.05, 0.02), (0.62, 0.02), (0.3, 0.4))),
         ("s", ((0.3, 0.4), (0.58, 0.55), (0.62, 0.8), (0.4, 1.0), (0.05, 0.9)))),
    ),
    4: (
        (("l", ((0.5, 1.0), (0.5, 0.0), (0.0, 0.68), (0.7, 0.68))),),
        (("l", ((0.1, 0.0), (0.02, 0.6), (0.7, 0.6))), ("l", ((0.52, 0.25), (0.52, 1.0)))),
    ),
    5: (
        (("l", ((0.62, 0.0), (0.12, 0.0), (0.06, 0.44))),
         ("s", ((0.06, 0.44), (0.3, 0.36), (0.55, 0.46), (0.63, 0.7), (0.5, 0.93), (0.25, 1.0), (0.02, 0.9)))),
        (("l", ((0.12, 0.0), (0.06, 0.44))), ("l", ((0.12, 0.0), (0.62, 0.02))),
         ("s", ((0.06, 0.44), (0.4, 0.4), (0.62, 0.68), (0.4, 0.98), (0.02, 0.88)))),
    ),
    6: (
        (("s", ((0.55, 0.0), (0.3, 0.18), (0.1, 0.5), (0.06, 0.78), (0.25, 1.0), (0.5, 0.95), (0.6, 0.75),
                (0.45, 0.55), (0.2, 0.56), (0.07, 0.72))),),
        (("s", ((0.45, 0.0), (0.2, 0.35), (0.12, 0.7))), ("s", _ellipse(0.33, 0.75, 0.23, 0.25))),
    ),
    7: ((("l", ((0.0, 0.02), (0.68, 0.0), (0.25, 1.0))),),
        (("l", ((0.0, 0.02), (0.68, 0.0), (0.3, 1.0))), ("l", ((0.2, 0.5), (0.62, 0.5))))),
    8: ((("s", _ellipse(0.35, 0.25, 0.24, 0.24)), ("s", _ellipse(0.35, 0.73, 0.3, 0.27))),
        (("s", _ellipse(0.38, 0.24, 0.2, 0.24)), ("s", _ellipse(0.32, 0.72, 0.26, 0.28)))),
    9: (
        (("s", _ellipse(0.32, 0.28, 0.27, 0.27)), ("l", ((0.59, 0.28), (0.57, 0.6), (0.52, 1.0)))),
        (("s", _ellipse(0.3, 0.27, 0.26, 0.26)), ("s", ((0.56, 0.3), (0.55, 0.75), (0.35, 1.0), (0.1, 0.95)))),
    ),
}
# fmt: on
_PEN_WIDTHS = (6, 9, 12)  # pixels on the 112-pixel drawing canvas
_PEN_SHARE = 0.4  # fraction of digits drawn with pen strokes rather than fonts


def _digit_templates() -> tuple[np.ndarray, int]:
    """Return (templates float32 (T, 10, 56, 56), number of font rows): digits in every font and pen.

    Rows [0, F) are the bundled fonts at three stroke widths, rows [F, T) the handwriting-like pen
    strokes. Like MNIST: the glyph's long side fills 20/28 of the canvas and its centre of mass sits
    at the centre.
    """
    side = _DIGIT_SIZE * _TEMPLATE_SCALE
    fonts: list[Any] = []
    for path in _font_files():
        try:
            fonts.append(ImageFont.truetype(str(path), size=56))
        except OSError:
            continue
    if not fonts:
        fonts = [ImageFont.load_default(size=56)]
    rows = [[_fit_glyph(_font_canvas(str(d), font, stroke), side) for d in range(10)]
            for font in fonts for stroke in (0, 1, 2)]  # fmt: skip
    n_font_rows = len(rows)
    for variant in range(2):
        for width in _PEN_WIDTHS:
            rows.append([_fit_glyph(_pen_canvas(_STROKE_DIGITS[d][variant % len(_STROKE_DIGITS[d])], width), side)
                         for d in range(10)])  # fmt: skip
    return np.asarray(rows, dtype=np.float32), n_font_rows


def _font_canvas(text: str, font: Any, stroke: int) -> Image.Image:
    """Draw ``text`` white on a black 112×112 canvas with the given font and stroke width."""
    canvas = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(canvas).text((56, 56), text, fill=255, font=font, anchor="mm", stroke_width=stroke, stroke_fill=255)
    return canvas


def _pen_canvas(strokes: tuple[tuple[str, tuple[tuple[float, float], ...]], ...], width: int) -> Image.Image:
    """Draw pen strokes (unit-box points, smoothed when marked "s") with a round pen on a 112×112 canvas."""
    canvas = Image.new("L", (112, 112), 0)
    draw = ImageDraw.Draw(canvas)
    for kind, points in strokes:
        pts = np.asarray(points, dtype=np.float64)
        if kind == "s" and len(pts) > 2:
            pts = _catmull_rom(pts)
        xy = [(16 + 80 * x, 16 + 80 * y) for x, y in pts]
        draw.line(xy, fill=255, width=width, joint="curve")
        r = width / 2
        for x, y in (xy[0], xy[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return canvas


def _catmull_rom(points: np.ndarray, steps: int = 8) -> np.ndarray:
    """Return a smooth curve through ``points`` (K, 2): a Catmull-Rom spline sampled ``steps`` times per span."""
    padded = np.vstack([points[0], points, points[-1]])
    t = np.linspace(0.0, 1.0, steps, endpoint=False)[:, None]
    pieces = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        pieces.append(
            0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        )
    pieces.append(points[-1:])
    return np.vstack(pieces)


def _fit_glyph(canvas: Image.Image, side: int) -> np.ndarray:
    """Crop the ink, fit its long side to 20/28 of ``side`` and centre it by mass: float32 (side, side)."""
    box = canvas.getbbox()
    if box is None:  # a font without this glyph: leave the template blank
        return np.zeros((side, side), dtype=np.float32)
    crop = canvas.crop(box)
    fit = side * 20 / 28
    scale = fit / max(crop.size)
    w, h = max(1, round(crop.width * scale)), max(1, round(crop.height * scale))
    small = np.asarray(crop.resize((w, h), Image.Resampling.LANCZOS), dtype=np.float32).clip(0, 255) / 255.0
    total = small.sum()
    cy = small.sum(1) @ np.arange(h) / total
    cx = small.sum(0) @ np.arange(w) / total
    top = int(np.clip(round((side - 1) / 2 - cy), 0, side - h))
    left = int(np.clip(round((side - 1) / 2 - cx), 0, side - w))
    out = np.zeros((side, side), dtype=np.float32)
    out[top : top + h, left : left + w] = small
    return out


def make_digits(n: int, *, seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` MNIST-like digits: uint8 (n, 28, 28, 1), white on black, and int64 labels 0-9.

    Each digit comes from a random bundled font and stroke width (60 %) or handwriting-like pen
    strokes (40 %), then gets a random affine warp
    (rotation, shear, scale, shift), a smooth elastic wobble, thinner or thicker strokes and noise.
    The same seed gives the same images.
    """
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n, 10, rng)
    stack, n_font_rows = _digit_templates()
    templates = torch.from_numpy(stack)  # (T, 10, 56, 56)
    font_row = rng.integers(0, n_font_rows, n)
    pen_row = rng.integers(n_font_rows, len(stack), n)
    which = np.where(rng.random(n) < _PEN_SHARE, pen_row, font_row)
    params = _digit_params(n, rng)
    images = np.empty((n, _DIGIT_SIZE, _DIGIT_SIZE, 1), dtype=np.uint8)
    for start in range(0, n, _CHUNK * 4):
        part = slice(start, min(start + _CHUNK * 4, n))
        src = templates[torch.from_numpy(which[part]), torch.from_numpy(labels[part])].unsqueeze(1)  # (n, 1, 56, 56)
        chunk = {k: v[part] for k, v in params.items()}
        images[part, ..., 0] = _warp_digits(src, chunk)
    return images, labels


def _digit_params(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw every per-digit random setting at once."""
    return {
        "angle": rng.uniform(-0.3, 0.3, n),  # radians, about ±17°
        "shear": rng.uniform(-0.35, 0.35, n),
        "scale": rng.uniform(0.8, 1.12, n),
        "aspect": rng.uniform(0.8, 1.2, n),
        "shift": rng.uniform(-0.07, 0.07, (n, 2)),  # in [-1, 1] image units, about ±1 px
        "elastic": rng.normal(0.0, 1.0, (n, 2, 4, 4)) * rng.uniform(0.0, 0.05, (n, 1, 1, 1)),
        "morph": rng.integers(-1, 2, n),  # -1 thinner, 0 as drawn, 1 thicker
        "gain": rng.uniform(1.0, 1.6, n),
        "noise": rng.uniform(0.0, 0.04, n),
        "noise_field": rng.standard_normal((n, _DIGIT_SIZE, _DIGIT_SIZE)).astype(np.float32),
    }


def _warp_digits(src: torch.Tensor, p: dict[str, np.ndarray]) -> np.ndarray:
    """Warp templates (n, 1, 56, 56) with the drawn settings and return uint8 (n, 28, 28)."""
    n = src.shape[0]
    ang, shear = torch.from_numpy(p["angle"]).float(), torch.from_numpy(p["shear"]).float()
    sx = torch.from_numpy(1.0 / (p["scale"] * p["aspect"])).float()
    sy = torch.from_numpy(p["aspect"] / p["scale"]).float()
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.zeros(n, 2, 3)  # maps output coordinates to template coordinates
    theta[:, 0, 0], theta[:, 0, 1] = cos * sx, (-sin + shear * cos) * sx
    theta[:, 1, 0], theta[:, 1, 1] = sin * sy, (cos + shear * sin) * sy
    theta[:, :, 2] = torch.from_numpy(p["shift"]).float()
    side = src.shape[-1]
    grid = F.affine_grid(theta, [n, 1, side, side], align_corners=False)  # (n, 56, 56, 2)
    wobble = F.interpolate(torch.from_numpy(p["elastic"]).float(), size=(side, side), mode="bicubic")
    grid = grid + wobble.permute(0, 2, 3, 1)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    morph = torch.from_numpy(p["morph"])
    thick = F.max_pool2d(out, 3, stride=1, padding=1)
    thin = -F.max_pool2d(-out, 2, stride=1, padding=0)
    thin = F.pad(thin, (0, 1, 0, 1))
    out = torch.where((morph == 1).view(-1, 1, 1, 1), thick, out)
    out = torch.where((morph == -1).view(-1, 1, 1, 1), thin, out)
    out = F.avg_pool2d(out, _TEMPLATE_SCALE)[:, 0]  # (n, 28, 28)
    out = out * torch.from_numpy(p["gain"]).float().view(-1, 1, 1)
    out = out + torch.from_numpy(p["noise_field"]) * torch.from_numpy(p["noise"]).float().view(-1, 1, 1)
    return (out.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8).numpy()


# ----------------------------------------------------------------------------------------------
# Downloads: cache folder, verified download, IDX and CIFAR-10 parsing.
# ----------------------------------------------------------------------------------------------


def cache_dir(root: str | Path | None = None) -> Path:
    """Return the folder downloads are cached in: ``root``, else $XDG_CACHE_HOME/cnnviz, else ~/.cache/cnnviz."""
    if root is not None:
        return Path(root).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cnnviz"


def _md5_of(path: Path) -> str:
    """Return the hex md5 of a file, read in 1 MiB pieces."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def download(
    url: str,
    dest: str | Path,
    *,
    md5: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    opener: Callable[..., Any] = urllib.request.urlopen,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` to ``dest`` (via a .part file), check its md5, and return ``dest``.

    ``progress(done_bytes, total_bytes)`` is called as bytes arrive (total 0 when the server does
    not say). ``opener`` is urllib's urlopen unless replaced (tests pass a fake or a file:// URL).
    Raises DataError when the download fails (offline, HTTP error) or the checksum differs.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{os.getpid()}-{threading.get_ident()}.part")  # one per concurrent download
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with opener(url, timeout=timeout) as response, part.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) if getattr(response, "headers", None) else 0
            done = 0
            for piece in iter(lambda: response.read(1 << 20), b""):
                out.write(piece)
                digest.update(piece)
                done += len(piece)
                if progress is not None:
                    progress(done, total)
    except (urllib.error.URLError, OSError, ValueError) as err:
        part.unlink(missing_ok=True)
        raise DataError(
            f"Could not download {url} ({err}). The machine may be offline: connect to the internet, "
            f"copy the file to {dest} yourself, or use an offline data set (shapes, digits)."
        ) from err
    if md5 is not None and digest.hexdigest() != md5.lower():
        part.unlink(missing_ok=True)
        raise DataError(
            f"The file downloaded from {url} is corrupt (md5 {digest.hexdigest()}, expected {md5}): try again later."
        )
    part.replace(dest)
    return dest


def _fetch(name: str, root: str | Path | None, progress: Progress | None) -> dict[str, Path]:
    """Return the cached, verified files of a downloadable data set, downloading what is missing."""
    source = REMOTE_SOURCES[name]
    folder = cache_dir(root) / name
    total = sum(size for _, _, size in source.files)
    done = 0
    paths: dict[str, Path] = {}
    for filename, md5, size in source.files:
        path = folder / filename
        if path.is_file() and _md5_of(path) != md5:
            path.unlink()  # a corrupt or truncated cache entry: fetch it again
        if not path.is_file():
            path = _download_from_mirrors(source.mirrors, filename, path, md5, done, total, progress)
        done += size
        if progress is not None:
            progress(min(done, total), total)
        paths[filename] = path
    return paths


def _download_from_mirrors(
    mirrors: tuple[str, ...], filename: str, path: Path, md5: str, done: int, total: int, progress: Progress | None
) -> Path:
    """Try each mirror in turn; raise the last DataError when none works."""
    report = None if progress is None else (lambda got, _total: progress(min(done + got, total), total))
    error: DataError | None = None
    for base in mirrors:
        try:
            return download(base + filename, path, md5=md5, progress=report)
        except DataError as err:
            error = err
    raise error if error is not None else DataError(f"No mirror is configured for {filename}.")


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(source: str | Path | bytes) -> np.ndarray:
    """Parse an IDX file (MNIST's format), gzip-compressed or not, into an array.

    Raises DataError when the header or the length does not match the format.
    """
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(f"The IDX file is not valid gzip ({err}): delete it and download again.") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataError("This is not an IDX file (bad magic number): delete it from the cache and download again.")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError("The IDX file is truncated in its header: delete it from the cache and download again.")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"The IDX file holds {len(raw) - header} data bytes but its header says {expected} "
            f"(shape {dims}): delete it from the cache and download again."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds only numpy arrays and dtypes: anything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _allowed_globals()
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a data file")
        return allowed[(module, name)]


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """Return the few globals a pickled numpy array needs, under their old and new module names."""
    import codecs

    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's own _reconstruct
    allowed: dict[tuple[str, str], Any] = {("_codecs", "encode"): codecs.encode}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct
    for module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "ndarray")] = np.ndarray
        allowed[(module, "dtype")] = np.dtype
    return allowed


def _load_pickle_safely(data: bytes, what: str) -> Any:
    """Unpickle ``data`` with the restricted unpickler; DataError when it is refused or broken."""
    try:
        return _SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as err:  # noqa: BLE001 - any failure means the file cannot be used
        raise DataError(
            f"{what} is not a CIFAR-10 batch that can be read safely ({err}): delete it and download again."
        ) from err


def read_cifar10(source: str | Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read CIFAR-10's python tar.gz without extracting it: ((train_x, train_y), (test_x, test_y)).

    Images are uint8 (N, 32, 32, 3), labels int64. Each batch is unpickled with a restricted
    unpickler that only rebuilds numpy arrays. Raises DataError on a broken or unsafe archive.
    """
    wanted = {f"data_batch_{i}" for i in range(1, 6)} | {"test_batch"}
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in wanted:
                    batches[base] = _parse_cifar_batch(tar.extractfile(member).read(), base)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"{source} is not a readable CIFAR-10 archive ({err}): delete it and download again.") from err
    missing = sorted(wanted - set(batches))
    if missing:
        raise DataError(f"The CIFAR-10 archive lacks {', '.join(missing)}: delete it and download again.")
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    train_x = np.concatenate([x for x, _ in train])
    train_y = np.concatenate([y for _, y in train])
    return (train_x, train_y), batches["test_batch"]


def _parse_cifar_batch(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Return uint8 (N, 32, 32, 3) images and int64 labels from one pickled batch."""
    batch = _load_pickle_safely(data, what)
    if not isinstance(batch, dict):
        raise DataError(f"{what} is not a CIFAR-10 batch (a dict with 'data' and 'labels').")
    images = batch.get("data", batch.get(b"data"))
    labels = batch.get("labels", batch.get(b"labels"))
    if not isinstance(images, np.ndarray) or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise DataError(f"{what} has no (N, 3072) 'data' array: delete the archive and download again.")
    labels = np.asarray(labels, dtype=np.int64) if labels is not None else None
    if labels is None or labels.shape != (images.shape[0],) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise DataError(f"{what} has no 'labels' list of classes 0-9 matching its images.")
    images = images.astype(np.uint8, copy=False).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


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
