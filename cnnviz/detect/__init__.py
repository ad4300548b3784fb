"""Object detection as lessons and as a detector that trains live: IoU, non-maximum suppression, RoI pooling
and RoI align (equal to torchvision.ops), anchors and box coding, a one-stage detector and mean average precision."""

from __future__ import annotations

MODULES: tuple = ()
__all__ = [name for module in MODULES for name in module.__all__]
