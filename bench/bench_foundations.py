"""Time the server-side rerun of every Foundations page after a widget change, through AppTest.

Run from the repository root: ``python bench/bench_foundations.py [--repeat N] [--threads N]``. Every page
whose PageInfo section is "nav.foundations" (cnnviz.ui.PAGES) is opened once, then one of its sliders is
moved back and forth ``N`` times (default 7); the median and the worst of those reruns are printed with the
goal (0.3 s). The slider is the one named in ``WIDGETS`` for the page, else the page's first slider. The
first run (imports, cold caches) is printed apart: it is not a rerun. One thread for torch and BLAS by
default (on a shared 2-core machine a second thread measures the load, not the page).
"""

from __future__ import annotations

import os
import sys

THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
REPEAT = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 7
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy/torch load
    os.environ[_name] = THREADS

import logging  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

logging.disable(logging.WARNING)  # AppTest outside a server warns "No runtime found" / "missing ScriptRunContext"

from cnnviz.ui import PAGES  # noqa: E402

GOAL = 0.3  # seconds a rerun may take server-side
WIDGETS = {  # page stem → (widget kind, key, two values to alternate); the learner's most frequent move
    "perceptron": ("slider", "pc_step", (0, 500)),
    "activations": ("slider", "act_temperature", (1.0, 2.0)),
    "losses": ("slider", "loss_p", (0.1, 0.5)),
    "optimizers": ("slider", "opt_step", (100, 40)),
}


def _widget(at, stem: str):
    """The widget to move and the two values to alternate between."""
    if stem in WIDGETS:
        kind, key, values = WIDGETS[stem]
        return getattr(at, kind)(key=key), values
    slider = at.slider[0]
    low, high = slider.min, slider.max
    return slider, (slider.value, high if slider.value != high else low)


def bench_page(stem: str, path: str, repeat: int) -> tuple[float, float, float, str]:
    """First run, median and worst rerun seconds, and the key of the widget moved."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / path), default_timeout=300)
    start = time.perf_counter()
    at.run()
    first = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{stem}: {[e.value for e in at.exception]}")
    widget, values = _widget(at, stem)
    key = widget.key
    for value in values:  # warm the caches of both states
        getattr(at, widget.type)(key=key).set_value(value).run()
    times = []
    for i in range(repeat):
        widget = getattr(at, widget.type)(key=key)
        start = time.perf_counter()
        widget.set_value(values[i % 2]).run()
        times.append(time.perf_counter() - start)
    if at.exception:
        raise RuntimeError(f"{stem}: {[e.value for e in at.exception]}")
    return first, statistics.median(times), max(times), key


def main() -> None:
    print(f"load average {os.getloadavg()}, {THREADS} thread(s), {REPEAT} reruns a page, goal < {GOAL} s")
    for info in PAGES:
        if info.section != "nav.foundations":
            continue
        first, median, worst, key = bench_page(info.url_path, info.path, REPEAT)
        verdict = "ok" if median < GOAL else "SLOW"
        timing = f"rerun ({key}) median {median:.3f} s, worst {worst:.3f} s"
        print(f"{info.url_path:16s} first {first:6.2f} s   {timing}  {verdict}")


if __name__ == "__main__":
    main()
