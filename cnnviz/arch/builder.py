"""The network builder: a table of layers, planned row by row (shapes, parameters, MACs) and built as PyTorch.

A row is a plain dict, so a page can keep the table in ``st.session_state`` and a file can hold it
(``json.dumps(rows)``, read back by :func:`rows_from_json`). Its keys are :data:`BUILDER_COLUMNS`:

- ``kind``: a :class:`BuilderKind` value (conv, maxpool, avgpool, batchnorm, relu, leakyrelu, sigmoid,
  tanh, gelu, dropout, flatten, linear, residual);
- ``out``: a conv's or residual block's out_channels, a linear layer's out_features;
- ``kernel_size``, ``stride``, ``padding``: a conv's (padding a number, ``"same"`` or ``"valid"``) and a
  pooling layer's (an empty stride means the kernel size, PyTorch's default);
- ``p``: a dropout's probability of zeroing a value;
- ``skip``: a residual block's skip path, ``"identity"`` or ``"projection"`` (a 1×1 conv and batch norm);
  empty means identity when the block keeps the shape, else projection.

Cells a kind does not use are ignored; empty cells (None, NaN, "") take :data:`DEFAULTS`.
:func:`plan_network` gives every row its output shape, parameters and MACs, or the keyed ConfigError
that says why it is impossible (sizes through :mod:`cnnviz.conv`, so the messages are the Conv
arithmetic page's); :mod:`~cnnviz.arch.builder_modules` builds the rows as PyTorch. A residual
block is torchvision's BasicBlock: two 3×3 convs (padding 1, no bias) with batch norm, ReLU after the sum.
Batch norm on a flat vector is ``BatchNorm1d``. MACs count what ``torch.utils.flop_counter`` counts
(flops / 2): convolutions and linear layers, not bias additions, pooling, normalisation or activations.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cnnviz.conv import conv_macs, conv_output_size, conv_param_count, parse_padding, pool_output_size
from cnnviz.errors import ConfigError, Phrase

__all__ = [
    "ACTIVATIONS",
    "BUILDER_COLUMNS",
    "ROW_STATUSES",
    "SKIPS",
    "BuilderKind",
    "BuilderLayer",
    "NetworkPlan",
    "PlannedRow",
    "builder_row",
    "clean_rows",
    "residual_skip",
    "kind_phrase",
    "parse_layer",
    "plan_network",
    "rows_from_json",
    "shape_text",
]


class BuilderKind(StrEnum):
    """The layer kinds a builder row can have."""

    CONV = "conv"
    MAX_POOL = "maxpool"
    AVG_POOL = "avgpool"
    BATCH_NORM = "batchnorm"
    RELU = "relu"
    LEAKY_RELU = "leakyrelu"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    GELU = "gelu"
    DROPOUT = "dropout"
    FLATTEN = "flatten"
    LINEAR = "linear"
    RESIDUAL = "residual"


BUILDER_COLUMNS = ("kind", "out", "kernel_size", "stride", "padding", "p", "skip")  # the keys of a row
SKIPS = ("identity", "projection")  # a residual block's skip paths
ROW_STATUSES = ("ok", "error", "skipped")  # PlannedRow.status: computed, impossible, not computed
ACTIVATIONS = {  # kind → the torch.nn class, with PyTorch's default arguments
    BuilderKind.RELU: "ReLU",
    BuilderKind.LEAKY_RELU: "LeakyReLU",
    BuilderKind.SIGMOID: "Sigmoid",
    BuilderKind.TANH: "Tanh",
    BuilderKind.GELU: "GELU",
}
DEFAULTS = {"kernel_size": 3, "pool_kernel": 2, "p": 0.5}  # what an empty cell means

Shape = tuple[int, ...]  # (C, H, W) for a feature map, (F,) for a flat vector


@dataclass(frozen=True)
class BuilderLayer:
    """One row read into typed settings (empty cells filled in)."""

    kind: BuilderKind
    out: int | None = None  # out_channels (conv, residual) or out_features (linear); None: not given
    kernel_size: int = 3
    stride: int | None = None  # None: 1 for a conv or residual block, the kernel for pooling
    padding: int | str = 0  # a number, "same" or "valid" (conv only)
    p: float = 0.5  # dropout probability
    skip: str | None = None  # residual: "identity", "projection" or None (identity when the shape allows)


@dataclass(frozen=True)
class PlannedRow:
    """What one row does: its input and output shapes, parameters and MACs, or why it cannot be built."""

    number: int  # 1-based, as the page numbers rows
    kind: str  # the kind as typed (may be unknown)
    in_shape: Shape | None  # None when not computed (an earlier row is impossible)
    out_shape: Shape | None
    params: int | None
    macs: int | None  # multiply-accumulates for one image
    error: ConfigError | None = None  # the reason and what to change

    @property
    def status(self) -> str:
        """ "ok", "error" (this row is impossible) or "skipped" (not computed: an earlier row is impossible)."""
        return "error" if self.error is not None else "skipped" if self.out_shape is None else "ok"


@dataclass(frozen=True)
class NetworkPlan:
    """Every row planned, in order, with the totals of the rows that could be computed."""

    in_shape: Shape  # (C, H, W)
    rows: tuple[PlannedRow, ...]

    @property
    def ok(self) -> bool:
        return all(row.status == "ok" for row in self.rows)

    @property
    def first_error(self) -> PlannedRow | None:
        return next((row for row in self.rows if row.error is not None), None)

    @property
    def out_shape(self) -> Shape | None:
        """The network's output shape; None when a row is impossible."""
        return (self.rows[-1].out_shape if self.rows else self.in_shape) if self.ok else None

    @property
    def total_params(self) -> int:
        return sum(row.params or 0 for row in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(row.macs or 0 for row in self.rows)


def shape_text(shape: Shape) -> str:
    """Write a shape as "16×32×32" (a map) or "4096" (a vector)."""
    return "×".join(map(str, shape))


def builder_row(kind: str, out=None, kernel_size=None, stride=None, padding=None, p=None, skip=None) -> dict:
    """Return a table row with every column (None for the empty ones); padding is kept as text."""
    padding = None if padding is None else str(padding)
    return dict(zip(BUILDER_COLUMNS, (str(kind), out, kernel_size, stride, padding, p, skip), strict=True))


def _empty(value: object) -> bool:
    return value is None or value != value or (isinstance(value, str) and not value.strip())  # NaN != NaN


def _clean(value: object) -> object:
    """A cell as JSON likes it: None for empty, an int for a whole number, else the value unchanged."""
    if _empty(value):
        return None
    if isinstance(value, float) and value == int(value) and math.isfinite(value):
        return int(value)
    if hasattr(value, "item"):  # a NumPy scalar from a data frame
        return _clean(value.item())
    return value


def clean_rows(rows: Sequence[Mapping[str, object]]) -> list[dict]:
    """Return the rows with every column present and JSON-able cells (what a data editor's records become).

    Nothing is checked here: an impossible value stays, so that :func:`plan_network` can explain it.
    """
    return [{name: _clean(row.get(name)) for name in BUILDER_COLUMNS} for row in rows]


def rows_from_json(text: str | bytes) -> list[dict]:
    """Read a table saved as JSON (a list of row objects, as the page's download writes it) into clean rows.

    Unknown keys are dropped and missing ones are empty; the values are not checked here (the plan
    explains them). Raises ConfigError when the text is not JSON or not a list of objects.
    """
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError.from_key("errors.builder_json_invalid") from err
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ConfigError.from_key("errors.builder_json_shape")
    return clean_rows(data)


def _column(name: str) -> Phrase:
    return Phrase(f"errors.builder_column.{name}")


def _number(row: Mapping[str, object], name: str, default: float | None, *, whole: bool = True):
    """A numeric cell (empty → ``default``); raises ConfigError when it is not a (whole) number."""
    value = row.get(name)
    if _empty(value):
        return default
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number) or (whole and number != int(number)):
        key = "errors.builder_not_whole" if whole else "errors.builder_not_number"
        raise ConfigError.from_key(key, name=_column(name), value=str(value))
    return int(number) if whole else number


