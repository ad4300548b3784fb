"""Convolution-arithmetic page widgets: layer controls, formulas, the sliding window, the layer stack.

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
    LayerKind,
    LayerReport,
    LayerSpec,
    build_plane,
    diagram_figure,
    example_output,
    example_run,
    example_tensors,
    layer_to_row,
    plane_values,
    step_detail,
)
from cnnviz.conv.diagram import MAX_TEXT_CELLS
from cnnviz.ui.base import error_text, t

__all__ = [
    "caption_size_formulas",
    "layer_controls",
    "show_arith_error",
    "show_diagram",
    "show_results",
    "show_scratch_check",
    "show_stack",
    "stack_controls",
]

PADDING_MODES = ("number", "same", "valid")  # how the padding is given
DIAGRAM_TEXTS = ("input", "padding", "inserted", "outside", "window", "done", "selected", "row", "col")
COMPARE_LIMIT = 20_000_000  # MACs above which the NumPy comparison is skipped (it would take seconds)


def caption_size_formulas(area: str, height: Formula, width: Formula) -> None:
    """Write the output-size formulas of both dimensions, with the user's numbers, as two captions."""
    st.caption(t(f"{area}.formula_h", formula=height.substituted))
    st.caption(t(f"{area}.formula_w", formula=width.substituted))


def show_arith_error(err: Exception) -> None:
    """Say that PyTorch rejects the settings, with the reason; the page goes on below."""
    st.error(t("arith.error", message=error_text(err)), icon="⚠️")


def layer_controls() -> tuple[LayerSpec, tuple[int, int, int]]:
    """Draw the controls; return the layer and the (C, H, W) input."""
    mode = LayerKind(
        st.radio(
            t("arith.mode"),
            [k.value for k in LayerKind],
            format_func=lambda k: t(f"arith.mode.{k}"),
            horizontal=True,
            key="arith_mode",
        )
    )
    conv = mode in (LayerKind.CONV, LayerKind.CONV_TRANSPOSE)
    c1, c2, c3, c4 = st.columns(4)
    height = c1.number_input(t("arith.height"), 1, 256, 7, key="arith_height")
    width = c1.number_input(t("arith.width"), 1, 256, 7, key="arith_width")
    channels = c2.number_input(t("arith.channels"), 1, 64, 1, key="arith_channels")
    filters = c2.number_input(t("arith.filters"), 1, 512, 1, key="arith_filters", disabled=not conv)
    kernel = c3.number_input(t("arith.kernel"), 1, 64, 3, key="arith_kernel")
    stride = c3.number_input(t("arith.stride"), 1, 32, 1, key="arith_stride")
    padding_mode = "number"
    if mode is LayerKind.CONV:
        padding_mode = c4.selectbox(
            t("arith.padding_mode"),
            PADDING_MODES,
            format_func=lambda m: t(f"arith.padding_mode.{m}"),
            key="arith_padding_mode",
        )
    padding = c4.number_input(t("arith.padding"), 0, 64, 0, key="arith_padding", disabled=padding_mode != "number")
    dilation = c4.number_input(t("arith.dilation"), 1, 16, 1, key="arith_dilation", disabled=mode is LayerKind.AVG_POOL)
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
    output_padding = extra[2].number_input(
        t("arith.output_padding"), 0, 16, 0, key="arith_output_padding", disabled=mode is not LayerKind.CONV_TRANSPOSE
    )
    return bias, ceil_mode, output_padding


def show_results(report: LayerReport) -> None:
    """Output shape, the formula with the user's numbers, parameters and MACs."""
    _, out_h, out_w = report.out_shape
    m1, m2, m3 = st.columns(3)
    m1.metric(t("arith.out_size"), f"{out_h}×{out_w}")
    m2.metric(t("arith.out_shape"), "×".join(map(str, report.out_shape)))
    m3.metric(t("arith.params"), f"{report.params:,}")
    st.markdown(t("arith.formula"))
    height, width = report.size_formulas
    st.code(height.symbolic, language=None)
    if height == width:
        st.code(height.substituted, language=None)
    else:
        st.code(f"{t('arith.out_h')}: {height.substituted}\n{t('arith.out_w')}: {width.substituted}", language=None)
    if report.param_formula is None:
        st.caption(t("arith.no_params"))
        return
    st.markdown(t("arith.params_formula"))
    st.code(f"{report.param_formula.symbolic}\n{report.param_formula.substituted}", language=None)
    st.markdown(t("arith.macs_formula"))
    st.code(f"{report.macs_formula.symbolic}\n{report.macs_formula.substituted}", language=None)


