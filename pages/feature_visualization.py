"""Feature visualisation."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("feature_visualization.title"))
st.caption(t("feature_visualization.summary"))
