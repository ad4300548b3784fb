"""Architectures page: official ImageNet weights (download with a progress bar, or a .pth file given offline)."""

from __future__ import annotations

import warnings
from pathlib import Path

import streamlit as st

from cnnviz.errors import CnnvizError
from cnnviz.nets import ZOO_MODELS, download_weights, get_spec, load_weights, weights_filename
from cnnviz.ui.architectures import meta_model
from cnnviz.ui.base import error_text, t
from cnnviz.ui.labels import model_label

__all__ = ["show_weights", "weights_target"]


def weights_target(name: str) -> Path | None:
    """Where the app looks for ``name``'s offline weights (the folder the README names), None when it has none."""
    return get_spec(name).weights_file


def _download(name: str, target: Path) -> None:
    bar = st.progress(0.0, text=t("architectures.weights.starting", file=target.name))

    def progress(done: int, total: int | None) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        bar.progress(fraction, text=t("architectures.weights.progress", mb=done / 2**20, file=target.name))

    try:
        path = download_weights(name, progress, model_dir=target.parent)
    except CnnvizError as err:
        bar.empty()
        st.error(error_text(err), icon="⚠️")
        return
    bar.progress(1.0, text=t("architectures.weights.done", path=str(path)))
    st.success(t("architectures.weights.ready", model=model_label(name)))


def _check_upload(name: str, data: bytes, target: Path) -> None:
    """Check the uploaded file against the architecture (on the meta device), then keep it where the app looks."""
    try:
        with warnings.catch_warnings():  # loading into meta tensors checks names and shapes and copies nothing
            warnings.simplefilter("ignore", UserWarning)
            load_weights(name, meta_model(name), data)
    except CnnvizError as err:
        st.error(error_text(err), icon="⚠️")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    st.success(t("architectures.weights.uploaded", model=model_label(name), path=str(target)))


def show_weights(name: str) -> None:
    """The ImageNet weights of zoo model ``name``: download button, upload, and where the file goes."""
    target = weights_target(name)
    if name not in ZOO_MODELS or target is None:
        st.caption(t("architectures.weights.none", model=model_label(name)))
        return
    if target.is_file():
        st.success(t("architectures.weights.present", model=model_label(name), path=str(target)))
    st.caption(t("architectures.weights.where", file=weights_filename(name), folder=str(target.parent)))
    left, right = st.columns(2)
    if left.button(t("architectures.weights.download", model=model_label(name)), key=f"arch_download_{name}"):
        with left:
            _download(name, target)
    upload = right.file_uploader(t("architectures.weights.upload"), type=["pth", "pt"], key=f"arch_upload_{name}")
    if upload is not None:
        with right:
            _check_upload(name, upload.getvalue(), target)
