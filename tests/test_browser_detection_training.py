"""The Detection page's live detector in a real headless Chromium: a tiny run to its end, then English and Korean.

Same rules as tests/test_browser.py: with CI=true these tests must run (a missing Chromium or
Playwright is a failure, not a skip). Screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

from cnnviz.i18n import translate
from tests.browser import (
    SHOTS,
    exceptions_on,
    full_screenshot,
    main_text,
    require_browser,
    wait_settled,
    watch_console,
)
from tests.text_checks import english_runs

require_browser()


def _lowest(page, key: str) -> None:
    """Move slider ``key`` to its lowest value with the keyboard."""
    thumb = page.locator(f".st-key-{key} input[type='range']")
    thumb.focus()
    thumb.press("Home")
    wait_settled(page)


def _section(page, lang: str) -> str:
    """The page's text from the live section's title on (the lessons above it have their own browser test)."""
    text = main_text(page)
    return text[text.index(translate("dtrain.title", lang)) :]


def test_a_tiny_run_ends_with_boxes_in_english_and_korean(server: str, context) -> None:
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/detection", wait_until="domcontentloaded")
    page.wait_for_selector(f"h2:has-text('{translate('dtrain.title', 'en')}')", timeout=120_000)
    wait_settled(page)
    _lowest(page, "dtrain_n_train")  # 100 training scenes
    _lowest(page, "dtrain_epochs")  # 1 epoch
    page.get_by_role("button", name=translate("dtrain.start", "en")).click()
    page.wait_for_selector(f"h3:has-text('{translate('dtrain.use_title', 'en')}')", timeout=120_000)
    wait_settled(page)
    text = _section(page, "en")
    assert translate("dtrain.scenes_title", "en").strip("*") in text
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2 + 1 + 6 + 1  # curves, AP, 3 scenes × 2, photo
    page.get_by_role("button", name=translate("dtrain.download", "en")).wait_for()
    full_screenshot(page, SHOTS / "detection_training-en.png")
    page.get_by_text("한국어").click()
    page.wait_for_selector(f"h2:has-text('{translate('dtrain.title', 'ko')}')", timeout=60_000)
    wait_settled(page)
    page.get_by_role("button", name=translate("dtrain.download", "ko")).wait_for()  # the detector is kept
    full_screenshot(page, SHOTS / "detection_training-ko.png")
    assert english_runs(_section(page, "ko")) == []
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()
