"""Upsampling page widgets: transposed-convolution settings and its steps as grids, interpolation, overlap counts."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.conv import Formula
from cnnviz.foundations import TransposedSteps
from cnnviz.render import number_grid_figure
from cnnviz.ui.base import t
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "BILINEAR_LATEX", "checkerboard_settings", "interpolation_settings", "show_counts", "show_interpolation",
    "show_size", "show_steps", "transposed_settings",
]  # fmt: skip

BILINEAR_LATEX = (
    r"x_\text{src} = \max\!\left(\frac{i + 0.5}{s} - 0.5,\ 0\right),\quad "
    r"y_i = (1 - \alpha)\,x_{\lfloor x_\text{src} \rfloor} + \alpha\,x_{\lfloor x_\text{src} \rfloor + 1},\quad "
    r"\alpha = x_\text{src} - \lfloor x_\text{src} \rfloor"
)


def transposed_settings() -> tuple[int, int, int, int, int]:
    """Input size, kernel, stride, padding and output padding in one row."""
    cols = st.columns(5)
    size = bounded_slider(t("upsampling.size"), 1, 5, 3, key="up_size", where=cols[0])
    kernel = bounded_slider(t("upsampling.kernel"), 1, 5, 3, key="up_kernel", where=cols[1])
    stride = bounded_slider(t("upsampling.stride"), 1, 4, 2, key="up_stride", where=cols[2])
    padding = bounded_slider(t("upsampling.padding"), 0, 3, 0, key="up_padding", where=cols[3])
    extra = bounded_slider(t("upsampling.output_padding"), 0, 3, 0, key="up_output_padding", where=cols[4],
                           help=t("upsampling.output_padding_help"))  # fmt: skip
    return size, kernel, stride, padding, extra


def show_size(formula: Formula, size: int, kernel: int, stride: int, padding: int, extra: int) -> None:
    """The output-size formula of ConvTranspose2d with the numbers substituted (value from cnnviz.conv)."""
    st.latex(
        r"O = (W - 1)\,S - 2P + (F - 1) + \text{output\_padding} + 1"
        rf" = ({size} - 1)\cdot {stride} - 2\cdot {padding} + ({kernel} - 1) + {extra} + 1 = {formula.value}"
    )


# Building a Plotly grid costs tens of milliseconds; most grids stay the same when one slider moves.
_grid_figure = st.cache_resource(number_grid_figure, max_entries=128, show_spinner=False)


def _grid(where, values: np.ndarray, title: str, key: str, fmt: str = ".0f") -> None:
    where.plotly_chart(_grid_figure(values, title=title, fmt=fmt, cell_px=30), key=key, width="content")


def show_steps(steps: TransposedSteps) -> None:
    """Input and kernel, then the zero-inserted grid, the padded grid with the flipped kernel, and the result."""
    top = st.columns([2, 2, 3])
    _grid(top[0], steps.x, t("upsampling.input"), "up_input")
    _grid(top[1], steps.kernel, t("upsampling.kernel_grid"), "up_kernel_grid")
    _grid(top[2], steps.inserted, t("upsampling.inserted", n=steps.stride - 1), "up_inserted")
    bottom = st.columns([4, 2, 4])
    lead = steps.lead
    title = t("upsampling.padded", p=lead) if lead >= 0 else t("upsampling.cropped", p=-lead)
    _grid(bottom[0], steps.padded, title, "up_padded")
    _grid(bottom[1], steps.kernel[::-1, ::-1], t("upsampling.flipped"), "up_flipped")
    (out_h, out_w) = steps.output.shape
    _grid(bottom[2], steps.output, t("upsampling.output", h=out_h, w=out_w), "up_output")
    st.markdown(t("upsampling.steps_text", z=steps.stride - 1, lead=lead, f=steps.kernel.shape[0], p=steps.padding,
                  extra=steps.output_padding))  # fmt: skip


def interpolation_settings() -> int:
    return bounded_slider(t("upsampling.scale"), 1, 4, 2, key="up_scale")


def show_interpolation(x: np.ndarray, nearest: np.ndarray, bilinear: np.ndarray, scale: int) -> None:
    cols = st.columns([1, 2, 2])
    _grid(cols[0], x, t("upsampling.input"), "up_interp_input")
    _grid(cols[1], nearest, t("upsampling.nearest", s=scale), "up_nearest", fmt=".1f")
    _grid(cols[2], bilinear, t("upsampling.bilinear", s=scale), "up_bilinear", fmt=".2f")


def checkerboard_settings() -> tuple[int, int]:
    left, right = st.columns(2)
    kernel = bounded_slider(t("upsampling.kernel"), 1, 6, 3, key="up_cb_kernel", where=left)
    stride = bounded_slider(t("upsampling.stride"), 1, 4, 2, key="up_cb_stride", where=right)
    return kernel, stride


def show_counts(counts: np.ndarray, kernel: int, stride: int, uneven: bool) -> None:
    """The overlap count map, and whether it is even away from the borders."""
    _grid(st, counts, t("upsampling.counts_title"), "up_counts")
    values = ", ".join(str(v) for v in np.unique(counts))
    if uneven:
        st.warning(t("upsampling.uneven", f=kernel, s=stride, values=values))
    else:
        st.success(t("upsampling.even", f=kernel, s=stride, values=values))
