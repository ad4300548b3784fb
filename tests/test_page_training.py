"""Live-training page in AppTest: opens, trains a short run, stops, presets, zips, .pt files, hand-over."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.i18n import translate
from cnnviz.train import JobState, TrainingJob

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


def _page(apps: list[AppTest], *, lang: str = "en") -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["lang"] = lang
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


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_page_opens_with_the_form_and_a_start_button(apps, lang: str) -> None:
    at = _page(apps, lang=lang)
    assert not at.exception
    assert at.title[0].value == translate("train.title", lang)
    assert at.button(key="train_start").label == translate("train.start", lang)
    assert translate("train.idle", lang) in [i.value for i in at.info]


def test_a_short_run_trains_shows_progress_and_hands_the_model_over(apps) -> None:
    at = _small_run(_page(apps))
    at.button(key="train_start").click().run()
    assert not at.exception
    job = at.session_state["train_job"]
    assert isinstance(job, TrainingJob)
    _run_until(at, lambda a: "train_recorded" in a.session_state)
    snap = job.snapshot()
    assert snap.state is JobState.FINISHED and snap.epoch == 2
    assert any("CPU" in m.value for m in at.markdown)  # the device in use
    assert len(at.get("plotly_chart")) == 3  # loss, accuracy, confusion matrix
    models = at.session_state["session_models"]
    (label,) = models
    entry = models[label]
    assert not entry["model"].training and entry["spec"].class_names == snap_classes(job)
    assert at.button(key="train_look_inside").label == translate("train.look_inside", "en")
    assert at.slider(key="train_replay").max == 2  # replay the epoch snapshots
    at.slider(key="train_replay").set_value(0).run()
    assert not at.exception
    assert any("epoch 0" in c for c in _image_captions(at))


def snap_classes(job: TrainingJob) -> tuple[str, ...]:
    return tuple(job.history.class_names)


def _image_captions(at: AppTest) -> list[str]:
    captions: list[str] = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            if child.type == "image":
                captions.extend(img.caption for img in child.proto.imgs)
            walk(child)

    walk(at._tree)
    return captions


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
    _run_until(at, lambda a: "train_recorded" in a.session_state)
    assert job.snapshot().state is JobState.STOPPED
    assert at.button(key="train_start")  # a new run can be started


def test_too_high_a_learning_rate_preset_diverges_with_a_message(apps) -> None:
    at = _page(apps)
    at.selectbox(key="train_preset").set_value("high_lr").run()
    assert at.number_input(key="train_lr").value == 10.0
    _small_run(at, epochs=3)
    at.button(key="train_start").click().run()
    _run_until(at, lambda a: "train_recorded" in a.session_state)
    assert any("diverged" in w.value for w in at.warning)


def _zip_of_two_classes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(6):
            for name, colour in (("red", (220, 10 * i, 0)), ("blue", (0, 10 * i, 220))):
                img = io.BytesIO()
                Image.new("RGB", (32, 32), colour).save(img, format="PNG")
                archive.writestr(f"{name}/{i}.png", img.getvalue())
        archive.writestr("red/readme.txt", "not an image")
    return buffer.getvalue()


def test_a_zip_of_my_classes_trains(apps) -> None:
    at = _page(apps)
    at.toggle(key="train_own").set_value(True).run()
    assert translate("train.zip_needed", "en") in [i.value for i in at.info]
    at.file_uploader(key="train_zip").upload("mine.zip", _zip_of_two_classes(), "application/zip").run()
    assert not at.exception
    assert any("1 file(s) were skipped" in i.value for i in at.info)
    at.number_input(key="train_epochs").set_value(1)
    at.run()
    at.button(key="train_start").click().run()
    _run_until(at, lambda a: "train_recorded" in a.session_state)
    assert at.session_state["train_job"].history.class_names == ("blue", "red")


def test_loading_a_bad_pt_file_shows_a_clear_message(apps) -> None:
    at = _page(apps)
    at.file_uploader(key="train_load").upload("model.pt", b"garbage", "application/octet-stream").run()
    assert not at.exception
    assert any("not a PyTorch checkpoint" in e.value for e in at.error)


def test_look_inside_opens_feature_maps_with_the_model_and_the_download_loads_back(apps) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    apps.append(at)
    at.switch_page("pages/live_training.py").run()
    _small_run(at, epochs=1)
    at.button(key="train_start").click().run()
    _run_until(at, lambda a: "train_recorded" in a.session_state)
    download = at.get("download_button")
    assert len(download) == 1
    checkpoint = at.session_state["train_runs"][-1].checkpoint
    label = next(iter(at.session_state["session_models"]))

    fresh = _page(apps)  # another session loads the downloaded file back
    fresh.file_uploader(key="train_load").upload("run.pt", checkpoint, "application/octet-stream").run()
    assert not fresh.exception
    assert any("loaded run.pt" in s.value for s in fresh.success)
    assert "loaded run.pt" in fresh.session_state["session_models"]

    at.button(key="train_look_inside").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == translate("fmaps.title", "en")
    assert at.session_state["fmaps_model"] == "session:" + label


def test_settings_survive_a_visit_to_another_page(apps) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    apps.append(at)
    at.switch_page("pages/live_training.py").run()
    at.number_input(key="train_n_train").set_value(123).run()
    at.switch_page("pages/pooling.py").run()
    at.switch_page("pages/live_training.py").run()
    assert not at.exception
    assert at.number_input(key="train_n_train").value == 123
