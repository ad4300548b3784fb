"""Convolution arithmetic against what PyTorch really does: shapes, errors, parameters, MACs, receptive fields."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from cnnviz.conv import (
    STACK_PRESETS,
    LayerKind,
    LayerSpec,
    conv_macs,
    conv_output_formula,
    conv_output_size,
    conv_param_count,
    conv_transpose_output_formula,
    conv_transpose_output_size,
    describe_layer,
    param_count_formula,
    pool_output_formula,
    pool_output_size,
    receptive_window,
    walk_stack,
)
from cnnviz.conv.rules import avg_pool_divisor, pool_strides
from cnnviz.errors import ConfigError
from cnnviz.i18n import translate

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

CASES = 1500  # per operation; thousands in total, each on a 1×1×H×W zeros tensor


def _torch_shape(fn) -> tuple[int, int] | None:
    """Run ``fn`` and return the output's (H, W), or None when PyTorch rejects the settings.

    An empty output (ConvTranspose2d returns one when padding removes exactly every cell) counts as
    rejected: we raise ConfigError for it, since an empty feature map is never a usable layer.
    """
    try:
        shape = tuple(fn().shape[-2:])
    except (RuntimeError, ValueError):
        return None
    return shape if min(shape) > 0 else None


def _ours(fn) -> tuple[int, int] | None:
    try:
        return fn()
    except ConfigError:
        return None


def _random_pair(rng: random.Random, low: int, high: int) -> tuple[int, int]:
    """Mostly square, sometimes (h, w) different."""
    first = rng.randint(low, high)
    return (first, first) if rng.random() < 0.7 else (first, rng.randint(low, high))


def test_conv_output_size_matches_torch_on_a_random_grid() -> None:
    rng = random.Random(0)
    accepted = rejected = 0
    for _ in range(CASES):
        size, kernel = _random_pair(rng, 1, 12), _random_pair(rng, 1, 7)
        stride, dilation = _random_pair(rng, 1, 4), _random_pair(rng, 1, 3)
        padding = rng.choice(["same", "valid", *[_random_pair(rng, 0, 4) for _ in range(4)]])
        x, w = torch.zeros(1, 1, *size), torch.zeros(1, 1, *kernel)
        expected = _torch_shape(lambda: F.conv2d(x, w, None, stride, padding, dilation))  # noqa: B023
        got = _ours(lambda: conv_output_size(size, kernel, stride, padding, dilation))  # noqa: B023
        assert got == expected, (size, kernel, stride, padding, dilation)
        accepted, rejected = accepted + (expected is not None), rejected + (expected is None)
    assert accepted > 300 and rejected > 300  # the grid really exercises both sides


def test_pool_output_size_matches_torch_on_a_random_grid() -> None:
    rng = random.Random(1)
    accepted = rejected = 0
    for _ in range(CASES):
        size, kernel = _random_pair(rng, 1, 12), _random_pair(rng, 1, 6)
        stride = rng.choice([None, _random_pair(rng, 1, 4)])
        padding, ceil_mode = _random_pair(rng, 0, 3), rng.random() < 0.5
        x = torch.zeros(1, 1, *size)
        if rng.random() < 0.5:
            dilation = _random_pair(rng, 1, 3)
            expected = _torch_shape(lambda: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode))  # noqa: B023
        else:
            dilation = 1
            expected = _torch_shape(lambda: F.avg_pool2d(x, kernel, stride, padding, ceil_mode))  # noqa: B023
        got = _ours(lambda: pool_output_size(size, kernel, stride, padding, dilation, ceil_mode))  # noqa: B023
        assert got == expected, (size, kernel, stride, padding, dilation, ceil_mode)
        accepted, rejected = accepted + (expected is not None), rejected + (expected is None)
    assert accepted > 300 and rejected > 300


def test_conv_transpose_output_size_matches_torch_on_a_random_grid() -> None:
    rng = random.Random(2)
    accepted = rejected = 0
    for _ in range(CASES):
        size, kernel = _random_pair(rng, 1, 8), _random_pair(rng, 1, 5)
        stride, dilation = _random_pair(rng, 1, 4), _random_pair(rng, 1, 3)
        padding, output_padding = _random_pair(rng, 0, 5), _random_pair(rng, 0, 3)
        x, w = torch.zeros(1, 1, *size), torch.zeros(1, 1, *kernel)
        expected = _torch_shape(
            lambda: F.conv_transpose2d(x, w, None, stride, padding, output_padding, 1, dilation)  # noqa: B023
        )
        got = _ours(
            lambda: conv_transpose_output_size(size, kernel, stride, padding, output_padding, dilation)  # noqa: B023
        )
        assert got == expected, (size, kernel, stride, padding, output_padding, dilation)
        accepted, rejected = accepted + (expected is not None), rejected + (expected is None)
    assert accepted > 300 and rejected > 300


def test_square_int_arguments_give_an_int_and_pairs_give_a_pair() -> None:
    square = F.conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 3, 3), None, 2, 1).shape[-1]
    assert conv_output_size(7, 3, 2, 1) == square and isinstance(conv_output_size(7, 3, 2, 1), int)
    oblong = F.conv2d(torch.zeros(1, 1, 7, 9), torch.zeros(1, 1, 3, 3), None, 2, 1).shape[-2:]
    assert conv_output_size((7, 9), 3, 2, 1) == tuple(oblong)
    assert pool_output_size(6, 2) == F.max_pool2d(torch.zeros(1, 1, 6, 6), 2).shape[-1]
    transposed = F.conv_transpose2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3), None, 2, 1, 1).shape[-1]
    assert conv_transpose_output_size(4, 3, 2, 1, 1) == transposed


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: conv_output_size(5, 7),
            r"kernel 7 does not fit a 5×5 input with padding 0: use kernel ≤ 5 or padding ≥ 1",
        ),
        (lambda: conv_output_size(5, 3, dilation=3), r"dilation 3 spans 7 cells.*dilation ≤ 2"),
        (lambda: conv_output_size((5, 9), (7, 3)), r"does not fit the height of a 5×9 input"),
        (lambda: conv_output_size(7, 3, 2, "same"), r'"same" works only with stride 1, and the stride is 2'),
        (lambda: conv_output_size(7, 3, padding="full"), r"padding 'full' is unknown"),
        (lambda: conv_output_size(7, 3, padding=-1), r"padding -1 is not possible: use 0 or more for the padding"),
        (lambda: conv_output_size(7, 0), r"kernel 0 is not possible: use 1 or more for the kernel"),
        (lambda: conv_output_size(7, 3, stride=0), r"stride 0 is not possible: use 1 or more for the stride"),
        (lambda: conv_output_size(7, 3, dilation=(1, 0)), r"dilation 1×0 is not possible"),
        (lambda: conv_output_size(0, 3), r"input size 0 is not possible"),
        (lambda: conv_output_size(7, 2.5), r"kernel 2\.5 is not a whole number or a pair of whole numbers"),
        (lambda: pool_output_size(5, 3, padding=2), r"padding 2 is more than half of kernel 3"),
        (lambda: pool_output_size(5, 3, padding="same"), r"not available for pooling"),
        (lambda: pool_output_size(5, 6), r"does not fit a 5×5 input"),
        (lambda: conv_transpose_output_size(5, 3, output_padding=1), r"output_padding 1 must be smaller"),
        (lambda: conv_transpose_output_size(5, 3, padding=4), r"padding 4 removes the whole output.*padding ≤ 3"),
        (lambda: conv_transpose_output_size(5, 3, padding="same"), r"not available for transposed"),
        (lambda: conv_param_count(2, 3, 3, groups=2), r"groups 2 must divide both in_channels 2 and out_channels 3"),
        (lambda: describe_layer(LayerSpec(LayerKind.AVG_POOL, kernel_size=2, dilation=2), (1, 8, 8)), r"no dilation"),
        (lambda: describe_layer(LayerSpec(LayerKind.CONV), (1, 8, 8)), r"out_channels"),
        (lambda: describe_layer(LayerSpec(LayerKind.CONV, 0), (1, 8, 8)), r"number of filters 0 is not possible"),
        (lambda: describe_layer(LayerSpec(LayerKind.CONV, 1), (0, 8, 8)), r"0 input channels is not possible"),
    ],
)
def test_impossible_settings_raise_config_error_naming_the_fix(call, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        call()


def test_param_count_matches_numel_of_torch_layers() -> None:
    rng = random.Random(3)
    for _ in range(200):
        groups = rng.choice([1, 1, 2, 3])
        in_channels, out_channels = groups * rng.randint(1, 4), groups * rng.randint(1, 4)
        kernel, bias = _random_pair(rng, 1, 5), rng.random() < 0.5
        for layer_cls in (nn.Conv2d, nn.ConvTranspose2d):
            layer = layer_cls(in_channels, out_channels, kernel, bias=bias, groups=groups)
            expected = sum(p.numel() for p in layer.parameters())
            assert conv_param_count(in_channels, out_channels, kernel, bias, groups) == expected
            assert param_count_formula(in_channels, out_channels, kernel, bias, groups).value == expected


def test_groups_rejected_by_torch_are_rejected_by_us() -> None:
    for in_channels, out_channels, groups in [(2, 3, 2), (3, 4, 2), (4, 4, 3)]:
        with pytest.raises(ValueError):
            nn.Conv2d(in_channels, out_channels, 3, groups=groups)
        with pytest.raises(ConfigError, match="groups"):
            conv_param_count(in_channels, out_channels, 3, groups=groups)


@pytest.mark.parametrize(
    "spec",
    [
        LayerSpec(LayerKind.CONV, 4, 3, 2, 1),
        LayerSpec(LayerKind.CONV, 6, (3, 5), 1, "same", (2, 1)),
        LayerSpec(LayerKind.CONV, 6, 3, 1, 0, groups=3),
        LayerSpec(LayerKind.CONV_TRANSPOSE, 4, 3, 2, 1, output_padding=1),
    ],
)
def test_macs_match_torch_flop_counter(spec: LayerSpec) -> None:
    in_shape = (3 if spec.groups != 1 or spec.kind is LayerKind.CONV else 2, 9, 7)
    cls = nn.Conv2d if spec.kind is LayerKind.CONV else nn.ConvTranspose2d
    extra = {"output_padding": spec.output_padding} if spec.kind is LayerKind.CONV_TRANSPOSE else {}
    layer = cls(
        in_shape[0],
        spec.out_channels,
        spec.kernel_size,
        spec.stride,
        spec.padding,
        dilation=spec.dilation,
        groups=spec.groups,
        **extra,
    )
    with FlopCounterMode(display=False) as counter:
        out = layer(torch.zeros(1, *in_shape))
    report = describe_layer(spec, in_shape)
    assert report.macs == counter.get_total_flops() // 2  # one MAC = one multiply + one add
    assert report.out_shape == tuple(out.shape[1:])
    assert report.params == sum(p.numel() for p in layer.parameters())


def test_conv_macs_match_torch_flop_counter_on_a_random_grid() -> None:
    """MACs against PyTorch's own count on real layers (FLOPs / 2), the output size from a forward pass."""
    rng = random.Random(8)
    for _ in range(60):
        groups = rng.choice([1, 1, 2])
        in_channels, out_channels = groups * rng.randint(1, 3), groups * rng.randint(1, 4)
        kernel, stride = _random_pair(rng, 1, 4), _random_pair(rng, 1, 2)
        layer = nn.Conv2d(in_channels, out_channels, kernel, stride, padding=rng.randint(0, 2), groups=groups)
        with FlopCounterMode(display=False) as counter:
            out = layer(torch.zeros(1, in_channels, rng.randint(4, 12), rng.randint(4, 12)))
        output_size = tuple(out.shape[-2:])
        assert conv_macs(in_channels, out_channels, kernel, output_size, groups) == counter.get_total_flops() // 2


