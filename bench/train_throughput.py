"""Throughput of our Trainer (with the live-UI metrics path) against a bare PyTorch loop, and time to 95 %.

Usage:
    python bench/train_throughput.py                       # CPU (or the GPU when one is present)
    python bench/train_throughput.py --threads 1 --repeats 3
    python bench/train_throughput.py --skip-accuracy       # throughput only
    python bench/train_throughput.py --skip-accuracy --image-size 32   # at the baseline preset's side

Both loops train the same model (same seed), on the same data already on the device, in the same
memory layout (channels_last, as the Trainer; ``--no-channels-last`` for the plain one), with the same
batch size and optimizer (Adam), each in a worker thread (torch runs faster off the main thread here,
so both get the same conditions). The Trainer runs inside a TrainingJob while another thread reads
``job.snapshot()`` and calls ``job.touch()`` once a second, as the page's fragment does. Runs are
interleaved (bare, trainer, bare, trainer, ...) and the median is reported, because the machine is
shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.device import device_label, select_device  # noqa: E402
from cnnviz.nets import build  # noqa: E402
from cnnviz.train import Callback, EpochStats, JobLimiter, LambdaCallback, TrainConfig, Trainer, TrainingJob  # noqa: E402
from cnnviz.train import trainer as trainer_module  # noqa: E402


def bare_loop(data, config: TrainConfig, device: torch.device) -> tuple[float, float]:
    """Train with the plainest PyTorch loop; return training images per wall second and per CPU second."""
    torch.manual_seed(config.seed)
    model = build(config.model, num_classes=len(data.class_names), in_channels=data.in_channels,
                  image_size=data.image_size).to(device)  # fmt: skip
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    x = ((data.train_x - mean) / std).to(device)  # (N, C, H, W)
    y = data.train_y.to(device)
    if trainer_module.CHANNELS_LAST:  # the Trainer's memory layout, so that the ratio measures its own overhead
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    gen = torch.Generator().manual_seed(config.seed)
    n, bs = x.shape[0], config.batch_size
    model.train()
    seen, start, cpu = 0, time.perf_counter(), time.process_time()
    for _ in range(config.epochs):
        perm = torch.randperm(n, generator=gen).to(device)
        for i in range(0, n - 1, bs):
            idx = perm[i : i + bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += idx.shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start), seen / (time.process_time() - cpu)


def in_thread(fn):
    """Run ``fn`` in a new thread and return its result (torch is measurably faster off the main thread here)."""
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("result", fn()))
    worker.start()
    worker.join()
    return out["result"]


def trainer_with_ui(data, config: TrainConfig) -> tuple[float, float, float]:
    """Train in a TrainingJob polled like the page; return train-phase, end-to-end and per-CPU-second images/s.

    CPU time is the whole process's (the job's thread, the polling thread, validation, snapshots).
    """
    job = TrainingJob(config, data=data, limiter=JobLimiter(1))
    job.trainer.prepare()  # the bare loop's data and model set-up are not timed either
    start, cpu = time.perf_counter(), time.process_time()
    job.start()
    while not job.join(timeout=1.0):  # the page's fragment: once a second
        job.touch()
        job.snapshot()
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    snap = job.snapshot()
    train_seconds = sum(data.train_x.shape[0] / e.samples_per_s for e in snap.epoch_stats)
    seen = data.train_x.shape[0] * len(snap.epoch_stats)
    return seen / train_seconds, seen / total, seen / cpu


class _StopAt(Callback):
    def __init__(self, target: float) -> None:
        self.target, self.start, self.reached = target, time.perf_counter(), None

    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        if stats.val_accuracy >= self.target and self.reached is None:
            self.reached = (time.perf_counter() - self.start, stats.epoch, stats.val_accuracy)
            trainer.request_stop()  # the target is reached


def time_to_accuracy(args: argparse.Namespace) -> None:
    """Train TinyVGG on shapes (batch norm, AdamW, one-cycle) until validation accuracy reaches the target."""
    config = TrainConfig(model="tinyvgg", dataset="shapes", n_train=args.acc_n_train, n_val=1000, batch_size=64,
                         epochs=args.acc_epochs, optimizer="adamw", learning_rate=1e-2, weight_decay=1e-4,
                         schedule="one_cycle", batch_norm=True, device=args.device)  # fmt: skip
    data = load_dataset("shapes", n_train=config.n_train, n_val=config.n_val, seed=0)
    stop = _StopAt(args.target)
    trainer = Trainer(config, data=data)
    trainer.prepare()
    stop.start = time.perf_counter()
    log = LambdaCallback(on_epoch_end=lambda _t, e: print(
        f"  epoch {e.epoch}: val acc {e.val_accuracy:.3f}, {e.samples_per_s:.0f} images/s, "
        f"{time.perf_counter() - stop.start:.0f} s", flush=True))  # fmt: skip
    history = trainer.fit(callbacks=[stop, log])
    best = max(e.val_accuracy for e in history.epochs)
    what = f"TinyVGG + batch norm, shapes, {config.n_train} images, AdamW one-cycle over {config.epochs} epochs"
    if stop.reached:
        seconds, epoch, acc = stop.reached
        print(f"time to {args.target:.0%} validation accuracy ({what}): {seconds:.0f} s (epoch {epoch}, {acc:.3f})")
    else:
        print(f"{args.target:.0%} not reached ({what}); best validation accuracy {best:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tinyvgg")
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = leave the default)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--acc-n-train", type=int, default=10000)
    parser.add_argument("--acc-epochs", type=int, default=8)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--image-size", type=int, default=64, help="side of the shapes images of the throughput runs")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--no-channels-last", action="store_true", help="both loops in the plain (N, C, H, W) layout")
    args = parser.parse_args()
    trainer_module.CHANNELS_LAST = not args.no_channels_last
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    print(
        f"device: {device_label(device)}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"channels_last {trainer_module.CHANNELS_LAST}, load {' '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    if not args.skip_throughput:
        throughput(args, device)
    if not args.skip_accuracy:
        time_to_accuracy(args)


def throughput(args: argparse.Namespace, device: torch.device) -> None:
    data = load_dataset("shapes", n_train=args.n_train, n_val=32, seed=0, image_size=args.image_size)  # tiny validation
    config = TrainConfig(model=args.model, batch_size=args.batch_size, epochs=args.epochs, learning_rate=1e-3,
                         device=args.device)  # fmt: skip
    bare_loop(data, TrainConfig(epochs=1, n_train=256, batch_size=args.batch_size), device)  # warm-up (imports)
    bare, bare_cpu, phase, total, cpu = [], [], [], [], []
    for _ in range(args.repeats):
        wall, per_cpu = in_thread(lambda: bare_loop(data, config, device))  # same conditions as the job's thread
        bare.append(wall)
        bare_cpu.append(per_cpu)
        for values, value in zip((phase, total, cpu), trainer_with_ui(data, config), strict=True):
            values.append(value)
    med = {name: statistics.median(v) for name, v in
           {"bare": bare, "bare_cpu": bare_cpu, "phase": phase, "total": total, "cpu": cpu}.items()}  # fmt: skip
    side = f"{args.image_size}×{args.image_size}"
    print(f"{args.model}, {args.n_train} shapes images at {side}, batch {args.batch_size}, {args.epochs} epochs × "
          f"{args.repeats} repeats (median; runs interleaved)")  # fmt: skip
    print(f"  bare loop        wall: {med['bare']:6.0f} images/s  runs {[round(v) for v in bare]}")
    print(f"  Trainer + UI     wall: {med['phase']:6.0f} images/s (train phase)  runs {[round(v) for v in phase]}; "
          f"end to end {med['total']:.0f}")  # fmt: skip
    print(f"  bare loop        CPU : {med['bare_cpu']:6.0f} images per CPU second  runs {[round(v) for v in bare_cpu]}")
    print(f"  Trainer + UI     CPU : {med['cpu']:6.0f} images per CPU second  runs {[round(v) for v in cpu]}")
    print(
        f"  ratio Trainer / bare: wall {med['phase'] / med['bare']:.2f}, CPU {med['cpu'] / med['bare_cpu']:.2f} "
        "(goal ≥ 0.95; CPU time is not disturbed by other processes on a shared machine)"
    )
    print(f"  ratio of the best runs (least disturbed): wall {max(phase) / max(bare):.2f}, "
          f"CPU {max(cpu) / max(bare_cpu):.2f}; load {' '.join(f'{v:.1f}' for v in os.getloadavg())}")  # fmt: skip


if __name__ == "__main__":
    main()
