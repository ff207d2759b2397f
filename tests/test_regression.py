"""Tests of the regression losses (jaxloss/_regression.py).

Every loss is compared with an independent float64 NumPy reference written from its
formula (eager and under ``jax.jit``), with optax where optax has the loss, with the worked
examples of Axon's and Keras' documentation, and is gradient-checked in float64 at
ordinary points and at its documented edge cases.
"""

import math

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxloss
from tests.cases.regression import CASES
from tests.grads import check_first_and_second_order, check_grads

BATCH = (3, 4)
TOL = dict(rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# float64 NumPy references, written from the formulas


def ref_squared_error(p, t):
    return (p - t) ** 2


def ref_l2_loss(p, t):
    return 0.5 * (p - t) ** 2


def ref_absolute_error(p, t):
    return np.abs(p - t)


def ref_huber_loss(p, t, delta=1.0):
    a = np.abs(p - t)
    return np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))


def ref_smooth_l1_loss(p, t, beta=1.0):
    a = np.abs(p - t)
    if beta == 0:
        return a
    return np.where(a < beta, 0.5 * a**2 / beta, a - 0.5 * beta)


def ref_log_cosh(p, t):
    return np.log(np.cosh(p - t))


def ref_absolute_percentage_error(p, t, epsilon=1e-7):
    return 100.0 * np.abs(t - p) / np.maximum(np.abs(t), epsilon)


def ref_squared_logarithmic_error(p, t, epsilon=1e-7):
    return (np.log(1.0 + np.maximum(p, epsilon)) - np.log(1.0 + np.maximum(t, epsilon))) ** 2


def ref_quantile_loss(p, t, quantile=0.5):
    r = t - p
    return np.where(r >= 0, quantile * r, (quantile - 1.0) * r)


def ref_poisson_loss(p, t, epsilon=1e-7):
    log_rate = np.log(np.where(t > 0, p + epsilon, 1.0))
    return p - np.where(t > 0, t * log_rate, 0.0)


def ref_poisson_nll_loss(p, t, log_input=True, full=False, epsilon=1e-8):
    if log_input:
        out = np.exp(p) - t * p
    else:
        out = p - np.where(t > 0, t * np.log(np.where(t > 0, p + epsilon, 1.0)), 0.0)
    if full:
        ts = np.where(t > 1, t, 2.0)
        out = out + np.where(t > 1, ts * np.log(ts) - ts + 0.5 * np.log(2 * np.pi * ts), 0.0)
    return out


def ref_gaussian_nll_loss(p, t, v, full=False, epsilon=1e-6):
    v = np.maximum(v, epsilon)
    out = 0.5 * (np.log(v) + (p - t) ** 2 / v)
    return out + (0.5 * np.log(2 * np.pi) if full else 0.0)


def ref_cosine_similarity(p, t, axis=-1, epsilon=1e-8):
    pn = np.maximum(np.sqrt(np.sum(p * p, axis=axis)), epsilon)
    tn = np.maximum(np.sqrt(np.sum(t * t, axis=axis)), epsilon)
    return np.sum(p * t, axis=axis) / (pn * tn)


def ref_cosine_distance(p, t, axis=-1, epsilon=1e-8):
    return 1.0 - ref_cosine_similarity(p, t, axis=axis, epsilon=epsilon)


REFS = {name: globals()[f"ref_{name}"] for name in CASES}

# Hyperparameter settings compared with the reference (inputs from tests/cases).
SETTINGS = {
    "squared_error": [{}],
    "l2_loss": [{}],
    "absolute_error": [{}],
    "huber_loss": [{}, {"delta": 0.8}, {"delta": 2.5}, {"delta": 0.0}],
    "smooth_l1_loss": [{}, {"beta": 0.8}, {"beta": 0.0}],
    "log_cosh": [{}],
    "absolute_percentage_error": [{}, {"epsilon": 0.7}],
    "squared_logarithmic_error": [{}, {"epsilon": 0.5}],
    "quantile_loss": [{}, {"quantile": 0.1}, {"quantile": 0.9}],
    "poisson_loss": [{}, {"epsilon": 0.0}, {"epsilon": 0.5}],
    "poisson_nll_loss": [
        {},
        {"full": True},
        {"log_input": False},
        {"log_input": False, "full": True, "epsilon": 1e-3},
    ],
    "gaussian_nll_loss": [{}, {"full": True}, {"epsilon": 0.7}],
    "cosine_similarity": [{}, {"epsilon": 2.0}],
    "cosine_distance": [{}, {"epsilon": 2.0}],
}
PARAMS = [(name, kw) for name, kws in SETTINGS.items() for kw in kws]
PARAM_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in PARAMS]


def _inputs(name, kwargs=None, seed=0, batch=BATCH):
    """float32 inputs from the case of ``name`` (rates made positive for rate inputs)."""
    args, _ = CASES[name].make(np.random.default_rng(seed), batch)
    if name == "poisson_nll_loss" and not (kwargs or {}).get("log_input", True):
        args = (np.exp(args[0]).astype(np.float32),) + tuple(args[1:])
    return tuple(np.asarray(a) for a in args)


def _ref(name, args, kwargs):
    return REFS[name](*(np.asarray(a, np.float64) for a in args), **kwargs)


