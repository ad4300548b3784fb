"""Radios, selects and multiselects whose options are shown translated, keeping the choice across a language switch.

Streamlit keeps such a widget's value as the text it shows. After the learner switches language, the
English text is no longer among the Korean ones: the widget then shows nothing selected (or an English
chip) while the page goes on with another value. :func:`translated_choice` gives the widget one key per
language and seeds it with the last choice, kept as the option itself under ``key``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from cnnviz.i18n import LANGUAGES
from cnnviz.ui.base import current_language

__all__ = ["translated_choice"]


def translated_choice(
    widget: str, label: str, options: Sequence[Any], *, key: str, default: Any, where: Any = st, **kwargs: Any
) -> Any:
    """Draw ``where.<widget>`` ("radio", "selectbox" or "multiselect") and return its value (an option, or a list).

    ``st.session_state[key]`` holds the choice as options, whatever the language; the widget itself has
    the key ``f"{key}_{language}"``. A remembered choice that is no longer among ``options`` gives way to
    ``default``. ``kwargs`` go to the widget (``format_func``, ``horizontal``, ``help``, ...).
    """
    own = f"{key}_{current_language()}"
    for other in LANGUAGES:  # a later switch back seeds that language's widget from the latest choice
        if f"{key}_{other}" != own:
            st.session_state.pop(f"{key}_{other}", None)
    if own not in st.session_state:
        st.session_state[own] = _valid(st.session_state.get(key, default), options, default, widget == "multiselect")
    value = getattr(where, widget)(label, options, key=own, **kwargs)
    st.session_state[key] = value
    return value


def _valid(value: Any, options: Sequence[Any], default: Any, many: bool) -> Any:
    if many:
        return [v for v in value if v in options] if isinstance(value, list | tuple) else default
    return value if value in options else default
