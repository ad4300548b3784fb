"""Live-training form, the controls a learner sets before a run: the device and precision, the callbacks and the
learning-rate schedule (drawn as a curve before the run starts), and the validation split and noise.

The widgets are drawn first; what depends on the whole config (the curve, how many images train and
validate) is drawn afterwards into the slots they leave (``ControlSlots``), once ``form_config`` has built it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from cnnviz.device import allowed_cpus, available_devices, device_label, select_device
from cnnviz.train import (
    DEFAULT_LIMITER,
    Monitor,
    Precision,
    Schedule,
    TrainConfig,
    lr_curve,
    precision_plan,
    run_steps,
    split_sizes,
    threads_per_job,
)
from cnnviz.ui.base import current_language, t

__all__ = [
    "CONTROL_FIELDS",
    "ControlSlots",
    "callbacks_section",
    "device_row",
    "fill_slots",
    "lr_figure",
    "validation_section",
    "widget_key",
]

CONTROL_FIELDS = ("device", "precision", "schedule", "warmup", "step_every", "step_gamma", "patience", "monitor",
                  "val_fraction", "folds", "augmentation_noise", "val_noise")  # fmt: skip
VAL_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.5)  # 0: the validation images are n_val's own
FOLD_CHOICES = (0, 3, 5, 10)  # 0: one model, no cross-validation
CURVE_STEPS = 2000  # at most this many steps are stepped to draw the curve (a longer run: fewer per epoch)
NOISE_MAX = 0.5  # std on the [0, 1] pixel scale: beyond it a picture is mostly noise


def widget_key(field: str) -> str:
    """The session-state key of the widget that edits TrainConfig field ``field``."""
    return f"train_{field}"


@dataclass(frozen=True)
class ControlSlots:
    """Places left in the form for what needs the whole config: the curve, the split and the early-stopping notes."""

    curve: Any
    schedule_note: Any
    patience_note: Any
    split: Any


# ----------------------------------------------------------------------------------------------- device


def device_row() -> None:
    """The device picker (only devices that exist) and the precision, with the threads and number types they use."""
    st.markdown(t("train_controls.section_device"))
    pick, precision_col, info = st.columns([1, 1, 2])
    name = pick.selectbox(t("train_controls.device"), available_devices(), format_func=_device_choice,
                          key=widget_key("device"), help=t("train_controls.device_help"))  # fmt: skip
    precision = precision_col.selectbox(
        t("train.precision"), list(Precision), format_func=lambda p: t(f"train.prec.{p.value}"),
        key=widget_key("precision"), help=t("train_controls.precision_help"),
    )  # fmt: skip
    device = select_device(name)
    runs = DEFAULT_LIMITER.capacity  # trainings at once on this server; a run's thread count is what the job sets
    info.caption(t("train_controls.threads", n=threads_per_job(runs), allowed=allowed_cpus(), runs=runs))
    info.caption(_precision_text(Precision(precision), device))


def _device_choice(name: str) -> str:
    label = _device_name(select_device(name))
    return t("train_controls.device_auto", device=label) if name == "auto" else label


def _device_name(device: torch.device) -> str:
    """'CPU', 'CUDA (NVIDIA H200)', 'MPS (Apple GPU)': the CPU's threads are said beside it, per run."""
    return t("train_controls.device_cpu") if device.type == "cpu" else device_label(device, current_language())


def _precision_text(precision: Precision, device: torch.device) -> str:
    """Which number type the run computes in on ``device`` (the plan the Trainer builds)."""
    plan = precision_plan(precision, device)
    label = _device_name(device)
    if plan.autocast_dtype is None:
        return t("train_controls.uses_fp32")
    if plan.grad_scaler:
        return t("train_controls.uses_fp16", device=label)
    return t("train_controls.uses_bf16", device=label)


# ----------------------------------------------------------------------------------- callbacks, schedule


def callbacks_section() -> tuple[Any, Any, Any]:
    """The schedule and its settings, early stopping and the monitored metric; returns slots for the curve and notes."""
    with st.expander(t("train_controls.section_callbacks")):
        left, right = st.columns([2, 3])
        with left:
            schedule = st.selectbox(t("train.schedule"), list(Schedule), format_func=_schedule_label,
                                    key=widget_key("schedule"), help=t("train_controls.schedule_help"))  # fmt: skip
            if schedule is Schedule.ONE_CYCLE:
                st.slider(t("train_controls.warmup"), 0.05, 0.95, step=0.05, key=widget_key("warmup"),
                          help=t("train_controls.warmup_help"))  # fmt: skip
            if schedule is Schedule.STEP:
                st.number_input(t("train_controls.step_every"), 1, 200, key=widget_key("step_every"),
                                help=t("train_controls.step_every_help"))  # fmt: skip
                st.slider(t("train_controls.step_gamma"), 0.05, 0.95, step=0.05, key=widget_key("step_gamma"),
                          help=t("train_controls.step_gamma_help"))  # fmt: skip
            schedule_note = st.empty()
            st.number_input(t("train.patience"), 0, 50, key=widget_key("patience"),
                            help=t("train_controls.patience_help"))  # fmt: skip
            monitor = st.selectbox(t("train_controls.monitor"), list(Monitor), format_func=_monitor_label,
                                   key=widget_key("monitor"), help=t("train_controls.monitor_help"))  # fmt: skip
            patience_note = st.empty()
            loss = Monitor(monitor) is Monitor.VAL_LOSS
            st.caption(t("train_controls.checkpoint_loss" if loss else "train_controls.checkpoint_accuracy"))
        curve = right.empty()
    return curve, schedule_note, patience_note


