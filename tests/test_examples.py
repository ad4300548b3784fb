"""Examples of a model's training data and photos prepared for it: deterministic, fresh, classified right."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from cnnviz.data import (
    EXAMPLE_SEED_BASE,
    FONTS_DIR,
    border_brightness,
    can_draw_examples,
    draw_example,
    example_input,
    load_dataset,
    make_digits,
    make_shapes,
    photo_input,
    preprocess,
)
from cnnviz.errors import ConfigError
from cnnviz.nets import build, get_spec, load_manifest


@pytest.fixture(scope="module")
def bundled() -> dict[str, torch.nn.Module]:
    return {name: build(name, weights="bundled") for name in ("tinyvgg", "lenet5")}


@pytest.mark.parametrize(("model", "size", "channels"), [("tinyvgg", 64, 3), ("lenet5", 28, 1)])
def test_example_has_the_models_shape_and_is_deterministic(model: str, size: int, channels: int) -> None:
    spec = get_spec(model)
    assert can_draw_examples(spec)
    picture = draw_example(spec.dataset, 2, number=5)
    assert picture.shape == (size, size, channels) and picture.dtype == np.uint8
    np.testing.assert_array_equal(picture, draw_example(spec.dataset, 2, number=5))
    assert not np.array_equal(picture, draw_example(spec.dataset, 2, number=6))
    assert not np.array_equal(picture, draw_example(spec.dataset, 3, number=5))


def test_generator_sizes_match_what_the_data_sets_draw() -> None:
    shapes, _ = make_shapes(1, seed=0)
    digits, _ = make_digits(1, seed=0)
    assert shapes.shape[1:] == (64, 64, 3) and digits.shape[1:] == (28, 28, 1)


@pytest.mark.parametrize("model", ["tinyvgg", "lenet5"])
def test_examples_are_not_training_images(model: str) -> None:
    spec = get_spec(model)
    seed = load_manifest(model)["training"]["seed"]
    assert EXAMPLE_SEED_BASE > seed
    split = load_dataset(spec.dataset, n_train=400, n_val=100, seed=seed)
    seen = torch.cat([split.train_x, split.val_x])  # (N, C, H, W) in [0, 1]
    for number in range(3):
        picture = torch.from_numpy(draw_example(spec.dataset, 1, number=number)).permute(2, 0, 1).float() / 255
        assert (seen - picture).abs().amax(dim=(1, 2, 3)).min() > 0.05


def test_bad_requests_say_what_to_change() -> None:
    with pytest.raises(ConfigError, match="shapes, digits, not from 'mnist'"):
        draw_example("mnist", 0)
    with pytest.raises(ConfigError, match="0 to 7"):
        draw_example("shapes", 8)
    with pytest.raises(ConfigError, match="Example number -1"):
        draw_example("digits", 0, number=-1)
    with pytest.raises(ConfigError, match="does not fit lenet5"):
        example_input(get_spec("lenet5"), draw_example("shapes", 0))


def test_only_models_of_a_procedural_data_set_get_examples() -> None:
    spec = get_spec("lenet5")
    assert can_draw_examples(get_spec("smallresnet"))
    assert not can_draw_examples(replace(spec, dataset="mnist"))
    assert not can_draw_examples(replace(spec, image_size=32))
    assert not can_draw_examples(replace(spec, class_names=("a", "b")))


def test_example_input_is_the_normalised_picture() -> None:
    spec = get_spec("tinyvgg")
    picture = draw_example("shapes", 4, number=1)
    x = example_input(spec, picture)
    assert x.shape == (1, 3, 64, 64)
    # a 64×64 picture goes through preprocess() unchanged in size, so both paths agree
    torch.testing.assert_close(x, preprocess(spec, Image.fromarray(picture)), atol=1e-6, rtol=0)
    expected = (torch.tensor(picture[..., 0], dtype=torch.float32) / 255 - spec.mean[0]) / spec.std[0]
    torch.testing.assert_close(x[0, 0], expected, atol=1e-6, rtol=0)


# lenet5 draws fewer: every digit example renders the font templates again (about 0.25 s each)
@pytest.mark.parametrize(("model", "numbers", "floor"), [("tinyvgg", 6, 0.85), ("lenet5", 2, 0.95)])
def test_bundled_models_classify_their_examples(bundled: dict, model: str, numbers: int, floor: float) -> None:
    spec = get_spec(model)
    batch, truth = [], []
    for number in range(numbers):
        for c in range(len(spec.class_names)):
            batch.append(example_input(spec, draw_example(spec.dataset, c, number=number)))
            truth.append(c)
    with torch.no_grad():
        probs = bundled[model](torch.cat(batch)).softmax(1)
    predicted = probs.argmax(1)
    accuracy = float((predicted == torch.tensor(truth)).float().mean())
    assert accuracy >= floor, accuracy  # measured: tinyvgg 0.94, lenet5 0.99 on numbers 0-39
    n = len(spec.class_names)  # example 0 of every class (the page's default number) is right
    assert predicted[:n].tolist() == list(range(n))


def _digit_photo(digit: str, *, ink: int, paper: int) -> Image.Image:
    font = ImageFont.truetype(str(FONTS_DIR / "DejaVuSansMono.ttf"), 200)
    img = Image.new("L", (300, 360), paper)
    ImageDraw.Draw(img).text((150, 180), digit, fill=ink, font=font, anchor="mm")
    return img


def test_dark_ink_on_paper_is_inverted_by_default_as_preprocess_does(bundled: dict) -> None:
    spec = get_spec("lenet5")
    photo = _digit_photo("3", ink=30, paper=230)
    prepared = photo_input(spec, photo)
    assert prepared.auto_invert and prepared.inverted
    assert prepared.border == pytest.approx(230 / 255, abs=1e-6)
    torch.testing.assert_close(prepared.x, preprocess(spec, photo), atol=0, rtol=0)
    with torch.no_grad():
        assert int(bundled["lenet5"](prepared.x).argmax()) == 3


def test_forcing_the_other_polarity_swaps_black_and_white() -> None:
    spec = get_spec("lenet5")
    photo = _digit_photo("7", ink=240, paper=10)  # already light on dark
    auto = photo_input(spec, photo)
    assert not auto.auto_invert and not auto.inverted
    forced = photo_input(spec, photo, invert=True)
    assert forced.inverted
    to01 = lambda x: x * spec.std[0] + spec.mean[0]  # noqa: E731
    torch.testing.assert_close(to01(forced.x), 1 - to01(auto.x), atol=1e-5, rtol=0)
    dark = photo_input(spec, _digit_photo("7", ink=10, paper=240), invert=False)
    assert dark.auto_invert and not dark.inverted
    assert float(to01(dark.x)[0, 0, 0, 0]) == pytest.approx(1.0, abs=1e-5)  # the corner stays light paper


def test_plain_grey_models_invert_only_when_asked() -> None:
    spec = replace(get_spec("lenet5"), digit_style=False, dataset="fashion-mnist")
    photo = _digit_photo("1", ink=20, paper=220)
    plain = photo_input(spec, photo, invert=False)
    torch.testing.assert_close(plain.x, preprocess(spec, photo), atol=0, rtol=0)
    inverted = photo_input(spec, photo)  # light border: inverted by default
    assert inverted.inverted
    torch.testing.assert_close(
        inverted.x * spec.std[0] + spec.mean[0], 1 - (plain.x * spec.std[0] + spec.mean[0]), atol=1e-5, rtol=0
    )


def test_colour_photos_are_preprocessed_unchanged() -> None:
    spec = get_spec("tinyvgg")
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (80, 120, 3), dtype=np.uint8))
    prepared = photo_input(spec, photo, invert=True)
    assert (prepared.border, prepared.auto_invert, prepared.inverted) == (None, False, False)
    torch.testing.assert_close(prepared.x, preprocess(spec, photo), atol=0, rtol=0)


def test_border_brightness_reads_the_outer_ring() -> None:
    arr = np.zeros((10, 10), dtype=np.uint8)
    arr[0, :] = arr[-1, :] = arr[:, 0] = arr[:, -1] = 200
    arr[3:7, 3:7] = 255
    assert border_brightness(Image.fromarray(arr)) == pytest.approx(200 / 255)
