"""Random changes to a batch of training images, on the device, drawn from the trainer's seeded generator.

Why this is written here and not as ``torchvision.transforms.v2``: a v2 transform draws one set of
random parameters per call from torch's global generator and applies it to every image of a batch
(torchvision's docs: "Randomized transformations will apply the same transformation to all the images
of a given batch"). Training wants different parameters for every image, drawn from the run's own
seeded generator (two jobs at once must not share random numbers), without a Python loop over the
images. So the parameters are drawn here for the whole batch (``draw_params``) and applied in a few
batched tensor operations (``apply_params``), each of them defined exactly as torchvision's own
per-image function (``tests/test_training.py`` checks every image against
``torchvision.transforms.v2.functional`` with the same parameters):

- flip: ``horizontal_flip``;
- crop: ``pad(padding=p, padding_mode="reflect")`` then ``crop(top, left, H, W)``, p = max(1, side // 8),
  as ``RandomCrop(size, padding=p, padding_mode="reflect")`` does;
- rotation: ``rotate(angle, interpolation=BILINEAR)`` about the centre, corners filled with 0;
- colour: ``adjust_brightness``, then ``adjust_contrast``, then ``adjust_saturation`` (a fixed order,
  where ``ColorJitter`` shuffles it), factors uniform in [max(0, 1 - j), 1 + j] as ``ColorJitter(j, j, j)``;
- noise: Gaussian noise of std ``noise`` added to every pixel, then clamped to [0, 1] (torchvision's
  ``GaussianNoise(mean=0, sigma=noise, clip=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cnnviz.train.config import Augmentation

__all__ = ["AugmentParams", "apply_params", "augment_batch", "draw_params", "fixed_noise"]

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale (ITU-R 601-2 luma)


@dataclass(frozen=True)
class AugmentParams:
    """Random parameters for each image of a batch (CPU tensors; None where the change is off)."""

    flip: torch.Tensor | None  # (N,) bool: mirror this image
    crop: torch.Tensor | None  # (N, 2) int64: top, left of the crop in the padded image
    padding: int  # reflection padding before the crop, in pixels
    angle: torch.Tensor | None  # (N,) float64 degrees, counter-clockwise
    factors: torch.Tensor | None  # (N, 3) float64: brightness, contrast, saturation
    noise: torch.Tensor | None = None  # (N, C, H, W) float32: standard-normal noise, scaled by `sigma`
    sigma: float = 0.0  # std of the noise


def augment_batch(x: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Return a randomly flipped/cropped/rotated/colour-jittered copy of a batch in [0, 1].

    ``x`` is (N, C, H, W) with C = 1 or 3; the result has the same shape, dtype and device. Random
    numbers come from ``generator`` (on the CPU) so runs are reproducible; the input is never modified.
    """
    return apply_params(x, draw_params(x.shape, aug, generator))


def fixed_noise(x: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    """``x`` (N, C, H, W) in [0, 1] with Gaussian noise of std ``sigma`` drawn from ``seed``, clamped; ``x`` if 0."""
    if sigma <= 0:
        return x
    gen = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=gen)).clamp(0.0, 1.0)


def draw_params(shape: torch.Size | tuple[int, ...], aug: Augmentation, generator: torch.Generator) -> AugmentParams:
    """Draw every image's random parameters for a batch of ``shape`` (N, C, H, W), in a fixed order."""
    n, c, h, w = shape
    flip = torch.rand(n, generator=generator) < 0.5 if aug.flip else None
    padding = max(1, min(h, w) // 8)
    crop = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator) if aug.crop else None
    angle = None
    if aug.rotation > 0:
        angle = (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * aug.rotation
    factors = None
    if aug.color_jitter > 0:
        low, high = max(0.0, 1 - aug.color_jitter), 1 + aug.color_jitter
        factors = low + torch.rand(n, 3, generator=generator, dtype=torch.float64) * (high - low)
    noise = torch.randn(n, c, h, w, generator=generator) if aug.noise > 0 else None
    return AugmentParams(flip, crop, padding, angle, factors, noise, aug.noise)


def apply_params(x: torch.Tensor, p: AugmentParams) -> torch.Tensor:
    """Apply drawn parameters to a batch (N, C, H, W) in [0, 1]; flip, crop, rotate, colour, then noise."""
    dev = x.device
    if p.flip is not None:
        x = torch.where(p.flip.to(dev, non_blocking=True)[:, None, None, None], x.flip(-1), x)
    if p.crop is not None:
        x = _crop(x, p.crop.to(dev, non_blocking=True), p.padding)
    if p.angle is not None:
        x = _rotate(x, p.angle)
    if p.factors is not None:
        f = p.factors.to(dev, x.dtype, non_blocking=True)[:, :, None, None, None]  # (N, 3, 1, 1, 1)
        x = (x * f[:, 0]).clamp(0.0, 1.0)  # adjust_brightness
        x = _blend(x, _gray(x).mean(dim=(1, 2, 3), keepdim=True), f[:, 1])  # adjust_contrast
        if x.shape[1] == 3:  # adjust_saturation leaves one-channel images as they are
            x = _blend(x, _gray(x), f[:, 2])
    if p.noise is not None:
        x = (x + p.sigma * p.noise.to(dev, x.dtype, non_blocking=True)).clamp(0.0, 1.0)
    return x


def _crop(x: torch.Tensor, corners: torch.Tensor, padding: int) -> torch.Tensor:
    """Reflection-pad by ``padding`` and cut each image's H×W window at its (top, left) corner."""
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4, mode="reflect")  # (N, C, H + 2p, W + 2p)
    rows = corners[:, 0, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = corners[:, 1, None] + torch.arange(w, device=x.device)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _rotate(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate each image by its angle (degrees, counter-clockwise) about the centre, as torchvision's rotate."""
    n, _, h, w = x.shape
    rad = torch.deg2rad(angle)
    cos, sin, zero = torch.cos(rad), torch.sin(rad), torch.zeros_like(rad)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)  # (N, 2, 3)
    theta = theta.to(x.device, x.dtype)
    base = torch.empty(1, h, w, 3, dtype=x.dtype, device=x.device)  # pixel centres, origin at the image centre
    base[..., 0] = torch.linspace((1.0 - w) * 0.5, (w - 1.0) * 0.5, steps=w, device=x.device, dtype=x.dtype)
    base[..., 1] = torch.linspace((1.0 - h) * 0.5, (h - 1.0) * 0.5, steps=h, device=x.device, dtype=x.dtype)[:, None]
    base[..., 2] = 1
    scale = torch.tensor([0.5 * w, 0.5 * h], dtype=x.dtype, device=x.device)
    grid = base.view(1, h * w, 3).expand(n, -1, -1).bmm(theta.transpose(1, 2) / scale)  # (N, H·W, 2)
    return F.grid_sample(x, grid.view(n, h, w, 2), mode="bilinear", padding_mode="zeros", align_corners=False)


def _gray(x: torch.Tensor) -> torch.Tensor:
    """Luma (N, 1, H, W) of RGB images; a one-channel image is its own."""
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(dim=1)
    return (r * GRAY_WEIGHTS[0] + g * GRAY_WEIGHTS[1] + b * GRAY_WEIGHTS[2]).unsqueeze(1)


def _blend(x: torch.Tensor, other: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """torchvision's _blend: ratio·x + (1 − ratio)·other, clamped to [0, 1]; ``ratio`` is (N, 1, 1, 1)."""
    return (x * ratio + other * (1.0 - ratio)).clamp(0.0, 1.0)
