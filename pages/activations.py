"""Activation functions."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("activations.title"))
st.caption(t("activations.summary"))
