"""The Detection page's lessons in a real headless Chromium, in English then Korean.

No exception and no console error; formulas drawn by KaTeX, plotly figures and the R-CNN diagram
drawn; the Korean page shows no English sentence; a box typed with x2 < x1 shows the keyed message (in
Korean) in place of the IoU lesson only, and the lessons below still draw. Same rules as tests/test_browser.py:
with CI=true a missing Chromium or Playwright is a failure. Screenshots: artifacts/screenshots/detection-*.png.
"""

from __future__ import annotations

from cnnviz.i18n import translate
from tests.browser import SHOTS, exceptions_on, full_screenshot, main_text, require_browser, wait_settled, watch_console
from tests.text_checks import english_runs

require_browser()


def _check(page, console, lang: str) -> None:
    page.wait_for_selector(f"h1:has-text('{translate('detection.title', lang)}')")
    page.wait_for_selector(".katex")
    page.wait_for_selector(".st-key-det_roi_align_values .js-plotly-plot")  # the last lesson's figures drawn
    page.wait_for_selector("[data-testid='stGraphVizChart'] svg")
    wait_settled(page)
    assert exceptions_on(page) == []
    assert console.app_errors() == []


def test_the_lessons_render_in_english_and_korean_and_an_inverted_box_is_explained(server: str, context) -> None:
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/detection", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    _check(page, console, "en")
    assert page.locator(".st-key-det_iou_figure .js-plotly-plot").count() == 1
    full_screenshot(page, SHOTS / "detection-en.png")

    page.get_by_text("한국어").click()
    _check(page, console, "ko")
    assert english_runs(main_text(page)) == []
    full_screenshot(page, SHOTS / "detection-ko.png")

    box = page.locator(".st-key-det_iou_a_x2 input")  # x2 = 20 < x1 = 40
    box.fill("20")
    box.press("Enter")
    page.wait_for_selector("[data-testid='stAlertContentError'] :text('x1 ≤ x2, y1 ≤ y2가 되게 하세요')")
    wait_settled(page)
    assert page.locator(".st-key-det_iou_figure").count() == 0  # no picture drawn from the bad box
    assert page.locator(".st-key-det_nms_figure .js-plotly-plot").count() == 1  # the next lessons still work
    assert exceptions_on(page) == [] and console.app_errors() == []
    page.close()
