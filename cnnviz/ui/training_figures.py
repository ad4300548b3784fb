"""Live-training page: the loss and accuracy curves, the confusion matrix, first-layer filters and feature maps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from cnnviz.render import montage, tile_images
from cnnviz.train import EpochStats, FeatureProjection, JobSnapshot
from cnnviz.ui.base import t

if TYPE_CHECKING:  # only for annotations
    from cnnviz.ui.training import RunRecord

__all__ = ["confusion_figure", "curves_figure", "features_figure", "filters_image", "maps_image"]


def curves_figure(
    snap: JobSnapshot, runs: Sequence[RunRecord], *, metric: str, mark_epoch: int | None = None
) -> go.Figure:
    """Train (per window) and validation (per epoch) loss or accuracy, with earlier runs dashed."""
    fig = go.Figure()
    per_epoch = snap.total_steps / max(snap.epochs, 1)
    steps = snap.step_stats
    if steps:
        y = [s.loss if metric == "loss" else s.accuracy for s in steps]
        mode = "lines" if len(steps) > 20 else "lines+markers"
        fig.add_scatter(x=[s.step / per_epoch for s in steps], y=y, name=t("train.curve_train"), mode=mode)
    _add_epochs(fig, snap.epoch_stats, metric, t("train.curve_val"), dash=None)
    for run in runs:
        _add_epochs(fig, run.snapshot.epoch_stats, metric, t("train.curve_val_of", label=run.label), dash="dash")
    if mark_epoch is not None:
        fig.add_vline(x=mark_epoch, line_dash="dot", line_color="grey")
    title = t("train.chart_loss") if metric == "loss" else t("train.chart_accuracy")
    fig.update_layout(title=title, xaxis_title=t("train.axis_epoch"), height=320, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.25))  # fmt: skip
    if metric == "loss":
        finite = [s.loss for s in steps if math.isfinite(s.loss)]
        if finite and max(finite) > 20 * min(finite) > 0:
            fig.update_yaxes(type="log")
    return fig


def _add_epochs(fig: go.Figure, epochs: tuple[EpochStats, ...], metric: str, name: str, *, dash: str | None) -> None:
    if not epochs:
        return
    y = [e.val_loss if metric == "loss" else e.val_accuracy for e in epochs]
    fig.add_scatter(x=[e.epoch for e in epochs], y=y, name=name, mode="lines+markers", line=dict(dash=dash))


def confusion_figure(confusion: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """Heat map of counts (K, K): rows are true classes, columns predicted classes, named for people."""
    fig = go.Figure(go.Heatmap(z=confusion, x=list(class_names), y=list(class_names), colorscale="Blues",
                               text=confusion, texttemplate="%{text}", showscale=False))  # fmt: skip
    fig.update_layout(title=t("train.confusion"), xaxis_title=t("train.predicted"), yaxis_title=t("train.true"),
                      yaxis_autorange="reversed", height=420, margin=dict(l=10, r=10, t=40, b=10))  # fmt: skip
    return fig


def filters_image(filters: np.ndarray, *, scale: int = 16) -> Image.Image:
    """First-layer filters (C_out, C_in, k, k) as colour patches (RGB input) or a signed montage (gray)."""
    if filters.shape[1] != 3:
        return montage(filters[:, 0], scale=scale, pad=2)
    vmax = float(np.abs(filters).max()) or 1.0
    tiles = ((filters / vmax + 1) / 2).clip(0, 1).transpose(0, 2, 3, 1)  # (C_out, k, k, 3), grey = 0
    pictures = np.rint(tiles * 255).astype(np.uint8)
    return tile_images(pictures, cols=min(len(tiles), 5), pad=2, scale=scale)  # rows of 5, like the maps beside


def maps_image(maps: np.ndarray) -> Image.Image:
    """The probe image's first-layer feature maps (C, H, W) as one signed montage."""
    scale = max(1, 96 // max(maps.shape[-1], 1))
    return montage(maps, cols=min(len(maps), 5), scale=scale, pad=2)


def features_figure(features: FeatureProjection, class_names: Sequence[str]) -> go.Figure:
    """Every photo's backbone features in 2-D (first two principal components): one colour per class, ◆ = validation."""
    fig = go.Figure()
    for k, name in enumerate(class_names):
        for val in (False, True):
            keep = (features.labels == k) & (features.is_val == val)
            if not keep.any():
                continue
            fig.add_scatter(x=features.points[keep, 0], y=features.points[keep, 1], mode="markers",
                            name=t("train.features_val", name=name) if val else name, legendgroup=str(k),
                            marker=dict(color=_colour(k), size=11 if val else 8, symbol="diamond" if val else "circle",
                                        line=dict(width=1.5 if val else 0, color="black")))  # fmt: skip
    share = [round(100 * v) for v in features.explained]
    fig.update_layout(title=t("train.features_title", dims=f"{features.dims:,}"), height=360,
                      xaxis_title=t("train.features_axis", n=1, share=share[0]),
                      yaxis_title=t("train.features_axis", n=2, share=share[1]),
                      margin=dict(l=10, r=10, t=40, b=10))  # fmt: skip
    return fig


def _colour(k: int) -> str:
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf")  # fmt: skip
    return palette[k % len(palette)]