def test_every_regression_loss_is_tested():
    regression = {n for n in jaxloss.names() if jaxloss.info(n).family == "regression"}
    assert regression == set(CASES) == set(SETTINGS)


@pytest.mark.parametrize("name,kwargs", PARAMS, ids=PARAM_IDS)
def test_matches_float64_reference(name, kwargs):
    args = _inputs(name, kwargs)
    fn = getattr(jaxloss, name)
    ref = _ref(name, args, kwargs)
    eager = fn(*args, **kwargs, reduction="none")
    jitted = jax.jit(lambda *a: fn(*a, **kwargs, reduction="none"))(*args)
    assert eager.dtype == jnp.float32 and eager.shape == ref.shape
    np.testing.assert_allclose(eager, ref, **TOL)
    np.testing.assert_allclose(jitted, ref, **TOL)
    np.testing.assert_allclose(fn(*args, **kwargs), ref.mean(), **TOL)
    np.testing.assert_allclose(fn(*args, **kwargs, reduction="sum"), ref.sum(), rtol=1e-5)


def test_aliases_are_the_same_functions():
    assert jaxloss.mse is jaxloss.squared_error
    assert jaxloss.mae is jaxloss.absolute_error
    assert jaxloss.mape is jaxloss.absolute_percentage_error
    assert jaxloss.msle is jaxloss.squared_logarithmic_error
    assert jaxloss.pinball_loss is jaxloss.quantile_loss
    assert jaxloss.get("pinball_loss", quantile=0.2).name == "quantile_loss"
    assert jaxloss.get("msle").name == "squared_logarithmic_error"


def test_epsilon_is_the_only_spelling():
    p, t = _inputs("poisson_loss")
    with pytest.raises(TypeError, match="eps"):
        jaxloss.poisson_loss(p, t, eps=1e-7)
    with pytest.raises(TypeError):
        jaxloss.get("gaussian_nll_loss", eps=1e-6)


# ---------------------------------------------------------------------------
# optax parity (reduction="none")


@pytest.mark.parametrize(
    "name,kwargs,optax_fn",
    [
        ("squared_error", {}, optax.losses.squared_error),
        ("l2_loss", {}, optax.losses.l2_loss),
        ("huber_loss", {}, optax.losses.huber_loss),
        ("huber_loss", {"delta": 0.8}, lambda p, t: optax.losses.huber_loss(p, t, delta=0.8)),
        ("huber_loss", {"delta": 0.0}, lambda p, t: optax.losses.huber_loss(p, t, delta=0.0)),
        ("log_cosh", {}, optax.losses.log_cosh),
    ],
)
def test_optax_parity_elementwise(name, kwargs, optax_fn):
    rng = np.random.default_rng(3)
    p = rng.normal(scale=3.0, size=(5, 7)).astype(np.float32)
    t = rng.normal(size=(5, 7)).astype(np.float32)
    p[0, :3] = [50.0, -80.0, 1e-3]  # large and tiny residuals
    t[0, :3] = 0.0
    ours = getattr(jaxloss, name)(p, t, **kwargs, reduction="none")
    np.testing.assert_allclose(ours, optax_fn(p, t), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["cosine_similarity", "cosine_distance"])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_optax_parity_cosine(name, axis):
    rng = np.random.default_rng(4)
    p = rng.normal(size=(4, 5, 3)).astype(np.float32)
    t = rng.normal(size=(4, 5, 3)).astype(np.float32)
    ours = getattr(jaxloss, name)(p, t, axis=axis, reduction="none")
    theirs = getattr(optax.losses, name)(p, t, axis=axis)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    ref = REFS[name](p.astype(np.float64), t.astype(np.float64), axis=axis)
    np.testing.assert_allclose(ours, ref, **TOL)


@pytest.mark.parametrize("name", ["cosine_similarity", "cosine_distance"])
def test_optax_parity_cosine_in_the_clamped_region(name):
    # optax's epsilon floors the squared norm, ours the norm: optax eps**2 == ours eps.
    rng = np.random.default_rng(5)
    p = rng.normal(size=(6, 3)).astype(np.float32)
    t = rng.normal(size=(6, 3)).astype(np.float32)
    p[1] *= 1e-3  # norm below the floor 0.1
    t[2] *= 1e-3
    p[3] = 0.0  # zero vectors
    t[4] = 0.0
    p[5] = t[5] = 0.0
    eps = 0.1
    ours = getattr(jaxloss, name)(p, t, epsilon=eps, reduction="none")
    theirs = getattr(optax.losses, name)(p, t, epsilon=eps**2)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    ref = REFS[name](p.astype(np.float64), t.astype(np.float64), epsilon=eps)
    np.testing.assert_allclose(ours, ref, **TOL)


# ---------------------------------------------------------------------------
# worked examples of other libraries' documentation

