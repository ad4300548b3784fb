"""Feature-visualisation page: which channel, how to grow its picture, the run with its progress, the top patches.

A run takes seconds, so it starts with a button; its result is kept in the session under its settings,
and the top patches (cached, fast) are drawn before it so the page is never empty while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from torch import nn

from cnnviz.data import list_samples, load_image, preprocess
from cnnviz.explain import (
    FeatureVis,
    FeatureVisConfig,
    Patch,
    Penalty,
    block_layers,
    top_activating_patches,
    trace_model,
    visualize_channel,
)
from cnnviz.nets import available_models, build, get_spec
from cnnviz.render import upscale_nearest
from cnnviz.ui.base import t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.labels import model_label, sample_label
from cnnviz.ui.widgets import bounded_slider

__all__ = ["VisChoice", "choose", "patches_section", "run_section", "vis_models"]

FIRST = "efficientnet_lite0"  # offered first: it knows photos
RESULTS_KEY = "feature_vis_results"  # session_state: settings → FeatureVis, the latest few
KEEP = 6  # results kept per session
STRENGTH = {Penalty.SMOOTHNESS: 1.0, Penalty.FREQUENCY: 0.2}  # one slider step 0…10 → the penalty's weight
DISPLAY = 256  # pixels the grown picture is shown at


@dataclass(frozen=True)
class VisChoice:
    model: str  # registry name
    layer: str
    channel: int
    config: FeatureVisConfig


def vis_models() -> list[str]:
    """The registry models that ship trained weights, EfficientNet-Lite0 first."""
    names = [name for name in available_models() if get_spec(name).has_bundled_weights]
    return sorted(names, key=lambda name: name != FIRST)


@st.cache_resource(max_entries=4, show_spinner=False)
def _model(name: str) -> nn.Module:
    return build(name, weights="bundled")


@st.cache_data(max_entries=8, show_spinner=False)
def _layers(name: str) -> dict[str, int]:
    """Layer → channels, for the layers (or blocks) whose output is a stack of maps (traced at the model's size)."""
    model, spec = _model(name), get_spec(name)
    shapes = {call.name: call.out_shape for call in trace_model(model, (spec.in_channels, spec.image_size,
                                                                        spec.image_size)).calls}  # fmt: skip
    return {layer: shapes[layer][1] for layer in block_layers(model) if len(shapes.get(layer, ())) == 4}


def choose(key: str) -> VisChoice:
    """Draw the model, layer and channel pickers and the run settings; return the choice."""
    models = vis_models()
    names = {name: model_label(name) for name in models}
    model = translated_choice("selectbox", t("feature_visualization.model"), models, key=f"{key}_model",
                              default=models[0], format_func=names.__getitem__)  # fmt: skip
    left, right = st.columns(2)
    size = bounded_slider(t("feature_visualization.size"), 32, 192, 128, key=f"{key}_size", where=right, step=16)
    layers = _layers(model)
    options = list(layers)
    shown = {n: t("feature_visualization.layer_option", layer=n, n=layers[n]) for n in options}  # a lookup
    layer = translated_choice("selectbox", t("feature_visualization.layer"), options, key=f"{key}_layer_{model}",
                              default=options[len(options) // 2], where=left,
                              format_func=shown.__getitem__)  # fmt: skip
    channel = bounded_slider(
        t("feature_visualization.channel"), 0, layers[layer] - 1, 0, key=f"{key}_channel", where=left
    )
    steps = bounded_slider(t("feature_visualization.steps"), 10, 200, 100, key=f"{key}_steps", where=right, step=10)
    penalties = {p: t(f"feature_visualization.penalty.{p.value}") for p in Penalty}
    penalty = translated_choice("radio", t("feature_visualization.penalty"), list(Penalty), key=f"{key}_penalty",
                                default=Penalty.FREQUENCY, where=left, horizontal=True,
                                format_func=penalties.__getitem__)  # fmt: skip
    strength = bounded_slider(t("feature_visualization.strength"), 0, 10, 5, key=f"{key}_strength", where=left)
    jitter = bounded_slider(t("feature_visualization.jitter"), 0, 16, 8, key=f"{key}_jitter", where=right)
    seed = bounded_slider(t("feature_visualization.seed"), 0, 9, 0, key=f"{key}_seed", where=right)
    config = FeatureVisConfig(size=size, steps=steps, jitter=jitter, penalty=Penalty(penalty),
                              weight=strength * STRENGTH[Penalty(penalty)], seed=seed)  # fmt: skip
    return VisChoice(model, layer, channel, config)


def _results() -> dict[VisChoice, FeatureVis]:
    return st.session_state.setdefault(RESULTS_KEY, {})


def _keep(choice: VisChoice, result: FeatureVis) -> None:
    results = _results()
    results[choice] = result
    while len(results) > KEEP:
        results.pop(next(iter(results)))


def _grow(choice: VisChoice, where) -> FeatureVis:
    """Run the visualisation with a progress bar and the picture as it forms, in ``where``."""
    bar = where.progress(0.0, text=t("feature_visualization.progress", step=0, steps=choice.config.steps))
    picture = where.empty()
    spec = get_spec(choice.model)

    def on_step(progress) -> None:
        text = t("feature_visualization.progress", step=progress.step, steps=progress.steps)
        bar.progress(progress.step / progress.steps, text=text)
        if progress.step % 5 == 0 or progress.step == progress.steps:
            picture.image(progress.image, width=DISPLAY)

    result = visualize_channel(_model(choice.model), choice.layer, choice.channel, choice.config,
                               mean=spec.mean, std=spec.std, on_step=on_step)  # fmt: skip
    bar.empty()
    picture.empty()
    return result


def _curve(result: FeatureVis) -> go.Figure:
    steps = np.arange(1, len(result.activations) + 1)
    fig = go.Figure(go.Scatter(x=steps, y=result.activations, mode="lines", name=t("feature_visualization.activation")))
    fig.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title=t("feature_visualization.step"),
        yaxis_title=t("feature_visualization.activation"),
    )
    return fig


def run_section(choice: VisChoice, where) -> None:
    """The button that starts a run, the run itself, and the kept result of these settings."""
    result = _results().get(choice)
    label = t("feature_visualization.again" if result else "feature_visualization.run")
    if where.button(label, key="feature_vis_run", type="primary"):
        result = _grow(choice, where)
        _keep(choice, result)
    if result is None:
        where.info(t("feature_visualization.press", steps=choice.config.steps), icon="👆")
        return
    pictures = where.columns(2)
    pictures[0].image(result.image, width=DISPLAY, caption=t("feature_visualization.grown", channel=choice.channel,
                      layer=choice.layer, value=f"{result.activations[-1]:.2f}"))  # fmt: skip
    pictures[1].image(
        result.start,
        width=DISPLAY // 2,
        caption=t("feature_visualization.start", value=f"{result.start_activation:.2f}"),
    )
    where.plotly_chart(_curve(result), key="feature_vis_curve")


@st.cache_data(max_entries=16, show_spinner=False)
def _patches(model: str, layer: str, channel: int) -> list[Patch]:
    spec = get_spec(model)
    inputs = {name: preprocess(spec, load_image(path)) for name, path in list_samples().items()}
    return top_activating_patches(_model(model), layer, channel, inputs, mean=spec.mean, std=spec.std, k=6)


def patches_section(choice: VisChoice, where) -> None:
    """The sample photos' places that excite the channel most, each cut out by its unit's receptive field."""
    where.subheader(t("feature_visualization.patches"))
    where.caption(t("feature_visualization.patches_caption", n=len(list_samples())))
    patches = _patches(choice.model, choice.layer, choice.channel)
    columns = where.columns(3)
    for i, patch in enumerate(patches):
        factor = max(1, 96 // max(patch.image.shape[:2]))
        caption = t("feature_visualization.patch", photo=sample_label(patch.source), value=f"{patch.activation:.2f}",
                    h=patch.box.height, w=patch.box.width)  # fmt: skip
        columns[i % 3].image(upscale_nearest(patch.image, factor), caption=caption, width=96)
