"""Live-training page: the loss and accuracy curves, the confusion matrix, the frozen features in 2-D."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from cnnviz.errors import Phrase
from cnnviz.train import EpochStats, FeatureProjection, JobSnapshot, RunStatus
from cnnviz.ui.base import t

if TYPE_CHECKING:  # only for annotations
    from cnnviz.ui.training import RunRecord

__all__ = [
    "MARK_KINDS",
    "LossMark",
    "confusion_figure",
    "curves_figure",
    "features_figure",
    "log_loss_axis",
    "loss_cap",
    "loss_marks",
    "loss_text",
    "step_position",
]


LOSS_CLIP_FACTOR = 1e30  # losses above this × the smallest one (and inf, NaN) are drawn lower, marked ✕
WIDE_LOSS_RATIO = 20.0  # losses spanning more than this factor get a log axis (a diverged run always does)
MARK_KINDS = ("clipped", "exploded", "not_finite")  # why a training window is marked ✕ (catalog train_live.mark.*)


@dataclass(frozen=True)
class LossMark:
    """A training window drawn with a ✕: where a diverged run's loss blew up, or a loss too large to draw."""

    step: int
    loss: float  # the value recorded
    kind: str  # one of MARK_KINDS


def curves_figure(
    snap: JobSnapshot, runs: Sequence[RunRecord] = (), *, metric: str, mark_epoch: int | None = None
) -> go.Figure:
    """Train (per window) and validation (per epoch) loss or accuracy against epochs (fractional for windows).

    Accuracy sits on [0, 1]; loss goes on a log axis when it spans a wide range or the run diverged; the window
    where a diverged run blew up, and a loss too large to draw (inf, NaN, ≥ LOSS_CLIP_FACTOR × the smallest,
    drawn lower), get a ✕ whose hover says what happened. ``runs``: earlier runs' validation curves, dashed.
    """
    fig = go.Figure()
    steps = snap.step_stats
    if steps:
        x = [step_position(snap, s.step) for s in steps]
        mode = "lines" if len(steps) > 40 else "lines+markers"
        if metric == "loss":
            _add_losses(fig, x, [s.loss for s in steps], t("train.curve_train"), loss_cap(snap), mode=mode)
            _add_marks(fig, snap)
        else:
            fig.add_scatter(x=x, y=[s.accuracy for s in steps], name=t("train.curve_train"), mode=mode)
    _add_epochs(fig, snap.epoch_stats, metric, t("train.curve_val"), loss_cap(snap), dash=None)
    for run in runs:
        label = t("train.curve_val_of", label=run.label)
        _add_epochs(fig, run.snapshot.epoch_stats, metric, label, loss_cap(run.snapshot), dash="dash")
    if mark_epoch is not None:
        fig.add_vline(x=mark_epoch, line_dash="dot", line_color="grey")
    title = t("train.chart_loss") if metric == "loss" else t("train.chart_accuracy")
    fig.update_layout(title=title, xaxis_title=t("train.axis_epoch"), height=320, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.25))  # fmt: skip
    fig.update_xaxes(rangemode="tozero")
    fig.update_traces(cliponaxis=False)  # a point at accuracy 1 or at the clip height is drawn whole
    if metric == "accuracy":
        fig.update_yaxes(range=[0, 1])
    elif log_loss_axis(snap):
        positive = [v for v in _losses(snap) if math.isfinite(v) and v > 0]
        wide = bool(positive) and max(positive) > 1e3 * min(positive)  # powers of ten, not "10B" and "100k"
        fig.update_yaxes(type="log", exponentformat="power" if wide else "none")
    return fig


def step_position(snap: JobSnapshot, step: int) -> float:
    """Where optimizer step ``step`` (1-based, counted over the run) ends, in epochs: epoch e's last step is at e."""
    per_epoch = snap.total_steps // max(snap.epochs, 1)
    return step / per_epoch if per_epoch else 0.0


def _losses(snap: JobSnapshot) -> list[float]:
    return [s.loss for s in snap.step_stats] + [e.val_loss for e in snap.epoch_stats]


def loss_cap(snap: JobSnapshot) -> tuple[float, float]:
    """(limit, height): losses ≥ limit (LOSS_CLIP_FACTOR × the smallest), inf and NaN are drawn at ``height``.

    ``height`` is 10 × the largest loss drawn as it is (at most the limit), so a ✕ sits just above the curve.
    """
    positive = [v for v in _losses(snap) if math.isfinite(v) and v > 0]
    limit = LOSS_CLIP_FACTOR * min(positive) if positive else LOSS_CLIP_FACTOR
    drawn = [v for v in positive if v < limit]
    return limit, min(limit, 10 * max(drawn)) if drawn else limit


