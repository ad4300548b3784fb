"""Errors a learner can read: what is wrong, what is allowed, what to change."""

from __future__ import annotations

__all__ = ["CnnvizError", "ConfigError", "ImageError", "DataError", "CheckpointError", "TrainingError"]


class CnnvizError(ValueError):
    """Base class of every error cnnviz raises on purpose; pages show its message with st.error."""


class ConfigError(CnnvizError):
    """A layer or training setting that PyTorch (or arithmetic) rejects."""


class ImageError(CnnvizError):
    """An image that cannot be read, is too large, or too small for the chosen operation."""


class DataError(CnnvizError):
    """A data set or archive that cannot be used (offline, corrupt, unsafe zip, ...)."""


class CheckpointError(CnnvizError):
    """A checkpoint that cannot be loaded safely or does not fit the model."""


class TrainingError(CnnvizError):
    """A training run that cannot go on (diverged, stopped, ...)."""
