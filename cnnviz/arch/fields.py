"""Receptive fields followed through any network, branches and skips included, during one forward pass.

Every tensor of the pass carries a :class:`UnitField`: the size of the input window one of its units
sees and the jump (input pixels between neighbouring units). Convolution and pooling layers grow
it (``size + (k - 1)·dilation·jump``, ``jump·stride``: the rule of :func:`cnnviz.conv.walk_stack`);
every other operation passes it on, and an operation that merges tensors (a residual addition, a
concatenation) keeps the largest window and jump of its inputs: a unit of the result sees the union
of what its inputs saw. The tracker is a ``TorchFunctionMode``, so functional code between layers
(``out += identity``, ``torch.cat``) is followed too; it holds references to the tensors it tracks,
which costs nothing on the meta device where summaries run. Resampling written as a function call
between layers (``F.interpolate``, ``F.max_pool2d`` outside a module) passes the field on unchanged:
only layers (modules) grow it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from cnnviz.conv.rules import as_pair

__all__ = ["UnitField", "FieldTracker", "module_field"]


@dataclass(frozen=True)
class UnitField:
    """What one unit of a feature map sees: window size and jump, in input pixels, per (height, width)."""

    size: tuple[int, int]  # (h, w) of the window
    jump: tuple[int, int]  # input pixels between neighbouring units

    @classmethod
    def pixel(cls) -> UnitField:
        """The field of the input itself: each unit sees one pixel."""
        return cls((1, 1), (1, 1))

    @property
    def side(self) -> int:
        """The larger side of the window."""
        return max(self.size)

    def through(self, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]) -> UnitField:
        """The field after a conv or pooling window (kernel, stride, dilation); padding does not move it."""
        size = tuple(s + (k - 1) * d * j for s, k, d, j in zip(self.size, kernel, dilation, self.jump, strict=True))
        jump = tuple(j * s for j, s in zip(self.jump, stride, strict=True))
        return UnitField(size, jump)  # type: ignore[arg-type]

    @staticmethod
    def union(fields: list[UnitField]) -> UnitField:
        """The field of a tensor merged from others: the largest window and jump."""
        return UnitField(tuple(max(f.size[i] for f in fields) for i in range(2)),  # type: ignore[arg-type]
                     tuple(max(f.jump[i] for f in fields) for i in range(2)))  # fmt: skip


_UNTRACKED = object()  # a tensor the tracker has not seen (weights, constants)


def _tensors(value: object) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


# Element-wise functions whose result has their input's shape; on the meta device their (slow, Python-written)
# shape rules are skipped. Value: True when the call always works in place.
_SAME_SHAPE = {F.batch_norm: False, F.relu: False, F.hardtanh: False, F.relu6: False, F.silu: False,
               F.gelu: False, F.dropout: False, F.local_response_norm: False, torch.relu_: True,
               Tensor.relu_: True}  # fmt: skip


class FieldTracker(TorchFunctionMode):
    """Pass every tracked tensor's field on to the results of each torch operation run inside the ``with`` block.

    ``None`` is a known tensor without a defined field; it wins over any field when merged. With
    ``shapes_only``, element-wise functions (batch norm, ReLU, dropout, ...) on meta tensors are
    not run: their result is an empty meta tensor of the input's shape, or the input itself for an
    in-place call (on the meta device only shapes exist, and their shape rules cost most of a pass).
    """

    def __init__(self, *, shapes_only: bool = False) -> None:
        super().__init__()
        self._fields: dict[int, tuple[Tensor, UnitField | None]] = {}  # id → (the tensor, kept alive; its field)
        self._shapes_only = shapes_only

    def set_field(self, tensor: Tensor, value: UnitField | None) -> None:
        self._fields[id(tensor)] = (tensor, value)

    def field_of(self, tensor: Tensor | None) -> UnitField | None:
        """The tensor's field; None when it has none or is not tracked."""
        entry = None if tensor is None else self._fields.get(id(tensor))
        return None if entry is None or entry[0] is not tensor else entry[1]

    def _lookup(self, tensor: Tensor) -> object:
        entry = self._fields.get(id(tensor))
        return _UNTRACKED if entry is None or entry[0] is not tensor else entry[1]

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204 - torch's protocol
        kwargs = kwargs or {}
        out = self._same_shape(func, args, kwargs) if self._shapes_only else None
        out = func(*args, **kwargs) if out is None else out
        results = _tensors(out)
        if not results:  # sizes, flags, numbers: nothing to follow
            return out
        known = [f for f in map(self._lookup, _tensors((args, kwargs))) if f is not _UNTRACKED]
        if known:
            merged = None if any(f is None for f in known) else UnitField.union(known)  # type: ignore[arg-type]
            for tensor in results:
                self.set_field(tensor, merged)
        return out

    @staticmethod
    def _same_shape(func, args: tuple, kwargs: dict) -> Tensor | None:  # noqa: ANN001 - any torch callable
        """The result of an element-wise ``func`` on a meta tensor without running it; None for other calls."""
        always = _SAME_SHAPE.get(func)
        if always is None or not args or not isinstance(args[0], Tensor) or not args[0].is_meta:
            return None
        return args[0] if always or kwargs.get("inplace") else torch.empty_like(args[0])


_POOL = (nn.MaxPool2d, nn.AvgPool2d)
_ADAPTIVE = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_RESAMPLING = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Conv1d, nn.Conv3d, nn.Upsample,
               nn.MaxPool1d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool3d, nn.PixelShuffle, nn.PixelUnshuffle,
               nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool3d,
               nn.FractionalMaxPool2d, nn.LPPool2d, nn.Fold, nn.Unfold)  # fmt: skip


def module_field(module: nn.Module, before: UnitField | None, x: Tensor | None, y: Tensor) -> UnitField | None | bool:
    """The field of a spatial layer's output (None where it is not a whole window), or False for other layers.

    ``before`` is the field of the layer's input ``x``; ``y`` its output. Other layers (batch norm,
    activations, ...) return False: the tracker has already passed their input's field on.
    """
    if isinstance(module, (nn.Conv2d, *_POOL)):
        if before is None:
            return None
        stride = module.kernel_size if getattr(module, "stride", None) in (None, ()) else module.stride
        return before.through(as_pair(module.kernel_size), as_pair(stride), as_pair(getattr(module, "dilation", 1)))
    if isinstance(module, _ADAPTIVE):
        if before is None or x is None or x.dim() < 3:
            return None
        (h, w), (oh, ow) = x.shape[-2:], y.shape[-2:]
        if h % oh or w % ow:
            return None
        kernel = (h // oh, w // ow)
        return before.through(kernel, kernel, (1, 1))
    if isinstance(module, _RESAMPLING):
        return None
    return False
