"""Bad zips a learner may upload get a clear message: one class, unreadable files only, 10,000 tiny files, a
member whose header declares an enormous size (zip bomb-like), every zip made here in the test."""

from __future__ import annotations

import io
import struct
import time
import zipfile

import pytest
from PIL import Image

from cnnviz.data import load_image_folders
from cnnviz.errors import DataError


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 12), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _refused(archive: bytes) -> DataError:
    with pytest.raises(DataError) as info:
        load_image_folders(archive)
    return info.value


def test_a_zip_with_one_class_says_two_folders_are_needed_in_both_languages() -> None:
    err = _refused(_zip({f"cats/{i}.png": _png((i, 0, 0)) for i in range(4)}))
    assert "at least 2 classes; found only 1 class folder" in str(err) and "cats/*.jpg and dogs/*.jpg" in str(err)
    assert "클래스 폴더가 1개입니다" in err.localized("ko")


def test_a_zip_of_unreadable_files_only_says_none_could_be_read() -> None:
    entries = {"cats/a.png": b"not a png at all", "cats/b.jpg": b"\xff\xd8 broken", "dogs/c.png": b"\x89PNG\r\n"}
    err = _refused(_zip(entries))
    assert str(err).startswith("None of the zip's 3 image files could be read as a picture (e.g. cats/a.png")
    assert "JPEG or PNG" in str(err)
    assert "이미지 파일 3개 중 그림으로 읽을 수 있는 것이 하나도 없습니다" in err.localized("ko")


def test_a_class_whose_files_are_all_unreadable_is_named_with_zero_images() -> None:
    entries = {"cats/0.png": _png((9, 0, 0)), "cats/1.png": _png((8, 0, 0)), "dogs/0.png": b"broken"}
    err = _refused(_zip(entries))
    assert "too few in dogs (0)" in str(err) and "dogs (0)" in err.localized("ko")


def test_ten_thousand_tiny_files_are_refused_quickly_with_the_count() -> None:
    archive = _zip({f"{'ab'[i % 2]}/{i}.png": b"x" for i in range(10_000)})
    start = time.perf_counter()
    err = _refused(archive)
    assert time.perf_counter() - start < 2.0  # refused from the directory, nothing decoded (measured ~0.05 s)
    assert str(err) == "The zip has 10000 entries; at most 5000 are allowed: use fewer images per class."
    assert "zip에 항목이 10000개 있습니다" in err.localized("ko")


def _declare_size(archive: bytes, name: str, size: int) -> bytes:
    """The same zip with the central directory claiming that ``name`` unpacks to ``size`` bytes."""
    data = bytearray(archive)
    offset = 0
    while (offset := data.find(b"PK\x01\x02", offset)) >= 0:
        name_len = struct.unpack_from("<H", data, offset + 28)[0]
        if data[offset + 46 : offset + 46 + name_len].decode() == name:
            struct.pack_into("<I", data, offset + 24, size)  # uncompressed size in the central directory
            return bytes(data)
        offset += 4
    raise AssertionError(name)


def test_a_member_declaring_gigabytes_is_refused_before_anything_is_read() -> None:
    entries = {f"{c}/{i}.png": _png((i, 0, 0)) for c in "ab" for i in range(3)}
    bomb = _declare_size(_zip(entries), "a/0.png", 4_000_000_000)
    assert zipfile.ZipFile(io.BytesIO(bomb)).getinfo("a/0.png").file_size == 4_000_000_000  # what a reader sees
    err = _refused(bomb)
    assert str(err) == "The zip unpacks to 3814.7 MB; at most 200.0 MB are allowed: use fewer or smaller images."
