"""Live-training page: the panel that starts a run and shows it while it trains (a fragment rerun every second).

The job runs in a background thread (``cnnviz.train.TrainingJob``); this fragment only reads its
snapshots, sends the heartbeat and draws. When the job ends, the run is recorded and the whole page
reruns once, so the results below appear and the fragment stops ticking.
"""

from __future__ import annotations

import time
from dataclasses import replace

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnviz.data import ArchiveData
from cnnviz.errors import CnnvizError
from cnnviz.train import JobSnapshot, TrainConfig, TrainingJob
from cnnviz.ui.base import error_text, t
from cnnviz.ui.training import JOB_KEY, alive_probe, record_run
from cnnviz.ui.training_data import config_data
from cnnviz.ui.training_figures import curves_figure, features_figure, loss_marks, loss_text, step_position
from cnnviz.ui.training_layers import inside_network
from cnnviz.ui.training_status import progress_section
from cnnviz.ui.widgets import bounded_slider

__all__ = ["blend_eta", "live_panel", "start_job"]

ERROR_KEY = "train_error"  # why the last start failed (shown by the panel)
STARTED_KEY = "train_started"  # set by start_job: the panel reruns the whole page once, so it starts ticking
RECORDED_KEY = "train_recorded"  # id() of the job whose results were recorded
REPLAY_KEY = "train_replay"
ETA_KEY = "train_eta"  # (job id, shown estimate, time.monotonic() when shown): the time left counts down smoothly
ETA_WEIGHT = 0.3  # share of a new raw estimate in the one shown (the rest: the last one shown, counted down)
TICK_SECONDS = 1.0
FIRST_TICK_SECONDS = 0.25  # until the first curve point: it shows within a quarter second of being computed
FAST_KEY = "train_fast_tick"  # the fragment ticks at FIRST_TICK_SECONDS (a full rerun slows it once a point is there)


def start_job(config: TrainConfig, archive: ArchiveData | None) -> None:
    """Button callback: start a job for this session (its errors are shown by the panel)."""
    try:
        job = TrainingJob(config, data=archive.split if archive else None, is_alive=alive_probe(),
                          loader=config_data).start()  # fmt: skip
    except CnnvizError as err:
        st.session_state[ERROR_KEY] = error_text(err)
        return
    st.session_state.pop(ERROR_KEY, None)
    st.session_state.pop(REPLAY_KEY, None)  # a new run replays from its own last epoch
    st.session_state[JOB_KEY], st.session_state[STARTED_KEY] = job, True


def live_panel(config: TrainConfig | None, archive: ArchiveData | None, *, ready: bool) -> None:
    """Draw the controls, progress, live curves and every layer's filters, maps and histograms; ticks while training."""
    job: TrainingJob | None = st.session_state.get(JOB_KEY)
    snap = job.snapshot() if job is not None else None
    active = snap is not None and not snap.done
    fast = st.session_state[FAST_KEY] = active and not snap.step_stats
    tick = (FIRST_TICK_SECONDS if fast else TICK_SECONDS) if active else None
    st.fragment(_panel, run_every=tick)(config, archive, ready)


def _panel(config: TrainConfig | None, archive: ArchiveData | None, ready: bool) -> None:
    job: TrainingJob | None = st.session_state.get(JOB_KEY)
    if st.session_state.pop(STARTED_KEY, False):
        st.rerun()  # a full run, so this fragment starts ticking
    snap = job.snapshot() if job else None
    if snap is not None and snap.done and st.session_state.get(RECORDED_KEY) != id(job):
        record_run(job)
        st.session_state[RECORDED_KEY] = id(job)
        st.rerun()  # a full run: results below, and this fragment stops ticking
    if snap is not None and snap.step_stats and st.session_state.get(FAST_KEY):
        st.rerun()  # the first point is drawn by a full run, which sets the usual tick
    status = _controls(job, snap, config, archive, ready)
    if ERROR_KEY in st.session_state:
        st.error(st.session_state[ERROR_KEY], icon="⚠️")
    if snap is None:
        st.info(t("train.idle"))
        return
    progress_section(replace(snap, eta_s=_smoothed_eta(snap, id(job))), status)
    frozen = job.history.features is not None  # set once, before training starts: safe to read from here
    epoch = snap.snapshots[-1].epoch if snap.snapshots else 0
    if snap.done and snap.snapshots:
        epoch = bounded_slider(t("train.replay"), 0, snap.snapshots[-1].epoch, epoch, key=REPLAY_KEY)
    _curves(snap, mark_epoch=epoch if snap.done else None)
    if snap.snapshots:
        inside_network(snap.snapshots, epoch, frozen=frozen)
    if frozen:
        _features(job)


