"""Load any image a learner brings, safely, as a bounded RGB or grayscale PIL image.

One way in for every page: bytes (an upload), a file-like object or a path. The loader
- reads only JPEG, PNG, WebP, BMP, GIF and TIFF (no exotic decoders),
- refuses a file whose header claims more than ``max_pixels`` before decoding a single pixel,
  and turns Pillow's DecompressionBombWarning into an error,
- decodes large JPEGs at a reduced scale (``Image.draft``) and downscales the rest with
  ``reduce`` + resampling, so memory and time stay bounded,
- turns the photo upright (EXIF orientation), composites transparency on white, scales 16-bit
  and float pixels into 0..255 instead of clipping them, and takes the first frame of animations.
Every failure is an ImageError whose message a learner can act on.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnviz.errors import ConfigError, ImageError, Phrase

__all__ = [
    "ALLOWED_EXTENSIONS",
    "MAX_PIXELS",
    "SAMPLES_DIR",
    "check_min_size",
    "convert_image",
    "image_to_chw",
    "list_samples",
    "load_image",
]

ALLOWED_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"})
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "samples"
MAX_PIXELS = 50_000_000  # 50 megapixels: any phone or camera photo; a decoded RGB copy ≤ 150 MB
MODES = ("RGB", "L")

# Pillow format names we decode (the JPEG opener also returns phone "MPO" JPEGs).
_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "DIB", "GIF", "TIFF")
_FORMAT_LIST = Phrase("errors.image_formats")  # "JPEG, PNG, WebP, BMP, GIF or TIFF"
# What Pillow's decoders raise on damaged data (ours are ImageError, raised outside these blocks).
_DECODE_ERRORS = (OSError, SyntaxError, EOFError, IndexError, TypeError, KeyError, struct.error, zlib.error)


def list_samples() -> dict[str, Path]:
    """Return the bundled sample photos, name → path, sorted by name."""
    paths = sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower().lstrip(".") in ALLOWED_EXTENSIONS)
    return {p.stem: p for p in paths}


def load_image(
    source: bytes | str | Path | BinaryIO,
    *,
    mode: str = "RGB",
    max_side: int | None = 1024,
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """Open an image upright, convert it to ``mode`` ("RGB" or "L") and cap its long side at ``max_side``.

    ``source`` is the file's bytes, a binary file-like object (e.g. a Streamlit upload) or a path.
    ``max_side=None`` keeps the full size. Returns a loaded PIL image detached from the file.
    Raises ImageError for an empty, unreadable, truncated or oversized file.
    """
    if mode not in MODES:
        raise ConfigError.from_key("errors.image_mode", mode=repr(mode), modes=", ".join(MODES))
    if max_side is not None and max_side < 1:
        raise ConfigError.from_key("errors.image_max_side", max_side=max_side)
    stream = _open_source(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = _decode(stream, max_side=max_side, max_pixels=max_pixels)
    # Shrink early (memory stays near one decoded copy), in a mode that resamples correctly.
    img, sixteen_bit = _resamplable(img)
    if max_side is not None:
        img.thumbnail((max_side, max_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return _to_mode(img, mode, sixteen_bit=sixteen_bit)


def convert_image(img: Image.Image, mode: str = "RGB", *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Return an already opened PIL image of any mode as a new 8-bit ``mode`` image ("RGB" or "L").

    The first frame of an animation, transparency composited on white, 16-bit and float greys
    rescaled (not clipped), palette and CMYK converted: what ``load_image`` does to a file. The
    input image is left as it was. Raises ImageError when it has more than ``max_pixels`` pixels.
    """
    if mode not in MODES:
        raise ConfigError.from_key("errors.image_mode", mode=repr(mode), modes=", ".join(MODES))
    width, height = img.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise _too_large((width, height), max_pixels)
    frame = img.tell() if getattr(img, "n_frames", 1) > 1 else None
    if frame:
        img.seek(0)
    try:
        first, sixteen_bit = _resamplable(img)
        return _to_mode(first if first is not img else img.copy(), mode, sixteen_bit=sixteen_bit)
    finally:
        if frame:
            img.seek(frame)


def check_min_size(img: Image.Image, min_side: int, what: str) -> None:
    """Raise ImageError unless both sides of ``img`` are at least ``min_side`` pixels.

    ``what`` names the operation in the message: a Phrase (translated with the message) or a plain text.
    """
    width, height = img.size
    if min(width, height) < min_side:
        raise ImageError.from_key("errors.image_too_small", size=f"{width}×{height}", what=what,
                                  min_size=f"{min_side}×{min_side}")  # fmt: skip


