"""Feature visualisation: grow the picture a channel wants to see from noise, and find where photos excite it most."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, show_error, t
from cnnviz.ui import feature_vis as ui

bootstrap()
st.title(t("feature_visualization.title"))
st.caption(t("feature_visualization.summary"))
st.markdown(t("feature_visualization.intro"))

# --- which channel, how to grow its picture -------------------------------------------------------------
try:
    choice = ui.choose("feature_vis")
except ValueError as err:
    show_error(err)

# --- the photos first (cached, quick), then the run, which takes seconds ---------------------------------
grown, photos = st.columns([3, 2])
try:
    ui.patches_section(choice, photos)
    ui.run_section(choice, grown)
except ValueError as err:
    show_error(err)