def _features(job: TrainingJob) -> None:
    """Transfer learning over cached features: what the frozen backbone makes of each photo, and what trains."""
    features, names = job.history.features, job.history.class_names
    left, right = st.columns([3, 2])
    left.plotly_chart(features_figure(features, names), key="train_chart_features")
    total = features.frozen_params + features.head_params
    right.markdown(
        t(
            "train.features_story",
            dims=f"{features.dims:,}",
            frozen=f"{features.frozen_params:,}",
            head=f"{features.head_params:,}",
            k=len(names),
            share=f"{100 * features.head_params / total:.2f}",
        )
    )


def _controls(job: TrainingJob | None, snap: JobSnapshot | None, config: TrainConfig | None,
              archive: ArchiveData | None, ready: bool) -> DeltaGenerator:  # fmt: skip
    """Start, or Pause/Resume and Stop; return the column for the status line."""
    left, mid, right = st.columns([1, 1, 4])
    if snap is None or snap.done:
        left.button(t("train.start"), type="primary", key="train_start", disabled=not ready, args=(config, archive),
                    on_click=start_job)  # fmt: skip
    else:
        job.touch()  # the heartbeat: this page is still open
        if job.paused:
            left.button(t("train.resume"), key="train_resume", on_click=job.resume)
        else:
            left.button(t("train.pause"), key="train_pause", on_click=job.pause)
        mid.button(t("train.stop"), key="train_stop", on_click=job.stop)
    return right


def _curves(snap: JobSnapshot, *, mark_epoch: int | None) -> None:
    """Loss and accuracy side by side; a caption saying what a ✕ on the loss marks."""
    charts = st.columns(2)
    for col, metric in zip(charts, ("loss", "accuracy"), strict=True):
        col.plotly_chart(curves_figure(snap, metric=metric, mark_epoch=mark_epoch), key=f"train_chart_{metric}")
    marks = loss_marks(snap)
    if marks:
        mark = marks[-1]
        st.caption(t(f"train_live.mark_caption.{mark.kind}", step=mark.step, loss=loss_text(mark.loss),
                     epoch=f"{step_position(snap, mark.step):.2f}"))  # fmt: skip


def blend_eta(shown: float | None, waited: float, raw: float | None, *, weight: float = ETA_WEIGHT) -> float | None:
    """The time left to show: the last one shown, counted down by ``waited`` seconds, blended with a new estimate.

    A raw estimate (elapsed / steps × steps left) swings with every slow step in the first epoch; blending
    (``weight`` of the new one per tick) turns that into a steady countdown that still follows a real change.
    """
    if raw is None or shown is None:
        return raw
    return max(0.0, (1 - weight) * max(shown - waited, 0.0) + weight * raw)


def _smoothed_eta(snap: JobSnapshot, job_id: int) -> float | None:
    """Blend the job's estimate into the one shown last for the same job (kept in the session)."""
    now = time.monotonic()
    last = st.session_state.get(ETA_KEY)
    shown = last[1] if last and last[0] == job_id else None
    eta = blend_eta(shown, now - last[2] if shown is not None else 0.0, snap.eta_s)
    st.session_state[ETA_KEY] = (job_id, eta, now)
    return eta
