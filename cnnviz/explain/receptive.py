"""Receptive fields in a real network: the input pixels one unit of a layer can see.

The chain of conv and pooling layers is found by running the model once; the field itself is
computed by :func:`cnnviz.conv.walk_stack` from their kernels, strides, paddings and dilations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from cnnviz.conv.layers import LayerKind, LayerSpec, receptive_window, walk_stack
from cnnviz.conv.rules import as_pair
from cnnviz.errors import ConfigError
from cnnviz.explain.hooks import LayerCall, _resolve_layers, record_calls

__all__ = ["Box", "LayerGeometry", "ModelTrace", "ReceptiveField", "receptive_field", "spatial_layers", "trace_model"]


_ADAPTIVE = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_SPATIAL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, *_ADAPTIVE)  # layers that change where a unit looks


@dataclass(frozen=True)
class LayerGeometry:
    name: str  # module name
    kind: LayerKind  # conv, max or average pooling
    kernel_size: tuple[int, int]  # (kH, kW)
    stride: tuple[int, int]
    padding: tuple[int, int] | str  # zeros on each side, or "same" / "valid" (conv)
    dilation: tuple[int, int]
    ceil_mode: bool  # pooling rounds its output size up
    in_size: tuple[int, int]  # (H, W) of its input
    out_size: tuple[int, int]  # (H, W) of its output


@dataclass(frozen=True)
class Box:
    top: int  # first row, inclusive
    left: int  # first column, inclusive
    bottom: int  # last row + 1
    right: int  # last column + 1

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def clip(self, height: int, width: int) -> Box:
        """Return the part of the box inside an image of ``height`` × ``width`` pixels."""
        return Box(max(self.top, 0), max(self.left, 0), min(self.bottom, height), min(self.right, width))


@dataclass(frozen=True)
class ReceptiveField:
    layer: str
    row: int
    col: int
    box: Box  # input pixels the unit can see, clipped to the image
    full: Box  # the same before clipping (may reach into the zero padding)
    size: tuple[int, int]  # (h, w) of the full receptive field
    jump: tuple[int, int]  # input pixels between neighbouring units of this layer


def _geometry(name: str, module: nn.Module, in_size: tuple[int, int], out_size: tuple[int, int]) -> LayerGeometry:
    """Read kernel, stride, padding and dilation of a conv or pooling module as (h, w) pairs.

    Adaptive pooling is read as the plain pooling it equals when each output cell pools an equal
    share of the input (kernel = stride = input / output; global pooling to 1×1 is one such case).
    """
    if isinstance(module, _ADAPTIVE):
        return _adaptive_geometry(name, module, in_size, out_size)
    if isinstance(module, nn.Conv2d):
        kind = LayerKind.CONV
    else:
        kind = LayerKind.MAX_POOL if isinstance(module, nn.MaxPool2d) else LayerKind.AVG_POOL
    if hasattr(module, "padding_before"):  # a conv that pads itself for each input size (TensorFlow "SAME")
        padding = module.padding_before(in_size)  # (top, left): where a unit's field starts
    else:
        padding = module.padding if isinstance(module.padding, str) else as_pair(module.padding)
    return LayerGeometry(
        name=name,
        kind=kind,
        kernel_size=as_pair(module.kernel_size),
        stride=as_pair(module.stride if module.stride is not None else module.kernel_size),
        padding=padding,
        dilation=as_pair(getattr(module, "dilation", 1)),
        ceil_mode=bool(getattr(module, "ceil_mode", False)),
        in_size=in_size,
        out_size=out_size,
    )


def _adaptive_geometry(
    name: str, module: nn.Module, in_size: tuple[int, int], out_size: tuple[int, int]
) -> LayerGeometry:
    """Adaptive pooling as plain pooling with kernel = stride = in / out; ConfigError when it does not divide."""
    if any(i % o for i, o in zip(in_size, out_size, strict=True)):
        raise ConfigError.from_key("errors.adaptive_pool_uneven", layer=name, size=f"{in_size[0]}×{in_size[1]}",
                                   out=f"{out_size[0]}×{out_size[1]}")  # fmt: skip
    kernel = (in_size[0] // out_size[0], in_size[1] // out_size[1])
    kind = LayerKind.MAX_POOL if isinstance(module, nn.AdaptiveMaxPool2d) else LayerKind.AVG_POOL
    return LayerGeometry(name, kind, kernel, kernel, (0, 0), (1, 1), False, in_size, out_size)


@dataclass(frozen=True)
class ModelTrace:
    """Every layer call of one forward pass on zeros: what receptive fields are computed from.

    Tracing costs one forward pass; the fields of every layer and unit are then arithmetic, so a
    page that shows many units keeps one trace per model and input size.
    """

    input_shape: tuple[int, ...]  # (C, H, W) of the traced input
    calls: tuple[LayerCall, ...]  # every named module's calls, in execution order


def trace_model(model: nn.Module, input_shape: Sequence[int]) -> ModelTrace:
    """Run the model once on zeros of ``input_shape`` (C, H, W); record every named module's calls.

    The model's mode is restored and its hooks removed afterwards.
    """
    names = [name for name, _ in model.named_modules() if name]
    with record_calls(model, names) as calls, torch.no_grad():
        model(_zeros_like_input(model, input_shape))
    return ModelTrace(tuple(int(s) for s in input_shape), tuple(calls))


def _zeros_like_input(model: nn.Module, input_shape: Sequence[int]) -> Tensor:
    """A zero image (1, C, H, W) on the model's device and in its dtype."""
    param = next(model.parameters(), None)
    if param is None:
        return torch.zeros(1, *input_shape)
    return torch.zeros(1, *input_shape, dtype=param.dtype, device=param.device)


