"""The Foundations pages of part A (perceptron, activations, losses, optimizers) in a real headless Chromium.

Each page in English and Korean: no exception, no console error, the formulas rendered by KaTeX, the
Korean page without English sentences; the optimizers' step slider moves the race. One visit a page
(English, then the language switch) keeps the file short. Same rules as tests/test_browser.py: with
CI=true a missing Chromium or Playwright is a failure. Screenshots: artifacts/screenshots/foundations-*.png.
"""

from __future__ import annotations

import pytest

from cnnviz.i18n import translate
from tests.browser import SHOTS, exceptions_on, full_screenshot, main_text, require_browser, wait_settled, watch_console
from tests.text_checks import english_runs

require_browser()

PAGES = ["perceptron", "activations", "losses", "optimizers"]


def _check(page, console, stem: str, lang: str) -> None:
    page.wait_for_selector(f"h1:has-text('{translate(f'{stem}.title', lang)}')")
    page.wait_for_selector(".katex")  # st.latex drawn by the bundled KaTeX (offline)
    page.wait_for_selector(".js-plotly-plot")
    wait_settled(page)
    full_screenshot(page, SHOTS / f"foundations-{stem}-{lang}.png")
    assert exceptions_on(page) == []
    if lang == "ko":
        assert english_runs(main_text(page)) == []
    assert console.app_errors() == []


def _move_the_race(page) -> None:
    """The optimizers' step slider: Home takes every path back to its start."""
    page.wait_for_selector("[data-testid='stCaptionContainer'] :text('SGD at step 100')")
    page.locator(".st-key-opt_step input[type='range']").focus()
    page.keyboard.press("Home")
    page.wait_for_selector("[data-testid='stCaptionContainer'] :text('SGD at step 0: (-7, 2)')")
    wait_settled(page)


@pytest.mark.parametrize("stem", PAGES)
def test_page_renders_in_english_then_korean(server: str, context, stem: str) -> None:
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/{stem}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    _check(page, console, stem, "en")
    if stem == "optimizers":
        _move_the_race(page)
    page.get_by_text("한국어").click()
    _check(page, console, stem, "ko")
    page.close()
