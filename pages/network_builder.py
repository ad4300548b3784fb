"""Network builder."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("network_builder.title"))
st.caption(t("network_builder.summary"))