def image_to_chw(img: Image.Image) -> np.ndarray:
    """Return a PIL image as a float32 array (C, H, W) in [0, 1], as torchvision's ToTensor does."""
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return arr[None] if arr.ndim == 2 else np.ascontiguousarray(arr.transpose(2, 0, 1))


def _open_source(source: bytes | str | Path | BinaryIO) -> BinaryIO | Path:
    """Return a seekable stream or an existing path; refuse empty and missing files."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ImageError.from_key("errors.image_missing", path=str(path))
        if path.stat().st_size == 0:
            raise ImageError.from_key("errors.image_file_empty", name=path.name)
        return path
    else:
        data = source.read()
    if not data:
        raise ImageError.from_key("errors.image_empty")
    return io.BytesIO(data)


def _decode(stream: BinaryIO | Path, *, max_side: int | None, max_pixels: int) -> Image.Image:
    """Check the header's size, then decode the first frame (at a reduced JPEG scale when possible)."""
    try:
        img = Image.open(stream, formats=_FORMATS)
    except UnidentifiedImageError as err:
        raise ImageError.from_key("errors.image_unreadable", formats=_FORMAT_LIST) from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _too_large(None, max_pixels) from err
    except _DECODE_ERRORS as err:
        raise ImageError.from_key("errors.image_damaged") from err
    with img:
        width, height = img.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise _too_large((width, height), max_pixels)
        try:
            img.seek(0)  # first frame of an animated GIF / WebP or a multi-page TIFF
            if max_side is not None and img.format in ("JPEG", "MPO"):
                img.draft(None, (2 * max_side, 2 * max_side))  # decode at 1/2, 1/4 or 1/8 scale
            img.load()
            return ImageOps.exif_transpose(img)  # a new, loaded image: upright as the camera saw it
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise _too_large((width, height), max_pixels) from err
        except _DECODE_ERRORS + (ValueError,) as err:
            raise ImageError.from_key("errors.image_truncated") from err


def _too_large(size: tuple[int, int] | None, max_pixels: int) -> ImageError:
    megapixels = f"{max_pixels / 1e6:.0f}"
    if size is None:
        return ImageError.from_key("errors.image_bomb", megapixels=megapixels)
    return ImageError.from_key("errors.image_too_large", size=f"{size[0]}×{size[1]}", megapixels=megapixels)


def _resamplable(img: Image.Image) -> tuple[Image.Image, bool]:
    """Return ``img`` in a mode Pillow resizes well (RGB, RGBA, L, LA, I or F) and whether it was 16-bit."""
    if img.mode.startswith("I;16"):
        return img.convert("I"), True  # lossless; Pillow cannot resize I;16
    if img.mode in ("RGB", "RGBA", "L", "LA", "I", "F") and "transparency" not in img.info:
        return img, False
    if img.mode in ("PA", "La", "RGBa") or "transparency" in img.info:
        return img.convert("RGBA"), False  # palette or colour key transparency → real alpha
    if img.mode == "1":
        return img.convert("L"), False
    return img.convert("RGB"), False  # palette, CMYK, YCbCr, LAB, HSV


def _to_mode(img: Image.Image, mode: str, *, sixteen_bit: bool) -> Image.Image:
    """Convert RGB / RGBA / L / LA / I / F to 8-bit ``mode``: transparency on white, high bit depths rescaled."""
    if img.mode in ("I", "F"):
        img = _to_8bit(img, sixteen_bit=sixteen_bit)
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba).convert("RGB")
    return img if img.mode == mode else img.convert(mode)


def _to_8bit(img: Image.Image, *, sixteen_bit: bool) -> Image.Image:
    """Rescale a 16-bit, 32-bit integer or float grayscale image into 8 bits without clipping."""
    values = np.asarray(img, dtype=np.float32)  # (H, W)
    if sixteen_bit:
        scaled = values / 257.0  # full 16-bit range 0..65535 → 0..255
    elif img.mode == "I" and values.min() >= 0 and values.max() <= 65535:
        scaled = values / 257.0 if values.max() > 255 else values  # 16-bit data stored as 32-bit
    elif img.mode == "F" and values.min() >= 0 and values.max() <= 1:
        scaled = values * 255.0  # float images in 0..1
    else:
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))
