"""Initialisation, batch norm and dropout, generalisation, upsampling: the core against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.errors import ConfigError
from cnnviz.foundations import (
    HIDDEN_ACTIVATIONS,
    BNTrainConfig,
    InitConfig,
    InitScheme,
    augment_samples,
    batch_norm_forward,
    bias_variance,
    capacity_curve,
    checkerboard_counts,
    dropout_ensemble,
    dropout_layer,
    early_stopping_run,
    example_grid,
    fit_polynomial,
    init_weight_,
    is_uneven,
    k_fold_scores,
    make_regression,
    noise_robustness,
    predict_polynomial,
    run_init_study,
    train_with_and_without_bn,
    transposed_conv_steps,
    upsample_bilinear,
    upsample_nearest,
    weight_decay_path,
    weight_std,
)

NUMPY_ACTIVATIONS = {"sigmoid": lambda a: 1 / (1 + np.exp(-a)), "tanh": np.tanh, "relu": lambda a: np.maximum(a, 0)}


def numpy_forward(config: InitConfig) -> list[np.ndarray]:
    """The book's experiment in NumPy, on the weights torch.nn.init draws from the same seeded generator."""
    generator = torch.Generator().manual_seed(config.seed)
    z = torch.randn(config.samples, config.units, generator=generator).numpy().astype(np.float64)
    draw = {
        InitScheme.STD_1: lambda w: nn.init.normal_(w, 0.0, 1.0, generator=generator),
        InitScheme.STD_001: lambda w: nn.init.normal_(w, 0.0, 0.01, generator=generator),
        InitScheme.XAVIER: lambda w: nn.init.xavier_normal_(w, generator=generator),
        InitScheme.HE: lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu", generator=generator),
    }[config.scheme]
    outputs = []
    for _ in range(config.layers):
        w = draw(torch.empty(config.units, config.units)).numpy().astype(np.float64)  # (out, in)
        a = z @ w.T
        if config.batch_norm:
            a = (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5)
        z = NUMPY_ACTIVATIONS[config.activation](a)
        outputs.append(z)
    return outputs


# --- initialisation ------------------------------------------------------------------------------
@pytest.mark.parametrize(("fan_in", "fan_out"), [(300, 500), (100, 100), (784, 50)])
def test_xavier_and_he_std_follow_torch_init(fan_in: int, fan_out: int) -> None:
    torch.manual_seed(0)
    xavier = nn.init.xavier_normal_(torch.empty(fan_out, fan_in))
    he = nn.init.kaiming_normal_(torch.empty(fan_out, fan_in), nonlinearity="relu")
    fi, fo = nn.init._calculate_fan_in_and_fan_out(xavier)
    assert (fi, fo) == (fan_in, fan_out)
    assert weight_std(InitScheme.XAVIER, fan_in, fan_out) == pytest.approx(math.sqrt(2 / (fi + fo)), rel=1e-12)
    assert weight_std(InitScheme.HE, fan_in, fan_out) == pytest.approx(nn.init.calculate_gain("relu") / math.sqrt(fi))
    # the drawn weights have that spread (standard error of a std over ≥ 5,000 draws: about 1 %)
    assert float(xavier.std()) == pytest.approx(weight_std(InitScheme.XAVIER, fan_in, fan_out), rel=0.04)
    assert float(he.std()) == pytest.approx(weight_std(InitScheme.HE, fan_in, fan_out), rel=0.04)
    generator = torch.Generator().manual_seed(1)
    ours = init_weight_(torch.empty(fan_out, fan_in), InitScheme.HE, generator=generator)
    assert float(ours.std()) == pytest.approx(weight_std(InitScheme.HE, fan_in, fan_out), rel=0.04)


@pytest.mark.parametrize("scheme", list(InitScheme))
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_activation_statistics_equal_a_numpy_forward(scheme: InitScheme, activation: str) -> None:
    config = InitConfig(scheme=scheme, activation=activation, layers=4, units=50, samples=300, seed=3)
    study = run_init_study(config)
    reference = numpy_forward(config)
    scale = np.array([max(np.abs(a).max(), 1e-30) for a in reference])
    means = [a.mean() / s for a, s in zip(reference, scale, strict=True)]  # relative to each layer's size
    stds = [a.std() / s for a, s in zip(reference, scale, strict=True)]
    np.testing.assert_allclose(study.means / scale, means, atol=1e-5)
    np.testing.assert_allclose(study.stds / scale, stds, atol=1e-5)
    np.testing.assert_allclose(study.zero_share, [np.mean(a == 0) for a in reference], atol=1e-3)
    for counts, a in zip(study.counts, reference, strict=True):
        values = a[a != 0] if activation == "relu" else a
        expected = np.histogram(values, bins=study.edges)[0]
        assert np.abs(counts - expected).sum() <= 0.002 * a.size  # float32 against float64 at a bin edge


