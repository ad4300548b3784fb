"""Live-training page: the session's runs side by side (validation curves on the same axes, their settings) and a
table of all runs, downloadable as CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from enum import Enum

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cnnviz.train import BUILT_MODEL, RunStatus, TrainConfig, flatten_config
from cnnviz.ui.base import t
from cnnviz.ui.labels import model_label
from cnnviz.ui.training import RUNS_KEY, RunRecord, run_model_label, shown_label

__all__ = ["CSV_FIELDS", "STATUSES", "compare_figure", "run_row", "runs_csv", "runs_section", "setting_rows"]

PICK_KEY = "train_runs_pick"
PICK_NEWEST_KEY = "train_runs_pick_newest"  # the newest run when the choice was last reset
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
CSV_FIELDS = ("run", "label", "model", "data", "optimizer", "learning_rate", "batch_size", "epochs", "epochs_done",
              "best_val_accuracy", "val_accuracy_std", "seconds", "status")  # fmt: skip
MAIN_SETTINGS = ("model", "dataset", "optimizer", "learning_rate", "batch_size", "epochs", "schedule")
HIGHLIGHT = "background-color: rgba(255, 200, 0, 0.35)"
STATUSES = (*(s.value for s in RunStatus), "failed")  # how a run ended (catalog runs.status.*)


def _best(record: RunRecord) -> tuple[float, float]:
    """The run's best validation score, and its spread: k-fold gives the folds' mean ± std; else (max, NaN)."""
    if record.cross_validation is not None:
        return record.cross_validation.mean, record.cross_validation.std
    scores = [e.val_accuracy for e in record.snapshot.epoch_stats if math.isfinite(e.val_accuracy)]
    return (max(scores) if scores else math.nan), math.nan


def _status(record: RunRecord) -> str:
    """How the run ended, as a catalog value: a RunStatus, or "failed"."""
    snap = record.snapshot
    return snap.status.value if snap.status is not None else "failed"


def run_row(record: RunRecord) -> dict[str, object]:
    """One run's row of the table, machine values (CSV_FIELDS): numbers as numbers, choices as their names."""
    c = record.config or (record.trained.config if record.trained else TrainConfig())
    best, spread = _best(record)
    return {
        "run": record.number, "label": record.label, "model": c.model, "data": record.dataset,
        "optimizer": c.optimizer.value, "learning_rate": c.learning_rate, "batch_size": c.batch_size,
        "epochs": c.epochs, "epochs_done": record.snapshot.epoch, "best_val_accuracy": best,
        "val_accuracy_std": spread, "seconds": round(record.snapshot.elapsed_s, 2), "status": _status(record),
    }  # fmt: skip


