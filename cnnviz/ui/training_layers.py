"""Live-training page: what each layer looks like as the run trains (filters, probe maps, weight and gradient
histograms per epoch, gradient norms per layer), drawn from the snapshots in ``cnnviz.train.history``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from cnnviz.render import montage, tile_images
from cnnviz.train import EpochSnapshot, Histogram, LayerSnapshot
from cnnviz.ui.base import t
from cnnviz.ui.widgets import png_data_url

__all__ = [
    "OUTSIDE_KINDS",
    "VIEWS",
    "filters_image",
    "gradient_norms_figure",
    "histogram_figure",
    "inside_network",
    "layer_filters_image",
    "layer_labels",
    "layer_maps_image",
    "maps_image",
    "outside_text",
]

VIEWS = ("filters", "histograms")  # what the section shows (catalog train_live.view.*)
VIEW_KEY = "train_view"
LAYER_KEY = "train_layer"  # the conv layer whose filters and maps are shown
HIST_LAYER_KEY = "train_hist_layer"  # the layer whose histograms are shown
OUTSIDE_KINDS = ("zeros", "below", "above", "nonfinite")  # what a histogram counts apart (catalog train_live.outside_*)
FILTER_TILE = 48  # pixels a filter patch is enlarged to (about)
MAP_TILE = 96  # pixels a feature map is enlarged to (about)


def layer_labels(layers: Sequence[LayerSnapshot]) -> dict[str, str]:
    """Name each layer for people, numbered by kind: {"block1.conv1": "conv 1 (3→10, 3×3)", ...}."""
    labels, counts = {}, {"conv": 0, "linear": 0}
    for layer in layers:
        counts[layer.kind] += 1
        n = counts[layer.kind]
        if layer.kind == "linear":
            labels[layer.name] = t("train_live.layer_linear", n=n, cin=layer.in_channels, cout=layer.out_channels)
            continue
        kh, kw = layer.kernel_size
        key = "train_live.layer_depthwise" if layer.groups > 1 else "train_live.layer_conv"
        labels[layer.name] = t(key, n=n, cin=layer.in_channels, cout=layer.out_channels, k=f"{kh}×{kw}")
    return labels


def filters_image(filters: np.ndarray, *, scale: int = 16) -> Image.Image:
    """First-layer filters (C_out, C_in, k, k) as colour patches (RGB input) or a signed montage (gray)."""
    if filters.shape[1] != 3:
        return montage(filters[:, 0], cols=min(len(filters), 5), scale=scale, pad=2)
    vmax = float(np.abs(filters).max()) or 1.0
    tiles = ((filters / vmax + 1) / 2).clip(0, 1).transpose(0, 2, 3, 1)  # (C_out, k, k, 3), grey = 0
    pictures = np.rint(tiles * 255).astype(np.uint8)
    return tile_images(pictures, cols=min(len(tiles), 5), pad=2, scale=scale)  # rows of 5, like the maps beside


def layer_filters_image(layer: LayerSnapshot, *, first: bool) -> Image.Image:
    """A conv layer's kept filters: colour patches for an RGB first layer, else one signed row per output channel.

    Deeper layers: row = output channel, column = input channel (C_out, C_in, kH, kW), one shared colour scale,
    grey gaps between kernels (white is 0).
    """
    filters = layer.filters.astype(np.float32)  # (≤16, ≤16, kH, kW)
    scale = max(1, FILTER_TILE // max(filters.shape[-2:]))
    if first and (filters.shape[1] == 3 or filters.shape[1] == 1):
        return filters_image(filters, scale=scale)
    c_out, c_in = filters.shape[:2]
    if c_in == 1:  # depthwise: one kernel per channel
        return montage(filters[:, 0], cols=min(c_out, 8), scale=scale, pad=2)
    return montage(filters.reshape(c_out * c_in, *filters.shape[-2:]), cols=c_in, scale=scale, pad=5, background=150)


def maps_image(maps: np.ndarray) -> Image.Image:
    """Feature maps (C, H, W) of the probe image as one signed montage, rows of 5."""
    scale = max(1, MAP_TILE // max(maps.shape[-1], 1))
    return montage(maps, cols=min(len(maps), 5), scale=scale, pad=2)


def layer_maps_image(layer: LayerSnapshot) -> Image.Image:
    """A conv layer's kept probe maps (≤16, h, w)."""
    return maps_image(layer.maps.values())