def _diagram_labels(kind: LayerKind) -> DiagramLabels:
    plane_key = "arith.diagram.plane_transposed" if kind is LayerKind.CONV_TRANSPOSE else "arith.diagram.plane"
    return DiagramLabels(t(plane_key), t("arith.diagram.output"), *(t(f"arith.diagram.{n}") for n in DIAGRAM_TEXTS))


def _step_slider(steps: int) -> int:
    """The window-position slider (advanced one step per run while playing); return the step."""
    if steps <= 1:
        return 0
    current = min(st.session_state.get("arith_step", 0), steps - 1)  # the grid may have shrunk
    if st.session_state.get("arith_play"):
        current = (current + 1) % steps
    st.session_state["arith_step"] = current
    return st.slider(t("arith.step"), 0, steps - 1, key="arith_step")


def show_diagram(spec: LayerSpec, in_shape: tuple[int, int, int]) -> None:
    """The sliding window with a step slider, and the numbers of one step."""
    plane = build_plane(spec, in_shape[1:])
    step = _step_slider(plane.steps)
    detail = step_detail(spec, in_shape, step)
    small = max(plane.kinds.shape) <= MAX_TEXT_CELLS
    output = example_output(spec, in_shape)[0, 0] if small else None  # (OH, OW), only when it is drawn
    values = plane_values(plane, example_tensors(spec, in_shape).x[0].numpy(), spec.kind)[0] if small else None
    fig = diagram_figure(plane, step, _diagram_labels(spec.kind), values=values, out_values=output)
    st.plotly_chart(fig, width="stretch", key="arith_diagram")
    row, col = detail.out_index
    cells = ", ".join(f"({r}, {c})" for r, c in detail.input_cells[:36])
    st.markdown(t("arith.step_cells", row=row, col=col, count=len(detail.input_cells), cells=cells))
    if detail.expression is None:
        st.caption(t("arith.too_big"))
    else:
        st.code(detail.expression, language=None)
        if output is not None:
            st.caption(t("arith.torch_value", value=f"{output[row, col]:g}"))


def show_scratch_check(spec: LayerSpec, in_shape: tuple[int, int, int], report: LayerReport) -> None:
    """On request, compare the NumPy reference with PyTorch on this layer (skipped when too big)."""
    if not st.toggle(t("arith.compare"), key="arith_compare"):
        return
    work = max(report.macs, report.out_shape[0] * report.out_shape[1] * report.out_shape[2])
    if work > COMPARE_LIMIT:
        st.caption(t("arith.compare_too_big"))
        return
    run = example_run(spec, in_shape)
    st.success(t("arith.compare_result", diff=f"{run.max_abs_diff:.2e}"))


def stack_controls() -> tuple[list[dict[str, Any]], tuple[int, int, int]]:
    """Header, preset choice, input size and the editable layer table; return its rows and the (C, H, W) input."""
    st.header(t("arith.stack.header"))
    st.caption(t("arith.stack.caption"))
    keys = [p.key for p in STACK_PRESETS]
    key = st.selectbox(t("arith.stack.preset"), keys, format_func=lambda k: t(f"arith.preset.{k}"), key="arith_preset")
    preset = STACK_PRESETS[keys.index(key)]
    c, h, _ = preset.in_shape
    size = st.number_input(t("arith.stack.size"), 1, 512, h, key=f"arith_stack_size_{key}")
    rows = pd.DataFrame([layer_to_row(spec) for spec in preset.layers])
    kinds = [k.value for k in LayerKind if k is not LayerKind.CONV_TRANSPOSE]
    table = st.data_editor(
        rows,
        num_rows="dynamic",
        hide_index=True,
        key=f"arith_stack_{key}",
        column_config={
            "kind": st.column_config.SelectboxColumn(t("arith.stack.kind"), options=kinds, required=True),
            "out_channels": st.column_config.NumberColumn(t("arith.stack.out_channels"), min_value=1, step=1),
            "kernel_size": st.column_config.NumberColumn(t("arith.kernel"), min_value=1, step=1),
            "stride": st.column_config.NumberColumn(t("arith.stride"), min_value=1, step=1),
            "padding": st.column_config.TextColumn(t("arith.padding")),
            "dilation": st.column_config.NumberColumn(t("arith.dilation"), min_value=1, step=1),
            "bias": st.column_config.CheckboxColumn(t("arith.bias")),
        },
    )
    return table.to_dict("records"), (c, size, size)


def show_stack(reports: list[LayerReport]) -> None:
    """One table row per layer: shapes, parameters, MACs, receptive field; then the totals."""
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("arith.stack.layer"): f"{i} · {r.spec.kind.value}",
                    t("arith.stack.output"): "×".join(map(str, r.out_shape)),
                    t("arith.params"): r.params,
                    "MACs": r.macs,
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
    st.markdown(t("arith.stack.total", params=f"{total:,}", rf=reports[-1].receptive_field[0] if reports else 1))
