"""The image loader on every odd or hostile file, each built here (nothing downloaded)."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnviz.data import ALLOWED_EXTENSIONS, SAMPLES_DIR, check_min_size, list_samples, load_image
from cnnviz.errors import ConfigError, ImageError

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def halves(size: tuple[int, int], left: tuple[int, ...], right: tuple[int, ...], mode: str = "RGB") -> Image.Image:
    """An image whose left half is ``left`` and right half ``right``."""
    img = Image.new(mode, size, left)
    img.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return img


def png_header(width: int, height: int) -> bytes:
    """A PNG with a valid IHDR claiming ``width×height`` RGB pixels, one tiny IDAT and IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def pixel(img: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(img)[xy[1], xy[0]].reshape(-1))


# --- formats and modes that must load -------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "params"), [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"lossless": True}),
                                             ("BMP", {}), ("GIF", {}), ("TIFF", {})])  # fmt: skip
def test_every_allowed_format_loads_as_rgb(fmt: str, params: dict) -> None:
    data = encode(halves((40, 20), RED, BLUE), fmt, **params)
    img = load_image(data)
    assert img.mode == "RGB" and img.size == (40, 20)
    np.testing.assert_allclose(pixel(img, (5, 10)), RED, atol=8)  # lossy JPEG: a few levels
    np.testing.assert_allclose(pixel(img, (35, 10)), BLUE, atol=8)


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    data = encode(halves((40, 20), RED, BLUE), "JPEG", quality=95, exif=exif.tobytes())
    img = load_image(data)
    assert img.size == (20, 40)  # upright: portrait
    np.testing.assert_allclose(pixel(img, (10, 5)), RED, atol=8)  # the stored left half is now on top
    np.testing.assert_allclose(pixel(img, (10, 35)), BLUE, atol=8)
    big = load_image(encode(halves((3000, 2000), RED, BLUE), "JPEG", exif=exif.tobytes()), max_side=300)
    assert big.size == (200, 300)  # decoded at reduced scale (draft), then turned upright
    np.testing.assert_allclose(pixel(big, (100, 20)), RED, atol=8)


def test_tiff_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 3  # upside down
    img = load_image(encode(halves((40, 20), RED, BLUE), "TIFF", exif=exif))
    assert pixel(img, (5, 10)) == BLUE


def test_rgba_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent red
    rgba.putpixel((1, 1), (255, 0, 0, 255))
    rgba.putpixel((2, 2), (255, 0, 0, 128))
    img = load_image(encode(rgba, "PNG"))
    assert pixel(img, (0, 0)) == WHITE  # not the hidden red and not black
    assert pixel(img, (1, 1)) == RED
    np.testing.assert_allclose(pixel(img, (2, 2)), (255, 127, 127), atol=1)


def test_la_is_composited_on_white() -> None:
    la = Image.new("LA", (3, 3), (0, 0))  # transparent black
    la.putpixel((1, 1), (0, 255))
    img = load_image(encode(la, "PNG"), mode="L")
    assert img.mode == "L"
    assert pixel(img, (0, 0)) == (255,) and pixel(img, (1, 1)) == (0,)


def test_palette_with_transparency() -> None:
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # index 0 black (transparent), 1 red
    pal.putpixel((3, 3), 1)
    img = load_image(encode(pal, "PNG", transparency=0))
    assert pixel(img, (0, 0)) == WHITE and pixel(img, (3, 3)) == RED
    gif = load_image(encode(pal, "GIF", transparency=0))
    assert pixel(gif, (0, 0)) == WHITE and pixel(gif, (3, 3)) == RED


def test_cmyk_jpeg_and_tiff() -> None:
    cmyk = halves((16, 8), (0, 0, 0, 0), (255, 0, 0, 0), mode="CMYK")  # white | cyan
    for data in (encode(cmyk, "JPEG", quality=95), encode(cmyk, "TIFF")):
        img = load_image(data)
        assert img.mode == "RGB"
        np.testing.assert_allclose(pixel(img, (2, 4)), WHITE, atol=8)
        np.testing.assert_allclose(pixel(img, (13, 4)), (0, 255, 255), atol=8)


def test_16bit_grayscale_is_scaled_not_clipped() -> None:
    values = np.array([[0, 1000, 32896, 65535]], dtype=np.uint16)
    data = encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")  # really stored with 16 bits
    img = load_image(data, mode="L")
    assert np.asarray(img).tolist() == [[0, 4, 128, 255]]  # 1000 stays dark (PIL's convert gives 255)
    rgb = load_image(data)
    assert pixel(rgb, (2, 0)) == (128, 128, 128)


