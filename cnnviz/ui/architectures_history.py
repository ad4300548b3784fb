"""Architectures page: the ImageNet winners (published figures, cited) and our notes' AlexNet claims, computed."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from cnnviz.arch import (
    NOTES_ALEXNET,
    SOURCES,
    WINNERS,
    ClaimCheck,
    alexnet_checks,
    align_units,
    computed_parameters,
    layer_units,
    weight_split,
)
from cnnviz.ui.architectures import cached_summary
from cnnviz.ui.base import current_language, t
from cnnviz.ui.labels import model_label

__all__ = ["ALEXNETS", "show_claims", "show_timeline"]

ALEXNETS = ("alexnet_original", "alexnet")  # the paper's two-GPU network and torchvision's one-GPU variant


@st.cache_data(show_spinner=False)
def _computed_params() -> dict[str, int | None]:
    return {m.key: computed_parameters(m) for m in WINNERS}


def _millions(value: float | int | None) -> str:
    return "—" if value is None else f"{value / 1e6:.1f} M" if value > 1e4 else f"{value:.1f} M"


@st.cache_data(show_spinner=False)
def _timeline_figure(lang: str) -> go.Figure:
    del lang  # part of the cache key: the axis title is translated
    labels = [f"{m.year} {m.name}" for m in WINNERS]
    fig = go.Figure(go.Bar(x=labels, y=[m.top5_error for m in WINNERS], text=[f"{m.top5_error} %" for m in WINNERS],
                           marker_color=["#bbbbbb" if m.depth is None else "#4c78a8" for m in WINNERS]))  # fmt: skip
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 20, "b": 10},
                      yaxis_title=t("architectures.history.top5"))  # fmt: skip
    return fig


def show_timeline() -> None:
    """ILSVRC classification results by year with depth and parameters; each row's sources listed below."""
    st.plotly_chart(_timeline_figure(current_language()), key="arch_timeline_chart")
    numbers = {key: i for i, key in enumerate(SOURCES, start=1)}
    computed = _computed_params()
    rows = [{t("architectures.history.year"): m.year, t("architectures.history.entry"): m.name,
             t("architectures.history.place"): m.rank, t("architectures.history.top5"): m.top5_error,
             t("architectures.history.depth"): "—" if m.depth is None else str(m.depth),
             t("architectures.history.published"): _millions(m.params),
             t("architectures.history.computed"): _millions(computed[m.key]),
             t("architectures.history.note"): t(f"architectures.winner.{m.key}"),
             t("architectures.history.sources"): " ".join(f"[{numbers[s]}]" for s in m.sources)}
            for m in WINNERS]  # fmt: skip
    st.dataframe(rows, hide_index=True, key="arch_timeline_table")
    st.caption(t("architectures.history.computed_help"))
    st.markdown("\n".join(f"{i}. {SOURCES[key]}" for key, i in numbers.items()))


def _value_text(value: object) -> str:
    if isinstance(value, tuple):
        return "-".join(f"{v:,}" for v in value)
    if isinstance(value, float):
        return f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _claim_rows(checks: dict[str, list[ClaimCheck]]) -> list[dict[str, str]]:
    rows = []
    for i, key in enumerate(NOTES_ALEXNET):
        if key == "units":
            continue  # a table of its own, layer by layer
        row = {t("architectures.claims.claim"): t(f"architectures.claim.{key}"),
               t("architectures.claims.notes"): _value_text(NOTES_ALEXNET[key])}  # fmt: skip
        for name, results in checks.items():
            check = results[i]
            row[model_label(name)] = f"{'✓' if check.agrees else '✗'} {_value_text(check.computed)}"
        rows.append(row)
    return rows


def _units_table(summaries: dict) -> None:
    """Units per layer: the notes' numbers placed under the paper network's layers, and both networks computed."""
    units = {name: layer_units(summary) for name, summary in summaries.items()}
    kinds = [r.kind for r in summaries["alexnet_original"].rows if r.kind in ("Conv2d", "Linear")]
    layers = [t("architectures.claims.layer_conv" if kind == "Conv2d" else "architectures.claims.layer_fc", n=i)
              for i, kind in enumerate(kinds, start=1)]  # fmt: skip
    notes = align_units(NOTES_ALEXNET["units"], units["alexnet_original"])
    rows = [{t("architectures.claims.source"): t("architectures.claims.notes"),
             **{layer: "—" if v is None else f"{v:,}" for layer, v in zip(layers, notes, strict=True)}}]
    for name, values in units.items():
        rows.append({t("architectures.claims.source"): model_label(name),
                     **{layer: f"{v:,}" for layer, v in zip(layers, values, strict=True)}})  # fmt: skip
    st.markdown(t("architectures.claims.units_title"))
    st.dataframe(rows, hide_index=True, key="arch_units_table")


def show_claims() -> None:
    """Each AlexNet claim of our notes beside the numbers of the paper's network and torchvision's variant."""
    summaries = {name: cached_summary(name, (3, 227, 227) if name == "alexnet_original" else (3, 224, 224))
                 for name in ALEXNETS}  # fmt: skip
    checks = {name: alexnet_checks(summary) for name, summary in summaries.items()}
    st.dataframe(_claim_rows(checks), hide_index=True, key="arch_claims_table")
    _units_table(summaries)
    original, variant = (weight_split(s) for s in summaries.values())
    st.markdown(t("architectures.claims.explained", total=f"{summaries['alexnet_original'].total_params:,}",
                  conv=f"{original.conv_params:,}", fc=f"{original.fc_params:,}", ratio=original.fc_per_conv,
                  conv_tv=f"{variant.conv_params:,}", ratio_tv=variant.fc_per_conv,
                  total_tv=f"{summaries['alexnet'].total_params:,}"))  # fmt: skip
