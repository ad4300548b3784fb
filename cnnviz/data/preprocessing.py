"""Turn a picture into what a model was trained on: normalisation, resizing, MNIST-style digits.

``spec`` is anything with ``in_channels``, ``image_size``, ``mean``, ``std`` and ``digit_style``
(a :class:`cnnviz.nets.ModelSpec`, for example)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
from PIL import Image, ImageOps

__all__ = ["InputSpec", "centre_by_mass", "normalize", "preprocess"]


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


def normalize(x: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """Return ``(x - mean) / std`` per channel for a batch in [0, 1], shape (N, C, H, W)."""
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - mean) / std


def preprocess(spec: InputSpec, pil_image: Image.Image) -> torch.Tensor:
    """Turn a PIL image into the normalised batch the model was trained on, shape (1, C, H, W).

    Colour models: convert, resize the short side and centre-crop to image_size. Digit models
    (``spec.digit_style``): grayscale, white-on-black (inverted when the background is light), the
    ink fitted into a 20×20 box and centred by mass in 28×28, as MNIST was made.
    """
    mode = "RGB" if spec.in_channels == 3 else "L"
    img = pil_image.convert(mode)
    if spec.digit_style and spec.in_channels == 1:
        arr = _digit_like(np.asarray(img, dtype=np.float32) / 255.0, spec.image_size)
    else:
        img = ImageOps.fit(img, (spec.image_size, spec.image_size), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32) / 255.0
    x = torch.from_numpy(np.ascontiguousarray(arr)).float()
    x = x.unsqueeze(0) if x.ndim == 2 else x.permute(2, 0, 1)  # (C, H, W)
    return normalize(x.unsqueeze(0), spec)  # (1, C, H, W)


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
