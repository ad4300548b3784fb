"""Weight initialisation: the book's experiment, each layer's activations for N(0, 1), N(0, 0.01²), Xavier and He."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, show_error, t
from cnnviz.ui.initialization import (
    cached_init_study,
    forward_latex,
    histogram_rows,
    init_settings,
    scheme_latex,
    show_layer_stats,
    show_lesson,
)

bootstrap()
st.title(t("initialization.title"))
st.caption(t("initialization.summary"))

config = init_settings()
try:
    study = cached_init_study(config)
except ValueError as err:
    show_error(err)

st.latex(scheme_latex(config.scheme, config.units, study.weight_std))
st.latex(forward_latex())
st.markdown(t("initialization.setup", layers=config.layers, units=config.units, samples=config.samples,
              std=f"{study.weight_std:.4g}"))  # fmt: skip
histogram_rows([study], [t(f"initialization.scheme.{config.scheme}")], key="init_hist")
if config.activation == "relu":
    st.caption(t("initialization.relu_zeros"))
show_layer_stats(study, key="init_stats")
show_lesson(study)
