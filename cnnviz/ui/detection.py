"""Detection page lessons: the photo, IoU of two boxes, NMS step by step, anchors, and R-CNN to Faster R-CNN.

Each lesson draws its own widgets, calls the core (``cnnviz.detect``) and shows the result; a bad
input (a box with x2 < x1, no anchor size) shows the keyed message in place of that lesson only, so
the lessons below it keep working. RoI pooling and RoI align are in :mod:`cnnviz.ui.detection_roi`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import streamlit as st
import torch
from torch import Tensor

from cnnviz.data import make_scenes, preprocess_steps
from cnnviz.detect import (
    PIPELINES,
    PipelineCost,
    box_intersection_union,
    box_iou,
    candidate_boxes,
    cell_anchors,
    detector_costs,
    feature_grid,
    make_anchors,
    nms,
    nms_steps,
)
from cnnviz.errors import CnnvizError
from cnnviz.nets import get_spec
from cnnviz.ui.base import error_text, t
from cnnviz.ui.choices import translated_choice
from cnnviz.ui.detection_figures import COLOURS, BoxLayer, add_boxes, photo_figure
from cnnviz.ui.image_input import image_input
from cnnviz.ui.widgets import bounded_slider

__all__ = [
    "COST_COLUMNS",
    "PIPELINE_STEPS",
    "LessonPhoto", "anchors_lesson", "box_inputs", "iou_lesson", "lesson_photo", "nms_lesson", "rcnn_lesson"]

BACKBONE = "efficientnet_lite0"  # the trained network whose feature maps the RoI lesson pools
SCENE_SIDE = 128  # pixels: the scene of the NMS lesson
CORNERS = ("x1", "y1", "x2", "y2")
COST_COLUMNS = tuple(f.name for f in fields(PipelineCost) if f.name != "name")  # the R-CNN table's columns
PIPELINE_STEPS = {  # what each detector runs, in order (the diagram's boxes)
    "rcnn": ("proposals_ss", "warp", "cnn_each", "svm"),
    "fast_rcnn": ("proposals_ss", "cnn_once", "roi_pool", "fc_heads"),
    "faster_rcnn": ("cnn_once", "rpn", "roi_pool", "fc_heads"),
}
SHARED_STEPS = {"cnn_once", "rpn", "roi_pool", "fc_heads"}  # run on (or after) the one shared feature map


@dataclass(frozen=True)
class LessonPhoto:
    """The photo every lesson draws on: the network's centre crop, as pixels and as its input."""

    picture: np.ndarray  # (S, S, 3) uint8: what the network sees
    x: Tensor  # (1, 3, S, S) normalised: its input
    name: str  # the photo's name for people


def lesson_photo() -> LessonPhoto:
    """Show the photo picker (samples, upload) and return the photo cropped as EfficientNet-Lite0 sees it."""
    image, name = image_input("det", max_side=512)
    steps = preprocess_steps(get_spec(BACKBONE), image)
    st.caption(t("detection.photo_caption", name=name, side=steps.cropped.width))
    return LessonPhoto(np.asarray(steps.cropped), steps.x, name)


def _fail(err: CnnvizError) -> None:
    st.error(error_text(err), icon="⚠️")


def box_inputs(key: str, title: str, default: tuple[int, int, int, int], side: int) -> Tensor:
    """Four number inputs (x1, y1, x2, y2 in pixels of a ``side`` × ``side`` image) in a row; return the box (4,)."""
    st.markdown(f"**{title}**")
    values = [
        column.number_input(t("detection.corner", name=name), min_value=0, max_value=side, value=value, step=1,
                            key=f"{key}_{name}")  # fmt: skip
        for column, name, value in zip(st.columns(4), CORNERS, default, strict=True)
    ]
    return torch.tensor(values, dtype=torch.float32)


