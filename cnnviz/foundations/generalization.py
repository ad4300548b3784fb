"""Generalisation on a small regression: capacity, weight decay, early stopping, augmentation, k-fold, bias–variance.

The data: ``y = sin(2πx) + noise`` on [0, 1], a few training points and many validation points.
Polynomials are fitted by least squares (ridge regression with weight decay λ) on ``2x − 1`` so that the
powers stay in [−1, 1]; early stopping trains a small MLP with ``torch.optim.Adam``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.errors import ConfigError
from cnnviz.foundations.normalization import single_threaded

__all__ = [
    "BiasVariance",
    "EarlyStoppingRun",
    "FoldScores",
    "RegressionData",
    "augment_samples",
    "bias_variance",
    "capacity_curve",
    "early_stopping_run",
    "fit_polynomial",
    "k_fold_scores",
    "make_regression",
    "mse",
    "noise_robustness",
    "poly_features",
    "predict_polynomial",
    "weight_decay_path",
]

MAX_DEGREE = 15


def true_function(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * x)


@dataclass(frozen=True)
class RegressionData:
    """Training and validation points of y = sin(2πx) + noise, and the noise-free curve on a fine grid."""

    x_train: np.ndarray  # (n,)
    y_train: np.ndarray  # (n,)
    x_val: np.ndarray  # (m,)
    y_val: np.ndarray  # (m,)
    x_grid: np.ndarray  # (200,) evenly spaced on [0, 1]
    y_true: np.ndarray  # (200,) sin(2πx) on the grid
    noise: float  # standard deviation of the noise


def make_regression(n_train: int = 12, *, n_val: int = 200, noise: float = 0.25, seed: int = 0) -> RegressionData:
    """Training x evenly spaced on [0, 1], validation x uniform on [0, 1]; y = sin(2πx) + N(0, noise²) for both."""
    if not 4 <= n_train <= 1000:
        raise ConfigError.from_key("errors.init_setting_range", name="n_train", value=n_train, low=4, high=1000)
    rng = np.random.default_rng(seed)
    x_train, x_val = np.linspace(0, 1, n_train), rng.random(n_val)
    y_train = true_function(x_train) + rng.normal(0, noise, n_train)
    y_val = true_function(x_val) + rng.normal(0, noise, n_val)
    grid = np.linspace(0, 1, 200)
    return RegressionData(x_train, y_train, x_val, y_val, grid, true_function(grid), noise)


def poly_features(x: np.ndarray, degree: int) -> np.ndarray:
    """Return the powers 0…degree of ``2x − 1``: (n, degree + 1)."""
    if not 0 <= degree <= MAX_DEGREE:
        raise ConfigError.from_key("errors.poly_degree_range", degree=degree, high=MAX_DEGREE)
    return np.vander(2 * np.asarray(x, dtype=np.float64) - 1, degree + 1, increasing=True)


def fit_polynomial(x: np.ndarray, y: np.ndarray, degree: int, *, weight_decay: float = 0.0) -> np.ndarray:
    """Least squares with weight decay: minimise Σ(Φw − y)² + λ‖w‖²; return w (degree + 1,).

    λ = 0 is plain least squares (the minimum-norm solution when the points do not pin w down).
    """
    phi = poly_features(x, degree)
    if weight_decay < 0:
        raise ConfigError.from_key("errors.weight_decay_negative", value=weight_decay)
    if weight_decay == 0:
        return np.linalg.lstsq(phi, y, rcond=None)[0]
    return np.linalg.solve(phi.T @ phi + weight_decay * np.eye(degree + 1), phi.T @ y)


def predict_polynomial(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return poly_features(x, len(w) - 1) @ w


def mse(prediction: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean((np.asarray(prediction) - np.asarray(target)) ** 2))


def capacity_curve(data: RegressionData, degrees: range) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation mean squared error of the least-squares polynomial of each degree: (len,) each."""
    train, val = [], []
    for degree in degrees:
        w = fit_polynomial(data.x_train, data.y_train, degree)
        train.append(mse(predict_polynomial(w, data.x_train), data.y_train))
        val.append(mse(predict_polynomial(w, data.x_val), data.y_val))
    return np.array(train), np.array(val)


