"""cnnviz entry point: declares the navigation; every page sets itself up with bootstrap()."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import PAGES, t

sections: dict[str, list] = {}
for info in PAGES:
    page = st.Page(
        info.path,
        title=t(info.title),
        icon=info.icon,
        url_path=info.url_path or None,
        default=not info.url_path,
    )
    sections.setdefault(t(info.section), []).append(page)

st.navigation(sections, expanded=True).run()  # 17 pages: show them all, no "View 7 more"
