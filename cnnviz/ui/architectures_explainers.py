"""Architectures page: the design ideas explained with the learner's own sizes, every number computed live."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from cnnviz.arch import (
    MAX_STACK_DEPTH,
    CostComparison,
    channel_reduction,
    gradient_flow,
    inception_branches,
    receptive_field_growth,
    separable_vs_plain,
    stacked_kernels,
)
from cnnviz.errors import CnnvizError
from cnnviz.ui.base import current_language, error_text, t
from cnnviz.ui.widgets import bounded_slider

__all__ = ["EXPLAINERS", "show_comparison", "show_explainers"]

EXPLAINERS = ("reduction", "inception", "residual", "separable", "receptive", "kernels")


def _number(where: Any, label: str, low: int, high: int, value: int, key: str) -> int:
    return int(where.number_input(label, low, high, value, key=f"arch_x_{key}"))


def _cost_table(comparison: CostComparison) -> list[dict[str, object]]:
    """Before and after, layer by layer, with a total line for each."""
    rows = []
    for side, layers in (("before", comparison.before), ("after", comparison.after)):
        for c in layers:
            rows.append({t("architectures.x.way"): t(f"architectures.x.{side}"),
                         t("architectures.x.layer"): t(f"architectures.role.{c.role}", k=c.kernel_size),
                         t("architectures.x.shape"): f"{'×'.join(map(str, c.input_shape))} → "
                                                     f"{'×'.join(map(str, c.output_shape))}",
                         t("architectures.col.params"): c.params, t("architectures.col.macs"): c.macs})  # fmt: skip
    return rows


def show_comparison(comparison: CostComparison, key: str) -> None:
    st.dataframe(_cost_table(comparison), hide_index=True, key=f"arch_x_{key}_table")
    a, b = st.columns(2)
    a.metric(t("architectures.x.params_after"), f"{comparison.after_params:,}",
             t("architectures.x.fewer", ratio=comparison.param_ratio), delta_color="off", delta_arrow="off")
    b.metric(t("architectures.x.macs_after"), f"{comparison.after_macs:,}",
             t("architectures.x.fewer", ratio=comparison.mac_ratio), delta_color="off", delta_arrow="off")


@st.cache_data(show_spinner=False, max_entries=16)
def _gradients(depth: int) -> tuple[tuple[float, ...], tuple[float, ...], float]:
    flow = gradient_flow(depth)
    return flow.plain, flow.residual, flow.first_layer_ratio


@st.cache_data(show_spinner=False, max_entries=16)
def _inception_view(in_channels: int, side: int):  # noqa: ANN202 - an InceptionView
    return inception_branches(in_channels, side, side)


def _reduction() -> None:
    cols = st.columns(5)
    cin = _number(cols[0], t("architectures.x.cin"), 1, 2048, 192, "red_cin")
    mid = _number(cols[1], t("architectures.x.reduced"), 1, 2048, 16, "red_mid")
    cout = _number(cols[2], t("architectures.x.cout"), 1, 2048, 32, "red_cout")
    k = _number(cols[3], t("architectures.x.kernel"), 1, 11, 5, "red_k")
    side = _number(cols[4], t("architectures.x.side"), 1, 224, 28, "red_side")
    comparison = channel_reduction(cin, mid, cout, k, height=side, width=side)
    st.latex(rf"{k}^2 \cdot {cin} \cdot {cout} = {comparison.before_params:,}".replace(",", "{,}"))
    st.latex(rf"{cin} \cdot {mid} + {k}^2 \cdot {mid} \cdot {cout} = {comparison.after_params:,}".replace(",", "{,}"))
    show_comparison(comparison, "red")


def _inception() -> None:
    left, right = st.columns(2)
    cin = _number(left, t("architectures.x.cin"), 1, 1024, 192, "inc_cin")
    side = _number(right, t("architectures.x.side"), 1, 112, 28, "inc_side")
    view = _inception_view(cin, side)
    rows = [{t("architectures.x.branch"): t(f"architectures.branch.{b.name}"),
             t("architectures.x.steps"): " → ".join(f"{d} → {'×'.join(map(str, s))}" for d, s in b.steps),
             t("architectures.col.params"): b.params, t("architectures.col.macs"): b.macs}
            for b in view.branches]  # fmt: skip
    st.dataframe(rows, hide_index=True, key="arch_x_inc_table")
    parts = " + ".join(str(b.output_shape[0]) for b in view.branches)
    st.success(t("architectures.x.concat", parts=parts, c=view.output_shape[0], h=view.output_shape[1],
                 w=view.output_shape[2], params=f"{view.params:,}"))  # fmt: skip
    st.caption(t("architectures.x.inception_bug"))


@st.cache_data(show_spinner=False, max_entries=16)
def _gradient_figure(depth: int, lang: str) -> go.Figure:
    del lang  # part of the cache key: the labels are translated
    plain, residual, _ = _gradients(depth)
    layers = list(range(1, len(plain) + 1))
    fig = go.Figure([go.Scatter(x=layers, y=plain, name=t("architectures.x.plain"), mode="lines+markers"),
                     go.Scatter(x=layers, y=residual, name=t("architectures.x.with_skips"), mode="lines+markers")])
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_type="log",
                      xaxis_title=t("architectures.x.layer_number"), yaxis_title=t("architectures.x.grad_norm"),
                      legend={"orientation": "h", "y": 1.15})  # fmt: skip
    return fig


def _residual() -> None:
    depth = bounded_slider(t("architectures.x.depth"), 2, MAX_STACK_DEPTH, 20, key="arch_x_depth")
    plain, residual, ratio = _gradients(depth)
    a, b = st.columns(2)
    a.metric(t("architectures.x.first_plain"), f"{plain[0]:.2e}")
    b.metric(t("architectures.x.first_skips"), f"{residual[0]:.2e}")
    st.info(t("architectures.x.residual_result", depth=depth, ratio=f"{ratio:.1e}"))
    st.plotly_chart(_gradient_figure(depth, current_language()), key="arch_x_grad_chart")
    st.latex(r"y = x + F(x) \;\Rightarrow\; \frac{\partial y}{\partial x} = 1 + \frac{\partial F}{\partial x}")


def _separable() -> None:
    cols = st.columns(4)
    cin = _number(cols[0], t("architectures.x.cin"), 1, 2048, 96, "sep_cin")
    cout = _number(cols[1], t("architectures.x.cout"), 1, 2048, 24, "sep_cout")
    k = _number(cols[2], t("architectures.x.kernel"), 1, 11, 3, "sep_k")
    side = _number(cols[3], t("architectures.x.side"), 1, 224, 56, "sep_side")
    comparison = separable_vs_plain(cin, cout, k, height=side, width=side)
    st.latex(rf"\frac{{{k}^2 \cdot {cin} + {cin} \cdot {cout}}}{{{k}^2 \cdot {cin} \cdot {cout}}} = "
             rf"\frac{{1}}{{{cout}}} + \frac{{1}}{{{k * k}}} \approx {1 / comparison.param_ratio:.3f}")
    show_comparison(comparison, "sep")


def _receptive() -> None:
    left, mid, right = st.columns(3)
    n = bounded_slider(t("architectures.x.layers"), 1, 16, 6, key="arch_x_rf_layers", where=left)
    k = _number(mid, t("architectures.x.kernel"), 1, 11, 3, "rf_k")
    pool = right.toggle(t("architectures.x.pool_every_two"), value=True, key="arch_x_rf_pool")
    layers = []
    for i in range(n):
        layers.append((k, 1))
        if pool and i % 2 == 1:
            layers.append((2, 2))
    steps = receptive_field_growth(layers)
    rows = [{t("architectures.x.layer"): t("architectures.role.pool" if s.stride > 1 else "architectures.role.conv",
                                            k=s.kernel_size),
             t("architectures.col.receptive_field"): s.receptive_field, t("architectures.x.jump"): s.jump}
            for s in steps]  # fmt: skip
    st.dataframe(rows, hide_index=True, key="arch_x_rf_table")
    st.latex(r"r_{l} = r_{l-1} + (k_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l")


def _kernels() -> None:
    left, mid, right = st.columns(3)
    k = int(left.radio(t("architectures.x.large_kernel"), (5, 7, 9), key="arch_x_large", horizontal=True))
    c = _number(mid, t("architectures.x.channels"), 1, 1024, 64, "ker_c")
    side = _number(right, t("architectures.x.side"), 1, 224, 56, "ker_side")
    stack = stacked_kernels(k, c, height=side, width=side)
    large, small = stack.weights_per_pair
    st.success(t("architectures.x.kernels_result", k=k, n=stack.depth, large=large, small=small,
                 rf=stack.receptive_field, relus=stack.depth))  # fmt: skip
    show_comparison(stack.comparison, "ker")


def show_explainers() -> None:
    """Each design idea in its own tab, computed with the sizes the learner types."""
    sections = {"reduction": _reduction, "inception": _inception, "residual": _residual, "separable": _separable,
                "receptive": _receptive, "kernels": _kernels}  # fmt: skip
    tabs = st.tabs([t(f"architectures.explainer.{name}") for name in EXPLAINERS])
    for tab, name in zip(tabs, EXPLAINERS, strict=True):
        with tab:
            st.markdown(t(f"architectures.explainer.{name}.intro"))
            try:
                sections[name]()
            except CnnvizError as err:
                st.error(error_text(err), icon="⚠️")
