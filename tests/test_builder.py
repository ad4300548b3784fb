"""The network builder against real PyTorch modules: shapes, parameters, MACs, errors on their row, exported code."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnviz.arch import (
    BUILDER_PRESETS,
    MAX_BUILD_PARAMS,
    BuilderKind,
    build_network,
    builder_row,
    clean_rows,
    export_code,
    head_rows,
    plan_network,
    preset_rows,
)
from cnnviz.conv import conv_output_size, pool_output_size
from cnnviz.errors import ConfigError

row = builder_row
# Tables that use every kind and option the builder has (with the input each is meant for).
EXTRA_TABLES = {
    "every_activation": (
        (3, 20, 18),
        [row("conv", 8, 5, 2, 2), row("leakyrelu"), row("conv", 6, 3, 1, "same"), row("gelu"),
         row("maxpool", kernel_size=3, stride=2, padding=1), row("sigmoid"), row("avgpool", kernel_size=2),
         row("tanh"), row("dropout", p=0.2), row("flatten"), row("batchnorm"), row("linear", 7)],
    ),
    "residual_skips": (
        (4, 15, 15),
        [row("residual"), row("residual", 4, stride=1, skip="projection"), row("residual", 12, stride=3),
         row("batchnorm"), row("relu"), row("flatten"), row("dropout", p=0.0), row("linear", 5)],
    ),
    "no_linear": ((1, 9, 9), [row("conv", 3, 3), row("relu"), row("conv", 2, 3, padding="valid")]),
    "empty": ((2, 4, 4), []),
}  # fmt: skip


def _tables():
    for preset in BUILDER_PRESETS:
        if preset.key != "mistake":
            yield preset.key, preset.input_size, preset_rows(preset.key)
    for key, (size, rows) in EXTRA_TABLES.items():
        yield key, size, rows


TABLES = list(_tables())


def _macs(module: torch.nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter:
        module(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


@pytest.mark.parametrize(("name", "size", "rows"), TABLES, ids=[t[0] for t in TABLES])
def test_the_plan_matches_a_real_forward_pass_row_by_row(name: str, size, rows) -> None:
    plan = plan_network(rows, size)
    assert plan.ok
    model = build_network(rows, in_channels=size[0], image_size=size[1:], num_classes=3).eval()
    children = list(model.children())
    assert len(children) >= len(rows)
    x = torch.randn(2, *size)
    for planned, child in zip(plan.rows, children, strict=False):
        if planned.kind == "linear" and planned.number == len(rows):
            break  # build_network replaced its width by num_classes (checked below)
        assert tuple(x.shape[1:]) == planned.in_shape
        macs = _macs(child, x[:1])  # one image
        with torch.no_grad():
            x = child(x)
        assert tuple(x.shape[1:]) == planned.out_shape, planned
        assert sum(p.numel() for p in child.parameters()) == planned.params, planned
        assert macs == planned.macs, planned
    assert tuple(model(torch.randn(2, *size)).shape) == (2, 3)


@pytest.mark.parametrize(("name", "size", "rows"), TABLES, ids=[t[0] for t in TABLES])
def test_the_totals_match_the_built_network(name: str, size, rows) -> None:
    classes = rows[-1]["out"] if rows and rows[-1]["kind"] == "linear" else None
    model = build_network(rows, in_channels=size[0], image_size=size[1:], num_classes=classes or 4)
    plan = plan_network(rows, size)
    if classes is not None:  # same head: the plan's totals are the network's
        assert plan.total_params == sum(p.numel() for p in model.parameters())
        assert plan.total_macs == _macs(model.eval(), torch.zeros(1, *size))


def test_lenet5_has_its_published_61706_parameters() -> None:
    model = build_network(preset_rows("lenet5"), in_channels=1, image_size=32, num_classes=10)
    assert sum(p.numel() for p in model.parameters()) == 61_706  # LeCun et al. 1998, as usually written today


def test_the_network_ends_in_num_classes_and_follows_in_channels() -> None:
    rows = [row("conv", 4, 3), row("relu")]
    model = build_network(rows, in_channels=5, image_size=(7, 9), num_classes=6)
    assert model.conv1.in_channels == 5
    assert [type(m).__name__ for m in model.children()] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert model.linear1.in_features == 4 * 5 * 7 and model.linear1.out_features == 6
    assert tuple(model(torch.zeros(1, 5, 7, 9)).shape) == (1, 6)
    flat = build_network([row("flatten"), row("relu")], in_channels=1, image_size=3, num_classes=2)
    assert [type(m).__name__ for m in flat.children()] == ["Flatten", "ReLU", "Linear"]  # no second flatten
    last = build_network(preset_rows("tinyvgg"), in_channels=1, image_size=28, num_classes=26)
    assert list(last.children())[-1].out_features == 26 and len(list(last.children())) == len(preset_rows("tinyvgg"))


def _conv_error(*args) -> str:
    with pytest.raises(ConfigError) as info:
        conv_output_size(*args)
    return str(info.value)


def _pool_error(*args) -> str:
    with pytest.raises(ConfigError) as info:
        pool_output_size(*args)
    return str(info.value)


IMPOSSIBLE = [  # rows, input, the impossible row (1-based), a pattern its message matches
    ([row("conv", 8, 3), row("conv", 8, 7)], (1, 6, 6), 2, re.escape(_conv_error((4, 4), 7, 1, 0))),
    ([row("maxpool", kernel_size=5)], (3, 4, 4), 1, re.escape(_pool_error((4, 4), 5))),
    ([row("maxpool", kernel_size=2, padding=2)], (3, 8, 8), 1, "more than half of kernel 2"),
    ([row("conv", 8, 3), row("relu"), row("linear", 10)], (3, 8, 8), 3, "add a flatten row above it.*288 values"),
    ([row("flatten"), row("conv", 4, 3)], (3, 8, 8), 2, "needs a feature map.*192 values"),
    ([row("flatten"), row("residual", 4)], (3, 8, 8), 2, "needs a feature map"),
    ([row("residual", 8, skip="identity")], (4, 8, 8), 1, "channels do not match.*4×8×8.*8×8×8.*channels 4"),
    ([row("residual", 4, stride=2, skip="identity")], (4, 8, 8), 1, "channels do not match.*4×4×4"),
    ([row("dropout", p=1.0)], (3, 8, 8), 1, r"dropout p 1 is outside \[0, 1\)"),
    ([row("relu"), row("dropout", p=-0.1)], (3, 8, 8), 2, r"dropout p -0.1 is outside \[0, 1\)"),
    ([row("conv")], (3, 8, 8), 1, "output channels, and it is —"),
    ([row("conv", 0, 3)], (3, 8, 8), 1, "output channels, and it is 0"),
    ([row("flatten"), row("linear")], (3, 8, 8), 2, "out_features"),
    ([row("conv", 4, 3, 2, "same")], (3, 8, 8), 1, 'padding "same" works only with stride 1'),
    ([row("conv", 4, 3, 1.5)], (3, 8, 8), 1, "stride 1.5 is not a whole number"),
    ([row("conv", 4, 3, 1, "lots")], (3, 8, 8), 1, "padding 'lots' is not understood"),
    ([row("dropout", p="half")], (3, 8, 8), 1, "dropout p half is not a number"),
    ([row("softmax")], (3, 8, 8), 1, "layer kind 'softmax' is unknown"),
    ([{"kind": None, "out": 4}], (3, 8, 8), 1, "no layer kind yet: choose one"),
    ([row("residual", skip="sideways")], (3, 8, 8), 1, "skip path 'sideways' is unknown"),
]


@pytest.mark.parametrize(("rows", "size", "bad", "pattern"), IMPOSSIBLE)
def test_an_impossible_row_carries_its_reason_and_later_rows_are_not_computed(rows, size, bad, pattern) -> None:
    rows = [*rows, row("relu"), row("flatten")]
    plan = plan_network(rows, size)
    statuses = [r.status for r in plan.rows]
    assert statuses == ["ok"] * (bad - 1) + ["error"] + ["skipped"] * (len(rows) - bad)
    error = plan.rows[bad - 1].error
    assert re.search(pattern, str(error)), str(error)
    korean = error.localized("ko")
    assert korean != str(error) and re.search("[가-힣]", korean)
    assert plan.out_shape is None and not plan.ok
    assert plan.total_params == sum(r.params for r in plan.rows[: bad - 1])
    with pytest.raises(ConfigError, match=f"^row {bad} "):
        build_network(rows, in_channels=size[0], image_size=size[1:], num_classes=2)
    with pytest.raises(ConfigError, match=f"^row {bad} "):
        export_code(rows, size)


def test_a_bad_input_size_or_class_count_is_refused() -> None:
    for size in [(0, 8, 8), (3, 8), (3, 8.5, 8)]:
        with pytest.raises(ConfigError, match="input size"):
            plan_network([row("relu")], size)
    with pytest.raises(ConfigError, match="0 classes"):
        build_network([row("relu")], in_channels=1, image_size=4, num_classes=0)
    with pytest.raises(ConfigError, match=f"more than the {MAX_BUILD_PARAMS:,}"):
        build_network([row("flatten"), row("linear", 4096), row("relu")], in_channels=3, image_size=128, num_classes=10)


@pytest.mark.parametrize(("name", "size", "rows"), TABLES, ids=[t[0] for t in TABLES])
def test_exported_code_runs_and_builds_the_same_network(name: str, size, rows) -> None:
    code = export_code(rows, size, num_classes=5)
    namespace: dict = {"__name__": "exported"}
    exec(compile(code, "<exported>", "exec"), namespace)  # a fresh namespace: the code imports what it needs
    exported = namespace["model"].eval()
    built = build_network(rows, in_channels=size[0], image_size=size[1:], num_classes=5).eval()
    assert sum(p.numel() for p in exported.parameters()) == sum(p.numel() for p in built.parameters())
    exported.load_state_dict(built.state_dict(), strict=True)  # same names, same shapes
    x = torch.randn(3, *size)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), built(x), rtol=0, atol=0)
    assert tuple(exported(x).shape) == (3, 5)


def test_exported_code_keeps_the_last_linear_width_by_default() -> None:
    namespace: dict = {}
    exec(export_code(preset_rows("lenet5"), (1, 32, 32)), namespace)
    assert tuple(namespace["model"](torch.zeros(1, 1, 32, 32)).shape) == (1, 10)
    assert "BuiltNetwork" in namespace and "ResidualBlock" not in namespace
    assert "class ResidualBlock" in export_code(preset_rows("resnet"), (3, 32, 32))


def test_rows_from_a_data_editor_become_json_and_are_not_changed_by_planning() -> None:
    records = pd.DataFrame(preset_rows("resnet")).to_dict("records")  # NaN for empty cells, floats for numbers
    assert any(isinstance(v, float) and np.isnan(v) for r in records for v in r.values())
    cleaned = clean_rows(records)
    assert json.loads(json.dumps(cleaned)) == cleaned == preset_rows("resnet")
    before = json.dumps(cleaned)
    plan_network(cleaned, (3, 32, 32))
    build_network(cleaned, in_channels=3, image_size=32, num_classes=2)
    assert json.dumps(cleaned) == before


def test_every_kind_has_a_module() -> None:
    used = {r["kind"] for _, _, rows in TABLES for r in rows}
    assert used == {k.value for k in BuilderKind}


@pytest.mark.parametrize(("name", "size", "rows"), TABLES, ids=[t[0] for t in TABLES])
def test_the_plan_agrees_with_cnnviz_summarize_row_by_row(name: str, size, rows) -> None:
    """The per-layer summary (meta device, hooks) of the built network gives the plan's numbers for every row."""
    from cnnviz.arch import summarize

    with torch.device("meta"):
        model = build_network(rows, in_channels=size[0], image_size=size[1:], num_classes=3)
    stages = summarize(model, size).stages(depth=1)
    planned = plan_network(head_rows(rows, size, 3), size).rows
    assert [s.name for s in stages] == [name for name, _ in model.named_children()]
    assert [(s.params, s.macs, s.output_shape) for s in stages] == [(r.params, r.macs, r.out_shape) for r in planned]


