"""Convolution arithmetic: one layer's output size, formula, parameters, MACs and sliding window; a stack of layers."""

from __future__ import annotations

import streamlit as st

from cnnviz.conv import describe_layer, layer_from_row, walk_stack
from cnnviz.ui import bootstrap, t
from cnnviz.ui.arith import (
    layer_controls,
    show_arith_error,
    show_diagram,
    show_results,
    show_scratch_check,
    show_stack,
    stack_controls,
)

bootstrap()
st.title(t("arith.title"))
st.caption(t("arith.summary"))

# --- one layer ------------------------------------------------------------------------------------
spec, in_shape = layer_controls()
try:
    report = describe_layer(spec, in_shape)
except ValueError as err:
    show_arith_error(err)  # no stop: the stack below still works
else:
    show_results(report)
    st.subheader(t("arith.diagram.header"))
    st.toggle(t("arith.play"), key="arith_play")
    st.fragment(run_every=1.0 if st.session_state.get("arith_play") else None)(show_diagram)(spec, in_shape)
    show_scratch_check(spec, in_shape, report)

# --- a stack of layers ----------------------------------------------------------------------------
rows, stack_in_shape = stack_controls()
try:
    reports = walk_stack([layer_from_row(row) for row in rows], stack_in_shape)
except ValueError as err:
    show_arith_error(err)
else:
    show_stack(reports)
