"""The convolution-arithmetic page: runs, shows the right numbers after widget changes, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.i18n import translate

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "conv_arithmetic.py")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _codes(app: AppTest) -> list[str]:
    return [c.value for c in app.code]


def test_reviewer_case_7x7_kernel_3_stride_2_padding_1_gives_4x4(at: AppTest) -> None:
    at.number_input(key="arith_height").set_value(7)
    at.number_input(key="arith_width").set_value(7)
    at.number_input(key="arith_kernel").set_value(3)
    at.number_input(key="arith_stride").set_value(2)
    at.number_input(key="arith_padding").set_value(1).run()
    assert not at.exception
    assert _metrics(at)[translate("arith.out_size", "en")] == "4×4"
    assert "O = ⌊(7 − 3 + 2·1)/2⌋ + 1 = ⌊6/2⌋ + 1 = 3 + 1 = 4" in _codes(at)
    slider = at.slider(key="arith_step")
    assert slider.max == 15  # 4×4 window positions
    slider.set_value(5).run()  # second row, second column
    assert not at.exception
    assert any("(1, 1)" in m.value and "9" in m.value for m in at.markdown)


def test_parameters_and_macs_are_written_out(at: AppTest) -> None:
    at.number_input(key="arith_channels").set_value(3)
    at.number_input(key="arith_filters").set_value(16).run()
    codes = "\n".join(_codes(at))
    assert "(3×3×3)×16 + 16 = 448" in codes
    assert "MACs = 5×5×16×(3×3×3) = 10,800" in codes
    assert _metrics(at)[translate("arith.params", "en")] == "448"


def test_impossible_kernel_shows_an_error_not_an_exception(at: AppTest) -> None:
    at.number_input(key="arith_height").set_value(5)
    at.number_input(key="arith_width").set_value(5)
    at.number_input(key="arith_kernel").set_value(7).run()
    assert not at.exception
    assert len(at.error) == 1
    assert "kernel 7 does not fit a 5×5 input with padding 0: use kernel ≤ 5 or padding ≥ 1" in at.error[0].value
    assert not at.metric  # the results are replaced by the message


def test_same_padding_with_stride_2_is_an_error(at: AppTest) -> None:
    at.selectbox(key="arith_padding_mode").set_value("same")
    at.number_input(key="arith_stride").set_value(2).run()
    assert not at.exception
    assert "same" in at.error[0].value


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("maxpool", "3×3"), ("avgpool", "3×3"), ("convtranspose", "15×15")],
)
def test_every_mode_runs_and_shows_its_size(at: AppTest, mode: str, expected: str) -> None:
    at.number_input(key="arith_stride").set_value(2)
    at.radio(key="arith_mode").set_value(mode).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert _metrics(at)[translate("arith.out_size", "en")] == expected
    at.toggle(key="arith_compare").set_value(True).run()
    assert not at.exception
    assert any("agree" in s.value for s in at.success)


def test_pool_padding_rule_is_explained(at: AppTest) -> None:
    at.radio(key="arith_mode").set_value("maxpool")
    at.number_input(key="arith_padding").set_value(2).run()
    assert not at.exception
    assert "padding ≤ kernel // 2" in at.error[0].value


def test_stack_presets_compare_weights_and_receptive_fields(at: AppTest) -> None:
    totals = {}
    for key in ("one_5x5", "two_3x3", "one_7x7", "three_3x3", "small_vgg", "alexnet_head"):
        at.selectbox(key="arith_preset").set_value(key).run()
        assert not at.exception
        table = at.dataframe[-1].value
        totals[key] = (
            int(table[translate("arith.params", "en")].sum()),
            table[translate("arith.stack.rf", "en")].iloc[-1],
        )
    assert totals["one_5x5"] == (25, "5×5") and totals["two_3x3"] == (18, "5×5")
    assert totals["one_7x7"] == (49, "7×7") and totals["three_3x3"] == (27, "7×7")


def test_page_in_korean_runs() -> None:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["lang"] = "ko"
    app.run()
    assert not app.exception
    assert _metrics(app)[translate("arith.out_size", "ko")] == "5×5"


def test_play_advances_the_step_and_a_smaller_grid_clamps_it(at: AppTest) -> None:
    at.slider(key="arith_step").set_value(20).run()
    at.number_input(key="arith_stride").set_value(3).run()  # 7×7, kernel 3, stride 3 → 2×2 output
    assert not at.exception
    assert at.slider(key="arith_step").value == 3
    at.toggle(key="arith_play").set_value(True).run()
    assert at.slider(key="arith_step").value == 0  # wrapped around
    at.run()  # run_every fragments do not tick in AppTest; a rerun stands in for a tick
    assert at.slider(key="arith_step").value == 1