def test_batch_norm_in_the_study_equals_numpy_normalisation() -> None:
    config = InitConfig(scheme=InitScheme.STD_1, activation="sigmoid", layers=3, units=40, samples=200, batch_norm=True)
    study = run_init_study(config)
    reference = numpy_forward(config)
    np.testing.assert_allclose(study.stds, [a.std() for a in reference], rtol=1e-4)
    plain = run_init_study(InitConfig(scheme=InitScheme.STD_1, activation="sigmoid", layers=3, units=40, samples=200))
    assert study.stds[-1] < plain.stds[-1]  # N(0, 1) saturates the sigmoid at 0 and 1: batch norm pulls it back


def test_the_books_findings_hold() -> None:
    """N(0, 0.01²) squashes tanh toward 0 layer by layer; He keeps ReLU's spread; Xavier lets ReLU's fade."""
    small = run_init_study(InitConfig(scheme=InitScheme.STD_001, activation="tanh"))
    assert small.stds[-1] < 0.01 * small.stds[0]
    he = run_init_study(InitConfig(scheme=InitScheme.HE, activation="relu"))
    xavier = run_init_study(InitConfig(scheme=InitScheme.XAVIER, activation="relu"))
    assert 0.5 < he.stds[-1] / he.stds[0] < 2 and xavier.stds[-1] / xavier.stds[0] < 0.5


def test_unknown_activation_and_bad_sizes_are_keyed_errors() -> None:
    with pytest.raises(ConfigError, match="softsign") as err:
        run_init_study(InitConfig(activation="softsign"))
    assert "sigmoid" in str(err.value) and "시그모이드" not in str(err.value) and err.value.key
    with pytest.raises(ConfigError, match="layers = 0"):
        run_init_study(InitConfig(layers=0))


# --- batch norm and dropout ----------------------------------------------------------------------
def test_batch_norm_forward_equals_torch_in_training_mode() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, (16, 5))
    gamma, beta = rng.random(5) + 0.5, rng.normal(size=5)
    out, mu, var = batch_norm_forward(x, gamma, beta)
    layer = nn.BatchNorm1d(5, dtype=torch.float64).train()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(gamma))
        layer.bias.copy_(torch.from_numpy(beta))
        expected = layer(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(var, torch.from_numpy(x).var(0, unbiased=False).numpy(), rtol=1e-12)
    np.testing.assert_allclose(mu, x.mean(0), rtol=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.8])
def test_dropout_scaling_equals_torch_dropout(p: float) -> None:
    layer = dropout_layer(p, units=10, seed=4)
    x = torch.from_numpy(layer.x)
    torch.manual_seed(0)
    drawn = nn.Dropout(p).train()(x).numpy()
    kept = drawn != 0
    np.testing.assert_allclose(drawn[kept], layer.x[kept] / (1 - p), rtol=1e-12)  # torch scales by 1/(1 − p)
    np.testing.assert_allclose(layer.train_inverted[layer.keep], layer.x[layer.keep] / (1 - p), rtol=1e-12)
    assert np.all(layer.train_inverted[~layer.keep] == 0) and np.all(layer.train_book[~layer.keep] == 0)
    np.testing.assert_array_equal(layer.eval_inverted, nn.Dropout(p).eval()(x).numpy())
    # expectations over many masks: torch's and ours are x; the book's training output averages to x·(1 − p)
    draws = 2000
    spread = 4 * layer.x * math.sqrt(p / (1 - p)) / math.sqrt(draws) + 1e-12  # 4 standard errors of the mean
    torch_mean = torch.stack([nn.Dropout(p).train()(x) for _ in range(draws)]).mean(0).numpy()
    ours = [dropout_layer(p, units=10, seed=s) for s in range(draws)]
    assert np.all(np.abs(torch_mean - layer.x) <= spread)
    assert np.all(np.abs(np.mean([d.train_inverted for d in ours], 0) - layer.x) <= spread)
    assert np.all(np.abs(np.mean([d.train_book for d in ours], 0) - layer.eval_book) <= spread * (1 - p))


