"""The Image filters page in AppTest: shapes follow the widgets, real uploads work, bad ones do not crash."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.conv import conv_output_size
from cnnviz.i18n import translate

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "image_filters.py")


@pytest.fixture(scope="module")
def png() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def shapes_text(at: AppTest) -> str:
    return at.info[0].value


def expected_shapes(h: int, w: int, k: int, kernel: int, stride: int, padding, dilation: int) -> str:
    oh, ow = conv_output_size((h, w), kernel, stride, padding, dilation)
    return translate("filters.shapes", "en", c=3, h=h, w=w, k=k, oh=oh, ow=ow, params=k * (3 * kernel * kernel + 1))


def test_defaults_then_widgets_change_the_shapes(png: bytes) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "→ output 1 ×" in shapes_text(at)
    assert len(at.get("download_button")) == 2

    at.file_uploader(key="filters_upload").upload("noise.png", png, "image/png").run()
    assert not at.exception and not at.error
    assert shapes_text(at) == expected_shapes(48, 64, 1, 3, 1, "same", 1)

    at.selectbox(key="filters_padding").set_value(1)
    at.slider(key="filters_stride").set_value(2)
    at.slider(key="filters_dilation").set_value(2).run()
    assert not at.exception
    assert shapes_text(at) == expected_shapes(48, 64, 1, 3, 2, 1, 2)

    at.multiselect(key="filters_kernels").set_value(["sobel_x", "laplacian", "gaussian_blur"]).run()
    assert not at.exception
    assert shapes_text(at) == expected_shapes(48, 64, 3, 3, 2, 1, 2)
    # The zoom states PyTorch's value next to ours.
    assert any("F.conv2d" in m.value for m in at.markdown)


def test_bad_settings_show_an_error_not_a_traceback() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.slider(key="filters_stride").set_value(2).run()  # "same" needs stride 1
    assert not at.exception
    assert any('"same"' in e.value for e in at.error)
    at.multiselect(key="filters_kernels").set_value(["sobel_x", "gaussian_blur_5x5"]).run()
    assert not at.exception
    assert at.error


def test_custom_kernel_editor() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.multiselect(key="filters_kernels").set_value(["custom"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert shapes_text(at).startswith("Input 3 × ") and "→ output 1 ×" in shapes_text(at)
    at.select_slider(key="filters_csize").set_value(5).run()
    assert not at.exception
    assert "28" not in shapes_text(at) and "76 parameters" in shapes_text(at)  # 3·5·5 + 1


def test_korean_and_no_kernel_chosen() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception
    assert "출력 1 ×" in shapes_text(at)
    at.multiselect(key="filters_kernels").set_value([]).run()
    assert not at.exception
    assert at.warning[0].value == translate("filters.pick_one", "ko")


@pytest.mark.parametrize("data", [b"", b"this is not a picture", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"])
def test_broken_upload_shows_a_message_and_keeps_the_sample(data: bytes) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.file_uploader(key="filters_upload").upload("broken.png", data, "image/png").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("broken.png" in e.value for e in at.error)
    assert "→ output 1 ×" in shapes_text(at)  # the page still works on the sample