def _schedule_label(schedule: Schedule) -> str:
    return t(f"train.sched.{schedule.value}")


def _monitor_label(monitor: Monitor) -> str:
    return t("train_controls.monitor_loss" if monitor is Monitor.VAL_LOSS else "train_controls.monitor_accuracy")


# ------------------------------------------------------------------------------------------- validation


def validation_section() -> Any:
    """The validation split (a fraction, or k folds) and the noise on training and validation images; a slot."""
    with st.expander(t("train_controls.section_validation")):
        split_col, noise_col = st.columns(2)
        with split_col:
            st.selectbox(t("train_controls.val_fraction"), _options(VAL_FRACTIONS, "val_fraction"),
                         format_func=_fraction_label, key=widget_key("val_fraction"), on_change=_fraction_changed,
                         help=t("train_controls.val_fraction_help"))  # fmt: skip
            st.selectbox(t("train_controls.folds"), _options(FOLD_CHOICES, "folds"), format_func=_folds_label,
                         key=widget_key("folds"), on_change=_folds_changed,
                         help=t("train_controls.folds_help"))  # fmt: skip
            split = st.empty()
        with noise_col:
            st.slider(t("train_controls.train_noise"), 0.0, NOISE_MAX, step=0.01, key=widget_key("augmentation_noise"),
                      help=t("train_controls.train_noise_help"))  # fmt: skip
            st.slider(t("train_controls.val_noise"), 0.0, NOISE_MAX, step=0.01, key=widget_key("val_noise"),
                      help=t("train_controls.val_noise_help"))  # fmt: skip
    return split


def _options(choices: tuple, field: str) -> list:
    """The usual choices, and the one in the form when a preset set another (a selectbox must hold its value)."""
    current = st.session_state.get(widget_key(field))
    return sorted({*choices, current} if current is not None else set(choices))


def _fraction_label(fraction: float) -> str:
    return t("train_controls.off_n_val") if fraction == 0 else f"{fraction:.0%}"


def _folds_label(k: int) -> str:
    return t("train_controls.off") if k < 2 else t("train_controls.k_folds", k=k)


def _fraction_changed() -> None:
    """A validation fraction replaces k-fold (the two choose the validation images in different ways)."""
    if st.session_state[widget_key("val_fraction")] > 0:
        st.session_state[widget_key("folds")] = 0


def _folds_changed() -> None:
    if st.session_state[widget_key("folds")] >= 2:
        st.session_state[widget_key("val_fraction")] = 0.0


# ------------------------------------------------------------------------- what needs the whole config


def fill_slots(slots: ControlSlots, config: TrainConfig, given: tuple[int, int] | None) -> None:
    """Draw the learning-rate curve, the split and the notes for ``config``; ConfigError for an impossible split.

    ``given``: the (training, validation) images of the user's zip, None for the chosen data set.
    """
    n_train, n_val = split_sizes(config, given)
    if config.folds >= 2:
        slots.split.caption(t("train_controls.split_folds", k=config.folds, train=n_train, val=n_val))
    else:
        slots.split.caption(t("train_controls.split", train=n_train, val=n_val))
    slots.curve.plotly_chart(lr_figure(config, given), key="train_lr_curve", config={"displayModeBar": False})
    if config.schedule is Schedule.STEP and config.step_every >= config.epochs:
        slots.schedule_note.caption(t("train_controls.step_never", every=config.step_every))
    if 0 < config.patience and config.patience >= config.epochs:
        slots.patience_note.caption(t("train_controls.patience_never", n=config.epochs, first=config.patience + 1))


def lr_figure(config: TrainConfig, given: tuple[int, int] | None = None) -> go.Figure:
    """The learning rate at every step of the run, against epochs (the Trainer's own scheduler, stepped)."""
    per_epoch, total = run_steps(config, given)
    drawn = max(1, min(per_epoch, CURVE_STEPS // config.epochs))  # the same shape, at a coarser grain
    rates = _curve(config, drawn)
    epochs = np.arange(rates.size) / drawn
    fig = go.Figure(go.Scatter(x=epochs, y=rates, mode="lines", line=dict(width=2), name=t("train_controls.lr"),
                               hovertemplate=t("train_controls.lr_hover") + "<extra></extra>"))  # fmt: skip
    fig.update_layout(title=t("train_controls.curve_title", n=total, per_epoch=per_epoch), height=260,
                      xaxis_title=t("train.axis_epoch"), yaxis_title=t("train_controls.lr"),
                      yaxis=dict(rangemode="tozero", exponentformat="power"), margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(range=[0, config.epochs]))  # fmt: skip
    return fig


@st.cache_data(max_entries=32, show_spinner=False)
def _curve(config: TrainConfig, per_epoch: int) -> np.ndarray:
    return lr_curve(config, per_epoch)
