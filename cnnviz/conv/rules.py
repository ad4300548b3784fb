"""The rules every layer argument follows, written once: pairs, padding, strides, windows, the average-pool divisor.

Sizes, kernels, strides, paddings and dilations are an int (the same for height and width) or an
``(h, w)`` tuple; :func:`as_pair` turns either into a checked ``(h, w)`` pair. A convolution's
padding is a number, a pair, ``"same"`` or ``"valid"``; :func:`conv_paddings` resolves it into the
zeros PyTorch really adds on each side. A pooling layer's stride defaults to its kernel
(:func:`pool_strides`); a transposed convolution is a direct one over a padded plane
(:func:`transpose_padding`). The helpers at the end write values into messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnviz.errors import ConfigError, Phrase

__all__ = [
    "ARGUMENT_NAMES",
    "DIMS",
    "IntOrPair",
    "Padding",
    "as_pair",
    "avg_pool_divisor",
    "conv_paddings",
    "kernel_span",
    "pool_strides",
    "same_padding",
    "spread_size",
    "transpose_padding",
    "window_reach",
]

IntOrPair = int | tuple[int, int]
Padding = IntOrPair | str


DIMS = ("height", "width")


ARGUMENT_NAMES = (  # every argument a message can name; each has a catalog key errors.name.<name, _ for spaces>
    "input size",
    "output size",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "output_padding",
    "value",
    "in_channels",
    "out_channels",
    "groups",
)


def as_pair(value: IntOrPair, name: str = "value", *, minimum: int = 0) -> tuple[int, int]:
    """Return ``value`` (an int or an (h, w) pair) as (h, w) ints ≥ ``minimum``.

    ``name`` names the argument in the message ("kernel", "stride", ...). Raises ConfigError for
    anything that is not one or two whole numbers, or for a value below ``minimum``.
    """
    values = (value, value) if isinstance(value, int) else tuple(value) if isinstance(value, Sequence) else ()
    if len(values) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ConfigError.from_key("errors.not_a_pair", name=argument_name(name), value=repr(value))
    if min(values) < minimum:
        raise ConfigError.from_key(
            "errors.below_minimum", name=argument_name(name), value=pair_text(values), minimum=minimum
        )
    return values  # type: ignore[return-value]


def kernel_span(kernel: int, dilation: int = 1) -> int:
    """Return the cells a dilated kernel covers along one dimension: D·(F − 1) + 1."""
    return dilation * (kernel - 1) + 1


def window_reach(out: int, stride: int, kernel: int, dilation: int = 1) -> int:
    """Return the cells (padding included) that ``out`` windows reach along one dimension: (O − 1)·S + D·(F − 1) + 1.

    A ceil-mode pooling window may reach past the padding; those cells do not count.
    """
    return (out - 1) * stride + kernel_span(kernel, dilation)


def pool_strides(stride: IntOrPair | None, kernel: IntOrPair) -> tuple[int, int]:
    """Return a pooling layer's stride pair: ``None`` means the kernel size (PyTorch's default: no overlap)."""
    return as_pair(kernel, "kernel", minimum=1) if stride is None else as_pair(stride, "stride", minimum=1)


def transpose_padding(kernel: int, dilation: int, padding: int) -> int:
    """Return the zeros around the spread-out input of a transposed convolution, per side: D·(F − 1) − P.

    Spread the input (S − 1 zeros between cells), pad it by this much (a negative amount crops) and
    an ordinary stride-1 convolution with the flipped kernel gives ``conv_transpose2d``'s result.
    """
    return dilation * (kernel - 1) - padding


def spread_size(size: int, stride: int) -> int:
    """Return the length of an input spread out with S − 1 zeros between its cells: (W − 1)·S + 1."""
    return (size - 1) * stride + 1


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """Return PyTorch's (left, right) padding for ``padding="same"``: the total D·(F − 1), extra on the right."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def avg_pool_divisor(start: int, kernel: int, size: int, padding: int) -> int:
    """Return how many cells one average-pooling window divides by along one dimension (PyTorch's rule).

    ``start`` is the window's first cell in input coordinates (``index·stride − padding``). Padding
    cells count (``count_include_pad=True``), cells beyond the padding do not, so a ceil-mode
    window that hangs over the edge divides by fewer. The 2-D divisor is the product of both.
    """
    return min(start + kernel, size + padding) - start


def conv_paddings(
    padding: Padding, kernel: IntOrPair, *, stride: IntOrPair = 1, dilation: IntOrPair = 1
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Return the zeros a convolution adds, ((top, bottom), (left, right)), as ``nn.Conv2d`` does.

    ``padding`` is a number or an (h, w) pair (the same on both sides), ``"valid"`` (none) or
    ``"same"`` (a total of D·(F − 1), the extra one on the bottom/right; stride 1 only).
    Raises ConfigError for another string, ``"same"`` with a stride, or a negative padding.
    """
    kernels, dilations = as_pair(kernel, "kernel", minimum=1), as_pair(dilation, "dilation", minimum=1)
    strides = as_pair(stride, "stride", minimum=1)
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ConfigError.from_key("errors.padding_unknown", padding=repr(padding))
        if strides != (1, 1):
            raise ConfigError.from_key("errors.same_needs_stride_1", stride=pair_text(strides))
        return same_padding(kernels[0], dilations[0]), same_padding(kernels[1], dilations[1])
    pad = as_pair(padding, "padding", minimum=0)
    return (pad[0], pad[0]), (pad[1], pad[1])


def argument_name(name: str) -> Phrase:
    """An argument name of ARGUMENT_NAMES ("kernel", "input size", ...) as a translatable phrase."""
    if name not in ARGUMENT_NAMES:
        raise ValueError(f"no catalog name for argument {name!r}: add it to ARGUMENT_NAMES")
    return Phrase(f"errors.name.{name.replace(' ', '_')}")


def pair_text(pair: tuple[int, int]) -> str:
    """Write a pair as "3" when both values agree, else "3×5"."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def which_dimension(pair_args: Sequence[tuple[int, int]], dim: int) -> Phrase | str:
    """Name the dimension in a message ("the height of ") only when height and width differ somewhere."""
    square = all(p[0] == p[1] for p in pair_args)
    return "" if square else Phrase(f"errors.which.{DIMS[dim]}")


def in_dimension(which: Phrase | str, dim: int) -> Phrase | str:
    """ " (height)" when the message must say which dimension, else ""."""
    return Phrase(f"errors.in_dim.{DIMS[dim]}") if which else ""


def all_scalar(*values: object) -> bool:
    return all(isinstance(v, int | str) or v is None for v in values)


def size_result(h: int, w: int, as_int: bool) -> IntOrPair:
    return h if as_int else (h, w)
