"""Tests of the margin losses (jaxloss/_margin.py).

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
from jax.test_util import check_grads

import jaxloss

# ---------------------------------------------------------------------------
# references


def ref_hinge(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.maximum(0.0, 1.0 - y * x)


def ref_categorical_hinge(x, y, axis=-1):
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    y = np.moveaxis(np.asarray(y, np.float64), axis, -1)
    out = np.empty(x.shape[:-1])
    for idx in np.ndindex(out.shape):
        true = np.sum(y[idx] * x[idx])
        other = np.max((1.0 - y[idx]) * x[idx])
        out[idx] = max(0.0, 1.0 + other - true)
    return out


def ref_soft_margin(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.logaddexp(0.0, -y * x)


def _scores(seed, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    x = (2 * rng.normal(size=shape)).astype(np.float32)
    y = rng.choice(np.array([-1.0, 1.0], np.float32), size=shape)
    return x, y


def _class_scores(seed, batch=(4,), num_classes=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=batch + (num_classes,)).astype(np.float32)
    y = np.eye(num_classes, dtype=np.float32)[rng.integers(0, num_classes, size=batch)]
    return x, y


def _away_from_kinks(x, y, gap=0.05):
    """Moves scores with |1 - y x| < gap away from the hinge kink (for finite differences)."""
    margin = 1 - y * x
    return np.where(np.abs(margin) < gap, x - y * 2 * gap, x).astype(x.dtype)


AXON_HINGE_LABELS = np.array([[1, 1, -1], [1, 1, -1]], np.int8)
AXON_HINGE_SCORES = np.array(
    [[0.45440044, 0.31470688, 0.67920924], [0.24311459, 0.93466766, 0.10914676]], np.float32
)


# ---------------------------------------------------------------------------
# hinge_loss


class TestHingeLoss:
    def test_matches_reference_and_optax(self):
        x, y = _scores(0)
        out = jaxloss.hinge_loss(x, y, reduction="none")
        assert out.shape == x.shape and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_hinge(x, y), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(out, optax.losses.hinge_loss(x, y), rtol=1e-6, atol=1e-7)

    def test_jit_matches_eager(self):
        x, y = _scores(1)
        f = lambda x, y: jaxloss.hinge_loss(x, y, reduction="none")
        np.testing.assert_allclose(jax.jit(f)(x, y), f(x, y), rtol=1e-6)

    def test_axon_example(self):
        # Axon.Losses.hinge is the mean over the last axis of the elementwise hinge.
        values = jaxloss.hinge_loss(AXON_HINGE_SCORES, AXON_HINGE_LABELS, reduction="none")
        np.testing.assert_allclose(
            jnp.mean(values, axis=-1), [0.9700339436531067, 0.6437881588935852], rtol=1e-6
        )
        np.testing.assert_allclose(
            jaxloss.hinge_loss(AXON_HINGE_SCORES, AXON_HINGE_LABELS), 0.806911051273346, rtol=1e-6
        )
        # Axon's "sum" adds the two row means.
        np.testing.assert_allclose(
            jaxloss.hinge_loss(AXON_HINGE_SCORES, AXON_HINGE_LABELS, reduction="sum") / 3,
            1.613822102546692,
            rtol=1e-6,
        )

    def test_torchlean_spec_is_the_mean(self):
        x, y = _scores(2, (7,))
        np.testing.assert_allclose(jaxloss.hinge_loss(x, y), ref_hinge(x, y).mean(), rtol=1e-6)

    def test_labels_zero_one_are_not_converted(self):
        # Documented: a label 0 gives the constant loss 1 (no {0, 1} -> {-1, +1} mapping).
        out = jaxloss.hinge_loss(np.array([3.0, -3.0], np.float32), np.zeros(2), reduction="none")
        np.testing.assert_array_equal(out, [1.0, 1.0])

    def test_gradient_and_kink(self):
        with jax.enable_x64(True):
            x, y = _scores(3)
            x = _away_from_kinks(x.astype(np.float64), y.astype(np.float64))
            f = lambda x: jaxloss.hinge_loss(x, y, reduction="sum")
            check_grads(f, (x,), order=1, modes=["rev"], eps=1e-3)
            np.testing.assert_array_equal(jax.grad(f)(x), np.where(y * x < 1, -y, 0.0))
            # At the kink y * x == 1 the subgradient is 0.
            g = jax.grad(lambda x: jaxloss.hinge_loss(x, jnp.array([1.0, -1.0]), reduction="sum"))
            np.testing.assert_array_equal(g(jnp.array([1.0, -1.0])), [0.0, 0.0])

    def test_infinite_scores(self):
        x = jnp.array([jnp.inf, -jnp.inf, jnp.inf])
        y = jnp.array([1.0, -1.0, -1.0])
        np.testing.assert_array_equal(
            jaxloss.hinge_loss(x, y, reduction="none"), [0.0, 0.0, np.inf]
        )
        g = jax.grad(lambda x: jaxloss.hinge_loss(x, y[:2], reduction="sum"))(x[:2])
        np.testing.assert_array_equal(g, [0.0, 0.0])

    @given(
        x=hnp.arrays(np.float32, (6,), elements=st.floats(-1e3, 1e3, width=32)),
        y=hnp.arrays(np.float32, (6,), elements=st.sampled_from([-1.0, 1.0])),
    )
    def test_non_negative(self, x, y):
        out = np.asarray(jaxloss.hinge_loss(x, y, reduction="none"))
        assert np.all(out >= 0)

    def test_shape_mismatch(self):
        with pytest.raises(
            ValueError,
            match=r"hinge_loss: arguments 'predictions' and 'labels' must have the same shape, "
            r"got predictions.shape=\(3,\) and labels.shape=\(2,\)",
        ):
            jaxloss.hinge_loss(np.zeros(3, np.float32), np.ones(2))

    def test_integer_predictions(self):
        with pytest.raises(TypeError, match="hinge_loss: argument 'predictions'.*floating dtype"):
            jaxloss.hinge_loss(np.zeros(3, np.int32), np.ones(3))


# ---------------------------------------------------------------------------
# categorical_hinge_loss


class TestCategoricalHingeLoss:
    def test_matches_reference(self):
        x, y = _class_scores(0, (3, 4))
        out = jaxloss.categorical_hinge_loss(x, y, reduction="none")
        assert out.shape == (3, 4) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_categorical_hinge(x, y), rtol=1e-6, atol=1e-7)

    @pytest.mark.parametrize("axis", [0, 1, -2])
    def test_axis(self, axis):
        x, y = _class_scores(1, (3, 4))
        x, y = np.moveaxis(x, -1, axis), np.moveaxis(y, -1, axis)
        out = jaxloss.categorical_hinge_loss(x, y, axis=axis, reduction="none")
        np.testing.assert_allclose(out, ref_categorical_hinge(x, y, axis), rtol=1e-6, atol=1e-7)

    def test_jit_matches_eager(self):
        x, y = _class_scores(2)
        f = lambda x, y: jaxloss.categorical_hinge_loss(x, y, reduction="none")
        np.testing.assert_allclose(jax.jit(f)(x, y), f(x, y), rtol=1e-6)

    def test_axon_example(self):
        y = np.array([[1, 0, 0], [0, 0, 1]], np.int8)
        x = np.array(
            [[0.05300799, 0.21617081, 0.68642382], [0.3754382, 0.08494169, 0.13442067]],
            np.float32,
        )
        np.testing.assert_allclose(
            jaxloss.categorical_hinge_loss(x, y, reduction="none"),
            [1.6334158182144165, 1.2410175800323486],
            rtol=1e-6,
        )
        np.testing.assert_allclose(
            jaxloss.categorical_hinge_loss(x, y), 1.4372167587280273, rtol=1e-6
        )
        np.testing.assert_allclose(
            jaxloss.categorical_hinge_loss(x, y, reduction="sum"), 2.8744335174560547, rtol=1e-6
        )

    def test_negative_other_scores_use_zero(self):
        # Keras/Axon form: the true class enters the max as 0, so with every other score
        # negative the loss is max(0, 1 - x_true).
        x = np.array([[-2.0, -3.0, -1.0], [-2.0, -3.0, 0.5]], np.float32)
        y = np.array([[0, 0, 1], [0, 0, 1]], np.float32)
        np.testing.assert_allclose(
            jaxloss.categorical_hinge_loss(x, y, reduction="none"), [2.0, 0.5], rtol=1e-6
        )

    def test_gradients(self):
        with jax.enable_x64(True):
            x, y = _class_scores(3, (6,))
            x = x.astype(np.float64)
            # Finite differences need points away from the kink and from ties in the max.
            assert np.all(np.abs(1 + np.max((1 - y) * x, -1) - np.sum(y * x, -1)) > 1e-2)
            top2 = np.sort((1 - y) * x, -1)[:, -2:]
            assert np.all(top2[:, 1] - top2[:, 0] > 1e-2)
            f = lambda x: jaxloss.categorical_hinge_loss(x, y)
            check_grads(f, (x,), order=1, modes=["rev"], eps=1e-4)

    @given(
        x=hnp.arrays(np.float32, (3, 4), elements=st.floats(-100, 100, width=32)),
        labels=hnp.arrays(np.int32, (3,), elements=st.integers(0, 3)),
    )
    def test_non_negative(self, x, labels):
        y = np.eye(4, dtype=np.float32)[labels]
        assert np.all(np.asarray(jaxloss.categorical_hinge_loss(x, y, reduction="none")) >= 0)

    def test_shape_mismatch(self):
        with pytest.raises(
            ValueError,
            match=r"categorical_hinge_loss: arguments 'predictions' and 'labels' must have the "
            r"same shape, got predictions.shape=\(2, 3\) and labels.shape=\(2, 4\)",
        ):
            jaxloss.categorical_hinge_loss(np.zeros((2, 3), np.float32), np.zeros((2, 4)))

    def test_axis_out_of_range(self):
        x, y = _class_scores(4)
        with pytest.raises(
            ValueError, match=r"categorical_hinge_loss: argument 'axis'=2 is out of range"
        ):
            jaxloss.categorical_hinge_loss(x, y, axis=2)

    def test_integer_predictions(self):
        with pytest.raises(
            TypeError, match="categorical_hinge_loss: argument 'predictions'.*floating dtype"
        ):
            jaxloss.categorical_hinge_loss(np.zeros((2, 3), np.int32), np.zeros((2, 3)))


# ---------------------------------------------------------------------------
# soft_margin_loss


class TestSoftMarginLoss:
    def test_matches_reference(self):
        x, y = _scores(0)
        out = jaxloss.soft_margin_loss(x, y, reduction="none")
        assert out.shape == x.shape and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_soft_margin(x, y), rtol=1e-6)
        # PyTorch's soft_margin_loss "mean" averages over every element.
        np.testing.assert_allclose(
            jaxloss.soft_margin_loss(x, y), ref_soft_margin(x, y).mean(), rtol=1e-6
        )

    def test_jit_matches_eager(self):
        x, y = _scores(1)
        f = lambda x, y: jaxloss.soft_margin_loss(x, y, reduction="none")
        np.testing.assert_allclose(jax.jit(f)(x, y), f(x, y), rtol=1e-6)

    def test_axon_example(self):
        # Axon.Losses.soft_margin on a [1, 3] batch returns the three elementwise values.
        y = np.array([[-1.0, 1.0, 1.0]], np.float32)
        x = np.array([[0.2953, -0.1709, 0.9486]], np.float32)
        values = jaxloss.soft_margin_loss(x, y, reduction="none")
        np.testing.assert_allclose(
            values[0], [0.851658046245575, 0.7822436094284058, 0.3273470401763916], rtol=1e-6
        )
        np.testing.assert_allclose(jaxloss.soft_margin_loss(x, y), 0.6537495255470276, rtol=1e-6)
        np.testing.assert_allclose(
            jaxloss.soft_margin_loss(x, y, reduction="sum"), 1.9612486362457275, rtol=1e-6
        )

    def test_large_and_infinite_scores(self):
        x = jnp.array([100.0, -1000.0, 1e4, jnp.inf, -jnp.inf, jnp.inf])
        y = jnp.array([-1.0, 1.0, 1.0, 1.0, -1.0, -1.0])
        out = jaxloss.soft_margin_loss(x, y, reduction="none")
        np.testing.assert_allclose(out, [100.0, 1000.0, 0.0, 0.0, 0.0, np.inf], rtol=1e-6)
        g = jax.grad(lambda x: jaxloss.soft_margin_loss(x, y[:5], reduction="sum"))(x[:5])
        np.testing.assert_allclose(g, [1.0, -1.0, 0.0, 0.0, 0.0], atol=1e-30)
        assert np.all(g[3:] == 0)

    def test_gradients(self):
        with jax.enable_x64(True):
            x, y = _scores(2)
            x, y = x.astype(np.float64), y.astype(np.float64)
            check_grads(
                lambda x: jaxloss.soft_margin_loss(x, y), (x,), order=2, modes=["rev"], eps=1e-4
            )
            # Labels may be soft (e.g. differentiated through); the formula is smooth in them.
            check_grads(
                lambda y: jaxloss.soft_margin_loss(x, y),
                (y * 0.7,),
                order=2,
                modes=["rev"],
                eps=1e-4,
            )

    @given(
        x=hnp.arrays(np.float32, (6,), elements=st.floats(-50.0, 50.0, width=32)),
        y=hnp.arrays(np.float32, (6,), elements=st.sampled_from([-1.0, 1.0])),
    )
    def test_non_negative_and_symmetric(self, x, y):
        out = np.asarray(jaxloss.soft_margin_loss(x, y, reduction="none"))
        assert np.all(out >= 0) and np.all(np.isfinite(out))
        # Always above the hinge-like lower bound max(0, -y x).
        assert np.all(out >= np.maximum(0.0, -y * x) * (1 - 1e-6))
        np.testing.assert_array_equal(jaxloss.soft_margin_loss(-x, -y, reduction="none"), out)

    def test_shape_mismatch(self):
        with pytest.raises(
            ValueError,
            match=r"soft_margin_loss: arguments 'predictions' and 'labels' must have the same "
            r"shape, got predictions.shape=\(3, 1\) and labels.shape=\(3,\)",
        ):
            jaxloss.soft_margin_loss(np.zeros((3, 1), np.float32), np.ones(3))

    def test_integer_predictions(self):
        with pytest.raises(
            TypeError, match="soft_margin_loss: argument 'predictions'.*floating dtype"
        ):
            jaxloss.soft_margin_loss(np.zeros(3, np.int64), np.ones(3))


def test_registry_metadata():
    for name in ("hinge_loss", "categorical_hinge_loss", "soft_margin_loss"):
        assert jaxloss.info(name).family == "margin"
    assert jaxloss.info("hinge_loss").optax == "optax.losses.hinge_loss"
    assert jaxloss.info("soft_margin_loss").torch == "torch.nn.functional.soft_margin_loss"
    assert jaxloss.info("categorical_hinge_loss").hyperparameters == ("axis",)
