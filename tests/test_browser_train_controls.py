"""The Live-training form's device, precision, callbacks, learning-rate curve and validation controls in a real
headless Chromium, in English (with a short run on the chosen settings) and in Korean. Screenshots land in
artifacts/screenshots/.

With CI=true this test must run: a missing Chromium or Playwright is a failure, not a skip.
"""

from __future__ import annotations

import math

from cnnviz.i18n import translate
from cnnviz.train import PRESETS
from tests.browser import SHOTS, exceptions_on, full_screenshot, main_text, require_browser, set_number, wait_settled
from tests.test_browser_train import _open_live_training
from tests.text_checks import english_runs

require_browser()

BASELINE = PRESETS["baseline"]  # what the form starts from
FOLD = math.ceil((BASELINE.n_train + BASELINE.n_val) / 5)  # with 5 folds the first, largest, validates
TRAIN = BASELINE.n_train + BASELINE.n_val - FOLD
PER_EPOCH = TRAIN // BASELINE.batch_size  # full batches only


def _choose(page, field: str, option: str | None = None, *, index: int | None = None, tries: int = 3) -> None:
    """Open the select box of TrainConfig field ``field`` and pick an option by its label (or its position).

    A rerun that lands while the list is open closes it: open it again then.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for attempt in range(tries):
        page.locator(f".st-key-train_{field} [data-testid='stSelectbox']").click()
        chosen = page.get_by_role("option").nth(index) if index is not None else page.get_by_role(
            "option", name=option, exact=True)  # fmt: skip
        try:
            chosen.click(timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt + 1 == tries:
                raise
            wait_settled(page)
    wait_settled(page)


def _open(page, label: str) -> None:
    page.locator("[data-testid='stExpander'] summary").filter(has_text=label).click()
    wait_settled(page)


def _controls_in(page, lang: str) -> str:
    """Open the two groups of controls, pick a step schedule and k-fold, and return the main text."""
    _open(page, translate("train_controls.section_callbacks", lang))
    _choose(page, "schedule", translate("train.sched.step", lang))
    page.locator(".st-key-train_lr_curve .js-plotly-plot").wait_for()
    _choose(page, "monitor", translate("train_controls.monitor_accuracy", lang))
    _open(page, translate("train_controls.section_validation", lang))
    _choose(page, "folds", translate("train_controls.k_folds", lang, k=5))
    page.get_by_text(translate("train_controls.split_folds", lang, k=5, train=TRAIN, val=FOLD)).wait_for()
    _choose(page, "precision", translate("train.prec.mixed", lang))
    return main_text(page)


def test_the_controls_before_a_run_in_english_and_korean_and_a_run_that_uses_them(server: str, context) -> None:
    page, console = _open_live_training(context, server)
    text = _controls_in(page, "en")
    assert "Automatic: CPU" in text and "A run trains with " in text
    assert "bfloat16 (bf16) autocast, without a gradient scaler" in text
    title = page.locator(".st-key-train_lr_curve .gtitle").text_content()
    assert title == f"Learning rate at every step ({PER_EPOCH * BASELINE.epochs} steps, {PER_EPOCH} per epoch)"
    assert "the epoch with the highest validation accuracy are kept" in text
    full_screenshot(page, SHOTS / "live_training-controls-en.png")
    assert exceptions_on(page) == [] and console.app_errors() == []

    # A short run on them: the CPU picked by hand, a validation fraction instead of k-fold, early stopping
    # (in float32: bfloat16 autocast is slow on most CPUs).
    _choose(page, "device", index=1)
    _choose(page, "precision", translate("train.prec.fp32", "en"))
    _choose(page, "val_fraction", "20%")
    assert translate("train_controls.off", "en") in main_text(page)  # choosing a fraction turned k-fold off
    set_number(page, translate("train.n_train", "en"), 256)
    set_number(page, translate("train.n_val", "en"), 64)
    set_number(page, translate("train.epochs", "en"), 2)
    set_number(page, translate("train.patience", "en"), 1)
    assert "256 images train, 64 validate." in main_text(page)
    page.get_by_role("button", name=translate("train.start", "en")).click()
    page.wait_for_selector(f"text={translate('train.confusion', 'en')}", timeout=120_000)
    wait_settled(page)
    full_screenshot(page, SHOTS / "live_training-controls-run-en.png")
    assert exceptions_on(page) == []  # the live panel's own console is checked by test_browser_train.py
    page.close()

    page, console = _open_live_training(context, server, korean=True)
    text = _controls_in(page, "ko")
    assert "자동: CPU" in text and "학습 한 번에 CPU 스레드" in text and "bfloat16(bf16)" in text
    title = page.locator(".st-key-train_lr_curve .gtitle").text_content()
    assert title == f"매 스텝의 학습률 (모두 {PER_EPOCH * BASELINE.epochs}스텝, 에폭당 {PER_EPOCH}스텝)"
    full_screenshot(page, SHOTS / "live_training-controls-ko.png")
    assert english_runs(text) == []
    assert exceptions_on(page) == [] and console.app_errors() == []
    page.close()
