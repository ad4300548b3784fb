"""Train the bundled models and write assets/models/<name>.pt plus a manifest <name>.json.

    python -m cnnviz.train.bundled [--model tinyvgg|lenet5|all] [--out assets/models]

Seeded and deterministic on CPU: TinyVGG on the procedural "shapes", LeNet-5 on "digits".
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.data.preprocessing import normalize
from cnnviz.data.registry import load_dataset
from cnnviz.nets.registry import MODELS_DIR, ModelSpec, build, get_spec

__all__ = ["BUNDLES", "BundleConfig", "evaluate_accuracy", "main", "train_bundle"]


@dataclass(frozen=True)
class BundleConfig:
    """How one bundled model is trained."""

    model: str  # registry name
    dataset: str  # procedural data set it learns
    n_train: int  # training images
    n_val: int  # validation images (independent seeded stream)
    seed: int  # seeds the data, the initial weights and the batch order
    epochs: int  # passes over the training images
    batch_size: int  # images per optimizer step
    lr: float  # peak learning rate of AdamW (one-cycle schedule)
    weight_decay: float  # AdamW weight decay
    warmup: float = 0.2  # fraction of the steps spent raising the learning rate
    batch_norm: bool = True  # train with batch norm after each conv, folded into the convs before saving


# fmt: off
BUNDLES: dict[str, BundleConfig] = {
    "tinyvgg": BundleConfig("tinyvgg", "shapes", n_train=10_000, n_val=2_000, seed=0, epochs=8, batch_size=64,
                            lr=1e-2, weight_decay=1e-4, warmup=0.15),
    "lenet5": BundleConfig("lenet5", "digits", n_train=20_000, n_val=3_000, seed=0, epochs=3, batch_size=64,
                           lr=5e-3, weight_decay=1e-4, warmup=0.15),
}
# fmt: on


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


def train_bundle(cfg: BundleConfig, out_dir: Path, *, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Train one model as ``cfg`` says, write <model>.pt and <model>.json to ``out_dir``, return the manifest."""
    started = time.perf_counter()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(cfg.seed)
        data = load_dataset(cfg.dataset, n_train=cfg.n_train, n_val=cfg.n_val, seed=cfg.seed)
        spec = get_spec(cfg.model)
        model = build(cfg.model, batch_norm=cfg.batch_norm)
        history = _fit(model, data, spec, cfg, log)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    if cfg.batch_norm:  # the bundled file is the plain architecture: fold each batch norm into its conv
        plain = build(cfg.model)
        plain.load_state_dict(fold_batch_norm(model.eval()))
        model = plain.eval()
        history[-1]["val_accuracy"] = evaluate_accuracy(model, spec, data.val_x, data.val_y)
    seconds = time.perf_counter() - started
    return _write_bundle(cfg, model, out_dir, history=history, seconds=seconds, spec=spec)


def _fit(model: nn.Module, data: Any, spec: ModelSpec, cfg: BundleConfig, log: Callable[[str], None]) -> list[dict]:
    """Run the seeded AdamW + one-cycle training loop; return one record per epoch."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = -(-cfg.n_train // cfg.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=cfg.warmup
    )
    order = torch.Generator().manual_seed(cfg.seed)
    history = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        perm = torch.randperm(cfg.n_train, generator=order)
        total_loss = 0.0
        for start in range(0, cfg.n_train, cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            loss = F.cross_entropy(model(normalize(data.train_x[idx], spec)), data.train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(idx)
        val_acc = evaluate_accuracy(model, spec, data.val_x, data.val_y)
        history.append({"epoch": epoch, "train_loss": round(total_loss / cfg.n_train, 5), "val_accuracy": val_acc})
        log(f"{cfg.model} epoch {epoch}/{cfg.epochs}: loss {total_loss / cfg.n_train:.4f}, val acc {val_acc:.4f}")
    return history


def fold_batch_norm(model: nn.Module) -> dict[str, torch.Tensor]:
    """Return the state dict of the plain net (no batch norm) that computes what ``model`` computes in eval mode.

    Each ``blockK.bnI`` is folded into ``blockK.convI``: w' = w·γ/σ, b' = (b − μ)·γ/σ + β, σ = √(var + eps).
    """
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for name, module in model.named_modules():
        if not isinstance(module, nn.BatchNorm2d):
            continue
        conv = name.replace(".bn", ".conv")
        scale = module.weight.detach() / torch.sqrt(module.running_var + module.eps)  # (C,)
        state[f"{conv}.weight"] = state[f"{conv}.weight"] * scale.view(-1, 1, 1, 1)
        state[f"{conv}.bias"] = (state[f"{conv}.bias"] - module.running_mean) * scale + module.bias.detach()
        for key in [k for k in state if k.startswith(f"{name}.")]:
            del state[key]
    return state


def _write_bundle(
    cfg: BundleConfig,
    model: nn.Module,
    out_dir: Path,
    *,
    history: list[dict[str, Any]],
    seconds: float,
    spec: ModelSpec,
) -> dict[str, Any]:
    """Save the state dict and its manifest; return the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{cfg.model}.pt"
    torch.save(model.state_dict(), weights)
    manifest = {
        "model": cfg.model,
        "weights_file": weights.name,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "dataset": cfg.dataset,
        "class_names": list(spec.class_names),
        "input": {"in_channels": spec.in_channels, "image_size": spec.image_size, "mean": spec.mean, "std": spec.std},
        "training": {
            **asdict(cfg),
            "optimizer": "AdamW",
            "schedule": "OneCycleLR",
            "batch_norm_folded": cfg.batch_norm,
            "loss": "cross_entropy",
        },
        "val_accuracy": history[-1]["val_accuracy"],
        "history": history,
        "train_seconds": round(seconds, 1),
        "command": f"python -m cnnviz.train.bundled --model {cfg.model}",
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "threads": torch.get_num_threads(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (out_dir / f"{cfg.model}.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: train the chosen bundled model(s)."""
    parser = argparse.ArgumentParser(description="Train cnnviz's bundled models (seeded, CPU, a few minutes).")
    parser.add_argument("--model", choices=[*BUNDLES, "all"], default="all")
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="output folder (default: assets/models)")
    args = parser.parse_args(argv)
    names = list(BUNDLES) if args.model == "all" else [args.model]
    for name in names:
        manifest = train_bundle(BUNDLES[name], args.out, log=lambda line: print(line, flush=True))
        print(f"{name}: val accuracy {manifest['val_accuracy']:.4f} in {manifest['train_seconds']} s → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
