"""What a channel wants to see: an image grown from noise by gradient ascent on the channel's mean activation.

The recipe of Olah et al., "Feature Visualization" (Distill, 2017), small enough for a CPU: start from
noise, shift the image a few pixels at random before every step (jitter, so the result does not lean
on one exact pixel grid), and keep it from filling with high-frequency noise in one of two ways:

- ``Penalty.SMOOTHNESS``: optimise the pixels, and subtract ``weight`` × total variation (the mean
  absolute difference between neighbouring pixels) from the objective;
- ``Penalty.FREQUENCY``: optimise the image's Fourier spectrum, each frequency f scaled by 1 / f^weight,
  so fine detail costs more to grow than coarse structure (Lucid's "fft" image).

The forward pass stops at the chosen layer (:func:`cnnviz.explain.hooks.forward_to_layer`), so any
image size works whatever the layers after it expect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch
from torch import Tensor, nn

from cnnviz.errors import ConfigError
from cnnviz.explain.hooks import forward_to_layer

__all__ = ["FeatureVis", "FeatureVisConfig", "Penalty", "VisProgress", "total_variation", "visualize_channel"]


class Penalty(StrEnum):
    """How the image is kept smooth while it grows."""

    SMOOTHNESS = "smoothness"  # pixels, minus weight × total variation
    FREQUENCY = "frequency"  # a Fourier spectrum, frequency f scaled by 1 / f^weight


@dataclass(frozen=True)
class FeatureVisConfig:
    size: int = 128  # side of the square image in pixels
    steps: int = 100  # gradient-ascent steps
    lr: float = 0.05  # Adam's learning rate
    jitter: int = 8  # before each step the image is rolled by up to this many pixels, both ways
    penalty: Penalty = Penalty.FREQUENCY
    weight: float = 1.0  # smoothness: total-variation weight; frequency: the exponent of 1 / f
    seed: int = 0  # the starting noise and the jitter


@dataclass(frozen=True)
class VisProgress:
    """What ``on_step`` is given after each step."""

    step: int  # steps done, 1…steps
    steps: int  # steps in all
    activation: float  # the channel's mean activation on this step's (jittered) image
    image: np.ndarray  # (H, W, 3) uint8, the image after this step


@dataclass(frozen=True)
class FeatureVis:
    layer: str
    channel: int
    config: FeatureVisConfig
    image: np.ndarray  # (H, W, 3) uint8 in [0, 255]: what the channel wants to see
    start: np.ndarray  # (H, W, 3) uint8: the noise it started from
    activations: np.ndarray  # (steps,) float32: the channel's mean activation at each step
    start_activation: float  # the channel's mean activation on the starting noise


LIMITS = {"size": (16, 512), "steps": (1, 1000), "jitter": (0, 32)}


def _check_config(config: FeatureVisConfig) -> None:
    """Raise ConfigError for a setting outside what a CPU run can do."""
    for name, (low, high) in LIMITS.items():
        value = getattr(config, name)
        if not low <= value <= high:
            raise ConfigError.from_key("errors.vis_setting", name=name, value=value, low=low, high=high)
    if not (config.lr > 0 and config.weight >= 0):
        raise ConfigError.from_key("errors.vis_rates", lr=config.lr, weight=config.weight)


def _check_channel(channels: int, channel: int, layer: str) -> None:
    if not 0 <= channel < channels:
        raise ConfigError.from_key("errors.channel_unknown", layer=layer, channel=channel, last=channels - 1)


def total_variation(image: Tensor) -> Tensor:
    """Mean absolute difference between vertical and horizontal neighbours of (N, C, H, W) pixels."""
    return (image[..., 1:, :] - image[..., :-1, :]).abs().mean() + (image[..., :, 1:] - image[..., :, :-1]).abs().mean()


class _Image(nn.Module):
    """The image being optimised, drawn from pixels or from a scaled spectrum, in [0, 1]: (1, C, size, size).

    Either way the starting noise has the same spread before the sigmoid (``NOISE``), whatever the weight.
    """

    NOISE = 0.5  # standard deviation of the starting image before the sigmoid

    def __init__(self, channels: int, config: FeatureVisConfig, generator: torch.Generator) -> None:
        super().__init__()
        size = self.size = config.size
        self.fourier = config.penalty is Penalty.FREQUENCY
        if not self.fourier:
            self.param = nn.Parameter(torch.randn((1, channels, size, size), generator=generator) * self.NOISE)
            return
        fy = torch.fft.fftfreq(size)[:, None]
        fx = torch.fft.rfftfreq(size)[None, :]
        freqs = torch.sqrt(fx**2 + fy**2).clamp(min=1.0 / size)  # (size, size // 2 + 1) cycles per pixel
        scale = freqs ** (-config.weight)
        self.register_buffer("scale", scale / scale.max() * size / 4)  # the lowest frequency moves as pixels do
        self.param = nn.Parameter(torch.randn((1, channels, size, size // 2 + 1, 2), generator=generator))
        with torch.no_grad():
            self.param *= self.NOISE / self.logits().std()

    def logits(self) -> Tensor:
        """The image before the sigmoid: (1, C, size, size)."""
        if not self.fourier:
            return self.param
        spectrum = torch.view_as_complex(self.param) * self.scale
        return torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho")

    def forward(self) -> Tensor:
        return torch.sigmoid(self.logits())


def _to_uint8(image: Tensor) -> np.ndarray:
    """(1, C, H, W) in [0, 1] → (H, W, 3) uint8; one channel comes back as grey."""
    arr = image.detach()[0].permute(1, 2, 0).clamp(0, 1).numpy()
    arr = np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr
    return np.rint(arr * 255).astype(np.uint8)


def _normalise(mean: Sequence[float], std: Sequence[float]) -> Callable[[Tensor], Tensor]:
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return lambda x: (x - m) / s


def _channel_mean(model: nn.Module, layer: str, x: Tensor, channel: int | None) -> Tensor:
    """The layer's mean activation per channel (channel=None) or of one channel, for a batch of one."""
    act = forward_to_layer(model, layer, x)  # (1, K, h, w)
    if act.dim() != 4:
        raise ConfigError.from_key("errors.layer_not_spatial", layer=layer)
    means = act[0].mean(dim=(1, 2))  # (K,)
    return means if channel is None else means[channel]


