"""The images of a data set that excite one channel of a layer most."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from cnnviz.errors import ConfigError
from cnnviz.explain.hooks import capture_activations

__all__ = ["top_activating_images"]


def top_activating_images(
    model: nn.Module, layer: str, channel: int, images: Tensor, k: int = 8, *, batch_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Find the ``k`` images that excite one channel of ``layer`` most (by the map's maximum).

    images: (N, C, H, W), already preprocessed as the model expects; not modified.
    Returns (indices (k,) int64, scores (k,) float32), strongest first.
    Raises ConfigError (a ValueError) for an unknown layer, a channel the layer does not have, or a non-spatial layer.
    """
    if images.dim() != 4 or len(images) == 0:
        raise ConfigError.from_key("errors.image_batch", shape="×".join(map(str, images.shape)))
    scores = []
    with capture_activations(model, layer) as acts, torch.no_grad():
        for start in range(0, len(images), batch_size):
            model(images[start : start + batch_size])
            act = acts[layer]  # (B, K, h, w)
            if act.dim() != 4:
                raise ConfigError.from_key("errors.layer_not_spatial", layer=layer)
            if not 0 <= channel < act.shape[1]:
                last = act.shape[1] - 1
                raise ConfigError.from_key("errors.channel_unknown", layer=layer, channel=channel, last=last)
            scores.append(act[:, channel].amax(dim=(1, 2)))
    all_scores = torch.cat(scores)
    values, indices = all_scores.topk(min(int(k), len(all_scores)))
    return indices.numpy().astype(np.int64), values.numpy().astype(np.float32)
