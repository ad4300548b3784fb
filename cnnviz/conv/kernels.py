"""Classic image kernels and convolution of a real photo, channel by channel, with PyTorch.

A 2-D kernel applied to an RGB image becomes a filter with as many channels as the image: the
same k×k numbers in each of the R, G and B slices (as a first ``nn.Conv2d`` layer would hold
them). :func:`apply_kernels` returns what our material teaches: the three per-channel results,
their sum plus the bias (one output map per kernel), and the K output maps stacked into an output
of depth K. :func:`zoom_output_pixel` shows the patch, kernel and dot product behind one output
pixel, with the same numbers PyTorch computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from cnnviz.conv.rules import conv_paddings
from cnnviz.conv.sizes import conv_output_size
from cnnviz.data.images import image_to_chw
from cnnviz.errors import ConfigError

__all__ = [
    "CUSTOM_MAX",
    "CUSTOM_MIN",
    "KERNELS",
    "FilterConfig",
    "FilterResult",
    "Kernel",
    "PixelZoom",
    "apply_kernels",
    "available_kernels",
    "custom_kernel",
    "filtered_image",
    "get_kernel",
    "zoom_output_pixel",
]

CUSTOM_MIN, CUSTOM_MAX = 3, 7  # custom kernels are square, 3×3 … 7×7
Padding = int | str  # an int ≥ 0, "same" or "valid"


@dataclass(frozen=True)
class Kernel:
    """A named 2-D kernel; ``weights`` is a tuple of rows so the kernel is hashable (cache keys)."""

    name: str  # registry key, e.g. "sobel_x"; "custom" for a user's kernel
    weights: tuple[tuple[float, ...], ...]  # (kh, kw)

    @property
    def size(self) -> tuple[int, int]:
        return len(self.weights), len(self.weights[0])

    def array(self) -> np.ndarray:
        """Return the weights as a float32 array (kh, kw)."""
        return np.asarray(self.weights, dtype=np.float32)


def _kernel(name: str, rows: Sequence[Sequence[float]], scale: float = 1.0) -> Kernel:
    return Kernel(name, tuple(tuple(float(v) * scale for v in row) for row in rows))


_GAUSS5 = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])  # binomial approximation of a Gaussian, σ ≈ 1
KERNELS: dict[str, Kernel] = {
    k.name: k
    for k in (
        _kernel("identity", [[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        _kernel("box_blur", [[1, 1, 1]] * 3, 1 / 9),
        _kernel("gaussian_blur", [[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
        _kernel("gaussian_blur_5x5", _GAUSS5.tolist(), 1 / 256),
        _kernel("sharpen", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        _kernel("sobel_x", [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        _kernel("sobel_y", [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
        _kernel("prewitt_x", [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
        _kernel("prewitt_y", [[-1, -1, -1], [0, 0, 0], [1, 1, 1]]),
        _kernel("laplacian", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        _kernel("emboss", [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
        _kernel("outline", [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    )
}


def available_kernels() -> list[str]:
    """Return the names of the classic kernels, in teaching order."""
    return list(KERNELS)


def get_kernel(name: str) -> Kernel:
    """Return the classic kernel ``name``. Raises ConfigError listing the valid names."""
    try:
        return KERNELS[name]
    except KeyError:
        raise ConfigError.from_key("errors.kernel_unknown", name=repr(name), names=", ".join(KERNELS)) from None


def custom_kernel(values: Sequence[Sequence[float]] | np.ndarray, *, name: str = "custom") -> Kernel:
    """Validate a user's square kernel of 3×3 to 7×7 finite numbers and return it.

    Raises ConfigError for a ragged, non-square, wrongly sized, empty or non-numeric grid.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError.from_key("errors.custom_kernel_not_numbers") from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or not CUSTOM_MIN <= arr.shape[0] <= CUSTOM_MAX:
        raise ConfigError.from_key(
            "errors.custom_kernel_shape",
            shape="×".join(map(str, arr.shape)) if arr.size else "0×0",
            smallest=f"{CUSTOM_MIN}×{CUSTOM_MIN}",
            largest=f"{CUSTOM_MAX}×{CUSTOM_MAX}",
        )
    if not np.isfinite(arr).all():
        raise ConfigError.from_key("errors.custom_kernel_not_finite")
    return Kernel(name, tuple(tuple(float(v) for v in row) for row in arr))


@dataclass(frozen=True)
class FilterConfig:
    """How to convolve an image: K kernels with one shared stride / padding / dilation / bias."""

    kernels: tuple[Kernel, ...]  # K ≥ 1 kernels of the same size; each is copied into every input channel
    stride: int = 1  # S
    padding: Padding = 0  # zeros on every side, or "same" (stride 1) / "valid"
    dilation: int = 1  # D: kernel taps D pixels apart
    bias: float = 0.0  # added to every kernel's output map


@dataclass(frozen=True)
class FilterResult:
    """Everything the filter page shows; arrays are float32 NumPy."""

    input: np.ndarray  # (C, H, W) the image in [0, 1]
    weight: np.ndarray  # (K, C, kh, kw) the filters
    bias: np.ndarray  # (K,)
    pads: tuple[int, int, int, int]  # zeros added (top, bottom, left, right)
    per_channel: np.ndarray  # (K, C, Ho, Wo) each input channel convolved with its kernel slice
    output: np.ndarray  # (K, Ho, Wo) = F.conv2d(input, weight, bias): sum over channels + bias
    stride: int
    dilation: int

    @property
    def in_shape(self) -> tuple[int, int, int]:
        return tuple(self.input.shape)  # (C, H, W)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return tuple(self.output.shape)  # (K, Ho, Wo)


