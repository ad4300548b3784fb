"""Convolution arithmetic: one layer's output size, formula, parameters, MACs and sliding window; a stack of layers.

Each section is a fragment (cnnviz.ui.arith): a control reruns only its own section, and the sliding
window's step slider only the window.
"""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t
from cnnviz.ui.arith import layer_section, stack_section

bootstrap()
st.title(t("arith.title"))
st.caption(t("arith.summary"))

layer_section()  # one layer: controls → layer_example (computed once) → results, sliding window, NumPy check
stack_section()  # a stack of layers: preset or table → walk_stack → one row per layer
