"""Regularisation page widgets: fits and error curves on the small regression, folds, bootstrap fits."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnnviz.foundations import (
    BiasVariance,
    EarlyStoppingRun,
    FoldScores,
    RegressionData,
    augment_samples,
    bias_variance,
    capacity_curve,
    early_stopping_run,
    fit_polynomial,
    k_fold_scores,
    make_regression,
    noise_robustness,
    predict_polynomial,
    weight_decay_path,
)
from cnnviz.ui.base import t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "BV_DEGREES", "BV_POINTS", "DEGREES", "LAMBDAS", "LATEX", "NOISE_LEVELS", "TABS", "cached", "choose_section",
    "degree_slider", "show_augmentation", "show_bias_variance", "show_capacity", "show_early_stopping", "show_folds",
    "show_weight_decay",
]  # fmt: skip

DEGREES = range(0, 16)  # capacities on the capacity curve
BV_DEGREES = range(0, 10)  # degrees of the bias–variance curve
BV_POINTS = 40  # training points of the bias–variance section: a resample of 12 has too few distinct ones
LAMBDAS = np.logspace(-8, 2, 41)  # weight decays of the shrinkage plot
NOISE_LEVELS = np.linspace(0, 0.1, 11)  # input noise σ of the robustness curve
HEIGHT = 330
cached = {fn.__name__: st.cache_data(fn, max_entries=32, show_spinner=False) for fn in (
    make_regression, capacity_curve, weight_decay_path, early_stopping_run, k_fold_scores, bias_variance,
    augment_samples, noise_robustness, fit_polynomial,
)}  # fmt: skip

LATEX = {
    "capacity": r"\hat y(x) = \sum_{k=0}^{d} w_k\,(2x - 1)^k,\qquad \text{MSE} = \frac{1}{n}\sum_{i=1}^{n}(\hat y_i - y_i)^2",  # noqa: E501
    "decay": r"\min_w \sum_i (\hat y_i - y_i)^2 + \lambda \lVert w \rVert^2 \;\Rightarrow\; w = (\Phi^\top\Phi + \lambda I)^{-1}\Phi^\top y",  # noqa: E501
    "early": r"\hat t = \arg\min_t \; \text{MSE}_\text{val}(t)",
    "augment": r"\tilde x = x + \varepsilon,\quad \varepsilon \sim \mathcal N(0, \sigma^2),\quad \tilde y = y",
    "folds": r"\text{CV}_k = \frac{1}{k}\sum_{i=1}^{k} \text{MSE}_i",
    "bias": r"\mathbb E\big[(\hat y - f)^2\big] = \underbrace{(\mathbb E[\hat y] - f)^2}_{\text{bias}^2} + \underbrace{\operatorname{Var}[\hat y]}_{\text{variance}}",  # noqa: E501
}

TABS = tuple(LATEX)  # the page's tabs, one per idea, in this order


def choose_section() -> str:
    """One idea at a time (drawing all six figures on every rerun would take most of a second)."""
    return translated_choice("radio", t("regularization.section"), TABS, key="reg_section", default=TABS[0],
                             format_func=lambda s: t(f"regularization.tab.{s}"), horizontal=True)  # fmt: skip


def degree_slider(key: str, value: int, high: int = 15, where=st) -> int:
    return bounded_slider(t("regularization.degree"), 0, high, value, key=key, where=where)


def _fit_figure(data: RegressionData, curves: dict[str, np.ndarray], *, key: str, points=None) -> None:
    """The training points, the true curve and the given fits on the grid (y clipped to the data's range)."""
    fig = go.Figure(go.Scatter(x=data.x_grid, y=data.y_true, name=t("regularization.truth"),
                               line=dict(color="#bbbbbb", dash="dash")))  # fmt: skip
    if points is not None:
        fig.add_trace(go.Scatter(x=points[0], y=points[1], mode="markers", name=t("regularization.augmented"),
                                 marker=dict(size=5, color="#f58518", opacity=0.6)))  # fmt: skip
    fig.add_trace(go.Scatter(x=data.x_train, y=data.y_train, mode="markers", name=t("regularization.train_points"),
                             marker=dict(size=9, color="#4c78a8")))  # fmt: skip
    for name, y in curves.items():
        fig.add_trace(go.Scatter(x=data.x_grid, y=y, name=name, mode="lines"))
    fig.update_layout(height=HEIGHT, margin=dict(l=40, r=10, t=30, b=40), yaxis_range=[-2, 2],
                      legend=dict(orientation="h", y=1.15), xaxis_title="x", yaxis_title="y")  # fmt: skip
    st.plotly_chart(fig, key=key)


def _curve_figure(x, curves: dict[str, np.ndarray], *, xaxis: str, key: str, log_x=False, mark=None,
                  floor: float | None = None) -> None:  # fmt: skip
    """Error curves on a log scale; ``floor`` cuts the axis there (an interpolating fit's error is ~1e-25)."""
    mode = "lines" if len(x) > 60 else "lines+markers"
    fig = go.Figure([go.Scatter(x=x, y=y, name=name, mode=mode) for name, y in curves.items()])
    if mark is not None:
        fig.add_vline(x=mark, line=dict(color="#e45756", dash="dot"))
    fig.update_layout(height=HEIGHT, margin=dict(l=40, r=10, t=30, b=40), xaxis_title=xaxis, yaxis_type="log",
                      legend=dict(orientation="h", y=1.15), xaxis_type="log" if log_x else None)  # fmt: skip
    if floor is not None:
        top = max(float(np.nanmax(y)) for y in curves.values())
        fig.update_yaxes(range=[np.log10(floor), np.log10(max(top, floor * 10)) + 0.2])
    st.plotly_chart(fig, key=key)


def show_capacity(data: RegressionData, degree: int, train: np.ndarray, val: np.ndarray) -> None:
    left, right = st.columns(2)
    with left:
        w = cached["fit_polynomial"](data.x_train, data.y_train, degree)
        fit = {t("regularization.fit_degree", d=degree): predict_polynomial(w, data.x_grid)}
        _fit_figure(data, fit, key="reg_cap_fit")
    with right:
        _curve_figure(list(DEGREES), {t("regularization.train_error"): train, t("regularization.val_error"): val},
                      xaxis=t("regularization.degree"), key="reg_cap_curve", mark=degree, floor=1e-3)  # fmt: skip
    best = int(np.argmin(val))
    st.markdown(t("regularization.capacity_text", d=degree, train=f"{train[degree]:.4f}", val=f"{val[degree]:.4f}",
                  best=list(DEGREES)[best], best_val=f"{val[best]:.4f}", n=len(data.x_train)))  # fmt: skip


def show_weight_decay(data: RegressionData, degree: int, exponent: int, weights: np.ndarray, val: np.ndarray) -> None:
    lam = 10.0**exponent
    w = cached["fit_polynomial"](data.x_train, data.y_train, degree, weight_decay=lam)
    left, right = st.columns(2)
    with left:
        _fit_figure(data, {t("regularization.fit_lambda", lam=f"{lam:g}"): predict_polynomial(w, data.x_grid)},
                    key="reg_decay_fit")  # fmt: skip
    with right:
        _curve_figure(LAMBDAS, {t("regularization.weight_norm"): np.linalg.norm(weights, axis=1),
                                t("regularization.val_error"): val},
                      xaxis="λ", key="reg_decay_curve", log_x=True, mark=lam)  # fmt: skip
    st.markdown(t("regularization.decay_text", lam=f"{lam:g}", norm=f"{np.linalg.norm(w):.3g}",
                  largest=f"{np.abs(w).max():.3g}", d=degree))  # fmt: skip


def show_early_stopping(data: RegressionData, run: EarlyStoppingRun) -> None:
    left, right = st.columns(2)
    with left:
        epochs = np.arange(1, len(run.train_loss) + 1)
        losses = {t("regularization.train_error"): run.train_loss, t("regularization.val_error"): run.val_loss}
        best = run.best_epoch + 1
        _curve_figure(epochs, losses, xaxis=t("regularization.epoch"), key="reg_early_curve", mark=best)
    with right:
        fits = {t("regularization.at_best", e=run.best_epoch + 1): run.best_fit,
                t("regularization.at_last", e=len(run.train_loss)): run.last_fit}  # fmt: skip
        _fit_figure(data, fits, key="reg_early_fit")
    st.markdown(t("regularization.early_text", e=run.best_epoch + 1, best=f"{run.val_loss[run.best_epoch]:.4f}",
                  last=f"{run.val_loss[-1]:.4f}", total=len(run.val_loss)))  # fmt: skip


def show_augmentation(data: RegressionData, degree: int, copies: int, jitter: float) -> None:
    xa, ya = cached["augment_samples"](data.x_train, data.y_train, copies=copies, jitter=jitter)
    plain = cached["fit_polynomial"](data.x_train, data.y_train, degree)
    augmented = cached["fit_polynomial"](xa, ya, degree)
    left, right = st.columns(2)
    with left:
        curves = {t("regularization.fit_plain"): predict_polynomial(plain, data.x_grid),
                  t("regularization.fit_augmented"): predict_polynomial(augmented, data.x_grid)}  # fmt: skip
        _fit_figure(data, curves, key="reg_aug_fit", points=(xa[len(data.x_train):], ya[len(data.x_train):]))
    robust = {t("regularization.fit_plain"): cached["noise_robustness"](plain, data, NOISE_LEVELS),
              t("regularization.fit_augmented"): cached["noise_robustness"](augmented, data, NOISE_LEVELS)}  # fmt: skip
    with right:
        _curve_figure(NOISE_LEVELS, robust, xaxis=t("regularization.input_noise"), key="reg_aug_curve")
    a, b = robust.values()
    st.markdown(t("regularization.augment_text", n=len(data.x_train), total=len(xa), plain=f"{a[0]:.4f}",
                  augmented=f"{b[0]:.4f}", plain_noisy=f"{a[-1]:.4f}", augmented_noisy=f"{b[-1]:.4f}",
                  sigma=f"{NOISE_LEVELS[-1]:g}"))  # fmt: skip


def show_folds(data: RegressionData, scores: FoldScores) -> None:
    k = len(scores.val_mse)
    held = (scores.fold[None, :] == np.arange(k)[:, None]).astype(float)  # (k, n): 1 where held out
    left, right = st.columns(2)
    names = [t("regularization.fold_n", i=i + 1) for i in range(k)]
    fig = go.Figure(go.Heatmap(z=held, x=[f"{x:.2f}" for x in data.x_train], y=names, showscale=False, xgap=2, ygap=2,
                               colorscale=[[0, "#c6dbef"], [1, "#e45756"]]))  # fmt: skip
    fig.update_layout(height=HEIGHT, margin=dict(l=60, r=10, t=30, b=40), xaxis_title=t("regularization.point_x"),
                      yaxis_autorange="reversed")  # fmt: skip
    left.plotly_chart(fig, key="reg_folds")
    bars = go.Figure(go.Bar(x=names, y=scores.val_mse, marker_color="#e45756"))
    bars.update_layout(height=HEIGHT, margin=dict(l=40, r=10, t=30, b=40), yaxis_title=t("regularization.val_error"))
    right.plotly_chart(bars, key="reg_fold_scores")
    st.markdown(t("regularization.folds_text", k=k, mean=f"{scores.val_mse.mean():.4f}",
                  std=f"{scores.val_mse.std():.4f}"))  # fmt: skip


def show_bias_variance(data: RegressionData, result: BiasVariance, curve: list[BiasVariance]) -> None:
    left, right = st.columns(2)
    with left:
        gap = np.full((len(result.fits), 1), np.nan)  # all fits in one trace, broken between fits
        xs = np.hstack([np.tile(data.x_grid, (len(result.fits), 1)), gap]).ravel()
        fig = go.Figure(go.Scatter(x=xs, y=np.hstack([result.fits, gap]).ravel(), mode="lines", opacity=0.3,
                                   name=t("regularization.one_fit"), line=dict(color="#4c78a8", width=1),
                                   hoverinfo="skip", connectgaps=False))  # fmt: skip
        fig.add_trace(go.Scatter(x=data.x_grid, y=result.mean_fit, name=t("regularization.mean_fit"),
                                 line=dict(color="#e45756", width=3)))  # fmt: skip
        fig.add_trace(go.Scatter(x=data.x_grid, y=data.y_true, name=t("regularization.truth"),
                                 line=dict(color="#333333", dash="dash")))  # fmt: skip
        fig.update_layout(height=HEIGHT, margin=dict(l=40, r=10, t=30, b=40), yaxis_range=[-2, 2],
                          legend=dict(orientation="h", y=1.15))  # fmt: skip
        st.plotly_chart(fig, key="reg_bv_fits")
    with right:
        _curve_figure(list(BV_DEGREES), {t("regularization.bias2"): np.array([c.bias2 for c in curve]),
                                         t("regularization.variance"): np.array([c.variance for c in curve])},
                      xaxis=t("regularization.degree"), key="reg_bv_curve")  # fmt: skip
    st.markdown(t("regularization.bias_text", b=len(result.fits), n=len(data.x_train), bias=f"{result.bias2:.4f}",
                  variance=f"{result.variance:.4f}"))  # fmt: skip