def parse_layer(row: Mapping[str, object]) -> BuilderLayer:
    """Read one row into a :class:`BuilderLayer`; raises ConfigError for an unknown kind or a non-number."""
    if _empty(row.get("kind")):
        raise ConfigError.from_key("errors.builder_kind_missing")
    text = str(row.get("kind")).strip().lower()
    kinds = [k.value for k in BuilderKind]
    if text not in kinds:
        raise ConfigError.from_key("errors.layer_kind_unknown", kind=repr(row.get("kind")), kinds=", ".join(kinds))
    kind = BuilderKind(text)
    pooling = kind in (BuilderKind.MAX_POOL, BuilderKind.AVG_POOL)
    kernel = _number(row, "kernel_size", DEFAULTS["pool_kernel" if pooling else "kernel_size"])
    padding = row.get("padding")
    skip = None if _empty(row.get("skip")) else str(row.get("skip")).strip().lower()
    if skip is not None and skip not in SKIPS:
        raise ConfigError.from_key("errors.builder_skip_unknown", skip=repr(row.get("skip")), skips=", ".join(SKIPS))
    return BuilderLayer(
        kind,
        out=_number(row, "out", None),
        kernel_size=kernel,
        stride=_number(row, "stride", None),
        padding=0 if _empty(padding) else parse_padding(padding),
        p=_number(row, "p", DEFAULTS["p"], whole=False),
        skip=skip,
    )


