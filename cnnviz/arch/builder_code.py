"""The builder's table written as a runnable PyTorch module: imports, a class, ``__init__`` and ``forward``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence

from cnnviz.arch.builder import BuilderKind, clean_rows, shape_text
from cnnviz.arch.builder_modules import LayerModule, ResidualBlock, layer_modules

__all__ = ["DEFAULT_NUM_CLASSES", "export_code", "exported_classes"]

DEFAULT_NUM_CLASSES = 10  # outputs of the exported network when the table does not end in a linear layer
CLASS_NAME = "BuiltNetwork"


def exported_classes(rows: Sequence[Mapping[str, object]]) -> int:
    """The number of outputs the exported network has: the last row's out_features if it is linear, else 10."""
    cleaned = clean_rows(rows)
    last = cleaned[-1] if cleaned else {}
    out = last.get("out")
    linear = str(last.get("kind") or "").strip().lower() == BuilderKind.LINEAR
    return out if linear and isinstance(out, int) and out >= 1 else DEFAULT_NUM_CLASSES


def _arguments(module: LayerModule) -> str:
    parts = [repr(a) for a in module.args] + [f"{k}={v!r}" for k, v in module.kwargs.items()]
    return ", ".join(parts)


def _comment(module: LayerModule) -> str:
    where = f"row {module.number}" if module.number is not None else "added head"
    return f"{where}: {shape_text(module.in_shape)} → {shape_text(module.out_shape)}"


def export_code(
    rows: Sequence[Mapping[str, object]], input_size: Sequence[int], *, num_classes: int | None = None
) -> str:
    """Return Python source that defines the table's network as an ``nn.Module`` class and builds it.

    Exec'd on its own it defines ``BuiltNetwork`` and ``model = BuiltNetwork()``: the same modules,
    names and parameter count as ``build_network(rows, in_channels=C, image_size=(H, W),
    num_classes=num_classes)``, so a state dict of one loads into the other. ``num_classes=None``
    keeps the last linear row's width (10 when the table does not end in a linear layer). Raises
    ConfigError naming the row when a row is impossible for ``input_size``.
    """
    classes = exported_classes(rows) if num_classes is None else num_classes
    modules = layer_modules(rows, input_size, classes)
    lines = ['"""A network made with cnnviz\'s network builder."""', "", "import torch", "from torch import nn", ""]
    if any(m.call == "ResidualBlock" for m in modules):
        lines += ["", inspect.getsource(ResidualBlock).rstrip(), ""]
    lines += ["", *_class_lines(modules, tuple(input_size), classes), "", ""]
    channels, height, width = input_size
    lines += [
        f"model = {CLASS_NAME}()",
        "",
        'if __name__ == "__main__":',
        f"    x = torch.randn(2, {channels}, {height}, {width})",
        '    print("output:", tuple(model(x).shape), "parameters:", sum(p.numel() for p in model.parameters()))',
    ]
    return "\n".join(lines) + "\n"



def _class_lines(modules: list[LayerModule], input_size: tuple[int, int, int], classes: int) -> list[str]:
    """The class: one attribute per module in ``__init__`` (the state dict's order), applied in ``forward``."""
    channels, height, width = input_size
    params = sum(m.params for m in modules)
    return [
        f"class {CLASS_NAME}(nn.Module):",
        f'    """({channels}, {height}, {width}) images → {classes} outputs; {params:,} parameters."""',
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *(f"        self.{m.name} = {m.call}({_arguments(m)})  # {_comment(m)}" for m in modules),
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        f"        # x: (N, {channels}, {height}, {width})",
        *(f"        x = self.{m.name}(x)  # (N, {', '.join(map(str, m.out_shape))})" for m in modules),
        "        return x",
    ]
