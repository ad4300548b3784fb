"""Choose the compute device in one place: CUDA, then MPS, then CPU."""

from __future__ import annotations

import torch

from cnnviz.errors import ConfigError

__all__ = ["select_device", "device_label"]


def select_device(preference: str = "auto") -> torch.device:
    """Return the device to compute on.

    ``preference`` is ``"auto"`` (CUDA, then MPS, then CPU) or one of ``"cuda"``, ``"mps"``,
    ``"cpu"``. Raises ConfigError when an explicitly requested device is not available.
    """
    pref = preference.lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA was requested but no CUDA GPU is available: choose 'auto' or 'cpu'.")
    if pref == "mps" and not _mps_available():
        raise ConfigError("MPS was requested but this machine has no Apple GPU: choose 'auto' or 'cpu'.")
    if pref not in {"cuda", "mps", "cpu"}:
        raise ConfigError(f"Unknown device {preference!r}: use 'auto', 'cuda', 'mps' or 'cpu'.")
    return torch.device(pref)


def device_label(device: torch.device) -> str:
    """Describe a device for people, e.g. 'CUDA (NVIDIA A100)' or 'CPU (2 threads)'."""
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "MPS (Apple GPU)"
    return f"CPU ({torch.get_num_threads()} threads)"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
