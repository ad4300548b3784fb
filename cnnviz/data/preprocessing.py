"""Turn a picture into what a model was trained on: normalisation, resizing, MNIST-style digits.

``spec`` is anything with ``in_channels``, ``image_size``, ``mean``, ``std``, ``digit_style`` and
``crop_fraction`` (a :class:`cnnviz.nets.ModelSpec`, for example). ImageNet networks say
``crop_fraction=0.875``: resize the short side to 256, then cut the centre 224×224, as torchvision's
ImageNet weights were evaluated. ``preprocess_steps`` keeps every step for a page to show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from PIL import Image, ImageOps

__all__ = ["InputSpec", "PreparedInput", "centre_by_mass", "normalize", "preprocess", "preprocess_steps", "resize_side"]


class InputSpec(Protocol):
    """What preparing an input needs to know about a model (a ``cnnviz.nets.ModelSpec`` is one)."""

    name: str  # the model's registry name
    dataset: str  # the data set it was trained on
    in_channels: int  # 3 for RGB, 1 for grayscale
    image_size: int  # square input side in pixels
    class_names: Sequence[str]  # output index → class label
    mean: Sequence[float]  # per-channel mean subtracted
    std: Sequence[float]  # per-channel std divided by
    digit_style: bool  # prepared like MNIST digits
    crop_fraction: float  # centre crop's share of the resized short side (1.0: resize straight to image_size)


@dataclass(frozen=True)
class PreparedInput:
    """Each step from a picture to a network's input, for a page to show one after another."""

    original: Image.Image  # the picture in the model's colour mode ("RGB" or "L"), any size
    resized: Image.Image  # short side resized to resize_side(spec) (digits: the picture as given)
    cropped: Image.Image  # image_size × image_size centre: what the network sees, before normalising
    pixels: torch.Tensor  # (1, C, H, W) the cropped picture in [0, 1]
    x: torch.Tensor  # (1, C, H, W) normalised per channel: the network's input


def normalize(x: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """Return ``(x - mean) / std`` per channel for a batch in [0, 1], shape (N, C, H, W)."""
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - mean) / std


def resize_side(spec: InputSpec) -> int:
    """Return the short side a picture is resized to before the centre crop (ImageNet: 224 / 0.875 = 256)."""
    return max(spec.image_size, round(spec.image_size / spec.crop_fraction))


def preprocess_steps(spec: InputSpec, pil_image: Image.Image) -> PreparedInput:
    """Prepare a PIL image for the model and keep every step (see ``preprocess``)."""
    img = pil_image.convert("RGB" if spec.in_channels == 3 else "L")
    side = spec.image_size
    if spec.digit_style and spec.in_channels == 1:
        resized = img
        digit = _digit_like(np.asarray(img, dtype=np.float32) / 255.0, side)  # (side, side) in [0, 1]
        cropped = Image.fromarray(np.rint(digit * 255).astype(np.uint8))
        x = torch.from_numpy(digit)[None, None]  # (1, 1, side, side)
        return PreparedInput(img, resized, cropped, x, normalize(x, spec))
    if spec.crop_fraction >= 1.0:
        resized = cropped = ImageOps.fit(img, (side, side), Image.Resampling.BILINEAR)
    else:
        resized = _resize_short_side(img, resize_side(spec))
        left, top = round((resized.width - side) / 2), round((resized.height - side) / 2)
        cropped = resized.crop((left, top, left + side, top + side))
    arr = np.asarray(cropped, dtype=np.float32) / 255.0  # (H, W) or (H, W, C)
    x = torch.from_numpy(np.ascontiguousarray(arr)).float()
    x = (x.unsqueeze(0) if x.ndim == 2 else x.permute(2, 0, 1)).unsqueeze(0)  # (1, C, H, W)
    return PreparedInput(img, resized, cropped, x, normalize(x, spec))


def preprocess(spec: InputSpec, pil_image: Image.Image) -> torch.Tensor:
    """Turn a PIL image into the normalised batch the model was trained on, shape (1, C, H, W).

    Colour models: convert, resize the short side to ``resize_side(spec)`` and centre-crop to
    image_size. Digit models (``spec.digit_style``): grayscale, white-on-black (inverted when the
    background is light), the ink fitted into a 20×20 box and centred by mass in 28×28, as MNIST was made.
    """
    return preprocess_steps(spec, pil_image).x


MAX_ASPECT = 4  # a longer side is cut to this many short sides (centred) before resizing


def _resize_short_side(img: Image.Image, side: int) -> Image.Image:
    """Resize so the short side is ``side`` pixels, keeping the aspect ratio (torchvision's ``Resize(side)``).

    A strip (more than MAX_ASPECT times longer than wide) is first cut to its centre MAX_ASPECT × short
    side: the centre crop that follows sees the same pixels, and a 5000×1 line no longer becomes a
    1,280,000×256 picture (a gigabyte) on its way there.
    """
    width, height = img.size
    short = min(width, height)
    if max(width, height) > MAX_ASPECT * short:
        keep = MAX_ASPECT * short
        left, top = (width - keep) // 2 if width > height else 0, (height - keep) // 2 if height > width else 0
        img = img.crop((left, top, left + min(width, keep), top + min(height, keep)))
        width, height = img.size
    if width <= height:
        size = (side, max(1, int(side * height / width)))
    else:
        size = (max(1, int(side * width / height)), side)
    return img.resize(size, Image.Resampling.BILINEAR)


def _border_median(gray: np.ndarray) -> float:
    """Median grey level of a (H, W) picture's outermost rows and columns: the brightness of its background."""
    return float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))


def _digit_like(gray: np.ndarray, size: int) -> np.ndarray:
    """Return a (size, size) array in [0, 1]: bright ink on black, fitted to 20/28 of the side, centred by mass."""
    background = _border_median(gray)
    if background > 0.5:
        gray, background = 1.0 - gray, 1.0 - background  # dark ink on light paper → light ink on black
    gray = np.clip((gray - background) / max(1.0 - background, 1e-3), 0.0, 1.0)
    rows, cols = np.nonzero(gray > 0.2)
    if rows.size == 0:
        img = Image.fromarray((gray * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(img, dtype=np.float32) / 255.0
    crop = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return centre_by_mass(Image.fromarray((crop * 255).astype(np.uint8)), size)


def centre_by_mass(ink: Image.Image, side: int) -> np.ndarray:
    """Place cropped ink the way MNIST was made: long side fitted to 20/28 of ``side``, centre of mass in the middle.

    ``ink`` is a grayscale ("L") crop, bright ink on black, cut to the ink's bounding box. Returns
    float32 (side, side) in [0, 1]. The procedural digits and digit photos both go through here.
    """
    scale = side * 20 / 28 / max(ink.size)
    w, h = max(1, round(ink.width * scale)), max(1, round(ink.height * scale))
    small = np.asarray(ink.resize((w, h), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0  # (h, w)
    total = small.sum()
    cy = (small.sum(1) @ np.arange(h)) / total if total > 0 else (h - 1) / 2
    cx = (small.sum(0) @ np.arange(w)) / total if total > 0 else (w - 1) / 2
    top = int(np.clip(round((side - 1) / 2 - cy), 0, side - h))
    left = int(np.clip(round((side - 1) / 2 - cx), 0, side - w))
    out = np.zeros((side, side), dtype=np.float32)
    out[top : top + h, left : left + w] = small
    return out
