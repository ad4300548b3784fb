"""Convolution arithmetic (to be built)."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("arith.title"))
st.caption(t("arith.summary"))
