"""What a layer shows: the input as the model sees it, and the layers whose outputs are stacks of maps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from cnnviz.errors import ConfigError

__all__ = ["input_image", "spatial_activations"]


def _check_single(x: Tensor) -> None:
    """Raise ConfigError unless ``x`` is one image shaped (1, C, H, W)."""
    if x.dim() != 4 or x.shape[0] != 1:
        raise ConfigError.from_key("errors.one_image", shape="×".join(map(str, x.shape)))


def input_image(x: Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Undo the normalisation of one model input: (1, C, H, W) → (H, W, 3) uint8, what the model sees.

    A one-channel input comes back as grey RGB.
    """
    _check_single(x)
    channels = x.shape[1]
    m = torch.tensor(mean, dtype=x.dtype).view(1, channels, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, channels, 1, 1)
    arr = (x.detach().cpu() * s + m).clamp(0, 1)[0].permute(1, 2, 0).numpy()  # (H, W, C)
    arr = np.repeat(arr, 3, axis=2) if channels == 1 else arr
    return np.rint(arr * 255).astype(np.uint8)


def spatial_activations(acts: dict[str, Tensor]) -> dict[str, np.ndarray]:
    """Keep the layers whose output is a stack of maps; return name → (C, H, W) float32 of image 0."""
    return {name: a[0].float().cpu().numpy() for name, a in acts.items() if a.dim() == 4}
