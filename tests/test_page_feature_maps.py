"""Feature-maps page in AppTest: default example, switching models, real and broken uploads, polarity."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont
from streamlit.testing.v1 import AppTest

from cnnviz import explain as features
from cnnviz.data import FONTS_DIR, draw_example, example_input
from cnnviz.i18n import translate
from cnnviz.nets import build, get_spec

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "feature_maps.py")


def _page(**state: object) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _image_captions(at: AppTest) -> list[str]:
    return [caption for image in at.get("image") for caption in image.captions]


def _photo_mode(at: AppTest) -> AppTest:
    return at.radio(key="fmaps_source").set_value("photo").run()


def _png(width: int, height: int) -> bytes:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    pixels[height // 4 : height // 2, width // 4 : width // 2] = (255, 0, 0)  # a red square
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _digit_png(digit: str) -> bytes:
    """A photo-like picture of a dark digit on light paper, bigger than the model's input."""
    img = Image.new("L", (300, 360), 230)
    font = ImageFont.truetype(str(FONTS_DIR / "DejaVuSansMono.ttf"), 200)
    ImageDraw.Draw(img).text((150, 180), digit, fill=30, font=font, anchor="mm")
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def test_default_is_an_example_of_the_training_data() -> None:
    at = _page()
    _ok(at)
    assert at.title[0].value == translate("fmaps.title", "en")
    assert at.radio(key="fmaps_source").value == "example"
    spec = get_spec(at.selectbox(key="fmaps_model").value)
    mean = ", ".join(f"{v:.3f}" for v in spec.mean)
    assert any(f"{spec.image_size}×{spec.image_size}" in c.value and mean in c.value for c in at.caption)
    assert translate("fmaps.example_name", "en", label=spec.class_names[0], number=0) in _image_captions(at)
    assert at.success and not at.warning
    assert len(at.get("plotly_chart")) >= 2  # predictions and the colour bar
    # one grid per layer with spatial maps: TinyVGG has 10 (conv, relu, pool in two blocks)
    layers = at.selectbox(key="fmaps_layer").options
    assert layers[0] == "block1.conv1" and "block2.pool" in layers
    captions = _image_captions(at)
    assert sum(c.startswith(f"{name}:") for c in captions for name in layers) == len(layers)


def test_unit_controls_show_the_receptive_field() -> None:
    at = _page()
    at.selectbox(key="fmaps_layer").set_value("block2.pool").run()
    at.slider(key="fmaps_row").set_value(2).run()
    at.slider(key="fmaps_col").set_value(0).run()
    _ok(at)
    spec = get_spec("tinyvgg")
    field = features.receptive_field(
        build("tinyvgg"), "block2.pool", 2, 0, input_shape=(3, spec.image_size, spec.image_size)
    )
    b = field.box
    expected = translate(
        "fmaps.rf_caption",
        "en",
        row=2,
        col=0,
        layer="block2.pool",
        top=b.top,
        bottom=b.bottom - 1,
        left=b.left,
        right=b.right - 1,
        h=field.size[0],
        w=field.size[1],
        jump=field.jump[0],
    )
    assert expected in [c.value for c in at.caption]
    assert (b.top, b.left, b.bottom, b.right) == (8, 0, 24, 16)


def test_grad_cam_class_and_top_shapes() -> None:
    at = _page()
    at.selectbox(key="fmaps_cam_class_tinyvgg").set_value(2).run()
    _ok(at)
    assert {"block1.conv1", "block2.conv2"} <= set(_image_captions(at))
    at.selectbox(key="fmaps_layer").set_value("block2.relu2").run()
    at.slider(key="fmaps_channel").set_value(3).run()
    at.toggle(key="fmaps_top").set_value(True).run()
    _ok(at)
    shape_captions = [c for c in _image_captions(at) if " · " in c]
    assert len(shape_captions) == 8


@pytest.mark.parametrize("model", ["lenet5", "smallresnet"])
def test_switching_model(model: str) -> None:
    at = _page()
    at.selectbox(key="fmaps_model").set_value(model).run()
    _ok(at)
    spec = get_spec(model)
    assert any(f"{spec.image_size}×{spec.image_size}" in c.value for c in at.caption)
    if spec.weights_file is None:  # untrained: said clearly, not a traceback
        assert at.warning


