"""Measure what a classroom on one server can run at once: training throughput of 1 vs 2 concurrent jobs.

Run from the repository root: ``python bench/bench_classroom.py [--threads N] [--seconds S]``. Each job is a
real Trainer (TinyVGG with batch norm on shapes, the default preset's model) in its own thread, which calls
``torch.set_num_threads`` for itself. It prints, with the machine's load, the images per second of one job
alone and of each of two jobs at once, for 1 and 2 torch threads per job, and what ``set_num_threads`` in one
thread does to the others on this build.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.train import Callback, TrainConfig, Trainer  # noqa: E402

SECONDS = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 8.0
CONFIG = TrainConfig(model="tinyvgg", batch_norm=True, n_train=2000, n_val=200, epochs=50, batch_size=64)


def thread_semantics() -> dict[str, int]:
    """What torch.set_num_threads(1) in one thread does to the main thread and to a thread started later."""
    seen: dict[str, int] = {"main_before": torch.get_num_threads()}
    hold = threading.Event()

    def setter() -> None:
        torch.set_num_threads(1)
        seen["setter_after"] = torch.get_num_threads()
        hold.wait()

    def later() -> None:
        seen["thread_started_later"] = torch.get_num_threads()

    a = threading.Thread(target=setter)
    a.start()
    time.sleep(0.2)
    seen["main_after"] = torch.get_num_threads()
    b = threading.Thread(target=later)
    b.start()
    b.join()
    hold.set()
    a.join()
    torch.set_num_threads(seen["main_before"])  # restores the default for threads started after this
    return seen


class _Timer(Callback):
    """Count images trained between warm-up and the end of the window, then stop the run."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end, self.images = start, end, 0

    def on_step_end(self, trainer, stats) -> None:
        now = time.perf_counter()
        if self.start <= now < self.end:
            self.images += trainer.config.batch_size
        if now >= self.end:
            trainer.request_stop()


def throughput(jobs: int, threads: int, data) -> list[float]:
    """Images per second of each of ``jobs`` trainers running at once, ``threads`` torch threads each."""
    t0 = time.perf_counter() + 3.0  # a warm-up of 3 s
    timers = [_Timer(t0, t0 + SECONDS) for _ in range(jobs)]

    def run(i: int) -> None:
        torch.set_num_threads(threads)
        Trainer(replace(CONFIG, seed=i), data=data).fit(callbacks=[timers[i]])

    pool = [threading.Thread(target=run, args=(i,)) for i in range(jobs)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return [t.images / SECONDS for t in timers]


def main() -> None:
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, load {os.getloadavg()}")
    print("set_num_threads(1) in one thread:", thread_semantics())
    data = load_dataset("shapes", n_train=CONFIG.n_train, n_val=CONFIG.n_val, seed=0)
    for jobs, threads in ((1, 2), (1, 1), (2, 1), (2, 2)):
        speeds = throughput(jobs, threads, data)
        each = ", ".join(f"{s:.0f}" for s in speeds)
        print(f"{jobs} job(s) × {threads} thread(s): {each} images/s each, {sum(speeds):.0f} in all "
              f"(load {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
