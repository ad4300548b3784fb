"""Image filters: convolve a photo with classic or custom kernels, channel by channel.

The settings and all that follows form one fragment, and the pixel zoom a fragment inside it
(cnnviz.ui.filters): a slider redraws only what depends on it.
"""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, image_input, t
from cnnviz.ui.filters import choose_kernels, filter_section

bootstrap()
st.title(t("filters.title"))
st.caption(t("filters.summary"))

image, _ = image_input("filters", max_side=320)
names = choose_kernels()
if not names:
    st.warning(t("filters.pick_one"))
    st.stop()

# settings → apply_kernels (once) → shapes, one map, its zoomed pixel, the channels, all maps, downloads
filter_section(image, tuple(names))