# Axon.Losses (seed 002): Axon's arguments are (y_true, y_pred) and its loss averages
# over the last axis; jnp.mean(loss(reduction="none"), axis=-1) reproduces that. Every
# example has the same y_true; per loss: y_pred, the row means, their mean and their sum.
AXON_Y_TRUE = [[0.0, 1.0], [0.0, 0.0]]
AXON = [
    ("squared_error", [[1.0, 1.0], [1.0, 0.0]], [0.5, 0.5], 0.5, 1.0),
    ("absolute_error", [[1.0, 1.0], [1.0, 0.0]], [0.5, 0.5], 0.5, 1.0),
    (
        "log_cosh",
        [[1.0, 1.0], [0.0, 0.0]],
        [0.2168903946876526, 0.0],
        0.1084451973438263,
        0.2168903946876526,
    ),
    (
        "poisson_loss",
        [[1.0, 1.0], [0.0, 0.0]],
        [0.9999999403953552, 0.0],
        0.4999999701976776,
        0.9999999403953552,
    ),
]


@pytest.mark.parametrize("name,y_pred,rows,mean,total", AXON, ids=[a[0] for a in AXON])
def test_axon_worked_examples(name, y_pred, rows, mean, total):
    fn = getattr(jaxloss, name)
    y_true = jnp.asarray(AXON_Y_TRUE, jnp.float32)
    y_pred = jnp.asarray(y_pred, jnp.float32)
    per_row = jnp.mean(fn(y_pred, y_true, reduction="none"), axis=-1)
    np.testing.assert_allclose(per_row, rows, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(jnp.mean(per_row), mean, rtol=1e-6)
    np.testing.assert_allclose(jnp.sum(per_row), total, rtol=1e-6)
    # Rows of equal length: Axon's mean of row means is our plain mean.
    np.testing.assert_allclose(fn(y_pred, y_true), mean, rtol=1e-6)


def test_axon_cosine_similarity_example():
    y_pred = jnp.array([[1.0, 0.0], [1.0, 1.0]])
    y_true = jnp.array([[0.0, 1.0], [1.0, 1.0]])
    out = jaxloss.cosine_similarity(y_pred, y_true, reduction="none")
    np.testing.assert_allclose(out, [0.0, 1.0000001192092896], atol=2e-7)


def test_keras_msle_example():
    # keras.metrics.MeanSquaredLogarithmicError docs: 0.12011322.
    y_true = jnp.array([[0.0, 1.0], [0.0, 0.0]])
    y_pred = jnp.array([[1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(jaxloss.msle(y_pred, y_true), 0.12011322, rtol=1e-6)


# ---------------------------------------------------------------------------
# gradients (float64)

DIFF_ARGS = {"gaussian_nll_loss": (0, 2), "cosine_similarity": (0, 1), "cosine_distance": (0, 1)}


@pytest.mark.parametrize("name,kwargs", PARAMS, ids=PARAM_IDS)
def test_check_grads_at_ordinary_points(name, kwargs):
    with jax.enable_x64(True):
        args = [jnp.asarray(a, jnp.float64) for a in _inputs(name, kwargs, batch=(2, 3))]
        fn = getattr(jaxloss, name)
        for i in DIFF_ARGS.get(name, (0,)):

            def f(x, i=i):
                a = list(args)
                a[i] = x
                return fn(*a, **kwargs, reduction="sum")

            check_first_and_second_order(f, args[i], eps=1e-4)


@pytest.mark.parametrize(
    "name,hyper,value,kwargs",
    [
        ("huber_loss", "delta", 0.8, {}),
        ("huber_loss", "delta", 0.0, {}),
        ("smooth_l1_loss", "beta", 0.8, {}),
        ("smooth_l1_loss", "beta", 0.0, {}),
        ("quantile_loss", "quantile", 0.3, {}),
        ("absolute_percentage_error", "epsilon", 0.7, {}),
        ("gaussian_nll_loss", "epsilon", 0.7, {}),
    ],
)
def test_check_grads_with_respect_to_hyperparameters(name, hyper, value, kwargs):
    with jax.enable_x64(True):
        args = [jnp.asarray(a, jnp.float64) for a in _inputs(name, batch=(2, 3))]
        if name == "gaussian_nll_loss":
            args[2] = args[2] - 0.3  # some variances straddle the floor 0.7, away from it
            args[2] = jnp.where(jnp.abs(args[2] - 0.7) < 0.05, 1.0, args[2])
        fn = getattr(jaxloss, name)
        # jit: the hyperparameter is traced, so the finite-difference probes on both sides
        # of 0 (delta = -1e-4) are evaluated by the formula, not range-checked.
        f = jax.jit(lambda h: fn(*args, **{hyper: h}, **kwargs, reduction="sum"))
        check_grads(f, (jnp.float64(value),), order=1, modes=["rev"], eps=1e-4)


def test_huber_delta_zero_is_zero_with_finite_gradients():
    p = jnp.array([0.0, 1.0, -2.0, 1e4])
    t = jnp.zeros(4)
    assert np.all(jaxloss.huber_loss(p, t, delta=0.0, reduction="none") == 0)
    g = jax.grad(jaxloss.huber_loss)(p, t, delta=0.0)
    assert np.all(g == 0)
    # d/d delta of delta*|r| - delta**2/2 at 0 is |r|.
    gd = jax.grad(lambda d: jaxloss.huber_loss(p, t, delta=d, reduction="sum"))(0.0)
    np.testing.assert_allclose(gd, 1e4 + 3.0, rtol=1e-6)
    with jax.enable_x64(True):
        p64, t64 = jnp.array([0.5, -1.5, 2.0]), jnp.zeros(3)
        check_grads(lambda x: jaxloss.huber_loss(x, t64, delta=0.0), (p64,), 2, modes=["rev"])


def test_smooth_l1_beta_zero_is_l1_without_division_by_zero():
    p = jnp.array([0.0, 1.0, -2.0, 1e-30])
    t = jnp.zeros(4)
    np.testing.assert_array_equal(
        jaxloss.smooth_l1_loss(p, t, beta=0.0, reduction="none"),
        jaxloss.absolute_error(p, t, reduction="none"),
    )
    gp = jax.grad(jaxloss.smooth_l1_loss)(p, t, beta=0.0)
    np.testing.assert_array_equal(gp, np.sign(np.asarray(p)) / 4)
    gb = jax.grad(lambda b: jaxloss.smooth_l1_loss(p, t, beta=b, reduction="sum"))(0.0)
    assert np.isfinite(gb) and gb == -0.5 * 4  # d/d beta of |r| - beta/2
    with jax.enable_x64(True):
        p64, t64 = jnp.array([0.5, -1.5, 2.0]), jnp.zeros(3)
        f = lambda x: jaxloss.smooth_l1_loss(x, t64, beta=0.0)
        check_grads(f, (p64,), 2, modes=["rev"], eps=1e-3)


def test_absolute_errors_have_zero_subgradient_at_zero_residual():
    z = jnp.zeros(3)
    for fn in (jaxloss.absolute_error, jaxloss.smooth_l1_loss, jaxloss.huber_loss):
        np.testing.assert_array_equal(jax.grad(fn)(z, z), 0.0)


def test_log_cosh_huge_and_tiny_residuals():
    r = jnp.array([1e4, -1e4, 50.0, 1e-4, 0.0], jnp.float32)
    t = jnp.zeros_like(r)
    out = jaxloss.log_cosh(r, t, reduction="none")
    assert np.all(np.isfinite(out))
    expected = [1e4 - math.log(2), 1e4 - math.log(2), 50 - math.log(2), 0.5e-8, 0.0]
    np.testing.assert_allclose(out, expected, rtol=1e-6)  # also relative for 1e-4
    g = jax.grad(jaxloss.log_cosh)(r, t)
    np.testing.assert_allclose(g, np.tanh(np.asarray(r, np.float64)) / 5, rtol=1e-6)
    with jax.enable_x64(True):
        # One function for the four points (of one shape): check_grads compiles it once.
        f = lambda v: jaxloss.log_cosh(v, jnp.zeros_like(v))
        for x in ([1e4, -1e4], [0.0, 1e-6], [1.0, -1.0], [0.999, 1.001]):
            check_grads(f, (jnp.array(x, jnp.float64),), 2, ["rev"], eps=1e-4)


def _cosine_gradients(fn, x, y):
    """In one program: the default loss's (x, y) gradients, then x's at epsilon=1e-3 and 0."""
    grads = lambda x, y: (
        jax.grad(fn, argnums=(0, 1))(x, y, reduction="sum"),
        jax.grad(fn)(x, y, epsilon=1e-3, reduction="sum"),
        jax.grad(fn)(x, y, epsilon=0.0),
    )
    return jax.tree.map(np.asarray, jax.jit(grads)(x, y))


def test_cosine_zero_vectors_have_finite_value_and_bounded_gradient():
    y = jnp.array([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    x = jnp.zeros_like(y)
    eps = 1e-8
    for fn, sign in ((jaxloss.cosine_similarity, 1.0), (jaxloss.cosine_distance, -1.0)):
        v = fn(x, y, reduction="none")
        np.testing.assert_array_equal(v, [0.0, 0.0] if sign > 0 else [1.0, 1.0])
        (gx, gy), g, g0 = _cosine_gradients(fn, x, y)
        assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))
        # Sound bound: at x = 0 the similarity is <x, y/||y||> / epsilon, so its gradient is
        # y / (||y|| epsilon), at most 1/epsilon in every element (the clamp makes the
        # denominator exactly epsilon; nothing else can grow). We check the exact value.
        assert np.all(np.abs(gx) <= (1.0 + 1e-6) / eps)
        np.testing.assert_allclose(gx[0], sign * np.array([1.0, 2.0, 2.0]) / 3.0 / eps, rtol=1e-6)
        np.testing.assert_array_equal(gx[1], 0.0)  # both zero: zero gradient
        np.testing.assert_array_equal(gy, 0.0)  # y's gradient is proportional to x = 0
        # A larger epsilon bounds the gradient further (here by 1e3).
        assert np.all(np.abs(g) <= 1e3 * (1 + 1e-6))
        # epsilon = 0 still gives a finite value and gradient for zero vectors.
        assert np.all(np.isfinite(fn(x, y, epsilon=0.0, reduction="none")))
        assert np.all(np.isfinite(g0))


def test_cosine_check_grads_near_zero_vector():
    with jax.enable_x64(True):
        y = jnp.array([1.0, -2.0, 0.5])
        # One function for the three points (of one shape): check_grads compiles it once.
        f = lambda v: jaxloss.cosine_similarity(v, y, epsilon=0.05)
        for x in ([0.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [0.3, 0.1, -0.2]):
            x = jnp.array(x)
            # At/near the zero vector the loss is linear in x (norm clamped): exact FD.
            check_grads(f, (x,), 2, modes=["rev"], eps=1e-5)


def test_mape_zero_target_is_finite():
    p = jnp.array([0.5, 0.0])
    t = jnp.zeros(2)
    out = jaxloss.mape(p, t, reduction="none")
    np.testing.assert_allclose(out, [100 * 0.5 / 1e-7, 0.0], rtol=1e-6)
    assert np.all(np.isfinite(jax.grad(jaxloss.mape, argnums=(0, 1))(p, t)))


def test_msle_clips_negative_inputs():
    p = jnp.array([-0.5, -3.0, 2.0])
    t = jnp.array([1.0, -1.0, -2.0])
    out = jaxloss.msle(p, t, reduction="none")
    ref = ref_squared_logarithmic_error(np.asarray(p, np.float64), np.asarray(t, np.float64))
    np.testing.assert_allclose(out, ref, **TOL)
    g = jax.grad(jaxloss.msle)(p, t)
    np.testing.assert_array_equal(g[:2], 0.0)  # clipped predictions: zero gradient
    assert g[2] > 0


def test_poisson_zero_rate_and_zero_count_are_finite():
    z = jnp.zeros(3)
    for kwargs in ({}, {"epsilon": 0.0}):
        assert float(jaxloss.poisson_loss(z, z, **kwargs)) == 0.0
        g = jax.grad(jaxloss.poisson_loss, argnums=(0, 1))(z, z, **kwargs)
        assert all(np.all(np.isfinite(x)) for x in g)
        g = jax.grad(jaxloss.poisson_nll_loss, argnums=(0, 1))(z, z, log_input=False, **kwargs)
        assert all(np.all(np.isfinite(x)) for x in g)
    # A zero rate with a positive count: -t log(epsilon).
    np.testing.assert_allclose(
        jaxloss.poisson_loss(jnp.zeros(1), jnp.ones(1)), -math.log(1e-7), rtol=1e-6
    )


def test_poisson_nll_stirling_term_only_above_one():
    p = jnp.zeros(4)
    t = jnp.array([0.0, 1.0, 2.0, 7.0])
    plain = jaxloss.poisson_nll_loss(p, t, reduction="none")
    full = jaxloss.poisson_nll_loss(p, t, full=True, reduction="none")
    np.testing.assert_array_equal(full[:2], plain[:2])
    tt = np.array([2.0, 7.0])
    stirling = tt * np.log(tt) - tt + 0.5 * np.log(2 * np.pi * tt)
    np.testing.assert_allclose(full[2:] - plain[2:], stirling, rtol=1e-5)
    g = jax.grad(jaxloss.poisson_nll_loss, argnums=(0, 1))(p, t, full=True)
    assert all(np.all(np.isfinite(x)) for x in g)


def test_gaussian_nll_clamp_blocks_variance_gradient():
    p = jnp.array([1.0, 1.0, 1.0, 1.0])
    t = jnp.zeros(4)
    v = jnp.array([0.0, 1e-8, -1.0, 2.0])
    out = jaxloss.gaussian_nll_loss(p, t, v, reduction="none")
    ref = ref_gaussian_nll_loss(np.ones(4), np.zeros(4), np.maximum(np.asarray(v), 1e-6))
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    gv = jax.grad(jaxloss.gaussian_nll_loss, argnums=2)(p, t, v, reduction="sum")
    assert np.all(np.isfinite(gv))
    np.testing.assert_array_equal(gv[:3], 0.0)  # clamped: no gradient to the variance
    np.testing.assert_allclose(gv[3], 0.5 * (1 / 2.0 - 1 / 4.0), rtol=1e-6)


def test_gaussian_nll_variance_broadcasts():
    rng = np.random.default_rng(7)
    p = rng.normal(size=(3, 4)).astype(np.float32)
    t = rng.normal(size=(3, 4)).astype(np.float32)
    for v in (
        rng.uniform(0.5, 2, size=(3, 1)),
        rng.uniform(0.5, 2, size=(4,)),
        np.float32(1.5),
    ):
        v = np.asarray(v, np.float32)
        out = jaxloss.gaussian_nll_loss(p, t, v, reduction="none")
        assert out.shape == (3, 4)
        ref = ref_gaussian_nll_loss(p.astype(np.float64), t, np.broadcast_to(v, (3, 4)))
        np.testing.assert_allclose(out, ref, **TOL)
        # The gradient with respect to a shared variance sums over the broadcast.
        g = jax.grad(jaxloss.gaussian_nll_loss, argnums=2)(p, t, v)
        assert g.shape == v.shape and np.all(np.isfinite(g))


def test_gaussian_nll_masked_nonfinite_variance_gets_zero_gradient():
    p = jnp.array([0.5, 1.0, 2.0])
    t = jnp.zeros(3)
    v = jnp.array([1.0, jnp.nan, -jnp.inf])
    m = jnp.array([True, False, False])
    f = lambda v: jaxloss.gaussian_nll_loss(p, t, v, where=m)
    np.testing.assert_allclose(f(v), ref_gaussian_nll_loss(0.5, 0.0, 1.0), rtol=1e-6)
    g = jax.grad(f)(v)
    assert np.all(np.isfinite(g)) and np.all(g[1:] == 0)


# ---------------------------------------------------------------------------
# traced hyperparameters


def test_huber_delta_as_traced_scalar_does_not_retrace():
    traces = []

    @jax.jit
    def f(p, t, delta):
        traces.append(None)  # Python side effect: runs once per trace
        return jaxloss.huber_loss(p, t, delta=delta, reduction="none")

    p, t = _inputs("huber_loss")
    for d in (0.5, 1.0, 2.0, 0.0):
        out = f(p, t, jnp.float32(d))
        np.testing.assert_allclose(out, ref_huber_loss(p.astype(np.float64), t, d), **TOL)
    assert len(traces) == 1


def test_quantile_vmapped_over_quantiles():
    p, t = _inputs("quantile_loss")
    qs = jnp.array([0.1, 0.25, 0.5, 0.9])
    out = jax.vmap(lambda q: jaxloss.quantile_loss(p, t, quantile=q, reduction="none"))(qs)
    assert out.shape == (4,) + BATCH
    for k, q in enumerate(np.asarray(qs, np.float64)):
        np.testing.assert_allclose(out[k], ref_quantile_loss(p.astype(np.float64), t, q), **TOL)
    # Traced too: gradient with respect to the quantile is mean(r), r = t - p.
    g = jax.grad(lambda q: jaxloss.quantile_loss(p, t, quantile=q))(0.3)
    np.testing.assert_allclose(g, np.mean(t.astype(np.float64) - p), rtol=1e-5)


def test_quantile_half_is_half_the_absolute_error():
    p, t = _inputs("absolute_error")
    np.testing.assert_allclose(
        jaxloss.quantile_loss(p, t, reduction="none"),
        0.5 * jaxloss.absolute_error(p, t, reduction="none"),
        **TOL,
    )


# ---------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    "name,kwargs,message",
    [
        ("huber_loss", {"delta": -1.0}, r"huber_loss: argument 'delta' must be >= 0.0, got -1.0"),
        ("smooth_l1_loss", {"beta": -0.5}, r"argument 'beta' must be >= 0.0, got -0.5"),
        ("quantile_loss", {"quantile": 0.0}, r"argument 'quantile' must be in \(0.0, 1.0\)"),
        ("quantile_loss", {"quantile": 1.0}, r"argument 'quantile' must be in \(0.0, 1.0\)"),
        ("quantile_loss", {"quantile": 1.5}, r"'quantile' must be in \(0.0, 1.0\), got 1.5"),
        ("absolute_percentage_error", {"epsilon": 0.0}, r"'epsilon' must be > 0.0, got 0.0"),
        ("squared_logarithmic_error", {"epsilon": -1e-7}, r"'epsilon' must be >= 0.0"),
        ("poisson_loss", {"epsilon": -1.0}, r"poisson_loss: argument 'epsilon' must be >= 0.0"),
        ("poisson_nll_loss", {"epsilon": -1.0}, r"argument 'epsilon' must be >= 0.0"),
        ("gaussian_nll_loss", {"epsilon": -1.0}, r"argument 'epsilon' must be >= 0.0"),
        ("cosine_similarity", {"epsilon": -1.0}, r"argument 'epsilon' must be >= 0.0"),
        ("cosine_distance", {"epsilon": -1.0}, r"argument 'epsilon' must be >= 0.0"),
        ("cosine_similarity", {"axis": 3}, r"cosine_similarity: argument 'axis'=3 is out of"),
    ],
)
def test_bad_hyperparameters_are_rejected(name, kwargs, message):
    args = _inputs(name)
    fn = getattr(jaxloss, name)
    with pytest.raises(ValueError, match=message):
        fn(*args, **kwargs)
    with pytest.raises(ValueError, match=message):  # also at trace time under jit
        jax.jit(lambda *a: fn(*a, **kwargs))(*args)


def test_jax_scalar_hyperparameters_are_range_checked_when_concrete():
    p, t = _inputs("huber_loss")
    with pytest.raises(ValueError, match="'delta' must be >= 0.0"):
        jaxloss.huber_loss(p, t, delta=jnp.float32(-1.0))


@pytest.mark.parametrize("flag", ["log_input", "full"])
@pytest.mark.parametrize("value", [1, "yes", jnp.array(True)])
def test_poisson_nll_flags_must_be_python_bools(flag, value):
    p, t = _inputs("poisson_nll_loss")
    with pytest.raises(TypeError, match=rf"poisson_nll_loss: argument '{flag}' must be a Python"):
        jaxloss.poisson_nll_loss(p, t, **{flag: value})


def test_gaussian_nll_full_must_be_a_python_bool():
    args = _inputs("gaussian_nll_loss")
    with pytest.raises(TypeError, match="gaussian_nll_loss: argument 'full' must be a Python"):
        jaxloss.gaussian_nll_loss(*args, full=1)


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.parametrize("shape", [(3,), (2,), (3, 4), (3, 2, 4)])
def test_gaussian_nll_unbroadcastable_variance(shape):
    p, t = np.ones((2, 4), np.float32), np.zeros((2, 4), np.float32)
    msg = (
        rf"gaussian_nll_loss: argument 'variance' with shape {re_shape(shape)} must be "
        r"broadcastable to 'predictions' shape \(2, 4\)"
    )
    with pytest.raises(ValueError, match=msg):
        jaxloss.gaussian_nll_loss(p, t, np.ones(shape, np.float32))


# ---------------------------------------------------------------------------
# properties (hypothesis, derandomized by tests/conftest.py)

_floats = st.floats(-30.0, 30.0, width=32, allow_nan=False, allow_infinity=False)
_pairs = st.tuples(
    hnp.arrays(np.float32, (6,), elements=_floats), hnp.arrays(np.float32, (6,), elements=_floats)
)
NON_NEGATIVE = [
    ("squared_error", {}),
    ("l2_loss", {}),
    ("absolute_error", {}),
    ("huber_loss", {"delta": 0.7}),
    ("smooth_l1_loss", {"beta": 0.7}),
    ("log_cosh", {}),
    ("absolute_percentage_error", {}),
    ("squared_logarithmic_error", {}),
    ("quantile_loss", {"quantile": 0.2}),
]
SYMMETRIC = [
    "squared_error",
    "l2_loss",
    "absolute_error",
    "huber_loss",
    "smooth_l1_loss",
    "log_cosh",
]


@settings(max_examples=20, deadline=None)
@given(_pairs)
def test_non_negative(pair):
    p, t = pair
    for name, kwargs in NON_NEGATIVE:
        out = np.asarray(getattr(jaxloss, name)(p, t, **kwargs, reduction="none"))
        assert np.all(out >= 0), name
    d = np.asarray(jaxloss.cosine_distance(p.reshape(2, 3), t.reshape(2, 3), reduction="none"))
    assert np.all(d >= -1e-6) and np.all(d <= 2 + 1e-6)


@settings(max_examples=20, deadline=None)
@given(_pairs)
def test_symmetric_losses_ignore_argument_order(pair):
    p, t = pair
    for name in SYMMETRIC:
        fn = getattr(jaxloss, name)
        np.testing.assert_array_equal(fn(p, t, reduction="none"), fn(t, p, reduction="none"))
    # The quantile loss mirrors: swapping the arguments swaps q and 1 - q.
    np.testing.assert_allclose(
        jaxloss.quantile_loss(p, t, quantile=0.2, reduction="none"),
        jaxloss.quantile_loss(t, p, quantile=0.8, reduction="none"),
        rtol=1e-6,
        atol=1e-6,
    )


@settings(max_examples=20, deadline=None)
@given(_pairs, st.floats(0.05, 5.0))
def test_huber_smooth_l1_and_log_cosh_bounds(pair, delta):
    p, t = (x.astype(np.float64) for x in pair)
    with jax.enable_x64(True):
        r = np.abs(p - t)
        h = np.asarray(jaxloss.huber_loss(p, t, delta=delta, reduction="none"))
        s = np.asarray(jaxloss.smooth_l1_loss(p, t, beta=delta, reduction="none"))
        lc = np.asarray(jaxloss.log_cosh(p, t, reduction="none"))
    np.testing.assert_allclose(s * delta, h, rtol=1e-12, atol=1e-12)
    assert np.all(h <= 0.5 * r**2 + 1e-12) and np.all(h <= delta * r + 1e-12)
    assert np.all(lc <= np.minimum(0.5 * r**2, r) + 1e-12)
    assert np.all(lc >= r - math.log(2) - 1e-12)


@settings(max_examples=20, deadline=None)
@given(_pairs, st.floats(0.1, 100.0), st.floats(0.1, 100.0))
def test_cosine_scale_invariance_and_bounds(pair, a, b):
    p, t = (x.reshape(2, 3) for x in pair)
    s = np.asarray(jaxloss.cosine_similarity(p, t, reduction="none"))
    assert np.all(np.abs(s) <= 1 + 1e-6)
    norms_ok = (np.linalg.norm(p, axis=-1) > 1e-3) & (np.linalg.norm(t, axis=-1) > 1e-3)
    scaled = np.asarray(jaxloss.cosine_similarity(a * p, b * t, reduction="none"))
    np.testing.assert_allclose(scaled[norms_ok], s[norms_ok], rtol=1e-5, atol=1e-5)
    flipped = np.asarray(jaxloss.cosine_similarity(-p, t, reduction="none"))
    np.testing.assert_allclose(flipped, -s, rtol=1e-6, atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(_pairs, st.floats(-10.0, 10.0))
def test_residual_losses_are_translation_invariant(pair, c):
    p, t = (x.astype(np.float64) for x in pair)
    with jax.enable_x64(True):
        for name in SYMMETRIC + ["quantile_loss"]:
            fn = getattr(jaxloss, name)
            np.testing.assert_allclose(
                fn(p + c, t + c, reduction="none"), fn(p, t, reduction="none"), atol=1e-9
            )


def test_first_and_second_order_check_fails_on_wrong_derivatives():
    """The one-program check used above must catch a wrong gradient and a gradient that
    is right while its own derivative (the Hessian) is wrong."""

    def with_tangent(rule):
        @jax.custom_jvp
        def cube(x):
            return jnp.sum(x**3)

        cube.defjvp(lambda p, t: (cube(p[0]), jnp.sum(rule(p[0]) * t[0])))
        return cube

    with jax.enable_x64(True):
        x = jnp.asarray([0.3, -1.2, 2.0], jnp.float64)
        check_first_and_second_order(with_tangent(lambda x: 3 * x**2), x)
        with pytest.raises(AssertionError, match="first order"):
            check_first_and_second_order(with_tangent(lambda x: 2 * x**2), x)
        with pytest.raises(AssertionError, match="second order"):
            check_first_and_second_order(
                with_tangent(lambda x: 3 * jax.lax.stop_gradient(x) ** 2), x
            )


# -- cosine: optax's element-shaped where and several axes -------------------------------


@pytest.mark.parametrize("name", ["cosine_similarity", "cosine_distance"])
def test_cosine_element_where_and_tuple_axis_match_reference_and_optax(name):
    """An element mask leaves the masked entries out of the dot product and both norms
    (as optax); a tuple axis makes one vector of several axes. Values and gradients
    against the float64 formula (masked entries set to 0) and optax."""
    rng = np.random.default_rng(40)
    p, t = rng.normal(size=(2, 3, 4, 5))
    m = rng.random((3, 4, 5)) < 0.6
    m[0, 1] = False  # an example with no entry left is masked: 0 in "none"
    fn, ox = getattr(jaxloss, name), getattr(optax.losses, name)
    cases = {(2,): dict(where=m), (2, 0): dict(axis=(2, 0)), (0, 1, 2): dict(axis=None)}
    cases[(1, 2)] = dict(axis=(1, 2), where=m)
    # optax's epsilon floors the squared norm: 1e-16 there is jaxloss's default 1e-8
    ours = jax.jit(lambda a, b: [fn(a, b, reduction="none", **kw) for kw in cases.values()])
    theirs = jax.jit(lambda a, b: [ox(a, b, epsilon=1e-16, **kw) for kw in cases.values()])
    f32 = p.astype(np.float32), t.astype(np.float32)
    for (axes, kw), out, other in zip(cases.items(), ours(*f32), theirs(*f32)):
        w = kw.get("where", np.ones(p.shape, bool))
        expected = REFS[name](np.where(w, p, 0), np.where(w, t, 0), axis=axes)
        expected = np.where(np.any(w, axis=axes), expected, 0.0)
        np.testing.assert_allclose(out, expected, rtol=2e-5, atol=2e-6, err_msg=str(kw))
        if "where" in kw:  # optax: 1 - 0 for cosine_distance of the empty example
            other = np.where(np.any(w, axis=axes), other, 0.0)
        np.testing.assert_allclose(out, other, rtol=2e-5, atol=2e-6, err_msg=str(kw))
    with jax.enable_x64(True):
        kw = dict(axis=(1, 2), where=m)
        f = lambda a, b: fn(a, b, reduction="sum", **kw)
        grads = jax.jit(
            lambda a, b: (
                jax.grad(f, argnums=(0, 1))(a, b),
                jax.grad(lambda a, b: jnp.sum(ox(a, b, epsilon=1e-16, **kw)), argnums=(0, 1))(a, b),
            )
        )
        for g, h in zip(*grads(p, t)):
            np.testing.assert_allclose(g, np.where(m, h, 0), rtol=1e-10, atol=1e-12)
        check_grads(lambda a, b: fn(a, b, axis=(0, 2), where=m), (p, t), 1, modes=["rev"])


def test_cosine_masked_entries_holding_inf_and_nan_do_not_leak():
    rng = np.random.default_rng(41)
    p, t = rng.normal(size=(2, 4, 5)).astype(np.float32)
    m = np.ones((4, 5), bool)
    m[0, 1] = m[1, 3] = False
    m[3] = False
    bad_p, bad_t = p.copy(), t.copy()
    bad_p[~m], bad_t[0, 1], bad_t[1, 3] = np.nan, np.inf, -np.inf
    bad_t[3] = np.nan

    @jax.jit
    def run(a, b):
        out = {"none": jaxloss.cosine_distance(a, b, where=m, reduction="none")}
        out["mean"] = jax.value_and_grad(
            lambda a, b: jaxloss.cosine_distance(a, b, where=m), argnums=(0, 1)
        )(a, b)
        return out

    clean, dirty = run(p, t), run(bad_p, bad_t)
    expected = ref_cosine_distance(np.where(m, p, 0.0), np.where(m, t, 0.0))
    expected[3] = 0.0
    np.testing.assert_allclose(dirty["none"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dirty["mean"][0], expected[:3].mean(), rtol=1e-5)
    for g, h in zip(dirty["mean"][1], clean["mean"][1]):
        assert np.all(np.isfinite(g))
        np.testing.assert_array_equal(np.asarray(g)[~m], 0.0)
        np.testing.assert_allclose(g, h, rtol=1e-6)


def test_cosine_axis_and_where_errors():
    p = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"cosine_similarity: argument 'axis'=\(1, -1\) names"):
        jaxloss.cosine_similarity(p, p, axis=(1, -1))
    with pytest.raises(TypeError, match=r"cosine_distance: argument 'axis' must be an int or a"):
        jaxloss.cosine_distance(p, p, axis=1.0)
    with pytest.raises(ValueError, match=r"'where' with shape \(2, 4\) must be broadcastable"):
        jaxloss.cosine_distance(p, p, where=np.ones((2, 4), bool))
    # fewer dimensions: a per-example mask, checked against the per-example shape
    with pytest.raises(ValueError, match=r"broadcastable to the per-example loss shape \(3,\)"):
        jaxloss.cosine_distance(p, p, where=np.ones((4,), bool))
