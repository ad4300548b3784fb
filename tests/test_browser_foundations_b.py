"""The Foundations pages of part B (initialisation, batch norm and dropout, regularisation, upsampling) in Chromium.

Each page in English, then Korean after the language switch: no exception, no console error, the formulas
drawn by KaTeX, the plots drawn, the Korean page without English sentences. The upsampling page also
shows the core's explanation for an impossible output_padding. Same rules as tests/test_browser.py: with
CI=true a missing Chromium or Playwright is a failure. Screenshots: artifacts/screenshots/foundations-*.png.
"""

from __future__ import annotations

import pytest

from cnnviz.i18n import translate
from tests.browser import SHOTS, exceptions_on, full_screenshot, main_text, require_browser, wait_settled, watch_console
from tests.text_checks import english_runs

require_browser()

PAGES = ["initialization", "normalization", "regularization", "upsampling"]


def _check(page, console, stem: str, lang: str) -> None:
    page.wait_for_selector(f"h1:has-text('{translate(f'{stem}.title', lang)}')", timeout=120_000)
    page.wait_for_selector(".katex")  # st.latex drawn by the bundled KaTeX (offline)
    page.wait_for_selector(".js-plotly-plot")
    wait_settled(page, timeout=120)
    full_screenshot(page, SHOTS / f"foundations-{stem}-{lang}.png")
    assert exceptions_on(page) == []
    if lang == "ko":
        assert english_runs(main_text(page)) == []
    assert console.app_errors() == []


def _impossible_output_padding(page) -> None:
    """output_padding 2 with stride 2: the core's keyed message, and the sections below still drawn."""
    slider = page.locator(".st-key-up_output_padding input[type='range']")
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("[data-testid='stAlertContentError'] :text('output_padding 2 must be smaller')")
    wait_settled(page)
    assert page.locator(".st-key-up_counts .js-plotly-plot").count() == 1
    page.keyboard.press("Home")
    wait_settled(page)


@pytest.mark.parametrize("stem", PAGES)
def test_page_renders_in_english_then_korean(server: str, context, stem: str) -> None:
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/{stem}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    _check(page, console, stem, "en")
    if stem == "upsampling":
        _impossible_output_padding(page)
    page.get_by_text("한국어").click()
    _check(page, console, stem, "ko")
    page.close()
