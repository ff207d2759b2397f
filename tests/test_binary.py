"""Tests of the binary classification losses (jaxloss/_binary.py).

References are float64 NumPy code written from the formulas in the docstrings.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jaxloss
from tests.grads import check_grads

# ---------------------------------------------------------------------------
# references


def ref_bce(p, y, epsilon=1e-7, positive_weight=1.0, negative_weight=1.0, label_smoothing=0.0):
    p = np.asarray(p, np.float64)
    y = np.asarray(y, np.float64) * (1 - label_smoothing) + 0.5 * label_smoothing
    log_p = np.log(np.maximum(p, epsilon))
    log_q = np.log(np.maximum(1.0 - p, epsilon))
    return -(positive_weight * y * log_p + negative_weight * (1 - y) * log_q)


def ref_sigmoid_bce(x, y, pos_weight=1.0, label_smoothing=0.0):
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64) * (1 - label_smoothing) + 0.5 * label_smoothing
    # -log(sigmoid(x)) = log(1 + exp(-x)); -log(1 - sigmoid(x)) = log(1 + exp(x)).
    return pos_weight * y * np.logaddexp(0.0, -x) + (1 - y) * np.logaddexp(0.0, x)


def _probabilities(seed, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, size=shape).astype(np.float32)
    y = rng.integers(0, 2, size=shape).astype(np.float32)
    return p, y


def _logits(seed, shape=(4, 3), scale=3.0):
    rng = np.random.default_rng(seed)
    x = (scale * rng.normal(size=shape)).astype(np.float32)
    y = rng.integers(0, 2, size=shape).astype(np.float32)
    return x, y


# ---------------------------------------------------------------------------
# binary_cross_entropy


class TestBinaryCrossEntropy:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {},
            {"positive_weight": 2.0},
            {"negative_weight": 0.3, "positive_weight": 0.7},
            {"label_smoothing": 0.2},
            {"epsilon": 1e-3},
        ],
    )
    def test_matches_reference(self, kwargs):
        p, y = _probabilities(0)
        out = jaxloss.binary_cross_entropy(p, y, **kwargs, reduction="none")
        assert out.shape == p.shape and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_bce(p, y, **kwargs), rtol=1e-5, atol=1e-7)

    def test_soft_labels(self):
        rng = np.random.default_rng(1)
        p = rng.uniform(0.01, 0.99, size=(6,)).astype(np.float32)
        y = rng.uniform(size=(6,)).astype(np.float32)
        out = jaxloss.binary_cross_entropy(p, y, reduction="none")
        np.testing.assert_allclose(out, ref_bce(p, y), rtol=1e-5)

    def test_per_class_weights_broadcast(self):
        p, y = _probabilities(2, (5, 3))
        pw = np.array([1.0, 2.0, 3.0], np.float32)
        nw = np.array([[0.5], [1.0], [1.5], [2.0], [0.0]], np.float32)
        out = jaxloss.binary_cross_entropy(
            p, y, positive_weight=pw, negative_weight=nw, reduction="none"
        )
        np.testing.assert_allclose(
            out, ref_bce(p, y, positive_weight=pw, negative_weight=nw), rtol=1e-5, atol=1e-7
        )

    def test_jit_matches_eager(self):
        p, y = _probabilities(3)
        f = lambda p, y: jaxloss.binary_cross_entropy(p, y, label_smoothing=0.1)
        np.testing.assert_allclose(jax.jit(f)(p, y), f(p, y), rtol=1e-6)

    def test_integer_and_bool_labels(self):
        p, y = _probabilities(4)
        expected = jaxloss.binary_cross_entropy(p, y, reduction="none")
        for labels in (y.astype(np.int32), y.astype(bool)):
            np.testing.assert_allclose(
                jaxloss.binary_cross_entropy(p, labels, reduction="none"), expected, rtol=1e-6
            )

    def test_kaun_example(self):
        # Kaun.Loss.binary_cross_entropy: the mean over all entries of the elementwise BCE.
        p = np.array([[0.8], [0.3], [0.7], [0.1]], np.float32)
        y = np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)
        expected = -np.mean(np.log([0.8, 0.7, 0.7, 0.9]))
        np.testing.assert_allclose(jaxloss.binary_cross_entropy(p, y), expected, rtol=1e-6)

    def test_axon_example(self):
        # Axon.Losses.binary_cross_entropy averages the elementwise loss over the last axis.
        y = np.array([[0, 1], [1, 0], [1, 0]])
        p = np.array([[0.6811, 0.5565], [0.6551, 0.4551], [0.5422, 0.2648]], np.float32)
        values = jaxloss.binary_cross_entropy(p, y, reduction="none")
        np.testing.assert_allclose(
            jnp.mean(values, axis=-1),
            [0.8644826412200928, 0.5150600075721741, 0.45986634492874146],
            rtol=1e-5,
        )
        np.testing.assert_allclose(jaxloss.binary_cross_entropy(p, y), 0.613136351108551, rtol=1e-5)
        np.testing.assert_allclose(
            jaxloss.binary_cross_entropy(p, y, reduction="sum") / 2, 1.8394089937210083, rtol=1e-5
        )

    def test_probabilities_exactly_zero_or_one(self):
        with jax.enable_x64(True):
            p = jnp.array([0.0, 1.0, 0.0, 1.0], jnp.float64)
            y = jnp.array([1.0, 0.0, 0.0, 1.0], jnp.float64)
            out = jaxloss.binary_cross_entropy(p, y, reduction="none")
            # Disagreeing: the clipped value -log(epsilon); agreeing: exactly 0.
            np.testing.assert_allclose(out, [-np.log(1e-7), -np.log(1e-7), 0.0, 0.0], rtol=1e-12)
            g = jax.grad(lambda p: jaxloss.binary_cross_entropy(p, y, reduction="sum"))(p)
            # Flat clip where they disagree; d/dp of -log(1-p) at 0 is 1, of -log(p) at 1 is -1.
            np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, -1.0])
            g_y = jax.grad(lambda y: jaxloss.binary_cross_entropy(p, y, reduction="sum"))(y)
            assert np.all(np.isfinite(g_y))

    def test_float32_probability_one_stays_finite(self):
        out = jaxloss.binary_cross_entropy(
            np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32), reduction="none"
        )
        np.testing.assert_allclose(out, [-np.log(1e-7)] * 2, rtol=1e-6)

    def test_gradients(self):
        with jax.enable_x64(True):
            p, y = _probabilities(5)
            p, y = p.astype(np.float64), np.random.default_rng(5).uniform(size=p.shape)
            f = lambda p, y: jaxloss.binary_cross_entropy(
                p, y, positive_weight=1.3, label_smoothing=0.1
            )
            check_grads(f, (p, y), order=2, modes=["rev"], eps=1e-4)

    def test_gradient_with_respect_to_hyperparameters(self):
        with jax.enable_x64(True):
            p, y = _probabilities(6)
            p, y = p.astype(np.float64), y.astype(np.float64)
            f = lambda w, n, ls: jaxloss.binary_cross_entropy(
                p, y, positive_weight=w, negative_weight=n, label_smoothing=ls
            )
            check_grads(f, (1.5, 0.5, 0.1), order=1, modes=["rev"], eps=1e-4)

    def test_vmap_over_label_smoothing_and_no_retrace(self):
        p, y = _probabilities(7)
        smoothing = jnp.array([0.0, 0.1, 0.3])
        out = jax.vmap(lambda ls: jaxloss.binary_cross_entropy(p, y, label_smoothing=ls))(smoothing)
        expected = [ref_bce(p, y, label_smoothing=float(ls)).mean() for ls in smoothing]
        np.testing.assert_allclose(out, expected, rtol=1e-5)

        traces = []

        @jax.jit
        def f(ls):
            traces.append(None)
            return jaxloss.binary_cross_entropy(p, y, label_smoothing=ls)

        f(jnp.float32(0.1))
        f(jnp.float32(0.2))
        assert len(traces) == 1

    @given(
        p=hnp.arrays(np.float32, (6,), elements=st.floats(0.0, 1.0, width=32)),
        y=hnp.arrays(np.float32, (6,), elements=st.floats(0.0, 1.0, width=32)),
        ls=st.floats(0.0, 0.9),
    )
    def test_non_negative_and_finite(self, p, y, ls):
        out = np.asarray(jaxloss.binary_cross_entropy(p, y, label_smoothing=ls, reduction="none"))
        assert np.all(np.isfinite(out))
        assert np.all(out >= 0)

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"epsilon": 0.0}, r"'epsilon' must be in \(0.0, 1.0\), got 0.0"),
            ({"epsilon": 1.0}, r"'epsilon' must be in \(0.0, 1.0\), got 1.0"),
            ({"label_smoothing": 1.0}, r"'label_smoothing' must be in \[0.0, 1.0\), got 1.0"),
            ({"label_smoothing": -0.1}, r"'label_smoothing' must be in \[0.0, 1.0\)"),
            ({"positive_weight": -1.0}, r"'positive_weight' must be >= 0.0, got -1.0"),
            ({"negative_weight": -2.0}, r"'negative_weight' must be >= 0.0, got -2.0"),
        ],
    )
    def test_bad_hyperparameters(self, kwargs, message):
        p, y = _probabilities(8)
        with pytest.raises(ValueError, match="binary_cross_entropy: argument " + message):
            jaxloss.binary_cross_entropy(p, y, **kwargs)

    def test_weight_not_broadcastable(self):
        p, y = _probabilities(9, (4, 3))
        with pytest.raises(
            ValueError,
            match=r"binary_cross_entropy: argument 'positive_weight' with shape \(4,\) must be "
            r"broadcastable",
        ):
            jaxloss.binary_cross_entropy(p, y, positive_weight=np.ones(4, np.float32))


# ---------------------------------------------------------------------------
# sigmoid_binary_cross_entropy


class TestSigmoidBinaryCrossEntropy:
    @pytest.mark.parametrize(
        "kwargs", [{}, {"pos_weight": 3.0}, {"label_smoothing": 0.2}, {"pos_weight": 0.0}]
    )
    def test_matches_reference(self, kwargs):
        x, y = _logits(0)
        out = jaxloss.sigmoid_binary_cross_entropy(x, y, **kwargs, reduction="none")
        assert out.shape == x.shape and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_sigmoid_bce(x, y, **kwargs), rtol=1e-5, atol=1e-6)

    def test_matches_optax(self):
        rng = np.random.default_rng(1)
        x = (4 * rng.normal(size=(5, 4))).astype(np.float32)
        y = rng.uniform(size=(5, 4)).astype(np.float32)
        np.testing.assert_allclose(
            jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="none"),
            optax.losses.sigmoid_binary_cross_entropy(x, y),
            rtol=1e-5,
            atol=1e-6,
        )
        # Label smoothing is optax's smooth-then-apply.
        ls = 0.3
        np.testing.assert_allclose(
            jaxloss.sigmoid_binary_cross_entropy(x, y, label_smoothing=ls, reduction="none"),
            optax.losses.sigmoid_binary_cross_entropy(x, y * (1 - ls) + 0.5 * ls),
            rtol=1e-5,
            atol=1e-6,
        )

    def test_per_class_pos_weight(self):
        x, y = _logits(2, (6, 3))
        pw = np.array([0.5, 1.0, 4.0], np.float32)
        out = jaxloss.sigmoid_binary_cross_entropy(x, y, pos_weight=pw, reduction="none")
        np.testing.assert_allclose(out, ref_sigmoid_bce(x, y, pos_weight=pw), rtol=1e-5, atol=1e-6)

    def test_kaun_example(self):
        # Kaun.Loss.sigmoid_binary_cross_entropy returns the loss per example.
        x = np.array([[1.5], [-0.8], [0.9], [-2.1]], np.float32)
        y = np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)
        out = jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="none")
        assert out.shape == (4, 1)
        np.testing.assert_allclose(out, ref_sigmoid_bce(x, y), rtol=1e-6)
        np.testing.assert_allclose(
            jaxloss.sigmoid_binary_cross_entropy(x, y), ref_sigmoid_bce(x, y).mean(), rtol=1e-6
        )

    def test_agrees_with_probability_form(self):
        with jax.enable_x64(True):
            x, _ = _logits(4, scale=2.0)
            x = x.astype(np.float64)
            y = np.random.default_rng(4).uniform(size=x.shape)
            np.testing.assert_allclose(
                jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="none", pos_weight=1.7),
                jaxloss.binary_cross_entropy(
                    jax.nn.sigmoid(x), y, reduction="none", positive_weight=1.7, epsilon=1e-12
                ),
                rtol=1e-9,
            )

    def test_large_logits_are_stable(self):
        x = np.array([-100.0, 100.0, -1e4, 1e4], np.float32)
        y = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
        out = jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="none")
        np.testing.assert_allclose(out, [100.0, 100.0, 0.0, 0.0], rtol=1e-6)

    @pytest.mark.parametrize("kwargs", [{}, {"pos_weight": 2.5}])
    def test_infinite_logits_that_agree_give_zero_with_zero_gradient(self, kwargs):
        x = jnp.array([jnp.inf, -jnp.inf, jnp.inf, -jnp.inf])
        y = jnp.array([1.0, 0.0, 1.0, 0.0])
        f = lambda x, y: jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="sum", **kwargs)
        assert float(f(x, y)) == 0.0
        np.testing.assert_array_equal(
            jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="none", **kwargs), 0.0
        )
        gx, gy = jax.grad(f, argnums=(0, 1))(x, y)
        np.testing.assert_array_equal(gx, 0.0)
        assert np.all(np.isfinite(gy))
        # Mixed with finite entries, under jit.
        xs = jnp.concatenate([x, jnp.array([0.5])])
        ys = jnp.concatenate([y, jnp.array([1.0])])
        g = jax.jit(jax.grad(lambda x: f(x, ys)))(xs)
        assert np.all(g[:4] == 0) and np.isfinite(g[4]) and g[4] != 0

    def test_infinite_logits_that_disagree_give_huge_finite_loss(self):
        out = jaxloss.sigmoid_binary_cross_entropy(
            jnp.array([jnp.inf, -jnp.inf, jnp.inf]),
            jnp.array([0.0, 1.0, 1.0]),
            label_smoothing=0.1,
            reduction="none",
        )
        # Logits are clipped to +-finfo.max/4 (documented): huge, finite, never NaN.
        assert np.all(np.isfinite(out)) and np.all(np.asarray(out) > 1e36)

    def test_gradients(self):
        with jax.enable_x64(True):
            x, _ = _logits(5)
            x = x.astype(np.float64)
            y = np.random.default_rng(5).uniform(size=x.shape)
            f = lambda x, y: jaxloss.sigmoid_binary_cross_entropy(
                x, y, pos_weight=np.array([0.5, 1.0, 2.0]), label_smoothing=0.1
            )
            check_grads(f, (x, y), order=2, modes=["rev"], eps=1e-4)
            # Far in the tails the gradient is still accurate.
            x_far = np.array([-40.0, 40.0, -40.0, 40.0])
            y_far = np.array([1.0, 0.0, 0.0, 1.0])
            g = jax.grad(lambda x: jaxloss.sigmoid_binary_cross_entropy(x, y_far, reduction="sum"))(
                x_far
            )
            # d/dx = sigmoid(x) - y, written without cancellation: -sigmoid(-x) when y == 1.
            sig = lambda v: 1.0 / (1.0 + np.exp(-v))
            expected = np.where(y_far == 1, -sig(-x_far), sig(x_far))
            np.testing.assert_allclose(g, expected, rtol=1e-12)

    def test_gradient_and_vmap_over_pos_weight(self):
        with jax.enable_x64(True):
            x, y = _logits(6)
            x, y = x.astype(np.float64), y.astype(np.float64)
            f = lambda w: jaxloss.sigmoid_binary_cross_entropy(x, y, pos_weight=w)
            check_grads(f, (2.0,), order=1, modes=["rev"], eps=1e-4)
            ws = jnp.array([0.5, 1.0, 2.0])
            np.testing.assert_allclose(
                jax.vmap(f)(ws),
                [ref_sigmoid_bce(x, y, pos_weight=float(w)).mean() for w in ws],
                rtol=1e-12,
            )

    @given(
        x=hnp.arrays(np.float32, (6,), elements=st.floats(-50.0, 50.0, width=32)),
        y=hnp.arrays(np.float32, (6,), elements=st.floats(0.0, 1.0, width=32)),
    )
    def test_non_negative_and_symmetric(self, x, y):
        out = np.asarray(jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="none"))
        assert np.all(out >= 0) and np.all(np.isfinite(out))
        flipped = jaxloss.sigmoid_binary_cross_entropy(-x, 1 - y, reduction="none")
        np.testing.assert_allclose(flipped, out, rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"label_smoothing": 1.0}, r"'label_smoothing' must be in \[0.0, 1.0\), got 1.0"),
            ({"pos_weight": -0.5}, r"'pos_weight' must be >= 0.0, got -0.5"),
            ({"pos_weight": np.ones(5)}, r"'pos_weight' with shape \(5,\) must be broadcastable"),
        ],
    )
    def test_bad_hyperparameters(self, kwargs, message):
        x, y = _logits(7)
        with pytest.raises(ValueError, match="sigmoid_binary_cross_entropy: argument " + message):
            jaxloss.sigmoid_binary_cross_entropy(x, y, **kwargs)
