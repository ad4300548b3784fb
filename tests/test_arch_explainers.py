"""The Architectures explainers against independent references: real layers' sum(p.numel()), real forward
shapes, torch.utils.flop_counter, a real backward pass, and torchvision's published parameter counts."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models.googlenet import Inception

from cnnviz.arch import (
    INCEPTION_3A,
    NOTES_ALEXNET,
    WINNERS,
    ResidualStack,
    alexnet_checks,
    align_units,
    block_diagram,
    block_steps,
    block_table,
    channel_reduction,
    computed_parameters,
    conv_cost,
    depthwise_blocks,
    gradient_flow,
    inception_branches,
    layer_units,
    receptive_field_growth,
    separable_vs_plain,
    skip_path,
    stacked_kernels,
    summarize,
    weight_split,
)
from cnnviz.errors import ConfigError
from cnnviz.nets import build


def _macs(module: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates as torch's own flop counter counts them (FLOPs / 2)."""
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // 2


def _meta(name: str) -> nn.Module:
    with torch.device("meta"):
        return build(name)


@pytest.mark.parametrize(("cin", "cout", "k", "groups", "side"),
                         [(3, 8, 3, 1, 9), (16, 32, 5, 4, 7), (12, 12, 3, 12, 6), (7, 5, 1, 1, 1)])  # fmt: skip
def test_conv_cost_matches_a_real_layer(cin: int, cout: int, k: int, groups: int, side: int) -> None:
    cost = conv_cost("conv", cin, cout, k, height=side, width=side + 2, groups=groups, bias=True)
    layer = nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups)
    x = torch.randn(1, cin, side, side + 2)
    assert cost.params == sum(p.numel() for p in layer.parameters())
    assert cost.output_shape == tuple(layer(x).shape[1:])
    assert cost.macs == _macs(layer, x)


def test_a_1x1_reduction_costs_what_the_real_layers_cost() -> None:
    comparison = channel_reduction(192, 16, 32, 5, height=28, width=28)
    plain = nn.Conv2d(192, 32, 5, padding=2, bias=False)
    reduced = nn.Sequential(nn.Conv2d(192, 16, 1, bias=False), nn.Conv2d(16, 32, 5, padding=2, bias=False))
    x = torch.randn(1, 192, 28, 28)
    assert comparison.before_params == sum(p.numel() for p in plain.parameters())
    assert comparison.after_params == sum(p.numel() for p in reduced.parameters())
    assert comparison.before_macs == _macs(plain, x) and comparison.after_macs == _macs(reduced, x)
    assert comparison.after[-1].output_shape == tuple(plain(x).shape[1:]) == tuple(reduced(x).shape[1:])
    assert comparison.param_ratio > 9  # 153,600 against 15,872


@pytest.mark.parametrize(("cin", "cout", "k"), [(96, 24, 3), (32, 64, 5), (1, 1, 3)])
def test_depthwise_separable_against_plain(cin: int, cout: int, k: int) -> None:
    comparison = separable_vs_plain(cin, cout, k, height=10, width=10)
    separable = nn.Sequential(nn.Conv2d(cin, cin, k, padding=k // 2, groups=cin, bias=False),
                              nn.Conv2d(cin, cout, 1, bias=False))  # fmt: skip
    x = torch.randn(1, cin, 10, 10)
    assert comparison.after_params == sum(p.numel() for p in separable.parameters())
    assert comparison.after_macs == _macs(separable, x)
    assert comparison.before_macs == _macs(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), x)
    assert 1 / comparison.param_ratio == pytest.approx(1 / cout + 1 / k**2, rel=1e-12)


def _field_of_one_unit(stack: nn.Module, side: int) -> int:
    """Rows of the input that reach the centre output unit: measured with a real backward pass."""
    x = torch.zeros(1, 1, side, side, requires_grad=True)
    out = stack(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad[0, 0].abs().sum(dim=1) > 0).nonzero().flatten()
    return int(rows.max() - rows.min() + 1)


def _ones_conv(k: int, stride: int = 1) -> nn.Conv2d:
    conv = nn.Conv2d(1, 1, k, stride=stride, bias=False)
    nn.init.ones_(conv.weight)
    return conv


