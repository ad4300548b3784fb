"""The Feature-maps page in a real headless Chromium: Korean from top to bottom, and quick "look closer" controls.

Same rules as tests/test_browser.py: with CI=true these tests must run (a missing Chromium or
Playwright is a failure, not a skip). Screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

import statistics
from pathlib import Path

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

ROOT = Path(__file__).resolve().parent.parent

require_browser()


def _open_fmaps(context, server: str, *, model: str | None = "tinyvgg"):
    """Open Feature maps; pick ``model`` (a small net trained on shapes) unless None (EfficientNet-Lite0 stays)."""
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/feature_maps", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    if model is not None:
        _pick_model(page, model)
    return page, console


def _pick_model(page, model: str) -> None:
    """Choose a small net trained on shapes in the English model box."""
    name = translate("fmaps.registry_model", "en", name=translate(f"labels.model.{model}", "en"),
                     dataset=translate("labels.dataset.shapes", "en"))  # fmt: skip
    page.locator(".st-key-fmaps_model_en [data-testid='stSelectbox']").click()
    page.get_by_role("option", name=name, exact=True).click()
    wait_settled(page)


def test_the_korean_page_reads_korean(server: str, context) -> None:
    page, console = _open_fmaps(context, server)
    assert english_runs(main_text(page)), "the check finds English on the English page"
    page.get_by_text("한국어").click()
    page.wait_for_selector(f"h1:has-text('{translate('fmaps.title', 'ko')}')")
    wait_settled(page)
    full_screenshot(page, SHOTS / "feature_maps-ko.png")
    assert english_runs(main_text(page)) == []
    shown = page.locator(".st-key-fmaps_example_class_shapes_ko input[role='combobox']").input_value()
    assert shown == translate("labels.class.shapes.circle", "ko")  # the box's own text follows the language
    page.locator('[data-testid="stRadio"] label', has_text=translate("fmaps.source_photo", "ko")).click()
    wait_settled(page)
    full_screenshot(page, SHOTS / "feature_maps-ko-photo.png")
    assert english_runs(main_text(page)) == []
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()


def _watch_reruns(page) -> list[str]:
    """Collect the fragment id of every rerun the browser asks for ("" for a whole-page rerun)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    reruns: list[str] = []

    def sent(payload: bytes | str) -> None:
        msg = BackMsg()
        if isinstance(payload, bytes):
            msg.ParseFromString(payload)
            if msg.WhichOneof("type") == "rerun_script":
                reruns.append(msg.rerun_script.fragment_id)

    page.on("websocket", lambda ws: ws.on("framesent", sent))
    return reruns


def _change(page, reruns: list[str], act, text: str) -> tuple[float, list[str]]:
    """Make a change; return the seconds until the main column shows ``text`` and the reruns it asked for."""
    reruns.clear()
    page.evaluate("() => { window.__t0 = performance.now(); }")
    act()
    page.wait_for_function(
        "(t) => document.querySelector('[data-testid=\"stMain\"]').innerText.includes(t)", arg=text, timeout=30_000
    )
    seconds = page.evaluate("() => (performance.now() - window.__t0) / 1000")
    wait_settled(page, quiet=0.4)
    return seconds, list(reruns)


def test_look_closer_controls_rerun_only_their_section(server: str, context) -> None:
    """The channel and unit sliders rerun the "look closer" fragment only; an example change reruns the page.

    Read from the browser's own rerun requests (a fragment rerun names its fragment). The timings
    are printed (bench/ has the figures).
    """
    page = context.new_page()
    console = watch_console(page)
    reruns = _watch_reruns(page)
    page.goto(f"{server}/feature_maps", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    _pick_model(page, "tinyvgg")
    step = {name: page.locator(f".st-key-fmaps_example_number [data-testid='stNumberInputStep{name}']")
            for name in ("Up", "Down")}  # fmt: skip
    example = {n: translate("fmaps.example_name", "en", label="circle", number=n) for n in (0, 1)}
    _, asked = _change(page, reruns, step["Up"].click, example[1])
    assert asked == [""], "an example change reruns the whole page"
    times = {}
    unit = {key: int(page.locator(f".st-key-{key} input[type='range']").first.input_value())
            for key in ("fmaps_row", "fmaps_col")}  # the middle of the map, or kept (clamped) from the model before
    controls = (("fmaps_channel", ", channel {}:"), ("fmaps_row", f"unit ({{}}, {unit['fmaps_col']})"),
                ("fmaps_col", f"unit ({unit['fmaps_row'] + 3}, {{}})"))  # fmt: skip
    for key, text in controls:
        slider = page.locator(f".st-key-{key} input[type='range']").first
        start = int(slider.input_value())
        times[key] = []
        for i in range(1, 4):

            def press(slider=slider) -> None:
                slider.focus()
                page.keyboard.press("ArrowRight")

            seconds, asked = _change(page, reruns, press, text.format(start + i))
            assert len(asked) == 1 and asked[0], f"{key}: asked for {asked}, not one fragment rerun"
            times[key].append(seconds)
    print({key: f"median {statistics.median(t) * 1000:.0f} ms" for key, t in times.items()})
    full_screenshot(page, SHOTS / "feature_maps-closer.png")
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()


def test_efficientnet_reads_an_uploaded_photo_in_english_and_korean(server: str, context, tmp_path: Path) -> None:
    """EfficientNet-Lite0 (the first model) on an uploaded photo, then a file that is not an image, EN and KO."""
    photo = tmp_path / "my_coffee.jpg"
    photo.write_bytes((ROOT / "assets" / "samples" / "coffee.jpg").read_bytes())
    wrong = tmp_path / "notes.png"
    wrong.write_bytes(b"this is a text file, not a picture")
    page, console = _open_fmaps(context, server, model=None)
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
    uploader.set_input_files(str(photo))
    page.wait_for_selector("text=my_coffee.jpg")
    wait_settled(page)
    text = main_text(page)
    assert "espresso" in text and translate("fmaps.prep_header", "en") in text
    assert translate("fmaps.stages_header", "en") in text and translate("fmaps.dense_header", "en") in text
    full_screenshot(page, SHOTS / "feature_maps-effnet-en.png")
    page.get_by_text("한국어").click()
    page.wait_for_selector(f"h1:has-text('{translate('fmaps.title', 'ko')}')")
    wait_settled(page)
    text = main_text(page)
    assert translate("labels.class.imagenet.espresso", "ko") in text and translate("fmaps.prep_header", "ko") in text
    assert english_runs(text) == []
    full_screenshot(page, SHOTS / "feature_maps-effnet-ko.png")
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
    uploader.set_input_files(str(wrong))
    page.wait_for_selector('[data-testid="stAlertContentError"]')
    wait_settled(page)
    error = page.locator('[data-testid="stAlertContentError"]').first.inner_text()
    assert "notes.png" in error and english_runs(error) == []
    full_screenshot(page, SHOTS / "feature_maps-effnet-wrong-ko.png")
    assert exceptions_on(page) == []
    assert console.app_errors() == []
    page.close()
