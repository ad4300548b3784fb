"""Time what a learner sees after moving a control, in headless Chromium against ``streamlit run app.py``.

    python bench/bench_browser.py [--changes 10] [--only arith,filters,fmaps] [--lang en]

For each page and control the benchmark opens the page, brings it to a starting state, then changes
the control ``--changes`` times (a key press on a slider, a click on a number input's + / −). Each
change is timed in the page's own clock: from the input event (``keydown`` / ``pointerdown``, caught
on ``document`` before any widget sees it) until the output that depends on the control shows the new
value, checked on every animation frame: the text the page writes for that value (the step's output
cell, the output shape, the zoomed pixel, the map's caption) *and* the drawing (the sliding-window
diagram's step and grid size, or every picture of the section loaded with a new source). The widget's
own value changing is not counted as shown. Between changes the page is left to settle.

Prints the machine's load and a table: median and range (ms) per page and control. The lead copies the
table into the README. The Image filters page caches its convolution per setting, so the stride slider,
which has four values, meets cached results after its first visits; each bias is new, so the bias
slider times the whole computation every time.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnnviz.conv import conv_output_size  # noqa: E402
from tests.browser import chromium_context, streamlit_server, wait_settled  # noqa: E402

# Page-side helpers: the clock starts at the first input event of a change; "shown" checks read the DOM.
BENCH_JS = """() => {
  if (window.__bench) return;
  const b = window.__bench = {t0: null};
  const start = () => { if (b.t0 === null) b.t0 = performance.now(); };
  document.addEventListener('keydown', start, {capture: true});
  document.addEventListener('pointerdown', start, {capture: true});
  b.text = (sel) => { const e = document.querySelector(sel); return e ? e.innerText : ''; };
  b.attr = (sel, name) => { const e = document.querySelector(sel); return e ? e.getAttribute(name) : null; };
  b.srcs = (sel) => [...document.querySelectorAll(sel + ' img')].map(i => i.src);
  b.imagesNew = (sel, before) => {  // every picture of the section loaded, at least one with a new source
    const imgs = [...document.querySelectorAll(sel + ' img')];
    const loaded = imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);
    return loaded && imgs.some(i => !before.includes(i.src));
  };
  b.caption = (text) => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .some(c => c.innerText.includes(text));
}"""

Shown = tuple[str, dict]  # a JS expression over `b` (the helpers) and `arg`, true once the change shows; its arg


@dataclass(frozen=True)
class Control:
    """One control of one page to time."""

    page: str  # url path of the page
    name: str  # how the table names it
    setup: Callable  # (page) -> None: bring the page to the starting state
    change: Callable  # (page, i) -> Shown: make change i (0-based) and say what shows it (English page)


def _press(page, key: str, direction: str) -> None:
    """Focus a slider (by its widget key) and press an arrow key once."""
    page.locator(f".st-key-{key} input[type='range']").first.focus()
    page.keyboard.press(direction)


# --- Convolution arithmetic: 7×7 input, kernel 3, padding 0 (the page's defaults) -------------------------


def arith_step(page, i: int) -> Shown:
    _press(page, "arith_step", "ArrowRight")
    row, col = divmod(i + 1, 5)  # 5×5 output, one step right each time
    js = (
        "b.attr('.st-key-arith_diagram svg', 'data-step') === arg.step"
        " && b.text('.st-key-arith_step_detail').includes(arg.cell)"
    )
    return js, {"step": str(i + 1), "cell": f"Output cell ({row}, {col})"}


STRIDES = [2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1]  # each change changes the output size (5, 3, 2 cells)


def arith_stride(page, i: int) -> Shown:
    before = STRIDES[i - 1] if i else 1
    button = "stNumberInputStepUp" if STRIDES[i] > before else "stNumberInputStepDown"
    page.locator(f".st-key-arith_stride [data-testid='{button}']").click()
    out = conv_output_size(7, 3, STRIDES[i], 0)
    js = (
        "b.text('.st-key-arith_results [data-testid=\"stMetricValue\"]').includes(arg.size)"
        " && b.text('.st-key-arith_results').includes(arg.formula)"
        " && b.attr('.st-key-arith_diagram svg', 'data-out') === arg.size"
    )
    return js, {"size": f"{out}×{out}", "formula": f"/{STRIDES[i]}⌋ + 1 = "}


# --- Image filters: the default sample photo and kernel ---------------------------------------------------


def _filters_in_size(page) -> tuple[int, int]:
    text = page.locator(".st-key-filters_shapes").inner_text()
    h, w = re.search(r"3 × (\d+) × (\d+)", text).groups()
    return int(h), int(w)


ZOOM_SHOWN = "b.imagesNew('.st-key-filters_zoom_images', arg.before)"  # the marked input and output pictures


def filters_row(page, i: int) -> Shown:
    before = page.evaluate("window.__bench.srcs('.st-key-filters_zoom_images')")
    row = int(page.locator(".st-key-filters_row input[type='range']").get_attribute("value")) + 1
    _press(page, "filters_row", "ArrowRight")
    js = f"b.text('.st-key-filters_zoom').includes(arg.where) && {ZOOM_SHOWN}"
    return js, {"where": f"(row {row},", "before": before}


def filters_stride_setup(page) -> None:
    """Padding 1 (the default "same" allows stride 1 only)."""
    page.locator(".st-key-filters_padding button[aria-haspopup='listbox']").click()
    page.get_by_role("option", name="1", exact=True).click()
    wait_settled(page, quiet=0.5)


FILTER_STRIDES = [2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1]


def filters_stride(page, i: int) -> Shown:
    h, w = _filters_in_size(page)
    before = page.evaluate("window.__bench.srcs('.st-key-filters_zoom_images')")
    previous = FILTER_STRIDES[i - 1] if i else 1
    _press(page, "filters_stride", "ArrowRight" if FILTER_STRIDES[i] > previous else "ArrowLeft")
    oh, ow = conv_output_size((h, w), 3, FILTER_STRIDES[i], 1)
    shape = f"→ output 1 × {oh} × {ow}:"
    return f"b.text('.st-key-filters_shapes').includes(arg.shape) && {ZOOM_SHOWN}", {"shape": shape, "before": before}


def filters_bias(page, i: int) -> Shown:
    """A new bias each time (0.05, 0.10, ...): the whole section is computed again, nothing comes from a cache."""
    before = page.evaluate("window.__bench.srcs('.st-key-filters_zoom_images')")
    _press(page, "filters_bias", "ArrowRight")
    js = f"b.text('.st-key-filters_zoom').includes(arg.bias) && {ZOOM_SHOWN}"
    return js, {"bias": f"+ {0.05 * (i + 1):.4f} = ", "before": before}


# --- Feature maps (helper B's page): the channel slider of "Look closer" ---------------------------------


def fmaps_channel(page, i: int) -> Shown:
    before = page.evaluate("window.__bench.srcs('[data-testid=\"stMain\"]')")
    _press(page, "fmaps_channel", "ArrowRight" if i % 6 < 3 else "ArrowLeft")  # 1, 2, 3, 2, 1, 0, 1, ...
    channel = [1, 2, 3, 2, 1, 0][i % 6]
    js = "b.caption(arg.text) && b.imagesNew('[data-testid=\"stMain\"]', arg.before)"  # the map's caption and picture
    return js, {"text": f", channel {channel}:", "before": before}


def no_setup(page) -> None:
    return None


CONTROLS = {
    "arith": [
        Control("conv_arithmetic", "step slider", no_setup, arith_step),
        Control("conv_arithmetic", "stride (+/−)", no_setup, arith_stride),
    ],
    "filters": [
        Control("image_filters", "zoom row slider", no_setup, filters_row),
        Control("image_filters", "stride slider", filters_stride_setup, filters_stride),
        Control("image_filters", "bias slider", no_setup, filters_bias),
    ],
    "fmaps": [Control("feature_maps", "channel slider", no_setup, fmaps_channel)],
}


def time_control(context, url: str, control: Control, changes: int) -> list[float]:
    """Open the page fresh, set it up, make the changes; return each change's milliseconds until shown."""
    page = context.new_page()
    page.goto(f"{url}/{control.page}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_settled(page)
    control.setup(page)
    page.evaluate(BENCH_JS)
    times = []
    for i in range(changes):
        page.evaluate("window.__bench.t0 = null")
        js, arg = control.change(page, i)
        done = page.wait_for_function(
            f"(arg) => {{ const b = window.__bench; return ({js}) && b.t0 !== null ? performance.now() - b.t0 : 0; }}",
            arg=arg,
            polling="raf",
            timeout=30_000,
        )
        times.append(float(done.json_value()))
        wait_settled(page, quiet=0.4)
    page.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=10, help="changes per control (default 10)")
    parser.add_argument("--only", default=",".join(CONTROLS), help="pages to time: " + ", ".join(CONTROLS))
    args = parser.parse_args()
    rows = []
    with streamlit_server() as url, chromium_context() as context:
        warm = context.new_page()  # the first visit of a page pays imports and caches: not what a change costs
        for name in args.only.split(","):
            for control in CONTROLS[name]:
                warm.goto(f"{url}/{control.page}")
                wait_settled(warm)
        warm.close()
        load_before = os.getloadavg()
        for name in args.only.split(","):
            for control in CONTROLS[name]:
                try:
                    rows.append((control, time_control(context, url, control, args.changes)))
                except Exception as err:  # a page that changed under us: say so and time the others
                    rows.append((control, f"{type(err).__name__}: {str(err).splitlines()[0][:80]}"))
    load = ", ".join(f"{a:.2f}" for a in (*load_before, *os.getloadavg()[:1]))
    print(f"headless Chromium 1400×900, {args.changes} changes each; load (1, 5, 15 min) before, 1 min after: {load}")
    print(f"| {'page':<16} | {'control':<16} | {'median ms':>9} | {'range ms':>11} |")
    print(f"|{'-' * 18}|{'-' * 18}|{'-' * 11}|{'-' * 13}|")
    for control, times in rows:
        if isinstance(times, str):
            print(f"| {control.page:<16} | {control.name:<16} | {'—':>9} | {times}")
            continue
        span = f"{min(times):.0f}–{max(times):.0f}"
        print(f"| {control.page:<16} | {control.name:<16} | {statistics.median(times):>9.0f} | {span:>11} |")


if __name__ == "__main__":
    main()
