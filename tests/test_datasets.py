"""Data sets: procedural shapes/digits (seeded, shapes, ranges, balance) and the download parsers (no network)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import socket
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnviz import data as datasets
from cnnviz.data import (
    DATASETS,
    DIGITS_CLASSES,
    REMOTE_SOURCES,
    SHAPES_CLASSES,
    available_datasets,
    cache_dir,
    dataset_stats,
    download,
    load_dataset,
    read_cifar10,
    read_idx,
)
from cnnviz.errors import ConfigError, DataError


def test_available_datasets_lists_offline_sets_first() -> None:
    names = available_datasets()
    assert names[:2] == ["shapes", "digits"]
    assert {"mnist", "fashion-mnist", "cifar10"} <= set(names)
    assert len(SHAPES_CLASSES) >= 8


@pytest.mark.parametrize(
    ("name", "channels", "size", "classes"), [("shapes", 3, 64, SHAPES_CLASSES), ("digits", 1, 28, DIGITS_CLASSES)]
)
def test_procedural_split_shapes_dtypes_ranges(name: str, channels: int, size: int, classes: tuple[str, ...]) -> None:
    split = load_dataset(name, n_train=40, n_val=17, seed=3)
    assert split.train_x.shape == (40, channels, size, size)
    assert split.val_x.shape == (17, channels, size, size)
    assert split.train_x.dtype == torch.float32 and split.train_y.dtype == torch.int64
    assert float(split.train_x.min()) >= 0.0 and float(split.train_x.max()) <= 1.0
    assert split.train_x.std() > 0.05  # not blank
    assert (split.in_channels, split.image_size, split.name, split.class_names) == (channels, size, name, classes)
    assert len(split.mean) == len(split.std) == channels
    assert int(split.train_y.min()) >= 0 and int(split.train_y.max()) < len(classes)


@pytest.mark.parametrize("name", ["shapes", "digits"])
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    a = load_dataset(name, n_train=30, n_val=10, seed=7)
    b = load_dataset(name, n_train=30, n_val=10, seed=7)
    c = load_dataset(name, n_train=30, n_val=10, seed=8)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.train_y, b.train_y)
    assert torch.equal(a.val_x, b.val_x) and torch.equal(a.val_y, b.val_y)
    assert not torch.equal(a.train_x, c.train_x)
    assert not torch.equal(a.train_x[: len(a.val_x)], a.val_x)  # train and validation streams differ


def test_validation_images_do_not_depend_on_n_train() -> None:
    a = load_dataset("digits", n_train=10, n_val=12, seed=1)
    b = load_dataset("digits", n_train=25, n_val=12, seed=1)
    assert torch.equal(a.val_x, b.val_x)


@pytest.mark.parametrize(("make", "k"), [(datasets.make_shapes, 8), (datasets.make_digits, 10)])
def test_classes_are_balanced(make, k: int) -> None:
    _, labels = make(k * 13 + 3, seed=0)
    counts = np.bincount(labels, minlength=k)
    assert counts.min() >= 13 and counts.max() <= 14


def test_every_shape_class_differs_from_a_blank_background() -> None:
    images, labels = datasets.make_shapes(64, seed=2)
    for c in range(len(SHAPES_CLASSES)):
        img = images[labels == c][0].astype(np.float32) / 255
        assert img.std(axis=(0, 1)).max() > 0.08, SHAPES_CLASSES[c]


def test_digits_are_white_on_black_and_centred() -> None:
    images, _ = datasets.make_digits(50, seed=4)
    x = images[..., 0].astype(np.float64) / 255
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)
    assert border.mean() < 0.05 and x.max() > 0.9
    rows = (x.sum(2) * np.arange(28)).sum(1) / x.sum((1, 2))
    cols = (x.sum(1) * np.arange(28)).sum(1) / x.sum((1, 2))
    np.testing.assert_allclose(rows.mean(), 13.5, atol=1.5)  # centred by mass, like MNIST
    np.testing.assert_allclose(cols.mean(), 13.5, atol=1.5)


def test_generation_is_fast() -> None:
    import time

    start = time.perf_counter()
    datasets.make_shapes(1000, seed=0)
    datasets.make_digits(1000, seed=0)
    assert time.perf_counter() - start < 10.0  # ~1 s each on 2 loaded cores


def test_bad_counts_and_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="n_train"):
        load_dataset("shapes", n_train=0, n_val=5)
    with pytest.raises(ConfigError, match="at most 30000"):
        load_dataset("shapes", n_train=10**6, n_val=0)
    with pytest.raises(DataError, match="imagenet.*shapes, digits, mnist, fashion-mnist, cifar10"):
        load_dataset("imagenet", n_train=5, n_val=5)
    with pytest.raises(DataError, match="imagenet"):
        dataset_stats("imagenet")


def test_shapes_drawn_at_32_are_the_64_images_at_half_the_side() -> None:
    """The same seed at 32×32 draws the same scenes: each close to the 64×64 image averaged over 2×2 blocks."""
    small, small_labels = datasets.make_shapes(64, seed=3, size=32)
    large, large_labels = datasets.make_shapes(64, seed=3)
    assert small.shape == (64, 32, 32, 3) and small.dtype == np.uint8
    assert small_labels.tolist() == large_labels.tolist()
    halved = large.astype(np.float64).reshape(64, 32, 2, 32, 2, 3).mean(axis=(2, 4))  # independent 2×2 area average
    r = [np.corrcoef(small[i].ravel(), halved[i].ravel())[0, 1] for i in range(64)]
    # measured: median 0.99, lowest 0.88 (a low-contrast shape, where the pixel noise, drawn anew, weighs most)
    assert np.median(r) > 0.98 and min(r) > 0.8, (np.median(r), min(r))
    np.testing.assert_array_equal(datasets.make_shapes(8, seed=3, size=64)[0], datasets.make_shapes(8, seed=3)[0])


def test_load_dataset_at_another_side_draws_shapes_and_resizes_the_rest() -> None:
    shapes = load_dataset("shapes", n_train=6, n_val=4, seed=2, image_size=32)
    drawn, _ = datasets.make_shapes(6, seed=np.random.SeedSequence(2).spawn(2)[0], size=32)
    torch.testing.assert_close(shapes.train_x, torch.from_numpy(drawn).permute(0, 3, 1, 2).float() / 255, rtol=0,
                               atol=0)  # fmt: skip
    assert shapes.image_size == 32 and shapes.val_x.shape == (4, 3, 32, 32)
    own = load_dataset("digits", n_train=20, n_val=4, seed=1)
    for side in (16, 32, 48):
        resized = load_dataset("digits", n_train=20, n_val=4, seed=1, image_size=side)
        assert resized.image_size == side and resized.train_y.tolist() == own.train_y.tolist()
        pixels = (own.train_x[:, 0].numpy() * 255).round().astype(np.uint8)  # PIL's bilinear as the reference
        pil = np.stack([np.asarray(Image.fromarray(p).resize((side, side), Image.BILINEAR)) for p in pixels]) / 255
        np.testing.assert_allclose(resized.train_x[:, 0].numpy(), pil, rtol=0, atol=1.5 / 255)  # PIL rounds to uint8


def test_an_impossible_side_or_too_many_pixels_is_refused() -> None:
    with pytest.raises(ConfigError, match="8×8.*16 to 256"):
        load_dataset("shapes", n_train=4, n_val=1, image_size=8)
    with pytest.raises(ConfigError, match="scenes.*own side 96"):
        load_dataset("scenes", n_train=4, n_val=1, image_size=64)
    with pytest.raises(DataError, match="16 to 256"):
        datasets.make_shapes(2, size=300)
    shapes = DATASETS["shapes"]  # the memory cap is in pixels: 30,000 images at 64×64
    assert datasets.image_limit(shapes, 32) == 120_000 and datasets.image_limit(shapes, 128) == 7500
    with pytest.raises(ConfigError, match="at most 7500"):
        load_dataset("shapes", n_train=7500, n_val=1, image_size=128)


def test_every_registry_entry_is_complete_and_true_to_its_data() -> None:
    assert REMOTE_SOURCES == {name: info.source for name, info in DATASETS.items() if not info.procedural}
    for name, info in DATASETS.items():
        assert info.name == name and len(info.mean) == len(info.std) == info.in_channels, name
        assert dataset_stats(name) == (info.mean, info.std)
        if info.procedural:  # drawn here: the generator gives what the entry says
            assert info.max_images and info.source is None and info.read is None, name
            images, labels = info.generate(2 * len(info.class_names), seed=0)
            assert images.shape[1:] == (info.image_size, info.image_size, info.in_channels) and images.dtype == np.uint8
            classes = len(info.class_names) + (info.task == "scenes")  # a scene's mask adds the background, 0
            assert sorted(set(labels.ravel().tolist())) == list(range(classes)), name
        else:
            assert info.source is not None and info.read is not None and info.max_images is None, name


def _stripes(n: int, *, seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
    """A toy generator: 16×16 grey images, class 0 horizontal and class 1 vertical stripes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    rows = np.tile((np.arange(16) % 4 < 2)[:, None], (1, 16)).astype(np.uint8) * 255
    images = np.where(labels[:, None, None] == 0, rows, rows.T)[..., None]
    return images, labels


