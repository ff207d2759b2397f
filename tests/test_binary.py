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
from tests.shared_checks import check_values

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
        expected = [ref_bce(p, y, **kwargs)]
        fn = jaxloss.binary_cross_entropy
        check_values(fn, (p, y), p.shape, expected, rtol=1e-5, atol=1e-7, **kwargs)

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
        expected = [ref_sigmoid_bce(x, y, **kwargs)]
        fn = jaxloss.sigmoid_binary_cross_entropy
        check_values(fn, (x, y), x.shape, expected, rtol=1e-5, atol=1e-6, **kwargs)

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


# ---------------------------------------------------------------------------
# binary_focal_loss


def ref_binary_focal(p, y, alpha=None, gamma=2.0, label_smoothing=0.0, epsilon=1e-7):
    p = np.asarray(p, np.float64)
    y = np.asarray(y, np.float64) * (1 - label_smoothing) + 0.5 * label_smoothing
    ce = -(y * np.log(np.maximum(p, epsilon)) + (1 - y) * np.log(np.maximum(1 - p, epsilon)))
    one_minus_pt = y * (1 - p) + (1 - y) * p
    loss = one_minus_pt**gamma * ce
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


BINARY_FOCAL_OPTIONS = [
    {},
    {"gamma": 0.0},
    {"gamma": 0.5, "alpha": 0.25},
    {"gamma": 3.0, "alpha": 0.75, "label_smoothing": 0.2},
    {"alpha": 0.4, "label_smoothing": 0.1, "epsilon": 1e-3},
]


