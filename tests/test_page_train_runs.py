"""Live-training page, runs of a session: the queue place while the server is full, two runs side by side with
their settings, and the table of runs whose CSV parses back to the runs' real values (AppTest)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.i18n import translate
from cnnviz.train import DEFAULT_LIMITER, JobState, TrainingJob
from cnnviz.ui.training_runs import CSV_FIELDS, runs_csv
from tests.text_checks import english_sentences

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "live_training.py")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def apps() -> Iterator[list[AppTest]]:
    made: list[AppTest] = []
    yield made
    for at in made:
        job = at.session_state["train_job"] if "train_job" in at.session_state else None
        if isinstance(job, TrainingJob):
            job.stop()
            assert job.join(timeout=60), "the page's training thread did not stop"


def _page(apps: list[AppTest], **state: object) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in {"train_n_train": 48, "train_n_val": 16, "train_epochs": 2, "train_batch_size": 16,
                       **state}.items():  # fmt: skip
        at.session_state[key] = value
    apps.append(at)
    return at.run()


def _run_until(at: AppTest, predicate, timeout: float = 90.0) -> AppTest:
    deadline = time.monotonic() + timeout
    while not predicate(at):
        assert time.monotonic() < deadline, "timed out waiting for the page"
        time.sleep(0.2)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def _train(at: AppTest) -> TrainingJob:
    at.button(key="train_start").click().run()
    job = at.session_state["train_job"]
    _run_until(at, lambda a: a.session_state["train_recorded"] == id(job) if "train_recorded" in a.session_state
               else False)  # fmt: skip
    return job


def test_a_full_server_queues_the_run_shows_its_place_in_korean_and_starts_it_by_itself(apps) -> None:
    holders = [object() for _ in range(DEFAULT_LIMITER.capacity)]  # other learners' runs hold every slot
    for holder in holders:
        DEFAULT_LIMITER.enter(id(holder))
    try:
        at = _page(apps)
        at.button(key="train_start").click().run()
        job = at.session_state["train_job"]
        assert job.snapshot().state is JobState.QUEUED
        at.run()
        place = translate("runs.queued", "en", n=1, waiting=1, capacity=DEFAULT_LIMITER.capacity)
        assert any("Waiting in the queue" in m.value and place in m.value for m in at.markdown)
        korean = _page(apps, lang="ko", train_job=job)  # the same queued run, seen in Korean
        status = translate("train.state.queued", "ko")
        place = translate("runs.queued", "ko", n=1, waiting=1, capacity=DEFAULT_LIMITER.capacity)
        assert any(status in m.value and place in m.value for m in korean.markdown), [m.value for m in korean.markdown]
        assert translate("runs.queued_help", "ko", n=DEFAULT_LIMITER.capacity) in [i.value for i in korean.info]
        assert english_sentences(korean) == []
        assert job.snapshot().state is JobState.QUEUED  # no slot yet
    finally:
        for holder in holders:
            DEFAULT_LIMITER.release(id(holder))
    _run_until(at, lambda a: "train_recorded" in a.session_state)  # it started by itself and finished
    assert job.snapshot().state is JobState.FINISHED and job.snapshot().epoch == 2


def test_two_runs_side_by_side_and_the_csv_of_all_runs(apps) -> None:
    at = _page(apps, train_learning_rate=0.001)
    first = _train(at)
    at.number_input(key="train_learning_rate").set_value(0.003).run()
    second = _train(at)
    figures = list(at.get("plotly_chart"))
    assert len(figures) >= 4  # the live loss/accuracy, the confusion matrix, the two comparison charts
    specs = [json.loads(f.proto.spec) for f in figures]
    compare = [s for s in specs if s["layout"].get("title", {}).get("text") in (translate("runs.val_loss", "en"),
                                                                              translate("runs.val_accuracy", "en"))]
    assert len(compare) == 2
    for spec in compare:
        lines = [trace["line"] for trace in spec["data"]]
        assert [trace["name"] for trace in spec["data"]] == ["#1", "#2"]
        assert all(line["dash"] == "solid" for line in lines) and lines[0]["color"] != lines[1]["color"]
    loss_spec = next(s for s in compare if s["layout"]["title"]["text"] == translate("runs.val_loss", "en"))
    assert loss_spec["data"][1]["y"] == [e.val_loss for e in second.snapshot().epoch_stats]
    setting_frames = [f for f in at.dataframe if translate("runs.setting", "en") in f.value.columns]
    (settings,) = setting_frames
    lr_row = settings.value[settings.value[translate("runs.setting", "en")] == translate(
        "errors.setting.learning_rate", "en")]  # fmt: skip
    assert list(lr_row.iloc[0, 1:]) == ["0.001", "0.003"]
    assert settings.value.iloc[0, 0] == translate("errors.setting.learning_rate", "en")  # the differing row first
    rows = list(csv.DictReader(io.StringIO(runs_csv(at.session_state["train_runs"]).decode("utf-8"))))
    assert tuple(rows[0]) == CSV_FIELDS and len(rows) == 2
    for row, job in zip(rows, (first, second), strict=True):
        epochs = job.snapshot().epoch_stats
        assert float(row["learning_rate"]) == job.config.learning_rate and int(row["batch_size"]) == 16
        assert (row["model"], row["data"], row["optimizer"]) == (job.config.model, "shapes", job.config.optimizer.value)
        assert float(row["best_val_accuracy"]) == max(e.val_accuracy for e in epochs)
        assert int(row["epochs_done"]) == len(epochs) == int(row["epochs"]) and row["status"] == "finished"
        assert float(row["seconds"]) == pytest.approx(job.snapshot().elapsed_s, abs=0.01)
