"""Feature-maps page sections: input and predictions, every layer, Grad-CAM, and the closer look at one map.

Grad-CAM and the closer look are fragments: moving their controls reruns only that section
(milliseconds) instead of the whole page. Each section computes what it shows once per run.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image, ImageDraw

from cnnviz import explain
from cnnviz.nets import ModelSpec
from cnnviz.render import (
    colorbar_svg,
    diverging_rgb,
    png_bytes,
    sequential_rgb,
    symmetric_vmax,
    upscale_nearest,
)
from cnnviz.ui import fmaps
from cnnviz.ui.base import current_language, show_error, t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.labels import class_label, dataset_label
from cnnviz.ui.widgets import bounded_slider

__all__ = ["all_layers", "box_on_image", "grad_cam_section", "input_and_predictions", "look_closer", "overlay"]

CAM_SIDE = 192  # pixels a Grad-CAM panel is enlarged to
VIEW_SIDE = 256  # pixels the input and the enlarged map are enlarged to


def input_and_predictions(
    spec: ModelSpec, chosen: fmaps.ModelInput, seen: np.ndarray, predictions: list[explain.Prediction]
) -> None:
    """The input as the model sees it, beside the top classes and a verdict (right / wrong / photo)."""
    col_in, col_pred = st.columns([1, 2])
    with col_in:
        st.subheader(t("fmaps.input_header"))
        st.image(upscale_nearest(seen, _scale(spec.image_size, VIEW_SIDE)), caption=chosen.name)
        st.caption(chosen.how)
    with col_pred:
        st.subheader(t("fmaps.pred_header"))
        st.plotly_chart(_prediction_chart(spec, predictions), key="fmaps_pred_chart")
        top = predictions[0]
        label = class_label(spec.dataset, top.label)
        if chosen.truth is None:
            st.caption(t("fmaps.verdict_photo", label=label, p=top.probability, n=len(spec.class_names)))
            if spec.dataset == "imagenet":
                named = fmaps.named_classes(spec.dataset, tuple(spec.class_names))
                st.caption(t("fmaps.imagenet_names", n=named, total=len(spec.class_names)))
        elif top.index == chosen.truth:
            st.success(t("fmaps.verdict_right", label=label, p=top.probability), icon="✅")
        else:
            truth = class_label(spec.dataset, spec.class_names[chosen.truth])
            st.warning(t("fmaps.verdict_wrong", label=label, p=top.probability, truth=truth), icon="❌")


def _prediction_chart(spec: ModelSpec, predictions: list[explain.Prediction]) -> go.Figure:
    """Horizontal probability bars, most likely class on top, each bar labelled with its percentage."""
    ranked = predictions[::-1]  # plotly draws the first bar at the bottom
    bars = go.Bar(
        x=[p.probability for p in ranked],
        y=[class_label(spec.dataset, p.label) for p in ranked],
        orientation="h",
        text=[f"{p.probability:.1%}" for p in ranked],
        textposition="outside",
        cliponaxis=False,
        hoverinfo="skip",
    )
    fig = go.Figure(bars).update_layout(
        title=t("fmaps.pred_title", k=len(predictions)),
        xaxis_title=t("fmaps.pred_axis"),
        height=280,
        margin=dict(l=10, r=50, t=40, b=40),
    )
    return fig.update_xaxes(range=[0, 1], tickformat=".0%").update_yaxes(type="category", automargin=True)


def all_layers(result: fmaps.Analysis) -> None:
    """One grid of all maps per layer, the layers of a block side by side."""
    st.header(t("fmaps.layers_header"))
    st.caption(t("fmaps.layers_help"))
    for row in fmaps.layer_rows(list(result.maps)):
        for column, name in zip(st.columns(len(row)), row, strict=True):
            maps = result.maps[name]  # (C, H, W)
            c, h, w = maps.shape
            caption = t("fmaps.layer_caption", layer=name, n=c, h=h, w=w, lo=float(maps.min()), hi=float(maps.max()))
            column.image(result.grids[name], caption=caption, output_format="PNG")


@st.fragment
def grad_cam_section(loaded: fmaps.LoadedModel, x: np.ndarray, seen: np.ndarray, top: explain.Prediction) -> None:
    """Grad-CAM at every stage and the saliency map, for a class the learner searches and picks (a fragment)."""
    spec = loaded.spec
    st.header(t("fmaps.cam_header"))
    st.caption(t("fmaps.cam_help"))
    target = _cam_target(loaded)
    shown = class_label(spec.dataset, top.label) if target is None else class_label(spec.dataset,
                                                                                      spec.class_names[target])
    st.caption(t("fmaps.cam_showing", label=shown))
    try:
        found = fmaps.evidence(loaded.key, loaded.model, x, target)
    except ValueError as err:
        show_error(err)
    pictures = _cam_pictures(loaded.key, x, target, seen, found)
    captions = [cam.layer for cam in found.cams] + [t("fmaps.saliency")]
    per_row = 5
    for start in range(0, len(pictures), per_row):
        chunk = slice(start, start + per_row)
        row = zip(st.columns(per_row), pictures[chunk], captions[chunk], strict=False)
        for column, picture, caption in row:
            column.image(picture, caption=caption, output_format="PNG")
    st.markdown(colorbar_svg(0.0, 1.0, signed=False, title=t("fmaps.cam_bar")), unsafe_allow_html=True)


@st.cache_data(max_entries=16, show_spinner=False)
def _cam_pictures(
    model_key: str, x: np.ndarray, target: int | None, seen: np.ndarray, _found: fmaps.Evidence
) -> list[bytes]:
    """PNGs of every Grad-CAM panel over the input and of the saliency map, drawn once per input and class."""
    scale = _scale(seen.shape[0], CAM_SIDE)
    pictures = [overlay(seen, cam.heatmap) for cam in _found.cams] + [sequential_rgb(_found.saliency, vmin=0.0)]
    return [png_bytes(upscale_nearest(picture, scale)) for picture in pictures]


def _cam_target(loaded: fmaps.LoadedModel) -> int | None:
    """A search box and the classes that match it (English or the session's language); None: the top prediction."""
    spec = loaded.spec
    names = dict(enumerate(fmaps.display_names(spec.dataset, tuple(spec.class_names))))
    query = ""
    if len(names) > 20:
        query = st.text_input(t("fmaps.cam_search"), key=f"fmaps_cam_search_{loaded.key}",
                              placeholder=t("fmaps.cam_search_hint")).strip().lower()  # fmt: skip
    matches = [i for i, name in names.items() if query in name.lower() or query in spec.class_names[i].lower()]
    if not matches:
        st.info(t("fmaps.cam_no_match", query=query), icon="🔍")
    choices = [-1, *matches]  # -1: whatever the model predicts
    labels = {-1: t("fmaps.cam_top"), **names}
    key = f"fmaps_cam_class_{loaded.key}"
    if query and matches and st.session_state.get(f"{key}_query") != query:  # a new search picks its first match
        st.session_state[key] = matches[0]
        st.session_state.pop(f"{key}_{current_language()}", None)
    st.session_state[f"{key}_query"] = query
    choice = translated_choice("selectbox", t("fmaps.cam_class"), choices, key=key, default=-1,
                               format_func=labels.__getitem__)  # fmt: skip
    return None if choice == -1 else int(choice)


@st.fragment
def look_closer(loaded: fmaps.LoadedModel, result: fmaps.Analysis, x: np.ndarray, seen: np.ndarray) -> None:
    """One map enlarged, one unit and its receptive field, the filters, the shapes that excite it (a fragment)."""
    st.header(t("fmaps.closer_header"))
    col_layer, col_channel = st.columns(2)
    layer = col_layer.selectbox(t("fmaps.layer"), list(result.maps), key="fmaps_layer")
    maps = result.maps[layer]  # (C, H, W)
    channel = bounded_slider(t("fmaps.channel"), 0, len(maps) - 1, 0, key="fmaps_channel", where=col_channel)
    grid = fmaps.block_grid(loaded.key, x, layer, result)
    st.download_button(t("fmaps.download"), grid, f"{layer}.png", "image/png", key="fmaps_download")
    one = maps[channel]  # (H, W)
    col_row, col_col = st.columns(2)
    row = bounded_slider(t("fmaps.row"), 0, one.shape[0] - 1, one.shape[0] // 2, key="fmaps_row", where=col_row)
    col = bounded_slider(t("fmaps.col"), 0, one.shape[1] - 1, one.shape[1] // 2, key="fmaps_col", where=col_col)
    try:
        trace = fmaps.model_trace(loaded.key, loaded.model, tuple(x.shape[1:]))
        field = explain.receptive_field(loaded.model, layer, row, col, input_shape=x.shape[1:], trace=trace)
    except ValueError as err:
        show_error(err)
    col_map, col_field = st.columns(2)
    with col_map:
        _one_map(one, layer, channel, row, col)
    with col_field:
        _field(loaded.spec, seen, field)
    if not result.blocks:  # a block's maps are not made by one conv's filters: its depthwise filters are shown above
        _filters(loaded, result, x, layer)
    _top_shapes(loaded, layer, channel)


def _one_map(one: np.ndarray, layer: str, channel: int, row: int, col: int) -> None:
    """The chosen map (H, W) enlarged in the diverging colours, the unit outlined, and its colour bar."""
    vmax = symmetric_vmax(one)
    coloured = diverging_rgb(one, vmax=vmax)[0]  # (H, W, 3) uint8
    st.image(box_on_image(coloured, explain.Box(row, col, row + 1, col + 1), scale=_scale(one.shape[0]), outside=True))
    st.markdown(colorbar_svg(-vmax, vmax, signed=True), unsafe_allow_html=True)  # drawn by the browser at once
    st.caption(t("fmaps.enlarged_caption", layer=layer, channel=channel, lo=float(one.min()), hi=float(one.max())))


def _field(spec: ModelSpec, seen: np.ndarray, field: explain.ReceptiveField) -> None:
    """The input with the unit's receptive field outlined, and its numbers."""
    b = field.box
    st.image(box_on_image(seen, b, scale=_scale(spec.image_size)))
    st.caption(
        t("fmaps.rf_caption", row=field.row, col=field.col, layer=field.layer, top=b.top, bottom=b.bottom - 1,
          left=b.left, right=b.right - 1, h=field.size[0], w=field.size[1], jump=field.jump[0])
    )  # fmt: skip


def _filters(loaded: fmaps.LoadedModel, result: fmaps.Analysis, x: np.ndarray, layer: str) -> None:
    """The filters of the conv that made ``layer``'s maps, each beside its map (and in colour for RGB input)."""
    pictures = fmaps.filter_pictures(loaded.key, x, layer, loaded.model, result)
    if pictures is None:
        return
    st.subheader(t("fmaps.filters_header", layer=pictures.conv))
    st.caption(t("fmaps.filters_caption", n=pictures.in_channels))
    st.image(pictures.pairs, output_format="PNG")
    if pictures.rgb is not None:
        st.image(pictures.rgb, caption=t("fmaps.filters_rgb"))


def _top_shapes(loaded: fmaps.LoadedModel, layer: str, channel: int) -> None:
    """The seeded shapes images that excite this channel most, on request (shapes models only)."""
    spec = loaded.spec
    st.subheader(t("fmaps.top_header"))
    if spec.dataset != "shapes":
        st.info(t("fmaps.top_none", dataset=dataset_label(spec.dataset), shapes=dataset_label("shapes")))
        return
    if not st.toggle(t("fmaps.top_toggle", layer=layer, channel=channel), key="fmaps_top"):
        return
    with st.spinner(t("fmaps.top_wait")):
        pictures, labels, scores = fmaps.top_shapes(loaded.key, loaded.model, spec, layer, channel, 8)
    st.caption(t("fmaps.top_help", count=fmaps.SHAPES_COUNT))
    captions = [t("fmaps.top_caption", label=class_label("shapes", c), score=float(s))
                for c, s in zip(labels, scores, strict=True)]  # fmt: skip
    st.image([upscale_nearest(p, 2) for p in pictures], caption=captions)


def box_on_image(
    image: np.ndarray, box: explain.Box, *, scale: int, outside: bool = False, color=(255, 200, 0)
) -> Image.Image:
    """Enlarge an (H, W, 3) picture ``scale``× and outline ``box`` (in its pixels).

    ``outside`` draws the outline just around the box (to mark one unit without hiding it),
    otherwise just inside it (so a box touching the border stays visible).
    """
    img = upscale_nearest(image, scale).convert("RGB")
    draw = ImageDraw.Draw(img)
    width = max(2, scale // 2)
    grow = width if outside else 0
    corners = (box.left * scale - grow, box.top * scale - grow, box.right * scale - 1 + grow,
               box.bottom * scale - 1 + grow)  # fmt: skip
    if outside:  # a dark ring under the yellow one keeps it visible on light and dark maps
        draw.rectangle(corners, outline=(0, 0, 0), width=width + 1)
    draw.rectangle(corners, outline=color, width=width)
    return img


def overlay(image: np.ndarray, heat: np.ndarray, *, alpha: float = 0.7) -> np.ndarray:
    """Lay a [0, 1] heat map (H, W) in the sequential colormap over an (H, W, 3) uint8 picture, readable on any photo.

    The photo is turned grey and dimmed first, so its own colours cannot pass for heat; the colour
    then covers it in proportion to the heat (at most ``alpha``), so where there is no evidence
    the photo shows through.
    """
    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)  # (H, W) luminance
    base = np.repeat((0.35 * grey + 20.0)[..., None], 3, axis=-1)  # dimmed grey, 20..110
    colour = sequential_rgb(heat, vmin=0.0, vmax=1.0).astype(np.float32)
    weight = (alpha * np.clip(heat, 0.0, 1.0) ** 0.5)[..., None]  # faint evidence still shows
    return np.rint((1 - weight) * base + weight * colour).astype(np.uint8)


def _scale(side: int, target: int = VIEW_SIDE) -> int:
    """The integer enlargement that brings ``side`` pixels to about ``target`` (at least 1)."""
    return max(1, target // side)
