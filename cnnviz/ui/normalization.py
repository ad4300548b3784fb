"""Batch-norm and dropout page widgets: histograms with and without batch norm, training curves, dropout masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cnnviz.foundations import (
    BNRun,
    DropoutEnsemble,
    DropoutLayer,
    InitScheme,
    dropout_ensemble,
    dropout_layer,
    train_with_and_without_bn,
)
from cnnviz.ui.base import t
from cnnviz.ui.initialization import choose_activation, choose_scheme
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "BN_LATEX",
    "DROPOUT_LATEX",
    "ENSEMBLE_MASKS",
    "bn_settings",
    "cached_bn_run",
    "cached_dropout_ensemble",
    "cached_dropout_layer",
    "dropout_settings",
    "show_bn_run",
    "show_dropout_layer",
    "show_ensemble",
    "training_settings",
]

ENSEMBLE_MASKS = 50  # masks drawn once per dropout rate; the slider shows the average of the first k
cached_bn_run = st.cache_data(train_with_and_without_bn, max_entries=16, show_spinner=False)
cached_dropout_ensemble = st.cache_data(dropout_ensemble, max_entries=16, show_spinner=False)
cached_dropout_layer = st.cache_data(dropout_layer, max_entries=64, show_spinner=False)

BN_LATEX = (
    r"\mu_B = \frac{1}{m}\sum_{i=1}^{m} x_i,\quad \sigma_B^2 = \frac{1}{m}\sum_{i=1}^{m}(x_i - \mu_B)^2,\quad "
    r"\hat{x}_i = \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}},\quad y_i = \gamma\,\hat{x}_i + \beta"
)
DROPOUT_LATEX = (
    r"m_i \sim \operatorname{Bernoulli}(1 - p),\quad y_\text{train} = \frac{m \odot x}{1 - p},\quad "
    r"y_\text{test} = x,\quad \mathbb{E}[y_\text{train}] = x"
)


def bn_settings() -> tuple[InitScheme, str]:
    left, right = st.columns([3, 2])
    return choose_scheme("norm_scheme", InitScheme.STD_1, left), choose_activation("norm_activation", "sigmoid", right)


def training_settings() -> tuple[InitScheme, int]:
    left, right = st.columns([3, 2])
    scheme = choose_scheme("norm_train_scheme", InitScheme.STD_001, left)
    return scheme, bounded_slider(t("normalization.epochs"), 1, 20, 10, key="norm_epochs", where=right)


def show_bn_run(run: BNRun) -> None:
    """Training accuracy per epoch of both networks, and their final accuracies."""
    fig = go.Figure()
    epochs = np.arange(len(run.accuracy[False]))
    for batch_norm, colour in ((False, "#9d9d9d"), (True, "#e45756")):
        name = t("normalization.with_bn") if batch_norm else t("normalization.without_bn")
        fig.add_trace(go.Scatter(x=epochs, y=run.accuracy[batch_norm], name=name, mode="lines+markers",
                                 line=dict(color=colour)))  # fmt: skip
    fig.update_layout(height=320, margin=dict(l=40, r=20, t=30, b=40), xaxis_title=t("normalization.epoch"),
                      yaxis_title=t("normalization.accuracy"), yaxis_range=[0, 1.02])  # fmt: skip
    st.plotly_chart(fig, key="norm_curves")
    st.markdown(t("normalization.final", without=f"{run.accuracy[False][-1]:.1%}", bn=f"{run.accuracy[True][-1]:.1%}",
                  epochs=run.config.epochs, samples=run.config.samples))  # fmt: skip


def dropout_settings() -> tuple[float, int]:
    """The dropout rate (in steps of 10 %) and which random mask to draw."""
    left, right = st.columns(2)
    percent = bounded_slider(t("normalization.p"), 0, 90, 50, key="norm_p", where=left, step=10)
    mask = bounded_slider(t("normalization.mask"), 0, 20, 0, key="norm_mask", where=right)
    return percent / 100, mask


def show_dropout_layer(layer: DropoutLayer) -> None:
    """The layer's activations, the mask and the four outputs (PyTorch's and the book's) as one table."""
    rows = {
        t("normalization.row_x"): layer.x,
        t("normalization.row_mask"): layer.keep.astype(float),
        t("normalization.row_train"): layer.train_inverted,
        t("normalization.row_eval"): layer.eval_inverted,
        t("normalization.row_train_book"): layer.train_book,
        t("normalization.row_eval_book"): layer.eval_book,
    }
    frame = pd.DataFrame(rows, index=[str(i + 1) for i in range(len(layer.x))]).T
    st.dataframe(frame.style.format("{:.2f}").map(lambda v: "color: #bbbbbb" if v == 0 else ""), key="norm_layer")
    off = int((~layer.keep).sum())
    st.caption(t("normalization.mask_caption", off=off, units=len(layer.x), scale=f"{1 / (1 - layer.p):.3g}",
                 keep=f"{1 - layer.p:.2g}"))  # fmt: skip


def show_ensemble(result: DropoutEnsemble, masks: int) -> None:
    """Average prediction of the first ``masks`` masks against the scaled network, and the gap as masks are added."""
    classes = [str(c) for c in range(10)]
    left, right = st.columns([3, 2])
    bars = go.Figure([
        go.Bar(x=classes, y=result.running_mean[masks - 1], name=t("normalization.mask_average", n=masks)),
        go.Bar(x=classes, y=result.scaled_probs, name=t("normalization.scaled_net")),
    ])  # fmt: skip
    bars.update_layout(height=300, margin=dict(l=40, r=10, t=30, b=40), xaxis_title=t("normalization.digit_class"),
                       yaxis_title=t("normalization.probability"), legend=dict(orientation="h", y=1.15))  # fmt: skip
    left.plotly_chart(bars, key="norm_ensemble")
    gap = go.Figure(go.Scatter(x=np.arange(1, masks + 1), y=result.gap[:masks], mode="lines+markers"))
    gap.update_layout(height=300, margin=dict(l=40, r=10, t=30, b=40), xaxis_title=t("normalization.masks"),
                      yaxis_title=t("normalization.gap"))  # fmt: skip
    right.plotly_chart(gap, key="norm_gap")
    st.markdown(t("normalization.ensemble_text", label=result.label, k=masks, gap=f"{result.gap[masks - 1]:.3f}",
                  first=f"{result.gap[0]:.3f}", avg=int(np.argmax(result.running_mean[masks - 1])),
                  scaled=int(np.argmax(result.scaled_probs))))  # fmt: skip
