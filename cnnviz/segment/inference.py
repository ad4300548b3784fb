"""Using a trained FCN: class scores and masks of scenes or photos, a mask in colour, saving and loading.

A saved FCN is a ``.pt`` file of plain tensors and numbers (its config, state dict and input
normalisation), read back with ``torch.load(..., weights_only=True)``: nothing in it is executed.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, fields
from typing import Any, BinaryIO

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

from cnnviz.errors import CheckpointError
from cnnviz.segment.fcn import FCN, FCNConfig

__all__ = [
    "FCN_FORMAT",
    "MASK_COLOURS",
    "LoadedFCN",
    "Segmentation",
    "colour_mask",
    "overlay_mask",
    "scene_picture",
    "load_fcn",
    "photo_to_scene",
    "save_fcn",
    "predict_masks",
]


FCN_FORMAT = "cnnviz-fcn-1"  # the "format" entry of a saved FCN


# One colour per mask value: background black, then one bright colour per object class (uint8 RGB; the first six
# are Streamlit's red, green, yellow, blue, orange and violet, so that a page can write a legend in them).
MASK_COLOURS = np.array([[0, 0, 0], [255, 75, 75], [33, 195, 84], [250, 202, 43], [28, 131, 225], [255, 164, 33],
                         [128, 61, 245], [70, 240, 240], [240, 50, 230]], dtype=np.uint8)  # fmt: skip


@dataclass(frozen=True)
class Segmentation:
    """What an FCN makes of a batch of scenes."""

    probabilities: Tensor  # (N, K + 1, H, W) float32: softmax over the classes at every pixel
    mask: Tensor  # (N, H, W) int64: the most probable class of every pixel


@torch.no_grad()
def predict_masks(model: FCN, images: Tensor, *, mean: tuple[float, ...], std: tuple[float, ...],
            batch: int = 64) -> Segmentation:  # fmt: skip
    """Run ``model`` (eval mode, restored after) on [0, 1] images (N, 3, H, W); return probabilities and masks."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        m = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        s = torch.tensor(std, device=device).view(1, -1, 1, 1)
        out = [model((images[i : i + batch].to(device) - m) / s).float().softmax(1).cpu()
               for i in range(0, images.shape[0], batch)]  # fmt: skip
    finally:
        model.train(was_training)
    probabilities = torch.cat(out) if out else torch.zeros((0, model.config.num_classes, *images.shape[2:]))
    return Segmentation(probabilities, probabilities.argmax(1))


def colour_mask(mask: Tensor | np.ndarray) -> np.ndarray:
    """Return a mask (H, W) of class values as a uint8 RGB picture (H, W, 3), one colour per class (MASK_COLOURS)."""
    values = np.asarray(mask, dtype=np.int64)
    return MASK_COLOURS[np.clip(values, 0, len(MASK_COLOURS) - 1)]


def overlay_mask(picture: np.ndarray, mask: Tensor | np.ndarray, *, alpha: float = 0.55) -> np.ndarray:
    """Blend the class colours of ``mask`` (H, W) over a uint8 picture (H, W, 3); the background stays as it is."""
    colours = colour_mask(mask).astype(np.float32)
    objects = (np.asarray(mask) > 0)[..., None]
    blended = np.where(objects, (1 - alpha) * picture.astype(np.float32) + alpha * colours, picture)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def scene_picture(image: Tensor) -> np.ndarray:
    """Turn one [0, 1] scene (3, H, W) into a uint8 picture (H, W, 3)."""
    return (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def photo_to_scene(photo: Image.Image, size: int) -> Tensor:
    """Centre-crop a photo to a square and resize it to ``size``×``size``: float32 (1, 3, size, size) in [0, 1]."""
    square = ImageOps.fit(photo.convert("RGB"), (size, size), method=Image.Resampling.BILINEAR)
    array = np.asarray(square, dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


# -- saving and loading ---------------------------------------------------------------------------


def save_fcn(model: FCN, *, mean: tuple[float, ...], std: tuple[float, ...], epoch: int = 0) -> bytes:
    """Serialise an FCN as a ``.pt`` file: its config, state dict and input normalisation, no pickled code."""
    config = asdict(model.config)
    config["upsampling"] = model.config.upsampling.value
    payload = {
        "format": FCN_FORMAT,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "epoch": int(epoch),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class LoadedFCN:
    model: FCN  # on the CPU, in eval mode
    mean: tuple[float, ...]  # per-channel normalisation of [0, 1] scenes
    std: tuple[float, ...]
    epoch: int


def load_fcn(source: bytes | BinaryIO) -> LoadedFCN:
    """Load a file written by :func:`save_fcn`, always with ``torch.load(..., weights_only=True)``.

    Raises CheckpointError when the file cannot be read safely, is not a saved FCN, or its weights
    do not fit the network its config describes.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        payload = torch.load(stream, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types (UnpicklingError, EOFError, ...): all mean unusable
        raise CheckpointError.from_key("errors.fcn_unreadable") from err
    if not isinstance(payload, dict) or payload.get("format") != FCN_FORMAT:
        raise CheckpointError.from_key("errors.fcn_not_ours")
    try:
        model = FCN(_config_from(payload["config"]))
        model.load_state_dict(payload["state_dict"])
        mean, std = tuple(map(float, payload["mean"])), tuple(map(float, payload["std"]))
        epoch = int(payload.get("epoch", 0))
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:  # ConfigError is a ValueError
        raise CheckpointError.from_key("errors.fcn_mismatch") from err
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise CheckpointError.from_key("errors.fcn_mismatch")
    return LoadedFCN(model.eval(), mean, std, epoch)


def _config_from(values: Any) -> FCNConfig:
    """Rebuild an FCNConfig from its saved plain values (TypeError/ValueError when they do not fit)."""
    if not isinstance(values, dict) or set(values) - {f.name for f in fields(FCNConfig)}:
        raise TypeError("not an FCN config")
    plain = dict(values)
    plain["class_names"] = tuple(str(v) for v in values["class_names"])
    plain["widths"] = tuple(int(v) for v in values.get("widths", FCNConfig.widths))
    for key in ("image_size", "skip_stage"):
        if key in values:
            plain[key] = int(values[key])
    return FCNConfig(**plain)
