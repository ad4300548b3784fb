"""Seconds from pressing "Start training" to the first curve point drawn, in headless Chromium.

    python bench/bench_first_point.py [--runs 3] [--wait 5] [--preset baseline]

Starts ``streamlit run app.py`` (a fresh server), opens Live training, waits ``--wait`` seconds (the
server's background warm-up: torch's first kernels and the default preset's images), then presses
Start and times, in the page, until the status line shows a training speed above zero (the first
curve point and its speed are drawn together). The run is stopped, the page settles, and it starts
again: the first run is the fresh server's, the next ones reuse the images the page kept. ``--wait 0``
presses Start as soon as the page has settled, while the warm-up may still run. Prints the machine's
load with every figure: the browser runs on the same cores as the server.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnnviz.i18n import translate  # noqa: E402
from cnnviz.train import PRESETS  # noqa: E402
from tests.browser import chromium_context, streamlit_server, wait_settled  # noqa: E402
from tests.test_browser_train import _open_live_training  # noqa: E402

# the new run's speed above zero, and no replay slider left (it belongs to a finished run)
SPEED_SHOWN = """(replay) => {
  const text = document.querySelector('[data-testid="stMain"]').innerText;
  const m = text.match(/Epoch \\d+\\/\\d+ · ([\\d,]+) images\\/s/);
  return m !== null && m[1] !== '0' && !text.includes(replay);
}"""


def load() -> str:
    return "load " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def choose_preset(page, name: str) -> None:
    if name == "baseline":
        return
    page.locator(".st-key-train_preset [data-testid='stSelectbox']").click()
    page.get_by_role("option", name=translate(f"train.preset.{name}", "en"), exact=True).click()
    wait_settled(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait", type=float, default=5.0, help="seconds between the page opening and Start")
    parser.add_argument("--preset", default="baseline", choices=list(PRESETS))
    args = parser.parse_args()
    with streamlit_server() as url, chromium_context() as context:
        page, _ = _open_live_training(context, url)
        choose_preset(page, args.preset)
        time.sleep(args.wait)
        for run in range(1, args.runs + 1):
            start = time.perf_counter()
            page.get_by_role("button", name=translate("train.start", "en")).click()
            page.wait_for_function(SPEED_SHOWN, arg=translate("train.replay", "en"), timeout=120_000, polling=50)
            shown = time.perf_counter() - start
            print(f"run {run} ({'fresh server' if run == 1 else 'images kept'}): first point drawn "
                  f"{shown:.2f} s after Start; {load()}", flush=True)  # fmt: skip
            page.get_by_role("button", name=translate("train.stop", "en")).click()
            page.wait_for_selector(f"text={translate('train.confusion', 'en')}", timeout=120_000)
            wait_settled(page)


if __name__ == "__main__":
    main()
