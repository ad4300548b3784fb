"""The detection building blocks equal torchvision: box_iou, nms, roi_pool, roi_align, anchors and box coding."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.ops as tv_ops
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

from cnnviz.detect import (
    align_samples,
    box_intersection_union,
    box_iou,
    candidate_boxes,
    cell_anchors,
    decode_boxes,
    detector_costs,
    encode_boxes,
    make_anchors,
    nms,
    nms_steps,
    roi_align,
    roi_bins,
    roi_pool,
)
from cnnviz.errors import ConfigError


def random_boxes(generator: torch.Generator, n: int, extent: float) -> torch.Tensor:
    """Boxes over an extent × extent image, some partly outside it, one in ten of zero width and height."""
    corner = torch.rand(n, 2, generator=generator) * extent * 1.3 - extent * 0.15
    size = torch.rand(n, 2, generator=generator) * extent * 0.6
    size[torch.rand(n, generator=generator) < 0.1] = 0
    return torch.cat([corner, corner + size], dim=1)


def random_rois(generator: torch.Generator, batch: int, n: int, extent: float) -> torch.Tensor:
    index = torch.randint(0, batch, (n, 1), generator=generator).float()
    return torch.cat([index, random_boxes(generator, n, extent)], dim=1)


@pytest.mark.parametrize("seed", range(6))
def test_box_iou_equals_torchvision(seed):
    g = torch.Generator().manual_seed(seed)
    a, b = random_boxes(g, 9, 50.0), random_boxes(g, 6, 50.0)
    b[0] = a[0]  # the same box: IoU 1 (or nan for a zero-area one, as in torchvision)
    torch.testing.assert_close(box_iou(a, b), tv_ops.box_iou(a, b), rtol=1e-6, atol=1e-7, equal_nan=True)


def test_intersection_and_union_are_the_areas():
    a, b = torch.tensor([[0.0, 0, 4, 3]]), torch.tensor([[2.0, 1, 6, 5], [10, 10, 11, 11]])
    intersection, union = box_intersection_union(a, b)
    assert intersection.tolist() == [[2 * 2, 0]] and union.tolist() == [[12 + 16 - 4, 12 + 1]]


def test_box_iou_of_empty_sets_has_their_shape():
    assert box_iou(torch.zeros(0, 4), torch.tensor([[0.0, 0, 1, 1]])).shape == (0, 1)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_equals_torchvision(seed, threshold):
    g = torch.Generator().manual_seed(seed)
    boxes = random_boxes(g, 15, 40.0)
    scores = torch.rand(15, generator=g).round(decimals=1)  # many ties: torchvision keeps the lower index first
    assert nms(boxes, scores, threshold).tolist() == tv_ops.nms(boxes, scores, threshold).tolist()


def test_nms_of_equal_scores_and_of_no_boxes():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]])
    scores = torch.ones(4)
    assert nms(boxes, scores, 0.5).tolist() == tv_ops.nms(boxes, scores, 0.5).tolist()
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []


@pytest.mark.parametrize("seed", range(4))
def test_nms_steps_explain_what_nms_did(seed):
    g = torch.Generator().manual_seed(seed)
    boxes, scores, threshold = random_boxes(g, 20, 30.0), torch.rand(20, generator=g), 0.4
    trace = nms_steps(boxes, scores, threshold)
    assert list(trace.keep) == tv_ops.nms(boxes, scores, threshold).tolist()
    assert list(trace.order) == torch.argsort(scores, descending=True, stable=True).tolist()
    reference_iou = tv_ops.box_iou(boxes, boxes)
    removed = [j for step in trace.steps for j in step.suppressed]
    assert sorted(removed + list(trace.keep)) == list(range(20))  # every box is kept or removed once
    for step in trace.steps:
        for j, iou in zip(step.suppressed, step.ious, strict=True):
            assert iou > threshold and iou == pytest.approx(float(reference_iou[step.kept, j]), abs=1e-6)


@pytest.mark.parametrize("spatial_scale", [1.0, 0.5, 1 / 8, 1 / 16])
@pytest.mark.parametrize("output_size", [1, 2, (3, 5), 7])
def test_roi_pool_equals_torchvision(spatial_scale, output_size):
    g = torch.Generator().manual_seed(int(1 / spatial_scale) * 10 + len(str(output_size)))
    for height, width in [(1, 1), (5, 9), (14, 11), (3, 17)]:
        features = torch.randn(2, 3, height, width, generator=g)
        rois = random_rois(g, 2, 8, max(height, width) / spatial_scale)
        expected = tv_ops.roi_pool(features, rois, output_size, spatial_scale)
        torch.testing.assert_close(roi_pool(features, rois, output_size, spatial_scale), expected, rtol=0, atol=0)


@pytest.mark.parametrize("spatial_scale", [1.0, 1 / 8, 1 / 16])
@pytest.mark.parametrize("sampling_ratio", [-1, 0, 1, 2])
@pytest.mark.parametrize("output_size", [1, (2, 3), 7])
def test_roi_align_equals_torchvision_unaligned(spatial_scale, sampling_ratio, output_size):
    g = torch.Generator().manual_seed(100 + sampling_ratio + int(1 / spatial_scale))
    for height, width in [(1, 1), (6, 10), (13, 13), (20, 7)]:
        features = torch.randn(2, 3, height, width, generator=g)
        rois = random_rois(g, 2, 8, max(height, width) / spatial_scale)
        expected = tv_ops.roi_align(features, rois, output_size, spatial_scale, sampling_ratio, aligned=False)
        mine = roi_align(features, rois, output_size, spatial_scale, sampling_ratio)
        torch.testing.assert_close(mine, expected, rtol=1e-5, atol=1e-5)


def test_roi_ops_accept_float64_and_leave_inputs_unchanged():
    g = torch.Generator().manual_seed(7)
    features = torch.randn(1, 2, 8, 8, generator=g, dtype=torch.float64)
    rois = random_rois(g, 1, 5, 64.0).double()
    before = features.clone(), rois.clone()
    torch.testing.assert_close(roi_align(features, rois, 3, 1 / 8, 2), tv_ops.roi_align(features, rois, 3, 1 / 8, 2),
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(roi_pool(features, rois, 3, 1 / 8), tv_ops.roi_pool(features, rois, 3, 1 / 8))
    assert torch.equal(features, before[0]) and torch.equal(rois, before[1])


def test_roi_bins_are_the_cells_torchvision_pools():
    # On a map counting up row by row, a bin's maximum is its last cell; counting down, its first.
    height, width, scale = 12, 10, 1 / 8
    count = torch.arange(height * width, dtype=torch.float32).reshape(1, 1, height, width)
    box = torch.tensor([13.0, 5.0, 61.0, 90.0])
    rois = torch.cat([torch.zeros(1), box])[None]
    last = tv_ops.roi_pool(count, rois, (4, 3), scale)[0, 0]
    first = -tv_ops.roi_pool(-count, rois, (4, 3), scale)[0, 0]
    bins = roi_bins(box, (4, 3), scale, (height, width))
    for i, (top, bottom) in enumerate(bins.rows):
        for j, (left, right) in enumerate(bins.cols):
            assert int(first[i, j]) == top * width + left and int(last[i, j]) == (bottom - 1) * width + right - 1


def test_align_samples_are_where_torchvision_reads():
    # Bilinear interpolation of a map equal to its row (or column) number returns the row (column) read.
    height, width, scale = 16, 16, 1 / 4
    rows = torch.arange(height, dtype=torch.float32)[:, None].expand(height, width)
    maps = torch.stack([rows, rows.T])[None]  # (1, 2, H, W)
    box = torch.tensor([6.0, 9.0, 50.0, 37.0])  # inside the map: no clamping at its border
    pooled = tv_ops.roi_align(maps, torch.cat([torch.zeros(1), box])[None], (3, 4), scale, 0, aligned=False)[0]
    samples = align_samples(box, (3, 4), scale, 0)
    mean_rows = torch.tensor([sum(ys) / len(ys) for ys in samples.ys])
    mean_cols = torch.tensor([sum(xs) / len(xs) for xs in samples.xs])
    torch.testing.assert_close(pooled[0], mean_rows[:, None].expand(3, 4), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pooled[1], mean_cols[None, :].expand(3, 4), rtol=1e-5, atol=1e-5)
    assert samples.y_edges[0] == pytest.approx(9.0 * scale) and samples.x_edges[-1] == pytest.approx(50.0 * scale)


@pytest.mark.parametrize(
    ("feature_size", "image_size", "sizes", "aspect_ratios"),
    [((6, 8), (96, 128), (16, 32), (0.5, 1.0, 2.0)), ((5, 5), (80, 83), (11,), (1.0, 3.0)),
     ((1, 1), (7, 7), (3, 5), (0.25,)), ((7, 4), (50, 37), (8, 16, 24), (0.7, 1.3))],
)
def test_make_anchors_equals_anchor_generator(feature_size, image_size, sizes, aspect_ratios):
    generator = AnchorGenerator((sizes,), (aspect_ratios,))
    images = ImageList(torch.zeros(1, 3, *image_size), [image_size])
    expected = generator(images, [torch.zeros(1, 4, *feature_size)])[0]
    stride = (image_size[0] // feature_size[0], image_size[1] // feature_size[1])  # torchvision's stride
    anchors = make_anchors(feature_size, stride, sizes, aspect_ratios)
    assert anchors.shape == (math.prod(feature_size) * len(sizes) * len(aspect_ratios), 4)
    torch.testing.assert_close(anchors, expected, rtol=0, atol=0)
    torch.testing.assert_close(cell_anchors(sizes, aspect_ratios), generator.cell_anchors[0], rtol=0, atol=0)


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
def test_box_coding_equals_box_coder(weights):
    g = torch.Generator().manual_seed(3)
    anchors = random_boxes(g, 40, 100.0) + torch.tensor([0.0, 0, 1, 1])  # every anchor at least 1 pixel
    boxes = random_boxes(g, 40, 100.0) + torch.tensor([0.0, 0, 2, 2])
    coder = BoxCoder(weights)
    deltas = encode_boxes(boxes, anchors, weights)
    torch.testing.assert_close(deltas, coder.encode_single(boxes, anchors), rtol=1e-6, atol=1e-6)
    wild = torch.randn(40, 4, generator=g) * 6  # some dw, dh beyond log(1000/16): both clamp them
    torch.testing.assert_close(decode_boxes(wild, anchors, weights), coder.decode_single(wild, anchors),
                               rtol=1e-6, atol=1e-4)
    torch.testing.assert_close(decode_boxes(deltas, anchors, weights), boxes, rtol=1e-5, atol=1e-4)


def test_candidates_overlap_their_objects_and_repeat_with_their_seed():
    objects = torch.tensor([[10.0, 10, 60, 70], [50, 40, 110, 100]])
    first, again = candidate_boxes(objects, (96, 128), seed=4), candidate_boxes(objects, (96, 128), seed=4)
    assert torch.equal(first.boxes, again.boxes) and torch.equal(first.scores, again.scores)
    assert first.boxes.shape == (2 * 5 + 2, 4) and first.owners.tolist() == [0] * 5 + [1] * 5 + [-1] * 2
    assert (first.boxes[:, 2:] >= first.boxes[:, :2]).all() and (first.boxes[:, [2]] <= 128).all()
    assert (first.boxes[:, [3]] <= 96).all() and (first.boxes >= 0).all()
    own = tv_ops.box_iou(first.boxes[:10], objects)[torch.arange(10), first.owners[:10]]
    assert own.median() > 0.5 and (first.scores[10:] < first.scores[:10].min()).all()  # false alarms score lowest


def test_detector_costs_count_passes_pixels_and_rpn_anchors():
    rcnn, fast, faster = detector_costs(300, (600, 1000))
    assert (rcnn.backbone_passes, fast.backbone_passes, faster.backbone_passes) == (300, 1, 1)
    assert rcnn.backbone_pixels == 300 * 224 * 224 and fast.backbone_pixels == faster.backbone_pixels == 600_000
    generator = AnchorGenerator(((128, 256, 512),), ((0.5, 1.0, 2.0),))  # Faster R-CNN's 9 anchors, stride 16
    images = ImageList(torch.zeros(1, 3, 600, 1000), [(600, 1000)])
    expected = generator(images, [torch.zeros(1, 1, math.ceil(600 / 16), math.ceil(1000 / 16))])[0]
    assert faster.anchors_scored == len(expected) and rcnn.roi_pools == 0 and fast.roi_pools == 300


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: box_iou(torch.zeros(3, 5), torch.zeros(1, 4)), "N×4.*3×5"),
        (lambda: box_iou(torch.tensor([[5.0, 0, 2, 4]]), torch.zeros(1, 4)), r"x1 ≤ x2"),
        (lambda: nms(torch.zeros(2, 4), torch.zeros(3), 0.5), "2 boxes"),
        (lambda: nms(torch.zeros(2, 4), torch.zeros(2), -0.1), "threshold -0.1"),
        (lambda: nms(torch.zeros(2, 4), torch.zeros(2), 1.5), "0…1"),
        (lambda: roi_pool(torch.zeros(3, 8, 8), torch.zeros(1, 5), 2, 1.0), "N×C×H×W"),
        (lambda: roi_pool(torch.zeros(1, 3, 8, 8), torch.zeros(1, 4), 2, 1.0), "K×5"),
        (lambda: roi_pool(torch.zeros(1, 3, 8, 8), torch.zeros(1, 5), 0, 1.0), "output size 0"),
        (lambda: roi_align(torch.zeros(1, 3, 8, 8), torch.zeros(1, 5), (2, 0), 1.0), r"output size \(2, 0\)"),
        (lambda: roi_align(torch.zeros(1, 3, 8, 8), torch.zeros(1, 5), 2, 0.0), "spatial scale 0.0"),
        (lambda: roi_align(torch.zeros(1, 3, 8, 8), torch.tensor([[1.0, 0, 0, 2, 2]]), 2), "image 1.0.*0…0"),
        (lambda: roi_align(torch.zeros(1, 3, 8, 8), torch.tensor([[0.0, 4, 0, 2, 2]]), 2), "regions of interest"),
        (lambda: roi_align(torch.zeros(1, 3, 8, 8), torch.zeros(1, 5), 2, 1.0, 1.5), "sampling ratio 1.5"),
        (lambda: make_anchors(0, 16, (32,), (1.0,)), "feature-map size 0"),
        (lambda: make_anchors(4, (16, 0), (32,), (1.0,)), "stride"),
        (lambda: make_anchors(4, 16, (), (1.0,)), "anchor sizes"),
        (lambda: cell_anchors((32,), (1.0, -2.0)), "aspect ratios"),
        (lambda: encode_boxes(torch.zeros(2, 4), torch.ones(3, 4)), "2 boxes and 3 anchors"),
        (lambda: encode_boxes(torch.tensor([[0.0, 0, 4, 4]]), torch.tensor([[1.0, 1, 1, 3]])), "anchors is 0.0×2.0"),
        (lambda: encode_boxes(torch.tensor([[0.0, 0, 4, 4]]), torch.tensor([[0.0, 0, 3, 3]]), (1, 1, 0, 1)), "four"),
        (lambda: decode_boxes(torch.zeros(2, 3), torch.ones(2, 4)), "2×3 for 2 anchors"),
        (lambda: detector_costs(0, (600, 800)), "proposals 0"),
        (lambda: detector_costs(10, (0, 800)), "image size 0×800"),
    ],
)
def test_bad_input_raises_a_keyed_config_error(call, match):
    with pytest.raises(ConfigError, match=match) as caught:
        call()
    assert caught.value.key.startswith("errors.detect_")
    assert caught.value.localized("ko") != str(caught.value)
