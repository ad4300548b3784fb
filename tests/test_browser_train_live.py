"""The live panel's layers in a real headless Chromium: a short run, a deeper layer's filters and maps, the weight
and gradient histograms, then the same run seen in Korean. Screenshots land in artifacts/screenshots/.

With CI=true this test must run: a missing Chromium or Playwright is a failure, not a skip.
"""

from __future__ import annotations

from cnnviz.i18n import translate
from tests.browser import (
    SHOTS,
    exceptions_on,
    full_screenshot,
    main_text,
    require_browser,
    set_number,
    wait_settled,
    watch_console,
)
from tests.test_browser_train import _go
from tests.text_checks import english_runs

require_browser()


def _pick(page, key: str, option: str, tries: int = 3) -> None:
    """Choose ``option`` in the select box with widget key ``key`` (again if a rerun closed its list)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for _ in range(tries):
        page.locator(f".st-key-{key} [data-testid='stSelectbox']").click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
        except PlaywrightTimeoutError:
            continue
        wait_settled(page)
        return
    raise AssertionError(f"could not choose {option!r} in {key!r}")


def _radio(page, key: str, option: str) -> None:
    page.locator(f".st-key-{key}").get_by_text(option, exact=True).click()
    wait_settled(page)


def _short_run(context, server: str, lang: str, *, n_train: int, epochs: int):
    """A new session on Live training in ``lang`` (chosen first), a short run started and finished."""
    page = context.new_page()
    console = watch_console(page)
    page.goto(server, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    if lang == "ko":  # before anything else: select boxes keep their old-language text across a switch
        page.get_by_text("한국어").click()
        wait_settled(page)
    title = translate("train.title", lang)
    _go(page, title)
    page.wait_for_selector(f"h1:has-text('{title}')")
    wait_settled(page)
    set_number(page, translate("train.n_train", lang), n_train)
    set_number(page, translate("train.n_val", lang), 64)
    set_number(page, translate("train.epochs", lang), epochs)
    page.get_by_role("button", name=translate("train.start", lang)).click()
    page.wait_for_selector(f"text={translate('train.confusion', lang)}", timeout=120_000)
    wait_settled(page)
    return page, console


def test_every_layer_and_its_histograms_in_english_and_korean(server: str, context) -> None:
    page, console = _short_run(context, server, "en", n_train=128, epochs=2)
    _pick(page, "train_layer", "conv 3 (10→10, 3×3)")
    page.wait_for_selector("text=conv 3 (10→10, 3×3): filters after epoch 2")
    full_screenshot(page, SHOTS / "live_training-layers-en.png")
    _radio(page, "train_view", translate("train_live.view.histograms", "en"))
    page.wait_for_selector("text=Gradient norm of each layer at each epoch's last step")
    full_screenshot(page, SHOTS / "live_training-histograms-en.png")
    assert exceptions_on(page) == [] and console.app_errors() == []
    page.close()

    page, console = _short_run(context, server, "ko", n_train=128, epochs=2)
    texts = [main_text(page)]
    _pick(page, "train_layer", "합성곱 2 (10→10, 3×3)")
    page.wait_for_selector("text=합성곱 2 (10→10, 3×3): 에폭 2 후의 필터")
    full_screenshot(page, SHOTS / "live_training-layers-ko.png")
    _radio(page, "train_view", translate("train_live.view.histograms", "ko"))
    page.wait_for_selector(f"text={translate('train_live.norms_title', 'ko')}")
    full_screenshot(page, SHOTS / "live_training-histograms-ko.png")
    texts.append(main_text(page))
    for text in texts:
        assert english_runs(text) == []
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()
