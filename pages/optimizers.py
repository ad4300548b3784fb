"""Gradient descent and the optimizers race: torch.optim on 2-D surfaces, and mini-batch noise on a regression."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, show_error, t
from cnnviz.ui.optimizers import minibatch_settings, race_paths, race_settings, show_minibatch, show_race, show_rules

bootstrap()
st.title(t("optimizers.title"))
st.caption(t("optimizers.summary"))

# --- the race on a surface ----------------------------------------------------------------------------
settings = race_settings()
if not settings.optimizers:
    st.info(t("optimizers.none_chosen"))
    st.stop()
try:
    paths = race_paths(settings)
except ValueError as err:
    show_error(err)
show_race(settings, paths)
show_rules(settings.optimizers)
st.markdown(t(f"optimizers.lesson.{settings.surface}"))

# --- mini-batch noise ----------------------------------------------------------------------------------
batch, lr, steps = minibatch_settings()
try:
    show_minibatch(batch, lr, steps)
except ValueError as err:
    show_error(err)
