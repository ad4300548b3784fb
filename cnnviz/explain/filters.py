"""A conv layer's filters as pictures: weights by layer, signed tiles, colour patches, filter beside its map."""

from __future__ import annotations

import numpy as np
from torch import nn

from cnnviz.errors import ConfigError
from cnnviz.explain.hooks import _resolve_layers, conv_layer_names

__all__ = ["conv_filters", "filter_map_pairs", "filter_rgb", "filter_tiles", "source_conv"]


def conv_filters(model: nn.Module) -> dict[str, np.ndarray]:
    """Return every conv layer's weights as float32 arrays (C_out, C_in / groups, kH, kW), by name."""
    return {
        name: module.weight.detach().cpu().float().numpy().copy()
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d)
    }


def source_conv(model: nn.Module, layer: str) -> str | None:
    """Return the conv layer whose filters made ``layer``'s maps: itself, or the last conv defined before it.

    ReLU, batch norm and pooling keep the channels of the conv before them. Returns None when no
    conv comes before ``layer``. Raises ConfigError (a ValueError) for an unknown layer.
    """
    _resolve_layers(model, layer)
    convs = set(conv_layer_names(model))
    names = [name for name, _ in model.named_modules() if name]
    found = None
    for name in names[: names.index(layer) + 1]:
        if name in convs:
            found = name
    return found


def filter_rgb(weight: np.ndarray) -> np.ndarray:
    """Show 3-input-channel filters in colour: (C_out, 3, kH, kW) → (C_out, kH, kW, 3) uint8.

    Each filter is scaled on its own so that 0 is mid-grey and its largest |weight| reaches 0 or 255.
    Raises ConfigError unless the filters have exactly 3 input channels.
    """
    if weight.ndim != 4 or weight.shape[1] != 3:
        raise ConfigError.from_key("errors.filters_not_rgb", shape=_shape(weight))
    w = np.moveaxis(weight.astype(np.float64), 1, -1)  # (C_out, kH, kW, 3)
    vmax = np.abs(w).reshape(len(w), -1).max(axis=1).reshape(-1, 1, 1, 1)
    unit = 0.5 + 0.5 * w / np.where(vmax > 0, vmax, 1.0)
    return np.clip(np.rint(unit * 255), 0, 255).astype(np.uint8)


def filter_tiles(weight: np.ndarray) -> np.ndarray:
    """Collapse each filter to one signed 2-D tile: mean over input channels, (C_out, kH, kW) float32."""
    if weight.ndim != 4:
        raise ConfigError.from_key("errors.filters_not_4d", shape=_shape(weight))
    return weight.mean(axis=1).astype(np.float32)


def filter_map_pairs(tiles: np.ndarray, maps: np.ndarray, *, gap: int = 1) -> np.ndarray:
    """Put each filter tile next to its feature map: (C, kH, kW) + (C, H, W) → (C, H, W + gap + W).

    Both halves are scaled to [-1, 1] on their own (weights and activations have unrelated scales),
    the filter enlarged by nearest neighbour to the map's size; the gap is 0 (white). Use with
    ``render.montage(..., signed=True, vmax=1)``. Raises ValueError when the channel counts differ.
    """
    if tiles.ndim != 3 or maps.ndim != 3 or len(tiles) != len(maps):
        raise ConfigError.from_key("errors.filters_maps_differ", filters=_shape(tiles), maps=_shape(maps))
    count, height, width = maps.shape
    rows = np.minimum(np.arange(height) * tiles.shape[1] // height, tiles.shape[1] - 1)
    cols = np.minimum(np.arange(width) * tiles.shape[2] // width, tiles.shape[2] - 1)
    big = tiles[:, rows][:, :, cols]  # (C, H, W) nearest-neighbour enlargement
    out = np.zeros((count, height, 2 * width + gap), np.float32)
    out[:, :, :width] = big / _max_abs(big)
    out[:, :, width + gap :] = maps / _max_abs(maps)
    return out


def _shape(arr: np.ndarray) -> str:
    return "×".join(map(str, arr.shape))


def _max_abs(arr: np.ndarray) -> float:
    vmax = float(np.abs(arr).max()) if arr.size else 0.0
    return vmax if vmax > 0 else 1.0
