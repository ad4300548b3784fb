"""Perceptron page widgets: one perceptron as a gate, why XOR needs two layers, and a 2-2-1 network learning XOR."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnnviz.foundations import (
    BOOK_GATES,
    GATE_INPUTS,
    GATE_TARGETS,
    XorSnapshot,
    decision_line,
    gate_outputs,
    network_outputs,
    separating_weights,
    train_xor_network,
    train_xor_numpy,
    xor_by_layers,
)
from cnnviz.ui.base import t
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "SEARCH_GRID",
    "gate_settings",
    "show_gate",
    "show_training",
    "show_xor_layers",
    "show_xor_search",
    "train_settings",
    "trained_snapshots",
]

VIEW = (-0.5, 1.5)  # the part of the (x₁, x₂) plane drawn
SEARCH_GRID = np.round(np.linspace(-1, 1, 21), 2)  # w₁, w₂ and b each in −1, −0.9, …, 1
LAYOUT = dict(height=380, margin=dict(l=10, r=10, t=40, b=10))
EVERY = 25  # steps between recorded snapshots


def _load_gate() -> None:
    st.session_state["pc_w1"], st.session_state["pc_w2"], st.session_state["pc_b"] = BOOK_GATES[
        st.session_state["pc_gate"]
    ]


def gate_settings() -> tuple[float, float, float]:
    """A gate preset (the book's weights) and sliders for w₁, w₂, b; return the weights and bias."""
    if "pc_gate" not in st.session_state:
        st.session_state["pc_gate"] = "and"
        _load_gate()
    cols = st.columns(4)
    cols[0].radio(t("perceptron.preset"), list(BOOK_GATES), key="pc_gate", on_change=_load_gate,
                  format_func=str.upper, horizontal=True, help=t("perceptron.preset_help"))  # fmt: skip
    w1 = cols[1].slider("w₁", -1.5, 1.5, step=0.05, key="pc_w1")
    w2 = cols[2].slider("w₂", -1.5, 1.5, step=0.05, key="pc_w2")
    b = cols[3].slider(t("perceptron.bias"), -1.5, 1.5, step=0.05, key="pc_b")
    return w1, w2, b


def _points(fig: go.Figure, values: np.ndarray, name: str, *, color: str = "#d62728") -> None:
    """The four inputs, filled for output 1 (above 0.5) and hollow for 0, with their value written beside."""
    fig.add_scatter(x=GATE_INPUTS[:, 0], y=GATE_INPUTS[:, 1], mode="markers+text", name=name,
                    text=[f"{v:g}" for v in values], textposition="top right", textfont=dict(size=14),
                    marker=dict(size=16, color=[color if v > 0.5 else "white" for v in values],
                                line=dict(color=color, width=2)))  # fmt: skip


def _signed(value: float) -> str:
    """A term of a sum as LaTeX: "+ 0.5" or "- 0.7"."""
    return f"- {-value:g}" if value < 0 else f"+ {value:g}"


def _plane(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, xaxis=dict(range=VIEW, title="x₁"), yaxis=dict(range=VIEW, title="x₂",
                      scaleanchor="x"), showlegend=False, **LAYOUT)  # fmt: skip
    return fig


def show_gate(w1: float, w2: float, b: float) -> np.ndarray:
    """The decision line over the four inputs, the formula, the truth table and which gate it is; returns outputs."""
    outputs = gate_outputs(w1, w2, b)
    fig = _plane(t("perceptron.plane_title"))
    xs = np.linspace(*VIEW, 81)
    grid = np.stack(np.meshgrid(xs, xs), axis=-1).reshape(-1, 2)
    fig.add_heatmap(x=xs, y=xs, z=gate_outputs(w1, w2, b, grid).reshape(81, 81), showscale=False, hoverinfo="skip",
                    colorscale=[[0, "#f4f4f4"], [1, "#fcd5d5"]], zmin=0, zmax=1)  # fmt: skip
    line = decision_line(w1, w2, b, VIEW)
    if line is not None:
        fig.add_scatter(x=line[:, 0], y=line[:, 1], mode="lines", line=dict(color="black", dash="dash"))
    _points(fig, outputs, "y")
    left, right = st.columns([2, 3])
    left.plotly_chart(fig, key="pc_plane")
    total = f"{w1:g}\\,x_1 {_signed(w2)}\\,x_2 {_signed(b)}"
    right.latex(r"y = \begin{cases} 1 & " + total + r" > 0 \\ 0 & " + total + r" \le 0 \end{cases}")
    sums = GATE_INPUTS @ np.array([w1, w2]) + b
    right.table({"x₁": GATE_INPUTS[:, 0].astype(int), "x₂": GATE_INPUTS[:, 1].astype(int),
                 "w₁x₁ + w₂x₂ + b": [f"{s:.2f}" for s in sums], "y": outputs}, hide_header=False)  # fmt: skip
    same = [name.upper() for name, target in GATE_TARGETS.items() if np.array_equal(target, outputs)]
    if same:
        right.success(t("perceptron.computes", gate=same[0]))
    else:
        right.info(t("perceptron.computes_none"))
    return outputs


@st.cache_data(show_spinner=False)
def _search_counts() -> dict[str, int]:
    return {name: len(separating_weights(target, SEARCH_GRID)) for name, target in GATE_TARGETS.items()}


def show_xor_search() -> dict[str, int]:
    """How many perceptrons on a grid of weights compute each gate (none for XOR), and the contradiction."""
    st.subheader(t("perceptron.xor_header"))
    counts = _search_counts()
    st.caption(t("perceptron.search_caption", n=len(SEARCH_GRID) ** 3))
    cols = st.columns(len(counts))
    for col, (name, count) in zip(cols, counts.items(), strict=True):
        col.metric(t("perceptron.search_metric", gate=name.upper()), count)
    st.markdown(t("perceptron.contradiction"))
    st.latex(r"\begin{aligned} (0,0) \mapsto 0 &: \; b \le 0 \\ (1,0) \mapsto 1 &: \; w_1 + b > 0 \\ "
             r"(0,1) \mapsto 1 &: \; w_2 + b > 0 \\ (1,1) \mapsto 0 &: \; w_1 + w_2 + b \le 0 \end{aligned}"
             r"\quad\Rightarrow\quad w_1 + w_2 + 2b > 0 \ge w_1 + w_2 + b \;\Rightarrow\; b > 0")  # fmt: skip
    return counts


def show_xor_layers() -> dict[str, np.ndarray]:
    """XOR as NAND and OR into AND: the diagram and the truth table of both layers; returns the columns."""
    layers = xor_by_layers()
    left, right = st.columns([2, 3])
    left.graphviz_chart(
        "digraph { rankdir=LR; node [shape=circle, fontsize=11]; x1 [label=\"x₁\"]; x2 [label=\"x₂\"]; "
        "s1 [label=\"NAND\"]; s2 [label=\"OR\"]; y [label=\"AND\"]; x1 -> s1; x1 -> s2; x2 -> s1; x2 -> s2; "
        "s1 -> y [label=\"s₁\"]; s2 -> y [label=\"s₂\"]; }"
    )  # fmt: skip
    right.table({"x₁": GATE_INPUTS[:, 0].astype(int), "x₂": GATE_INPUTS[:, 1].astype(int),
                 "s₁ = NAND": layers["s1"], "s₂ = OR": layers["s2"], "y = AND(s₁, s₂)": layers["y"],
                 "XOR": GATE_TARGETS["xor"]}, hide_header=False)  # fmt: skip
    right.caption(t("perceptron.layers_caption"))
    return layers


def train_settings() -> tuple[float, int, int]:
    """Learning rate, number of steps and seed of the 2-2-1 network's training; return them."""
    st.subheader(t("perceptron.train_header"))
    st.caption(t("perceptron.train_caption"))
    cols = st.columns(3)
    lr = cols[0].select_slider(t("perceptron.lr"), (0.5, 1.0, 2.0, 3.0, 5.0), 2.0, key="pc_lr")
    steps = cols[1].select_slider(t("perceptron.steps"), (250, 500, 1000, 2000), 1000, key="pc_steps")
    seed = int(cols[2].number_input(t("perceptron.seed"), 0, 99, 0, key="pc_seed", help=t("perceptron.seed_help")))
    return lr, steps, seed


@st.cache_data(max_entries=32, show_spinner=False)
def trained_snapshots(lr: float, steps: int, seed: int) -> tuple[list[XorSnapshot], list[XorSnapshot]]:
    """The torch (autograd) and the NumPy (from scratch) training's snapshots, every EVERY steps."""
    kwargs = dict(lr=lr, steps=steps, every=EVERY, seed=seed)
    return train_xor_network(**kwargs), train_xor_numpy(**kwargs)


def show_training(torch_snaps: list[XorSnapshot], numpy_snaps: list[XorSnapshot]) -> XorSnapshot:
    """A step slider, the decision regions and hidden units' lines at that step, the loss of both versions."""
    last = torch_snaps[-1].step
    step = bounded_slider(t("perceptron.step"), 0, last, last, key="pc_step", step=EVERY)
    snap = torch_snaps[min(step // EVERY, len(torch_snaps) - 1)]
    xs = np.linspace(*VIEW, 61)
    grid = np.stack(np.meshgrid(xs, xs), axis=-1).reshape(-1, 2)
    fig = _plane(t("perceptron.regions_title", step=snap.step, loss=f"{snap.loss:.4f}"))
    fig.add_heatmap(x=xs, y=xs, z=network_outputs(snap, grid).reshape(61, 61), zmin=0, zmax=1, colorscale="RdBu_r",
                    opacity=0.7, colorbar=dict(title="y", len=0.8))  # fmt: skip
    for unit in range(2):
        line = decision_line(*snap.w1[unit], snap.b1[unit], (-2, 3))
        if line is not None:
            fig.add_scatter(x=line[:, 0], y=line[:, 1], mode="lines", line=dict(color="black", dash="dot"))
    outputs = network_outputs(snap, GATE_INPUTS)
    _points(fig, np.round(outputs, 2), "y", color="black")
    curve = go.Figure()
    curve.add_scatter(x=[s.step for s in torch_snaps], y=[s.loss for s in torch_snaps], name=t("perceptron.torch"))
    curve.add_scatter(x=[s.step for s in numpy_snaps], y=[s.loss for s in numpy_snaps], name=t("perceptron.numpy"),
                      line=dict(dash="dash"))  # fmt: skip
    curve.add_vline(x=snap.step, line_dash="dot", line_color="grey")
    curve.update_layout(title=t("perceptron.loss_title"), xaxis_title=t("perceptron.axis_step"),
                        legend=dict(orientation="h", y=-0.25), **LAYOUT)  # fmt: skip
    left, right = st.columns(2)
    left.plotly_chart(fig, key="pc_regions")
    right.plotly_chart(curve, key="pc_loss")
    gap = max(abs(a.loss - b.loss) for a, b in zip(torch_snaps, numpy_snaps, strict=True))
    right.caption(t("perceptron.same_loss", gap=f"{gap:.1e}"))
    right.latex(r"y = \sigma\big(W_2\, \sigma(W_1 x + b_1) + b_2\big)")
    right.latex(r"E = -\tfrac{1}{4} \sum_i \big(t_i \log y_i + (1 - t_i) \log (1 - y_i)\big)")
    solved = bool(np.array_equal((outputs > 0.5).astype(int), GATE_TARGETS["xor"]))
    st.caption(t("perceptron.outputs", values=", ".join(f"{v:.3f}" for v in outputs)))
    if solved:
        st.success(t("perceptron.solved"))
    else:
        st.warning(t("perceptron.not_solved"))
    return snap
