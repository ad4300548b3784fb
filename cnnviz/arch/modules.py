"""Building blocks shown from the inside: an inception module's four branches and an inverted-residual block.

The inception module is torchvision's own ``Inception`` class (the block of its GoogLeNet), run on
the meta device at the learner's input size, branch by branch. The inverted residual is read from
a real model (MobileNetV2, EfficientNet-Lite0, ...): its convolutions, in the order they run, with
the shapes a forward pass gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models.googlenet import Inception

from cnnviz.arch.summary import Summary
from cnnviz.errors import ConfigError

__all__ = [
    "BLOCK_ROLES",
    "INCEPTION_3A",
    "STEP_ROLES",
    "BlockRow",
    "BlockStep",
    "BranchView",
    "InceptionView",
    "block_steps",
    "block_table",
    "depthwise_blocks",
    "inception_branches",
]

# GoogLeNet's inception (3a), Szegedy et al. 2015, Table 1: 192 channels in at 28×28, 256 out.
INCEPTION_3A = {"ch1x1": 64, "ch3x3red": 96, "ch3x3": 128, "ch5x5red": 16, "ch5x5": 32, "pool_proj": 32}


@dataclass(frozen=True)
class BranchView:
    """One branch of an inception module: its layers' output shapes, parameters and MACs."""

    name: str  # "branch1" … "branch4"
    steps: tuple[tuple[str, tuple[int, int, int]], ...]  # (layer description, output (C, H, W)) in order
    params: int  # sum(p.numel()) of the branch
    macs: int  # of its convolutions, for one image

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self.steps[-1][1]


@dataclass(frozen=True)
class InceptionView:
    """An inception module run on one input: four branches and their concatenation along channels."""

    input_shape: tuple[int, int, int]  # (C, H, W)
    branches: tuple[BranchView, ...]
    output_shape: tuple[int, int, int]  # the real module's output: channels are the branches' sum
    params: int  # sum(p.numel()) of the whole module


def _describe(layer: nn.Module) -> str:
    """A short name for a layer: "conv 3×3", "max pool 3×3"."""
    if isinstance(layer, nn.Conv2d):
        return f"conv {layer.kernel_size[0]}×{layer.kernel_size[1]}"
    if isinstance(layer, nn.MaxPool2d):
        return f"max pool {layer.kernel_size}×{layer.kernel_size}"
    return type(layer).__name__


