"""The Segmentation page in a real headless Chromium: a tiny run to its end, then the page in English and Korean.

Same rules as tests/test_browser.py: with CI=true this test must run (a missing Chromium or Playwright
is a failure, not a skip). Screenshots land in artifacts/screenshots/.
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
    thumb = page.locator(f".st-key-{key} input[type='range']").first
    thumb.focus()
    thumb.press("Home")
    wait_settled(page)


def test_a_tiny_run_ends_with_masks_in_english_and_korean(server: str, context) -> None:
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/segmentation", wait_until="domcontentloaded")
    page.wait_for_selector(f"h1:has-text('{translate('segmentation.title', 'en')}')", timeout=120_000)
    wait_settled(page)
    _lowest(page, "seg_n_train")  # 50 training scenes
    _lowest(page, "seg_epochs")  # 1 epoch
    page.get_by_role("button", name=translate("segmentation.start", "en")).click()
    page.wait_for_selector(f"text={translate('segmentation.miou_here', 'en')}", timeout=120_000)
    wait_settled(page)
    text = main_text(page)
    assert translate("segmentation.score_maps", "en") in text
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 3  # loss, scores, IoU per class
    page.get_by_role("button", name=translate("segmentation.download", "en", kind=translate(
        "segmentation.upsampling.transposed", "en"))).wait_for()  # fmt: skip
    full_screenshot(page, SHOTS / "segmentation-en.png")
    page.get_by_text("한국어").click()
    page.wait_for_selector(f"h1:has-text('{translate('segmentation.title', 'ko')}')", timeout=60_000)
    page.wait_for_selector(f"text={translate('segmentation.miou_here', 'ko')}", timeout=60_000)  # the FCN is kept
    wait_settled(page)
    full_screenshot(page, SHOTS / "segmentation-ko.png")
    assert english_runs(main_text(page)) == []
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()
