"""The Detection page in AppTest: each lesson's numbers equal torchvision's, bad input shows keyed messages."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.ops as tv_ops
from PIL import Image
from streamlit.testing.v1 import AppTest
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

from cnnviz.data import list_samples, load_image, make_scenes, preprocess_steps
from cnnviz.detect import candidate_boxes
from cnnviz.explain import forward_to_layer
from cnnviz.i18n import translate
from cnnviz.nets import build, get_spec
from tests.text_checks import english_sentences

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "detection.py")


def _open(**state: object) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _chart(at: AppTest, key: str) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}"))


def _latex(at: AppTest) -> list[str]:
    return [element.proto.body for element in at.get("latex")]


@pytest.fixture(scope="module")
def at() -> AppTest:
    return _open()


def test_iou_and_anchor_counts_equal_torchvision(at: AppTest) -> None:
    a, b = torch.tensor([[40.0, 50, 150, 170]]), torch.tensor([[90.0, 80, 200, 200]])  # the page's defaults
    assert at.metric[0].value == f"{float(tv_ops.box_iou(a, b)):.3f}"
    generator = AnchorGenerator(((32, 64, 128),), ((0.5, 1.0, 2.0),))  # the anchor lesson's defaults, stride 32
    anchors = generator(ImageList(torch.zeros(1, 3, 224, 224), [(224, 224)]), [torch.zeros(1, 1, 7, 7)])[0]
    assert any(body.rstrip("$\n").endswith(f"= {len(anchors)}") for body in _latex(at))


def test_nms_steps_end_in_torchvision_nms(at: AppTest) -> None:
    scenes = make_scenes(8, size=128, seed=2, max_objects=3)  # the lesson's scene: the first with two objects
    objects = next(boxes for boxes in scenes.boxes if len(boxes) >= 2)
    candidates = candidate_boxes(objects, (128, 128), seed=2)
    at.slider(key="det_nms_threshold").set_value(0.3).run()
    last = at.slider(key="det_nms_step").max
    at.slider(key="det_nms_step").set_value(last).run()
    assert not at.exception
    keep = tv_ops.nms(candidates.boxes, candidates.scores, 0.3).tolist()
    assert last == len(keep)
    assert at.success[0].value == translate("detection.nms_result", "en", n=len(keep), total=len(candidates.scores),
                                            kept=", ".join(map(str, keep)))  # fmt: skip


def test_roi_pool_and_align_of_the_page_equal_torchvision_on_the_real_map(at: AppTest) -> None:
    image = load_image(next(iter(list_samples().values())), max_side=512)  # the default sample photo
    x = preprocess_steps(get_spec("efficientnet_lite0"), image).x
    model = build("efficientnet_lite0", weights="bundled").eval()
    with torch.no_grad():
        features = forward_to_layer(model, "_blocks.7", x)  # the default stage: stride 16
    assert features.shape[-1] == 14
    rois = torch.tensor([[0.0, 48, 40, 176, 200]])  # the lesson's default box
    channel = at.slider(key="det_roi_channel").value
    pooled = tv_ops.roi_pool(features, rois, 3, 1 / 16)[0, channel]
    aligned = tv_ops.roi_align(features, rois, 3, 1 / 16, 2, aligned=False)[0, channel]
    torch.testing.assert_close(torch.tensor(_chart(at, "det_roi_pool_values")["data"][0]["z"]), pooled,
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    torch.testing.assert_close(torch.tensor(_chart(at, "det_roi_align_values")["data"][0]["z"]), aligned,
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    assert channel == int(tv_ops.roi_align(features, rois, 3, 1 / 16, 2).mean(dim=(2, 3))[0].argmax())


def test_rcnn_table_counts_the_forward_passes(at: AppTest) -> None:
    at.number_input(key="det_rcnn_proposals").set_value(300).run()
    cells = [str(v) for v in at.table[0].value.to_numpy().ravel()]
    assert f"{300 * 224 * 224:,}" in cells and f"{600 * 800:,}" in cells
    assert f"{38 * 50 * 9:,}" in cells  # Faster R-CNN's RPN: ⌈600/16⌉ × ⌈800/16⌉ cells × 9 anchors


def test_bad_inputs_show_keyed_messages_and_the_other_lessons_still_draw() -> None:
    at = _open()
    at.number_input(key="det_iou_a_x2").set_value(20).run()  # x2 = 20 < x1 = 40
    at.multiselect(key="det_anchor_sizes").set_value([]).run()
    at.number_input(key="det_rcnn_proposals").set_value(0).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Give x1 ≤ x2 and y1 ≤ y2" in e for e in errors)
    assert any(re.search("anchor sizes.*at least one size", e) for e in errors)
    assert any("number of proposals 0" in e for e in errors)
    assert _chart(at, "det_nms_figure") and _chart(at, "det_roi_align_values")  # the lessons between still draw


def test_korean_page_and_a_one_pixel_upload() -> None:
    at = _open(lang="ko")
    assert at.title[0].value == translate("detection.title", "ko")
    assert english_sentences(at) == []
    buffer = io.BytesIO()
    Image.fromarray(np.full((1, 1, 3), 200, dtype=np.uint8)).save(buffer, "PNG")
    at.file_uploader(key="det_upload").upload("dot.png", buffer.getvalue(), "image/png").run()
    assert not at.exception and not at.error
    assert at.slider(key="det_roi_output").value == 3
