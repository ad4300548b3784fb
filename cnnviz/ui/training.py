"""Live-training page, shared part: session keys, records of finished runs, and the hand-over to Feature maps.

The page is drawn by ``training_form`` (presets and settings), ``training_live`` (the fragment that
shows a running job), ``training_results`` (confusion matrix, mistakes, downloads, loading a .pt) and
``training_figures`` (charts and pictures).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
import streamlit as st
import torch

from cnnviz.data import DATASETS
from cnnviz.errors import Phrase
from cnnviz.nets import ModelSpec, count_parameters, spec_for_data
from cnnviz.train import (
    BUILT_MODEL,
    CrossValidation,
    FeatureProjection,
    JobSnapshot,
    TrainConfig,
    TrainedModel,
    TrainingJob,
    cross_validation,
    save_trained,
)
from cnnviz.ui.base import current_language, t
from cnnviz.ui.labels import model_label

__all__ = [
    "JOB_KEY",
    "RUNS_KEY",
    "Download",
    "RunRecord",
    "Weights",
    "add_loaded_model",
    "alive_probe",
    "can_look_inside",
    "look_inside",
    "make_record",
    "message_text",
    "record_run",
    "run_label",
    "run_model_label",
    "shown_label",
    "trained_summary",
]

JOB_KEY = "train_job"  # the session's TrainingJob (or None)
RUNS_KEY = "train_runs"  # finished runs of this session, oldest first
RUN_COUNT_KEY = "train_run_count"  # runs recorded so far in this session (numbers the labels)
MAX_RUNS = 5  # runs kept for comparison (each holds a small model and a few images)
MAX_MISTAKES = 24  # misclassified validation images kept per run
SESSION_MODELS = "session_models"  # shared with the Feature-maps page: label → {"model", "spec"}
FMAPS_MODEL_WIDGET = "fmaps_model"  # the Feature-maps page's model picker (preselected by "look inside")
FMAPS_SESSION_PREFIX = "session:"


class Weights(StrEnum):
    """Which weights of a run a download holds."""

    BEST = "best"  # the epoch with the lowest validation loss (kept by ModelCheckpoint)
    LAST = "last"  # the weights when training ended


@dataclass(frozen=True)
class Download:
    weights: Weights
    epoch: int  # the epoch the weights are from (the last finished one for LAST)
    val_loss: float | None  # that epoch's validation loss (None when no epoch finished)
    data: bytes  # the .pt file (cnnviz.train.save_trained)
    also_best: bool = False  # LAST only: these weights are the best epoch's too


@dataclass(frozen=True)
class RunRecord:
    label: str  # shown in legends and on the Feature-maps page
    job_id: int  # id() of the TrainingJob it came from
    snapshot: JobSnapshot  # the final progress (epochs, steps, filter snapshots)
    trained: TrainedModel | None  # the weights when training ended
    downloads: tuple[Download, ...]  # best epoch first when it differs from the last weights
    confusion: np.ndarray | None  # (K, K)
    class_names: tuple[str, ...]
    dataset: str  # the data set the classes belong to (for their display names)
    mistakes: tuple[tuple[np.ndarray, int, int], ...]  # (uint8 image (H, W) or (H, W, 3), true, predicted)
    features: FeatureProjection | None = None  # transfer learning over cached features: the features in 2-D
    config: TrainConfig | None = None  # the settings of the run
    number: int = 0  # the run's number in this session (1, 2, ...)
    cross_validation: CrossValidation | None = None  # k-fold runs: every fold's best score, their mean ± std


def message_text(message: Phrase | None) -> str:
    """A run's message (why it stopped, what failed) in the session's language; "" for none."""
    return "" if message is None else message.localized(current_language())


def record_run(job: TrainingJob) -> RunRecord:
    """Keep what the page needs from a finished job, free the rest, and hand its model to the Feature-maps page.

    The session keeps its last MAX_RUNS runs; only the last one keeps its per-epoch pictures and mistakes
    (the others are drawn as curves and a table row), and models of dropped runs leave the Feature-maps page.
    """
    runs: list[RunRecord] = st.session_state.setdefault(RUNS_KEY, [])
    c = job.config
    number = st.session_state[RUN_COUNT_KEY] = st.session_state.get(RUN_COUNT_KEY, 0) + 1
    label = run_label(c, number)
    record = make_record(job, label, number)
    runs[:] = [_slim(r) for r in runs] + [record]
    models = st.session_state.setdefault(SESSION_MODELS, {})
    for dropped in runs[:-MAX_RUNS]:
        models.pop(dropped.label, None)
    del runs[:-MAX_RUNS]
    trained = record.trained
    if trained is not None and can_look_inside(trained.model):
        models[label] = {"model": trained.model, "spec": _spec(trained, label)}
    return record


def run_label(config: TrainConfig, number: int) -> str:
    """A run's name in the session's language: its number, model, optimizer, learning rate and batch."""
    optimizer = t(f"train.opt.{config.optimizer.value}")
    return t("train.run_label", n=number, model=run_model_label(config), optimizer=optimizer,
             lr=config.learning_rate, batch=config.batch_size)  # fmt: skip


def shown_label(record: RunRecord) -> str:
    """The record's name in the language shown now (its stored label is in the language of the moment it ended)."""
    return record.label if record.config is None else run_label(record.config, record.number)


