"""The places in a few photos that excite one channel most, each cut out by its unit's receptive field.

For every photo the channel's map is computed (one forward pass, :func:`cnnviz.explain.hooks.capture_activations`);
its strongest units are taken, skipping a unit whose field overlaps a patch already taken from that
photo by more than half, and each is cropped from the photo by :func:`cnnviz.explain.receptive.receptive_field`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from cnnviz.errors import ConfigError
from cnnviz.explain.activations import input_image
from cnnviz.explain.hooks import capture_activations
from cnnviz.explain.receptive import Box, ModelTrace, receptive_field, trace_model

__all__ = ["Patch", "top_activating_patches"]


CANDIDATES = 64  # units looked at per patch wanted from one photo before giving up on finding one apart


@dataclass(frozen=True)
class Patch:
    source: str  # the photo's name (its key in the images given)
    activation: float  # the unit's activation in the channel's map
    row: int  # the unit's position in the map
    col: int
    box: Box  # the unit's receptive field in the model input, clipped to it
    image: np.ndarray  # (h, w, 3) uint8: the model input inside ``box``, as the model sees it


def _channel_maps(model: nn.Module, layer: str, channel: int, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Map each input (1, C, H, W) to the channel's (h, w) map in ``layer``; ConfigError for a bad layer or channel."""
    maps = {}
    with capture_activations(model, layer) as acts, torch.no_grad():
        for name, x in inputs.items():
            model(x)
            act = acts[layer]  # (1, K, h, w)
            if act.dim() != 4:
                raise ConfigError.from_key("errors.layer_not_spatial", layer=layer)
            if not 0 <= channel < act.shape[1]:
                raise ConfigError.from_key("errors.channel_unknown", layer=layer, channel=channel,
                                           last=act.shape[1] - 1)  # fmt: skip
            maps[name] = act[0, channel]
    return maps


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area (0 when they do not touch)."""
    h = min(a.bottom, b.bottom) - max(a.top, b.top)
    w = min(a.right, b.right) - max(a.left, b.left)
    if h <= 0 or w <= 0:
        return 0.0
    return h * w / max(min(a.height * a.width, b.height * b.width), 1)


def top_activating_patches(
    model: nn.Module,
    layer: str,
    channel: int,
    inputs: Mapping[str, Tensor],
    *,
    mean: Sequence[float],
    std: Sequence[float],
    k: int = 8,
    per_image: int = 2,
) -> list[Patch]:
    """Return the ``k`` strongest patches of ``channel`` in ``layer`` over ``inputs``, strongest first.

    ``inputs`` maps a name to one normalised model input (1, C, H, W), all of one size (a photo after
    ``cnnviz.data.preprocess``); ``mean`` and ``std`` undo the normalisation for the crops. At most
    ``per_image`` patches come from one input, none overlapping another of it by more than half.
    Raises ConfigError for no inputs, inputs of different sizes, an unknown or non-spatial layer,
    or a channel the layer does not have.
    """
    shapes = {tuple(x.shape) for x in inputs.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 4 or next(iter(shapes))[0] != 1:
        raise ConfigError.from_key(
            "errors.patch_inputs", shapes=", ".join("×".join(map(str, s)) for s in shapes) or "—"
        )
    input_shape = next(iter(shapes))[1:]
    maps = _channel_maps(model, layer, channel, inputs)
    trace = trace_model(model, input_shape)
    patches: list[Patch] = []
    for name, fmap in maps.items():
        seen = input_image(inputs[name], mean, std)  # (H, W, 3) uint8
        patches += _patches_of(model, layer, name, fmap, seen, trace, per_image)
    return sorted(patches, key=lambda p: -p.activation)[: max(int(k), 0)]


def _patches_of(
    model: nn.Module, layer: str, name: str, fmap: Tensor, seen: np.ndarray, trace: ModelTrace, per_image: int
) -> list[Patch]:
    """The strongest units of one (h, w) map whose fields overlap little, cropped from ``seen``."""
    taken: list[Patch] = []
    order = torch.argsort(fmap.flatten(), descending=True, stable=True)
    width = fmap.shape[1]
    for index in order[: per_image * CANDIDATES].tolist():
        if len(taken) >= per_image:
            break
        row, col = divmod(index, width)
        field = receptive_field(model, layer, row, col, input_shape=trace.input_shape, trace=trace)
        if any(_overlap(field.box, p.box) > 0.5 for p in taken):
            continue
        crop = seen[field.box.top : field.box.bottom, field.box.left : field.box.right]
        taken.append(Patch(name, float(fmap[row, col]), row, col, field.box, np.ascontiguousarray(crop)))
    return taken
