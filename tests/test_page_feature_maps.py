"""Feature-maps page in AppTest: examples, models, uploads, polarity, one-value ranges, Korean, one run per result;
EfficientNet-Lite0 on photos (preparation, stages, blocks, Grad-CAM search, a transfer-learned model)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont
from streamlit.testing.v1 import AppTest
from torch import nn

from cnnviz import explain as features
from cnnviz.data import FONTS_DIR, draw_example, example_input
from cnnviz.errors import ImageError, Phrase
from cnnviz.i18n import translate
from cnnviz.nets import build, get_spec
from tests.text_checks import untranslated

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "feature_maps.py")


def _page(**state: object) -> AppTest:
    """The page with ``state`` in the session; TinyVGG unless a model is named (EfficientNet-Lite0 is the default)."""
    state.setdefault("fmaps_model", "tinyvgg")
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def widget_key(key: str, lang: str) -> str:
    """The key of the widget that shows choice ``key`` in ``lang`` (cnnviz.ui.choices keys it per language)."""
    return f"{key}_{lang}"


def _box(at: AppTest, key: str):
    """The select box of choice ``key`` in the page's language."""
    lang = at.session_state["lang"] if "lang" in at.session_state else "en"
    return at.selectbox(key=widget_key(key, lang))


def _image_captions(at: AppTest) -> list[str]:
    return [caption for image in at.get("image") for caption in image.captions]


def _photo_mode(at: AppTest) -> AppTest:
    return at.radio(key=widget_key("fmaps_source", "en")).set_value("photo").run()


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


def test_a_small_net_starts_with_an_example_of_its_training_data() -> None:
    at = _page()
    _ok(at)
    assert at.title[0].value == translate("fmaps.title", "en")
    assert at.radio(key=widget_key("fmaps_source", "en")).value == "example"
    spec = get_spec(_box(at, "fmaps_model").value)
    mean = ", ".join(f"{v:.3f}" for v in spec.mean)
    assert any(f"{spec.image_size}×{spec.image_size}" in c.value and mean in c.value for c in at.caption)
    assert translate("fmaps.example_name", "en", label=spec.class_names[0], number=0) in _image_captions(at)
    assert at.success and not at.warning
    # the colour bar is a picture; the one fully connected layer (the classifier) is drawn as bars
    assert [c.key for c in at.get("plotly_chart")] == ["fmaps_pred_chart", "fmaps_dense_classifier"]
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


def test_grad_cam_class_and_top_shapes() -> None:
    at = _page()
    _box(at, "fmaps_cam_class_tinyvgg").set_value(2).run()
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
    _box(at, "fmaps_model").set_value(model).run()
    _ok(at)
    spec = get_spec(model)
    assert any(f"{spec.image_size}×{spec.image_size}" in c.value for c in at.caption)
    assert translate(f"labels.model_description.{model}", "en") in [c.value for c in at.caption]
    dense = [name for name, module in build(model).named_modules() if isinstance(module, nn.Linear)]
    assert [c.key for c in at.get("plotly_chart")][1:] == [f"fmaps_dense_{name}" for name in dense]  # LeNet-5: 3


def test_an_untrained_model_is_called_untrained() -> None:
    at = _page()
    options = _box(at, "fmaps_model").options
    names = {name: translate(f"labels.model.{name}", "en") for name in ("tinyvgg", "smallresnet")}
    assert translate("fmaps.registry_model", "en", name=names["tinyvgg"], dataset="shapes") in options
    assert translate("fmaps.registry_model_untrained", "en", name=names["smallresnet"]) in options
    assert not any("smallresnet" in o.lower().replace(" ", "") and "trained on" in o for o in options)
    _box(at, "fmaps_model").set_value("smallresnet").run()
    _ok(at)
    assert translate("fmaps.untrained_by_design", "en", name=names["smallresnet"]) in [w.value for w in at.warning]


