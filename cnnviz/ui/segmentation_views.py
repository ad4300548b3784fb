"""Segmentation page, what a trained FCN shows: IoU per class, score maps, the checkerboard, the user's photo.

Every view draws on the networks the session trained or loaded (``cnnviz.ui.segmentation.trained_runs``),
one per upsampling kind, and on the page's own scenes (``view_scenes``), which no network trained on.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from cnnviz.segment import (
    MASK_COLOURS,
    SEGMENTATION_CLASSES,
    FCNConfig,
    Upsampling,
    colour_mask,
    confusion_matrix,
    iou_per_class,
    overlay_mask,
    photo_to_scene,
    predict_masks,
    scene_picture,
    seeded_fcn,
)
from cnnviz.segment.fcn import FCN
from cnnviz.ui.base import t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.image_input import image_input
from cnnviz.ui.segmentation import TrainedFCN, class_name, legend, trained_runs, view_scenes, zoom
from cnnviz.ui.widgets import bounded_slider

__all__ = ["checkerboard_lesson", "photo_section", "results_section"]


def _kind_label(kind: str) -> str:
    return t(f"segmentation.upsampling.{kind}")


def _latest() -> tuple[str, TrainedFCN] | None:
    runs = trained_runs()
    return next(reversed(runs.items())) if runs else None


# ------------------------------------------------------------------------------------------------ results
def results_section() -> None:
    """Mean IoU and IoU per class on the page's scenes, then one scene: truth, prediction, score maps."""
    st.header(t("segmentation.results_header"))
    latest = _latest()
    if latest is None:
        st.info(t("segmentation.no_model"))
        return
    kinds = list(trained_runs())
    kind = latest[0]
    if len(kinds) > 1:
        kind = translated_choice("radio", t("segmentation.which_model"), kinds, key="seg_which", default=kind,
                                 format_func=_kind_label, horizontal=True)  # fmt: skip
    run = trained_runs()[kind]
    scenes = view_scenes()
    found = predict_masks(run.model, scenes.images, mean=run.mean, std=run.std)
    ious = iou_per_class(confusion_matrix(found.mask, scenes.masks, len(SEGMENTATION_CLASSES)))
    _iou_chart(ious, run)
    st.latex(r"\mathrm{IoU}_c = \frac{|P_c \cap T_c|}{|P_c \cup T_c|}, \qquad"
             r"\mathrm{mIoU} = \frac{1}{|C|} \sum_{c \in C} \mathrm{IoU}_c")  # fmt: skip
    st.caption(t("segmentation.iou_caption"))
    i = bounded_slider(t("segmentation.scene_number"), 1, len(scenes), 1, key="seg_result_scene") - 1
    picture = scene_picture(scenes.images[i])
    cols = st.columns(3)
    cols[0].image(zoom(picture), caption=t("segmentation.the_scene"))
    cols[1].image(zoom(colour_mask(scenes.masks[i])), caption=t("segmentation.true_mask"))
    cols[2].image(zoom(overlay_mask(picture, found.mask[i])), caption=t("segmentation.predicted_mask"))
    legend()
    st.subheader(t("segmentation.score_maps"))
    st.markdown(t("segmentation.score_maps_intro"))
    _score_maps(found.probabilities[i])


def _iou_chart(ious: list[float | None], run: TrainedFCN) -> None:
    present = [v for v in ious if v is not None]
    miou = sum(present) / len(present) if present else float("nan")
    left, right = st.columns([1, 3])
    left.metric(t("segmentation.miou_here"), f"{miou:.3f}")
    if "miou" in run.results:
        left.metric(t("segmentation.miou_val"), f"{run.results['miou']:.3f}")
        left.caption(t("segmentation.trained_for", n=run.epoch, seconds=f"{run.seconds:.0f}"))
    names = [class_name(c) for c in range(len(ious))]
    colours = [f"rgb{tuple(int(v) for v in MASK_COLOURS[c])}" for c in range(len(ious))]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[v if v is not None else 0 for v in ious],
            marker_color=colours,
            text=[f"{v:.2f}" if v is not None else "–" for v in ious],
            textposition="outside",
        )
    )
    fig.update_layout(title=t("segmentation.iou_chart"), height=300, margin=dict(l=10, r=10, t=40, b=10))
    fig.update_yaxes(range=[0, 1.1])
    right.plotly_chart(fig, key="seg_iou_chart")


