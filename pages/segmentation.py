"""Semantic segmentation: placeholder until issue 10 fills it."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("segmentation.title"))
st.caption(t("segmentation.summary"))
