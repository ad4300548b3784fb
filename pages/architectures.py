"""Architectures."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("architectures.title"))
st.caption(t("architectures.summary"))
