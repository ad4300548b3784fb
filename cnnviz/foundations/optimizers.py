"""Gradient descent on 2-D surfaces with PyTorch's own optimizers, and mini-batch noise on a small regression.

:func:`optimizer_path` runs one ``torch.optim`` optimizer from a start point on one surface and returns
every position it visits. :func:`regression_path` runs plain SGD on the weight and bias of a line fitted
to noisy points with a chosen batch size (1 = single-sample, all = full-batch), so that the noise of
mini-batches shows as a wobbly path on the contour of the full-batch loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from cnnviz.errors import ConfigError

__all__ = [
    "MOMENTUM",
    "OPTIMIZERS",
    "OPTIMIZER_LATEX",
    "SURFACES",
    "Surface",
    "diverged_at",
    "optimizer_path",
    "regression_data",
    "regression_loss_grid",
    "regression_path",
    "surface_grid",
    "surface_values",
]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")  # the names optimizer_path takes
MOMENTUM = 0.9  # Momentum's and Nesterov's default momentum
OPTIMIZER_LATEX: dict[str, str] = {  # each update rule as torch.optim implements it (g = ∇f(θ), t = step)
    "sgd": r"\theta \leftarrow \theta - \eta\, g",
    "momentum": r"v \leftarrow \mu v + g, \quad \theta \leftarrow \theta - \eta\, v",
    "nesterov": r"v \leftarrow \mu v + g, \quad \theta \leftarrow \theta - \eta\,(g + \mu v)",
    "adagrad": r"G \leftarrow G + g^2, \quad \theta \leftarrow \theta - \frac{\eta\, g}{\sqrt{G} + 10^{-10}}",
    "rmsprop": r"s \leftarrow 0.99\, s + 0.01\, g^2, \quad "
    r"\theta \leftarrow \theta - \frac{\eta\, g}{\sqrt{s} + 10^{-8}}",
    "adam": r"m \leftarrow 0.9\, m + 0.1\, g, \; v \leftarrow 0.999\, v + 0.001\, g^2, \; "
    r"\theta \leftarrow \theta - \eta \frac{m / (1 - 0.9^t)}{\sqrt{v / (1 - 0.999^t)} + 10^{-8}}",
}


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface, where to start on it, and the part of the plane to draw."""

    function: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # f(x, y), elementwise on tensors
    start: tuple[float, float]  # a start point that shows the optimizers' differences
    x_range: tuple[float, float]  # drawn part of the plane
    y_range: tuple[float, float]
    lr: float  # a learning rate that suits SGD, Momentum and Nesterov on it
    adaptive_lr: float  # one that suits AdaGrad, RMSprop and Adam
    latex: str  # the formula, for st.latex


SURFACES: dict[str, Surface] = {
    "book": Surface(lambda x, y: x**2 / 20 + y**2, (-7.0, 2.0), (-10, 10), (-5, 5), 0.1, 0.3,
                    r"f(x, y) = \frac{x^2}{20} + y^2"),
    "rosenbrock": Surface(lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, (-1.5, 2.0), (-2, 2), (-1, 3), 0.001, 0.05,
                          r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2"),
    "saddle": Surface(lambda x, y: x**2 - y**2, (-1.5, 0.01), (-2, 2), (-2, 2), 0.05, 0.05,
                      r"f(x, y) = x^2 - y^2"),
    "himmelblau": Surface(lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, (0.0, 0.0), (-5, 5), (-5, 5),
                          0.01, 0.1, r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2"),
}  # fmt: skip


def _surface(name: str) -> Surface:
    if name not in SURFACES:
        raise ConfigError.from_key("errors.unknown_surface", name=name, known=", ".join(SURFACES))
    return SURFACES[name]


def _make_optimizer(name: str, params: list[torch.Tensor], lr: float, momentum: float) -> torch.optim.Optimizer:
    """The torch.optim optimizer called ``name``, with PyTorch's defaults apart from lr (and momentum)."""
    makers = {
        "sgd": lambda: torch.optim.SGD(params, lr=lr),
        "momentum": lambda: torch.optim.SGD(params, lr=lr, momentum=momentum),
        "nesterov": lambda: torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True),
        "adagrad": lambda: torch.optim.Adagrad(params, lr=lr),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr),
        "adam": lambda: torch.optim.Adam(params, lr=lr),
    }
    if name not in makers:
        raise ConfigError.from_key("errors.unknown_optimizer", name=name, known=", ".join(OPTIMIZERS))
    return makers[name]()


def _check_run(lr: float, steps: int, momentum: float) -> None:
    if not (math.isfinite(lr) and lr > 0):
        raise ConfigError.from_key("errors.optimizer_lr", lr=lr)
    if int(steps) != steps or steps < 0:
        raise ConfigError.from_key("errors.optimizer_steps", steps=steps)
    if not 0 <= momentum < 1:
        raise ConfigError.from_key("errors.optimizer_momentum", momentum=momentum)