def test_below_minimum_reads_in_korean_too() -> None:
    with pytest.raises(ConfigError) as info:
        conv_output_size(7, 3, stride=0)
    stride = translate("errors.name.stride", "ko")
    assert info.value.localized("ko") == translate("errors.below_minimum", "ko", name=stride, value="0", minimum=1)
    assert "스트라이드 0" in info.value.localized("ko")


def test_avg_pool_divisor_is_the_count_pytorch_divides_by() -> None:
    """PyTorch's divisor, read off as (sum of ones) / (average of ones), on a grid with ceil mode and padding."""
    rng = random.Random(9)
    for _ in range(200):
        size, kernel = rng.randint(1, 9), rng.randint(1, 4)
        stride, padding, ceil_mode = rng.randint(1, 3), rng.randint(0, kernel // 2), rng.random() < 0.5
        ones = torch.ones(1, 1, 1, size)
        args = ((1, kernel), (1, stride), (0, padding), ceil_mode)
        try:
            mean = F.avg_pool2d(ones, *args, count_include_pad=True)[0, 0, 0]
        except RuntimeError:
            continue
        total = F.avg_pool2d(ones, *args, count_include_pad=True, divisor_override=1)[0, 0, 0]
        ours = [avg_pool_divisor(i * stride - padding, kernel, size, padding) for i in range(len(mean))]
        assert ours == [round(float(s / m)) for s, m in zip(total, mean, strict=True)], (size, kernel, stride, padding)


def test_pool_strides_default_to_the_kernel_as_in_torch() -> None:
    x = torch.randn(1, 1, 9, 11)
    for kernel in (1, 2, 3, (2, 3)):
        assert torch.equal(F.max_pool2d(x, kernel), F.max_pool2d(x, kernel, pool_strides(None, kernel)))
    assert pool_strides(2, 3) == (2, 2) and pool_strides((1, 2), 3) == (1, 2)


def test_formulas_show_the_users_numbers() -> None:
    formula = conv_output_formula(7, 3, 2, 1)
    assert formula.symbolic == "O = ⌊(W − F + 2P)/S⌋ + 1"
    assert formula.substituted == "O = ⌊(7 − 3 + 2·1)/2⌋ + 1 = ⌊6/2⌋ + 1 = 3 + 1 = 4"
    assert formula.value == 4
    dilated = conv_output_formula(9, 3, 1, 0, 2)
    assert "F′ = 2·(3 − 1) + 1 = 5" in dilated.substituted and dilated.value == 5
    same = conv_output_formula(7, 4, 1, "same")
    assert "1 + 2" in same.substituted and same.value == 7
    ceil = pool_output_formula(6, 3, 2, 1, 1, ceil_mode=True)
    assert "⌈" in ceil.symbolic and ceil.value == pool_output_size(6, 3, 2, 1, 1, True)
    dropped = pool_output_formula(5, 2, 2, 1, 1, ceil_mode=True)  # the ceil rule removes the last window
    assert dropped.value == 3 and "≥" in dropped.substituted
    transposed = conv_transpose_output_formula(4, 3, 2, 1, 1)
    assert transposed.substituted == "O = (4 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 8"
    params = param_count_formula(3, 16, 3)
    assert (params.symbolic, params.substituted) == ("(F×F×D1)×K + K", "(3×3×3)×16 + 16 = 448")


def test_formula_values_match_size_functions_on_a_grid() -> None:
    rng = random.Random(4)
    for _ in range(300):
        size, kernel, stride, dilation = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 2)
        padding = rng.randint(0, 2)
        expected = _ours(lambda: conv_output_size(size, kernel, stride, padding, dilation))  # noqa: B023
        got = _ours(lambda: conv_output_formula(size, kernel, stride, padding, dilation).value)  # noqa: B023
        assert got == expected
        ceil_mode = rng.random() < 0.5
        expected = _ours(lambda: pool_output_size(size, kernel, stride, padding, dilation, ceil_mode))  # noqa: B023
        got = _ours(lambda: pool_output_formula(size, kernel, stride, padding, dilation, ceil_mode).value)  # noqa: B023
        assert got == expected