@pytest.mark.parametrize(("k", "expected_pair"), [(5, (25, 18)), (7, (49, 27)), (9, (81, 36))])
def test_stacked_3x3_see_as_far_as_one_large_kernel(k: int, expected_pair: tuple[int, int]) -> None:
    stack = stacked_kernels(k, 4, height=16, width=16)
    real = nn.Sequential(*[_ones_conv(3) for _ in range(stack.depth)])
    assert stack.receptive_field == k == _field_of_one_unit(real, 31)
    assert stack.weights_per_pair == (nn.Conv2d(1, 1, k).weight.numel(), sum(p.numel() for p in real.parameters()))
    assert stack.weights_per_pair == expected_pair  # the notes' 25 against 18 and 49 against 27
    assert stack.comparison.after_params == stack.depth * nn.Conv2d(4, 4, 3, bias=False).weight.numel()


def test_receptive_field_grows_as_a_real_stack_of_convs_and_pools() -> None:
    layers = [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (5, 1)]
    steps = receptive_field_growth(layers)
    for n in range(1, len(layers) + 1):
        modules = [_ones_conv(k, s) if s == 1 else nn.AvgPool2d(k, s) for k, s in layers[:n]]
        assert steps[n - 1].receptive_field == _field_of_one_unit(nn.Sequential(*modules), 96)


def test_inception_branches_are_torchvisions_block() -> None:
    view = inception_branches(192, 28, 28)
    block = Inception(192, **INCEPTION_3A).eval()
    x = torch.randn(1, 192, 28, 28)
    with torch.no_grad():
        assert view.output_shape == tuple(block(x).shape[1:]) == (256, 28, 28)
        for branch in view.branches:
            real = getattr(block, branch.name)
            assert branch.output_shape == tuple(real(x).shape[1:])
            assert branch.params == sum(p.numel() for p in real.parameters())
            assert branch.macs == _macs(real, x)
    assert view.params == sum(p.numel() for p in block.parameters())
    assert sum(b.output_shape[0] for b in view.branches) == view.output_shape[0]


def test_skips_keep_the_gradient_alive_in_a_real_backward_pass() -> None:
    flow = gradient_flow(20, width=8, size=8, seed=3)
    torch.manual_seed(3)
    convs = [nn.Conv2d(8, 8, 3, padding=1) for _ in range(20)]  # same creation order and seed: same weights
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(1, 8, 8, 8, generator=generator)
    grad_out = torch.randn(1, 8, 8, 8, generator=generator)
    grad_out /= grad_out.norm()
    plain = x
    for conv in convs:  # conv 3×3 → ReLU, twenty times
        plain = torch.relu(conv(plain))
    plain.backward(grad_out)
    expected = [float(c.weight.grad.norm()) for c in convs]
    torch.testing.assert_close(torch.tensor(flow.plain), torch.tensor(expected), rtol=1e-5, atol=0)
    assert flow.plain[0] < 1e-4 * flow.plain[-1]  # vanishes towards the input
    assert flow.residual[0] > 0.1 * flow.residual[-1]  # stays with the identity path
    assert flow.first_layer_ratio > 1e4


def test_the_residual_stack_adds_its_input_around_every_pair() -> None:
    stack = ResidualStack(4, 2, skips=True)
    for conv in stack.convs:
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    x = torch.rand(1, 2, 5, 5)
    torch.testing.assert_close(stack(x), x, rtol=0, atol=0)  # F(x) = 0: the block is the identity


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_lite0"])
def test_inverted_residual_steps_and_block_table(name: str) -> None:
    model, real = _meta(name), build(name).eval()
    summary = summarize(model, (3, 224, 224))
    blocks = depthwise_blocks(model)
    assert len(blocks) == {"mobilenet_v2": 17, "efficientnet_lite0": 16}[name]
    steps = block_steps(model, summary, blocks[1])
    assert [s.role for s in steps] == ["expand", "depthwise", "project"]
    convs = [m for m in dict(real.named_modules())[blocks[1]].modules() if isinstance(m, nn.Conv2d)]
    shapes, x = [], torch.randn(1, *steps[0].input_shape)
    with torch.no_grad():
        for conv in convs:  # the block's convolutions one after another (norms and ReLU6 keep shapes)
            x = conv(x)
            shapes.append(tuple(x.shape[1:]))
    assert [s.output_shape for s in steps] == shapes
    assert [s.params for s in steps] == [sum(p.numel() for p in c.parameters()) for c in convs]
    table = block_table(summary, depth=2)
    assert sum(r.params for r in table) == sum(p.numel() for p in real.parameters())
    with torch.no_grad():
        assert table[-1].output_shape == tuple(real(torch.randn(1, 3, 224, 224)).shape[1:])


