"""Widgets of the Live-training page: presets, the config form, live charts, run records."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from cnnviz.data import ArchiveData, available_datasets, load_image_folders
from cnnviz.nets import ModelSpec, available_models, get_spec
from cnnviz.render import montage, tile_images
from cnnviz.train import (
    Augmentation,
    EpochStats,
    InitName,
    JobSnapshot,
    OptimizerName,
    Precision,
    Schedule,
    TrainConfig,
    TrainedModel,
    TrainingJob,
    save_trained,
)
from cnnviz.ui.base import t

__all__ = [
    "PRESETS",
    "add_loaded_model",
    "RunRecord",
    "alive_probe",
    "apply_preset",
    "config_form",
    "confusion_figure",
    "curves_figure",
    "filters_image",
    "look_inside",
    "maps_image",
    "record_run",
    "user_archive",
]

JOB_KEY = "train_job"  # the session's TrainingJob (or None)
RUNS_KEY = "train_runs"  # finished runs of this session, oldest first
MAX_RUNS = 5  # runs kept for comparison (each holds a small model and a few images)
SESSION_MODELS = "session_models"  # shared with the Feature-maps page
FMAPS_MODEL_WIDGET = "fmaps_model"  # the Feature-maps page's model picker (preselected by "look inside")
FMAPS_SESSION_PREFIX = "session:"

# Presets that tell a story: values of the form's widgets (keys without the "train_" prefix).
_BASE: dict[str, Any] = {
    "model": "tinyvgg", "dataset": "shapes", "n_train": 2000, "n_val": 400, "epochs": 6, "batch_size": 64,
    "optimizer": OptimizerName.ADAMW, "lr": 1e-2, "schedule": Schedule.ONE_CYCLE, "momentum": 0.9,
    "weight_decay": 1e-4, "init": InitName.DEFAULT, "batch_norm": True, "dropout": 0.0, "flip": False,
    "crop": False, "rotation": 0, "jitter": 0.0, "patience": 0, "precision": Precision.FP32, "seed": 0,
}  # fmt: skip
_PLAIN = _BASE | {"optimizer": OptimizerName.ADAM, "lr": 3e-3, "weight_decay": 0.0, "batch_norm": False}
_SMALL = _PLAIN | {"n_train": 160, "epochs": 40, "batch_size": 16, "schedule": Schedule.CONSTANT}
PRESETS: dict[str, dict[str, Any]] = {
    "baseline": _BASE,  # about 30 s on 2 idle CPU cores, ~60 % validation accuracy
    "overfitting": _SMALL,
    "regularised": _SMALL
    | {
        "optimizer": OptimizerName.ADAMW,
        "weight_decay": 0.05,
        "dropout": 0.3,
        "flip": True,
        "crop": True,
        "rotation": 15,
        "jitter": 0.2,
    },  # fmt: skip
    "high_lr": _PLAIN | {"optimizer": OptimizerName.SGD, "lr": 10.0, "schedule": Schedule.CONSTANT},
    "batch_8": _PLAIN | {"batch_size": 8, "epochs": 3, "schedule": Schedule.CONSTANT, "lr": 1e-3},
    "batch_256": _PLAIN | {"batch_size": 256, "epochs": 3, "schedule": Schedule.CONSTANT, "lr": 1e-3},
}


def apply_preset() -> None:
    """Widget callback: copy the chosen preset into the form's widgets."""
    for name, value in PRESETS[st.session_state["train_preset"]].items():
        st.session_state[f"train_{name}"] = value


SAVED_KEY = "train_form"  # a plain copy of the form: Streamlit drops widget state when the user visits another page


def _init_widgets() -> None:
    saved = st.session_state.get(SAVED_KEY, {})
    for name, value in (_BASE | {"own": False, "transfer": False, "preset": "baseline"}).items():
        st.session_state.setdefault(f"train_{name}", saved.get(name, value))


def _save_widgets() -> None:
    names = [*_BASE, "own", "transfer", "preset"]
    st.session_state[SAVED_KEY] = {name: st.session_state[f"train_{name}"] for name in names}


