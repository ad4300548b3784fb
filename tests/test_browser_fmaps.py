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


def _open_fmaps(context, server: str):
    page = context.new_page()
    console = watch_console(page)
    page.goto(f"{server}/feature_maps", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    return page, console


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
    step = {name: page.locator(f".st-key-fmaps_example_number [data-testid='stNumberInputStep{name}']")
            for name in ("Up", "Down")}  # fmt: skip
    example = {n: translate("fmaps.example_name", "en", label="circle", number=n) for n in (0, 1)}
    _, asked = _change(page, reruns, step["Up"].click, example[1])
    assert asked == [""], "an example change reruns the whole page"
    times = {}
    controls = (("fmaps_channel", ", channel {}:"), ("fmaps_row", "unit ({}, 31)"), ("fmaps_col", "unit (34, {})"))
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