def apply_kernels(image: Image.Image | np.ndarray, config: FilterConfig) -> FilterResult:
    """Convolve an image with K kernels as one ``nn.Conv2d(C, K)`` layer would, keeping every step.

    image: a PIL image or a (C, H, W) float array. Output size from ``cnnviz.conv.sizes``.
    Raises ConfigError when the kernels differ in size or the (dilated) kernel does not fit.
    """
    x = image_to_chw(image) if isinstance(image, Image.Image) else np.asarray(image, dtype=np.float32)
    if not config.kernels:
        raise ConfigError.from_key("errors.no_kernel")
    sizes = {k.size for k in config.kernels}
    if len(sizes) > 1:
        raise ConfigError.from_key("errors.kernel_sizes_differ", sizes=", ".join(f"{h}×{w}" for h, w in sorted(sizes)))
    kernel_size = sizes.pop()
    channels, height, width = x.shape
    out_h, out_w = conv_output_size((height, width), kernel_size, config.stride, config.padding, config.dilation)
    stride, dilation = config.stride, config.dilation
    (top, bottom), (left, right) = conv_paddings(config.padding, kernel_size, stride=stride, dilation=dilation)
    pads = (top, bottom, left, right)
    weight = np.stack([np.broadcast_to(k.array(), (channels, *kernel_size)) for k in config.kernels])  # (K, C, kh, kw)
    bias = np.full(len(config.kernels), config.bias, dtype=np.float32)
    with torch.no_grad():
        padded = F.pad(torch.from_numpy(x)[None], (pads[2], pads[3], pads[0], pads[1]))  # (1, C, H+, W+)
        w = torch.from_numpy(weight)
        output = F.conv2d(padded, w, torch.from_numpy(bias), stride=config.stride, dilation=config.dilation)
        # Per channel: a grouped convolution; group c holds the c-th slice of every kernel.
        depthwise = w.transpose(0, 1).reshape(channels * len(config.kernels), 1, *kernel_size)
        per_channel = F.conv2d(padded, depthwise, stride=config.stride, dilation=config.dilation, groups=channels)
    per_channel = per_channel[0].reshape(channels, len(config.kernels), out_h, out_w).transpose(0, 1)
    return FilterResult(
        input=x,
        weight=weight,
        bias=bias,
        pads=pads,
        per_channel=per_channel.numpy(),  # (K, C, Ho, Wo)
        output=output[0].numpy(),  # (K, Ho, Wo)
        stride=config.stride,
        dilation=config.dilation,
    )


@dataclass(frozen=True)
class PixelZoom:
    """The numbers behind one output pixel: patch × kernel, summed per channel, plus bias."""

    rows: tuple[int, ...]  # input rows the kernel taps (negative or ≥ H: padding zeros)
    cols: tuple[int, ...]  # input columns the kernel taps
    patch: np.ndarray  # (C, kh, kw) input values under the kernel (0 in the padding)
    kernel: np.ndarray  # (C, kh, kw)
    products: np.ndarray  # (C, kh, kw) patch * kernel
    channel_sums: np.ndarray  # (C,) sum of products per channel = per_channel result at this pixel
    bias: float
    value: float  # channel_sums.sum() + bias, recomputed here in float64
    pytorch_value: float  # what F.conv2d produced at this pixel


def zoom_output_pixel(result: FilterResult, kernel_index: int, row: int, col: int) -> PixelZoom:
    """Return the patch, kernel and dot product producing output pixel (row, col) of map ``kernel_index``.

    Raises ConfigError for an index outside the output.
    """
    k_count, out_h, out_w = result.out_shape
    if not (0 <= kernel_index < k_count and 0 <= row < out_h and 0 <= col < out_w):
        raise ConfigError.from_key(
            "errors.pixel_outside",
            map=kernel_index,
            row=row,
            col=col,
            shape=f"{k_count}×{out_h}×{out_w}",
            maps=k_count,
            rows=out_h,
            cols=out_w,
        )
    kernel = result.weight[kernel_index]  # (C, kh, kw)
    kh, kw = kernel.shape[1:]
    top, _, left, _ = result.pads
    rows = tuple(row * result.stride - top + i * result.dilation for i in range(kh))
    cols = tuple(col * result.stride - left + j * result.dilation for j in range(kw))
    _, height, width = result.in_shape
    patch = np.zeros_like(kernel)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            if 0 <= r < height and 0 <= c < width:
                patch[:, i, j] = result.input[:, r, c]
    products = patch * kernel
    channel_sums = products.astype(np.float64).sum(axis=(1, 2))
    bias = float(result.bias[kernel_index])
    return PixelZoom(
        rows=rows,
        cols=cols,
        patch=patch,
        kernel=kernel,
        products=products,
        channel_sums=channel_sums,
        bias=bias,
        value=float(channel_sums.sum() + bias),
        pytorch_value=float(result.output[kernel_index, row, col]),
    )


def filtered_image(result: FilterResult, kernel_index: int = 0) -> Image.Image:
    """Return kernel ``kernel_index``'s per-channel results as an image, clipped to [0, 1] as a photo editor would.

    For a blur or sharpen kernel this is the filtered colour photo; values below 0 become black.
    """
    chw = np.clip(result.per_channel[kernel_index], 0.0, 1.0)  # (C, Ho, Wo)
    arr = np.rint(chw * 255).astype(np.uint8)
    return Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0))
