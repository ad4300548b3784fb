"""Benchmark: the Segmentation page's FCN from a fresh start. Goal: mean IoU ≥ 0.8 on the validation scenes in 2 min.

    python bench/bench_segmentation.py [--threads 2] [--upsampling transposed|bilinear] [--epochs N] [--n-train N]
                                       [--lr X] [--batch N] [--widths 24,48,64]

Times what the page's Start button does: draw the scenes (``load_scenes(target="mask")``), build the FCN,
train it through the Trainer with the page's recipe (``cnnviz.segment.SEGMENTATION_TRAINING``), measuring
the validation mean IoU after every epoch. Prints each epoch, the time at which the validation mean IoU
first reached the goal, the final mean IoU and IoU per class, and the machine's load (``os.getloadavg()``,
before and after): on a shared machine the times are pessimistic.
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

from cnnviz.segment import SEGMENTATION_CLASSES, SEGMENTATION_TRAINING, FCNConfig, segmentation_parts  # noqa: E402
from cnnviz.train import Trainer  # noqa: E402

GOAL_MIOU = 0.8
GOAL_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--upsampling", default="transposed", choices=("transposed", "bilinear"))
    parser.add_argument("--epochs", type=int, default=SEGMENTATION_TRAINING.epochs)
    parser.add_argument("--n-train", type=int, default=SEGMENTATION_TRAINING.n_train)
    parser.add_argument("--n-val", type=int, default=SEGMENTATION_TRAINING.n_val)
    parser.add_argument("--lr", type=float, default=SEGMENTATION_TRAINING.learning_rate)
    parser.add_argument("--batch", type=int, default=SEGMENTATION_TRAINING.batch_size)
    parser.add_argument("--widths", default=",".join(map(str, FCNConfig.widths)))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    config = replace(SEGMENTATION_TRAINING, epochs=args.epochs, n_train=args.n_train, n_val=args.n_val,
                     learning_rate=args.lr, batch_size=args.batch, seed=args.seed)  # fmt: skip
    spec = FCNConfig(SEGMENTATION_CLASSES, widths=tuple(int(w) for w in args.widths.split(",")),
                     upsampling=args.upsampling)  # fmt: skip

    start = time.perf_counter()
    parts = segmentation_parts(config, spec)
    trainer = Trainer(config, data=parts.data, model=parts.model, task=parts.task)
    trainer.prepare()
    prepared = time.perf_counter()
    reached: list[float] = []

    def on_epoch(_trainer: object, stats: object) -> None:
        now = time.perf_counter() - start
        if stats.val_accuracy >= GOAL_MIOU and not reached:
            reached.append(now)
        print(f"epoch {stats.epoch:2d}  {now:6.1f} s  train loss {stats.train_loss:.3f}  "
              f"pixel accuracy {stats.train_accuracy:.3f}  val loss {stats.val_loss:.3f}  "
              f"val mIoU {stats.val_accuracy:.3f}  ({stats.samples_per_s:.0f} scenes/s)", flush=True)  # fmt: skip

    history = trainer.fit(callbacks=[on_epoch])
    total = time.perf_counter() - start
    print(f"threads {args.threads}; {spec.upsampling.value} upsampling, widths {spec.widths}; {config.n_train} "
          f"training + {config.n_val} validation scenes, batch {config.batch_size}, lr {config.learning_rate}, "
          f"{config.epochs} epochs")  # fmt: skip
    print(f"scenes + model {prepared - start:.1f} s · whole run {total:.1f} s")
    iou = ", ".join(f"{k} {v:.3f}" for k, v in history.results["iou"].items() if v is not None)
    print(f"final mean IoU {history.results['miou']:.3f} ({iou})")
    if reached:
        verdict = "met" if reached[0] <= GOAL_S else "missed"
        print(f"mean IoU ≥ {GOAL_MIOU} after {reached[0]:.1f} s from a fresh start: goal {verdict} (≤ {GOAL_S:.0f} s)")
    else:
        print(f"mean IoU never reached {GOAL_MIOU}: goal missed")
    print(f"load average before {tuple(round(v, 2) for v in load_before)}, "
          f"after {tuple(round(v, 2) for v in os.getloadavg())} (1, 5, 15 min)")  # fmt: skip


if __name__ == "__main__":
    main()
