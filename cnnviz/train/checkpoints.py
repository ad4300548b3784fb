"""Save a trained model as a ``.pt`` file (state dict, config, preprocessing; no pickled code) and load it back."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import BinaryIO

import torch

from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.train.components import _build_model
from cnnviz.train.config import config_from_dict, config_to_dict
from cnnviz.train.trainer import TrainedModel, _DataShape

__all__ = ["load_trained", "save_trained"]


CHECKPOINT_FORMAT = "cnnviz-trained-1"


def save_trained(trained: TrainedModel) -> bytes:
    """Serialise a trained model as a ``.pt`` file: state dict, config and preprocessing, no pickled code."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in trained.model.state_dict().items()},
        "config": config_to_dict(trained.config),
        "class_names": list(trained.class_names),
        "in_channels": trained.in_channels,
        "image_size": trained.image_size,
        "mean": list(trained.mean),
        "std": list(trained.std),
        "dataset": trained.dataset,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def load_trained(source: bytes | BinaryIO) -> TrainedModel:
    """Load a file written by ``save_trained`` with ``weights_only=True``; raise CheckpointError if it is not one."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        payload = torch.load(stream, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types (UnpicklingError, RuntimeError, EOFError, ...)
        raise CheckpointError.from_key("errors.trained_unsafe", error=type(err).__name__) from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError.from_key("errors.trained_not_ours")
    try:
        config = config_from_dict(payload["config"])
        data = _DataShape(tuple(payload["class_names"]), int(payload["in_channels"]), int(payload["image_size"]),
                          str(payload.get("dataset", "")))  # fmt: skip
        model = _build_model(replace(config, transfer=False), data)
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ConfigError, RuntimeError) as err:
        raise CheckpointError.from_key("errors.trained_mismatch", detail=str(err).splitlines()[0]) from err
    model.eval()
    mean, std = tuple(map(float, payload["mean"])), tuple(map(float, payload["std"]))
    return TrainedModel(model, config, data.class_names, data.in_channels, data.image_size, mean, std,
                        str(payload.get("dataset", config.dataset)))  # fmt: skip
