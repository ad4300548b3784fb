"""Architectures page: pick one network or two, their per-layer tables, totals, charts and block diagrams."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch
from torch import nn

from cnnviz.arch import Summary, block_diagram, summarize, weight_split
from cnnviz.errors import CnnvizError
from cnnviz.nets import available_models, build, get_spec
from cnnviz.ui.base import current_language, error_text, t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.labels import model_label
from cnnviz.ui.widgets import bounded_slider

__all__ = ["COLUMNS", "CHART_MODES", "cached_summary", "meta_model", "pick_networks", "show_diagram", "show_network"]

COLUMNS = ("name", "kind", "output_shape", "params", "trainable", "macs", "formula", "receptive_field",
           "params_share", "macs_share")  # fmt: skip
CHART_MODES = ("layer", "stage")  # bars per layer (those with parameters or MACs), or per top-level stage
DEFAULTS = ("vgg16", "resnet18")  # first network, and the second when comparing
SIDES = (16, 512)  # input sides the page offers (pixels)


@st.cache_resource(show_spinner=False)
def meta_model(name: str) -> nn.Module:
    """Registry model ``name`` built on the meta device (shapes only, no weights): cheap for VGG-19 too."""
    with torch.device("meta"):
        return build(name)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_summary(name: str, input_size: tuple[int, int, int]) -> Summary:
    return summarize(meta_model(name), input_size)


@st.cache_data(show_spinner=False, max_entries=32)
def _diagram(name: str, input_size: tuple[int, int, int]) -> str:
    shapes = {row.name: row.output_shape for row in cached_summary(name, input_size).rows}
    return block_diagram(meta_model(name), input_size, title=model_label(name), shapes=shapes)


def pick_networks() -> list[tuple[str, tuple[int, int, int]]]:
    """One network (or two, to compare) and each one's input size; return [(name, (C, H, W)), ...]."""
    names = available_models()
    compare = st.toggle(t("architectures.compare"), value=True, key="arch_compare")
    cols = st.columns(2)
    picked = []
    for slot in range(2 if compare else 1):
        name = translated_choice("selectbox", t("architectures.network", n=slot + 1), names, key=f"arch_net_{slot}",
                                 default=DEFAULTS[slot], where=cols[slot], format_func=model_label)  # fmt: skip
        spec = get_spec(name)
        side = cols[slot].number_input(t("architectures.side"), *SIDES, spec.image_size, key=f"arch_side_{slot}_{name}",
                                       help=t("architectures.side_help", side=spec.image_size))  # fmt: skip
        picked.append((name, (spec.in_channels, int(side), int(side))))
    return picked


@st.cache_data(show_spinner=False, max_entries=32)
def _table(name: str, input_size: tuple[int, int, int], lang: str) -> pd.DataFrame:
    """The summary's rows with translated column names, shapes written 64×56×56 and shares in percent."""
    del lang  # part of the cache key: the column names are translated
    rows = []
    for row in cached_summary(name, input_size).rows:
        values = {c: getattr(row, c) for c in COLUMNS}
        values["output_shape"] = "×".join(map(str, row.output_shape or ())) or "—"
        values["params_share"] = round(100 * row.params_share, 2)
        values["macs_share"] = round(100 * row.macs_share, 2)
        rows.append({t(f"architectures.col.{c}"): v for c, v in values.items()})
    return pd.DataFrame(rows)


def _macs_text(macs: int) -> str:
    return f"{macs / 1e9:.2f} G" if macs >= 1e8 else f"{macs / 1e6:.2f} M"


