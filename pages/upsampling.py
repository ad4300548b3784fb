"""Upsampling."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("upsampling.title"))
st.caption(t("upsampling.summary"))