def _counts_z(hist: Histogram) -> np.ndarray:
    """Counts as log10 (colour), empty bins as NaN (left blank)."""
    counts = hist.counts.astype(np.float64)
    return np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan)


def histogram_figure(shots: Sequence[EpochSnapshot], name: str, *, gradients: bool, label: str) -> go.Figure:
    """Heat map epochs × bins of one layer's weight values (linear bins) or gradient magnitudes (log bins)."""
    rows = [(s.epoch, s.layer(name)) for s in shots]
    rows = [(e, (layer.gradients if gradients else layer.weights)) for e, layer in rows if layer is not None]
    rows = [(e, h) for e, h in rows if h is not None]
    fig = go.Figure()
    if rows:
        edges = rows[0][1].edges
        centres = np.sqrt(edges[:-1] * edges[1:]) if gradients else (edges[:-1] + edges[1:]) / 2
        z = np.stack([_counts_z(h) for _, h in rows])  # (epochs, bins)
        counts = np.stack([h.counts for _, h in rows])
        fig.add_heatmap(x=centres, y=[e for e, _ in rows], z=z, customdata=counts, colorscale="Viridis",
                        hovertemplate=_hover(gradients),
                        colorbar=dict(title=t("train_live.hist_colour"), tickvals=list(range(7)),
                                      ticktext=[f"{10**k:,}" for k in range(7)]))  # fmt: skip
    key = "train_live.hist_gradients" if gradients else "train_live.hist_weights"
    fig.update_layout(title=t(key, layer=label), height=300, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title=t("train_live.axis_gradient" if gradients else "train_live.axis_weight"),
                      yaxis_title=t("train.axis_epoch"))  # fmt: skip
    fig.update_yaxes(dtick=1 if len(rows) <= 12 else None)
    if gradients:
        fig.update_xaxes(type="log", exponentformat="power")
    return fig


def _hover(gradients: bool) -> str:
    value = "%{x:.2e}" if gradients else "%{x:.3f}"
    return t("train_live.hist_hover", epoch="%{y}", value=value, count="%{customdata:,}") + "<extra></extra>"


def gradient_norms_figure(shots: Sequence[EpochSnapshot], labels: dict[str, str]) -> go.Figure:
    """Each layer's gradient norm (epoch's last step) per epoch, on a log axis: vanishing or exploding shows."""
    fig = go.Figure()
    for name, label in labels.items():
        points = [(s.epoch, s.layer(name).grad_norm) for s in shots if s.layer(name) is not None]
        points = [(e, g) for e, g in points if g is not None and g > 0]
        if points:
            fig.add_scatter(x=[e for e, _ in points], y=[g for _, g in points], name=label, mode="lines+markers")
    fig.update_layout(title=t("train_live.norms_title"), height=320, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title=t("train.axis_epoch"), yaxis_title=t("train_live.axis_norm"),
                      legend=dict(orientation="h", y=-0.3))  # fmt: skip
    fig.update_yaxes(type="log")
    fig.update_xaxes(dtick=1 if len(shots) <= 12 else None)
    return fig


def outside_text(hist: Histogram, *, gradients: bool) -> str:
    """A sentence on what the bins leave out (exact zeros, tiny, huge, NaN); "" when nothing."""
    total = max(hist.total, 1)
    parts = []
    counts = (hist.zeros, hist.below, hist.above, hist.nonfinite)
    for count, key in zip(counts, OUTSIDE_KINDS, strict=True):
        if count:
            edge = hist.edges[0] if key == "below" else hist.edges[-1]
            share = f"{100 * count / total:.1f}"
            parts.append(t(f"train_live.outside_{key}", n=count, share=share, edge=f"{edge:.2g}"))
    if not parts:
        return ""
    return t("train_live.outside", what=t("train_live.of_gradients" if gradients else "train_live.of_weights"),
             parts=", ".join(parts))  # fmt: skip


