"""Tests of the sparsemax losses (jaxloss/_sparsemax.py).

References are float64 NumPy code written from the definitions: the sparsemax
projection is found by bisection on its threshold (not by sorting, as the library
does), and the multiclass loss uses the closed form of Martins and Astudillo (2016).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from jax.experimental import checkify

import jaxloss
from jaxloss._sparsemax import _sparsemax
from tests.grads import check_grads

# ---------------------------------------------------------------------------
# references


def ref_sparse_plus(s):
    s = np.asarray(s, np.float64)
    return np.where(s <= -1, 0.0, np.where(s >= 1, s, (s + 1) ** 2 / 4))


def ref_sparse_sigmoid(x):
    return np.clip((np.asarray(x, np.float64) + 1) / 2, 0.0, 1.0)


def ref_binary_sparsemax(x, y):
    """Fenchel-Young loss of the sparse sigmoid: sparse_plus(x) - x y + y^2 - y."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return ref_sparse_plus(x) - x * y + y**2 - y


def ref_threshold(row):
    """The tau with sum(max(row - tau, 0)) == 1, by bisection."""
    row = np.asarray(row, np.float64)
    lo, hi = row.max() - 1.0, row.max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(row - mid, 0).sum() > 1:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def ref_sparsemax(x):
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        out[idx] = np.maximum(x[idx] - ref_threshold(x[idx]), 0.0)
    return out


