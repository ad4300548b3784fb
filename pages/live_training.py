"""Live training: train a small CNN in a background thread and watch its curves and filters change."""

from __future__ import annotations

import streamlit as st

from cnnviz.errors import CheckpointError, CnnvizError
from cnnviz.train import JobState, RunStatus, TrainingJob, load_trained
from cnnviz.ui import bootstrap, error_text, t
from cnnviz.ui import training as ui

bootstrap()
st.title(t("train.title"))
st.caption(t("train.summary"))

with st.expander(t("train.settings"), expanded=True):
    try:
        config, own = ui.config_form()
        archive = ui.user_archive(config.model) if own else None
    except CnnvizError as err:
        config, own, archive = None, False, None
        st.error(error_text(err), icon="⚠️")
ready = config is not None and (archive is not None or not own)
if config is not None and own and archive is None:
    st.info(t("train.zip_needed"))


def start(config, archive) -> None:
    """Button callback: start a job for this session (its errors are shown by the panel)."""
    try:
        job = TrainingJob(config, data=archive.split if archive else None, is_alive=ui.alive_probe()).start()
    except CnnvizError as err:
        st.session_state["train_error"] = error_text(err)
        return
    st.session_state.pop("train_error", None)
    st.session_state[ui.JOB_KEY], st.session_state["train_started"] = job, True


job: TrainingJob | None = st.session_state.get(ui.JOB_KEY)
active = job is not None and not job.snapshot().done


@st.fragment(run_every=1.0 if active else None)
def live_panel() -> None:
    """Controls, progress, live curves, filters and feature maps; reruns every second while training."""
    job, runs = st.session_state.get(ui.JOB_KEY), st.session_state.get(ui.RUNS_KEY, [])
    if st.session_state.pop("train_started", False):
        st.rerun()  # a full run, so this fragment starts ticking
    snap = job.snapshot() if job else None
    if snap is not None and snap.done and st.session_state.get("train_recorded") != id(job):
        ui.record_run(job)
        st.session_state["train_recorded"] = id(job)
        st.rerun()  # a full run: results below, and this fragment stops ticking
    left, mid, right = st.columns([1, 1, 4])
    if snap is None or snap.done:
        left.button(t("train.start"), type="primary", key="train_start", disabled=not ready, args=(config, archive),
                    on_click=start)  # fmt: skip
    else:
        job.touch()
        if job.paused:
            left.button(t("train.resume"), key="train_resume", on_click=job.resume)
        else:
            left.button(t("train.pause"), key="train_pause", on_click=job.pause)
        mid.button(t("train.stop"), key="train_stop", on_click=job.stop)
    if "train_error" in st.session_state:
        st.error(st.session_state["train_error"], icon="⚠️")
    if snap is None:
        st.info(t("train.idle"))
        return
    right.markdown(t("train.status", state=t(f"train.state.{snap.state.value}"), device=snap.device))
    eta = t("train.eta", s=round(snap.eta_s)) if snap.eta_s is not None else ""
    current = snap.epoch if snap.done else min(snap.epoch + 1, snap.epochs)
    st.progress(snap.progress, text=t("train.progress", epoch=current, epochs=snap.epochs,
                                      speed=round(snap.samples_per_s), eta=eta))  # fmt: skip
    if snap.state is JobState.FAILED:
        st.error(snap.message, icon="⚠️")
    elif snap.status is RunStatus.DIVERGED:
        st.warning(snap.message, icon="⚠️")
    elif snap.message:
        st.info(snap.message)
    earlier = [r for r in runs if r.job_id != id(job)] if st.toggle(t("train.compare"), key="train_compare") else []
    epoch = snap.snapshots[-1].epoch if snap.snapshots else 0
    if snap.done and len(snap.snapshots) > 1:
        epoch = st.slider(t("train.replay"), 0, snap.snapshots[-1].epoch, epoch, key="train_replay")
    charts = st.columns(2)
    for col, metric in zip(charts, ("loss", "accuracy"), strict=True):
        col.plotly_chart(ui.curves_figure(snap, earlier, metric=metric, mark_epoch=epoch if snap.done else None),
                         key=f"train_chart_{metric}")  # fmt: skip
    shot = next((s for s in snap.snapshots if s.epoch == epoch), None)
    if shot is not None:
        cols = st.columns([2, 3])
        cols[0].image(ui.filters_image(shot.filters), caption=t("train.filters", epoch=shot.epoch))
        cols[1].image(ui.maps_image(shot.probe_maps), caption=t("train.probe_maps", epoch=shot.epoch))


live_panel()

runs = st.session_state.get(ui.RUNS_KEY, [])
last = runs[-1] if runs else None
if last is not None and last.snapshot.epoch_stats and last.confusion is not None:
    st.subheader(t("train.results", label=last.label))
    left, right = st.columns(2)
    left.plotly_chart(ui.confusion_figure(last.confusion, last.class_names), key="train_confusion")
    with right:
        st.markdown(t("train.mistakes", n=len(last.mistakes)))
        if last.mistakes:
            shown, names = last.mistakes[:12], last.class_names
            captions = [t("train.mistake", true=names[truth], pred=names[pred]) for _, truth, pred in shown]
            st.image([image for image, _, _ in shown], width=64, caption=captions)
    a, b = st.columns(2)
    if a.button(t("train.look_inside"), key="train_look_inside", disabled=last.trained is None):
        ui.look_inside(last.label)
    if last.checkpoint is not None:
        name = f"cnnviz-{last.trained.config.model}-run{st.session_state.get('train_run_count', 1)}.pt"
        b.download_button(t("train.download"), last.checkpoint, file_name=name, key="train_download",
                          mime="application/octet-stream", on_click="ignore")  # fmt: skip

with st.expander(t("train.load_title")):
    upload = st.file_uploader(t("train.load_upload"), type=["pt"], key="train_load")
    if upload is not None:
        try:
            loaded = load_trained(upload.getvalue())
        except CheckpointError as err:
            st.error(error_text(err), icon="⚠️")
        else:
            label = ui.add_loaded_model(loaded, upload.name)
            st.success(t("train.loaded", label=label, classes=", ".join(loaded.class_names)))
            if st.button(t("train.look_inside"), key="train_look_inside_loaded"):
                ui.look_inside(label)
