"""Image-filters page widgets: kernel choice and settings, the pixel zoom, and the drawings of the maps.

The settings and everything computed from them form one fragment (:func:`filter_section`), so a
setting does not reload the photo; the zoom on one output pixel is a fragment inside it, so its
row and column sliders redraw only the zoom. ``kernel_label``, ``signed_image`` and ``pick_one`` are
also used by the pooling page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from html import escape

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, ImageDraw

from cnnviz.conv import (
    CUSTOM_MAX,
    CUSTOM_MIN,
    FilterConfig,
    FilterResult,
    Kernel,
    PixelZoom,
    apply_kernels,
    available_kernels,
    conv_output_formula,
    conv_param_count,
    custom_kernel,
    filtered_image,
    get_kernel,
    zoom_output_pixel,
)
from cnnviz.render import colorbar_svg, diverging_rgb, montage, png_bytes, signed_number, signed_sum, symmetric_vmax
from cnnviz.ui.arith import caption_size_formulas
from cnnviz.ui.base import error_text, t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.widgets import NARROW, bounded_slider, enlarged_for_display, show_picture

__all__ = [
    "choose_kernels",
    "choose_map",
    "custom_grid",
    "display_width",
    "grids_html",
    "filter_section",
    "filter_settings",
    "kernel_label",
    "mark_pixel",
    "mark_window",
    "pick_one",
    "show_channels",
    "show_maps_and_downloads",
    "show_scale",
    "show_shapes",
    "show_zoom",
    "signed_image",
    "zoom_section",
]

PADDINGS = (0, 1, 2, 3, "same", "valid")  # the padding choices; "same" is the default
MAGENTA = (255, 0, 255)  # the outline of the kernel window and of the zoomed pixel
SHOWN_AS = "JPEG"  # pictures on the page: a millisecond to encode where a PNG takes 20 (downloads stay PNG)


def kernel_label(name: str) -> str:
    """Return a kernel's name in the session language."""
    return t(f"filters.kernel.{name}")


def signed_image(arr: np.ndarray, vmax: float) -> Image.Image:
    """Colour a signed (H, W) map blue – white – red on the symmetric scale ±vmax."""
    return Image.fromarray(diverging_rgb(arr, vmax=vmax)[0])


def display_width(image: Image.Image, most: int) -> int:
    """The width to show ``image`` at: at most ``most`` pixels, never so narrow that it would be under a pixel high."""
    if image.width <= most or image.height * most < image.width:
        return image.width  # fits, or a line of pixels that Streamlit cannot shrink
    return most


def pick_one(label: str, labels: Sequence[str], key: str, *, where=st) -> int:
    """A selectbox over ``labels``; return the chosen index. A single choice is written as text instead."""
    if len(labels) == 1:
        where.caption(t("ui.only_value", label=label, value=labels[0]))
        return 0
    indices = list(range(len(labels)))
    shown = labels.__getitem__
    return translated_choice("selectbox", label, indices, key=key, default=0, where=where, format_func=shown)


def choose_kernels() -> list[str]:
    """The kernel multiselect (up to six, "custom" included); return the chosen names."""
    return translated_choice(
        "multiselect", t("filters.kernels"), [*available_kernels(), "custom"], key="filters_kernels",
        default=["sobel_x"], max_selections=6, format_func=kernel_label, help=t("filters.kernels_help"),
    )  # fmt: skip


@st.fragment
def filter_section(image: Image.Image, names: Sequence[str]) -> None:
    """Settings → one convolution → shapes, one map, its zoomed pixel, channels, all maps (a fragment)."""
    settings = filter_settings()
    grid = custom_grid() if "custom" in names else None
    try:
        config = replace(settings, kernels=_kernels(names, grid))
        result = _convolve(_image_id(image), config, image)
    except ValueError as err:
        st.error(error_text(err), icon="⚠️")
        return
    show_shapes(result, config)
    k, label = choose_map(names)
    vmax = symmetric_vmax(result.output, percentile=99.5)  # one scale for every output map
    shown = signed_image(result.output[k], vmax)  # the chosen map in colour, drawn once for the zoom and the channels
    zoom_section(image, result, k, label, shown)
    show_scale(vmax)
    show_channels(result, k, shown, vmax, config.bias)
    show_maps_and_downloads(result, k, vmax)


