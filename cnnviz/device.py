"""Choose the compute device in one place: CUDA, then MPS, then CPU; which devices exist; the CPU threads."""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from cnnviz.errors import ConfigError, Phrase
from cnnviz.i18n import DEFAULT_LANGUAGE

__all__ = ["DEVICE_CHOICES", "allowed_cpus", "available_devices", "device_label", "device_phrase", "select_device"]

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")  # "auto": CUDA, then MPS, then CPU
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # a container's CPU quota ("max 100000" or "200000 100000")


def available_devices() -> tuple[str, ...]:
    """The choices of ``select_device`` that can run here, in the order of DEVICE_CHOICES ("auto" and "cpu" always)."""
    present = {"auto": True, "cuda": torch.cuda.is_available(), "mps": _mps_available(), "cpu": True}
    return tuple(name for name in DEVICE_CHOICES if present[name])


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


def allowed_cpus() -> int:
    """CPU cores this process may use: the cores it is pinned to, capped by a container's CPU quota (cgroup v2)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
    except (OSError, ValueError):
        return cores
    if quota == "max":
        return cores
    return max(1, min(cores, math.ceil(int(quota) / int(period))))


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
