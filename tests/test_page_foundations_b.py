"""The initialisation, batch-norm and dropout, regularisation and upsampling pages in AppTest, English and Korean.

Each opens with a working default, a control changes what is shown, and the shown numbers equal an
independent computation (NumPy, torch.nn.functional), not the page's own core.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from cnnviz.i18n import translate
from tests.text_checks import english_sentences

PAGES = Path(__file__).resolve().parent.parent / "pages"


def _open(stem: str, lang: str = "en", **state: object) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{stem}.py"), default_timeout=120)
    at.session_state["lang"] = lang  # before the first run: AppTest formats a radio's options in English
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _chart(at: AppTest, key: str) -> dict:
    """The Plotly figure a chart with this key shows, as JSON."""
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}"))
    return json.loads(chart.proto.spec)


def _array(value) -> np.ndarray:
    """A Plotly JSON array: a list (of lists), or the typed-array form {"bdata": base64, "dtype", "shape"}."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    if value and isinstance(value[0], dict | list):
        return np.stack([_array(row) for row in value])
    return np.array(value, dtype=float)


def _numbers(grid: dict) -> np.ndarray:
    return _array(grid["data"][0]["z"]).astype(float)


@pytest.mark.parametrize("stem", ["initialization", "normalization", "regularization", "upsampling"])
def test_korean_page_shows_no_english_sentence(stem: str) -> None:
    at = _open(stem, "ko")
    assert english_sentences(at) == []
    assert at.title[0].value == translate(f"{stem}.title", "ko")


def test_initialization_table_follows_the_controls_and_equals_a_numpy_forward() -> None:
    at = _open("initialization")
    assert len(at.dataframe[0].value.columns) == 5  # five layers
    at.radio(key="init_scheme_en").set_value("he")
    at.radio(key="init_activation_en").set_value("relu")
    at.slider(key="init_layers").set_value(3).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["Layer 1", "Layer 2", "Layer 3"]
    generator = torch.Generator().manual_seed(0)  # the page's default seed and the book's 1000 × 100
    z = torch.randn(1000, 100, generator=generator).numpy().astype(np.float64)
    stds = []
    for _ in range(3):
        w = torch.nn.init.kaiming_normal_(torch.empty(100, 100), nonlinearity="relu", generator=generator)
        z = np.maximum(z @ w.numpy().astype(np.float64).T, 0)
        stds.append(z.std())
    np.testing.assert_allclose(table.loc["standard deviation"].to_numpy(), stds, rtol=1e-4)
    assert "share of zeros" in table.index
    assert any("√" in i.value or "He" in i.value for i in at.info)


def test_normalization_dropout_table_is_the_mask_times_the_scaling() -> None:
    at = _open("normalization")
    at.slider(key="norm_p").set_value(30).run()
    assert not at.exception
    rows = at.dataframe[0].value
    x, mask = rows.iloc[0].to_numpy(), rows.iloc[1].to_numpy()
    assert set(np.unique(mask)) <= {0.0, 1.0}
    np.testing.assert_allclose(rows.iloc[2].to_numpy(), x * mask / 0.7, rtol=1e-12)  # PyTorch in training
    np.testing.assert_allclose(rows.iloc[5].to_numpy(), x * 0.7, rtol=1e-12)  # the book at inference
    before = mask.copy()
    at.slider(key="norm_mask").set_value(7).run()
    assert not np.array_equal(at.dataframe[0].value.iloc[1].to_numpy(), before)  # another mask drawn
    curves = _chart(at, "norm_curves")["data"]
    without, with_bn = _array(curves[0]["y"]), _array(curves[1]["y"])
    assert len(without) == 11  # before training and after each of 10 epochs
    assert with_bn.max() > without.max() + 0.3  # with batch norm it learns from N(0, 0.01²)


def test_regularization_capacity_numbers_equal_numpy_polyfit() -> None:
    at = _open("regularization")
    at.slider(key="reg_capacity_degree").set_value(5).run()
    assert not at.exception
    rng = np.random.default_rng(0)  # make_regression's defaults: 12 even x, 200 random x, noise 0.25
    x_train, x_val = np.linspace(0, 1, 12), rng.random(200)
    y_train = np.sin(2 * np.pi * x_train) + rng.normal(0, 0.25, 12)
    y_val = np.sin(2 * np.pi * x_val) + rng.normal(0, 0.25, 200)
    fit = np.polynomial.Polynomial.fit(x_train, y_train, 5)
    train, val = np.mean((fit(x_train) - y_train) ** 2), np.mean((fit(x_val) - y_val) ** 2)
    text = next(m.value for m in at.markdown if m.value.startswith("Degree 5"))
    assert f"training error {train:.4f}, validation error {val:.4f}" in text
    for section in ("decay", "augment", "folds", "bias", "early"):
        at.radio(key="reg_section_en").set_value(section).run()
        assert not at.exception, (section, [e.value for e in at.exception])
    at.radio(key="reg_section_en").set_value("folds").run()
    at.slider(key="reg_fold_k").set_value(12).run()  # leave-one-out: every fold holds one point
    assert any("one of 12 fits" in m.value for m in at.markdown)


def test_upsampling_output_grid_equals_conv_transpose2d_and_an_impossible_setting_is_explained() -> None:
    at = _open("upsampling")
    at.slider(key="up_size").set_value(2)
    at.slider(key="up_kernel").set_value(3)
    at.slider(key="up_stride").set_value(2)
    at.slider(key="up_padding").set_value(1)
    at.slider(key="up_output_padding").set_value(1).run()
    assert not at.exception
    x = torch.arange(1.0, 5.0, dtype=torch.float64).reshape(1, 1, 2, 2)
    w = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3)
    expected = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)[0, 0].numpy()
    np.testing.assert_allclose(_numbers(_chart(at, "up_output")), expected)
    nearest = F.interpolate(torch.arange(1.0, 10.0).reshape(1, 1, 3, 3), scale_factor=2, mode="nearest")
    np.testing.assert_allclose(_numbers(_chart(at, "up_nearest")), nearest[0, 0].numpy())
    at.slider(key="up_output_padding").set_value(2).run()
    assert not at.exception
    assert any("output_padding 2 must be smaller than the stride 2" in e.value for e in at.error)
    assert _chart(at, "up_bilinear")  # the sections below still work
    at.session_state["lang"] = "ko"
    at.run()
    assert any("output_padding" in e.value and "스트라이드" in e.value for e in at.error)


def test_checkerboard_message_follows_kernel_and_stride() -> None:
    at = _open("upsampling", up_cb_kernel=4, up_cb_stride=2)
    counts = F.conv_transpose2d(torch.ones(1, 1, 6, 6), torch.ones(1, 1, 4, 4), stride=2)[0, 0].numpy()
    np.testing.assert_allclose(_numbers(_chart(at, "up_counts")), counts)
    assert at.success and not at.warning
    at.slider(key="up_cb_kernel").set_value(3).run()
    assert at.warning and "not a multiple" in at.warning[0].value