def test_dropout_probability_must_be_below_one() -> None:
    with pytest.raises(ConfigError, match="dropout probability of 1"):
        dropout_layer(1.0)


def test_batch_norm_run_is_reproducible_and_batch_norm_learns_from_a_bad_start() -> None:
    config = BNTrainConfig(scheme=InitScheme.STD_001, epochs=8, samples=300, lr=0.1)  # a few seconds
    run = train_with_and_without_bn(config)
    again = train_with_and_without_bn(config)
    for bn in (False, True):
        np.testing.assert_array_equal(run.accuracy[bn], again.accuracy[bn])
        assert run.accuracy[bn].shape == (9,)
    assert run.loss[True][-1] < run.loss[True][0]
    assert run.accuracy[True][-1] > run.accuracy[False][-1] + 0.1  # N(0, 0.01²) without batch norm stays at chance


def test_dropout_ensemble_without_dropout_is_the_scaled_network() -> None:
    none = dropout_ensemble(0.0, masks=5, epochs=1, samples=200)
    np.testing.assert_allclose(none.mask_probs, np.tile(none.scaled_probs, (5, 1)), atol=1e-6)
    half = dropout_ensemble(0.5, masks=20, epochs=1, samples=200)
    np.testing.assert_allclose(half.running_mean[-1], half.mask_probs.mean(0), rtol=1e-6)
    assert half.gap[0] > 0 and np.all(np.isclose(half.mask_probs.sum(1), 1, atol=1e-5))


# --- generalisation ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    return make_regression(12, seed=0)


def test_polynomial_fit_equals_numpy_polyfit(data) -> None:
    for degree in (0, 1, 3, 6):
        w = fit_polynomial(data.x_train, data.y_train, degree)
        reference = np.polynomial.Polynomial.fit(data.x_train, data.y_train, degree)
        np.testing.assert_allclose(predict_polynomial(w, data.x_grid), reference(data.x_grid), atol=1e-8)


def test_weight_decay_equals_least_squares_on_the_augmented_system(data) -> None:
    for lam in (1e-4, 0.1, 10.0):
        w = fit_polynomial(data.x_train, data.y_train, 9, weight_decay=lam)
        phi = torch.from_numpy(np.vander(2 * data.x_train - 1, 10, increasing=True))
        a = torch.cat([phi, math.sqrt(lam) * torch.eye(10, dtype=torch.float64)])
        b = torch.cat([torch.from_numpy(data.y_train), torch.zeros(10, dtype=torch.float64)])
        np.testing.assert_allclose(w, torch.linalg.lstsq(a, b[:, None]).solution[:, 0].numpy(), rtol=1e-6, atol=1e-8)
    weights, _ = weight_decay_path(data, 9, np.logspace(-6, 2, 9))
    norms = np.linalg.norm(weights, axis=1)
    assert np.all(np.diff(norms) < 0)  # the pull toward zero grows with λ


def test_capacity_curve_training_error_falls_with_degree(data) -> None:
    train, val = capacity_curve(data, range(0, 12))
    assert np.all(np.diff(train) <= 1e-12)  # nested models: more capacity never fits the training data worse
    assert train[11] < 1e-10 and val[11] > 2 * val.min()  # 12 points, 12 coefficients: interpolation overfits


def test_k_fold_scores_equal_an_independent_loop(data) -> None:
    scores = k_fold_scores(data, 3, 4, seed=1)
    assert sorted(np.bincount(scores.fold)) == [3, 3, 3, 3]
    for i in range(4):
        held = scores.fold == i
        coef = np.polyfit(data.x_train[~held], data.y_train[~held], 3)
        expected = np.mean((np.polyval(coef, data.x_train[held]) - data.y_train[held]) ** 2)
        assert scores.val_mse[i] == pytest.approx(expected, rel=1e-8)
    with pytest.raises(ConfigError, match="13-fold"):
        k_fold_scores(data, 3, 13)


def test_bias_and_variance_add_up_to_the_mean_squared_error(data) -> None:
    result = bias_variance(data, 3, resamples=40, seed=2)
    total = np.mean((result.fits - data.y_true) ** 2)
    assert result.bias2 + result.variance == pytest.approx(total, rel=1e-10)
    more = make_regression(40, seed=0)  # enough points that a resample still pins a degree-7 polynomial down
    low, high = bias_variance(more, 1, resamples=40), bias_variance(more, 7, resamples=40)
    assert low.bias2 > 10 * high.bias2 and low.variance < high.variance / 2


