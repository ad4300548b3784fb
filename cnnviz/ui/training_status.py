"""Live-training page: the status line of a run (state, device, queue place, fold), its progress bar and its message."""

from __future__ import annotations

import math

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnviz.train import JobSnapshot, JobState, RunStatus, cross_validation
from cnnviz.ui.base import current_language, t
from cnnviz.ui.training import message_text

__all__ = ["folds_text", "progress_section", "queue_text"]


def queue_text(snap: JobSnapshot) -> str:
    """Where a queued run stands: its place, how many wait, how many train at once."""
    return t("runs.queued", n=snap.queue_place, waiting=max(snap.queue_length, snap.queue_place),
             capacity=snap.capacity)  # fmt: skip


def folds_text(snap: JobSnapshot) -> str:
    """k-fold: each finished fold's best validation score, then their mean ± standard deviation."""
    cv = cross_validation(snap.fold_results)
    scores = ", ".join(t("runs.fold_score", fold=f.fold, score=f.best_val_accuracy) for f in cv.folds)
    if not math.isfinite(cv.mean):
        return t("runs.folds_none")
    return t("runs.folds_result", n=len(cv.folds), k=snap.folds, scores=scores, mean=cv.mean, std=cv.std)


def progress_section(snap: JobSnapshot, status: DeltaGenerator) -> None:
    """The state and device (or the queue place), a progress bar, and the run's message (failure, divergence, stop)."""
    if snap.state is JobState.QUEUED:
        status.markdown(t("train.status", state=t("train.state.queued"), device=queue_text(snap)))
        st.info(t("runs.queued_help", n=snap.capacity))
        return
    device = snap.device.localized(current_language())
    status.markdown(t("train.status", state=t(f"train.state.{snap.state.value}"), device=device))
    eta = t("train.eta", s=round(snap.eta_s)) if snap.eta_s is not None else ""
    current = snap.epoch if snap.done else min(snap.epoch + 1, snap.epochs)
    if snap.status is RunStatus.DIVERGED:  # what happened, not "0 images/s" for a run that blew up in epoch 1
        text = t("train_live.progress_diverged", epoch=min(snap.epoch + 1, snap.epochs), epochs=snap.epochs)
    elif snap.samples_per_s > 0:
        text = t("train.progress", epoch=current, epochs=snap.epochs, speed=round(snap.samples_per_s), eta=eta)
    else:  # no speed measured yet
        text = t("train.progress_starting", epoch=current, epochs=snap.epochs, eta=eta)
    if snap.folds:
        text = t("runs.fold_of", fold=snap.fold, k=snap.folds) + " · " + text
    st.progress(snap.progress, text=text)
    if snap.fold_results:
        st.markdown(folds_text(snap))
    message = message_text(snap.message)
    if snap.state is JobState.FAILED:
        st.error(message, icon="⚠️")
    elif snap.status is RunStatus.DIVERGED:
        st.warning(message, icon="⚠️")
    elif message:
        st.info(message)
