"""Kernels and pooling on images, checked against torch.nn.functional and cnnviz.conv."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from cnnviz.conv import (
    KERNELS,
    FilterConfig,
    PoolConfig,
    PoolKind,
    apply_kernels,
    available_kernels,
    conv_output_size,
    custom_kernel,
    filtered_image,
    get_kernel,
    grid_cells,
    image_grid,
    pool_maps,
    pool_output_size,
    zoom_output_pixel,
)
from cnnviz.errors import ConfigError


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((3, 13, 17), dtype=np.float32)  # (C, H, W), odd sizes on purpose


def torch_conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, **kw: object) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns about "same" with even kernels
        out = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(weight), torch.from_numpy(bias), **kw)
    return out[0].numpy()


# --- registry and custom kernels ------------------------------------------------------------------


def test_registry_has_the_classic_kernels() -> None:
    names = set(available_kernels())
    expected = {"identity", "box_blur", "gaussian_blur", "sharpen", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y"}
    assert expected | {"laplacian", "emboss", "outline"} <= names
    for name in ("box_blur", "gaussian_blur", "gaussian_blur_5x5"):
        assert KERNELS[name].array().sum() == pytest.approx(1.0, abs=1e-6)  # blurs keep brightness
    for name in ("sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "laplacian", "outline"):
        assert KERNELS[name].array().sum() == pytest.approx(0.0, abs=1e-6)  # edges: flat areas → 0
    with pytest.raises(ConfigError, match="sobel_x"):
        get_kernel("sobel")


def test_custom_kernel_validation() -> None:
    kernel = custom_kernel([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert kernel.size == (3, 3) and kernel.array()[2, 0] == 7
    assert custom_kernel(np.ones((7, 7))).size == (7, 7)
    for bad in ([[1, 2], [3, 4]], np.ones((8, 8)), np.ones((3, 4)), [[1, 2, 3], [4, 5]], [], np.ones((3, 3, 3))):
        with pytest.raises(ConfigError, match="custom kernel"):
            custom_kernel(bad)
    with pytest.raises(ConfigError, match="an empty or infinite cell"):
        custom_kernel([[1, 2, 3], [4, float("nan"), 6], [7, 8, 9]])
    with pytest.raises(ConfigError, match="a cell that is not a number: type a number in every cell") as info:
        custom_kernel([["a", 2, 3], [4, 5, 6], [7, 8, 9]])
    assert "could not convert" not in str(info.value)  # NumPy's own words are not for the learner
    with pytest.raises(ConfigError, match="the custom kernel is 0×0 cells"):
        custom_kernel([])


# --- convolution against PyTorch ------------------------------------------------------------------

GRID = list(itertools.product([1, 2, 3], [0, 1, 2, "same", "valid"], [1, 2]))


@pytest.mark.parametrize(("stride", "padding", "dilation"), GRID)
def test_apply_kernels_matches_conv2d(image: np.ndarray, stride: int, padding: int | str, dilation: int) -> None:
    if padding == "same" and stride > 1:
        with pytest.raises(ConfigError, match="same"):
            apply_kernels(image, FilterConfig((get_kernel("sobel_x"),), stride=stride, padding=padding))
        return
    kernels = (get_kernel("sobel_x"), get_kernel("gaussian_blur"), get_kernel("emboss"))
    config = FilterConfig(kernels, stride=stride, padding=padding, dilation=dilation, bias=0.25)
    result = apply_kernels(image, config)
    weight = np.stack([np.stack([k.array()] * 3) for k in kernels])  # (K, C, 3, 3)
    expected = torch_conv(
        image, weight, np.full(3, 0.25, np.float32), stride=stride, padding=padding, dilation=dilation
    )
    np.testing.assert_allclose(result.output, expected, rtol=1e-5, atol=1e-5)
    assert result.out_shape == (3, *conv_output_size((13, 17), 3, stride, padding, dilation))
    # Per-channel results: each channel alone, and their sum + bias is the output map.
    for c in range(3):
        alone = torch_conv(image[c : c + 1], weight[:, c : c + 1], np.zeros(3, np.float32), stride=stride,
                           padding=padding, dilation=dilation)  # fmt: skip
        np.testing.assert_allclose(result.per_channel[:, c], alone, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.per_channel.sum(axis=1) + 0.25, result.output, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [4, 6])
def test_even_custom_kernel_same_padding(image: np.ndarray, size: int) -> None:
    rng = np.random.default_rng(size)
    kernel = custom_kernel(rng.normal(size=(size, size)))
    result = apply_kernels(image, FilterConfig((kernel,), padding="same", dilation=1))
    expected = torch_conv(image, np.stack([np.stack([kernel.array()] * 3)]), np.zeros(1, np.float32), padding="same")
    np.testing.assert_allclose(result.output, expected, rtol=1e-5, atol=1e-5)
    assert result.out_shape == (1, 13, 17)


def test_apply_kernels_on_pil_and_input_unchanged() -> None:
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    before = arr.copy()
    result = apply_kernels(Image.fromarray(arr), FilterConfig((get_kernel("identity"),), padding=1))
    np.testing.assert_array_equal(arr, before)
    assert result.in_shape == (3, 20, 30)
    np.testing.assert_allclose(result.per_channel[0], arr.transpose(2, 0, 1) / 255.0, atol=1e-6)
    photo = filtered_image(result)
    np.testing.assert_array_equal(np.asarray(photo), arr)  # identity kernel: the same photo back


def test_apply_kernels_errors(image: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="at least one"):
        apply_kernels(image, FilterConfig(()))
    with pytest.raises(ConfigError, match=r"the kernels have different sizes \(3×3, 5×5\): pick kernels of one size"):
        apply_kernels(image, FilterConfig((get_kernel("sobel_x"), get_kernel("gaussian_blur_5x5"))))
    with pytest.raises(ConfigError, match="does not fit"):
        apply_kernels(image, FilterConfig((custom_kernel(np.ones((7, 7))),), dilation=3))


@pytest.mark.parametrize(("stride", "padding", "dilation"), [(1, 0, 1), (2, 1, 1), (1, "same", 2), (3, 2, 2)])
def test_zoom_gives_pytorch_numbers(image: np.ndarray, stride: int, padding: int | str, dilation: int) -> None:
    config = FilterConfig((get_kernel("sobel_y"), get_kernel("sharpen")), stride=stride, padding=padding,
                          dilation=dilation, bias=-0.5)  # fmt: skip
    result = apply_kernels(image, config)
    _, out_h, out_w = result.out_shape
    for k, row, col in [(0, 0, 0), (1, out_h - 1, out_w - 1), (1, out_h // 2, out_w // 3)]:
        zoom = zoom_output_pixel(result, k, row, col)
        assert zoom.value == pytest.approx(zoom.pytorch_value, abs=1e-5)
        assert zoom.pytorch_value == pytest.approx(float(result.output[k, row, col]))
        np.testing.assert_allclose(zoom.channel_sums, result.per_channel[k, :, row, col], atol=1e-5)
        np.testing.assert_allclose(zoom.products, zoom.patch * zoom.kernel)
        assert zoom.bias == -0.5
        assert len(zoom.rows) == 3 and zoom.rows[1] - zoom.rows[0] == dilation


def test_zoom_corner_reads_padding_zeros(image: np.ndarray) -> None:
    result = apply_kernels(image, FilterConfig((get_kernel("box_blur"),), padding=1))
    zoom = zoom_output_pixel(result, 0, 0, 0)
    assert zoom.rows == (-1, 0, 1) and zoom.cols == (-1, 0, 1)
    assert (zoom.patch[:, 0, :] == 0).all() and (zoom.patch[:, :, 0] == 0).all()
    np.testing.assert_allclose(zoom.patch[:, 1:, 1:], image[:, :2, :2])
    with pytest.raises(ConfigError, match="outside"):
        zoom_output_pixel(result, 0, 13, 0)
    with pytest.raises(ConfigError, match="outside"):
        zoom_output_pixel(result, 1, 0, 0)


# --- pooling against PyTorch ----------------------------------------------------------------------

POOL_GRID = [(k, s, p, c) for k, s, p, c in itertools.product([2, 3], [None, 1, 2, 3], [0, 1], [False, True])]


@pytest.mark.parametrize(("kernel", "stride", "padding", "ceil_mode"), POOL_GRID)
@pytest.mark.parametrize("kind", list(PoolKind))
def test_pool_maps_matches_torch(image: np.ndarray, kind: PoolKind, kernel: int, stride, padding, ceil_mode) -> None:
    config = PoolConfig(kind, kernel, stride, padding, ceil_mode)
    result = pool_maps(image, config)
    t = torch.from_numpy(image)[None]
    if kind == PoolKind.MAX:
        expected = F.max_pool2d(t, kernel, stride, padding, ceil_mode=ceil_mode)[0].numpy()
    else:
        expected = F.avg_pool2d(t, kernel, stride, padding, ceil_mode=ceil_mode)[0].numpy()
    np.testing.assert_allclose(result.output, expected, rtol=1e-6, atol=1e-6)
    assert result.output.shape == (3, *pool_output_size((13, 17), kernel, stride, padding, 1, ceil_mode))
    assert result.output.shape[0] == image.shape[0]  # pooling keeps the number of channels


def test_pool_errors(image: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="half"):
        pool_maps(image, PoolConfig(PoolKind.MAX, 2, padding=2))
    with pytest.raises(ConfigError, match="does not fit"):
        pool_maps(image[:, :2, :2], PoolConfig(PoolKind.AVG, 5))
    with pytest.raises(ConfigError, match="channels × height × width, and these are 13×17"):
        pool_maps(image[0], PoolConfig())


def test_grid_cells_winners_and_averages() -> None:
    grid = np.array([[1, 9, 2, 3], [4, 5, 8, 7], [0, 6, 1, 1], [2, 3, 1, 9]], np.float32)
    cells = grid_cells(pool_maps(grid[None], PoolConfig(PoolKind.MAX, 2)))
    assert [(c.out_row, c.out_col, c.winner, c.value) for c in cells] == [
        (0, 0, (0, 1), 9.0),
        (0, 1, (1, 2), 8.0),
        (1, 0, (2, 1), 6.0),
        (1, 1, (3, 3), 9.0),
    ]
    for cell in cells:
        window = grid[cell.rows.start : cell.rows.stop, cell.cols.start : cell.cols.stop]
        assert grid[cell.winner] == window.max() == cell.value
    avg = grid_cells(pool_maps(grid[None], PoolConfig(PoolKind.AVG, 3, stride=1, padding=1)))
    assert len(avg) == 16 and all(c.winner is None for c in avg)
    corner = avg[0]
    assert corner.rows == range(0, 2) and corner.cols == range(0, 2)
    assert corner.value == pytest.approx(grid[:2, :2].sum() / 9)  # count_include_pad: zeros count
    assert corner.divisor == 9


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, 2, 0), (3, 2, 1), (3, 3, 1), (2, 3, 1)])
def test_grid_cells_divisor_reproduces_avg_pool(kernel: int, stride: int, padding: int) -> None:
    grid = np.random.default_rng(5).integers(1, 10, (7, 7)).astype(np.float32)
    for cell in grid_cells(pool_maps(grid[None], PoolConfig(PoolKind.AVG, kernel, stride, padding, ceil_mode=True))):
        window = grid[cell.rows.start : cell.rows.stop, cell.cols.start : cell.cols.stop]
        assert window.sum() / cell.divisor == pytest.approx(cell.value, rel=1e-6)


def test_pool_on_pil_and_image_grid() -> None:
    img = Image.fromarray(np.random.default_rng(4).integers(0, 256, (40, 60, 3), dtype=np.uint8))
    result = pool_maps(img, PoolConfig(PoolKind.MAX, 2))
    expected = F.max_pool2d(torch.from_numpy(np.asarray(img, np.float32) / 255).permute(2, 0, 1)[None], 2)[0]
    np.testing.assert_allclose(result.output, expected.numpy(), atol=1e-6)
    grid = image_grid(img, 8)
    assert grid.shape == (8, 8) and grid.dtype == np.float32 and 0 <= grid.min() and grid.max() <= 255
    with pytest.raises(ConfigError, match="grid size"):
        image_grid(img, 100)
