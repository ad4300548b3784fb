"""Pooling (to be built)."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("pool.title"))
st.caption(t("pool.summary"))
