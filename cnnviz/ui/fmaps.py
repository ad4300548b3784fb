"""Feature-maps page: which model, which input, and the cached analyses the page draws.

Drawing the results is ``cnnviz.ui.fmaps_views``; this module decides what goes in and computes,
once per input, what comes out (every layer's maps, Grad-CAM and saliency, top shapes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from PIL import Image
from torch import nn

from cnnviz import explain
from cnnviz.data import (
    MAX_EXAMPLE_NUMBER,
    PreparedInput,
    can_draw_examples,
    draw_example,
    example_input,
    load_dataset,
    normalize,
    photo_input,
    preprocess_steps,
)
from cnnviz.errors import CheckpointError
from cnnviz.i18n import load_catalog
from cnnviz.nets import ModelSpec, available_models, build, get_spec
from cnnviz.render import diverging_rgb, montage, number_tiles, png_bytes, symmetric_vmax, tile_images
from cnnviz.ui.base import current_language, error_text, t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.image_input import image_input
from cnnviz.ui.labels import class_label, dataset_label, model_label

__all__ = [
    "Analysis",
    "Evidence",
    "FilterPictures",
    "LoadedModel",
    "ModelInput",
    "analyse",
    "block_grid",
    "choose_input",
    "depthwise_grid",
    "display_names",
    "named_classes",
    "choose_model",
    "evidence",
    "filter_pictures",
    "layer_grid",
    "layer_rows",
    "model_options",
    "overview_maps",
    "model_trace",
    "top_shapes",
]

SESSION_PREFIX = "session:"
SHAPES_COUNT = 256  # seeded shapes images searched for the ones that excite a filter most
PAGE_WIDTH = 1000  # pixels of the main column in the wide layout, shared by a row of layer grids
TILE = 80  # smallest width in pixels a feature-map tile should get on screen
BIG_INPUT = 128  # an input this wide (ImageNet's 224) is shown by stages even for a plain net (VGG): maps are large
OVERVIEW_CHANNELS = 32  # channels of each stage in the overview of a net of blocks (a picked block shows all)
STEP_SIDE = 180  # pixels each preparation step is shown at (its real size is in the caption)
# Long side of a photo for an ImageNet net: the samples (≤ 640) reach it as torchvision would prepare them, and a
# 12 MP JPEG still decodes at half scale (800 would need the full 4000×3000 decode: about 3× the time).
PHOTO_SIDE = 640


@dataclass(frozen=True)
class LoadedModel:
    key: str  # cache key: registry name, or "session:<label>:<id>"
    model: nn.Module  # eval mode, cpu
    spec: ModelSpec
    note: str | None  # a message to show (weights missing, untrained), or None


@dataclass(frozen=True)
class Analysis:
    logits: torch.Tensor  # (1, K)
    maps: dict[str, np.ndarray]  # layer → (C, H, W), every shown layer with spatial maps, execution order
    vectors: dict[str, np.ndarray]  # fully connected layer → (F,) its outputs, execution order
    filters: dict[str, np.ndarray]  # conv layer → (C_out, C_in, kH, kW)
    grids: dict[str, bytes]  # layer → PNG: all maps of every layer (small net); the first 32 of each stage (big net)
    blocks: bool  # the model is shown block by block (EfficientNet), not layer by layer


@dataclass(frozen=True)
class Evidence:
    cams: list[explain.GradCam]  # Grad-CAM at every stage (a small net: every conv layer), in order
    saliency: np.ndarray  # (H, W) plain gradient saliency of the same class


@dataclass(frozen=True)
class FilterPictures:
    conv: str  # the conv layer whose filters made the maps
    in_channels: int  # C_in of its filters
    pairs: bytes  # PNG: each filter beside the map it makes
    rgb: bytes | None  # PNG: the filters in colour (3-channel input only)


@dataclass(frozen=True)
class ModelInput:
    x: np.ndarray  # (1, C, H, W) float32, normalised: exactly what the model gets
    name: str  # caption under the picture
    how: str  # what was done to the picture before the model saw it
    truth: int | None  # the true class of a drawn example; None for a photo
    steps: PreparedInput | None = None  # a colour photo's preparation, step by step
    step_pictures: tuple[bytes, ...] = ()  # PNGs of the steps: picture, resized, cropped, then each normalised channel


# --------------------------------------------------------------------------- the model


def choose_model(key: str) -> LoadedModel:
    """Show the model picker (registry models, then models trained in this session); return the choice."""
    session = st.session_state.get("session_models", {})
    options = model_options() + [SESSION_PREFIX + label for label in session]
    names = {option: _model_option(option) for option in options}  # a lookup: formats the same outside a run
    choice = translated_choice("selectbox", t("fmaps.model"), options, key=key, default=options[0],
                               format_func=names.__getitem__)  # fmt: skip
    if choice.startswith(SESSION_PREFIX):
        entry = session[choice.removeprefix(SESSION_PREFIX)]
        model = entry["model"].eval()
        return LoadedModel(f"{choice}:{id(model)}", model, entry["spec"], None)
    spec = get_spec(choice)
    if spec.weights_file is None:  # shipped untrained on purpose: say so, do not look for a file
        note = t("fmaps.untrained_by_design", name=model_label(choice))
        return LoadedModel(f"{choice}:untrained", _untrained(choice), spec, note)
    try:
        return LoadedModel(choice, _bundled(choice), spec, None)
    except CheckpointError as err:
        note = t("fmaps.untrained_missing", reason=error_text(err))
        return LoadedModel(f"{choice}:untrained", _untrained(choice), spec, note)


def model_options() -> list[str]:
    """Registry models for the picker: EfficientNet-Lite0 first (it knows photos), then those with weights.

    The small nets that ship untrained on purpose stay (last); a big ImageNet network whose
    weights are not there is left out (random filters of 100 million weights teach nothing).
    """
    specs = {name: get_spec(name) for name in available_models()}
    names = [name for name, spec in specs.items()
             if spec.has_bundled_weights or (spec.weights_file is None and spec.dataset != "imagenet")]  # fmt: skip
    rank = {name: (name != "efficientnet_lite0", not specs[name].has_bundled_weights) for name in names}
    return sorted(names, key=rank.__getitem__)  # stable: registry order within each group


def _model_option(option: str) -> str:
    if option.startswith(SESSION_PREFIX):
        return t("fmaps.session_model", label=option.removeprefix(SESSION_PREFIX))
    spec = get_spec(option)
    if spec.has_bundled_weights:
        return t("fmaps.registry_model", name=model_label(option), dataset=dataset_label(spec.dataset))
    return t("fmaps.registry_model_untrained", name=model_label(option))


@st.cache_resource(max_entries=4, show_spinner=False)
def _bundled(name: str) -> nn.Module:
    return build(name, weights="bundled").eval()


@st.cache_resource(max_entries=4, show_spinner=False)
def _untrained(name: str) -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return build(name).eval()


# --------------------------------------------------------------------------- the input


def choose_input(key: str, spec: ModelSpec) -> ModelInput:
    """Show the input-source choice (an example of the training data, or a photo); return the model input.

    Examples are the default, so a learner first sees the model at work on what it knows. Models
    whose data set cannot be drawn here (a user's zip, MNIST, ...) only offer photos.
    """
    if spec.dataset == "imagenet":
        st.caption(t("fmaps.source_imagenet", n=len(spec.class_names)))
        return _photo(key, spec)
    if not can_draw_examples(spec):
        st.caption(t("fmaps.source_photo_only", dataset=dataset_label(spec.dataset)))
        return _photo(key, spec)
    labels = {"example": t("fmaps.source_example"), "photo": t("fmaps.source_photo")}
    source = translated_choice("radio", t("fmaps.source"), list(labels), key=f"{key}_source", default="example",
                               format_func=labels.__getitem__, horizontal=True)  # fmt: skip
    return _example(key, spec) if source == "example" else _photo(key, spec)


def _example(key: str, spec: ModelSpec) -> ModelInput:
    """Class and number controls; return a freshly drawn example of the training data."""
    col_class, col_number = st.columns(2)
    names = [class_label(spec.dataset, c) for c in spec.class_names]
    class_index = translated_choice("selectbox", t("fmaps.example_class"), list(range(len(names))),
                                    key=f"{key}_example_class_{spec.dataset}", default=0, where=col_class,
                                    format_func=names.__getitem__)  # fmt: skip
    number = int(
        col_number.number_input(
            t("fmaps.example_number"), min_value=0, max_value=MAX_EXAMPLE_NUMBER, value=0, step=1,
            help=t("fmaps.example_number_help", dataset=dataset_label(spec.dataset)), key=f"{key}_example_number",
        )
    )  # fmt: skip
    x = example_input(spec, _drawn(spec.dataset, int(class_index), number)).numpy()
    name = t("fmaps.example_name", label=names[class_index], number=number)
    how = t("fmaps.how_example", dataset=dataset_label(spec.dataset), size=spec.image_size, **_stats(spec))
    return ModelInput(x, name, how, int(class_index))


@st.cache_data(max_entries=64, show_spinner=False)
def _drawn(dataset: str, class_index: int, number: int) -> np.ndarray:
    return draw_example(dataset, class_index, number=number)  # (H, W, C) uint8


def _photo(key: str, spec: ModelSpec) -> ModelInput:
    """Sample chooser and uploader, and the invert toggle for one-channel models; return the prepared photo."""
    side = PHOTO_SIDE if spec.crop_fraction < 1 else 512
    picture, name = image_input(key, mode="RGB" if spec.in_channels == 3 else "L", max_side=side, camera=True)
    if spec.in_channels != 1:
        steps, pictures = _steps(spec, picture)
        how = t("fmaps.how_photo", size=spec.image_size, **_stats(spec))
        return ModelInput(steps.x.numpy(), name, how, None, steps, pictures)
    prepared = photo_input(spec, picture)  # the default polarity
    invert = _invert_toggle(f"{key}_invert", prepared.auto_invert, name)
    polarity = t("fmaps.invert_auto_on" if prepared.auto_invert else "fmaps.invert_auto_off", border=prepared.border)
    if invert != prepared.auto_invert:
        prepared = photo_input(spec, picture, invert=invert)
        polarity += " " + t("fmaps.invert_changed")
    how = t("fmaps.how_digits" if spec.digit_style else "fmaps.how_photo", size=spec.image_size, **_stats(spec))
    return ModelInput(prepared.x.numpy(), name, f"{polarity} {how}", None)


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs={ModelSpec: repr})
def _steps(spec: ModelSpec, picture: Image.Image) -> tuple[PreparedInput, tuple[bytes, ...]]:
    """The preparation of a photo and its steps as PNGs about ``STEP_SIDE`` wide (drawn once per photo)."""
    steps = preprocess_steps(spec, picture)
    shown = []
    for image in (steps.original, steps.resized, steps.cropped):
        small = image.copy()
        small.thumbnail((STEP_SIDE, STEP_SIDE * 4), Image.Resampling.BILINEAR)
        shown.append(png_bytes(small))
    x = steps.x[0].numpy()  # (C, H, W) normalised
    vmax = symmetric_vmax(x)
    shown += [png_bytes(Image.fromarray(diverging_rgb(c, vmax=vmax)[0]).resize((STEP_SIDE, STEP_SIDE))) for c in x]
    return steps, tuple(shown)


def _invert_toggle(key: str, auto: bool, picture: str) -> bool:
    """The invert toggle, reset to ``auto`` whenever another picture is chosen."""
    if st.session_state.get(f"{key}_for") != (picture, auto):
        st.session_state[f"{key}_for"] = (picture, auto)
        st.session_state[key] = auto
    return st.toggle(t("fmaps.invert"), help=t("fmaps.invert_help"), key=key)


def _stats(spec: ModelSpec) -> dict[str, str]:
    return {name: ", ".join(f"{v:.3f}" for v in values) for name, values in (("mean", spec.mean), ("std", spec.std))}


# --------------------------------------------------------------------------- what comes out (cached)


@st.cache_data(max_entries=8, show_spinner=False)
def analyse(model_key: str, _model: nn.Module, x: np.ndarray) -> Analysis:
    """Run the model once on x (1, C, H, W) and keep the maps of the layers it is shown by, the logits and the filters.

    A small net (inputs under ``BIG_INPUT`` pixels) is shown layer by layer: each layer's grid has as
    many tile columns as fit its share of a row of ``layer_rows``, so channel i sits at the same place
    in every layer of a block (conv → ReLU → pool line up). A net of blocks is shown block by block,
    with a grid per stage (``explain.stage_layers``); any other block's grid is drawn when asked (``block_grid``).
    """
    run = explain.run_blocks(_model, torch.from_numpy(x))
    blocks = explain.block_layers(_model) != explain.layer_names(_model) or x.shape[-1] >= BIG_INPUT
    if blocks:
        shown = [name for name in explain.stage_layers(_model) if name in run.maps]
        grids = {name: png_bytes(layer_grid(overview_maps(run.maps[name]), cols=8)) for name in shown}
    else:
        grids = {}
        for row in layer_rows(list(run.maps)):
            for name in row:
                grids[name] = png_bytes(layer_grid(run.maps[name], cols=max(1, PAGE_WIDTH // len(row) // TILE)))
    dense = {name for name, module in _model.named_modules() if isinstance(module, nn.Linear)}
    vectors = {name: values for name, values in run.vectors.items() if name in dense}
    return Analysis(run.logits, run.maps, vectors, explain.conv_filters(_model), grids, blocks)


def overview_maps(maps: np.ndarray) -> np.ndarray:
    """The first ``OVERVIEW_CHANNELS`` maps (C, H, W), averaged down to at most 56 pixels a side for the overview.

    Eight tiles of 56 pixels fill the half-page column the overview is shown in, so larger maps
    would only be shrunk by the browser; the picked block's grid keeps every pixel.
    """
    first = maps[:OVERVIEW_CHANNELS]
    factor = max(1, first.shape[-2] // 56)
    if factor == 1:
        return first
    pooled = torch.nn.functional.avg_pool2d(torch.from_numpy(np.ascontiguousarray(first))[None], factor)
    return pooled[0].numpy()


def _block_cols(maps: np.ndarray) -> int:
    """Tile columns for one block's grid of every channel: as many tiles of about 48 pixels as fit the page."""
    tile = maps.shape[-1] * max(1, math.ceil(48 / maps.shape[-2]))
    return max(1, min(len(maps), PAGE_WIDTH // tile))


def display_names(dataset: str, class_names: tuple[str, ...]) -> tuple[str, ...]:
    """Every class's name for people in the session's language (kept per language: 1,000 ImageNet names)."""
    return _display_names(dataset, class_names, current_language())


@st.cache_data(max_entries=16, show_spinner=False)
def _display_names(dataset: str, class_names: tuple[str, ...], lang: str) -> tuple[str, ...]:
    del lang  # part of the cache key: class_label reads the session's language
    return tuple(class_label(dataset, c) for c in class_names)


@st.cache_data(max_entries=16, show_spinner=False)
def named_classes(dataset: str, class_names: tuple[str, ...]) -> int:
    """How many of the classes have a display name in the catalogs (the others are shown as they are)."""
    catalog = load_catalog()
    return sum(f"labels.class.{dataset}.{name}" in catalog for name in class_names)


@st.cache_data(max_entries=32, show_spinner=False)
def depthwise_grid(model_key: str, layer: str, _model: nn.Module) -> tuple[str, int, int, bytes] | None:
    """(conv name, kernel side, filters, PNG of the numbered filters) of the depthwise conv in ``layer``, or None."""
    found = explain.depthwise_filters(_model, layer)
    if found is None:
        return None
    name, weights = found  # (C, k, k)
    k = weights.shape[-1]
    grid = layer_grid(weights, min_tile=max(1, 40 // k) * k, cols=min(len(weights), 24))
    return name, k, len(weights), png_bytes(grid)


@st.cache_data(max_entries=32, show_spinner=False)
def block_grid(model_key: str, x: np.ndarray, layer: str, _result: Analysis) -> bytes:
    """The grid of all of one layer's channels (PNG), numbered: kept from a small net's analysis or drawn now."""
    if layer in _result.grids and not _result.blocks:
        return _result.grids[layer]
    maps = _result.maps[layer]
    return png_bytes(layer_grid(maps, cols=_block_cols(maps)))


def layer_rows(names: list[str], *, per_row: int = 5) -> list[list[str]]:
    """Group layer names by block (the part before the first dot), at most ``per_row`` to a row."""
    blocks: dict[str, list[str]] = {}
    for name in names:
        blocks.setdefault(name.split(".")[0], []).append(name)
    return [layers[i : i + per_row] for layers in blocks.values() for i in range(0, len(layers), per_row)]


def layer_grid(maps: np.ndarray, *, min_tile: int = 48, cols: int | None = None) -> Image.Image:
    """All maps (C, H, W) of a layer as one picture, each tile enlarged to about ``min_tile`` pixels and numbered."""
    cols = math.ceil(math.sqrt(len(maps))) if cols is None else min(cols, len(maps))
    scale = max(1, math.ceil(min_tile / maps.shape[-2]))
    grid = montage(maps, cols=cols, scale=scale, signed=True)
    return number_tiles(grid, len(maps), cols=cols, tile=(maps.shape[-2] * scale, maps.shape[-1] * scale))


@st.cache_data(max_entries=16, show_spinner=False)
def evidence(model_key: str, _model: nn.Module, x: np.ndarray, target: int | None) -> Evidence:
    """Grad-CAM at every stage (every conv layer of a small net; one forward and backward pass) and the saliency."""
    image = torch.from_numpy(x)
    cams = explain.grad_cam_all(_model, image, explain.stage_layers(_model), target=target)
    return Evidence(cams, explain.saliency(_model, image, target=target))


@st.cache_data(max_entries=32, show_spinner=False)
def filter_pictures(
    model_key: str, x: np.ndarray, layer: str, _model: nn.Module, _result: Analysis
) -> FilterPictures | None:
    """The filters of the conv that made ``layer``'s maps (of input ``x``), beside those maps; None when no conv did."""
    conv = explain.source_conv(_model, layer)
    maps = _result.maps[layer]  # (C, H, W)
    if conv is None or len(_result.filters[conv]) != len(maps):
        return None
    weights = _result.filters[conv]  # (C_out, C_in, kH, kW)
    pairs = png_bytes(layer_grid(explain.filter_map_pairs(explain.filter_tiles(weights), maps), min_tile=64))
    rgb = png_bytes(tile_images(explain.filter_rgb(weights), scale=12, pad=2)) if weights.shape[1] == 3 else None
    return FilterPictures(conv, int(weights.shape[1]), pairs, rgb)


@st.cache_resource(max_entries=8, show_spinner=False)
def model_trace(model_key: str, _model: nn.Module, input_shape: tuple[int, ...]) -> explain.ModelTrace:
    """One traced forward pass per model and input size: every receptive field is then arithmetic."""
    return explain.trace_model(_model, input_shape)


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