def show_totals(name: str, summary: Summary, where: Any) -> None:
    """Totals as metrics and where the parameters and the compute sit, computed from the rows."""
    split = weight_split(summary)
    a, b, c = where.columns(3)
    a.metric(t("architectures.params"), f"{summary.total_params / 1e6:.2f} M", help=f"{summary.total_params:,}")
    b.metric(t("architectures.macs_short"), _macs_text(summary.total_macs), help=t("architectures.macs_help"))
    c.metric(t("architectures.fc_share"), f"{100 * split.fc_share:.1f} %")
    key = "architectures.split_fc" if split.fc_params > split.conv_params else "architectures.split_conv"
    ratio = split.fc_per_conv if split.fc_params > split.conv_params else 1 / max(split.fc_per_conv, 1e-12)
    where.info(t(key, model=model_label(name), fc=f"{split.fc_params:,}", fc_share=100 * split.fc_share,
                 conv=f"{split.conv_params:,}", ratio=ratio, conv_macs=100 * split.conv_mac_share))  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=32)
def _chart(name: str, input_size: tuple[int, int, int], mode: str, depth: int, lang: str) -> go.Figure:
    """Bars of parameters and MACs per layer (layers that have either) or per stage, on two y axes."""
    del lang  # part of the cache key: the axis titles are translated
    summary = cached_summary(name, input_size)
    if mode == "stage":
        bars = [(s.name, s.params, s.macs) for s in summary.stages(depth)]
    else:
        bars = [(r.name, r.params, r.macs) for r in summary.rows if r.params or r.macs]
    names = [b[0] for b in bars]
    fig = go.Figure([
        go.Bar(x=names, y=[b[1] for b in bars], name=t("architectures.params"), marker_color="#4c78a8"),
        go.Bar(x=names, y=[b[2] for b in bars], name=t("architectures.macs"), marker_color="#f58518", yaxis="y2"),
    ])  # fmt: skip
    fig.update_layout(barmode="group", height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      yaxis={"title": t("architectures.params")},
                      yaxis2={"title": t("architectures.macs"), "overlaying": "y", "side": "right"},
                      legend={"orientation": "h", "y": 1.12})  # fmt: skip
    return fig


def chart_settings() -> tuple[str, int]:
    """Bars per layer or per stage, and for stages how many parts of the layer names make one stage."""
    left, right = st.columns(2)
    mode = translated_choice("radio", t("architectures.chart_by"), CHART_MODES, key="arch_chart_by",
                             default="stage", where=left, horizontal=True,
                             format_func=lambda m: t(f"architectures.chart_by.{m}"))  # fmt: skip
    depth = 1
    if mode == "stage":
        depth = bounded_slider(t("architectures.stage_depth"), 1, 3, 1, key="arch_stage_depth", where=right,
                               help=t("architectures.stage_depth_help"))  # fmt: skip
    return mode, depth


def show_network(slot: int, name: str, input_size: tuple[int, int, int], where: Any, mode: str, depth: int) -> bool:
    """One network's totals, bar chart, per-layer table and CSV download, in the column ``where``.

    Returns False (after showing the message) when the input does not go through the network.
    """
    try:
        summary = cached_summary(name, input_size)
    except CnnvizError as err:
        where.error(error_text(err), icon="⚠️")
        return False
    where.subheader(f"{model_label(name)} · {'×'.join(map(str, input_size))}")
    show_totals(name, summary, where)
    lang = current_language()
    where.plotly_chart(_chart(name, input_size, mode, depth, lang), key=f"arch_chart_{slot}")
    where.dataframe(_table(name, input_size, lang), hide_index=True, key=f"arch_table_{slot}", height=320)
    file_name = f"{name}_{input_size[1]}x{input_size[2]}.csv"
    where.download_button(t("architectures.csv"), summary.to_csv(), file_name=file_name, mime="text/csv",
                          key=f"arch_csv_{slot}")  # fmt: skip
    return True


def show_diagram(slot: int, name: str, input_size: tuple[int, int, int], where: Any) -> None:
    """The network's block diagram (stages, inception branches, residual skips) in an expander (after show_network)."""
    with where.expander(t("architectures.diagram", model=model_label(name)), expanded=False):
        st.graphviz_chart(_diagram(name, input_size))
        st.caption(t("architectures.diagram_caption"))