def _image_id(image: Image.Image) -> str:
    """The image's size, mode and a digest of every pixel (Streamlit's own hash of a picture ignores its size)."""
    return f"{image.size}{image.mode}{hashlib.sha1(image.tobytes()).hexdigest()}"


@st.cache_data(max_entries=16, show_spinner=False)
def _convolve(image_id: str, config: FilterConfig, _image: Image.Image) -> FilterResult:
    """apply_kernels, cached on the image (by ``image_id``) and the settings: going back to a setting costs nothing."""
    return apply_kernels(_image, config)


def filter_settings() -> FilterConfig:
    """Stride, padding, dilation and bias sliders; return them as a config without kernels yet."""
    cols = st.columns(4)
    stride = bounded_slider(t("filters.stride"), 1, 4, 1, key="filters_stride", where=cols[0])
    padding = cols[1].selectbox(
        t("filters.padding"), PADDINGS, PADDINGS.index("same"), help=t("filters.padding_help"), key="filters_padding"
    )
    dilation = bounded_slider(t("filters.dilation"), 1, 4, 1, key="filters_dilation", where=cols[2])
    # A fixed range of floats (never a single value): Streamlit's slider itself.
    bias = cols[3].slider(t("filters.bias"), -1.0, 1.0, 0.0, 0.05, help=t("filters.bias_help"), key="filters_bias")
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
    with st.container(key="filters_shapes"):
        st.info(t("filters.shapes", c=c, h=h, w=w, n=k_count, oh=out_h, ow=out_w, params=f"{params:,}"))
        stride, padding, dilation = config.stride, config.padding, config.dilation
        height = conv_output_formula(h, kh, stride, padding, dilation)
        caption_size_formulas("filters", height, conv_output_formula(w, kw, stride, padding, dilation))


def _ordered(names: Sequence[str]) -> list[str]:
    """The kernels in the order of the output maps: the classic ones as chosen, custom last."""
    return [n for n in names if n != "custom"] + (["custom"] if "custom" in names else [])


def choose_map(names: Sequence[str]) -> tuple[int, str]:
    """Pick one output map (the kernels' order: custom last); return its index and label."""
    labels = [kernel_label(n) for n in _ordered(names)]
    k = pick_one(t("filters.map_choice"), labels, "filters_map")
    return k, labels[k]


