"""The NumPy scratch ops agree with torch.nn.functional on seeded random tensors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz.conv import scratch
from cnnviz.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

TOL = {"rtol": 1e-5, "atol": 1e-5}  # float32 torch vs float64 NumPy


def _tensor(*shape: int) -> torch.Tensor:
    return torch.randn(*shape)


def _close(ours: np.ndarray, theirs: torch.Tensor) -> None:
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours, theirs.numpy(), **TOL)


def _settings(rng: random.Random, n: int):
    for _ in range(n):
        size = (rng.randint(3, 10), rng.randint(3, 10))
        kernel = (rng.randint(1, 4), rng.randint(1, 4))
        yield size, kernel, rng.choice([1, 2, (1, 2), 3]), rng.choice([0, 1, (2, 1)]), rng.choice([1, 2, (2, 1)])


def test_conv2d_matches_torch() -> None:
    rng = random.Random(0)
    checked = 0
    for size, kernel, stride, padding, dilation in _settings(rng, 150):
        channels, filters = rng.randint(1, 3), rng.randint(1, 4)
        x, w, b = _tensor(2, channels, *size), _tensor(filters, channels, *kernel), _tensor(filters)
        bias = b if rng.random() < 0.5 else None
        padding = rng.choice([padding, "same", "valid"]) if stride == 1 else padding
        try:
            expected = F.conv2d(x, w, bias, stride, padding, dilation)
        except RuntimeError:
            with pytest.raises(ConfigError):
                scratch.conv2d(x.numpy(), w.numpy(), None, stride, padding, dilation)
            continue
        ours = scratch.conv2d(x.numpy(), w.numpy(), None if bias is None else bias.numpy(), stride, padding, dilation)
        _close(ours, expected)
        checked += 1
    assert checked > 80


def test_im2col_times_flat_filters_is_the_convolution() -> None:
    x, w = _tensor(1, 2, 5, 6), _tensor(3, 2, 3, 3)
    cols = scratch.im2col(x.numpy(), 3, stride=2, padding=1)
    assert cols.shape == (3 * 3, 2 * 3 * 3)  # (N·OH·OW, C·KH·KW)
    product = (cols @ w.reshape(3, -1).numpy().T).reshape(3, 3, 3).transpose(2, 0, 1)
    _close(product[None], F.conv2d(x, w, None, 2, 1))


def test_max_pool2d_matches_torch() -> None:
    rng = random.Random(1)
    checked = 0
    for size, kernel, stride, padding, dilation in _settings(rng, 150):
        x, ceil_mode = _tensor(2, 2, *size), rng.random() < 0.5
        stride = rng.choice([stride, None])
        try:
            expected = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
        except RuntimeError:
            with pytest.raises(ConfigError):
                scratch.max_pool2d(x.numpy(), kernel, stride, padding, dilation, ceil_mode)
            continue
        _close(scratch.max_pool2d(x.numpy(), kernel, stride, padding, dilation, ceil_mode), expected)
        checked += 1
    assert checked > 50


def test_avg_pool2d_matches_torch_counting_padding() -> None:
    rng = random.Random(2)
    checked = 0
    for size, kernel, stride, padding, _ in _settings(rng, 150):
        x, ceil_mode = _tensor(2, 2, *size), rng.random() < 0.5
        stride = rng.choice([stride, None])
        try:
            expected = F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad=True)
        except RuntimeError:
            with pytest.raises(ConfigError):
                scratch.avg_pool2d(x.numpy(), kernel, stride, padding, ceil_mode)
            continue
        _close(scratch.avg_pool2d(x.numpy(), kernel, stride, padding, ceil_mode), expected)
        checked += 1
    assert checked > 50


def test_conv_transpose2d_matches_torch() -> None:
    rng = random.Random(3)
    checked = 0
    for _ in range(150):
        size, kernel = (rng.randint(1, 6), rng.randint(1, 6)), (rng.randint(1, 4), rng.randint(1, 4))
        stride, dilation = rng.choice([1, 2, 3, (1, 2)]), rng.choice([1, 2])
        padding, output_padding = rng.choice([0, 1, 2, (3, 0)]), rng.choice([0, 1, (1, 0)])
        channels, filters = rng.randint(1, 3), rng.randint(1, 3)
        x, w, b = _tensor(1, channels, *size), _tensor(channels, filters, *kernel), _tensor(filters)
        try:
            expected = F.conv_transpose2d(x, w, b, stride, padding, output_padding, 1, dilation)
            assert min(expected.shape[-2:]) > 0
        except (RuntimeError, AssertionError):
            with pytest.raises(ConfigError):
                scratch.conv_transpose2d(x.numpy(), w.numpy(), b.numpy(), stride, padding, output_padding, dilation)
            continue
        ours = scratch.conv_transpose2d(x.numpy(), w.numpy(), b.numpy(), stride, padding, output_padding, dilation)
        _close(ours, expected)
        checked += 1
    assert checked > 50


def test_scratch_ops_leave_their_inputs_unchanged() -> None:
    x, w = np.random.randn(1, 2, 6, 6), np.random.randn(3, 2, 3, 3)
    x_copy, w_copy = x.copy(), w.copy()
    scratch.conv2d(x, w, None, 1, 1)
    scratch.max_pool2d(x, 2)
    scratch.avg_pool2d(x, 3, 2, 1, ceil_mode=True)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(w, w_copy)


def test_channel_mismatch_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="each filter has 2 channels but the input has 3") as info:
        scratch.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)))
    assert "필터마다 채널이 2개" in info.value.localized("ko")
    with pytest.raises(ConfigError, match="each filter has 2 channels but the input has 3"):
        scratch.conv_transpose2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 1, 3, 3)))


# ----------------------------------------------------------------------------------------------
# The diagram's worked example: one output cell computed by hand equals PyTorch's value.

from cnnviz.conv import (  # noqa: E402
    CellKind,
    DiagramLabels,
    LayerKind,
    LayerSpec,
    build_plane,
    diagram_figure,
    diagram_svg,
    example_output,
    example_run,
    explain_step,
    layer_example,
    plane_values,
    run_scratch,
    step_detail,
)
from cnnviz.conv.diagram import MAX_EXAMPLE_WORK  # noqa: E402


def _random_spec(rng: random.Random) -> LayerSpec:
    kind = rng.choice(list(LayerKind))
    kernel, stride, dilation = rng.randint(1, 4), rng.randint(1, 3), rng.choice([1, 1, 2])
    if kind is LayerKind.CONV:
        padding = rng.choice([0, 1, 2, "same", "valid"])
        return LayerSpec(
            kind,
            rng.randint(1, 3),
            kernel,
            1 if padding == "same" else stride,
            padding,
            dilation,
            bias=rng.random() < 0.7,
        )
    if kind is LayerKind.CONV_TRANSPOSE:
        return LayerSpec(
            kind,
            rng.randint(1, 3),
            kernel,
            stride,
            rng.randint(0, 3),
            dilation,
            bias=rng.random() < 0.7,
            output_padding=rng.randint(0, 1),
        )
    dilation = 1 if kind is LayerKind.AVG_POOL else dilation
    return LayerSpec(
        kind,
        None,
        kernel,
        rng.choice([None, stride]),
        rng.randint(0, kernel // 2),
        dilation,
        ceil_mode=rng.random() < 0.5,
    )


def _scatter_inputs(spec: LayerSpec, size: tuple[int, int], out: tuple[int, int]) -> set[tuple[int, int]]:
    """Input cells of a transposed convolution that reach output ``out``: o = i·S − P + k·D for some k."""
    cells = set()
    for a in range(size[0]):
        for b in range(size[1]):
            hit = [
                any(i * spec.stride - spec.padding + k * spec.dilation == o for k in range(spec.kernel_size))
                for i, o in ((a, out[0]), (b, out[1]))
            ]
            if all(hit):
                cells.add((a, b))
    return cells


def test_step_detail_matches_torch_for_the_selected_cell() -> None:
    rng = random.Random(6)
    checked = 0
    while checked < 120:
        spec, size = _random_spec(rng), (rng.randint(2, 8), rng.randint(2, 8))
        in_shape = (rng.randint(1, 3), *size)
        try:
            plane = build_plane(spec, size)
        except ConfigError:
            continue
        step = rng.randrange(plane.steps)
        detail = step_detail(spec, in_shape, step, max_terms=10_000)
        row, col = detail.out_index
        expected = example_output(spec, in_shape)[0, 0, row, col]
        np.testing.assert_allclose(detail.value, expected, rtol=1e-6, atol=1e-6)
        if spec.kind is not LayerKind.AVG_POOL:  # the written-out sum ends with PyTorch's number
            assert detail.expression.rstrip(")").endswith(f"{abs(expected):g}")
        if spec.kind is LayerKind.CONV_TRANSPOSE:
            assert set(detail.input_cells) == _scatter_inputs(spec, size, (row, col))
        checked += 1


def test_example_run_scratch_agrees_with_torch_in_every_mode() -> None:
    rng = random.Random(7)
    for _ in range(40):
        spec, size = _random_spec(rng), (rng.randint(2, 9), rng.randint(2, 9))
        try:
            run = example_run(spec, (2, *size))
        except ConfigError:
            continue
        assert run.scratch_out.shape == run.torch_out.shape
        assert run.max_abs_diff <= 1e-5


def test_plane_marks_padding_and_inserted_zeros() -> None:
    plane = build_plane(LayerSpec(LayerKind.CONV, 1, 3, 2, 1), (7, 7))
    out = F.conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 3, 3), None, 2, 1)
    assert plane.kinds.shape == (7 + 2 * 1, 7 + 2 * 1) and plane.out_size == tuple(out.shape[-2:])
    assert plane.steps == out[0, 0].numel()
    assert (plane.kinds[0] == CellKind.PADDING).all() and (plane.kinds[1:-1, 1:-1] == CellKind.INPUT).all()
    transposed = build_plane(LayerSpec(LayerKind.CONV_TRANSPOSE, 1, 3, 2, 0), (3, 3))
    assert transposed.kinds.shape == (2 + (3 - 1) * 2 + 1 + 2,) * 2  # D·(F − 1) − P zeros around the spread input
    assert transposed.kinds[3, 3] == CellKind.INSERTED and transposed.kinds[2, 2] == CellKind.INPUT
    with pytest.raises(ConfigError, match="does not fit"):
        build_plane(LayerSpec(LayerKind.CONV, 1, 7, 1, 0), (5, 5))


def test_layer_example_holds_what_each_function_computes_alone() -> None:
    rng = random.Random(8)
    checked = 0
    while checked < 40:
        spec, size = _random_spec(rng), (rng.randint(2, 8), rng.randint(2, 8))
        in_shape = (rng.randint(1, 3), *size)
        try:
            example = layer_example(spec, in_shape)
        except ConfigError:
            continue
        np.testing.assert_array_equal(example.output, example_output(spec, in_shape))  # both from torch
        plane = build_plane(spec, size)
        np.testing.assert_array_equal(example.plane.kinds, plane.kinds)
        step = rng.randrange(plane.steps)
        once, alone = explain_step(example, step), step_detail(spec, in_shape, step)
        assert (once.value, once.expression, once.input_cells) == (alone.value, alone.expression, alone.input_cells)
        assert run_scratch(example).max_abs_diff <= 1e-5
        checked += 1


def test_a_huge_layer_is_described_without_running_or_laying_it_out() -> None:
    import time

    spec = LayerSpec(LayerKind.CONV_TRANSPOSE, 512, 64, 32, 0, 16)  # a 10 000 × 10 000 plane, 10¹² multiply-adds
    start = time.perf_counter()
    example = layer_example(spec, (64, 256, 256))
    assert time.perf_counter() - start < 10  # no plane, no run: only the shapes and the numbers
    assert example.plane is None and example.output is None
    meta = {"device": "meta"}  # shapes only: the real layer would take hours
    x, w = torch.zeros(1, 1, 256, 256, **meta), torch.zeros(1, 1, 64, 64, **meta)
    out = F.conv_transpose2d(x, w, stride=32, dilation=16)
    assert example.report.out_shape == (512, *out.shape[-2:])
    with pytest.raises(ConfigError, match="too many to run"):
        run_scratch(example)
    with pytest.raises(ConfigError, match="more than"):
        explain_step(example, 0)
    assert example.report.macs > MAX_EXAMPLE_WORK


def _svg(text: str):
    import xml.etree.ElementTree as ET

    return ET.fromstring(text)


SVG = "{http://www.w3.org/2000/svg}"


def test_diagram_svg_draws_every_cell_the_window_and_the_values() -> None:
    labels = DiagramLabels(*[f"label{i}" for i in range(11)])
    spec, in_shape = LayerSpec(LayerKind.CONV, 1, 3, 2, 1), (1, 7, 7)
    example = layer_example(spec, in_shape)
    plane, step = example.plane, 5
    values = plane_values(plane, example.tensors.x[0, :1].numpy(), spec.kind)[0]
    root = _svg(diagram_svg(plane, step, labels, values=values, out_values=example.output[0, 0]))
    out_h, out_w = example.output.shape[-2:]
    assert root.get("data-step") == str(step) and root.get("data-out") == f"{out_h}×{out_w}"
    cells = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(cells) == plane.kinds.size + out_h * out_w  # one rectangle with a tooltip per cell
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for wanted in ("label0", "label1", "label2", "label3", "label6"):  # titles and legend
        assert wanted in texts
    padded = np.pad(example.tensors.x[0, 0].numpy(), 1)  # the plane's values: the input with a ring of zeros
    shown = [t for t in root.iter(f"{SVG}text") if t.get("pointer-events") == "none"]
    assert [float(t.text) for t in shown[: plane.kinds.size]] == padded.ravel().tolist()
    (box,) = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "window"]
    first = [r for r in cells if r.find(f"{SVG}title").text == "label9 0, label10 0"][0]
    cell = float(cells[1].get("x")) - float(first.get("x"))
    row, col = divmod(step, out_w)  # the window of output (row, col) starts at plane cell (2·row, 2·col)
    assert float(box.get("x")) == pytest.approx(float(first.get("x")) + 2 * col * cell - 1.5, abs=0.1)
    assert float(box.get("y")) == pytest.approx(float(first.get("y")) + 2 * row * cell - 1.5, abs=0.1)
    assert float(box.get("width")) == pytest.approx(3 * cell + 2, abs=0.1)


def test_diagram_svg_draws_a_large_plane_as_one_image() -> None:
    labels = DiagramLabels(*[f"label{i}" for i in range(11)])
    plane = build_plane(LayerSpec(LayerKind.MAX_POOL, None, 2, 2, 0), (100, 80))
    root = _svg(diagram_svg(plane, plane.steps - 1, labels))
    (image,) = root.iter(f"{SVG}image")  # 100 × 80 plane cells: one picture
    assert image.get("href").startswith("data:image/png;base64,")
    tips = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(tips) == plane.steps  # the 50 × 40 output is still drawn cell by cell
    with pytest.raises(ConfigError, match="step"):
        diagram_svg(plane, plane.steps, labels)


def test_diagram_figure_draws_plane_and_output_with_given_labels() -> None:
    labels = DiagramLabels(*[f"label{i}" for i in range(11)])
    plane = build_plane(LayerSpec(LayerKind.MAX_POOL, None, 3, 2, 1, ceil_mode=True), (6, 6))
    fig = diagram_figure(plane, 3, labels, values=np.zeros(plane.kinds.shape), out_values=np.ones(plane.out_size))
    heatmaps = [trace for trace in fig.data if trace.type == "heatmap"]
    assert len(heatmaps) == 2
    assert np.asarray(heatmaps[1].z).shape == plane.out_size
    assert {a.text for a in fig.layout.annotations} == {"label0", "label1"}
    with pytest.raises(ConfigError, match="step"):
        diagram_figure(plane, plane.steps, labels)
