"""Save a trained model as a ``.pt`` file (state dict, config, preprocessing; no pickled code) and load it back."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import BinaryIO

import torch

from cnnviz.errors import CheckpointError, ConfigError
from cnnviz.train.components import _build_model
from cnnviz.train.config import config_from_dict, config_to_dict
from cnnviz.train.trainer import DataInfo, TrainedModel

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
        "epoch": trained.epoch,
        "last": trained.last,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def load_trained(source: bytes | BinaryIO) -> TrainedModel:
    """Load a file written by ``save_trained`` with ``weights_only=True``.

    The model is rebuilt from the saved config (the registry model for the saved classes, channels and
    size; a transfer-learning model is its registry model with the new head) and returned in eval mode.
    Raises CheckpointError when the file is not such a checkpoint or its weights do not fit the config.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        payload = torch.load(stream, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types (UnpicklingError, RuntimeError, EOFError, ...)
        raise CheckpointError.from_key("errors.trained_unsafe") from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError.from_key("errors.trained_not_ours")
    try:
        values = dict(payload["config"])
        if values.get("transfer"):  # files saved before 2026-12 claimed a batch norm that transfer never built
            values["batch_norm"] = False
        config = config_from_dict(values)
        data = DataInfo(str(payload.get("dataset", config.dataset)), tuple(payload["class_names"]),
                        int(payload["in_channels"]), int(payload["image_size"]))  # fmt: skip
        model = _build_model(replace(config, transfer=False), data)
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ConfigError, RuntimeError) as err:
        model_name = payload.get("config", {}).get("model", "?") if isinstance(payload.get("config"), dict) else "?"
        raise CheckpointError.from_key("errors.trained_mismatch", model=model_name) from err
    model.eval()
    mean, std = tuple(map(float, payload["mean"])), tuple(map(float, payload["std"]))
    return TrainedModel(model, config, data.class_names, data.in_channels, data.image_size, mean, std, data.name,
                        int(payload.get("epoch", 0)), bool(payload.get("last", True)))  # fmt: skip
