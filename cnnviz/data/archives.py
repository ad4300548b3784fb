"""Read a user's zip of images, one folder per class, safely into a train/validation split.

Nothing is written to disk: members are read into memory after the whole archive passed the
checks. The archive is refused (DataError) when a member has an absolute path or one that escapes
the folder (zip slip), is a symbolic link, is encrypted, or when the number of files, the total
uncompressed size or a member's compression ratio (zip bomb) is above the limits. Files that are
not images are skipped and counted.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import numpy as np
import torch
from PIL import Image, ImageOps

from cnnviz.data.images import ALLOWED_EXTENSIONS, load_image
from cnnviz.errors import DataError, ImageError

__all__ = ["ArchiveData", "ArchiveLimits", "load_image_folders"]

IGNORED_PARTS = ("__MACOSX",)  # folders that archivers add and nobody means as a class


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int = 5000  # members in the archive, folders included
    max_total_bytes: int = 200 * 1024 * 1024  # sum of uncompressed sizes
    max_file_bytes: int = 20 * 1024 * 1024  # one uncompressed member
    max_ratio: float = 100.0  # uncompressed / compressed size of one member (images hardly compress)
    min_per_class: int = 2  # images a class needs (one for training, one for validation)


@dataclass(frozen=True)
class ArchiveData:
    split: Any  # cnnviz.data.DataSplit
    skipped: int  # files that were not images or could not be decoded
    skipped_names: tuple[str, ...]  # the first few of them, for the message
    counts: tuple[int, ...]  # images per class, in class order


def load_image_folders(
    source: bytes | str | Path | BinaryIO,
    *,
    image_size: int = 64,
    mode: str = "RGB",
    val_fraction: float = 0.2,
    seed: int = 0,
    name: str = "my images",
    limits: ArchiveLimits = ArchiveLimits(),
) -> ArchiveData:
    """Read a zip of class folders into a DataSplit of ``image_size``² images in [0, 1].

    Images are centre-cropped to a square and resized; ``mode`` is "RGB" (3 channels) or "L" (1).
    Each class is split into train/validation with ``val_fraction`` (at least one image each).
    Raises DataError for an unsafe or unusable archive, with what to change.
    """
    if mode not in ("RGB", "L"):
        raise DataError.from_key("errors.image_mode", mode=repr(mode), modes="RGB, L")
    if not 0.0 < val_fraction < 1.0:
        raise DataError.from_key("errors.zip_val_fraction", fraction=val_fraction)
    files, skipped = _read_members(source, limits)
    by_class = _group_by_class(files)
    images: dict[str, list[torch.Tensor]] = {cls: [] for cls in by_class}  # a class of unreadable files counts 0
    for cls, members in sorted(by_class.items()):
        for member, data in members:
            try:
                images[cls].append(_to_tensor(data, image_size, mode))
            except ImageError:
                skipped.append(member)
    if not any(images.values()):
        unreadable = [name for name, _ in files]
        raise DataError.from_key("errors.zip_no_readable_images", n=len(unreadable),
                                 names=", ".join(unreadable[:3]))  # fmt: skip
    return ArchiveData(_split(images, val_fraction, seed, name, limits), len(skipped), tuple(skipped[:10]),
                       tuple(len(v) for _, v in sorted(images.items())))  # fmt: skip


def _read_members(source: bytes | str | Path | BinaryIO, limits: ArchiveLimits) -> tuple[list, list[str]]:
    """Check every member first, then read the image files; return [(path, bytes)] and skipped names."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise DataError.from_key("errors.zip_unreadable") from err
    with archive:
        infos = archive.infolist()
        _check_members(infos, limits)
        files, skipped = [], []
        for info in infos:
            if info.is_dir() or _ignored(info.filename):
                continue
            if PurePosixPath(info.filename).suffix.lower().lstrip(".") not in ALLOWED_EXTENSIONS:
                skipped.append(info.filename)
                continue
            files.append((info.filename, _read_capped(archive, info, limits)))
    return files, skipped


