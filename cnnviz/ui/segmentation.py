"""Segmentation page: browse the scenes, train an FCN live (a background job shown by a ticking fragment), results.

The job runs in a background thread (``cnnviz.train.TrainingJob``); the fragment reads its snapshots,
sends the heartbeat and draws the curves. When the job ends, the trained network is kept in the
session per upsampling kind (``RUNS_KEY``), so a transposed and a bilinear run can be compared, and
the whole page reruns once. Lessons on the trained network are in :mod:`cnnviz.ui.segmentation_views`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from cnnviz.data import Scenes, make_scenes
from cnnviz.errors import CnnvizError
from cnnviz.render import upscale_nearest
from cnnviz.segment import (
    MASK_COLOURS,
    SEGMENTATION_CLASSES,
    SEGMENTATION_TRAINING,
    FCNConfig,
    Upsampling,
    colour_mask,
    load_fcn,
    save_fcn,
    scene_picture,
    segmentation_parts,
)
from cnnviz.segment.fcn import FCN
from cnnviz.train import JobSnapshot, TrainingJob
from cnnviz.ui.base import error_text, t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.labels import class_label
from cnnviz.ui.training import alive_probe
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "TRAIN_SIZES",
    "TrainedFCN",
    "class_name",
    "legend",
    "model_files",
    "scenes_browser",
    "train_panel",
    "trained_runs",
    "view_scenes",
    "zoom",
]

JOB_KEY = "seg_job"
RUNS_KEY = "seg_runs"  # upsampling value → TrainedFCN
ERROR_KEY = "seg_error"
STARTED_KEY = "seg_started"
TRAIN_SIZES = (50, 500, 1000, 2000, 4000)  # scenes to train on (50: a quick look)
VIEW_SEED = 20_261_202  # the scenes the page shows: never used for training or validation
VIEW_COUNT = 24
ZOOM = 3  # a 96×96 scene is shown 288 pixels wide
TICK_SECONDS = 1.0
LEGEND_COLOURS = ("red", "green", "yellow", "blue", "orange", "violet")  # MASK_COLOURS 1…6 as Streamlit names them


@dataclass(frozen=True)
class TrainedFCN:
    """A network this session trained (or loaded), with what the page shows of it."""

    model: FCN  # on the CPU, eval mode
    mean: tuple[float, ...]
    std: tuple[float, ...]
    epoch: int
    results: dict  # the task's report ("miou", "iou", ...); empty for a loaded file
    seconds: float = 0.0  # training time, pauses excluded


@st.cache_resource(show_spinner=False)
def view_scenes() -> Scenes:
    """The scenes every lesson of the page draws on (new to every network: a seed no split uses)."""
    return make_scenes(VIEW_COUNT, seed=VIEW_SEED)


def trained_runs() -> dict[str, TrainedFCN]:
    return st.session_state.setdefault(RUNS_KEY, {})


def class_name(index: int) -> str:
    """The name for people of mask value ``index`` (0 = background)."""
    if index == 0:
        return t("segmentation.background")
    return class_label("scenes", SEGMENTATION_CLASSES[index])


def zoom(picture: np.ndarray) -> np.ndarray:
    return np.asarray(upscale_nearest(picture, ZOOM))


def legend() -> None:
    """One coloured square per class, in the colours of the masks (Streamlit's named text colours)."""
    items = [f"⬛ {class_name(0)}"] + [f":{colour}[■] {class_name(i + 1)}" for i, colour in enumerate(LEGEND_COLOURS)]
    st.markdown(" · ".join(items))


# ------------------------------------------------------------------------------------------------ scenes
def scenes_browser() -> None:
    """One scene at a time: the picture with its boxes, and its class mask (the exact truth, drawn by us)."""
    st.header(t("segmentation.scenes_header"))
    st.markdown(t("segmentation.scenes_intro"))
    scenes = view_scenes()
    i = bounded_slider(t("segmentation.scene_number"), 1, len(scenes), 1, key="seg_browse") - 1
    picture = zoom(scene_picture(scenes.images[i]))
    boxed = _with_boxes(picture, scenes.boxes[i] * ZOOM, scenes.labels[i])
    left, right = st.columns(2)
    left.image(boxed, caption=t("segmentation.scene_boxes", n=len(scenes.labels[i])), width=picture.shape[1])
    right.image(zoom(colour_mask(scenes.masks[i])), caption=t("segmentation.scene_mask"), width=picture.shape[1])
    legend()


def _with_boxes(picture: np.ndarray, boxes: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Draw each box (in the picture's pixels) as a 2-pixel frame in its class colour."""
    out = picture.copy()
    h, w = out.shape[:2]
    for (x1, y1, x2, y2), c in zip(boxes.round().int().tolist(), labels.tolist(), strict=True):
        colour = MASK_COLOURS[c + 1]
        x2, y2 = min(x2, w), min(y2, h)
        out[y1 : y1 + 2, x1:x2] = out[max(y2 - 2, 0) : y2, x1:x2] = colour
        out[y1:y2, x1 : x1 + 2] = out[y1:y2, max(x2 - 2, 0) : x2] = colour
    return out


# ------------------------------------------------------------------------------------------------ training
def _start() -> None:
    """Button callback: draw the scenes, build a seeded FCN and start its job (errors shown by the panel).

    The settings are read from their widgets' state at the click, not from the run that drew the button.
    """
    state = st.session_state
    upsampling, n_train, epochs = state["seg_upsampling"], int(state["seg_n_train"]), int(state["seg_epochs"])
    config = replace(SEGMENTATION_TRAINING, n_train=n_train, n_val=min(200, max(50, n_train // 10)), epochs=epochs)
    try:
        parts = segmentation_parts(config, FCNConfig(SEGMENTATION_CLASSES, upsampling=upsampling))
        job = TrainingJob(config, data=parts.data, model=parts.model, task=parts.task, is_alive=alive_probe())
        job.start()
    except CnnvizError as err:
        st.session_state[ERROR_KEY] = error_text(err)
        return
    st.session_state.pop(ERROR_KEY, None)
    st.session_state[JOB_KEY], st.session_state[STARTED_KEY] = (job, upsampling), True


def train_panel() -> None:
    """The settings, Start/Stop, progress and live curves; the fragment ticks while the job runs."""
    st.header(t("segmentation.train_header"))
    st.markdown(t("segmentation.train_intro"))
    left, mid, right = st.columns(3)
    kinds = [u.value for u in Upsampling]
    upsampling = translated_choice("radio", t("segmentation.upsampling"), kinds, key="seg_upsampling",
                                   default=kinds[0], where=left,
                                   format_func=lambda v: t(f"segmentation.upsampling.{v}"))  # fmt: skip
    mid.select_slider(t("segmentation.n_train"), TRAIN_SIZES, value=2000, key="seg_n_train")
    bounded_slider(t("segmentation.epochs"), 1, 12, SEGMENTATION_TRAINING.epochs, key="seg_epochs", where=right)
    held = st.session_state.get(JOB_KEY)
    active = held is not None and not held[0].snapshot().done
    st.fragment(_panel, run_every=TICK_SECONDS if active else None)(upsampling)


def _panel(upsampling: str) -> None:
    if st.session_state.pop(STARTED_KEY, False):
        st.rerun()  # a full run, so that this fragment starts ticking
    held = st.session_state.get(JOB_KEY)
    job, kind = held if held is not None else (None, upsampling)
    snap = job.snapshot() if job is not None else None
    if snap is not None and snap.done:
        _record(job, kind)
        st.rerun()  # a full run: the results below, and this fragment stops ticking
    left, right = st.columns([1, 5])
    if snap is None:
        left.button(t("segmentation.start"), type="primary", key="seg_start", on_click=_start)
    else:
        job.touch()  # the heartbeat: this page is still open
        left.button(t("segmentation.stop"), key="seg_stop", on_click=job.stop)
        right.progress(
            snap.progress,
            text=t(
                "segmentation.progress",
                epoch=snap.epoch,
                epochs=snap.epochs,
                kind=t(f"segmentation.upsampling.{kind}"),
                speed=f"{snap.samples_per_s:.0f}",
            ),
        )
    if ERROR_KEY in st.session_state:
        st.error(st.session_state[ERROR_KEY], icon="⚠️")
    if snap is not None:
        _curves(snap)
    elif kind in trained_runs() and "curves" in trained_runs()[kind].results:
        _curves(trained_runs()[kind].results["curves"])  # the finished run of this upsampling


def _record(job: TrainingJob, kind: str) -> None:
    """Keep the finished run's network and results in the session, free the job."""
    trained, history, snap = job.trained, job.history, job.snapshot()
    if trained is not None and history.epochs:
        results = dict(history.results)
        results["curves"] = replace(snap, snapshots=())  # the curves stay on the page; the layers' arrays go
        trained_runs()[kind] = TrainedFCN(trained.model, trained.mean, trained.std, trained.epoch, results,
                                          snap.elapsed_s)  # fmt: skip
    elif snap.message is not None:
        st.session_state[ERROR_KEY] = error_text(snap.message)
    job.release()
    st.session_state.pop(JOB_KEY, None)


def _curves(snap: JobSnapshot) -> None:
    """Loss, and pixel accuracy (training) beside mean IoU (validation), against epochs."""
    per_epoch = snap.total_steps / max(snap.epochs, 1) or 1.0
    steps, epochs = snap.step_stats, snap.epoch_stats
    loss, score = go.Figure(), go.Figure()
    loss.add_scatter(
        x=[s.step / per_epoch for s in steps], y=[s.loss for s in steps], name=t("segmentation.curve_train")
    )
    loss.add_scatter(x=[e.epoch for e in epochs], y=[e.val_loss for e in epochs], name=t("segmentation.curve_val"))
    score.add_scatter(x=[s.step / per_epoch for s in steps], y=[s.accuracy for s in steps],
                      name=t("segmentation.curve_pixel_accuracy"))  # fmt: skip
    score.add_scatter(x=[e.epoch for e in epochs], y=[e.val_accuracy for e in epochs],
                      name=t("segmentation.curve_miou"), mode="lines+markers")  # fmt: skip
    score.update_yaxes(range=[0, 1])
    for fig, title in ((loss, t("segmentation.chart_loss")), (score, t("segmentation.chart_score"))):
        fig.update_layout(title=title, xaxis_title=t("segmentation.axis_epoch"), height=300,
                          margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.3))  # fmt: skip
    left, right = st.columns(2)
    left.plotly_chart(loss, key="seg_chart_loss")
    right.plotly_chart(score, key="seg_chart_score")


# ------------------------------------------------------------------------------------------------ files
def model_files() -> None:
    """Download each trained network as a .pt file; load one back (a wrong file gets a clear message)."""
    st.subheader(t("segmentation.files_header"))
    runs = trained_runs()
    columns = st.columns(max(len(runs), 1) + 1)
    for col, (kind, run) in zip(columns, runs.items(), strict=False):
        data = save_fcn(run.model, mean=run.mean, std=run.std, epoch=run.epoch)
        col.download_button(
            t("segmentation.download", kind=t(f"segmentation.upsampling.{kind}")),
            data,
            file_name=f"cnnviz-fcn-{kind}.pt",
            mime="application/octet-stream",
            key=f"seg_dl_{kind}",
        )
    upload = columns[-1].file_uploader(t("segmentation.load"), type=["pt"], key="seg_load")
    if upload is None:
        return
    try:
        loaded = load_fcn(upload.getvalue())
    except CnnvizError as err:
        st.error(error_text(err), icon="⚠️")
        return
    kind = loaded.model.config.upsampling.value
    if st.session_state.get("seg_loaded") != upload.file_id:  # once per upload: a later training run wins
        st.session_state["seg_loaded"] = upload.file_id
        runs[kind] = TrainedFCN(loaded.model, loaded.mean, loaded.std, loaded.epoch, {})
    st.success(t("segmentation.loaded", kind=t(f"segmentation.upsampling.{kind}"), n=loaded.epoch))
