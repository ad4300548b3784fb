"""The procedural "scenes" data set: one to five shapes on a textured background, with boxes and class masks.

Each scene is drawn with the signed-distance shapes of :mod:`cnnviz.data.shapes`: objects are painted
one after another, so later objects occlude earlier ones. Because the drawing is ours, the truth is
exact: a per-pixel class mask (the visible pixels of each object; 0 = background, class k = k + 1)
and each object's box, tight around its visible pixels. Vectorised over chunks of scenes (2,000
scenes of 96×96 take about a second), deterministic per seed, offline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.data.shapes import SHAPES_CLASSES, _shape_alpha
from cnnviz.data.split import _balanced_labels
from cnnviz.errors import ConfigError

__all__ = [
    "BACKGROUND_KINDS",
    "SCENE_CLASSES",
    "SCENE_TARGETS",
    "SceneSplit",
    "Scenes",
    "load_scenes",
    "make_scenes",
    "pad_targets",
]


# The shapes with an outline. "stripes" and "checker" are textures without one (and the backgrounds are striped).
SCENE_CLASSES = tuple(name for name in SHAPES_CLASSES if name not in ("stripes", "checker"))


BACKGROUND_KINDS = ("noise", "stripes", "gradient")  # the texture under the objects of one scene


SCENE_TARGETS = ("mask", "boxes")  # what load_scenes puts in train_y / val_y


SCENE_SIZE = 96  # the default side of a scene in pixels


MIN_SIZE, MAX_SIZE = 48, 256  # allowed sides (multiples of 16, so that a network may halve them four times)


MAX_SCENES = 20_000  # most scenes drawn in one call (memory: a 96×96 mask in int64 is 74 KB)


MIN_VISIBLE = 0.35  # an object keeping less than this fraction of its pixels in view is left out of the scene


_CHUNK = 256  # scenes rendered at once


_TRIES = 12  # placements tried per object before accepting an overlap


@dataclass(frozen=True, eq=False)
class Scenes:
    """Drawn scenes with their exact truth: images, class masks, and each visible object's box and class."""

    images: torch.Tensor  # (N, 3, H, W) float32 in [0, 1]
    masks: torch.Tensor  # (N, H, W) int64: 0 background, k + 1 for class k (the visible object on top)
    boxes: tuple[torch.Tensor, ...]  # per scene (n_i, 4) float32 x1, y1, x2, y2 in pixels, in drawing order
    labels: tuple[torch.Tensor, ...]  # per scene (n_i,) int64 class indices into class_names
    instances: torch.Tensor  # (N, H, W) uint8: 0 background, i + 1 where object i (of boxes, labels) is seen
    class_names: tuple[str, ...] = SCENE_CLASSES

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass(frozen=True, eq=False)
class SceneSplit:
    """A train/validation split of scenes in the form the Trainer reads, with the drawn scenes kept.

    With ``target="mask"`` the targets are the masks (N, H, W) and ``class_names`` starts with
    "background" (mask value v is class_names[v]); with ``target="boxes"`` they are
    ``pad_targets`` rows (N, max_objects, 5) and ``class_names`` are the object classes.
    """

    train_x: torch.Tensor  # (N_train, 3, H, W) float32 in [0, 1]
    train_y: torch.Tensor  # masks (N_train, H, W) int64, or padded boxes (N_train, max_objects, 5) float32
    val_x: torch.Tensor
    val_y: torch.Tensor
    class_names: tuple[str, ...]  # what the values of train_y index
    image_size: int  # H == W
    target: str  # "mask" or "boxes"
    train_scenes: Scenes  # the drawn training scenes (boxes and labels per scene, for drawing)
    val_scenes: Scenes
    in_channels: int = 3
    name: str = "scenes"
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)  # per-channel normalisation (as the registry entry)
    std: tuple[float, ...] = (0.25, 0.25, 0.25)


