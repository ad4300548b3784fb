"""cnnviz.summarize against PyTorch itself: real forward passes, sum(p.numel()), torch.utils.flop_counter, gradients."""

from __future__ import annotations

import csv
import io

import pytest
import torch
import torchvision
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from cnnviz.arch import LayerRow, Summary, meta_copy, summarize
from cnnviz.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # small CPU passes: two threads only wait on each other


def _flop_macs(model: nn.Module, input_size: tuple[int, ...]) -> tuple[int, dict[str, int]]:
    """torch.utils.flop_counter's total and per-module FLOPs halved (MACs), for one image on the model's device."""
    device = next(model.parameters()).device
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, *input_size, device=device))
    prefix = type(model).__name__ + "."
    per_module = {k.removeprefix(prefix): sum(v.values()) // 2 for k, v in counter.get_flop_counts().items()}
    return counter.get_total_flops() // 2, per_module


def _real_output_shapes(model: nn.Module, x: Tensor) -> dict[str, tuple[int, ...]]:
    """The first output shape of every leaf module in a real CPU forward pass (plain torch hooks: the reference)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def make_hook(name: str):  # noqa: ANN202
        def hook(_module: nn.Module, _inputs: tuple, out: Tensor) -> None:
            shapes.setdefault(name, tuple(out.shape[1:]))

        return hook

    handles = [
        module.register_forward_hook(make_hook(name))
        for name, module in model.named_modules()
        if name and not list(module.children())
    ]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


class Branchy(nn.Module):
    """A stem, a residual block whose shortcut is a strided 1×1 conv, two concatenated branches, a head."""

    def __init__(self, size: int = 16) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv_a = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.conv_b = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.shortcut = nn.Conv2d(8, 8, 1, stride=2)
        self.branch1 = nn.Conv2d(8, 4, 1)
        self.branch5 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.Conv2d(4, 4, 5, padding=2, groups=2))
        self.pool = nn.AvgPool2d(2)
        self.relu = nn.ReLU()  # called three times
        self.head = nn.Linear(8 * (size // 4) ** 2, 5)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.stem(x))  # (8, 16, 16)
        x = self.relu(self.conv_b(self.relu(self.conv_a(x))) + self.shortcut(x))  # (8, 8, 8)
        x = torch.cat([self.branch1(x), self.branch5(x)], dim=1)  # (8, 8, 8)
        return self.head(self.pool(x).flatten(1))


def _ones_model(model: nn.Module) -> nn.Module:
    for p in model.parameters():
        nn.init.constant_(p, 1.0 if p.dim() > 1 else 0.1)
    return model


def _gradient_extent(model: nn.Module, layer: nn.Module, size: int) -> int:
    """Side of the input region that moves the centre units of ``layer`` (all-ones weights: nothing cancels)."""
    out: dict[str, Tensor] = {}
    handle = layer.register_forward_hook(lambda _m, _i, y: out.update(y=y))
    x = torch.ones(1, 3, size, size, requires_grad=True)
    try:
        model(x)
    finally:
        handle.remove()
    y = out["y"]
    y[0, :, y.shape[2] // 2, y.shape[3] // 2].sum().backward()  # every channel: the largest window of the layer
    rows = torch.nonzero(x.grad[0].abs().sum(0).sum(1))
    return int(rows.max() - rows.min() + 1)


def test_branchy_rows_shapes_params_and_macs_against_torch() -> None:
    torch.manual_seed(0)
    model = Branchy()
    summary = summarize(model, (3, 16, 16))
    real = _real_output_shapes(model, torch.rand(1, 3, 16, 16))
    assert {row.name: row.output_shape for row in summary.rows} == real
    assert summary.output_shape == (5,)
    assert summary.total_params == sum(p.numel() for p in model.parameters())
    assert sum(row.params for row in summary.rows) == summary.total_params
    total, per_module = _flop_macs(model, (3, 16, 16))
    assert summary.total_macs == total
    for row in summary.rows:
        assert row.macs == per_module.get(row.name, 0), row.name
    relu = next(row for row in summary.rows if row.name == "relu")
    assert relu.calls == 3 and relu.output_shape == (8, 16, 16)  # one row, the first call's shape


def test_receptive_fields_follow_every_path_like_gradients_do() -> None:
    """The field of each conv row equals the extent of the input gradient of its centre unit (merges: the union)."""
    model = _ones_model(Branchy(40))
    summary = summarize(model, (3, 40, 40))
    rows = {row.name: row for row in summary.rows}
    modules = dict(model.named_modules())
    for name in ("stem", "conv_a", "conv_b", "shortcut", "branch1", "branch5.0", "branch5.1", "pool"):
        assert rows[name].receptive_field == _gradient_extent(model, modules[name], 40), name
    assert rows["head"].receptive_field is None  # after flatten: no spatial map


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])  # in-place ReLU and ReLU6, skips, depthwise convs
def test_zoo_rows_match_a_real_forward_and_flop_counter(name: str) -> None:
    model = torchvision.models.get_model(name)
    summary = summarize(model, (3, 64, 64))
    assert {row.name: row.output_shape for row in summary.rows} == _real_output_shapes(model, torch.rand(1, 3, 64, 64))
    total, per_module = _flop_macs(model, (3, 64, 64))
    assert summary.total_macs == total
    assert all(row.macs == per_module.get(row.name, 0) for row in summary.rows)
    assert summary.total_params == sum(p.numel() for p in model.parameters())
    assert next(p for p in model.parameters()).device.type == "cpu"  # the model itself is left alone


def test_googlenet_branches_match_a_real_forward() -> None:
    model = torchvision.models.googlenet(aux_logits=False, init_weights=False)
    summary = summarize(model, (3, 64, 64))
    assert {row.name: row.output_shape for row in summary.rows} == _real_output_shapes(model, torch.rand(1, 3, 64, 64))
    branches = [row for row in summary.rows if row.name.startswith("inception3a.")]
    assert {row.name.split(".")[1] for row in branches} == {"branch1", "branch2", "branch3", "branch4"}
    assert summary.total_macs == _flop_macs(meta_copy(model), (3, 64, 64))[0]


def test_vgg19_summarises_on_the_meta_device_without_weights() -> None:
    with torch.device("meta"):
        model = torchvision.models.vgg19()
    summary = summarize(model, (3, 224, 224))
    assert all(p.is_meta for p in model.parameters())
    assert summary.total_params == sum(p.numel() for p in model.parameters()) == 143_667_240
    assert summary.total_macs == _flop_macs(model, (3, 224, 224))[0]
    assert [r.output_shape for r in summary.rows if r.kind == "MaxPool2d"][-1] == (512, 7, 7)


def test_meta_copy_copies_no_weight_and_keeps_the_original() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    model[0].weight.requires_grad_(False)
    copy = meta_copy(model)
    assert all(t.is_meta for t in [*copy.parameters(), *copy.buffers()])
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
    assert [p.requires_grad for p in copy.parameters()] == [False, True, True, True]
    assert meta_copy(copy) is copy


def test_trainable_shared_and_unused_parameters_are_counted_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)
            self.b.weight = self.a.weight  # shared
            self.spare = nn.Linear(4, 2)  # never called
            self.scale = nn.Parameter(torch.ones(4))  # the model's own parameter
            self.a.bias.requires_grad_(False)

        def forward(self, x: Tensor) -> Tensor:
            return self.b(self.a(x)) * self.scale

    model = Tied()
    summary = summarize(model, (1, 3, 4))
    assert summary.total_params == sum(p.numel() for p in model.parameters()) == 16 + 4 + 4 + 10 + 4
    assert summary.total_trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    rows = {row.name: row for row in summary.rows}
    assert (rows["a"].params, rows["b"].params) == (20, 4)
    assert rows["spare"].output_shape is None and rows["spare"].calls == 0 and rows["spare"].params == 10
    assert rows["(model)"].params == 4 and summary.rows[-1].name == "spare"
    assert rows["a"].output_shape == (1, 3, 4)  # batch dropped, other leading dims kept
    assert summary.total_macs == _flop_macs(model, (1, 3, 4))[0] == 2 * 3 * 4 * 4


@pytest.mark.parametrize(
    "layer",
    [nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), nn.Conv2d(4, 8, (3, 5), dilation=2, bias=False),
     nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=2), nn.Linear(9, 7)],
)  # fmt: skip
def test_single_layer_macs_equal_flop_counter(layer: nn.Module) -> None:
    size = (2, 4, 9) if isinstance(layer, nn.Linear) else (4, 9, 9)
    summary = summarize(layer, size)
    assert summary.total_macs == _flop_macs(layer, size)[0] > 0
    assert summary.rows[0].formula != "—"


def test_shares_stages_and_csv_add_up() -> None:
    summary = summarize(torchvision.models.resnet18(), (3, 32, 32))
    assert sum(r.params_share for r in summary.rows) == pytest.approx(1.0, abs=1e-9)
    assert sum(r.macs_share for r in summary.rows) == pytest.approx(1.0, abs=1e-9)
    stages = summary.stages()
    assert [s.name for s in stages] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                                        "avgpool", "fc"]  # fmt: skip
    assert sum(s.params for s in stages) == summary.total_params and stages[7].output_shape == (512, 1, 1)
    table = list(csv.DictReader(io.StringIO(summary.to_csv())))
    assert len(table) == len(summary.rows) + 1 and table[-1]["name"] == "total"
    assert sum(int(r["params"]) for r in table[:-1]) == int(table[-1]["params"]) == summary.total_params
    assert sum(int(r["macs"]) for r in table[:-1]) == summary.total_macs
    assert table[0]["output_shape"] == "64×16×16" and table[0]["formula"].startswith("C_out·H_out·W_out")


def test_the_model_keeps_its_mode_and_hooks() -> None:
    model = torchvision.models.resnet18().train()
    summarize(model, (3, 32, 32))
    assert model.training and all(not m._forward_hooks for m in model.modules())


def test_row_fields_are_typed() -> None:
    summary = summarize(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), (1, 5, 5))
    assert isinstance(summary, Summary) and all(isinstance(r, LayerRow) for r in summary.rows)
    conv, relu = summary.rows
    assert (conv.name, conv.kind, conv.depth, conv.output_shape) == ("0", "Conv2d", 1, (2, 3, 3))
    assert conv.receptive_field == 3
    assert (relu.macs, relu.formula, relu.receptive_field) == (0, "—", 3)
    assert summary.input_size == (1, 5, 5)


@pytest.mark.parametrize(("size", "match"), [((3, 224), "three whole numbers"), ((3, 0, 8), "three whole numbers"),
                                             ((1, 224, 224), "expects images with 3 channels"),
                                             ((3, 8, 8), "too small")])  # fmt: skip
def test_bad_inputs_are_explained(size: tuple[int, ...], match: str) -> None:
    with torch.device("meta"):
        model = torchvision.models.alexnet()
    with pytest.raises(ConfigError, match=match):
        summarize(model, size)
