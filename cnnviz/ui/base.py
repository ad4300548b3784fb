"""Page set-up every page runs first, language state, and the error display."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from cnnviz.device import device_label, select_device
from cnnviz.errors import CnnvizError
from cnnviz.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from cnnviz.train.warmup import start_warmup
from cnnviz.ui.training_data import start_data_warmup

__all__ = ["PAGES", "PageInfo", "bootstrap", "current_language", "error_text", "page_link", "show_error", "t"]

BOOTED_KEY = "cnnviz_booted"  # set by the first bootstrap() of a session
LANG_KEY = "lang"  # the language lives here, not in the widget's own key, so it survives navigation


@dataclass(frozen=True)
class PageInfo:
    path: str  # file under pages/
    url_path: str  # "" for the home page; else the file's stem, so deep links work before app.py ran
    section: str  # catalog key of the navigation section
    title: str  # catalog key of the page title (in the navigation, and the h1 of every page but home)
    summary: str  # catalog key of the one-paragraph summary on the home page
    icon: str  # an emoji (material icons need the internet)


def _page(stem: str, section: str, area: str, icon: str) -> PageInfo:
    """A page whose file is ``pages/<stem>.py``, deep-linked as ``/<stem>``, titled by ``<area>.title``."""
    return PageInfo(f"pages/{stem}.py", stem, f"nav.{section}", f"{area}.title", f"{area}.summary", icon)


PAGES: tuple[PageInfo, ...] = (
    PageInfo("pages/home.py", "", "nav.start", "home.nav", "home.caption", "🏠"),
    _page("perceptron", "foundations", "perceptron", "⚡"),
    _page("activations", "foundations", "activations", "📈"),
    _page("losses", "foundations", "losses", "🎯"),
    _page("optimizers", "foundations", "optimizers", "⛰️"),
    _page("initialization", "foundations", "initialization", "🎲"),
    _page("normalization", "foundations", "normalization", "⚖️"),
    _page("regularization", "foundations", "regularization", "🛡️"),
    _page("upsampling", "foundations", "upsampling", "🔼"),
    _page("conv_arithmetic", "convolution", "arith", "🧮"),
    _page("image_filters", "convolution", "filters", "🖼️"),
    _page("pooling", "convolution", "pool", "🔽"),
    _page("feature_maps", "inside", "fmaps", "🔬"),
    _page("feature_visualization", "inside", "feature_visualization", "🎨"),
    _page("architectures", "architectures", "architectures", "🏛️"),
    _page("network_builder", "architectures", "network_builder", "🧱"),
    _page("live_training", "training", "train", "🏋️"),
    _page("detection", "beyond", "detection", "📦"),
    _page("segmentation", "beyond", "segmentation", "🧩"),
)


def current_language() -> str:
    """Return the language code chosen in this session ("en" or "ko")."""
    return st.session_state.get(LANG_KEY, DEFAULT_LANGUAGE)


def t(key: str, /, **values: object) -> str:
    """Translate ``key`` into the session's language."""
    return translate(key, current_language(), **values)


def bootstrap() -> str:
    """Set up the page: config, session defaults, sidebar language switch and device.

    Idempotent and safe to run from a page alone (a deep link on a fresh server runs a page
    without app.py). Returns the language code.
    """
    _leave_legacy_pages_mode()
    start_warmup()  # a first training run then finds torch's one-time work done (once per server process)
    start_data_warmup()  # ... and the default preset's images drawn
    st.set_page_config(page_title="cnnviz", page_icon="🧠", layout="wide")
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = DEFAULT_LANGUAGE
    codes = list(LANGUAGES)
    with st.sidebar:
        st.radio(
            "Language / 언어",
            codes,
            index=codes.index(current_language()),
            format_func=LANGUAGES.__getitem__,
            horizontal=True,
            key="lang_widget",
            on_change=_store_language,
        )
        st.caption(t("ui.device", device=_device_text(current_language())))
    return current_language()


def page_link(info: PageInfo) -> None:
    """Link to a page; a plain link when the page runs without app.py's navigation (a deep link)."""
    try:
        st.page_link(info.path, label=t(info.title), icon=info.icon)
    except StreamlitPageNotFoundError:
        st.markdown(f"{info.icon} [{t(info.title)}](/{info.url_path})")


def error_text(err: BaseException) -> str:
    """An error's message in the session's language (cnnviz errors raised with a key are translated)."""
    return err.localized(current_language()) if isinstance(err, CnnvizError) else str(err)


def show_error(err: Exception) -> NoReturn:
    """Show an error message in the session's language in place of the result and stop the script run."""
    st.error(error_text(err), icon="⚠️")
    st.stop()


def _leave_legacy_pages_mode() -> None:
    """Rerun through app.py when a deep link on a fresh server ran this page in Streamlit's legacy mode.

    Until some session calls st.navigation, a server whose app has a pages/ folder runs a deep-linked
    page file directly, with a sidebar of file names. st.navigation's first act is to clear this
    process-wide flag; clearing it here and rerunning makes this run go through app.py, whose
    navigation picks the same page (its url_path is the file's stem, so the page hash matches).
    """
    from streamlit.runtime.pages_manager import PagesManager

    first_run = BOOTED_KEY not in st.session_state  # later runs may carry widget events a rerun would drop
    st.session_state[BOOTED_KEY] = True
    if PagesManager.uses_pages_directory and first_run:
        PagesManager.uses_pages_directory = False
        st.rerun()


def _store_language() -> None:
    st.session_state[LANG_KEY] = st.session_state["lang_widget"]


@st.cache_resource
def _device_text(lang: str) -> str:
    return device_label(select_device(), lang)
