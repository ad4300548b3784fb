"""Use a trained detector: on drawn scenes or on a photo, the boxes before and after non-maximum suppression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from cnnviz.detect.detector import BOX_WEIGHTS, Detector
from cnnviz.detect.postprocess import Detections, detect_objects

__all__ = ["ScenePredictions", "predict_scenes", "scene_from_photo"]


@dataclass(frozen=True)
class ScenePredictions:
    """What a detector makes of some scenes, at the thresholds asked for."""

    before_nms: tuple[Detections, ...]  # every (anchor, class) pair at or above the score threshold, best first
    after_nms: tuple[Detections, ...]  # what is left once each kept box has suppressed its overlaps of its class


def scene_from_photo(image: Image.Image, size: int) -> Tensor:
    """Turn a photo into a scene the detector can read: the centred square crop, resized to ``size``.

    Returns (3, size, size) float32 in [0, 1].
    """
    rgb = image.convert("RGB")
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    square = rgb.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(square, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


@torch.no_grad()
def predict_scenes(model: Detector, images: Tensor, *, mean: tuple[float, ...], std: tuple[float, ...],
                   score_threshold: float = 0.5, iou_threshold: float = 0.5,
                   max_candidates: int = 100) -> ScenePredictions:  # fmt: skip
    """Run ``model`` (eval mode kept as found) on scenes (N, 3, H, W) in [0, 1]; detections before and after NMS.

    Raises ConfigError for thresholds outside 0…1.
    """
    was_training = model.training
    model.eval()
    try:
        x = (images - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
        output = model(x)  # (N, A, 4 + K + 1)
    finally:
        model.train(was_training)
    common = dict(box_weights=BOX_WEIGHTS, image_size=model.config.image_size, score_threshold=score_threshold,
                  iou_threshold=iou_threshold, max_candidates=max_candidates)  # fmt: skip
    before = detect_objects(output, model.anchors, suppress=False, **common)
    after = detect_objects(output, model.anchors, **common)
    return ScenePredictions(tuple(before), tuple(after))