def weight_decay_path(data: RegressionData, degree: int, lambdas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The weights for each λ, (len(λ), degree + 1), and their validation error (len(λ),)."""
    weights = np.stack([fit_polynomial(data.x_train, data.y_train, degree, weight_decay=lam) for lam in lambdas])
    val = np.array([mse(predict_polynomial(w, data.x_val), data.y_val) for w in weights])
    return weights, val


def _column(values: np.ndarray) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)[:, None]  # (n,) → (n, 1)


@dataclass(frozen=True)
class EarlyStoppingRun:
    """A small MLP trained full-batch with Adam: losses per epoch and the fits at the best and the last epoch."""

    train_loss: np.ndarray  # (epochs,)
    val_loss: np.ndarray  # (epochs,)
    best_epoch: int  # argmin of the validation loss (0-based)
    best_fit: np.ndarray  # (200,) the MLP on the grid at the best epoch
    last_fit: np.ndarray  # (200,) the MLP on the grid after the last epoch


def early_stopping_run(data: RegressionData, *, epochs: int = 1000, hidden: int = 50, lr: float = 0.01,
                       seed: int = 0) -> EarlyStoppingRun:  # fmt: skip
    """Train 1 → hidden → hidden → 1 (tanh) on the training points; record both losses after every epoch."""
    if not 10 <= epochs <= 5000:
        raise ConfigError.from_key("errors.init_setting_range", name="epochs", value=epochs, low=10, high=5000)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    xt, yt, xv, yv, xg = map(_column, (data.x_train, data.y_train, data.x_val, data.y_val, data.x_grid))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train, val, best_fit, best = [], [], None, np.inf
    with single_threaded():
        for _ in range(epochs):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(xt), yt)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                train.append(float(nn.functional.mse_loss(model(xt), yt)))
                val.append(float(nn.functional.mse_loss(model(xv), yv)))
                if val[-1] < best:
                    best, best_fit = val[-1], model(xg)[:, 0].numpy()
        with torch.no_grad():
            last_fit = model(xg)[:, 0].numpy()
    return EarlyStoppingRun(np.array(train), np.array(val), int(np.argmin(val)), best_fit, last_fit)


def augment_samples(x: np.ndarray, y: np.ndarray, *, copies: int, jitter: float,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Add ``copies`` shifted copies of each point (x + N(0, jitter²), clipped to [0, 1], same y) to the data."""
    rng = np.random.default_rng(seed)
    shifted = np.clip(np.repeat(x, copies) + rng.normal(0, jitter, len(x) * copies), 0, 1)
    return np.concatenate([x, shifted]), np.concatenate([y, np.repeat(y, copies)])


def noise_robustness(w: np.ndarray, data: RegressionData, sigmas: np.ndarray, *, draws: int = 20,
                     seed: int = 0) -> np.ndarray:  # fmt: skip
    """Validation error when the validation inputs are shifted by N(0, σ²) (kept in [0, 1]), averaged: (len(σ),)."""
    rng = np.random.default_rng(seed)
    out = []
    for sigma in sigmas:
        shifted = [np.clip(data.x_val + rng.normal(0, sigma, len(data.x_val)), 0, 1) for _ in range(draws)]
        out.append(np.mean([mse(predict_polynomial(w, x), data.y_val) for x in shifted]))
    return np.array(out)


@dataclass(frozen=True)
class FoldScores:
    """k-fold cross-validation of one polynomial degree."""

    fold: np.ndarray  # (n,) the fold each training point is held out in
    train_mse: np.ndarray  # (k,) error on the other k − 1 folds
    val_mse: np.ndarray  # (k,) error on the held-out fold


def k_fold_scores(data: RegressionData, degree: int, k: int, *, seed: int = 0) -> FoldScores:
    """Shuffle the training points into k folds; fit on k − 1 of them and score the held-out one, k times."""
    n = len(data.x_train)
    if not 2 <= k <= n:
        raise ConfigError.from_key("errors.k_fold_range", k=k, n=n)
    fold = np.empty(n, dtype=int)
    for i, part in enumerate(np.array_split(np.random.default_rng(seed).permutation(n), k)):
        fold[part] = i
    train, val = [], []
    for i in range(k):
        held = fold == i
        w = fit_polynomial(data.x_train[~held], data.y_train[~held], degree)
        train.append(mse(predict_polynomial(w, data.x_train[~held]), data.y_train[~held]))
        val.append(mse(predict_polynomial(w, data.x_train[held]), data.y_train[held]))
    return FoldScores(fold, np.array(train), np.array(val))


@dataclass(frozen=True)
class BiasVariance:
    """Fits of one degree on bootstrap resamples of the training points, and the error they split into."""

    fits: np.ndarray  # (resamples, 200) each fit on the grid
    mean_fit: np.ndarray  # (200,)
    bias2: float  # mean over the grid of (mean fit − sin(2πx))²
    variance: float  # mean over the grid of the fits' variance


def bias_variance(data: RegressionData, degree: int, *, resamples: int = 50, seed: int = 0) -> BiasVariance:
    """Fit the polynomial on ``resamples`` bootstrap resamples (n points drawn with replacement)."""
    if not 2 <= resamples <= 500:
        raise ConfigError.from_key("errors.init_setting_range", name="resamples", value=resamples, low=2, high=500)
    rng = np.random.default_rng(seed)
    n = len(data.x_train)
    fits = []
    for _ in range(resamples):
        pick = rng.integers(0, n, n)
        fits.append(predict_polynomial(fit_polynomial(data.x_train[pick], data.y_train[pick], degree), data.x_grid))
    fits = np.stack(fits)
    mean_fit = fits.mean(axis=0)
    return BiasVariance(fits, mean_fit, float(np.mean((mean_fit - data.y_true) ** 2)), float(fits.var(axis=0).mean()))
