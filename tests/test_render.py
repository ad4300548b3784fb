"""Colormaps, montages and colour bars: centred, symmetric, shared scale, safe on degenerate maps."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from cnnviz.render import (
    DIVERGING_COLORSCALE,
    diverging_rgb,
    montage,
    number_grid_figure,
    png_bytes,
    sequential_rgb,
    symmetric_vmax,
    upscale_nearest,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_diverging_is_centred_on_zero_and_symmetric() -> None:
    arr = np.array([[-2.0, 0.0, 2.0], [-1.0, 1.0, 0.0]])
    rgb, vmax = diverging_rgb(arr)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert vmax == 2.0
    assert tuple(rgb[0, 1]) == (247, 247, 247)  # zero is white
    assert rgb[0, 0, 2] > rgb[0, 0, 0]  # negative is blue
    assert rgb[0, 2, 0] > rgb[0, 2, 2]  # positive is red
    # Symmetry: +v and -v are equally far from white (mirror colours of the RdBu table).
    assert tuple(rgb[0, 0]) == (5, 48, 97) and tuple(rgb[0, 2]) == (103, 0, 31)


def test_diverging_explicit_vmax_clips_and_zero_map_is_safe() -> None:
    rgb, vmax = diverging_rgb(np.array([[10.0, -10.0]]), vmax=1.0)
    assert vmax == 1.0
    assert tuple(rgb[0, 0]) == (103, 0, 31) and tuple(rgb[0, 1]) == (5, 48, 97)
    rgb, vmax = diverging_rgb(np.zeros((4, 4)))
    assert vmax == 1.0 and (rgb == 247).all()
    rgb, _ = diverging_rgb(np.array([[np.nan, np.inf]]))  # non-finite values do not crash
    assert rgb.shape == (1, 2, 3)


def test_diverging_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="2-D"):
        diverging_rgb(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="vmax"):
        diverging_rgb(np.ones((2, 2)), vmax=0.0)


def test_diverging_accepts_tensors_requiring_grad() -> None:
    tensor = torch.ones(3, 3, requires_grad=True) * 2
    rgb, vmax = diverging_rgb(tensor)
    assert rgb.shape == (3, 3, 3) and vmax == 2.0


def test_sequential_spans_min_to_max_and_constant_map_is_safe(rng: np.random.Generator) -> None:
    arr = rng.normal(size=(5, 6))
    rgb = sequential_rgb(arr)
    low, high = np.unravel_index(arr.argmin(), arr.shape), np.unravel_index(arr.argmax(), arr.shape)
    assert tuple(rgb[low]) == (68, 1, 84) and tuple(rgb[high]) == (253, 231, 37)
    constant = sequential_rgb(np.full((3, 3), 7.0))
    assert (constant == constant[0, 0]).all()
    assert tuple(sequential_rgb(np.array([[0.5]]), vmin=0, vmax=1)[0, 0]) != (68, 1, 84)


def test_montage_layout_and_shared_scale(rng: np.random.Generator) -> None:
    maps = rng.normal(size=(5, 4, 3))
    maps[2] *= 10  # one strong map sets the shared scale
    img = montage(maps, pad=1, scale=2)
    assert isinstance(img, Image.Image) and img.mode == "RGB"
    # 5 maps → 3 columns, 2 rows; tiles 8×6 after scale 2, 1 px gaps.
    assert img.size == (3 * 6 + 2, 2 * 8 + 1)
    shared = symmetric_vmax(maps)
    first = np.asarray(img)[0:8:2, 0:6:2]
    np.testing.assert_array_equal(first, diverging_rgb(maps[0], vmax=shared)[0])
    assert (np.asarray(img)[:, 6] == 255).all()  # the gap column is background


def test_montage_unsigned_cols_and_bad_shapes(rng: np.random.Generator) -> None:
    maps = np.abs(rng.normal(size=(4, 2, 2)))
    img = montage(maps, cols=4, pad=0, signed=False)
    assert img.size == (8, 2)
    assert montage(np.ones((3, 3))).size == (3, 3)  # one 2-D map
    with pytest.raises(ValueError, match="C, H, W"):
        montage(np.ones((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="scale"):
        montage(maps, scale=0)


def test_png_bytes_round_trip() -> None:
    arr = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    for source in (arr, Image.fromarray(arr)):
        data = png_bytes(source)
        assert data.startswith(b"\x89PNG")
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), arr)


def test_upscale_nearest_keeps_pixels_crisp() -> None:
    arr = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)
    big = upscale_nearest(arr, 3)
    assert big.size == (6, 3)
    np.testing.assert_array_equal(np.asarray(big)[:, :3], 0)
    np.testing.assert_array_equal(np.asarray(big)[:, 3:], 255)
    with pytest.raises(ValueError, match="factor"):
        upscale_nearest(arr, 0)


def test_symmetric_vmax_percentile() -> None:
    arr = np.concatenate([np.linspace(-1, 1, 999), [100.0]])
    assert symmetric_vmax(arr) == 100.0
    assert symmetric_vmax(arr, percentile=99) == pytest.approx(0.99, abs=0.01)
    sparse = np.zeros(1000)
    sparse[0] = -3.0
    assert symmetric_vmax(sparse, percentile=99) == 3.0  # a mostly-zero map still shows its values


def test_number_grid_figure() -> None:
    fig = number_grid_figure(np.arange(12).reshape(3, 4), marks=[(0, 1)], box=(range(0, 2), range(1, 3)), title="t")
    assert fig.data[0].text[2][3] == "11"
    assert len(fig.layout.shapes) == 2
    assert tuple(fig.layout.xaxis.range) == (-0.5, 3.5)
    with pytest.raises(ValueError, match="2-D"):
        number_grid_figure(np.zeros(3))


def test_tile_images_places_each_tile_row_major_with_gaps() -> None:
    from cnnviz.render import tile_images

    tiles = np.stack([np.full((2, 3, 3), 10 * (i + 1), np.uint8) for i in range(5)])  # 5 solid 2×3 tiles
    grid = np.asarray(tile_images(tiles, cols=2, pad=1, scale=2, background=200))
    assert grid.shape == (3 * 4 + 2, 2 * 6 + 1, 3)  # 3 rows of 4-pixel tiles, 2 columns of 6, 1-pixel gaps
    for i in range(5):
        top, left = (i // 2) * 5, (i % 2) * 7
        assert (grid[top : top + 4, left : left + 6] == 10 * (i + 1)).all(), i
    assert (grid[4, :] == 200).all() and (grid[:, 6] == 200).all()  # the gaps
    assert (grid[10:, 7:] == 200).all()  # the empty sixth place
    gray = np.asarray(tile_images(tiles[:, :, :, 0]))  # (N, H, W) tiles come back as grey RGB
    assert gray.shape == (2 * 2 + 1, 3 * 3 + 2, 3)


def test_colorbar_svg_has_the_colour_scale_and_ticks_from_vmin_to_vmax() -> None:
    import xml.etree.ElementTree as ET

    from cnnviz.render import colorbar_svg

    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(colorbar_svg(-2.0, 2.0, signed=True, title="scale & <value>"))
    stops = [(float(s.get("offset")), s.get("stop-color")) for s in root.iterfind(".//svg:stop", ns)]
    assert stops == [(round(pos, 3), colour) for pos, colour in DIVERGING_COLORSCALE]
    labels = [t.text for t in root.iterfind(".//svg:text", ns)]
    assert labels == ["scale & <value>", "−2", "−1", "0", "1", "2"]  # np.linspace(-2, 2, 5), real minus signs
    flat = ET.fromstring(colorbar_svg(3.0, 3.0, signed=False))  # a constant map: still a valid bar
    assert [t.text for t in flat.iterfind(".//svg:text", ns)][1:] == ["2.5", "2.75", "3", "3.25", "3.5"]


def test_signed_numbers_use_a_real_minus_sign() -> None:
    from cnnviz.render import signed_number, signed_sum

    assert signed_number(-0.35294) == "−0.3529" and signed_number(0.1) == "0.1000"
    assert signed_number(-0.00001) == "0.0000"  # rounds to zero: no sign
    assert signed_sum([-0.3529, -0.4157, 0.1]) == "−0.3529 − 0.4157 + 0.1000"


def test_tiny_pictures_are_enlarged_for_display_but_lines_stay_lines() -> None:
    from PIL import Image

    from cnnviz.ui.widgets import NARROW, TALLEST, enlarged_for_display

    assert enlarged_for_display(Image.new("RGB", (1, 1))).size == (NARROW, NARROW)
    assert enlarged_for_display(Image.new("RGB", (7, 3))).size == (7 * 18, 3 * 18)  # ceil(120 / 7) = 18
    assert enlarged_for_display(Image.new("RGB", (1, 320))).size == (1, 320)  # 2× would pass TALLEST
    assert enlarged_for_display(Image.new("RGB", (1, TALLEST // 4))).size == (4, TALLEST)
    wide = Image.new("RGB", (NARROW, 1))
    assert enlarged_for_display(wide) is wide
    dot = Image.new("RGB", (2, 2), (10, 20, 30))
    dot.putpixel((1, 1), (200, 0, 0))
    big = enlarged_for_display(dot)
    assert big.getpixel((0, 0)) == (10, 20, 30) and big.getpixel((NARROW - 1, NARROW - 1)) == (200, 0, 0)  # crisp
