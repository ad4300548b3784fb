"""Live training in a real headless Chromium: a run in English and one in Korean, screenshots while it trains and
after, and the downloaded .pt loaded back and looked inside on Feature maps.

With CI=true these tests must run: a missing Chromium or Playwright is a failure, not a skip.
Screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnviz.i18n import translate
from tests.browser import (
    SHOTS,
    click_until_gone,
    exceptions_on,
    full_screenshot,
    main_text,
    require_browser,
    set_number,
    wait_settled,
    watch_console,
)
from tests.test_transfer import photo_zip
from tests.text_checks import english_runs

ROOT = Path(__file__).resolve().parent.parent

require_browser()


def _open_live_training(context, server: str, *, korean: bool = False):
    page = context.new_page()
    console = watch_console(page)
    page.goto(server, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    if korean:
        page.get_by_text("한국어").click()
        wait_settled(page)
    title = "실시간 학습" if korean else "Live training"
    _go(page, title)
    page.wait_for_selector(f"h1:has-text('{title}')")
    wait_settled(page)
    return page, console


def _go(page, title: str) -> None:
    """Click a page in the sidebar menu, opening the menu's "View more" first when the page is folded away."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    link = nav.get_by_text(title, exact=True)
    more = nav.locator('[data-testid="stSidebarNavViewButton"]')
    if not link.is_visible() and more.count() and "more" in more.inner_text():
        more.click()
    link.click()


def test_a_run_in_english_and_its_download_loads_back(server: str, context, tmp_path: Path) -> None:
    page, console = _open_live_training(context, server)
    set_number(page, "Training images", 2048)
    set_number(page, "Validation images", 64)
    set_number(page, "Epochs", 12)  # at 32×32 an epoch of 2,048 images takes about a second: the run lasts a while
    page.get_by_role("button", name="Start training").click()
    page.wait_for_selector("text=/First-layer filters after epoch [1-9][0-9]*/", timeout=120_000)  # into the run
    click_until_gone(page, "Pause")
    page.wait_for_selector("text=Paused")
    full_screenshot(page, SHOTS / "live_training-running-en.png")
    click_until_gone(page, "Resume")
    page.wait_for_selector("text=Confusion matrix (validation)", timeout=240_000)
    wait_settled(page)
    full_screenshot(page, SHOTS / "live_training-done-en.png")
    assert "This file holds the weights" in main_text(page) or "is also the best" in main_text(page)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the model (.pt)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("cnnviz-tinyvgg-run1-") and saved.suffix == ".pt"

    page.get_by_text("Load a model you downloaded earlier").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').last.set_input_files(str(saved))
    page.wait_for_selector(f"text=Loaded {saved.name}")
    wait_settled(page)
    page.get_by_role("button", name="Look inside this model (Feature maps)").last.click()
    page.wait_for_selector("h1:has-text('Feature maps')")
    wait_settled(page)
    assert f"{saved.name} (uploaded)" in main_text(page)
    full_screenshot(page, SHOTS / "live_training-loaded-in-feature-maps.png")
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()


def test_a_run_in_korean_shows_korean_while_it_trains_and_after(server: str, context) -> None:
    page, console = _open_live_training(context, server, korean=True)
    set_number(page, "학습 이미지 수", 2048)
    set_number(page, "검증 이미지 수", 64)
    set_number(page, "에폭", 12)  # at 32×32 an epoch of 2,048 images takes about a second: the run lasts a while
    page.get_by_role("button", name="학습 시작").click()
    page.wait_for_selector("text=/에폭 [1-9][0-9]* 후 첫 층 필터/", timeout=120_000)  # a little into the run
    click_until_gone(page, "일시 정지")
    page.wait_for_selector("text=일시 정지됨")
    full_screenshot(page, SHOTS / "live_training-running-ko.png")
    running = main_text(page)
    click_until_gone(page, "계속")
    page.wait_for_selector("text=혼동 행렬 (검증)", timeout=240_000)
    wait_settled(page)
    full_screenshot(page, SHOTS / "live_training-done-ko.png")
    done = main_text(page)
    for text in (running, done):
        assert english_runs(text) == []
    assert "이 파일에는" in done or "가장 좋은 에폭" in done
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()


# --------------------------------------------------------------------- transfer from EfficientNet-Lite0, the builder


def _transfer_run(context, server: str, tmp_path: Path, *, korean: bool) -> tuple:
    """Upload a zip of 3 × 6 photos on a page with "my own images" on, train the head, wait for the results."""
    page, console = _open_live_training(context, server, korean=korean)
    lang = "ko" if korean else "en"
    page.get_by_text(translate("train.own_images", lang)).click()
    wait_settled(page)
    archive = tmp_path / "photos.zip"
    archive.write_bytes(photo_zip(per_class=6))
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(archive))
    page.wait_for_selector(f"text={translate('train.zip_summary', lang, n=3, counts='', size=224)[:12]}")
    wait_settled(page)
    set_number(page, translate("train.epochs", lang), 3)
    page.get_by_role("button", name=translate("train.start", lang)).click()
    page.wait_for_selector(f"text={translate('train.confusion', lang)}", timeout=240_000)
    wait_settled(page)
    assert translate("train.features_title", lang, dims="1,280") in main_text(page)
    return page, console


def test_my_photos_on_efficientnet_features_in_english_open_on_feature_maps(server: str, context,
                                                                            tmp_path: Path) -> None:  # fmt: skip
    page, console = _transfer_run(context, server, tmp_path, korean=False)
    full_screenshot(page, SHOTS / "live_training-transfer-en.png")
    assert "Trained: only a new head, 3,843 parameters (1,280 features → 3 classes)." in main_text(page)
    page.get_by_role("button", name="Look inside this model (Feature maps)").first.click()
    page.wait_for_selector("h1:has-text('Feature maps')")
    wait_settled(page)
    full_screenshot(page, SHOTS / "live_training-transfer-in-feature-maps-en.png")
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()


def test_my_photos_on_efficientnet_features_in_korean(server: str, context, tmp_path: Path) -> None:
    page, console = _transfer_run(context, server, tmp_path, korean=True)
    full_screenshot(page, SHOTS / "live_training-transfer-ko.png")
    assert english_runs(main_text(page)) == []
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_network_sent_from_the_builder_trains(server: str, context, lang: str) -> None:
    page, console = _open_live_training(context, server, korean=lang == "ko")
    _go(page, translate("network_builder.title", lang))
    page.wait_for_selector(f"h1:has-text('{translate('network_builder.title', lang)}')")
    wait_settled(page)  # a click while the page still runs can be lost to its rerun
    page.get_by_role("button", name=translate("network_builder.send", lang)).click()
    wait_settled(page)
    _go(page, translate("train.title", lang))
    page.wait_for_selector(f"h1:has-text('{translate('train.title', lang)}')")
    wait_settled(page)
    page.locator(".st-key-train_model [data-testid='stSelectbox']").click()
    page.get_by_role("option", name=translate("train.model_builder", lang), exact=True).click()
    wait_settled(page)
    set_number(page, translate("train.n_train", lang), 128)
    set_number(page, translate("train.n_val", lang), 32)
    set_number(page, translate("train.epochs", lang), 1)
    page.get_by_role("button", name=translate("train.start", lang)).click()
    page.wait_for_selector(f"text={translate('train.confusion', lang)}", timeout=240_000)
    wait_settled(page)
    full_screenshot(page, SHOTS / f"live_training-builder-{lang}.png")
    text = main_text(page)
    assert translate("train.model_builder", lang) in text
    if lang == "ko":
        assert english_runs(text) == []
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()