def _map(layer: BuilderLayer, shape: Shape) -> Shape:
    """The (C, H, W) input of a layer that needs a feature map; raises ConfigError for a flat vector."""
    if len(shape) != 3:
        raise ConfigError.from_key("errors.builder_needs_map", kind=kind_phrase(layer.kind), features=f"{shape[0]:,}")
    return shape


def kind_phrase(kind: BuilderKind) -> Phrase:
    return Phrase(f"errors.builder_kind.{kind.value}")


def _out(layer: BuilderLayer, default: int | None = None) -> int:
    """A layer's out_channels / out_features (≥ 1); raises ConfigError when missing or below 1."""
    out = default if layer.out is None else layer.out
    if out is None or out < 1:
        key = "errors.builder_needs_features" if layer.kind is BuilderKind.LINEAR else "errors.builder_needs_channels"
        raise ConfigError.from_key(key, kind=kind_phrase(layer.kind), value="—" if out is None else out)
    return out


def _plan_conv(layer: BuilderLayer, shape: Shape) -> tuple[Shape, int, int]:
    channels, height, width = _map(layer, shape)
    out = _out(layer)
    size = conv_output_size((height, width), layer.kernel_size, 1 if layer.stride is None else layer.stride,
                            layer.padding)  # fmt: skip
    params = conv_param_count(channels, out, layer.kernel_size)
    return (out, *size), params, conv_macs(channels, out, layer.kernel_size, size)


def _plan_pool(layer: BuilderLayer, shape: Shape) -> tuple[Shape, int, int]:
    channels, height, width = _map(layer, shape)
    if isinstance(layer.padding, str):
        raise ConfigError.from_key("errors.pool_padding_text", padding=repr(layer.padding))
    size = pool_output_size((height, width), layer.kernel_size, layer.stride, layer.padding)
    return (channels, *size), 0, 0


