"""Loss functions."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("losses.title"))
st.caption(t("losses.summary"))
