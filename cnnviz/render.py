"""Turn feature maps into pictures: diverging and sequential colormaps, montages, colour bars.

Pure NumPy and PIL (no matplotlib). Signed maps (convolution outputs, gradients) use a diverging
blue-white-red colormap centred on zero with a symmetric scale ±vmax, so that white always means 0;
non-negative maps (images, ReLU outputs, Grad-CAM) may use the sequential viridis-like colormap.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid

__all__ = [
    "DIVERGING_COLORSCALE",
    "SEQUENTIAL_COLORSCALE",
    "colorbar_svg",
    "diverging_rgb",
    "montage",
    "number_grid_figure",
    "number_tiles",
    "png_bytes",
    "sequential_rgb",
    "signed_number",
    "signed_sum",
    "symmetric_vmax",
    "tile_images",
    "upscale_nearest",
]

# ColorBrewer RdBu reversed: strong blue (most negative) → white (0) → strong red (most positive).
_DIVERGING_ANCHORS = (
    (5, 48, 97),
    (33, 102, 172),
    (67, 147, 195),
    (146, 197, 222),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (244, 165, 130),
    (214, 96, 77),
    (178, 24, 43),
    (103, 0, 31),
)
# viridis sampled at 9 evenly spaced points: dark purple (low) → yellow (high).
_SEQUENTIAL_ANCHORS = (
    (68, 1, 84),
    (71, 44, 123),
    (59, 82, 139),
    (44, 114, 142),
    (33, 145, 140),
    (40, 174, 128),
    (94, 201, 98),
    (173, 220, 48),
    (253, 231, 37),
)


def _lut(anchors: tuple[tuple[int, int, int], ...], size: int = 257) -> np.ndarray:
    """Interpolate colour anchors linearly into a (size, 3) uint8 table (odd size: 0 hits the middle)."""
    points = np.asarray(anchors, dtype=np.float64)  # (A, 3)
    where = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, size)
    channels = [np.interp(t, where, points[:, c]) for c in range(3)]
    return np.clip(np.rint(np.stack(channels, axis=1)), 0, 255).astype(np.uint8)


def _colorscale(anchors: tuple[tuple[int, int, int], ...]) -> list[list[Any]]:
    """Plotly colorscale with the same anchors as the lookup table."""
    last = len(anchors) - 1
    return [[i / last, f"rgb({r},{g},{b})"] for i, (r, g, b) in enumerate(anchors)]


_DIVERGING_LUT = _lut(_DIVERGING_ANCHORS)  # constant tables, not cached data
_SEQUENTIAL_LUT = _lut(_SEQUENTIAL_ANCHORS)
DIVERGING_COLORSCALE = _colorscale(_DIVERGING_ANCHORS)  # for px.imshow / go.Heatmap(colorscale=...)
SEQUENTIAL_COLORSCALE = _colorscale(_SEQUENTIAL_ANCHORS)


def _as_array(arr: Any) -> np.ndarray:
    """Return a float64 NumPy copy of an array or tensor with non-finite values set to 0."""
    if hasattr(arr, "detach"):  # a torch tensor, possibly requiring grad or on another device
        arr = arr.detach().cpu().numpy()
    return np.nan_to_num(np.asarray(arr, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def symmetric_vmax(arr: Any, *, percentile: float = 100.0) -> float:
    """Return the ``percentile`` of |value| over ``arr`` (default: the max), or 1.0 for an all-zero map.

    A percentile below 100 (e.g. 99.5) ignores a few extreme pixels so the rest of the map keeps
    its contrast; values beyond it are then clipped to the strongest colour.
    """
    values = np.abs(_as_array(arr))
    if not values.size:
        return 1.0
    vmax = float(values.max() if percentile >= 100 else np.percentile(values, percentile))
    if vmax <= 0.0:  # mostly zeros: fall back to the max so nonzero values still show
        vmax = float(values.max())
    return vmax if vmax > 0.0 else 1.0


def diverging_rgb(arr2d: Any, *, vmax: float | None = None) -> tuple[np.ndarray, float]:
    """Colour a signed 2-D map blue (negative) – white (zero) – red (positive).

    The scale is symmetric: -vmax maps to the strongest blue, +vmax to the strongest red, values
    beyond are clipped. ``vmax`` defaults to max |value| (1.0 for an all-zero map).
    Returns ``(rgb, vmax)`` with rgb a (H, W, 3) uint8 array.
    Raises ValueError for an array that is not 2-D or a vmax that is not positive.
    """
    values = _as_array(arr2d)
    if values.ndim != 2:
        raise ValueError(f"diverging_rgb needs a 2-D map (H, W), got shape {values.shape}.")
    vmax = symmetric_vmax(values) if vmax is None else float(vmax)
    if not vmax > 0.0 or not math.isfinite(vmax):
        raise ValueError(f"vmax must be a positive number, got {vmax}.")
    unit = np.clip((values / vmax + 1.0) / 2.0, 0.0, 1.0)  # -vmax → 0, 0 → 0.5, +vmax → 1
    index = np.rint(unit * (len(_DIVERGING_LUT) - 1)).astype(np.intp)
    return _DIVERGING_LUT[index], vmax


def sequential_rgb(arr2d: Any, *, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Colour a 2-D map dark purple (vmin) → yellow (vmax), viridis-like.

    ``vmin``/``vmax`` default to the map's minimum and maximum; a constant map comes out uniform.
    Returns a (H, W, 3) uint8 array. Raises ValueError for an array that is not 2-D.
    """
    values = _as_array(arr2d)
    if values.ndim != 2:
        raise ValueError(f"sequential_rgb needs a 2-D map (H, W), got shape {values.shape}.")
    if values.size == 0:
        return np.zeros((*values.shape, 3), np.uint8)
    low = float(values.min()) if vmin is None else float(vmin)
    high = float(values.max()) if vmax is None else float(vmax)
    span = high - low
    unit = np.clip((values - low) / span, 0.0, 1.0) if span > 0 else np.zeros_like(values)
    index = np.rint(unit * (len(_SEQUENTIAL_LUT) - 1)).astype(np.intp)
    return _SEQUENTIAL_LUT[index]


