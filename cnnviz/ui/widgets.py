"""Widgets every page needs that Streamlit does not give as such: a slider for any range, pictures of any size."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import streamlit as st
from PIL import Image

from cnnviz.render import upscale_nearest
from cnnviz.ui.base import t

__all__ = ["bounded_slider", "enlarged_for_display", "png_data_url", "show_picture"]


def bounded_slider(
    label: str, low: int, high: int, value: int | None = None, *, key: str, where: Any = st, **kwargs
) -> int:
    """Draw an integer slider over ``low``…``high`` and return its value; safe for any range.

    A range of one value (a 1-pixel-wide map, a layer with one channel) shows that value as text
    instead of a slider (Streamlit refuses min == max). A value kept in ``st.session_state[key]``
    from an earlier, larger range is moved inside the new one, so the widget never errors when the
    range shrinks. ``where`` is the container (``st``, a column, the sidebar); ``kwargs`` go to
    ``st.slider`` (``help``, ``on_change``, ...).
    """
    low, high = int(low), int(high)
    if high <= low:
        where.caption(t("ui.only_value", label=label, value=low))
        st.session_state.pop(key, None)
        return low
    if key in st.session_state:
        st.session_state[key] = min(max(int(st.session_state[key]), low), high)
        value = None  # the session state holds it; passing both makes Streamlit warn
    elif value is not None:
        value = min(max(int(value), low), high)
    return int(where.slider(label, low, high, value, key=key, **kwargs))


NARROW = 120  # pixels: a picture narrower than this is enlarged, or its caption written below it as text
TALLEST = 480  # pixels: enlarging a narrow picture stops before it gets taller than this


def enlarged_for_display(image: Image.Image) -> Image.Image:
    """Enlarge a tiny picture (a 1×1 upload, a 2×2 output) with crisp pixels so that it can be seen.

    Pictures at least ``NARROW`` pixels wide come back as they are; a narrow one is enlarged by a whole
    factor, up to ``NARROW`` wide and no taller than ``TALLEST`` (a 1-pixel-wide line stays a line).
    """
    if image.width >= NARROW:
        return image
    factor = max(1, min(math.ceil(NARROW / image.width), TALLEST // max(image.height, 1)))
    return upscale_nearest(image, factor)


def show_picture(where: Any, image: Image.Image, caption: str, *, width: int | None = None, **kwargs) -> None:
    """Show a picture with its caption, also when it is too narrow to hold one (the caption goes below as text).

    ``width`` defaults to the picture's own width; ``kwargs`` go to ``st.image`` (``output_format``, ...).
    """
    width = image.width if width is None else width
    if width >= NARROW:
        where.image(image, caption=caption, width=width, **kwargs)
        return
    where.image(image, width=width, **kwargs)
    where.caption(caption)


def png_data_url(image: Image.Image) -> str:
    """Return the picture as a ``data:image/png;base64,...`` URL, for ``st.image`` in a ticking fragment.

    ``st.image`` stores a PIL picture as a media file and drops the previous one when the fragment draws a
    new one; the browser may still ask for the dropped file ("Image source error"). A data URL is sent with
    the element itself, so nothing can go missing. Meant for small pictures (a few kB): they travel on every tick.
    """
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
