"""The core never imports streamlit (only cnnviz/ui may), and never imports a page."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_FILES = sorted(p for p in (ROOT / "cnnviz").rglob("*.py") if "ui" not in p.relative_to(ROOT / "cnnviz").parts)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_files_found() -> None:
    assert len(CORE_FILES) >= 4, CORE_FILES


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_does_not_import_streamlit_or_pages(path: Path) -> None:
    bad = {m for m in _imported_modules(path) if m.split(".")[0] in {"streamlit", "pages", "app"}}
    bad |= {m for m in _imported_modules(path) if m.startswith("cnnviz.ui")}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}: only cnnviz/ui and pages may"


def test_layering_check_catches_a_streamlit_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from streamlit import session_state\nimport os\n", encoding="utf-8")
    assert "streamlit" in _imported_modules(sample)
