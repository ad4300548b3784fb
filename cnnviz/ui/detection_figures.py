"""Detection page pictures (plotly): boxes over a photo or a scene, and RoI bins and samples over a feature map.

On a photo, pixel (row i, column j) covers x from j to j + 1 and y from i to i + 1, so a box's
corners in pixels are drawn where they are. On a feature map, cell k is drawn centred at k: that is
where RoI pooling and RoI align (``aligned=False``, as in torchvision) read it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from torch import Tensor

from cnnviz.detect import AlignSamples, RoiBins

__all__ = [
    "BoxLayer",
    "add_align_grid",
    "add_boxes",
    "add_pool_bins",
    "feature_map_figure",
    "photo_figure",
    "pooled_figure",
]

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _layout(fig: go.Figure, width: float, height: float, pixels: int) -> go.Figure:
    """Image-like axes: y downwards, equal scale, no ticks; ``pixels`` wide on screen."""
    fig.update_xaxes(range=[0, width], showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(range=[height, 0], showticklabels=False, showgrid=False, zeroline=False, scaleanchor="x")
    fig.update_layout(width=pixels, height=round(pixels * height / width) + 40, margin=dict(l=5, r=5, t=30, b=5),
                      showlegend=True, legend=dict(orientation="h", y=-0.02, yanchor="top"))  # fmt: skip
    return fig


def photo_figure(picture: np.ndarray, *, pixels: int = 420) -> go.Figure:
    """A figure showing ``picture`` (H, W, 3) uint8 with pixel edges at whole numbers."""
    height, width = picture.shape[:2]
    fig = go.Figure(go.Image(z=picture, x0=0.5, y0=0.5, hoverinfo="skip"))
    return _layout(fig, width, height, pixels)


class BoxLayer:
    """How to draw a group of boxes: colour, line, fill, legend name, and an optional label per box."""

    def __init__(self, name: str, colour: str, *, width: float = 2, dash: str | None = None, fill: float = 0.0,
                 labels: Sequence[str] | None = None) -> None:  # fmt: skip
        self.name, self.colour, self.width, self.dash, self.fill, self.labels = name, colour, width, dash, fill, labels


def _outline(boxes: Tensor) -> tuple[list[float | None], list[float | None]]:
    """One closed path per box, separated by None, so that hundreds of boxes are one trace."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for x1, y1, x2, y2 in boxes.tolist():
        xs += [x1, x2, x2, x1, x1, None]
        ys += [y1, y1, y2, y2, y1, None]
    return xs, ys


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def add_boxes(fig: go.Figure, boxes: Tensor, layer: BoxLayer) -> go.Figure:
    """Draw (N, 4) ``boxes`` (x1, y1, x2, y2) on ``fig`` as one legend entry; labels sit at the top-left corners."""
    if len(boxes) == 0:
        return fig
    xs, ys = _outline(boxes)
    fill = dict(fill="toself", fillcolor=_rgba(layer.colour, layer.fill)) if layer.fill else {}
    fig.add_scatter(x=xs, y=ys, mode="lines", name=layer.name, hoverinfo="skip",
                    line=dict(color=layer.colour, width=layer.width, dash=layer.dash), **fill)  # fmt: skip
    if layer.labels is not None:
        fig.add_scatter(x=boxes[:, 0].tolist(), y=boxes[:, 1].tolist(), mode="text", text=list(layer.labels),
                        textposition="top right", textfont=dict(color=layer.colour, size=12), showlegend=False,
                        hoverinfo="skip")  # fmt: skip
    return fig


def feature_map_figure(plane: np.ndarray, title: str, *, pixels: int = 360) -> go.Figure:
    """A heat map of one channel (H, W), cell k centred at k, on image-like axes."""
    height, width = plane.shape
    fig = go.Figure(go.Heatmap(z=plane, x0=0, dx=1, y0=0, dy=1, colorscale="Viridis", showscale=False,
                               hovertemplate="(%{y}, %{x}): %{z:.3f}<extra></extra>"))  # fmt: skip
    _layout(fig, width, height, pixels)
    fig.update_xaxes(range=[-0.5, width - 0.5])
    fig.update_yaxes(range=[height - 0.5, -0.5])
    fig.update_layout(title=dict(text=title, font=dict(size=14)))
    return fig


def add_pool_bins(fig: go.Figure, bins: RoiBins, name: str) -> go.Figure:
    """Outline RoI pooling's bins: whole cells, so each bin's edges sit between cells (at k ± ½)."""
    boxes = [[left - 0.5, top - 0.5, right - 0.5, bottom - 0.5]
             for top, bottom in bins.rows for left, right in bins.cols if bottom > top and right > left]  # fmt: skip
    if boxes:
        add_boxes(fig, torch.tensor(boxes), BoxLayer(name, "#ffffff", width=2))
    return fig


def add_align_grid(fig: go.Figure, samples: AlignSamples, bins_name: str, points_name: str) -> go.Figure:
    """Draw RoI align's bin edges (exact, not rounded) and its bilinear sampling points."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    top, bottom, left, right = samples.y_edges[0], samples.y_edges[-1], samples.x_edges[0], samples.x_edges[-1]
    for y in samples.y_edges:
        xs += [left, right, None]
        ys += [y, y, None]
    for x in samples.x_edges:
        xs += [x, x, None]
        ys += [top, bottom, None]
    fig.add_scatter(x=xs, y=ys, mode="lines", name=bins_name, line=dict(color="#ffffff", width=2), hoverinfo="skip")
    points = [(x, y) for row in samples.ys for y in row for column in samples.xs for x in column]
    fig.add_scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="markers", name=points_name,
                    marker=dict(color="#ff4b4b", size=6, line=dict(color="#ffffff", width=1)),
                    hovertemplate="(%{y:.2f}, %{x:.2f})<extra></extra>")  # fmt: skip
    return fig


def pooled_figure(values: np.ndarray, title: str, *, low: float, high: float) -> go.Figure:
    """The pooled grid (out_h, out_w) with each value written in its cell; colours on a shared ``low…high`` scale."""
    text = [[f"{v:.2f}" for v in row] for row in values.tolist()]
    fig = go.Figure(go.Heatmap(z=values.tolist(), colorscale="Viridis", zmin=low, zmax=high, showscale=False, text=text,
                               texttemplate="%{text}", hoverinfo="skip"))  # fmt: skip
    rows, cols = values.shape
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False, scaleanchor="x")
    fig.update_layout(title=dict(text=title, font=dict(size=14)), width=300, height=round(300 * rows / cols) + 40,
                      margin=dict(l=5, r=5, t=30, b=5))  # fmt: skip
    return fig
