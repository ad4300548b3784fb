"""Downloaded data sets: where they live, a checksum-verified download, and the user's cache folder."""

from __future__ import annotations

import hashlib
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnviz.errors import DataError

__all__ = ["REMOTE_SOURCES", "RemoteSource", "cache_dir", "download"]

Progress = Callable[[int, int], None]  # progress(done_bytes, total_bytes); total 0 when unknown


@dataclass(frozen=True)
class RemoteSource:
    """Where a downloadable data set lives: mirrors tried in order, and its files with md5 and size."""

    mirrors: tuple[str, ...]  # base URLs ending with "/"
    files: tuple[tuple[str, str, int], ...]  # (file name, md5, approximate size in bytes)


REMOTE_SOURCES: dict[str, RemoteSource] = {
    "mnist": RemoteSource(
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        files=(
            ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9_912_422),
            ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28_881),
            ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1_648_877),
            ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4_542),
        ),
    ),
    "fashion-mnist": RemoteSource(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files=(
            ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26_421_880),
            ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", 29_515),
            ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", 4_422_102),
            ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", 5_148),
        ),
    ),
    "cifar10": RemoteSource(
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        files=(("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170_498_071),),
    ),
}


def cache_dir(root: str | Path | None = None) -> Path:
    """Return the folder downloads are cached in: ``root``, else $XDG_CACHE_HOME/cnnviz, else ~/.cache/cnnviz."""
    if root is not None:
        return Path(root).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cnnviz"


def _md5_of(path: Path) -> str:
    """Return the hex md5 of a file, read in 1 MiB pieces."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def download(
    url: str,
    dest: str | Path,
    *,
    md5: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    opener: Callable[..., Any] = urllib.request.urlopen,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` to ``dest`` (via a .part file), check its md5, and return ``dest``.

    ``progress(done_bytes, total_bytes)`` is called as bytes arrive (total 0 when the server does
    not say). ``opener`` is urllib's urlopen unless replaced (tests pass a fake or a file:// URL).
    Raises DataError when the download fails (offline, HTTP error) or the checksum differs.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{os.getpid()}-{threading.get_ident()}.part")  # one per concurrent download
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with opener(url, timeout=timeout) as response, part.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) if getattr(response, "headers", None) else 0
            done = 0
            for piece in iter(lambda: response.read(1 << 20), b""):
                out.write(piece)
                digest.update(piece)
                done += len(piece)
                if progress is not None:
                    progress(done, total)
    except (urllib.error.URLError, OSError, ValueError) as err:
        part.unlink(missing_ok=True)
        raise DataError(
            f"Could not download {url} ({err}). The machine may be offline: connect to the internet, "
            f"copy the file to {dest} yourself, or use an offline data set (shapes, digits)."
        ) from err
    if md5 is not None and digest.hexdigest() != md5.lower():
        part.unlink(missing_ok=True)
        raise DataError(
            f"The file downloaded from {url} is corrupt (md5 {digest.hexdigest()}, expected {md5}): try again later."
        )
    part.replace(dest)
    return dest


def _fetch(name: str, root: str | Path | None, progress: Progress | None) -> dict[str, Path]:
    """Return the cached, verified files of a downloadable data set, downloading what is missing."""
    source = REMOTE_SOURCES[name]
    folder = cache_dir(root) / name
    total = sum(size for _, _, size in source.files)
    done = 0
    paths: dict[str, Path] = {}
    for filename, md5, size in source.files:
        path = folder / filename
        if path.is_file() and _md5_of(path) != md5:
            path.unlink()  # a corrupt or truncated cache entry: fetch it again
        if not path.is_file():
            path = _download_from_mirrors(source.mirrors, filename, path, md5, done, total, progress)
        done += size
        if progress is not None:
            progress(min(done, total), total)
        paths[filename] = path
    return paths


def _download_from_mirrors(
    mirrors: tuple[str, ...], filename: str, path: Path, md5: str, done: int, total: int, progress: Progress | None
) -> Path:
    """Try each mirror in turn; raise the last DataError when none works."""
    report = None if progress is None else (lambda got, _total: progress(min(done + got, total), total))
    error: DataError | None = None
    for base in mirrors:
        try:
            return download(base + filename, path, md5=md5, progress=report)
        except DataError as err:
            error = err
    raise error if error is not None else DataError(f"No mirror is configured for {filename}.")