def optimizer_path(
    optimizer: str, surface: str, *, start: tuple[float, float], lr: float, steps: int, momentum: float = MOMENTUM
) -> np.ndarray:
    """Run ``torch.optim``'s ``optimizer`` for ``steps`` steps on ``surface`` from ``start``.

    ``optimizer`` is one of :data:`OPTIMIZERS` (PyTorch's default settings; ``momentum`` for "momentum" and
    "nesterov"), ``surface`` one of :data:`SURFACES`. Returns the positions, shape (steps + 1, 2), float64,
    the start first. A diverging run gives inf or nan rows from the step it overflows (see
    :func:`diverged_at`). Raises ConfigError for an unknown name, lr ≤ 0, negative steps or bad momentum.
    """
    function = _surface(surface).function
    _check_run(lr, steps, momentum)
    point = torch.tensor([float(start[0]), float(start[1])], dtype=torch.float64, requires_grad=True)  # (2,)
    opt = _make_optimizer(optimizer, [point], lr, momentum)
    path = np.empty((int(steps) + 1, 2), dtype=np.float64)
    path[0] = point.detach().numpy()
    for step in range(1, int(steps) + 1):
        opt.zero_grad()
        function(point[0], point[1]).backward()
        opt.step()
        path[step] = point.detach().numpy()
    return path


def diverged_at(path: np.ndarray) -> int | None:
    """The first row of ``path`` (N, D) that is not finite or too large to draw (|v| > 1e6), or None."""
    bad = ~np.isfinite(path).all(axis=1) | (np.abs(np.nan_to_num(path, nan=np.inf)) > 1e6).any(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def surface_values(surface: str, path: np.ndarray) -> np.ndarray:
    """The surface's value at every point of ``path`` (N, 2); returns (N,)."""
    xy = torch.as_tensor(path, dtype=torch.float64)
    return _surface(surface).function(xy[:, 0], xy[:, 1]).numpy()


def surface_grid(surface: str, n: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The surface over its drawn part of the plane: x (n,), y (n,), z (n, n) with z[i, j] = f(x[j], y[i])."""
    s = _surface(surface)
    x = torch.linspace(*s.x_range, n, dtype=torch.float64)
    y = torch.linspace(*s.y_range, n, dtype=torch.float64)
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    return x.numpy(), y.numpy(), s.function(xx, yy).numpy()


# --- mini-batch noise on a small regression ----------------------------------------------------------------

TRUE_LINE = (2.0, -1.0)  # weight and bias of the line the points are drawn around
REGRESSION_START = (-2.0, 3.0)  # (weight, bias) where every run starts


def regression_data(n: int = 64, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points y = 2x − 1 + noise (σ = 0.5), x uniform in [−1, 1]; returns x (n,), y (n,)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    return x, TRUE_LINE[0] * x + TRUE_LINE[1] + rng.normal(0, 0.5, n)


def regression_path(batch_size: int, *, lr: float, steps: int, n: int = 64, seed: int = 0) -> np.ndarray:
    """SGD on the mean squared error of w·x + b, each step on a fresh random batch of ``batch_size`` points.

    Batches are drawn without replacement within an epoch (a shuffled pass over the data, as a DataLoader
    with shuffle=True does). Returns the (w, b) positions, shape (steps + 1, 2), the start first.
    """
    if not 1 <= batch_size <= n:
        raise ConfigError.from_key("errors.batch_size_range", batch_size=batch_size, n=n)
    _check_run(lr, steps, 0.0)
    x, y = (torch.as_tensor(a) for a in regression_data(n, seed=seed))
    params = torch.tensor(REGRESSION_START, dtype=torch.float64, requires_grad=True)  # (w, b)
    opt = torch.optim.SGD([params], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=gen)
    path, used = [params.detach().numpy().copy()], 0
    for _ in range(int(steps)):
        if used + batch_size > n:
            order, used = torch.randperm(n, generator=gen), 0
        batch = order[used : used + batch_size]
        used += batch_size
        opt.zero_grad()
        torch.mean((params[0] * x[batch] + params[1] - y[batch]) ** 2).backward()
        opt.step()
        path.append(params.detach().numpy().copy())
    return np.stack(path)


def regression_loss_grid(n_points: int = 64, *, seed: int = 0, n: int = 80) -> tuple[np.ndarray, ...]:
    """The full-batch mean squared error over (w, b) ∈ [−3, 5] × [−4, 4]: w (n,), b (n,), loss (n, n)."""
    x, y = regression_data(n_points, seed=seed)
    w, b = np.linspace(-3, 5, n), np.linspace(-4, 4, n)
    residual = w[None, :, None] * x[None, None, :] + b[:, None, None] - y[None, None, :]  # (n_b, n_w, points)
    return w, b, np.mean(residual**2, axis=2)
