"""Activation functions and their derivatives from autograd, softmax with a temperature, and vanishing gradients.

:func:`activation_curve` evaluates one activation on a grid of inputs and takes its derivative with
``torch.autograd``; :func:`softmax_probabilities` turns logits into probabilities at a temperature;
:func:`layer_gradient_norms` runs a real forward and backward pass through a deep stack of linear layers
to show how the gradient shrinks layer by layer with sigmoid and not with ReLU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.errors import ConfigError

__all__ = [
    "ACTIVATION_FUNCTIONS",
    "ACTIVATION_LATEX",
    "DEEP_ACTIVATIONS",
    "ActivationCurve",
    "activation_curve",
    "layer_gradient_norms",
    "one_hot_label",
    "softmax_probabilities",
]

LEAKY_SLOPE = 0.01  # PyTorch's default negative slope of LeakyReLU


def _step(x: torch.Tensor) -> torch.Tensor:
    """1 for x > 0, else 0; its autograd derivative is 0 everywhere (the step has no slope to follow)."""
    return (x > 0).to(x.dtype) + 0 * x


ACTIVATION_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "step": _step,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, LEAKY_SLOPE),
    "gelu": F.gelu,  # the exact form with the normal CDF Φ
    "identity": lambda x: x,
}
ACTIVATION_LATEX: dict[str, str] = {
    "step": r"h(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases} \qquad h'(x) = 0 \;(x \ne 0)",
    "sigmoid": r"\sigma(x) = \frac{1}{1 + e^{-x}} \qquad \sigma'(x) = \sigma(x)\,(1 - \sigma(x))",
    "tanh": r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} \qquad \tanh'(x) = 1 - \tanh^2(x)",
    "relu": r"\mathrm{ReLU}(x) = \max(0, x) \qquad "
    r"\mathrm{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}",
    "leaky_relu": r"\mathrm{LeakyReLU}(x) = \max(0.01x, x) \qquad "
    r"\mathrm{LeakyReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0.01 & x \le 0 \end{cases}",
    "gelu": r"\mathrm{GELU}(x) = x\,\Phi(x) \qquad \mathrm{GELU}'(x) = \Phi(x) + x\,\varphi(x)",
    "identity": r"f(x) = x \qquad f'(x) = 1",
}
DEEP_ACTIVATIONS = ("sigmoid", "tanh", "relu")  # what the vanishing-gradient stack can use


@dataclass(frozen=True)
class ActivationCurve:
    x: np.ndarray  # (n,) inputs
    y: np.ndarray  # (n,) f(x)
    dy: np.ndarray  # (n,) f'(x) from autograd


def _function(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if name not in ACTIVATION_FUNCTIONS:
        raise ConfigError.from_key("errors.unknown_activation", name=name, known=", ".join(ACTIVATION_FUNCTIONS))
    return ACTIVATION_FUNCTIONS[name]


def activation_curve(name: str, x: np.ndarray) -> ActivationCurve:
    """Evaluate activation ``name`` at ``x`` (n,) and its derivative by autograd; raises ConfigError if unknown."""
    fn = _function(name)
    inputs = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    outputs = fn(inputs)
    (grad,) = torch.autograd.grad(outputs.sum(), inputs)  # each output depends only on its own input
    return ActivationCurve(inputs.detach().numpy(), outputs.detach().numpy(), grad.numpy())


def softmax_probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) with torch; raises ConfigError unless T > 0. Returns (K,) float64 probabilities."""
    if not temperature > 0:
        raise ConfigError.from_key("errors.softmax_temperature", temperature=temperature)
    return torch.softmax(torch.as_tensor(np.asarray(logits, dtype=np.float64)) / temperature, dim=0).numpy()


def one_hot_label(label: int, num_classes: int) -> np.ndarray:
    """The one-hot vector of class ``label`` among ``num_classes`` (torch's F.one_hot); returns (K,) ints."""
    if not 0 <= label < num_classes:
        raise ConfigError.from_key("errors.one_hot_label", label=label, k=num_classes)
    return F.one_hot(torch.tensor(label), num_classes).numpy()


def layer_gradient_norms(
    activation: str, *, depth: int = 10, width: int = 100, batch: int = 64, seed: int = 0
) -> np.ndarray:
    """Mean |∂L/∂W| of each linear layer of a ``depth``-layer stack, first layer first, from one backward pass.

    The stack is Linear(width, width) → activation, ``depth`` times, each weight Xavier-normal (the same
    start for every activation), biases zero; the input is standard normal (batch, width) and the loss the
    mean squared difference of the outputs from 0.5. Returns (depth,) float64.
    """
    if activation not in DEEP_ACTIVATIONS:
        raise ConfigError.from_key("errors.unknown_activation", name=activation, known=", ".join(DEEP_ACTIVATIONS))
    gen = torch.Generator().manual_seed(seed)
    layers = [nn.Linear(width, width, dtype=torch.float64) for _ in range(depth)]
    for layer in layers:
        nn.init.xavier_normal_(layer.weight, generator=gen)
        nn.init.zeros_(layer.bias)
    h = torch.randn(batch, width, generator=gen, dtype=torch.float64)  # (batch, width)
    fn = ACTIVATION_FUNCTIONS[activation]
    for layer in layers:
        h = fn(layer(h))
    torch.mean((h - 0.5) ** 2).backward()  # any loss will do: what matters is how the gradient travels back
    return np.array([layer.weight.grad.abs().mean().item() for layer in layers])
