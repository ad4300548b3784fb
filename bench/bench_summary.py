"""Benchmark: cnnviz.summarize of every zoo model at 224×224 on the meta device. Goal: each under 1 s on 2 CPU cores.

    python bench/bench_summary.py [--repeats 5] [--threads 2] [--size 224]

For each model: the median time to build it on the meta device, to summarise it (hooks, receptive
fields, rows), and, as the baseline, a plain forward pass of the same meta model in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import time_runs  # noqa: E402
from cnnviz.arch import summarize  # noqa: E402
from cnnviz.nets import ZOO_MODELS, build  # noqa: E402

GOAL_S = 1.0


def _plain_forward(model: torch.nn.Module, size: int) -> None:
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size, device="meta"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = (*ZOO_MODELS, "alexnet_original", "efficientnet_lite0")
    print(f"summarize at 3×{args.size}×{args.size} on the meta device, median of {args.repeats}, "
          f"{args.threads} threads (goal: summary < {GOAL_S:.1f} s)")  # fmt: skip
    print(f"{'model':<20}{'build s':>9}{'forward s':>11}{'summary s':>11}{'× fwd':>7}{'params':>14}{'GMACs':>8}  ok")
    worst = 0.0
    for name in names:
        built = statistics.median(time_runs(lambda n=name: build(n, image_size=args.size, device="meta"), args.repeats))
        model = build(name, image_size=args.size, device="meta")
        forward = statistics.median(time_runs(lambda m=model: _plain_forward(m, args.size), args.repeats))
        summary_s = statistics.median(time_runs(lambda m=model: summarize(m, (3, args.size, args.size)), args.repeats))
        summary = summarize(model, (3, args.size, args.size))
        worst = max(worst, summary_s)
        print(f"{name:<20}{built:>9.3f}{forward:>11.3f}{summary_s:>11.3f}{summary_s / forward:>7.1f}"
              f"{summary.total_params:>14,}{summary.total_macs / 1e9:>8.3f}  {'yes' if summary_s < GOAL_S else 'NO'}")
    print(f"slowest summary: {worst:.3f} s")
    return 0 if worst < GOAL_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
