"""Foundations part A against independent computations: perceptrons, activations, losses, optimizers.

Optimizer paths are compared with each update rule written out here in NumPy (with the surfaces'
gradients by hand), autograd derivatives with the closed forms, the 2-2-1 network's autograd training
with backpropagation by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import cnnviz
from cnnviz.errors import ConfigError
from cnnviz.foundations import (
    ACTIVATION_FUNCTIONS,
    BOOK_GATES,
    GATE_INPUTS,
    GATE_TARGETS,
    OPTIMIZERS,
    SURFACES,
    activation_curve,
    decision_line,
    descend_true_logit,
    diverged_at,
    gate_outputs,
    layer_gradient_norms,
    loss_curves,
    network_outputs,
    one_hot_label,
    optimizer_path,
    regression_data,
    regression_loss_grid,
    regression_path,
    separating_weights,
    softmax_probabilities,
    surface_grid,
    surface_values,
    train_xor_network,
    train_xor_numpy,
    xor_by_layers,
)

# --- optimizers -------------------------------------------------------------------------------------------

GRADIENTS = {  # ∇f written by hand for each surface
    "book": lambda x, y: np.array([x / 10, 2 * y]),
    "rosenbrock": lambda x, y: np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)]),
    "saddle": lambda x, y: np.array([2 * x, -2 * y]),
    "himmelblau": lambda x, y: np.array(
        [4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7), 2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7)]
    ),
}
VALUES = {
    "book": lambda x, y: x**2 / 20 + y**2,
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "saddle": lambda x, y: x**2 - y**2,
    "himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
}


def hand_path(optimizer: str, surface: str, start: tuple[float, float], lr: float, steps: int, mu: float = 0.9):
    """The update rules of torch.optim's documentation, with PyTorch's default hyper-parameters."""
    theta = np.array(start, dtype=np.float64)
    m, v, buf = np.zeros(2), np.zeros(2), None
    out = [theta.copy()]
    for t in range(1, steps + 1):
        g = GRADIENTS[surface](*theta)
        if optimizer == "sgd":
            theta = theta - lr * g
        elif optimizer in ("momentum", "nesterov"):
            buf = g.copy() if buf is None else mu * buf + g
            theta = theta - lr * (g + mu * buf if optimizer == "nesterov" else buf)
        elif optimizer == "adagrad":
            v = v + g**2
            theta = theta - lr * g / (np.sqrt(v) + 1e-10)
        elif optimizer == "rmsprop":
            v = 0.99 * v + 0.01 * g**2
            theta = theta - lr * g / (np.sqrt(v) + 1e-8)
        elif optimizer == "adam":
            m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
            theta = theta - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        out.append(theta.copy())
    return np.array(out)


@pytest.mark.parametrize("surface", ["book", "rosenbrock", "saddle", "himmelblau"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_each_optimizer_follows_its_update_rule(optimizer: str, surface: str) -> None:
    start, lr = {"book": ((-7.0, 2.0), 0.1), "rosenbrock": ((-1.2, 1.0), 0.0005),
                 "saddle": ((-1.5, 0.3), 0.05), "himmelblau": ((0.5, -0.5), 0.01)}[surface]  # fmt: skip
    path = cnnviz.optimizer_path(optimizer, surface, start=start, lr=lr, steps=6)
    assert isinstance(path, np.ndarray) and path.shape == (7, 2) and path.dtype == np.float64
    np.testing.assert_allclose(path[0], start, rtol=0, atol=0)
    np.testing.assert_allclose(path, hand_path(optimizer, surface, start, lr, 6), rtol=0, atol=1e-6)


def test_momentum_follows_the_chosen_momentum() -> None:
    path = optimizer_path("momentum", "book", start=(-7.0, 2.0), lr=0.1, steps=5, momentum=0.5)
    np.testing.assert_allclose(path, hand_path("momentum", "book", (-7.0, 2.0), 0.1, 5, mu=0.5), rtol=0, atol=1e-9)


def test_the_names_are_the_documented_ones() -> None:
    assert OPTIMIZERS == ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
    assert {"book", "rosenbrock", "saddle"} <= set(SURFACES) and len(SURFACES) == 4
    assert cnnviz.optimizer_path is optimizer_path


def test_zero_steps_give_the_start_only() -> None:
    np.testing.assert_array_equal(optimizer_path("adam", "saddle", start=(1, 2), lr=0.1, steps=0), [[1.0, 2.0]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(optimizer="lbfgs", surface="book"), "adam"),
        (dict(optimizer="sgd", surface="sphere"), "rosenbrock"),
        (dict(optimizer="sgd", surface="book", lr=0.0), "positive"),
        (dict(optimizer="sgd", surface="book", lr=float("nan")), "positive"),
        (dict(optimizer="sgd", surface="book", steps=-1), "whole number"),
        (dict(optimizer="momentum", surface="book", momentum=1.0), "up to"),
    ],
)
def test_bad_settings_raise_a_clear_error(kwargs: dict, match: str) -> None:
    settings = dict(start=(1.0, 1.0), lr=0.1, steps=3) | kwargs
    with pytest.raises(ConfigError, match=match) as info:
        optimizer_path(settings.pop("optimizer"), settings.pop("surface"), **settings)
    assert info.value.key.startswith("errors.") and info.value.localized("ko") != str(info.value)


def test_a_diverging_path_is_found_and_does_not_crash() -> None:
    path = optimizer_path("sgd", "book", start=(-7.0, 2.0), lr=1.5, steps=200)  # y ← y (1 − 2·1.5) = −2y
    bad = diverged_at(path)
    assert bad is not None and np.abs(path[bad - 1]).max() <= 1e6 < np.abs(path[bad]).max()
    assert np.isfinite(path[:bad]).all()
    assert diverged_at(np.array([[0.0, 1.0], [np.nan, 0.0]])) == 1
    assert diverged_at(optimizer_path("adam", "book", start=(-7.0, 2.0), lr=0.3, steps=50)) is None


def test_surface_values_and_grid_are_the_formulas() -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform(-3, 3, (20, 2))
    for name, fn in VALUES.items():
        np.testing.assert_allclose(surface_values(name, pts), fn(pts[:, 0], pts[:, 1]), rtol=1e-12)
        x, y, z = surface_grid(name, n=15)
        np.testing.assert_allclose(z[4, 9], fn(x[9], y[4]), rtol=1e-12)
    for minimum in [(3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]:
        assert VALUES["himmelblau"](*minimum) < 1e-9  # four minima: the multi-minimum surface


def hand_regression(x: np.ndarray, y: np.ndarray, lr: float, steps: int) -> np.ndarray:
    theta, out = np.array([-2.0, 3.0]), []
    out.append(theta.copy())
    for _ in range(steps):
        r = theta[0] * x + theta[1] - y
        theta = theta - lr * np.array([2 * np.mean(r * x), 2 * np.mean(r)])
        out.append(theta.copy())
    return np.array(out)


def test_full_batch_regression_is_gradient_descent_by_hand() -> None:
    x, y = regression_data(64)
    path = regression_path(64, lr=0.1, steps=20)
    np.testing.assert_allclose(path, hand_regression(x, y, 0.1, 20), rtol=0, atol=1e-9)


def test_smaller_batches_wobble_more() -> None:
    full = regression_path(64, lr=0.1, steps=60)
    wobble = {}
    for batch in (1, 8, 64):
        path = regression_path(batch, lr=0.1, steps=60)
        assert path.shape == (61, 2)
        np.testing.assert_array_equal(path, regression_path(batch, lr=0.1, steps=60))  # seeded
        wobble[batch] = np.abs(path - full).mean()
    assert wobble[64] == 0 < wobble[8] < wobble[1]


def test_regression_loss_grid_and_batch_errors() -> None:
    x, y = regression_data(64)
    w, b, loss = regression_loss_grid(64, n=11)
    assert loss.shape == (11, 11)
    np.testing.assert_allclose(loss[3, 7], np.mean((w[7] * x + b[3] - y) ** 2), rtol=1e-12)
    for batch in (0, 65):
        with pytest.raises(ConfigError, match="batch size from 1 to 64"):
            regression_path(batch, lr=0.1, steps=3)


# --- activations ------------------------------------------------------------------------------------------

PHI = np.vectorize(lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2))))
CLOSED_FORMS = {  # (f, f′), away from 0 where step, ReLU and Leaky ReLU have a kink
    "step": (lambda x: (x > 0).astype(float), lambda x: np.zeros_like(x)),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.01 * x), lambda x: np.where(x > 0, 1.0, 0.01)),
    "gelu": (lambda x: x * PHI(x), lambda x: PHI(x) + x * np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)),
    "identity": (lambda x: x, lambda x: np.ones_like(x)),
}


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_autograd_derivatives_equal_the_closed_forms(name: str) -> None:
    x = np.linspace(-4.05, 4.05, 82)  # never exactly 0
    curve = activation_curve(name, x)
    f, df = CLOSED_FORMS[name]
    np.testing.assert_allclose(curve.y, f(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(curve.dy, df(x), rtol=1e-9, atol=1e-12)
    assert set(ACTIVATION_FUNCTIONS) == set(CLOSED_FORMS)


def test_softmax_with_temperature_and_one_hot() -> None:
    logits = np.array([2.0, 1.0, 0.1, -1.0])
    for temperature in (0.2, 1.0, 3.0):
        e = np.exp(logits / temperature)
        np.testing.assert_allclose(softmax_probabilities(logits, temperature), e / e.sum(), rtol=1e-12)
    assert softmax_probabilities(logits, 0.01)[0] > 0.999  # T → 0: one-hot on the largest logit
    np.testing.assert_allclose(softmax_probabilities(logits, 1000.0), np.full(4, 0.25), atol=1e-3)
    np.testing.assert_array_equal(one_hot_label(2, 4), np.eye(4, dtype=int)[2])
    with pytest.raises(ConfigError, match="above 0"):
        softmax_probabilities(logits, 0.0)
    with pytest.raises(ConfigError, match="from 0 to 4 − 1"):
        one_hot_label(4, 4)
    with pytest.raises(ConfigError, match="swish"):
        activation_curve("swish", np.zeros(2))


def test_sigmoid_gradients_vanish_and_relu_ones_do_not() -> None:
    sig, relu = layer_gradient_norms("sigmoid"), layer_gradient_norms("relu")
    assert sig.shape == relu.shape == (10,)
    assert sig[0] / sig[-1] < 1e-4  # the first layer gets almost nothing
    assert 0.1 < relu[0] / relu[-1] < 10
    assert np.all(np.diff(np.log(sig)) > 0)  # it shrinks at every layer going back
    np.testing.assert_array_equal(sig, layer_gradient_norms("sigmoid"))  # seeded


def test_one_layer_gradient_is_the_chain_rule_by_hand() -> None:
    """With one layer, ∂L/∂W is (2/(N·D)) ((σ(Wx+b) − 0.5) σ′)ᵀ x: rebuild W and x from the same generator."""
    gen = torch.Generator().manual_seed(3)
    w = torch.nn.init.xavier_normal_(torch.empty(5, 5, dtype=torch.float64), generator=gen).numpy()
    x = torch.randn(7, 5, generator=gen, dtype=torch.float64).numpy()
    s = 1 / (1 + np.exp(-(x @ w.T)))  # (7, 5)
    grad = (2 / s.size) * ((s - 0.5) * s * (1 - s)).T @ x
    got = layer_gradient_norms("sigmoid", depth=1, width=5, batch=7, seed=3)
    np.testing.assert_allclose(got, [np.abs(grad).mean()], rtol=1e-10)


# --- losses -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 10])
def test_loss_values_and_gradients_equal_the_closed_forms(k: int) -> None:
    p = np.linspace(0.01, 0.99, 50)
    by_z, by_p = loss_curves(p, k, wrt="logit"), loss_curves(p, k, wrt="probability")
    for curves in (by_z, by_p):
        np.testing.assert_allclose(curves.cross_entropy, -np.log(p), rtol=1e-10)
        np.testing.assert_allclose(curves.mse, 0.5 * ((1 - p) ** 2 + (k - 1) * ((1 - p) / (k - 1)) ** 2), rtol=1e-10)
    np.testing.assert_allclose(by_z.cross_entropy_grad, p - 1, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(by_z.mse_grad, -k / (k - 1) * p * (1 - p) ** 2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(by_p.cross_entropy_grad, -1 / p, rtol=1e-10)
    np.testing.assert_allclose(by_p.mse_grad, -k / (k - 1) * (1 - p), rtol=1e-10)


def test_cross_entropy_keeps_learning_when_badly_wrong() -> None:
    k, lr = 3, 1.0
    for loss, grad in (("cross_entropy", lambda p: p - 1), ("mse", lambda p: -k / (k - 1) * p * (1 - p) ** 2)):
        z, hand = math.log(0.01 * (k - 1) / 0.99), [0.01]
        for _ in range(20):
            p = math.exp(z) / (math.exp(z) + k - 1)
            z -= lr * grad(p)
            hand.append(math.exp(z) / (math.exp(z) + k - 1))
        np.testing.assert_allclose(descend_true_logit(loss, p0=0.01, lr=lr, steps=20, num_classes=k), hand, rtol=1e-9)
    ce = descend_true_logit("cross_entropy", p0=0.01, lr=lr, steps=20, num_classes=k)
    mse = descend_true_logit("mse", p0=0.01, lr=lr, steps=20, num_classes=k)
    assert ce[-1] > 0.9 and mse[-1] < 0.05


def test_loss_errors() -> None:
    with pytest.raises(ConfigError, match="at least 2 classes"):
        loss_curves(np.array([0.5]), 1)
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        loss_curves(np.array([0.0, 0.5]), 2)
    with pytest.raises(ConfigError, match="hinge"):
        descend_true_logit("hinge", p0=0.1, lr=1.0, steps=3)


# --- perceptron -------------------------------------------------------------------------------------------


def test_the_books_gates_compute_their_truth_tables() -> None:
    truth = {"and": lambda a, b: a and b, "or": lambda a, b: a or b, "nand": lambda a, b: not (a and b)}
    for name, weights in BOOK_GATES.items():
        expected = [int(truth[name](int(a), int(b))) for a, b in GATE_INPUTS]
        np.testing.assert_array_equal(gate_outputs(*weights), expected)
        np.testing.assert_array_equal(GATE_TARGETS[name], expected)
    np.testing.assert_array_equal(GATE_TARGETS["xor"], [int(a) ^ int(b) for a, b in GATE_INPUTS.astype(int)])


def test_decision_line_lies_on_the_boundary() -> None:
    for w1, w2, b in [(0.5, 0.5, -0.7), (1.0, 0.0, -0.3), (0.0, -2.0, 0.5)]:
        line = decision_line(w1, w2, b, (-0.5, 1.5))
        np.testing.assert_allclose(line @ np.array([w1, w2]) + b, 0.0, atol=1e-12)
    assert decision_line(0.0, 0.0, 1.0, (0, 1)) is None


def test_no_perceptron_on_the_grid_computes_xor() -> None:
    grid = np.round(np.linspace(-1, 1, 11), 2)
    for name, target in GATE_TARGETS.items():
        brute = [
            (a, b, c) for a in grid for b in grid for c in grid
            if all(int(a * x1 + b * x2 + c > 0) == t for (x1, x2), t in zip(GATE_INPUTS, target, strict=True))
        ]  # fmt: skip
        found = separating_weights(target, grid)
        assert sorted(map(tuple, found)) == sorted(brute)
        assert (len(found) == 0) == (name == "xor")


def test_nand_and_or_into_and_is_xor() -> None:
    layers = xor_by_layers()
    np.testing.assert_array_equal(layers["y"], GATE_TARGETS["xor"])
    np.testing.assert_array_equal(layers["s1"], GATE_TARGETS["nand"])
    np.testing.assert_array_equal(layers["s2"], GATE_TARGETS["or"])


def test_autograd_and_numpy_training_agree_and_learn_xor() -> None:
    with_torch = train_xor_network(lr=2.0, steps=400, every=100, seed=0)
    by_hand = train_xor_numpy(lr=2.0, steps=400, every=100, seed=0)
    assert [s.step for s in with_torch] == [0, 100, 200, 300, 400]
    for a, b in zip(with_torch, by_hand, strict=True):
        assert a.loss == pytest.approx(b.loss, abs=1e-10)
        for name in ("w1", "b1", "w2", "b2"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=1e-10)
    long = train_xor_network(lr=2.0, steps=1000, every=500, seed=0)
    assert long[-1].loss < 0.05 < long[0].loss
    np.testing.assert_array_equal(network_outputs(long[-1], GATE_INPUTS) > 0.5, GATE_TARGETS["xor"].astype(bool))


def test_network_outputs_are_the_torch_forward_pass() -> None:
    snap = train_xor_network(lr=2.0, steps=50, every=50, seed=2)[-1]
    x = torch.rand(9, 2, dtype=torch.float64)
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 1), torch.nn.Sigmoid())
    net = net.double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(snap.w1))
        net[0].bias.copy_(torch.tensor(snap.b1))
        net[2].weight.copy_(torch.tensor(snap.w2))
        net[2].bias.copy_(torch.tensor(snap.b2))
        expected = net(x)[:, 0].numpy()
    np.testing.assert_allclose(network_outputs(snap, x.numpy()), expected, rtol=1e-12)
    with pytest.raises(ConfigError, match="positive learning rate"):
        train_xor_network(lr=-1.0)
