"""Benchmark: transfer learning from EfficientNet-Lite0 on a zip of 3 classes × 10 photos. Goal: under 30 s on 2 cores.

    python bench/bench_transfer.py [--threads 2] [--flip]

Times what the Live-training page does with "my own images": read the zip (ImageNet preparation),
build the model with its ImageNet weights, compute the frozen backbone's features once, train the
new head for 10 epochs. The baseline, in the same run, is a bare PyTorch forward pass of the same
backbone over the same 30 images (the work no recipe can skip).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnviz.nets import build, get_spec  # noqa: E402
from cnnviz.train import Augmentation, TrainConfig, Trainer, load_archive_for  # noqa: E402
from tests.test_transfer import photo_zip  # noqa: E402  (the zip the tests train on, cut from the sample photos)

GOAL_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--flip", action="store_true", help="augmentation on: 4 flipped/changed views per photo")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    zipped = photo_zip()

    start = time.perf_counter()
    data = load_archive_for(zipped, get_spec("efficientnet_lite0"))
    read = time.perf_counter()
    augmentation = Augmentation(flip=True) if args.flip else Augmentation()
    config = TrainConfig(model="efficientnet_lite0", transfer=True, epochs=10, batch_size=16, augmentation=augmentation)
    trainer = Trainer(config, data=data.split)
    trainer.prepare()
    prepared = time.perf_counter()
    history = trainer.fit()
    done = time.perf_counter()

    backbone = build("efficientnet_lite0", weights="bundled").eval()
    spec = get_spec("efficientnet_lite0")
    images = torch.cat([data.split.train_x, data.split.val_x])
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (spec.mean, spec.std))
    bare_start = time.perf_counter()
    with torch.no_grad():
        backbone.forward_features((images - mean) / std)
    bare = time.perf_counter() - bare_start

    total = done - start
    print(f"threads {args.threads}, augmentation {'on' if args.flip else 'off'}, {len(images)} photos at 224×224")
    print(f"read zip {read - start:.1f} s · build + features {prepared - read:.1f} s · "
          f"10 epochs {done - prepared:.2f} s")
    print(f"total {total:.1f} s (goal < {GOAL_S:.0f} s: {'met' if total < GOAL_S else 'NOT met'}); "
          f"validation accuracy {history.epochs[-1].val_accuracy:.2f}")
    print(f"baseline: bare backbone forward over the same photos {bare:.1f} s → total / bare = {total / bare:.1f}×")


if __name__ == "__main__":
    main()