def config_form() -> tuple[TrainConfig, bool]:
    """Draw the preset picker and the settings; return (config, whether to train on the user's zip).

    Raises ConfigError (through TrainConfig) for settings no run can use.
    """
    _init_widgets()
    st.selectbox(t("train.preset"), list(PRESETS), format_func=lambda p: t(f"train.preset.{p}"),
                 key="train_preset", on_change=apply_preset, help=t("train.preset_help"))  # fmt: skip
    st.caption(t(f"train.story.{st.session_state['train_preset']}"))
    data_col, opt_col, reg_col = st.columns(3)
    with data_col:
        st.markdown(t("train.section_data"))
        own = st.toggle(t("train.own_images"), key="train_own", help=t("train.own_images_help"))
        st.selectbox(t("train.model"), available_models(), key="train_model")
        if not own:
            st.selectbox(t("train.dataset"), available_datasets(), key="train_dataset", help=t("train.dataset_help"))
            st.number_input(t("train.n_train"), 16, 30_000, step=100, key="train_n_train")
            st.number_input(t("train.n_val"), 16, 5000, step=100, key="train_n_val")
        transfer = st.checkbox(t("train.transfer"), key="train_transfer", help=t("train.transfer_help"))
        st.number_input(t("train.epochs"), 1, 200, key="train_epochs")
        st.select_slider(t("train.batch_size"), [8, 16, 32, 64, 128, 256], key="train_batch_size")
    with opt_col:
        st.markdown(t("train.section_optimizer"))
        optimizer = st.selectbox(t("train.optimizer"), list(OptimizerName),
                                 format_func=lambda o: t(f"train.opt.{o.value}"), key="train_optimizer")  # fmt: skip
        st.number_input(t("train.lr"), 1e-6, 100.0, format="%.4g", key="train_lr", help=t("train.lr_help"))
        st.selectbox(t("train.schedule"), list(Schedule), format_func=lambda s: t(f"train.sched.{s.value}"),
                     key="train_schedule")  # fmt: skip
        if optimizer in (OptimizerName.MOMENTUM, OptimizerName.NESTEROV):
            st.slider(t("train.momentum"), 0.0, 0.99, key="train_momentum")
        st.selectbox(t("train.init"), list(InitName), format_func=lambda i: t(f"train.init.{i.value}"),
                     key="train_init", disabled=transfer)  # fmt: skip
        st.selectbox(t("train.precision"), list(Precision), format_func=lambda p: t(f"train.prec.{p.value}"),
                     key="train_precision", help=t("train.precision_help"))  # fmt: skip
        st.number_input(t("train.seed"), 0, 10_000, key="train_seed")
    with reg_col:
        st.markdown(t("train.section_regularisation"))
        st.checkbox(t("train.batch_norm"), key="train_batch_norm", disabled=transfer)
        st.slider(t("train.dropout"), 0.0, 0.8, step=0.05, key="train_dropout", disabled=transfer)
        st.number_input(t("train.weight_decay"), 0.0, 1.0, format="%.4g", key="train_weight_decay")
        st.checkbox(t("train.flip"), key="train_flip")
        st.checkbox(t("train.crop"), key="train_crop")
        st.slider(t("train.rotation"), 0, 45, key="train_rotation")
        st.slider(t("train.jitter"), 0.0, 0.5, step=0.05, key="train_jitter")
        st.number_input(t("train.patience"), 0, 50, key="train_patience", help=t("train.patience_help"))
    _save_widgets()
    return _config_from_widgets(), own


def _config_from_widgets() -> TrainConfig:
    s = {name: st.session_state[f"train_{name}"] for name in _BASE}
    aug = Augmentation(flip=s["flip"], crop=s["crop"], rotation=float(s["rotation"]), color_jitter=float(s["jitter"]))
    return TrainConfig(
        model=s["model"], dataset=s["dataset"], n_train=int(s["n_train"]), n_val=int(s["n_val"]),
        batch_size=int(s["batch_size"]), epochs=int(s["epochs"]), learning_rate=float(s["lr"]),
        optimizer=s["optimizer"], schedule=s["schedule"], momentum=float(s["momentum"]),
        weight_decay=float(s["weight_decay"]), init=s["init"], batch_norm=bool(s["batch_norm"]),
        dropout=float(s["dropout"]), augmentation=aug, patience=int(s["patience"]), precision=s["precision"],
        transfer=bool(st.session_state.get("train_transfer", False)), seed=int(s["seed"]),
    )  # fmt: skip