@pytest.mark.parametrize(("model", "classes"), [("tinyvgg", (0, 3, 7)), ("lenet5", (0, 3, 7))])
def test_examples_are_classified_right(model: str, classes: tuple[int, ...]) -> None:
    spec = get_spec(model)
    net = build(model, weights="bundled")
    at = _page(fmaps_model=model)
    for class_index in classes:
        _box(at, f"fmaps_example_class_{spec.dataset}").set_value(class_index).run()
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
    _box(at, "fmaps_model").set_value("session:untrained").run()
    _box(at, f"fmaps_example_class_{spec.dataset}").set_value(truth).run()
    _ok(at)
    assert not at.success
    wrong = spec.class_names[predicted[truth]]
    assert [spec.class_names[truth] in m.value and wrong in m.value for m in at.warning] == [True]


def test_model_trained_in_this_session_is_listed() -> None:
    spec = get_spec("tinyvgg")
    model = build("tinyvgg").eval()
    at = _page(session_models={"my run": {"model": model, "spec": spec}})
    label = translate("fmaps.session_model", "en", label="my run")
    assert _box(at, "fmaps_model").options[-1] == label
    _box(at, "fmaps_model").set_value("session:my run").run()
    _ok(at)
    with torch.no_grad():
        predicted = spec.class_names[int(model(example_input(spec, draw_example("shapes", 0)))[0].argmax())]
    assert translate("fmaps.cam_showing", "en", label=predicted) in [c.value for c in at.caption]


def test_model_of_data_that_cannot_be_drawn_gets_photos() -> None:
    spec = replace(get_spec("lenet5"), dataset="mnist", weights_file=None)
    at = _page(session_models={"mnist run": {"model": build("lenet5").eval(), "spec": spec}})
    _box(at, "fmaps_model").set_value("session:mnist run").run()
    _ok(at)
    assert widget_key("fmaps_source", "en") not in [r.key for r in at.radio]
    assert translate("fmaps.source_photo_only", "en", dataset="MNIST") in [c.value for c in at.caption]
    assert _box(at, "fmaps_sample") is not None and at.toggle(key="fmaps_invert") is not None


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




# --------------------------------------------------------------------------- ranges of one value


