"""Live-training panel in AppTest: every conv layer's filters and maps, weight and gradient histograms, curves that
plot what is computed (accuracy on [0, 1], a diverged loss on a log axis, clipped values marked), in English and
Korean."""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from torch import nn

from cnnviz.i18n import translate
from cnnviz.train import RunStatus, TrainingJob
from cnnviz.ui.training_figures import curves_figure, loss_marks, step_position
from cnnviz.ui.training_live import blend_eta
from tests.text_checks import english_sentences

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "live_training.py")

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
    for key, value in state.items():
        at.session_state[key] = value
    apps.append(at)
    return at.run()


def _train(apps: list[AppTest], preset: str | None = None, **settings: object) -> AppTest:
    """Open the page (with ``preset`` chosen), put ``settings`` in the form, press Start, rerun until recorded."""
    at = _page(apps)
    if preset is not None:
        at.selectbox(key="train_preset").set_value(preset).run()
    for name, value in settings.items():
        at.session_state[f"train_{name}"] = value
    at.run().button(key="train_start").click().run()
    deadline = time.monotonic() + 90
    while "train_recorded" not in at.session_state:
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def _figure(at: AppTest, title_part: str) -> dict:
    """The one plotly figure on the page whose title holds ``title_part``, as its JSON."""
    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    found = [f for f in figures if title_part in f["layout"]["title"]["text"]]
    assert len(found) == 1, [f["layout"]["title"]["text"] for f in figures]
    return found[0]


