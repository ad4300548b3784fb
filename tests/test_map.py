"""Mean average precision at IoU 0.5: a hand-worked example, and random cases against an independent implementation.

The reference below shares no code with ``cnnviz.detect.metrics``: its IoU is plain Python, it re-runs the
greedy matching from scratch for every score threshold (the top-k detections, k = 1 … n), and it
integrates the precision envelope over the distinct recall levels instead of summing a cumulative maximum.
"""

from __future__ import annotations

import random

import pytest
import torch

from cnnviz.detect import Detections, average_precision, match_detections, mean_average_precision


def _dets(rows: list[tuple[float, int, float, float, float, float]]) -> Detections:
    """Detections from rows (score, class, x1, y1, x2, y2)."""
    t = torch.tensor(rows, dtype=torch.float32).view(-1, 6)
    return Detections(t[:, 2:], t[:, 0], t[:, 1].long())


def test_hand_worked_example() -> None:
    # Class 0: scene A holds G1 = (0, 0, 10, 10) and G2 = (20, 0, 30, 10); scene B holds G3 = (0, 0, 10, 10): 3 boxes.
    #   d1 0.9 A (0, 0, 10, 10)   IoU 1 with G1                    → TP   precision 1/1  recall 1/3
    #   d2 0.8 A (0, 0, 10, 10)   G1 already found, IoU 0 with G2  → FP   precision 1/2  recall 1/3
    #   d3 0.7 B (0, 0, 10, 8)    IoU 80/100 = 0.8 with G3          → TP   precision 2/3  recall 2/3
    #   d4 0.6 B (5, 0, 15, 10)   G3 found; IoU 50/150 anyway       → FP   precision 2/4  recall 2/3
    #   d5 0.5 A (20, 0, 30, 12)  IoU 100/120 = 0.83 with G2        → TP   precision 3/5  recall 3/3
    # Envelope (best precision at this recall or beyond): 1, 2/3, 2/3, 3/5, 3/5.
    # AP = 1/3 · 1 + 1/3 · 2/3 + 1/3 · 3/5 = 15/45 + 10/45 + 9/45 = 34/45.
    # Class 1: one box (40, 40, 50, 50) in scene A, detected only in scene B → one FP, recall 0: AP = 0.
    # Class 2: no true box (its detection does not count): AP None, left out of the mean.
    # mAP = (34/45 + 0) / 2 = 17/45.
    scene_a = _dets([(0.9, 0, 0, 0, 10, 10), (0.8, 0, 0, 0, 10, 10), (0.5, 0, 20, 0, 30, 12), (0.3, 2, 0, 0, 5, 5)])
    scene_b = _dets([(0.7, 0, 0, 0, 10, 8), (0.6, 0, 5, 0, 15, 10), (0.95, 1, 40, 40, 50, 50)])
    truth_a = torch.tensor([[0.0, 0, 10, 10], [20, 0, 30, 10], [40, 40, 50, 50]])
    truth_boxes = [truth_a, torch.tensor([[0.0, 0, 10, 10]])]
    truth_labels = [torch.tensor([0, 0, 1]), torch.tensor([0])]
    result = mean_average_precision([scene_a, scene_b], truth_boxes, truth_labels, num_classes=3)
    assert result.per_class[0] == pytest.approx(34 / 45, abs=1e-9)
    assert result.per_class[1] == 0.0
    assert result.per_class[2] is None
    assert result.mean == pytest.approx(17 / 45, abs=1e-9)


def test_a_detection_claims_the_best_box_still_unclaimed() -> None:
    # H1 = (0, 0, 10, 10), H2 = (2, 0, 12, 10). d1 (0.9) = H1 exactly → claims H1. d2 (0.8) is H1 again: its IoU
    # with H1 is 1 but H1 is taken; with H2 it is 80/120 = 0.67 ≥ 0.5 → it claims H2 (true positive).
    # So both are true positives, precision 1 at recall 1/2 and 1: AP = 1.
    truth = torch.tensor([[0.0, 0, 10, 10], [2, 0, 12, 10]])
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    hits = match_detections(boxes, torch.tensor([0.9, 0.8]), truth)
    assert hits.tolist() == [True, True]
    assert average_precision(torch.tensor([0.9, 0.8]), hits, 2) == pytest.approx(1.0)
    # Below the threshold a box is not found: IoU 50/150 = 1/3 < 0.5.
    assert match_detections(torch.tensor([[5.0, 0, 15, 10]]), torch.tensor([1.0]), truth[:1]).tolist() == [False]


