"""Batch normalisation and dropout: histograms with and without batch norm, a short real training run, dropout masks."""

from __future__ import annotations

import streamlit as st

from cnnviz.foundations import BNTrainConfig, InitConfig
from cnnviz.ui import bootstrap, bounded_slider, show_error, t
from cnnviz.ui.initialization import cached_init_study, histogram_rows
from cnnviz.ui.normalization import (
    BN_LATEX,
    DROPOUT_LATEX,
    ENSEMBLE_MASKS,
    bn_settings,
    cached_bn_run,
    cached_dropout_ensemble,
    cached_dropout_layer,
    dropout_settings,
    show_bn_run,
    show_dropout_layer,
    show_ensemble,
    training_settings,
)

bootstrap()
st.title(t("normalization.title"))
st.caption(t("normalization.summary"))

# --- batch norm: activation histograms -----------------------------------------------------------
st.header(t("normalization.bn_header"))
st.latex(BN_LATEX)
scheme, activation = bn_settings()
try:
    plain = cached_init_study(InitConfig(scheme=scheme, activation=activation))
    normed = cached_init_study(InitConfig(scheme=scheme, activation=activation, batch_norm=True))
except ValueError as err:
    show_error(err)
histogram_rows([plain, normed], [t("normalization.without_bn"), t("normalization.with_bn")], key="norm_hist")
st.markdown(t("normalization.hist_text", plain=f"{plain.stds[-1]:.3g}", normed=f"{normed.stds[-1]:.3g}",
              n=plain.config.layers))  # fmt: skip

# --- batch norm: a short real training run -------------------------------------------------------
st.header(t("normalization.train_header"))
train_scheme, epochs = training_settings()
st.caption(t("normalization.train_caption"))
with st.spinner(t("normalization.training")):
    run = cached_bn_run(BNTrainConfig(scheme=train_scheme, epochs=epochs))
show_bn_run(run)

# --- dropout -------------------------------------------------------------------------------------
st.header(t("normalization.dropout_header"))
st.latex(DROPOUT_LATEX)
p, mask = dropout_settings()
try:
    layer = cached_dropout_layer(p, seed=mask)
except ValueError as err:
    show_error(err)
show_dropout_layer(layer)

st.subheader(t("normalization.ensemble_header"))
st.caption(t("normalization.ensemble_caption"))
masks = bounded_slider(t("normalization.masks"), 1, ENSEMBLE_MASKS, 20, key="norm_masks")
with st.spinner(t("normalization.training")):
    ensemble = cached_dropout_ensemble(p, masks=ENSEMBLE_MASKS)
show_ensemble(ensemble, masks)
