"""Pooling page widgets: source and pooling settings, the pooled images, and pooling by hand on a grid."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from cnnviz.conv import PoolCell, PoolConfig, PoolKind, PoolResult, available_kernels, grid_cells, pool_output_formula
from cnnviz.render import number_grid_figure, symmetric_vmax, upscale_nearest
from cnnviz.ui.arith import caption_size_formulas
from cnnviz.ui.base import t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.filters import display_width, kernel_label, pick_one, signed_image
from cnnviz.ui.widgets import bounded_slider, enlarged_for_display, show_picture

SOURCES = ("image", "filtered")  # what to pool: the photo, or a filtered map of it

__all__ = ["SOURCES", "choose_source", "grid_size", "pool_settings", "show_grid", "show_pooled", "show_shapes"]


def choose_source() -> str | None:
    """Pool the photo or one filtered map of it; return the filter's kernel name, or None for the photo."""
    source = translated_choice(
        "radio", t("pool.source"), SOURCES, key="pool_source", default=SOURCES[0],
        format_func=lambda s: t(f"pool.source.{s}"), horizontal=True,
    )  # fmt: skip
    if source != "filtered":
        return None
    return translated_choice(
        "selectbox", t("pool.filter_kernel"), available_kernels(), key="pool_kernel_name", default="sobel_x",
        format_func=kernel_label,
    )  # fmt: skip


def pool_settings() -> PoolConfig:
    """Kind, kernel, stride, padding and ceil-mode widgets in one row; return the pooling config."""
    cols = st.columns(5)
    kinds = [k.value for k in PoolKind]
    kind = PoolKind(
        translated_choice(
            "radio", t("pool.kind"), kinds, key="pool_kind", default=kinds[0], where=cols[0],
            format_func=lambda k: t(f"pool.kind.{k}"),
        )
    )  # fmt: skip
    kernel_size = bounded_slider(t("pool.kernel"), 1, 6, 2, key="pool_kernel", where=cols[1],
                                 help=t("pool.kernel_help"))  # fmt: skip
    stride = bounded_slider(t("pool.stride"), 1, 6, 2, key="pool_stride", where=cols[2], help=t("pool.stride_help"))
    padding = bounded_slider(t("pool.padding"), 0, 3, 0, key="pool_padding", where=cols[3], help=t("pool.padding_help"))
    ceil_mode = cols[4].toggle(t("pool.ceil_mode"), help=t("pool.ceil_mode_help"), key="pool_ceil")
    return PoolConfig(kind, kernel_size, stride, padding, ceil_mode)


def show_shapes(result: PoolResult) -> None:
    """Input and output shapes, the fact that channels stay, and the size formulas of both dimensions."""
    (c, h, w), (_, out_h, out_w) = result.input.shape, result.output.shape
    st.info(t("pool.shapes", c=c, h=h, w=w, oh=out_h, ow=out_w, ratio=(h * w) / (out_h * out_w)))
    st.success(t("pool.fact", c=c))
    cfg = result.config
    window = (cfg.kernel_size, cfg.stride, cfg.padding, 1, cfg.ceil_mode)  # kernel, stride, padding, dilation, ceil
    caption_size_formulas("pool", pool_output_formula(h, *window), pool_output_formula(w, *window))


def _to_image(chw: np.ndarray, vmax: float | None) -> Image.Image:
    """A photo's channels as RGB, or (with vmax) a feature map in the diverging colours on the scale ±vmax."""
    if vmax is not None:
        return signed_image(chw[0], vmax)
    return Image.fromarray(np.rint(np.clip(chw, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0))


def show_pooled(result: PoolResult, *, signed: bool) -> None:
    """Input, output and the output enlarged back to the input's size, side by side."""
    (_, h, w), (_, out_h, out_w) = result.input.shape, result.output.shape
    vmax = symmetric_vmax(result.input, percentile=99.5) if signed else None  # the input's scale for both
    pooled = _to_image(result.output, vmax)
    left, mid, right = st.columns([w, out_w, w])  # as wide as the pictures: the input never spills over
    show_picture(left, enlarged_for_display(_to_image(result.input, vmax)), t("pool.input", w=w, h=h))
    show_picture(mid, enlarged_for_display(pooled), t("pool.output", w=out_w, h=out_h))
    factor = max(1, round(w / out_w))
    enlarged = upscale_nearest(pooled, factor)
    show_picture(right, enlarged_for_display(enlarged), t("pool.enlarged"), width=display_width(enlarged, w))
    if vmax is not None:
        st.caption(t("pool.scale_note", vmax=f"{vmax:.3g}"))


def grid_size() -> int:
    """The by-hand section's header and grid-size slider; return the number of cells a side."""
    st.subheader(t("pool.grid_header"))
    n = bounded_slider(t("pool.grid_size"), 4, 12, 8, key="pool_grid_size")
    st.caption(t("pool.grid_caption", n=n))
    return n


def show_grid(grid: np.ndarray, small: PoolResult) -> None:
    """Input and pooled grids with their numbers; one chosen output cell and its window explained."""
    cells = grid_cells(small)
    labels = [f"({cell.out_row}, {cell.out_col})" for cell in cells]
    cell = cells[pick_one(t("pool.grid_cell"), labels, "pool_cell")]
    is_max = small.config.kind == PoolKind.MAX
    marks = [other.winner for other in cells if other.winner is not None]
    gl, gr = st.columns([3, 2])
    gl.plotly_chart(
        number_grid_figure(grid, marks=marks, box=(cell.rows, cell.cols), title=t("pool.grid_input")),
        key="pool_grid_in",
        width="content",
    )
    gr.plotly_chart(
        number_grid_figure(
            small.output[0],
            marks=[(cell.out_row, cell.out_col)],
            title=t("pool.grid_output"),
            fmt=".0f" if is_max else ".1f",
        ),
        key="pool_grid_out",
        width="content",
    )
    st.markdown(_cell_text(cell, is_max=is_max))


def _cell_text(cell: PoolCell, *, is_max: bool) -> str:
    """Say how one output cell's value comes from its window: the winner, or the sum ÷ the count."""
    if is_max:
        return t("pool.grid_max", row=cell.out_row, col=cell.out_col, value=f"{cell.value:.0f}", winner=cell.winner)
    inside = len(cell.rows) * len(cell.cols)
    value = f"{cell.value:.2f}"
    return t("pool.grid_avg", row=cell.out_row, col=cell.out_col, value=value, n=inside, area=cell.divisor)
