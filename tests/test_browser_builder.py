"""The network builder in a real headless Chromium, in English and in Korean.

An impossible row (the "common mistake" example: a linear layer without flatten) is explained on the
page in the learner's language while the rest of the page stays; the downloaded Python file runs and
builds the network the page describes. Same rules as tests/test_browser.py: with CI=true a missing
Chromium or Playwright is a failure. Screenshots land in artifacts/screenshots/network_builder-*.png.
"""

from __future__ import annotations

from pathlib import Path

import torch

from cnnviz.arch import plan_network, preset_rows
from cnnviz.i18n import translate
from tests.browser import SHOTS, exceptions_on, full_screenshot, main_text, require_browser, wait_settled, watch_console
from tests.text_checks import english_runs

require_browser()


def _open(context, server: str, lang: str):
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/network_builder", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    if lang == "ko":
        page.get_by_text("한국어").click()
        page.wait_for_selector(f"h1:has-text('{translate('network_builder.title', 'ko')}')")
        wait_settled(page)
    page.wait_for_selector(".st-key-network_builder_plan [data-testid='stDataFrame']")
    return page, console


def _prose(page) -> str:
    """The main column's text without its code blocks (code is English everywhere)."""
    text = main_text(page)
    for code in page.locator('[data-testid="stCode"]').all_text_contents():
        for line in code.splitlines():
            text = text.replace(line, "")
    return text


def _choose_example(page, lang: str, key: str) -> None:
    page.locator(f".st-key-network_builder_preset_{lang} [data-testid='stSelectbox']").click()
    page.get_by_role("option", name=translate(f"network_builder.preset.{key}", lang), exact=True).click()
    wait_settled(page)


def test_english_page_explains_an_impossible_row_and_its_download_runs(server: str, context, tmp_path: Path) -> None:
    page, console = _open(context, server, "en")
    full_screenshot(page, SHOTS / "network_builder-en.png")
    _choose_example(page, "en", "mistake")
    problem = page.locator(".st-key-network_builder_problems [data-testid='stAlertContentError']")
    problem.wait_for()
    assert "Row 3 (linear, input 8×32×32) cannot be built" in problem.inner_text()
    assert "add a flatten row above it (it would give 8,192 values)" in problem.inner_text()
    assert page.locator(".st-key-network_builder_totals [data-testid='stMetric']").count() == 3  # the page goes on
    full_screenshot(page, SHOTS / "network_builder-en-impossible.png")
    _choose_example(page, "en", "resnet")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as Python").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    namespace: dict = {}
    exec(compile(saved.read_text(encoding="utf-8"), str(saved), "exec"), namespace)
    model = namespace["model"]
    plan = plan_network(preset_rows("resnet"), (3, 32, 32))
    assert sum(p.numel() for p in model.parameters()) == plan.total_params
    assert tuple(model.eval()(torch.zeros(1, 3, 32, 32)).shape) == (1, *plan.out_shape)
    page.get_by_role("button", name="Send to Live training").click()
    sent = page.locator(".st-key-network_builder_sent")
    sent.get_by_text("Sent: Live training now has this table (9 rows)").wait_for()
    sent.get_by_role("link", name="Live training").click()
    page.wait_for_selector("h1:has-text('Live training')")
    wait_settled(page)
    more = page.locator('[data-testid="stSidebarNavViewButton"]')
    if more.count() and "more" in more.inner_text():
        more.click()  # the navigation shows the first pages only until asked for all
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Network builder", exact=True).click()
    page.wait_for_selector(".st-key-network_builder_plan [data-testid='stDataFrame']")
    wait_settled(page)
    shown = page.locator(".st-key-network_builder_preset_en input[role='combobox']").input_value()
    assert shown == translate("network_builder.preset.resnet", "en")  # the example chosen is kept
    assert exceptions_on(page) == [] and console.app_errors() == []
    page.close()


def test_korean_page_reads_korean_and_explains_the_impossible_row_in_korean(server: str, context) -> None:
    page, console = _open(context, server, "ko")
    full_screenshot(page, SHOTS / "network_builder-ko.png")
    assert english_runs(_prose(page)) == []
    _choose_example(page, "ko", "mistake")
    problem = page.locator(".st-key-network_builder_problems [data-testid='stAlertContentError']")
    problem.wait_for()
    assert "이 줄 위에 flatten 줄을 넣으세요" in problem.inner_text()
    full_screenshot(page, SHOTS / "network_builder-ko-impossible.png")
    assert english_runs(_prose(page)) == []
    assert exceptions_on(page) == [] and console.app_errors() == []
    page.close()
