"""Perceptron and MLP."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("perceptron.title"))
st.caption(t("perceptron.summary"))
