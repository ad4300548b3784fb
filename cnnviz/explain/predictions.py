"""The classes a network ranks highest for one image, with softmax probabilities.

``predict_image`` is the one call from a registry name and a photo to its top classes; a page that
keeps its model cached calls ``predict`` on the prepared input instead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from PIL import Image
from torch import Tensor, nn

from cnnviz.data.images import convert_image
from cnnviz.data.preprocessing import InputSpec, preprocess
from cnnviz.errors import ConfigError, ImageError
from cnnviz.nets.registry import build, get_spec

__all__ = ["Prediction", "predict", "predict_image", "top_k_predictions"]


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


def predict(model: nn.Module, spec: InputSpec, image: Image.Image, *, k: int = 5) -> list[Prediction]:
    """Prepare ``image`` as ``spec`` says (any size or mode) and return the model's ``k`` most probable classes.

    The model's mode is restored. Raises ImageError for a picture that is not an image or is too large.
    """
    if not isinstance(image, Image.Image):
        raise ImageError.from_key("errors.predict_not_an_image", kind=type(image).__name__)
    picture = convert_image(image, "RGB" if spec.in_channels == 3 else "L")
    was_training = model.training
    try:
        with torch.no_grad():
            logits = model.eval()(preprocess(spec, picture))  # (1, num_classes)
    finally:
        model.train(was_training)
    return top_k_predictions(logits, spec.class_names, k=k)


def predict_image(name: str, image: Image.Image, k: int = 5) -> list[Prediction]:
    """Return the ``k`` classes registry model ``name`` (with its bundled weights) ranks highest for ``image``.

    ``image`` is a PIL image of any size or mode; it is prepared as the model was trained (ImageNet
    models: short side 256, centre crop 224, ImageNet mean and std). Predictions come best first,
    each with ``.label``, ``.probability`` (softmax) and ``.index``. Raises ConfigError for an
    unknown name or a model without weights, ImageError for a picture that cannot be used.
    """
    return predict(build(name, weights="bundled"), get_spec(name), image, k=k)
