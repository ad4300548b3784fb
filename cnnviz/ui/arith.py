"""Convolution-arithmetic page: one layer (controls, results, the sliding window) and a stack of layers.

Each section is a fragment, so a control reruns only its own section; the sliding window (its step
slider and the animation) is a fragment inside the layer's. Everything about the layer is computed
once per run, by :func:`cnnviz.conv.layer_example`, and handed to the drawing code.
``caption_size_formulas`` is also used by the image-filters and pooling pages.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from cnnviz.conv import (
    STACK_PRESETS,
    DiagramLabels,
    Formula,
    LayerExample,
    LayerKind,
    LayerReport,
    LayerSpec,
    StepDetail,
    diagram_svg,
    explain_step,
    layer_example,
    layer_from_row,
    layer_to_row,
    plane_values,
    run_scratch,
    walk_stack,
)
from cnnviz.conv.diagram import MAX_TEXT_CELLS
from cnnviz.ui.base import error_text, t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "caption_size_formulas",
    "layer_controls",
    "layer_section",
    "show_arith_error",
    "show_results",
    "show_scratch_check",
    "show_sliding_window",
    "show_stack",
    "stack_controls",
    "stack_section",
]

PADDING_MODES = ("number", "same", "valid")  # how the padding is given
DIAGRAM_TEXTS = ("input", "padding", "inserted", "outside", "window", "done", "selected", "row", "col")
PLAY_SECONDS = 1.0  # one step of the animation
SHOWN_CELLS = 36  # input cells listed for one step


def caption_size_formulas(area: str, height: Formula, width: Formula) -> None:
    """Write the output-size formulas of both dimensions, with the user's numbers, as two captions."""
    st.caption(t(f"{area}.formula_h", formula=height.substituted))
    st.caption(t(f"{area}.formula_w", formula=width.substituted))


def show_arith_error(err: Exception) -> None:
    """Say that PyTorch rejects the settings, with the reason; the page goes on below."""
    st.error(t("arith.error", message=error_text(err)), icon="⚠️")


@st.fragment
def layer_section() -> None:
    """One layer: controls → everything computed once → results, the sliding window, the NumPy check (a fragment)."""
    spec, in_shape = layer_controls()
    try:
        example = layer_example(spec, in_shape)
    except ValueError as err:
        show_arith_error(err)  # no stop: the stack below still works
        return
    show_results(example.report)
    show_sliding_window(example)
    show_scratch_check(example)


@st.fragment
def stack_section() -> None:
    """A stack of layers from a preset or the learner's table, layer by layer (a fragment)."""
    rows, in_shape = stack_controls()
    try:
        reports = walk_stack([layer_from_row(row) for row in rows], in_shape)
    except ValueError as err:
        show_arith_error(err)
        return
    show_stack(reports)


def _number(where: Any, key: str, label: str, low: int, high: int, default: int, **kwargs: Any) -> int:
    """A whole-number input; ``low`` is 0 even where 0 is impossible, so the core can say why."""
    return int(where.number_input(t(label), low, high, default, key=key, **kwargs))


def layer_controls() -> tuple[LayerSpec, tuple[int, int, int]]:
    """Draw the controls; return the layer and the (C, H, W) input (impossible values included)."""
    kinds = [k.value for k in LayerKind]
    mode = LayerKind(
        translated_choice(
            "radio", t("arith.mode"), kinds, key="arith_mode", default=kinds[0],
            format_func=lambda k: t(f"arith.mode.{k}"), horizontal=True,
        )
    )  # fmt: skip
    conv = mode in (LayerKind.CONV, LayerKind.CONV_TRANSPOSE)
    c1, c2, c3, c4 = st.columns(4)
    height = _number(c1, "arith_height", "arith.height", 0, 256, 7)
    width = _number(c1, "arith_width", "arith.width", 0, 256, 7)
    channels = _number(c2, "arith_channels", "arith.channels", 0, 64, 1)
    filters = _number(c2, "arith_filters", "arith.filters", 0, 512, 1, disabled=not conv)
    kernel = _number(c3, "arith_kernel", "arith.kernel", 0, 64, 3)
    stride = _number(c3, "arith_stride", "arith.stride", 0, 32, 1)
    padding_mode = "number"
    if mode is LayerKind.CONV:
        padding_mode = translated_choice(
            "selectbox", t("arith.padding_mode"), PADDING_MODES, key="arith_padding_mode", default=PADDING_MODES[0],
            where=c4, format_func=lambda m: t(f"arith.padding_mode.{m}"),
        )  # fmt: skip
    padding = _number(c4, "arith_padding", "arith.padding", 0, 64, 0, disabled=padding_mode != "number")
    dilation = _number(c4, "arith_dilation", "arith.dilation", 0, 16, 1, disabled=mode is LayerKind.AVG_POOL)
    bias, ceil_mode, output_padding = _extra_controls(mode)
    spec = LayerSpec(
        kind=mode,
        out_channels=filters if conv else None,
        kernel_size=kernel,
        stride=stride,
        padding=padding if padding_mode == "number" else padding_mode,
        dilation=dilation if mode is not LayerKind.AVG_POOL else 1,
        bias=bias,
        ceil_mode=ceil_mode if not conv else False,
        output_padding=output_padding if mode is LayerKind.CONV_TRANSPOSE else 0,
    )
    return spec, (channels, height, width)


