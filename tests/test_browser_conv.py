"""The convolution pages in a real headless Chromium against `streamlit run app.py`.

The sliding window follows its step slider and its animation; an impossible stride is explained; a
one-pixel-high upload works; every page in English and Korean shows no exception and no label cut off
at 1400 px. Same rules as tests/test_browser.py: with CI=true a missing Chromium or Playwright is a
failure. Screenshots land in artifacts/screenshots/conv-*.png.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.browser import (
    SHOTS,
    exceptions_on,
    full_screenshot,
    require_browser,
    wait_settled,
    watch_console,
)

ROOT = Path(__file__).resolve().parent.parent

require_browser()

PAGES = ["conv_arithmetic", "image_filters", "pooling"]
# Texts cut off with an ellipsis: an element that clips its text and whose text is wider than its box.
CUT_OFF_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] *')]
  .filter(e => e.innerText && getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1)
  .map(e => e.innerText)"""


def _open(context, url: str, lang: str = "en"):
    page = context.new_page()
    console = watch_console(page)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    if lang == "ko":
        page.get_by_text("한국어").click()
        wait_settled(page)
    return page, console


def _step(page) -> int:
    return int(page.locator(".st-key-arith_diagram svg").get_attribute("data-step"))


def test_the_sliding_window_follows_its_slider_and_a_zero_stride_is_explained(server: str, context) -> None:
    page, console = _open(context, f"{server}/conv_arithmetic")
    assert _step(page) == 0
    page.locator(".st-key-arith_step input[type='range']").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.st-key-arith_diagram svg').dataset.step === '2'")
    page.wait_for_selector(".st-key-arith_step_detail :text('Output cell (0, 2) uses 9 input cells')")
    box = page.locator(".st-key-arith_stride input")
    box.fill("0")
    box.press("Enter")
    page.wait_for_selector("[data-testid='stAlertContentError'] :text('stride 0 is not possible')")
    wait_settled(page)
    assert page.locator(".st-key-arith_diagram").count() == 0  # no picture drawn from some other stride
    assert page.locator(".st-key-arith_stride input").input_value() == "0"  # what the learner typed stays
    assert exceptions_on(page) == [] and console.app_errors() == []
    page.close()


def test_play_animates_the_window_and_pause_stops_it(server: str, context) -> None:
    page, console = _open(context, f"{server}/conv_arithmetic")
    page.locator(".st-key-arith_play label").click()
    page.wait_for_function(
        "() => Number(document.querySelector('.st-key-arith_diagram svg')?.dataset.step) >= 2", timeout=15_000
    )
    page.locator(".st-key-arith_play label").click()
    wait_settled(page)
    paused = _step(page)
    time.sleep(2.5)  # two ticks of the animation, had it kept running
    assert _step(page) == paused
    assert exceptions_on(page) == [] and console.app_errors() == []
    page.close()


def test_a_one_pixel_high_upload_works_on_image_filters(server: str, context, tmp_path: Path) -> None:
    path = tmp_path / "line.png"
    buffer = io.BytesIO()
    Image.fromarray(np.full((1, 6000, 3), 90, dtype=np.uint8)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    page, console = _open(context, f"{server}/image_filters")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(path))
    page.wait_for_selector(".st-key-filters_shapes :text('→ output 1 × 1 × 320')")
    wait_settled(page)
    assert exceptions_on(page) == []
    assert page.get_by_text("Output row: 0 (the only possible value)").count() == 1
    full_screenshot(page, SHOTS / "conv-image_filters-line-upload.png")
    assert console.app_errors() == []
    page.close()


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("path", PAGES)
def test_page_in_both_languages_shows_no_cut_off_label(server: str, context, path: str, lang: str) -> None:
    page, console = _open(context, f"{server}/{path}", lang)
    full_screenshot(page, SHOTS / f"conv-{path}-{lang}.png")
    assert exceptions_on(page) == []
    assert page.evaluate(CUT_OFF_JS) == []
    assert console.app_errors() == []
    page.close()
