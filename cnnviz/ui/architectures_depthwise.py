"""Architectures page: what makes a depthwise network (EfficientNet-Lite0, MobileNetV2) different, from the model.

Any picked network whose blocks hold a depthwise convolution gets this section: one block's
expand → depthwise → project steps with their shapes, its depthwise separable pair against a plain
convolution of the same shape, and the table of blocks with totals equal to ``sum(p.numel())``.
"""

from __future__ import annotations

import streamlit as st

from cnnviz.arch import (
    BLOCK_ROLES,
    block_steps,
    block_table,
    depthwise_blocks,
    separable_vs_plain,
    skip_path,
)
from cnnviz.errors import CnnvizError
from cnnviz.ui.architectures import cached_summary, meta_model
from cnnviz.ui.architectures_explainers import show_comparison
from cnnviz.ui.base import error_text, t
from cnnviz.ui.labels import model_label

__all__ = ["has_depthwise_blocks", "show_depthwise"]


def has_depthwise_blocks(name: str) -> bool:
    return bool(depthwise_blocks(meta_model(name)))


def _shape(shape: tuple[int, ...] | None) -> str:
    return "×".join(map(str, shape or ())) or "—"


def _default_block(blocks: list[str], name: str, input_size: tuple[int, int, int]) -> str:
    """The first block with all three steps (expand, depthwise, project): the one that shows the idea."""
    summary = cached_summary(name, input_size)
    for block in blocks:
        if [s.role for s in block_steps(meta_model(name), summary, block)] == list(BLOCK_ROLES):
            return block
    return blocks[0]


def _show_block(name: str, input_size: tuple[int, int, int], block: str) -> None:
    model, summary = meta_model(name), cached_summary(name, input_size)
    steps = block_steps(model, summary, block)
    st.dataframe([{t("architectures.x.layer"): t(f"architectures.role.{s.role}", k=s.kernel_size),
                   t("architectures.col.name"): s.name,
                   t("architectures.x.shape"): f"{_shape(s.input_shape)} → {_shape(s.output_shape)}",
                   t("architectures.col.params"): s.params, t("architectures.col.macs"): s.macs}
                  for s in steps], hide_index=True, key="arch_dw_steps")  # fmt: skip
    skip = skip_path(dict(model.named_modules())[block])
    st.caption(t("architectures.dw.skip_yes" if skip is not None else "architectures.dw.skip_no"))
    depthwise = next((s for s in steps if s.role == "depthwise"), None)
    project = next((s for s in steps if s.role == "project"), None)
    if depthwise is None or project is None:
        return
    (cin, h, w), cout = depthwise.output_shape, project.output_shape[0]
    st.markdown(t("architectures.dw.against_plain", cin=cin, cout=cout, k=depthwise.kernel_size, h=h, w=w))
    show_comparison(separable_vs_plain(cin, cout, depthwise.kernel_size, height=h, width=w), "dw")


def _show_blocks_table(name: str, input_size: tuple[int, int, int]) -> None:
    summary = cached_summary(name, input_size)
    rows = block_table(summary, depth=2)
    table = [{t("architectures.col.name"): r.name, t("architectures.col.output_shape"): _shape(r.output_shape),
              t("architectures.col.params"): r.params, t("architectures.col.macs"): r.macs,
              t("architectures.col.receptive_field"): "—" if r.receptive_field is None else str(r.receptive_field)}
             for r in rows]  # fmt: skip
    table.append({t("architectures.col.name"): t("architectures.dw.total"), t("architectures.col.output_shape"): "",
                  t("architectures.col.params"): sum(r.params for r in rows),
                  t("architectures.col.macs"): sum(r.macs for r in rows),
                  t("architectures.col.receptive_field"): ""})  # fmt: skip
    st.dataframe(table, hide_index=True, key="arch_dw_blocks")
    numel = sum(p.numel() for p in meta_model(name).parameters())
    st.success(t("architectures.dw.total_check", total=f"{sum(r.params for r in rows):,}", numel=f"{numel:,}"))


def show_depthwise(name: str, input_size: tuple[int, int, int]) -> None:
    """The section "what makes this network different" for a network with depthwise blocks."""
    st.header(t("architectures.dw.title", model=model_label(name)))
    st.markdown(t("architectures.dw.intro"))
    try:
        cached_summary(name, input_size)
    except CnnvizError as err:  # the input does not go through: the comparison above says why
        st.error(error_text(err), icon="⚠️")
        return
    blocks = depthwise_blocks(meta_model(name))
    default = _default_block(blocks, name, input_size)
    block = st.selectbox(t("architectures.dw.block"), blocks, index=blocks.index(default), key=f"arch_dw_block_{name}")
    _show_block(name, input_size, block)
    st.subheader(t("architectures.dw.blocks_title"))
    _show_blocks_table(name, input_size)
