"""Network-builder page: an editable table of layers, each row planned beside it, the code export and Live training.

The table the learner edits lives in a keyed ``st.data_editor`` over a base table that stays fixed
while the editor is on screen (changing it would reset the edits). The latest edited rows are kept
under :data:`SAVED_KEY` (one table per example), so a visit to another page and back keeps them.
"Send to Live training" writes the rows to ``st.session_state["builder_rows"]`` (:data:`ROWS_KEY`).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from cnnviz.arch import (
    BUILDER_COLUMNS,
    BUILDER_PRESETS,
    DEFAULT_BUILDER_PRESET,
    ROW_STATUSES,
    SKIPS,
    BuilderKind,
    NetworkPlan,
    PlannedRow,
    clean_rows,
    export_code,
    exported_classes,
    preset_rows,
    row_fields,
    rows_from_json,
    shape_text,
)
from cnnviz.errors import CnnvizError, ConfigError
from cnnviz.ui.base import PAGES, error_text, page_link, t
from cnnviz.ui.choices import translated_choice

__all__ = [
    "ROWS_KEY",
    "builder_inputs",
    "builder_table",
    "kinds_help",
    "show_exports",
    "show_plan",
    "show_problems",
    "show_totals",
]

ROWS_KEY = "builder_rows"  # what Live training reads: a list of JSON-able row dicts
SAVED_KEY = "network_builder_saved"  # example key → the latest edited rows
UPLOAD_KEY = "network_builder_upload"  # a table saved as JSON
LOADED_KEY = "network_builder_loaded"  # the last upload: its row count, or the error that refused it
SIZE_NAMES = ("channels", "height", "width")
COLUMN_WIDTHS = {"kind": 112, "out": 54, "kernel_size": 68, "stride": 62, "padding": 72, "p": 44, "skip": 84}  # px
PLAN_WIDTHS = {"layer": 34, "output": 76, "params": 68, "macs": 80, "field": 48, "check": 94}  # px: both fit 1400 px
PLAN_COLUMNS = ("layer", "output", "params", "macs", "field", "check")  # the planned table's columns
STATUS_MARK = dict(zip(ROW_STATUSES, ("✅", "⚠️", "…"), strict=True))


def _editor_key(preset: str) -> str:
    return f"network_builder_table_{preset}"


def _base_rows(preset: str) -> list[dict]:
    """The table the editor starts from: the latest edits when the editor is new (first visit, or back from a page)."""
    base_key = f"network_builder_base_{preset}"
    if _editor_key(preset) not in st.session_state or base_key not in st.session_state:
        st.session_state[base_key] = st.session_state.get(SAVED_KEY, {}).get(preset) or preset_rows(preset)
    return st.session_state[base_key]


def _reset(preset: str) -> None:
    """Back to the example's own table (a callback: runs before the editor is drawn again)."""
    st.session_state.get(SAVED_KEY, {}).pop(preset, None)
    st.session_state.pop(_editor_key(preset), None)
    st.session_state.pop(f"network_builder_base_{preset}", None)


def _column_config() -> dict[str, Any]:
    whole = {"min_value": 0, "step": 1}  # 0 is impossible, but the learner may type it and read why
    kw = {name: {"label": t(f"network_builder.column.{name}"), "help": t(f"network_builder.help.{name}"),
                 "width": COLUMN_WIDTHS[name]} for name in BUILDER_COLUMNS}  # fmt: skip
    column = st.column_config
    return {
        "kind": column.SelectboxColumn(options=[k.value for k in BuilderKind], required=True,
                                       format_func=lambda k: t(f"errors.builder_kind.{k}"), **kw["kind"]),
        "out": column.NumberColumn(**whole, **kw["out"]),
        "kernel_size": column.NumberColumn(**whole, **kw["kernel_size"]),
        "stride": column.NumberColumn(**whole, **kw["stride"]),
        "padding": column.TextColumn(**kw["padding"]),
        "p": column.NumberColumn(step=0.05, format="%.2f", **kw["p"]),
        "skip": column.SelectboxColumn(options=list(SKIPS), format_func=lambda s: t(f"network_builder.skip.{s}"),
                                       **kw["skip"]),
    }  # fmt: skip


def _table_height(rows: int) -> int:
    """Pixels for a header, ``rows`` rows and the editor's "add row" line (35 px each), fixed per table."""
    return 35 * (rows + 2) + 3


