"""Live-training page in AppTest: opens, trains a short run, stops, presets, zips, .pt files, hand-over, Korean."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.arch import preset_rows
from cnnviz.i18n import translate
from cnnviz.train import (
    PRESETS,
    JobState,
    OptimizerName,
    TrainConfig,
    TrainingJob,
    flatten_config,
    load_trained,
    setting_names,
)
from cnnviz.ui.training_data import config_data
from cnnviz.ui.training_form import FORM_FIELDS
from tests.test_transfer import photo_zip
from tests.text_checks import english_sentences

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "live_training.py")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def apps() -> Iterator[list[AppTest]]:
    """AppTests of a test; every training thread they started is stopped and joined afterwards."""
    made: list[AppTest] = []
    yield made
    for at in made:
        job = at.session_state["train_job"] if "train_job" in at.session_state else None
        if isinstance(job, TrainingJob):
            job.stop()
            assert job.join(timeout=60), "the page's training thread did not stop"


def _page(apps: list[AppTest], *, path: str = PAGE, **state: object) -> AppTest:
    """Open the page with ``state`` set before the first run (Korean pages can only be driven that way)."""
    at = AppTest.from_file(path, default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    apps.append(at)
    return at.run()


def _small_run(at: AppTest, epochs: int = 2) -> AppTest:
    at.number_input(key="train_n_train").set_value(64)
    at.number_input(key="train_n_val").set_value(16)
    at.number_input(key="train_epochs").set_value(epochs)
    at.select_slider(key="train_batch_size").set_value(16)
    return at.run()


def _run_until(at: AppTest, predicate, timeout: float = 90.0) -> AppTest:
    deadline = time.monotonic() + timeout
    while not predicate(at):
        assert time.monotonic() < deadline, "timed out waiting for the page"
        time.sleep(0.3)
        at.run()  # run_every fragments do not tick in AppTest
        assert not at.exception, [e.value for e in at.exception]
    return at


def _finished(at: AppTest) -> bool:
    return "train_recorded" in at.session_state


def _texts(at: AppTest) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in at.get(kind)]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_page_opens_with_the_form_and_a_start_button(apps, lang: str) -> None:
    at = _page(apps, lang=lang)
    assert not at.exception
    assert at.title[0].value == translate("train.title", lang)
    assert at.button(key="train_start").label == translate("train.start", lang)
    assert translate("train.idle", lang) in [i.value for i in at.info]
    if lang == "ko":
        assert english_sentences(at) == []


def test_the_widgets_are_named_after_the_config_fields_and_presets_fill_them(apps) -> None:
    at = _page(apps)
    assert set(FORM_FIELDS) <= set(setting_names())
    assert all(f"train_{name}" in at.session_state for name in FORM_FIELDS)
    assert at.number_input(key="train_learning_rate").label == translate("train.learning_rate", "en")
    for name, preset in PRESETS.items():
        at.selectbox(key="train_preset").set_value(name).run()
        assert not at.exception
        wanted = flatten_config(preset)
        shown = {field: at.session_state[f"train_{field}"] for field in FORM_FIELDS if field != "transfer"}
        assert shown == {field: wanted[field] for field in shown}, name
    assert at.number_input(key="train_learning_rate").value == PRESETS["batch_256"].learning_rate


def test_settings_the_form_does_not_show_come_from_the_chosen_preset(apps) -> None:
    """high_lr reads the loss back after every step (its explosion is drawn step by step): the run gets that too."""
    at = _page(apps)
    at.selectbox(key="train_preset").set_value("high_lr").run()
    _small_run(at, epochs=1).button(key="train_start").click().run()
    assert not at.exception
    job = at.session_state["train_job"]
    assert job.config.sync_every == PRESETS["high_lr"].sync_every != TrainConfig().sync_every
    job.stop()
    assert job.join(timeout=60)


def test_a_short_run_trains_shows_progress_and_hands_the_model_over(apps) -> None:
    at = _small_run(_page(apps))
    at.button(key="train_start").click().run()
    assert not at.exception
    job = at.session_state["train_job"]
    assert isinstance(job, TrainingJob)
    assert job.config == replace(PRESETS["baseline"], n_train=64, n_val=16, epochs=2, batch_size=16)
    assert job.trainer.loader is config_data  # the page's loader: the last procedural split is kept for the next run
    if not job.snapshot().step_stats:  # until the first curve point the panel ticks four times a second
        assert at.session_state["train_fast_tick"]
    _run_until(at, lambda at: job.snapshot().step_stats and at.session_state["train_fast_tick"] is False)
    _run_until(at, _finished)
    snap = job.snapshot()
    assert snap.state is JobState.FINISHED and snap.epoch == 2
    assert any("CPU" in m.value for m in at.markdown)  # the device in use
    assert len(at.get("plotly_chart")) == 4  # the form's learning-rate curve, loss, accuracy, confusion matrix
    models = at.session_state["session_models"]
    (label,) = models
    entry = models[label]
    assert not entry["model"].training and entry["spec"].class_names == tuple(job.history.class_names)
    assert at.button(key="train_look_inside").label == translate("train.look_inside", "en")
    assert at.slider(key="train_replay").max == 2  # replay the epoch snapshots
    at.slider(key="train_replay").set_value(0).run()
    assert not at.exception
    assert any("epoch 0" in c for c in _image_captions(at))
    # the filters and maps the ticking panel draws carry their bytes (data URLs): no media file to go missing
    pictures = _images(at)
    assert len(pictures) >= 2 and all(url.startswith("data:image/png;base64,") for url in pictures[:2]), pictures[:2]


def _images(at: AppTest) -> list[str]:
    """The URLs of the pictures on the page, in order."""
    urls: list[str] = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            if child.type == "image":
                urls.extend(img.url[:40] for img in child.proto.imgs)
            walk(child)

    walk(at._tree)
    return urls


def _image_captions(at: AppTest) -> list[str]:
    captions: list[str] = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            if child.type == "image":
                captions.extend(img.caption for img in child.proto.imgs)
            walk(child)

    walk(at._tree)
    return captions


def test_the_download_offers_the_best_epoch_or_the_last_weights_and_says_which(apps) -> None:
    # a high learning rate on few images: the validation loss wobbles, so the last epoch is not the best
    at = _page(apps, train_n_train=64, train_n_val=16, train_epochs=6, train_batch_size=16,
               train_optimizer=OptimizerName.ADAM, train_learning_rate=0.01)  # fmt: skip
    at.button(key="train_start").click().run()
    _run_until(at, _finished)
    job = at.session_state["train_job"]
    epochs = job.snapshot().epoch_stats
    best = min(epochs, key=lambda e: e.val_loss)
    assert best.epoch < epochs[-1].epoch, "precondition: this run's best epoch is not its last"
    record = at.session_state["train_runs"][-1]
    assert [(d.weights.value, d.epoch) for d in record.downloads] == [("best", best.epoch), ("last", epochs[-1].epoch)]
    radio = at.radio(key="train_download_which")
    assert radio.value == "best" and f"epoch {best.epoch}" in radio.options[0]
    assert any(f"weights of epoch {best.epoch}, the one with the lowest validation loss" in c.value for c in at.caption)
    for download in record.downloads:
        loaded = load_trained(download.data)
        assert loaded.epoch == download.epoch and loaded.last == (download.weights.value == "last")
    radio.set_value("last").run()
    assert not at.exception
    assert any("when training ended (6 epochs finished)" in c.value for c in at.caption)


def test_pause_resume_and_stop_buttons(apps) -> None:
    at = _small_run(_page(apps), epochs=200)
    at.button(key="train_start").click().run()
    job = at.session_state["train_job"]
    _run_until(at, lambda a: job.snapshot().step > 0)
    at.button(key="train_pause").click().run()
    _run_until(at, lambda a: job.snapshot().state is JobState.PAUSED)
    assert at.button(key="train_resume").label == translate("train.resume", "en")
    at.button(key="train_resume").click().run()
    at.button(key="train_stop").click().run()
    assert job.join(timeout=60)
    _run_until(at, _finished)
    assert job.snapshot().state is JobState.STOPPED
    assert translate("errors.run_stopped_by_user", "en") in [i.value for i in at.info]
    assert at.button(key="train_start")  # a new run can be started


def test_too_high_a_learning_rate_diverges_and_a_korean_page_says_so_in_korean(apps) -> None:
    at = _page(apps)
    at.selectbox(key="train_preset").set_value("high_lr").run()
    assert at.number_input(key="train_learning_rate").value == 10.0
    _small_run(at, epochs=3)
    at.button(key="train_start").click().run()
    _run_until(at, _finished)
    job = at.session_state["train_job"]
    message = job.snapshot().message
    assert [w.value for w in at.warning] == [message.localized("en")] and "diverged in epoch 1" in at.warning[0].value
    # It diverged in epoch 1: only the snapshot before training is left, a replay range of one value.
    assert [s.epoch for s in job.snapshot().snapshots] == [0]
    assert not at.get("slider") or all(s.key != "train_replay" for s in at.slider)
    assert translate("ui.only_value", "en", label=translate("train.replay", "en"), value=0) in _texts(at)

    korean = _page(apps, lang="ko", train_job=job, train_runs=at.session_state["train_runs"],
                   train_recorded=id(job), train_run_count=1)  # fmt: skip  # the same finished run, seen in Korean
    assert not korean.exception, [e.value for e in korean.exception]
    assert [w.value for w in korean.warning] == [message.localized("ko")]
    assert "발산" in korean.warning[0].value and "diverged" not in korean.warning[0].value
    assert any(translate("train.state.finished", "ko") in m.value for m in korean.markdown)
    assert english_sentences(korean) == []


def _zip_of_two_classes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(6):
            for name, colour in (("red", (220, 10 * i, 0)), ("blue", (0, 10 * i, 220))):
                img = io.BytesIO()
                Image.new("RGB", (64, 64), colour).save(img, format="PNG")
                archive.writestr(f"{name}/{i}.png", img.getvalue())
        archive.writestr("red/readme.txt", "not an image")
    return buffer.getvalue()


def test_a_zip_of_my_classes_trains(apps) -> None:
    at = _page(apps)
    at.toggle(key="train_own").set_value(True).run()
    assert translate("train.zip_needed", "en") in [i.value for i in at.info]
    assert at.selectbox(key="train_model").value == "efficientnet_lite0" and at.checkbox(key="train_transfer").value
    at.selectbox(key="train_model").set_value("tinyvgg")  # from scratch, as before photos got EfficientNet-Lite0
    at.checkbox(key="train_transfer").uncheck().run()
    at.file_uploader(key="train_zip").upload("mine.zip", _zip_of_two_classes(), "application/zip").run()
    assert not at.exception
    assert any("1 file was skipped because it is not a readable image: red/readme.txt" in i.value for i in at.info)
    assert any(c.value.startswith("2 classes, resized to 64×64") for c in at.caption)
    at.number_input(key="train_epochs").set_value(1)
    at.run()
    at.button(key="train_start").click().run()
    _run_until(at, _finished)
    assert at.session_state["train_job"].history.class_names == ("blue", "red")


def _outputs(model: torch.nn.Module, size: int) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.rand(4, 3, size, size, generator=torch.Generator().manual_seed(0)))


def test_fine_tuning_a_bundled_model_on_my_zip_downloads_a_file_that_loads_back(apps) -> None:
    """The form's batch norm (ticked by the baseline preset) must not leak into a transfer-learning config."""
    at = _page(apps, path=str(ROOT / "app.py"))
    at.switch_page("pages/live_training.py").run()
    assert at.checkbox(key="train_batch_norm").value  # the baseline preset trains with batch norm
    at.toggle(key="train_own").set_value(True).run()
    at.selectbox(key="train_model").set_value("tinyvgg")  # the bundled TinyVGG, not the photos' EfficientNet-Lite0
    at.checkbox(key="train_transfer").check().run()
    shown = at.checkbox(key="train_batch_norm_transfer")
    assert shown.disabled and not shown.value  # the form shows what is built
    at.file_uploader(key="train_zip").upload("mine.zip", _zip_of_two_classes(), "application/zip").run()
    at.number_input(key="train_epochs").set_value(1)
    at.run()
    at.button(key="train_start").click().run()
    _run_until(at, _finished)
    record = at.session_state["train_runs"][-1]
    assert record.trained.config.transfer and not record.trained.config.batch_norm
    for download in record.downloads:
        loaded = load_trained(download.data)
        assert loaded.config == record.trained.config and loaded.class_names == ("blue", "red")
        if download.weights.value == "last":
            size = record.trained.image_size
            torch.testing.assert_close(_outputs(loaded.model, size), _outputs(record.trained.model, size), rtol=0,
                                       atol=0)  # fmt: skip

    # Load the download in a fresh session and look inside it on the Feature-maps page.
    fresh = _page(apps, path=str(ROOT / "app.py"))
    fresh.switch_page("pages/live_training.py").run()
    data = record.downloads[-1].data
    fresh.file_uploader(key="train_load").upload("mine.pt", data, "application/octet-stream").run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert [s.value for s in fresh.success] == [translate("train.loaded", "en", name="mine.pt", classes="blue, red",
                                                          label="mine.pt (uploaded)")]  # fmt: skip
    fresh.button(key="train_look_inside_loaded").click().run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert fresh.title[0].value == translate("fmaps.title", "en")
    assert fresh.session_state["fmaps_model"] == "session:mine.pt (uploaded)"
    shown_model = fresh.session_state["session_models"]["mine.pt (uploaded)"]["model"]
    size = record.trained.image_size
    torch.testing.assert_close(_outputs(shown_model, size), _outputs(record.trained.model, size), rtol=0, atol=0)


