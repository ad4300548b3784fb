"""Errors a learner can read: what is wrong, what is allowed, what to change.

An error can carry a translation key and its values (``ConfigError.from_key("errors.x", kernel=7)``):
``str(err)`` is then the English text of ``cnnviz/locales/errors.json`` and ``err.localized("ko")``
the Korean one. A value may itself be a :class:`Phrase` or another keyed error; it is translated
into the same language. Errors raised with a plain message stay as they are in every language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from cnnviz.i18n import DEFAULT_LANGUAGE, translate

__all__ = ["CnnvizError", "ConfigError", "ImageError", "DataError", "CheckpointError", "TrainingError", "Phrase"]


def _render(key: str, lang: str, values: dict[str, object]) -> str:
    """Translate ``key`` with every value that can be localized translated into ``lang`` first."""
    texts = {name: (v.localized(lang) if hasattr(v, "localized") else v) for name, v in values.items()}
    return translate(key, lang, **texts)


@dataclass(frozen=True)
class Phrase:
    """A translatable piece of a message (e.g. "the height of "), used as a value of a keyed error."""

    key: str
    values: dict[str, object] = field(default_factory=dict)

    def localized(self, lang: str) -> str:
        return _render(self.key, lang, self.values)

    def __str__(self) -> str:
        return self.localized(DEFAULT_LANGUAGE)


class CnnvizError(ValueError):
    """Base class of every error cnnviz raises on purpose; pages show its message with st.error.

    ``CnnvizError("text")`` keeps a fixed (English) message; ``CnnvizError(key="errors.x", **values)``
    or ``CnnvizError.from_key("errors.x", **values)`` builds it from the catalog.
    """

    def __init__(self, message: str | None = None, /, *, key: str | None = None, **values: object) -> None:
        if message is None:
            if key is None:
                raise TypeError("a CnnvizError needs a message or a translation key")
            message = _render(key, DEFAULT_LANGUAGE, values)
        super().__init__(message)
        self.key = key
        self.values = values

    @classmethod
    def from_key(cls, key: str, /, **values: object) -> Self:
        """Build the error from catalog key ``key``; values are numbers or strings (shapes written "5×5")."""
        return cls(key=key, **values)

    def localized(self, lang: str) -> str:
        """The message in ``lang`` (English text for errors raised without a key)."""
        return str(self) if self.key is None else _render(self.key, lang, self.values)


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
