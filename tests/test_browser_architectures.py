"""The Architectures page in a real headless Chromium against `streamlit run app.py`, in English and Korean.

Two networks side by side with their charts and block diagram, the explainers and the timeline render
without an exception or a console error; the Korean page shows no English sentence outside proper names
and the cited papers. Same rules as tests/test_browser.py: with CI=true a missing Chromium or Playwright
is a failure. Screenshots land in artifacts/screenshots/architectures-*.png.
"""

from __future__ import annotations

from cnnviz.arch import SOURCES
from tests.browser import SHOTS, exceptions_on, full_screenshot, main_text, require_browser, wait_settled, watch_console
from tests.text_checks import english_runs

require_browser()

PROPER = ("VGG", "ResNet", "AlexNet", "GoogLeNet", "EfficientNet", "MobileNet", "LeNet", "TinyVGG", "ImageNet")


def test_the_page_compares_two_networks_in_english_and_korean(server: str, context) -> None:
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/architectures", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    assert page.locator(".st-key-arch_chart_0 .js-plotly-plot").count() == 1
    assert page.locator(".st-key-arch_chart_1 .js-plotly-plot").count() == 1
    page.locator('[data-testid="stExpander"] summary').first.click()  # the first network's block diagram
    page.wait_for_selector('[data-testid="stGraphVizChart"] svg', timeout=60_000)
    wait_settled(page)
    full_screenshot(page, SHOTS / "architectures-en.png")
    assert exceptions_on(page) == [] and console.app_errors() == []

    page.get_by_text("한국어").click()
    wait_settled(page)
    full_screenshot(page, SHOTS / "architectures-ko.png")
    assert exceptions_on(page) == [] and console.app_errors() == []
    text = main_text(page)
    for source in SOURCES.values():  # the cited papers keep their English titles
        text = text.replace(source, "")
    runs = [run for run in english_runs(text) if not any(name in run for name in PROPER)]
    assert runs == [], runs
    page.close()
