"""Parse the files of downloaded data sets without trusting them: MNIST's IDX, CIFAR-10's pickled batches.

CIFAR-10 batches are unpickled with a restricted unpickler that rebuilds only NumPy arrays."""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz.errors import DataError, Phrase

__all__ = ["read_cifar10", "read_idx"]


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(source: str | Path | bytes) -> np.ndarray:
    """Parse an IDX file (MNIST's format), gzip-compressed or not, into an array.

    Raises DataError when the header or the length does not match the format.
    """
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    name = Phrase("errors.this_file") if isinstance(source, bytes) else Path(source).name
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError.from_key("errors.idx_bad_gzip", name=name) from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataError.from_key("errors.idx_bad_magic", name=name)
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError.from_key("errors.idx_truncated", name=name)
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError.from_key("errors.idx_wrong_length", name=name, have=len(raw) - header, expected=expected)
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


class _Refused(pickle.UnpicklingError):
    """A pickled data file asked for a Python object other than the few a NumPy array needs."""


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds only numpy arrays and dtypes: anything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _allowed_globals()
        if (module, name) not in allowed:
            raise _Refused(f"global {module}.{name} is not allowed in a data file")
        return allowed[(module, name)]


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """Return the few globals a pickled numpy array needs, under their old and new module names."""
    import codecs

    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's own _reconstruct
    allowed: dict[tuple[str, str], Any] = {("_codecs", "encode"): codecs.encode}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct
    for module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "ndarray")] = np.ndarray
        allowed[(module, "dtype")] = np.dtype
    return allowed


def _load_pickle_safely(data: bytes, what: str) -> Any:
    """Unpickle ``data`` with the restricted unpickler; DataError when it is refused or broken."""
    try:
        return _SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
    except _Refused as err:
        raise DataError.from_key("errors.cifar_unsafe", name=what) from err
    except Exception as err:  # noqa: BLE001 - any failure means the file cannot be used
        raise DataError.from_key("errors.cifar_unreadable", name=what) from err


def read_cifar10(source: str | Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read CIFAR-10's python tar.gz without extracting it: ((train_x, train_y), (test_x, test_y)).

    Images are uint8 (N, 32, 32, 3), labels int64. Each batch is unpickled with a restricted
    unpickler that only rebuilds numpy arrays. Raises DataError on a broken or unsafe archive.
    """
    wanted = {f"data_batch_{i}" for i in range(1, 6)} | {"test_batch"}
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in wanted:
                    batches[base] = _parse_cifar_batch(tar.extractfile(member).read(), base)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError.from_key("errors.cifar_not_archive", name=Path(source).name) from err
    missing = sorted(wanted - set(batches))
    if missing:
        raise DataError.from_key("errors.cifar_missing_batches", missing=", ".join(missing))
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    train_x = np.concatenate([x for x, _ in train])
    train_y = np.concatenate([y for _, y in train])
    return (train_x, train_y), batches["test_batch"]


def _parse_cifar_batch(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Return uint8 (N, 32, 32, 3) images and int64 labels from one pickled batch."""
    batch = _load_pickle_safely(data, what)
    if not isinstance(batch, dict):
        raise DataError.from_key("errors.cifar_bad_batch", name=what)
    images = batch.get("data", batch.get(b"data"))
    labels = batch.get("labels", batch.get(b"labels"))
    if not isinstance(images, np.ndarray) or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise DataError.from_key("errors.cifar_bad_batch", name=what)
    labels = np.asarray(labels, dtype=np.int64) if labels is not None else None
    if labels is None or labels.shape != (images.shape[0],) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise DataError.from_key("errors.cifar_bad_labels", name=what)
    images = images.astype(np.uint8, copy=False).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels
