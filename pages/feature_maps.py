"""Feature maps: look inside a trained CNN, layer by layer, for a sample photo or your own."""

from __future__ import annotations

import streamlit as st
import torch

from cnnviz import explain
from cnnviz.render import colorbar_figure, symmetric_vmax
from cnnviz.ui import bootstrap, show_error, t
from cnnviz.ui import fmaps as ui

bootstrap()
st.title(t("fmaps.title"))
st.caption(t("fmaps.summary"))

loaded = ui.choose_model("fmaps_model")
spec = loaded.spec
st.caption(spec.description)
if loaded.note:
    st.warning(loaded.note, icon="ℹ️")
try:
    chosen = ui.choose_input("fmaps", spec)
    x = chosen.x  # (1, C, H, W)
    result = ui.analyse(loaded.key, loaded.model, x)
    predictions = explain.top_k_predictions(result.logits, spec.class_names, k=min(5, len(spec.class_names)))
except ValueError as err:
    show_error(err)
seen = explain.input_image(torch.from_numpy(x), spec.mean, spec.std)  # (H, W, 3) uint8
scale = max(1, 256 // spec.image_size)

col_in, col_pred = st.columns([1, 2])
with col_in:
    st.subheader(t("fmaps.input_header"))
    st.image(ui.upscale(seen, scale), caption=chosen.name)
    st.caption(chosen.how)
with col_pred:
    st.subheader(t("fmaps.pred_header"))
    st.plotly_chart(ui.prediction_chart(predictions), key="fmaps_pred_chart")
    top = predictions[0]
    if chosen.truth is None:
        st.caption(t("fmaps.verdict_photo", label=top.label, p=top.probability, n=len(spec.class_names)))
    elif top.index == chosen.truth:
        st.success(t("fmaps.verdict_right", label=top.label, p=top.probability), icon="✅")
    else:
        truth = spec.class_names[chosen.truth]
        st.warning(t("fmaps.verdict_wrong", label=top.label, p=top.probability, truth=truth), icon="❌")

st.header(t("fmaps.layers_header"))
st.caption(t("fmaps.layers_help"))
for row in ui.layer_rows(list(result.maps)):
    for column, name in zip(st.columns(len(row)), row, strict=True):
        c, h, w = result.maps[name].shape
        lo, hi = float(result.maps[name].min()), float(result.maps[name].max())
        column.image(result.grids[name], caption=t("fmaps.layer_caption", layer=name, c=c, h=h, w=w, lo=lo, hi=hi))

st.header(t("fmaps.closer_header"))
col_layer, col_channel = st.columns(2)
layer = col_layer.selectbox(t("fmaps.layer"), list(result.maps), key="fmaps_layer")
maps = result.maps[layer]
channel = col_channel.slider(t("fmaps.channel"), 0, len(maps) - 1, 0, key="fmaps_channel")
st.download_button(t("fmaps.download"), result.grids[layer], f"{layer}.png", "image/png", key="fmaps_download")
one = maps[channel]  # (H, W)
col_row, col_col = st.columns(2)
row = col_row.slider(t("fmaps.row"), 0, one.shape[0] - 1, one.shape[0] // 2, key="fmaps_row")
col = col_col.slider(t("fmaps.col"), 0, one.shape[1] - 1, one.shape[1] // 2, key="fmaps_col")
try:
    field = explain.receptive_field(loaded.model, layer, row, col, input_shape=x.shape[1:])
except ValueError as err:
    show_error(err)
col_map, col_field = st.columns(2)
with col_map:
    vmax = symmetric_vmax(one)
    map_scale = max(1, 256 // one.shape[0])
    st.image(
        ui.box_on_image(
            ui.colour_map(one, vmax), explain.Box(row, col, row + 1, col + 1), scale=map_scale, outside=True
        )
    )
    st.plotly_chart(colorbar_figure(-vmax, vmax, signed=True, height=110), key="fmaps_colorbar")
    st.caption(t("fmaps.enlarged_caption", layer=layer, channel=channel, lo=float(one.min()), hi=float(one.max())))
with col_field:
    st.image(ui.box_on_image(seen, field.box, scale=scale))
    b = field.box
    st.caption(
        t(
            "fmaps.rf_caption",
            row=row,
            col=col,
            layer=layer,
            top=b.top,
            bottom=b.bottom - 1,
            left=b.left,
            right=b.right - 1,
            h=field.size[0],
            w=field.size[1],
            jump=field.jump[0],
        )
    )

conv = explain.source_conv(loaded.model, layer)
if conv is not None and len(result.filters[conv]) == len(maps):
    weights = result.filters[conv]
    st.subheader(t("fmaps.filters_header", layer=conv))
    st.caption(t("fmaps.filters_caption", cin=weights.shape[1]))
    pairs = explain.filter_map_pairs(explain.filter_tiles(weights), maps)
    st.image(ui.layer_grid(pairs, min_tile=64))
    if weights.shape[1] == 3:
        st.image(ui.rgb_grid(explain.filter_rgb(weights)), caption=t("fmaps.filters_rgb"))

st.header(t("fmaps.cam_header"))
st.caption(t("fmaps.cam_help"))
choices = [-1, *range(len(spec.class_names))]  # -1: whatever the model predicts
label_of = {-1: t("fmaps.cam_top"), **dict(enumerate(spec.class_names))}
choice = st.selectbox(t("fmaps.cam_class"), choices, format_func=label_of.get, key=f"fmaps_cam_class_{loaded.key}")
target = None if choice == -1 else choice
st.caption(t("fmaps.cam_showing", label=predictions[0].label if target is None else spec.class_names[target]))
try:
    cams = ui.grad_cams(loaded.key, loaded.model, x, target)
    saliency = explain.saliency(loaded.model, torch.from_numpy(x), target=target)
except ValueError as err:
    show_error(err)
panels = st.columns(len(cams) + 1)
for panel, cam in zip(panels, cams, strict=False):
    panel.image(ui.upscale(ui.overlay(seen, cam.heatmap), max(1, 192 // spec.image_size)), caption=cam.layer)
panels[-1].image(ui.upscale(ui.saliency_image(saliency), max(1, 192 // spec.image_size)), caption=t("fmaps.saliency"))

st.header(t("fmaps.top_header"))
if spec.dataset != "shapes":
    st.info(t("fmaps.top_none", dataset=spec.dataset))
elif st.toggle(t("fmaps.top_toggle", layer=layer, channel=channel), key="fmaps_top"):
    with st.spinner(t("fmaps.top_wait")):
        pictures, labels, scores = ui.top_shapes(loaded.key, loaded.model, spec, layer, channel, 8)
    st.caption(t("fmaps.top_help", count=ui.SHAPES_COUNT))
    st.image(
        [ui.upscale(p, 2) for p in pictures],
        caption=[t("fmaps.top_caption", label=c, score=float(s)) for c, s in zip(labels, scores, strict=True)],
    )