def test_early_stopping_marks_the_minimum_of_the_validation_curve(data) -> None:
    run = early_stopping_run(data, epochs=300, hidden=20)
    again = early_stopping_run(data, epochs=300, hidden=20)
    np.testing.assert_array_equal(run.val_loss, again.val_loss)
    assert run.best_epoch == int(np.argmin(run.val_loss)) and run.train_loss[-1] < run.train_loss[0]


def test_augmentation_adds_shifted_copies_and_noise_robustness_starts_at_the_plain_error(data) -> None:
    x, y = augment_samples(data.x_train, data.y_train, copies=3, jitter=0.02)
    assert len(x) == 4 * len(data.x_train) and np.all((0 <= x) & (x <= 1))
    np.testing.assert_array_equal(y[12:], np.repeat(data.y_train, 3))
    assert np.abs(x[12:] - np.repeat(data.x_train, 3)).max() < 0.2
    w = fit_polynomial(data.x_train, data.y_train, 3)
    curve = noise_robustness(w, data, np.array([0.0, 0.05]))
    assert curve[0] == pytest.approx(np.mean((predict_polynomial(w, data.x_val) - data.y_val) ** 2), rel=1e-12)


# --- upsampling ----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 3])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize(("padding", "output_padding"), [(0, 0), (1, 0), (1, 1), (2, 1)])
def test_transposed_conv_steps_equal_torch(size: int, kernel: int, stride: int, padding: int, output_padding: int) -> None:  # noqa: E501
    x, w = example_grid(size), example_grid(kernel) - 3.5
    args = dict(stride=stride, padding=padding, output_padding=output_padding)
    try:
        expected = F.conv_transpose2d(torch.from_numpy(x)[None, None], torch.from_numpy(w)[None, None], **args)
    except RuntimeError:
        with pytest.raises(ConfigError):
            transposed_conv_steps(x, w, stride, padding, output_padding)
        return
    if expected.numel() == 0:
        with pytest.raises(ConfigError):
            transposed_conv_steps(x, w, stride, padding, output_padding)
        return
    steps = transposed_conv_steps(x, w, stride, padding, output_padding)
    np.testing.assert_allclose(steps.output, expected[0, 0].numpy(), rtol=1e-12, atol=1e-12)
    assert steps.inserted.shape == ((size - 1) * stride + 1,) * 2
    np.testing.assert_array_equal(steps.inserted[::stride, ::stride], x)
    assert steps.inserted.sum() == x.sum()  # everything else is an inserted zero


def test_impossible_output_padding_shows_the_cores_keyed_error() -> None:
    with pytest.raises(ConfigError, match="output_padding 2 must be smaller than the stride 2") as err:
        transposed_conv_steps(example_grid(3), example_grid(3), 2, 0, 2)
    assert err.value.key == "errors.output_padding_too_big"


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 5)])
@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_nearest_and_bilinear_equal_interpolate(shape: tuple[int, int], scale: int) -> None:
    x = np.random.default_rng(scale).random(shape)
    t = torch.from_numpy(x)[None, None]
    nearest = F.interpolate(t, scale_factor=scale, mode="nearest")[0, 0].numpy()
    bilinear = F.interpolate(t, scale_factor=scale, mode="bilinear", align_corners=False)[0, 0].numpy()
    np.testing.assert_array_equal(upsample_nearest(x, scale), nearest)
    np.testing.assert_allclose(upsample_bilinear(x, scale), bilinear, rtol=1e-12, atol=1e-12)
    with pytest.raises(ConfigError, match="factor of 0"):
        upsample_nearest(x, 0)


@pytest.mark.parametrize("kernel", range(1, 7))
@pytest.mark.parametrize("stride", range(1, 5))
def test_checkerboard_counts_are_the_overlaps_and_uneven_when_kernel_is_not_divisible(kernel: int, stride: int) -> None:
    counts = checkerboard_counts(6, kernel, stride)
    ones = torch.ones(1, 1, 6, 6, dtype=torch.float64)
    expected = F.conv_transpose2d(ones, torch.ones(1, 1, kernel, kernel, dtype=torch.float64), stride=stride)
    np.testing.assert_array_equal(counts, expected[0, 0].numpy().astype(int))
    assert is_uneven(counts, kernel, stride) == (kernel % stride != 0)