def png_bytes(img: Image.Image | np.ndarray) -> bytes:
    """Encode an image (PIL or a uint8 (H, W) / (H, W, 3) array) as PNG bytes, for st.image or a download.

    Compression level 1: about half the time of Pillow's default 6, for files a little larger.
    """
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    buffer = io.BytesIO()
    img.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def tile_images(
    tiles: Any, *, cols: int | None = None, pad: int = 1, scale: int = 1, background: int = 255
) -> Image.Image:
    """Tile uint8 pictures (N, H, W, 3) or (N, H, W) into one grid image with torchvision's ``make_grid``.

    ``cols`` defaults to ceil(sqrt(N)); tiles are ``scale``× enlarged (crisp pixels) and separated by
    ``pad`` pixels of grey level ``background``, with no border around the grid.
    Raises ValueError for a wrong shape or non-positive cols/scale.
    """
    arr = np.asarray(tiles)
    if arr.ndim == 3:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 4 or arr.shape[-1] != 3 or 0 in arr.shape:
        raise ValueError(f"tile_images needs pictures shaped (N, H, W, 3) or (N, H, W), got shape {np.shape(tiles)}.")
    count = arr.shape[0]
    cols = math.ceil(math.sqrt(count)) if cols is None else min(int(cols), count)
    if cols < 1 or scale < 1 or pad < 0:
        raise ValueError(f"tile_images needs cols ≥ 1, scale ≥ 1 and pad ≥ 0, got {cols=}, {scale=}, {pad=}.")
    batch = torch.from_numpy(np.ascontiguousarray(arr.astype(np.uint8))).permute(0, 3, 1, 2)  # (N, 3, H, W)
    if scale > 1:
        batch = batch.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
    grid = make_grid(batch, nrow=cols, padding=pad, pad_value=background)  # (3, H', W'), padded all round
    if pad and count > 1:  # make_grid returns a single picture as it is
        grid = grid[:, pad:-pad, pad:-pad]  # keep only the gaps between tiles
    return Image.fromarray(grid.permute(1, 2, 0).numpy())


