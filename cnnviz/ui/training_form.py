"""Live-training page: the preset picker and the settings form, and the user's own zip of class folders.

Each widget's key is ``train_<field>`` after the ``TrainConfig`` field it sets (``train_learning_rate``,
``train_augmentation_flip``, ...); ``form_config`` is the one conversion of widget values into a
``TrainConfig``. A preset is a ``TrainConfig`` (``cnnviz.train.PRESETS``) copied into the widgets. The
device, callbacks, schedule and validation controls are drawn by ``training_controls``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from cnnviz.arch import build_network
from cnnviz.data import DATASETS, ArchiveData, available_datasets, dataset_info
from cnnviz.device import available_devices
from cnnviz.errors import CnnvizError, ConfigError
from cnnviz.nets import available_models, get_spec
from cnnviz.train import (
    BUILT_MODEL,
    PRESETS,
    InitName,
    OptimizerName,
    TrainConfig,
    check_split,
    config_from_flat,
    flatten_config,
    get_preset,
    load_archive_for,
    story_values,
)
from cnnviz.ui import training_controls as controls
from cnnviz.ui.base import error_text, t
from cnnviz.ui.labels import dataset_label, model_label
from cnnviz.ui.training_controls import widget_key
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "BUILDER_ROWS_KEY",
    "FORM_FIELDS",
    "PHOTO_TRANSFER",
    "apply_preset",
    "builder_problem",
    "config_form",
    "form_config",
    "model_options",
    "show_builder_problem",
    "user_archive",
    "widget_key",
]

# The TrainConfig fields the form edits (flat names, see cnnviz.train.flatten_config); the rest keep their defaults.
FORM_FIELDS = (
    "model", "dataset", "n_train", "n_val", "image_size", "epochs", "batch_size", "optimizer", "learning_rate",
    "momentum", "weight_decay", "init", "batch_norm", "dropout", "augmentation_flip", "augmentation_crop",
    "augmentation_rotation", "augmentation_color_jitter", "seed", "transfer", *controls.CONTROL_FIELDS,
)  # fmt: skip
# A preset leaves transfer and the device as they are (the learner's own choices, not part of a story).
PRESET_FIELDS = tuple(name for name in FORM_FIELDS if name not in ("transfer", "device"))
DEFAULT_PRESET = "baseline"
SAVED_KEY = "train_form"  # a plain copy of the form: Streamlit drops widget state when the user visits another page
BATCH_SIZES = [8, 16, 32, 64, 128, 256]
IMAGE_SIDES = (16, 24, 32, 48, 64, 96, 128)  # the image sizes offered besides a set's own (0 in the config)
BUILDER_ROWS_KEY = "builder_rows"  # written by the Network builder's "Send to Live training": a list of row dicts
BUILDER_PAGE = "pages/network_builder.py"
# What "my own images" starts from when EfficientNet-Lite0 is there: its frozen ImageNet features and a new head,
# trained for a few quick epochs over the cached features (Teachable Machine's recipe).
PHOTO_TRANSFER = {"model": "efficientnet_lite0", "transfer": True, "epochs": 10, "batch_size": 16}
ZIP_MODEL = "tinyvgg"  # whose image size a zip gets for a network from the builder (it adapts to any size)


def model_options() -> list[str]:
    """The models the form offers, then the network from the builder once it was sent here.

    The small nets train from scratch in seconds; an ImageNet network is offered only with its weights (to
    start from, as transfer learning does): VGG-19 from scratch on a CPU would take hours.
    """
    names = [n for n in available_models() if get_spec(n).dataset != "imagenet" or get_spec(n).has_bundled_weights]
    return names + ([BUILT_MODEL] if st.session_state.get(BUILDER_ROWS_KEY) else [])


def _model_name(name: str) -> str:
    return t("train.model_builder") if name == BUILT_MODEL else model_label(name)


def _own_changed() -> None:
    """Toggle callback: photos of one's own start from EfficientNet-Lite0's features, when that model is there."""
    if st.session_state[widget_key("own")] and PHOTO_TRANSFER["model"] in available_models():
        for name, value in PHOTO_TRANSFER.items():
            st.session_state[widget_key(name)] = value


def apply_preset() -> None:
    """Widget callback: copy the chosen preset into the form's widgets."""
    values = flatten_config(get_preset(st.session_state["train_preset"]))
    for name in PRESET_FIELDS:
        st.session_state[widget_key(name)] = values[name]


def _init_widgets() -> None:
    saved = st.session_state.get(SAVED_KEY, {})
    defaults = flatten_config(PRESETS[DEFAULT_PRESET]) | {"own": False, "preset": DEFAULT_PRESET}
    # Back from another page Streamlit has dropped the form's widgets (the model's select box is always drawn), but
    # a widget drawn only sometimes (momentum, the step schedule's settings) can leave an older value behind: the
    # saved copy wins then. Within the page, a widget's own value wins.
    back = widget_key("model") not in st.session_state
    for name in (*FORM_FIELDS, "own", "preset"):
        key = widget_key(name)
        if key not in st.session_state or (back and name in saved):
            st.session_state[key] = saved.get(name, defaults[name])
    if st.session_state[widget_key("model")] not in model_options():  # the builder's network is gone
        st.session_state[widget_key("model")] = defaults["model"]
    if st.session_state[widget_key("device")] not in available_devices():  # a saved GPU choice on a server without
        st.session_state[widget_key("device")] = defaults["device"]


