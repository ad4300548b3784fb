"""Benchmark: feature visualisation of one channel, 128×128, 100 steps, against a bare forward+backward loop.

The baseline does what the optimisation cannot avoid: the same number of forward passes up to the
layer and backward passes to the input, on a tensor of the same size, with no jitter, penalty,
Fourier transform or optimiser. Goal: one channel under 10 s on 2 CPU cores.

    python bench/bench_feature_vis.py [--repeats 3] [--threads 2] [--models efficientnet_lite0 tinyvgg]

Prints, per model and layer, the median seconds of the visualisation and of the baseline, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import time_runs  # noqa: E402
from cnnviz.explain import FeatureVisConfig, forward_to_layer, visualize_channel  # noqa: E402
from cnnviz.nets import build, get_spec  # noqa: E402

LAYERS = {"efficientnet_lite0": ("_blocks.3", "_blocks.7", "_blocks.14"), "tinyvgg": ("block2.conv2",)}


def baseline(model: torch.nn.Module, layer: str, channel: int, config: FeatureVisConfig, channels: int) -> None:
    """``steps`` bare forward passes to ``layer`` and backward passes to a (1, C, size, size) input."""
    x = torch.randn(1, channels, config.size, config.size, requires_grad=True)
    for _ in range(config.steps):
        (grad,) = torch.autograd.grad(forward_to_layer(model, layer, x)[0, channel].mean(), x)
        with torch.no_grad():
            x += 0.01 * grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(LAYERS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = FeatureVisConfig()  # 128×128, 100 steps: the page's default
    print(f"torch {torch.__version__}, {args.threads} thread(s), load {os.getloadavg()[0]:.2f}, "
          f"size {config.size}, steps {config.steps}, penalty {config.penalty.value}")  # fmt: skip
    for name in args.models:
        model, spec = build(name, weights="bundled"), get_spec(name)
        for layer in LAYERS[name]:

            def grow(model=model, layer=layer, spec=spec) -> None:
                visualize_channel(model, layer, 0, config, mean=spec.mean, std=spec.std)

            def bare_loop(model=model, layer=layer, spec=spec) -> None:
                baseline(model, layer, 0, config, spec.in_channels)

            vis = statistics.median(time_runs(grow, args.repeats))
            bare = statistics.median(time_runs(bare_loop, args.repeats))
            print(f"{name:20s} {layer:14s} visualise {vis:6.2f} s   bare fwd+bwd {bare:6.2f} s   ×{vis / bare:4.2f}")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
