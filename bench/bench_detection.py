"""Benchmark: the Detection page's detector from a fresh start. Goal: mAP@0.5 ≥ 0.8 on the validation scenes in 2 min.

    python bench/bench_detection.py [--threads 2] [--epochs N] [--n-train N] [--lr X] [--batch N]

Times what the page's Start button does: draw the scenes (``load_scenes(target="boxes")``), build the
detector, train it through the Trainer with the page's recipe (``cnnviz.detect.DETECTION_TRAINING``),
validating (decode, score threshold, per-class NMS, mAP@0.5 by our own code) after every epoch. Prints
each epoch, the time at which the validation mAP first reached the goal, the final mAP, AP per class,
and the machine's load (``os.getloadavg()``, before and after): on a shared machine the times are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnviz.detect import DETECTION_TRAINING, detection_run  # noqa: E402

GOAL_MAP = 0.8
GOAL_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--epochs", type=int, default=DETECTION_TRAINING.epochs)
    parser.add_argument("--n-train", type=int, default=DETECTION_TRAINING.n_train)
    parser.add_argument("--n-val", type=int, default=DETECTION_TRAINING.n_val)
    parser.add_argument("--lr", type=float, default=DETECTION_TRAINING.learning_rate)
    parser.add_argument("--batch", type=int, default=DETECTION_TRAINING.batch_size)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    config = replace(DETECTION_TRAINING, epochs=args.epochs, n_train=args.n_train, n_val=args.n_val,
                     learning_rate=args.lr, batch_size=args.batch, seed=args.seed)  # fmt: skip

    start = time.perf_counter()
    trainer = detection_run(config)
    trainer.prepare()
    prepared = time.perf_counter()
    reached: list[float] = []

    def on_epoch(_trainer: object, stats: object) -> None:
        now = time.perf_counter() - start
        if stats.val_accuracy >= GOAL_MAP and not reached:
            reached.append(now)
        print(f"epoch {stats.epoch:2d}  {now:6.1f} s  train loss {stats.train_loss:.3f}  "
              f"val loss {stats.val_loss:.3f}  val mAP@0.5 {stats.val_accuracy:.3f}  "
              f"({stats.samples_per_s:.0f} scenes/s)", flush=True)  # fmt: skip

    history = trainer.fit(callbacks=[on_epoch])
    total = time.perf_counter() - start
    print(f"threads {args.threads}; {config.n_train} training + {config.n_val} validation scenes, "
          f"batch {config.batch_size}, lr {config.learning_rate}, {config.epochs} epochs")  # fmt: skip
    print(f"scenes + model {prepared - start:.1f} s · whole run {total:.1f} s")
    ap = ", ".join(f"{k} {v:.3f}" for k, v in history.results["ap50"].items() if v is not None)
    print(f"final mAP@0.5 {history.results['map50']:.3f} ({ap})")
    if reached:
        verdict = "met" if reached[0] <= GOAL_S else "missed"
        print(f"mAP@0.5 ≥ {GOAL_MAP} after {reached[0]:.1f} s from a fresh start: goal {verdict} (≤ {GOAL_S:.0f} s)")
    else:
        print(f"mAP@0.5 never reached {GOAL_MAP}: goal missed")
    print(f"load average before {tuple(round(v, 2) for v in load_before)}, "
          f"after {tuple(round(v, 2) for v in os.getloadavg())} (1, 5, 15 min)")  # fmt: skip


if __name__ == "__main__":
    main()