def loss_marks(snap: JobSnapshot) -> list[LossMark]:
    """The training windows drawn with a ✕: losses too large to draw, and the window where a diverged run blew up.

    The trainer records the window in which a run diverges, above every loss before it (a NaN or inf loss as a
    finite stand-in, its message says so): so a diverged run's last window is marked when it is its largest.
    """
    limit, _ = loss_cap(snap)
    marks = {s.step: LossMark(s.step, s.loss, "clipped") for s in snap.step_stats
             if not (math.isfinite(s.loss) and s.loss < limit)}  # fmt: skip
    steps = snap.step_stats
    largest_last = bool(steps) and all(steps[-1].loss >= s.loss for s in steps if not math.isnan(s.loss))
    if snap.status is RunStatus.DIVERGED and largest_last:
        kind = "not_finite" if _not_finite(snap.message) or not math.isfinite(steps[-1].loss) else "exploded"
        marks[steps[-1].step] = LossMark(steps[-1].step, steps[-1].loss, kind)
    return sorted(marks.values(), key=lambda m: m.step)


def _not_finite(message: Phrase | None) -> bool:
    """True when a divergence message says the loss became NaN or infinite (not merely huge)."""
    what = message.values.get("what") if message is not None else None
    return isinstance(what, Phrase) and what.key == "errors.run_loss_not_finite"


def log_loss_axis(snap: JobSnapshot) -> bool:
    """True for a diverged run, and for losses spanning more than WIDE_LOSS_RATIO."""
    if snap.status is RunStatus.DIVERGED or loss_marks(snap):
        return True
    positive = [v for v in _losses(snap) if math.isfinite(v) and v > 0]
    return bool(positive) and max(positive) > WIDE_LOSS_RATIO * min(positive)


def _drawn(value: float, cap: tuple[float, float]) -> float:
    limit, height = cap
    return value if math.isfinite(value) and value < limit else height


def _add_losses(fig: go.Figure, x: list[float], y: list[float], name: str, cap: tuple[float, float], *, mode: str,
                dash: str | None = None) -> None:  # fmt: skip
    """A loss curve; a value too large to draw (``loss_cap``) sits at the cap's height."""
    fig.add_scatter(x=x, y=[_drawn(v, cap) for v in y], name=name, mode=mode, line=dict(dash=dash))


def _add_marks(fig: go.Figure, snap: JobSnapshot) -> None:
    """A red ✕ on every marked training window, its hover saying what happened and the value recorded."""
    marks, cap = loss_marks(snap), loss_cap(snap)
    if not marks:
        return
    hover = [t(f"train_live.mark.{m.kind}", loss=loss_text(m.loss), cap=f"{cap[1]:.3g}") for m in marks]
    fig.add_scatter(x=[step_position(snap, m.step) for m in marks], y=[_drawn(m.loss, cap) for m in marks],
                    mode="markers", hovertext=hover, hoverinfo="text+x", name=t("train_live.mark_legend"),
                    marker=dict(symbol="x", size=13, color="#d62728"))  # fmt: skip


def loss_text(value: float) -> str:
    """A loss for people: 3 significant digits, NaN, or ∞."""
    return f"{value:.3g}" if math.isfinite(value) else ("NaN" if math.isnan(value) else "∞")


def _add_epochs(fig: go.Figure, epochs: tuple[EpochStats, ...], metric: str, name: str, cap: tuple[float, float], *,
                dash: str | None) -> None:  # fmt: skip
    if not epochs:
        return
    x = [e.epoch for e in epochs]
    if metric == "loss":
        _add_losses(fig, x, [e.val_loss for e in epochs], name, cap, mode="lines+markers", dash=dash)
    else:
        fig.add_scatter(x=x, y=[e.val_accuracy for e in epochs], name=name, mode="lines+markers", line=dict(dash=dash))


def confusion_figure(confusion: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """Heat map of counts (K, K): rows are true classes, columns predicted classes, named for people."""
    fig = go.Figure(go.Heatmap(z=confusion, x=list(class_names), y=list(class_names), colorscale="Blues",
                               text=confusion, texttemplate="%{text}", showscale=False))  # fmt: skip
    fig.update_layout(title=t("train.confusion"), xaxis_title=t("train.predicted"), yaxis_title=t("train.true"),
                      yaxis_autorange="reversed", height=420, margin=dict(l=10, r=10, t=40, b=10))  # fmt: skip
    return fig


def features_figure(features: FeatureProjection, class_names: Sequence[str]) -> go.Figure:
    """Every photo's backbone features in 2-D (first two principal components): one colour per class, ◆ = validation."""
    fig = go.Figure()
    for k, name in enumerate(class_names):
        for val in (False, True):
            keep = (features.labels == k) & (features.is_val == val)
            if not keep.any():
                continue
            fig.add_scatter(x=features.points[keep, 0], y=features.points[keep, 1], mode="markers",
                            name=t("train.features_val", name=name) if val else name, legendgroup=str(k),
                            marker=dict(color=_colour(k), size=11 if val else 8, symbol="diamond" if val else "circle",
                                        line=dict(width=1.5 if val else 0, color="black")))  # fmt: skip
    share = [round(100 * v) for v in features.explained]
    fig.update_layout(title=t("train.features_title", dims=f"{features.dims:,}"), height=360,
                      xaxis_title=t("train.features_axis", n=1, share=share[0]),
                      yaxis_title=t("train.features_axis", n=2, share=share[1]),
                      margin=dict(l=10, r=10, t=40, b=10))  # fmt: skip
    return fig


def _colour(k: int) -> str:
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf")  # fmt: skip
    return palette[k % len(palette)]
