"""Architectures: LeNet to EfficientNet layer by layer and side by side, the design ideas computed live,
the ImageNet winners, and what our notes say of AlexNet beside what the networks really hold."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t
from cnnviz.ui.architectures import chart_settings, pick_networks, show_diagram, show_network
from cnnviz.ui.architectures_depthwise import has_depthwise_blocks, show_depthwise
from cnnviz.ui.architectures_explainers import show_explainers
from cnnviz.ui.architectures_history import show_claims, show_timeline
from cnnviz.ui.architectures_weights import show_weights

bootstrap()
st.title(t("architectures.title"))
st.caption(t("architectures.summary"))

# --- one network or two, side by side ------------------------------------------------------------
picked = pick_networks()  # [(registry name, (C, H, W)), ...]
mode, depth = chart_settings()
columns = st.columns(len(picked))
for slot, (name, input_size) in enumerate(picked):
    if show_network(slot, name, input_size, columns[slot], mode, depth):  # False: the input does not go through
        show_diagram(slot, name, input_size, columns[slot])

# --- what makes a depthwise network different (EfficientNet-Lite0, MobileNetV2) -------------------
unique = list(dict(picked).items())  # each network once, with its input size
for name, input_size in unique:
    if has_depthwise_blocks(name):
        show_depthwise(name, input_size)
        break

# --- official ImageNet weights -------------------------------------------------------------------
st.header(t("architectures.weights.title"))
for name, _ in unique:
    show_weights(name)

# --- the design ideas, computed with the learner's sizes -----------------------------------------
st.header(t("architectures.explainers"))
show_explainers()

# --- the ImageNet winners, and our notes' AlexNet claims checked ---------------------------------
st.header(t("architectures.history"))
show_timeline()
st.header(t("architectures.claims"))
st.markdown(t("architectures.claims.intro"))
show_claims()
