"""Loss functions page widgets: MSE against cross-entropy as the true class's probability moves, and a descent."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnnviz.foundations import LOSS_NAMES, LOSS_WITH_RESPECT_TO, LossCurves, descend_true_logit, loss_curves
from cnnviz.ui.base import t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.widgets import bounded_slider

__all__ = ["curve_settings", "descent_settings", "show_curves", "show_descent", "show_point"]

COLORS = {"mse": "#1f77b4", "cross_entropy": "#d62728"}
LAYOUT = dict(height=340, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
GRID = np.linspace(0.005, 0.995, 199)  # probabilities of the true class drawn on the x axis
LATEX = {
    "mse": r"E_{\mathrm{MSE}} = \tfrac{1}{2} \sum_k (y_k - p_k)^2",
    "cross_entropy": r"E_{\mathrm{CE}} = -\sum_k y_k \log p_k = -\log p",
    "logit": r"\frac{\partial E_{\mathrm{CE}}}{\partial z} = p - 1 \qquad "
    r"\frac{\partial E_{\mathrm{MSE}}}{\partial z} = -\frac{K}{K-1}\, p\,(1 - p)^2",
    "probability": r"\frac{\partial E_{\mathrm{CE}}}{\partial p} = -\frac{1}{p} \qquad "
    r"\frac{\partial E_{\mathrm{MSE}}}{\partial p} = -\frac{K}{K-1}\,(1 - p)",
}


def curve_settings() -> tuple[int, str, float]:
    """Number of classes, what the gradient is taken with respect to, the probability to mark; return them."""
    cols = st.columns(3)
    classes = bounded_slider(t("losses.classes"), 2, 10, 2, key="loss_classes", where=cols[0])
    wrt = translated_choice("radio", t("losses.wrt"), list(LOSS_WITH_RESPECT_TO), key="loss_wrt", default="logit",
                            where=cols[1], format_func=lambda w: t(f"losses.wrt.{w}"), horizontal=True)  # fmt: skip
    p = cols[2].slider(t("losses.p"), 0.01, 0.99, 0.1, 0.01, key="loss_p", help=t("losses.p_help"))
    return classes, wrt, p


@st.cache_data(max_entries=64, show_spinner=False)
def _curves(classes: int, wrt: str) -> LossCurves:
    return loss_curves(GRID, classes, wrt=wrt)


def _figure(curves: LossCurves, p: float, *, grads: bool, title: str) -> go.Figure:
    fig = go.Figure()
    for name in LOSS_NAMES:
        y = getattr(curves, f"{name}_grad" if grads else name)
        fig.add_scatter(x=curves.p, y=y, name=t(f"losses.name.{name}"), line=dict(color=COLORS[name]))
    fig.add_vline(x=p, line_dash="dot", line_color="grey")
    fig.update_layout(title=title, xaxis_title=t("losses.axis_p"), **LAYOUT)
    return fig


def show_curves(classes: int, wrt: str, p: float) -> None:
    """Both losses and both gradients against p, the chosen p marked, with the formulas beside."""
    curves = _curves(classes, wrt)
    left, right = st.columns(2)
    left.plotly_chart(_figure(curves, p, grads=False, title=t("losses.value_title")), key="loss_values")
    left.latex(LATEX["mse"])
    left.latex(LATEX["cross_entropy"])
    right.plotly_chart(_figure(curves, p, grads=True, title=t(f"losses.grad_title.{wrt}")), key="loss_grads")
    right.latex(LATEX[wrt])


def show_point(classes: int, wrt: str, p: float) -> LossCurves:
    """The values and gradients at the chosen p, from autograd, as metrics; returns them."""
    point = loss_curves(np.array([p]), classes, wrt=wrt)
    cols = st.columns(4)
    cols[0].metric(t("losses.metric_mse"), f"{point.mse[0]:.4f}")
    cols[1].metric(t("losses.metric_ce"), f"{point.cross_entropy[0]:.4f}")
    cols[2].metric(t(f"losses.metric_mse_grad.{wrt}"), f"{point.mse_grad[0]:.4f}")
    cols[3].metric(t(f"losses.metric_ce_grad.{wrt}"), f"{point.cross_entropy_grad[0]:.4f}")
    return point


def descent_settings() -> tuple[float, float, int]:
    """Start probability, learning rate and steps of the descent from a bad prediction; return them."""
    st.subheader(t("losses.descent_header"))
    st.caption(t("losses.descent_caption"))
    cols = st.columns(3)
    p0 = cols[0].select_slider(t("losses.p0"), (0.001, 0.005, 0.01, 0.05, 0.1, 0.3), 0.01, key="loss_p0")
    lr = cols[1].select_slider(t("losses.lr"), (0.1, 0.3, 1.0, 3.0), 1.0, key="loss_lr")
    steps = bounded_slider(t("losses.steps"), 5, 100, 30, key="loss_steps", where=cols[2])
    return p0, lr, steps


@st.cache_data(max_entries=64, show_spinner=False)
def _descents(p0: float, lr: float, steps: int, classes: int) -> dict[str, np.ndarray]:
    return {name: descend_true_logit(name, p0=p0, lr=lr, steps=steps, num_classes=classes) for name in LOSS_NAMES}


def show_descent(p0: float, lr: float, steps: int, classes: int) -> dict[str, np.ndarray]:
    """The true class's probability after each step of gradient descent under each loss; returns the histories."""
    histories = _descents(p0, lr, steps, classes)
    fig = go.Figure()
    for name, history in histories.items():
        fig.add_scatter(x=np.arange(len(history)), y=history, name=t(f"losses.name.{name}"),
                        line=dict(color=COLORS[name]))  # fmt: skip
    fig.update_layout(title=t("losses.descent_title"), xaxis_title=t("losses.axis_step"),
                      yaxis=dict(title=t("losses.axis_p"), range=[0, 1]), **LAYOUT)  # fmt: skip
    left, right = st.columns([3, 2])
    left.plotly_chart(fig, key="loss_descent")
    right.markdown(t("losses.descent_result", steps=steps, mse=f"{histories['mse'][-1]:.3f}",
                     ce=f"{histories['cross_entropy'][-1]:.3f}", p0=p0))  # fmt: skip
    right.markdown(t("losses.why"))
    return histories
