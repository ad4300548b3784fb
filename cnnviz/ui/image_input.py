"""One image picker for every page: a bundled sample, the user's upload, or (where asked for) the webcam."""

from __future__ import annotations

import streamlit as st
from PIL import Image

from cnnviz.data import ALLOWED_EXTENSIONS, list_samples, load_image
from cnnviz.errors import ImageError
from cnnviz.ui.base import error_text, t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.labels import sample_label

__all__ = ["image_input"]


def image_input(key: str, *, mode: str = "RGB", max_side: int = 512, camera: bool = False) -> tuple[Image.Image, str]:
    """Show a sample chooser and an uploader (and a webcam switch with ``camera``); return the image and its name.

    The name is the upload's file name, or the sample's display name in the session's language.
    A webcam picture, once taken, wins over an upload, an upload over the sample. A broken upload
    shows a clear message and falls back to the chosen sample, so the page keeps working and
    nothing the user had is lost.
    """
    samples = list_samples()
    col_sample, col_upload = st.columns(2)
    with col_sample:
        names = {stem: sample_label(stem) for stem in samples}  # a lookup: formats the same outside a run
        name = translated_choice("selectbox", t("ui.sample"), list(samples), key=f"{key}_sample",
                                 default=next(iter(samples)), format_func=names.__getitem__)  # fmt: skip
    with col_upload:
        upload = st.file_uploader(
            t("ui.upload", limit=st.get_option("server.maxUploadSize")),
            type=sorted(ALLOWED_EXTENSIONS),
            key=f"{key}_upload",
        )
    if camera and st.toggle(t("ui.camera"), key=f"{key}_camera_on", help=t("ui.camera_help")):
        shot = st.camera_input(t("ui.camera_take"), key=f"{key}_camera")
        if shot is not None:
            try:
                return _load_cached(shot.getvalue(), mode, max_side), t("ui.camera_name")
            except ImageError as err:
                st.error(t("ui.upload_failed", name=t("ui.camera_name"), reason=error_text(err)), icon="⚠️")
    if upload is not None:
        try:
            return _load_cached(upload.getvalue(), mode, max_side), upload.name
        except ImageError as err:
            st.error(t("ui.upload_failed", name=upload.name, reason=error_text(err)), icon="⚠️")
    return _load_sample(str(samples[name]), mode, max_side), names[name]


@st.cache_data(max_entries=8, show_spinner=False)
def _load_cached(data: bytes, mode: str, max_side: int) -> Image.Image:
    return load_image(data, mode=mode, max_side=max_side)


@st.cache_data(max_entries=16, show_spinner=False)
def _load_sample(path: str, mode: str, max_side: int) -> Image.Image:
    return load_image(path, mode=mode, max_side=max_side)
