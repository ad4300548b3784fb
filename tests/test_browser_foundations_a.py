"""The Foundations pages of part A (perceptron, activations, losses, optimizers) in a real headless Chromium.

Each page in English and Korean: no exception, no console error, the formulas rendered by KaTeX, the
Korean page without English sentences; the optimizers' step slider moves the race. Same rules as
tests/test_browser.py: with CI=true a missing Chromium or Playwright is a failure. Screenshots land in
artifacts/screenshots/foundations-*.png.
"""

from __future__ import annotations

import pytest

from cnnviz.i18n import translate
from tests.browser import SHOTS, exceptions_on, full_screenshot, main_text, require_browser, wait_settled, watch_console
from tests.text_checks import english_runs

require_browser()

PAGES = ["perceptron", "activations", "losses", "optimizers"]


def _open(context, url: str, lang: str):
    page = context.new_page()
    console = watch_console(page)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    if lang == "ko":
        page.get_by_text("한국어").click()
        wait_settled(page)
    return page, console


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("stem", PAGES)
def test_page_renders_in_both_languages(server: str, context, stem: str, lang: str) -> None:
    page, console = _open(context, f"{server}/{stem}", lang)
    page.wait_for_selector(f"h1:has-text('{translate(f'{stem}.title', lang)}')")
    page.wait_for_selector(".katex")  # st.latex drawn by the bundled KaTeX (offline)
    page.wait_for_selector(".js-plotly-plot")
    full_screenshot(page, SHOTS / f"foundations-{stem}-{lang}.png")
    assert exceptions_on(page) == []
    if lang == "ko":
        assert english_runs(main_text(page)) == []
    assert console.app_errors() == []
    page.close()


def test_the_optimizers_step_slider_moves_the_race(server: str, context) -> None:
    page, console = _open(context, f"{server}/optimizers", "en")
    page.wait_for_selector("[data-testid='stCaptionContainer'] :text('SGD at step 100')")
    page.locator(".st-key-opt_step [role='slider']").focus()
    page.keyboard.press("Home")
    page.wait_for_selector("[data-testid='stCaptionContainer'] :text('SGD at step 0: (-7, 2)')")
    wait_settled(page)
    assert exceptions_on(page) == [] and console.app_errors() == []
    page.close()