def test_block_diagram_draws_skips_branches_and_stages() -> None:
    resnet = _meta("resnet18")
    dot = block_diagram(resnet, (3, 224, 224))
    blocks = [m for m in resnet.modules() if isinstance(m, torchvision.models.resnet.BasicBlock)]
    assert dot.count('label="+"') == len(blocks) == 8
    assert dot.count("conv 1×1, ") == sum(b.downsample is not None for b in blocks) == 3
    assert dot.count("{") == dot.count("}")
    googlenet = block_diagram(_meta("googlenet"), (3, 224, 224))
    assert googlenet.count('label="concat"') == sum(isinstance(m, Inception) for m in _meta("googlenet").modules())
    mobilenet = _meta("mobilenet_v2")
    assert block_diagram(mobilenet, (3, 224, 224)).count('label="+"') == sum(
        skip_path(m) is not None for m in mobilenet.modules()) == 10  # fmt: skip
    assert 'label="+"' not in block_diagram(_meta("vgg16"), (3, 224, 224))


def test_timeline_counts_torchvisions_published_parameters() -> None:
    for milestone in WINNERS:
        if milestone.torchvision is None:
            assert computed_parameters(milestone) is None
            continue
        published = torchvision.models.get_model_weights(milestone.torchvision).DEFAULT.meta["num_params"]
        assert computed_parameters(milestone) == published
    assert [m.year for m in WINNERS] == sorted(m.year for m in WINNERS)


def test_alexnet_claims_against_the_real_networks() -> None:
    original = build("alexnet_original").eval()
    summary = summarize(original, (3, 227, 227))
    split = weight_split(summary)
    convs = [m for m in original.modules() if isinstance(m, nn.Conv2d)]
    fcs = [m for m in original.modules() if isinstance(m, nn.Linear)]
    assert split.conv_params == sum(p.numel() for m in convs for p in m.parameters())
    assert split.fc_params == sum(p.numel() for m in fcs for p in m.parameters())
    units, x = [], torch.randn(1, 3, 227, 227)
    with torch.no_grad():
        for layer in original.features:
            x = layer(x)
            if isinstance(layer, nn.Conv2d):
                units.append(x.numel())
        x = x.flatten(1)
        for layer in original.classifier:
            x = layer(x)
            if isinstance(layer, nn.Linear):
                units.append(x.numel())
    assert layer_units(summary) == tuple(units)
    aligned = align_units(NOTES_ALEXNET["units"], layer_units(summary))
    assert [v for v in aligned if v is not None] == list(NOTES_ALEXNET["units"])  # every number of the notes is there
    assert aligned.count(None) == 1  # ... but one layer (the fourth conv, 64,896 units) is left out
    agrees = {c.key: c.agrees for c in alexnet_checks(summary)}
    assert agrees == {"conv_layers": True, "fc_layers": True, "units": False, "conv_params": True,
                      "fc_params": False, "fc_per_conv": True}  # fmt: skip
    vgg = weight_split(summarize(_meta("vgg16"), (3, 224, 224)))
    with torch.device("meta"):
        reference = torchvision.models.vgg16()
    fc = sum(p.numel() for p in reference.classifier.parameters())
    assert vgg.fc_share == pytest.approx(fc / sum(p.numel() for p in reference.parameters()), rel=1e-12)
    assert 0.89 < vgg.fc_share < 0.90  # 89.4 %: the often quoted "over 90 %" does not quite hold
    assert math.isclose(vgg.conv_mac_share, 1 - vgg.fc_macs / (vgg.conv_macs + vgg.fc_macs))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: stacked_kernels(4, 8, height=8, width=8), "odd kernel"),
        (lambda: gradient_flow(1), "2 to 50"),
        (lambda: conv_cost("conv", 6, 4, 3, height=8, width=8, groups=4), "groups"),
        (lambda: conv_cost("conv", 3, 4, 3, height=0, width=8), "at least 1"),
        (lambda: block_steps(_meta("mobilenet_v2"), summarize(_meta("mobilenet_v2"), (3, 64, 64)), "nope"),
         "features.1"),
    ],
)  # fmt: skip
def test_impossible_settings_say_what_to_change(call, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        call()
