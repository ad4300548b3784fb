"""Detection page, last section: a one-stage detector that trains while you watch, then finds shapes in scenes.

The run is a ``TrainingJob`` (a background thread) shown by a fragment that reruns every second while it
trains: Start/Stop, progress, the loss and mAP@0.5 curves. When it ends, the trained detector is kept in
the session; below the fragment it is used on validation scenes (before and after NMS, with the
threshold sliders), on the user's own photo, and offered as a download (a detector file loads back too).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import plotly.graph_objects as go
import streamlit as st
from torch import Tensor

from cnnviz.data import SCENE_CLASSES, Scenes, SceneSplit, load_scenes
from cnnviz.detect import (
    DETECTION_TRAINING,
    Detections,
    Detector,
    DetectorConfig,
    detection_parts,
    load_detector,
    predict_scenes,
    save_detector,
    scene_from_photo,
)
from cnnviz.errors import CnnvizError
from cnnviz.train import JobSnapshot, TrainConfig, TrainingJob
from cnnviz.ui.base import error_text, t
from cnnviz.ui.detection_figures import BoxLayer, add_boxes, photo_figure
from cnnviz.ui.image_input import image_input
from cnnviz.ui.labels import class_label
from cnnviz.ui.training import alive_probe
from cnnviz.ui.training_status import progress_section
from cnnviz.ui.widgets import bounded_slider

__all__ = ["training_section"]

JOB_KEY = "dtrain_job"  # the session's detection TrainingJob
STARTED_KEY = "dtrain_started"  # set by the Start callback: the fragment reruns the page once, so it ticks
RECORDED_KEY = "dtrain_recorded"  # id() of the job whose detector was kept
ERROR_KEY = "dtrain_error"  # why the last start failed
MODEL_KEY = "dtrain_model"  # the detector in use: a _Kept (trained here or loaded from a file)
TICK_SECONDS = 1.0
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
SHOWN_SCENES = 3  # validation scenes drawn at once
EPOCH_CHOICES = (1, 12)  # the epochs slider's range
SCENE_CHOICES = (100, 250, 500, 1000, 2000)  # training scenes offered
LOSS_LATEX = (
    r"L = \frac{1}{N_{+}}\Big(\sum_{i \in +} \mathrm{CE}(p_i, c_i)"
    r" + \sum_{i \in -_{\mathrm{hard}}} \mathrm{CE}(p_i, \mathrm{bg})"
    r" + \sum_{i \in +} \mathrm{smooth}_{L1}(\hat d_i - d_i)\Big)"
)


@dataclass(frozen=True)
class _Kept:
    """A detector ready to use, with what the page says about it."""

    model: Detector  # CPU, eval mode
    mean: tuple[float, ...]
    std: tuple[float, ...]
    epoch: int
    source: str  # "trained" or the uploaded file's name
    results: dict | None = None  # history.results of the run that trained it (None for a loaded file)
    digest: str = ""  # sha256 of the uploaded file


@st.cache_resource(max_entries=1, show_spinner=False)
def _scenes(n_train: int, n_val: int, seed: int) -> SceneSplit:
    """The drawn scenes of the last setting, kept by the server (2,000 scenes: a few seconds to draw, 220 MB)."""
    return load_scenes(n_train=n_train, n_val=n_val, seed=seed, target="boxes")


@st.cache_resource(max_entries=2, show_spinner=False)
def _validation_scenes(n_val: int, seed: int, size: int) -> Scenes:
    """The validation scenes of a run with this seed (they do not depend on the number of training scenes)."""
    return load_scenes(n_train=1, n_val=n_val, seed=seed, size=size, target="boxes").val_scenes


def training_section() -> None:
    """The whole section: explanation, settings, the live panel, then the trained detector at work."""
    st.header(t("dtrain.title"))
    st.markdown(t("dtrain.intro"))
    spec = DetectorConfig(SCENE_CLASSES)
    with st.expander(t("dtrain.loss_title")):
        st.markdown(t("dtrain.loss_text"))
        st.latex(LOSS_LATEX)
        params = sum(p.numel() for p in Detector(spec).parameters())
        sizes = ", ".join(f"{s:g}" for s in spec.anchor_sizes)
        st.markdown(t("dtrain.anchors_text", cells=spec.feature_size, stride=spec.stride, sizes=sizes,
                      per_cell=spec.anchors_per_cell, total=len(spec.anchors()), params=f"{params:,}"))  # fmt: skip
    left, right = st.columns(2)
    n_train = left.select_slider(t("dtrain.scenes"), SCENE_CHOICES, value=DETECTION_TRAINING.n_train,
                                 key="dtrain_n_train")  # fmt: skip
    epochs = bounded_slider(t("dtrain.epochs"), *EPOCH_CHOICES, DETECTION_TRAINING.epochs, key="dtrain_epochs",
                            where=right)  # fmt: skip
    config = replace(DETECTION_TRAINING, n_train=int(n_train), epochs=epochs)
    job: TrainingJob | None = st.session_state.get(JOB_KEY)
    active = job is not None and not job.snapshot().done
    st.fragment(_panel, run_every=TICK_SECONDS if active else None)(config)
    _use_section()


def _start(config: TrainConfig) -> None:
    """Start button: draw (or reuse) the scenes, build a seeded detector, start the job."""
    try:
        data = _scenes(config.n_train, config.n_val, config.seed)
        parts = detection_parts(config, data=data)
        job = TrainingJob(config, data=parts.data, model=parts.model, task=parts.task, is_alive=alive_probe())
        job.start()
    except CnnvizError as err:
        st.session_state[ERROR_KEY] = error_text(err)
        return
    st.session_state.pop(ERROR_KEY, None)
    st.session_state[JOB_KEY], st.session_state[STARTED_KEY] = job, True


def _panel(config: TrainConfig) -> None:
    """The fragment: Start or Stop, the progress, the curves; keeps the detector once the run has ended."""
    job: TrainingJob | None = st.session_state.get(JOB_KEY)
    if st.session_state.pop(STARTED_KEY, False):
        st.rerun()  # a full run, so that this fragment starts ticking
    snap = job.snapshot() if job else None
    if snap is not None and snap.done and st.session_state.get(RECORDED_KEY) != id(job):
        _keep(job)
        st.rerun()  # a full run: the detector appears below, and this fragment stops ticking
    left, status = st.columns([1, 4])
    if snap is None or snap.done:
        left.button(t("dtrain.start"), type="primary", key="dtrain_start", on_click=_start, args=(config,))
    else:
        job.touch()  # the heartbeat: this page is still open
        left.button(t("dtrain.stop"), key="dtrain_stop", on_click=job.stop)
    if ERROR_KEY in st.session_state:
        st.error(st.session_state[ERROR_KEY], icon="⚠️")
    if snap is None:
        st.info(t("dtrain.idle"))
        return
    progress_section(snap, status)
    charts = st.columns(2)
    charts[0].plotly_chart(_loss_figure(snap), key="dtrain_chart_loss")
    charts[1].plotly_chart(_map_figure(snap), key="dtrain_chart_map")


def _keep(job: TrainingJob) -> None:
    """Keep the finished job's detector (its weights at the end) and results; free the job's data."""
    st.session_state[RECORDED_KEY] = id(job)
    trained = job.trained
    if trained is not None and job.history.epochs:
        st.session_state[MODEL_KEY] = _Kept(trained.model, trained.mean, trained.std, trained.epoch, "trained",
                                            dict(job.history.results))  # fmt: skip
    job.release()


def _loss_figure(snap: JobSnapshot) -> go.Figure:
    fig = go.Figure()
    if snap.step_stats:
        per_epoch = max(snap.total_steps / max(snap.epochs, 1), 1)
        fig.add_scatter(x=[s.step / per_epoch for s in snap.step_stats], y=[s.loss for s in snap.step_stats],
                        mode="lines", name=t("dtrain.curve_train"))  # fmt: skip
    if snap.epoch_stats:
        fig.add_scatter(x=[e.epoch for e in snap.epoch_stats], y=[e.val_loss for e in snap.epoch_stats],
                        mode="lines+markers", name=t("dtrain.curve_val"))  # fmt: skip
    return _curve_layout(fig, t("dtrain.chart_loss"), t("dtrain.axis_loss"))


def _map_figure(snap: JobSnapshot) -> go.Figure:
    fig = go.Figure()
    epochs = snap.epoch_stats
    fig.add_scatter(x=[e.epoch for e in epochs], y=[e.val_accuracy for e in epochs], mode="lines+markers",
                    name=t("dtrain.curve_map"))  # fmt: skip
    fig.add_hline(y=0.8, line_dash="dot", annotation_text=t("dtrain.goal_line"))
    fig.update_yaxes(range=[0, 1])
    return _curve_layout(fig, t("dtrain.chart_map"), "mAP@0.5")


def _curve_layout(fig: go.Figure, title: str, y_title: str) -> go.Figure:
    fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10), xaxis_title=t("dtrain.axis_epoch"),
                      yaxis_title=y_title, legend=dict(orientation="h", y=-0.25))  # fmt: skip
    return fig


# -- the trained detector at work ---------------------------------------------------------------------


def _use_section() -> None:
    kept: _Kept | None = st.session_state.get(MODEL_KEY)
    if kept is None:
        _load_part(None)
        return
    st.subheader(t("dtrain.use_title"))
    st.caption(t("dtrain.trained_caption", epoch=kept.epoch) if kept.source == "trained"
               else t("dtrain.loaded_caption", name=kept.source, epoch=kept.epoch))  # fmt: skip
    if kept.results and kept.results.get("ap50"):
        _ap_part(kept.results)
    cols = st.columns(3)
    score = bounded_slider(t("dtrain.score_threshold"), 5, 95, 50, key="dtrain_score", where=cols[0],
                           help=t("dtrain.score_help")) / 100  # fmt: skip
    iou = bounded_slider(t("dtrain.iou_threshold"), 10, 90, 50, key="dtrain_iou", where=cols[1],
                         help=t("dtrain.iou_help")) / 100  # fmt: skip
    c = DETECTION_TRAINING
    try:
        scenes = _validation_scenes(c.n_val, c.seed, kept.model.config.image_size)
    except CnnvizError as err:  # a detector built in code for scenes of a size the page cannot draw
        st.error(error_text(err), icon="⚠️")
        return
    first = bounded_slider(t("dtrain.first_scene"), 0, len(scenes) - SHOWN_SCENES, 0, key="dtrain_first",
                           where=cols[2])  # fmt: skip
    _scenes_part(kept, scenes.images[first : first + SHOWN_SCENES], scenes.boxes[first : first + SHOWN_SCENES],
                 scenes.labels[first : first + SHOWN_SCENES], score, iou)  # fmt: skip
    _photo_part(kept, score, iou)
    _download_part(kept)
    _load_part(kept)


def _ap_part(results: dict) -> None:
    names = [n for n, ap in results["ap50"].items() if ap is not None]
    fig = go.Figure(go.Bar(x=[class_label("shapes", n) for n in names], y=[results["ap50"][n] for n in names],
                           text=[f"{results['ap50'][n]:.2f}" for n in names], textposition="outside",
                           marker_color=[CLASS_COLOURS[SCENE_CLASSES.index(n) % 8] for n in names]))  # fmt: skip
    fig.update_yaxes(range=[0, 1.1], title="AP@0.5")
    fig.update_layout(title=t("dtrain.ap_title", map=f"{results['map50']:.3f}"), height=300,
                      margin=dict(l=10, r=10, t=40, b=10))  # fmt: skip
    st.plotly_chart(fig, key="dtrain_chart_ap")


def _layers(found: Detections, names: tuple[str, ...], *, labelled: bool) -> list[tuple[Tensor, BoxLayer]]:
    """One box layer per class present, coloured by class; with ``labelled``, each box says its score."""
    layers = []
    for c in found.labels.unique().tolist():
        mine = found.labels == c
        labels = [f"{s:.2f}" for s in found.scores[mine].tolist()] if labelled else None
        layer = BoxLayer(class_label("shapes", names[c]), CLASS_COLOURS[c % 8], width=2 if labelled else 1,
                         labels=labels)  # fmt: skip
        layers.append((found.boxes[mine], layer))
    return layers


def _figure(image: Tensor, layers: list[tuple[Tensor, BoxLayer]], title: str) -> go.Figure:
    picture = (image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()  # (H, W, 3)
    fig = photo_figure(picture, pixels=300)
    for boxes, layer in layers:
        add_boxes(fig, boxes, layer)
    fig.update_layout(title=dict(text=title, font=dict(size=13)))
    return fig


def _scenes_part(kept: _Kept, images: Tensor, boxes: tuple[Tensor, ...], labels: tuple[Tensor, ...],
                 score: float, iou: float) -> None:  # fmt: skip
    st.markdown(t("dtrain.scenes_title"))
    try:
        pred = predict_scenes(kept.model, images, mean=kept.mean, std=kept.std, score_threshold=score,
                              iou_threshold=iou)  # fmt: skip
    except CnnvizError as err:
        st.error(error_text(err), icon="⚠️")
        return
    names = kept.model.config.class_names
    for i in range(images.shape[0]):
        cols = st.columns(2)
        truth = BoxLayer(t("dtrain.truth"), "#ffffff", width=2, dash="dot")
        before, after = pred.before_nms[i], pred.after_nms[i]
        cols[0].plotly_chart(_figure(images[i], [(boxes[i], truth), *_layers(before, names, labelled=False)],
                                     t("dtrain.before_nms", n=len(before))), key=f"dtrain_before_{i}")  # fmt: skip
        cols[1].plotly_chart(_figure(images[i], [(boxes[i], truth), *_layers(after, names, labelled=True)],
                                     t("dtrain.after_nms", n=len(after))), key=f"dtrain_after_{i}")  # fmt: skip
    st.caption(t("dtrain.scenes_caption"))


def _photo_part(kept: _Kept, score: float, iou: float) -> None:
    st.markdown(t("dtrain.photo_title"))
    image, name = image_input("dtrain_photo")
    scene = scene_from_photo(image, kept.model.config.image_size)[None]  # (1, 3, S, S)
    pred = predict_scenes(kept.model, scene, mean=kept.mean, std=kept.std, score_threshold=score, iou_threshold=iou)
    found = pred.after_nms[0]
    names = kept.model.config.class_names
    st.plotly_chart(_figure(scene[0], _layers(found, names, labelled=True), t("dtrain.after_nms", n=len(found))),
                    key="dtrain_photo_figure")  # fmt: skip
    st.caption(t("dtrain.photo_caption", name=name, size=kept.model.config.image_size,
                 classes=", ".join(class_label("shapes", n) for n in names)))  # fmt: skip


def _download_part(kept: _Kept) -> None:
    data = save_detector(kept.model, mean=kept.mean, std=kept.std, epoch=kept.epoch)
    st.download_button(t("dtrain.download"), data, file_name=f"cnnviz-detector-epoch{kept.epoch}.pt",
                       mime="application/octet-stream", key="dtrain_download")  # fmt: skip


def _load_part(kept: _Kept | None) -> None:
    upload = st.file_uploader(t("dtrain.load"), type=["pt"], key="dtrain_load", help=t("dtrain.load_help"))
    if upload is None:
        return
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    if kept is not None and kept.digest == digest:
        return
    try:
        loaded = load_detector(data)
    except CnnvizError as err:
        st.error(t("dtrain.load_failed", name=upload.name, reason=error_text(err)), icon="⚠️")
        return
    st.session_state[MODEL_KEY] = _Kept(loaded.model, loaded.mean, loaded.std, loaded.epoch, upload.name,
                                        digest=digest)  # fmt: skip
    st.rerun()
