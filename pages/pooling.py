"""Pooling: max and average pooling on a photo or a feature map, side by side, and by hand on a grid."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from cnnviz.arithmetic import pool_output_formula
from cnnviz.kernels import FilterConfig, apply_kernels, available_kernels, get_kernel
from cnnviz.pooling import PoolConfig, PoolKind, grid_cells, image_grid, pool_maps
from cnnviz.render import diverging_rgb, number_grid_figure, symmetric_vmax, upscale_nearest
from cnnviz.ui import bootstrap, image_input, show_error, t

bootstrap()
st.title(t("pool.title"))
st.caption(t("pool.summary"))

image, _ = image_input("pool", max_side=320)

# --- controls → config --------------------------------------------------------------------------
source = st.radio(
    t("pool.source"),
    ["image", "filtered"],
    format_func=lambda s: t(f"pool.source.{s}"),
    horizontal=True,
    key="pool_source",
)
if source == "filtered":
    kernel_name = st.selectbox(
        t("pool.filter_kernel"),
        available_kernels(),
        index=available_kernels().index("sobel_x"),
        format_func=lambda n: t(f"filters.kernel.{n}"),
        key="pool_kernel_name",
    )
cols = st.columns(5)
kind = PoolKind(
    cols[0].radio(
        t("pool.kind"), [k.value for k in PoolKind], format_func=lambda k: t(f"pool.kind.{k}"), key="pool_kind"
    )
)
kernel_size = cols[1].slider(t("pool.kernel"), 1, 6, 2, key="pool_kernel")
stride = cols[2].slider(t("pool.stride"), 1, 6, 2, help=t("pool.stride_help"), key="pool_stride")
padding = cols[3].slider(t("pool.padding"), 0, 3, 0, help=t("pool.padding_help"), key="pool_padding")
ceil_mode = cols[4].toggle(t("pool.ceil_mode"), key="pool_ceil")
config = PoolConfig(kind, kernel_size, stride, padding, ceil_mode)

try:
    if source == "filtered":
        maps = apply_kernels(image, FilterConfig((get_kernel(kernel_name),), padding="same")).output  # (1, H, W)
    else:
        maps = image
    result = pool_maps(maps, config)
except ValueError as err:
    show_error(err)

# --- shapes and the fact ----------------------------------------------------------------------------
(c, h, w), (_, out_h, out_w) = result.input.shape, result.output.shape
st.info(t("pool.shapes", c=c, h=h, w=w, oh=out_h, ow=out_w, ratio=(h * w) / (out_h * out_w)))
st.success(t("pool.fact", c=c))
st.caption(t("pool.formula_h", formula=pool_output_formula(h, kernel_size, stride, padding, 1, ceil_mode).substituted))
st.caption(t("pool.formula_w", formula=pool_output_formula(w, kernel_size, stride, padding, 1, ceil_mode).substituted))


def to_image(chw: np.ndarray) -> Image.Image:
    """A photo's channels as RGB, a feature map with the diverging colours on the input's scale."""
    if source == "filtered":
        return Image.fromarray(diverging_rgb(chw[0], vmax=vmax)[0])
    return Image.fromarray(np.rint(np.clip(chw, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0))


vmax = symmetric_vmax(result.input, percentile=99.5)
pooled = to_image(result.output)
left, mid, right = st.columns(3)
left.image(to_image(result.input), caption=t("pool.input", w=w, h=h), width=w)
mid.image(pooled, caption=t("pool.output", w=out_w, h=out_h), width=out_w)
factor = max(1, round(w / out_w))
right.image(upscale_nearest(pooled, factor), caption=t("pool.enlarged"), width=min(w, out_w * factor))
if source == "filtered":
    st.caption(t("pool.scale_note", vmax=f"{vmax:.3g}"))

# --- by hand on a small grid ---------------------------------------------------------------------
st.subheader(t("pool.grid_header"))
n = st.slider(t("pool.grid_size"), 4, 12, 8, key="pool_grid_size")
st.caption(t("pool.grid_caption", n=n))
try:
    grid = image_grid(image, n)
    small = pool_maps(grid[None], config)
except ValueError as err:
    show_error(err)
cells = grid_cells(small)
labels = [f"({cell.out_row}, {cell.out_col})" for cell in cells]
pick = st.selectbox(
    t("pool.grid_cell"), range(len(cells)), format_func=labels.__getitem__, key=f"pool_cell_{len(cells)}"
)
cell = cells[pick]
marks = [other.winner for other in cells if other.winner is not None]
gl, gr = st.columns([3, 2])
gl.plotly_chart(
    number_grid_figure(grid, marks=marks, box=(cell.rows, cell.cols), title=t("pool.grid_input")),
    key="pool_grid_in",
    width="content",
)
out_grid = small.output[0]
gr.plotly_chart(
    number_grid_figure(
        out_grid,
        marks=[(cell.out_row, cell.out_col)],
        title=t("pool.grid_output"),
        fmt=".0f" if kind == PoolKind.MAX else ".1f",
    ),
    key="pool_grid_out",
    width="content",
)
if kind == PoolKind.MAX:
    st.markdown(t("pool.grid_max", row=cell.out_row, col=cell.out_col, value=f"{cell.value:.0f}", winner=cell.winner))
else:
    inside = len(cell.rows) * len(cell.cols)
    st.markdown(
        t(
            "pool.grid_avg",
            row=cell.out_row,
            col=cell.out_col,
            value=f"{cell.value:.2f}",
            cells=inside,
            area=cell.divisor,
        )
    )
