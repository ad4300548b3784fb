"""Benchmark: a 12-megapixel upload through TinyVGG to every layer's feature-map grid, server-side.

Runs what the Feature-maps page does for a new upload, without the browser: decode the upload
(as ``image_input`` does, long side capped at 512), preprocess, one forward pass with hooks,
one montage per layer, and the PNG encoding Streamlit sends. Goal: under 0.3 s on 2 CPU cores.

    python bench/bench_feature_maps.py [--repeats 7] [--threads 2]

Prints the median time of each stage, the total, and the ratio to a plain PyTorch forward pass
(and to the minimal decode → resize → forward pipeline without any visualisation).
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
logging.disable(logging.WARNING)  # st.cache_data outside a server warns 'No runtime found' on every call

from bench.timing import time_runs  # noqa: E402
from cnnviz import explain  # noqa: E402
from cnnviz.data import load_image, preprocess  # noqa: E402
from cnnviz.nets import build, get_spec  # noqa: E402
from cnnviz.render import png_bytes  # noqa: E402
from cnnviz.ui.fmaps import layer_grid  # noqa: E402  (the page's own, uncached helper)

WIDTH, HEIGHT = 4000, 3000  # 12 megapixels, a typical phone photo
UPLOAD_MAX_SIDE = 512  # what cnnviz.ui.image_input passes to load_image


def make_photo(fmt: str, seed: int = 0) -> bytes:
    """A 4000×3000 photo-like image (smooth colour fields, shapes and sensor noise) encoded as ``fmt``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = np.stack([xx / WIDTH, yy / HEIGHT, 0.5 + 0.5 * np.sin(xx / 300.0) * np.cos(yy / 200.0)], axis=-1)
    disc = (xx - 2000) ** 2 + (yy - 1500) ** 2 < 800**2
    base[disc] = (0.9, 0.2, 0.1)
    noisy = base * 255 + rng.normal(0, 6, size=base.shape).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, format=fmt, quality=90)
    return buffer.getvalue()


def median_time(fn: Callable[[], object], repeats: int) -> float:
    return statistics.median(time_runs(fn, repeats, warmup=1))


def page_pipeline(data: bytes, model: torch.nn.Module, spec) -> dict[str, float]:
    """One upload, stage by stage, as the page runs it (no cache hits). Returns seconds per stage."""
    marks = {"start": time.perf_counter()}
    picture = load_image(data, mode="RGB", max_side=UPLOAD_MAX_SIDE)
    marks["decode"] = time.perf_counter()
    x = preprocess(spec, picture)
    marks["preprocess"] = time.perf_counter()
    _, acts = explain.run_with_activations(model, x)
    maps = explain.spatial_activations(acts)
    marks["forward + hooks"] = time.perf_counter()
    grids = {name: layer_grid(m) for name, m in maps.items()}
    marks["montages"] = time.perf_counter()
    for grid in grids.values():
        png_bytes(grid)
    marks["png encode"] = time.perf_counter()
    names = list(marks)
    return {names[i]: marks[names[i]] - marks[names[i - 1]] for i in range(1, len(names))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = get_spec("tinyvgg")
    try:
        model = build("tinyvgg", weights="bundled")
        weights = "bundled"
    except ValueError:
        model, weights = build("tinyvgg").eval(), "untrained (bundled file missing; timing is the same)"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; TinyVGG weights: {weights}")
    for fmt in ("JPEG", "PNG"):
        data = make_photo(fmt)
        print(f"\n{fmt} upload: {WIDTH}×{HEIGHT} = {WIDTH * HEIGHT / 1e6:.0f} MP, {len(data) / 1e6:.1f} MB")
        runs = [page_pipeline(data, model, spec) for _ in range(args.repeats + 1)][1:]  # first run warms up
        stages = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
        total = statistics.median(sum(r.values()) for r in runs)
        for name, seconds in stages.items():
            print(f"  {name:<16} {seconds * 1000:8.1f} ms")
        print(f"  {'total':<16} {total * 1000:8.1f} ms   (goal < 300 ms: {'met' if total < 0.3 else 'NOT met'})")
        x = preprocess(spec, load_image(data, mode="RGB", max_side=UPLOAD_MAX_SIDE))
        with torch.no_grad():
            forward = median_time(lambda x=x: model(x), args.repeats)

        def minimal(data: bytes = data) -> None:
            with torch.no_grad():
                model(preprocess(spec, load_image(data, mode="RGB", max_side=UPLOAD_MAX_SIDE)))

        plain = median_time(minimal, args.repeats)
        print(f"  baseline: plain forward of the 64×64 input {forward * 1000:.2f} ms → ratio {total / forward:.0f}×")
        print(f"  baseline: decode + preprocess + forward {plain * 1000:.1f} ms → ratio {total / plain:.2f}×")


if __name__ == "__main__":
    main()