def upscale_nearest(img: Image.Image | np.ndarray, factor: int) -> Image.Image:
    """Enlarge an image by an integer ``factor`` with nearest-neighbour (pixels stay crisp squares)."""
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"upscale factor must be an integer ≥ 1, got {factor}.")
    if factor == 1:
        return img
    return img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)


def montage(
    maps: Any,
    *,
    cols: int | None = None,
    pad: int = 1,
    scale: int = 1,
    signed: bool = True,
    vmax: float | None = None,
    background: int = 255,
) -> Image.Image:
    """Tile all maps of a layer into one RGB image with one shared colour scale.

    maps: (C, H, W) array or tensor (a (H, W) map counts as C = 1). ``signed`` uses the diverging
    colormap with ±vmax (default: max |value| over all maps), otherwise the sequential colormap
    from the global min to ``vmax`` (default: global max). Tiles are ``scale``× enlarged and
    separated by ``pad`` pixels of grey level ``background``; ``cols`` defaults to ceil(sqrt(C)).
    Raises ValueError for a wrong shape or non-positive cols/scale.
    """
    values = _as_array(maps)
    if values.ndim == 2:
        values = values[None]
    if values.ndim != 3 or 0 in values.shape:
        raise ValueError(f"montage needs maps shaped (C, H, W) with C, H, W ≥ 1, got shape {values.shape}.")
    count, height, width = values.shape
    cols = math.ceil(math.sqrt(count)) if cols is None else min(int(cols), count)
    if cols < 1 or scale < 1 or pad < 0:
        raise ValueError(f"montage needs cols ≥ 1, scale ≥ 1 and pad ≥ 0, got cols={cols}, scale={scale}, pad={pad}.")
    if signed:
        shared = symmetric_vmax(values) if vmax is None else vmax
        tiles = [diverging_rgb(m, vmax=shared)[0] for m in values]
    else:
        low = float(values.min())
        high = float(values.max()) if vmax is None else float(vmax)
        tiles = [sequential_rgb(m, vmin=low, vmax=high) for m in values]
    return tile_images(np.stack(tiles), cols=cols, pad=pad, scale=scale, background=background)


