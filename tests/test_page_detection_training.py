"""The Detection page's live section in AppTest: a tiny run to its end, the detector at work, downloads and uploads.

The section runs on its own (``AppTest.from_function``), without the lessons above it on the page, which
have their own tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import torch
from streamlit.testing.v1 import AppTest

from cnnviz.data import SCENE_CLASSES
from cnnviz.detect import Detector, DetectorConfig, load_detector, save_detector
from cnnviz.train import TrainingJob
from tests.text_checks import english_sentences

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _section() -> None:
    from cnnviz.ui import bootstrap
    from cnnviz.ui.detection_training import training_section

    bootstrap()
    training_section()


@pytest.fixture
def apps() -> Iterator[list[AppTest]]:
    made: list[AppTest] = []
    yield made
    for at in made:
        job = at.session_state["dtrain_job"] if "dtrain_job" in at.session_state else None
        if isinstance(job, TrainingJob):
            job.stop()
            assert job.join(timeout=60), "the section's training thread did not stop"


def _open(apps: list[AppTest], **state: object) -> AppTest:
    at = AppTest.from_function(_section, default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    apps.append(at)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="dtrain_load").upload(name, data, "application/octet-stream").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_tiny_run_trains_to_its_end_and_the_detector_works(apps: list[AppTest]) -> None:
    at = _open(apps)
    assert at.info and "Start training" in at.info[0].value
    at.select_slider(key="dtrain_n_train").set_value(100)
    at.slider(key="dtrain_epochs").set_value(1).run()  # the Start button's callback takes the settings shown
    at.button(key="dtrain_start").click().run()
    deadline = time.monotonic() + 90
    while "dtrain_recorded" not in at.session_state:
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.3)
        at.run()  # run_every fragments do not tick in AppTest
        assert not at.exception, [e.value for e in at.exception]
    at.run()
    kept = at.session_state["dtrain_model"]
    assert kept.source == "trained" and kept.epoch == 1 and set(kept.results["ap50"]) == set(SCENE_CLASSES)
    charts = {c.proto.id for c in at.get("plotly_chart")}
    assert len(charts) >= 2 + 1 + 2 * 3 + 1  # curves, AP per class, 3 scenes before/after NMS, the photo
    at.slider(key="dtrain_score").set_value(5).run()  # the lowest threshold: the most boxes
    assert not at.exception
    download = at.get("download_button")
    assert download, "no download of the trained detector"
    # A garbage file and a classifier's file are refused with a keyed message; the detector stays.
    _upload(at, "broken.pt", b"definitely not a checkpoint")
    assert any("cannot be read safely" in e.value for e in at.error)
    assert at.session_state["dtrain_model"] is kept


def test_a_downloaded_detector_loads_back_and_the_korean_section_is_korean(apps: list[AppTest]) -> None:
    model = Detector(DetectorConfig(SCENE_CLASSES)).eval()
    data = save_detector(model, mean=(0.5,) * 3, std=(0.25,) * 3, epoch=4)
    at = _open(apps, lang="ko")
    assert not english_sentences(at), english_sentences(at)
    _upload(at, "mine.pt", data)
    kept = at.session_state["dtrain_model"]
    assert kept.source == "mine.pt" and kept.epoch == 4
    saved, back = model.state_dict(), kept.model.state_dict()
    assert saved.keys() == back.keys() and all(torch.equal(saved[k], back[k]) for k in saved)
    assert load_detector(data).epoch == 4
    assert any("mine.pt" in c.value for c in at.caption)
    assert not english_sentences(at), english_sentences(at)
