"""Why a network decided: Grad-CAM at its conv layers and plain gradient saliency on the input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnviz.errors import ConfigError
from cnnviz.explain.activations import _check_single
from cnnviz.explain.hooks import _hooked

__all__ = ["GradCam", "grad_cam", "grad_cam_all", "saliency"]


@dataclass(frozen=True)
class GradCam:
    layer: str  # conv layer the map was computed at
    target: int  # class index explained
    cam: np.ndarray  # (h, w) ReLU(sum_k alpha_k A_k) at the layer's resolution, not normalised
    heatmap: np.ndarray  # (H, W) cam upsampled bilinearly to the input size and scaled to [0, 1]


def grad_cam_all(model: nn.Module, x: Tensor, layers: Sequence[str], *, target: int | None = None) -> list[GradCam]:
    """Compute Grad-CAM at several conv layers with one forward and one backward pass.

    x: (1, C, H, W), not modified. ``target`` defaults to the predicted class. For each layer with
    activations A (K, h, w) and gradients G = d logit_target / dA: alpha_k = mean(G_k),
    cam = ReLU(sum_k alpha_k A_k). Parameter ``.grad`` fields are left untouched.
    Raises ConfigError (a ValueError) for an unknown layer, a batch of more than one image or a bad target.
    """
    _check_single(x)
    with _hooked(model, list(layers), detach=False) as store, torch.enable_grad():
        logits = model(x.detach())
        if target is None:
            target = int(logits[0].argmax())
        _check_target(target, logits.shape[1])
        acts = [store[name] for name in layers]  # each (1, K, h, w)
        grads = torch.autograd.grad(logits[0, target], acts, allow_unused=True)
    results = []
    for name, act, grad in zip(layers, acts, grads, strict=True):
        grad = torch.zeros_like(act) if grad is None else grad
        alpha = grad.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1)
        cam = torch.relu((alpha * act).sum(dim=1)).detach()  # (1, h, w)
        up = F.interpolate(cam[None], size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
        peak = float(up.max())
        heat = (up / peak if peak > 0 else up).clamp(0, 1)
        results.append(GradCam(name, target, cam[0].numpy(), heat.numpy()))
    return results


def _check_target(target: int, num_classes: int) -> None:
    """Raise ConfigError unless ``target`` is one of the model's class indices."""
    if not 0 <= target < num_classes:
        raise ConfigError.from_key("errors.class_unknown", target=target, last=num_classes - 1)


def grad_cam(model: nn.Module, x: Tensor, layer: str, *, target: int | None = None) -> GradCam:
    """Compute Grad-CAM for one class at one conv layer (see ``grad_cam_all``)."""
    return grad_cam_all(model, x, [layer], target=target)[0]


def saliency(model: nn.Module, x: Tensor, *, target: int | None = None) -> np.ndarray:
    """Return the plain gradient saliency map max_c |d logit_target / d x| as (H, W) float32.

    x: (1, C, H, W), not modified; ``target`` defaults to the predicted class. Mode is restored.
    """
    _check_single(x)
    with _hooked(model, [], detach=True), torch.enable_grad():
        image = x.detach().clone().requires_grad_(True)
        logits = model(image)
        target = int(logits[0].argmax()) if target is None else int(target)
        _check_target(target, logits.shape[1])
        (grad,) = torch.autograd.grad(logits[0, target], image)
    return grad[0].abs().amax(dim=0).numpy()
