"""Image filters (to be built)."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("filters.title"))
st.caption(t("filters.summary"))