def test_no_detections_and_no_truth() -> None:
    empty = Detections(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long))
    result = mean_average_precision([empty], [torch.tensor([[0.0, 0, 4, 4]])], [torch.tensor([1])], num_classes=2)
    assert result.per_class == (None, 0.0)
    assert result.mean == 0.0
    none = mean_average_precision([empty], [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)], num_classes=2)
    assert none.per_class == (None, None) and none.mean == 0.0


# -- the independent reference ----------------------------------------------------------------------


def _iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _reference_ap(dets: list[tuple[float, int, list[float]]], truth: dict[int, list[list[float]]]) -> float:
    """AP of one class: dets (score, scene, box) and truth scene → boxes; brute force over every threshold."""
    n_truth = sum(len(v) for v in truth.values())
    ranked = sorted(dets, key=lambda d: -d[0])
    points = []  # (recall, precision) with the top k detections, k = 1 … n
    for k in range(1, len(ranked) + 1):
        claimed: set[tuple[int, int]] = set()
        tp = 0
        for _, scene, box in ranked[:k]:  # greedy matching from scratch for this threshold
            options = [(_iou(box, g), j) for j, g in enumerate(truth.get(scene, [])) if (scene, j) not in claimed]
            if options and max(options)[0] >= 0.5:
                claimed.add((scene, max(options)[1]))
                tp += 1
        points.append((tp / n_truth, tp / k))
    area, previous = 0.0, 0.0
    for level in sorted({r for r, _ in points}):  # integrate the envelope between distinct recall levels
        if level > previous:
            area += (level - previous) * max(p for r, p in points if r >= level)
            previous = level
    return area


def _random_case(rng: random.Random, scenes: int, classes: int) -> tuple[list, list, list]:
    found, truth_boxes, truth_labels = [], [], []
    for _ in range(scenes):
        truths = []
        for _ in range(rng.randint(0, 4)):
            x, y, w, h = rng.uniform(0, 60), rng.uniform(0, 60), rng.uniform(8, 30), rng.uniform(8, 30)
            truths.append((rng.randrange(classes), [x, y, x + w, y + h]))
        rows = []
        for c, (x1, y1, x2, y2) in truths:  # near-misses and duplicates of the true boxes, and some far off
            for _ in range(rng.randint(0, 3)):
                j = [rng.gauss(0, 3) for _ in range(4)]
                label = c if rng.random() < 0.8 else rng.randrange(classes)
                rows.append((rng.random(), label, x1 + j[0], y1 + j[1], max(x1 + j[0] + 1, x2 + j[2]),
                             max(y1 + j[1] + 1, y2 + j[3])))  # fmt: skip
        for _ in range(rng.randint(0, 3)):
            x, y = rng.uniform(0, 80), rng.uniform(0, 80)
            rows.append((rng.random(), rng.randrange(classes), x, y, x + rng.uniform(5, 20), y + rng.uniform(5, 20)))
        found.append(_dets(rows))
        truth_boxes.append(torch.tensor([b for _, b in truths], dtype=torch.float32).view(-1, 4))
        truth_labels.append(torch.tensor([c for c, _ in truths], dtype=torch.long))
    return found, truth_boxes, truth_labels


@pytest.mark.parametrize("seed", range(40))
def test_random_cases_equal_an_independent_implementation(seed: int) -> None:
    rng = random.Random(seed)
    classes = 3
    found, truth_boxes, truth_labels = _random_case(rng, rng.randint(1, 6), classes)
    result = mean_average_precision(found, truth_boxes, truth_labels, num_classes=classes)
    # The boxes as float32, as the code under test sees them.
    for c in range(classes):
        dets = [(float(d.scores[i]), s, d.boxes[i].tolist()) for s, d in enumerate(found) for i in range(len(d))
                if int(d.labels[i]) == c]  # fmt: skip
        truth = {s: [b.tolist() for b, lab in zip(truth_boxes[s], truth_labels[s], strict=True) if int(lab) == c]
                 for s in range(len(found))}  # fmt: skip
        if not any(truth.values()):
            assert result.per_class[c] is None
        else:
            assert result.per_class[c] == pytest.approx(_reference_ap(dets, truth), abs=1e-6)
    present = [ap for ap in result.per_class if ap is not None]
    assert result.mean == pytest.approx(sum(present) / len(present) if present else 0.0, abs=1e-12)