def _save_widgets() -> None:
    st.session_state[SAVED_KEY] = {name: st.session_state[widget_key(name)] for name in (*FORM_FIELDS, "own", "preset")}


def form_config() -> TrainConfig:
    """Convert the widgets' values into a TrainConfig (the one place this happens); ConfigError for bad ones.

    With transfer learning the model is the bundled architecture, which has no batch norm: the config
    says so, whatever the (then disabled) batch-norm checkbox held before. Settings the form does not show
    (how often the curves are read back, ``sync_every``) come from the chosen preset.
    """
    values: dict[str, Any] = {name: st.session_state[widget_key(name)] for name in FORM_FIELDS}
    if values["model"] == BUILT_MODEL:  # the rows say what is built
        rows = tuple(dict(row) for row in st.session_state.get(BUILDER_ROWS_KEY) or ())
        values |= {"architecture": rows, "transfer": False, "batch_norm": False, "dropout": 0.0}
    if values["transfer"]:
        values["batch_norm"] = False
    if values["transfer"] or st.session_state.get(widget_key("own")):  # the bundled net's, or the zip's own size
        values["image_size"] = 0
    preset = st.session_state.get(widget_key("preset"), DEFAULT_PRESET)
    return config_from_flat(values, base=PRESETS.get(preset, PRESETS[DEFAULT_PRESET]))


def config_form() -> tuple[TrainConfig, bool]:
    """Draw the preset picker and the settings; return (config, whether to train on the user's zip).

    Raises ConfigError (through TrainConfig) for settings no run can use.
    """
    _init_widgets()
    st.selectbox(t("train.preset"), list(PRESETS), format_func=lambda p: t(f"train.preset.{p}"),
                 key="train_preset", on_change=apply_preset, help=t("train.preset_help"))  # fmt: skip
    preset = st.session_state["train_preset"]
    st.caption(t(f"train.story.{preset}", **story_values(preset)))  # each preset's story, its counts computed
    data_col, opt_col, reg_col = st.columns(3)
    with data_col:
        own, transfer = _data_settings()
    with opt_col:
        _optimizer_settings(transfer)
    with reg_col:
        _regularisation_settings(transfer, st.session_state[widget_key("model")] == BUILT_MODEL)
    controls.device_row()
    slots = controls.ControlSlots(*controls.callbacks_section(), controls.validation_section())
    _save_widgets()
    config = form_config()
    try:
        controls.fill_slots(slots, config, _zip_sizes(config.model) if own else None)
    except ConfigError:
        if not own:
            raise
        # The zip's images cannot be split so: user_archive says why, once the uploader is drawn (raising here
        # would leave it out of this run, and Streamlit would forget the uploaded file).
    return config, own


def _data_settings() -> tuple[bool, bool]:
    st.markdown(t("train.section_data"))
    own = st.toggle(t("train.own_images"), key="train_own", help=t("train.own_images_help"), on_change=_own_changed)
    st.selectbox(t("train.model"), model_options(), format_func=_model_name, key="train_model",
                 help=t("train.model_help"))  # fmt: skip
    if not own:
        st.selectbox(t("train.dataset"), available_datasets(), format_func=dataset_label, key="train_dataset",
                     help=t("train.dataset_help"), on_change=_dataset_changed)  # fmt: skip
        st.number_input(t("train.n_train"), 16, 30_000, step=100, key="train_n_train")
        st.number_input(t("train.n_val"), 16, 5000, step=100, key="train_n_val")
    built = st.session_state[widget_key("model")] == BUILT_MODEL  # random weights: nothing to transfer
    transfer = st.checkbox(t("train.transfer"), key="train_transfer", help=t("train.transfer_help"), disabled=built)
    transfer = transfer and not built
    if not own:
        _image_size(transfer)
    st.number_input(t("train.epochs"), 1, 200, key="train_epochs")
    st.select_slider(t("train.batch_size"), BATCH_SIZES, key="train_batch_size")
    return own, transfer


def _dataset_changed() -> None:
    """Select-box callback: another data set starts at the chosen preset's image size for it, else at its own."""
    preset = get_preset(st.session_state.get(widget_key("preset"), DEFAULT_PRESET))
    same = preset.dataset == st.session_state[widget_key("dataset")]
    st.session_state[widget_key("image_size")] = preset.image_size if same else 0


def _image_size(transfer: bool) -> None:
    """The side the data set's images are loaded at: its own (0), or one of IMAGE_SIDES (drawn or resized)."""
    own_side = dataset_info(st.session_state[widget_key("dataset")]).image_size
    options = [0, *(side for side in IMAGE_SIDES if side != own_side)]
    key = widget_key("image_size")
    if st.session_state.get(key) not in options:  # the set's own side chosen by number, or another set's choice
        st.session_state[key] = 0
    st.selectbox(t("train.image_size"), options, key=key, disabled=transfer,
                 format_func=lambda side: t("train.image_size_own", size=own_side) if side == 0 else f"{side}×{side}",
                 help=t("train.image_size_transfer_help" if transfer else "train.image_size_help"))  # fmt: skip