def runs_csv(records: Sequence[RunRecord]) -> bytes:
    """The table of runs as UTF-8 CSV with a header row (CSV_FIELDS); NaN is written as an empty field."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for record in records:
        row = run_row(record)
        writer.writerow({k: "" if isinstance(v, float) and math.isnan(v) else repr(v) if isinstance(v, float) else v
                         for k, v in row.items()})  # fmt: skip
    return out.getvalue().encode("utf-8")


def _table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """The table as shown: translated headers, the model's and status's names for people."""
    rows = []
    for record in records:
        row, c = run_row(record), record.config
        best, spread = row["best_val_accuracy"], row["val_accuracy_std"]
        score = "–" if math.isnan(best) else f"{best:.1%}" + ("" if math.isnan(spread) else f" ± {spread:.1%}")
        rows.append({
            t("runs.col.run"): f"#{record.number}", t("runs.col.model"): run_model_label(c) if c else row["model"],
            t("runs.col.data"): row["data"], t("runs.col.optimizer"): t(f"train.opt.{row['optimizer']}"),
            t("runs.col.lr"): f"{row['learning_rate']:g}", t("runs.col.batch"): row["batch_size"],
            t("runs.col.epochs"): f"{row['epochs_done']}/{row['epochs']}", t("runs.col.best"): score,
            t("runs.col.time"): f"{row['seconds']:.1f}", t("runs.col.status"): t(f"runs.status.{row['status']}"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def compare_figure(records: Sequence[RunRecord], *, metric: str) -> go.Figure:
    """Validation loss or accuracy per epoch of each run, one colour per run, solid lines on the same axes."""
    fig = go.Figure()
    for i, record in enumerate(records):
        epochs = record.snapshot.epoch_stats
        y = [e.val_loss if metric == "loss" else e.val_accuracy for e in epochs]
        fig.add_trace(go.Scatter(x=[e.epoch for e in epochs], y=y, mode="lines+markers", name=f"#{record.number}",
                                 line={"color": COLOURS[i % len(COLOURS)], "dash": "solid", "width": 2},
                                 hovertext=shown_label(record)))  # fmt: skip
    title = t("runs.val_loss") if metric == "loss" else t("runs.val_accuracy")
    fig.update_layout(title=title, height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend_title_text="")
    fig.update_xaxes(title_text=t("runs.epoch"), dtick=1)
    if metric == "accuracy":
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    else:
        losses = [v for r in records for e in r.snapshot.epoch_stats for v in (e.val_loss,) if math.isfinite(v)]
        if losses and max(losses) > 20 * max(min(losses), 1e-12):
            fig.update_yaxes(type="log")
    return fig


CHOICE_NAMES = {  # settings whose values have names for people in the catalogs
    "optimizer": lambda v: t(f"train.opt.{v}"),
    "schedule": lambda v: t(f"train.sched.{v}"),
    "init": lambda v: t(f"train.init.{v}"),
    "precision": lambda v: t(f"train.prec.{v}"),
    "model": lambda v: t("train.model_builder") if v == BUILT_MODEL else model_label(v),
}


def _setting_value(name: str, value: object) -> str:
    """A setting's value for people: choices and models by their names, numbers short."""
    if name in CHOICE_NAMES:
        return CHOICE_NAMES[name](value.value if isinstance(value, Enum) else value)
    if isinstance(value, Enum):
        return str(value.value)
    if name == "architecture":
        return t("runs.rows", n=len(value)) if value else "–"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def setting_rows(configs: Sequence[TrainConfig]) -> list[tuple[str, list[str], bool]]:
    """(setting, its value in each config, whether the values differ): the main settings and every one that differs."""
    flats = [flatten_config(c) for c in configs]
    rows = []
    for name in flats[0]:
        values = [_setting_value(name, f[name]) for f in flats]
        differs = len(set(values)) > 1
        if differs or name in MAIN_SETTINGS or (name == "architecture" and configs[0].model == BUILT_MODEL):
            rows.append((name, values, differs))
    return sorted(rows, key=lambda r: not r[2])  # the differing settings first


def _settings_table(records: Sequence[RunRecord]) -> None:
    rows = setting_rows([r.config for r in records])
    frame = pd.DataFrame([[t(f"errors.setting.{name}"), *values] for name, values, _ in rows],
                         columns=[t("runs.setting"), *(f"#{r.number}" for r in records)])  # fmt: skip
    differs = [d for _, _, d in rows]
    styled = frame.style.apply(lambda row: [HIGHLIGHT if differs[row.name] else ""] * len(row), axis=1)
    st.dataframe(styled, hide_index=True, width="stretch")
    st.caption(t("runs.differ_note", n=sum(differs)) if any(differs) else t("runs.no_differences"))


def runs_section() -> None:
    """Every finished run of the session: a table (CSV download) and two or more chosen runs side by side."""
    runs: list[RunRecord] = [r for r in st.session_state.get(RUNS_KEY, []) if r.config is not None]
    if not runs:
        return
    st.subheader(t("runs.title"))
    st.dataframe(_table(runs), hide_index=True, width="stretch")
    st.download_button(t("runs.csv"), runs_csv(runs), file_name="cnnviz-runs.csv", mime="text/csv",
                       key="train_runs_csv", on_click="ignore")  # fmt: skip
    if len(runs) < 2:
        st.caption(t("runs.one_run"))
        return
    numbers = [r.number for r in runs]
    if st.session_state.get(PICK_NEWEST_KEY) != numbers[-1]:  # a new run: compare it with the one before
        st.session_state[PICK_KEY], st.session_state[PICK_NEWEST_KEY] = numbers[-2:], numbers[-1]
    else:  # runs dropped from the session leave the choice
        st.session_state[PICK_KEY] = [n for n in st.session_state.get(PICK_KEY, []) if n in numbers]
    by_number = {r.number: r for r in runs}
    picked = st.multiselect(t("runs.pick"), numbers, key=PICK_KEY, format_func=lambda n: shown_label(by_number[n]))
    chosen = [by_number[n] for n in picked]
    if len(chosen) < 2:
        st.info(t("runs.pick_two"))
        return
    left, right = st.columns(2)
    left.plotly_chart(compare_figure(chosen, metric="loss"), key="train_runs_loss")
    right.plotly_chart(compare_figure(chosen, metric="accuracy"), key="train_runs_accuracy")
    _settings_table(chosen)

