"""Tests of the ranking losses (jaxloss/_ranking.py).

The reference is float64 NumPy code written from the formula in the docstring; optax
parity covers item masks and item weights.
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
from tests.grads import check_grads

TOL = dict(rtol=1e-5, atol=1e-6)


def ref_ranking_softmax(logits, labels, item_mask=None, item_weights=None, axis=-1):
    """Per-list -sum_i v_i y_i log softmax(s)_i over the valid items; 0 for empty lists."""
    s = np.moveaxis(np.asarray(logits, np.float64), axis, -1)
    y = np.moveaxis(np.asarray(labels, np.float64), axis, -1)
    v = (
        np.ones_like(y)
        if item_weights is None
        else np.broadcast_to(np.moveaxis(np.asarray(item_weights, np.float64), axis, -1), y.shape)
    )
    m = np.ones(y.shape, bool) if item_mask is None else np.moveaxis(item_mask, axis, -1)
    out = np.zeros(s.shape[:-1])
    for idx in np.ndindex(out.shape):
        valid = m[idx]
        if not valid.any():
            continue
        sv = s[idx][valid]
        top = sv.max()
        logp = sv - (top + np.log(np.sum(np.exp(sv - top))))
        out[idx] = -np.sum((v[idx] * y[idx])[valid] * logp)
    return out


def _lists(seed, batch=(4,), n=6):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=batch + (n,)).astype(np.float32)
    labels = rng.integers(0, 3, size=batch + (n,)).astype(np.float32)
    return logits, labels


class TestRankingSoftmaxLoss:
    def test_matches_reference_and_optax(self):
        s, y = _lists(0, batch=(3, 4))
        out = jaxloss.ranking_softmax_loss(s, y, reduction="none")
        assert out.shape == (3, 4) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_ranking_softmax(s, y), **TOL)
        np.testing.assert_allclose(
            out, optax.losses.ranking_softmax_loss(s, y, reduce_fn=None), **TOL
        )
        np.testing.assert_allclose(
            jaxloss.ranking_softmax_loss(s, y), optax.losses.ranking_softmax_loss(s, y), **TOL
        )
        np.testing.assert_allclose(
            jaxloss.ranking_softmax_loss(s, y, reduction="sum"),
            optax.losses.ranking_softmax_loss(s, y, reduce_fn=jnp.sum),
            **TOL,
        )

    def test_item_mask_and_item_weights_match_optax(self):
        s, y = _lists(1, batch=(5,))
        rng = np.random.default_rng(2)
        mask = rng.random(s.shape) < 0.7
        mask[3] = False  # a list with no valid item
        v = rng.uniform(0.2, 2.0, size=s.shape).astype(np.float32)
        out = jaxloss.ranking_softmax_loss(s, y, where=mask, item_weights=v, reduction="none")
        np.testing.assert_allclose(out, ref_ranking_softmax(s, y, mask, v), **TOL)
        theirs = optax.losses.ranking_softmax_loss(s, y, where=mask, weights=v, reduce_fn=None)
        np.testing.assert_allclose(out, theirs, **TOL)
        # Mean over the lists that have a valid item, as optax's default reduce_fn.
        np.testing.assert_allclose(
            jaxloss.ranking_softmax_loss(s, y, where=mask, item_weights=v),
            optax.losses.ranking_softmax_loss(s, y, where=mask, weights=v),
            **TOL,
        )

    def test_per_list_mask_and_sample_weights(self):
        s, y = _lists(3, batch=(6,))
        values = ref_ranking_softmax(s, y)
        lists = np.array([True, False, True, True, False, True])
        w = np.random.default_rng(4).uniform(0.5, 2.0, size=6).astype(np.float32)
        out = jaxloss.ranking_softmax_loss(s, y, where=lists, weights=w)
        np.testing.assert_allclose(out, (w * values)[lists].sum() / w[lists].sum(), **TOL)
        none = jaxloss.ranking_softmax_loss(s, y, where=lists, weights=w, reduction="none")
        np.testing.assert_allclose(none, np.where(lists, w * values, 0), **TOL)

    def test_broadcast_item_weights(self):
        s, y = _lists(5, batch=(3,), n=4)
        v = np.array([2.0, 1.0, 0.5, 0.0], np.float32)  # per position, shared by all lists
        out = jaxloss.ranking_softmax_loss(s, y, item_weights=v, reduction="none")
        np.testing.assert_allclose(out, ref_ranking_softmax(s, y, item_weights=v), **TOL)

    def test_axis(self):
        s, y = _lists(6, batch=(3,), n=5)
        mask = np.random.default_rng(7).random(s.shape) < 0.8
        out = jaxloss.ranking_softmax_loss(s.T, y.T, where=mask.T, axis=0, reduction="none")
        np.testing.assert_allclose(out, ref_ranking_softmax(s, y, mask), **TOL)

    def test_jit_matches_eager(self):
        s, y = _lists(8)
        mask = np.random.default_rng(9).random(s.shape) < 0.8
        f = lambda a, b, m: jaxloss.ranking_softmax_loss(a, b, where=m, reduction="none")
        np.testing.assert_allclose(jax.jit(f)(s, y, mask), f(s, y, mask), **TOL)

    def test_degenerate_lists(self):
        # No relevant item; every item masked; a -inf score on an irrelevant item.
        s = jnp.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [-jnp.inf, 0.0, 1.0]])
        y = jnp.array([[0.0, 0.0, 0.0], [1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
        mask = jnp.array([[True, True, True], [False, False, False], [True, True, True]])

        def f(v):
            return jaxloss.ranking_softmax_loss(v, y, where=mask, reduction="sum")

        value, g = jax.value_and_grad(f)(s)
        expected = -np.log(1.0 / (1.0 + np.e))  # third list: softmax over (0, 1) at 0
        np.testing.assert_allclose(value, expected, rtol=1e-6)
        g = np.asarray(g)
        assert np.all(np.isfinite(g))
        np.testing.assert_array_equal(g[:2], 0.0)
        assert g[2, 0] == 0.0
        # optax agrees on the first two lists, and gives NaN for the -inf score (0 * -inf).
        theirs = optax.losses.ranking_softmax_loss(s, y, where=mask, reduce_fn=None)
        np.testing.assert_array_equal(np.asarray(theirs)[:2], 0.0)
        assert np.isnan(np.asarray(theirs)[2])

    def test_zero_logits(self):
        y = jnp.array([[1.0, 0.0, 1.0, 0.0]])
        value, g = jax.value_and_grad(jaxloss.ranking_softmax_loss)(jnp.zeros((1, 4)), y)
        np.testing.assert_allclose(value, 2 * np.log(4.0), rtol=1e-6)
        np.testing.assert_allclose(g, [[-0.5, 0.5, -0.5, 0.5]], rtol=1e-6)

    def test_grads(self):
        s, y = _lists(10)
        mask = np.random.default_rng(11).random(s.shape) < 0.8
        mask[:, 0] = True
        with jax.enable_x64(True):
            f = lambda v: jaxloss.ranking_softmax_loss(v, y, where=mask, item_weights=2.0)
            check_grads(f, (jnp.asarray(s, jnp.float64),), order=2, modes=["rev"], eps=1e-3)

    def test_jit_vmap_grad_together(self):
        s, y = _lists(12, batch=(3, 2))
        loss = lambda a, b: jaxloss.ranking_softmax_loss(a, b, reduction="sum")
        per_row = jax.jit(jax.vmap(jax.grad(loss)))(s, y)
        for i in range(3):
            np.testing.assert_allclose(per_row[i], jax.grad(loss)(s[i], y[i]), **TOL)
        assert np.all(np.isfinite(np.asarray(per_row)))

    @settings(max_examples=20, deadline=None, derandomize=True)
    @given(
        hnp.arrays(np.float32, (2, 5), elements=st.floats(-20, 20, width=32)),
        hnp.arrays(np.float32, (2, 5), elements=st.floats(0, 3, width=32)),
        st.floats(-50, 50, width=32),
    )
    def test_nonnegative_and_shift_invariant(self, s, y, shift):
        a = jaxloss.ranking_softmax_loss(s, y, reduction="none")
        b = jaxloss.ranking_softmax_loss(s + np.float32(shift), y, reduction="none")
        assert np.all(np.asarray(a) >= -1e-6)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)

    def test_errors(self):
        s = jnp.zeros((2, 3))
        f = jaxloss.ranking_softmax_loss
        with pytest.raises(
            ValueError, match=r"ranking_softmax_loss: arguments 'logits' and 'labels'"
        ):
            f(s, jnp.zeros((2, 4)))
        with pytest.raises(TypeError, match=r"ranking_softmax_loss: argument 'logits' must have a"):
            f(jnp.zeros((2, 3), jnp.int32), s)
        with pytest.raises(
            TypeError, match=r"ranking_softmax_loss: argument 'where' must be a bool"
        ):
            f(s, s, where=jnp.ones((2, 3)))
        with pytest.raises(ValueError, match=r"ranking_softmax_loss: argument 'item_weights'"):
            f(s, s, item_weights=jnp.ones((2, 4)))
        with pytest.raises(ValueError, match=r"ranking_softmax_loss: argument 'axis'=2"):
            f(s, s, axis=2)
