"""Translate user-facing strings: one catalog per area in ``cnnviz/locales/*.json``.

Each catalog file maps a key to ``{"en": "...", "ko": "..."}``. Keys are namespaced by the area in
the file's name (``"arith.title"`` lives in ``arith.json``; the error messages of a core package
live in ``errors_<package>.json`` under ``"errors.*"``), so several people can add strings without
touching each other's files. Values are ``str.format`` templates: ``t("arith.out", "ko", h=4)``.

Plural forms: a language's text may be ``{"one": "...", "other": "..."}``; the value of the
placeholder ``n`` picks the form (``one`` exactly when ``n == 1``). Korean needs none.

A key that is missing falls back to English, then to the key itself, so a page never breaks in
production; with the environment variable ``CNNVIZ_STRICT_I18N=1`` (the test suite sets it) a
missing key or language raises :class:`MissingTranslation` instead, so a test fails.
"""

from __future__ import annotations

import json
import os
import string
from functools import lru_cache
from pathlib import Path

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "MissingTranslation", "catalog_problems", "load_catalog", "translate"]

LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어"}
DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).with_name("locales")
STRICT_ENV = "CNNVIZ_STRICT_I18N"
PLURAL_FORMS = ("one", "other")

Text = str | dict[str, str]  # a template, or its plural forms


class MissingTranslation(KeyError):
    """A key (or one language of it) is not in the catalogs; raised only in strict mode."""


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, dict[str, Text]]:
    """Read every catalog file into one mapping key → {language: template}.

    The files are package data that never change while the app runs, so reading them once is safe.
    Raises KeyError when two files define the same key.
    """
    merged: dict[str, dict[str, Text]] = {}
    for path in sorted(LOCALES_DIR.glob("*.json")):
        entries = json.loads(path.read_text(encoding="utf-8"))
        for key, texts in entries.items():
            if key in merged:
                raise KeyError(f"translation key {key!r} is defined twice (again in {path.name})")
            merged[key] = texts
    return merged


def translate(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """Return the text for ``key`` in ``lang``, formatted with ``values`` (plural form chosen by ``n``).

    Falls back to English, then to the key itself; in strict mode raises MissingTranslation instead.
    """
    texts = load_catalog().get(key)
    text = None if texts is None else texts.get(lang)
    if text is None:
        if os.environ.get(STRICT_ENV) == "1":
            raise MissingTranslation(f"no {lang!r} text for translation key {key!r}")
        text = (texts or {}).get(DEFAULT_LANGUAGE)
        if text is None:
            return key
    if isinstance(text, dict):
        text = text["one" if values.get("n") == 1 else "other"]
    return text.format(**values) if values else text


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _forms(key: str, lang: str, text: Text) -> tuple[list[str], list[str]]:
    """Return the text's templates and any problems with its shape (empty, or wrong plural forms)."""
    if isinstance(text, dict):
        if set(text) != set(PLURAL_FORMS):
            return [], [f"{key}: {lang} plural forms must be exactly {PLURAL_FORMS}, got {sorted(text)}"]
        templates = list(text.values())
        problems = (
            []
            if all("n" in _placeholders(t) or k == "one" for k, t in text.items())
            else [f"{key}: the {lang} 'other' form must use the count {{n}}"]
        )
    else:
        templates, problems = [text], []
    if not all(isinstance(t, str) and t.strip() for t in templates):
        problems.append(f"{key}: empty {lang} text")
    return templates, problems


def catalog_problems() -> list[str]:
    """List missing languages, empty strings, bad plural forms and placeholder mismatches in the catalogs."""
    problems = []
    for key, texts in load_catalog().items():
        fields = {}
        for lang in LANGUAGES:
            if lang not in texts:
                problems.append(f"{key}: no {lang} text")
                continue
            templates, shape_problems = _forms(key, lang, texts[lang])
            problems += shape_problems
            if templates:
                fields[lang] = set().union(*(_placeholders(t) for t in templates))
        if len(set(map(frozenset, fields.values()))) > 1:
            problems.append(f"{key}: placeholders differ between languages: {fields}")
    return problems
