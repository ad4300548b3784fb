"""Draw the sliding window as SVG: the plane with one step's window beside the output grid.

A few kilobytes that a browser draws at once, so the picture can follow the step slider (and the
animation) without the tenth of a second a Plotly figure takes to build and as long again to draw.
Grids of up to MAX_HOVER_CELLS cells are drawn cell by cell, each with a tooltip (row, column) and,
up to MAX_TEXT_CELLS a side, its example value; larger ones as one image with a pixel per cell.
Every text comes from the caller, already translated.
"""

from __future__ import annotations

import base64
import math
from html import escape

import numpy as np

from cnnviz.conv.diagram import MAX_HOVER_CELLS, MAX_TEXT_CELLS, Plane, step_codes
from cnnviz.conv.diagram_plot import (
    OUTPUT_COLOURS,
    PLANE_COLOURS,
    WINDOW_COLOURS,
    WINDOW_OUTLINE,
    DiagramLabels,
    diagram_legend,
)
from cnnviz.render import png_bytes

__all__ = ["diagram_svg"]

MAX_CELL_PX = 34  # side of a cell on a small grid
GRID_PX = 440  # the plane's larger side takes at most this many pixels
TOP, LEFT, GAP, LEGEND_ROW = 44, 30, 56, 26  # room for the titles, the row numbers, between the grids, a legend row
DARK_CODES = {4, 5, 6}  # window cells (input, padding, inserted zero) get white text: their colours are dark


def diagram_svg(
    plane: Plane,
    step: int,
    labels: DiagramLabels,
    *,
    values: np.ndarray | None = None,
    out_values: np.ndarray | None = None,
) -> str:
    """Draw the plane with the window of ``step`` and the output grid with its cell selected, as one SVG element.

    ``values`` (Hp, Wp) and ``out_values`` (OH, OW), when given and the grid is small, are written in
    the cells (NaN cells stay blank). The root carries ``data-step`` and ``data-out`` ("OH×OW").
    Raises ConfigError for a step outside the output.
    """
    codes = step_codes(plane, step)
    (hp, wp), (oh, ow) = plane.kinds.shape, plane.out_size
    cell = max(GRID_PX / max(hp, wp), 1.0) if max(hp, wp) * MAX_CELL_PX > GRID_PX else float(MAX_CELL_PX)
    out_left = LEFT + max(wp * cell, _text_width(labels.input_title, 15)) + GAP  # the titles never overlap
    width = max(out_left + ow * cell + 10, 460.0)
    parts = [
        _title(LEFT, labels.input_title),
        _title(out_left, labels.output_title),
        _grid(codes.plane, PLANE_COLOURS + WINDOW_COLOURS, LEFT, cell, values, labels),
        _grid(codes.output, OUTPUT_COLOURS, out_left, cell, out_values, labels, dark={2}),
        _ticks(hp, wp, LEFT, cell),
        _ticks(oh, ow, out_left, cell),
        _window_box(codes.box, cell),
    ]
    legend, legend_height = _legend(diagram_legend(plane, labels), width, TOP + max(hp, oh) * cell + 14)
    height = TOP + max(hp, oh) * cell + 14 + legend_height
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" style="max-width:100%;height:auto" role="img" '
        f'aria-label="{escape(labels.input_title)} → {escape(labels.output_title)}" '
        f'data-step="{step}" data-out="{oh}×{ow}">{"".join(parts)}{legend}</svg>'
    )


def _title(x: float, text: str) -> str:
    return f'<text x="{x:.1f}" y="16" font-size="15" font-weight="600" fill="#31333f">{escape(text)}</text>'


