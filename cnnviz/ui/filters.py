"""Image-filters page widgets: kernel choice and settings, the pixel zoom, and the drawings of the maps.

``kernel_label`` and ``signed_image`` are also used by the pooling page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, ImageDraw

from cnnviz.conv import (
    CUSTOM_MAX,
    CUSTOM_MIN,
    FilterConfig,
    FilterResult,
    PixelZoom,
    available_kernels,
    conv_output_formula,
    conv_param_count,
    filtered_image,
)
from cnnviz.render import colorbar_figure, diverging_rgb, montage, png_bytes, symmetric_vmax
from cnnviz.ui.arith import caption_size_formulas
from cnnviz.ui.base import t

__all__ = [
    "choose_kernels",
    "choose_map",
    "custom_grid",
    "filter_settings",
    "kernel_label",
    "mark_window",
    "pixel_controls",
    "show_channels",
    "show_input_output",
    "show_maps_and_downloads",
    "show_shapes",
    "show_zoom",
    "signed_image",
]


def kernel_label(name: str) -> str:
    """Return a kernel's name in the session language."""
    return t(f"filters.kernel.{name}")


def signed_image(arr: np.ndarray, vmax: float) -> Image.Image:
    """Colour a signed (H, W) map blue – white – red on the symmetric scale ±vmax."""
    return Image.fromarray(diverging_rgb(arr, vmax=vmax)[0])


def choose_kernels() -> list[str]:
    """The kernel multiselect (up to six, "custom" included); return the chosen names."""
    return st.multiselect(
        t("filters.kernels"),
        [*available_kernels(), "custom"],
        default=["sobel_x"],
        max_selections=6,
        format_func=kernel_label,
        help=t("filters.kernels_help"),
        key="filters_kernels",
    )


def filter_settings() -> FilterConfig:
    """Stride, padding, dilation and bias sliders; return them as a config without kernels yet."""
    cols = st.columns(4)
    stride = cols[0].slider(t("filters.stride"), 1, 4, 1, key="filters_stride")
    padding = cols[1].selectbox(
        t("filters.padding"),
        [0, 1, 2, 3, "same", "valid"],
        index=4,
        help=t("filters.padding_help"),
        key="filters_padding",
    )
    dilation = cols[2].slider(t("filters.dilation"), 1, 4, 1, key="filters_dilation")
    bias = cols[3].slider(t("filters.bias"), -1.0, 1.0, 0.0, 0.05, key="filters_bias")
    return FilterConfig((), stride=stride, padding=padding, dilation=dilation, bias=bias)


