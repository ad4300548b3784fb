"""A selectbox whose option texts follow the page's language.

Streamlit 1.67 keeps a keyed selectbox's shown text when only its option texts change: after a
switch to Korean the box still reads "circle" although its list says "원". So the widget is keyed
per language (``<key>__<lang>``, a fresh widget whose text is right) while the choice itself lives
in ``st.session_state[key]``, carried from one language's widget to the other; code elsewhere (a
page that preselects a choice) reads and writes ``st.session_state[key]`` as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import streamlit as st

from cnnviz.ui.base import current_language

__all__ = ["localized_selectbox", "widget_key"]

T = TypeVar("T")


def widget_key(key: str, lang: str | None = None) -> str:
    """The key of the widget that shows choice ``key`` in ``lang`` (default: the session's language)."""
    return f"{key}__{lang or current_language()}"


def localized_selectbox(
    label: str, options: Sequence[T], names: Mapping[T, str], *, key: str, where: Any = st, **kwargs: Any
) -> T:
    """Show ``options`` as ``names[option]`` in a selectbox; return the choice, kept in ``st.session_state[key]``.

    ``names`` is a lookup built in this run (so the widget formats its options the same outside a
    script run, as AppTest does). A kept choice that is no longer an option falls back to the first.
    ``where`` is the container; ``kwargs`` go to ``st.selectbox`` (``help``, ...).
    """
    options = list(options)
    shown = widget_key(key)
    if st.session_state.get(key) in options:
        st.session_state[shown] = st.session_state[key]  # the choice made in another language, or preset by a page
    elif shown in st.session_state and st.session_state[shown] not in options:
        del st.session_state[shown]
    choice = where.selectbox(
        label, options, format_func=names.__getitem__, key=shown, on_change=_keep, args=(key, shown), **kwargs
    )
    st.session_state[key] = choice
    return choice


def _keep(key: str, shown: str) -> None:
    st.session_state[key] = st.session_state[shown]