class OneChannel(nn.Module):
    """A conv to a single channel and a global pool to a 1×1 map: every slider of the page has one value."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 3)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(1, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, 64, 64) → (N, 8)
        return self.classifier(self.flatten(self.pool(self.relu(self.conv(x)))))


@pytest.mark.parametrize(("layer", "sliders"), [("conv", {"fmaps_row", "fmaps_col"}), ("pool", set())])
def test_sliders_survive_a_range_of_one_value(layer: str, sliders: set[str]) -> None:
    spec = replace(get_spec("tinyvgg"), description="one channel")
    at = _page(session_models={"one": {"model": OneChannel().eval(), "spec": spec}}, fmaps_model="session:one")
    at.selectbox(key="fmaps_layer").set_value(layer).run()
    _ok(at)
    assert {s.key for s in at.slider} == sliders  # a range of one value is shown as text, not as a slider
    only = {c.value for c in at.caption}
    assert translate("ui.only_value", "en", label=translate("fmaps.channel", "en"), value=0) in only
    if layer == "pool":
        assert translate("ui.only_value", "en", label=translate("fmaps.row", "en"), value=0) in only
        assert translate("ui.only_value", "en", label=translate("fmaps.col", "en"), value=0) in only
    assert any(c.startswith("pool: 1 map of 1×1, values") for c in _image_captions(at))  # one map: singular


def test_each_result_is_computed_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnviz.ui import fmaps

    calls: dict[str, int] = {}

    def counted(name: str, fn):
        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return fn(*args, **kwargs)

        return wrapper

    for name in ("run_blocks", "grad_cam_all", "saliency", "receptive_field", "top_k_predictions",
                 "input_image", "source_conv"):  # fmt: skip
        monkeypatch.setattr(features, name, counted(name, getattr(features, name)))
    monkeypatch.setattr(fmaps, "photo_input", counted("photo_input", fmaps.photo_input))
    fmaps.analyse.clear()
    fmaps.evidence.clear()
    at = _page(fmaps_model="lenet5")
    calls.clear()
    _photo_mode(at)
    _ok(at)
    assert calls == {name: 1 for name in calls}  # a new input: every analysis once
    assert set(calls) >= {"run_blocks", "receptive_field", "grad_cam_all", "saliency", "photo_input"}
    calls.clear()
    at.run()  # nothing changed: the cached analyses are reused, the cheap parts run once
    assert "run_blocks" not in calls and "grad_cam_all" not in calls
    assert calls["receptive_field"] == calls["top_k_predictions"] == calls["photo_input"] == 1


# --------------------------------------------------------------------------- bad input never shows a traceback


def test_a_huge_image_is_refused_with_a_message() -> None:
    from tests.test_images import png_header

    at = _photo_mode(_page())
    at.file_uploader(key="fmaps_upload").upload("huge.png", png_header(8_000, 8_000), "image/png").run()
    _ok(at)
    assert any("huge.png" in e.value and "8000×8000" in e.value for e in at.error), [e.value for e in at.error]


def test_broken_bundled_weights_say_why_in_korean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnviz.errors import CheckpointError
    from cnnviz.nets import MODELS, ModelEntry

    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    tiny = MODELS["tinyvgg"]
    spec = replace(tiny.spec, name="brokenvgg", weights_file=tmp_path / "broken.pt", description="TinyVGG, broken file")
    monkeypatch.setitem(MODELS, "brokenvgg", ModelEntry(spec, tiny.make))
    with pytest.raises(CheckpointError) as info:
        build("brokenvgg", weights="bundled")
    at = _page(lang="ko", fmaps_model="brokenvgg")
    _ok(at)
    assert info.value.localized("ko") in at.warning[0].value  # the note first, then (untrained) a wrong verdict


# --------------------------------------------------------------------------- Korean




def _texts(at: AppTest) -> list[str]:
    """Every text a learner reads on the page: headings, captions, messages, widget labels and options."""
    texts = [e.value for kind in ("title", "header", "subheader", "caption", "success", "warning", "info", "error")
             for e in getattr(at, kind)]  # fmt: skip
    for kind in ("selectbox", "slider", "toggle", "radio", "number_input"):
        for widget in getattr(at, kind):
            texts += [widget.label, *getattr(widget, "options", [])]
    return texts + _image_captions(at)


@pytest.mark.parametrize("model", ["tinyvgg", "lenet5", "smallresnet"])
def test_korean_page_shows_no_english_sentence(model: str) -> None:
    at = _page(lang="ko", fmaps_model=model, fmaps_top=True)
    _ok(at)
    assert at.title[0].value == translate("fmaps.title", "ko")
    assert translate(f"labels.model_description.{model}", "ko") in [c.value for c in at.caption]
    english = untranslated(_texts(at))
    assert english == []
    spec = get_spec(model)
    classes = _box(at, f"fmaps_example_class_{spec.dataset}").options
    assert classes == [translate(f"labels.class.{spec.dataset}.{c}", "ko") for c in spec.class_names]


def test_choices_survive_a_switch_of_language() -> None:
    at = _page(fmaps_model="lenet5")
    _box(at, "fmaps_example_class_digits").set_value(3).run()
    at.radio(key="lang_widget").set_value("ko").run()
    _ok(at)
    assert _box(at, "fmaps_model").value == "lenet5" and _box(at, "fmaps_example_class_digits").value == 3
    assert at.title[0].value == translate("fmaps.title", "ko")
    assert translate("fmaps.example_name", "ko", label="3", number=0) in _image_captions(at)


def test_korean_photo_mode_and_a_broken_upload() -> None:
    at = _page(lang="ko", fmaps_source="photo", fmaps_model="lenet5")
    _ok(at)
    assert _box(at, "fmaps_sample").options[0] == translate("labels.sample.astronaut", "ko")
    at.file_uploader(key="fmaps_upload").upload("broken.png", b"not an image at all", "image/png").run()
    _ok(at)
    expected = ImageError.from_key("errors.image_unreadable", formats=Phrase("errors.image_formats")).localized("ko")
    assert any("broken.png" in e.value and expected in e.value for e in at.error), [e.value for e in at.error]
    assert untranslated(_texts(at)) == []


# --------------------------------------------------------------------------- EfficientNet-Lite0 on photos


def _effnet(**state: object) -> AppTest:
    """The page as a learner first sees it: EfficientNet-Lite0 on a sample photo."""
    at = AppTest.from_file(PAGE, default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_efficientnet_comes_first_and_reads_the_coffee_photo() -> None:
    from torchvision import transforms

    at = _effnet(fmaps_sample="coffee")
    _ok(at)
    assert _box(at, "fmaps_model").value == "efficientnet_lite0" and not at.warning
    spec = get_spec("efficientnet_lite0")
    photo = Image.open(ROOT / "assets" / "samples" / "coffee.jpg").convert("RGB")
    reference = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                    transforms.Normalize(spec.mean, spec.std)])  # fmt: skip
    with torch.no_grad():  # the probability the page must show, computed here with torchvision's preparation
        probs = build("efficientnet_lite0", weights="bundled")(reference(photo)[None]).softmax(1)[0]
    top = int(probs.argmax())
    assert spec.class_names[top] == "espresso"
    verdict = translate("fmaps.verdict_photo", "en", label="espresso", p=float(probs[top]), n=1000)
    assert abs(float(probs[top]) - 0.835) < 0.01 and verdict in [c.value for c in at.caption]
    captions = _image_captions(at)
    assert translate("fmaps.prep_resized", "en", side=256, w=384, h=256, size=224) in captions  # 600×400 → 384×256
    assert translate("fmaps.prep_cropped", "en", size=224) in captions
    stages = build("efficientnet_lite0").stage_layers()
    assert all(any(c.startswith(f"{name}:") for c in captions) for name in stages)  # one grid per stage
    assert set(stages) <= set(captions)  # a Grad-CAM panel at every stage
    assert [c.key for c in at.get("plotly_chart")] == ["fmaps_pred_chart", "fmaps_dense__fc"]


def test_efficientnet_block_depthwise_filters_and_class_search() -> None:
    at = _effnet()
    at.selectbox(key="fmaps_block_efficientnet_lite0").set_value("_blocks.5").run()
    _ok(at)
    header = translate("fmaps.depthwise_header", "en", layer="_blocks.5._depthwise_conv", k=3, n=240)
    assert f"**{header}**" in [m.value for m in at.markdown]
    at.text_input(key="fmaps_cam_search_efficientnet_lite0").input("tiger").run()
    _ok(at)
    box = _box(at, "fmaps_cam_class_efficientnet_lite0")  # a search picks its first match; the others stay listed
    assert box.options == [translate("fmaps.cam_top", "en"), "tiger shark", "tiger cat", "tiger", "tiger beetle"]
    assert box.value == 3 and translate("fmaps.cam_showing", "en", label="tiger shark") in [c.value for c in at.caption]
    box.set_value(282).run()
    assert translate("fmaps.cam_showing", "en", label="tiger cat") in [c.value for c in at.caption]
    at.text_input(key="fmaps_cam_search_efficientnet_lite0").input("zebracorn").run()
    _ok(at)
    assert translate("fmaps.cam_no_match", "en", query="zebracorn") in [i.value for i in at.info]
    at.selectbox(key="fmaps_layer").set_value("_blocks.15").run()  # 7×7 maps: the unit sliders still work
    _ok(at)


def test_efficientnet_takes_any_photo_size() -> None:
    at = _effnet()
    for size in ((1, 1), (4000, 300)):  # one pixel (every map 1×1 … 7×7), and a long strip
        at.file_uploader(key="fmaps_upload").upload(f"mine{size[0]}.png", _png(*size), "image/png").run()
        _ok(at)
        assert not at.error and f"mine{size[0]}.png" in _image_captions(at)
        width, height = (640, 48) if size[0] == 4000 else size  # loaded with its long side capped at 640
        assert translate("fmaps.prep_original", "en", w=width, h=height) in _image_captions(at)


def test_efficientnet_in_korean_with_korean_class_names() -> None:
    from tests.text_checks import english_sentences

    at = _effnet(lang="ko", fmaps_sample="coffee")
    _ok(at)
    assert translate("labels.model_description.efficientnet_lite0", "ko") in [c.value for c in at.caption]
    named = sum(translate(f"labels.class.imagenet.{c}", "ko") != c for c in get_spec("efficientnet_lite0").class_names
                if f"labels.class.imagenet.{c}" in features_catalog())  # fmt: skip
    assert named > 300
    assert translate("fmaps.imagenet_names", "ko", n=named, total=1000) in [c.value for c in at.caption]
    assert "에스프레소" in _box(at, "fmaps_cam_class_efficientnet_lite0").options
    assert english_sentences(at) == [] and untranslated(_image_captions(at)) == []


def features_catalog() -> dict:
    from cnnviz.i18n import load_catalog

    return load_catalog()


def test_a_transfer_learned_efficientnet_opens_with_its_own_classes() -> None:
    from cnnviz.nets import efficientnet_lite0

    torch.manual_seed(0)
    model = efficientnet_lite0(num_classes=3).eval()  # a new head on the backbone, as Live training makes it
    spec = replace(get_spec("efficientnet_lite0"), dataset="my photos", class_names=("mug", "plant", "keyboard"),
                   weights_file=None, description="trained here")  # fmt: skip
    at = _effnet(session_models={"mine": {"model": model, "spec": spec}}, fmaps_model="session:mine")
    _ok(at)
    with torch.no_grad():
        x = torch.from_numpy(_sample_x(spec))  # the first sample, prepared as the page prepares it
        predicted = spec.class_names[int(model(x)[0].argmax())]
    assert translate("fmaps.cam_showing", "en", label=predicted) in [c.value for c in at.caption]
    assert at.get("plotly_chart")[0].key == "fmaps_pred_chart"


def _sample_x(spec) -> np.ndarray:
    from cnnviz.data import list_samples, load_image, preprocess

    return preprocess(spec, load_image(list_samples()["astronaut"], max_side=512)).numpy()


def test_a_zoo_network_appears_once_its_weights_file_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: a zoo model with weights (here a ResNet-18 state dict the test saves) opens on Feature maps."""
    from dataclasses import replace

    import torch

    from cnnviz.nets import MODELS

    entry = MODELS["resnet18"]
    missing = replace(entry, spec=replace(entry.spec, weights_file=tmp_path / "resnet18.pth"))
    monkeypatch.setitem(MODELS, "resnet18", missing)
    name = translate("labels.model.resnet18", "en")
    assert not [o for o in _box(_page(), "fmaps_model").options if name in o]  # no weights: not offered

    torch.manual_seed(0)
    torch.save(build("resnet18").state_dict(), tmp_path / "resnet18.pth")
    at = _page()
    assert [o for o in _box(at, "fmaps_model").options if name in o]
    _box(at, "fmaps_model").set_value("resnet18").run()
    _ok(at)
    assert any("224×224" in c.value for c in at.caption)
    assert "fmaps_dense_fc" in [c.key for c in at.get("plotly_chart")]  # its one fully connected layer, as bars