# ------------------------------------------------------------------------------------------------ 1. IoU
def iou_lesson(photo: LessonPhoto) -> None:
    """Two boxes the learner types; the picture shades their intersection; the value from ``box_iou``."""
    st.header(t("detection.iou_header"))
    st.markdown(t("detection.iou_intro"))
    side = photo.picture.shape[0]
    left, right = st.columns(2)
    with left:
        a = box_inputs("det_iou_a", t("detection.box_a"), (40, 50, 150, 170), side)
    with right:
        b = box_inputs("det_iou_b", t("detection.box_b"), (90, 80, 200, 200), side)
    try:
        intersection, union = (float(v) for v in box_intersection_union(a[None], b[None]))
        iou = float(box_iou(a[None], b[None]))
    except CnnvizError as err:
        return _fail(err)
    fig = photo_figure(photo.picture)
    add_boxes(fig, a[None], BoxLayer(t("detection.box_a"), COLOURS[0], fill=0.15))
    add_boxes(fig, b[None], BoxLayer(t("detection.box_b"), COLOURS[1], fill=0.15))
    overlap = torch.cat([torch.maximum(a[:2], b[:2]), torch.minimum(a[2:], b[2:])])
    if intersection > 0:
        add_boxes(fig, overlap[None], BoxLayer(t("detection.intersection"), COLOURS[2], width=3, fill=0.45))
    left, right = st.columns([3, 2])
    left.plotly_chart(fig, key="det_iou_figure")
    right.latex(r"\mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A \cup B|} = \frac{|A \cap B|}{|A| + |B| - |A \cap B|}")
    area_a, area_b = float((a[2] - a[0]) * (a[3] - a[1])), float((b[2] - b[0]) * (b[3] - b[1]))
    right.latex(rf"= \frac{{{intersection:g}}}{{{area_a:g} + {area_b:g} - {intersection:g}}}"
                rf" = \frac{{{intersection:g}}}{{{union:g}}} = {iou:.3f}")  # fmt: skip
    right.metric(t("detection.iou_value"), f"{iou:.3f}")
    right.markdown(t("detection.iou_explain"))


# ------------------------------------------------------------------------------------------------ 2. NMS
@st.cache_data(max_entries=32, show_spinner=False)
def _scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first of a few seeded scenes holding two objects or more: its picture (S, S, 3) and boxes (M, 4)."""
    scenes = make_scenes(8, size=SCENE_SIDE, seed=seed, max_objects=3)
    index = next((i for i, boxes in enumerate(scenes.boxes) if len(boxes) >= 2), 0)
    picture = (scenes.images[index].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return picture, scenes.boxes[index].numpy()


def _status(trace, step: int) -> dict[int, tuple[str, int | None, float | None]]:
    """Each box's state after ``step`` steps: ("kept", step, None), ("removed", by, IoU) or ("waiting", None, None)."""
    state: dict[int, tuple[str, int | None, float | None]] = {i: ("waiting", None, None) for i in trace.order}
    for number, done in enumerate(trace.steps[:step], start=1):
        state[done.kept] = ("kept", number, None)
        for j, iou in zip(done.suppressed, done.ious, strict=True):
            state[j] = ("removed", done.kept, iou)
    return state


def nms_lesson() -> None:
    """Candidates around the objects of a scene, sorted by score; each step keeps the best and removes its overlaps."""
    st.header(t("detection.nms_header"))
    st.markdown(t("detection.nms_intro"))
    first, second, third = st.columns(3)
    seed = int(first.number_input(t("detection.nms_scene"), min_value=0, max_value=999, value=2, key="det_nms_scene"))
    threshold = second.slider(t("detection.nms_threshold"), 0.0, 1.0, 0.5, 0.05, key="det_nms_threshold")
    picture, objects = _scene(seed)
    candidates = candidate_boxes(torch.from_numpy(objects), picture.shape[:2], seed=seed)
    try:
        trace = nms_steps(candidates.boxes, candidates.scores, threshold)
        keep = nms(candidates.boxes, candidates.scores, threshold).tolist()
    except CnnvizError as err:
        return _fail(err)
    step = bounded_slider(t("detection.nms_step"), 0, len(trace.steps), 1, key="det_nms_step", where=third)
    left, right = st.columns([3, 2])
    left.plotly_chart(_nms_figure(picture, candidates, trace, step), key="det_nms_figure")
    right.dataframe(_nms_table(candidates, trace, step), hide_index=True, key="det_nms_table")
    if step == 0:
        st.info(t("detection.nms_step0", n=len(trace.order)))
    else:
        current = trace.steps[step - 1]
        st.info(t("detection.nms_step_text", step=step, box=current.kept, score=float(candidates.scores[current.kept]),
                  n=len(current.suppressed), removed=", ".join(map(str, current.suppressed)) or "–",
                  threshold=threshold))  # fmt: skip
    if step == len(trace.steps):
        st.success(t("detection.nms_result", n=len(keep), total=len(trace.order), kept=", ".join(map(str, keep))))


