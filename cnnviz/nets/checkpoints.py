"""Load weights safely: ``torch.load(..., weights_only=True)`` always, and a message when they do not fit."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
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
        raise CheckpointError.from_key("errors.checkpoint_unsafe", label=label) from err
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
        f"{k} ({_shape(state[k])} / {_shape(expected[k])})"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    parts = [
        Phrase(key, {"names": _short_list(names)})
        for key, names in (("errors.checkpoint_part.missing", missing),
                           ("errors.checkpoint_part.unexpected", unexpected),
                           ("errors.checkpoint_part.wrong_shape", wrong))
        if names
    ]  # fmt: skip
    if parts:
        model_name = type(model).__name__
        raise CheckpointError.from_key("errors.checkpoint_mismatch", model=model_name, parts=_Joined(tuple(parts)))
    model.load_state_dict(state)
    return model


@dataclass(frozen=True)
class _Joined:
    """Several phrases of one message, translated one by one and joined with "; "."""

    parts: tuple[Phrase, ...]

    def localized(self, lang: str) -> str:
        return "; ".join(part.localized(lang) for part in self.parts)

    def __str__(self) -> str:
        return "; ".join(map(str, self.parts))


def _shape(tensor: torch.Tensor) -> str:
    return "×".join(map(str, tensor.shape)) or "1"


def _short_list(items: list[str], limit: int = 4) -> str:
    """Return at most ``limit`` items joined, with a count of the rest."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
