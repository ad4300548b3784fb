"""Streamlit glue shared by every page: page set-up, language, device, errors, image input.

This is the only package in cnnviz that imports streamlit.
"""

from __future__ import annotations

from cnnviz.ui.base import PAGES, bootstrap, current_language, error_text, page_link, show_error, t
from cnnviz.ui.image_input import image_input
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "PAGES",
    "bootstrap",
    "bounded_slider",
    "current_language",
    "error_text",
    "image_input",
    "page_link",
    "show_error",
    "t",
]