def test_a_third_procedural_data_set_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    stripes = datasets.DatasetInfo("stripes", ("horizontal", "vertical"), (0.5,), (0.5,), 16, 1, generate=_stripes,
                                   max_images=100)  # fmt: skip
    monkeypatch.setitem(DATASETS, "stripes", stripes)
    assert available_datasets().index("stripes") < available_datasets().index("mnist")  # offline sets first
    split = load_dataset("stripes", n_train=6, n_val=4, seed=1)
    expected, labels = _stripes(6, seed=np.random.SeedSequence(1).spawn(2)[0])
    torch.testing.assert_close(split.train_x[:, 0], torch.from_numpy(expected[..., 0]).float() / 255, rtol=0, atol=0)
    assert split.train_y.tolist() == labels.tolist() and split.class_names == ("horizontal", "vertical")
    assert datasets.draw_example("stripes", 1).shape == (16, 16, 1)
    with pytest.raises(ConfigError, match="at most 100"):
        load_dataset("stripes", n_train=100, n_val=1)


def test_centre_by_mass_places_ink_like_mnist() -> None:
    ink = np.zeros((30, 12), dtype=np.uint8)
    ink[:, :4] = 255  # a bar whose mass sits left of its middle
    out = datasets.centre_by_mass(Image.fromarray(ink), 28)
    rows, cols = np.nonzero(out > 0.5)
    assert rows.max() - rows.min() + 1 == 20  # the long side fills 20/28 of the side
    mass = out / out.sum()
    np.testing.assert_allclose((mass.sum(1) * np.arange(28)).sum(), 13.5, atol=0.5)  # centre of mass in the middle
    np.testing.assert_allclose((mass.sum(0) * np.arange(28)).sum(), 13.5, atol=0.5)


