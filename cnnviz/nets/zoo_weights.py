"""Official ImageNet weights of the zoo models: downloaded on request (hash checked), or a file the user gives.

Online: :func:`download_weights` fetches torchvision's default weights of a model into torch's
cache (``torch.hub.get_dir()/checkpoints``, where torchvision keeps them too), reporting progress
to a callback, and checks the SHA-256 prefix in the file name as ``torch.hub`` does.
Offline: a ``.pth`` file under its torchvision name in ``weights/`` at the repository root (the
model's spec then says ``has_bundled_weights``), or any uploaded file. Every file is read with
``torch.load(..., weights_only=True)``; a file that is not a state dict of the expected
architecture raises a CheckpointError that names the architecture expected (and the one the file
holds, when it is another zoo model's).
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import torch
from torch import nn

from cnnviz.errors import CheckpointError, Phrase
from cnnviz.nets.checkpoints import _Joined, _read_state_dict, _shape, _short_list
from cnnviz.nets.zoo import ZOO_MODELS, official_weights, torchvision_builder

__all__ = ["WEIGHTS_DIR", "download_weights", "load_zoo_weights", "weights_filename", "weights_url"]

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"  # offline weights: <repo>/weights/<file>.pth

Progress = Callable[[int, int | None], None]  # (bytes done, bytes in all or None when the server does not say)

_HASH = re.compile(r"-([a-f0-9]*)\.")  # torch.hub's rule: the file name carries a prefix of its SHA-256
_CHUNK = 1 << 20
_DROPPED_PREFIXES = {"googlenet": ("aux1.", "aux2.")}  # published without its auxiliary classifiers
_FAMILY_MARKERS = {  # a weight every model of a family has: only those families are built to compare
    "alexnet": "features.0.weight", "vgg": "features.0.weight", "googlenet": "inception3a.branch1.conv.weight",
    "resnet": "layer1.0.conv1.weight", "mobilenet_v2": "features.1.conv.0.0.weight",
}  # fmt: skip


def weights_url(name: str) -> str:
    """Return the download address of torchvision's default ImageNet weights of zoo model ``name``."""
    return official_weights(name).url


def weights_filename(name: str) -> str:
    """Return the file name torchvision gives those weights ("resnet18-f37072fd.pth")."""
    return weights_url(name).rsplit("/", 1)[-1]


def download_weights(name: str, progress: Progress | None = None, *, url: str | None = None,
                     model_dir: str | Path | None = None) -> Path:  # fmt: skip
    """Download the official weights of ``name`` into torch's cache (or ``model_dir``) once; return the file.

    ``progress(done, total)`` is called after each chunk (and once when the file is cached already).
    ``url`` replaces torchvision's address (a ``file://`` URL works). Raises CheckpointError when
    the download fails (offline, for example) or the file's SHA-256 does not match its name.
    """
    url = url or weights_url(name)
    folder = Path(model_dir) if model_dir is not None else Path(torch.hub.get_dir()) / "checkpoints"
    target = folder / url.rsplit("/", 1)[-1]
    if target.is_file():
        if progress is not None:
            size = target.stat().st_size
            progress(size, size)
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        digest = _fetch(url, partial, progress)
    except (urllib.error.URLError, OSError, ValueError) as err:
        partial.unlink(missing_ok=True)
        raise CheckpointError.from_key("errors.zoo_download_failed", model=name, file=target.name,
                                       folder=str(WEIGHTS_DIR)) from err  # fmt: skip
    expected = _HASH.search(target.name)
    if expected and not digest.startswith(expected.group(1)):
        partial.unlink(missing_ok=True)
        raise CheckpointError.from_key("errors.zoo_download_hash", model=name, file=target.name)
    partial.replace(target)
    return target


def _fetch(url: str, target: Path, progress: Progress | None) -> str:
    """Copy ``url`` to ``target`` chunk by chunk; return the SHA-256 hex digest of what was written."""
    sha = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=30) as response, target.open("wb") as out:  # noqa: S310 - fixed hosts
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            sha.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return sha.hexdigest()


def load_zoo_weights(name: str, model: nn.Module, source: str | Path | bytes | BinaryIO) -> nn.Module:
    """Load a state dict for zoo model ``name`` from a path, bytes or file into ``model``; return the model.

    Read with ``weights_only=True``. GoogLeNet's auxiliary classifier weights, which torchvision's
    file holds, are dropped (the model is published without them). Raises CheckpointError naming
    ``name`` when the file is unsafe, holds no state dict, or does not fit ``model``.
    """
    try:
        state = _read_state_dict(source)
    except CheckpointError as err:
        raise CheckpointError.from_key("errors.zoo_weights_unusable", model=name, reason=err) from err
    dropped = _DROPPED_PREFIXES.get(name, ())
    state = {k: v for k, v in state.items() if not k.startswith(dropped)} if dropped else state
    expected = model.state_dict()
    if set(state) != set(expected) or any(state[k].shape != v.shape for k, v in expected.items()):
        found = _which_zoo_model(state)
        if found is not None and found != name:
            raise CheckpointError.from_key("errors.zoo_weights_other_model", model=name, found=found)
        raise CheckpointError.from_key("errors.zoo_weights_mismatch", model=name, parts=_mismatch(state, expected))
    model.load_state_dict(state)
    return model


def _mismatch(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> _Joined:
    """The missing, unexpected and wrongly shaped weights, as translatable phrases."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k} ({_shape(state[k])} / {_shape(v)})" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]  # fmt: skip
    return _Joined(tuple(
        Phrase(key, {"names": _short_list(names)})
        for key, names in (("errors.checkpoint_part.missing", missing),
                           ("errors.checkpoint_part.unexpected", unexpected),
                           ("errors.checkpoint_part.wrong_shape", wrong))
        if names
    ))  # fmt: skip


def _which_zoo_model(state: dict[str, torch.Tensor]) -> str | None:
    """The zoo model whose names and shapes (any number of classes) the state dict has, if one (built on meta)."""
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    for candidate in ZOO_MODELS:
        marker = next(key for family, key in _FAMILY_MARKERS.items() if candidate.startswith(family))
        if marker not in state:
            continue
        with torch.device("meta"):
            model = torchvision_builder(candidate)(in_channels=3, image_size=224, num_classes=1000,
                                                   batch_norm=candidate.endswith("_bn"), dropout=0.0)  # fmt: skip
        dropped = _DROPPED_PREFIXES.get(candidate, ())
        theirs = {k: s for k, s in shapes.items() if not (dropped and k.startswith(dropped))}
        ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        if set(theirs) == set(ours) and all(theirs[k] == s for k, s in ours.items() if not _is_head(model, k)):
            return candidate
    return None


def _is_head(model: nn.Module, key: str) -> bool:
    """True for the weights of the last linear layer (its shape depends on the number of classes)."""
    last = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    return key.startswith(last + ".")
