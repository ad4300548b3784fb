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

from cnnviz.errors import DataError, Phrase

__all__ = ["RemoteSource", "cache_dir", "download"]

Progress = Callable[[int, int], None]  # progress(done_bytes, total_bytes); total 0 when unknown


@dataclass(frozen=True)
class RemoteSource:
    """Where a downloadable data set lives: mirrors tried in order, and its files with md5 and size."""

    mirrors: tuple[str, ...]  # base URLs ending with "/"
    files: tuple[tuple[str, str, int], ...]  # (file name, md5, approximate size in bytes)


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
        reason = (
            Phrase("errors.download_http", {"code": err.code})
            if isinstance(err, urllib.error.HTTPError)
            else Phrase("errors.download_unreachable")
        )
        raise DataError.from_key("errors.download_failed", url=url, reason=reason, dest=str(dest)) from err
    if md5 is not None and digest.hexdigest() != md5.lower():
        part.unlink(missing_ok=True)
        raise DataError.from_key("errors.download_corrupt", url=url)
    part.replace(dest)
    return dest


def _fetch(name: str, source: RemoteSource, root: str | Path | None, progress: Progress | None) -> dict[str, Path]:
    """Return the cached, verified files of data set ``name`` from ``source``, downloading what is missing."""
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
    raise error if error is not None else DataError.from_key("errors.download_no_mirror", name=filename)
