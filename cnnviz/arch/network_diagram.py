"""A block diagram of any network in Graphviz DOT, read from the model's own structure.

Layers become boxes in the order the model registers them (the order its ``forward`` uses them in
torchvision's and our models); batch norm, activations and dropout are written into the box of the
layer they follow ("conv 3×3, 64 · BN · ReLU"). The model's top-level containers (``features``,
``layer1``, ``_blocks``) are drawn as stages, an inception module as its four branches meeting in
a concatenation, and a residual block (torchvision's ``BasicBlock``/``Bottleneck``/
``InvertedResidual``, our ``MBConv`` and ``BasicBlock``) as its main path plus a skip arrow into an
addition, labelled "identity" or with the projection the skip goes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import nn

from cnnviz.conv.rules import as_pair

__all__ = ["block_diagram", "layer_label", "skip_path"]

_FOLDED = (nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid,
           nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Dropout, nn.Dropout2d, nn.Identity, nn.Flatten,
           nn.LocalResponseNorm)  # fmt: skip
_SHORT = {"BatchNorm1d": "BN", "BatchNorm2d": "BN", "LocalResponseNorm": "LRN", "Dropout": "dropout",
          "Dropout2d": "dropout", "Flatten": "flatten", "Identity": ""}  # fmt: skip
_SKIP_MODULES = ("downsample", "shortcut")  # attribute names of a residual block's skip path


def layer_label(layer: nn.Module) -> str:
    """A short name for one layer: "conv 3×3, 64 /2", "depthwise 3×3, 96", "max pool 3×3 /2", "fc 1000"."""
    if isinstance(layer, nn.Conv2d):
        (kh, kw), (sh, _) = layer.kernel_size, layer.stride
        kind = "depthwise" if layer.groups > 1 and layer.groups == layer.in_channels else "conv"
        groups = f", {layer.groups} groups" if 1 < layer.groups != layer.in_channels else ""
        return f"{kind} {kh}×{kw}, {layer.out_channels}{groups}" + (f" /{sh}" if sh > 1 else "")
    if isinstance(layer, nn.MaxPool2d | nn.AvgPool2d):
        (kh, kw), (sh, _) = as_pair(layer.kernel_size), as_pair(layer.stride)
        kind = "max" if isinstance(layer, nn.MaxPool2d) else "avg"
        return f"{kind} pool {kh}×{kw}" + (f" /{sh}" if sh > 1 else "")
    if isinstance(layer, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        h, w = as_pair(layer.output_size)
        return f"{'avg' if isinstance(layer, nn.AdaptiveAvgPool2d) else 'max'} pool → {h}×{w}"
    if isinstance(layer, nn.Linear):
        return f"fc {layer.out_features}"
    name = type(layer).__name__
    return _SHORT.get(name, name)


def skip_path(block: nn.Module) -> nn.Module | None | bool:
    """The skip of a residual block: its projection module, True for a plain identity, None when it has none."""
    for attr in _SKIP_MODULES:
        if hasattr(block, attr):
            path = getattr(block, attr)
            if path is None or isinstance(path, nn.Identity) or (isinstance(path, nn.Sequential) and not len(path)):
                return True
            return path
    for attr in ("use_res_connect", "skip"):
        if isinstance(getattr(block, attr, None), bool):
            return True if getattr(block, attr) else None
    return None


def _is_residual_kind(module: nn.Module) -> bool:
    """True for a block of a kind that can have a skip (it may not use one: a block that changes the shape)."""
    return any(hasattr(module, a) for a in _SKIP_MODULES) or any(
        isinstance(getattr(module, a, None), bool) for a in ("use_res_connect", "skip"))  # fmt: skip


def _is_inception(module: nn.Module) -> bool:
    return all(isinstance(getattr(module, f"branch{i}", None), nn.Module) for i in range(1, 5))


@dataclass
class _Dot:
    """The diagram as it is written: nodes, edges and nested clusters."""

    shapes: Mapping[str, tuple[int, ...] | None]
    lines: list[str] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)  # written last: an edge inside a cluster pulls its nodes in
    labels: dict[str, list[str]] = field(default_factory=dict)  # layer nodes: label parts, still open to folding
    last_name: dict[str, str] = field(default_factory=dict)  # node → name of the last layer folded into it
    count: int = 0

    def node(self, parts: list[str], name: str | None = None, **style: str) -> str:
        self.count += 1
        node = f"n{self.count}"
        self.labels[node] = parts
        if name is not None:
            self.last_name[node] = name
        attrs = "".join(f', {k}="{v}"' for k, v in style.items())
        self.lines.append(f"{node} [label=<<{node}>>{attrs}];")  # the label is filled in by render()
        return node

    def edge(self, sources: list[str], target: str, **style: str) -> None:
        attrs = ", ".join(f'{k}="{v}"' for k, v in style.items())
        self.edges += [f"{s} -> {target}" + (f" [{attrs}]" if attrs else "") + ";" for s in sources]

    def render(self, title: str) -> str:
        body = "\n".join(self.lines + self.edges)
        for node, parts in self.labels.items():
            text = " · ".join(p for p in parts if p)
            shape = self.shapes.get(self.last_name.get(node, ""))
            if shape:
                text += "\\n" + "×".join(map(str, shape))
            body = body.replace(f"label=<<{node}>>", f'label="{_escape(text)}"', 1)
        head = (f'digraph G {{\nlabel="{_escape(title)}"; labelloc=t; rankdir=TB; nodesep=0.25; ranksep=0.25;\n'
                'node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];\n'
                'edge [arrowsize=0.6];')  # fmt: skip
        return f"{head}\n{body}\n}}\n"


def _escape(text: str) -> str:
    return text.replace('"', '\\"')


def _leaf(dot: _Dot, name: str, layer: nn.Module, prev: list[str]) -> list[str]:
    """A layer: folded into the previous box (norms, activations), or a new box fed by ``prev``."""
    if isinstance(layer, _FOLDED) and len(prev) == 1 and prev[0] in dot.labels and prev[0] in dot.last_name:
        dot.labels[prev[0]].append(layer_label(layer))
        dot.last_name[prev[0]] = name
        return prev
    node = dot.node([layer_label(layer)], name)
    dot.edge(prev, node)
    return [node]


def _cluster(dot: _Dot, label: str, color: str) -> None:
    dot.count += 1
    dot.lines.append(f'subgraph cluster_{dot.count} {{ label="{_escape(label)}"; style="rounded"; color="{color}";'
                     ' fontsize=10;')  # fmt: skip


def _residual(dot: _Dot, name: str, block: nn.Module, prev: list[str], skip: nn.Module | bool) -> list[str]:
    _cluster(dot, name, "#7a9cc6")
    main = prev
    for child_name, child in block.named_children():
        if child_name not in _SKIP_MODULES:
            main = _walk(dot, f"{name}.{child_name}", child, main)
    add = dot.node(["+"], shape="circle", fillcolor="#fde9c9")
    dot.edge(main, add)
    if skip is True:
        dot.edge(prev, add, style="dashed", label="identity", fontsize="9")
    else:
        parts = [layer_label(m) for m in skip.modules() if not list(m.children())]
        dot.edge(prev, add, style="dashed", label=" · ".join(p for p in parts if p), fontsize="9")
    dot.lines.append("}")
    return [add]


def _inception(dot: _Dot, name: str, block: nn.Module, prev: list[str]) -> list[str]:
    _cluster(dot, name, "#8fbf8f")
    ends = []
    for i in range(1, 5):
        ends += _walk(dot, f"{name}.branch{i}", getattr(block, f"branch{i}"), prev)
    concat = dot.node(["concat"], shape="box", fillcolor="#fde9c9")
    dot.edge(ends, concat)
    dot.lines.append("}")
    return [concat]


def _walk(dot: _Dot, name: str, module: nn.Module, prev: list[str]) -> list[str]:
    """Draw ``module`` fed by the nodes ``prev``; return the nodes its output comes from."""
    children = list(module.named_children())
    if not children:
        return _leaf(dot, name, module, prev)
    if _is_inception(module):
        return _inception(dot, name, module, prev)
    skip = skip_path(module)
    if skip is not None:
        return _residual(dot, name, module, prev, skip)
    if _is_residual_kind(module):  # a block without a skip (it changes the shape): framed all the same
        _cluster(dot, name, "#7a9cc6")
        for child_name, child in children:
            prev = _walk(dot, f"{name}.{child_name}", child, prev)
        dot.lines.append("}")
        return prev
    for child_name, child in children:
        prev = _walk(dot, f"{name}.{child_name}" if name else child_name, child, prev)
    return prev


def block_diagram(
    model: nn.Module,
    input_size: tuple[int, int, int],
    *,
    title: str = "",
    shapes: Mapping[str, tuple[int, ...] | None] | None = None,
) -> str:
    """Return a Graphviz DOT block diagram of ``model`` fed a (C, H, W) input.

    ``shapes`` maps layer names to output shapes (a summary's rows): each box then shows the output
    shape of the last layer drawn in it. Top-level containers become stages (clusters).
    """
    dot = _Dot(shapes or {})
    prev = [dot.node(["input", "×".join(map(str, input_size))], shape="box", fillcolor="#f4f4f4")]
    for name, child in model.named_children():
        if any(True for _ in child.children()) and not _is_inception(child) and not _is_residual_kind(child):
            _cluster(dot, name, "#bbbbbb")
            prev = _walk(dot, name, child, prev)
            dot.lines.append("}")
        else:
            prev = _walk(dot, name, child, prev)
    return dot.render(title)
