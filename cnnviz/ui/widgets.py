"""Widgets that every page needs and Streamlit does not give as such: a slider that survives any range."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cnnviz.ui.base import t

__all__ = ["bounded_slider"]


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
