"""Focal, poly and z losses and label smoothing (jaxloss/_classification.py).

References are float64 NumPy code written from the formulas in the docstrings.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jaxloss
from tests.grads import check_first_and_second_order, check_grads
from tests.references import ref_log_softmax

# -- independent float64 references ----------------------------------------


def ref_sigmoid_focal(x, y, alpha=None, gamma=2.0, label_smoothing=0.0):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    p = 1 / (1 + np.exp(-x))
    ce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    one_minus_pt = (1 - y) * p + y * (1 - p)
    loss = one_minus_pt**gamma * ce
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


def ref_softmax_focal(x, y, alpha=None, gamma=2.0, axis=-1, label_smoothing=0.0):
    x, y = np.moveaxis(np.asarray(x, np.float64), axis, -1), np.moveaxis(y, axis, -1)
    y = (1 - label_smoothing) * y + label_smoothing / x.shape[-1]
    logp = ref_log_softmax(x)
    a = np.ones(x.shape[-1]) if alpha is None else np.broadcast_to(alpha, x.shape[-1:])
    terms = a * y * (1 - np.exp(logp)) ** gamma * logp
    return -np.sum(np.where(y == 0, 0.0, terms), axis=-1)


def ref_poly(x, y, epsilon=2.0, axis=-1):
    x, y = np.moveaxis(np.asarray(x, np.float64), axis, -1), np.moveaxis(y, axis, -1)
    logp = ref_log_softmax(x)
    pt = np.sum(y * np.exp(logp), axis=-1)
    return -np.sum(np.where(y == 0, 0.0, y * logp), axis=-1) + epsilon * (np.sum(y, -1) - pt)


def ref_categorical_focal(p, y, alpha=0.25, gamma=2.0, label_smoothing=0.0, eps=1e-7, axis=-1):
    p = np.moveaxis(np.asarray(p, np.float64), axis, -1)
    y = np.moveaxis(np.asarray(y, np.float64), axis, -1)
    y = (1 - label_smoothing) * y + label_smoothing / p.shape[-1]
    p = np.clip(p, eps, 1 - eps)
    a = 1.0 if alpha is None else np.asarray(alpha, np.float64)
    return -np.sum(a * y * (1 - p) ** gamma * np.log(p), axis=-1)


def one_hot(labels, num_classes, axis=-1):
    return np.moveaxis(np.eye(num_classes)[np.asarray(labels)], -1, axis)


def numeric_grad(f, x, h=1e-6):
    """Central differences of the float64 NumPy function ``f`` (a scalar) at ``x``."""
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def ref_z_loss(x, axis=-1):
    x = np.asarray(x, np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    lse = np.log(np.sum(np.exp(x - m), axis=axis)) + np.squeeze(m, axis)
    return lse**2


def ref_smooth_labels(y, alpha, where=None):
    y = np.asarray(y, np.float64)
    if where is None:
        return (1 - alpha) * y + alpha / y.shape[-1]
    where = np.broadcast_to(where, y.shape)
    n = where.sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (1 - alpha) * y + alpha / n
    return np.where(where, out, 0.0)


def _logits(seed, shape=(4, 5), scale=2.0, dtype=np.float32):
    return (scale * np.random.default_rng(seed).normal(size=shape)).astype(dtype)


def _soft(seed, shape=(4, 5), dtype=np.float32):
    p = np.random.default_rng(seed).uniform(0.05, 1.0, size=shape)
    return (p / p.sum(-1, keepdims=True)).astype(dtype)


def _binary(seed, shape=(4, 5), soft=False):
    rng = np.random.default_rng(seed)
    y = rng.uniform(size=shape) if soft else rng.integers(0, 2, size=shape)
    return y.astype(np.float32)


TOL = dict(rtol=1e-5, atol=1e-6)

# The optax oracles, jitted: one compile per input kind instead of one per operation.
optax_sigmoid_focal_loss = jax.jit(optax.losses.sigmoid_focal_loss)
optax_softmax_cross_entropy = jax.jit(optax.losses.softmax_cross_entropy)
optax_poly_loss_cross_entropy = jax.jit(optax.losses.poly_loss_cross_entropy)


def _sum_derivatives(loss, x, y, gamma):
    """The "sum" of ``loss(x, y, gamma=gamma)`` and its gradient and Hessian by ``x``."""
    f = lambda v: loss(v, y, gamma=gamma, reduction="sum")
    return f(x), jax.grad(f)(x), jax.hessian(f)(x)


# Value, gradient and Hessian in one program, gamma compiled in (a Python float) or traced
# (an array: one compile serves every gamma).
_static_gamma_derivatives = jax.jit(_sum_derivatives, static_argnums=(0, 3))
_traced_gamma_derivatives = jax.jit(_sum_derivatives, static_argnums=0)


def _assert_finite_derivatives(loss, x, y, gamma):
    """Value, gradient and Hessian of ``loss`` are finite, gamma compiled in and traced."""
    for derivatives, g in (
        (_static_gamma_derivatives, gamma),
        (_traced_gamma_derivatives, jnp.float32(gamma)),
    ):
        value, grad, hessian = derivatives(loss, x, y, g)
        assert np.isfinite(value)
        assert np.all(np.isfinite(grad))
        assert np.all(np.isfinite(hessian))


# -- sigmoid_focal_loss -------------------------------------------------------


def _sigmoid_focal_by_gamma(gamma, x, y):
    """Per-entry sigmoid focal loss as a function of gamma."""
    return jaxloss.sigmoid_focal_loss(x, y, gamma=gamma, reduction="none")


# Module level: one compile serves every parametrization below.
_d_sigmoid_focal_d_gamma = jax.jit(jax.jacobian(_sigmoid_focal_by_gamma))


class TestSigmoidFocalLoss:
    @pytest.mark.parametrize("alpha", [None, 0.0, 0.25, 1.0])
    @pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.7])
    @pytest.mark.parametrize("soft", [False, True])
    def test_reference_and_optax(self, alpha, gamma, soft):
        x, y = _logits(0), _binary(1, soft=soft)
        out = jaxloss.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma, reduction="none")
        assert out.shape == x.shape and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_sigmoid_focal(x, y, alpha, gamma), **TOL)
        expected = optax_sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)
        np.testing.assert_allclose(out, expected, **TOL)

    def test_jit_and_traced_hyperparameters(self):
        x, y = _logits(2), _binary(3, soft=True)
        f = jax.jit(
            lambda x, y, a, g: jaxloss.sigmoid_focal_loss(x, y, alpha=a, gamma=g, reduction="none")
        )
        for a, g in [(0.25, 2.0), (0.75, 0.0), (0.5, 1.3)]:
            np.testing.assert_allclose(f(x, y, a, g), ref_sigmoid_focal(x, y, a, g), **TOL)
        # vmap over gamma: one value per gamma.
        gammas = jnp.array([0.0, 1.0, 2.0])
        means = jax.vmap(lambda g: jaxloss.sigmoid_focal_loss(x, y, gamma=g))(gammas)
        for g, m in zip(gammas.tolist(), means):
            np.testing.assert_allclose(m, ref_sigmoid_focal(x, y, None, g).mean(), rtol=1e-5)

    def test_gradients(self):
        with jax.enable_x64(True):
            x, y = _logits(4, scale=1.5, dtype=np.float64), _binary(5, soft=True).astype(float)
            for gamma in (0.0, 0.7, 2.0):
                f = jax.jit(
                    lambda v, gamma=gamma: jaxloss.sigmoid_focal_loss(v, y, alpha=0.3, gamma=gamma)
                )
                check_grads(f, (x,), order=2, modes=["rev"], eps=1e-4)
            # d/dgamma too, at 0 and above (one function: its programs serve both).
            g = jax.jit(lambda c: jaxloss.sigmoid_focal_loss(x, y, gamma=c))
            for gamma in (0.0, 1.5):
                check_grads(g, (jnp.float64(gamma + 1e-3),), order=1, modes=["rev"], eps=1e-4)

    @pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
    def test_gamma_zero_and_extreme_logits_hessian(self, gamma):
        x = jnp.array([80.0, -80.0, 80.0, -80.0, 0.0])
        y = jnp.array([1.0, 1.0, 0.0, 0.0, 0.3])
        _assert_finite_derivatives(jaxloss.sigmoid_focal_loss, x, y, gamma)
        # Traced gamma = 0 is exactly binary cross-entropy, and d/dgamma is finite.
        np.testing.assert_allclose(
            _sigmoid_focal_by_gamma(jnp.float32(0.0), x, y),
            jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="none"),
        )
        assert np.all(np.isfinite(_d_sigmoid_focal_d_gamma(jnp.float32(0.0), x, y)))

    def test_infinite_logits(self):
        x = jnp.array([jnp.inf, -jnp.inf, jnp.inf, -jnp.inf])
        y = jnp.array([1.0, 0.0, 0.0, 1.0])
        f = lambda v: jaxloss.sigmoid_focal_loss(v, y, alpha=0.25, reduction="none")
        np.testing.assert_array_equal(f(x), [0.0, 0.0, np.inf, np.inf])
        first_two = lambda v: jaxloss.sigmoid_focal_loss(v[:2], y[:2], reduction="sum")
        g = np.asarray(jax.jit(jax.grad(first_two))(x))
        np.testing.assert_array_equal(g[:2], [0.0, 0.0])

    def test_masked_entries(self):
        x, y = _logits(6), _binary(7)
        m = np.random.default_rng(8).random(x.shape) < 0.6
        poisoned = np.where(m, x, np.nan).astype(np.float32)
        f = lambda v: jaxloss.sigmoid_focal_loss(v, y, where=m)
        np.testing.assert_allclose(f(poisoned), ref_sigmoid_focal(x, y)[m].mean(), rtol=1e-5)
        g = np.asarray(jax.jit(jax.grad(f))(poisoned))
        assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)

    @given(
        x=hnp.arrays(np.float32, (6,), elements=st.floats(-30, 30, width=32)),
        y=hnp.arrays(np.float32, (6,), elements=st.floats(0, 1, width=32)),
        gamma=st.floats(0.0, 4.0),
    )
    @settings(max_examples=15)
    def test_bounded_by_cross_entropy(self, x, y, gamma):
        focal = jaxloss.sigmoid_focal_loss(x, y, gamma=gamma, reduction="none")
        ce = jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="none")
        assert np.all(np.asarray(focal) >= 0)
        assert np.all(np.asarray(focal) <= np.asarray(ce) * (1 + 1e-5) + 1e-6)

    def test_errors(self):
        x, y = _logits(9), _binary(9)
        with pytest.raises(ValueError, match=r"sigmoid_focal_loss: argument 'gamma' must be >= 0"):
            jaxloss.sigmoid_focal_loss(x, y, gamma=-0.5)
        with pytest.raises(
            ValueError, match=r"sigmoid_focal_loss: argument 'alpha' must be in \[0.0, 1.0\]"
        ):
            jaxloss.sigmoid_focal_loss(x, y, alpha=1.5)
        with pytest.raises(ValueError, match=r"sigmoid_focal_loss: arguments 'logits' and "):
            jaxloss.sigmoid_focal_loss(x, y[:, :2])
        with pytest.raises(TypeError, match=r"sigmoid_focal_loss: argument 'logits'.*floating"):
            jaxloss.sigmoid_focal_loss(y.astype(np.int32), y)
        # Also under jit.
        with pytest.raises(ValueError, match="'gamma' must be >= 0"):
            jax.jit(lambda v: jaxloss.sigmoid_focal_loss(v, y, gamma=-1.0))(x)


# -- softmax_focal_loss -------------------------------------------------------


class TestSoftmaxFocalLoss:
    @pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
    @pytest.mark.parametrize("alpha", [None, 0.25, np.array([0.1, 0.5, 1.0, 2.0, 0.0], np.float32)])
    def test_reference(self, gamma, alpha):
        x, y = _logits(10), _soft(11)
        out = jaxloss.softmax_focal_loss(x, y, alpha=alpha, gamma=gamma, reduction="none")
        assert out.shape == (4,) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_softmax_focal(x, y, alpha, gamma), **TOL)
        out_jit = jax.jit(lambda a, b: jaxloss.softmax_focal_loss(a, b, alpha=alpha, gamma=gamma))(
            x, y
        )
        np.testing.assert_allclose(out_jit, out.mean(), rtol=1e-6)

    def test_gamma_zero_is_softmax_cross_entropy(self):
        x, y = _logits(12), _soft(13)
        out = jaxloss.softmax_focal_loss(x, y, gamma=0.0, reduction="none")
        np.testing.assert_allclose(out, optax_softmax_cross_entropy(x, y), **TOL)
        out = jaxloss.softmax_focal_loss(x, y, gamma=jnp.float32(0.0), reduction="none")
        np.testing.assert_allclose(out, optax_softmax_cross_entropy(x, y), **TOL)

    @pytest.mark.parametrize("axis", [0, 1, -3])
    def test_axis(self, axis):
        x, y = _logits(14, (3, 2, 5)), _soft(15, (3, 2, 5))
        x, y = np.moveaxis(x, -1, axis), np.moveaxis(y, -1, axis)
        out = jaxloss.softmax_focal_loss(x, y, gamma=1.5, axis=axis, reduction="none")
        np.testing.assert_allclose(out, ref_softmax_focal(x, y, None, 1.5, axis), **TOL)

    def test_confident_rows_are_accurate(self):
        # 1 - p of the top class is the sum of the others: no cancellation.
        x = np.array([[20.0, 0.0, 0.0], [12.0, 0.0, -3.0], [80.0, -80.0, 0.0]], np.float32)
        y = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [1.0, 0.0, 0.0]], np.float32)
        out = jaxloss.softmax_focal_loss(x, y, gamma=0.5, reduction="none")
        np.testing.assert_allclose(out, ref_softmax_focal(x, y, None, 0.5), rtol=1e-5)

    def test_gradients(self):
        with jax.enable_x64(True):
            x, y = _logits(16, dtype=np.float64), _soft(17).astype(np.float64)
            alpha = np.array([0.5, 1.0, 1.5, 2.0, 0.25])
            for gamma in (0.0, 0.7, 2.0):
                f = jax.jit(
                    lambda v, g=gamma: jaxloss.softmax_focal_loss(v, y, alpha=alpha, gamma=g)
                )
                check_grads(f, (x,), order=2, modes=["rev"], eps=1e-4)

    @pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
    def test_extreme_logits_hessian(self, gamma):
        x = jnp.array([[80.0, -80.0, 0.0], [-80.0, 80.0, -80.0], [0.0, 0.0, 0.0]])
        y = jnp.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
        _assert_finite_derivatives(jaxloss.softmax_focal_loss, x, y, gamma)

    def test_minus_inf_logits_and_class_mask(self):
        x = jnp.array([[1.0, -jnp.inf, 0.5], [-jnp.inf, -jnp.inf, -jnp.inf]])
        y = jnp.array([[0.7, 0.0, 0.3], [1.0, 0.0, 0.0]])
        f = lambda v: jaxloss.softmax_focal_loss(v, y, gamma=2.0, reduction="none")
        # NumPy for indexing and for building inputs: eager jax ops compile one by one.
        out = np.asarray(f(x))
        np.testing.assert_allclose(out[0], ref_softmax_focal([[1.0, 0.5]], [[0.7, 0.3]])[0])
        assert float(out[1]) == 0.0
        g = np.asarray(jax.jit(jax.grad(lambda v: f(v).sum()))(x))
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0)
        # A class mask gives the same as -inf logits.
        cmask = np.array([[True, False, True], [True, True, True]])
        xm = np.where(cmask, np.nan_to_num(np.asarray(x), neginf=0.0), np.float32(3.0))
        y1 = np.asarray(y)[:1]
        masked = jaxloss.softmax_focal_loss(xm[:1], y1, where=cmask[:1], reduction="none")
        np.testing.assert_allclose(masked, out[:1], rtol=1e-6)

    @given(
        x=hnp.arrays(np.float32, (3, 4), elements=st.floats(-20, 20, width=32)),
        shift=st.floats(-50, 50),
        gamma=st.floats(0.0, 3.0),
    )
    @settings(max_examples=15)
    def test_shift_invariant_non_negative_and_below_ce(self, x, shift, gamma):
        y = _soft(18, (3, 4))
        out = np.asarray(jaxloss.softmax_focal_loss(x, y, gamma=gamma, reduction="none"))
        shifted = jaxloss.softmax_focal_loss(
            x + np.float32(shift), y, gamma=gamma, reduction="none"
        )
        np.testing.assert_allclose(shifted, out, rtol=1e-4, atol=1e-4)
        ce = np.asarray(jaxloss.softmax_cross_entropy(x, y, reduction="none"))
        assert np.all(out >= 0) and np.all(out <= ce * (1 + 1e-5) + 1e-6)

    def test_errors(self):
        x, y = _logits(19), _soft(19)
        with pytest.raises(ValueError, match=r"softmax_focal_loss: argument 'gamma' must be >= 0"):
            jaxloss.softmax_focal_loss(x, y, gamma=-1.0)
        with pytest.raises(ValueError, match=r"softmax_focal_loss: argument 'alpha' must be >= 0"):
            jaxloss.softmax_focal_loss(x, y, alpha=np.array([1.0, -1.0, 1.0, 1.0, 1.0]))
        with pytest.raises(
            ValueError,
            match=r"softmax_focal_loss: argument 'alpha' must be a scalar or have "
            r"shape \(5,\).*got \(3,\)",
        ):
            jaxloss.softmax_focal_loss(x, y, alpha=np.ones(3))
        with pytest.raises(ValueError, match=r"softmax_focal_loss: arguments 'logits' and"):
            jaxloss.softmax_focal_loss(x, y[:, :3])
        with pytest.raises(TypeError, match=r"softmax_focal_loss: argument 'logits'.*floating"):
            jaxloss.softmax_focal_loss(np.zeros((2, 3), np.int32), np.ones((2, 3)))


# -- poly_loss_cross_entropy --------------------------------------------------


class TestPolyLoss:
    @pytest.mark.parametrize("epsilon", [2.0, -1.0, 0.0, 5.5])
    def test_reference_and_optax(self, epsilon):
        x, y = _logits(20), _soft(21)
        out = jaxloss.poly_loss_cross_entropy(x, y, epsilon=epsilon, reduction="none")
        assert out.shape == (4,) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_poly(x, y, epsilon), **TOL)
        expected = optax_poly_loss_cross_entropy(x, y, epsilon=epsilon)
        np.testing.assert_allclose(out, expected, **TOL)
        f = jax.jit(lambda a, b, e: jaxloss.poly_loss_cross_entropy(a, b, epsilon=e))
        np.testing.assert_allclose(f(x, y, epsilon), ref_poly(x, y, epsilon).mean(), rtol=1e-5)

    def test_class_mask_matches_optax_where(self):
        x, y = _logits(22), _soft(23)
        cmask = np.random.default_rng(24).random(x.shape) < 0.7
        cmask[:, 0] = True
        y = np.where(cmask, y, 0.0).astype(np.float32)
        out = jaxloss.poly_loss_cross_entropy(x, y, where=cmask, reduction="none")
        expected = optax_poly_loss_cross_entropy(x, y, where=cmask)
        np.testing.assert_allclose(out, expected, **TOL)

    @pytest.mark.parametrize("axis", [0, -2])
    def test_axis(self, axis):
        x, y = _logits(25, (3, 5)), _soft(26, (3, 5))
        x, y = np.moveaxis(x, -1, axis), np.moveaxis(y, -1, axis)
        out = jaxloss.poly_loss_cross_entropy(x, y, axis=axis, reduction="none")
        np.testing.assert_allclose(out, ref_poly(x, y, 2.0, axis), **TOL)

    def test_confident_prediction_keeps_polynomial_term(self):
        # p_t = 1 - 2e-9: 1 - p_t is below float32 resolution near 1 but still computed.
        x = np.array([[20.0, 0.0, 0.0]], np.float32)
        y = np.array([[1.0, 0.0, 0.0]], np.float32)
        out = jaxloss.poly_loss_cross_entropy(x, y, epsilon=2.0, reduction="none")
        np.testing.assert_allclose(out, ref_poly(x, y, 2.0), rtol=1e-5)

    def test_gradients(self):
        with jax.enable_x64(True):
            x, y = _logits(27, dtype=np.float64), _soft(28).astype(np.float64)
            f = jax.jit(lambda v, e: jaxloss.poly_loss_cross_entropy(v, y, epsilon=e))
            check_grads(f, (x, 2.0), order=2, modes=["rev", "fwd"], eps=1e-4)
            # Labels are differentiable too (soft labels, all positive here).
            h = lambda w: jaxloss.poly_loss_cross_entropy(x, w, epsilon=2.0)
            check_grads(h, (y,), order=2, modes=["rev", "fwd"], eps=1e-4)
            # At a -inf logit whose label is 0 the gradient is finite.
            xi = x.copy()
            xi[0, 1] = -np.inf
            yi = y.copy()
            yi[0] = [0.5, 0.0, 0.5, 0.0, 0.0]
            g = jax.jit(jax.grad(lambda v: jaxloss.poly_loss_cross_entropy(v, yi)))(xi)
            assert np.all(np.isfinite(g))

    @given(x=hnp.arrays(np.float32, (3, 4), elements=st.floats(-30, 30, width=32)))
    @settings(max_examples=15)
    def test_non_negative_for_epsilon_at_least_minus_one(self, x):
        y = _soft(29, (3, 4))
        out = jaxloss.poly_loss_cross_entropy(x, y, epsilon=-1.0, reduction="none")
        assert np.all(np.asarray(out) >= -1e-6)

    def test_errors(self):
        x, y = _logits(30), _soft(30)
        with pytest.raises(ValueError, match=r"poly_loss_cross_entropy: arguments 'logits' and"):
            jaxloss.poly_loss_cross_entropy(x, y[:2])
        with pytest.raises(TypeError, match=r"poly_loss_cross_entropy: argument 'epsilon'"):
            jaxloss.poly_loss_cross_entropy(x, y, epsilon=np.array("a"))


# -- z_loss -------------------------------------------------------------------


class TestZLoss:
    def test_reference(self):
        x = _logits(31, scale=5.0)
        out = jaxloss.z_loss(x, reduction="none")
        assert out.shape == (4,) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_z_loss(x), **TOL)
        np.testing.assert_allclose(jax.jit(jaxloss.z_loss)(x), ref_z_loss(x).mean(), rtol=1e-6)
        # Large logits: no overflow.
        np.testing.assert_allclose(
            jaxloss.z_loss(x + 1e3, reduction="none"), ref_z_loss(x.astype(float) + 1e3), **TOL
        )

    def test_matches_integer_ce_z_term(self):
        x = _logits(32)
        labels = np.array([0, 1, 2, 3])
        with_z = jaxloss.softmax_cross_entropy_with_integer_labels(
            x, labels, z_loss=1e-2, reduction="none"
        )
        plain = jaxloss.softmax_cross_entropy_with_integer_labels(x, labels, reduction="none")
        np.testing.assert_allclose(
            with_z - plain, 1e-2 * jaxloss.z_loss(x, reduction="none"), rtol=1e-4, atol=1e-6
        )

    def test_axis_class_mask_and_empty_rows(self):
        x = _logits(33, (5, 3))
        np.testing.assert_allclose(
            jaxloss.z_loss(x, axis=0, reduction="none"), ref_z_loss(x, axis=0), **TOL
        )
        cmask = np.array([[True, False, True, True, False]] * 3 + [[False] * 5])
        x = _logits(38, (4, 5))
        # NumPy for indexing and for building inputs: eager jax ops compile one by one.
        out = np.asarray(jaxloss.z_loss(x, where=cmask, reduction="none"))
        ref = [ref_z_loss(r[m]) for r, m in zip(x[:3], cmask[:3])]
        np.testing.assert_allclose(out[:3], ref, **TOL)
        assert float(out[3]) == 0.0
        xi = np.full((2, 3), -np.inf, np.float32)
        xi[0] = 1.0
        f = lambda v: jaxloss.z_loss(v, reduction="sum")
        np.testing.assert_allclose(f(xi), ref_z_loss(np.ones(3)), rtol=1e-6)
        g = np.asarray(jax.jit(jax.grad(f))(xi))
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0)

    def test_gradients(self):
        with jax.enable_x64(True):
            x = _logits(34, dtype=np.float64)
            check_grads(jax.jit(jaxloss.z_loss), (x,), order=2, modes=["rev"], eps=1e-4)

    def test_errors(self):
        with pytest.raises(TypeError, match=r"z_loss: argument 'logits'.*floating"):
            jaxloss.z_loss(np.zeros((2, 3), np.int32))
        with pytest.raises(ValueError, match=r"z_loss: argument 'axis'=2 is out of range"):
            jaxloss.z_loss(np.zeros((2, 3), np.float32), axis=2)


# -- smooth_labels -------------------------------------------------------------


class TestSmoothLabels:
    def test_reference_and_optax(self):
        y = np.eye(5, dtype=np.float32)[[0, 3, 4]]
        for alpha in (0.0, 0.1, 1.0):
            out = jaxloss.smooth_labels(y, alpha)
            np.testing.assert_allclose(out, ref_smooth_labels(y, alpha), **TOL)
            np.testing.assert_allclose(out, optax.smooth_labels(y, alpha), **TOL)

    def test_axis_and_traced_alpha(self):
        y = np.moveaxis(_soft(35, (2, 4)), -1, 0)
        out = jaxloss.smooth_labels(y, 0.2, axis=0)
        np.testing.assert_allclose(out, np.moveaxis(ref_smooth_labels(y.T, 0.2), -1, 0), **TOL)
        f = jax.jit(lambda a: jaxloss.smooth_labels(y, a, axis=0))
        np.testing.assert_allclose(f(0.2), out, rtol=1e-6)
        # d/dalpha of every entry is 1/C - y.
        jac = jax.jit(jax.jacobian(lambda a: jaxloss.smooth_labels(y, a, axis=0)))(0.3)
        np.testing.assert_allclose(jac, 0.25 - y, rtol=1e-6)
        # Exported, but not a registered loss.
        assert jaxloss.smooth_labels is jaxloss._classification.smooth_labels
        assert "smooth_labels" in jaxloss.__all__
        assert "smooth_labels" not in jaxloss.names()

    def test_where_spreads_mass_over_unmasked_classes(self):
        y = np.array([[0.0, 1.0, 0.0, 0.0], [0.5, 0.0, 0.5, 0.0]], np.float32)
        w = np.array([[True, True, False, True], [False, False, False, False]])
        out = np.asarray(jaxloss.smooth_labels(y, 0.3, where=w))
        np.testing.assert_allclose(out[0], [0.1, 0.8, 0.0, 0.1], rtol=1e-6)
        np.testing.assert_array_equal(out[1], 0.0)
        np.testing.assert_allclose(out, ref_smooth_labels(y, 0.3, w), rtol=1e-6)
        # A class mask broadcast over the rows.
        out = jaxloss.smooth_labels(y, 0.3, where=w[0])
        np.testing.assert_allclose(out, ref_smooth_labels(y, 0.3, w[0]), rtol=1e-6)

    @given(
        y=hnp.arrays(np.float32, (3, 4), elements=st.floats(0.125, 1.0, width=32)),
        alpha=st.floats(0.0, 1.0),
    )
    @settings(max_examples=15)
    def test_preserves_normalization(self, y, alpha):
        y = y / y.sum(-1, keepdims=True)
        out = np.asarray(jaxloss.smooth_labels(y, alpha))
        np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
        assert np.all(out >= 0)

    def test_errors(self):
        y = np.eye(3, dtype=np.float32)
        with pytest.raises(ValueError, match=r"smooth_labels: argument 'alpha' must be in \[0"):
            jaxloss.smooth_labels(y, 1.5)
        with pytest.raises(TypeError, match=r"smooth_labels: argument 'where' must be a boolean"):
            jaxloss.smooth_labels(y, 0.1, where=np.ones((3, 3)))
        with pytest.raises(ValueError, match=r"smooth_labels: argument 'where'.*broadcastable"):
            jaxloss.smooth_labels(y, 0.1, where=np.ones((2,), bool))


def test_nan_logits_propagate():
    # A NaN logit is loud: NaN for its example only (never silently 0).
    x = jnp.array([[jnp.nan, 1.0, 0.0], [1.0, 2.0, 3.0]])
    y = jnp.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    for out in (  # NumPy for indexing: eager jax indexing compiles a gather per shape
        np.asarray(jaxloss.softmax_focal_loss(x, y, reduction="none")),
        np.asarray(jaxloss.poly_loss_cross_entropy(x, y, reduction="none")),
        np.asarray(jaxloss.z_loss(x, reduction="none")),
        np.asarray(jaxloss.sigmoid_focal_loss(x, y, reduction="none"))[:, 0],
    ):
        assert np.isnan(out[0]) and np.isfinite(out[1])


def test_array_alpha_survives_a_config_round_trip():
    loss = jaxloss.get("softmax_focal_loss", alpha=np.array([1.0, 2.0, 0.5]), gamma=1.0)
    x, y = _logits(36, (2, 3)), _soft(37, (2, 3))
    again = jaxloss.Loss.from_config(loss.config())
    np.testing.assert_allclose(again(x, y), loss(x, y), rtol=1e-6)


# -- label smoothing in the logits focal losses ---------------------------------


def _cotangent(seed, shape):
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


def _value_and_grads(loss, args, cot, **kwargs):
    """``sum(cot * loss(*args, reduction="none"))`` and its gradients by every arg (one
    compiled program)."""

    def f(*a):
        return jnp.sum(cot * loss(*a, reduction="none", **kwargs))

    return jax.jit(jax.value_and_grad(f, argnums=tuple(range(len(args)))))(*args)


def _assert_matches_reference(loss, ref, args, cot, rtol=1e-7, atol=1e-9, **kwargs):
    """Value and gradients (float64) of ``loss`` against the NumPy reference ``ref`` (its
    gradients by central differences)."""
    value, grads = _value_and_grads(loss, args, cot, **kwargs)

    def total(*a):
        return np.sum(cot * ref(*a))

    np.testing.assert_allclose(value, total(*args), rtol=1e-10)
    for i, g in enumerate(grads):

        def partial(v, i=i):
            a = list(args)
            a[i] = v
            return total(*a)

        np.testing.assert_allclose(
            g, numeric_grad(partial, args[i]), rtol=rtol, atol=atol, err_msg=f"argument {i}"
        )


class TestFocalLabelSmoothing:
    def test_sigmoid_reference_values_and_gradients(self):
        x, y = _logits(40, (3, 4)), _binary(41, (3, 4))
        out = jaxloss.sigmoid_focal_loss(x, y, alpha=0.25, label_smoothing=0.2, reduction="none")
        np.testing.assert_allclose(out, ref_sigmoid_focal(x, y, 0.25, 2.0, 0.2), **TOL)
        with jax.enable_x64(True):
            x, y = x.astype(np.float64), y.astype(np.float64)
            kw = dict(alpha=0.25, gamma=1.5, label_smoothing=0.2)
            ref = lambda v, w: ref_sigmoid_focal(v, w, 0.25, 1.5, 0.2)
            _assert_matches_reference(
                jaxloss.sigmoid_focal_loss, ref, (x, y), _cotangent(42, x.shape), **kw
            )
            # d/d label_smoothing, traced.
            f = jax.jit(lambda s: jaxloss.sigmoid_focal_loss(x, y, label_smoothing=s))
            check_grads(f, (jnp.float64(0.2),), order=1, modes=["rev"], eps=1e-4)

    def test_sigmoid_smoothed_labels_enter_the_class_weight(self):
        # Keras: alpha_t = alpha * y_s + (1 - alpha) * (1 - y_s) with the smoothed label y_s.
        x, y = _logits(43, (2, 3)), _binary(44, (2, 3))
        out = jaxloss.sigmoid_focal_loss(x, y, alpha=0.9, label_smoothing=0.4, reduction="none")
        presmoothed = jaxloss.sigmoid_focal_loss(x, 0.6 * y + 0.2, alpha=0.9, reduction="none")
        np.testing.assert_allclose(out, presmoothed, rtol=1e-6)
        hard_weight = ref_sigmoid_focal(x, y, None, 2.0, 0.4) * (0.9 * y + 0.1 * (1 - y))
        assert not np.allclose(out, hard_weight, rtol=1e-3)

    def test_sigmoid_infinite_logit_with_smoothing_is_inf(self):
        x = jnp.array([jnp.inf, -jnp.inf])
        y = jnp.array([1.0, 0.0])
        out = jaxloss.sigmoid_focal_loss(x, y, label_smoothing=0.1, reduction="none")
        np.testing.assert_array_equal(out, [np.inf, np.inf])

    def test_softmax_reference_values_and_gradients(self):
        x, y = _logits(45), _soft(46)
        alpha = np.array([0.5, 1.0, 1.5, 2.0, 0.25], np.float32)
        for axis in (-1, 0):
            xa, ya = np.moveaxis(x, -1, axis), np.moveaxis(y, -1, axis)
            out = jaxloss.softmax_focal_loss(
                xa, ya, alpha=alpha, gamma=0.5, label_smoothing=0.1, axis=axis, reduction="none"
            )
            ref = ref_softmax_focal(xa, ya, alpha, 0.5, axis, label_smoothing=0.1)
            np.testing.assert_allclose(out, ref, **TOL)
        with jax.enable_x64(True):
            x, y = x.astype(np.float64), y.astype(np.float64)
            ref = lambda v, w: ref_softmax_focal(v, w, alpha, 1.5, label_smoothing=0.1)
            kw = dict(alpha=alpha, gamma=1.5, label_smoothing=0.1)
            _assert_matches_reference(
                jaxloss.softmax_focal_loss, ref, (x, y), _cotangent(47, (4,)), **kw
            )

    def test_softmax_smoothing_spreads_over_unmasked_classes(self):
        x, y = _logits(48, (3, 5)), one_hot([0, 2, 4], 5).astype(np.float32)
        cmask = np.array([[1, 1, 0, 1, 1], [1, 0, 1, 1, 1], [0, 1, 1, 1, 1]], bool)
        out = jaxloss.softmax_focal_loss(
            x, y, gamma=1.0, label_smoothing=0.2, where=cmask, reduction="none"
        )
        ref = [
            ref_softmax_focal(r[m][None], t[m][None], None, 1.0, label_smoothing=0.2)[0]
            for r, t, m in zip(x, y, cmask)
        ]
        np.testing.assert_allclose(out, ref, **TOL)


# -- categorical_focal_loss (probabilities) ---------------------------------------


class TestCategoricalFocalLoss:
    @pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
    @pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
    @pytest.mark.parametrize("alpha", ["default", None, np.array([0.1, 0.5, 1.0, 2.0, 0.0])])
    def test_reference(self, alpha, gamma, label_smoothing):
        p, y = _soft(50), _soft(51)
        kw = {} if isinstance(alpha, str) else {"alpha": alpha}
        out = jaxloss.categorical_focal_loss(
            p, y, gamma=gamma, label_smoothing=label_smoothing, reduction="none", **kw
        )
        assert out.shape == (4,) and out.dtype == jnp.float32
        a = 0.25 if isinstance(alpha, str) else alpha  # Keras's default alpha
        np.testing.assert_allclose(
            out, ref_categorical_focal(p, y, a, gamma, label_smoothing), **TOL
        )

    def test_gradients_of_probabilities_and_labels(self):
        with jax.enable_x64(True):
            p, y = _soft(52).astype(np.float64), _soft(53).astype(np.float64)
            alpha = np.array([0.5, 1.0, 1.5, 2.0, 0.25])
            for gamma in (0.5, 2.0):
                ref = lambda q, w, g=gamma: ref_categorical_focal(q, w, alpha, g, 0.1)
                kw = dict(alpha=alpha, gamma=gamma, label_smoothing=0.1)
                _assert_matches_reference(
                    jaxloss.categorical_focal_loss, ref, (p, y), _cotangent(54, (4,)), **kw
                )

    @pytest.mark.parametrize("axis", [0, -2])
    def test_axis(self, axis):
        p, y = _soft(55, (3, 5)), _soft(56, (3, 5))
        p, y = np.moveaxis(p, -1, axis), np.moveaxis(y, -1, axis)
        out = jaxloss.categorical_focal_loss(p, y, label_smoothing=0.1, axis=axis, reduction="none")
        np.testing.assert_allclose(
            out, ref_categorical_focal(p, y, 0.25, 2.0, 0.1, axis=axis), **TOL
        )

    def test_probabilities_exactly_zero_and_one(self):
        p = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
        y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
        f = lambda q: jaxloss.categorical_focal_loss(q, y, gamma=0.5, reduction="none")
        out = np.asarray(f(p))
        # (atol: 1 - 1e-7 rounds in float32, and its log is -1.19e-7, not -1e-7)
        ref = ref_categorical_focal(p, y, 0.25, 0.5)
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-10)
        assert out[0] < 1e-9 and out[1] == pytest.approx(0.25 * -np.log(1e-7), rel=1e-5)
        g = np.asarray(jax.jit(jax.grad(lambda q: f(q).sum()))(p))
        assert np.all(np.isfinite(g))
        gy = jax.jit(jax.grad(lambda w: jaxloss.categorical_focal_loss(p, w, reduction="sum")))(y)
        assert np.all(np.isfinite(np.asarray(gy)))

    def test_gamma_zero_is_categorical_cross_entropy(self):
        p, y = _soft(57), _soft(58)
        out = jaxloss.categorical_focal_loss(p, y, alpha=None, gamma=0.0, reduction="none")
        expected = jaxloss.categorical_cross_entropy(p, y, reduction="none")
        np.testing.assert_allclose(out, expected, rtol=1e-6)

    def test_errors(self):
        p, y = _soft(59), _soft(59)
        fn = jaxloss.categorical_focal_loss
        with pytest.raises(
            ValueError, match=r"categorical_focal_loss: argument 'gamma' must be >= 0"
        ):
            fn(p, y, gamma=-1.0)
        with pytest.raises(
            ValueError, match=r"categorical_focal_loss: argument 'label_smoothing' must be in \[0"
        ):
            fn(p, y, label_smoothing=1.0)
        with pytest.raises(ValueError, match=r"categorical_focal_loss: argument 'epsilon' must be"):
            fn(p, y, epsilon=0.0)
        with pytest.raises(ValueError, match=r"'alpha' must be a scalar or have shape \(5,\)"):
            fn(p, y, alpha=np.ones(3))
        with pytest.raises(ValueError, match=r"categorical_focal_loss: arguments 'probabilities'"):
            fn(p, y[:, :3])


# -- integer-label focal and poly losses ------------------------------------------

ALPHA5 = np.array([0.5, 1.0, 1.5, 2.0, 0.25], np.float32)
# name -> (integer-label loss, one-hot loss, option sets)
INTEGER_LOSSES = {
    "focal": (
        jaxloss.softmax_focal_loss_with_integer_labels,
        jaxloss.softmax_focal_loss,
        [
            {},
            {"gamma": 0.5, "alpha": 0.25},
            {"gamma": 2.0, "alpha": ALPHA5, "label_smoothing": 0.1},
        ],
    ),
    "poly": (
        jaxloss.poly_loss_cross_entropy_with_integer_labels,
        jaxloss.poly_loss_cross_entropy,
        [{}, {"epsilon": -1.0}, {"epsilon": 0.5}],
    ),
}


def _int_labels(seed, shape=(4,), num_classes=5):
    return np.random.default_rng(seed).integers(0, num_classes, size=shape).astype(np.int32)


def _both_sides(int_fn, onehot_fn, configs):
    """For each config ``(options, axis, where)`` and its data ``(x, labels, cot)``: the
    integer-label and one-hot losses' "none" values and their gradients by the logits (of
    ``sum(cot * values)``), all in one compiled program."""

    @jax.jit
    def program(data):
        out = []
        for (kw, axis, where), (x, labels, cot) in zip(configs, data):
            y = jax.nn.one_hot(labels, x.shape[axis], axis=axis)

            def f(v, fn, lab, kw=kw, axis=axis, where=where, cot=cot):
                values = fn(v, lab, axis=axis, where=where, reduction="none", **kw)
                return jnp.sum(cot * values), values

            (_, vi), gi = jax.value_and_grad(f, has_aux=True)(x, int_fn, labels)
            (_, vo), go = jax.value_and_grad(f, has_aux=True)(x, onehot_fn, y)
            out.append(((vi, gi), (vo, go)))
        return out

    return program


class TestIntegerLabels:
    @pytest.mark.parametrize("name", list(INTEGER_LOSSES))
    def test_equals_the_one_hot_version(self, name):
        int_fn, onehot_fn, option_sets = INTEGER_LOSSES[name]
        cot = _cotangent(62, (4,)).astype(np.float32)
        x, labels = _logits(60), _int_labels(61)
        configs = [(kw, -1, None) for kw in option_sets]
        data = [(x, labels, cot)] * len(option_sets)
        # Classes along axis 0; a mask over examples; a mask over classes whose true
        # classes are visible.
        last = option_sets[-1]
        configs.append((last, 0, None))
        data.append((_logits(64, (5, 4)), _int_labels(65), cot))
        labels = np.array([0, 3, 2, 4], np.int32)
        cmask = np.ones((4, 5), bool)
        cmask[[0, 1, 2], [1, 4, 0]] = False
        for where in (np.array([True, False, True, True]), cmask):
            configs.append((last, -1, where))
            data.append((x, labels, cot))
        results = _both_sides(int_fn, onehot_fn, configs)(data)
        for config, ((vi, gi), (vo, go)) in zip(configs, results):
            np.testing.assert_allclose(vi, vo, rtol=1e-5, atol=1e-6, err_msg=str(config))
            np.testing.assert_allclose(gi, go, rtol=1e-5, atol=1e-6, err_msg=str(config))

    @pytest.mark.parametrize("name", list(INTEGER_LOSSES))
    def test_hidden_true_class_excludes_the_example(self, name):
        # As in the integer-label cross-entropy (the one-hot version would give 0 and count
        # the example in the mean).
        int_fn, _, option_sets = INTEGER_LOSSES[name]
        x, labels = _logits(66), np.array([0, 3, 2, 4], np.int32)
        hidden = np.ones((4, 5), bool)
        hidden[3, 4] = False
        kw = option_sets[-1]

        @jax.jit
        def program(x):
            none = int_fn(x, labels, where=hidden, reduction="none", **kw)
            return none, int_fn(x, labels, where=hidden, **kw)

        out, mean = (np.asarray(a) for a in program(x))
        assert out[3] == 0.0 and np.all(out[:3] > 0)
        np.testing.assert_allclose(mean, out[:3].mean(), rtol=1e-6)

    def test_float64_references(self):
        with jax.enable_x64(True):
            x, labels = _logits(67, dtype=np.float64), _int_labels(68)
            y = one_hot(labels, 5)
            cot = _cotangent(69, (4,))
            ref = lambda v: ref_softmax_focal(v, y, ALPHA5, 1.5, label_smoothing=0.1)
            kw = dict(alpha=ALPHA5.astype(np.float64), gamma=1.5, label_smoothing=0.1)
            fn = lambda v, reduction: jaxloss.softmax_focal_loss_with_integer_labels(
                v, labels, reduction=reduction, **kw
            )
            _assert_matches_reference(fn, ref, (x,), cot)
            fn = lambda v, reduction: jaxloss.poly_loss_cross_entropy_with_integer_labels(
                v, labels, epsilon=1.5, reduction=reduction
            )
            _assert_matches_reference(fn, lambda v: ref_poly(v, y, 1.5), (x,), cot)
            # Second order, and d/d epsilon.
            check_first_and_second_order(
                lambda v: jaxloss.softmax_focal_loss_with_integer_labels(v, labels, **kw), x
            )
            f = jax.jit(
                lambda e: jaxloss.poly_loss_cross_entropy_with_integer_labels(x, labels, epsilon=e)
            )
            check_grads(f, (1.5,), order=1, modes=["rev"], eps=1e-4)

    def test_optax(self):
        x, labels = _logits(70), _int_labels(71)
        cot = jnp.asarray(_cotangent(72, (4,)), jnp.float32)

        @jax.jit
        def program(x, labels):
            y = jax.nn.one_hot(labels, x.shape[-1])
            pairs = [
                (
                    lambda v: jaxloss.poly_loss_cross_entropy_with_integer_labels(
                        v, labels, epsilon=1.5, reduction="none"
                    ),
                    lambda v: optax.losses.poly_loss_cross_entropy(v, y, epsilon=1.5),
                ),
                (  # gamma = 0: optax's integer-label cross-entropy
                    lambda v: jaxloss.softmax_focal_loss_with_integer_labels(
                        v, labels, gamma=0.0, reduction="none"
                    ),
                    lambda v: optax.losses.softmax_cross_entropy_with_integer_labels(v, labels),
                ),
            ]
            out = []
            for jfn, ofn in pairs:
                (jv, jvjp), (ov, ovjp) = jax.vjp(jfn, x), jax.vjp(ofn, x)
                out.append(((jv, jvjp(cot)[0]), (ov, ovjp(cot)[0])))
            return out

        for (jv, jg), (ov, og) in program(x, labels):
            np.testing.assert_allclose(jv, ov, **TOL)
            np.testing.assert_allclose(jg, og, **TOL)

    def test_confident_rows_are_exact(self):
        # log(1 - p_y) from the log-odds: no 1 - p cancellation (float32 1 - p would be off
        # by ~2% at p = 1 - 6e-6).
        x = np.array([[12.0, 0.0], [12.0, 0.0], [20.0, 0.0]], np.float32)
        labels = np.array([0, 1, 0], np.int32)
        y = one_hot(labels, 2)
        focal = jaxloss.softmax_focal_loss_with_integer_labels(x, labels, reduction="none")
        np.testing.assert_allclose(focal, ref_softmax_focal(x, y), rtol=1e-5)
        poly = jaxloss.poly_loss_cross_entropy_with_integer_labels(x, labels, reduction="none")
        np.testing.assert_allclose(poly, ref_poly(x, y), rtol=1e-5)

    @pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
    def test_extreme_logits_hessian(self, gamma):
        x = jnp.array([[80.0, -80.0, 0.0], [-80.0, 80.0, -80.0], [0.0, 0.0, 0.0]])
        labels = jnp.array([0, 0, 2])
        _assert_finite_derivatives(jaxloss.softmax_focal_loss_with_integer_labels, x, labels, gamma)

    def test_minus_inf_rows_and_nan_logits(self):
        x = jnp.array([[1.0, -jnp.inf, 0.5], [-jnp.inf, -jnp.inf, -jnp.inf], [jnp.nan, 0.0, 1.0]])
        labels = jnp.array([0, 1, 2])
        for name, (int_fn, onehot_fn, _) in INTEGER_LOSSES.items():
            out = np.asarray(int_fn(x, labels, reduction="none"))
            expected = np.asarray(onehot_fn(x, jax.nn.one_hot(labels, 3), reduction="none"))
            np.testing.assert_allclose(out[0], expected[0], rtol=1e-6, err_msg=name)
            assert out[1] == 0.0 and np.isnan(out[2]), name
            g = np.asarray(jax.jit(jax.grad(lambda v, f=int_fn: f(v[:2], labels[:2])))(x))
            assert np.all(np.isfinite(g[:2])) and np.all(g[1] == 0), name

    def test_out_of_range_labels(self):
        x, labels = _logits(73), np.array([0, 5, -1, 2], np.int32)
        valid = np.array([True, False, False, True])
        for int_fn, _, _ in INTEGER_LOSSES.values():
            out = np.asarray(int_fn(x, labels, reduction="none"))
            assert np.all(np.isnan(out[~valid])) and np.all(np.isfinite(out[valid]))
            # Padding labels hidden by where: finite, and the mean of the valid ones.
            np.testing.assert_allclose(int_fn(x, labels, where=valid), out[valid].mean(), rtol=1e-6)
            with pytest.raises(Exception, match=r"label out of range \[0, 5\) at position \[1\]"):
                jaxloss.checked(int_fn)(x, labels)

    def test_cheaper_than_the_one_hot_version(self):
        # Compiled cost of value_and_grad (XLA's own count, no timing): no [N, C] one-hot,
        # and one exp per logit for the focal loss instead of several.
        x, labels = jnp.zeros((16, 200)), jnp.zeros((16,), jnp.int32)

        def cost(f):
            c = jax.jit(jax.value_and_grad(f)).lower(x, labels).compile().cost_analysis()
            c = c[0] if isinstance(c, list) else c
            return c["flops"], c["transcendentals"]

        for int_fn, onehot_fn, _ in INTEGER_LOSSES.values():
            f_int, t_int = cost(lambda v, lab, f=int_fn: f(v, lab))
            f_hot, t_hot = cost(lambda v, lab, f=onehot_fn: f(v, jax.nn.one_hot(lab, 200)))
            assert f_int < 0.5 * f_hot
            if int_fn is jaxloss.softmax_focal_loss_with_integer_labels:
                assert t_int < 0.5 * t_hot

    def test_errors(self):
        x, labels = _logits(74), _int_labels(74)
        for name in (
            "softmax_focal_loss_with_integer_labels",
            "poly_loss_cross_entropy_with_integer_labels",
        ):
            fn = getattr(jaxloss, name)
            with pytest.raises(TypeError, match=rf"{name}: argument 'labels' must have an integer"):
                fn(x, labels.astype(np.float32))
            with pytest.raises(
                ValueError, match=rf"{name}: argument 'labels' must have the shape of 'logits'"
            ):
                fn(x, labels[:3])
            with pytest.raises(TypeError, match=rf"{name}: argument 'logits'.*floating"):
                fn(labels[:, None], labels)
        fn = jaxloss.softmax_focal_loss_with_integer_labels
        with pytest.raises(ValueError, match=r"'alpha' must be a scalar or have shape \(5,\)"):
            fn(x, labels, alpha=np.ones(3))
        with pytest.raises(ValueError, match=r"argument 'label_smoothing' must be in \[0"):
            fn(x, labels, label_smoothing=-0.1)
