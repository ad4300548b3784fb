"""Network builder: edit a table of layers; every row shows its output shape, parameters and MACs, or why it
cannot be built; download the network as PyTorch code or send it to Live training (cnnviz.ui.builder)."""

from __future__ import annotations

import streamlit as st

from cnnviz.arch import plan_network
from cnnviz.errors import ConfigError
from cnnviz.ui import bootstrap, show_error, t
from cnnviz.ui import builder as ui

bootstrap()
st.title(t("network_builder.title"))
st.caption(t("network_builder.summary"))

preset, size = ui.builder_inputs()  # an example table and the (C, H, W) input
left, right = st.columns([57, 43])
rows, height = ui.builder_table(preset, where=left)  # the learner's rows (impossible values kept)
try:
    plan = plan_network(rows, size)  # every row: output shape, parameters, MACs, or its reason
except ConfigError as err:
    show_error(err)  # only the input size itself can be impossible here
ui.show_plan(plan, rows, where=right, height=height)  # row for row beside the table
ui.show_problems(plan)  # each impossible row's reason and what to change
ui.show_totals(plan)
ui.kinds_help()
ui.show_exports(rows, size, plan)  # Python download, JSON download, send to Live training
