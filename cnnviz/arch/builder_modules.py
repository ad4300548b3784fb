"""The builder's table as PyTorch modules: the network ends in a classifier head, children named by kind.

:func:`layer_modules` lists what to construct (shared by :func:`build_network` and
:func:`~cnnviz.arch.export_code`, so the built network and the exported code are the same network).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.arch.builder import (
    ACTIVATIONS,
    BuilderKind,
    BuilderLayer,
    NetworkPlan,
    Shape,
    builder_row,
    clean_rows,
    kind_phrase,
    parse_layer,
    plan_network,
    residual_skip,
    shape_text,
)
from cnnviz.arch.summary import summarize
from cnnviz.conv import as_pair
from cnnviz.errors import ConfigError

__all__ = [
    "MAX_BUILD_PARAMS",
    "LayerModule",
    "ResidualBlock",
    "build_network",
    "head_rows",
    "layer_modules",
    "row_fields",
]

MAX_BUILD_PARAMS = 50_000_000  # build_network refuses larger networks (200 MB of float32 weights)


class ResidualBlock(nn.Module):
    """Two 3×3 convolutions with batch norm; the input is added back, through a 1×1 projection when asked.

    (N, in_channels, H, W) → (N, out_channels, ⌊(H − 1)/stride⌋ + 1, ⌊(W − 1)/stride⌋ + 1), as torchvision's BasicBlock.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, projection: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.skip = nn.Identity()
        if projection:  # the shape changes: a 1×1 conv (with the block's stride) makes the input fit
            self.skip = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))  # (N, K, H', W')
        out = self.bn2(self.conv2(out))  # (N, K, H', W')
        return self.relu2(out + self.skip(x))


@dataclass(frozen=True)
class LayerModule:
    """One module of a built network: its name, the row it comes from, and how to construct it."""

    name: str  # attribute / child name: "conv1", "relu2", ...
    number: int | None  # the row's number; None for the head build_network appends
    call: str  # "nn.Conv2d", ..., or "ResidualBlock"
    args: tuple  # positional arguments
    kwargs: dict  # keyword arguments
    in_shape: Shape
    out_shape: Shape
    params: int  # parameters it holds (from the plan)


def _call(layer: BuilderLayer, in_shape: Shape, out_shape: Shape) -> tuple[str, tuple, dict]:
    """The constructor of one planned layer: (name, positional arguments, keyword arguments)."""
    kind, stride = layer.kind, layer.stride
    if kind is BuilderKind.CONV:
        padding = {"padding": layer.padding}
        return "nn.Conv2d", (in_shape[0], out_shape[0]), {"kernel_size": layer.kernel_size, "stride": stride or 1,
                                                          **padding}  # fmt: skip
    if kind in (BuilderKind.MAX_POOL, BuilderKind.AVG_POOL):
        name = "nn.MaxPool2d" if kind is BuilderKind.MAX_POOL else "nn.AvgPool2d"
        return name, (), {"kernel_size": layer.kernel_size, "stride": stride or layer.kernel_size,
                          "padding": layer.padding}  # fmt: skip
    if kind is BuilderKind.RESIDUAL:
        projection = residual_skip(layer, in_shape, out_shape) == "projection"
        return "ResidualBlock", (in_shape[0], out_shape[0]), {"stride": stride or 1, "projection": projection}
    if kind is BuilderKind.LINEAR:
        return "nn.Linear", (in_shape[0], out_shape[0]), {}
    if kind is BuilderKind.BATCH_NORM:
        return ("nn.BatchNorm2d" if len(in_shape) == 3 else "nn.BatchNorm1d"), (in_shape[0],), {}
    if kind is BuilderKind.DROPOUT:
        return "nn.Dropout", (), {"p": layer.p}
    if kind is BuilderKind.FLATTEN:
        return "nn.Flatten", (), {}
    return f"nn.{ACTIVATIONS[kind]}", (), {}


def _check_classes(num_classes: int) -> int:
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ConfigError.from_key("errors.builder_num_classes", value=repr(num_classes))
    return num_classes


