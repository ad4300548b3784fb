"""The convolution-arithmetic page: runs, shows the right numbers after widget changes, never a traceback."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest
from torch.utils.flop_counter import FlopCounterMode

from cnnviz.conv import STACK_PRESETS, LayerKind, walk_stack
from cnnviz.i18n import translate
from tests.text_checks import english_sentences

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "conv_arithmetic.py")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _formulas(app: AppTest) -> str:
    """The formulas block: one Markdown element with a code block per formula."""
    return next(m.value for m in app.markdown if m.value.startswith(translate("arith.formula", "en")))


def _size(out: torch.Tensor) -> str:
    return f"{out.shape[-2]}×{out.shape[-1]}"


def test_reviewer_case_7x7_kernel_3_stride_2_padding_1_gives_4x4(at: AppTest) -> None:
    at.number_input(key="arith_height").set_value(7)
    at.number_input(key="arith_width").set_value(7)
    at.number_input(key="arith_kernel").set_value(3)
    at.number_input(key="arith_stride").set_value(2)
    at.number_input(key="arith_padding").set_value(1).run()
    assert not at.exception
    out = F.conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 3, 3), stride=2, padding=1)
    assert _metrics(at)[translate("arith.out_size", "en")] == _size(out)
    assert "\nO = ⌊(7 − 3 + 2·1)/2⌋ + 1 = ⌊6/2⌋ + 1 = 3 + 1 = 4\n" in _formulas(at)
    slider = at.slider(key="arith_step")
    assert slider.max == out.shape[-2] * out.shape[-1] - 1  # one step per output cell
    slider.set_value(5).run()  # second row, second column
    assert not at.exception
    assert any(m.value.startswith("Output cell (1, 1) uses 9 input cells") for m in at.markdown)


def test_parameters_and_macs_are_written_out(at: AppTest) -> None:
    at.number_input(key="arith_channels").set_value(3)
    at.number_input(key="arith_filters").set_value(16).run()
    layer = nn.Conv2d(3, 16, 3)
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(1, 3, 7, 7))
    params, macs = sum(p.numel() for p in layer.parameters()), counter.get_total_flops() // 2
    formulas = _formulas(at)
    assert f"\n(3×3×3)×16 + 16 = {params}\n" in formulas
    assert f"\nMACs = 5×5×16×(3×3×3) = {macs:,}\n" in formulas
    assert _metrics(at)[translate("arith.params", "en")] == f"{params:,}"


def test_impossible_kernel_shows_an_error_not_an_exception(at: AppTest) -> None:
    at.number_input(key="arith_height").set_value(5)
    at.number_input(key="arith_width").set_value(5)
    at.number_input(key="arith_kernel").set_value(7).run()
    assert not at.exception
    assert len(at.error) == 1
    assert "kernel 7 does not fit a 5×5 input with padding 0: use kernel ≤ 5 or padding ≥ 1" in at.error[0].value
    assert not at.metric  # the results are replaced by the message


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("arith_stride", "stride 0 is not possible: use 1 or more for the stride"),
        ("arith_dilation", "dilation 0 is not possible: use 1 or more for the dilation"),
        ("arith_kernel", "kernel 0 is not possible: use 1 or more for the kernel"),
        ("arith_height", "input size 0×7 is not possible: use 1 or more for the input size"),
        ("arith_channels", "0 input channels is not possible"),
        ("arith_filters", "number of filters 0 is not possible: use a whole number of 1 or more"),
    ],
)
def test_an_impossible_zero_is_explained_not_clamped(at: AppTest, key: str, message: str) -> None:
    at.number_input(key=key).set_value(0).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key=key).value == 0  # what the learner typed stays there
    assert len(at.error) == 1 and message in at.error[0].value, [e.value for e in at.error]
    assert not at.metric  # no results computed from some other value
    assert at.dataframe  # the stack below still works


def test_same_padding_with_stride_2_is_an_error(at: AppTest) -> None:
    at.selectbox(key="arith_padding_mode_en").set_value("same")
    at.number_input(key="arith_stride").set_value(2).run()
    assert not at.exception
    assert 'padding "same" works only with stride 1, and the stride is 2' in at.error[0].value


TORCH_LAYERS = {
    "maxpool": lambda x: F.max_pool2d(x, 3, 2),
    "avgpool": lambda x: F.avg_pool2d(x, 3, 2),
    "convtranspose": lambda x: F.conv_transpose2d(x, torch.zeros(1, 1, 3, 3), stride=2),
}


@pytest.mark.parametrize("mode", list(TORCH_LAYERS))
def test_every_mode_runs_and_shows_its_size(at: AppTest, mode: str) -> None:
    at.number_input(key="arith_stride").set_value(2)
    at.radio(key="arith_mode_en").set_value(mode).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert _metrics(at)[translate("arith.out_size", "en")] == _size(TORCH_LAYERS[mode](torch.zeros(1, 1, 7, 7)))
    at.toggle(key="arith_compare").set_value(True).run()
    assert not at.exception
    assert any("agree" in s.value for s in at.success)


def test_pool_padding_rule_is_explained(at: AppTest) -> None:
    at.radio(key="arith_mode_en").set_value("maxpool")
    at.number_input(key="arith_padding").set_value(2).run()
    assert not at.exception
    assert "padding ≤ kernel // 2" in at.error[0].value


def _torch_params(preset) -> int:
    """Parameters of the preset built as real torch layers."""
    channels, total = preset.in_shape[0], 0
    for spec in preset.layers:
        if spec.kind is LayerKind.CONV:
            conv = nn.Conv2d(channels, spec.out_channels, spec.kernel_size, spec.stride, spec.padding, bias=spec.bias)
            total += sum(p.numel() for p in conv.parameters())
            channels = spec.out_channels
    return total


def test_stack_presets_compare_weights_and_receptive_fields(at: AppTest) -> None:
    for preset in STACK_PRESETS:
        at.selectbox(key="arith_preset_en").set_value(preset.key).run()
        assert not at.exception
        table = at.dataframe[-1].value
        assert int(table[translate("arith.params", "en")].sum()) == _torch_params(preset)
        rf = walk_stack(preset.layers, preset.in_shape)[-1].receptive_field  # tested against gradients elsewhere
        assert table[translate("arith.stack.rf", "en")].iloc[-1] == f"{rf[0]}×{rf[1]}"


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> Counter:
    """Count calls of cnnviz function ``name`` from every module that imported it; keyed by the call's arguments."""
    calls: Counter = Counter()
    modules = [m for n, m in list(sys.modules.items()) if n.startswith("cnnviz")]
    original = next(getattr(m, name) for m in modules if hasattr(m, name))

    def counting(*args, **kwargs):
        calls[repr(args[:2])] += 1
        return original(*args, **kwargs)

    for module in modules:
        if getattr(module, name, None) is original:
            monkeypatch.setattr(module, name, counting)
    return calls


