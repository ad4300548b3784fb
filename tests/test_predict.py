"""cnnviz.predict_image: a registry name and a photo of any size or mode → the top classes."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision import transforms

import cnnviz
from cnnviz.data import IMAGENET_MEAN, IMAGENET_STD, SAMPLES_DIR
from cnnviz.errors import CheckpointError, ConfigError, ImageError
from cnnviz.explain import predict
from cnnviz.nets import ModelSpec, build, get_spec

CATS = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def effnet() -> tuple[nn.Module, ModelSpec]:
    return build("efficientnet_lite0", weights="bundled"), get_spec("efficientnet_lite0")


@pytest.fixture(scope="module")
def cat() -> Image.Image:
    return Image.open(SAMPLES_DIR / "cat.jpg").convert("RGB")


def test_the_cat_photo_has_a_cat_class_in_the_top_three(cat: Image.Image) -> None:
    top = cnnviz.predict_image("efficientnet_lite0", cat, k=3)
    assert len(top) == 3 and CATS & {p.label for p in top}


def test_the_coffee_photo_is_espresso_or_a_cup() -> None:
    top = cnnviz.predict_image("efficientnet_lite0", Image.open(SAMPLES_DIR / "coffee.jpg"), k=5)
    assert {"espresso", "cup"} & {p.label for p in top[:2]}


def test_probabilities_are_the_softmax_of_the_logits_best_first(effnet, cat: Image.Image) -> None:
    model, spec = effnet
    reference = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                    transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])  # fmt: skip
    with torch.no_grad():
        probs = torch.softmax(model(reference(cat)[None])[0], dim=0)
    top = predict(model, spec, cat, k=5)
    assert [p.index for p in top] == probs.topk(5).indices.tolist()
    np.testing.assert_allclose([p.probability for p in top], probs.topk(5).values.numpy(), atol=1e-5)
    assert sum(p.probability for p in top) <= 1.0 and [p.label for p in top] == [spec.class_names[p.index] for p in top]


@pytest.mark.parametrize("name", ["tinyvgg", "lenet5"])
def test_the_small_bundled_nets_predict_too(name: str, cat: Image.Image) -> None:
    model, spec = build(name, weights="bundled"), get_spec(name)
    top = cnnviz.predict_image(name, cat, k=2)
    with torch.no_grad():
        x = cnnviz.preprocess(spec, cat.convert("L" if spec.in_channels == 1 else "RGB"))
        probs = torch.softmax(model(x)[0], 0)
    assert [p.index for p in top] == probs.topk(2).indices.tolist()


def _sixteen_bit(grey: Image.Image) -> Image.Image:
    values = np.asarray(grey, dtype=np.uint16) * 257  # 8-bit grey spread over 0..65535
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    return image


def _animated(first: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=[Image.new("RGB", first.size, "blue")])
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_every_image_mode_gives_the_prediction_of_its_picture(effnet, cat: Image.Image) -> None:
    model, spec = effnet
    grey = cat.convert("L")
    grey_top = predict(model, spec, grey.convert("RGB"), k=1)[0].index
    assert predict(model, spec, grey, k=1)[0].index == grey_top
    assert predict(model, spec, _sixteen_bit(grey), k=1)[0].index == grey_top  # rescaled, not clipped to white
    cat_top = predict(model, spec, cat, k=1)[0].index
    assert predict(model, spec, cat.convert("CMYK"), k=1)[0].index == cat_top
    rgba = cat.convert("RGBA")
    assert predict(model, spec, rgba, k=1)[0].index == cat_top
    rgba.putalpha(0)  # fully transparent: composited on white, as a white picture
    white = predict(model, spec, Image.new("RGB", cat.size, "white"), k=1)[0].index
    assert predict(model, spec, rgba, k=1)[0].index == white
    gif = _animated(cat)
    gif.seek(0)
    first_frame = gif.convert("RGB")
    gif.seek(1)  # showing the blue frame: the prediction is still the first frame's
    assert predict(model, spec, gif, k=1)[0].index == predict(model, spec, first_frame, k=1)[0].index
    assert gif.tell() == 1  # the caller's frame is left as it was


def test_tiny_huge_and_wrong_inputs(effnet) -> None:
    model, spec = effnet
    assert len(predict(model, spec, Image.new("RGB", (1, 1), "red"), k=5)) == 5  # upscaled, still a prediction
    huge = Image.new("1", (10_000, 6_000))  # 60 megapixels (1 bit each, so the test stays small)
    with pytest.raises(ImageError, match="10000×6000"):
        predict(model, spec, huge)
    with pytest.raises(ImageError, match="PIL image"):
        predict(model, spec, np.zeros((4, 4, 3)))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="efficientnet_lite0"):
        cnnviz.predict_image("efficientnet", Image.new("RGB", (8, 8)))
    with pytest.raises(CheckpointError, match="smallresnet"):
        cnnviz.predict_image("smallresnet", Image.new("RGB", (8, 8)))