def make_scenes(n: int, *, size: int = SCENE_SIZE, seed: int | np.random.SeedSequence = 0,
                max_objects: int = 5) -> Scenes:  # fmt: skip
    """Draw ``n`` scenes of ``size``×``size`` with 1…``max_objects`` objects each; the same seed gives the same scenes.

    Object classes are balanced over all objects drawn; an object mostly hidden by later ones
    (less than MIN_VISIBLE of it in view) is left out, so a scene may hold fewer objects than drawn.
    Raises ConfigError for a count, size or object limit out of range.
    """
    _check_scene_args(n, size, max_objects)
    images, masks, instances, classes = _draw(n, size, seed, max_objects)
    boxes, labels = _boxes_and_labels(instances, classes)
    floats = torch.empty((n, 3, size, size), dtype=torch.float32)
    floats.copy_(torch.from_numpy(images).permute(0, 3, 1, 2)).div_(255.0)  # one allocation: (N, 3, H, W)
    return Scenes(
        images=floats,
        masks=torch.from_numpy(masks),
        boxes=boxes,
        labels=labels,
        instances=torch.from_numpy(instances),
    )


def pad_targets(boxes: tuple[torch.Tensor, ...], labels: tuple[torch.Tensor, ...], max_objects: int) -> torch.Tensor:
    """Stack per-scene boxes and labels into one tensor (N, max_objects, 5) of rows [class, x1, y1, x2, y2].

    Rows after a scene's last object have class -1 (and zero boxes). Raises ConfigError when a
    scene holds more than ``max_objects`` objects.
    """
    out = torch.zeros((len(boxes), max_objects, 5), dtype=torch.float32)
    out[:, :, 0] = -1.0
    for i, (b, c) in enumerate(zip(boxes, labels, strict=True)):
        if b.shape[0] > max_objects:
            raise ConfigError.from_key("errors.scenes_too_many_objects", scene=i, objects=b.shape[0],
                                       limit=max_objects)  # fmt: skip
        out[i, : b.shape[0], 0] = c.float()
        out[i, : b.shape[0], 1:] = b
    return out


def load_scenes(*, n_train: int, n_val: int, seed: int = 0, size: int = SCENE_SIZE, target: str = "mask",
                max_objects: int = 5) -> SceneSplit:  # fmt: skip
    """Return a seeded train/validation split of scenes whose targets are the masks or the padded boxes.

    Training and validation scenes come from independent seeded streams (as ``load_dataset``), so
    the validation scenes do not depend on n_train. Raises ConfigError for an unknown target or
    counts, size or object limit out of range.
    """
    if target not in SCENE_TARGETS:
        raise ConfigError.from_key("errors.scenes_target", target=repr(target), allowed=", ".join(SCENE_TARGETS))
    if n_train < 1 or n_val < 0:
        raise ConfigError.from_key("errors.dataset_counts", n_train=n_train, n_val=n_val)
    train_seq, val_seq = np.random.SeedSequence(seed).spawn(2)
    train = make_scenes(n_train, size=size, seed=train_seq, max_objects=max_objects)
    val = make_scenes(n_val, size=size, seed=val_seq, max_objects=max_objects)
    if target == "mask":
        train_y, val_y, names = train.masks, val.masks, ("background", *SCENE_CLASSES)
    else:
        train_y = pad_targets(train.boxes, train.labels, max_objects)
        val_y, names = pad_targets(val.boxes, val.labels, max_objects), SCENE_CLASSES
    return SceneSplit(train.images, train_y, val.images, val_y, names, size, target, train, val)


