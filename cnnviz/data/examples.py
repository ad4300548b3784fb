"""Model inputs: fresh examples of a model's own training data, and photos prepared as the model expects.

A learner should first see a model work on the kind of picture it was trained on. `draw_example`
draws one picture of a chosen class from a procedural data set of the registry ("shapes", "digits") with seeds
that no training split uses: `load_dataset(seed=s)` draws from the spawned children of
`SeedSequence(s)`, examples from `SeedSequence(EXAMPLE_SEED_BASE + number)` itself.

`photo_input` prepares any photo with `cnnviz.data.preprocess` and, for one-channel models, lets
the caller choose the polarity (white ink on black, as the digits and MNIST are, or the other way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from cnnviz.data.preprocessing import InputSpec, _border_median, normalize, preprocess
from cnnviz.data.registry import DATASETS
from cnnviz.errors import ConfigError

__all__ = [
    "EXAMPLE_SEED_BASE",
    "MAX_EXAMPLE_NUMBER",
    "PhotoInput",
    "border_brightness",
    "can_draw_examples",
    "draw_example",
    "example_input",
    "photo_input",
]

EXAMPLE_SEED_BASE = 1_000_000  # example k uses seed EXAMPLE_SEED_BASE + k; bundled training used load_dataset(seed=0)
MAX_EXAMPLE_NUMBER = 9_999  # example numbers run from 0 to this


def can_draw_examples(spec: InputSpec) -> bool:
    """Return True when examples of ``spec``'s training data can be drawn here, in the size and classes it expects."""
    info = DATASETS.get(spec.dataset)
    return (
        info is not None
        and info.procedural
        and tuple(spec.class_names) == info.class_names
        and spec.in_channels == info.in_channels
        and spec.image_size == info.image_size
    )


def draw_example(dataset: str, class_index: int, *, number: int = 0) -> np.ndarray:
    """Draw example ``number`` of class ``class_index`` from a procedural data set; return uint8 (H, W, C).

    The same arguments give the same picture. Raises ConfigError for a data set that cannot be
    drawn here, a class it does not have or an example number outside 0…MAX_EXAMPLE_NUMBER.
    """
    info = DATASETS.get(dataset)
    if info is None or not info.procedural or info.task != "classification":  # a scene has no one class
        drawable = ", ".join(n for n, e in DATASETS.items() if e.procedural and e.task == "classification")
        raise ConfigError.from_key("errors.example_not_drawable", name=repr(dataset), drawable=drawable)
    if not 0 <= class_index < len(info.class_names):
        raise ConfigError.from_key("errors.example_bad_class", index=class_index, name=repr(dataset),
                                   last=len(info.class_names) - 1, classes=", ".join(info.class_names))  # fmt: skip
    if not 0 <= number <= MAX_EXAMPLE_NUMBER:
        raise ConfigError.from_key("errors.example_bad_number", number=number, last=MAX_EXAMPLE_NUMBER)
    # One picture per class: the generators balance labels, so n = number of classes holds each class once.
    pictures, labels = info.generate(len(info.class_names), seed=EXAMPLE_SEED_BASE + number)
    return pictures[int(np.flatnonzero(labels == class_index)[0])]


def example_input(spec: InputSpec, picture: np.ndarray) -> torch.Tensor:
    """Turn a drawn uint8 picture (H, W, C) into the normalised batch (1, C, H, W), exactly as in training."""
    if picture.shape != (spec.image_size, spec.image_size, spec.in_channels):
        raise ConfigError.from_key("errors.example_wrong_size", size=_shape_text(picture.shape), model=spec.name,
                                   expected=_shape_text((spec.image_size, spec.image_size, spec.in_channels)))
    x = torch.from_numpy(np.ascontiguousarray(picture)).permute(2, 0, 1).float().div(255.0)  # (C, H, W) in [0, 1]
    return normalize(x.unsqueeze(0), spec)


def _shape_text(shape: tuple[int, ...]) -> str:
    """(64, 64, 3) → "64×64×3"."""
    return "×".join(str(int(d)) for d in shape)


@dataclass(frozen=True)
class PhotoInput:
    """A photo prepared for a model, and what was done to it."""

    x: torch.Tensor  # (1, C, H, W) normalised model input
    border: float | None  # one-channel models: median brightness of the photo's border in [0, 1]; RGB: None
    auto_invert: bool  # the border is light (dark ink on light paper), so inverting is the sensible default
    inverted: bool  # black and white were swapped relative to the photo


def border_brightness(picture: Image.Image) -> float:
    """Return the median grey level in [0, 1] of the picture's outermost rows and columns (its background)."""
    return _border_median(np.asarray(picture.convert("L"), dtype=np.float32) / 255.0)  # (H, W)


def photo_input(spec: InputSpec, picture: Image.Image, *, invert: bool | None = None) -> PhotoInput:
    """Prepare a photo as ``spec``'s model expects; for one-channel models choose the polarity.

    ``invert=None`` inverts exactly when the border is light (above 0.5), the rule
    `cnnviz.data.preprocess` applies itself to digit models, so the default equals
    ``preprocess(spec, picture)``. ``invert=True/False`` forces the choice. Colour models ignore it.
    """
    x = preprocess(spec, picture)  # (1, C, H, W)
    if spec.in_channels != 1:
        return PhotoInput(x, None, False, False)
    border = border_brightness(picture)
    auto = border > 0.5
    invert = auto if invert is None else invert
    preprocess_inverted = spec.digit_style and auto  # preprocess made light-bordered digit photos white-on-black
    if invert != preprocess_inverted:
        mean = torch.tensor(spec.mean).view(1, -1, 1, 1)
        std = torch.tensor(spec.std).view(1, -1, 1, 1)
        x = normalize(1.0 - (x * std + mean), spec)  # swap black and white in [0, 1], then normalise again
    return PhotoInput(x, border, auto, invert)
