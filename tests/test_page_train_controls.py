"""The Live-training form's device, callbacks, schedule and validation controls in AppTest (no run is started)."""

from __future__ import annotations

import base64
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.device import allowed_cpus
from cnnviz.i18n import translate
from cnnviz.train import (
    DEFAULT_LIMITER,
    PRESETS,
    Monitor,
    Precision,
    Schedule,
    flatten_config,
    story_values,
    threads_per_job,
)
from cnnviz.ui.training_form import FORM_FIELDS, PRESET_FIELDS
from tests.text_checks import english_sentences

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "live_training.py")
NEW_FIELDS = ("device", "warmup", "step_every", "step_gamma", "monitor", "val_fraction", "folds", "val_noise",
              "augmentation_noise")  # fmt: skip

BASELINE = PRESETS["baseline"]  # what the form starts from

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _page(*, path: str = PAGE, **state: object) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def _curve(at: AppTest) -> tuple[np.ndarray, np.ndarray]:
    (chart,) = [c for c in at.get("plotly_chart") if "lr_curve" in c.proto.id]
    trace = json.loads(chart.proto.spec)["data"][0]
    return _array(trace["x"]), _array(trace["y"])


def _array(values) -> np.ndarray:
    if isinstance(values, dict):  # plotly's typed array: {"dtype": "f8", "bdata": base64}
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
    return np.asarray(values, dtype=float)


def test_only_present_devices_are_offered_with_the_threads_and_the_precision_they_use(monkeypatch) -> None:
    at = _page()
    assert at.selectbox(key="train_device").options == ["Automatic: CPU", "CPU"]
    runs = DEFAULT_LIMITER.capacity  # the threads a job of this server really sets (cnnviz.train.jobs)
    said = translate("train_controls.threads", "en", n=threads_per_job(runs), allowed=allowed_cpus(), runs=runs)
    assert said in _captions(at)
    assert translate("train_controls.uses_fp32", "en") in _captions(at)
    at.selectbox(key="train_precision").set_value(Precision.MIXED).run()
    assert "On CPU: bfloat16 (bf16) autocast, without a gradient scaler" in " ".join(_captions(at))

    # A server with a CUDA GPU (the logic only: CUDA never runs here)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")
    at = _page(train_precision=Precision.MIXED)
    assert at.selectbox(key="train_device").options[:2] == ["Automatic: CUDA (NVIDIA H200)", "CUDA (NVIDIA H200)"]
    at.selectbox(key="train_device").set_value("cuda").run()
    assert not at.exception and not at.error
    assert translate("train_controls.uses_fp16", "en", device="CUDA (NVIDIA H200)") in _captions(at)
    at.selectbox(key="train_device").set_value("cpu").run()
    assert "bfloat16" in " ".join(_captions(at))


def test_presets_fill_every_new_control_and_the_choices_survive_a_visit_to_another_page() -> None:
    assert set(NEW_FIELDS) <= set(FORM_FIELDS) and set(NEW_FIELDS) - {"device"} <= set(PRESET_FIELDS)
    at = _page()
    for name, preset in PRESETS.items():
        at.selectbox(key="train_preset").set_value(name).run()
        assert not at.exception, name
        wanted = flatten_config(preset)
        assert {f: at.session_state[f"train_{f}"] for f in NEW_FIELDS} == {f: wanted[f] for f in NEW_FIELDS}, name

    at = _page(path=str(ROOT / "app.py"))
    at.switch_page("pages/live_training.py").run()
    at.selectbox(key="train_schedule").set_value(Schedule.STEP).run()
    chosen = {"step_every": 3, "step_gamma": 0.5, "patience": 2, "monitor": Monitor.VAL_ACCURACY,
              "val_fraction": 0.3, "augmentation_noise": 0.1, "val_noise": 0.2}  # fmt: skip
    at.number_input(key="train_step_every").set_value(3)
    at.slider(key="train_step_gamma").set_value(0.5)
    at.number_input(key="train_patience").set_value(2)
    at.selectbox(key="train_monitor").set_value(Monitor.VAL_ACCURACY)
    at.selectbox(key="train_val_fraction").set_value(0.3)
    at.slider(key="train_augmentation_noise").set_value(0.1)
    at.slider(key="train_val_noise").set_value(0.2).run()
    at.switch_page("pages/pooling.py").run()
    at.switch_page("pages/live_training.py").run()
    assert not at.exception
    assert {f: at.session_state[f"train_{f}"] for f in chosen} == chosen
    assert at.selectbox(key="train_schedule").value is Schedule.STEP
    assert translate("train_controls.checkpoint_accuracy", "en") in _captions(at)
    total = BASELINE.n_train + BASELINE.n_val
    val = round(total * 0.3)  # 30 % of all the images validate
    assert translate("train_controls.split", "en", train=total - val, val=val) in _captions(at)


