"""What k-fold cross-validation reports: each fold's best validation score, and their mean ± standard deviation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cnnviz.train.history import EpochStats, RunStatus

__all__ = ["CrossValidation", "FoldResult", "cross_validation"]


@dataclass(frozen=True)
class FoldResult:
    fold: int  # 1-based: the fold that validated
    epochs: tuple[EpochStats, ...]  # this fold's history
    status: RunStatus | None  # how this fold's run ended

    @property
    def best_epoch(self) -> EpochStats | None:
        """The epoch with the best validation score (the first of equals); None when no epoch finished."""
        finite = [e for e in self.epochs if math.isfinite(e.val_accuracy)]
        return max(finite, key=lambda e: e.val_accuracy) if finite else None

    @property
    def best_val_accuracy(self) -> float:
        best = self.best_epoch
        return math.nan if best is None else best.val_accuracy


@dataclass(frozen=True)
class CrossValidation:
    """The folds' best validation scores summarised: mean and population standard deviation (ddof = 0)."""

    folds: tuple[FoldResult, ...]
    mean: float
    std: float


def cross_validation(folds: Sequence[FoldResult]) -> CrossValidation:
    """Summarise finished folds (those with a finite best score); NaN mean and std when none has one."""
    scores = [f.best_val_accuracy for f in folds if math.isfinite(f.best_val_accuracy)]
    if not scores:
        return CrossValidation(tuple(folds), math.nan, math.nan)
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return CrossValidation(tuple(folds), mean, std)