def _extra_controls(mode: LayerKind) -> tuple[bool, bool, int]:
    """The row of settings only some layer kinds have; return (bias, ceil_mode, output_padding)."""
    extra = st.columns(3)
    bias = extra[0].toggle(
        t("arith.bias"), True, key="arith_bias", disabled=mode not in (LayerKind.CONV, LayerKind.CONV_TRANSPOSE)
    )
    ceil_mode = extra[1].toggle(
        t("arith.ceil_mode"),
        False,
        key="arith_ceil_mode",
        disabled=mode not in (LayerKind.MAX_POOL, LayerKind.AVG_POOL),
    )
    transposed = mode is LayerKind.CONV_TRANSPOSE
    output_padding = _number(extra[2], "arith_output_padding", "arith.output_padding", 0, 16, 0,
                             disabled=not transposed)  # fmt: skip
    return bias, ceil_mode, output_padding


def show_results(report: LayerReport) -> None:
    """Output shape, the formula with the user's numbers, parameters and MACs."""
    with st.container(key="arith_results"):
        _, out_h, out_w = report.out_shape
        m1, m2, m3 = st.columns(3)
        m1.metric(t("arith.out_size"), f"{out_h}×{out_w}")
        m2.metric(t("arith.out_shape"), "×".join(map(str, report.out_shape)))
        m3.metric(t("arith.params"), f"{report.params:,}")
        height, width = report.size_formulas
        sizes = [height.substituted] if height == width else [
            f"{t('arith.out_h')}: {height.substituted}", f"{t('arith.out_w')}: {width.substituted}"
        ]  # fmt: skip
        parts = [t("arith.formula"), _fenced(height.symbolic, *sizes)]
        counts = (("arith.params_formula", report.param_formula), ("arith.macs_formula", report.macs_formula))
        for title, formula in counts:
            if formula is not None:
                parts += [t(title), _fenced(formula.symbolic, formula.substituted)]
        st.markdown("\n\n".join(parts))  # one element for all the formulas: less to send and draw at each change
        if report.param_formula is None:
            st.caption(t("arith.no_params"))


def _fenced(*lines: str) -> str:
    """Lines as a Markdown code block."""
    return "```\n" + "\n".join(lines) + "\n```"


def show_sliding_window(example: LayerExample) -> None:
    """The header, the play switch and the sliding window (its own fragment, ticking while playing)."""
    st.subheader(t("arith.diagram.header"))
    if example.plane is None:
        st.info(t("arith.diagram.too_big"))
        return
    st.toggle(t("arith.play"), key="arith_play", on_change=_restart_timers)
    playing = bool(st.session_state.get("arith_play"))
    st.fragment(run_every=PLAY_SECONDS if playing else None)(_sliding_window)(example)


def _restart_timers() -> None:
    """Play or pause: a full rerun, so the browser drops the animation's timer or starts it."""
    st.rerun()


def _diagram_labels(kind: LayerKind) -> DiagramLabels:
    plane_key = "arith.diagram.plane_transposed" if kind is LayerKind.CONV_TRANSPOSE else "arith.diagram.plane"
    return DiagramLabels(t(plane_key), t("arith.diagram.output"), *(t(f"arith.diagram.{n}") for n in DIAGRAM_TEXTS))


def _step_slider(steps: int) -> int:
    """The window-position slider (advanced one step per run while playing); return the step."""
    if st.session_state.get("arith_play") and steps > 1:
        st.session_state["arith_step"] = (int(st.session_state.get("arith_step", 0)) + 1) % steps
    return bounded_slider(t("arith.step"), 0, steps - 1, 0, key="arith_step")