class TestBinaryFocalLoss:
    @pytest.mark.parametrize("soft", [False, True])
    def test_matches_reference(self, soft):
        p, y = _probabilities(20, (4, 3))
        if soft:
            y = np.random.default_rng(21).uniform(size=y.shape).astype(np.float32)

        @jax.jit  # one compiled program for every option set
        def losses(p, y):
            return [
                jaxloss.binary_focal_loss(p, y, reduction="none", **kw)
                for kw in BINARY_FOCAL_OPTIONS
            ]

        for kw, out in zip(BINARY_FOCAL_OPTIONS, losses(p, y)):
            assert out.shape == p.shape and out.dtype == jnp.float32
            np.testing.assert_allclose(
                out, ref_binary_focal(p, y, **kw), rtol=1e-5, atol=1e-7, err_msg=str(kw)
            )

    def test_defaults_are_keras_defaults(self):
        # Keras's BinaryFocalCrossentropy() does not balance the classes: alpha=None here.
        p, y = _probabilities(22)
        out = jaxloss.binary_focal_loss(p, y, reduction="none")
        np.testing.assert_allclose(out, ref_binary_focal(p, y, None, 2.0), rtol=1e-5, atol=1e-7)
        balanced = jaxloss.binary_focal_loss(p, y, alpha=0.25, reduction="none")
        assert not np.allclose(out, balanced, rtol=1e-2)

    def test_gradients_of_probabilities_and_labels(self):
        with jax.enable_x64(True):
            rng = np.random.default_rng(23)
            p = rng.uniform(0.05, 0.95, size=(3, 4))
            y = rng.uniform(size=(3, 4))
            cot = rng.uniform(0.5, 1.5, size=(3, 4))
            h = 1e-6
            for kw in ({"gamma": 0.5, "alpha": 0.25}, {"gamma": 2.0, "label_smoothing": 0.2}):
                f = lambda a, b, kw=kw: jnp.sum(
                    cot * jaxloss.binary_focal_loss(a, b, reduction="none", **kw)
                )
                value, (gp, gy) = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))(p, y)
                ref = lambda a, b, kw=kw: ref_binary_focal(a, b, **kw)
                np.testing.assert_allclose(value, np.sum(cot * ref(p, y)), rtol=1e-10)
                # The loss is elementwise: each entry's derivative is its central difference.
                fd_p = cot * (ref(p + h, y) - ref(p - h, y)) / (2 * h)
                fd_y = cot * (ref(p, y + h) - ref(p, y - h)) / (2 * h)
                np.testing.assert_allclose(gp, fd_p, rtol=1e-6)
                np.testing.assert_allclose(gy, fd_y, rtol=1e-6)
            # Traced alpha, gamma and label_smoothing: derivatives too.
            g = jax.jit(
                lambda a, c, s: jaxloss.binary_focal_loss(p, y, alpha=a, gamma=c, label_smoothing=s)
            )
            check_grads(g, (0.3, 1.5, 0.1), order=1, modes=["rev"], eps=1e-5)

    def test_equals_the_logits_form_and_binary_cross_entropy(self):
        rng = np.random.default_rng(24)
        x = rng.normal(size=(4, 3)).astype(np.float32) * 2
        y = rng.uniform(size=(4, 3)).astype(np.float32)
        p = (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32)

        @jax.jit
        def losses(p, x, y):
            kw = dict(alpha=0.3, gamma=1.5, label_smoothing=0.1, reduction="none")
            return (
                jaxloss.binary_focal_loss(p, y, **kw),
                jaxloss.sigmoid_focal_loss(x, y, **kw),
                jaxloss.binary_focal_loss(p, y, gamma=0.0, reduction="none"),
                jaxloss.binary_cross_entropy(p, y, reduction="none"),
            )

        focal, sigmoid_focal, gamma0, bce = losses(p, x, y)
        np.testing.assert_allclose(focal, sigmoid_focal, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(gamma0, bce, rtol=1e-6)

    @pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
    def test_probabilities_exactly_zero_or_one(self, gamma):
        # Agreeing: loss 0 with a finite gradient (also for gamma < 1, where (1 - p_t)^gamma
        # has an infinite slope at p_t = 1). Disagreeing: -log(epsilon), finite gradient.
        p = jnp.array([1.0, 0.0, 0.0, 1.0])
        y = jnp.array([1.0, 0.0, 1.0, 0.0])

        @jax.jit
        def value_and_grads(p, y):
            f = lambda a, b: jnp.sum(jaxloss.binary_focal_loss(a, b, gamma=gamma, reduction="none"))
            return jaxloss.binary_focal_loss(p, y, gamma=gamma, reduction="none"), jax.grad(
                f, argnums=(0, 1)
            )(p, y)

        out, (gp, gy) = value_and_grads(p, y)
        out = np.asarray(out)
        np.testing.assert_array_equal(out[:2], [0.0, 0.0])
        np.testing.assert_allclose(out[2:], -np.log(np.float32(1e-7)), rtol=1e-6)
        assert np.all(np.isfinite(np.asarray(gp))) and np.all(np.isfinite(np.asarray(gy)))
        # The focal factor's slope at the disagreeing ends: gamma * (-log eps) * (1 - 2y).
        np.testing.assert_allclose(
            np.asarray(gp)[2:], [-gamma * 16.118095, gamma * 16.118095], rtol=1e-5
        )

    def test_masked_entries(self):
        p, y = _probabilities(25)
        m = np.random.default_rng(26).random(p.shape) < 0.6
        poisoned = np.where(m, p, np.nan).astype(np.float32)
        f = lambda v: jaxloss.binary_focal_loss(v, y, alpha=0.25, where=m)
        np.testing.assert_allclose(f(poisoned), ref_binary_focal(p, y, 0.25)[m].mean(), rtol=1e-5)
        g = np.asarray(jax.jit(jax.grad(f))(poisoned))
        assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"alpha": 1.5}, r"binary_focal_loss: argument 'alpha' must be in \[0.0, 1.0\]"),
            ({"gamma": -1.0}, r"binary_focal_loss: argument 'gamma' must be >= 0"),
            ({"label_smoothing": 1.0}, r"argument 'label_smoothing' must be in \[0.0, 1.0\)"),
            ({"epsilon": 0.0}, r"binary_focal_loss: argument 'epsilon' must be in \(0.0, 1.0\)"),
        ],
    )
    def test_bad_hyperparameters(self, kwargs, message):
        p, y = _probabilities(27)
        with pytest.raises(ValueError, match=message):
            jaxloss.binary_focal_loss(p, y, **kwargs)

    def test_bad_inputs(self):
        p, y = _probabilities(28)
        with pytest.raises(ValueError, match=r"binary_focal_loss: arguments 'probabilities' and"):
            jaxloss.binary_focal_loss(p, y[:, :2])
        with pytest.raises(TypeError, match=r"binary_focal_loss: argument 'probabilities'"):
            jaxloss.binary_focal_loss(y.astype(np.int32), y)
