"""Timing shared by the benchmarks: run a callable after warm-up and collect wall-clock seconds."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["time_runs"]


def time_runs(fn: Callable[[], object], repeat: int, *, warmup: int = 1) -> list[float]:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times; return each timed run's seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times
