"""Choose the compute device in one place: CUDA, then MPS, then CPU."""

from __future__ import annotations

import torch

from cnnviz.errors import ConfigError, Phrase
from cnnviz.i18n import DEFAULT_LANGUAGE

__all__ = ["DEVICE_CHOICES", "device_label", "device_phrase", "select_device"]

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")  # "auto": CUDA, then MPS, then CPU


def select_device(preference: str = "auto") -> torch.device:
    """Return the device to compute on.

    ``preference`` is ``"auto"`` (CUDA, then MPS, then CPU) or one of ``"cuda"``, ``"mps"``,
    ``"cpu"``. Raises ConfigError when an explicitly requested device is not available.
    """
    pref = str(preference).lower()
    if pref not in DEVICE_CHOICES:
        raise ConfigError.from_key("errors.device_unknown", device=repr(preference), choices=", ".join(DEVICE_CHOICES))
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref == "cuda" and not torch.cuda.is_available():
        raise ConfigError.from_key("errors.device_no_cuda")
    if pref == "mps" and not _mps_available():
        raise ConfigError.from_key("errors.device_no_mps")
    return torch.device(pref)


def device_phrase(device: torch.device) -> Phrase:
    """Describe a device for people, translatable: 'CUDA (NVIDIA A100)', 'CPU (2 threads)'."""
    if device.type == "cuda":
        return Phrase("device.cuda", {"name": torch.cuda.get_device_name(device)})
    if device.type == "mps":
        return Phrase("device.mps")
    return Phrase("device.cpu", {"n": torch.get_num_threads()})


def device_label(device: torch.device, lang: str = DEFAULT_LANGUAGE) -> str:
    """Describe a device for people in ``lang``, e.g. 'CUDA (NVIDIA A100)' or 'CPU (2 threads)'."""
    return device_phrase(device).localized(lang)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
