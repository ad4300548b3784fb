"""Image filters: convolve a photo with classic or custom kernels, channel by channel."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from cnnviz.conv import apply_kernels, custom_kernel, get_kernel, zoom_output_pixel
from cnnviz.render import symmetric_vmax
from cnnviz.ui import bootstrap, image_input, show_error, t
from cnnviz.ui.filters import (
    choose_kernels,
    choose_map,
    custom_grid,
    filter_settings,
    mark_window,
    pixel_controls,
    show_channels,
    show_input_output,
    show_maps_and_downloads,
    show_shapes,
    show_zoom,
)

bootstrap()
st.title(t("filters.title"))
st.caption(t("filters.summary"))

image, _ = image_input("filters", max_side=320)

# --- controls → config --------------------------------------------------------------------------
names = choose_kernels()
if not names:
    st.warning(t("filters.pick_one"))
    st.stop()
settings = filter_settings()

try:
    kernels = [get_kernel(n) for n in names if n != "custom"]
    if "custom" in names:
        kernels.append(custom_kernel(custom_grid()))
    config = replace(settings, kernels=tuple(kernels))
    result = apply_kernels(image, config)
except ValueError as err:
    show_error(err)

# --- shapes, one map and one of its pixels, channels, all maps ----------------------------------------
show_shapes(result, config)
k, label = choose_map(names)
vmax = symmetric_vmax(result.output, percentile=99.5)  # one scale for every output map
row, col = pixel_controls(result.out_shape)
zoom = zoom_output_pixel(result, k, row, col)
show_input_output(mark_window(image, zoom), result, k, label, vmax)
show_zoom(zoom, row, col, k)
show_channels(result, k, vmax, config.bias)
show_maps_and_downloads(result, k, vmax)
