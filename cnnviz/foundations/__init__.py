"""The ideas behind training, as code a page can run: neurons and perceptrons, activations, losses,
optimizers on 2-D surfaces, initialisation, normalisation and dropout, regularisation, upsampling."""

from __future__ import annotations

MODULES = ()
__all__ = [name for module in MODULES for name in module.__all__]
