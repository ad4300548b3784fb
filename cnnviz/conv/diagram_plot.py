"""Draw the sliding window as a Plotly figure: the plane with the window of one step beside the output grid.

Every text on the figure comes from the caller, already translated. The pages draw the same picture as
SVG (:mod:`cnnviz.conv.svg`, much lighter in the browser); both read :func:`step_codes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.conv.diagram import MAX_HOVER_CELLS, MAX_TEXT_CELLS, CellKind, Plane, step_codes

__all__ = ["DiagramLabels", "diagram_figure", "diagram_legend"]


@dataclass(frozen=True)
class DiagramLabels:
    """Translated texts for the figure."""

    input_title: str  # title over the plane
    output_title: str  # title over the output grid
    input: str  # legend: input cell
    padding: str  # legend: padding cell
    inserted: str  # legend: inserted zero
    outside: str  # legend: cell beyond the padding (ceil mode)
    window: str  # legend: cells under the window
    done: str  # legend: output cells already computed
    selected: str  # legend: the output cell of this step
    row: str  # hover: "row"
    col: str  # hover: "column"


PLANE_COLOURS = ("#c6dbef", "#e0e0e0", "#fdf1d6", "#f5f5f5")  # input, padding, inserted zero, outside


WINDOW_COLOURS = ("#2171b5", "#8c8c8c", "#d9a441", "#d0d0d0")  # the same kinds, under the window


OUTPUT_COLOURS = ("#f2f2f2", "#c7e9c0", "#238b45")  # pending, done, selected


WINDOW_OUTLINE = "#08306b"  # the box around the window


def _discrete_scale(colours: tuple[str, ...]) -> list[list]:
    """A Plotly colourscale mapping integer codes 0…n−1 to flat colours."""
    n = len(colours)
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return scale


def diagram_figure(
    plane: Plane, step: int, labels: DiagramLabels, *, values: np.ndarray | None = None, out_values=None
) -> go.Figure:
    """Draw the plane with the window of ``step`` and the output grid with its cell selected.

    ``values`` (Hp, Wp) and ``out_values`` (OH, OW), when given and small, are written in the cells
    (NaN cells stay blank).
    """
    codes = step_codes(plane, step)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(labels.input_title, labels.output_title),
        column_widths=[plane.kinds.shape[1], max(plane.out_size[1], 1)],
        horizontal_spacing=0.08,
    )
    fig.add_trace(_grid(codes.plane, PLANE_COLOURS + WINDOW_COLOURS, values, labels), row=1, col=1)
    fig.add_trace(_grid(codes.output, OUTPUT_COLOURS, out_values, labels), row=1, col=2)
    top, left, bottom, right = codes.box
    fig.add_shape(
        type="rect",
        x0=left - 0.5,
        x1=right + 0.5,
        y0=top - 0.5,
        y1=bottom + 0.5,
        line={"color": WINDOW_OUTLINE, "width": 3},
        row=1,
        col=1,
    )
    for name, colour in diagram_legend(plane, labels):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=name,
                marker={"symbol": "square", "size": 14, "color": colour, "line": {"color": "#999", "width": 1}},
            )
        )
    fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False, scaleanchor="x", constrain="domain")
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain")
    for col, (height, width) in ((1, plane.kinds.shape), (2, plane.out_size)):  # whole-number ticks only
        fig.update_yaxes(dtick=max(1, math.ceil(height / 10)), row=1, col=col)
        fig.update_xaxes(dtick=max(1, math.ceil(width / 10)), row=1, col=col)
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
        legend={"orientation": "h", "y": -0.1},
        height=480,
        plot_bgcolor="white",
    )
    return fig


def diagram_legend(plane: Plane, labels: DiagramLabels) -> list[tuple[str, str]]:
    """The legend's (text, colour) entries; inserted zeros and cells beyond the padding only when the plane has some."""
    legend = [
        (labels.input, PLANE_COLOURS[0]),
        (labels.padding, PLANE_COLOURS[1]),
        (labels.window, WINDOW_COLOURS[0]),
        (labels.done, OUTPUT_COLOURS[1]),
        (labels.selected, OUTPUT_COLOURS[2]),
    ]
    if (plane.kinds == CellKind.INSERTED).any():
        legend.insert(2, (labels.inserted, PLANE_COLOURS[2]))
    if (plane.kinds == CellKind.OUTSIDE).any():
        legend.insert(2, (labels.outside, PLANE_COLOURS[3]))
    return legend


def _grid(codes: np.ndarray, colours: tuple[str, ...], values: np.ndarray | None, labels: DiagramLabels) -> go.Heatmap:
    """One grid of flat-coloured cells, values written in them when the grid is small."""
    n = len(colours)
    heatmap = {"z": codes, "zmin": -0.5, "zmax": n - 0.5, "colorscale": _discrete_scale(colours)}
    heatmap.update(showscale=False, xgap=1, ygap=1)
    small = max(codes.shape) <= MAX_TEXT_CELLS
    if values is not None and small:
        heatmap["text"] = [["" if np.isnan(v) else f"{v:g}" for v in line] for line in np.asarray(values, float)]
        heatmap["texttemplate"] = "%{text}"
    if codes.size <= MAX_HOVER_CELLS:
        heatmap["hovertemplate"] = f"{labels.row} %{{y}}, {labels.col} %{{x}}<extra></extra>"
    else:
        heatmap["hoverinfo"] = "skip"
    return go.Heatmap(**heatmap)
