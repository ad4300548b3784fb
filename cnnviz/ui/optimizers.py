"""Optimizers page widgets: the race on a surface (settings, contour with paths, loss per step) and mini-batch noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnnviz.foundations import (
    MOMENTUM,
    OPTIMIZER_LATEX,
    OPTIMIZERS,
    SURFACES,
    diverged_at,
    optimizer_path,
    regression_loss_grid,
    regression_path,
    surface_grid,
    surface_values,
)
from cnnviz.ui.base import t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "OPTIMIZER_LABELS",
    "RaceSettings",
    "minibatch_settings",
    "race_paths",
    "race_settings",
    "show_minibatch",
    "show_race",
    "show_rules",
]

OPTIMIZER_LABELS = {"sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov", "adagrad": "AdaGrad",
                    "rmsprop": "RMSprop", "adam": "Adam"}  # fmt: skip
COLORS = dict(zip(OPTIMIZERS, ("#d62728", "#1f77b4", "#17becf", "#2ca02c", "#9467bd", "#ff7f0e"), strict=True))
LR_CHOICES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 0.5, 0.9, 1.0, 1.5, 3.0)
SGD_FAMILY = ("sgd", "momentum", "nesterov")
LAYOUT = dict(height=430, margin=dict(l=10, r=10, t=40, b=10))


@dataclass(frozen=True)
class RaceSettings:
    surface: str
    optimizers: tuple[str, ...]
    lr: float  # SGD, Momentum, Nesterov
    adaptive_lr: float  # AdaGrad, RMSprop, Adam
    momentum: float
    steps: int
    start: tuple[float, float]


def _load_surface_defaults(surface: str) -> None:
    """A newly chosen surface brings its own start point and learning rates (set before their widgets are drawn)."""
    if st.session_state.get("opt_loaded_surface") == surface:
        return
    s = SURFACES[surface]
    st.session_state["opt_lr"], st.session_state["opt_adaptive_lr"] = s.lr, s.adaptive_lr
    st.session_state["opt_start_x"], st.session_state["opt_start_y"] = s.start
    st.session_state["opt_loaded_surface"] = surface


def race_settings() -> RaceSettings:
    """Surface, optimizers, learning rates, momentum, steps and start point; return them."""
    top = st.columns([2, 3])
    surface = translated_choice("selectbox", t("optimizers.surface"), list(SURFACES), key="opt_surface",
                                default="book", where=top[0],
                                format_func=lambda s: t(f"optimizers.surface.{s}"))  # fmt: skip
    _load_surface_defaults(surface)
    chosen = translated_choice("multiselect", t("optimizers.which"), list(OPTIMIZERS), key="opt_which",
                               default=list(OPTIMIZERS), where=top[1],
                               format_func=OPTIMIZER_LABELS.__getitem__)  # fmt: skip
    cols = st.columns(5)
    lr = cols[0].select_slider(t("optimizers.lr"), LR_CHOICES, key="opt_lr", help=t("optimizers.lr_help"))
    adaptive = cols[1].select_slider(t("optimizers.adaptive_lr"), LR_CHOICES, key="opt_adaptive_lr")
    momentum = cols[2].slider(t("optimizers.momentum"), 0.0, 0.99, 0.9, 0.01, key="opt_momentum")
    steps = bounded_slider(t("optimizers.steps"), 10, 300, 100, key="opt_steps", where=cols[3])
    s = SURFACES[surface]
    x0 = cols[4].slider(t("optimizers.start_x"), float(s.x_range[0]), float(s.x_range[1]), key="opt_start_x")
    y0 = cols[4].slider(t("optimizers.start_y"), float(s.y_range[0]), float(s.y_range[1]), key="opt_start_y")
    return RaceSettings(surface, tuple(chosen), lr, adaptive, momentum, steps, (x0, y0))


@st.cache_data(max_entries=256, show_spinner=False)
def _path(name: str, surface: str, start: tuple[float, float], lr: float, steps: int, momentum: float) -> np.ndarray:
    return optimizer_path(name, surface, start=start, lr=lr, steps=steps, momentum=momentum)


def race_paths(settings: RaceSettings) -> dict[str, np.ndarray]:
    """Every chosen optimizer's path (steps + 1, 2), run by torch.optim; each cached on its own settings only."""
    paths = {}
    for name in settings.optimizers:
        sgd_family = name in SGD_FAMILY
        momentum = settings.momentum if name in ("momentum", "nesterov") else MOMENTUM  # others ignore it
        lr = settings.lr if sgd_family else settings.adaptive_lr
        paths[name] = _path(name, settings.surface, settings.start, lr, settings.steps, momentum)
    return paths


@st.cache_data(max_entries=8, show_spinner=False)
def _contour(surface: str) -> go.Contour:
    x, y, z = surface_grid(surface)
    levels = np.log1p(z - z.min())  # log levels: the valleys of Rosenbrock and Himmelblau show
    return go.Contour(x=x, y=y, z=levels, colorscale="Greys", reversescale=True, showscale=False,
                      contours=dict(coloring="heatmap"), hoverinfo="skip", opacity=0.6)  # fmt: skip