def _torch_stack(layers: list[LayerSpec], in_channels: int) -> nn.Sequential:
    """Build the stack in torch with all-one weights and average pools (so no gradient cancels or hides)."""
    modules, channels = [], in_channels
    for spec in layers:
        if spec.kind is LayerKind.CONV:
            conv = nn.Conv2d(channels, spec.out_channels, spec.kernel_size, spec.stride, spec.padding, spec.dilation)
            nn.init.ones_(conv.weight)
            modules.append(conv)
            channels = spec.out_channels
        else:  # max pool routes the gradient to one cell only; the geometry is what matters here
            kernel = spec.kernel_size
            modules.append(nn.AvgPool2d(kernel, spec.stride, spec.padding, spec.ceil_mode))
    return nn.Sequential(*modules)


def _random_stack(rng: random.Random) -> list[LayerSpec]:
    layers = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.65:
            kernel = rng.randint(1, 5)
            dilation = rng.choice([1, 1, 2])
            padding = rng.choice([0, 1, 2, "same"])
            stride = 1 if padding == "same" else rng.choice([1, 1, 2])
            layers.append(LayerSpec(LayerKind.CONV, 1, kernel, stride, padding, dilation))
        else:
            kernel = rng.randint(1, 3)
            layers.append(
                LayerSpec(LayerKind.AVG_POOL, None, kernel, rng.choice([None, 1, 2]), rng.randint(0, kernel // 2))
            )
    return layers


def test_receptive_field_matches_the_gradient_of_one_output_cell() -> None:
    rng = random.Random(5)
    checked = 0
    while checked < 40:
        layers, size = _random_stack(rng), rng.randint(12, 24)
        try:
            reports = walk_stack(layers, (1, size, size))
        except ConfigError:
            continue
        x = torch.zeros(1, 1, size, size, requires_grad=True)
        out = _torch_stack(layers, 1)(x)
        assert tuple(out.shape[1:]) == reports[-1].out_shape
        row, col = rng.randrange(out.shape[2]), rng.randrange(out.shape[3])
        out[0, 0, row, col].backward()
        rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
        (top, bottom), (left, right) = receptive_window(reports[-1], (row, col))
        if rows.numel() == 0:  # a corner cell that sees only padding: its window must miss the input's middle
            assert min(top, left) < 0 or max(bottom, right) >= size
            continue
        assert bottom - top + 1 == reports[-1].receptive_field[0]
        # Every cell with a gradient lies in the window; the window's ends are used whenever they are in the input.
        for lo, hi, used in ((top, bottom, rows), (left, right, cols)):
            assert lo <= int(used.min()) and int(used.max()) <= hi, (layers, lo, hi, used)
            if lo >= 0:
                assert int(used.min()) == lo
            if hi < size:
                assert int(used.max()) == hi
        checked += 1


def _real_stack(preset) -> nn.Sequential:
    """The preset as real torch layers (max pools kept), for shapes and parameter counts."""
    modules, channels = [], preset.in_shape[0]
    for spec in preset.layers:
        if spec.kind is LayerKind.CONV:
            modules.append(nn.Conv2d(channels, spec.out_channels, spec.kernel_size, spec.stride, spec.padding,
                                     spec.dilation, bias=spec.bias))  # fmt: skip
            channels = spec.out_channels
        else:
            modules.append(nn.MaxPool2d(spec.kernel_size, spec.stride, spec.padding))
    return nn.Sequential(*modules)


def _gradient_field(preset) -> int:
    """Rows of the input that the middle output cell depends on (its receptive field, measured by a gradient)."""
    x = torch.zeros(1, *preset.in_shape, requires_grad=True)
    out = _torch_stack(list(preset.layers), preset.in_shape[0])(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0].abs().sum(0).sum(1))
    return int(rows.max() - rows.min() + 1)


def test_presets_match_torch_layers() -> None:
    for preset in STACK_PRESETS:
        reports, stack = walk_stack(preset.layers, preset.in_shape), _real_stack(preset)
        x = torch.zeros(1, *preset.in_shape)
        for report, layer in zip(reports, stack, strict=True):
            x = layer(x)
            assert report.out_shape == tuple(x.shape[1:]), preset.key
            assert report.params == sum(p.numel() for p in layer.parameters()), preset.key
        if preset.in_shape[1] <= 32:  # the small presets: the field is inside the input, so the gradient sees it all
            assert reports[-1].receptive_field[0] == _gradient_field(preset), preset.key


def test_presets_show_the_classic_comparisons() -> None:
    """Two 3×3 see what one 5×5 sees with fewer weights; three 3×3 against one 7×7 likewise."""
    presets = {p.key: walk_stack(p.layers, p.in_shape) for p in STACK_PRESETS}
    for big, small in (("one_5x5", "two_3x3"), ("one_7x7", "three_3x3")):
        assert presets[big][-1].receptive_field == presets[small][-1].receptive_field
        assert sum(r.params for r in presets[small]) < sum(r.params for r in presets[big])


def test_stack_errors_name_the_layer() -> None:
    layers = [LayerSpec(LayerKind.CONV, 4, 3), LayerSpec(LayerKind.MAX_POOL, None, 9, None)]
    with pytest.raises(ConfigError, match=r"layer 2 \(maxpool, input 6×6\)"):
        walk_stack(layers, (1, 8, 8))


def test_table_rows_round_trip_and_bad_cells_are_explained() -> None:
    from cnnviz.conv import layer_from_row, layer_to_row, parse_padding

    for preset in STACK_PRESETS:
        for spec in preset.layers:
            assert layer_from_row(layer_to_row(spec)) == spec
    assert layer_from_row({"kind": "maxpool", "kernel_size": 2.0, "stride": float("nan")}).stride is None
    assert parse_padding(" Same ") == "same" and parse_padding("2") == 2
    with pytest.raises(ConfigError, match="padding 'x' is not understood"):
        parse_padding("x")
    with pytest.raises(ConfigError, match="kind 'dense' is unknown"):
        layer_from_row({"kind": "dense"})
    with pytest.raises(ConfigError, match="kernel_size 2.5 is not a whole number"):
        layer_from_row({"kind": "conv", "kernel_size": 2.5})
