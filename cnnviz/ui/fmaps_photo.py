"""Feature-maps page sections for photos and networks of blocks: the preparation step by step, the stage grids
and one block up close, its depthwise filters, and the fully connected layers as bars (every model)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnnviz.data import resize_side
from cnnviz.nets import ModelSpec
from cnnviz.ui import fmaps
from cnnviz.ui.base import t

__all__ = ["block_layers_view", "dense_layers", "depthwise_view", "preparation"]


def preparation(spec: ModelSpec, chosen: fmaps.ModelInput) -> None:
    """The photo's way into the network: as given, resized, centre-cropped, each channel normalised, the tensor."""
    steps = chosen.steps
    if steps is None:
        return
    st.subheader(t("fmaps.prep_header"))
    original, resized, cropped, *channels = chosen.step_pictures
    fitted = steps.resized is steps.cropped
    captions = [
        t("fmaps.prep_original", w=steps.original.width, h=steps.original.height),
        t("fmaps.prep_fitted" if fitted else "fmaps.prep_resized", side=resize_side(spec), w=steps.resized.width,
          h=steps.resized.height, size=spec.image_size),
        t("fmaps.prep_cropped", size=spec.image_size),
    ]  # fmt: skip
    for column, picture, caption in zip(st.columns(3), (original, resized, cropped), captions, strict=True):
        column.image(picture, caption=caption, output_format="PNG")
    x = steps.x[0].numpy()  # (C, H, W) normalised
    names = [t("fmaps.prep_red"), t("fmaps.prep_green"), t("fmaps.prep_blue")]
    names = names if len(x) == 3 else [t("fmaps.prep_grey")]
    for column, picture, channel, name, mean, std in zip(st.columns(3), channels, x, names, spec.mean, spec.std,
                                                         strict=False):  # fmt: skip
        caption = t("fmaps.prep_channel", channel=name, mean=mean, std=std, lo=float(channel.min()),
                    hi=float(channel.max()))  # fmt: skip
        column.image(picture, caption=caption, output_format="PNG")
    st.caption(t("fmaps.prep_tensor", shape="×".join(map(str, steps.x.shape)), lo=float(x.min()), hi=float(x.max())))


def block_layers_view(loaded: fmaps.LoadedModel, result: fmaps.Analysis, x: np.ndarray) -> None:
    """Every stage's grid, two to a row, then any block picked from a list, its channels numbered."""
    st.header(t("fmaps.stages_header"))
    st.caption(t("fmaps.stages_help"))
    names = list(result.grids)
    for start in range(0, len(names), 2):
        for column, name in zip(st.columns(2), names[start : start + 2], strict=False):
            maps = result.maps[name]
            caption = _layer_caption(name, maps)
            if len(maps) > fmaps.OVERVIEW_CHANNELS:
                caption += " " + t("fmaps.stages_first", last=fmaps.OVERVIEW_CHANNELS - 1, n=len(maps))
            column.image(result.grids[name], caption=caption, output_format="PNG")
    _one_block(loaded, result, x)


@st.fragment
def _one_block(loaded: fmaps.LoadedModel, result: fmaps.Analysis, x: np.ndarray) -> None:
    """A fragment: pick a block, see all its channels and its depthwise filters."""
    st.subheader(t("fmaps.block_header"))
    layers = list(result.maps)
    default = next((name for name in layers if name.endswith(".3")), layers[0])
    layer = st.selectbox(t("fmaps.block_pick"), layers, index=layers.index(default), key=f"fmaps_block_{loaded.key}")
    grid = fmaps.block_grid(loaded.key, x, layer, result)
    st.image(grid, caption=_layer_caption(layer, result.maps[layer]), output_format="PNG")
    depthwise_view(loaded, layer)


def depthwise_view(loaded: fmaps.LoadedModel, layer: str) -> None:
    """The depthwise filters inside ``layer`` as small pictures, numbered by channel (nothing when it has none)."""
    found = fmaps.depthwise_grid(loaded.key, layer, loaded.model)
    if found is None:
        return
    name, k, count, grid = found
    st.markdown(f"**{t('fmaps.depthwise_header', layer=name, k=k, n=count)}**")
    st.caption(t("fmaps.depthwise_help"))
    st.image(grid, output_format="PNG")


def _layer_caption(name: str, maps: np.ndarray) -> str:
    c, h, w = maps.shape
    return t("fmaps.layer_caption", layer=name, n=c, h=h, w=w, lo=float(maps.min()), hi=float(maps.max()))


def dense_layers(spec: ModelSpec, result: fmaps.Analysis) -> None:
    """Each fully connected layer's outputs as bars; the last one's bars are the class scores, named."""
    if not result.vectors:
        return
    st.header(t("fmaps.dense_header"))
    st.caption(t("fmaps.dense_help"))
    names = list(result.vectors)
    for name in names:
        values = result.vectors[name]  # (F,)
        last = name == names[-1] and len(values) == len(spec.class_names)
        index = np.arange(len(values))
        hover = np.array(fmaps.display_names(spec.dataset, tuple(spec.class_names)) if last else index, dtype=object)
        positive = values >= 0
        bars = [go.Bar(x=index[part], y=values[part], hovertext=hover[part], hoverinfo="text+y", marker_color=colour,
                       showlegend=False)
                for part, colour in ((positive, "#d6604d"), (~positive, "#4393c3"))]  # fmt: skip
        title = t("fmaps.dense_logits" if last else "fmaps.dense_layer", layer=name, n=len(values))
        fig = go.Figure(bars).update_layout(title=title, height=220, margin=dict(l=10, r=10, t=40, b=30),
                                            xaxis_title=t("fmaps.dense_axis"), bargap=0.05)  # fmt: skip
        st.plotly_chart(fig, key=f"fmaps_dense_{name}")

