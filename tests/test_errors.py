"""Errors raised with a translation key read in English by default and in Korean on a Korean page."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.conv import LayerKind, LayerSpec, conv_output_size, walk_stack
from cnnviz.data import load_image
from cnnviz.errors import CheckpointError, CnnvizError, ConfigError, ImageError, Phrase
from cnnviz.i18n import load_catalog, translate

ROOT = Path(__file__).resolve().parent.parent
CORE_SOURCES = sorted(p for p in (ROOT / "cnnviz").rglob("*.py") if "ui" not in p.relative_to(ROOT / "cnnviz").parts)
ENGLISH = "kernel 7 does not fit a 5×5 input with padding 0: use kernel ≤ 5 or padding ≥ 1"


def test_a_keyed_error_is_english_by_default_and_korean_on_request() -> None:
    with pytest.raises(ConfigError, match="kernel 7 does not fit") as info:
        conv_output_size(5, 7)
    err = info.value
    assert err.key == "errors.kernel_too_big"
    assert str(err) == err.localized("en") == ENGLISH
    korean = err.localized("ko")
    assert korean != str(err)
    assert "커널" in korean and "패딩" in korean
    for number in ("7", "5×5", "5", "1"):
        assert number in korean


def test_a_plain_message_is_the_same_in_every_language() -> None:
    err = ConfigError("something English")
    assert err.key is None and err.values == {}
    assert err.localized("ko") == str(err) == "something English"


def test_a_key_or_a_message_is_required() -> None:
    with pytest.raises(TypeError):
        CnnvizError()


def test_nested_errors_and_phrases_are_translated_too() -> None:
    layers = [LayerSpec(LayerKind.MAX_POOL, None, 2), LayerSpec(LayerKind.CONV, 1, 9)]
    with pytest.raises(ConfigError, match=r"layer 2 \(conv, input 7×7\): kernel 9 does not fit") as info:
        walk_stack(layers, (1, 8, 8))
    korean = info.value.localized("ko")
    assert korean.startswith("2번째 층 (conv, 입력 7×7): 커널 9")
    with pytest.raises(ConfigError, match="the width of a 5×7 input") as info:
        conv_output_size((5, 7), (3, 9))
    assert "입력의 너비" in info.value.localized("ko")
    assert str(Phrase("errors.which.height")) == "the height of "


def test_keyed_errors_survive_pickling() -> None:
    err = pickle.loads(pickle.dumps(ImageError.from_key("errors.image_empty")))
    assert err.key == "errors.image_empty"
    assert err.localized("ko") == translate("errors.image_empty", "ko")


def test_image_errors_are_keyed() -> None:
    with pytest.raises(ImageError, match="not an image we can read") as info:
        load_image(b"this is not a picture")
    assert info.value.key == "errors.image_unreadable"
    assert "이미지가 아닙니다" in info.value.localized("ko")


def test_checkpoint_errors_name_the_upload_in_korean() -> None:
    from cnnviz.nets import build, load_checkpoint

    with pytest.raises(CheckpointError, match="the uploaded file is not a PyTorch checkpoint") as info:
        load_checkpoint(build("lenet5"), b"garbage")
    assert info.value.localized("ko").startswith("올린 파일")


def _keys_used(path: Path, *, phrases: bool = True) -> set[str]:
    """Literal keys passed first to ``X.from_key(...)`` (and ``Phrase(...)``); f-string keys are tested apart."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func, first = node.func, node.args[0]
        if not (
            (isinstance(func, ast.Attribute) and func.attr == "from_key")
            or (phrases and isinstance(func, ast.Name) and func.id == "Phrase")
        ):
            continue
        options = (first.body, first.orelse) if isinstance(first, ast.IfExp) else (first,)  # "a" if x else "b"
        keys |= {n.value for n in options if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return keys


def test_every_error_key_used_in_the_code_is_in_the_catalog() -> None:
    used = set().union(*(_keys_used(p) for p in CORE_SOURCES))
    assert len(used) > 40, used
    assert used - set(load_catalog()) == set()
    error_keys = set().union(*(_keys_used(p, phrases=False) for p in CORE_SOURCES))
    assert all(k.startswith("errors.") for k in error_keys), error_keys  # errors live in errors_<package>.json


def test_keys_built_from_names_exist() -> None:
    catalog = load_catalog()
    for name in ("input size", "output size", "kernel", "stride", "padding", "dilation", "output_padding"):
        assert f"errors.name.{name.replace(' ', '_')}" in catalog
    for dim in ("height", "width"):
        assert f"errors.which.{dim}" in catalog and f"errors.in_dim.{dim}" in catalog


def test_korean_arithmetic_page_shows_the_korean_message() -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "conv_arithmetic.py"), default_timeout=60)
    # Set the widgets through session state before the first run: on a Korean page AppTest cannot re-send
    # a radio whose format_func translates (it formats outside the script run, in English).
    for key, value in {"lang": "ko", "arith_height": 5, "arith_width": 5, "arith_kernel": 7}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    with pytest.raises(ConfigError) as info:
        conv_output_size(5, 7)
    assert len(at.error) == 1
    assert info.value.localized("ko") in at.error[0].value
    assert "does not fit" not in at.error[0].value


def test_korean_filters_page_explains_a_garbage_upload_in_korean() -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "image_filters.py"), default_timeout=120)
    at.session_state["lang"] = "ko"
    at.run()
    at.file_uploader(key="filters_upload").upload("broken.png", b"this is not a picture", "image/png").run()
    assert not at.exception, [e.value for e in at.exception]
    expected = ImageError.from_key("errors.image_unreadable", formats=Phrase("errors.image_formats")).localized("ko")
    assert any("broken.png" in e.value and expected in e.value for e in at.error), [e.value for e in at.error]


ERROR_CLASSES = {"CnnvizError", "ConfigError", "ImageError", "DataError", "CheckpointError", "TrainingError"}


def _plain_messages(path: Path) -> list[int]:
    """Lines that build a cnnviz error from a plain (English-only) message instead of a catalog key."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        and node.func.id in ERROR_CLASSES and node.args
    ]  # CnnvizError("text") is plain; the key path is X.from_key("errors.x", ...) or X(key=...)


def test_every_core_error_is_raised_with_a_translation_key() -> None:
    plain = [f"{path.relative_to(ROOT)}:{line}" for path in CORE_SOURCES for line in _plain_messages(path)]
    assert plain == [], f"raise these with X.from_key('errors.…', ...) so Korean pages show Korean: {plain}"


def test_the_plain_message_scan_finds_one(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    lines = ['x = 1', 'raise ConfigError(f"stride {x} is not allowed")', 'raise ConfigError.from_key("errors.k")']
    sample.write_text("\n".join(lines))
    assert _plain_messages(sample) == [2]