def show_race(settings: RaceSettings, paths: dict[str, np.ndarray]) -> None:
    """A step slider, the paths on the contour up to that step, the loss per step; warn about diverged paths."""
    step = bounded_slider(t("optimizers.step"), 0, settings.steps, settings.steps, key="opt_step")
    s = SURFACES[settings.surface]
    plane, curve = go.Figure(_contour(settings.surface)), go.Figure()
    for name, path in paths.items():
        bad = diverged_at(path)
        shown = path[: step + 1] if bad is None else path[: min(step + 1, bad)]
        if bad is not None:
            st.warning(t("optimizers.diverged", name=OPTIMIZER_LABELS[name], step=bad))
        label, color = OPTIMIZER_LABELS[name], COLORS[name]
        plane.add_scatter(x=shown[:, 0], y=shown[:, 1], mode="lines+markers", name=label,
                          line=dict(color=color), marker=dict(size=4))  # fmt: skip
        curve.add_scatter(x=np.arange(len(shown)), y=surface_values(settings.surface, shown), name=label,
                          line=dict(color=color))  # fmt: skip
    plane.update_layout(xaxis=dict(range=s.x_range, title="x"), yaxis=dict(range=s.y_range, title="y"),
                        title=t("optimizers.plane_title", step=step), **LAYOUT)  # fmt: skip
    curve.update_layout(xaxis_title=t("optimizers.axis_step"), yaxis_title="f(x, y)",
                        title=t("optimizers.curve_title"), **LAYOUT)  # fmt: skip
    left, right = st.columns([3, 2])
    left.plotly_chart(plane, key="opt_plane", width="stretch")
    right.plotly_chart(curve, key="opt_curve", width="stretch")
    right.latex(s.latex)
    _show_positions(paths, step)


def _show_positions(paths: dict[str, np.ndarray], step: int) -> None:
    """Each optimizer's position at the chosen step, as text (the numbers the plot draws)."""
    lines = []
    for name, path in paths.items():
        x, y = path[min(step, len(path) - 1)]
        lines.append(t("optimizers.position", name=OPTIMIZER_LABELS[name], step=step, x=f"{x:.4g}", y=f"{y:.4g}"))
    st.caption(" · ".join(lines))


def show_rules(optimizers: tuple[str, ...]) -> None:
    """The update rule of each chosen optimizer, as torch.optim applies it."""
    with st.expander(t("optimizers.rules"), expanded=False):
        st.caption(t("optimizers.rules_caption"))
        for name in optimizers:
            st.markdown(f"**{OPTIMIZER_LABELS[name]}**")
            st.latex(OPTIMIZER_LATEX[name])


# --- mini-batch noise --------------------------------------------------------------------------------------

POINTS = 64  # regression points


def minibatch_settings() -> tuple[int, float, int]:
    """The mini-batch size, learning rate and number of steps; return them."""
    st.subheader(t("optimizers.mb_header"))
    st.caption(t("optimizers.mb_caption", n=POINTS))
    cols = st.columns(3)
    batch = bounded_slider(t("optimizers.mb_batch"), 1, POINTS, 8, key="opt_mb_batch", where=cols[0])
    lr = cols[1].select_slider(t("optimizers.mb_lr"), (0.01, 0.03, 0.05, 0.1, 0.2, 0.3), 0.1, key="opt_mb_lr")
    steps = bounded_slider(t("optimizers.mb_steps"), 10, 200, 60, key="opt_mb_steps", where=cols[2])
    return batch, lr, steps


@st.cache_data(max_entries=32, show_spinner=False)
def _regression_paths(batch_sizes: tuple[int, ...], lr: float, steps: int) -> dict[int, np.ndarray]:
    return {b: regression_path(b, lr=lr, steps=steps, n=POINTS) for b in batch_sizes}


def show_minibatch(batch: int, lr: float, steps: int) -> dict[int, np.ndarray]:
    """Full-batch, the chosen mini-batch and single-sample paths of (w, b) on the full-batch loss; returns them."""
    sizes = tuple(dict.fromkeys((POINTS, batch, 1)))
    paths = _regression_paths(sizes, lr, steps)
    w, b, loss = regression_loss_grid(POINTS)
    fig = go.Figure(go.Contour(x=w, y=b, z=np.log1p(loss), colorscale="Greys", reversescale=True, showscale=False,
                               contours=dict(coloring="heatmap"), hoverinfo="skip", opacity=0.6))  # fmt: skip
    for size, color in zip(sizes, ("#1f77b4", "#ff7f0e", "#d62728"), strict=False):
        path = paths[size]
        fig.add_scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", marker=dict(size=3), line=dict(color=color),
                        name=t("optimizers.mb_path", n=size))  # fmt: skip
    fig.update_layout(xaxis_title=t("optimizers.mb_w"), yaxis_title=t("optimizers.mb_b"), **LAYOUT)
    left, right = st.columns([3, 2])
    left.plotly_chart(fig, key="opt_mb_plane", width="stretch")
    right.latex(r"L(w, b) = \frac{1}{|B|} \sum_{i \in B} (w x_i + b - y_i)^2")
    right.markdown(t("optimizers.mb_explain"))
    for size in sizes:
        end = paths[size][-1]
        right.caption(t("optimizers.mb_end", n=size, w=f"{end[0]:.3f}", b=f"{end[1]:.3f}"))
    return paths