def visualize_channel(
    model: nn.Module,
    layer: str,
    channel: int,
    config: FeatureVisConfig = FeatureVisConfig(),
    *,
    mean: Sequence[float],
    std: Sequence[float],
    on_step: Callable[[VisProgress], None] | None = None,
) -> FeatureVis:
    """Grow the image that excites ``channel`` of ``layer`` most, from seeded noise, by gradient ascent.

    ``mean`` and ``std`` are the model's input normalisation (one value per input channel). Each step
    maximises the channel's mean activation on a jittered copy, minus the penalty; ``on_step`` gets a
    :class:`VisProgress` after every step. The model's weights and mode are left as they were.
    Raises ConfigError for an unknown or non-spatial layer, a channel it lacks, or settings out of range.
    """
    _check_config(config)
    generator = torch.Generator().manual_seed(int(config.seed))
    normalise = _normalise(mean, std)
    image = _Image(len(mean), config, generator)
    with torch.no_grad():
        start = image()
        start_means = _channel_mean(model, layer, normalise(start), None)  # (K,)
    _check_channel(start_means.numel(), channel, layer)
    optimiser = torch.optim.Adam(image.parameters(), lr=config.lr)
    activations = np.zeros(config.steps, dtype=np.float32)
    for step in range(config.steps):
        pixels = image()  # (1, C, S, S)
        shift = torch.randint(-config.jitter, config.jitter + 1, (2,), generator=generator).tolist()
        value = _channel_mean(model, layer, normalise(torch.roll(pixels, shift, dims=(2, 3))), channel)
        loss = -value
        if config.penalty is Penalty.SMOOTHNESS:
            loss = loss + config.weight * total_variation(pixels)
        (grad,) = torch.autograd.grad(loss, image.param)
        image.param.grad = grad
        optimiser.step()
        activations[step] = float(value.detach())
        if on_step is not None:
            with torch.no_grad():
                on_step(VisProgress(step + 1, config.steps, float(activations[step]), _to_uint8(image())))
    with torch.no_grad():
        final = _to_uint8(image())
    return FeatureVis(layer, channel, config, final, _to_uint8(start), activations, float(start_means[channel]))
