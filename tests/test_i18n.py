"""Every user-facing key exists in English and Korean, including every key a page builds with an f-string.

A key written as a literal (``t("arith.title")``) is checked directly. A key built at run time
(``t(f"pool.kind.{k}")``) is checked through the ``ENUMERATIONS`` of ``tests/keys_<area>.py``: the
pattern maps to every value the placeholder can take, read from the code (enums, registries,
constants), never typed there. A new f-string key without an entry fails
``test_every_fstring_key_is_enumerated``.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from cnnviz.i18n import LANGUAGES, STRICT_ENV, MissingTranslation, catalog_problems, load_catalog, translate

ROOT = Path(__file__).resolve().parent.parent
UI_SOURCES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "cnnviz" / "ui").glob("*.py")])
CORE_SOURCES = sorted(p for p in (ROOT / "cnnviz").rglob("*.py") if "ui" not in p.relative_to(ROOT / "cnnviz").parts)
TRANSLATORS = {"t", "translate", "Phrase", "from_key"}


def _values(source: Callable[[], Iterable[object]]) -> Callable[[], list[str]]:
    return lambda: [str(getattr(v, "value", v)) for v in source()]


def _enumerations() -> dict[str, Callable[[], list[str]]]:
    """Pattern (placeholders written "{}") → the values that fill it, from the code itself.

    Each area keeps its own table (tests/keys_*.py), so the areas can grow without touching each other.
    """
    tables = [importlib.import_module(f"tests.{p.stem}").ENUMERATIONS for p in sorted(ROOT.glob("tests/keys_*.py"))]
    merged: dict[str, Callable[[], list[str]]] = {}
    for table in tables:
        assert not set(merged) & set(table), set(merged) & set(table)
        merged |= {pattern: _values(source) for pattern, source in table.items()}
    return merged


def _calls(path: Path) -> Iterable[ast.Call]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args:
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in TRANSLATORS:
                yield node


def _literal_keys(path: Path) -> set[str]:
    """String literals passed first to t(...), translate(...), Phrase(...) or X.from_key(...)."""
    keys = set()
    for call in _calls(path):
        first = call.args[0]
        options = (first.body, first.orelse) if isinstance(first, ast.IfExp) else (first,)  # "a" if x else "b"
        keys |= {n.value for n in options if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return keys


def _fstring_patterns(path: Path) -> set[str]:
    """The f-string keys, with every placeholder written "{}"; first-argument f-strings only."""
    patterns = set()
    for call in _calls(path):
        first = call.args[0]
        if isinstance(first, ast.JoinedStr):
            patterns.add("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in first.values))
    return patterns


ALL_SOURCES = UI_SOURCES + CORE_SOURCES


def test_languages_are_english_and_korean() -> None:
    assert set(LANGUAGES) == {"en", "ko"}


def test_every_key_has_both_languages_and_matching_placeholders() -> None:
    assert catalog_problems() == []


def test_catalog_problems_reports_a_missing_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = {
        "x.a": {"en": "Hi {name}"},
        "x.b": {"en": "{n}", "ko": "{m}"},
        "x.c": {"en": {"one": "a map", "many": "{n} maps"}, "ko": "{n}"},
    }
    (tmp_path / "x.json").write_text(json.dumps(entries))
    monkeypatch.setattr("cnnviz.i18n.LOCALES_DIR", tmp_path)
    load_catalog.cache_clear()
    try:
        problems = catalog_problems()
    finally:
        load_catalog.cache_clear()
    assert any("x.a: no ko text" in p for p in problems)
    assert any(p.startswith("x.b: placeholders differ") for p in problems)
    assert any(p.startswith("x.c: en plural forms") for p in problems)


def test_translate_formats_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    assert translate("ui.device", "ko", device="CPU") == "연산 장치: CPU"
    monkeypatch.setenv(STRICT_ENV, "0")
    assert translate("no.such.key", "ko") == "no.such.key"  # a user never sees a crash for a missing text
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(MissingTranslation, match="no.such.key"):
        translate("no.such.key", "ko")


def test_the_test_suite_runs_in_strict_mode() -> None:
    import os

    assert os.environ.get(STRICT_ENV) == "1", "tests/conftest.py sets it, so a missing key fails a page test"


def test_plural_forms_follow_the_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {"x.maps": {"en": {"one": "the only output map", "other": "all {n} output maps"}, "ko": "출력 맵 {n}개"}}
    (tmp_path / "x.json").write_text(json.dumps(entry, ensure_ascii=False))
    monkeypatch.setattr("cnnviz.i18n.LOCALES_DIR", tmp_path)
    load_catalog.cache_clear()
    try:
        assert translate("x.maps", "en", n=1) == "the only output map"
        assert translate("x.maps", "en", n=3) == "all 3 output maps"
        assert translate("x.maps", "ko", n=1) == "출력 맵 1개"
        assert catalog_problems() == []
    finally:
        load_catalog.cache_clear()


@pytest.mark.parametrize("path", ALL_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_literal_key_used_is_defined(path: Path) -> None:
    missing = _literal_keys(path) - set(load_catalog())
    assert not missing, f"{path.relative_to(ROOT)} uses undefined keys {sorted(missing)}"


def test_every_fstring_key_is_enumerated() -> None:
    known = _enumerations()
    found = {pattern: path for path in ALL_SOURCES for pattern in _fstring_patterns(path)}
    unknown = {p: str(path.relative_to(ROOT)) for p, path in found.items() if p not in known}
    assert not unknown, f"add these f-string keys to ENUMERATIONS in tests/keys_<area>.py: {unknown}"
    assert found, "the scan finds the f-string keys"


@pytest.mark.parametrize("pattern", sorted(_enumerations()))
def test_every_enumerated_key_exists_in_both_languages(pattern: str) -> None:
    values = _enumerations()[pattern]()
    assert values, pattern
    catalog = load_catalog()
    keys = [pattern.replace("{}", value, 1) for value in values]
    missing = [k for k in keys if k not in catalog or any(lang not in catalog[k] for lang in LANGUAGES)]
    assert not missing, f"{pattern}: {missing}"


def test_the_fstring_scan_sees_placeholders() -> None:
    sample = ast.parse('t(f"pool.kind.{k}")').body[0].value.args[0]
    assert isinstance(sample, ast.JoinedStr)
    text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in sample.values)
    assert re.fullmatch(r"pool\.kind\.\{\}", text)


def test_navigation_keys_exist() -> None:
    from cnnviz.ui.base import PAGES

    catalog = load_catalog()
    keys = {key for info in PAGES for key in (info.section, info.title, info.summary)}
    assert keys - set(catalog) == set()
