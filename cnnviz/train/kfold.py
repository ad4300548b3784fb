"""Validation splits: a share of the images chosen as a fraction, and the k folds of cross-validation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from cnnviz.errors import ConfigError

__all__ = ["fold_data", "fold_indices", "split_by_fraction"]


def _all_images(data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The training and validation images of a split as one set, training images first."""
    return torch.cat([data.train_x, data.val_x]), torch.cat([data.train_y, data.val_y])


def _with(data: Any, x: torch.Tensor, y: torch.Tensor, train: torch.Tensor, val: torch.Tensor) -> Any:
    return replace(data, train_x=x[train], train_y=y[train], val_x=x[val], val_y=y[val])


def split_by_fraction(data: Any, fraction: float, *, seed: int = 0) -> Any:
    """The same images re-split so that ``fraction`` of them (rounded, at least one) validates, drawn with ``seed``."""
    x, y = _all_images(data)
    n = x.shape[0]
    n_val = max(1, round(n * fraction))
    if n_val >= n:
        raise ConfigError.from_key("errors.train_fraction_too_large", n=n, fraction=fraction)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return _with(data, x, y, order[n_val:], order[:n_val])


def fold_indices(n: int, k: int, *, seed: int = 0) -> list[torch.Tensor]:
    """Split ``range(n)``, shuffled with ``seed``, into ``k`` folds whose sizes differ by at most one."""
    if not 2 <= k <= n:
        raise ConfigError.from_key("errors.train_folds", k=k, n=n)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return list(torch.tensor_split(order, k))


def fold_data(data: Any, k: int, i: int, *, seed: int = 0) -> Any:
    """Fold ``i`` of ``k`` (0-based): validate on that fold of all the images, train on the other k - 1."""
    x, y = _all_images(data)
    folds = fold_indices(x.shape[0], k, seed=seed)
    train = torch.cat([f for j, f in enumerate(folds) if j != i])
    return _with(data, x, y, train, folds[i])
