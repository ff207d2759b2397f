"""Tests of the metric-learning losses (jaxloss/_metric.py).

References are float64 NumPy code written from the formulas in the docstrings (and
PyTorch's documented semantics); optax parity where optax has the loss.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jaxloss
from tests.grads import check_grads

# ---------------------------------------------------------------------------
# references


def _f64(*xs):
    return tuple(np.asarray(x, np.float64) for x in xs)


def ref_margin_ranking(x1, x2, y, margin=0.0):
    x1, x2, y = _f64(x1, x2, y)
    return np.maximum(0.0, -y * (x1 - x2) + margin)


def ref_hinge_embedding(x, y, margin=1.0):
    x, y = _f64(x, y)
    return np.where(y != -1, x, 0.0) + np.where(y != 1, np.maximum(0.0, margin - x), 0.0)


def ref_cosine_embedding(x1, x2, y, margin=0.0, epsilon=1e-8, axis=-1):
    x1, x2, y = _f64(x1, x2, y)
    x1, x2 = np.moveaxis(x1, axis, -1), np.moveaxis(x2, axis, -1)
    n1 = np.maximum(np.sqrt(np.sum(x1 * x1, -1)), epsilon)
    n2 = np.maximum(np.sqrt(np.sum(x2 * x2, -1)), epsilon)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(x1 * x2, -1) / (n1 * n2)
    cos = np.where(n1 * n2 > 0, cos, 0.0)
    return np.where(y == 1, 1 - cos, 0.0) + np.where(y == -1, np.maximum(0.0, cos - margin), 0.0)


def ref_pdist(a, b, p=2.0, epsilon=1e-6, axis=-1):
    a, b = _f64(a, b)
    diff = np.abs(np.moveaxis(a - b + epsilon, axis, -1))
    if p == math.inf:
        return diff.max(-1)
    return np.sum(diff**p, -1) ** (1.0 / p)


def ref_contrastive(x1, x2, y, margin=1.0, epsilon=1e-6, axis=-1):
    (y,) = _f64(y)
    d = ref_pdist(x1, x2, 2.0, epsilon, axis) if x2 is not None else _f64(x1)[0]
    return y * d**2 + (1 - y) * np.maximum(0.0, margin - d) ** 2


def ref_triplet(a, pos, neg, margin=1.0, p=2.0, epsilon=1e-6, swap=False, axis=-1):
    d_pos = ref_pdist(a, pos, p, epsilon, axis)
    d_neg = ref_pdist(a, neg, p, epsilon, axis)
    if swap:
        d_neg = np.minimum(d_neg, ref_pdist(pos, neg, p, epsilon, axis))
    return np.maximum(0.0, d_pos - d_neg + margin)


# ---------------------------------------------------------------------------
# data


def _signs(rng, shape):
    return rng.choice(np.array([-1.0, 1.0], np.float32), size=shape)


def _emb(seed, n, batch=(5,), dim=4, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=batch + (dim,)).astype(dtype) for _ in range(n))


TOL = dict(rtol=1e-5, atol=1e-6)


def _x64_grads(f, args, order=1):
    with jax.enable_x64(True):
        args = tuple(jnp.asarray(np.asarray(a, np.float64)) for a in args)
        check_grads(f, args, order=order, modes=["rev"], eps=1e-3)


def _finite_value_and_grad(f, *args, argnums=0):
    value, grads = jax.value_and_grad(f, argnums=argnums)(*args)
    assert np.isfinite(value)
    for g in jax.tree_util.tree_leaves(grads):
        assert np.all(np.isfinite(np.asarray(g)))
    return value, grads


# ---------------------------------------------------------------------------
# margin_ranking_loss


class TestMarginRankingLoss:
    def _data(self, seed=0, shape=(4, 3)):
        rng = np.random.default_rng(seed)
        x1 = rng.normal(size=shape).astype(np.float32)
        x2 = rng.normal(size=shape).astype(np.float32)
        return x1, x2, _signs(rng, shape)

    @pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
    def test_matches_reference(self, margin):
        x1, x2, y = self._data()
        out = jaxloss.margin_ranking_loss(x1, x2, y, margin=margin, reduction="none")
        assert out.shape == x1.shape and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_margin_ranking(x1, x2, y, margin), **TOL)

    def test_axon_example(self):
        # Axon.Losses.margin_ranking worked example (labels 1, margin 0).
        y = np.array([1.0, 1.0, 1.0], np.float32)
        x1 = np.array([0.6934, -0.7239, 1.1954], np.float32)
        x2 = np.array([-0.4691, 0.2670, -1.7452], np.float32)
        f = jaxloss.margin_ranking_loss
        np.testing.assert_allclose(f(x1, x2, y, reduction="none"), [0.0, 0.9909, 0.0], atol=1e-6)
        np.testing.assert_allclose(f(x1, x2, y), 0.3303, rtol=1e-5)
        np.testing.assert_allclose(f(x1, x2, y, reduction="sum"), 0.9909, rtol=1e-5)

    def test_grads(self):
        x1, x2, y = self._data(2)
        # Away from the kink -y (x1 - x2) + m = 0.
        x1 = np.where(np.abs(-y * (x1 - x2) + 0.1) < 0.05, x1 + 0.2, x1)
        f = lambda a, b: jaxloss.margin_ranking_loss(a, b, y, margin=0.1)
        _x64_grads(f, (x1, x2), order=2)

    def test_traced_margin_vmap_and_grad(self):
        x1, x2, y = self._data(3)
        f = lambda m: jaxloss.margin_ranking_loss(x1, x2, y, margin=m)
        margins = jnp.array([0.0, 0.5, 1.0])
        ref = [ref_margin_ranking(x1, x2, y, float(m)).mean() for m in margins]
        np.testing.assert_allclose(jax.jit(jax.vmap(f))(margins), ref, **TOL)
        # d/dm = fraction of active entries.
        active = (ref_margin_ranking(x1, x2, y, 0.5) > 0).mean()
        np.testing.assert_allclose(jax.grad(f)(0.5), active, **TOL)

    def test_degenerate_equal_scores(self):
        x = jnp.zeros((3,))
        y = jnp.array([1.0, -1.0, 1.0])
        value, (g1, g2) = _finite_value_and_grad(
            lambda a, b: jaxloss.margin_ranking_loss(a, b, y, margin=0.5), x, x, argnums=(0, 1)
        )
        assert float(value) == 0.5
        np.testing.assert_allclose(g1, -np.asarray(y) / 3, **TOL)
        np.testing.assert_allclose(g2, np.asarray(y) / 3, **TOL)

    @settings(max_examples=20, deadline=None, derandomize=True)
    @given(
        hnp.arrays(np.float32, (6,), elements=st.floats(-10, 10, width=32)),
        hnp.arrays(np.float32, (6,), elements=st.floats(-10, 10, width=32)),
        st.floats(-1, 1),
    )
    def test_nonnegative_and_antisymmetric(self, x1, x2, margin):
        y = np.array([1, -1, 1, -1, 1, -1], np.float32)
        a = jaxloss.margin_ranking_loss(x1, x2, y, margin=margin, reduction="none")
        b = jaxloss.margin_ranking_loss(x2, x1, -y, margin=margin, reduction="none")
        assert np.all(np.asarray(a) >= 0)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)

    def test_shape_errors(self):
        f = jaxloss.margin_ranking_loss
        with pytest.raises(
            ValueError, match=r"margin_ranking_loss: arguments 'x1' and 'x2' .*\(3,\).*\(4,\)"
        ):
            f(jnp.zeros(3), jnp.zeros(4), jnp.ones(3))
        with pytest.raises(ValueError, match=r"margin_ranking_loss: arguments 'x1' and 'labels'"):
            f(jnp.zeros(3), jnp.zeros(3), jnp.ones(4))

    def test_dtype_error(self):
        with pytest.raises(
            TypeError, match=r"margin_ranking_loss: argument 'x2' must have a float"
        ):
            jaxloss.margin_ranking_loss(jnp.zeros(3), jnp.zeros(3, jnp.int32), jnp.ones(3))


# ---------------------------------------------------------------------------
# hinge_embedding_loss


class TestHingeEmbeddingLoss:
    def _data(self, seed=0, shape=(4, 3)):
        rng = np.random.default_rng(seed)
        return rng.uniform(0, 2, size=shape).astype(np.float32), _signs(rng, shape)

    @pytest.mark.parametrize("margin", [1.0, 0.5, 2.0])
    def test_matches_reference(self, margin):
        x, y = self._data()
        out = jaxloss.hinge_embedding_loss(x, y, margin=margin, reduction="none")
        assert out.shape == x.shape and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_hinge_embedding(x, y, margin), **TOL)
        f = jax.jit(
            lambda a, b: jaxloss.hinge_embedding_loss(a, b, margin=margin, reduction="none")
        )
        np.testing.assert_allclose(f(x, y), out, **TOL)

    def test_other_labels_add_both_terms_as_pytorch(self):
        x = np.array([0.3, 0.3, 0.3], np.float32)
        y = np.array([1, -1, 0], np.int32)
        out = jaxloss.hinge_embedding_loss(x, y, reduction="none")
        np.testing.assert_allclose(out, [0.3, 0.7, 1.0], rtol=1e-6)

    def test_infinite_distance_of_dissimilar_pair(self):
        x = jnp.array([jnp.inf, 0.5])
        y = jnp.array([-1.0, 1.0])
        value, g = _finite_value_and_grad(lambda v: jaxloss.hinge_embedding_loss(v, y), x)
        assert float(value) == 0.25
        np.testing.assert_array_equal(g, [0.0, 0.5])

    def test_degenerate_zero_inputs(self):
        x = jnp.zeros(4)
        y = jnp.array([1.0, -1.0, 1.0, -1.0])
        value, g = _finite_value_and_grad(lambda v: jaxloss.hinge_embedding_loss(v, y), x)
        assert float(value) == 0.5
        np.testing.assert_allclose(g, [0.25, -0.25, 0.25, -0.25])

    def test_grads_and_traced_margin(self):
        x, y = self._data(1)
        x = np.where(np.abs(x - 1.0) < 0.05, x + 0.1, x)
        _x64_grads(lambda v: jaxloss.hinge_embedding_loss(v, y), (x,), order=2)
        f = jax.jit(lambda m: jaxloss.hinge_embedding_loss(x, y, margin=m, reduction="sum"))
        np.testing.assert_allclose(f(1.5), ref_hinge_embedding(x, y, 1.5).sum(), **TOL)
        active = ((y == -1) & (x < 1.5)).sum()
        np.testing.assert_allclose(jax.grad(f)(1.5), active, **TOL)

    @settings(max_examples=20, deadline=None, derandomize=True)
    @given(hnp.arrays(np.float32, (5,), elements=st.floats(0, 10, width=32)))
    def test_nonnegative_for_nonnegative_inputs(self, x):
        y = np.array([1, -1, 1, -1, -1], np.float32)
        assert np.all(np.asarray(jaxloss.hinge_embedding_loss(x, y, reduction="none")) >= 0)


# ---------------------------------------------------------------------------
# cosine_embedding_loss


class TestCosineEmbeddingLoss:
    @pytest.mark.parametrize("margin", [0.0, 0.4, -0.5])
    def test_matches_reference(self, margin):
        x1, x2 = _emb(0, 2, batch=(3, 5))
        y = _signs(np.random.default_rng(1), (3, 5))
        out = jaxloss.cosine_embedding_loss(x1, x2, y, margin=margin, reduction="none")
        assert out.shape == (3, 5) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_cosine_embedding(x1, x2, y, margin), **TOL)
        f = jax.jit(
            functools.partial(jaxloss.cosine_embedding_loss, margin=margin, reduction="none")
        )
        np.testing.assert_allclose(f(x1, x2, y), out, **TOL)

    def test_axis(self):
        x1, x2 = _emb(2, 2, batch=(3,), dim=6)
        y = _signs(np.random.default_rng(3), (3,))
        out = jaxloss.cosine_embedding_loss(x1.T, x2.T, y, axis=0, reduction="none")
        np.testing.assert_allclose(out, ref_cosine_embedding(x1, x2, y), **TOL)

    def test_zero_vectors(self):
        x1 = jnp.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
        x2 = jnp.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        y = jnp.array([1.0, -1.0, -1.0])
        for eps in (1e-8, 0.0):
            f = lambda a, b, eps=eps: jaxloss.cosine_embedding_loss(
                a, b, y, margin=-0.25, epsilon=eps, reduction="sum"
            )
            value, _ = _finite_value_and_grad(f, x1, x2, argnums=(0, 1))
            np.testing.assert_allclose(value, 1.0 + 0.25 + 0.25, rtol=1e-6)

    def test_other_labels_give_zero(self):
        x1, x2 = _emb(4, 2, batch=(2,))
        out = jaxloss.cosine_embedding_loss(x1, x2, jnp.array([0.0, 2.0]), reduction="none")
        np.testing.assert_array_equal(out, [0.0, 0.0])

    def test_grads(self):
        x1, x2 = _emb(5, 2, batch=(4,))
        y = np.array([1.0, -1.0, 1.0, -1.0], np.float32)
        # Cosines of the negatives stay away from the margin kink (-0.9).
        f = lambda a, b: jaxloss.cosine_embedding_loss(a, b, y, margin=-0.9)
        cos = 1 - ref_cosine_embedding(x1, x2, np.ones(4))
        assert np.all(np.abs(cos + 0.9) > 0.05)
        _x64_grads(f, (x1, x2), order=2)

    def test_errors(self):
        x = jnp.ones((3, 4))
        f = jaxloss.cosine_embedding_loss
        with pytest.raises(
            ValueError, match=r"cosine_embedding_loss: argument 'margin' must be in"
        ):
            f(x, x, jnp.ones(3), margin=1.5)
        with pytest.raises(ValueError, match=r"cosine_embedding_loss: argument 'labels' must have"):
            f(x, x, jnp.ones((3, 4)))
        with pytest.raises(ValueError, match=r"cosine_embedding_loss: arguments 'x1' and 'x2'"):
            f(x, jnp.ones((3, 5)), jnp.ones(3))
        with pytest.raises(ValueError, match=r"cosine_embedding_loss: argument 'epsilon' must be"):
            f(x, x, jnp.ones(3), epsilon=-1.0)
        with pytest.raises(ValueError, match=r"cosine_embedding_loss: argument 'axis'=2"):
            f(x, x, jnp.ones(3), axis=2)


# ---------------------------------------------------------------------------
# contrastive_loss


class TestContrastiveLoss:
    @pytest.mark.parametrize("epsilon", [1e-6, 0.0, 0.1])
    def test_matches_reference(self, epsilon):
        x1, x2 = _emb(0, 2, batch=(3, 4))
        y = np.random.default_rng(1).integers(0, 2, size=(3, 4)).astype(np.float32)
        out = jaxloss.contrastive_loss(x1, x2, y, margin=3.0, epsilon=epsilon, reduction="none")
        assert out.shape == (3, 4) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_contrastive(x1, x2, y, 3.0, epsilon), **TOL)

    def test_scirs2_example(self):
        # scirs2-neural ContrastiveLoss doc example: plain Euclidean distance, batch mean.
        x1 = np.array([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]], np.float32)
        x2 = np.array([[0.1, 0.3, 0.3], [0.9, 0.8, 0.7]], np.float32)
        y = np.array([1.0, 0.0], np.float32)
        d2 = np.sqrt(0.4**2 + 0.3**2 + 0.2**2)
        expected = (0.1**2 + (1.0 - d2) ** 2) / 2
        out = jaxloss.contrastive_loss(x1, x2, y, epsilon=0.0)
        np.testing.assert_allclose(out, expected, rtol=1e-5)

    def test_precomputed_distances(self):
        rng = np.random.default_rng(2)
        d = rng.uniform(0, 2, size=(6,)).astype(np.float32)
        y = rng.integers(0, 2, size=(6,)).astype(np.float32)
        out = jaxloss.contrastive_loss(d, None, y, margin=1.2, reduction="none")
        np.testing.assert_allclose(out, ref_contrastive(d, None, y, 1.2), **TOL)
        # Same as passing the embeddings whose distances they are.
        x1, x2 = _emb(3, 2, batch=(6,))
        dist = jaxloss.pairwise_distance(x1, x2)
        np.testing.assert_allclose(
            jaxloss.contrastive_loss(dist, None, y, reduction="none"),
            jaxloss.contrastive_loss(x1, x2, y, reduction="none"),
            **TOL,
        )

    def test_soft_labels_interpolate(self):
        x1, x2 = _emb(4, 2, batch=(5,))
        f = lambda y: jaxloss.contrastive_loss(x1, x2, y, margin=4.0, reduction="none")
        ones, zeros = jnp.ones(5), jnp.zeros(5)
        np.testing.assert_allclose(f(0.3 * ones), 0.3 * f(ones) + 0.7 * f(zeros), **TOL)

    @pytest.mark.parametrize("epsilon", [0.0, 1e-6])
    def test_identical_and_zero_vectors(self, epsilon):
        x = jnp.zeros((2, 3))
        y = jnp.array([1.0, 0.0])
        f = lambda a, b: jaxloss.contrastive_loss(a, b, y, epsilon=epsilon, reduction="sum")
        value, (g1, g2) = _finite_value_and_grad(f, x, x, argnums=(0, 1))
        np.testing.assert_allclose(value, 1.0, atol=1e-5)  # 0 (similar) + margin**2
        if epsilon == 0.0:
            np.testing.assert_array_equal(g1, 0.0)  # the subgradient at d = 0
        else:
            assert np.all(np.asarray(g1[1]) < 0) and np.all(np.asarray(g2[1]) > 0)
        # Also through the precomputed-distance form, at d = 0.
        _finite_value_and_grad(lambda d: jaxloss.contrastive_loss(d, None, y), jnp.zeros(2))

    def test_grads(self):
        x1, x2 = _emb(5, 2, batch=(6,))
        y = np.array([1, 0, 1, 0, 0, 1], np.float32)
        d = ref_pdist(x1, x2)
        assert np.all(np.abs(d - 2.5) > 0.05) and np.any((y == 0) & (d < 2.5))
        f = lambda a, b: jaxloss.contrastive_loss(a, b, y, margin=2.5)
        _x64_grads(f, (x1, x2), order=2)
        g = lambda d: jaxloss.contrastive_loss(d, None, y, margin=2.5)
        _x64_grads(g, (d,), order=2)

    def test_traced_margin(self):
        x1, x2 = _emb(6, 2, batch=(6,))
        y = np.array([1, 0, 1, 0, 0, 1], np.float32)
        f = jax.jit(lambda m: jaxloss.contrastive_loss(x1, x2, y, margin=m))
        margins = jnp.array([1.0, 2.0, 3.0])
        ref = [ref_contrastive(x1, x2, y, float(m)).mean() for m in margins]
        np.testing.assert_allclose(jax.vmap(f)(margins), ref, **TOL)
        d = ref_pdist(x1, x2)
        dref = np.mean((1 - y) * 2 * np.maximum(0, 3.0 - d))
        np.testing.assert_allclose(jax.grad(f)(3.0), dref, rtol=1e-5)

    @settings(max_examples=20, deadline=None, derandomize=True)
    @given(
        hnp.arrays(np.float32, (3, 4), elements=st.floats(-5, 5, width=32)),
        hnp.arrays(np.float32, (3, 4), elements=st.floats(-5, 5, width=32)),
        hnp.arrays(np.float32, (4,), elements=st.floats(-5, 5, width=32)),
    )
    def test_nonnegative_and_translation_invariant(self, x1, x2, shift):
        y = np.array([1.0, 0.0, 1.0], np.float32)
        a = jaxloss.contrastive_loss(x1, x2, y, margin=2.0, reduction="none")
        b = jaxloss.contrastive_loss(x1 + shift, x2 + shift, y, margin=2.0, reduction="none")
        assert np.all(np.asarray(a) >= 0)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)

    def test_errors(self):
        x = jnp.ones((3, 4))
        f = jaxloss.contrastive_loss
        with pytest.raises(ValueError, match=r"contrastive_loss: argument 'margin' must be >= 0"):
            f(x, x, jnp.ones(3), margin=-1.0)
        with pytest.raises(ValueError, match=r"contrastive_loss: argument 'labels' must have"):
            f(x, x, jnp.ones(4))
        with pytest.raises(ValueError, match=r"contrastive_loss: arguments 'x1' and 'labels'"):
            f(jnp.ones(3), None, jnp.ones(4))
        with pytest.raises(TypeError, match=r"contrastive_loss: argument 'x1' must have a float"):
            f(jnp.ones((3, 4), jnp.int32), x, jnp.ones(3))


# ---------------------------------------------------------------------------
# pairwise_distance and triplet_margin_loss

P_VALUES = [0.5, 1.0, 1.5, 2.0, 3.0, math.inf]


class TestPairwiseDistance:
    @pytest.mark.parametrize("p", P_VALUES)
    @pytest.mark.parametrize("epsilon", [0.0, 1e-6])
    def test_matches_reference(self, p, epsilon):
        a, b = _emb(0, 2, batch=(3, 2), dim=5)
        out = jaxloss.pairwise_distance(a, b, p=p, epsilon=epsilon)
        assert out.shape == (3, 2)
        np.testing.assert_allclose(out, ref_pdist(a, b, p, epsilon), **TOL)

    def test_large_entries_do_not_overflow(self):
        a = jnp.array([[3e30, 4e30]])
        out = jaxloss.pairwise_distance(a, jnp.zeros_like(a), p=3.0, epsilon=0.0)
        np.testing.assert_allclose(out, [(27 + 64) ** (1 / 3) * 1e30], rtol=1e-5)

    def test_errors(self):
        x = jnp.ones((2, 3))
        with pytest.raises(ValueError, match=r"pairwise_distance: argument 'p' must be > 0"):
            jaxloss.pairwise_distance(x, x, p=0.0)


class TestTripletMarginLoss:
    @pytest.mark.parametrize("p", P_VALUES)
    @pytest.mark.parametrize("swap", [False, True])
    def test_matches_reference(self, p, swap):
        a, pos, neg = _emb(0, 3, batch=(4, 3))
        out = jaxloss.triplet_margin_loss(a, pos, neg, margin=0.7, p=p, swap=swap, reduction="none")
        assert out.shape == (4, 3) and out.dtype == jnp.float32
        ref = ref_triplet(a, pos, neg, 0.7, p, 1e-6, swap)
        np.testing.assert_allclose(out, ref, **TOL)

    def test_swap_changes_something(self):
        a, pos, neg = _emb(1, 3, batch=(16,))
        plain = ref_triplet(a, pos, neg, 0.5)
        swapped = np.asarray(
            jaxloss.triplet_margin_loss(a, pos, neg, margin=0.5, swap=True, reduction="none")
        )
        assert np.all(swapped >= plain - 1e-6) and np.any(swapped > plain + 1e-3)

    def test_axis(self):
        a, pos, neg = _emb(2, 3, batch=(3,), dim=5)
        out = jaxloss.triplet_margin_loss(a.T, pos.T, neg.T, p=3.0, axis=0, reduction="none")
        np.testing.assert_allclose(out, ref_triplet(a, pos, neg, p=3.0), **TOL)

    def test_optax_parity_p2(self):
        a, pos, neg = _emb(3, 3, batch=(8,))
        ours = jaxloss.triplet_margin_loss(a, pos, neg, epsilon=0.0, reduction="none")
        theirs = optax.losses.triplet_margin_loss(a, pos, neg, norm_degree=2, eps=0.0)
        np.testing.assert_allclose(ours, theirs, **TOL)
        # Default epsilons: optax adds eps inside the root, PyTorch/jaxloss to the difference.
        ours = jaxloss.triplet_margin_loss(a, pos, neg, reduction="none")
        theirs = optax.losses.triplet_margin_loss(a, pos, neg)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-5)

    def test_optax_norm_degree_1_lacks_abs_and_3_is_nan(self):
        a = np.array([[0.0, 0.0, 0.0]], np.float32)
        pos = np.array([[1.0, -1.0, 0.5]], np.float32)
        neg = np.array([[-2.0, 2.0, 0.0]], np.float32)
        for p in (1.0, 3.0):
            ref = ref_triplet(a, pos, neg, margin=4.0, p=p, epsilon=0.0)
            ours = jaxloss.triplet_margin_loss(
                a, pos, neg, margin=4.0, p=p, epsilon=0.0, reduction="none"
            )
            np.testing.assert_allclose(ours, ref, **TOL)
            theirs = np.asarray(
                optax.losses.triplet_margin_loss(a, pos, neg, norm_degree=p, margin=4.0, eps=0.0)
            )
            if p == 1.0:
                # optax sums signed differences: d(a, pos) = -0.5, d(a, neg) = 0.
                assert not np.allclose(theirs, ref)
            else:
                assert np.all(np.isnan(theirs))

    @pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.0, math.inf])
    @pytest.mark.parametrize("epsilon", [0.0, 1e-6])
    def test_identical_and_zero_vectors(self, p, epsilon):
        z = jnp.zeros((2, 4))
        n = jnp.array([[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, -1.0, 2.0]])
        f = lambda a, b, c: jaxloss.triplet_margin_loss(a, b, c, p=p, epsilon=epsilon)
        value, _ = _finite_value_and_grad(f, z, z, n, argnums=(0, 1, 2))
        np.testing.assert_allclose(
            value, np.mean(ref_triplet(z, z, n, p=p, epsilon=epsilon)), rtol=1e-5, atol=1e-6
        )

    @pytest.mark.parametrize("p", [1.5, 2.0, 3.0])
    def test_grads(self, p):
        a, pos, neg = _emb(4, 3, batch=(6,))
        pos = a + 0.3 * (pos - a)  # a mix of active and inactive triplets
        margin = 1.0
        args = ref_pdist(a, pos, p) - ref_pdist(a, neg, p) + margin
        assert np.any(args > 0) and np.all(np.abs(args) > 0.05)
        f = lambda x, y, z: jaxloss.triplet_margin_loss(x, y, z, p=p, margin=margin)
        _x64_grads(f, (a, pos, neg), order=2)

    def test_traced_p_no_retrace_and_grad(self):
        a, pos, neg = _emb(5, 3, batch=(6,))
        traces = []

        @jax.jit
        def f(p):
            traces.append(1)
            return jaxloss.triplet_margin_loss(a, pos, neg, p=p, margin=2.0)

        for p in (1.5, 2.0, 3.0):
            np.testing.assert_allclose(
                f(jnp.float32(p)), ref_triplet(a, pos, neg, 2.0, p).mean(), **TOL
            )
        assert len(traces) == 1
        ps = jnp.array([1.0, 2.0, 4.0])
        ref = [ref_triplet(a, pos, neg, 2.0, float(p)).mean() for p in ps]
        np.testing.assert_allclose(jax.vmap(f)(ps), ref, **TOL)
        with jax.enable_x64(True):
            h = 1e-5
            fd = (
                ref_triplet(a, pos, neg, 2.0, 2.5 + h).mean()
                - ref_triplet(a, pos, neg, 2.0, 2.5 - h).mean()
            ) / (2 * h)
            g = jax.grad(
                lambda p: jaxloss.triplet_margin_loss(
                    *(jnp.asarray(x, jnp.float64) for x in (a, pos, neg)), p=p, margin=2.0
                )
            )(2.5)
            np.testing.assert_allclose(g, fd, rtol=1e-5)

    @settings(max_examples=20, deadline=None, derandomize=True)
    @given(
        hnp.arrays(np.float32, (3, 2, 4), elements=st.floats(-5, 5, width=32)),
        hnp.arrays(np.float32, (4,), elements=st.floats(-5, 5, width=32)),
        st.sampled_from([1.0, 2.0, 3.0]),
    )
    def test_nonnegative_and_translation_invariant(self, x, shift, p):
        a, pos, neg = x
        f = lambda *v: jaxloss.triplet_margin_loss(*v, p=p, reduction="none")
        out = f(a, pos, neg)
        assert np.all(np.asarray(out) >= 0)
        np.testing.assert_allclose(
            out, f(a + shift, pos + shift, neg + shift), rtol=1e-4, atol=1e-4
        )

    def test_errors(self):
        x = jnp.ones((2, 3))
        f = jaxloss.triplet_margin_loss
        with pytest.raises(ValueError, match=r"triplet_margin_loss: argument 'p' must be > 0"):
            f(x, x, x, p=-1.0)
        with pytest.raises(
            ValueError, match=r"triplet_margin_loss: argument 'margin' must be >= 0"
        ):
            f(x, x, x, margin=-0.1)
        with pytest.raises(ValueError, match=r"triplet_margin_loss: argument 'epsilon' must be"):
            f(x, x, x, epsilon=-0.1)
        with pytest.raises(
            TypeError, match=r"triplet_margin_loss: argument 'swap' must be a Python"
        ):
            f(x, x, x, swap=jnp.array(True))
        with pytest.raises(
            ValueError, match=r"triplet_margin_loss: arguments 'anchors' and 'negatives'"
        ):
            f(x, x, jnp.ones((2, 4)))
        with pytest.raises(TypeError, match=r"triplet_margin_loss: argument 'positives' must have"):
            f(x, jnp.ones((2, 3), jnp.int32), x)


# ---------------------------------------------------------------------------
# triplet_margin_with_distance_loss


def _l1(x, y):
    return jnp.sum(jnp.abs(x - y), axis=-1)


class TestTripletMarginWithDistanceLoss:
    @pytest.mark.parametrize("swap", [False, True])
    def test_default_distance_is_triplet_margin_loss(self, swap):
        a, pos, neg = _emb(0, 3, batch=(3, 4))
        out = jaxloss.triplet_margin_with_distance_loss(
            a, pos, neg, margin=0.5, swap=swap, reduction="none"
        )
        np.testing.assert_allclose(out, ref_triplet(a, pos, neg, 0.5, swap=swap), **TOL)

    @pytest.mark.parametrize("swap", [False, True])
    def test_custom_distance(self, swap):
        a, pos, neg = _emb(1, 3, batch=(5,))
        f = jax.jit(
            functools.partial(
                jaxloss.triplet_margin_with_distance_loss,
                distance_function=_l1,
                swap=swap,
                reduction="none",
            )
        )
        ref = ref_triplet(a, pos, neg, 1.0, p=1.0, epsilon=0.0, swap=swap)
        np.testing.assert_allclose(f(a, pos, neg), ref, **TOL)

    def test_zero_vectors(self):
        z = jnp.zeros((2, 3))
        value, _ = _finite_value_and_grad(
            lambda a, b, c: jaxloss.triplet_margin_with_distance_loss(a, b, c),
            z,
            z,
            z,
            argnums=(0, 1, 2),
        )
        np.testing.assert_allclose(value, 1.0, rtol=1e-5)

    def test_grads(self):
        a, pos, neg = _emb(2, 3, batch=(6,))
        pos = a + 0.3 * (pos - a)
        args = ref_pdist(a, pos) - ref_pdist(a, neg) + 1.0
        assert np.all(np.abs(args) > 0.05)
        f = lambda x, y, z: jaxloss.triplet_margin_with_distance_loss(x, y, z)
        _x64_grads(f, (a, pos, neg), order=2)

    def test_registry_with_callable_is_rejected(self):
        # Loss.config() must be JSON: a bound callable cannot be represented.
        with pytest.raises(TypeError, match="hyperparameter values must be"):
            jaxloss.get("triplet_margin_with_distance_loss", distance_function=_l1)
        loss = jaxloss.get("triplet_margin_with_distance_loss", margin=0.5)
        a, pos, neg = _emb(3, 3, batch=(4,))
        np.testing.assert_allclose(
            loss(a, pos, neg, distance_function=_l1),
            ref_triplet(a, pos, neg, 0.5, 1.0, 0.0).mean(),
            **TOL,
        )

    def test_errors(self):
        x = jnp.ones((2, 3))
        f = jaxloss.triplet_margin_with_distance_loss
        with pytest.raises(TypeError, match=r"argument 'distance_function' must be a callable"):
            f(x, x, x, distance_function="l2")
        with pytest.raises(ValueError, match=r"distance_function must map .* got \(2, 3\)"):
            f(x, x, x, distance_function=lambda u, v: u - v)
        with pytest.raises(
            ValueError, match=r"triplet_margin_with_distance_loss: argument 'margin' must be >= 0"
        ):
            f(x, x, x, margin=-1.0)
        with pytest.raises(ValueError, match=r"arguments 'anchors' and 'positives'"):
            f(x, jnp.ones((3, 3)), x)


# ---------------------------------------------------------------------------
# every loss under jit, vmap and grad together


def _loss_cases():
    rng = np.random.default_rng(7)
    b, d = (3, 2), 4
    emb = lambda: rng.normal(size=b + (d,)).astype(np.float32)
    sc = lambda: rng.normal(size=b).astype(np.float32)
    signs = _signs(rng, b)
    return {
        "margin_ranking_loss": ((sc(), sc(), signs), (0, 1), {"margin": 0.2}),
        "hinge_embedding_loss": ((np.abs(sc()), signs), (0,), {}),
        "cosine_embedding_loss": ((emb(), emb(), signs), (0, 1), {"margin": 0.1}),
        "contrastive_loss": (
            (emb(), emb(), rng.integers(0, 2, b).astype(np.float32)),
            (0, 1),
            {"margin": 3.0},
        ),
        "triplet_margin_loss": ((emb(), emb(), emb()), (0, 1, 2), {"p": 3.0}),
        "triplet_margin_with_distance_loss": ((emb(), emb(), emb()), (0, 1, 2), {"swap": True}),
    }


@pytest.mark.parametrize("name", sorted(_loss_cases()))
def test_jit_vmap_grad_together(name):
    args, argnums, kwargs = _loss_cases()[name]
    fn = getattr(jaxloss, name)
    loss = lambda *a: fn(*a, **kwargs, reduction="sum")
    per_row = jax.jit(jax.vmap(jax.grad(loss, argnums=argnums)))(*args)
    for i in range(args[0].shape[0]):
        expected = jax.grad(loss, argnums=argnums)(*(a[i] for a in args))
        for got, want in zip(per_row, expected):
            np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-6)
            assert np.all(np.isfinite(np.asarray(got[i])))
