"""Regularisation and generalisation on a small regression: capacity, weight decay, early stopping, augmentation,
k-fold cross-validation, bias and variance."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, bounded_slider, show_error, t
from cnnviz.ui.regularization import (
    BV_DEGREES,
    BV_POINTS,
    DEGREES,
    LAMBDAS,
    LATEX,
    cached,
    choose_section,
    degree_slider,
    show_augmentation,
    show_bias_variance,
    show_capacity,
    show_early_stopping,
    show_folds,
    show_weight_decay,
)

bootstrap()
st.title(t("regularization.title"))
st.caption(t("regularization.summary"))

data = cached["make_regression"]()
st.markdown(t("regularization.data", n=len(data.x_train), m=len(data.x_val), noise=data.noise))
section = choose_section()
st.latex(LATEX[section])

if section == "capacity":
    degree = degree_slider("reg_capacity_degree", 3)
    show_capacity(data, degree, *cached["capacity_curve"](data, DEGREES))
elif section == "decay":
    left, right = st.columns(2)
    decay_degree = degree_slider("reg_decay_degree", 11, where=left)
    exponent = bounded_slider(t("regularization.log_lambda"), -8, 2, -3, key="reg_decay_exp", where=right)
    show_weight_decay(data, decay_degree, exponent, *cached["weight_decay_path"](data, decay_degree, LAMBDAS))
elif section == "early":
    hidden = bounded_slider(t("regularization.hidden"), 10, 100, 50, key="reg_early_hidden", step=10)
    with st.spinner(t("regularization.training")):
        show_early_stopping(data, cached["early_stopping_run"](data, hidden=hidden))
elif section == "augment":
    cols = st.columns(3)
    aug_degree = degree_slider("reg_aug_degree", 11, where=cols[0])
    copies = bounded_slider(t("regularization.copies"), 0, 10, 5, key="reg_aug_copies", where=cols[1])
    jitter = bounded_slider(t("regularization.jitter"), 1, 10, 3, key="reg_aug_jitter", where=cols[2])
    show_augmentation(data, aug_degree, copies, jitter / 100)
elif section == "folds":
    left, right = st.columns(2)
    fold_degree = degree_slider("reg_fold_degree", 3, where=left)
    k = bounded_slider(t("regularization.k"), 2, len(data.x_train), 4, key="reg_fold_k", where=right)
    try:
        show_folds(data, cached["k_fold_scores"](data, fold_degree, k))
    except ValueError as err:
        show_error(err)
elif section == "bias":
    left, right = st.columns(2)
    bv_degree = degree_slider("reg_bv_degree", 3, high=BV_DEGREES[-1], where=left)
    resamples = bounded_slider(t("regularization.resamples"), 10, 100, 30, key="reg_bv_resamples", where=right, step=10)
    more = cached["make_regression"](BV_POINTS)  # 12 points resampled leave too few distinct ones for degree 5+
    curve = [cached["bias_variance"](more, d, resamples=resamples) for d in BV_DEGREES]
    show_bias_variance(more, curve[bv_degree], curve)
