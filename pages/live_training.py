"""Live training (to be built)."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("train.title"))
st.caption(t("train.summary"))
