"""Running sums of training steps, kept on the device and read back once per window (the live curves' points).

A run's steps are cut into windows that run across epoch boundaries, so every point of the training
curve averages the same number of images: the first window is the run's first step alone (a first
point at once), every later one ``sync_every`` steps; only the run's last window, and the one in which
a run diverges, may be shorter. An epoch's own sums are kept apart for ``EpochStats``.
"""

from __future__ import annotations

import math
import time

import torch

from cnnviz.train.history import StepStats

__all__: list[str] = []


# A NaN or infinite window loss is recorded as this × the divergence limit: finite, so a log axis can draw it,
# and above every loss recorded before it (any finite loss above the limit already ends the run).
NOT_FINITE_LOSS_MARKER = 10.0


class StepSums:
    """Loss × images, correct predictions, images and scored items of some steps, summed on the device."""

    def __init__(self, device: torch.device) -> None:
        self._zero = torch.zeros((), device=device)
        self.clear()

    def clear(self) -> None:
        self.loss, self.correct = self._zero.clone(), self._zero.clone()
        self.count, self.scored, self.steps, self.seconds = 0, 0, 0, 0.0

    def add(self, loss: torch.Tensor, size: int, correct: torch.Tensor, scored: int) -> None:
        """Add one step: its mean loss over ``size`` images and its score (no read-back to the host)."""
        self.loss += loss * size
        self.correct += correct
        self.count, self.scored, self.steps = self.count + size, self.scored + scored, self.steps + 1

    def means(self) -> tuple[float, float]:
        """Read back (mean loss per image, accuracy): the one synchronisation of a window."""
        loss, correct = torch.stack((self.loss, self.correct)).tolist()
        return loss / max(self.count, 1), correct / max(self.scored, 1)


def window_stats(
    sums: StepSums, *, step: int, epoch: int, lr: float, grad_norm: float, limit: float
) -> tuple[StepStats, float]:
    """Return the window's StepStats and its true mean loss (NaN or inf kept there, a finite marker in the stats).

    ``limit`` is the loss above which a run counts as diverged; a non-finite loss is stored as
    ``NOT_FINITE_LOSS_MARKER × limit``, a finite one as it is (even far above the limit).
    """
    start = time.perf_counter()
    loss, accuracy = sums.means()
    sums.seconds += time.perf_counter() - start  # the wait for the device belongs to the window's steps
    shown = loss if math.isfinite(loss) else NOT_FINITE_LOSS_MARKER * limit
    speed = sums.count / max(sums.seconds, 1e-9)
    return StepStats(step, epoch, shown, accuracy, lr, speed, grad_norm), loss


def window_ends(step: int, sync_every: int, *, last: bool) -> bool:
    """True when global ``step`` (1-based) closes a window: step 1, every ``sync_every`` steps after, the last."""
    return last or (step - 1) % sync_every == 0
