"""Object detection: placeholder until issue 10 fills it."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("detection.title"))
st.caption(t("detection.summary"))