def user_archive(model: str) -> ArchiveData | None:
    """Show the zip uploader; return the user's images sized for ``model`` (None until a zip is uploaded)."""
    upload = st.file_uploader(t("train.zip_upload"), type=["zip"], key="train_zip", help=t("train.zip_help"))
    if upload is None:
        return None
    spec = get_spec(model)
    data = _load_archive(upload.getvalue(), spec.image_size, "RGB" if spec.in_channels == 3 else "L")
    counts = ", ".join(f"{name} ({n})" for name, n in zip(data.split.class_names, data.counts, strict=True))
    st.caption(t("train.zip_summary", classes=len(data.counts), counts=counts, size=spec.image_size))
    if data.skipped:
        st.info(t("train.zip_skipped", n=data.skipped, names=", ".join(data.skipped_names)))
    return data


@st.cache_data(max_entries=2, show_spinner=False)
def _load_archive(data: bytes, image_size: int, mode: str) -> ArchiveData:
    return load_image_folders(data, image_size=image_size, mode=mode)


def alive_probe() -> Callable[[], bool] | None:
    """Return a thread-safe check that this browser session is still connected (None outside a server)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


# --------------------------------------------------------------------------- run records


@dataclass(frozen=True)
class RunRecord:
    label: str  # shown in legends and on the Feature-maps page
    job_id: int  # id() of the TrainingJob it came from
    snapshot: JobSnapshot  # the final progress (epochs, steps, filter snapshots)
    trained: TrainedModel | None
    checkpoint: bytes | None  # the .pt download
    confusion: np.ndarray | None  # (K, K)
    class_names: tuple[str, ...]
    mistakes: tuple[tuple[np.ndarray, int, int], ...]  # (uint8 image (H, W, 3), true, predicted)


def record_run(job: TrainingJob) -> RunRecord:
    """Keep what the page needs from a finished job, and hand its model to the Feature-maps page."""
    runs: list[RunRecord] = st.session_state.setdefault(RUNS_KEY, [])
    snap, history, trained = job.snapshot(), job.history, job.trained
    c = job.config
    number = st.session_state["train_run_count"] = st.session_state.get("train_run_count", 0) + 1
    label = t("train.run_label", n=number, model=c.model,
              optimizer=c.optimizer.value, lr=c.learning_rate, batch=c.batch_size)  # fmt: skip
    mistakes: tuple = ()
    data = job.trainer.data
    if data is not None and history.misclassified:
        idx = list(history.misclassified[:24])
        images = (data.val_x[idx].clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()  # (n, H, W, C)
        images = images[..., 0] if images.shape[-1] == 1 else images  # grayscale as (n, H, W)
        truth = data.val_y[idx].tolist()
        mistakes = tuple(zip(list(images), truth, history.misclassified_pred[:24], strict=True))
    record = RunRecord(label, id(job), snap, trained, save_trained(trained) if trained else None, history.confusion,
                       tuple(history.class_names), mistakes)  # fmt: skip
    runs.append(record)
    del runs[:-MAX_RUNS]
    job.release()  # the data set (tens of MB) is not needed any more
    if trained is not None:
        st.session_state.setdefault(SESSION_MODELS, {})[label] = {"model": trained.model, "spec": _spec(trained, label)}
    return record


def add_loaded_model(trained: TrainedModel, file_name: str) -> str:
    """Offer a model loaded from a .pt file on the Feature-maps page; return its label."""
    label = t("train.loaded_label", name=file_name)
    st.session_state.setdefault(SESSION_MODELS, {})[label] = {"model": trained.model, "spec": _spec(trained, label)}
    return label


def _spec(trained: TrainedModel, label: str) -> ModelSpec:
    """The ModelSpec the Feature-maps page needs: the registry's, adapted to what this model was trained on."""
    return dataclasses.replace(
        get_spec(trained.config.model), dataset=trained.dataset, in_channels=trained.in_channels,
        image_size=trained.image_size, class_names=trained.class_names, mean=trained.mean, std=trained.std,
        weights_file=None, description=t("train.spec_description", label=label),
        digit_style=trained.dataset in {"digits", "mnist"},
    )  # fmt: skip


