"""Benchmark: a 12-megapixel JPEG upload to a filtered output image, server-side.

    python bench/bench_images.py [--repeat 5] [--max-side 320]

Stages (what the Image filters page does for an upload): decode + downscale (cnnviz.data.load_image,
with all its checks), convolve (cnnviz.conv.apply_kernels, K = 2 kernels, per-channel results
included), render (diverging colormap + PNG encoding of the output map). Goal: < 0.5 s in total.

Two baselines put the figure in context:
- "naive": what an app without our loader does: PIL open + convert("RGB") at full size + resize,
  then one torch conv2d with the same two kernels (no per-channel results);
- "same work, no checks": PIL draft + thumbnail + conv2d, i.e. our pipeline without validation,
  EXIF, mode handling or per-channel results (the overhead of our safety).
The JPEG is generated here (an upscaled sample photo plus noise), nothing is downloaded.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnviz.conv import FilterConfig, apply_kernels, get_kernel  # noqa: E402
from cnnviz.data import image_to_chw, list_samples, load_image  # noqa: E402
from cnnviz.render import diverging_rgb, png_bytes  # noqa: E402  (the app's one PNG encoder)


def make_jpeg(width: int = 4000, height: int = 3000, seed: int = 0) -> bytes:
    """Return a photo-like 12-MP JPEG: a sample photo upscaled, with sensor-like noise, quality 90."""
    sample = Image.open(next(iter(list_samples().values()))).convert("RGB")
    big = np.asarray(sample.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = np.random.default_rng(seed).integers(-6, 7, big.shape, dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def ours(data: bytes, max_side: int) -> dict[str, float]:
    """Time the page's pipeline stage by stage."""
    times = {}
    start = time.perf_counter()
    img = load_image(data, max_side=max_side)
    times["decode+downscale"] = time.perf_counter() - start
    start = time.perf_counter()
    config = FilterConfig((get_kernel("sobel_x"), get_kernel("laplacian")), padding="same")
    result = apply_kernels(img, config)
    times["convolve"] = time.perf_counter() - start
    start = time.perf_counter()
    png_bytes(diverging_rgb(result.output[0])[0])
    times["render"] = time.perf_counter() - start
    times["total"] = sum(times.values())
    return times


def _conv_and_render(img: Image.Image) -> None:
    x = torch.from_numpy(image_to_chw(img))[None]
    kernels = [get_kernel("sobel_x").array(), get_kernel("laplacian").array()]  # the same K = 2 kernels
    w = torch.from_numpy(np.stack([np.stack([k] * 3) for k in kernels]))  # (2, 3, 3, 3)
    with torch.no_grad():
        out = F.conv2d(x, w, padding=1)[0, 0].numpy()
    png_bytes(diverging_rgb(out)[0])


def naive(data: bytes, max_side: int) -> dict[str, float]:
    start = time.perf_counter()
    img = Image.open(io.BytesIO(data)).convert("RGB")
    img = img.resize((max_side, round(max_side * img.height / img.width)), Image.Resampling.BICUBIC)
    _conv_and_render(img)
    return {"total": time.perf_counter() - start}


def no_checks(data: bytes, max_side: int) -> dict[str, float]:
    start = time.perf_counter()
    img = Image.open(io.BytesIO(data))
    img.thumbnail((max_side, max_side))  # draft + reduce + resize, as load_image does
    _conv_and_render(img.convert("RGB"))
    return {"total": time.perf_counter() - start}


def median_times(fn: Callable[[bytes, int], dict[str, float]], data: bytes, max_side: int, repeat: int) -> dict:
    fn(data, max_side)  # warm-up (imports, allocator)
    runs = [fn(data, max_side) for _ in range(repeat)]
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-side", type=int, default=320, help="long side after downscaling (the page uses 320)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    data = make_jpeg()
    print(
        f"input: 4000×3000 JPEG, {len(data) / 1e6:.1f} MB; long side → {args.max_side}; "
        f"torch threads {torch.get_num_threads()}; median of {args.repeat} runs"
    )
    mine = median_times(ours, data, args.max_side, args.repeat)
    for stage, seconds in mine.items():
        print(f"  cnnviz {stage:<17} {seconds * 1000:8.1f} ms")
    for name, fn in (("naive (full decode)", naive), ("same work, no checks", no_checks)):
        base = median_times(fn, data, args.max_side, args.repeat)["total"]
        print(f"  baseline {name:<22} {base * 1000:8.1f} ms   cnnviz / baseline = {mine['total'] / base:.2f}")
    verdict = "OK" if mine["total"] < 0.5 else "SLOWER THAN GOAL"
    print(f"goal < 500 ms: {verdict} ({mine['total'] * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