def test_loading_a_bad_pt_file_shows_a_clear_message(apps) -> None:
    at = _page(apps)
    at.file_uploader(key="train_load").upload("model.pt", b"garbage", "application/octet-stream").run()
    assert not at.exception
    assert [e.value for e in at.error] == [translate("errors.trained_unsafe", "en")]


def test_look_inside_opens_feature_maps_with_the_model_and_the_download_loads_back(apps) -> None:
    at = _page(apps, path=str(ROOT / "app.py"))
    at.switch_page("pages/live_training.py").run()
    _small_run(at, epochs=1)
    at.button(key="train_start").click().run()
    _run_until(at, _finished)
    assert [d.key for d in at.get("download_button")].count("train_download") == 1  # the .pt (and the runs CSV)
    record = at.session_state["train_runs"][-1]
    label = next(iter(at.session_state["session_models"]))

    fresh = _page(apps)  # another session loads the downloaded file back, once per content
    for _ in range(2):
        fresh.file_uploader(key="train_load").upload("run.pt", record.downloads[-1].data, "application/octet-stream")
        fresh.run()
    assert not fresh.exception
    assert any("Loaded run.pt (classes: " in s.value and "“run.pt (uploaded)”" in s.value for s in fresh.success)
    assert list(fresh.session_state["session_models"]) == ["run.pt (uploaded)"]
    loaded = fresh.session_state["session_models"]["run.pt (uploaded)"]["model"]
    size = record.trained.image_size
    assert size == 32  # the baseline preset's side, carried by the download
    torch.testing.assert_close(_outputs(loaded, size), _outputs(record.trained.model, size), rtol=0, atol=0)

    at.button(key="train_look_inside").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == translate("fmaps.title", "en")
    assert at.session_state["fmaps_model"] == "session:" + label


