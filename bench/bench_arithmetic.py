"""Time one rerun of the arithmetic page after a widget change, and NumPy scratch conv vs torch.

Run from the repository root: ``python bench/bench_arithmetic.py [--threads N]`` (default 1 thread for
both NumPy's BLAS and torch: on a shared 2-core machine a 2-thread torch call waits milliseconds for its
second thread, which measures the machine's load, not the convolution). Prints times and ratios.
"""

from __future__ import annotations

import os
import sys

THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy/torch load
    os.environ[_name] = THREADS

import logging  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import time_runs  # noqa: E402
from cnnviz.conv import scratch  # noqa: E402

CONV_SHAPES = [  # (N, C, H, W), (K, C, F, F), stride, padding
    ((1, 1, 7, 7), (1, 1, 3, 3), 2, 1),
    ((1, 3, 32, 32), (16, 3, 3, 3), 1, 1),
    ((1, 16, 64, 64), (32, 16, 3, 3), 1, 1),
    ((8, 3, 64, 64), (16, 3, 5, 5), 2, 2),
]


def best_seconds(fn, repeat: int, warmup: int = 3) -> float:
    """Best of ``repeat`` runs (timeit's advice: on a shared machine the minimum is the least noisy)."""
    return min(time_runs(fn, repeat, warmup=warmup))


def median_seconds(fn, repeat: int, warmup: int = 3) -> float:
    return statistics.median(time_runs(fn, repeat, warmup=warmup))


def bench_page(repeat: int = 10) -> None:
    from streamlit.testing.v1 import AppTest

    logging.disable(logging.WARNING)  # AppTest outside a server warns "missing ScriptRunContext" on every call
    at = AppTest.from_file(str(ROOT / "pages" / "conv_arithmetic.py"), default_timeout=120)
    start = time.perf_counter()
    at.run()
    first = time.perf_counter() - start
    strides = [2, 1]

    def change() -> None:
        strides.reverse()
        at.number_input(key="arith_stride").set_value(strides[0]).run()
        assert not at.exception

    rerun = median_seconds(change, repeat)
    print(
        f"page: first run {first * 1000:.0f} ms; rerun after a stride change (median of {repeat}) {rerun * 1000:.0f} ms"
    )


def bench_conv(repeat: int = 30) -> None:
    """All torch timings first, then all NumPy ones: OpenBLAS threads keep spinning after a NumPy matrix
    product and would steal the 2 cores from torch's next call (measured: 16 ms instead of 0.01 ms)."""
    rng = np.random.default_rng(0)
    cases = []
    for x_shape, w_shape, stride, padding in CONV_SHAPES:
        x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
        cases.append((x, w, stride, padding))
    with torch.no_grad():
        theirs = [
            best_seconds(lambda: F.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, s, p), repeat)  # noqa: B023
            for x, w, s, p in cases
        ]
    ours = [best_seconds(lambda: scratch.conv2d(x, w, None, s, p), repeat) for x, w, s, p in cases]  # noqa: B023
    print(f"best of {repeat} runs")
    print(f"{'input':>16} {'filters':>16} {'S':>2} {'P':>2} {'numpy ms':>9} {'torch ms':>9} {'numpy/torch':>11}")
    for (x_shape, w_shape, stride, padding), mine, torch_s in zip(CONV_SHAPES, ours, theirs, strict=True):
        print(
            f"{'×'.join(map(str, x_shape)):>16} {'×'.join(map(str, w_shape)):>16} {stride:>2} {padding:>2} "
            f"{mine * 1000:>9.2f} {torch_s * 1000:>9.3f} {mine / torch_s:>10.1f}×"
        )


if __name__ == "__main__":
    torch.set_num_threads(int(THREADS))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, numpy {np.__version__}, load {load}")
    bench_conv()
    bench_page()
