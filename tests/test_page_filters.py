"""The Image filters page in AppTest: shapes follow the widgets, real uploads work, bad ones do not crash."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.data import load_image
from cnnviz.i18n import translate
from tests.text_checks import english_sentences

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "image_filters.py")
MAX_SIDE = 320  # the page's long side


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def png() -> bytes:
    return _png(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8))


def shapes_text(at: AppTest) -> str:
    return at.info[0].value


def torch_out_size(h: int, w: int, kernel: int, stride: int, padding, dilation: int) -> tuple[int, int]:
    """The output size PyTorch gives (an independent reference for the page's numbers)."""
    with torch.no_grad():
        out = F.conv2d(torch.zeros(1, 3, h, w), torch.zeros(1, 3, kernel, kernel), None, stride, padding, dilation)
    return tuple(out.shape[2:])


def expected_shapes(h: int, w: int, k: int, kernel: int, stride: int, padding, dilation: int) -> str:
    oh, ow = torch_out_size(h, w, kernel, stride, padding, dilation)
    params = sum(p.numel() for p in torch.nn.Conv2d(3, k, kernel).parameters())
    return translate("filters.shapes", "en", c=3, h=h, w=w, n=k, oh=oh, ow=ow, params=f"{params:,}")


def test_defaults_then_widgets_change_the_shapes(png: bytes) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "→ output 1 ×" in shapes_text(at) and "the filter has 3 channels" in shapes_text(at)
    assert len(at.get("download_button")) == 2

    at.file_uploader(key="filters_upload").upload("noise.png", png, "image/png").run()
    assert not at.exception and not at.error
    assert shapes_text(at) == expected_shapes(48, 64, 1, 3, 1, "same", 1)

    at.selectbox(key="filters_padding").set_value(1)
    at.slider(key="filters_stride").set_value(2)
    at.slider(key="filters_dilation").set_value(2).run()
    assert not at.exception
    assert shapes_text(at) == expected_shapes(48, 64, 1, 3, 2, 1, 2)

    at.multiselect(key="filters_kernels_en").set_value(["sobel_x", "laplacian", "gaussian_blur"]).run()
    assert not at.exception
    assert shapes_text(at) == expected_shapes(48, 64, 3, 3, 2, 1, 2)
    assert "each of the 3 filters" in shapes_text(at)
    assert any(h.value == translate("filters.stack_header", "en", n=3) for h in at.subheader)
    assert any("F.conv2d" in m.value for m in at.markdown)  # the zoom states PyTorch's value next to ours


def _equation(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "F.conv2d" in m.value)


def test_zoom_equation_writes_signed_terms_and_names_padding_only_when_used(png: bytes) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.file_uploader(key="filters_upload").upload("noise.png", png, "image/png")
    at.slider(key="filters_bias").set_value(-0.5).run()
    assert not at.exception
    equation = _equation(at)
    assert "-" not in equation and "+ −" not in equation and "− −" not in equation, equation
    assert re.search(r" − 0\.5000 = \*\*", equation), equation  # the bias, subtracted
    sobel = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    x = torch.from_numpy(np.asarray(load_image(png, max_side=MAX_SIDE), np.float32) / 255).permute(2, 0, 1)[None]
    row, col = at.slider(key="filters_row").value, at.slider(key="filters_col").value
    expected = F.conv2d(x, sobel.expand(1, 3, 3, 3).contiguous(), torch.tensor([-0.5]), padding=1)[0, 0, row, col]
    shown = float(re.search(r"gives \*\*(.+?)\*\*", equation).group(1).replace("−", "-"))
    assert shown == pytest.approx(float(expected), abs=1e-4)

    padding_note = "(outside the image: padding zeros)"
    assert not any(padding_note in m.value for m in at.markdown)  # the centre pixel's window is inside
    at.slider(key="filters_row").set_value(0).run()  # the top row's window reaches the padding
    assert any(padding_note in m.value for m in at.markdown)


@pytest.mark.parametrize("size", [(1, 1), (1, 6000), (6000, 1)], ids=["1x1", "1x6000", "6000x1"])
def test_one_pixel_high_or_wide_uploads_work(size: tuple[int, int]) -> None:
    data = _png(np.full((*size, 3), 128, dtype=np.uint8))
    h, w = np.asarray(load_image(data, max_side=MAX_SIDE)).shape[:2]
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.file_uploader(key="filters_upload").upload("thin.png", data, "image/png").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert shapes_text(at) == expected_shapes(h, w, 1, 3, 1, "same", 1)
    only = [c.value for c in at.caption if c.value.startswith(("Output row", "Output column"))]
    assert only == ["Output row: 0 (the only possible value)"] * (h == 1) + [
        "Output column: 0 (the only possible value)"
    ] * (w == 1)  # a range of one value is written, not drawn as a slider
    captions = [c.value for c in at.caption]
    if w == 1 and h > 1:  # a line one pixel wide cannot hold its caption: it is written below it
        assert translate("filters.input", "en", w=w, h=h) in captions
    at.slider(key="filters_stride").set_value(2).run()  # "same" needs stride 1: a message, not a traceback
    assert not at.exception and at.error


def test_signed_terms_use_a_real_minus_and_no_sign_on_zero() -> None:
    from cnnviz.render import signed_number, signed_sum

    assert signed_sum([-0.3529, -0.4157, 0.1]) == "−0.3529 − 0.4157 + 0.1000"
    assert signed_number(-0.00001) == "0.0000" and signed_number(-0.25, ".2f") == "−0.25"
    assert signed_sum([0.5, -0.00001]) == "0.5000 + 0.0000"


def test_the_cached_convolution_tells_apart_pictures_with_the_same_pixels() -> None:
    from cnnviz.ui.filters import _image_id

    tall, wide = Image.new("RGB", (1, 320), (90, 90, 90)), Image.new("RGB", (320, 1), (90, 90, 90))
    assert tall.tobytes() == wide.tobytes() and _image_id(tall) != _image_id(wide)


def test_bad_settings_show_an_error_not_a_traceback() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.slider(key="filters_stride").set_value(2).run()  # "same" needs stride 1
    assert not at.exception
    assert any('"same"' in e.value for e in at.error)
    at.slider(key="filters_stride").set_value(1)
    at.multiselect(key="filters_kernels_en").set_value(["sobel_x", "gaussian_blur_5x5"]).run()
    assert not at.exception
    assert any("different sizes (3×3, 5×5)" in e.value for e in at.error), [e.value for e in at.error]


def test_custom_kernel_editor() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.multiselect(key="filters_kernels_en").set_value(["custom"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert shapes_text(at).startswith("Input 3 × ") and "→ output 1 ×" in shapes_text(at)
    at.select_slider(key="filters_csize").set_value(5).run()
    assert not at.exception
    params = sum(p.numel() for p in torch.nn.Conv2d(3, 1, 5).parameters())
    assert f"{params} parameters" in shapes_text(at)
    assert any("(the only possible value)" in c.value for c in at.caption)  # one map: no choice to make


def test_korean_and_no_kernel_chosen() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception
    assert "출력 1 ×" in shapes_text(at)
    assert english_sentences(at) == []
    at.multiselect(key="filters_kernels_ko").set_value([]).run()
    assert not at.exception
    assert at.warning[0].value == translate("filters.pick_one", "ko")


def test_download_labels_are_short_and_explained() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == [
        translate("filters.download_map", "en", k=0),
        translate("filters.download_photo", "en"),
    ]
    assert all(len(b.proto.label) <= 32 and b.proto.help for b in buttons)


@pytest.mark.parametrize("data", [b"", b"this is not a picture", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"])
def test_broken_upload_shows_a_message_and_keeps_the_sample(data: bytes) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.file_uploader(key="filters_upload").upload("broken.png", data, "image/png").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("broken.png" in e.value for e in at.error)
    assert "→ output 1 ×" in shapes_text(at)  # the page still works on the sample