def builder_inputs() -> tuple[str, tuple[int, int, int]]:
    """The example, the input size and a reset button; return (example key, the (C, H, W) input)."""
    keys = [p.key for p in BUILDER_PRESETS]
    top = st.columns([2, 1, 1, 1, 1], vertical_alignment="bottom")
    preset = translated_choice(
        "selectbox", t("network_builder.preset"), keys, key="network_builder_preset", default=DEFAULT_BUILDER_PRESET,
        where=top[0], format_func=lambda k: t(f"network_builder.preset.{k}"),
    )  # fmt: skip
    default = next(p.input_size for p in BUILDER_PRESETS if p.key == preset)
    size = tuple(
        int(where.number_input(t(f"network_builder.size.{name}"), 0, 1024, value,
                               key=f"network_builder_{name}_{preset}"))
        for where, name, value in zip(top[1:4], SIZE_NAMES, default, strict=True)
    )  # fmt: skip
    top[4].button(t("network_builder.reset"), key="network_builder_reset", on_click=_reset, args=(preset,))
    with st.expander(t("network_builder.load")):
        st.file_uploader(t("network_builder.load_file"), type=["json"], key=UPLOAD_KEY, on_change=_load, args=(preset,))
        result = st.session_state.get(LOADED_KEY)
        if isinstance(result, CnnvizError):
            st.error(error_text(result), icon="⚠️")
        elif result is not None:
            st.success(t("network_builder.loaded", n=result))
    return preset, size  # type: ignore[return-value]


def _load(preset: str) -> None:
    """Put an uploaded table in place of this example's (a callback: runs before the editor is drawn again)."""
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is None:
        st.session_state.pop(LOADED_KEY, None)
        return
    try:
        rows = rows_from_json(upload.getvalue())
    except CnnvizError as err:
        st.session_state[LOADED_KEY] = err
        return
    _reset(preset)
    st.session_state.setdefault(SAVED_KEY, {})[preset] = rows
    st.session_state[LOADED_KEY] = len(rows)


def builder_table(preset: str, where: Any = st) -> tuple[list[dict], int]:
    """The editable table of layers; return its rows (JSON-able dicts, impossible values kept) and its height."""
    where.markdown(f"**{t('network_builder.table')}**")
    base = _base_rows(preset)
    edited = where.data_editor(
        pd.DataFrame([{**r, "padding": None if r["padding"] is None else str(r["padding"])} for r in clean_rows(base)],
                     columns=list(BUILDER_COLUMNS)),  # padding is text ("1", "same"), whatever a loaded file held
        num_rows="dynamic", hide_index=True, key=_editor_key(preset), column_config=_column_config(),
        width="stretch", height=_table_height(len(base)),  # fixed while the editor lives: a change would reset it
    )  # fmt: skip
    rows = clean_rows(edited.to_dict("records"))
    st.session_state.setdefault(SAVED_KEY, {})[preset] = rows
    return rows, _table_height(len(base))


def _kind_label(kind: str) -> str:
    text = kind.strip().lower()
    return t(f"errors.builder_kind.{text}") if text in [k.value for k in BuilderKind] else kind or "—"


def _check(row: PlannedRow) -> str:
    return f"{STATUS_MARK[row.status]} {t(f'network_builder.status.{row.status}')}"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


@st.cache_data(max_entries=64, show_spinner=False)
def _fields(rows_json: str, size: tuple[int, int, int]) -> list[int | None]:
    """Each computed row's receptive field (cnnviz.arch.row_fields, on the meta device); Nones if it cannot tell."""
    rows = json.loads(rows_json)
    try:
        return row_fields(rows, size)
    except ConfigError:  # e.g. more parameters than build_network allows: the other columns still stand
        return [None] * len(rows)


def _plan_frame(plan: NetworkPlan, rows: list[dict]) -> pd.DataFrame:
    """One line per row: the layer, its output shape, parameters, MACs, receptive field and whether it can be built."""
    computed = sum(r.status == "ok" for r in plan.rows)  # the rows above the impossible one
    fields = _fields(json.dumps(rows[:computed]), plan.in_shape) + [None] * (len(rows) - computed)
    return pd.DataFrame(
        [
            {
                t("network_builder.col.layer"): r.number,
                t("network_builder.col.output"): "—" if r.out_shape is None else shape_text(r.out_shape),
                t("network_builder.col.params"): _count(r.params),
                t("network_builder.col.macs"): _count(r.macs),
                t("network_builder.col.field"): "—" if field is None else f"{field}×{field}",
                t("network_builder.col.check"): _check(r),
            }
            for r, field in zip(plan.rows, fields, strict=True)
        ],
        columns=[t(f"network_builder.col.{c}") for c in PLAN_COLUMNS],
    )


