"""Weight-initialisation page widgets: the experiment's settings, its formulas, each layer's histogram and stats."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from cnnviz.foundations import HIDDEN_ACTIVATIONS, InitConfig, InitScheme, InitStudy, run_init_study
from cnnviz.ui.base import t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "cached_init_study", "choose_activation", "choose_scheme", "forward_latex", "histogram_rows", "init_settings",
    "scheme_latex", "show_layer_stats", "show_lesson",
]  # fmt: skip

SCHEMES = tuple(s.value for s in InitScheme)
cached_init_study = st.cache_data(run_init_study, max_entries=64, show_spinner=False)


def choose_scheme(key: str, default: InitScheme, where=st) -> InitScheme:
    """A radio of the four initialisations; return the chosen one."""
    return InitScheme(translated_choice(
        "radio", t("initialization.scheme"), SCHEMES, key=key, default=default.value, where=where,
        format_func=lambda s: t(f"initialization.scheme.{s}"), horizontal=True,
    ))  # fmt: skip


def choose_activation(key: str, default: str, where=st) -> str:
    return translated_choice(
        "radio", t("initialization.activation"), HIDDEN_ACTIVATIONS, key=key, default=default, where=where,
        format_func=lambda a: t(f"initialization.activation.{a}"), horizontal=True,
    )  # fmt: skip


def init_settings() -> InitConfig:
    """Initialisation, activation, depth and width in one row; return the experiment's settings."""
    left, mid, right, far = st.columns([3, 2, 2, 2])
    scheme = choose_scheme("init_scheme", InitScheme.XAVIER, left)
    activation = choose_activation("init_activation", "sigmoid", mid)
    layers = bounded_slider(t("initialization.layers"), 1, 10, 5, key="init_layers", where=right)
    units = bounded_slider(t("initialization.units"), 10, 200, 100, key="init_units", where=far, step=10)
    return InitConfig(scheme=scheme, activation=activation, layers=layers, units=units)


def scheme_latex(scheme: InitScheme, units: int, std: float) -> str:
    """The chosen initialisation as a formula with this layer's fan-in and fan-out substituted."""
    draw = r"W_{ij} \sim \mathcal{N}(0,\ \sigma^2),\quad "
    if scheme is InitScheme.XAVIER:
        return draw + rf"\sigma = \sqrt{{\frac{{2}}{{n_\text{{in}} + n_\text{{out}}}}}} = \sqrt{{\frac{{2}}{{{units} + {units}}}}} = {std:.4g}"  # noqa: E501
    if scheme is InitScheme.HE:
        return draw + rf"\sigma = \sqrt{{\frac{{2}}{{n_\text{{in}}}}}} = \sqrt{{\frac{{2}}{{{units}}}}} = {std:.4g}"
    return draw + rf"\sigma = {std:g}"


def histogram_rows(studies: list[InitStudy], row_titles: list[str], *, key: str) -> None:
    """One row of per-layer histograms for each study (shared bins), layer 1 on the left."""
    layers = studies[0].config.layers
    column_titles = [t("initialization.layer_n", n=i + 1) for i in range(layers)]
    st.plotly_chart(_histogram_figure(studies, row_titles, column_titles), key=key)


@st.cache_resource(max_entries=64, show_spinner=False)  # a grid of subplots takes a good part of a rerun to build
def _histogram_figure(studies: list[InitStudy], row_titles: list[str], column_titles: list[str]) -> go.Figure:
    layers = len(column_titles)
    fig = make_subplots(rows=len(studies), cols=layers, shared_yaxes=True, row_titles=row_titles,
                        column_titles=column_titles, horizontal_spacing=0.02, vertical_spacing=0.12)  # fmt: skip
    for r, study in enumerate(studies, start=1):
        centres = (study.edges[:-1] + study.edges[1:]) / 2
        width = study.edges[1] - study.edges[0]
        for c in range(layers):
            bar = go.Bar(x=centres, y=study.counts[c], width=width, marker_color="#4c78a8", showlegend=False,
                         hovertemplate="%{x:.3g}: %{y}<extra></extra>")  # fmt: skip
            fig.add_trace(bar, r, c + 1)
    fig.update_layout(height=230 * len(studies) + 40, margin=dict(l=40, r=40, t=40, b=30), bargap=0)
    return fig


def show_layer_stats(study: InitStudy, *, key: str) -> None:
    """Each layer's mean, standard deviation (and for ReLU the share of zeros) as a table."""
    rows = {t("initialization.stat_mean"): study.means, t("initialization.stat_std"): study.stds}
    if study.config.activation == "relu":
        rows[t("initialization.stat_zeros")] = study.zero_share
    frame = pd.DataFrame(rows, index=[t("initialization.layer_n", n=i + 1) for i in range(len(study.means))]).T
    st.dataframe(frame.style.format("{:.4g}"), key=key)


def forward_latex() -> str:
    return r"z^{(l)} = h\!\left(W^{(l)} z^{(l-1)}\right),\qquad \operatorname{Var}\!\left(W z\right) = n\,\sigma^2\,\operatorname{Var}(z)"  # noqa: E501



def show_lesson(study: InitStudy) -> None:
    """What this initialisation does to this activation, with the first and the last layer's spread."""
    config = study.config
    lesson = f"{config.scheme.value}_{config.activation}"
    st.info(t(f"initialization.lesson.{lesson}", first=f"{study.stds[0]:.3g}",
              last=f"{study.stds[-1]:.3g}", n=config.layers))  # fmt: skip
