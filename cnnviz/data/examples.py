"""Model inputs: fresh examples of a model's own training data, and photos prepared as the model expects.

A learner should first see a model work on the kind of picture it was trained on. `draw_example`
draws one picture of a chosen class from the procedural data set ("shapes" or "digits") with seeds
that no training split uses: `load_dataset(seed=s)` draws from the spawned children of
`SeedSequence(s)`, examples from `SeedSequence(EXAMPLE_SEED_BASE + number)` itself.

`photo_input` prepares any photo with `cnnviz.data.preprocess` and, for one-channel models, lets
the caller choose the polarity (white ink on black, as the digits and MNIST are, or the other way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from cnnviz.data.digits import DIGITS_CLASSES, make_digits
from cnnviz.data.preprocessing import normalize, preprocess
from cnnviz.data.shapes import SHAPES_CLASSES, make_shapes
from cnnviz.errors import ConfigError

if TYPE_CHECKING:  # only for annotations: importing it would make a cycle
    from cnnviz.nets.registry import ModelSpec

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


@dataclass(frozen=True)
class _Generator:
    make: Callable[..., tuple[np.ndarray, np.ndarray]]  # make(n, seed=...) → uint8 (n, H, W, C), labels (n,)
    class_names: tuple[str, ...]  # label index → name
    image_size: int  # H == W of every drawn picture
    in_channels: int  # C


def _generators() -> dict[str, _Generator]:
    """Return the data sets that can be drawn offline (built on each call; no module-level state)."""
    return {
        "shapes": _Generator(make_shapes, SHAPES_CLASSES, 64, 3),
        "digits": _Generator(make_digits, DIGITS_CLASSES, 28, 1),
    }


def can_draw_examples(spec: ModelSpec) -> bool:
    """Return True when examples of ``spec``'s training data can be drawn here, in the size and classes it expects."""
    gen = _generators().get(spec.dataset)
    return (
        gen is not None
        and tuple(spec.class_names) == gen.class_names
        and spec.in_channels == gen.in_channels
        and spec.image_size == gen.image_size
    )


def draw_example(dataset: str, class_index: int, *, number: int = 0) -> np.ndarray:
    """Draw example ``number`` of class ``class_index`` from a procedural data set; return uint8 (H, W, C).

    The same arguments give the same picture. Raises ConfigError for an unknown data set, class or number.
    """
    gen = _generators().get(dataset)
    if gen is None:
        raise ConfigError(f"Examples can be drawn from {', '.join(_generators())}, not {dataset!r}: pick a photo.")
    if not 0 <= class_index < len(gen.class_names):
        raise ConfigError(
            f"Class {class_index} does not exist in {dataset!r}: use 0 to {len(gen.class_names) - 1} "
            f"({', '.join(gen.class_names)})."
        )
    if not 0 <= number <= MAX_EXAMPLE_NUMBER:
        raise ConfigError(f"Example number {number} is not allowed: use 0 to {MAX_EXAMPLE_NUMBER}.")
    # One picture per class: the generators balance labels, so n = number of classes holds each class once.
    pictures, labels = gen.make(len(gen.class_names), seed=EXAMPLE_SEED_BASE + number)
    return pictures[int(np.flatnonzero(labels == class_index)[0])]


def example_input(spec: ModelSpec, picture: np.ndarray) -> torch.Tensor:
    """Turn a drawn uint8 picture (H, W, C) into the normalised batch (1, C, H, W), exactly as in training."""
    if picture.shape != (spec.image_size, spec.image_size, spec.in_channels):
        raise ConfigError(
            f"A {picture.shape} picture does not fit {spec.name}, which takes "
            f"({spec.image_size}, {spec.image_size}, {spec.in_channels}): draw the example from its own data set."
        )
    x = torch.from_numpy(np.ascontiguousarray(picture)).permute(2, 0, 1).float().div(255.0)  # (C, H, W) in [0, 1]
    return normalize(x.unsqueeze(0), spec)


@dataclass(frozen=True)
class PhotoInput:
    """A photo prepared for a model, and what was done to it."""

    x: torch.Tensor  # (1, C, H, W) normalised model input
    border: float | None  # one-channel models: median brightness of the photo's border in [0, 1]; RGB: None
    auto_invert: bool  # the border is light (dark ink on light paper), so inverting is the sensible default
    inverted: bool  # black and white were swapped relative to the photo


def border_brightness(picture: Image.Image) -> float:
    """Return the median grey level in [0, 1] of the picture's outermost rows and columns (its background)."""
    gray = np.asarray(picture.convert("L"), dtype=np.float32) / 255.0  # (H, W)
    return float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))


def photo_input(spec: ModelSpec, picture: Image.Image, *, invert: bool | None = None) -> PhotoInput:
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