def _scene_arrays(n: int, *, seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
    """The registry's generator: uint8 images (n, 96, 96, 3) and their int64 class masks (n, 96, 96)."""
    _check_scene_args(n, SCENE_SIZE, 5)
    images, masks, _, _ = _draw(n, SCENE_SIZE, seed, 5)
    return images, masks


def _check_scene_args(n: int, size: int, max_objects: int) -> None:
    if not 0 <= n <= MAX_SCENES:
        raise ConfigError.from_key("errors.scenes_count", n=n, limit=MAX_SCENES)
    if not (MIN_SIZE <= size <= MAX_SIZE and size % 16 == 0):
        raise ConfigError.from_key("errors.scenes_size", size=size, low=MIN_SIZE, high=MAX_SIZE)
    if not 1 <= max_objects <= 8:
        raise ConfigError.from_key("errors.scenes_max_objects", value=max_objects)


# -- drawing ----------------------------------------------------------------------------------


def _draw(n: int, size: int, seed: int | np.random.SeedSequence,
          max_objects: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Render ``n`` scenes: uint8 images (n, H, W, 3), int64 masks (n, H, W), instances (n, H, W), classes (n, S).

    ``classes`` holds the class of each drawing slot (-1: empty or left out); ``instances`` 1 + the
    number of the object seen at each pixel among the objects kept, in drawing order (0: background).
    """
    rng = np.random.default_rng(seed)
    p = _scene_params(n, size, max_objects, rng)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    masks = np.empty((n, size, size), dtype=np.int64)
    owners = np.empty((n, size, size), dtype=np.int8)
    classes = p["cls"].copy()
    for start in range(0, n, _CHUNK):
        part = slice(start, min(start + _CHUNK, n))
        chunk = {k: v[part] for k, v in p.items()}
        images[part], owners[part], classes[part] = _render_chunk(chunk, size, rng)
    number = np.cumsum(classes >= 0, axis=1) * (classes >= 0)  # (n, S): 1 + the object's number, 0 if left out
    instances = np.zeros((n, size, size), dtype=np.uint8)
    for start in range(0, n, _CHUNK):  # mask = 1 + the class of the object on top, 0 for the background
        part = slice(start, min(start + _CHUNK, n))
        mask = np.zeros(owners[part].shape, dtype=np.int8)
        for j in range(max_objects):
            mine = owners[part] == j + 1
            mask += mine * (classes[part, j, None, None] + 1).astype(np.int8)
            instances[part] += mine * number[part, j, None, None].astype(np.uint8)
        masks[part] = mask
    return images, masks, instances, classes


def _scene_params(n: int, size: int, max_objects: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw every random setting of every scene at once (so the stream does not depend on chunking).

    Per object (n, S): class (-1 for an empty slot), radius, centre, angle, colour, shading, form.
    Per scene: background kind, colours and texture settings, noise.
    """
    s = max_objects
    counts = rng.integers(1, s + 1, n)
    present = np.arange(s)[None, :] < counts[:, None]  # (n, S)
    cls = np.full((n, s), -1, dtype=np.int64)
    cls[present] = _balanced_labels(int(present.sum()), len(SCENE_CLASSES), rng)
    radius = size * rng.uniform(0.09, 0.2, (n, s))
    cx, cy = _place(radius, present, size, rng)
    bg = rng.uniform(0.0, 1.0, (n, 3))
    fg = rng.uniform(0.0, 1.0, (n, s, 3))
    for _ in range(8):  # redraw object colours too close to their background
        close = np.linalg.norm(fg - bg[:, None, :], axis=2) < 0.5
        fg[close] = rng.uniform(0.0, 1.0, (int(close.sum()), 3))
    params = {
        "cls": cls, "radius": radius, "cx": cx, "cy": cy, "fg": fg, "bg": bg,
        "angle": rng.uniform(0.0, 2 * np.pi, (n, s)),
        "form": rng.uniform(0.0, 1.0, (n, s)),  # per-class variation (arm width, ring thickness, star depth)
        "shade": rng.uniform(-0.15, 0.15, (n, s)),  # brightness change across an object
        "kind": rng.integers(0, len(BACKGROUND_KINDS), n),
        "bg2": np.clip(bg + rng.uniform(-0.3, 0.3, (n, 3)), 0.0, 1.0),  # the gradient's other end
        "tex_angle": rng.uniform(0.0, np.pi, n),
        "period": size * rng.uniform(0.06, 0.16, n),  # stripe period in pixels
        "amp": rng.uniform(0.06, 0.16, n),  # stripe and blob amplitude
        "blobs": rng.standard_normal((n, 3, 6, 6)),  # low-frequency noise, upsampled to the scene
        "noise": rng.uniform(0.0, 0.04, n),  # per-pixel noise std
    }  # fmt: skip
    return {k: (v if v.dtype.kind == "i" else v.astype(np.float32)) for k, v in params.items()}


def _place(radius: np.ndarray, present: np.ndarray, size: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Choose object centres inside the frame, avoiding heavy overlap with the objects placed before.

    Each object tries _TRIES positions and keeps the first whose distance to every earlier centre
    is at least 0.75 × the sum of their radii (otherwise its last try: overlaps stay possible).
    """
    n, s = radius.shape
    lo, hi = radius + 1.0, size - radius - 1.0  # whole shapes inside the frame
    cx, cy = np.zeros((n, s)), np.zeros((n, s))
    for j in range(s):
        done = np.zeros(n, dtype=bool)
        for _ in range(_TRIES):
            x = rng.uniform(lo[:, j], hi[:, j])
            y = rng.uniform(lo[:, j], hi[:, j])
            far = np.ones(n, dtype=bool)
            for k in range(j):
                dist = np.hypot(x - cx[:, k], y - cy[:, k])
                far &= ~present[:, k] | (dist >= 0.75 * (radius[:, j] + radius[:, k]))
            take = ~done
            cx[take, j], cy[take, j] = x[take], y[take]
            done |= far
    return cx, cy


def _render_chunk(p: dict[str, np.ndarray], size: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Render one chunk: uint8 images (n, H, W, 3), owners int8 (n, H, W) and the classes kept (n, S).

    Each object is drawn in a square window around it (a quarter of the scene or less), placed
    into the scene by fancy indexing: one slot at a time, so no two windows of one pass overlap.
    """
    alpha, rows, cols = _object_windows(p, size)  # (n, S, w, w), (n, S, w, 1), (n, S, 1, w)
    cls = p["cls"].copy()
    cover = alpha >= 0.5
    owners = _owners(cover, rows, cols, size)
    n, s = cls.shape
    seen = np.bincount((owners + (s + 1) * np.arange(n)[:, None, None]).ravel(), minlength=n * (s + 1))
    seen = seen.reshape(n, s + 1)[:, 1:]  # (n, S) visible pixels of each object
    hidden = (cls >= 0) & (seen < MIN_VISIBLE * np.maximum(cover.sum((2, 3)), 1))
    if hidden.any():  # leave those objects out: the others only become more visible
        alpha[hidden], cover[hidden], cls[hidden] = 0.0, False, -1
        owners = _owners(cover, rows, cols, size)
    img = _background(p, size)  # (n, H, W, 3)
    flat = img.reshape(-1, 3)  # one row per pixel of the chunk
    for j in range(s):
        i = np.flatnonzero(cls[:, j] >= 0)  # the scenes with an object in slot j
        at = (i[:, None, None] * size + rows[i, j]) * size + cols[i, j]  # (m, w, w) pixel rows of the windows
        a = alpha[i, j, :, :, None]  # (m, w, w, 1)
        t = (cols[i, j] + 0.5 - p["cx"][i, j, None, None]) / p["radius"][i, j, None, None]  # (m, 1, w) across it
        colour = p["fg"][i, j, None, None, :] * (1.0 + p["shade"][i, j, None, None, None] * t[..., None])
        patch = flat[at]  # (m, w, w, 3)
        patch += a * (colour - patch)
        flat[at] = patch
    return _finish(img, p["noise"], rng), owners, cls


def _finish(img: np.ndarray, noise: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add per-pixel noise of std ``noise`` (n,) to float images (n, H, W, 3) and round them to uint8.

    torch draws the noise (from a generator seeded by ``rng``): numpy's normal draws and clip are
    several times slower on these sizes.
    """
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
    x = torch.from_numpy(img)
    x += torch.randn(x.shape, generator=gen) * torch.from_numpy(noise)[:, None, None, None]
    return x.mul_(255.0).add_(0.5).clamp_(0.0, 255.0).to(torch.uint8).numpy()


def _object_windows(p: dict[str, np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each object's anti-aliased coverage in its window (n, S, w, w), zero for empty slots.

    The window rows (n, S, w, 1) and columns (n, S, 1, w) index the scene; a window is 2 × (1.15 ×
    the largest radius + 2) pixels wide (a rotated square's corner lies at 1.13 radii), inside the frame.
    """
    n, s = p["cls"].shape
    w = min(size, 2 * int(np.ceil(1.15 * float(p["radius"].max(initial=1.0)) + 2.0)))
    step = np.arange(w)
    top = np.clip(np.round(p["cy"]).astype(np.int64) - w // 2, 0, size - w)  # (n, S)
    left = np.clip(np.round(p["cx"]).astype(np.int64) - w // 2, 0, size - w)
    rows, cols = (top[..., None] + step)[..., None], (left[..., None] + step)[..., None, :]
    alpha = np.zeros((n, s, w, w), dtype=np.float32)
    for c, name in enumerate(SCENE_CLASSES):
        i, j = np.nonzero(p["cls"] == c)
        if len(i) == 0:
            continue
        cos, sin = np.cos(p["angle"][i, j])[:, None, None], np.sin(p["angle"][i, j])[:, None, None]
        dx = cols[i, j] + np.float32(0.5) - p["cx"][i, j][:, None, None]  # (m, 1, w) from the object's centre
        dy = rows[i, j] + np.float32(0.5) - p["cy"][i, j][:, None, None]  # (m, w, 1)
        u, v = dx * cos + dy * sin, -dx * sin + dy * cos  # (m, w, w) rotated pixel coordinates
        alpha[i, j] = _shape_alpha(name, u, v, {"radius": p["radius"][i, j], "form": p["form"][i, j]})
    return alpha, rows, cols


def _owners(cover: np.ndarray, rows: np.ndarray, cols: np.ndarray, size: int) -> np.ndarray:
    """Return int8 (n, H, W): 1 + the last (topmost) slot covering each pixel, 0 where none does."""
    n, s = cover.shape[:2]
    owners = np.zeros((n, size, size), dtype=np.int8)
    flat = owners.reshape(-1)
    for j in range(s):
        i = np.flatnonzero(cover[:, j].any(axis=(1, 2)))
        at = (i[:, None, None] * size + rows[i, j]) * size + cols[i, j]  # (m, w, w) pixels of the windows
        flat[at] = np.where(cover[i, j], np.int8(j + 1), flat[at])
    return owners


def _background(p: dict[str, np.ndarray], size: int) -> np.ndarray:
    """Return the textured backgrounds (n, H, W, 3): smooth noise, stripes or a two-colour gradient."""
    n = len(p["kind"])
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    img = np.empty((n, size, size, 3), dtype=np.float32)
    for kind, name in enumerate(BACKGROUND_KINDS):
        i = np.flatnonzero(p["kind"] == kind)
        if len(i) == 0:
            continue
        base = p["bg"][i, None, None, :]  # (m, 1, 1, 3)
        cos, sin = np.cos(p["tex_angle"][i])[:, None, None], np.sin(p["tex_angle"][i])[:, None, None]
        t = (grid[None, None, :] * cos + grid[None, :, None] * sin)[..., None]  # (m, H, W, 1) along the texture
        amp = p["amp"][i, None, None, None]
        if name == "noise":
            blobs = F.interpolate(torch.from_numpy(p["blobs"][i]), size=(size, size), mode="bicubic")
            img[i] = base + 1.5 * amp * blobs.permute(0, 2, 3, 1).numpy()
        elif name == "stripes":
            img[i] = base + amp * np.sin(2 * np.pi * t * size / p["period"][i, None, None, None])
        else:  # gradient: from one colour to the other along the direction
            img[i] = base + (t + 0.5) * (p["bg2"][i, None, None, :] - base)
    return img


def _boxes_and_labels(instances: np.ndarray,
                      classes: np.ndarray) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:  # fmt: skip
    """Return each scene's boxes (n_i, 4) tight around the visible pixels of its objects, and their classes.

    A box runs from the left/top edge of the first pixel to the right/bottom edge of the last
    (x2 = last column + 1), so an object of one pixel at (x, y) has the box (x, y, x + 1, y + 1).
    """
    n, s = classes.shape
    edges = np.zeros((n, s, 4), dtype=np.float32)
    for k in range(s):
        mine = instances == k + 1  # (n, H, W) the pixels of object k
        cols, rows = mine.any(axis=1), mine.any(axis=2)  # (n, W), (n, H)
        w, h = cols.shape[1], rows.shape[1]
        edges[:, k] = np.stack([cols.argmax(1), rows.argmax(1), w - cols[:, ::-1].argmax(1),
                                h - rows[:, ::-1].argmax(1)], axis=1)  # fmt: skip
    kept = classes >= 0  # in drawing order; every object kept is visible (MIN_VISIBLE of it at least)
    boxes = tuple(torch.from_numpy(edges[i, : kept[i].sum()].copy()) for i in range(n))
    labels = tuple(torch.from_numpy(classes[i][kept[i]].astype(np.int64)) for i in range(n))
    return boxes, labels
