"""Translate user-facing strings: one catalog per area in ``cnnviz/locales/*.json``.

Each catalog file maps a key to ``{"en": "...", "ko": "..."}``. Keys are namespaced by the file
name's area (``"arith.title"`` lives in ``arith.json``), so several people can add strings without
touching each other's files. Values are ``str.format`` templates: ``t("arith.out", "ko", h=4)``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "translate", "load_catalog", "catalog_problems"]

LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어"}
DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).with_name("locales")


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, dict[str, str]]:
    """Read every catalog file into one mapping key → {language: template}.

    The files are package data that never change while the app runs, so reading them once is safe.
    Raises KeyError when two files define the same key.
    """
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(LOCALES_DIR.glob("*.json")):
        entries = json.loads(path.read_text(encoding="utf-8"))
        for key, texts in entries.items():
            if key in merged:
                raise KeyError(f"translation key {key!r} is defined twice (again in {path.name})")
            merged[key] = texts
    return merged


def translate(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """Return the text for ``key`` in ``lang``, formatted with ``values``.

    Falls back to English, then to the key itself, so a missing string never breaks a page
    (the catalog test is what catches it).
    """
    texts = load_catalog().get(key)
    if texts is None:
        return key
    template = texts.get(lang) or texts.get(DEFAULT_LANGUAGE) or key
    return template.format(**values) if values else template


def catalog_problems() -> list[str]:
    """List missing languages, empty strings and placeholder mismatches in the catalogs."""
    import string

    problems = []
    for key, texts in load_catalog().items():
        fields = {}
        for lang in LANGUAGES:
            text = texts.get(lang)
            if not text or not text.strip():
                problems.append(f"{key}: no {lang} text")
                continue
            fields[lang] = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        if len(set(map(frozenset, fields.values()))) > 1:
            problems.append(f"{key}: placeholders differ between languages: {fields}")
    return problems
