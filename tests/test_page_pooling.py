"""The Pooling page in AppTest: shapes follow the widgets, the grid view explains cells, uploads are safe."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.i18n import translate
from tests.text_checks import english_sentences

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "pooling.py")


@pytest.fixture(scope="module")
def png() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def expected(c: int, h: int, w: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> str:
    """The shapes text for PyTorch's output size (an independent reference for the page's numbers)."""
    oh, ow = F.max_pool2d(torch.zeros(1, c, h, w), kernel, stride, padding, ceil_mode=ceil_mode).shape[2:]
    return translate("pool.shapes", "en", c=c, h=h, w=w, oh=oh, ow=ow, ratio=(h * w) / (oh * ow))


def test_upload_and_widgets_change_the_shapes(png: bytes) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success[0].value == translate("pool.fact", "en", c=3)

    at.file_uploader(key="pool_upload").upload("photo.png", png, "image/png").run()
    assert not at.exception and not at.error
    assert at.info[0].value == expected(3, 50, 70, 2, 2, 0, False)

    at.slider(key="pool_kernel").set_value(3)
    at.slider(key="pool_stride").set_value(2)
    at.slider(key="pool_padding").set_value(1)
    at.toggle(key="pool_ceil").set_value(True).run()
    assert not at.exception
    assert at.info[0].value == expected(3, 50, 70, 3, 2, 1, True)

    at.radio(key="pool_kind_en").set_value("avg").run()
    assert not at.exception
    assert at.info[0].value == expected(3, 50, 70, 3, 2, 1, True)
    assert any("÷" in m.value for m in at.markdown)  # the average explained on the grid


def test_filtered_map_keeps_one_channel() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.radio(key="pool_source_en").set_value("filtered").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success[0].value == translate("pool.fact", "en", c=1)
    assert at.info[0].value.startswith("Input 1 × ")


def test_bad_settings_show_an_error_not_a_traceback() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.slider(key="pool_kernel").set_value(1)
    at.slider(key="pool_padding").set_value(2).run()  # padding > kernel // 2
    assert not at.exception
    assert any("half" in e.value for e in at.error)


def test_grid_cell_choice_and_winner() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.slider(key="pool_grid_size").set_value(6).run()
    at.selectbox(key="pool_cell_en").set_value(4).run()  # 6×6 grid, 2×2 windows → 3×3 cells, the middle one
    assert not at.exception
    assert any("Cell (1, 1) = max" in m.value for m in at.markdown)


def test_a_grid_with_one_output_cell_needs_no_choice() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.slider(key="pool_grid_size").set_value(4)
    at.slider(key="pool_kernel").set_value(4)
    at.slider(key="pool_stride").set_value(4).run()  # 4×4 grid, 4×4 windows: one output cell
    assert not at.exception, [e.value for e in at.exception]
    assert not any(s.key.startswith("pool_cell") for s in at.selectbox)
    label = translate("pool.grid_cell", "en")
    assert any(c.value.startswith(f"{label}: (0, 0)") for c in at.caption)
    assert any("Cell (0, 0) = max" in m.value for m in at.markdown)


def test_average_of_one_input_cell_is_singular() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.radio(key="pool_kind_en").set_value("avg")
    at.slider(key="pool_kernel").set_value(2)
    at.slider(key="pool_stride").set_value(2)
    at.slider(key="pool_padding").set_value(1).run()  # the corner window holds one input cell and three padding
    assert not at.exception
    corner = next(m.value for m in at.markdown if m.value.startswith("Cell (0, 0)"))
    assert "the 1 input cell inside ÷ 4" in corner, corner


def test_ceil_mode_label_is_short_and_explained() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    toggle = at.toggle(key="pool_ceil")
    assert toggle.label == translate("pool.ceil_mode", "en") and len(toggle.label) <= 12
    assert "partial window" in toggle.help


def test_a_choice_survives_a_language_switch() -> None:
    """The widget shows its option translated: after a switch it must still hold the same choice, shown in Korean."""
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.radio(key="pool_kind_en").set_value("avg")
    at.radio(key="pool_source_en").set_value("filtered").run()
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception
    # (AppTest reads a Korean radio's value through English texts, so read the widget's state directly)
    assert at.session_state["pool_kind_ko"] == "avg" and at.session_state["pool_source_ko"] == "filtered"
    assert at.success[0].value == translate("pool.fact", "ko", c=1)  # a filtered map: one channel
    assert any("÷" in m.value for m in at.markdown)  # the page really pools by the average


def test_korean_page_shows_no_english_sentence() -> None:
    for kind in ("max", "avg"):
        at = AppTest.from_file(PAGE, default_timeout=120)
        at.session_state["lang"] = "ko"  # set before the first run: AppTest formats a radio's options in English
        at.session_state["pool_kind"] = kind
        at.run()
        assert not at.exception
        assert english_sentences(at) == []


@pytest.mark.parametrize("data", [b"", b"GIF89a broken"])
def test_broken_upload_shows_a_message(data: bytes) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.file_uploader(key="pool_upload").upload("broken.gif", data, "image/gif").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("broken.gif" in e.value for e in at.error)
    assert at.info  # still pooling the sample


def test_tiny_upload_says_the_minimum() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 10, 10)).save(buffer, "PNG")
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.file_uploader(key="pool_upload").upload("dot.png", buffer.getvalue(), "image/png").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("does not fit" in e.value and "1×1" in e.value for e in at.error)
