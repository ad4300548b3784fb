"""Detection page lesson 4: RoI pooling and RoI align on a real feature map of EfficientNet-Lite0.

The learner sets a box in pixels of the photo and picks a stage of the trained network; the page
shows the box on the photo, RoI pooling's whole-cell bins and RoI align's exact bins and sampling
points over one channel of that stage's map, and the two pooled grids side by side.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch
from torch import nn

from cnnviz.detect import align_samples, roi_align, roi_bins, roi_pool
from cnnviz.errors import CnnvizError
from cnnviz.explain import capture_activations, stage_layers
from cnnviz.nets import build
from cnnviz.ui.base import error_text, t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.detection import BACKBONE, LessonPhoto, box_inputs
from cnnviz.ui.detection_figures import (
    COLOURS,
    BoxLayer,
    add_align_grid,
    add_boxes,
    add_pool_bins,
    feature_map_figure,
    photo_figure,
    pooled_figure,
)
from cnnviz.ui.widgets import bounded_slider

__all__ = ["SAMPLING_RATIOS", "roi_lesson"]

SAMPLING_RATIOS = (0, 1, 2, 4)  # 0: adaptive, ceil(bin size) samples per bin side, as torchvision
MIN_STRIDE = 8  # stages with a finer map than this are left out (a box covers too many cells to draw)


@st.cache_resource(max_entries=1, show_spinner=False)
def _backbone() -> nn.Module:
    return build(BACKBONE, weights="bundled").eval()


@st.cache_data(max_entries=8, show_spinner=False)
def _stage_maps(x: np.ndarray) -> dict[str, np.ndarray]:
    """Every stage's output for the input ``x`` (1, 3, S, S): layer → (C, H, W), stages of stride ≥ MIN_STRIDE."""
    model = _backbone()
    with torch.no_grad(), capture_activations(model, stage_layers(model)) as maps:
        model(torch.from_numpy(x))
    side = x.shape[-1]
    return {name: m[0].numpy() for name, m in maps.items() if m.dim() == 4 and side // m.shape[-1] >= MIN_STRIDE}


def _stage_label(name: str, plane: np.ndarray, side: int) -> str:
    return t("detection.roi_stage", layer=name, stride=side // plane.shape[-1], h=plane.shape[1], w=plane.shape[2],
             c=plane.shape[0])  # fmt: skip


def roi_lesson(photo: LessonPhoto) -> None:
    """RoI pooling and RoI align of the learner's box on one stage of EfficientNet-Lite0, side by side."""
    st.header(t("detection.roi_header"))
    st.markdown(t("detection.roi_intro"))
    side = photo.picture.shape[0]
    try:
        maps = _stage_maps(photo.x.numpy())
    except CnnvizError as err:  # the bundled weights missing or broken
        st.error(error_text(err), icon="⚠️")
        return
    names = list(maps)
    labels = {name: _stage_label(name, maps[name], side) for name in names}
    first, second, third = st.columns(3)
    default = next((n for n in names if side // maps[n].shape[-1] == 16), names[0])
    layer = translated_choice("selectbox", t("detection.roi_layer"), names, key="det_roi_layer", default=default,
                              where=first, format_func=labels.__getitem__)  # fmt: skip
    with second:
        bins = bounded_slider(t("detection.roi_output"), 1, 7, 3, key="det_roi_output")
    with third:
        ratio = translated_choice("selectbox", t("detection.roi_sampling"), list(SAMPLING_RATIOS), key="det_roi_ratio",
                                  default=2, format_func=_ratio_label)  # fmt: skip
    box = box_inputs("det_roi_box", t("detection.roi_box"), (48, 40, 176, 200), side)
    features = torch.from_numpy(maps[layer])[None]  # (1, C, H, W)
    scale = features.shape[-1] / side
    rois = torch.cat([torch.zeros(1), box])[None]  # (1, 5): image 0 of the batch
    try:
        pooled = roi_pool(features, rois, bins, scale)[0]  # (C, bins, bins)
        aligned = roi_align(features, rois, bins, scale, ratio)[0]
    except CnnvizError as err:
        st.error(error_text(err), icon="⚠️")
        return
    strongest = int(aligned.mean(dim=(1, 2)).argmax())  # the channel that answers this region most
    channel = bounded_slider(t("detection.roi_channel"), 0, features.shape[1] - 1, strongest, key="det_roi_channel",
                             help=t("detection.roi_channel_help", best=strongest))  # fmt: skip
    _show_scale(box, features.shape[-1], side, scale)
    _show_maps(photo, box, features[0, channel].numpy(), bins, scale, ratio)
    _show_pooled(pooled[channel].numpy(), aligned[channel].numpy())


def _ratio_label(ratio: int) -> str:
    return t("detection.roi_adaptive") if ratio == 0 else str(ratio)


def _show_scale(box: torch.Tensor, map_side: int, side: int, scale: float) -> None:
    on_map = (box * scale).tolist()
    st.latex(rf"\text{{spatial scale}} = \frac{{{map_side}}}{{{side}}} = \frac{{1}}{{{round(1 / scale)}}}, \qquad"
             rf"(x_1, y_1, x_2, y_2) \cdot \tfrac{{1}}{{{round(1 / scale)}}} = ("
             + ", ".join(f"{v:.2f}" for v in on_map) + ")")  # fmt: skip


def _show_maps(photo: LessonPhoto, box: torch.Tensor, plane: np.ndarray, bins: int, scale: float, ratio: int) -> None:
    left, middle, right = st.columns(3)
    fig = photo_figure(photo.picture, pixels=330)
    add_boxes(fig, box[None], BoxLayer(t("detection.roi_box"), COLOURS[1], width=3))
    left.plotly_chart(fig, key="det_roi_photo")
    on_map = (box * scale)[None]  # (1, 4) the exact box on the map
    exact = BoxLayer(t("detection.roi_exact"), COLOURS[1], width=2, dash="dash")
    pool = roi_bins(box, bins, scale, plane.shape)
    fig = add_pool_bins(feature_map_figure(plane, t("detection.roi_pool_title"), pixels=330), pool,
                        t("detection.roi_pool_bins"))  # fmt: skip
    middle.plotly_chart(add_boxes(fig, on_map, exact), key="det_roi_pool_map")
    middle.caption(t("detection.roi_pool_caption", x1=pool.region[0], y1=pool.region[1], x2=pool.region[2],
                     y2=pool.region[3]))  # fmt: skip
    samples = align_samples(box, bins, scale, ratio)
    fig = add_align_grid(feature_map_figure(plane, t("detection.roi_align_title"), pixels=330), samples,
                         t("detection.roi_align_bins"), t("detection.roi_samples"))  # fmt: skip
    right.plotly_chart(fig, key="det_roi_align_map")
    right.caption(t("detection.roi_align_caption", n=len(samples.ys[0]) * len(samples.xs[0])))


def _show_pooled(pooled: np.ndarray, aligned: np.ndarray) -> None:
    left, middle, right = st.columns(3)
    low, high = float(min(pooled.min(), aligned.min())), float(max(pooled.max(), aligned.max()))
    left.markdown(t("detection.roi_values_intro"))
    middle.plotly_chart(pooled_figure(pooled, t("detection.roi_pool_values"), low=low, high=high),
                        key="det_roi_pool_values")  # fmt: skip
    right.plotly_chart(pooled_figure(aligned, t("detection.roi_align_values"), low=low, high=high),
                       key="det_roi_align_values")  # fmt: skip
    st.latex(r"\text{RoI pool:}\quad y_{ij} = \max_{(h, w) \in \text{bin}_{ij}} f(h, w)")
    st.latex(r"\text{RoI align:}\quad y_{ij} = \frac{1}{g_h g_w} \sum_{k=1}^{g_h g_w} f_{\text{bilinear}}(y_k, x_k),"
             r"\quad f_{\text{bilinear}}(y, x) = \sum_{h, w} \max(0, 1 - |y - h|)\,\max(0, 1 - |x - w|)\, f(h, w)")
    st.markdown(t("detection.roi_explain"))
