"""Feature-maps page helpers: model choice and loading, cached analyses, and small drawings."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from PIL import Image, ImageDraw
from torch import nn

from cnnviz import explain
from cnnviz.data import (
    MAX_EXAMPLE_NUMBER,
    can_draw_examples,
    draw_example,
    example_input,
    load_dataset,
    normalize,
    photo_input,
)
from cnnviz.errors import CheckpointError
from cnnviz.nets import ModelSpec, available_models, build, get_spec
from cnnviz.render import diverging_rgb, montage, png_bytes, sequential_rgb, tile_images, upscale_nearest
from cnnviz.ui.base import error_text, t
from cnnviz.ui.image_input import image_input

__all__ = [
    "Analysis",
    "LoadedModel",
    "ModelInput",
    "analyse",
    "box_on_image",
    "choose_input",
    "choose_model",
    "colour_map",
    "grad_cams",
    "layer_grid",
    "layer_rows",
    "overlay",
    "png_bytes",
    "prediction_chart",
    "rgb_grid",
    "saliency_image",
    "top_shapes",
    "upscale",
]

SESSION_PREFIX = "session:"
SHAPES_COUNT = 256  # seeded shapes images searched for the ones that excite a filter most
PAGE_WIDTH = 1000  # pixels of the main column in the wide layout, shared by a row of layer grids
TILE = 80  # smallest width in pixels a feature-map tile should get on screen


@dataclass(frozen=True)
class LoadedModel:
    key: str  # cache key: registry name, or "session:<label>:<id>"
    model: nn.Module  # eval mode, cpu
    spec: ModelSpec
    note: str | None  # a message to show (weights missing, untrained), or None


@dataclass(frozen=True)
class Analysis:
    logits: torch.Tensor  # (1, K)
    maps: dict[str, np.ndarray]  # layer → (C, H, W), every layer with spatial maps, execution order
    filters: dict[str, np.ndarray]  # conv layer → (C_out, C_in, kH, kW)
    grids: dict[str, bytes]  # layer → PNG of all its maps (one montage per layer)


@dataclass(frozen=True)
class ModelInput:
    x: np.ndarray  # (1, C, H, W) float32, normalised: exactly what the model gets
    name: str  # caption under the picture
    how: str  # what was done to the picture before the model saw it
    truth: int | None  # the true class of a drawn example; None for a photo


def choose_input(key: str, spec: ModelSpec) -> ModelInput:
    """Show the input-source choice (an example of the training data, or a photo); return the model input.

    Examples are the default, so a learner first sees the model at work on what it knows. Models
    whose data set cannot be drawn here (a user's zip, MNIST, ...) only offer photos.
    """
    if not can_draw_examples(spec):
        st.caption(t("fmaps.source_photo_only", dataset=spec.dataset))
        return _photo(key, spec)
    sources = ["example", "photo"]
    labels = {"example": t("fmaps.source_example"), "photo": t("fmaps.source_photo")}
    source = st.radio(t("fmaps.source"), sources, format_func=labels.get, horizontal=True, key=f"{key}_source")
    return _example(key, spec) if source == "example" else _photo(key, spec)


def _example(key: str, spec: ModelSpec) -> ModelInput:
    """Class and number controls; return a freshly drawn example of the training data."""
    col_class, col_number = st.columns(2)
    classes = list(range(len(spec.class_names)))
    class_index = col_class.selectbox(
        t("fmaps.example_class"),
        classes,
        format_func=spec.class_names.__getitem__,
        key=f"{key}_example_class_{spec.dataset}",
    )
    number = col_number.number_input(
        t("fmaps.example_number"),
        min_value=0,
        max_value=MAX_EXAMPLE_NUMBER,
        value=0,
        step=1,
        help=t("fmaps.example_number_help", dataset=spec.dataset),
        key=f"{key}_example_number",
    )
    picture = _drawn(spec.dataset, int(class_index), int(number))
    x = example_input(spec, picture).numpy()
    name = t("fmaps.example_name", label=spec.class_names[class_index], number=int(number))
    how = t("fmaps.how_example", dataset=spec.dataset, size=spec.image_size, **_stats(spec))
    return ModelInput(x, name, how, int(class_index))


@st.cache_data(max_entries=64, show_spinner=False)
def _drawn(dataset: str, class_index: int, number: int) -> np.ndarray:
    return draw_example(dataset, class_index, number=number)  # (H, W, C) uint8


def _photo(key: str, spec: ModelSpec) -> ModelInput:
    """Sample chooser and uploader, and the invert toggle for one-channel models; return the prepared photo."""
    picture, name = image_input(key, mode="RGB" if spec.in_channels == 3 else "L")
    if spec.in_channels != 1:
        how = t("fmaps.how_photo", size=spec.image_size, **_stats(spec))
        return ModelInput(photo_input(spec, picture).x.numpy(), name, how, None)
    auto = photo_input(spec, picture)
    invert = _invert_toggle(f"{key}_invert", auto.auto_invert, name)
    prepared = photo_input(spec, picture, invert=invert)
    how = t("fmaps.how_digits" if spec.digit_style else "fmaps.how_photo", size=spec.image_size, **_stats(spec))
    polarity = t("fmaps.invert_auto_on" if auto.auto_invert else "fmaps.invert_auto_off", border=auto.border)
    if invert != auto.auto_invert:
        polarity += " " + t("fmaps.invert_changed")
    return ModelInput(prepared.x.numpy(), name, f"{polarity} {how}", None)


def _invert_toggle(key: str, auto: bool, picture: str) -> bool:
    """The invert toggle, reset to ``auto`` whenever another picture is chosen."""
    if st.session_state.get(f"{key}_for") != (picture, auto):
        st.session_state[f"{key}_for"] = (picture, auto)
        st.session_state[key] = auto
    return st.toggle(t("fmaps.invert"), help=t("fmaps.invert_help"), key=key)


def _stats(spec: ModelSpec) -> dict[str, str]:
    return {name: ", ".join(f"{v:.3f}" for v in values) for name, values in (("mean", spec.mean), ("std", spec.std))}


def choose_model(key: str) -> LoadedModel:
    """Show the model picker (registry models, then models trained in this session); return the choice."""
    session = st.session_state.get("session_models", {})
    options = available_models() + [SESSION_PREFIX + label for label in session]
    choice = st.selectbox(t("fmaps.model"), options, format_func=_model_label, key=key)
    if choice.startswith(SESSION_PREFIX):
        label = choice.removeprefix(SESSION_PREFIX)
        entry = session[label]
        model = entry["model"].eval()
        return LoadedModel(f"{choice}:{id(model)}", model, entry["spec"], None)
    spec = get_spec(choice)
    try:
        return LoadedModel(choice, _bundled(choice), spec, None)
    except (CheckpointError, OSError, RuntimeError) as err:
        reason = t("fmaps.no_weights_file") if spec.weights_file is None else error_text(err)
        return LoadedModel(f"{choice}:untrained", _untrained(choice), spec, t("fmaps.untrained", reason=reason))


def _model_label(option: str) -> str:
    if option.startswith(SESSION_PREFIX):
        return t("fmaps.session_model", label=option.removeprefix(SESSION_PREFIX))
    spec = get_spec(option)
    return t("fmaps.registry_model", name=option, dataset=spec.dataset)


@st.cache_resource(max_entries=4, show_spinner=False)
def _bundled(name: str) -> nn.Module:
    return build(name, weights="bundled").eval()


@st.cache_resource(max_entries=4, show_spinner=False)
def _untrained(name: str) -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return build(name).eval()


@st.cache_data(max_entries=16, show_spinner=False)
def analyse(model_key: str, _model: nn.Module, x: np.ndarray) -> Analysis:
    """Run the model once on x (1, C, H, W) and keep every layer's maps, the logits and the filters.

    Each layer's grid has as many tile columns as fit its share of a row of ``layer_rows``, so
    channel i sits at the same place in every layer of a block (conv → ReLU → pool line up).
    """
    logits, acts = explain.run_with_activations(_model, torch.from_numpy(x))
    maps = explain.spatial_activations(acts)
    grids = {}
    for row in layer_rows(list(maps)):
        for name in row:
            grids[name] = png_bytes(layer_grid(maps[name], cols=max(1, PAGE_WIDTH // len(row) // TILE)))
    return Analysis(logits, maps, explain.conv_filters(_model), grids)


def layer_rows(names: list[str], *, per_row: int = 5) -> list[list[str]]:
    """Group layer names by block (the part before the first dot), at most ``per_row`` to a row."""
    blocks: dict[str, list[str]] = {}
    for name in names:
        blocks.setdefault(name.split(".")[0], []).append(name)
    return [layers[i : i + per_row] for layers in blocks.values() for i in range(0, len(layers), per_row)]


@st.cache_data(max_entries=16, show_spinner=False)
def grad_cams(model_key: str, _model: nn.Module, x: np.ndarray, target: int | None) -> list[explain.GradCam]:
    """Grad-CAM at every conv layer (one forward and backward pass)."""
    return explain.grad_cam_all(_model, torch.from_numpy(x), explain.conv_layer_names(_model), target=target)


@st.cache_data(max_entries=4, show_spinner=False)
def _shapes_images(count: int, seed: int) -> tuple[torch.Tensor, list[str]]:
    split = load_dataset("shapes", n_train=1, n_val=count, seed=seed)
    return split.val_x, [split.class_names[int(y)] for y in split.val_y]  # (N, 3, 64, 64) in [0, 1], labels


@st.cache_data(max_entries=32, show_spinner=False)
def top_shapes(
    model_key: str, _model: nn.Module, _spec: ModelSpec, layer: str, channel: int, k: int
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Return (pictures (k, 64, 64, 3) uint8, class labels, scores) of the seeded shapes set that excite a channel most.

    The set is SHAPES_COUNT validation images, seed 0.
    """
    images, labels = _shapes_images(SHAPES_COUNT, 0)
    indices, scores = explain.top_activating_images(_model, layer, channel, normalize(images, _spec), k)
    pictures = (images[indices].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    return pictures, [labels[i] for i in indices], scores


def prediction_chart(predictions: list[explain.Prediction]) -> go.Figure:
    """Horizontal probability bars, most likely class on top, each bar labelled with its percentage."""
    ranked = predictions[::-1]  # plotly draws the first bar at the bottom
    bars = go.Bar(
        x=[p.probability for p in ranked],
        y=[p.label for p in ranked],
        orientation="h",
        text=[f"{p.probability:.1%}" for p in ranked],
        textposition="outside",
        cliponaxis=False,
        hoverinfo="skip",
    )
    fig = go.Figure(bars).update_layout(
        title=t("fmaps.pred_title", k=len(predictions)),
        xaxis_title=t("fmaps.pred_axis"),
        height=280,
        margin=dict(l=10, r=50, t=40, b=40),
    )
    return fig.update_xaxes(range=[0, 1], tickformat=".0%").update_yaxes(type="category", automargin=True)


def layer_grid(maps: np.ndarray, *, min_tile: int = 48, cols: int | None = None) -> Image.Image:
    """All maps of a layer as one picture, each tile enlarged to about ``min_tile`` pixels."""
    cols = None if cols is None else min(cols, len(maps))
    return montage(maps, cols=cols, scale=max(1, math.ceil(min_tile / maps.shape[-2])), signed=True)


def rgb_grid(tiles: np.ndarray, *, scale: int = 12, pad: int = 2) -> Image.Image:
    """Tile (N, h, w, 3) uint8 pictures into one grid, ceil(sqrt(N)) columns, white gaps."""
    return tile_images(tiles, scale=scale, pad=pad)


def box_on_image(
    image: np.ndarray, box: explain.Box, *, scale: int, outside: bool = False, color=(255, 200, 0)
) -> Image.Image:
    """Enlarge an (H, W, 3) picture ``scale``× and outline ``box`` (in its pixels).

    ``outside`` draws the outline just around the box (to mark one unit without hiding it),
    otherwise just inside it (so a box touching the border stays visible).
    """
    img = upscale_nearest(image, scale).convert("RGB")
    draw = ImageDraw.Draw(img)
    width = max(2, scale // 2)
    grow = width if outside else 0
    corners = (
        box.left * scale - grow,
        box.top * scale - grow,
        box.right * scale - 1 + grow,
        box.bottom * scale - 1 + grow,
    )
    if outside:  # a dark ring under the yellow one keeps it visible on light and dark maps
        draw.rectangle(corners, outline=(0, 0, 0), width=width + 1)
    draw.rectangle(corners, outline=color, width=width)
    return img


def overlay(image: np.ndarray, heat: np.ndarray, *, alpha: float = 0.5) -> np.ndarray:
    """Blend a [0, 1] heat map (H, W) in the sequential colormap over an (H, W, 3) uint8 picture."""
    colour = sequential_rgb(heat, vmin=0.0, vmax=1.0).astype(np.float32)
    return np.rint((1 - alpha) * image.astype(np.float32) + alpha * colour).astype(np.uint8)


def upscale(image: np.ndarray, factor: int) -> Image.Image:
    """Enlarge an (H, W, 3) uint8 picture with crisp pixels."""
    return upscale_nearest(image, factor)


def colour_map(one: np.ndarray, vmax: float) -> np.ndarray:
    """One signed map (H, W) in the diverging colormap with ±vmax, as (H, W, 3) uint8."""
    return diverging_rgb(one, vmax=vmax)[0]


def saliency_image(saliency: np.ndarray) -> np.ndarray:
    """A gradient-saliency map (H, W) in the sequential colormap, as (H, W, 3) uint8."""
    return sequential_rgb(saliency, vmin=0.0)
