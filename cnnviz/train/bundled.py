"""Train the bundled models through the Trainer and write assets/models/<name>.pt plus a manifest <name>.json.

    python -m cnnviz.train.bundled [--model tinyvgg|lenet5|all] [--out assets/models] [--threads 1]

Seeded and deterministic on the CPU (``torch.use_deterministic_algorithms(True)``, one thread by
default): the same command writes a byte-identical file. TinyVGG learns the procedural "shapes",
LeNet-5 the "digits"; both train with batch norm, which is folded into the convolutions before
saving (``torch.nn.utils.fusion.fuse_conv_bn_eval``), so the file fits the plain architecture.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from cnnviz.data.preprocessing import normalize
from cnnviz.errors import ConfigError, TrainingError
from cnnviz.nets.registry import MODELS_DIR, ModelSpec, build, get_spec
from cnnviz.train.callbacks import LambdaCallback
from cnnviz.train.config import OptimizerName, Schedule, TrainConfig, config_to_dict
from cnnviz.train.history import EpochStats, History, RunStatus
from cnnviz.train.trainer import Trainer

__all__ = ["BUNDLES", "evaluate_accuracy", "fold_batch_norm", "main", "train_bundle"]


def _bundle(model: str, dataset: str, **changes: Any) -> TrainConfig:
    """AdamW with a one-cycle schedule and batch norm, on the CPU; the rest as given."""
    return TrainConfig(model=model, dataset=dataset, optimizer=OptimizerName.ADAMW, schedule=Schedule.ONE_CYCLE,
                       batch_norm=True, device="cpu", sync_every=50, seed=0, **changes)  # fmt: skip


BUNDLES: dict[str, TrainConfig] = {
    "tinyvgg": _bundle("tinyvgg", "shapes", n_train=10_000, n_val=2_000, epochs=12, batch_size=64,
                       learning_rate=1e-2, weight_decay=1e-4, warmup=0.15),  # fmt: skip
    "lenet5": _bundle("lenet5", "digits", n_train=20_000, n_val=3_000, epochs=3, batch_size=64,
                      learning_rate=5e-3, weight_decay=1e-4, warmup=0.15),  # fmt: skip
}


def evaluate_accuracy(
    model: nn.Module, spec: ModelSpec, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500
) -> float:
    """Return the fraction of images (N, C, H, W) in [0, 1] the model classifies as ``y``."""
    was_training = model.training
    model.eval()
    correct = 0
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                logits = model(normalize(x[start : start + batch_size], spec))
                correct += int((logits.argmax(1) == y[start : start + batch_size]).sum())
    finally:
        model.train(was_training)
    return correct / max(1, len(x))


def fold_batch_norm(model: nn.Module) -> dict[str, torch.Tensor]:
    """Return the state dict of the plain net (no batch norm) that computes what ``model`` computes in eval mode.

    Each BatchNorm2d is folded into the Conv2d just before it with ``fuse_conv_bn_eval``
    (w' = w·γ/σ, b' = (b − μ)·γ/σ + β, σ = √(var + eps)); the batch-norm entries are dropped. The
    model's mode is restored afterwards. Raises ConfigError for a batch norm that follows no convolution.
    """
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    was_training = model.training
    model.eval()  # fusion is defined for eval mode (running statistics)
    try:
        conv_name = None
        for name, module in model.named_modules():
            if isinstance(module, nn.Conv2d):
                conv_name = name
            elif isinstance(module, nn.BatchNorm2d):
                if conv_name is None:
                    raise ConfigError.from_key("errors.train_fold_no_conv", layer=name)
                fused = fuse_conv_bn_eval(model.get_submodule(conv_name), module)
                state[f"{conv_name}.weight"], state[f"{conv_name}.bias"] = fused.weight.detach(), fused.bias.detach()
                for key in [k for k in state if k.startswith(f"{name}.")]:
                    del state[key]
                conv_name = None
    finally:
        model.train(was_training)
    return state


def train_bundle(
    cfg: TrainConfig, out_dir: Path, *, threads: int = 1, log: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Train one model with the Trainer as ``cfg`` says, write <model>.pt and <model>.json, return the manifest.

    Runs with deterministic algorithms and ``threads`` torch threads (both restored afterwards).
    Raises TrainingError when the run does not finish (diverged or stopped early).
    """
    started = time.perf_counter()
    was_deterministic, was_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        trainer = Trainer(cfg)
        history = trainer.fit(callbacks=[LambdaCallback(on_epoch_end=lambda _t, e: log(_epoch_line(cfg, e)))])
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_num_threads(was_threads)
    if history.status is not RunStatus.FINISHED:
        raise TrainingError.from_key("errors.train_bundle_unfinished", model=cfg.model, reason=history.message or "")
    model = trainer.model.to("cpu").eval()
    if cfg.batch_norm:  # the bundled file is the plain architecture: fold each batch norm into its conv
        plain = build(cfg.model)
        plain.load_state_dict(fold_batch_norm(model))
        model = plain.eval()
    spec = get_spec(cfg.model)
    accuracy = evaluate_accuracy(model, spec, trainer.data.val_x, trainer.data.val_y)
    return _write_bundle(cfg, model, out_dir, trainer=trainer, history=history, accuracy=accuracy,
                         seconds=time.perf_counter() - started, threads=threads)  # fmt: skip