def ref_multiclass_sparsemax(x, labels, axis=-1):
    """0.5 * sum_{j in support} (x_j^2 - tau^2) - x_y + 0.5, per example."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    labels = np.asarray(labels)
    out = np.empty(labels.shape)
    for idx in np.ndindex(labels.shape):
        row = x[idx]
        tau = ref_threshold(row)
        support = row > tau
        out[idx] = 0.5 * np.sum(row[support] ** 2 - tau**2) - row[labels[idx]] + 0.5
    return out


def _binary(seed, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    x = (1.5 * rng.normal(size=shape)).astype(np.float32)
    y = rng.integers(0, 2, size=shape).astype(np.float32)
    return x, y


def _class_scores(seed, batch=(4,), num_classes=5, scale=1.0):
    rng = np.random.default_rng(seed)
    x = (scale * rng.normal(size=batch + (num_classes,))).astype(np.float32)
    return x, rng.integers(0, num_classes, size=batch).astype(np.int32)


# ---------------------------------------------------------------------------
# sparsemax_loss (binary)


class TestSparsemaxLoss:
    def test_matches_reference_and_optax(self):
        x, y = _binary(0)
        out = jaxloss.sparsemax_loss(x, y, reduction="none")
        assert out.shape == x.shape and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_binary_sparsemax(x, y), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            out, optax.losses.sparsemax_loss(x, y.astype(np.int32)), rtol=1e-6, atol=1e-7
        )
        # For hard labels it is sparse_plus(-x) for label 1 and sparse_plus(x) for label 0.
        np.testing.assert_allclose(
            out, ref_sparse_plus(np.where(y == 1, -x, x)), rtol=1e-5, atol=1e-6
        )

    def test_full_relative_precision_near_the_breakpoints(self):
        # Hard labels: the loss is (1 -+ x)^2 / 4 near x = +-1, tiny but not cancelled.
        x = np.array([0.999, 0.9999, -0.999, -0.9999, 0.5], dtype=np.float32)
        y = np.array([1.0, 1.0, 0.0, 0.0, 1.0], dtype=np.float32)
        out = np.asarray(jaxloss.sparsemax_loss(x, y, reduction="none"))
        expected = ref_sparse_plus(np.where(y == 1, -x.astype(np.float64), x))
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=0)

    def test_integer_and_bool_labels(self):
        x, y = _binary(1)
        expected = jaxloss.sparsemax_loss(x, y, reduction="none")
        for labels in (y.astype(np.int32), y.astype(bool)):
            np.testing.assert_array_equal(
                jaxloss.sparsemax_loss(x, labels, reduction="none"), expected
            )

    def test_soft_labels_are_the_fenchel_young_loss(self):
        rng = np.random.default_rng(2)
        x = (1.5 * rng.normal(size=(20,))).astype(np.float32)
        y = rng.uniform(0, 1, size=(20,)).astype(np.float32)
        out = jaxloss.sparsemax_loss(x, y, reduction="none")
        np.testing.assert_allclose(out, ref_binary_sparsemax(x, y), rtol=1e-5, atol=1e-6)
        # Zero exactly at the sparse sigmoid of the logit.
        target = np.asarray(jax.nn.sparse_sigmoid(x))
        np.testing.assert_allclose(
            jaxloss.sparsemax_loss(x, target, reduction="none"), 0.0, atol=1e-6
        )

    def test_gradients(self):
        with jax.enable_x64(True):
            x, y = _binary(4, (12,))
            x = x.astype(np.float64)
            f = lambda x: jaxloss.sparsemax_loss(x, y, reduction="sum")
            # Continuously differentiable everywhere; gradient sparse_sigmoid(x) - y.
            check_grads(f, (x,), order=1, modes=["rev", "fwd"], eps=1e-4)
            np.testing.assert_allclose(jax.grad(f)(x), ref_sparse_sigmoid(x) - y, atol=1e-12)
            # Second order away from the breakpoints x = +-1.
            assert np.all(np.abs(np.abs(x) - 1) > 1e-2)
            check_grads(f, (x,), order=2, modes=["rev"], eps=1e-4)
            # Soft labels: also differentiable in the labels (d/dy = 2y - 1 - x).
            ys = np.linspace(0.1, 0.9, 12)
            check_grads(
                lambda y: jaxloss.sparsemax_loss(x, y, reduction="sum"),
                (ys,),
                order=2,
                modes=["rev"],
                eps=1e-4,
            )

    def test_gradient_at_breakpoints(self):
        x = jnp.array([-1.0, 1.0, -1.0, 1.0])
        y = jnp.array([0.0, 0.0, 1.0, 1.0])
        g = jax.grad(lambda x: jaxloss.sparsemax_loss(x, y, reduction="sum"))(x)
        np.testing.assert_array_equal(g, ref_sparse_sigmoid(x) - y)

    def test_infinite_logits(self):
        x = jnp.array([jnp.inf, -jnp.inf, jnp.inf, -jnp.inf])
        y = jnp.array([1.0, 0.0, 0.0, 1.0])
        out = np.asarray(jaxloss.sparsemax_loss(x, y, reduction="none"))
        np.testing.assert_array_equal(out[:2], [0.0, 0.0])
        # Disagreeing infinite logits: clipped to +-finfo.max/4 (documented), huge and finite.
        assert np.all(np.isfinite(out[2:])) and np.all(out[2:] > 1e37)
        g = jax.grad(lambda x: jaxloss.sparsemax_loss(x, y[:2], reduction="sum"))(x[:2])
        np.testing.assert_array_equal(g, [0.0, 0.0])
        gy = jax.grad(lambda y: jaxloss.sparsemax_loss(x[:2], y, reduction="sum"))(y[:2])
        assert np.all(np.isfinite(gy))

    @given(
        x=hnp.arrays(np.float32, (6,), elements=st.floats(-100, 100, width=32)),
        y=hnp.arrays(np.float32, (6,), elements=st.floats(0, 1, width=32)),
    )
    def test_non_negative(self, x, y):
        out = np.asarray(jaxloss.sparsemax_loss(x, y, reduction="none"))
        assert np.all(out >= -1e-5 * (1 + np.abs(x)))

    @given(
        x=hnp.arrays(np.float32, (6,), elements=st.floats(-100, 100, width=32)),
        y=hnp.arrays(np.float32, (6,), elements=st.sampled_from([0.0, 1.0])),
    )
    def test_label_flip_symmetry(self, x, y):
        out = jaxloss.sparsemax_loss(x, y, reduction="none")
        np.testing.assert_array_equal(jaxloss.sparsemax_loss(-x, 1 - y, reduction="none"), out)


# ---------------------------------------------------------------------------
# the sparsemax projection


class TestSparsemaxProjection:
    def test_matches_bisection_and_optax(self):
        x, _ = _class_scores(10, (3, 4), num_classes=7, scale=2.0)
        p = _sparsemax(jnp.asarray(x))
        np.testing.assert_allclose(p, ref_sparsemax(x), atol=1e-6)
        np.testing.assert_allclose(np.sum(p, -1), 1.0, rtol=1e-6)
        flat = x.reshape(-1, 7)
        np.testing.assert_allclose(
            p.reshape(-1, 7), jax.vmap(optax.projections.projection_simplex)(flat), atol=1e-6
        )

    def test_minus_inf_entries_get_zero(self):
        x = jnp.array([[-jnp.inf, 0.2, 0.1, -jnp.inf], [0.0, -jnp.inf, -jnp.inf, -jnp.inf]])
        p = _sparsemax(x)
        np.testing.assert_allclose(p, [[0.0, 0.55, 0.45, 0.0], [1.0, 0.0, 0.0, 0.0]], atol=1e-7)

    def test_jacobian(self):
        with jax.enable_x64(True):
            x, _ = _class_scores(11, (), num_classes=6, scale=0.5)
            x = x.astype(np.float64)
            s = (ref_sparsemax(x) > 0).astype(np.float64)
            expected = np.diag(s) - np.outer(s, s) / s.sum()
            np.testing.assert_allclose(jax.jacrev(_sparsemax)(x), expected, atol=1e-12)
            np.testing.assert_allclose(jax.jacfwd(_sparsemax)(x), expected, atol=1e-12)


# ---------------------------------------------------------------------------
# multiclass_sparsemax_loss


class TestMulticlassSparsemaxLoss:
    def test_matches_reference_and_optax(self):
        x, y = _class_scores(20, (8,), scale=1.5)
        out = jaxloss.multiclass_sparsemax_loss(x, y, reduction="none")
        assert out.shape == (8,) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_multiclass_sparsemax(x, y), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            out, optax.losses.multiclass_sparsemax_loss(x, y), rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            jaxloss.multiclass_sparsemax_loss(x, y),
            ref_multiclass_sparsemax(x, y).mean(),
            rtol=1e-5,
        )

    def test_several_batch_dimensions_and_axis(self):
        x, y = _class_scores(21, (2, 3), scale=1.5)
        out = jaxloss.multiclass_sparsemax_loss(x, y, reduction="none")
        assert out.shape == (2, 3)
        np.testing.assert_allclose(out, ref_multiclass_sparsemax(x, y), rtol=1e-5, atol=1e-6)
        for axis in (0, 1, -3):
            xa = np.moveaxis(x, -1, axis)
            np.testing.assert_allclose(
                jaxloss.multiclass_sparsemax_loss(xa, y, axis=axis, reduction="none"),
                ref_multiclass_sparsemax(xa, y, axis),
                rtol=1e-5,
                atol=1e-6,
            )
        # And a single example (no batch dimension).
        np.testing.assert_allclose(
            jaxloss.multiclass_sparsemax_loss(x[0, 0], y[0, 0], reduction="none"),
            ref_multiclass_sparsemax(x[0, 0], y[0, 0]),
            rtol=1e-5,
        )

    def test_large_scores(self):
        # Scores are max-shifted before the projection, so a large common offset is harmless.
        x, y = _class_scores(22, (6,), scale=2.0)
        big = (x.astype(np.float64) + 1e4).astype(np.float32)
        np.testing.assert_allclose(
            jaxloss.multiclass_sparsemax_loss(big, y, reduction="none"),
            ref_multiclass_sparsemax(big, y),
            rtol=1e-4,
            atol=1e-3,
        )

    def test_gradient_is_sparsemax_minus_one_hot(self):
        with jax.enable_x64(True):
            x, y = _class_scores(24, (2, 3), scale=1.5)
            x = x.astype(np.float64)
            g = jax.grad(lambda x: jaxloss.multiclass_sparsemax_loss(x, y, reduction="sum"))(x)
            np.testing.assert_allclose(g, ref_sparsemax(x) - np.eye(5)[y], atol=1e-12)

    def test_check_grads(self):
        with jax.enable_x64(True):
            x, y = _class_scores(25, (4,), scale=1.5)
            x = x.astype(np.float64)
            # Away from support changes: every score is far from its row's threshold.
            tau = np.array([ref_threshold(row) for row in x])
            assert np.all(np.abs(x - tau[:, None]) > 1e-2)
            f = lambda x: jaxloss.multiclass_sparsemax_loss(x, y)
            check_grads(f, (x,), order=2, modes=["rev", "fwd"], eps=1e-4)

    def test_zero_when_the_true_class_wins_by_the_margin(self):
        x = jnp.array([[3.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
        y = jnp.array([0, 2])
        out = jaxloss.multiclass_sparsemax_loss(x, y, reduction="none")
        np.testing.assert_allclose(out, [0.0, 0.0], atol=1e-7)
        g = jax.grad(lambda x: jaxloss.multiclass_sparsemax_loss(x, y))(x)
        np.testing.assert_allclose(g, np.zeros((2, 3)), atol=1e-7)

    def test_infinite_scores(self):
        x = jnp.array(
            [
                [-jnp.inf, 0.2, 0.1],  # -inf wrong class: ignored
                [jnp.inf, 0.0, 1.0],  # +inf true score: loss 0
                [jnp.inf, jnp.inf, 1.0],  # two +inf, label one of them: (1 - 1/2) / 2
                [0.0, jnp.inf, 1.0],  # +inf wrong class: inf
                [-jnp.inf, -jnp.inf, -jnp.inf],  # treated as all equal: (1 - 1/3) / 2
            ]
        )
        y = jnp.array([1, 0, 1, 0, 2])
        out = jaxloss.multiclass_sparsemax_loss(x, y, reduction="none")
        expected0 = ref_multiclass_sparsemax(np.array([[-1e30, 0.2, 0.1]]), np.array([1]))[0]
        np.testing.assert_allclose(out, [expected0, 0.0, 0.25, np.inf, 1 / 3], rtol=1e-6)
        keep = np.array([0, 1, 2, 4])
        g = jax.grad(lambda x: jaxloss.multiclass_sparsemax_loss(x, y[keep], reduction="sum"))(
            x[keep]
        )
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g[0], [0.0, 0.55 - 1, 0.45], atol=1e-6)
        np.testing.assert_array_equal(g[1:], np.zeros((3, 3)))

    def test_out_of_range_labels_give_nan(self):
        x, _ = _class_scores(26, (4,))
        y = np.array([0, 5, -1, 2], np.int32)
        out = np.asarray(jaxloss.multiclass_sparsemax_loss(x, y, reduction="none"))
        assert np.isnan(out[1]) and np.isnan(out[2]) and np.all(np.isfinite(out[[0, 3]]))
        m = np.array([True, False, False, True])
        g = jax.grad(lambda x: jaxloss.multiclass_sparsemax_loss(x, y, where=m))(x)
        assert np.all(np.isfinite(g)) and np.all(g[1:3] == 0)
        checked = jaxloss.checked(jaxloss.multiclass_sparsemax_loss)
        np.testing.assert_allclose(
            checked(x, y, where=m), ref_multiclass_sparsemax(x[m], y[m]).mean(), rtol=1e-5
        )
        with pytest.raises(
            checkify.JaxRuntimeError,
            match=r"multiclass_sparsemax_loss: label out of range \[0, 5\) at position \[1\]: 5",
        ):
            checked(x, y)

    @given(
        x=hnp.arrays(np.float32, (3, 4), elements=st.floats(-20, 20, width=32)),
        y=hnp.arrays(np.int32, (3,), elements=st.integers(0, 3)),
        shift=st.floats(-50, 50, width=32),
    )
    def test_non_negative_and_shift_invariant(self, x, y, shift):
        out = np.asarray(jaxloss.multiclass_sparsemax_loss(x, y, reduction="none"))
        assert np.all(out >= -1e-5)
        shifted = jaxloss.multiclass_sparsemax_loss(x + np.float32(shift), y, reduction="none")
        np.testing.assert_allclose(shifted, out, atol=1e-4 * (1 + abs(shift)))

    @given(
        x=hnp.arrays(np.float32, (2, 4), elements=st.floats(-5, 5, width=32)),
        y=hnp.arrays(np.int32, (2,), elements=st.integers(0, 3)),
    )
    def test_between_perceptron_and_hinge(self, x, y):
        # Fenchel-Young sandwich: max_c x_c - x_y <= loss <= the Crammer-Singer hinge.
        out = np.asarray(jaxloss.multiclass_sparsemax_loss(x, y, reduction="none"))
        low = np.asarray(jaxloss.multiclass_perceptron_loss(x, y, reduction="none"))
        high = np.asarray(jaxloss.multiclass_hinge_loss(x, y, reduction="none"))
        assert np.all(out >= low - 1e-5) and np.all(out <= high + 1e-5)

    def test_label_shape_mismatch(self):
        with pytest.raises(
            ValueError,
            match=r"multiclass_sparsemax_loss: argument 'labels' must have the shape of 'scores' "
            r"without axis 1, got scores.shape=\(2, 3\) and labels.shape=\(3,\)",
        ):
            jaxloss.multiclass_sparsemax_loss(np.zeros((2, 3), np.float32), np.zeros(3, np.int32))

    def test_float_labels(self):
        with pytest.raises(
            TypeError, match=r"multiclass_sparsemax_loss: argument 'labels' must have an integer"
        ):
            jaxloss.multiclass_sparsemax_loss(np.zeros((2, 3), np.float32), np.zeros(2))