def _walk_chain(calls: Sequence[LayerCall], input_shape: Sequence[int], stop: str | None = None) -> list[LayerGeometry]:
    """Keep the conv/pooling calls that continue the chain, up to the first call of ``stop``.

    A layer whose input size differs from the chain's current size (a residual shortcut run after
    the main path) is left out, so the chain follows the main path.
    """
    chain, size = [], tuple(int(s) for s in input_shape[-2:])
    for call in calls:
        in_size, out_size = call.in_shape[-2:], call.out_shape[-2:]
        if isinstance(call.module, _SPATIAL) and in_size == size:
            chain.append(_geometry(call.name, call.module, in_size, out_size))
            size = out_size
        if call.name == stop:
            break
    return chain


def spatial_layers(model: nn.Module, input_shape: Sequence[int]) -> list[LayerGeometry]:
    """Return the chain of conv and pooling layers an input of ``input_shape`` (C, H, W) goes through.

    Found by running the model once on zeros (execution order); the model's mode is restored.
    """
    return _walk_chain(trace_model(model, input_shape).calls, input_shape)


def _stack_reports(chain: Sequence[LayerGeometry], input_shape: tuple[int, ...]) -> list:
    """Describe the chain with cnnviz.conv.walk_stack (receptive field, jump and start of each layer)."""
    specs = [
        LayerSpec(
            kind=g.kind,
            out_channels=1 if g.kind is LayerKind.CONV else None,  # channels do not move a receptive field
            kernel_size=g.kernel_size,
            stride=g.stride,
            padding=g.padding,
            dilation=g.dilation,
            ceil_mode=g.ceil_mode,
        )
        for g in chain
    ]
    return walk_stack(specs, (1, *input_shape[-2:]))


def receptive_field(
    model: nn.Module,
    layer: str,
    row: int,
    col: int,
    *,
    input_shape: Sequence[int],
    trace: ModelTrace | None = None,
) -> ReceptiveField:
    """Return the input pixels that unit (``row``, ``col``) of ``layer`` can see, for an input (C, H, W).

    Computed from the kernel sizes, strides, paddings and dilations of the conv and pooling layers
    up to ``layer`` (layers such as ReLU or BatchNorm see what the layer before them sees), found
    by one forward pass on zeros, or read from ``trace`` (``trace_model(model, input_shape)``).
    Raises ConfigError (a ValueError) for an unknown layer, a layer without a spatial map, a unit
    outside the map, or a trace of another input size.
    """
    input_shape = tuple(int(s) for s in input_shape)
    _resolve_layers(model, layer)  # an unknown name: the message lists the valid ones
    if trace is None:
        trace = trace_model(model, input_shape)
    elif trace.input_shape != input_shape:
        raise ConfigError.from_key("errors.trace_other_input", traced="×".join(map(str, trace.input_shape)),
                                   size="×".join(map(str, input_shape)))  # fmt: skip
    calls = trace.calls
    shapes = [call.out_shape for call in calls if call.name == layer]
    if not shapes or len(shapes[0]) != 4:
        raise ConfigError.from_key("errors.layer_not_spatial", layer=layer)
    height, width = shapes[0][-2:]
    if not (0 <= row < height and 0 <= col < width):
        raise ConfigError.from_key("errors.unit_outside_map", row=row, col=col, layer=layer, size=f"{height}×{width}",
                                   last_row=height - 1, last_col=width - 1)  # fmt: skip
    chain = _walk_chain(calls, input_shape, stop=layer)
    if not chain:  # no conv or pooling before this layer: a unit sees one pixel
        full, size, jump = Box(row, col, row + 1, col + 1), (1, 1), (1, 1)
    else:
        last = _stack_reports(chain, input_shape)[-1]
        (top, bottom), (left, right) = receptive_window(last, (row, col))
        full, size, jump = Box(top, left, bottom + 1, right + 1), last.receptive_field, last.jump
    return ReceptiveField(layer, row, col, full.clip(*input_shape[-2:]), full, tuple(size), tuple(jump))