def _optimizer_settings(transfer: bool) -> None:
    st.markdown(t("train.section_optimizer"))
    optimizer = st.selectbox(t("train.optimizer"), list(OptimizerName), format_func=lambda o: t(f"train.opt.{o.value}"),
                             key="train_optimizer")  # fmt: skip
    st.number_input(t("train.learning_rate"), 1e-6, 100.0, format="%.4g", key="train_learning_rate",
                    help=t("train.learning_rate_help"))  # fmt: skip
    if optimizer in (OptimizerName.MOMENTUM, OptimizerName.NESTEROV):
        st.slider(t("train.momentum"), 0.0, 0.99, key="train_momentum")
    st.selectbox(t("train.init"), list(InitName), format_func=lambda i: t(f"train.init.{i.value}"), key="train_init",
                 help=t("train.init_transfer_help") if transfer else None)  # fmt: skip
    st.number_input(t("train.seed"), 0, 10_000, key="train_seed")


def _regularisation_settings(transfer: bool, built: bool) -> None:
    st.markdown(t("train.section_regularisation"))
    if transfer or built:  # shown as what is built; the user's own choice stays in train_batch_norm for later
        st.checkbox(t("train.batch_norm"), value=False, disabled=True, key="train_batch_norm_transfer",
                    help=t("train.builder_rows_help" if built else "train.batch_norm_transfer_help"))  # fmt: skip
    else:
        st.checkbox(t("train.batch_norm"), key="train_batch_norm")
    st.slider(t("train.dropout"), 0.0, 0.8, step=0.05, key="train_dropout", disabled=built,
              help=t("train.builder_rows_help") if built else None)  # fmt: skip
    st.number_input(t("train.weight_decay"), 0.0, 1.0, format="%.4g", key="train_weight_decay")
    st.checkbox(t("train.flip"), key="train_augmentation_flip")
    st.checkbox(t("train.crop"), key="train_augmentation_crop")
    bounded_slider(t("train.rotation"), 0, 45, key="train_augmentation_rotation")
    st.slider(t("train.jitter"), 0.0, 0.5, step=0.05, key="train_augmentation_color_jitter")


def user_archive(model: str) -> ArchiveData | None:
    """Show the zip uploader; return the user's images prepared for ``model`` (None until a zip is uploaded).

    For an ImageNet network (EfficientNet-Lite0) the photos are resized to 256 and centre-cropped to 224.
    Raises ConfigError when the images cannot be split as the form asks (more folds than images, ...).
    """
    upload = st.file_uploader(t("train.zip_upload"), type=["zip"], key="train_zip", help=t("train.zip_help"))
    if upload is None:
        return None
    name = ZIP_MODEL if model == BUILT_MODEL else model
    data = _load_archive(upload.getvalue(), name)
    counts = ", ".join(f"{name} ({n})" for name, n in zip(data.split.class_names, data.counts, strict=True))
    st.caption(t("train.zip_summary", n=len(data.counts), counts=counts, size=data.split.image_size))
    if data.skipped:
        st.info(t("train.zip_skipped", n=data.skipped, names=", ".join(data.skipped_names)))
    check_split(form_config(), (int(data.split.train_x.shape[0]), int(data.split.val_x.shape[0])))
    return data


def _zip_sizes(model: str) -> tuple[int, int] | None:
    """The (training, validation) images of the uploaded zip, None before one is uploaded or when it cannot be read."""
    upload = st.session_state.get("train_zip")
    if upload is None:
        return None
    try:
        split = _load_archive(upload.getvalue(), ZIP_MODEL if model == BUILT_MODEL else model).split
    except CnnvizError:  # user_archive shows why, just below
        return None
    return int(split.train_x.shape[0]), int(split.val_x.shape[0])


@st.cache_data(max_entries=2, show_spinner=False)
def _load_archive(data: bytes, model: str) -> ArchiveData:
    return load_archive_for(data, get_spec(model))


def builder_problem(config: TrainConfig, archive: ArchiveData | None) -> str | None:
    """Why the builder's network cannot be built for the chosen data (the builder's message), or None when it can."""
    if config.model != BUILT_MODEL:
        return None
    data = archive.split if archive is not None else DATASETS[config.dataset]
    try:
        build_network(config.architecture, in_channels=int(data.in_channels), image_size=int(data.image_size),
                      num_classes=len(data.class_names))  # fmt: skip
    except ConfigError as err:
        return error_text(err)
    return None


def show_builder_problem(problem: str) -> None:
    """Say why the builder's network cannot train on this data, and link back to the builder to change it."""
    st.error(t("train.builder_impossible", problem=problem), icon="⚠️")
    try:
        st.page_link(BUILDER_PAGE, label=t("train.back_to_builder"), icon="🧱")
    except StreamlitAPIException:  # this page was opened on its own (no navigation yet): name the page instead
        st.caption(t("train.back_to_builder_named"))