def _branch(name: str, branch: nn.Module, x: torch.Tensor) -> BranchView:
    """Run ``x`` through one branch, stage by stage (a conv block or a pooling), recording shapes and MACs."""
    stages = list(branch) if isinstance(branch, nn.Sequential) else [branch]
    steps, macs = [], 0
    for stage in stages:
        x = stage(x)  # (1, C, H, W)
        conv = stage if isinstance(stage, nn.Conv2d) else getattr(stage, "conv", None)
        layer = conv if isinstance(conv, nn.Conv2d) else stage
        if isinstance(conv, nn.Conv2d):
            macs += x.numel() * (conv.in_channels // conv.groups) * conv.kernel_size[0] * conv.kernel_size[1]
        steps.append((_describe(layer), tuple(int(s) for s in x.shape[1:])))
    return BranchView(name, tuple(steps), sum(p.numel() for p in branch.parameters()), int(macs))


def inception_branches(in_channels: int, height: int, width: int, **channels: int) -> InceptionView:
    """Run torchvision's ``Inception`` block on a (in_channels, height, width) input, on the meta device.

    ``channels`` override :data:`INCEPTION_3A`'s widths (``ch1x1``, ``ch3x3red``, ...). Note that
    torchvision's "5×5" branch uses a 3×3 kernel (a bug kept for its weights: vision issue #906).
    Raises ConfigError for a size or width below 1.
    """
    widths = {**INCEPTION_3A, **channels}
    sizes = {"in_channels": in_channels, "height": height, "width": width, **widths}
    for name, value in sizes.items():
        if int(value) < 1:
            raise ConfigError.from_key("errors.arch_not_positive", name=name, value=value)
    with torch.device("meta"):
        block = Inception(in_channels, **widths).eval()
        x = torch.empty(1, in_channels, height, width)
        branches = tuple(_branch(f"branch{i}", getattr(block, f"branch{i}"), x) for i in range(1, 5))
        out = block(x)  # (1, ΣC, H, W)
    return InceptionView((in_channels, height, width), branches, tuple(int(s) for s in out.shape[1:]),
                         sum(p.numel() for p in block.parameters()))  # fmt: skip


BLOCK_ROLES = ("expand", "depthwise", "project")  # an inverted residual's steps, in order
STEP_ROLES = (*BLOCK_ROLES, "conv")  # what a convolution of a block can be


@dataclass(frozen=True)
class BlockStep:
    """One convolution of a block as it runs: its role, shapes, parameters and MACs."""

    name: str  # the layer's name in the model ("features.2.conv.0.0")
    role: str  # "expand", "depthwise", "project" or "conv"
    kernel_size: int
    input_shape: tuple[int, int, int]  # (C, H, W)
    output_shape: tuple[int, int, int]  # (C, H, W)
    params: int  # sum(p.numel()) of the conv
    macs: int  # output elements × in_channels/groups × k²


def _role(conv: nn.Conv2d, position: int) -> str:
    if conv.groups > 1 and conv.groups == conv.in_channels:
        return "depthwise"
    if conv.kernel_size == (1, 1):
        return "expand" if position == 0 and conv.out_channels > conv.in_channels else "project"
    return "conv"


def depthwise_blocks(model: nn.Module) -> list[str]:
    """Names of the model's smallest modules that hold a depthwise convolution and a 1×1 projection."""
    found = []
    for name, module in model.named_modules():
        convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
        depthwise = any(c.groups > 1 and c.groups == c.in_channels for c in convs)
        if name and depthwise and any(c.kernel_size == (1, 1) for c in convs) and len(convs) <= 4:
            if not any(name.startswith(f"{f}.") for f in found):
                found.append(name)
    return [n for n in found if not any(other.startswith(f"{n}.") for other in found)]


def block_steps(model: nn.Module, summary: Summary, block: str) -> list[BlockStep]:
    """The convolutions of ``model``'s module ``block`` in the order they ran in ``summary`` (of the same model).

    Shapes, parameters and MACs are the summary's (one forward pass on the meta device). Raises
    ConfigError for an unknown block name (listing the blocks that hold a depthwise convolution).
    """
    modules = dict(model.named_modules())
    if not block or block not in modules:
        raise ConfigError.from_key("errors.arch_block_unknown", block=block,
                                   known=", ".join(depthwise_blocks(model)) or "—")  # fmt: skip
    rows = [r for r in summary.rows if r.name.startswith(f"{block}.") and isinstance(modules.get(r.name), nn.Conv2d)]
    steps = []
    for position, row in enumerate(rows):
        conv = modules[row.name]
        steps.append(BlockStep(row.name, _role(conv, position), conv.kernel_size[0], row.input_shape,
                               row.output_shape, row.params, row.macs))  # fmt: skip
    return steps


@dataclass(frozen=True)
class BlockRow:
    """The layers under one name prefix (a block, a stage) added up."""

    name: str  # "_blocks.3", "layer2"
    output_shape: tuple[int, ...] | None  # of its last layer that ran
    params: int
    macs: int
    receptive_field: int | None  # of its last layer that has one


def block_table(summary: Summary, depth: int = 2) -> list[BlockRow]:
    """The summary's rows added up by the first ``depth`` parts of their names, in the order they ran.

    The parameters add up to ``summary.total_params`` (every row belongs to exactly one group).
    """
    groups: dict[str, list] = {}
    for row in summary.rows:
        groups.setdefault(".".join(row.name.split(".")[:depth]), []).append(row)
    return [
        BlockRow(name, next((r.output_shape for r in reversed(rows) if r.output_shape is not None), None),
                 sum(r.params for r in rows), sum(r.macs for r in rows),
                 next((r.receptive_field for r in reversed(rows) if r.receptive_field is not None), None))
        for name, rows in groups.items()
    ]  # fmt: skip