def make_record(job: TrainingJob, label: str, number: int = 0) -> RunRecord:
    """Build the record of a finished job (its download bytes, mistakes, confusion), then release the job.

    After this the job holds its final snapshot, history and trained model only (``TrainingJob.release``).
    """
    snap, history, trained = job.snapshot(), job.history, job.trained
    mistakes = _mistakes(job) if job.trainer is not None and job.trainer.data is not None else ()
    dataset = trained.dataset if trained else job.config.dataset
    cv = cross_validation(snap.fold_results) if snap.fold_results else None
    record = RunRecord(label, id(job), snap, trained, _downloads(job), history.confusion, tuple(history.class_names),
                       dataset, mistakes, history.features, job.config, number, cv)  # fmt: skip
    job.release()  # the data set (tens of MB), optimizer state and best-epoch weights are not needed any more
    return record


def _slim(record: RunRecord) -> RunRecord:
    """An earlier run as the page still shows it: its curves and table row, without pictures or mistakes."""
    snap = replace(record.snapshot, snapshots=(), step_stats=())
    return replace(record, snapshot=snap, mistakes=())


def can_look_inside(model: torch.nn.Module) -> bool:
    """True when Feature maps can show the model: it has a convolution (an MLP from the builder has none)."""
    return any(isinstance(m, torch.nn.Conv2d) for m in model.modules())


def run_model_label(config: TrainConfig) -> str:
    """What a run trains, for people: the registry model's name, or "the network from the builder"."""
    return t("train.model_builder") if config.model == BUILT_MODEL else model_label(config.model)


def trained_summary(trained: TrainedModel, features: FeatureProjection | None) -> str:
    """One sentence saying what was trained: the builder's rows, a frozen backbone with a new head, or a model."""
    c, params = trained.config, count_parameters(trained.model)
    size = f"{trained.image_size}×{trained.image_size}"
    if c.model == BUILT_MODEL:
        return t("train.trained_builder", n=len(c.architecture), params=f"{params:,}", size=size)
    if features is not None:
        return t("train.trained_transfer", model=model_label(c.model), frozen=f"{features.frozen_params:,}",
                 head=f"{features.head_params:,}", dims=f"{features.dims:,}", k=len(trained.class_names))  # fmt: skip
    return t("train.trained_model", model=model_label(c.model), params=f"{params:,}", size=size)


def _downloads(job: TrainingJob) -> tuple[Download, ...]:
    """The .pt files to offer: the best epoch's (when its weights differ from the last ones), then the last."""
    trained, best = job.trained, job.best_trained
    if trained is None:
        return ()
    losses = {e.epoch: e.val_loss for e in job.history.epochs}
    same = best is not None and _same_weights(best, trained)
    last = Download(Weights.LAST, trained.epoch, losses.get(trained.epoch), save_trained(trained), also_best=same)
    if best is None or same:
        return (last,)
    return Download(Weights.BEST, best.epoch, losses.get(best.epoch), save_trained(best)), last


def _same_weights(a: TrainedModel, b: TrainedModel) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _mistakes(job: TrainingJob) -> tuple[tuple[np.ndarray, int, int], ...]:
    """The most confident mistakes on validation images: (picture, true class, predicted class)."""
    history, data = job.history, job.trainer.data
    if not history.misclassified:
        return ()
    idx = list(history.misclassified[:MAX_MISTAKES])
    images = (data.val_x[idx].clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()  # (n, H, W, C)
    images = images[..., 0] if images.shape[-1] == 1 else images  # grayscale as (n, H, W)
    truth = data.val_y[idx].tolist()
    return tuple(zip(list(images), truth, history.misclassified_pred[:MAX_MISTAKES], strict=True))


def add_loaded_model(trained: TrainedModel, file_name: str, data: bytes) -> str:
    """Offer a model loaded from a .pt file on the Feature-maps page (once per file content); return its label."""
    models = st.session_state.setdefault(SESSION_MODELS, {})
    digest = hashlib.sha256(data).hexdigest()
    for label, entry in models.items():
        if entry.get("sha256") == digest:
            return label
    label, n = t("train.loaded_label", name=file_name), 1
    while label in models:
        n += 1
        label = t("train.loaded_label_again", name=file_name, n=n)
    models[label] = {"model": trained.model, "spec": _spec(trained, label), "sha256": digest}
    return label


def _spec(trained: TrainedModel, label: str) -> ModelSpec:
    """The ModelSpec the Feature-maps page needs: the registry's, adapted to what this model was trained on.

    A network from the builder has no registry entry: its spec is written here (name "builder", no weights file).
    """
    description = t("train.spec_description", label=label)
    if trained.config.model != BUILT_MODEL:
        return replace(spec_for_data(trained.config.model, trained.data_info), description=description)
    known = DATASETS.get(trained.dataset)
    return ModelSpec(BUILT_MODEL, trained.dataset, trained.in_channels, trained.image_size, trained.class_names,
                     _per_channel(trained.mean, trained.in_channels), _per_channel(trained.std, trained.in_channels),
                     None, description, digit_style=known is not None and known.digit_style)  # fmt: skip


def _per_channel(values: tuple[float, ...], channels: int) -> tuple[float, ...]:
    return tuple(values) * channels if len(values) == 1 else tuple(values)


def look_inside(label: str) -> None:
    """Preselect ``label`` on the Feature-maps page and go there."""
    st.session_state[FMAPS_MODEL_WIDGET] = FMAPS_SESSION_PREFIX + label
    st.switch_page("pages/feature_maps.py")


def alive_probe() -> Callable[[], bool] | None:
    """Return a thread-safe check that this browser session is still connected (None outside a server)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)
