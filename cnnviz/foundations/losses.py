"""Mean squared error against cross-entropy as the predicted probability of the true class moves.

A classifier with ``K`` classes outputs softmax probabilities; the true class gets probability ``p`` and
the other ``K − 1`` classes share the rest equally. :func:`loss_curves` gives both losses and their
gradients from autograd, with respect to ``p`` or to the true class's logit ``z`` (what a network really
moves). :func:`descend_true_logit` runs gradient descent on that logit from a badly wrong start: with
mean squared error the gradient vanishes as p → 0 and learning stalls; with cross-entropy it does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.errors import ConfigError

__all__ = ["LOSS_NAMES", "LOSS_WITH_RESPECT_TO", "LossCurves", "descend_true_logit", "loss_curves", "true_logit"]

LOSS_NAMES = ("mse", "cross_entropy")
LOSS_WITH_RESPECT_TO = ("logit", "probability")  # what the gradient is taken with respect to


@dataclass(frozen=True)
class LossCurves:
    p: np.ndarray  # (n,) predicted probability of the true class
    mse: np.ndarray  # (n,) ½ Σ_k (y_k − p_k)²
    cross_entropy: np.ndarray  # (n,) −log p
    mse_grad: np.ndarray  # (n,) ∂MSE/∂(p or z)
    cross_entropy_grad: np.ndarray  # (n,) ∂CE/∂(p or z)


def _check_classes(num_classes: int) -> None:
    if int(num_classes) != num_classes or num_classes < 2:
        raise ConfigError.from_key("errors.loss_classes", k=num_classes)


def true_logit(p: np.ndarray, num_classes: int) -> np.ndarray:
    """The true class's logit z that gives it probability p when the other logits are 0: z = log(p (K−1) / (1−p))."""
    p = np.asarray(p, dtype=np.float64)
    return np.log(p * (num_classes - 1) / (1 - p))


def _probabilities(p: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(n, K) probabilities: p for the true class (index 0), (1 − p)/(K − 1) for each other class."""
    rest = ((1 - p) / (num_classes - 1)).unsqueeze(1).expand(-1, num_classes - 1)
    return torch.cat([p.unsqueeze(1), rest], dim=1)


def _losses(probs: torch.Tensor, logits: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample ½·sum-of-squares and cross-entropy, with torch's own loss functions (true class 0)."""
    target = torch.zeros(probs.shape[0], dtype=torch.long)
    one_hot = F.one_hot(target, probs.shape[1]).to(probs.dtype)
    mse = 0.5 * F.mse_loss(probs, one_hot, reduction="none").sum(dim=1)
    if logits is not None:
        return mse, F.cross_entropy(logits, target, reduction="none")
    return mse, F.nll_loss(torch.log(probs), target, reduction="none")


def loss_curves(p: np.ndarray, num_classes: int = 2, *, wrt: str = "logit") -> LossCurves:
    """Both losses and their autograd gradients at probabilities ``p`` (n,) in (0, 1) of the true class.

    ``wrt`` is "logit" (the gradient with respect to the true class's logit, the others fixed at 0) or
    "probability" (with respect to p, the others sharing 1 − p). Raises ConfigError for K < 2, p outside
    (0, 1) or an unknown ``wrt``.
    """
    _check_classes(num_classes)
    if wrt not in LOSS_WITH_RESPECT_TO:
        raise ConfigError.from_key("errors.loss_wrt", wrt=wrt, known=", ".join(LOSS_WITH_RESPECT_TO))
    p = np.asarray(p, dtype=np.float64)
    if not ((p > 0) & (p < 1)).all():
        raise ConfigError.from_key("errors.loss_probability")
    if wrt == "logit":
        leaf = torch.tensor(true_logit(p, num_classes), requires_grad=True)  # (n,)
        logits = torch.cat([leaf.unsqueeze(1), torch.zeros(len(p), num_classes - 1, dtype=torch.float64)], dim=1)
        mse, ce = _losses(torch.softmax(logits, dim=1), logits)
    else:
        leaf = torch.tensor(p, requires_grad=True)
        mse, ce = _losses(_probabilities(leaf, num_classes), None)
    (mse_grad,) = torch.autograd.grad(mse.sum(), leaf, retain_graph=True)  # samples are independent
    (ce_grad,) = torch.autograd.grad(ce.sum(), leaf)
    return LossCurves(p, mse.detach().numpy(), ce.detach().numpy(), mse_grad.numpy(), ce_grad.numpy())


def descend_true_logit(loss: str, *, p0: float, lr: float, steps: int, num_classes: int = 2) -> np.ndarray:
    """Gradient descent (torch.optim.SGD) on the true class's logit under ``loss`` from probability ``p0``.

    Returns the true class's probability after each step, shape (steps + 1,), p0 first.
    """
    _check_classes(num_classes)
    if loss not in LOSS_NAMES:
        raise ConfigError.from_key("errors.loss_name", name=loss, known=", ".join(LOSS_NAMES))
    if not (0 < p0 < 1 and math.isfinite(lr) and lr > 0):
        raise ConfigError.from_key("errors.loss_descent", p0=p0, lr=lr)
    z = torch.tensor(true_logit(np.array([p0]), num_classes), requires_grad=True)  # (1,)
    opt = torch.optim.SGD([z], lr=lr)
    rest = torch.zeros(1, num_classes - 1, dtype=torch.float64)
    history = [p0]
    for _ in range(int(steps)):
        opt.zero_grad()
        logits = torch.cat([z.unsqueeze(1), rest], dim=1)
        mse, ce = _losses(torch.softmax(logits, dim=1), logits)
        (mse if loss == "mse" else ce).sum().backward()
        opt.step()
        history.append(torch.softmax(torch.cat([z.detach().unsqueeze(1), rest], dim=1), dim=1)[0, 0].item())
    return np.array(history)
