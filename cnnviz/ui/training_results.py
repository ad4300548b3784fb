"""Live-training page: the last run's results (confusion matrix, mistakes, downloads) and loading a .pt file."""

from __future__ import annotations

import streamlit as st

from cnnviz.errors import CheckpointError
from cnnviz.train import load_trained
from cnnviz.ui.base import error_text, t
from cnnviz.ui.labels import class_label
from cnnviz.ui.training import (
    RUN_COUNT_KEY,
    RUNS_KEY,
    SESSION_MODELS,
    Download,
    RunRecord,
    Weights,
    add_loaded_model,
    can_look_inside,
    look_inside,
    shown_label,
    trained_summary,
)
from cnnviz.ui.training_figures import confusion_figure

__all__ = ["load_section", "results_section"]

MISTAKES_SHOWN = 12
MISTAKE_WIDTH = 88  # pixels per picture: wide enough for a caption "triangle → square" on two lines at most


def results_section() -> None:
    """Show the session's last finished run: confusion matrix, mistakes, look inside, download."""
    runs: list[RunRecord] = st.session_state.get(RUNS_KEY, [])
    last = runs[-1] if runs else None
    if last is None or not last.snapshot.epoch_stats or last.confusion is None:
        return
    st.subheader(t("train.results", label=shown_label(last)))
    if last.trained is not None:
        st.caption(trained_summary(last.trained, last.features))
    names = [class_label(last.dataset, name) for name in last.class_names]
    left, right = st.columns(2)
    left.plotly_chart(confusion_figure(last.confusion, names), key="train_confusion")
    with right:
        wrong = int(last.confusion.sum() - last.confusion.trace())  # all of them; a few are kept to show
        st.markdown(t("train.mistakes", n=wrong) if wrong else t("train.no_mistakes"))
        if last.mistakes:
            shown = last.mistakes[:MISTAKES_SHOWN]
            captions = [t("train.mistake", true=names[truth], pred=names[pred]) for _, truth, pred in shown]
            st.image([image for image, _, _ in shown], width=MISTAKE_WIDTH, caption=captions)
    look, download = st.columns(2)
    viewable = last.trained is not None and can_look_inside(last.trained.model)
    if look.button(t("train.look_inside"), key="train_look_inside", disabled=not viewable):
        look_inside(last.label)
    if last.trained is not None and not viewable:
        look.caption(t("train.no_convolution"))
    if last.downloads:
        with download:
            _download(last)


def _download(record: RunRecord) -> None:
    """Offer the best epoch's weights or the last ones (when they differ), and say which the file holds."""
    by_kind = {d.weights: d for d in record.downloads}
    if len(by_kind) > 1:
        kind = st.radio(t("train.download_which"), list(by_kind), format_func=lambda w: _choice_label(by_kind[w]),
                        key="train_download_which")  # fmt: skip
    else:
        kind = next(iter(by_kind))
    chosen = by_kind[kind]
    st.caption(_holds(chosen, by_kind))
    number = st.session_state.get(RUN_COUNT_KEY, 1)
    name = f"cnnviz-{record.trained.config.model}-run{number}-{chosen.weights.value}-epoch{chosen.epoch}.pt"
    st.download_button(t("train.download"), chosen.data, file_name=name, key="train_download",
                       mime="application/octet-stream", on_click="ignore")  # fmt: skip


def _choice_label(d: Download) -> str:
    if d.weights is Weights.BEST:
        return t("train.download_best", epoch=d.epoch, loss=d.val_loss)
    return t("train.download_last")


def _holds(chosen: Download, by_kind: dict[Weights, Download]) -> str:
    """One sentence saying which weights the file holds."""
    if chosen.weights is Weights.BEST:
        last = by_kind[Weights.LAST]
        return t("train.holds_best", epoch=chosen.epoch, loss=chosen.val_loss, last=last.epoch,
                 last_loss=last.val_loss)  # fmt: skip
    if chosen.also_best:
        return t("train.holds_last_is_best", epoch=chosen.epoch, loss=chosen.val_loss)
    return t("train.holds_last", n=chosen.epoch)


def load_section() -> None:
    """Load a .pt file downloaded earlier: hand it to the Feature-maps page and offer to look inside."""
    with st.expander(t("train.load_title"), key="train_load_section"):  # a key: it stays open across reruns
        upload = st.file_uploader(t("train.load_upload"), type=["pt"], key="train_load")
        if upload is None:
            return
        data = upload.getvalue()
        try:
            loaded = load_trained(data)
        except CheckpointError as err:
            st.error(error_text(err), icon="⚠️")
            return
        if not can_look_inside(loaded.model):
            st.info(t("train.no_convolution"))
            return
        label = add_loaded_model(loaded, upload.name, data)
        spec = st.session_state[SESSION_MODELS][label]["spec"]
        classes = ", ".join(class_label(spec.dataset, name) for name in spec.class_names)
        st.success(t("train.loaded", name=upload.name, classes=classes, label=label))
        if st.button(t("train.look_inside"), key="train_look_inside_loaded"):
            look_inside(label)