def test_settings_survive_a_visit_to_another_page(apps) -> None:
    at = _page(apps, path=str(ROOT / "app.py"))
    at.switch_page("pages/live_training.py").run()
    at.number_input(key="train_n_train").set_value(123).run()
    at.number_input(key="train_learning_rate").set_value(0.02).run()
    at.switch_page("pages/pooling.py").run()
    at.switch_page("pages/live_training.py").run()
    assert not at.exception
    assert at.number_input(key="train_n_train").value == 123
    assert at.number_input(key="train_learning_rate").value == 0.02


# ------------------------------------------------------------------- transfer from EfficientNet-Lite0, the builder


def test_my_photos_train_a_head_on_efficientnet_features_and_open_on_feature_maps(apps) -> None:
    at = _page(apps, path=str(ROOT / "app.py"))
    at.switch_page("pages/live_training.py").run()
    at.toggle(key="train_own").set_value(True).run()  # starts from EfficientNet-Lite0's frozen features
    at.file_uploader(key="train_zip").upload("photos.zip", photo_zip(per_class=5), "application/zip").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("3 classes, resized to 224×224") for c in at.caption)
    at.number_input(key="train_epochs").set_value(3).run()
    at.button(key="train_start").click().run()
    _run_until(at, _finished)
    record = at.session_state["train_runs"][-1]
    assert record.trained.config.model == "efficientnet_lite0" and record.trained.config.transfer
    assert record.features is not None and record.features.dims == 1280
    assert any(c.value.startswith("Trained: only a new head, 3,843 parameters (1,280 features → 3 classes).")
               for c in at.caption)  # fmt: skip
    assert len(at.get("plotly_chart")) == 5  # the learning-rate curve, loss, accuracy, the features in 2-D, confusion
    spec = at.session_state["session_models"][record.label]["spec"]
    assert spec.class_names == ("cat", "coffee", "rocket") and spec.name == "efficientnet_lite0"
    loaded = load_trained(record.downloads[-1].data)
    assert loaded.class_names == spec.class_names
    at.button(key="train_look_inside").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == translate("fmaps.title", "en")


