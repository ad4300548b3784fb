"""Why skip connections keep deep networks trainable: gradients through a plain stack and a residual one.

Two stacks of the same 3×3 convolutions with ReLU (PyTorch's default initialisation, no batch norm),
one plain and one with an identity path around every pair of layers (ResNet's basic block). One
backward pass of the same random output gradient through each gives every layer's weight gradient:
in the plain stack it shrinks layer after layer towards the input, with skips it reaches the first
layer almost unchanged, because the identity path adds 1 to every block's derivative.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.errors import ConfigError

__all__ = ["MAX_STACK_DEPTH", "GradientFlow", "ResidualStack", "gradient_flow"]

MAX_STACK_DEPTH = 50  # layers: the plain gradient is still a float32 number (about 1e-21), one backward pass < 1 s


class ResidualStack(nn.Module):
    """``depth`` conv3×3-ReLU layers of ``width`` channels; with ``skips`` an identity path around each pair."""

    def __init__(self, depth: int, width: int, *, skips: bool) -> None:
        super().__init__()
        self.skips = skips
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, width, H, W) → same
        for i in range(0, len(self.convs), 2):
            pair = self.convs[i : i + 2]
            out = x
            for j, conv in enumerate(pair):
                out = conv(out)
                if j < len(pair) - 1 or not self.skips:
                    out = torch.relu(out)
            x = torch.relu(out + x) if self.skips else out
        return x


@dataclass(frozen=True)
class GradientFlow:
    """Weight-gradient norms per layer (first layer first) of the plain and the residual stack."""

    depth: int
    plain: tuple[float, ...]  # ‖∂L/∂W‖ of each conv, plain stack
    residual: tuple[float, ...]  # the same with skips

    @property
    def first_layer_ratio(self) -> float:
        """How many times larger the first layer's gradient is with skips than without."""
        return self.residual[0] / self.plain[0] if self.plain[0] > 0 else float("inf")


def _weight_gradients(model: ResidualStack, x: torch.Tensor, grad_out: torch.Tensor) -> tuple[float, ...]:
    model.zero_grad()
    model(x).backward(grad_out)
    return tuple(float(conv.weight.grad.norm()) for conv in model.convs)


def gradient_flow(depth: int = 20, *, width: int = 8, size: int = 8, seed: int = 0) -> GradientFlow:
    """Backpropagate one random output gradient through a plain and a residual stack of ``depth`` layers.

    Both stacks get the same weights (same seed), the same (1, width, size, size) input and the same
    unit-norm output gradient. Raises ConfigError for a depth outside 2…MAX_STACK_DEPTH.
    """
    if not 2 <= depth <= MAX_STACK_DEPTH:
        raise ConfigError.from_key("errors.arch_depth", depth=depth, high=MAX_STACK_DEPTH)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        plain = ResidualStack(depth, width, skips=False)
    residual = ResidualStack(depth, width, skips=True)
    residual.load_state_dict(plain.state_dict())
    x = torch.randn(1, width, size, size, generator=generator)
    grad_out = torch.randn(1, width, size, size, generator=generator)
    grad_out /= grad_out.norm()
    return GradientFlow(depth, _weight_gradients(plain, x, grad_out), _weight_gradients(residual, x, grad_out))
