"""The Feature-visualisation page in a real headless Chromium: a short run forms a picture, in English and Korean.

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


def _slide(page, key: str, right: int) -> None:
    """Move slider ``key`` to its lowest value, then ``right`` steps up, with the keyboard."""
    thumb = page.locator(f".st-key-{key} input[type='range']")
    thumb.focus()
    thumb.press("Home")
    for _ in range(right):
        thumb.press("ArrowRight")
    wait_settled(page)


def test_a_short_run_forms_a_picture_in_english_and_korean(server: str, context) -> None:
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/feature_visualization", wait_until="domcontentloaded")
    page.wait_for_selector(f"h1:has-text('{translate('feature_visualization.title', 'en')}')")
    wait_settled(page)
    _slide(page, "feature_vis_size", 2)  # 64×64
    _slide(page, "feature_vis_steps", 1)  # 20 steps
    page.get_by_role("button", name=translate("feature_visualization.run", "en")).click()
    page.wait_for_selector('[data-testid="stPlotlyChart"]', timeout=120_000)  # the run's curve: it has finished
    wait_settled(page)
    text = main_text(page)
    assert translate("feature_visualization.activation", "en") in text  # the curve of the run
    assert page.locator('[data-testid="stImage"] img').count() >= 2  # the grown picture and the start, patches too
    full_screenshot(page, SHOTS / "feature_visualization-en.png")
    page.get_by_text("한국어").click()
    page.wait_for_selector(f"h1:has-text('{translate('feature_visualization.title', 'ko')}')")
    wait_settled(page)
    assert page.get_by_role("button", name=translate("feature_visualization.again", "ko")).count() == 1  # kept
    full_screenshot(page, SHOTS / "feature_visualization-ko.png")
    assert english_runs(main_text(page)) == []
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()