def _epoch_line(cfg: TrainConfig, e: EpochStats) -> str:
    return (f"{cfg.model} epoch {e.epoch}/{cfg.epochs}: train loss {e.train_loss:.4f}, val loss {e.val_loss:.4f}, "
            f"val acc {e.val_accuracy:.4f}, {e.seconds:.0f} s")  # fmt: skip


def _write_bundle(
    cfg: TrainConfig, model: nn.Module, out_dir: Path, *, trainer: Trainer, history: History, accuracy: float,
    seconds: float, threads: int,
) -> dict[str, Any]:  # fmt: skip
    """Save the state dict and its manifest; return the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{cfg.model}.pt"
    torch.save(model.state_dict(), weights)
    spec = get_spec(cfg.model)
    scheduler = trainer._scheduler  # the Trainer's own objects: the manifest names what really ran
    manifest = {
        "model": cfg.model,
        "weights_file": weights.name,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "dataset": cfg.dataset,
        "class_names": list(spec.class_names),
        "input": {"in_channels": spec.in_channels, "image_size": spec.image_size, "mean": spec.mean, "std": spec.std},
        "training": {
            **config_to_dict(cfg),
            "trainer": "cnnviz.train.Trainer",
            "optimizer_class": f"torch.optim.{type(trainer._optimizer).__name__}",
            "scheduler_class": None if scheduler is None else f"torch.optim.lr_scheduler.{type(scheduler).__name__}",
            "loss": "cross_entropy",
            "batch_norm_folded": cfg.batch_norm,
            "deterministic_algorithms": True,
        },
        "val_accuracy": accuracy,  # of the saved (folded) model on the n_val validation images
        "history": [{"epoch": e.epoch, "train_loss": round(e.train_loss, 5), "val_loss": round(e.val_loss, 5),
                     "val_accuracy": e.val_accuracy} for e in history.epochs],  # fmt: skip
        "train_seconds": round(seconds, 1),
        "command": f"python -m cnnviz.train.bundled --model {cfg.model}",
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "threads": threads,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (out_dir / f"{cfg.model}.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: train the chosen bundled model(s)."""
    parser = argparse.ArgumentParser(description="Train cnnviz's bundled models (seeded, deterministic, CPU).")
    parser.add_argument("--model", choices=[*BUNDLES, "all"], default="all")
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="output folder (default: assets/models)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the file is reproducible per count)")
    args = parser.parse_args(argv)
    names = list(BUNDLES) if args.model == "all" else [args.model]
    for name in names:
        manifest = train_bundle(BUNDLES[name], args.out, threads=args.threads, log=lambda line: print(line, flush=True))
        print(f"{name}: val accuracy {manifest['val_accuracy']:.4f} in {manifest['train_seconds']} s → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
