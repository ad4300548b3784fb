"""Optimizers."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("optimizers.title"))
st.caption(t("optimizers.summary"))
