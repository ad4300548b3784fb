"""A per-layer summary of any network: output shapes, parameters, multiply-accumulates and receptive fields.

``summarize(model, (C, H, W))`` runs one forward pass of a copy of the model on PyTorch's ``meta``
device (shapes only: no weight is allocated, so VGG-19 costs nothing), records every layer call
through :mod:`cnnviz.explain.hooks`, and collects the statistics into a :class:`Summary` that pages
and the CSV export format, as torchinfo's ``summary()`` does.

What is counted, and how:
- Rows: one per layer, in the order the forward pass first calls it. A layer is a leaf module (one
  without children), or a module that holds parameters of its own. A module called several times
  (torchvision's ResNet blocks reuse one ReLU) is one row: its parameters counted once, its MACs
  summed over the calls, its shapes those of the first call (``calls`` says how many). A parameter
  shared by several modules is counted in the first of them only. Modules that never run but hold
  parameters come last, with no shape, so the parameter column always adds up to ``sum(p.numel())``.
- Shapes are of one image: the batch dimension is dropped, ``(C, H, W)`` for a feature map.
- MACs (multiply-accumulates) are counted for convolutions and linear layers only, the work that
  ``torch.utils.flop_counter`` counts (its FLOPs are 2 × MACs) and that torchvision's published
  GFLOPS count. Batch norm, activations, pooling, additions and concatenations are left out (``"—"``);
  biases are left out too.
- Receptive field: the side, in input pixels, of the largest window a unit of the layer's output
  can see (the larger side when it is not square), followed through every path of the network:
  where paths merge (a residual addition, an inception concatenation) the result sees the union,
  the largest of the windows (a channel of a concatenation that came from a shorter branch sees
  less). ``None`` for outputs without a spatial map (after ``flatten``, linear layers) and
  after layers whose window is not a whole number of pixels (transposed convolutions, upsampling,
  adaptive pooling that does not divide its input evenly).
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from cnnviz.arch.fields import FieldTracker, UnitField, module_field
from cnnviz.errors import ConfigError
from cnnviz.explain.hooks import observe_calls

__all__ = ["CSV_COLUMNS", "LayerRow", "StageTotal", "Summary", "mac_formula", "meta_copy", "summarize"]

CSV_COLUMNS = ("name", "kind", "depth", "input_shape", "output_shape", "params", "trainable", "macs", "formula",
               "receptive_field", "params_share", "macs_share", "calls")  # fmt: skip
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


@dataclass(frozen=True)
class LayerRow:
    """One layer of the summary; shapes are of one image (batch dropped)."""

    name: str  # dotted module name ("layer1.0.conv1"); "(model)" for parameters the model holds itself
    kind: str  # class name ("Conv2d")
    depth: int  # nesting level: 1 for a child of the model, 2 for a grandchild, ...; 0 for "(model)"
    input_shape: tuple[int, ...] | None  # first input of the first call, e.g. (64, 56, 56); None if never run
    output_shape: tuple[int, ...] | None  # output of the first call, e.g. (64, 56, 56); None if never run
    params: int  # parameters this row holds (shared ones counted once, in their first module)
    trainable: int  # of which requires_grad
    macs: int  # multiply-accumulates of one image, summed over the calls
    formula: str  # how this layer type's MACs are counted, "—" when they are not
    receptive_field: int | None  # side in input pixels of what one output unit sees; None: not defined
    params_share: float  # params / the summary's total parameters (0 when the model has none)
    macs_share: float  # macs / the summary's total MACs (0 when it has none)
    calls: int = 1  # how many times the forward pass called it


@dataclass(frozen=True)
class StageTotal:
    """The rows under one module name prefix added up (``Summary.stages``)."""

    name: str  # the prefix ("layer1", "features")
    params: int
    macs: int
    params_share: float
    macs_share: float
    output_shape: tuple[int, ...] | None  # output of the stage's last row


@dataclass(frozen=True)
class Summary:
    """Every layer of one network for one input, and the totals."""

    model_name: str  # class name of the model ("ResNet")
    input_size: tuple[int, int, int]  # (C, H, W)
    output_shape: tuple[int, ...]  # of the model's output for one image, e.g. (1000,)
    rows: tuple[LayerRow, ...]
    total_params: int  # sum(p.numel()) over the model's parameters
    total_trainable: int  # the same, requires_grad only
    total_macs: int  # sum of the rows' MACs

    def to_csv(self) -> str:
        """Return the rows as CSV: a header of ``CSV_COLUMNS``, one line per row, then a "total" line.

        Shapes are written "64×56×56", shares as fractions with 6 decimals, None as an empty cell.
        """
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.rows:
            writer.writerow([_csv_value(getattr(row, column)) for column in CSV_COLUMNS])
        total = {"name": "total", "kind": self.model_name, "output_shape": self.output_shape,
                 "params": self.total_params, "trainable": self.total_trainable, "macs": self.total_macs,
                 "params_share": float(self.total_params > 0), "macs_share": float(self.total_macs > 0)}  # fmt: skip
        writer.writerow([_csv_value(total.get(column)) for column in CSV_COLUMNS])
        return out.getvalue()

    def stages(self, depth: int = 1) -> list[StageTotal]:
        """Add up the rows by the first ``depth`` parts of their names ("layer1.0.conv1" → "layer1"), in order."""
        groups: dict[str, list[LayerRow]] = {}
        for row in self.rows:
            groups.setdefault(".".join(row.name.split(".")[:depth]), []).append(row)
        return [
            StageTotal(name, params, macs, _share(params, self.total_params), _share(macs, self.total_macs),
                       next((r.output_shape for r in reversed(rows) if r.output_shape is not None), None))
            for name, rows in groups.items()
            for params, macs in [(sum(r.params for r in rows), sum(r.macs for r in rows))]
        ]  # fmt: skip


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return "×".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.6f}"
    return value


def _share(part: int, total: int) -> float:
    return part / total if total else 0.0


def mac_formula(module: nn.Module) -> str:
    """Return how ``module``'s MACs are counted ("C_out·H_out·W_out·(C_in/groups)·k_h·k_w"); "—" when they are not."""
    if isinstance(module, _CONV):
        dims = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[len(module.kernel_size)]
        sizes = "·".join(f"{d}_out" for d in dims)
        kernel = "·".join(f"k_{d.lower()}" for d in dims)
        return f"C_out·{sizes}·(C_in/groups)·{kernel}"
    if isinstance(module, _CONV_T):
        dims = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[len(module.kernel_size)]
        sizes = "·".join(f"{d}_in" for d in dims)
        kernel = "·".join(f"k_{d.lower()}" for d in dims)
        return f"C_in·{sizes}·(C_out/groups)·{kernel}"
    if isinstance(module, nn.Linear):
        return "out_features·in_features"
    return "—"


