"""The procedural "shapes" data set: RGB shapes drawn with signed distance functions, seeded.

64×64 by default; any side from 16 to 256 draws the same scenes at that resolution (every length
scales with the side, the anti-aliasing stays one pixel wide). Vectorised over chunks of images, so
ten thousand 64×64 images take about a second. Works offline."""

from __future__ import annotations

import numpy as np

from cnnviz.data.split import _balanced_labels
from cnnviz.errors import DataError

__all__ = ["SHAPES_CLASSES", "SHAPES_SIZES", "make_shapes"]


SHAPES_CLASSES = ("circle", "square", "triangle", "star", "cross", "ring", "stripes", "checker")


_SHAPES_SIZE = 64  # the side the lengths below are given for


SHAPES_SIZES = (16, 256)  # the smallest and largest side make_shapes draws


_CHUNK = 512


# Pixels (at 64×64) a shape's centre may move from the image centre (TinyVGG's linear head is not shift-invariant).
_MAX_OFFSET = 10.0


def make_shapes(
    n: int, *, seed: int | np.random.SeedSequence = 0, size: int = _SHAPES_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` shape images: uint8 (n, size, size, 3) and int64 labels (n,) indexing SHAPES_CLASSES.

    Each image has a random class (balanced), position, size, rotation, foreground and background
    colour, background gradient and noise. The same seed gives the same labels and settings at every
    ``size`` (the pixel noise is drawn per pixel, so it differs). Raises DataError for a side outside
    SHAPES_SIZES.
    """
    if not SHAPES_SIZES[0] <= size <= SHAPES_SIZES[1]:
        raise DataError.from_key("errors.shapes_size", size=size, low=SHAPES_SIZES[0], high=SHAPES_SIZES[1])
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n, len(SHAPES_CLASSES), rng)
    params = _shape_params(n, rng, size / _SHAPES_SIZE)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        part = slice(start, min(start + _CHUNK, n))
        chunk = {k: v[part] for k, v in params.items()}
        images[part] = _render_shapes(labels[part], chunk, rng, size)
    return images, labels


def _shape_params(n: int, rng: np.random.Generator, scale: float) -> dict[str, np.ndarray]:
    """Draw every per-image random setting at once (keeps the stream independent of chunking).

    Lengths are drawn for a 64×64 image and multiplied by ``scale`` (side / 64).
    """
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
        "period": rng.uniform(7.0, 16.0, n),  # texture period in pixels (at 64×64)
        "phase": rng.uniform(0.0, 1.0, (n, 2)),
        "fg": fg,
        "bg": bg,
        "gradient": rng.uniform(-0.25, 0.25, n),
        "gradient_angle": rng.uniform(0.0, 2 * np.pi, n),
        "noise": rng.uniform(0.0, 0.06, n),
        "form": rng.uniform(0.0, 1.0, n),  # per-class shape variation: arm width, ring thickness, star depth
    }
    for length in ("radius", "cx", "cy", "period"):
        params[length] = params[length] * scale
    return {k: v.astype(np.float32) for k, v in params.items()}


def _render_shapes(labels: np.ndarray, p: dict[str, np.ndarray], rng: np.random.Generator, size: int) -> np.ndarray:
    """Render one chunk: uint8 (n, size, size, 3)."""
    n = len(labels)
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
    # the same arithmetic, in order, as bg + gradient·t, then background·(1 − a) + fg·a + noise, in place
    img = p["bg"][:, None, None, :] + (p["gradient"][:, None, None] * t)[..., None]  # (n, H, W, 3)
    a = alpha[..., None]
    img *= 1.0 - a
    img += p["fg"][:, None, None, :] * a
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    noise *= p["noise"].astype(np.float32)[:, None, None, None]
    img += noise
    img *= 255.0
    img += 0.5
    return np.clip(img, 0, 255, out=img).astype(np.uint8)


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
        raise DataError.from_key("errors.shape_no_rule", name=cls)
    return _coverage(d * r)


def _coverage(distance_px: np.ndarray) -> np.ndarray:
    """Map a signed distance in pixels (negative inside) to a one-pixel anti-aliased coverage."""
    return np.clip(0.5 - distance_px, 0.0, 1.0).astype(np.float32)
