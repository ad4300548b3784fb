"""Batch norm and dropout."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("normalization.title"))
st.caption(t("normalization.summary"))