def number_tiles(grid: Image.Image, count: int, *, cols: int, tile: tuple[int, int], pad: int = 1) -> Image.Image:
    """Write each tile's index (0, 1, ...) in its top-left corner, white on a dark box; return a new image.

    ``grid`` is a ``tile_images`` / ``montage`` result of ``count`` tiles, ``cols`` to a row, each
    ``tile`` = (height, width) pixels after enlarging, ``pad`` pixels apart. Tiles under 12 pixels
    high are too small for a number and are left as they are.
    """
    out = grid.convert("RGB")
    height, width = tile
    if height < 12:
        return out
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=max(8, min(14, height // 4)))
    for index in range(count):
        left, top = (index % cols) * (width + pad), (index // cols) * (height + pad)
        box = draw.textbbox((left + 1, top), str(index), font=font)
        draw.rectangle((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), fill=(0, 0, 0))
        draw.text((left + 1, top), str(index), fill=(255, 255, 255), font=font)
    return out


def signed_number(value: float, fmt: str = ".4f") -> str:
    """Write a number with a real minus sign (U+2212): "−0.3529", "0.1000"; one that rounds to zero has none."""
    text = f"{abs(value):{fmt}}"
    return f"−{text}" if value < 0 and float(text) != 0 else text


def signed_sum(values: Sequence[float], fmt: str = ".4f") -> str:
    """Write the terms of a sum with their own signs: [−0.3529, −0.4157, 0.1] → "−0.3529 − 0.4157 + 0.1000"."""
    parts = [signed_number(values[0], fmt)] if len(values) else []
    parts += [f"{'−' if signed_number(v, fmt).startswith('−') else '+'} {abs(v):{fmt}}" for v in values[1:]]
    return " ".join(parts)


def colorbar_svg(
    vmin: float, vmax: float, *, signed: bool | None = None, title: str = "", width: int = 480, ticks: int = 5
) -> str:
    """Return a horizontal colour bar from ``vmin`` to ``vmax`` as a small SVG: a gradient and labelled ticks.

    ``signed`` (default: vmin < 0) picks the diverging colormap; pass ``-v, v`` for a map drawn with
    ``diverging_rgb(..., vmax=v)`` and the map's min/max for ``sequential_rgb``. The browser draws it
    at once, where a Plotly colour bar takes a tenth of a second at every change.
    """
    vmin, vmax = float(vmin), float(vmax)
    if not vmax > vmin:
        vmin, vmax = vmin - 0.5, vmin + 0.5  # a constant map: still a readable bar
    signed = vmin < 0 if signed is None else signed
    name, scale = ("diverging", DIVERGING_COLORSCALE) if signed else ("sequential", SEQUENTIAL_COLORSCALE)
    stops = "".join(f'<stop offset="{pos:.3f}" stop-color="{colour}"/>' for pos, colour in scale)
    marks = []
    for i, value in enumerate(np.linspace(vmin, vmax, ticks)):
        x = 10 + i * (width - 20) / (ticks - 1)
        marks.append(
            f'<line x1="{x:.1f}" y1="40" x2="{x:.1f}" y2="45" stroke="#808495"/>'
            f'<text x="{x:.1f}" y="58" font-size="11" text-anchor="middle" fill="#31333f">'
            f"{signed_number(value, '.3g')}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="62" viewBox="0 0 {width} 62" '
        f'style="max-width:100%;height:auto" role="img" aria-label="{escape(title)}">'
        f'<defs><linearGradient id="cnnviz-{name}">{stops}</linearGradient></defs>'
        f'<text x="10" y="12" font-size="13" fill="#31333f">{escape(title)}</text>'
        f'<rect x="10" y="18" width="{width - 20}" height="22" fill="url(#cnnviz-{name})" stroke="#ccc"/>'
        f"{''.join(marks)}</svg>"
    )


def number_grid_figure(
    values: Any,
    *,
    marks: Sequence[tuple[int, int]] = (),
    box: tuple[range, range] | None = None,
    title: str = "",
    fmt: str = ".0f",
    cell_px: int = 34,
) -> go.Figure:
    """Draw a small 2-D grid with its numbers written in the cells (row 0 at the top).

    ``marks`` outlines single cells (e.g. the winners of max pooling) in red; ``box`` (rows, cols)
    outlines a window in black. Colours are sequential from the grid's min to max.
    """
    grid = _as_array(values)
    if grid.ndim != 2:
        raise ValueError(f"number_grid_figure needs a 2-D grid (H, W), got shape {grid.shape}.")
    height, width = grid.shape
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            text=[[format(v, fmt) for v in row] for row in grid],
            texttemplate="%{text}",
            colorscale=SEQUENTIAL_COLORSCALE,
            showscale=False,
            hoverinfo="skip",
            xgap=1,
            ygap=1,
        )
    )
    for r, c in marks:
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color="red", width=3))
    if box is not None and len(box[0]) and len(box[1]):
        rows, cols = box
        fig.add_shape(
            type="rect",
            x0=cols.start - 0.5,
            x1=cols.stop - 0.5,
            y0=rows.start - 0.5,
            y1=rows.stop - 0.5,
            line=dict(color="black", width=3, dash="dot"),
        )
    axes = dict(dtick=1, fixedrange=True, showgrid=False, zeroline=False)
    fig.update_yaxes(range=[height - 0.5, -0.5], scaleanchor="x", constrain="domain", **axes)
    fig.update_xaxes(range=[-0.5, width - 0.5], side="top", constrain="domain", **axes)
    fig.update_layout(
        width=cell_px * width + 40,
        height=cell_px * height + (90 if title else 60),
        margin=dict(l=30, r=10, t=60 if title else 30, b=10),
        title=dict(text=title, font=dict(size=13), y=0.98) if title else None,
    )
    return fig
