"""Image filters: convolve a photo with classic or custom kernels, channel by channel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, ImageDraw

from cnnviz.arithmetic import conv_output_formula, conv_param_count
from cnnviz.kernels import (
    CUSTOM_MAX,
    CUSTOM_MIN,
    FilterConfig,
    apply_kernels,
    available_kernels,
    custom_kernel,
    filtered_image,
    get_kernel,
    zoom_output_pixel,
)
from cnnviz.render import colorbar_figure, diverging_rgb, montage, png_bytes, symmetric_vmax
from cnnviz.ui import bootstrap, image_input, show_error, t

bootstrap()
st.title(t("filters.title"))
st.caption(t("filters.summary"))

image, _ = image_input("filters", max_side=320)

# --- controls → config --------------------------------------------------------------------------
names = st.multiselect(
    t("filters.kernels"),
    [*available_kernels(), "custom"],
    default=["sobel_x"],
    max_selections=6,
    format_func=lambda n: t(f"filters.kernel.{n}"),
    help=t("filters.kernels_help"),
    key="filters_kernels",
)
if not names:
    st.warning(t("filters.pick_one"))
    st.stop()
cols = st.columns(4)
stride = cols[0].slider(t("filters.stride"), 1, 4, 1, key="filters_stride")
padding = cols[1].selectbox(
    t("filters.padding"), [0, 1, 2, 3, "same", "valid"], index=4, help=t("filters.padding_help"), key="filters_padding"
)
dilation = cols[2].slider(t("filters.dilation"), 1, 4, 1, key="filters_dilation")
bias = cols[3].slider(t("filters.bias"), -1.0, 1.0, 0.0, 0.05, key="filters_bias")

try:
    kernels = [get_kernel(n) for n in names if n != "custom"]
    if "custom" in names:
        size = st.select_slider(t("filters.custom_size"), list(range(CUSTOM_MIN, CUSTOM_MAX + 1)), key="filters_csize")
        start = np.zeros((size, size))
        start[size // 2, size // 2] = 1.0
        st.caption(t("filters.custom_help"))
        grid = st.data_editor(pd.DataFrame(start, columns=[str(i) for i in range(size)]), key=f"filters_custom_{size}")
        kernels.append(custom_kernel(grid.to_numpy(dtype=float, na_value=np.nan)))
    result = apply_kernels(
        image, FilterConfig(tuple(kernels), stride=stride, padding=padding, dilation=dilation, bias=bias)
    )
except ValueError as err:
    show_error(err)

# --- shapes ---------------------------------------------------------------------------------------
(c, h, w), (k_count, out_h, out_w) = result.in_shape, result.out_shape
kh, kw = result.weight.shape[2:]
st.info(
    t("filters.shapes", c=c, h=h, w=w, k=k_count, oh=out_h, ow=out_w, params=conv_param_count(c, k_count, (kh, kw)))
)
st.caption(t("filters.formula_h", formula=conv_output_formula(h, kh, stride, padding, dilation).substituted))
st.caption(t("filters.formula_w", formula=conv_output_formula(w, kw, stride, padding, dilation).substituted))

order = [n for n in names if n != "custom"] + (["custom"] if "custom" in names else [])  # the kernels' order
labels = [t(f"filters.kernel.{n}") for n in order]
k = st.selectbox(t("filters.map_choice"), range(k_count), format_func=labels.__getitem__, key="filters_map")
vmax = symmetric_vmax(result.output, percentile=99.5)


def signed_image(arr: np.ndarray, scale: float | None = None) -> Image.Image:
    return Image.fromarray(diverging_rgb(arr, vmax=scale or vmax)[0])


# --- zoom position (drawn on the input image below) -----------------------------------------------
st.subheader(t("filters.zoom_header"))
zc = st.columns(2)
row = zc[0].slider(t("filters.zoom_row"), 0, out_h - 1, out_h // 2, key=f"filters_row_{out_h}")
col = zc[1].slider(t("filters.zoom_col"), 0, out_w - 1, out_w // 2, key=f"filters_col_{out_w}")
zoom = zoom_output_pixel(result, k, row, col)
marked = image.copy()
box = (zoom.cols[0] - 2, zoom.rows[0] - 2, zoom.cols[-1] + 2, zoom.rows[-1] + 2)
ImageDraw.Draw(marked).rectangle(box, outline=(255, 0, 255), width=2)

# --- input and output at their true relative size ----------------------------------------------------
left, right = st.columns(2)
left.image(marked, caption=t("filters.input", w=w, h=h), width=w)
right.image(
    signed_image(result.output[k]), caption=t("filters.output", k=k, name=labels[k], w=out_w, h=out_h), width=out_w
)
st.caption(t("filters.scale_note", vmax=f"{vmax:.3g}"))
st.plotly_chart(colorbar_figure(-vmax, vmax, title=t("filters.colorbar")), key="filters_colorbar")

st.markdown(t("filters.zoom_where", row=row, col=col, k=k, rows=list(zoom.rows), cols=list(zoom.cols)))
channel_names = ["R", "G", "B"] if c == 3 else [str(i) for i in range(c)]
zcols = st.columns(c + 1)
zcols[0].markdown(t("filters.zoom_kernel"))
zcols[0].dataframe(pd.DataFrame(zoom.kernel[0]).style.format("{:.3g}"))
for i, name in enumerate(channel_names):
    zcols[i + 1].markdown(t("filters.zoom_patch", name=name))
    zcols[i + 1].dataframe(pd.DataFrame(zoom.patch[i]).style.format("{:.3f}"))
    zcols[i + 1].markdown(t("filters.zoom_products", name=name, total=f"{zoom.channel_sums[i]:.4f}"))
    zcols[i + 1].dataframe(pd.DataFrame(zoom.products[i]).style.format("{:.3f}"))
sums = " + ".join(f"{v:.4f}" for v in zoom.channel_sums)
st.markdown(
    t(
        "filters.zoom_equation",
        sums=sums,
        bias=f"{zoom.bias:.2f}",
        value=f"{zoom.value:.4f}",
        torch=f"{zoom.pytorch_value:.4f}",
    )
)

# --- one filter, three channels -------------------------------------------------------------------
st.subheader(t("filters.rgb_header"))
vmax_c = symmetric_vmax(result.per_channel[k], percentile=99.5)
st.caption(t("filters.rgb_caption", size=f"{kh}×{kw}", bias=f"{bias:.2f}"))
st.caption(t("filters.rgb_scales", vc=f"{vmax_c:.3g}", vmax=f"{vmax:.3g}"))
parts = [signed_image(result.per_channel[k, i], vmax_c) for i in range(c)] + [signed_image(result.output[k])]
captions = [t("filters.channel", name=n) for n in channel_names] + [t("filters.sum_bias")]
st.image(parts, caption=captions, width=min(out_w, 900 // (c + 1)))

# --- K maps stacked, the filtered photo, downloads -------------------------------------------------
st.subheader(t("filters.stack_header", k=k_count))
stacked = montage(result.output, pad=4, vmax=vmax)
st.image(stacked, width=min(stacked.width, 960))
photo = filtered_image(result, k)
st.image(photo, caption=t("filters.photo"), width=out_w)


dl = st.columns(2)
dl[0].download_button(
    t("filters.download_map", k=k),
    png_bytes(signed_image(result.output[k])),
    file_name=f"output_map_{k}.png",
    mime="image/png",
    key="filters_dl_map",
)
dl[1].download_button(
    t("filters.download_photo"), png_bytes(photo), file_name="filtered.png", mime="image/png", key="filters_dl_photo"
)
