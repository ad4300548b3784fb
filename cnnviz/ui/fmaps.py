"""Feature-maps page helpers: model choice and loading, cached analyses, and small drawings."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from PIL import Image, ImageDraw
from torch import nn

from cnnviz import features
from cnnviz.datasets import load_dataset
from cnnviz.errors import CheckpointError
from cnnviz.models import ModelSpec, available_models, build, get_spec, normalize
from cnnviz.render import diverging_rgb, montage, sequential_rgb, upscale_nearest
from cnnviz.ui.base import t

__all__ = [
    "Analysis",
    "LoadedModel",
    "analyse",
    "box_on_image",
    "choose_model",
    "colour_map",
    "grad_cams",
    "layer_grid",
    "overlay",
    "png_bytes",
    "rgb_grid",
    "saliency_image",
    "top_shapes",
    "upscale",
]

SESSION_PREFIX = "session:"
SHAPES_COUNT = 256  # seeded shapes images searched for the ones that excite a filter most


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
        reason = t("fmaps.no_weights_file") if spec.weights_file is None else str(err)
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
    """Run the model once on x (1, C, H, W) and keep every layer's maps, the logits and the filters."""
    logits, acts = features.run_with_activations(_model, torch.from_numpy(x))
    maps = features.spatial_activations(acts)
    grids = {name: png_bytes(layer_grid(m)) for name, m in maps.items()}
    return Analysis(logits, maps, features.conv_filters(_model), grids)


@st.cache_data(max_entries=16, show_spinner=False)
def grad_cams(model_key: str, _model: nn.Module, x: np.ndarray, target: int | None) -> list[features.GradCam]:
    """Grad-CAM at every conv layer (one forward and backward pass)."""
    return features.grad_cam_all(_model, torch.from_numpy(x), features.conv_layer_names(_model), target=target)


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
    indices, scores = features.top_activating_images(_model, layer, channel, normalize(images, _spec), k)
    pictures = (images[indices].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    return pictures, [labels[i] for i in indices], scores


def layer_grid(maps: np.ndarray, *, min_tile: int = 48) -> Image.Image:
    """All maps of a layer as one picture, each tile enlarged to about ``min_tile`` pixels."""
    return montage(maps, scale=max(1, math.ceil(min_tile / maps.shape[-2])), signed=True)


def rgb_grid(tiles: np.ndarray, *, scale: int = 12, pad: int = 2) -> Image.Image:
    """Tile (N, h, w, 3) uint8 pictures into one grid, ceil(sqrt(N)) columns, white gaps."""
    count, height, width, _ = tiles.shape
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    th, tw = height * scale, width * scale
    canvas = np.full((rows * th + (rows - 1) * pad, cols * tw + (cols - 1) * pad, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        top, left = (i // cols) * (th + pad), (i % cols) * (tw + pad)
        canvas[top : top + th, left : left + tw] = np.repeat(np.repeat(tile, scale, 0), scale, 1)
    return Image.fromarray(canvas)


def box_on_image(
    image: np.ndarray, box: features.Box, *, scale: int, outside: bool = False, color=(255, 200, 0)
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


def png_bytes(img: Image.Image) -> bytes:
    """Encode as PNG with fast compression (level 1: about half the time of Pillow's default 6)."""
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
