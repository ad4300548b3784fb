"""Live training: train a small CNN in a background thread and watch its curves and filters change."""

from __future__ import annotations

import streamlit as st

from cnnviz.errors import CnnvizError
from cnnviz.ui import bootstrap, error_text, t
from cnnviz.ui import training_form as form
from cnnviz.ui import training_live as live
from cnnviz.ui import training_results as results
from cnnviz.ui import training_runs as runs

bootstrap()
st.title(t("train.title"))
st.caption(t("train.summary"))

with st.expander(t("train.settings"), expanded=True):
    try:
        config, own = form.config_form()
        archive = form.user_archive(config.model) if own else None
    except CnnvizError as err:
        config, own, archive = None, False, None
        st.error(error_text(err), icon="⚠️")
problem = form.builder_problem(config, archive) if config is not None and (archive or not own) else None
if problem is not None:
    form.show_builder_problem(problem)
ready = config is not None and problem is None and (archive is not None or not own)
if config is not None and own and archive is None:
    st.info(t("train.zip_needed"))

live.live_panel(config, archive, ready=ready)  # a fragment: reruns every second while a run trains
runs.runs_section()  # every run of the session: a table, and chosen runs side by side
results.results_section()
results.load_section()
