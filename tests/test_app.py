"""The app's shell: navigation, home page, language switch, and every page opening in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.i18n import translate
from cnnviz.ui.base import PAGES

ROOT = Path(__file__).resolve().parent.parent


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()


def test_every_declared_page_exists_and_only_real_pages_live_in_pages() -> None:
    declared = {info.path for info in PAGES}
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert declared == on_disk


def test_home_lists_every_page_with_a_link() -> None:
    at = _app()
    assert not at.exception
    assert at.title[0].value == translate("home.title", "en")
    summaries = {m.value for m in at.markdown}
    for info in PAGES[1:]:
        assert translate(info.summary, "en") in summaries


def test_language_switch_translates_the_page_and_survives_navigation() -> None:
    at = _app()
    at.radio(key="lang_widget").set_value("ko").run()
    assert not at.exception
    assert at.title[0].value == translate("home.title", "ko")
    at.switch_page("pages/pooling.py").run()
    assert not at.exception
    assert at.session_state["lang"] == "ko"
    assert at.title[0].value == translate("pool.title", "ko")


def test_sidebar_shows_the_compute_device() -> None:
    at = _app()
    captions = [c.value for c in at.sidebar.caption]
    assert any(c.startswith(translate("ui.device", "en", device="")) and "CPU" in c for c in captions), captions


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("info", PAGES, ids=lambda info: info.path)
def test_every_page_opens_without_error(info, lang: str) -> None:
    at = AppTest.from_file(str(ROOT / info.path), default_timeout=120)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    heading = "home.title" if info.path == "pages/home.py" else info.title
    assert at.title[0].value == translate(heading, lang)


def test_url_paths_match_file_names_so_deep_links_work_before_navigation_ran() -> None:
    for info in PAGES[1:]:
        assert info.url_path == Path(info.path).stem
