"""Load weights safely: ``torch.load(..., weights_only=True)`` always, and a message when they do not fit."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import torch
from torch import nn

from cnnviz.errors import CheckpointError, Phrase

__all__ = ["load_checkpoint"]


def _read_state_dict(source: str | Path | bytes | BinaryIO) -> dict[str, torch.Tensor]:
    """Read a state dict safely (``weights_only=True``); raises CheckpointError on anything else."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    label = str(source) if isinstance(source, str | Path) else Phrase("errors.uploaded_file")
    try:
        obj = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError.from_key("errors.checkpoint_missing", label=label) from err
    except Exception as err:  # noqa: BLE001 - torch.load raises many types on bad input; all mean 'unusable'
        raise CheckpointError.from_key("errors.checkpoint_unsafe", label=label, error=type(err).__name__) from err
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise CheckpointError.from_key("errors.checkpoint_no_state_dict", label=label)
    return dict(obj)


def load_checkpoint(model: nn.Module, source: str | Path | bytes | BinaryIO) -> nn.Module:
    """Load a state dict from a path, bytes or file into ``model`` and return the model.

    Loads with ``torch.load(..., weights_only=True)``. Raises CheckpointError when the file is not
    a checkpoint, or its names or shapes do not fit the model (the message lists them).
    """
    state = _read_state_dict(source)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {_short_list(missing)}")
        if unexpected:
            parts.append(f"unexpected {_short_list(unexpected)}")
        if wrong:
            parts.append(f"wrong shapes {_short_list(wrong)}")
        raise CheckpointError.from_key("errors.checkpoint_mismatch", model=type(model).__name__, parts="; ".join(parts))
    model.load_state_dict(state)
    return model


def _short_list(items: list[str], limit: int = 4) -> str:
    """Return at most ``limit`` items joined, with a count of the rest."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
