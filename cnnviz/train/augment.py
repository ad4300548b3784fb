"""Random changes to a batch of training images, on the device, drawn from one seeded generator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cnnviz.train.config import Augmentation

__all__ = ["augment_batch"]


def augment_batch(x: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Return a randomly flipped/shifted/rotated/colour-jittered copy of a batch in [0, 1].

    ``x`` is (N, C, H, W); the result has the same shape, dtype and device. Random numbers come from
    ``generator`` (on the CPU) so runs are reproducible; the input is never modified.
    """
    n, dev = x.shape[0], x.device
    if aug.flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(dev, non_blocking=True)
        x = torch.where(mask[:, None, None, None], x.flip(-1), x)
    if aug.crop or aug.rotation > 0:
        angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(aug.rotation)
        shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (0.25 if aug.crop else 0.0)  # 1/8 of the side
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta.to(dev, x.dtype), list(x.shape), align_corners=False)  # (N, H, W, 2)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if aug.color_jitter > 0:
        x = _jitter(x, aug.color_jitter, generator)
    return x


def _jitter(x: torch.Tensor, amount: float, generator: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    factors = (1 + (torch.rand(3, n, 1, 1, 1, generator=generator) * 2 - 1) * amount).to(x.device, x.dtype)
    x = x * factors[0]  # brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factors[1] + mean  # contrast
    if x.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        gray = (x * weights).sum(dim=1, keepdim=True)
        x = (x - gray) * factors[2] + gray  # saturation
    return x.clamp(0.0, 1.0)
