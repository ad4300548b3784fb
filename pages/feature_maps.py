"""Feature maps (to be built)."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("fmaps.title"))
st.caption(t("fmaps.summary"))
