"""Load any image a learner brings, safely, as a bounded RGB or grayscale PIL image.

PROVISIONAL: a minimal version so pages run; the image issue replaces it with the robust loader.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps

from cnnviz.errors import ImageError

__all__ = ["ALLOWED_EXTENSIONS", "SAMPLES_DIR", "list_samples", "load_image"]

ALLOWED_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"})
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "samples"


def list_samples() -> dict[str, Path]:
    """Return the bundled sample photos, name → path, sorted by name."""
    paths = sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower().lstrip(".") in ALLOWED_EXTENSIONS)
    return {p.stem: p for p in paths}


def load_image(source: bytes | str | Path | BinaryIO, *, mode: str = "RGB", max_side: int = 1024) -> Image.Image:
    """Open an image upright, convert it to ``mode`` and cap its long side at ``max_side``."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        with Image.open(source) as img:
            img = ImageOps.exif_transpose(img).convert(mode)
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"This file could not be read as an image ({err}).") from err
    img.thumbnail((max_side, max_side))
    return img
