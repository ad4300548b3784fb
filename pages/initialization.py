"""Weight initialisation."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t

bootstrap()
st.title(t("initialization.title"))
st.caption(t("initialization.summary"))