def _score_maps(probabilities: torch.Tensor) -> None:
    """One grey map per class (white = probability 1), side by side with the class names."""
    maps = [np.asarray(zoom((p.numpy() * 255 + 0.5).astype(np.uint8))) for p in probabilities]
    cols = st.columns(len(maps))
    for c, (col, m) in enumerate(zip(cols, maps, strict=True)):
        col.image(m, caption=class_name(c), width="stretch")


# ------------------------------------------------------------------------------------------------ checkerboard
@st.cache_resource(show_spinner=False)
def _untrained(kind: str) -> FCN:
    return seeded_fcn(FCNConfig(SEGMENTATION_CLASSES, upsampling=kind), 0).eval()


def _response_picture(model: FCN) -> np.ndarray:
    """The first decoder upsampling's answer to a constant input, first channel, stretched to 0…255 grey."""
    r = model.upsampling_response(0, size=8)[0][2:-2, 2:-2].cpu().numpy()  # the border feels the zero padding
    span = float(r.max() - r.min())
    grey = (r - r.min()) / span if span > 1e-12 else np.full_like(r, 0.5)
    return np.asarray(zoom(zoom((grey * 255 + 0.5).astype(np.uint8))))


def checkerboard_lesson() -> None:
    """Transposed convolution vs bilinear upsampling: a constant input, and the trained networks' masks."""
    st.header(t("segmentation.checker_header"))
    st.markdown(t("segmentation.checker_intro"))
    st.latex(r"o = (i - 1)\,s - 2p + k + \text{output\_padding} = (i - 1)\cdot 2 - 2 + 3 + 1 = 2i")
    cols = st.columns(2)
    for col, kind in zip(cols, [u.value for u in Upsampling], strict=True):
        col.image(
            _response_picture(_untrained(kind)), caption=t("segmentation.checker_untrained", kind=_kind_label(kind))
        )
    runs = trained_runs()
    if not runs:
        st.info(t("segmentation.checker_train_both"))
        return
    st.markdown(t("segmentation.checker_trained"))
    scenes = view_scenes()
    i = bounded_slider(t("segmentation.scene_number"), 1, len(scenes), 2, key="seg_checker_scene") - 1
    cols = st.columns(2 * len(runs))
    for j, (kind, run) in enumerate(runs.items()):
        found = predict_masks(run.model, scenes.images[i : i + 1], mean=run.mean, std=run.std)
        background = found.probabilities[0, 0].numpy()
        cols[2 * j].image(zoom((background * 255 + 0.5).astype(np.uint8)),
                          caption=t("segmentation.checker_background", kind=_kind_label(kind)))  # fmt: skip
        cols[2 * j + 1].image(
            zoom(colour_mask(found.mask[0])), caption=t("segmentation.checker_mask", kind=_kind_label(kind))
        )
        cols[2 * j].image(_response_picture(run.model), caption=t("segmentation.checker_trained_layer"))
    if len(runs) < 2:
        st.info(t("segmentation.checker_train_both"))


# ------------------------------------------------------------------------------------------------ photo
def photo_section() -> None:
    """The user's own photo through the latest network, with an honest caption."""
    st.header(t("segmentation.photo_header"))
    latest = _latest()
    image, name = image_input("seg", max_side=512)
    if latest is None:
        st.info(t("segmentation.no_model"))
        return
    kind, run = latest
    size = run.model.config.image_size
    x = photo_to_scene(image, size)
    found = predict_masks(run.model, x, mean=run.mean, std=run.std)
    picture = scene_picture(x[0])
    seen = sorted(set(found.mask[0].unique().tolist()) - {0})
    cols = st.columns(2)
    cols[0].image(zoom(picture), caption=t("segmentation.photo_input", name=name, size=size))
    cols[1].image(
        zoom(overlay_mask(picture, found.mask[0])), caption=t("segmentation.photo_output", kind=_kind_label(kind))
    )
    legend()
    found_text = ", ".join(class_name(c) for c in seen) if seen else t("segmentation.photo_nothing")
    st.markdown(t("segmentation.photo_found", classes=found_text))
    st.caption(t("segmentation.photo_honest"))
