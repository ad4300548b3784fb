"""Feature maps: look inside a trained CNN, layer by layer or block by block, for an example of its data or a photo."""

from __future__ import annotations

import streamlit as st
import torch

from cnnviz import explain
from cnnviz.ui import bootstrap, show_error, t
from cnnviz.ui import fmaps as ui
from cnnviz.ui import fmaps_photo as photo
from cnnviz.ui import fmaps_views as views
from cnnviz.ui.labels import model_description

bootstrap()
st.title(t("fmaps.title"))
st.caption(t("fmaps.summary"))

# --- which model, which input --------------------------------------------------------------------------
loaded = ui.choose_model("fmaps_model")
spec = loaded.spec
st.caption(model_description(spec))
if loaded.note:
    st.warning(loaded.note, icon="ℹ️")
try:
    chosen = ui.choose_input("fmaps", spec)
    result = ui.analyse(loaded.key, loaded.model, chosen.x)  # one forward pass, every shown layer's maps
    predictions = explain.top_k_predictions(result.logits, spec.class_names, k=min(5, len(spec.class_names)))
    seen = explain.input_image(torch.from_numpy(chosen.x), spec.mean, spec.std)  # (H, W, 3) uint8
except ValueError as err:
    show_error(err)

# --- how the photo got in, what it says, what every layer sees, why, and one map up close --------------------
photo.preparation(spec, chosen)
views.input_and_predictions(spec, chosen, seen, predictions)
if result.blocks:
    photo.block_layers_view(loaded, result, chosen.x)
else:
    views.all_layers(result)
photo.dense_layers(spec, result)
views.grad_cam_section(loaded, chosen.x, seen, predictions[0])
views.look_closer(loaded, result, chosen.x, seen)