def test_row_fields_grow_as_the_conv_arithmetic_stack_says() -> None:
    from cnnviz.arch import row_fields
    from cnnviz.conv import LayerKind, LayerSpec, walk_stack

    rows = [row("conv", 4, 3), row("relu"), row("conv", 4, 5, 2, 1), row("maxpool", kernel_size=3, stride=2),
            row("conv", 2, 3, 1, 1), row("flatten"), row("linear", 3)]  # fmt: skip
    specs = [LayerSpec(LayerKind.CONV, 4, 3), LayerSpec(LayerKind.CONV, 4, 5, 2, 1),
             LayerSpec(LayerKind.MAX_POOL, None, 3, 2), LayerSpec(LayerKind.CONV, 2, 3, 1, 1)]  # fmt: skip
    expected = [r.receptive_field[0] for r in walk_stack(specs, (3, 33, 33))]
    fields = row_fields(rows, (3, 33, 33))
    assert fields == [expected[0], expected[0], expected[1], expected[2], expected[3], None, None]
    # A 3×3 stem sees 3 pixels; the residual block's two 3×3 convolutions add 2 each (its skip adds nothing).
    assert row_fields([row("conv", 4, 3, 1, 1), row("residual")], (3, 16, 16)) == [3, 7]


def test_a_table_saved_as_json_reads_back_and_a_wrong_file_is_refused() -> None:
    from cnnviz.arch import rows_from_json

    rows = preset_rows("vgg")
    assert rows_from_json(json.dumps(rows, indent=1).encode()) == rows
    assert rows_from_json('[{"kind": "relu", "colour": "red"}]') == [builder_row("relu")]  # unknown keys dropped
    with pytest.raises(ConfigError, match="not JSON"):
        rows_from_json(b"\x89PNG not json")
    with pytest.raises(ConfigError, match="does not hold a list of rows"):
        rows_from_json('{"kind": "relu"}')