@st.fragment
def zoom_section(image: Image.Image, result: FilterResult, k: int, label: str, shown: Image.Image) -> None:
    """The row / column sliders, input and output with the window and the pixel marked, the numbers (a fragment)."""
    _, out_h, out_w = result.out_shape
    if st.session_state.get("filters_zoom_size") != (out_h, out_w):  # a new image or setting: start at the centre
        st.session_state["filters_zoom_size"] = (out_h, out_w)
        st.session_state.pop("filters_row", None)
        st.session_state.pop("filters_col", None)
    st.subheader(t("filters.zoom_header"))
    zc = st.columns(2)
    row = bounded_slider(t("filters.zoom_row"), 0, out_h - 1, out_h // 2, key="filters_row", where=zc[0])
    col = bounded_slider(t("filters.zoom_col"), 0, out_w - 1, out_w // 2, key="filters_col", where=zc[1])
    zoom = zoom_output_pixel(result, k, row, col)
    with st.container(key="filters_zoom_images"):
        _show_input_output(mark_window(image, zoom), mark_pixel(shown, row, col), result, k, label)
    with st.container(key="filters_zoom"):
        show_zoom(zoom, row, col, k, result.in_shape[1:])


def mark_window(image: Image.Image, zoom: PixelZoom) -> Image.Image:
    """Return a copy of the image with a magenta box around the pixels the kernel taps."""
    return _box(image, zoom.rows[0], zoom.cols[0], zoom.rows[-1], zoom.cols[-1])


def mark_pixel(image: Image.Image, row: int, col: int) -> Image.Image:
    """Return a copy of an output map with a magenta box around pixel (row, col)."""
    return _box(image, row, col, row, col)


def _box(image: Image.Image, top: int, left: int, bottom: int, right: int) -> Image.Image:
    marked = image.convert("RGB")  # a copy
    ImageDraw.Draw(marked).rectangle((left - 2, top - 2, right + 2, bottom + 2), outline=MAGENTA, width=2)
    return marked


def _show_input_output(marked: Image.Image, output: Image.Image, result: FilterResult, k: int, label: str) -> None:
    """Input and output map side by side at their true relative size."""
    (_, h, w), (_, out_h, out_w) = result.in_shape, result.out_shape
    left, right = st.columns(2)
    show_picture(left, enlarged_for_display(marked), t("filters.input", w=w, h=h), output_format=SHOWN_AS)
    caption = t("filters.output", k=k, name=label, w=out_w, h=out_h)
    show_picture(right, enlarged_for_display(output), caption, output_format=SHOWN_AS)


def show_scale(vmax: float) -> None:
    """What the colours of the output maps mean, and the colour bar."""
    st.caption(t("filters.scale_note", vmax=f"{vmax:.3g}"))
    bar = colorbar_svg(-vmax, vmax, signed=True, title=t("filters.colorbar"))
    st.markdown(f"<div>{bar}</div>", unsafe_allow_html=True)


def _channel_names(c: int) -> list[str]:
    return ["R", "G", "B"] if c == 3 else [str(i) for i in range(c)]


def show_zoom(zoom: PixelZoom, row: int, col: int, k: int, in_size: tuple[int, int]) -> None:
    """Kernel, patch and products of every channel as tables, then the sum next to PyTorch's value."""
    rows, cols = list(zoom.rows), list(zoom.cols)
    padded = min(rows) < 0 or max(rows) >= in_size[0] or min(cols) < 0 or max(cols) >= in_size[1]
    where = "filters.zoom_where_padding" if padded else "filters.zoom_where"
    st.markdown(t(where, row=row, col=col, k=k, rows=_indices(rows), cols=_indices(cols)))
    names = _channel_names(zoom.patch.shape[0])
    columns = [[(t("filters.zoom_kernel"), zoom.kernel[0], "{:.3g}")]]
    for i, name in enumerate(names):
        total = signed_number(zoom.channel_sums[i])
        columns.append([(t("filters.zoom_patch", name=name), zoom.patch[i], "{:.3f}"),
                        (t("filters.zoom_products", name=name, total=total), zoom.products[i], "{:.3f}")])  # fmt: skip
    st.markdown(grids_html(columns), unsafe_allow_html=True)
    terms = signed_sum([*zoom.channel_sums, zoom.bias])
    value, torch_value = signed_number(zoom.value), signed_number(zoom.pytorch_value)
    st.markdown(t("filters.zoom_equation", terms=terms, value=value, torch=torch_value))


def _indices(values: Sequence[int]) -> str:
    """Row or column numbers as "[−1, 0, 1]" (a real minus sign for a row of the padding)."""
    return "[" + ", ".join(signed_number(v, "d") for v in values) + "]"


def _cell_text(value: float, fmt: str) -> str:
    """A grid cell: a real minus sign, and none on a number that rounds to zero."""
    text = fmt.format(abs(value))
    return f"−{text}" if value < 0 and float(text) != 0 else text


def grids_html(columns: Sequence[Sequence[tuple[str, np.ndarray, str]]]) -> str:
    """Columns of titled number grids side by side, as one HTML block (one element to send and draw, not 14).

    Each column is a list of (title, (h, w) values, format) entries; negative numbers get a real minus sign.
    """
    cell = "border:1px solid #e0e0e6;padding:2px 7px;text-align:right;font-variant-numeric:tabular-nums"
    blocks = []
    for column in columns:
        parts = []
        for title, values, fmt in column:
            rows = "".join(
                "<tr>" + "".join(f'<td style="{cell}">{_cell_text(v, fmt)}</td>' for v in line) + "</tr>"
                for line in values
            )
            parts.append(f'<p style="margin:0.4em 0 0.2em">{escape(title)}</p>'
                         f'<table style="border-collapse:collapse;font-size:0.85em">{rows}</table>')  # fmt: skip
        blocks.append(f'<div style="flex:1;min-width:10em">{"".join(parts)}</div>')
    return f'<div style="display:flex;gap:1.2em;flex-wrap:wrap">{"".join(blocks)}</div>'



def show_channels(result: FilterResult, k: int, shown: Image.Image, vmax: float, bias: float) -> None:
    """One filter, channel by channel (on their own scale), and their sum plus bias (``shown``: map k in colour)."""
    st.subheader(t("filters.rgb_header"))
    c, kh, kw = result.weight.shape[1:]
    vmax_c = symmetric_vmax(result.per_channel[k], percentile=99.5)
    st.caption(t("filters.rgb_caption", size=f"{kh}×{kw}", bias=signed_number(bias, ".2f")))
    st.caption(t("filters.rgb_scales", vc=f"{vmax_c:.3g}", vmax=f"{vmax:.3g}"))
    parts = [signed_image(result.per_channel[k, i], vmax_c) for i in range(c)] + [shown]
    parts = [enlarged_for_display(part) for part in parts]
    captions = [t("filters.channel", name=n) for n in _channel_names(c)] + [t("filters.sum_bias")]
    width = display_width(parts[0], 900 // (c + 1))
    if width >= NARROW:
        st.image(parts, caption=captions, width=width, output_format=SHOWN_AS)
    else:  # a line of pixels: the captions cannot fit under it
        st.image(parts, width=width, output_format=SHOWN_AS)
        st.caption(" · ".join(captions))


def show_maps_and_downloads(result: FilterResult, k: int, vmax: float) -> None:
    """All K maps stacked, the filtered photo, and download buttons for the map and the photo (PNG made on click)."""
    st.subheader(t("filters.stack_header", n=result.out_shape[0]))
    stacked = montage(result.output, pad=4, vmax=vmax)
    st.image(stacked, width=display_width(stacked, 960), output_format=SHOWN_AS)
    photo = filtered_image(result, k)
    show_picture(st, enlarged_for_display(photo), t("filters.photo"), output_format=SHOWN_AS)
    dl = st.columns(2)
    dl[0].download_button(
        t("filters.download_map", k=k),
        lambda: png_bytes(signed_image(result.output[k], vmax)),
        file_name=f"output_map_{k}.png",
        mime="image/png",
        help=t("filters.download_map_help"),
        on_click="ignore",
        key="filters_dl_map",
    )
    dl[1].download_button(
        t("filters.download_photo"),
        lambda: png_bytes(photo),
        file_name="filtered.png",
        mime="image/png",
        help=t("filters.download_photo_help"),
        on_click="ignore",
        key="filters_dl_photo",
    )


def _kernels(names: Sequence[str], grid: np.ndarray | None) -> tuple[Kernel, ...]:
    """The kernels of ``names`` in output-map order, the custom one (from ``grid``) last. Raises ConfigError."""
    kernels = [get_kernel(n) for n in names if n != "custom"]
    if "custom" in names and grid is not None:
        kernels.append(custom_kernel(grid))
    return tuple(kernels)
