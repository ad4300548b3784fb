"""The procedural "digits" data set: 28×28 MNIST-like digits from fonts and pen strokes, warped in a batch.

Like MNIST: white on black, the glyph's long side fills 20/28 of the canvas, centred by mass.
Seeded and offline; the fonts are bundled in ``assets/fonts``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from cnnviz.data.preprocessing import centre_by_mass
from cnnviz.data.split import _balanced_labels

__all__ = ["DIGITS_CLASSES", "FONTS_DIR", "make_digits"]


DIGITS_CLASSES = tuple(str(d) for d in range(10))


FONTS_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"


_DIGIT_SIZE = 28


_TEMPLATE_SCALE = 2  # templates are drawn at 2× and averaged down, for smooth edges


_CHUNK = 512


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
    return centre_by_mass(canvas.crop(box), side)


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
    thick, thin = morph == 1, morph == -1  # each on its own digits only (the same values, a third of the work)
    thickened = F.max_pool2d(out[thick], 3, stride=1, padding=1)
    out[thin] = F.pad(-F.max_pool2d(-out[thin], 2, stride=1, padding=0), (0, 1, 0, 1))
    out[thick] = thickened
    out = F.avg_pool2d(out, _TEMPLATE_SCALE)[:, 0]  # (n, 28, 28)
    out = out * torch.from_numpy(p["gain"]).float().view(-1, 1, 1)
    out = out + torch.from_numpy(p["noise_field"]) * torch.from_numpy(p["noise"]).float().view(-1, 1, 1)
    return (out.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8).numpy()
