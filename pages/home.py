"""Home: what each page teaches, with links."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import PAGES, bootstrap, page_link, t

bootstrap()
st.title(t("home.title"))
st.caption(t("home.caption"))
st.markdown(t("home.intro"))

for info in PAGES[1:]:
    with st.container(border=True):
        page_link(info)
        st.markdown(t(info.summary))
