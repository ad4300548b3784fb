"""Loss functions: mean squared error against cross-entropy as the predicted probability of the true class moves."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, show_error, t
from cnnviz.ui.losses import curve_settings, descent_settings, show_curves, show_descent, show_point

bootstrap()
st.title(t("losses.title"))
st.caption(t("losses.summary"))

# --- value and gradient as p moves ---------------------------------------------------------------------
classes, wrt, p = curve_settings()
st.caption(t("losses.setup", k=classes))
try:
    show_point(classes, wrt, p)
    show_curves(classes, wrt, p)
except ValueError as err:
    show_error(err)

# --- gradient descent from a badly wrong prediction -----------------------------------------------------
p0, lr, steps = descent_settings()
try:
    show_descent(p0, lr, steps, classes)
except ValueError as err:
    show_error(err)
