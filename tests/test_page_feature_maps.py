"""Feature-maps page in AppTest: default model and sample, switching models, real and broken uploads."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz import features
from cnnviz.i18n import translate
from cnnviz.images import list_samples, load_image
from cnnviz.models import build, get_spec, preprocess

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


def _png(width: int, height: int) -> bytes:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    pixels[height // 4 : height // 2, width // 4 : width // 2] = (255, 0, 0)  # a red square
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_default_model_and_sample() -> None:
    at = _page()
    _ok(at)
    assert at.title[0].value == translate("fmaps.title", "en")
    spec = get_spec(at.selectbox(key="fmaps_model").value)
    mean = ", ".join(f"{v:.3f}" for v in spec.mean)
    assert any(f"{spec.image_size}×{spec.image_size}" in c.value and mean in c.value for c in at.caption)
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
    at.selectbox(key="fmaps_cam_class").set_value(2).run()
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


def test_model_trained_in_this_session_is_listed() -> None:
    spec = get_spec("tinyvgg")
    model = build("tinyvgg").eval()
    at = _page(session_models={"my run": {"model": model, "spec": spec}})
    label = translate("fmaps.session_model", "en", label="my run")
    assert at.selectbox(key="fmaps_model").options[-1] == label
    at.selectbox(key="fmaps_model").set_value("session:my run").run()
    _ok(at)
    sample = at.selectbox(key="fmaps_sample").value
    x = preprocess(spec, load_image(list_samples()[sample], mode="RGB", max_side=512))
    with torch.no_grad():
        predicted = spec.class_names[int(model(x)[0].argmax())]
    assert at.selectbox(key="fmaps_cam_class").options[0] == translate("fmaps.cam_predicted", "en", label=predicted)


def test_real_upload_is_used() -> None:
    at = _page()
    at.file_uploader(key="fmaps_upload").upload("mine.png", _png(300, 200), "image/png").run()
    _ok(at)
    assert not at.error
    assert "mine.png" in _image_captions(at)


def test_broken_upload_shows_an_error_not_a_traceback() -> None:
    at = _page()
    at.file_uploader(key="fmaps_upload").upload("broken.png", b"not an image at all", "image/png").run()
    _ok(at)
    assert at.error
    assert "broken.png" in at.error[0].value


def test_korean() -> None:
    at = _page(lang="ko")
    _ok(at)
    assert at.title[0].value == translate("fmaps.title", "ko")
    assert at.header[0].value == translate("fmaps.layers_header", "ko")
