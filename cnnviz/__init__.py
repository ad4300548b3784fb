"""cnnviz: the core of a browser-based CNN visualizer (plain Python over torch, numpy and PIL)."""

from __future__ import annotations

__version__ = "0.1.0"
