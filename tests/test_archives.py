"""Zip of class folders: a good archive becomes a split; unsafe or unusable archives are refused clearly."""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from cnnviz.data import ArchiveLimits, load_image_folders
from cnnviz.errors import DataError


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _classes(n: int = 5, prefix: str = "") -> dict[str, bytes]:
    entries = {}
    for i in range(n):
        entries[f"{prefix}red/{i}.png"] = _png((200 + i, 0, 0))
        entries[f"{prefix}blue/{i}.png"] = _png((0, 0, 200 + i))
    return entries


def test_class_folders_become_a_stratified_split() -> None:
    data = load_image_folders(_zip(_classes(5)), image_size=16, val_fraction=0.2, seed=0)
    split = data.split
    assert split.class_names == ("blue", "red")
    assert data.counts == (5, 5) and data.skipped == 0
    assert split.train_x.shape == (8, 3, 16, 16) and split.val_x.shape == (2, 3, 16, 16)
    assert split.train_x.dtype == torch.float32 and 0.0 <= split.train_x.min() and split.train_x.max() <= 1.0
    assert sorted(split.val_y.tolist()) == [0, 1]  # one validation image per class
    # blue images are blue: channel 2 bright, channel 0 dark (independent of the label order)
    blue = split.train_x[split.train_y == 0]
    np.testing.assert_allclose(blue[:, 2].mean().item(), 200 / 255, atol=0.02)
    assert blue[:, 0].max().item() == 0.0
    assert split.in_channels == 3 and split.image_size == 16


def test_a_wrapping_top_folder_and_grayscale_mode() -> None:
    data = load_image_folders(_zip(_classes(3, prefix="my_photos/")), image_size=28, mode="L")
    assert data.split.class_names == ("blue", "red")
    assert data.split.train_x.shape[1:] == (1, 28, 28)


def test_non_images_are_skipped_and_counted() -> None:
    entries = _classes(3) | {"red/notes.txt": b"hello", "blue/broken.png": b"not a png", "__MACOSX/red/._0.png": b"x"}
    data = load_image_folders(_zip(entries), image_size=16)
    assert data.skipped == 2
    assert set(data.skipped_names) == {"red/notes.txt", "blue/broken.png"}
    assert data.counts == (3, 3)


@pytest.mark.parametrize(
    ("name", "match"),
    [("../evil/0.png", "leaves its folder"), ("red/../../0.png", "leaves its folder"), ("/etc/0.png", "absolute")],
)
def test_zip_slip_and_absolute_paths_are_refused(name: str, match: str) -> None:
    entries = _classes(3) | {name: _png((1, 2, 3))}
    with pytest.raises(DataError, match=match):
        load_image_folders(_zip(entries))


def test_symbolic_links_are_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in _classes(3).items():
            archive.writestr(name, data)
        link = zipfile.ZipInfo("red/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(DataError, match="symbolic link"):
        load_image_folders(buffer.getvalue())


def test_a_zip_bomb_is_refused_by_its_compression_ratio() -> None:
    entries = _classes(3) | {"red/bomb.png": b"\0" * 5_000_000}
    bomb = _zip(entries, compression=zipfile.ZIP_DEFLATED)
    assert len(bomb) < 100_000
    with pytest.raises(DataError, match="zip bomb"):
        load_image_folders(bomb)


def test_too_many_files_and_too_many_bytes_are_refused() -> None:
    archive = _zip(_classes(5))
    with pytest.raises(DataError, match="at most 6"):
        load_image_folders(archive, limits=ArchiveLimits(max_files=6))
    with pytest.raises(DataError, match="unpacks to .* KB; at most 0.3 KB"):
        load_image_folders(archive, limits=ArchiveLimits(max_total_bytes=300))
    with pytest.raises(DataError, match="one file may have at most"):
        load_image_folders(archive, limits=ArchiveLimits(max_file_bytes=50))


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ({"a.png": _png((1, 1, 1)), "b.png": _png((2, 2, 2))}, "one folder per class"),
        ({"red/0.png": _png((1, 1, 1)), "red/1.png": _png((2, 2, 2))}, "one folder per class"),
        ({"red/0.png": _png((1, 1, 1)), "red/1.png": _png((2, 1, 1)), "blue/0.png": _png((0, 0, 9))}, "at least 2"),
    ],
)
def test_unusable_layouts_say_what_to_change(entries: dict[str, bytes], match: str) -> None:
    with pytest.raises(DataError, match=match):
        load_image_folders(_zip(entries))


def test_not_a_zip_is_refused() -> None:
    with pytest.raises(DataError, match="not a readable zip"):
        load_image_folders(b"PK but not really")


def test_a_class_with_too_few_images_is_named_with_its_count_in_both_languages() -> None:
    entries = {**_classes(3), "green/0.png": _png((0, 200, 0)), "green/notes.txt": b"not an image"}
    with pytest.raises(DataError, match=r"at least 2 readable images.*green \(1\)") as info:
        load_image_folders(_zip(entries))
    assert "green (1)" in info.value.localized("ko") and "readable" not in info.value.localized("ko")


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ({"red/0.png": b"x"}, "found only 1 class folder:"),
        ({"red/0.png": b"x", "d.png": b"x", "e.png": b"x"}, "class folders found: 1; files outside any folder: 2"),
    ],
)  # fmt: skip
def test_folder_counts_use_plural_forms(entries: dict[str, bytes], expected: str) -> None:
    with pytest.raises(DataError, match=expected):
        load_image_folders(_zip(entries))