def test_the_curve_drawn_before_the_run_is_the_schedule_in_closed_form() -> None:
    at = _page(train_n_train=300, train_batch_size=32, train_epochs=4, train_learning_rate=0.05)
    at.selectbox(key="train_schedule").set_value(Schedule.COSINE).run()
    per_epoch, total = 300 // 32, 300 // 32 * 4  # full batches only
    x, y = _curve(at)
    i = np.arange(total)
    np.testing.assert_allclose(y, 0.05 / 2 * (1 + np.cos(np.pi * i / total)), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(x, i / per_epoch, rtol=0, atol=1e-12)
    at.selectbox(key="train_schedule").set_value(Schedule.STEP).run()
    at.number_input(key="train_step_every").set_value(5).run()  # after the last epoch: the rate never drops
    np.testing.assert_array_equal(_curve(at)[1], np.full(total, 0.05))
    assert translate("train_controls.step_never", "en", every=5) in _captions(at)


def _zip_of(per_class: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(per_class):
            for name, colour in (("red", (220, 20 * i, 0)), ("blue", (0, 20 * i, 220))):
                img = io.BytesIO()
                Image.new("RGB", (32, 32), colour).save(img, format="PNG")
                archive.writestr(f"{name}/{i}.png", img.getvalue())
    return buffer.getvalue()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_impossible_splits_show_what_to_change(lang: str) -> None:
    at = _page(lang=lang, train_folds=5, train_val_fraction=0.2)  # as a preset might set them
    assert [e.value for e in at.error] == [translate("errors.train_folds_with_fraction", lang, k=5, fraction=0.2)]
    assert at.button(key="train_start").disabled
    if lang == "ko":  # a Korean page can only be driven through the state it starts with
        assert english_sentences(at) == []
        return
    at.selectbox(key="train_val_fraction").set_value(0.0).run()  # the fix the message names
    assert not at.error
    at = _page(train_own=True, train_folds=10)  # a zip of six photos cannot make ten folds
    at.file_uploader(key="train_zip").upload("six.zip", _zip_of(3), "application/zip").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [translate("errors.train_folds", "en", k=10, n=6)]
    at.selectbox(key="train_folds").set_value(3).run()
    assert not at.error
    assert translate("train_controls.split_folds", "en", k=3, train=4, val=2) in _captions(at)


def test_every_control_and_note_reads_in_korean() -> None:
    assert BASELINE.epochs < 8  # so that the step schedule never drops and patience 10 cannot stop the run
    at = _page(lang="ko", train_schedule=Schedule.STEP, train_step_every=8, train_patience=10, train_folds=5,
               train_precision=Precision.MIXED)  # fmt: skip
    texts = _captions(at)
    total = BASELINE.n_train + BASELINE.n_val
    fold = math.ceil(total / 5)  # the first fold is the largest
    for key, values in (("split_folds", dict(k=5, train=total - fold, val=fold)), ("step_never", dict(every=8)),
                        ("patience_never", dict(n=BASELINE.epochs, first=11)), ("checkpoint_loss", {})):  # fmt: skip
        assert translate(f"train_controls.{key}", "ko", **values) in texts
    assert any("bfloat16" in text for text in texts)
    assert english_sentences(at) == []


def test_the_image_size_starts_at_the_presets_and_follows_the_data_set() -> None:
    at = _page()
    size = at.selectbox(key="train_image_size")
    assert size.value == BASELINE.image_size == 32 and not size.disabled
    story = translate("train.story.baseline", "en", **story_values("baseline"))
    assert story in _captions(at) and "{" not in story  # its counts filled in, no placeholder left
    assert "10,000 shapes drawn at 32×32 pixels" in story  # the preset's n_train and side, formatted by the page
    assert size.format_func(0) == translate("train.image_size_own", "en", size=64) and 64 not in size.options
    at.selectbox(key="train_dataset").set_value("digits").run()  # another set starts at its own side ...
    assert at.selectbox(key="train_image_size").value == 0
    assert at.selectbox(key="train_image_size").format_func(0) == "28×28 (the set's own)"
    at.selectbox(key="train_image_size").set_value(32).run()
    assert at.session_state["train_image_size"] == 32 and not at.error  # ... and may be resized
    at.selectbox(key="train_dataset").set_value("shapes").run()  # the preset's set: the preset's side again
    assert at.selectbox(key="train_image_size").value == 32
    at.checkbox(key="train_transfer").check().run()  # the bundled network keeps its own input size
    assert at.selectbox(key="train_image_size").disabled and not at.exception