def _builder_page(apps, rows: list[dict], *, app: bool = False, **state: object) -> AppTest:
    at = _page(apps, path=str(ROOT / "app.py") if app else PAGE, builder_rows=rows, train_model="builder", **state)
    if app:
        at.switch_page("pages/live_training.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="train_model").value == "builder"
    return at


def test_a_network_from_the_builder_trains_on_the_page(apps) -> None:
    rows = preset_rows("tinyvgg")
    at = _small_run(_builder_page(apps, rows, app=True), epochs=1)
    assert at.checkbox(key="train_batch_norm_transfer").disabled and at.checkbox(key="train_transfer").disabled
    at.button(key="train_start").click().run()
    _run_until(at, _finished)
    record = at.session_state["train_runs"][-1]
    assert record.trained.config.model == "builder" and record.trained.config.architecture == tuple(rows)
    assert "Network from the builder" in record.label
    sent = f"Trained: the network from the builder ({len(rows)} rows as sent"
    assert any(c.value.startswith(sent) for c in at.caption)
    assert load_trained(record.downloads[-1].data).config.architecture == tuple(rows)
    assert at.session_state["session_models"][record.label]["spec"].name == "builder"
    at.button(key="train_look_inside").click().run()  # Feature maps opens the built network
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == translate("fmaps.title", "en")
    assert at.session_state["fmaps_model"] == "session:" + record.label


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_an_impossible_built_network_shows_the_builders_message_and_a_way_back(apps, lang: str) -> None:
    at = _builder_page(apps, preset_rows("mistake"), lang=lang)  # a linear layer straight after a convolution
    (error,) = at.error
    assert error.value.startswith(translate("train.builder_impossible", lang, problem="")[:20])
    assert ("row 3" if lang == "en" else "3번째 줄") in error.value
    assert at.button(key="train_start").disabled
    assert len(at.get("page_link")) == 1 or translate("train.back_to_builder_named", lang) in _texts(at)
    if lang == "ko":
        assert english_sentences(at) == []


def test_a_built_network_without_convolutions_trains_and_says_feature_maps_cannot_show_it(apps) -> None:
    rows = [{"kind": "flatten"}, {"kind": "linear", "out": 32}, {"kind": "relu"}, {"kind": "linear", "out": 8}]
    at = _small_run(_builder_page(apps, rows), epochs=1)
    at.button(key="train_start").click().run()
    _run_until(at, _finished)
    assert at.session_state["train_job"].snapshot().state is JobState.FINISHED
    assert at.button(key="train_look_inside").disabled
    assert translate("train.no_convolution", "en") in _texts(at)
    assert "session_models" not in at.session_state or not at.session_state["session_models"]  # not offered there