def _check_members(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    """Refuse the archive if any member is unsafe or the whole is too big (before reading anything)."""
    if len(infos) > limits.max_files:
        raise DataError.from_key("errors.zip_too_many_files", count=len(infos), limit=limits.max_files)
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise DataError.from_key("errors.zip_too_big", size=_human(total), limit=_human(limits.max_total_bytes))
    for info in infos:
        _check_path(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataError.from_key("errors.zip_symlink", name=repr(info.filename))
        if info.flag_bits & 0x1:
            raise DataError.from_key("errors.zip_encrypted", name=repr(info.filename))
        if info.file_size > limits.max_file_bytes:
            raise DataError.from_key(
                "errors.zip_file_too_big",
                name=repr(info.filename),
                size=_human(info.file_size),
                limit=_human(limits.max_file_bytes),
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 and ratio > limits.max_ratio:
            raise DataError.from_key(
                "errors.zip_bomb", name=repr(info.filename), ratio=f"{ratio:.0f}", limit=f"{limits.max_ratio:.0f}"
            )


def _human(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:.1f} MB" if n_bytes >= 2**20 else f"{n_bytes / 1024:.1f} KB"


def _check_path(name: str) -> None:
    """Refuse absolute paths, drive letters, backslashes and '..' (paths escaping the folder)."""
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or "\\" in name:
        raise DataError.from_key("errors.zip_absolute_path", name=repr(name))
    if ".." in path.parts:
        raise DataError.from_key("errors.zip_slip", name=repr(name))


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ArchiveLimits) -> bytes:
    """Read one member, never more than its declared size (a lying header cannot inflate memory)."""
    with archive.open(info) as handle:
        data = handle.read(min(info.file_size, limits.max_file_bytes) + 1)
    if len(data) > info.file_size:
        raise DataError.from_key("errors.zip_lying_header", name=repr(info.filename))
    return data


def _ignored(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p in IGNORED_PARTS or p.startswith(".") for p in parts)


def _group_by_class(files: list[tuple[str, bytes]]) -> dict[str, list[tuple[str, bytes]]]:
    """Map class folder → files; a single top folder wrapping the class folders is looked through."""
    parts = [PurePosixPath(name).parts for name, _ in files]
    depth = 1
    while parts and all(len(p) > depth + 1 for p in parts) and len({p[:depth] for p in parts}) == 1:
        depth += 1
    groups: dict[str, list[tuple[str, bytes]]] = {}
    loose = 0
    for (name, data), p in zip(files, parts, strict=True):
        if len(p) < depth + 1:
            loose += 1
            continue
        groups.setdefault(p[depth - 1], []).append((name, data))
    if len(groups) < 2:
        raise DataError.from_key(
            "errors.zip_loose_files" if loose else "errors.zip_too_few_classes", n=len(groups), loose=loose
        )
    return groups


def _to_tensor(data: bytes, image_size: int, mode: str) -> torch.Tensor:
    """Decode, centre-crop to a square, resize; return (C, S, S) float32 in [0, 1]."""
    img = load_image(data, mode=mode, max_side=max(4 * image_size, 256))
    img = ImageOps.fit(img, (image_size, image_size), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / 255.0  # (S, S) or (S, S, 3)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(arr))


def _split(images: dict[str, list[torch.Tensor]], val_fraction: float, seed: int, name: str, limits: ArchiveLimits):
    """Stratified seeded split into a DataSplit."""
    small = {cls: len(v) for cls, v in images.items() if len(v) < limits.min_per_class}
    if small:
        counts = ", ".join(f"{cls} ({n})" for cls, n in sorted(small.items()))
        raise DataError.from_key("errors.zip_class_too_small", n=limits.min_per_class, classes=counts)
    if len(images) < 2:
        raise DataError.from_key("errors.zip_too_few_classes", n=len(images))
    gen = torch.Generator().manual_seed(seed)
    parts: dict[str, list[torch.Tensor]] = {"tx": [], "ty": [], "vx": [], "vy": []}
    for label, (_, tensors) in enumerate(sorted(images.items())):
        stack = torch.stack(tensors)  # (n, C, S, S)
        order = torch.randperm(len(tensors), generator=gen)
        n_val = min(max(1, round(len(tensors) * val_fraction)), len(tensors) - 1)
        for key, idx in (("v", order[:n_val]), ("t", order[n_val:])):
            parts[key + "x"].append(stack[idx])
            parts[key + "y"].append(torch.full((len(idx),), label, dtype=torch.int64))
    return _make_split(
        name=name,
        train_x=torch.cat(parts["tx"]),
        train_y=torch.cat(parts["ty"]),
        val_x=torch.cat(parts["vx"]),
        val_y=torch.cat(parts["vy"]),
        class_names=tuple(sorted(images)),
    )


def _make_split(**values: Any) -> Any:
    """Build a cnnviz.data.DataSplit, filling the fields it has (mean/std from the training images)."""
    from cnnviz.data.split import DataSplit

    x = values["train_x"]  # (N, C, S, S)
    derived = {
        "in_channels": int(x.shape[1]),
        "image_size": int(x.shape[-1]),
        "mean": tuple(x.mean(dim=(0, 2, 3)).tolist()),
        "std": tuple(x.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()),
    }
    names = {f.name for f in fields(DataSplit)}
    return DataSplit(**{k: v for k, v in {**values, **derived}.items() if k in names})