def _grid(
    codes: np.ndarray,
    colours: tuple[str, ...],
    left: float,
    cell: float,
    values: np.ndarray | None,
    labels: DiagramLabels,
    *,
    dark: set[int] = DARK_CODES,
) -> str:
    """One grid of flat-coloured cells: rectangles with tooltips (and values) when small, else one image."""
    height, width = codes.shape
    if codes.size > MAX_HOVER_CELLS:
        return _raster(codes, colours, left, cell)
    texts = values is not None and max(height, width) <= MAX_TEXT_CELLS
    size = min(14.0, cell * 0.42)
    out = []
    for r in range(height):
        for c in range(width):
            x, y, code = left + c * cell, TOP + r * cell, int(codes[r, c])
            tip = f"{labels.row} {r}, {labels.col} {c}"
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell - 1:.1f}" height="{cell - 1:.1f}" '
                f'fill="{colours[code]}"><title>{escape(tip)}</title></rect>'
            )
            if texts and not np.isnan(values[r, c]):
                colour = "#ffffff" if code in dark else "#1f2430"
                out.append(
                    f'<text x="{x + (cell - 1) / 2:.1f}" y="{y + (cell - 1) / 2:.1f}" font-size="{size:.1f}" '
                    f'text-anchor="middle" dominant-baseline="central" fill="{colour}" pointer-events="none">'
                    f"{_value(values[r, c])}</text>"
                )
    return "".join(out)


def _value(value: float) -> str:
    return f"−{abs(value):g}" if value < 0 else f"{value:g}"


def _raster(codes: np.ndarray, colours: tuple[str, ...], left: float, cell: float) -> str:
    """A large grid as one PNG with one pixel per cell, scaled up without smoothing."""
    lut = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=np.uint8)  # (n, 3)
    data = base64.b64encode(png_bytes(lut[codes])).decode("ascii")
    height, width = codes.shape
    return (
        f'<image x="{left:.1f}" y="{TOP}" width="{width * cell:.1f}" height="{height * cell:.1f}" '
        f'preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,{data}"/>'
    )


def _ticks(height: int, width: int, left: float, cell: float) -> str:
    """Row numbers on the left and column numbers above a grid, about ten a side."""
    out = []
    for i in range(0, width, max(1, math.ceil(width / 10))):
        out.append(f'<text x="{left + (i + 0.5) * cell:.1f}" y="{TOP - 6}" font-size="10" text-anchor="middle" '
                   f'fill="#808495">{i}</text>')  # fmt: skip
    for i in range(0, height, max(1, math.ceil(height / 10))):
        out.append(f'<text x="{left - 5:.1f}" y="{TOP + (i + 0.5) * cell:.1f}" font-size="10" text-anchor="end" '
                   f'dominant-baseline="central" fill="#808495">{i}</text>')  # fmt: skip
    return "".join(out)


def _window_box(box: tuple[int, int, int, int], cell: float) -> str:
    top, left, bottom, right = box
    x, y = LEFT + left * cell - 1.5, TOP + top * cell - 1.5
    w, h = (right - left + 1) * cell + 2, (bottom - top + 1) * cell + 2
    return (
        f'<rect class="window" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="none" '
        f'stroke="{WINDOW_OUTLINE}" stroke-width="3" pointer-events="none"/>'
    )


def _text_width(text: str, size: float) -> float:
    """About how wide ``text`` is at font size ``size`` (a CJK character is about twice a Latin one)."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.56 for ch in text) * size


def _legend(entries: list[tuple[str, str]], width: float, top: float) -> tuple[str, float]:
    """Colour squares with their texts, wrapped into rows that fit ``width``; return the SVG and its height."""
    out, x, y = [], float(LEFT), top
    for text, colour in entries:
        span = 22 + _text_width(text, 12.5) + 18  # square, text, gap
        if x + span > max(width, 420) and x > LEFT:
            x, y = float(LEFT), y + LEGEND_ROW
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="14" height="14" fill="{colour}" stroke="#999"/>'
            f'<text x="{x + 20:.1f}" y="{y + 7:.1f}" font-size="12.5" dominant-baseline="central" '
            f'fill="#31333f">{escape(text)}</text>'
        )
        x += span
    return "".join(out), y - top + LEGEND_ROW
