"""Pooling: max and average pooling on a photo or a feature map, side by side, and by hand on a grid."""

from __future__ import annotations

import streamlit as st

from cnnviz.conv import FilterConfig, apply_kernels, get_kernel, image_grid, pool_maps
from cnnviz.ui import bootstrap, image_input, show_error, t
from cnnviz.ui.pooling import choose_source, grid_size, pool_settings, show_grid, show_pooled, show_shapes

bootstrap()
st.title(t("pool.title"))
st.caption(t("pool.summary"))

image, _ = image_input("pool", max_side=320)

# --- controls → config --------------------------------------------------------------------------
kernel_name = choose_source()  # None: pool the photo itself
config = pool_settings()

try:
    if kernel_name is not None:
        maps = apply_kernels(image, FilterConfig((get_kernel(kernel_name),), padding="same")).output  # (1, H, W)
    else:
        maps = image
    result = pool_maps(maps, config)
except ValueError as err:
    show_error(err)

show_shapes(result)
show_pooled(result, signed=kernel_name is not None)

# --- by hand on a small grid ---------------------------------------------------------------------
n = grid_size()
try:
    grid = image_grid(image, n)  # (n, n) gray levels
    small = pool_maps(grid[None], config)
except ValueError as err:
    show_error(err)
show_grid(grid, small)
