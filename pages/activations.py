"""Activation functions and the output layer: curves and autograd derivatives, softmax, vanishing gradients."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, show_error, t
from cnnviz.ui.activations import curve_settings, show_curves, show_gradients, show_softmax, softmax_settings

bootstrap()
st.title(t("activations.title"))
st.caption(t("activations.summary"))

# --- activation functions and their derivatives ---------------------------------------------------------
chosen, half = curve_settings()
if chosen:
    show_curves(chosen, half)
else:
    st.info(t("activations.none_chosen"))

# --- softmax and one-hot labels --------------------------------------------------------------------------
logits, temperature, label = softmax_settings()
try:
    show_softmax(logits, temperature, label)
except ValueError as err:
    show_error(err)

# --- vanishing gradients in a deep sigmoid network --------------------------------------------------------
show_gradients()
