"""Benchmark: a 12-megapixel JPEG through EfficientNet-Lite0 to every stage's grid and Grad-CAM, server-side.

Part 1 runs what the Feature-maps page computes for a new upload, without the browser and without
cache hits: decode (long side capped as the page caps it), the preparation steps, one forward pass
keeping every block's output, the top-5, one numbered grid per stage with its PNG, and Grad-CAM at
every stage (one forward and one backward pass) with the panel PNGs. The bare forward pass of the
224×224 input is measured in the same run as the baseline. Goal: under 0.5 s on 2 CPU cores.

Part 2 times the page itself in AppTest: a rerun after a widget change, everything cached.
Goal: under 0.15 s.

    python bench/bench_effnet.py [--repeats 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
logging.disable(logging.WARNING)  # st.cache_data outside a server warns 'No runtime found' on every call

from bench.bench_feature_maps import make_photo  # noqa: E402
from bench.timing import time_runs  # noqa: E402
from cnnviz import explain  # noqa: E402
from cnnviz.data import load_image, preprocess_steps  # noqa: E402
from cnnviz.nets import build, get_spec  # noqa: E402
from cnnviz.render import png_bytes, upscale_nearest  # noqa: E402
from cnnviz.ui.fmaps import PHOTO_SIDE, layer_grid, overview_maps  # noqa: E402  (the page's own, uncached helpers)
from cnnviz.ui.fmaps_views import overlay  # noqa: E402


def page_pipeline(data: bytes, model: torch.nn.Module, spec) -> dict[str, float]:
    """One upload, stage by stage, as the page computes it (no cache hits). Returns seconds per stage."""
    marks = {"start": time.perf_counter()}
    picture = load_image(data, mode="RGB", max_side=PHOTO_SIDE)
    marks["decode"] = time.perf_counter()
    steps = preprocess_steps(spec, picture)
    marks["preprocess"] = time.perf_counter()
    run = explain.run_blocks(model, steps.x)
    explain.top_k_predictions(run.logits, spec.class_names, k=5)
    marks["forward + top-5"] = time.perf_counter()
    for name in explain.stage_layers(model):
        png_bytes(layer_grid(overview_maps(run.maps[name]), cols=8))  # as analyse() draws the overview
    marks["stage grids"] = time.perf_counter()
    cams = explain.grad_cam_all(model, steps.x, explain.stage_layers(model))
    seen = np.asarray(steps.cropped)
    for cam in cams:
        png_bytes(upscale_nearest(overlay(seen, cam.heatmap), 1))
    marks["Grad-CAM"] = time.perf_counter()
    names = list(marks)
    return {names[i]: marks[names[i]] - marks[names[i - 1]] for i in range(1, len(names))}


def rerun_times(repeats: int) -> list[float]:
    """Seconds of AppTest reruns of the page after a widget change, everything cached."""
    os.environ.setdefault("CNNVIZ_STRICT_I18N", "1")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "feature_maps.py"), default_timeout=300).run()
    for on in (True, False):  # the webcam switch (outside every fragment): a whole rerun, nothing new to compute
        at.toggle(key="fmaps_camera_on").set_value(on).run()
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        at.toggle(key="fmaps_camera_on").set_value(i % 2 == 0).run()
        times.append(time.perf_counter() - start)
    assert not at.exception, [e.value for e in at.exception]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec, model = get_spec("efficientnet_lite0"), build("efficientnet_lite0", weights="bundled")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}")
    data = make_photo("JPEG")
    print(f"JPEG upload: 4000×3000 = 12 MP, {len(data) / 1e6:.1f} MB")
    runs = [page_pipeline(data, model, spec) for _ in range(args.repeats + 1)][1:]  # the first run warms up
    for name in runs[0]:
        print(f"  {name:<16} {statistics.median(r[name] for r in runs) * 1000:8.1f} ms")
    total = statistics.median(sum(r.values()) for r in runs)
    print(f"  {'total':<16} {total * 1000:8.1f} ms   (goal < 500 ms: {'met' if total < 0.5 else 'NOT met'})")
    x = preprocess_steps(spec, load_image(data, mode="RGB", max_side=PHOTO_SIDE)).x
    with torch.no_grad():
        forward = statistics.median(time_runs(lambda: model(x), args.repeats, warmup=1))
    print(f"  baseline: bare forward pass of the 224×224 input {forward * 1000:.1f} ms → ratio {total / forward:.1f}×")
    reruns = rerun_times(args.repeats)
    rerun = statistics.median(reruns)
    verdict = "met" if rerun < 0.15 else "NOT met"
    print(f"AppTest rerun after a widget change (cached): median {rerun * 1000:.0f} ms, "
          f"best {min(reruns) * 1000:.0f} ms   (goal < 150 ms: {verdict}); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