def _row_style(plan: NetworkPlan):
    colours = {"ok": "", "error": "background-color: rgba(255, 43, 43, 0.16)", "skipped": "color: #8a8a8a"}

    def style(line: pd.Series) -> list[str]:
        return [colours[plan.rows[line.name].status]] * len(line)

    return style


def show_plan(plan: NetworkPlan, rows: list[dict], where: Any = st, *, height: int | None = None) -> None:
    """The planned twin of the table: each row's output shape, parameters, MACs and check, row for row."""
    where.markdown(f"**{t('network_builder.planned', shape=shape_text(plan.in_shape))}**")
    frame = _plan_frame(plan, rows)
    with where.container(key="network_builder_plan"):
        right = ("layer", "params", "macs")  # numbers (written "1,234", or "—" when not computed) align right
        config = {
            t(f"network_builder.col.{c}"): st.column_config.Column(width=w, alignment="right" if c in right else None)
            for c, w in PLAN_WIDTHS.items()
        }
        styled = frame.style.apply(_row_style(plan), axis=1)
        st.dataframe(styled, hide_index=True, width="stretch", column_config=config, height=height or "auto")


def show_problems(plan: NetworkPlan) -> None:
    """Each impossible row's reason and what to change, in full; a note on the rows not computed."""
    with st.container(key="network_builder_problems"):
        for row in plan.rows:
            if row.error is not None:
                st.error(t("network_builder.row_error", number=row.number, kind=_kind_label(row.kind),
                           shape=shape_text(row.in_shape), message=error_text(row.error)), icon="⚠️")  # fmt: skip
        skipped = sum(r.status == "skipped" for r in plan.rows)
        if skipped:
            st.caption(t("network_builder.skipped_note", n=skipped))


def show_totals(plan: NetworkPlan) -> None:
    """The network's output shape, parameters and MACs (of the rows computed, when one is impossible)."""
    with st.container(key="network_builder_totals"):
        m = st.columns(3)
        out = plan.out_shape
        m[0].metric(t("network_builder.total_output"), "—" if out is None else shape_text(out))
        m[1].metric(t("network_builder.total_params"), f"{plan.total_params:,}")
        m[2].metric(t("network_builder.total_macs"), f"{plan.total_macs:,}")
        if not plan.ok:
            st.caption(t("network_builder.partial_totals"))
        elif out is not None and len(out) == 3:
            st.caption(t("network_builder.no_head", shape=shape_text(out)))
        st.caption(t("network_builder.field_note"))


def _send(rows: list[dict]) -> None:
    st.session_state[ROWS_KEY] = json.loads(json.dumps(rows))  # a copy, as plain JSON values


def show_exports(rows: list[dict], size: tuple[int, int, int], plan: NetworkPlan) -> None:
    """Download the network as Python (and the table as JSON); send it to Live training."""
    st.subheader(t("network_builder.export"))
    if not plan.ok:
        st.info(t("network_builder.fix_first"))
        return
    code = export_code(rows, size)
    buttons = st.columns(3)
    buttons[0].download_button(t("network_builder.download_py"), code, file_name="built_network.py",
                               mime="text/x-python", key="network_builder_download_py")  # fmt: skip
    buttons[1].download_button(t("network_builder.download_json"), json.dumps(rows, indent=1),
                               file_name="built_network.json", mime="application/json",
                               key="network_builder_download_json")  # fmt: skip
    buttons[2].button(t("network_builder.send"), key="network_builder_send", on_click=_send, args=(rows,),
                      type="primary")  # fmt: skip
    st.caption(t("network_builder.code_note", n=exported_classes(rows)))
    if st.session_state.get(ROWS_KEY) == rows:
        with st.container(key="network_builder_sent"):
            st.success(t("network_builder.sent", n=len(rows)))
            page_link(next(p for p in PAGES if p.url_path == "live_training"))
    with st.expander(t("network_builder.code")):
        st.code(code, language="python")


def kinds_help() -> None:
    """What each kind of layer does and which cells of its row it reads."""
    with st.expander(t("network_builder.kinds_help")):
        st.markdown("\n".join(f"- **{_kind_label(k.value)}**: {t(f'network_builder.kind_help.{k.value}')}"
                              for k in BuilderKind))  # fmt: skip