def _sliding_window(example: LayerExample) -> None:
    """The step slider, the plane with the window beside the output grid, and the numbers of that step."""
    plane, kind = example.plane, example.spec.kind
    step = _step_slider(plane.steps)
    detail = explain_step(example, step)
    small = max(plane.kinds.shape) <= MAX_TEXT_CELLS
    values = plane_values(plane, example.tensors.x[0, :1].numpy(), kind)[0] if small else None  # (Hp, Wp)
    output = None if example.output is None else example.output[0, 0]  # (OH, OW), filter/channel 0
    svg = diagram_svg(plane, step, _diagram_labels(kind), values=values, out_values=output if small else None)
    with st.container(key="arith_diagram"):
        st.markdown(f"<div>{svg}</div>", unsafe_allow_html=True)
    with st.container(key="arith_step_detail"):
        _show_step(detail, output)


def _show_step(detail: StepDetail, output: Any) -> None:
    """Which input cells one output cell reads, and its sum written out beside PyTorch's value."""
    row, col = detail.out_index
    count = len(detail.input_cells)
    cells = ", ".join(f"({r}, {c})" for r, c in detail.input_cells[:SHOWN_CELLS])
    cells += " …" if count > SHOWN_CELLS else ""
    if count:
        st.markdown(t("arith.step_cells", row=row, col=col, n=count, cells=cells))
    else:
        st.markdown(t("arith.step_no_cells", row=row, col=col))
    if detail.expression is None:
        st.caption(t("arith.too_big"))
        return
    st.code(detail.expression, language=None)
    if output is not None:
        value = output[row, col]
        st.caption(t("arith.torch_value", value=f"−{abs(value):g}" if value < 0 else f"{value:g}"))


def show_scratch_check(example: LayerExample) -> None:
    """On request, compare the NumPy reference with PyTorch on this layer (skipped when too big)."""
    if not st.toggle(t("arith.compare"), key="arith_compare"):
        return
    if example.output is None:
        st.caption(t("arith.compare_too_big"))
        return
    run = run_scratch(example)
    st.success(t("arith.compare_result", diff=f"{run.max_abs_diff:.2e}"))


def stack_controls() -> tuple[list[dict[str, Any]], tuple[int, int, int]]:
    """Header, preset choice, input size and the editable layer table; return its rows and the (C, H, W) input."""
    st.header(t("arith.stack.header"))
    st.caption(t("arith.stack.caption"))
    keys = [p.key for p in STACK_PRESETS]
    key = translated_choice(
        "selectbox", t("arith.stack.preset"), keys, key="arith_preset", default=keys[0],
        format_func=lambda k: t(f"arith.preset.{k}"),
    )  # fmt: skip
    preset = STACK_PRESETS[keys.index(key)]
    c, h, _ = preset.in_shape
    size = st.number_input(t("arith.stack.size"), 0, 512, h, key=f"arith_stack_size_{key}")
    rows = pd.DataFrame([layer_to_row(spec) for spec in preset.layers])
    kinds = [k.value for k in LayerKind if k is not LayerKind.CONV_TRANSPOSE]
    whole = {"min_value": 0, "step": 1}  # 0 is impossible, but the learner may type it and read why
    table = st.data_editor(
        rows,
        num_rows="dynamic",
        hide_index=True,
        key=f"arith_stack_{key}",
        column_config={
            "kind": st.column_config.SelectboxColumn(
                t("arith.stack.kind"), options=kinds, required=True, format_func=lambda k: t(f"arith.mode.{k}")
            ),
            "out_channels": st.column_config.NumberColumn(t("arith.stack.out_channels"), **whole),
            "kernel_size": st.column_config.NumberColumn(t("arith.kernel"), **whole),
            "stride": st.column_config.NumberColumn(t("arith.stride"), **whole),
            "padding": st.column_config.TextColumn(t("arith.padding")),
            "dilation": st.column_config.NumberColumn(t("arith.dilation"), **whole),
            "bias": st.column_config.CheckboxColumn(t("arith.bias")),
        },
    )
    return table.to_dict("records"), (c, int(size), int(size))


def show_stack(reports: list[LayerReport]) -> None:
    """One table row per layer: shapes, parameters, MACs, receptive field; then the totals."""
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("arith.stack.layer"): f"{i} · {t(f'arith.mode.{r.spec.kind.value}')}",
                    t("arith.stack.output"): "×".join(map(str, r.out_shape)),
                    t("arith.params"): r.params,
                    t("arith.stack.macs"): r.macs,
                    t("arith.stack.rf"): f"{r.receptive_field[0]}×{r.receptive_field[1]}",
                    t("arith.stack.jump"): r.jump[0],
                    t("arith.stack.start"): r.start[0],
                }
                for i, r in enumerate(reports, start=1)
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    total = sum(r.params for r in reports)
    rf = reports[-1].receptive_field[0] if reports else 1
    st.markdown(t("arith.stack.total", n=total, rf=rf))
