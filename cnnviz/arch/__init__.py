"""Architectures: per-layer summaries (shapes, parameters, MACs, receptive fields) of any network,
the ImageNet winners compared, design explainers computed live, and the network builder."""

from __future__ import annotations

MODULES = ()
__all__ = [name for module in MODULES for name in module.__all__]
