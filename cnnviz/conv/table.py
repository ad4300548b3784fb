"""Read layers typed into a table (one row per layer) and write layers back as rows."""

from __future__ import annotations

from collections.abc import Mapping

from cnnviz.conv.layers import LayerKind, LayerSpec
from cnnviz.conv.rules import as_pair
from cnnviz.errors import ConfigError

__all__ = ["layer_from_row", "layer_to_row", "parse_padding"]


def parse_padding(value: object) -> int | str:
    """Read a padding typed by a user: a whole number ≥ 0, "same" or "valid"."""
    text = str(value).strip().lower()
    if text in ("same", "valid"):
        return text
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if number < 0 or number != int(number):
        raise ConfigError.from_key("errors.padding_not_understood", padding=repr(value))
    return int(number)


def layer_from_row(row: Mapping[str, object]) -> LayerSpec:
    """Turn one table row (kind, out_channels, kernel_size, stride, padding, dilation, bias) into a LayerSpec.

    Empty cells take the layer's defaults (stride = kernel for pooling). Raises ConfigError on
    unknown kinds or values that are not whole numbers.
    """
    kind_text = _cell(row, "kind")
    kinds = [k.value for k in LayerKind if k is not LayerKind.CONV_TRANSPOSE]
    if kind_text not in kinds:
        raise ConfigError.from_key("errors.layer_kind_unknown", kind=repr(kind_text), kinds=", ".join(kinds))
    kind = LayerKind(kind_text)
    pooling = kind is not LayerKind.CONV
    out_channels = None if pooling else _whole(row, "out_channels", 1)
    kernel = _whole(row, "kernel_size", 3)
    stride = _whole(row, "stride", None if pooling else 1)
    padding_cell = _cell(row, "padding")
    padding = 0 if padding_cell is None else parse_padding(padding_cell)
    bias = _cell(row, "bias")
    bias = True if bias is None else bool(bias)
    return LayerSpec(kind, out_channels, kernel, stride, padding, _whole(row, "dilation", 1), bias=bias)


def layer_to_row(spec: LayerSpec) -> dict[str, object]:
    """The inverse of :func:`layer_from_row`, for filling a table (square kernels and strides)."""
    stride = None if spec.stride is None else as_pair(spec.stride, "stride", minimum=1)[0]
    padding = spec.padding if isinstance(spec.padding, str) else as_pair(spec.padding, "padding", minimum=0)[0]
    return {
        "kind": LayerKind(spec.kind).value,
        "out_channels": spec.out_channels,
        "kernel_size": as_pair(spec.kernel_size, "kernel", minimum=1)[0],
        "stride": stride,
        "padding": str(padding),
        "dilation": as_pair(spec.dilation, "dilation", minimum=1)[0],
        "bias": spec.bias if LayerKind(spec.kind) is LayerKind.CONV else None,
    }


def _cell(row: Mapping[str, object], name: str) -> object:
    """A cell's value, with empty cells (None, NaN, "") as None."""
    value = row.get(name)
    if value is None or value != value or (isinstance(value, str) and not value.strip()):  # NaN != NaN
        return None
    return value


def _whole(row: Mapping[str, object], name: str, default: int | None) -> int | None:
    value = _cell(row, name)
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if number != number or number != int(number):
        raise ConfigError.from_key("errors.not_whole", name=name, value=repr(value))
    return int(number)