def _nms_figure(picture: np.ndarray, candidates, trace, step: int):
    state = _status(trace, step)
    scores = candidates.scores.tolist()
    groups: dict[str, list[int]] = {"waiting": [], "kept": [], "removed": [], "current": [], "now_removed": []}
    current = trace.steps[step - 1] if step else None
    for i, (kind, _, _) in state.items():
        if current is not None and i == current.kept:
            kind = "current"
        elif current is not None and i in current.suppressed:
            kind = "now_removed"
        groups[kind].append(i)
    styles = {"waiting": BoxLayer(t("detection.nms_waiting"), COLOURS[0], width=1.5),
              "removed": BoxLayer(t("detection.nms_removed_before"), "#aaaaaa", width=1, dash="dot"),
              "kept": BoxLayer(t("detection.nms_kept"), COLOURS[2], width=3),
              "now_removed": BoxLayer(t("detection.nms_now_removed"), COLOURS[3], width=2, dash="dash"),
              "current": BoxLayer(t("detection.nms_current"), COLOURS[2], width=4, fill=0.2)}  # fmt: skip
    fig = photo_figure(picture, pixels=460)
    for kind in ("removed", "waiting", "now_removed", "kept", "current"):
        indices = groups[kind]
        style = styles[kind]
        if kind in ("kept", "current"):
            style.labels = [f"{i}: {scores[i]:.2f}" for i in indices]
        elif kind == "now_removed":
            style.labels = [str(i) for i in indices]
        add_boxes(fig, candidates.boxes[indices], style)
    return fig


def _nms_table(candidates, trace, step: int) -> dict[str, list]:
    state = _status(trace, step)
    texts = []
    for i in trace.order:
        kind, ref, iou = state[i]
        if kind == "kept":
            texts.append(t("detection.nms_row_kept", step=ref))
        elif kind == "removed":
            texts.append(t("detection.nms_row_removed", by=ref, iou=iou))
        else:
            texts.append(t("detection.nms_row_waiting"))
    return {t("detection.nms_col_rank"): list(range(1, len(trace.order) + 1)),
            t("detection.nms_col_box"): list(trace.order),
            t("detection.nms_col_score"): [round(float(candidates.scores[i]), 2) for i in trace.order],
            t("detection.nms_col_state"): texts}  # fmt: skip