def test_each_result_is_computed_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    app = AppTest.from_file(PAGE, default_timeout=60).run()  # imports the page's modules first
    described = _count_calls(monkeypatch, "describe_layer")
    drawn = _count_calls(monkeypatch, "_draw")  # the seeded example tensors
    run = _count_calls(monkeypatch, "_run_torch")  # PyTorch on the example
    laid_out = _count_calls(monkeypatch, "_layout")  # the sliding window's plane
    changes = (
        lambda: app.slider(key="arith_step").set_value(7),  # a step (a fragment rerun in the browser)
        lambda: app.number_input(key="arith_stride").set_value(2),
    )
    for change in changes:
        for counter in (described, drawn, run, laid_out):
            counter.clear()
        change()
        app.run()
        assert not app.exception
        layer_calls = {k: v for k, v in described.items() if "(1, 7, 7)" in k}  # the stack's layers have their own
        assert list(layer_calls.values()) == [1], described
        assert sum(drawn.values()) == sum(run.values()) == sum(laid_out.values()) == 1, (drawn, run, laid_out)


def test_page_in_korean_runs_and_speaks_korean() -> None:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["lang"] = "ko"
    app.run()
    assert not app.exception
    out = F.conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 3, 3))
    assert _metrics(app)[translate("arith.out_size", "ko")] == _size(out)
    assert english_sentences(app) == []


def test_play_advances_the_step_and_a_smaller_grid_clamps_it(at: AppTest) -> None:
    at.slider(key="arith_step").set_value(20).run()
    at.number_input(key="arith_stride").set_value(3).run()  # 7×7, kernel 3, stride 3 → 2×2 output
    assert not at.exception
    assert at.slider(key="arith_step").value == 3
    at.toggle(key="arith_play").set_value(True).run()
    assert at.slider(key="arith_step").value == 0  # wrapped around
    at.run()  # run_every fragments do not tick in AppTest; a rerun stands in for a tick
    assert at.slider(key="arith_step").value == 1
    at.toggle(key="arith_play").set_value(False).run()
    at.run()
    assert at.slider(key="arith_step").value == 1  # paused


def test_a_window_over_padding_only_says_so(at: AppTest) -> None:
    at.number_input(key="arith_kernel").set_value(1)
    at.number_input(key="arith_padding").set_value(1).run()  # a 1×1 kernel on the padding ring sees no input cell
    assert not at.exception
    assert any(m.value == translate("arith.step_no_cells", "en", row=0, col=0) for m in at.markdown)