def test_large_16bit_and_transparent_images_are_downscaled_correctly() -> None:
    gray16 = np.full((600, 800), 65535, dtype=np.uint16)
    gray16[:, :400] = 1000
    img = load_image(encode(Image.fromarray(gray16), "PNG"), max_side=80, mode="L")
    assert img.size == (80, 60)
    assert np.asarray(img)[30, 10] == 4 and np.asarray(img)[30, 70] == 255
    pal = Image.new("P", (800, 600), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    pal.paste(1, (400, 0, 800, 600))
    rgb = load_image(encode(pal, "PNG", transparency=0), max_side=80)
    assert pixel(rgb, (10, 30)) == WHITE and pixel(rgb, (70, 30)) == RED


def test_float_tiff_is_rescaled() -> None:
    values = np.array([[-1.0, 0.0, 3.0]], dtype=np.float32)
    img = load_image(encode(Image.fromarray(values), "TIFF"), mode="L")
    assert np.asarray(img).tolist() == [[0, 64, 255]]


def test_one_bit_image() -> None:
    bits = Image.new("1", (8, 8), 0)
    bits.putpixel((4, 4), 1)
    img = load_image(encode(bits, "PNG"))
    assert pixel(img, (0, 0)) == (0, 0, 0) and pixel(img, (4, 4)) == WHITE


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_gives_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (10, 10), RED), Image.new("RGB", (10, 10), BLUE)]
    params = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **params)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    img = load_image(data)
    np.testing.assert_allclose(pixel(img, (5, 5)), RED, atol=2)


# --- sources, sizes, modes ------------------------------------------------------------------------


def test_sources_bytes_filelike_and_path(tmp_path: Path) -> None:
    data = encode(halves((30, 10), RED, BLUE), "PNG")
    path = tmp_path / "x.png"
    path.write_bytes(data)
    for source in (data, bytearray(data), io.BytesIO(data), path, str(path)):
        img = load_image(source)
        assert img.size == (30, 10) and pixel(img, (0, 0)) == RED


def test_large_jpeg_is_downscaled_quickly() -> None:
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8))
    data = encode(big, "JPEG", quality=85)
    start = time.perf_counter()
    img = load_image(data, max_side=512)
    elapsed = time.perf_counter() - start
    assert img.size == (512, 384)
    assert elapsed < 2.0, f"12-MP JPEG took {elapsed:.2f} s"  # ~0.1 s measured; generous on a loaded machine


def test_max_side_none_and_small_images_are_kept() -> None:
    data = encode(Image.new("RGB", (300, 200), RED), "PNG")
    assert load_image(data, max_side=None).size == (300, 200)
    assert load_image(data, max_side=1024).size == (300, 200)  # never enlarged
    assert load_image(data, max_side=150).size == (150, 100)


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="CMYK.*RGB, L"):
        load_image(b"x", mode="CMYK")
    with pytest.raises(ConfigError, match="max_side"):
        load_image(b"x", max_side=0)


# --- files that must be refused with a clear message --------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(io.BytesIO())
    empty = tmp_path / "empty.png"
    empty.touch()
    with pytest.raises(ImageError, match="empty"):
        load_image(empty)
    with pytest.raises(ImageError, match="no image file"):
        load_image(tmp_path / "missing.png")


def test_text_renamed_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are my lecture notes, not a picture\n" * 20)
    with pytest.raises(ImageError, match="not an image"):
        load_image(path)


def test_unsupported_format_is_refused() -> None:
    data = encode(Image.new("RGB", (4, 4)), "PPM")  # Pillow reads it, we do not offer it
    with pytest.raises(ImageError, match="JPEG, PNG"):
        load_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(fmt: str) -> None:
    rng = np.random.default_rng(1)
    data = encode(Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)), fmt)
    with pytest.raises(ImageError, match="truncated"):
        load_image(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (100_000, 100_000),  # above 2× Pillow's limit: Pillow raises
        (10_000, 10_000),  # between 1× and 2× Pillow's limit: Pillow only warns, we refuse
        (8_000, 8_000),  # below Pillow's limit but above ours
    ],
)
def test_decompression_bomb_is_refused_before_decoding(width: int, height: int) -> None:
    start = time.perf_counter()
    with pytest.raises(ImageError, match="too large"):
        load_image(png_header(width, height))
    assert time.perf_counter() - start < 1.0  # refused from the header, nothing decoded


def test_own_pixel_limit() -> None:
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(ImageError, match="100×100"):
        load_image(data, max_pixels=5_000)


def test_check_min_size() -> None:
    tiny = Image.new("RGB", (5, 3))
    check_min_size(tiny, 3, "a 3×3 kernel")
    with pytest.raises(ImageError, match=r"5×3 pixels.*7×7 kernel.*at least 7×7"):
        check_min_size(tiny, 7, "a 7×7 kernel")


# --- samples --------------------------------------------------------------------------------------


def test_samples_load_and_are_documented() -> None:
    samples = list_samples()
    assert len(samples) >= 4
    readme = (SAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    for name, path in samples.items():
        assert path.suffix.lower().lstrip(".") in ALLOWED_EXTENSIONS
        assert path.name in readme, f"{path.name} has no source/license entry in assets/samples/README.md"
        img = load_image(path, max_side=640)
        assert img.mode == "RGB" and max(img.size) <= 640 and min(img.size) >= 64, name
    assert sum(p.stat().st_size for p in samples.values()) < 1_500_000
