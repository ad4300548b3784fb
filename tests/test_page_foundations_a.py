"""The Foundations pages of part A in AppTest: they open, their controls change what is shown, and the shown
numbers equal independent computations (closed forms, update rules by hand, plain-Python truth tables)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.foundations import GATE_INPUTS, regression_data
from cnnviz.i18n import translate
from tests.test_foundations_a import hand_path, hand_regression
from tests.text_checks import english_sentences

PAGES = Path(__file__).resolve().parent.parent / "pages"


def _open(stem: str, **state: object) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{stem}.py"), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_perceptron_gate_follows_its_weights_and_xor_has_no_perceptron() -> None:
    at = _open("perceptron")
    assert at.success[0].value == translate("perceptron.computes", "en", gate="AND")
    at.radio(key="pc_gate").set_value("or").run()  # loads the book's OR weights
    assert at.success[0].value == translate("perceptron.computes", "en", gate="OR")
    at.slider(key="pc_w1").set_value(-0.5)
    at.slider(key="pc_w2").set_value(1.0)
    at.slider(key="pc_b").set_value(0.2).run()
    assert not at.exception
    shown = at.table[0].value["y"].tolist()
    assert shown == [int(-0.5 * a + 1.0 * b + 0.2 > 0) for a, b in GATE_INPUTS]  # [1, 0, 1, 1]: none of the gates
    assert at.info[0].value == translate("perceptron.computes_none", "en")
    grid = [round(-1 + 0.1 * i, 2) for i in range(21)]
    xor = [(a, b, c) for a in grid for b in grid for c in grid
           if [int(c > 0), int(a + c > 0), int(b + c > 0), int(a + b + c > 0)] == [0, 1, 1, 0]]  # fmt: skip
    metrics = {m.label: int(m.value) for m in at.metric}
    assert metrics["XOR"] == len(xor) == 0 and metrics["AND"] > 0
    xor_table = at.table[1].value
    assert xor_table["y = AND(s₁, s₂)"].tolist() == [a ^ b for a, b in GATE_INPUTS.astype(int)]


def test_perceptron_training_step_slider_moves_through_the_snapshots() -> None:
    at = _open("perceptron")
    assert at.success[-1].value == translate("perceptron.solved", "en")
    gap = next(c.value for c in at.caption if c.value.startswith("The two versions"))
    assert float(gap.split("at most ")[1].split(":")[0]) < 1e-9
    at.slider(key="pc_step").set_value(0).run()
    assert not at.exception
    assert at.warning[0].value == translate("perceptron.not_solved", "en")  # the start does not compute XOR


def test_activations_softmax_numbers_are_the_formula() -> None:
    at = _open("activations")
    at.slider(key="act_logit_3").set_value(4.0)
    at.slider(key="act_temperature").set_value(2.0)
    at.slider(key="act_label").set_value(1).run()
    assert not at.exception
    z = np.array([2.0, 1.0, 0.1, 4.0]) / 2.0
    p = np.exp(z) / np.exp(z).sum()
    assert any(f"= {-math.log(p[1]):.4f}" in element.value for element in at.latex)
    assert any("largest is class 3" in c.value for c in at.caption)
    at.multiselect(key="act_which_en").set_value(["gelu"]).run()
    assert not at.exception and any("Phi" in element.value for element in at.latex)
    at.slider(key="act_depth").set_value(3).run()
    assert not at.exception
    assert sum("first layer / last layer" in c.value for c in at.caption) == 3


def test_losses_metrics_are_the_closed_forms() -> None:
    at = _open("losses")
    at.slider(key="loss_classes").set_value(3)
    at.slider(key="loss_p").set_value(0.3).run()
    assert not at.exception
    k, p = 3, 0.3
    shown = [float(m.value) for m in at.metric]
    expected = [0.5 * (1 - p) ** 2 * k / (k - 1), -math.log(p), -k / (k - 1) * p * (1 - p) ** 2, p - 1]
    np.testing.assert_allclose(shown, expected, atol=5e-5)
    at.radio(key="loss_wrt_en").set_value("probability").run()
    shown = [float(m.value) for m in at.metric]
    np.testing.assert_allclose(shown[2:], [-k / (k - 1) * (1 - p), -1 / p], atol=5e-5)
    z = math.log(0.01 * (k - 1) / 0.99)
    for _ in range(30):  # cross-entropy by hand: ∂E/∂z = p − 1, learning rate 1
        z -= math.exp(z) / (math.exp(z) + k - 1) - 1
    assert f"reaches p = {math.exp(z) / (math.exp(z) + k - 1):.3f}" in at.markdown[0].value


def test_optimizers_positions_follow_the_update_rules() -> None:
    at = _open("optimizers")
    at.slider(key="opt_step").set_value(5).run()
    assert not at.exception and not at.warning
    caption = next(c.value for c in at.caption if c.value.startswith("SGD at step 5"))
    for name, label in (("sgd", "SGD"), ("nesterov", "Nesterov"), ("adam", "Adam")):
        lr = 0.3 if name == "adam" else 0.1
        x, y = hand_path(name, "book", (-7.0, 2.0), lr, 5)[5]
        assert f"{label} at step 5: ({x:.4g}, {y:.4g})" in caption
    x, y = regression_data(64)
    w, b = hand_regression(x, y, 0.1, 60)[-1]
    assert translate("optimizers.mb_end", "en", n=64, w=f"{w:.3f}", b=f"{b:.3f}") in [c.value for c in at.caption]
    at.select_slider(key="opt_lr").set_value(3.0).run()  # far too large for the book's valley
    assert not at.exception
    assert any(w.value.startswith("SGD diverged at step") for w in at.warning)
    at.selectbox(key="opt_surface_en").set_value("rosenbrock").run()
    assert not at.exception and not at.warning  # a new surface brings its own learning rates and start
    assert at.slider(key="opt_start_x").value == -1.5


@pytest.mark.parametrize("stem", ["perceptron", "activations", "losses", "optimizers"])
def test_korean_page_shows_no_english_sentence(stem: str) -> None:
    at = _open(stem, lang="ko")
    assert at.title[0].value == translate(f"{stem}.title", "ko")
    assert english_sentences(at) == []