def _array(value: object) -> np.ndarray:
    """A figure JSON's array: a list, or plotly's typed array {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict):
        shape = [int(n) for n in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value)


def _captions(at: AppTest) -> list[str]:
    captions: list[str] = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            if child.type == "image":
                captions.extend(img.caption for img in child.proto.imgs)
            walk(child)

    walk(at._tree)
    return captions


def test_every_conv_layer_and_its_histograms_can_be_picked_in_english_and_korean(apps) -> None:
    at = _train(apps, n_train=64, n_val=16, epochs=2, batch_size=16)
    job = at.session_state["train_job"]
    _windows_sit_at_their_fractional_epoch(at, job.snapshot())
    model = job.trained.model
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    picker = at.selectbox(key="train_layer")
    expected = [f"conv {i} ({c.in_channels}→{c.out_channels}, 3×3)" for i, c in enumerate(convs, 1)]
    assert picker.options == expected
    picker.set_value(job.snapshot().snapshots[-1].convs[2].name).run()  # the module's name; shown: its label
    assert not at.exception
    assert any(c.startswith("conv 3 (10→10, 3×3): filters after epoch 2") for c in _captions(at))
    assert any(c.startswith("conv 3 (10→10, 3×3): its feature maps") for c in _captions(at))
    at.slider(key="train_replay").set_value(0).run()
    assert any("filters after epoch 0" in c for c in _captions(at))

    at.radio(key="train_view").set_value("histograms").run()
    assert not at.exception
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)][0]
    assert at.selectbox(key="train_hist_layer").options[-1] == f"linear 1 ({linear.in_features}→{linear.out_features})"
    at.slider(key="train_replay").set_value(2).run()
    weights, grads = _figure(at, "weight values"), _figure(at, "gradient sizes")
    assert weights["data"][0]["y"] == [0, 1, 2] and grads["data"][0]["y"] == [1, 2]  # no gradient before training
    norms = _figure(at, "Gradient norm")
    head = f"linear 1 ({linear.in_features}→{linear.out_features})"
    assert [trace["name"] for trace in norms["data"]] == [*expected, head]
    assert norms["layout"]["yaxis"]["type"] == "log"
    shot = job.snapshot().snapshots[2]  # the histogram shown is the snapshot's own counts
    counts = _array(weights["data"][0]["customdata"])
    np.testing.assert_array_equal(counts[2], shot.layers[0].weights.counts)

    for view in ("histograms", "filters"):  # a Korean page cannot be clicked in AppTest (its format_funcs): open it
        korean = _page(apps, lang="ko", train_job=job, train_runs=at.session_state["train_runs"],
                       train_recorded=id(job), train_run_count=1, train_view=view)  # fmt: skip
        assert not korean.exception, [e.value for e in korean.exception]
        picker = korean.selectbox(key="train_hist_layer" if view == "histograms" else "train_layer")
        assert picker.options[0] == "합성곱 1 (3→10, 3×3)"
        assert english_sentences(korean) == []


def test_a_diverged_run_draws_its_loss_on_a_log_axis_and_the_status_says_what_happened(apps) -> None:
    at = _train(apps, preset="high_lr", n_train=256, n_val=32, epochs=3)
    job = at.session_state["train_job"]
    snap = job.snapshot()
    assert snap.status is RunStatus.DIVERGED
    loss, accuracy = _figure(at, "Loss"), _figure(at, "Accuracy")
    assert loss["layout"]["yaxis"]["type"] == "log"
    assert accuracy["layout"]["yaxis"]["range"] == [0, 1]
    progress = [e.proto.text for e in at.get("progress")]
    assert progress == [translate("train_live.progress_diverged", "en", epoch=snap.epoch + 1, epochs=snap.epochs)]
    at.radio(key="train_view").set_value("histograms").run()  # only the snapshot before training
    assert not at.exception
    assert translate("train_live.no_gradients_yet", "en") in [i.value for i in at.info]

    marks = [trace for trace in loss["data"] if trace["mode"] == "markers"]
    assert len(marks) == 1 and marks[0]["marker"]["symbol"] == "x"  # the window where it blew up
    last = snap.step_stats[-1]
    assert marks[0]["y"] == [last.loss] and last.loss == max(s.loss for s in snap.step_stats)
    assert any(c.value.startswith("✕ marks where the loss") for c in at.caption)
    assert loss["data"][0]["y"] == [s.loss for s in snap.step_stats]  # drawn step by step, as recorded

    # A loss beyond what can be drawn (inf, or 1e30 × the smallest) is drawn just above the rest, marked.
    steps = snap.step_stats
    blown = replace(snap, status=RunStatus.FINISHED, step_stats=(*steps, replace(last, step=last.step + 1,
                                                                               loss=math.inf)))  # fmt: skip
    fig = curves_figure(blown, metric="loss")
    marks = [trace for trace in fig.data if trace.mode == "markers"]
    assert len(marks) == 1 and "∞" in marks[0].hovertext[0]
    assert marks[0].y[0] == pytest.approx(10 * max(s.loss for s in steps))
    assert fig.layout.yaxis.type == "log" and [m.step for m in loss_marks(blown)] == [last.step + 1]


def _windows_sit_at_their_fractional_epoch(at: AppTest, snap) -> None:
    """Each training window at step / steps per epoch (fractional epochs, no jumps); accuracy on [0, 1]."""
    per_epoch = snap.total_steps // snap.epochs  # 4 full batches of 16
    assert per_epoch == 4 and snap.step_stats[-1].step == snap.total_steps
    for s in snap.step_stats:  # a window that ends on an epoch's last step sits on that epoch's boundary
        assert step_position(snap, s.step) == s.step / 4 and s.epoch - 1 < s.step / 4 <= s.epoch
    accuracy = _figure(at, "Accuracy")
    assert accuracy["layout"]["yaxis"]["range"] == [0, 1]
    drawn = accuracy["data"][0]
    np.testing.assert_allclose(drawn["x"], [s.step / 4 for s in snap.step_stats], rtol=0, atol=1e-12)
    np.testing.assert_allclose(drawn["y"], [s.accuracy for s in snap.step_stats], rtol=0, atol=1e-12)
    assert drawn["x"][-1] == 2.0  # the run's last window ends at its last epoch


def test_the_time_left_counts_down_smoothly_instead_of_jumping() -> None:
    raw = [65.0, 112.0, 70.0, 108.0, 60.0, 100.0]  # a first epoch's estimates, one a second (the swings)
    shown, out = None, []
    for value in raw:
        shown = blend_eta(shown, 1.0, value)
        out.append(shown)
    assert out[0] == 65.0 and max(abs(b - a) for a, b in zip(out, out[1:], strict=False)) < 16  # raw: up to 47
    assert blend_eta(30.0, 1.0, None) is None and blend_eta(None, 0.0, 12.0) == 12.0
    steady = 100.0
    for _ in range(30):  # a true change is followed: a slower run's estimate reaches the new level
        steady = blend_eta(steady, 1.0, 200.0)
    assert steady == pytest.approx(200.0 - 1.0 * (1 - 0.3) / 0.3, abs=2.0)

