"""Semantic segmentation: a fully convolutional network (FCN) trained live on the scenes' masks, and mean IoU."""

from __future__ import annotations

MODULES: tuple = ()
__all__ = [name for module in MODULES for name in module.__all__]
