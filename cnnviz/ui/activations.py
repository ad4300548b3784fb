"""Activations page widgets: functions and autograd derivatives, softmax with a temperature, vanishing gradients."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnnviz.foundations import (
    ACTIVATION_FUNCTIONS,
    ACTIVATION_LATEX,
    DEEP_ACTIVATIONS,
    ActivationCurve,
    activation_curve,
    layer_gradient_norms,
    one_hot_label,
    softmax_probabilities,
)
from cnnviz.ui.base import t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.widgets import bounded_slider

__all__ = ["CLASSES", "curve_settings", "show_curves", "show_gradients", "show_softmax", "softmax_settings"]

LAYOUT = dict(height=340, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
CLASSES = 4  # classes of the softmax example
DEFAULT_LOGITS = (2.0, 1.0, 0.1, -1.0)
POINTS = 401  # inputs on the x axis
COLORS = {"step": "#1f77b4", "sigmoid": "#2ca02c", "tanh": "#9467bd", "relu": "#d62728", "leaky_relu": "#ff7f0e",
          "gelu": "#8c564b", "identity": "#7f7f7f"}  # fmt: skip


def curve_settings() -> tuple[list[str], float]:
    """Which activations to draw and the half-width of the input range; return them."""
    names = list(ACTIVATION_FUNCTIONS)
    left, right = st.columns([3, 1])
    chosen = translated_choice("multiselect", t("activations.which"), names, key="act_which",
                               default=["step", "sigmoid", "relu"], where=left,
                               format_func=lambda n: t(f"activations.name.{n}"))  # fmt: skip
    half = right.slider(t("activations.range"), 1.0, 10.0, 5.0, 0.5, key="act_range")
    return chosen, half


@st.cache_data(max_entries=64, show_spinner=False)
def _curve(name: str, half: float) -> ActivationCurve:
    return activation_curve(name, np.linspace(-half, half, POINTS))


def show_curves(chosen: list[str], half: float) -> dict[str, ActivationCurve]:
    """Each chosen activation and its autograd derivative, side by side, formulas below; returns the curves."""
    curves = {name: _curve(name, half) for name in chosen}
    values, slopes = go.Figure(), go.Figure()
    for name, curve in curves.items():
        label = t(f"activations.name.{name}")
        line = dict(color=COLORS[name])
        values.add_scatter(x=curve.x, y=curve.y, name=label, legendgroup=name, line=line)
        slopes.add_scatter(x=curve.x, y=curve.dy, name=label, legendgroup=name, line=line)
    values.update_layout(title=t("activations.values_title"), xaxis_title="x", **LAYOUT)
    slopes.update_layout(title=t("activations.slopes_title"), xaxis_title="x", **LAYOUT)
    left, right = st.columns(2)
    left.plotly_chart(values, key="act_values")
    right.plotly_chart(slopes, key="act_slopes")
    for name in chosen:
        st.latex(ACTIVATION_LATEX[name])
    return curves


def softmax_settings() -> tuple[np.ndarray, float, int]:
    """The logits, the temperature and the true label; return them."""
    st.subheader(t("activations.softmax_header"))
    st.caption(t("activations.softmax_caption"))
    cols = st.columns(CLASSES + 2)
    logits = np.array([cols[i].slider(t("activations.logit", i=i), -5.0, 5.0, DEFAULT_LOGITS[i], 0.1,
                                      key=f"act_logit_{i}") for i in range(CLASSES)])  # fmt: skip
    temperature = cols[CLASSES].slider(t("activations.temperature"), 0.1, 5.0, 1.0, 0.1, key="act_temperature",
                                       help=t("activations.temperature_help"))  # fmt: skip
    label = bounded_slider(t("activations.label"), 0, CLASSES - 1, 0, key="act_label", where=cols[CLASSES + 1])
    return logits, temperature, label


def show_softmax(logits: np.ndarray, temperature: float, label: int) -> np.ndarray:
    """Probability bars next to the one-hot label, the formula and the cross-entropy; returns the probabilities."""
    probs = softmax_probabilities(logits, temperature)
    target = one_hot_label(label, CLASSES)
    classes = [t("activations.class", i=i) for i in range(CLASSES)]
    fig = go.Figure()
    fig.add_bar(x=classes, y=probs, name=t("activations.probabilities"), text=[f"{p:.3f}" for p in probs])
    fig.add_bar(x=classes, y=target, name=t("activations.one_hot"), opacity=0.4)
    fig.update_layout(yaxis=dict(range=[0, 1.05]), barmode="group", **LAYOUT)
    left, right = st.columns([3, 2])
    left.plotly_chart(fig, key="act_softmax")
    right.latex(r"p_k = \frac{\exp(z_k / T)}{\sum_j \exp(z_j / T)}, \quad T = " + f"{temperature:g}")
    right.latex(r"E = -\sum_k t_k \log p_k = -\log p_{" + str(label) + "} = " + f"{-np.log(probs[label]):.4f}")
    right.caption(t("activations.softmax_sum", total=f"{probs.sum():.6f}", top=int(np.argmax(probs))))
    right.markdown(t("activations.temperature_explain"))
    return probs


@st.cache_data(max_entries=32, show_spinner=False)
def _gradients(depth: int) -> dict[str, np.ndarray]:
    return {name: layer_gradient_norms(name, depth=depth) for name in DEEP_ACTIVATIONS}


def show_gradients() -> dict[str, np.ndarray]:
    """Mean |∂L/∂W| per layer of a deep stack for each activation, on a log scale; returns the numbers."""
    st.subheader(t("activations.vanish_header"))
    depth = bounded_slider(t("activations.depth"), 2, 15, 10, key="act_depth")
    st.caption(t("activations.vanish_caption", depth=depth))
    grads = _gradients(depth)
    fig = go.Figure()
    layers = np.arange(1, depth + 1)
    for name, values in grads.items():
        fig.add_scatter(x=layers, y=values, mode="lines+markers", name=t(f"activations.name.{name}"),
                        line=dict(color=COLORS[name]))  # fmt: skip
    fig.update_layout(yaxis=dict(type="log", title=t("activations.axis_grad"), exponentformat="power"),
                      title=t("activations.vanish_title"),
                      xaxis=dict(title=t("activations.axis_layer"), dtick=1), **LAYOUT)  # fmt: skip
    left, right = st.columns([3, 2])
    left.plotly_chart(fig, key="act_vanish")
    right.latex(r"\sigma'(x) = \sigma(x)(1 - \sigma(x)) \le \tfrac{1}{4}")
    for name, values in grads.items():
        ratio = f"{values[0] / values[-1]:.3g}"
        right.caption(t("activations.vanish_ratio", name=t(f"activations.name.{name}"), ratio=ratio))
    right.markdown(t("activations.vanish_explain"))
    return grads
