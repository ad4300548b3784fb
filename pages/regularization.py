"""Regularisation."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("regularization.title"))
st.caption(t("regularization.summary"))
