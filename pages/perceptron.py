"""Perceptron and MLP: AND, OR, NAND as one perceptron; XOR impossible for one, solved by two layers and learned."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, show_error, t
from cnnviz.ui.perceptron import (
    gate_settings,
    show_gate,
    show_training,
    show_xor_layers,
    show_xor_search,
    train_settings,
    trained_snapshots,
)

bootstrap()
st.title(t("perceptron.title"))
st.caption(t("perceptron.summary"))

# --- one perceptron as a logic gate ---------------------------------------------------------------------
w1, w2, b = gate_settings()
show_gate(w1, w2, b)

# --- XOR: impossible for one perceptron, easy for two layers ----------------------------------------------
show_xor_search()
show_xor_layers()

# --- a 2-2-1 network learns XOR ----------------------------------------------------------------------------
lr, steps, seed = train_settings()
try:
    torch_snaps, numpy_snaps = trained_snapshots(lr, steps, seed)
except ValueError as err:
    show_error(err)
show_training(torch_snaps, numpy_snaps)