def look_inside(label: str) -> None:
    """Preselect ``label`` on the Feature-maps page and go there."""
    st.session_state[FMAPS_MODEL_WIDGET] = FMAPS_SESSION_PREFIX + label
    st.switch_page("pages/feature_maps.py")


# --------------------------------------------------------------------------- figures and images


def curves_figure(snap: JobSnapshot, runs: list[RunRecord], *, metric: str, mark_epoch: int | None = None) -> go.Figure:
    """Train (per window) and validation (per epoch) loss or accuracy, with earlier runs dashed."""
    fig = go.Figure()
    per_epoch = snap.total_steps / max(snap.epochs, 1)
    steps = snap.step_stats
    if steps:
        y = [s.loss if metric == "loss" else s.accuracy for s in steps]
        mode = "lines" if len(steps) > 20 else "lines+markers"
        fig.add_scatter(x=[s.step / per_epoch for s in steps], y=y, name=t("train.curve_train"), mode=mode)
    _add_epochs(fig, snap.epoch_stats, metric, t("train.curve_val"), dash=None)
    for run in runs:
        _add_epochs(fig, run.snapshot.epoch_stats, metric, t("train.curve_val_of", label=run.label), dash="dash")
    if mark_epoch is not None:
        fig.add_vline(x=mark_epoch, line_dash="dot", line_color="grey")
    title = t("train.chart_loss") if metric == "loss" else t("train.chart_accuracy")
    fig.update_layout(title=title, xaxis_title=t("train.axis_epoch"), height=320, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.25))  # fmt: skip
    if metric == "loss":
        finite = [s.loss for s in steps if math.isfinite(s.loss)]
        if finite and max(finite) > 20 * min(finite) > 0:
            fig.update_yaxes(type="log")
    return fig


def _add_epochs(fig: go.Figure, epochs: tuple[EpochStats, ...], metric: str, name: str, *, dash: str | None) -> None:
    if not epochs:
        return
    y = [e.val_loss if metric == "loss" else e.val_accuracy for e in epochs]
    fig.add_scatter(x=[e.epoch for e in epochs], y=y, name=name, mode="lines+markers", line=dict(dash=dash))


def confusion_figure(confusion: np.ndarray, class_names: tuple[str, ...]) -> go.Figure:
    """Heat map of counts: rows are true classes, columns predicted classes."""
    fig = go.Figure(go.Heatmap(z=confusion, x=list(class_names), y=list(class_names), colorscale="Blues",
                               text=confusion, texttemplate="%{text}", showscale=False))  # fmt: skip
    fig.update_layout(title=t("train.confusion"), xaxis_title=t("train.predicted"), yaxis_title=t("train.true"),
                      yaxis_autorange="reversed", height=420, margin=dict(l=10, r=10, t=40, b=10))  # fmt: skip
    return fig


def filters_image(filters: np.ndarray, *, scale: int = 16) -> Image.Image:
    """First-layer filters (C_out, C_in, k, k) as colour patches (RGB input) or a signed montage (gray)."""
    if filters.shape[1] != 3:
        return montage(filters[:, 0], scale=scale, pad=2)
    vmax = float(np.abs(filters).max()) or 1.0
    tiles = ((filters / vmax + 1) / 2).clip(0, 1).transpose(0, 2, 3, 1)  # (C_out, k, k, 3), grey = 0
    pictures = np.rint(tiles * 255).astype(np.uint8)
    return tile_images(pictures, cols=min(len(tiles), 5), pad=2, scale=scale)  # rows of 5, like the maps beside


def maps_image(maps: np.ndarray) -> Image.Image:
    """The probe image's first-layer feature maps (C, H, W) as one signed montage."""
    scale = max(1, 96 // max(maps.shape[-1], 1))
    return montage(maps, cols=min(len(maps), 5), scale=scale, pad=2)