@pytest.mark.parametrize(("model", "classes"), [("tinyvgg", (0, 3, 7)), ("lenet5", (0, 3, 7))])
def test_examples_are_classified_right(model: str, classes: tuple[int, ...]) -> None:
    spec = get_spec(model)
    net = build(model, weights="bundled")
    at = _page(fmaps_model=model)
    for class_index in classes:
        at.selectbox(key=f"fmaps_example_class_{spec.dataset}").set_value(class_index).run()
        _ok(at)
        label = spec.class_names[class_index]
        with torch.no_grad():  # the probability the page must show, computed here independently
            probs = net(example_input(spec, draw_example(spec.dataset, class_index, number=0))).softmax(1)[0]
        assert int(probs.argmax()) == class_index and float(probs[class_index]) > (0.9 if class_index == 0 else 0.5)
        right = translate("fmaps.verdict_right", "en", label=label, p=float(probs[class_index]))
        assert [m.value for m in at.success] == [right]
        assert translate("fmaps.cam_showing", "en", label=label) in [c.value for c in at.caption]


def test_a_wrong_prediction_is_called_wrong() -> None:
    spec = get_spec("tinyvgg")
    torch.manual_seed(0)
    model = build("tinyvgg").eval()  # untrained: most of its answers are wrong
    with torch.no_grad():
        batch = torch.cat([example_input(spec, draw_example("shapes", c)) for c in range(len(spec.class_names))])
        predicted = model(batch).argmax(1).tolist()
    truth = next(c for c, p in enumerate(predicted) if p != c)
    at = _page(session_models={"untrained": {"model": model, "spec": spec}})
    at.selectbox(key="fmaps_model").set_value("session:untrained").run()
    at.selectbox(key=f"fmaps_example_class_{spec.dataset}").set_value(truth).run()
    _ok(at)
    assert not at.success
    wrong = spec.class_names[predicted[truth]]
    assert [spec.class_names[truth] in m.value and wrong in m.value for m in at.warning] == [True]


def test_model_trained_in_this_session_is_listed() -> None:
    spec = get_spec("tinyvgg")
    model = build("tinyvgg").eval()
    at = _page(session_models={"my run": {"model": model, "spec": spec}})
    label = translate("fmaps.session_model", "en", label="my run")
    assert at.selectbox(key="fmaps_model").options[-1] == label
    at.selectbox(key="fmaps_model").set_value("session:my run").run()
    _ok(at)
    with torch.no_grad():
        predicted = spec.class_names[int(model(example_input(spec, draw_example("shapes", 0)))[0].argmax())]
    assert translate("fmaps.cam_showing", "en", label=predicted) in [c.value for c in at.caption]


def test_model_of_data_that_cannot_be_drawn_gets_photos() -> None:
    spec = replace(get_spec("lenet5"), dataset="mnist", weights_file=None)
    at = _page(session_models={"mnist run": {"model": build("lenet5").eval(), "spec": spec}})
    at.selectbox(key="fmaps_model").set_value("session:mnist run").run()
    _ok(at)
    assert "fmaps_source" not in [r.key for r in at.radio]
    assert translate("fmaps.source_photo_only", "en", dataset="mnist") in [c.value for c in at.caption]
    assert at.selectbox(key="fmaps_sample") is not None and at.toggle(key="fmaps_invert") is not None


def test_digit_photo_is_inverted_and_read() -> None:
    at = _photo_mode(_page(fmaps_model="lenet5"))
    at.file_uploader(key="fmaps_upload").upload("three.png", _digit_png("3"), "image/png").run()
    _ok(at)
    assert at.toggle(key="fmaps_invert").value is True  # light paper: inverted by default
    captions = [c.value for c in at.caption]
    assert any(c.startswith(translate("fmaps.invert_auto_on", "en", border=230 / 255)) for c in captions)
    assert translate("fmaps.cam_showing", "en", label="3") in [c.value for c in at.caption]
    at.toggle(key="fmaps_invert").set_value(False).run()
    _ok(at)
    assert any(translate("fmaps.invert_changed", "en") in c.value for c in at.caption)


def test_real_upload_is_used() -> None:
    at = _photo_mode(_page())
    at.file_uploader(key="fmaps_upload").upload("mine.png", _png(300, 200), "image/png").run()
    _ok(at)
    assert not at.error
    assert "mine.png" in _image_captions(at)


def test_broken_upload_shows_an_error_not_a_traceback() -> None:
    at = _photo_mode(_page())
    at.file_uploader(key="fmaps_upload").upload("broken.png", b"not an image at all", "image/png").run()
    _ok(at)
    assert at.error
    assert "broken.png" in at.error[0].value


def test_korean() -> None:
    at = _page(lang="ko")
    _ok(at)
    assert at.title[0].value == translate("fmaps.title", "ko")
    assert at.header[0].value == translate("fmaps.layers_header", "ko")
