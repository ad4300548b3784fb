"""Which layers of a network a page shows: every layer of a small net, the blocks of a big one, its stages.

A small plain net (TinyVGG, LeNet-5) is shown layer by layer. A network built from blocks
(EfficientNet's MBConv, a ResNet's basic block) has hundreds of layers; there a learner looks at
what each block puts out, and at the end of each stage (where the resolution or the width changes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from cnnviz.explain.hooks import _resolve_layers, capture_activations, conv_layer_names

__all__ = ["BlockRun", "block_layers", "depthwise_filters", "run_blocks", "stage_layers"]


def _is_leaf(module: nn.Module) -> bool:
    return not any(True for _ in module.children())


def block_layers(model: nn.Module) -> list[str]:
    """Return the layers to show, in definition order: leaves, and whole blocks instead of their insides.

    A block is a child of a container (``nn.ModuleList`` / ``nn.Sequential``) that itself has
    children, such as ``_blocks.3`` of EfficientNet or ``layer1.0`` of a ResNet. The plain nets'
    containers hold only leaves, so for them this is every leaf (``hooks.layer_names``).
    """
    names: list[str] = []
    for name, child in model.named_children():
        if _is_leaf(child):
            names.append(name)
        elif isinstance(child, nn.ModuleList | nn.Sequential):
            names += [f"{name}.{sub}" for sub, _ in child.named_children()]
        else:
            names += [f"{name}.{sub}" for sub in block_layers(child)]
    return names


def stage_layers(model: nn.Module) -> list[str]:
    """Return one layer per stage: where Grad-CAM and the overview grids look.

    A model that names its stages (a ``stage_layers()`` method, as EfficientNetLite has: the stem,
    the last block of every stage, the head) gives those; any other model gives its conv layers.
    """
    named = getattr(model, "stage_layers", None)
    return list(named()) if callable(named) else conv_layer_names(model)


@dataclass(frozen=True)
class BlockRun:
    logits: Tensor  # (1, K)
    maps: dict[str, np.ndarray]  # layer → (C, H, W) float32, layers with spatial output, execution order
    vectors: dict[str, np.ndarray]  # layer → (F,) float32, layers with one number per feature (flatten, linear)


def run_blocks(model: nn.Module, x: Tensor, layers: Sequence[str] | None = None) -> BlockRun:
    """Run x (1, C, H, W) once without gradients; keep the outputs of ``layers`` (default: ``block_layers``).

    Raises ConfigError for an unknown layer. The model's mode is restored.
    """
    layers = block_layers(model) if layers is None else list(layers)
    with capture_activations(model, layers) as acts, torch.no_grad():
        logits = model(x)
    maps = {name: a[0].float().numpy() for name, a in acts.items() if a.dim() == 4}
    vectors = {name: a[0].float().numpy() for name, a in acts.items() if a.dim() == 2}
    return BlockRun(logits.detach(), maps, vectors)


def depthwise_filters(model: nn.Module, layer: str) -> tuple[str, np.ndarray] | None:
    """Return (name, weights (C, kH, kW)) of the depthwise conv inside ``layer`` (or ``layer`` itself), or None.

    A depthwise conv filters each channel on its own: ``groups == in_channels == out_channels``.
    Raises ConfigError for an unknown layer.
    """
    module = _resolve_layers(model, layer)[layer]
    for name, sub in module.named_modules():
        if isinstance(sub, nn.Conv2d) and sub.groups > 1 and sub.groups == sub.in_channels == sub.out_channels:
            full = f"{layer}.{name}" if name else layer
            return full, sub.weight.detach().float().numpy()[:, 0].copy()
    return None
