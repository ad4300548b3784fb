"""Every user-facing key exists in English and Korean, and every key a page uses is defined."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from cnnviz.i18n import LANGUAGES, catalog_problems, load_catalog, translate

ROOT = Path(__file__).resolve().parent.parent
UI_SOURCES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "cnnviz" / "ui").glob("*.py")])


def test_languages_are_english_and_korean() -> None:
    assert set(LANGUAGES) == {"en", "ko"}


def test_every_key_has_both_languages_and_matching_placeholders() -> None:
    assert catalog_problems() == []


def test_catalog_problems_reports_a_missing_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"x.a": {"en": "Hi {name}"}, "x.b": {"en": "{n}", "ko": "{m}"}}))
    monkeypatch.setattr("cnnviz.i18n.LOCALES_DIR", tmp_path)
    load_catalog.cache_clear()
    try:
        problems = catalog_problems()
    finally:
        load_catalog.cache_clear()
    assert any("x.a: no ko text" in p for p in problems)
    assert any(p.startswith("x.b: placeholders differ") for p in problems)


def test_translate_formats_and_falls_back() -> None:
    assert translate("ui.device", "ko", device="CPU") == "연산 장치: CPU"
    assert translate("no.such.key", "ko") == "no.such.key"


def _literal_keys(path: Path) -> set[str]:
    """Collect the string literals passed as the first argument of t(...)."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "t"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.add(node.args[0].value)
    return keys


@pytest.mark.parametrize("path", UI_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_literal_key_used_is_defined(path: Path) -> None:
    missing = _literal_keys(path) - set(load_catalog())
    assert not missing, f"{path.relative_to(ROOT)} uses undefined keys {sorted(missing)}"