def _macs(module: nn.Module, inputs: tuple, output: Tensor) -> int:
    """Multiply-accumulates of one call (as torch.utils.flop_counter counts them, halved; bias left out)."""
    if isinstance(module, _CONV):
        return output.numel() * (module.in_channels // module.groups) * _prod(module.kernel_size)
    if isinstance(module, _CONV_T):
        return inputs[0].numel() * (module.out_channels // module.groups) * _prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def _prod(values: Sequence[int]) -> int:
    result = 1
    for v in values:
        result *= int(v)
    return result


def meta_copy(model: nn.Module) -> nn.Module:
    """Return ``model`` itself when it already lives on the meta device, else a copy there (no weight is copied)."""
    tensors = list(itertools.chain(model.parameters(), model.buffers()))
    if all(t.is_meta for t in tensors):
        return model
    memo: dict[int, object] = {}
    for p in model.parameters():
        memo[id(p)] = nn.Parameter(torch.empty_like(p, device="meta"), requires_grad=p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = torch.empty_like(b, device="meta")
    return copy.deepcopy(model, memo)


def _row_modules(model: nn.Module) -> dict[str, nn.Module]:
    """The modules that get a row: leaves, and modules holding parameters of their own (the model itself included)."""
    return {
        name: module
        for name, module in model.named_modules()
        if (name and not any(True for _ in module.children())) or any(True for _ in module.parameters(recurse=False))
    }


@dataclass
class _Record:
    """What the forward pass told about one row module (mutable while the pass runs)."""

    calls: int = 0
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    macs: int = 0
    field: UnitField | None = None
    first: int = -1  # position of its first call in the pass


def _first_tensor(value: object) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, list | tuple):
        return next((t for t in map(_first_tensor, value) if t is not None), None)
    return None


def _check_input_size(input_size: Sequence[int]) -> tuple[int, int, int]:
    """Return (C, H, W) as ints; ConfigError unless three whole numbers from 1 to 4096 (NumPy ints are fine)."""
    size = tuple(input_size)
    whole = all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size)
    if len(size) != 3 or not whole or not all(1 <= s <= 4096 for s in size):
        raise ConfigError.from_key("errors.summary_input_size", size="×".join(map(str, size)) or "—")
    return tuple(int(s) for s in size)  # type: ignore[return-value]


def _expected_channels(model: nn.Module) -> int | None:
    first = next((m for m in model.modules() if isinstance(m, (*_CONV, *_CONV_T, nn.Linear))), None)
    if first is None:
        return None
    return first.in_features if isinstance(first, nn.Linear) else first.in_channels


def _run(model: nn.Module, size: tuple[int, int, int], names: list[str]) -> tuple[Tensor, dict[str, _Record]]:
    """One forward pass on meta zeros (1, C, H, W): each row module's calls, shapes, MACs and receptive field."""
    records = {name: _Record() for name in names}
    tracker = FieldTracker(shapes_only=True)
    position = itertools.count()

    def observe(name: str, module: nn.Module, inputs: tuple, output: object) -> None:
        x, y = _first_tensor(inputs), _first_tensor(output)
        if y is None:
            return
        record = records[name]
        record.calls += 1
        record.macs += _macs(module, inputs, y)
        y_field = module_field(module, tracker.field_of(x), x, y)
        if y_field is not False:  # a spatial layer: its window replaces what its inner ops passed on
            tracker.set_field(y, y_field)
        if record.calls == 1:
            record.first = next(position)
            record.input_shape = None if x is None else tuple(x.shape[1:])
            record.output_shape = tuple(y.shape[1:])
            record.field = tracker.field_of(y)

    param = next(itertools.chain(model.parameters(), model.buffers()), None)
    x = torch.zeros(1, *size, device="meta", dtype=torch.float32 if param is None else param.dtype)
    tracker.set_field(x, UnitField.pixel())
    hooked = [name for name in names if name]  # the model itself ("") has no hook: it is observed below
    with observe_calls(model, hooked, observe), torch.no_grad(), tracker:
        out = model(x)
        if "" in records:
            observe("", model, (x,), out)
    return out, records


def summarize(model: nn.Module, input_size: Sequence[int]) -> Summary:
    """Summarise ``model`` layer by layer for one image of ``input_size`` (C, H, W), on the meta device.

    The model is not changed (a meta copy runs when it is not on the meta device already; its mode
    is restored). Returns a :class:`Summary`. Raises ConfigError when ``input_size`` is not three
    positive sizes, or the input does not go through the network (wrong channels, too small).
    """
    size = _check_input_size(input_size)
    meta = meta_copy(model)
    modules = _row_modules(meta)
    try:
        out, records = _run(meta, size, list(modules))
    except RuntimeError as err:
        expected = _expected_channels(meta)
        if expected is not None and expected != size[0]:
            raise ConfigError.from_key("errors.summary_channels", model=type(model).__name__,
                                       channels=size[0], expected=expected) from err  # fmt: skip
        raise ConfigError.from_key("errors.summary_forward_failed", model=type(model).__name__,
                                   size="×".join(map(str, size))) from err  # fmt: skip
    return _package(type(model).__name__, size, _first_tensor(out), modules, records)


def _package(model_name: str, size: tuple[int, int, int], out: Tensor | None,
             modules: dict[str, nn.Module], records: dict[str, _Record]) -> Summary:  # fmt: skip
    """Turn the records into rows (called ones in call order, never-called ones with parameters last) and totals."""
    seen: set[int] = set()
    counts: dict[str, tuple[int, int]] = {}
    called = sorted((n for n in modules if records[n].calls), key=lambda n: records[n].first)
    order = called + [n for n in modules if not records[n].calls]  # never called: definition order
    for name in order:
        params = [p for p in modules[name].parameters(recurse=False) if id(p) not in seen]
        seen.update(id(p) for p in params)
        counts[name] = (sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad))
    total_params = sum(c[0] for c in counts.values())
    total_macs = sum(records[n].macs for n in order)
    rows = tuple(
        LayerRow(name=name or "(model)", kind=type(modules[name]).__name__, depth=name.count(".") + 1 if name else 0,
                 input_shape=records[name].input_shape, output_shape=records[name].output_shape,
                 params=counts[name][0], trainable=counts[name][1], macs=records[name].macs,
                 formula=mac_formula(modules[name]), receptive_field=_side(records[name]),
                 params_share=_share(counts[name][0], total_params), macs_share=_share(records[name].macs, total_macs),
                 calls=records[name].calls)
        for name in order
        if records[name].calls or counts[name][0]
    )  # fmt: skip
    return Summary(model_name, size, () if out is None else tuple(out.shape[1:]), rows, total_params,
                   sum(c[1] for c in counts.values()), total_macs)  # fmt: skip


def _side(record: _Record) -> int | None:
    """The receptive field's larger side, or None where it is not defined."""
    if record.field is None or record.output_shape is None or len(record.output_shape) < 2:
        return None
    return record.field.side