def residual_skip(layer: BuilderLayer, in_shape: Shape, out_shape: Shape) -> str:
    """Return the skip path a residual block uses; raises ConfigError when "identity" cannot keep the shape."""
    same = in_shape == out_shape
    if layer.skip == "identity" and not same:
        raise ConfigError.from_key(
            "errors.builder_identity_mismatch",
            in_shape=shape_text(in_shape),
            out_shape=shape_text(out_shape),
            channels=in_shape[0],
        )
    return layer.skip or ("identity" if same else "projection")


def _plan_residual(layer: BuilderLayer, shape: Shape) -> tuple[Shape, int, int]:
    channels, height, width = _map(layer, shape)
    out = _out(layer, default=channels)
    size = conv_output_size((height, width), 3, 1 if layer.stride is None else layer.stride, 1)
    out_shape = (out, *size)
    params = conv_param_count(channels, out, 3, bias=False) + conv_param_count(out, out, 3, bias=False) + 4 * out
    macs = conv_macs(channels, out, 3, size) + conv_macs(out, out, 3, size)
    if residual_skip(layer, shape, out_shape) == "projection":
        params += conv_param_count(channels, out, 1, bias=False) + 2 * out
        macs += conv_macs(channels, out, 1, size)
    return out_shape, params, macs


def _plan_linear(layer: BuilderLayer, shape: Shape) -> tuple[Shape, int, int]:
    if len(shape) != 1:
        raise ConfigError.from_key(
            "errors.builder_needs_flat", shape=shape_text(shape), features=f"{math.prod(shape):,}"
        )
    out = _out(layer)
    return (out,), shape[0] * out + out, shape[0] * out


def _plan_layer(layer: BuilderLayer, shape: Shape) -> tuple[Shape, int, int]:
    """Return one layer's (output shape, parameters, MACs) for an input ``shape``; raises ConfigError."""
    kind = layer.kind
    if kind is BuilderKind.CONV:
        return _plan_conv(layer, shape)
    if kind in (BuilderKind.MAX_POOL, BuilderKind.AVG_POOL):
        return _plan_pool(layer, shape)
    if kind is BuilderKind.RESIDUAL:
        return _plan_residual(layer, shape)
    if kind is BuilderKind.LINEAR:
        return _plan_linear(layer, shape)
    if kind is BuilderKind.FLATTEN:
        return (math.prod(shape),), 0, 0
    if kind is BuilderKind.BATCH_NORM:
        return shape, 2 * shape[0], 0  # weight and bias per channel (running statistics are buffers)
    if kind is BuilderKind.DROPOUT and not 0 <= layer.p < 1:
        raise ConfigError.from_key("errors.builder_dropout_p", p=f"{layer.p:g}")
    return shape, 0, 0  # activations and dropout keep the shape


def _check_input(input_size: Sequence[int]) -> Shape:
    values = tuple(input_size)
    if len(values) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
        raise ConfigError.from_key("errors.builder_input_size", shape=" × ".join(map(str, values)))
    return values


def plan_network(rows: Sequence[Mapping[str, object]], input_size: Sequence[int]) -> NetworkPlan:
    """Plan every row for a (C, H, W) input: its output shape, parameters and MACs, or why it is impossible.

    An impossible row carries its keyed ConfigError (what is wrong, with the values, and what to
    change); the rows after it are not computed (status "skipped"). Raises ConfigError only when
    ``input_size`` is not three whole numbers ≥ 1.
    """
    shape: Shape | None = _check_input(input_size)
    planned = []
    for number, row in enumerate(rows, start=1):
        kind = str(row.get("kind") or "")
        if shape is None:
            planned.append(PlannedRow(number, kind, None, None, None, None))
            continue
        try:
            out_shape, params, macs = _plan_layer(parse_layer(row), shape)
        except ConfigError as err:
            planned.append(PlannedRow(number, kind, shape, None, None, None, err))
            shape = None
            continue
        planned.append(PlannedRow(number, kind, shape, out_shape, params, macs))
        shape = out_shape
    return NetworkPlan(_check_input(input_size), tuple(planned))

