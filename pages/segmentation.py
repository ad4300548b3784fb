"""Semantic segmentation: the scenes and their masks, an FCN trained live, IoU per class, the checkerboard, a photo."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t
from cnnviz.ui.segmentation import model_files, scenes_browser, train_panel
from cnnviz.ui.segmentation_views import checkerboard_lesson, photo_section, results_section

bootstrap()
st.title(t("segmentation.title"))
st.caption(t("segmentation.summary"))
st.markdown(t("segmentation.intro"))

# --- the data: scenes drawn here, so every pixel's class is known exactly -------------------------
scenes_browser()

# --- an FCN trained live in a background job; its files ------------------------------------------
train_panel()
model_files()

# --- what the trained network does: IoU per class, score maps, the checkerboard, a photo ----------
results_section()
checkerboard_lesson()
photo_section()