def test_cache_dir_honours_root_and_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_dir(tmp_path) == tmp_path
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "cnnviz"


# ---------------------------------------------------------------- file formats written by the test


def _idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in IDX format (the MNIST files), as the test's own reference writer."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_read_idx_roundtrip_plain_and_gzip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 5, dtype=np.uint8)
    (tmp_path / "img.gz").write_bytes(gzip.compress(_idx_bytes(images)))
    np.testing.assert_array_equal(read_idx(tmp_path / "img.gz"), images)
    np.testing.assert_array_equal(read_idx(_idx_bytes(labels)), labels)


def test_read_idx_rejects_broken_files() -> None:
    good = _idx_bytes(np.zeros((2, 3, 3), dtype=np.uint8))
    with pytest.raises(DataError, match="header says"):
        read_idx(good[:-1])
    with pytest.raises(DataError, match="not an IDX"):
        read_idx(b"\x01\x02\x03\x04" + good[4:])
    with pytest.raises(DataError, match="gzip"):
        read_idx(gzip.compress(good)[:20])


def _cifar_batch(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    payload = pickle.dumps({"batch_label": "test", "labels": labels, "data": data}, protocol=2)
    return payload, data, np.asarray(labels)


def _write_cifar_tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_read_cifar10_parses_batches(tmp_path: Path) -> None:
    members, expected = {}, {}
    for i, name in enumerate([*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]):
        members[name], data, labels = _cifar_batch(3, seed=i)
        expected[name] = (data, labels)
    _write_cifar_tar(tmp_path / "c.tar.gz", members)
    (train_x, train_y), (test_x, test_y) = read_cifar10(tmp_path / "c.tar.gz")
    assert train_x.shape == (15, 32, 32, 3) and train_x.dtype == np.uint8 and test_x.shape == (3, 32, 32, 3)
    data, labels = expected["data_batch_2"]
    # CIFAR stores planes R, G, B of 1024 bytes each: pixel (row 1, col 2) of image 0 in channel c.
    for c in range(3):
        assert train_x[3, 1, 2, c] == data[0, c * 1024 + 1 * 32 + 2]
    np.testing.assert_array_equal(train_y[3:6], labels)
    np.testing.assert_array_equal(test_y, expected["test_batch"][1])


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_malicious_cifar_pickle_is_refused(tmp_path: Path) -> None:
    members = {f"data_batch_{k}": _cifar_batch(2, k)[0] for k in range(1, 6)}
    members["test_batch"] = pickle.dumps({"data": _Exploit(), "labels": [0]}, protocol=2)
    _write_cifar_tar(tmp_path / "evil.tar.gz", members)
    with pytest.raises(DataError, match="not allowed"):
        read_cifar10(tmp_path / "evil.tar.gz")


def test_cifar_archive_missing_batches_or_garbage(tmp_path: Path) -> None:
    _write_cifar_tar(tmp_path / "part.tar.gz", {"data_batch_1": _cifar_batch(2, 0)[0]})
    with pytest.raises(DataError, match="lacks"):
        read_cifar10(tmp_path / "part.tar.gz")
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar file at all")
    with pytest.raises(DataError, match="not a readable"):
        read_cifar10(tmp_path / "junk.tar.gz")


# ---------------------------------------------------------------- downloads without network


def test_download_verifies_md5_and_reports_progress(tmp_path: Path) -> None:
    payload = os.urandom(3 << 20)  # 3 MiB: several 1 MiB pieces
    (tmp_path / "src.bin").write_bytes(payload)
    url = (tmp_path / "src.bin").as_uri()
    seen: list[tuple[int, int]] = []
    md5 = hashlib.md5(payload).hexdigest()
    out = download(url, tmp_path / "cache" / "f.bin", md5=md5, progress=lambda d, t: seen.append((d, t)))
    assert out.read_bytes() == payload
    assert seen[-1][0] == len(payload) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    with pytest.raises(DataError, match="corrupt"):
        download(url, tmp_path / "cache" / "g.bin", md5="0" * 32)
    assert not (tmp_path / "cache" / "g.bin").exists() and not list((tmp_path / "cache").glob("*.part"))


def test_download_uses_the_given_opener(tmp_path: Path) -> None:
    class Response(io.BytesIO):
        headers = {"Content-Length": "5"}

    out = download("https://example.invalid/x", tmp_path / "x", opener=lambda url, timeout: Response(b"hello"))
    assert out.read_bytes() == b"hello"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_download_raises_clear_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/"
    mnist = DATASETS["mnist"]
    monkeypatch.setitem(DATASETS, "mnist", replace(mnist, source=replace(mnist.source, mirrors=(dead,))))
    with pytest.raises(DataError, match="offline"):
        load_dataset("mnist", n_train=5, n_val=5, root=tmp_path)
    assert not list(tmp_path.rglob("*.part"))


def test_load_mnist_like_from_a_local_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 30, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 12, dtype=np.uint8),
    }
    files = []
    for name, array in arrays.items():
        blob = gzip.compress(_idx_bytes(array))
        (mirror / name).write_bytes(blob)
        files.append((name, hashlib.md5(blob).hexdigest(), len(blob)))
    source = datasets.RemoteSource(mirrors=(mirror.as_uri() + "/",), files=tuple(files))
    monkeypatch.setitem(DATASETS, "fashion-mnist", replace(DATASETS["fashion-mnist"], source=source))
    seen: list[tuple[int, int]] = []
    split = load_dataset(
        "fashion-mnist",
        n_train=20,
        n_val=12,
        seed=0,
        root=tmp_path / "cache",
        progress=lambda d, t: seen.append((d, t)),
    )
    assert split.train_x.shape == (20, 1, 28, 28) and split.val_x.shape == (12, 1, 28, 28)
    assert split.class_names == datasets.FASHION_CLASSES and split.in_channels == 1
    assert seen and seen[-1][0] == seen[-1][1] == sum(size for _, _, size in files)
    # The test split keeps every image, in file order; values are scaled to [0, 1].
    torch.testing.assert_close(
        split.val_x[:, 0], torch.from_numpy(arrays["t10k-images-idx3-ubyte.gz"]).float() / 255, rtol=0, atol=1e-6
    )
    torch.testing.assert_close(split.val_y, torch.from_numpy(arrays["t10k-labels-idx1-ubyte.gz"]).long())
    assert (tmp_path / "cache" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").is_file()
    with pytest.raises(ConfigError, match="at most 30"):
        load_dataset("fashion-mnist", n_train=31, n_val=1, root=tmp_path / "cache")


def test_a_failed_download_says_why_in_words(tmp_path: Path) -> None:
    import urllib.error

    def not_found(url: str, timeout: float):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)

    with pytest.raises(DataError, match="HTTP status 404") as info:
        download("https://example.invalid/x.gz", tmp_path / "x.gz", opener=not_found)
    assert "HTTP 상태 코드 404" in info.value.localized("ko") and "Not Found" not in str(info.value)