def custom_grid() -> np.ndarray:
    """The custom-kernel editor (an identity kernel to start); return its (n, n) values, NaN where empty."""
    size = st.select_slider(t("filters.custom_size"), list(range(CUSTOM_MIN, CUSTOM_MAX + 1)), key="filters_csize")
    start = np.zeros((size, size))
    start[size // 2, size // 2] = 1.0
    st.caption(t("filters.custom_help"))
    grid = st.data_editor(pd.DataFrame(start, columns=[str(i) for i in range(size)]), key=f"filters_custom_{size}")
    return grid.to_numpy(dtype=float, na_value=np.nan)


def show_shapes(result: FilterResult, config: FilterConfig) -> None:
    """Input and output shapes, the parameter count, and the size formulas of both dimensions."""
    (c, h, w), (k_count, out_h, out_w) = result.in_shape, result.out_shape
    kh, kw = result.weight.shape[2:]
    params = conv_param_count(c, k_count, (kh, kw))
    st.info(t("filters.shapes", c=c, h=h, w=w, k=k_count, oh=out_h, ow=out_w, params=params))
    stride, padding, dilation = config.stride, config.padding, config.dilation
    height = conv_output_formula(h, kh, stride, padding, dilation)
    caption_size_formulas("filters", height, conv_output_formula(w, kw, stride, padding, dilation))


def choose_map(names: list[str]) -> tuple[int, str]:
    """Pick one output map (the kernels' order: custom last); return its index and label."""
    order = [n for n in names if n != "custom"] + (["custom"] if "custom" in names else [])
    labels = [kernel_label(n) for n in order]
    k = st.selectbox(t("filters.map_choice"), range(len(labels)), format_func=labels.__getitem__, key="filters_map")
    return k, labels[k]


def pixel_controls(out_shape: tuple[int, int, int]) -> tuple[int, int]:
    """The zoom header and the output row / column sliders (centred to start); return (row, col)."""
    _, out_h, out_w = out_shape
    st.subheader(t("filters.zoom_header"))
    zc = st.columns(2)
    row = zc[0].slider(t("filters.zoom_row"), 0, out_h - 1, out_h // 2, key=f"filters_row_{out_h}")
    col = zc[1].slider(t("filters.zoom_col"), 0, out_w - 1, out_w // 2, key=f"filters_col_{out_w}")
    return row, col


def mark_window(image: Image.Image, zoom: PixelZoom) -> Image.Image:
    """Return a copy of the image with a magenta box around the pixels the kernel taps."""
    marked = image.copy()
    box = (zoom.cols[0] - 2, zoom.rows[0] - 2, zoom.cols[-1] + 2, zoom.rows[-1] + 2)
    ImageDraw.Draw(marked).rectangle(box, outline=(255, 0, 255), width=2)
    return marked


def show_input_output(marked: Image.Image, result: FilterResult, k: int, label: str, vmax: float) -> None:
    """Input and output map side by side at their true relative size, with the colour scale."""
    (_, h, w), (_, out_h, out_w) = result.in_shape, result.out_shape
    left, right = st.columns(2)
    left.image(marked, caption=t("filters.input", w=w, h=h), width=w)
    output = signed_image(result.output[k], vmax)
    right.image(output, caption=t("filters.output", k=k, name=label, w=out_w, h=out_h), width=out_w)
    st.caption(t("filters.scale_note", vmax=f"{vmax:.3g}"))
    st.plotly_chart(colorbar_figure(-vmax, vmax, title=t("filters.colorbar")), key="filters_colorbar")


def _channel_names(c: int) -> list[str]:
    return ["R", "G", "B"] if c == 3 else [str(i) for i in range(c)]


def show_zoom(zoom: PixelZoom, row: int, col: int, k: int) -> None:
    """Kernel, patch and products of every channel as tables, then the sum next to PyTorch's value."""
    st.markdown(t("filters.zoom_where", row=row, col=col, k=k, rows=list(zoom.rows), cols=list(zoom.cols)))
    names = _channel_names(zoom.patch.shape[0])
    zcols = st.columns(len(names) + 1)
    zcols[0].markdown(t("filters.zoom_kernel"))
    zcols[0].dataframe(pd.DataFrame(zoom.kernel[0]).style.format("{:.3g}"))
    for i, name in enumerate(names):
        zcols[i + 1].markdown(t("filters.zoom_patch", name=name))
        zcols[i + 1].dataframe(pd.DataFrame(zoom.patch[i]).style.format("{:.3f}"))
        zcols[i + 1].markdown(t("filters.zoom_products", name=name, total=f"{zoom.channel_sums[i]:.4f}"))
        zcols[i + 1].dataframe(pd.DataFrame(zoom.products[i]).style.format("{:.3f}"))
    sums = " + ".join(f"{v:.4f}" for v in zoom.channel_sums)
    value, torch_value = f"{zoom.value:.4f}", f"{zoom.pytorch_value:.4f}"
    st.markdown(t("filters.zoom_equation", sums=sums, bias=f"{zoom.bias:.2f}", value=value, torch=torch_value))


def show_channels(result: FilterResult, k: int, vmax: float, bias: float) -> None:
    """One filter, channel by channel (on their own scale), and their sum plus bias."""
    st.subheader(t("filters.rgb_header"))
    c, kh, kw = result.weight.shape[1:]
    out_w = result.out_shape[2]
    vmax_c = symmetric_vmax(result.per_channel[k], percentile=99.5)
    st.caption(t("filters.rgb_caption", size=f"{kh}×{kw}", bias=f"{bias:.2f}"))
    st.caption(t("filters.rgb_scales", vc=f"{vmax_c:.3g}", vmax=f"{vmax:.3g}"))
    parts = [signed_image(result.per_channel[k, i], vmax_c) for i in range(c)] + [signed_image(result.output[k], vmax)]
    captions = [t("filters.channel", name=n) for n in _channel_names(c)] + [t("filters.sum_bias")]
    st.image(parts, caption=captions, width=min(out_w, 900 // (c + 1)))


def show_maps_and_downloads(result: FilterResult, k: int, vmax: float) -> None:
    """All K maps stacked, the filtered photo, and download buttons for the map and the photo."""
    k_count, _, out_w = result.out_shape
    st.subheader(t("filters.stack_header", k=k_count))
    stacked = montage(result.output, pad=4, vmax=vmax)
    st.image(stacked, width=min(stacked.width, 960))
    photo = filtered_image(result, k)
    st.image(photo, caption=t("filters.photo"), width=out_w)
    dl = st.columns(2)
    dl[0].download_button(
        t("filters.download_map", k=k),
        png_bytes(signed_image(result.output[k], vmax)),
        file_name=f"output_map_{k}.png",
        mime="image/png",
        key="filters_dl_map",
    )
    dl[1].download_button(
        t("filters.download_photo"),
        png_bytes(photo),
        file_name="filtered.png",
        mime="image/png",
        key="filters_dl_photo",
    )
