"""Segmentation page in AppTest: opens (English, Korean), trains a tiny run to the end, saves and loads the FCN."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from cnnviz.segment import load_fcn, save_fcn
from cnnviz.train import TrainingJob
from tests.text_checks import english_sentences

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "segmentation.py")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def apps() -> Iterator[list[AppTest]]:
    """AppTests of a test; every training thread they started is stopped and joined afterwards."""
    made: list[AppTest] = []
    yield made
    for at in made:
        held = at.session_state["seg_job"] if "seg_job" in at.session_state else None
        if held is not None and isinstance(held[0], TrainingJob):
            held[0].stop()
            assert held[0].join(timeout=60), "the page's training thread did not stop"


def _page(apps: list[AppTest], **state: object) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    apps.append(at)
    return at.run()


def _run_until(at: AppTest, predicate, timeout: float = 120.0) -> AppTest:
    deadline = time.monotonic() + timeout
    while not predicate(at):
        assert time.monotonic() < deadline, "timed out waiting for the page"
        time.sleep(0.3)
        at.run()  # run_every fragments do not tick in AppTest
        assert not at.exception, [e.value for e in at.exception]
    return at


def test_korean_page_opens_without_english_sentences(apps) -> None:
    at = _page(apps, lang="ko")
    assert not at.exception
    assert english_sentences(at) == []
    assert at.button(key="seg_start").label == "학습 시작"


def test_a_tiny_run_trains_to_the_end_and_its_file_loads_back(apps) -> None:
    at = _page(apps)
    assert not at.exception and at.info  # no network yet: the views say so
    at.select_slider(key="seg_n_train").set_value(50)
    at.slider(key="seg_epochs").set_value(1)  # read by the button's callback at the click
    at.button(key="seg_start").click().run()
    assert not at.exception and "seg_job" in at.session_state
    _run_until(at, lambda a: "transposed" in a.session_state["seg_runs"])
    run = at.session_state["seg_runs"]["transposed"]
    assert run.epoch == 1 and 0.0 <= run.results["miou"] <= 1.0
    assert set(run.results["iou"]) == {"background", "circle", "square", "triangle", "star", "cross", "ring"}
    assert "seg_job" not in at.session_state  # the job was recorded and freed
    headers = [h.value for h in at.header]
    assert "3. What the network found" in headers and not at.exception
    assert len(at.metric) >= 2  # mean IoU on the page's scenes and on validation
    assert at.get("download_button"), "no download button for the trained FCN"
    saved = save_fcn(run.model, mean=run.mean, std=run.std, epoch=run.epoch)  # what the download button holds
    x = torch.rand(2, 3, 96, 96)
    torch.testing.assert_close(load_fcn(saved).model(x), run.model(x), rtol=0, atol=0)
    at.file_uploader(key="seg_load").upload("cnnviz-fcn-transposed.pt", saved, "application/octet-stream")
    at.run()
    assert not at.exception and any("trained for 1 epoch:" in s.value for s in at.success)


def test_a_wrong_file_gets_a_clear_message(apps) -> None:
    at = _page(apps)
    at.file_uploader(key="seg_load").upload("not_a_model.pt", b"this is not a torch file", "application/octet-stream")
    at.run()
    assert not at.exception
    assert any("could not be read as a saved model" in e.value for e in at.error)