def inside_network(shots: Sequence[EpochSnapshot], epoch: int, *, frozen: bool = False) -> None:
    """The section under the curves: a layer's filters and probe maps, or weight and gradient histograms.

    ``epoch``: the snapshot shown (the replay slider's, or the latest); ``frozen``: the backbone does not train
    (transfer over cached features), so only its trainable layers' histograms are worth a look.
    """
    shot = next((s for s in shots if s.epoch == epoch), shots[-1])
    view = st.radio(t("train_live.view"), VIEWS, format_func=lambda v: t(f"train_live.view.{v}"), horizontal=True,
                    key=VIEW_KEY)  # fmt: skip
    labels = layer_labels(shot.layers)
    if view == "filters":
        _filters_view(shot, labels, frozen=frozen)
    else:
        _histograms_view(shots, shot, labels, frozen=frozen)


def _pick(names: list[str], labels: dict[str, str], key: str) -> str:
    if st.session_state.get(key) not in names:  # a new run with another network: start from its first layer
        st.session_state.pop(key, None)
    return st.selectbox(t("train_live.layer"), names, format_func=labels.get, key=key)


def _filters_view(shot: EpochSnapshot, labels: dict[str, str], *, frozen: bool) -> None:
    if frozen:
        st.caption(t("train.frozen_filters"))
        return
    names = [layer.name for layer in shot.convs]
    layer = shot.layer(_pick(names, labels, LAYER_KEY))
    first, label = layer.name == names[0], labels[layer.name]
    cols = st.columns([2, 3])
    filters = t("train.filters" if first else "train_live.filters_deep", layer=label, epoch=shot.epoch)
    cols[0].image(png_data_url(layer_filters_image(layer, first=first)), caption=filters)  # no media file
    rows, inputs = layer.filters.shape[:2]
    if rows < layer.out_channels or inputs < layer.in_channels // layer.groups:
        cols[0].caption(t("train_live.filters_kept", rows=rows, total=layer.out_channels, cols=inputs,
                          inputs=layer.in_channels // layer.groups))  # fmt: skip
    if layer.maps is None:
        return
    maps = t("train.probe_maps" if first else "train_live.maps", layer=label, epoch=shot.epoch)
    cols[1].image(png_data_url(layer_maps_image(layer)), caption=maps)
    kept, (h, w) = layer.maps.levels.shape[0], layer.maps.levels.shape[1:]
    if kept < layer.out_channels or (h, w) != layer.map_size:
        cols[1].caption(t("train_live.maps_kept", n=kept, total=layer.out_channels, h=layer.map_size[0],
                          w=layer.map_size[1], sh=h, sw=w))  # fmt: skip


def _histograms_view(shots: Sequence[EpochSnapshot], shot: EpochSnapshot, labels: dict[str, str], *,
                     frozen: bool) -> None:  # fmt: skip
    names = [layer.name for layer in shot.layers if layer.trainable or not frozen]
    if not names:
        st.caption(t("train_live.nothing_trains"))
        return
    name = _pick(names, labels, HIST_LAYER_KEY)
    layer, label = shot.layer(name), labels[name]
    cols = st.columns(2)
    cols[0].plotly_chart(histogram_figure(shots, name, gradients=False, label=label), key="train_chart_weights")
    cols[0].caption(outside_text(layer.weights, gradients=False) or t("train_live.weights_story"))
    if any(s.layer(name) is not None and s.layer(name).gradients is not None for s in shots):
        cols[1].plotly_chart(histogram_figure(shots, name, gradients=True, label=label), key="train_chart_gradients")
        if layer.gradients is not None:
            cols[1].caption(outside_text(layer.gradients, gradients=True) or t("train_live.gradients_story"))
        st.plotly_chart(gradient_norms_figure(shots, {n: labels[n] for n in names}), key="train_chart_norms")
        st.caption(t("train_live.norms_story"))
    else:
        cols[1].info(t("train_live.no_gradients_yet"))
