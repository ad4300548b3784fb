"""Checks on the texts a page shows (in AppTest or in the browser): a Korean page should show no English sentence."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,’'-]+[A-Za-z]{2,}){2,}")  # three English words in a row
TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error", "metric")
WIDGETS = ("slider", "number_input", "selectbox", "multiselect", "radio", "toggle", "select_slider", "button")


def shown_texts(at: AppTest) -> list[str]:
    """Every text element's value and every widget's label and help on the page (code blocks excluded)."""
    texts = []
    for kind in TEXT_ELEMENTS:
        for element in getattr(at, kind):
            texts.append(element.label if kind == "metric" else element.value)
    for kind in WIDGETS:
        for widget in getattr(at, kind):
            texts += [widget.label, getattr(widget, "help", None) or ""]
    return [text for text in texts if isinstance(text, str) and text]


def untranslated(texts: list[str]) -> list[str]:
    """The texts with no Korean letter that hold three English words in a row (a sentence left untranslated)."""
    return [text for text in texts if not HANGUL.search(text) and ENGLISH_RUN.search(text)]


def english_sentences(at: AppTest) -> list[str]:
    """The untranslated texts among the page's texts and widget labels (see ``untranslated``)."""
    return untranslated(shown_texts(at))


def english_runs(text: str) -> list[str]:
    """The runs of three English words or more in the lines of ``text`` that hold no Korean letter."""
    return [run.group(0) for line in text.splitlines() if not HANGUL.search(line) for run in ENGLISH_RUN.finditer(line)]
