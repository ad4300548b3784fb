"""Live-training page: the status line of a run (state, device, queue place), its progress bar and its message."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnviz.train import JobSnapshot, JobState, RunStatus
from cnnviz.ui.base import current_language, t
from cnnviz.ui.training import message_text

__all__ = ["progress_section"]


def progress_section(snap: JobSnapshot, status: DeltaGenerator) -> None:
    """The state and device, a progress bar, and the run's message (failure, divergence, early stop)."""
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
    st.progress(snap.progress, text=text)
    message = message_text(snap.message)
    if snap.state is JobState.FAILED:
        st.error(message, icon="⚠️")
    elif snap.status is RunStatus.DIVERGED:
        st.warning(message, icon="⚠️")
    elif message:
        st.info(message)