def head_rows(rows: Sequence[Mapping[str, object]], input_size: Sequence[int], num_classes: int) -> list[dict]:
    """Return the rows :func:`build_network` builds: the network always ends in a Linear of ``num_classes``.

    When the last row is a linear layer its out_features becomes ``num_classes``; otherwise a linear
    layer is appended, after a flatten row when the last output is still a feature map.
    """
    fitted = clean_rows(rows)
    _check_classes(num_classes)
    if fitted and str(fitted[-1]["kind"] or "").strip().lower() == BuilderKind.LINEAR:
        fitted[-1]["out"] = num_classes
        return fitted
    out_shape = plan_network(fitted, input_size).out_shape
    if out_shape is None or len(out_shape) == 3:
        fitted.append(builder_row(BuilderKind.FLATTEN))
    fitted.append(builder_row(BuilderKind.LINEAR, num_classes))
    return fitted


def _buildable(plan: NetworkPlan) -> NetworkPlan:
    """Return ``plan`` when it can be built; else raise its first impossible row's error, naming the row."""
    bad = plan.first_error
    if bad is not None:
        text = bad.kind.strip().lower()
        known = text in [k.value for k in BuilderKind]
        kind = kind_phrase(BuilderKind(text)) if known else repr(bad.kind) if text else "—"
        raise ConfigError.from_key(
            "errors.builder_row", number=bad.number, kind=kind, shape=shape_text(bad.in_shape), message=bad.error
        )
    if plan.total_params > MAX_BUILD_PARAMS:
        raise ConfigError.from_key(
            "errors.builder_too_big", params=f"{plan.total_params:,}", limit=f"{MAX_BUILD_PARAMS:,}"
        )
    return plan


def layer_modules(
    rows: Sequence[Mapping[str, object]], input_size: Sequence[int], num_classes: int
) -> list[LayerModule]:
    """Return the modules of the network built from ``rows`` for a (C, H, W) input and ``num_classes`` outputs.

    Raises ConfigError naming the row (number, kind, input shape and the reason) when a row is
    impossible for this input, or when the network has more than MAX_BUILD_PARAMS parameters.
    """
    fitted = head_rows(rows, input_size, num_classes)
    plan = _buildable(plan_network(fitted, input_size))
    modules, counts = [], dict.fromkeys(BuilderKind, 0)
    for row, planned in zip(fitted, plan.rows, strict=True):
        layer = parse_layer(row)
        counts[layer.kind] += 1
        number = planned.number if planned.number <= len(rows) else None
        call = _call(layer, planned.in_shape, planned.out_shape)
        modules.append(LayerModule(f"{layer.kind.value}{counts[layer.kind]}", number, *call, planned.in_shape,
                                   planned.out_shape, planned.params))  # fmt: skip
    return modules


def build_network(
    rows: Sequence[Mapping[str, object]], *, in_channels: int, image_size: int | tuple[int, int], num_classes: int
) -> nn.Sequential:
    """Build the table as a runnable network for (N, in_channels, H, W) images → (N, num_classes) logits.

    The first layer takes ``in_channels``; the network ends in a Linear of ``num_classes`` outputs
    (see :func:`head_rows`). Children are named by kind and count (``conv1``, ``relu1``, ...), as the
    class :func:`~cnnviz.arch.export_code` writes, so state dicts load into either. Raises
    ConfigError naming the row when a row cannot be built for this image size.
    """
    height, width = as_pair(image_size, "input size", minimum=1)
    built = OrderedDict()
    for module in layer_modules(rows, (in_channels, height, width), num_classes):
        factory = ResidualBlock if module.call == "ResidualBlock" else getattr(nn, module.call.removeprefix("nn."))
        built[module.name] = factory(*module.args, **module.kwargs)
    return nn.Sequential(built)


def row_fields(rows: Sequence[Mapping[str, object]], input_size: Sequence[int]) -> list[int | None]:
    """Return each row's receptive field: the side, in input pixels, that one unit of its output sees.

    None for a flat output (after flatten). Read from :func:`~cnnviz.arch.summarize` of the built
    network on the meta device (no weights allocated); a residual block sees the union of its two
    paths. Raises ConfigError naming the row, as :func:`build_network` does.
    """
    channels, height, width = input_size
    with torch.device("meta"):
        model = build_network(rows, in_channels=channels, image_size=(height, width), num_classes=1)
    last: dict[str, int | None] = {}
    for layer in summarize(model, (channels, height, width)).rows:
        last[layer.name.split(".")[0]] = layer.receptive_field  # a child's last layer: what its output sees
    names = [name for name, _ in model.named_children()]
    return [last.get(name) for name in names[: len(rows)]]
