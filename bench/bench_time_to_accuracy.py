"""Seconds to the accuracy goals of live training on the CPU, the first curve point, and what each preset shows.

Usage:
    python bench/bench_time_to_accuracy.py --threads 2                # the goals, then the first point cold/warm
    python bench/bench_time_to_accuracy.py --threads 2 --presets      # every preset as the page runs it
    python bench/bench_time_to_accuracy.py --threads 2 --only digits  # one goal (shapes95, digits, baseline)
    python bench/bench_time_to_accuracy.py --threads 2 --no-channels-last   # the memory-layout choice, measured

Each goal's time runs from the config to the end of the epoch where validation accuracy reaches the
goal, data generation and model building included (the page's clock). The first point is the time
from the config to the first recorded training window, in a fresh process, with and without the
background warm-up (``cnnviz.train.warmup``) done before. Every figure is printed with
``os.getloadavg()``: the machine may be shared, so note the load with a figure and rerun it quiet.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnviz.train import PRESETS, Callback, JobLimiter, TrainConfig, Trainer, TrainingJob  # noqa: E402
from cnnviz.train import trainer as trainer_module  # noqa: E402

# (key, what, config, goal): the goals of issue 11
GOALS = (
    ("shapes95", "shapes, TinyVGG + batch norm (the default preset, 32×32) to 95 %", PRESETS["baseline"], 0.95),
    ("shapes95_64", "the same at 64×64 (the set's own side; not a goal: what the smaller side saves)",
     replace(PRESETS["baseline"], image_size=64), 0.95),
    ("digits", "digits, LeNet-5 to 98 %",
     TrainConfig(model="lenet5", dataset="digits", n_train=6000, n_val=1000, epochs=6, batch_size=64,
                 optimizer="adamw", learning_rate=3e-3, schedule="one_cycle", weight_decay=1e-4), 0.98),
    ("baseline", "the baseline preset to 90 % (run to its end)", PRESETS["baseline"], 0.90),
)  # fmt: skip


def load() -> str:
    """The machine's load and this process's CPU seconds so far (on a busy machine: CPU s / threads ≈ quiet wall s)."""
    return "load " + " ".join(f"{v:.1f}" for v in os.getloadavg()) + f", CPU {time.process_time():.1f} s"


class Clock(Callback):
    """Remember when the first window was recorded and when validation accuracy first reached ``goal``."""

    def __init__(self, start: float, goal: float, *, stop: bool) -> None:
        self.start, self.goal, self.stop = start, goal, stop
        self.first: float | None = None
        self.reached: tuple[float, int, float] | None = None

    def on_step_end(self, trainer: Trainer, stats) -> None:
        if stats is not None and self.first is None:
            self.first = time.perf_counter() - self.start

    def on_epoch_end(self, trainer: Trainer, stats) -> None:
        now = time.perf_counter() - self.start
        print(f"    epoch {stats.epoch}: val {stats.val_accuracy:.3f}, train {stats.train_accuracy:.3f}, "
              f"{stats.samples_per_s:.0f} images/s, {now:.1f} s, {load()}", flush=True)  # fmt: skip
        if stats.val_accuracy >= self.goal and self.reached is None:
            self.reached = (now, stats.epoch, stats.val_accuracy)
            if self.stop:
                trainer.request_stop()


def run_goal(key: str, what: str, config: TrainConfig, goal: float) -> None:
    print(f"{what}: {config.n_train} images × up to {config.epochs} epochs, batch {config.batch_size}", flush=True)
    start = time.perf_counter()
    clock = Clock(start, goal, stop=key != "baseline")
    history = Trainer(config).fit(callbacks=[clock])
    total = time.perf_counter() - start
    best = max(e.val_accuracy for e in history.epochs)
    reached = (f"{clock.reached[0]:.1f} s (epoch {clock.reached[1]}, {clock.reached[2]:.3f})" if clock.reached
               else f"not reached (best {best:.3f})")  # fmt: skip
    print(f"  -> {goal:.0%} {reached}; first point {clock.first:.2f} s; run {total:.1f} s, final val "
          f"{history.epochs[-1].val_accuracy:.3f}; {load()}", flush=True)  # fmt: skip


def first_point(warm: bool) -> None:
    """(In a fresh process.) Time the baseline preset from its config to its first recorded window."""
    if warm:
        from cnnviz.train import start_warmup, warmup_done

        begin = time.perf_counter()
        start_warmup()
        warmup_done(None)
        print(f"  warm-up took {time.perf_counter() - begin:.2f} s (in the background on a server)")
    start = time.perf_counter()
    clock = Clock(start, 2.0, stop=True)
    trainer = Trainer(PRESETS["baseline"])
    trainer.prepare()
    prepared = time.perf_counter() - start
    trainer.fit(callbacks=[clock, _StopAtFirst()])
    print(f"  first point {'after' if warm else 'without'} warm-up: {clock.first:.2f} s (data and model "
          f"{prepared:.2f} s); {load()}", flush=True)  # fmt: skip


class _StopAtFirst(Callback):
    def on_step_end(self, trainer: Trainer, stats) -> None:
        if stats is not None:
            trainer.request_stop()


def run_presets(names: list[str]) -> None:
    """Run presets as the page does (a TrainingJob, k-fold included) and print time, CPU time and accuracies."""
    for name in names:
        config, start, cpu = PRESETS[name], time.perf_counter(), time.process_time()
        job = TrainingJob(config, limiter=JobLimiter(1), threads=torch.get_num_threads()).start()
        while not job.join(timeout=1.0):
            job.touch()
        snap = job.snapshot()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        epochs = snap.epoch_stats
        last = epochs[-1] if epochs else None
        curve = ", ".join(f"{e.train_accuracy:.2f}/{e.val_accuracy:.2f}" for e in epochs)
        losses = [round(s.loss, 3) for s in snap.step_stats]
        print(f"{name}: {seconds:.1f} s ({cpu:.1f} CPU s), status {snap.status}, {len(snap.step_stats)} windows; "
              f"train/val acc per epoch {curve}; {load()}", flush=True)  # fmt: skip
        if name in ("high_lr", "low_lr"):
            print(f"    window losses {losses[:12]}{' …' if len(losses) > 12 else ''}")
        if last is None:
            print(f"    message: {snap.message}")
        job.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--presets", nargs="*", help="run these presets (none named: all) instead of the goals")
    parser.add_argument("--only", choices=[g[0] for g in GOALS], help="one goal only (no first-point runs)")
    parser.add_argument("--no-channels-last", action="store_true", help="train in the plain (N, C, H, W) layout")
    parser.add_argument("--first-point", choices=["cold", "warm"], help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trainer_module.CHANNELS_LAST = not args.no_channels_last
    if args.first_point:
        first_point(args.first_point == "warm")
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, channels_last "
          f"{trainer_module.CHANNELS_LAST}, {load()}", flush=True)  # fmt: skip
    if args.presets is not None:
        run_presets(args.presets or list(PRESETS))
        return
    for key, what, config, goal in GOALS:
        if args.only in (None, key):
            run_goal(key, what, config, goal)
    if args.only is None:
        for mode in ("cold", "warm"):
            cmd = [sys.executable, __file__, "--threads", str(args.threads), "--first-point", mode]
            cmd += ["--no-channels-last"] if args.no_channels_last else []
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
