"""Upsampling: transposed convolution as zero insertion plus convolution, nearest and bilinear interpolation,
and the checkerboard artefact."""

from __future__ import annotations

import streamlit as st

from cnnviz.conv import conv_transpose_output_formula
from cnnviz.foundations import (
    checkerboard_counts,
    example_grid,
    is_uneven,
    transposed_conv_steps,
    upsample_bilinear,
    upsample_nearest,
)
from cnnviz.ui import bootstrap, error_text, t
from cnnviz.ui.upsampling import (
    BILINEAR_LATEX,
    checkerboard_settings,
    interpolation_settings,
    show_counts,
    show_interpolation,
    show_size,
    show_steps,
    transposed_settings,
)

bootstrap()
st.title(t("upsampling.title"))
st.caption(t("upsampling.summary"))

# --- transposed convolution, step by step ---------------------------------------------------------
st.header(t("upsampling.transposed_header"))
size, kernel, stride, padding, extra = transposed_settings()
try:
    formula = conv_transpose_output_formula(size, kernel, stride, padding, extra)
    steps = transposed_conv_steps(example_grid(size), example_grid(kernel), stride, padding, extra)
except ValueError as err:
    st.error(error_text(err), icon="⚠️")  # only this section stops: the others below do not depend on it
    steps = None
if steps is not None:
    show_size(formula, size, kernel, stride, padding, extra)
    show_steps(steps)

# --- nearest and bilinear upsampling -------------------------------------------------------------
st.header(t("upsampling.interp_header"))
st.latex(BILINEAR_LATEX)
scale = interpolation_settings()
small = example_grid(3)
show_interpolation(small, upsample_nearest(small, scale), upsample_bilinear(small, scale), scale)

# --- the checkerboard artefact -------------------------------------------------------------------
st.header(t("upsampling.checker_header"))
st.caption(t("upsampling.checker_caption"))
cb_kernel, cb_stride = checkerboard_settings()
counts = checkerboard_counts(6, cb_kernel, cb_stride)
show_counts(counts, cb_kernel, cb_stride, is_uneven(counts, cb_kernel, cb_stride))
