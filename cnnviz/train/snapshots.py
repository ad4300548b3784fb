"""What the page shows of a network as it trains: per epoch, the first convolution's filters and the feature
maps of one validation image (the probe), and a summary of the gradients of the epoch's last step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cnnviz.explain.hooks import capture_activations
from cnnviz.train.history import EpochSnapshot

__all__ = ["gradient_summary", "take_snapshot"]


def _first_conv(model: nn.Module) -> str | None:
    """Return the name of the model's first convolution (None when it has none)."""
    return next((name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)), None)


def gradient_summary(model: nn.Module) -> Any:
    """Summarise the gradients now held by ``model`` (called after backward, before the optimizer step)."""
    return None


def take_snapshot(
    model: nn.Module,
    probe_x: torch.Tensor,
    epoch: int,
    *,
    predict: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    gradients: Any = None,
    frozen_like: EpochSnapshot | None = None,
) -> EpochSnapshot | None:
    """The snapshot of ``model`` at the end of ``epoch``; None for a network without convolutions.

    ``probe_x`` (1, C, H, W) is the normalised probe image; ``predict(net, x)`` runs the network in eval mode
    the way the run does (autocast); ``frozen_like``: an earlier snapshot of a frozen backbone, reused as is.
    """
    name = _first_conv(model)
    if name is None:
        return None
    if frozen_like is not None:  # a frozen first layer: the same arrays again
        return EpochSnapshot(epoch, frozen_like.filters, frozen_like.probe_maps)
    with capture_activations(model, name) as captured:  # restores the training mode afterwards
        predict(model, probe_x)
    conv = model.get_submodule(name)
    filters = conv.weight.detach().float().cpu().numpy().copy()  # (C_out, C_in, k, k)
    maps = captured[name][0].float().cpu().numpy().copy()  # (C_out, H, W)
    filters.flags.writeable = maps.flags.writeable = False
    return EpochSnapshot(epoch, filters, maps)
