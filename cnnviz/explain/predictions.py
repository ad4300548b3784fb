"""The classes a network ranks highest for one image, with softmax probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from cnnviz.errors import ConfigError

__all__ = ["Prediction", "top_k_predictions"]


@dataclass(frozen=True)
class Prediction:
    index: int  # class index in the model's output
    label: str  # class name
    probability: float  # softmax probability in [0, 1]


def top_k_predictions(logits: Tensor, class_names: Sequence[str], *, k: int = 5) -> list[Prediction]:
    """Return the ``k`` most probable classes, most probable first, from logits (K,) or (1, K).

    Raises ConfigError (a ValueError) when the logits do not hold exactly one row of ``len(class_names)`` scores.
    """
    scores = logits.detach().float().reshape(-1) if logits.dim() == 1 or logits.shape[0] == 1 else None
    if scores is None or len(scores) != len(class_names):
        raise ConfigError.from_key("errors.logits_mismatch", n=len(class_names), shape="×".join(map(str, logits.shape)))
    probs = torch.softmax(scores, dim=0)
    values, indices = probs.topk(min(int(k), len(scores)))
    return [Prediction(int(i), str(class_names[int(i)]), float(p)) for p, i in zip(values, indices, strict=True)]