# -------------------------------------------------------------------------------------------- 3. Anchors
def anchors_lesson(photo: LessonPhoto) -> None:
    """The anchors of one feature-map cell and one anchor shape over the whole grid, with their count."""
    st.header(t("detection.anchor_header"))
    st.markdown(t("detection.anchor_intro"))
    side = photo.picture.shape[0]
    first, second, third = st.columns(3)
    stride = first.selectbox(t("detection.anchor_stride"), [8, 16, 32], index=2, key="det_anchor_stride")
    sizes = second.multiselect(t("detection.anchor_sizes"), [16, 32, 64, 128], default=[32, 64, 128],
                               key="det_anchor_sizes")  # fmt: skip
    ratios = third.multiselect(t("detection.anchor_ratios"), [0.5, 1.0, 2.0], default=[0.5, 1.0, 2.0],
                               key="det_anchor_ratios")  # fmt: skip
    try:
        height, width = feature_grid((side, side), stride)
        anchors = make_anchors((height, width), stride, sizes, ratios)  # (H·W·A, 4)
        base = cell_anchors(sizes, ratios)  # (A, 4)
    except CnnvizError as err:
        return _fail(err)
    per_cell = len(base)
    st.latex(rf"H \times W \times A = {height} \times {width} \times ({len(ratios)} \times {len(sizes)})"
             rf" = {height} \times {width} \times {per_cell} = {len(anchors):,}".replace(",", "{,}"))  # fmt: skip
    first, second, third = st.columns(3)
    row = bounded_slider(t("detection.anchor_row"), 0, height - 1, height // 2, key="det_anchor_row", where=first)
    col = bounded_slider(t("detection.anchor_col"), 0, width - 1, width // 2, key="det_anchor_col", where=second)
    shapes = [t("detection.anchor_shape", size=s, ratio=r) for r in ratios for s in sizes]  # ratio-major
    shape = translated_choice("selectbox", t("detection.anchor_which"), list(range(per_cell)), key="det_anchor_shape",
                              default=0, where=third, format_func=shapes.__getitem__)  # fmt: skip
    left, right = st.columns(2)
    cell = anchors[(row * width + col) * per_cell : (row * width + col + 1) * per_cell]  # (A, 4)
    left.plotly_chart(_cell_figure(photo.picture, cell, shapes, stride, row, col), key="det_anchor_cell")
    left.caption(t("detection.anchor_cell_caption", row=row, col=col, x=col * stride, y=row * stride, n=per_cell))
    right.plotly_chart(_grid_figure(photo.picture, anchors[shape::per_cell], stride, (height, width), shapes[shape]),
                       key="det_anchor_grid")  # fmt: skip
    right.caption(t("detection.anchor_grid_caption", n=height * width, shape=shapes[shape]))
    st.latex(r"w = \frac{s}{\sqrt{r}}, \quad h = s\,\sqrt{r}, \quad w \cdot h = s^2, \quad"
             r"\text{centre}_{ij} = (j \cdot \text{stride},\; i \cdot \text{stride})")  # fmt: skip
    st.markdown(t("detection.anchor_explain"))


def _cell_figure(picture: np.ndarray, cell: Tensor, shapes: list[str], stride: int, row: int, col: int):
    fig = photo_figure(picture)
    _add_grid_lines(fig, picture.shape[0], stride)
    for a, (box, name) in enumerate(zip(cell, shapes, strict=True)):
        add_boxes(fig, box[None], BoxLayer(name, COLOURS[a % len(COLOURS)], width=2))
    fig.add_scatter(x=[col * stride], y=[row * stride], mode="markers", name=t("detection.anchor_centre"),
                    marker=dict(color="#ffffff", size=9, line=dict(color="#000000", width=2)))  # fmt: skip
    fig.update_xaxes(range=[min(0, float(cell[:, 0].min())) - 2, max(picture.shape[1], float(cell[:, 2].max())) + 2])
    fig.update_yaxes(range=[max(picture.shape[0], float(cell[:, 3].max())) + 2, min(0, float(cell[:, 1].min())) - 2])
    return fig


def _grid_figure(picture: np.ndarray, boxes: Tensor, stride: int, grid: tuple[int, int], name: str):
    fig = photo_figure(picture)
    _add_grid_lines(fig, picture.shape[0], stride)
    add_boxes(fig, boxes, BoxLayer(name, COLOURS[1], width=1))
    ys, xs = np.meshgrid(np.arange(grid[0]) * stride, np.arange(grid[1]) * stride, indexing="ij")
    fig.add_scatter(x=xs.ravel(), y=ys.ravel(), mode="markers", name=t("detection.anchor_centres"),
                    marker=dict(color="#ffffff", size=4, line=dict(color="#000000", width=1)))  # fmt: skip
    fig.update_xaxes(range=[float(boxes[:, 0].min()) - 2, float(boxes[:, 2].max()) + 2])
    fig.update_yaxes(range=[float(boxes[:, 3].max()) + 2, float(boxes[:, 1].min()) - 2])
    return fig


def _add_grid_lines(fig, side: int, stride: int) -> None:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for k in range(0, side + 1, stride):
        xs += [k, k, None, 0, side, None]
        ys += [0, side, None, k, k, None]
    fig.add_scatter(x=xs, y=ys, mode="lines", name=t("detection.anchor_cells"), hoverinfo="skip",
                    line=dict(color="rgba(255,255,255,0.45)", width=1))  # fmt: skip


# ------------------------------------------------------------------------------- 5. R-CNN → Faster R-CNN
def rcnn_lesson() -> None:
    """What R-CNN, Fast R-CNN and Faster R-CNN run per image, counted for the learner's proposals and image size."""
    st.header(t("detection.rcnn_header"))
    st.markdown(t("detection.rcnn_intro"))
    first, second, third = st.columns(3)
    proposals = first.number_input(t("detection.rcnn_proposals"), min_value=0, max_value=20_000, value=2000, step=100,
                                   key="det_rcnn_proposals")  # fmt: skip
    height = second.number_input(t("detection.rcnn_height"), min_value=0, max_value=4000, value=600, step=50,
                                 key="det_rcnn_height")  # fmt: skip
    width = third.number_input(t("detection.rcnn_width"), min_value=0, max_value=4000, value=800, step=50,
                               key="det_rcnn_width")  # fmt: skip
    try:
        costs = detector_costs(int(proposals), (int(height), int(width)))
    except CnnvizError as err:
        return _fail(err)
    table = {t("detection.rcnn_col_name"): [t(f"detection.pipeline.{c.name}") for c in costs]}
    for column in COST_COLUMNS:
        values = [getattr(c, column) for c in costs]
        table[t(f"detection.rcnn_col.{column}")] = [t(f"detection.proposer.{v}") if isinstance(v, str) else f"{v:,}"
                                                    for v in values]  # fmt: skip
    st.table(table)
    rcnn, fast = costs[0], costs[1]
    st.latex(rf"\frac{{N \cdot 224^2}}{{H \cdot W}} = \frac{{{rcnn.backbone_passes:,} \cdot 224^2}}"
             rf"{{{int(height)} \cdot {int(width)}}} \approx {rcnn.backbone_pixels / fast.backbone_pixels:,.0f}"
             .replace(",", "{,}"))  # fmt: skip
    st.markdown(t("detection.rcnn_explain", n=rcnn.backbone_passes, ratio=rcnn.backbone_pixels / fast.backbone_pixels,
                  anchors=costs[2].anchors_scored, fh=-(-int(height) // 16), fw=-(-int(width) // 16)))  # fmt: skip
    st.graphviz_chart(_pipelines_diagram())
    st.markdown(t("detection.one_stage"))


def _pipelines_diagram() -> str:
    """Three rows of boxes: what each detector runs, the shared parts in one colour."""
    lines = ["digraph { rankdir=LR; node [shape=box, style=filled, fontname=sans, fontsize=11];",
             "{ rank=same; " + " -> ".join(f'"{name}"' for name in PIPELINES) + " [style=invis]; }"]
    for name in PIPELINES:
        lines.append(f'"{name}" [label="{t(f"detection.pipeline.{name}")}", shape=plaintext, style=""];')
        previous = name
        for k, step in enumerate(PIPELINE_STEPS[name]):
            node = f"{name}_{k}"
            colour = "#c6e5c6" if step in SHARED_STEPS else "#f6d6b8"
            lines.append(f'"{node}" [label="{t(f"detection.step.{step}")}", fillcolor="{colour}"];')
            lines.append(f'"{previous}" -> "{node}";')
            previous = node
    return "\n".join(lines) + "}"
