"""Tests of the self-supervised losses (jaxloss/_self_supervised.py).

References are float64 NumPy code written from the formulas in the papers and the
docstrings (explicit loops over anchors and pairs).
"""

import functools
from collections.abc import Callable
from typing import NamedTuple

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
EPS32 = float(np.finfo(np.float32).eps)

# The optax oracle, jitted: one compile per input shape instead of one per operation.
optax_ntxent = jax.jit(optax.losses.ntxent)

# ---------------------------------------------------------------------------
# references (one 2-D batch; leading axes are looped over by `_per_batch`)


def ref_unit(x, eps=EPS32):
    x = np.asarray(x, np.float64)
    norm = np.sqrt(np.maximum(np.sum(x * x, axis=-1, keepdims=True), eps))
    return x / norm


def _per_batch(ref):
    """Applies a 2-D reference to every [B, D] batch of [..., B, D] inputs."""

    @functools.wraps(ref)
    def wrapper(a, b, *args, mask=None, **kwargs):
        a, b = np.asarray(a), np.asarray(b)
        out = np.zeros(a.shape[:-1])
        for idx in np.ndindex(a.shape[:-2]):
            m = None if mask is None else np.broadcast_to(mask, a.shape[:-1])[idx]
            out[idx] = ref(a[idx], b[idx], *args, mask=m, **kwargs)
        return out

    return wrapper


def ref_ntxent_pairs(e, labels, temperature, mask=None):
    """Per-anchor sums of pair losses, the number of positive pairs, valid count."""
    n = len(e)
    valid = np.ones(n, bool) if mask is None else np.asarray(mask)
    u = ref_unit(e)
    z = u @ u.T / temperature
    sums = np.zeros(n)
    pairs = 0
    for i in np.flatnonzero(valid):
        negatives = [k for k in np.flatnonzero(valid) if labels[k] != labels[i]]
        for j in np.flatnonzero(valid):
            if j == i or labels[j] != labels[i]:
                continue
            pairs += 1
            denominator = np.exp(z[i, j]) + sum(np.exp(z[i, k]) for k in negatives)
            sums[i] += -np.log(np.exp(z[i, j]) / denominator)
    return sums, pairs, int(valid.sum())


@_per_batch
def ref_ntxent(e, labels, temperature, mask=None):
    sums, pairs, count = ref_ntxent_pairs(e, labels, temperature, mask)
    return sums * count / pairs if pairs else np.zeros(len(e))


@_per_batch
def ref_clip(x, y, temperature, mask=None):
    n = len(x)
    valid = np.ones(n, bool) if mask is None else np.asarray(mask)
    z = ref_unit(x) @ ref_unit(y).T / temperature
    out = np.zeros(n)
    keep = np.flatnonzero(valid)
    for i in keep:
        row = -z[i, i] + np.log(np.sum(np.exp(z[i, keep])))
        col = -z[i, i] + np.log(np.sum(np.exp(z[keep, i])))
        out[i] = 0.5 * (row + col)
    return out


@_per_batch
def ref_siglip(x, y, temperature, bias, mask=None):
    n = len(x)
    valid = np.ones(n, bool) if mask is None else np.asarray(mask)
    z = ref_unit(x) @ ref_unit(y).T / temperature + bias
    out = np.zeros(n)
    for i in np.flatnonzero(valid):
        for j in np.flatnonzero(valid):
            sign = 1.0 if i == j else -1.0
            out[i] += np.log1p(np.exp(-sign * z[i, j]))
    return out


def _ref_circle_anchor(s, sa, pos, neg, margin, gamma):
    """The circle loss of one anchor: ``s`` its similarities, ``sa`` those that the weights
    alpha are taken from, ``pos`` and ``neg`` the indices of its positives and negatives."""
    if not pos or not neg:
        return 0.0
    alpha_p = np.maximum(0.0, 1 + margin - sa[pos])
    alpha_n = np.maximum(0.0, sa[neg] + margin)
    # log(1 + sum_n exp(.) * sum_p exp(.)), in logs: the terms reach exp(1000).
    log_n = np.logaddexp.reduce(gamma * alpha_n * (s[neg] - margin))
    log_p = np.logaddexp.reduce(-gamma * alpha_p * (s[pos] - (1 - margin)))
    return np.logaddexp(0.0, log_n + log_p)


@_per_batch
def ref_circle(e, labels, margin, gamma, mask=None, alpha_from=None):
    """Circle loss; ``alpha_from`` (embeddings) freezes the weights alpha at that point."""
    n = len(e)
    valid = np.ones(n, bool) if mask is None else np.asarray(mask)
    u = ref_unit(e)
    s = u @ u.T
    ua = u if alpha_from is None else ref_unit(alpha_from)
    sa = ua @ ua.T
    out = np.zeros(n)
    for i in np.flatnonzero(valid):
        pos = [j for j in np.flatnonzero(valid) if j != i and labels[j] == labels[i]]
        neg = [j for j in np.flatnonzero(valid) if labels[j] != labels[i]]
        out[i] = _ref_circle_anchor(s[i], sa[i], pos, neg, margin, gamma)
    return out


def _embeddings(seed, shape=(6, 4), groups=3):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=shape).astype(np.float32)
    labels = rng.integers(0, groups, size=shape[:-1]).astype(np.int32)
    return e, labels


def _pairs(seed, shape=(5, 4), noise=0.5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    y = x + noise * rng.normal(size=shape)
    return x.astype(np.float32), y.astype(np.float32)


# ---------------------------------------------------------------------------
# ntxent


class TestNtxent:
    def test_matches_reference_and_optax(self):
        for seed, groups in [(0, 2), (1, 3), (2, 4)]:
            e, labels = _embeddings(seed, (7, 5), groups)
            out = jaxloss.ntxent(e, labels, temperature=0.3, reduction="none")
            assert out.shape == (7,) and out.dtype == jnp.float32
            np.testing.assert_allclose(out, ref_ntxent(e, labels, 0.3), **TOL)
            mean = jaxloss.ntxent(e, labels, temperature=0.3)
            np.testing.assert_allclose(
                mean, optax_ntxent(jnp.asarray(e), jnp.asarray(labels), 0.3), **TOL
            )
            sums, pairs, _ = ref_ntxent_pairs(e, labels, 0.3)
            np.testing.assert_allclose(mean, sums.sum() / pairs, **TOL)

    def test_default_temperature_matches_optax(self):
        e, labels = _embeddings(3, (8, 6), 4)
        np.testing.assert_allclose(
            jaxloss.ntxent(e, labels),
            optax_ntxent(jnp.asarray(e), jnp.asarray(labels)),
            **TOL,
        )

    def test_two_views_give_the_mean_pair_loss(self):
        # Every anchor has exactly one positive: the anchor value is its pair loss.
        e, _ = _embeddings(4, (6, 3))
        labels = np.array([0, 1, 2, 0, 1, 2])
        sums, pairs, count = ref_ntxent_pairs(e, labels, 0.5)
        assert pairs == count
        np.testing.assert_allclose(
            jaxloss.ntxent(e, labels, temperature=0.5, reduction="none"), sums, **TOL
        )

    def test_leading_axes_are_independent_batches(self):
        e, labels = _embeddings(5, (2, 3, 5, 4), 2)
        out = jaxloss.ntxent(e, labels, temperature=0.5, reduction="none")
        assert out.shape == (2, 3, 5)
        np.testing.assert_allclose(out, ref_ntxent(e, labels, 0.5), **TOL)
        looped = jax.vmap(
            jax.vmap(lambda a, b: jaxloss.ntxent(a, b, temperature=0.5, reduction="none"))
        )(e, labels)
        np.testing.assert_allclose(out, looped, **TOL)

    def test_where_drops_examples(self):
        e, labels = _embeddings(7, (8, 4), 2)
        mask = np.array([1, 1, 0, 1, 1, 0, 1, 1], bool)
        # NumPy results: indexing a jax.Array eagerly compiles a gather.
        out = np.asarray(jaxloss.ntxent(e, labels, temperature=0.5, where=mask, reduction="none"))
        np.testing.assert_allclose(out, ref_ntxent(e, labels, 0.5, mask=mask), **TOL)
        np.testing.assert_allclose(
            out[mask],
            jaxloss.ntxent(e[mask], labels[mask], temperature=0.5, reduction="none"),
            **TOL,
        )
        np.testing.assert_array_equal(out[~mask], 0.0)
        np.testing.assert_allclose(
            jaxloss.ntxent(e, labels, temperature=0.5, where=mask),
            optax_ntxent(jnp.asarray(e[mask]), jnp.asarray(labels[mask]), 0.5),
            **TOL,
        )
        # Masked examples holding inf/NaN change nothing and get zero gradient.
        poisoned = e.copy()
        poisoned[2] = np.inf
        poisoned[5, 0] = np.nan
        f = lambda x: jaxloss.ntxent(x, labels, temperature=0.5, where=mask)
        np.testing.assert_allclose(f(poisoned), f(e), **TOL)
        g = np.asarray(jax.jit(jax.grad(f))(poisoned))
        assert np.all(np.isfinite(g)) and np.all(g[~mask] == 0)

    def test_no_positive_pair_gives_zero(self):
        e, _ = _embeddings(8, (5, 3))
        labels = np.arange(5)
        f = lambda x: jaxloss.ntxent(x, labels)
        assert float(f(e)) == 0.0
        np.testing.assert_array_equal(jax.jit(jax.grad(f))(e), 0.0)
        # optax divides 0 by 0 here.
        assert np.isnan(optax_ntxent(jnp.asarray(e), jnp.asarray(labels)))

    def test_anchor_without_positive_or_negative(self):
        e, _ = _embeddings(9, (4, 3))
        # Anchor 3 has no positive (value 0); all in one group: no negatives (value 0).
        labels = np.array([0, 0, 0, 1])
        out = np.asarray(jaxloss.ntxent(e, labels, temperature=0.5, reduction="none"))
        assert out[3] == 0.0
        np.testing.assert_allclose(out, ref_ntxent(e, labels, 0.5), **TOL)
        same = jaxloss.ntxent(e, np.zeros(4, np.int32), reduction="none")
        np.testing.assert_array_equal(same, 0.0)
        g = jax.jit(jax.grad(lambda x: jaxloss.ntxent(x, np.zeros(4, np.int32))))(e)
        np.testing.assert_array_equal(g, 0.0)

    def test_zero_embeddings_finite(self):
        e = np.zeros((4, 3), np.float32)
        e[1] = [1.0, 2.0, 0.0]
        labels = np.array([0, 0, 1, 1])
        f = lambda x: jaxloss.ntxent(x, labels, temperature=0.1)
        assert np.isfinite(f(e))
        assert np.all(np.isfinite(jax.grad(f)(e)))
        np.testing.assert_allclose(
            jaxloss.ntxent(e, labels, temperature=0.1, reduction="none"),
            ref_ntxent(e, labels, 0.1),
            **TOL,
        )
        assert np.all(np.isfinite(jax.grad(f)(np.zeros((4, 3), np.float32))))

    def test_gradients(self):
        with jax.enable_x64(True):
            e, _ = _embeddings(10, (4, 3))
            e, labels = e.astype(np.float64), np.array([0, 1, 1, 0])
            f = lambda x: jaxloss.ntxent(x, labels, temperature=0.5)
            check_grads(f, (e,), order=2, modes=["rev"], eps=1e-4)
            g = lambda t: jaxloss.ntxent(e, labels, temperature=t)
            check_grads(g, (0.4,), order=1, modes=["rev"], eps=1e-4)

    def test_traced_temperature(self):
        e, labels = _embeddings(11)
        f = jax.jit(lambda t: jaxloss.ntxent(e, labels, temperature=t))
        np.testing.assert_allclose(f(0.25), jaxloss.ntxent(e, labels, temperature=0.25), **TOL)
        # Python floats for the loop: they reuse f's program for 0.25 (no new compile).
        temps = [0.1, 0.5, 1.0]
        np.testing.assert_allclose(
            jax.vmap(f)(jnp.array(temps)), [float(f(t)) for t in temps], **TOL
        )

    @given(e=hnp.arrays(np.float32, (5, 3), elements=st.floats(-10, 10, width=32)))
    @settings(max_examples=20, deadline=None)
    def test_non_negative_and_scale_invariant(self, e):
        labels = np.array([0, 0, 1, 1, 2])
        out = np.asarray(jaxloss.ntxent(e, labels, temperature=0.5, reduction="none"))
        assert np.all(np.isfinite(out)) and np.all(out >= 0)
        scaled = jaxloss.ntxent(3.0 * e, labels, temperature=0.5, reduction="none")
        # Cosine similarity: scaling by 3 keeps the value (up to the zero-vector floor).
        nonzero = np.linalg.norm(e, axis=-1) > 1e-2
        if nonzero.all():
            np.testing.assert_allclose(scaled, out, rtol=1e-4, atol=1e-4)

    @given(perm=st.permutations(range(6)))
    @settings(max_examples=15, deadline=None)
    def test_permutation_equivariant(self, perm):
        e, labels = _embeddings(12, (6, 4), 2)
        perm = np.asarray(perm)
        out = jaxloss.ntxent(e, labels, temperature=0.5, reduction="none")
        permuted = jaxloss.ntxent(e[perm], labels[perm], temperature=0.5, reduction="none")
        np.testing.assert_allclose(permuted, np.asarray(out)[perm], **TOL)


# ---------------------------------------------------------------------------
# clip_loss


class TestClipLoss:
    def test_matches_reference(self):
        x, y = _pairs(0)
        out = jaxloss.clip_loss(x, y, temperature=0.2, reduction="none")
        assert out.shape == (5,) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_clip(x, y, 0.2), **TOL)
        np.testing.assert_allclose(jaxloss.clip_loss(x, y), ref_clip(x, y, 0.07).mean(), **TOL)

    def test_mean_is_clip_pseudocode(self):
        # CLIP: logits = x_n @ y_n.T / t; (CE(logits, arange) + CE(logits.T, arange)) / 2.
        x, y = _pairs(1, (6, 3))
        xn, yn = ref_unit(x), ref_unit(y)
        logits = jnp.asarray(xn @ yn.T / 0.1)
        arange = jnp.arange(6)
        ce = optax.losses.softmax_cross_entropy_with_integer_labels
        # jitted: one compile instead of one per operation.
        expected = jax.jit(lambda z: (ce(z, arange).mean() + ce(z.T, arange).mean()) / 2)(logits)
        np.testing.assert_allclose(jaxloss.clip_loss(x, y, temperature=0.1), expected, **TOL)

    def test_symmetric_in_x_and_y(self):
        x, y = _pairs(2)
        np.testing.assert_allclose(
            jaxloss.clip_loss(x, y, reduction="none"),
            jaxloss.clip_loss(y, x, reduction="none"),
            **TOL,
        )

    def test_leading_axes_and_jit(self):
        x, y = _pairs(3, (2, 4, 3))
        f = lambda a, b: jaxloss.clip_loss(a, b, temperature=0.5, reduction="none")
        out = f(x, y)
        assert out.shape == (2, 4)
        np.testing.assert_allclose(out, ref_clip(x, y, 0.5), **TOL)
        np.testing.assert_allclose(jax.jit(f)(x, y), out, **TOL)

    def test_where_drops_pairs(self):
        x, y = _pairs(4, (6, 3))
        mask = np.array([1, 0, 1, 1, 0, 1], bool)
        # NumPy results: indexing a jax.Array eagerly compiles a gather.
        out = np.asarray(jaxloss.clip_loss(x, y, temperature=0.5, where=mask, reduction="none"))
        np.testing.assert_allclose(out, ref_clip(x, y, 0.5, mask=mask), **TOL)
        np.testing.assert_allclose(
            out[mask],
            jaxloss.clip_loss(x[mask], y[mask], temperature=0.5, reduction="none"),
            **TOL,
        )
        y_bad = y.copy()
        y_bad[1] = np.nan
        g = np.asarray(jax.jit(jax.grad(lambda b: jaxloss.clip_loss(x, b, where=mask)))(y_bad))
        assert np.all(np.isfinite(g)) and np.all(g[~mask] == 0)

    def test_zero_vectors_and_single_pair(self):
        x, y = _pairs(6, (3, 2))
        x[0] = 0.0
        y[2] = 0.0
        f = lambda a: jaxloss.clip_loss(a, y, temperature=0.1)
        assert np.isfinite(f(x)) and np.all(np.isfinite(jax.grad(f)(x)))
        np.testing.assert_allclose(
            jaxloss.clip_loss(x, y, temperature=0.1, reduction="none"),
            ref_clip(x, y, 0.1),
            **TOL,
        )
        zeros = np.zeros((3, 2), np.float32)
        g = jax.grad(lambda a: jaxloss.clip_loss(a, zeros))(zeros)
        assert np.all(np.isfinite(g))
        np.testing.assert_array_equal(jaxloss.clip_loss(x[:1], y[:1], reduction="none"), [0.0])

    @given(
        x=hnp.arrays(np.float32, (4, 3), elements=st.floats(-10, 10, width=32)),
        y=hnp.arrays(np.float32, (4, 3), elements=st.floats(-10, 10, width=32)),
    )
    @settings(max_examples=20, deadline=None)
    def test_non_negative_finite(self, x, y):
        out = np.asarray(jaxloss.clip_loss(x, y, temperature=0.05, reduction="none"))
        assert np.all(np.isfinite(out)) and np.all(out >= -1e-5)


# ---------------------------------------------------------------------------
# siglip_loss


class TestSiglipLoss:
    def test_matches_reference(self):
        x, y = _pairs(0)
        out = jaxloss.siglip_loss(x, y, temperature=0.5, bias=-1.0, reduction="none")
        assert out.shape == (5,) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_siglip(x, y, 0.5, -1.0), **TOL)
        np.testing.assert_allclose(
            jaxloss.siglip_loss(x, y), ref_siglip(x, y, 0.1, -10.0).mean(), **TOL
        )

    def test_paper_normalization(self):
        # Paper: -1/|B| sum_i sum_j log sigmoid(z_ij (t x_i . y_j + b)), t = exp(t').
        x, y = _pairs(1, (6, 3))
        t_prime, b = np.log(10.0), -10.0
        logits = np.exp(t_prime) * ref_unit(x) @ ref_unit(y).T + b
        labels = 2 * np.eye(6) - 1
        expected = -np.sum(np.log(1 / (1 + np.exp(-labels * logits)))) / 6
        out = jaxloss.siglip_loss(x, y, temperature=np.exp(-t_prime), bias=b)
        np.testing.assert_allclose(out, expected, **TOL)

    def test_leading_axes_jit_and_where(self):
        x, y = _pairs(2, (2, 5, 3))
        mask = np.array([[1, 1, 0, 1, 1], [0, 1, 1, 1, 1]], bool)
        f = lambda a, b: jaxloss.siglip_loss(
            a, b, temperature=0.3, bias=-2.0, where=mask, reduction="none"
        )
        out = f(x, y)
        np.testing.assert_allclose(out, ref_siglip(x, y, 0.3, -2.0, mask=mask), **TOL)
        np.testing.assert_allclose(jax.jit(f)(x, y), out, **TOL)
        x_bad = x.copy()
        x_bad[0, 2] = np.inf
        g = np.asarray(jax.jit(jax.grad(lambda a: jnp.sum(f(a, y))))(x_bad))
        assert np.all(np.isfinite(g)) and np.all(g[~mask] == 0)

    def test_large_logits_and_zero_vectors(self):
        x, y = _pairs(4, (3, 2))
        out = jaxloss.siglip_loss(x, y, temperature=1e-4, bias=0.0, reduction="none")
        assert np.all(np.isfinite(out))
        zeros = np.zeros((3, 2), np.float32)
        f = lambda a: jaxloss.siglip_loss(a, y)
        assert np.isfinite(f(zeros)) and np.all(np.isfinite(jax.grad(f)(zeros)))
        # A zero vector has logit b with everything.
        np.testing.assert_allclose(
            jaxloss.siglip_loss(zeros, y, bias=-1.0, reduction="none"),
            np.full(3, np.log1p(np.exp(1.0)) + 2 * np.log1p(np.exp(-1.0))),
            **TOL,
        )

    @given(
        x=hnp.arrays(np.float32, (4, 3), elements=st.floats(-10, 10, width=32)),
        y=hnp.arrays(np.float32, (4, 3), elements=st.floats(-10, 10, width=32)),
    )
    @settings(max_examples=20, deadline=None)
    def test_non_negative_finite(self, x, y):
        out = np.asarray(jaxloss.siglip_loss(x, y, reduction="none"))
        assert np.all(np.isfinite(out)) and np.all(out >= 0)

    def test_bias_must_be_real(self):
        x, y = _pairs(5)
        with pytest.raises(TypeError, match=r"siglip_loss: argument 'bias' must be a real"):
            jaxloss.siglip_loss(x, y, bias="a")


# ---------------------------------------------------------------------------
# circle_loss


class TestCircleLoss:
    def test_matches_reference(self):
        for seed, (margin, gamma) in enumerate([(0.25, 256.0), (0.4, 80.0), (0.1, 4.0)]):
            e, labels = _embeddings(seed, (7, 4), 3)
            out = jaxloss.circle_loss(e, labels, margin=margin, gamma=gamma, reduction="none")
            assert out.shape == (7,) and out.dtype == jnp.float32
            np.testing.assert_allclose(out, ref_circle(e, labels, margin, gamma), **TOL)

    def test_leading_axes_jit_and_where(self):
        e, labels = _embeddings(3, (2, 6, 3), 2)
        mask = np.array([[1, 1, 1, 0, 1, 1], [1, 0, 1, 1, 1, 1]], bool)
        f = lambda x: jaxloss.circle_loss(x, labels, gamma=32.0, where=mask, reduction="none")
        out = f(e)
        np.testing.assert_allclose(out, ref_circle(e, labels, 0.25, 32.0, mask=mask), **TOL)
        np.testing.assert_allclose(jax.jit(f)(e), out, **TOL)
        bad = e.copy()
        bad[0, 3] = np.nan
        np.testing.assert_allclose(f(bad), out, **TOL)
        g = np.asarray(jax.jit(jax.grad(lambda x: jnp.sum(f(x))))(bad))
        assert np.all(np.isfinite(g)) and np.all(g[~mask] == 0)

    def test_gradient_treats_alpha_as_constant(self):
        # Central differences of the reference with alpha frozen at the evaluation point.
        with jax.enable_x64(True):
            e, labels = _embeddings(4, (5, 3), 2)
            e = e.astype(np.float64)
            margin, gamma = 0.25, 8.0
            g = jax.grad(
                lambda x: jaxloss.circle_loss(
                    x, labels, margin=margin, gamma=gamma, reduction="sum"
                )
            )(e)
            h = 1e-6
            expected = np.zeros_like(e)
            for idx in np.ndindex(e.shape):
                up, down = e.copy(), e.copy()
                up[idx] += h
                down[idx] -= h
                f_up = ref_circle(up, labels, margin, gamma, alpha_from=e).sum()
                f_down = ref_circle(down, labels, margin, gamma, alpha_from=e).sum()
                expected[idx] = (f_up - f_down) / (2 * h)
            np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-7)

    def test_anchors_without_positive_or_negative(self):
        e, _ = _embeddings(5, (4, 3))
        for labels in (np.arange(4), np.zeros(4, np.int32)):
            f = lambda x, labels=labels: jaxloss.circle_loss(x, labels)
            assert float(f(e)) == 0.0
            np.testing.assert_array_equal(jax.grad(f)(e), 0.0)
        labels = np.array([0, 0, 1, 2])  # anchors 2 and 3 have no positive
        out = np.asarray(jaxloss.circle_loss(e, labels, gamma=16.0, reduction="none"))
        np.testing.assert_array_equal(out[2:], 0.0)
        np.testing.assert_allclose(out, ref_circle(e, labels, 0.25, 16.0), **TOL)

    def test_zero_embeddings_finite(self):
        labels = np.array([0, 0, 1, 1])
        f = lambda x: jaxloss.circle_loss(x, labels)
        zeros = np.zeros((4, 3), np.float32)
        assert np.isfinite(f(zeros)) and np.all(np.isfinite(jax.grad(f)(zeros)))
        np.testing.assert_allclose(
            jaxloss.circle_loss(zeros, labels, reduction="none"),
            ref_circle(zeros, labels, 0.25, 256.0),
            **TOL,
        )

    def test_traced_hyperparameters(self):
        e, labels = _embeddings(6)
        f = jax.jit(lambda m, g: jaxloss.circle_loss(e, labels, margin=m, gamma=g))
        np.testing.assert_allclose(f(0.3, 20.0), ref_circle(e, labels, 0.3, 20.0).mean(), **TOL)
        gammas = jnp.array([1.0, 10.0, 50.0])
        np.testing.assert_allclose(
            jax.vmap(lambda g: f(0.25, g))(gammas),
            [ref_circle(e, labels, 0.25, float(g)).mean() for g in gammas],
            **TOL,
        )

    @given(e=hnp.arrays(np.float32, (5, 3), elements=st.floats(-10, 10, width=32)))
    @settings(max_examples=20, deadline=None)
    def test_non_negative_finite(self, e):
        labels = np.array([0, 0, 1, 1, 2])
        out = np.asarray(jaxloss.circle_loss(e, labels, reduction="none"))
        assert np.all(np.isfinite(out)) and np.all(out >= 0)

    def test_gamma_must_be_non_negative(self):
        e, labels = _embeddings(7)
        with pytest.raises(ValueError, match=r"circle_loss: argument 'gamma' must be >= 0"):
            jaxloss.circle_loss(e, labels, gamma=-1.0)


def ref_circle_refs(
    e, labels, r, ref_labels, margin, gamma, remove_diagonal=True, mask=None, alpha_from=None
):
    """Circle loss of anchors ``e`` [B, D] against references ``r`` [R, D], in float64
    from the formula: positives are the references with the anchor's label (reference i
    left out for anchor i when ``remove_diagonal``), negatives the others; ``mask`` drops
    anchors; ``alpha_from`` ((anchors, references)) freezes the weights alpha there."""
    s = ref_unit(e) @ ref_unit(r).T
    sa = s if alpha_from is None else ref_unit(alpha_from[0]) @ ref_unit(alpha_from[1]).T
    valid = np.ones(len(e), bool) if mask is None else np.asarray(mask)
    out = np.zeros(len(e))
    for i in np.flatnonzero(valid):
        same = [j for j in range(len(r)) if ref_labels[j] == labels[i]]
        pos = [j for j in same if not (remove_diagonal and j == i)]
        neg = [j for j in range(len(r)) if ref_labels[j] != labels[i]]
        out[i] = _ref_circle_anchor(s[i], sa[i], pos, neg, margin, gamma)
    return out


def _fd_grads(f, arrays, h=1e-6):
    """Central differences of the scalar ``f(*arrays)`` w.r.t. each array (float64)."""
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            up = [x.copy() for x in arrays]
            down = [x.copy() for x in arrays]
            up[k][idx] += h
            down[k][idx] -= h
            g[idx] = (f(*up) - f(*down)) / (2 * h)
        grads.append(g)
    return grads


def _circle_refs(seed, b=5, r=6, d=3):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(b, d)).astype(np.float32)
    bank = rng.normal(size=(r, d)).astype(np.float32)
    labels = np.array([0, 0, 1, 2, 1][:b], np.int32)
    ref_labels = np.array([1, 0, 2, 2, 0, 1][:r], np.int32)
    return e, labels, bank, ref_labels


class TestCircleLossReferences:
    @pytest.mark.parametrize("remove_diagonal", [True, False])
    def test_matches_reference(self, remove_diagonal):
        e, y, bank, ry = _circle_refs(60)
        opts = dict(margin=0.3, gamma=12.0, remove_diagonal=remove_diagonal)  # and the ref's
        f = functools.partial(jaxloss.circle_loss, reduction="none", **opts)
        out = jax.jit(
            lambda e, y, bank, ry: (
                f(e, y, ref_embeddings=bank, ref_labels=ry),
                f(e, y),  # the batch as its own references
            )
        )(e, y, bank, ry)
        np.testing.assert_allclose(out[0], ref_circle_refs(e, y, bank, ry, **opts), **TOL)
        np.testing.assert_allclose(out[1], ref_circle_refs(e, y, e, y, **opts), **TOL)

    def test_each_reference_argument_defaults_to_the_batch(self):
        e, y, _, _ = _circle_refs(61)
        other = np.array([2, 0, 0, 1, 1], np.int32)
        moved = e[::-1].copy()
        f = jax.jit(
            lambda e, moved: (
                jaxloss.circle_loss(e, y, gamma=8.0, reduction="none"),
                jaxloss.circle_loss(e, y, ref_embeddings=e, gamma=8.0, reduction="none"),
                jaxloss.circle_loss(e, y, ref_labels=y, gamma=8.0, reduction="none"),
                jaxloss.circle_loss(e, y, ref_embeddings=moved, gamma=8.0, reduction="none"),
                jaxloss.circle_loss(e, y, ref_labels=other, gamma=8.0, reduction="none"),
            )
        )
        plain, same_e, same_y, moved_out, other_out = f(e, moved)
        np.testing.assert_allclose(same_e, plain, rtol=1e-6)
        np.testing.assert_allclose(same_y, plain, rtol=1e-6)
        # ref_labels default to labels, ref_embeddings to embeddings (each on its own)
        np.testing.assert_allclose(moved_out, ref_circle_refs(e, y, moved, y, 0.25, 8.0), **TOL)
        np.testing.assert_allclose(other_out, ref_circle_refs(e, y, e, other, 0.25, 8.0), **TOL)

    @pytest.mark.parametrize("alpha_gradient", [False, True])
    def test_gradients_match_differences_of_the_reference(self, alpha_gradient):
        with jax.enable_x64(True):
            e, y, bank, ry = (
                a.astype(np.float64) if a.dtype == np.float32 else a
                for a in _circle_refs(62, b=4, r=5, d=3)
            )
            opts = dict(margin=0.25, gamma=6.0, remove_diagonal=False)  # and the reference's
            cot = np.random.default_rng(63).normal(size=4)

            def loss(e, bank):
                return jaxloss.circle_loss(
                    e,
                    y,
                    ref_embeddings=bank,
                    ref_labels=ry,
                    alpha_gradient=alpha_gradient,
                    reduction="none",
                    **opts,
                )

            @jax.jit  # one program: the eager VJP would run op by op
            def value_and_vjp(e, bank):
                out, vjp = jax.vjp(loss, e, bank)
                return out, vjp(cot)

            out, got = value_and_vjp(e, bank)
            frozen = None if alpha_gradient else (e, bank)
            expected = _fd_grads(
                lambda a, c: cot @ ref_circle_refs(a, y, c, ry, **opts, alpha_from=frozen),
                [e, bank],
            )
            np.testing.assert_allclose(out, ref_circle_refs(e, y, bank, ry, **opts), **TOL)
            for a, c in zip(got, expected):
                np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-7)

    def test_where_masks_anchors_not_references(self):
        e, y, bank, ry = _circle_refs(64)
        mask = np.array([1, 0, 1, 1, 0], bool)
        bad = e.copy()
        bad[1] = np.nan

        @jax.jit
        def program(e):
            f = lambda e: jaxloss.circle_loss(
                e, y, ref_embeddings=bank, ref_labels=ry, gamma=8.0, where=mask, reduction="none"
            )
            return f(e), jax.grad(lambda e: jnp.sum(f(e)))(e)

        out, g = program(bad)
        expected = ref_circle_refs(e, y, bank, ry, 0.25, 8.0, mask=mask)
        np.testing.assert_allclose(out, expected, **TOL)
        assert np.all(np.isfinite(g)) and np.all(np.asarray(g)[~mask] == 0)

    def test_leading_axes_are_independent_batches(self):
        rng = np.random.default_rng(65)
        e = rng.normal(size=(2, 4, 3)).astype(np.float32)
        bank = rng.normal(size=(2, 5, 3)).astype(np.float32)
        y = rng.integers(0, 2, size=(2, 4)).astype(np.int32)
        ry = rng.integers(0, 2, size=(2, 5)).astype(np.int32)
        out = jaxloss.circle_loss(
            e, y, ref_embeddings=bank, ref_labels=ry, gamma=8.0, reduction="none"
        )
        for k in range(2):
            np.testing.assert_allclose(
                out[k], ref_circle_refs(e[k], y[k], bank[k], ry[k], 0.25, 8.0), **TOL
            )

    def test_errors(self):
        e, y, bank, ry = _circle_refs(66)
        cases = [  # (error, message, the reference arguments or the switches)
            (
                ValueError,
                r"circle_loss: argument 'ref_embeddings' must have shape \[\.\.\., R, D\]",
                dict(ref_embeddings=bank[:, :2], ref_labels=ry),
            ),
            (
                ValueError,
                r"'ref_embeddings' must have as many rows as "
                r"'embeddings' when 'ref_labels' is None",
                dict(ref_embeddings=bank),
            ),
            (
                ValueError,
                r"circle_loss: argument 'ref_labels' must have the "
                r"shape of the reference embeddings",
                dict(ref_embeddings=bank, ref_labels=ry[:4]),
            ),
            (
                TypeError,
                r"circle_loss: argument 'ref_labels' must have an int",
                dict(ref_embeddings=bank, ref_labels=ry.astype(np.float32)),
            ),
            (
                TypeError,
                r"circle_loss: argument 'ref_embeddings' must have a floating",
                dict(ref_embeddings=ry[:, None], ref_labels=ry),
            ),
            (
                TypeError,
                r"circle_loss: argument 'remove_diagonal' must be a Python bool",
                dict(remove_diagonal=1),
            ),
            (
                TypeError,
                r"circle_loss: argument 'alpha_gradient' must be a Python bool",
                dict(alpha_gradient="yes"),
            ),
        ]
        for error, match, options in cases:
            with pytest.raises(error, match=match):
                jaxloss.circle_loss(e, y, **options)


# ---------------------------------------------------------------------------
# all four: jit(vmap(grad)), empty batches, argument errors; learned parameters


def _inputs(name, shape):
    e, labels = _embeddings(20, shape, 2)
    x, y = _pairs(21, shape)
    if name in ("ntxent", "circle_loss"):
        return e, labels
    return x, y


NAMES = ["ntxent", "clip_loss", "siglip_loss", "circle_loss"]


@pytest.mark.parametrize("name", NAMES)
def test_jit_vmap_grad_together(name):
    f = getattr(jaxloss, name)
    a, b = _inputs(name, (3, 5, 4))
    grad = jax.grad(lambda x, other: f(x, other))
    batched = np.asarray(jax.jit(jax.vmap(grad))(a, b))  # NumPy: indexed below
    assert batched.shape == a.shape and np.all(np.isfinite(batched))
    single = jax.jit(grad)  # one program for the three slices
    for i in range(3):
        np.testing.assert_allclose(batched[i], single(a[i], b[i]), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch(name):
    f = getattr(jaxloss, name)
    a, b = _inputs(name, (0, 4))
    assert f(a, b, reduction="none").shape == (0,)
    assert float(f(a, b)) == 0.0
    assert f(*_inputs(name, (2, 0, 4)), reduction="none").shape == (2, 0)
    g = jax.grad(lambda x: f(x, b))(a)
    assert g.shape == (0, 4)


# the first and second arguments of each loss, as its messages name them
ARGUMENTS = {
    "ntxent": ("embeddings", "labels"),
    "clip_loss": ("x", "y"),
    "siglip_loss": ("x", "y"),
    "circle_loss": ("embeddings", "labels"),
}


@pytest.mark.parametrize("name", NAMES)
def test_shape_and_dtype_errors(name):
    f = getattr(jaxloss, name)
    a, b = _inputs(name, (6, 4))
    first, second = ARGUMENTS[name]
    pairs = second == "y"  # two views of the batch, or embeddings and their labels
    if pairs:
        mismatch = "arguments 'x' and 'y' must have the same shape"
    else:
        mismatch = "argument 'labels' must have the shape"
    for short in (b[:-1], b[None], b[..., :2]):
        with pytest.raises(ValueError, match=rf"{name}: {mismatch}"):
            f(a, short)
    with pytest.raises(ValueError, match=rf"{name}: argument '{first}' must have shape"):
        f(a[0], b[0])
    with pytest.raises(TypeError, match=rf"{name}: argument '{first}' must have a float"):
        f(a.astype(np.int32), b)
    # float labels, integer second views
    wrong, dtype = (b.astype(np.int32), "a floating") if pairs else (b.astype(np.float32), "an int")
    with pytest.raises(TypeError, match=rf"{name}: argument '{second}' must have {dtype}"):
        f(a, wrong)


@pytest.mark.parametrize("name", ["ntxent", "clip_loss", "siglip_loss"])
def test_temperature_must_be_positive(name):
    f = getattr(jaxloss, name)
    a, b = _inputs(name, (6, 4))
    for temperature in (0.0, -0.1):
        with pytest.raises(ValueError, match=rf"{name}: argument 'temperature' must be > 0"):
            f(a, b, temperature=temperature)
    with pytest.raises(ValueError, match=rf"{name}: argument 'temperature' must be > 0"):
        jax.jit(lambda x: f(x, b, temperature=-1.0))(a)


class Learned(NamedTuple):
    """A gradient check in a loss's learned parameters, then in its inputs."""

    seed: int  # of the pairs
    options: Callable[..., dict]  # the loss's options from the learned parameters
    at: tuple[float, ...]  # the parameters' values
    order: int  # of the check in the parameters
    fixed: dict  # the options of the check in the inputs
    input_order: int  # of the check in the inputs


LEARNED = {
    "clip_loss": Learned(
        seed=5,
        options=lambda log_scale: dict(temperature=jnp.exp(-log_scale)),
        at=(np.log(1 / 0.07),),
        order=1,
        fixed=dict(temperature=0.3),
        input_order=2,
    ),
    "siglip_loss": Learned(
        seed=3,
        options=lambda t, b: dict(temperature=t, bias=b),
        at=(0.2, -3.0),
        order=2,
        fixed=dict(temperature=0.5, bias=-1.0),
        input_order=1,
    ),
}


@pytest.mark.parametrize("name", LEARNED)
def test_gradients_in_learned_parameters_and_inputs(name):
    case = LEARNED[name]
    f = getattr(jaxloss, name)
    with jax.enable_x64(True):
        x, y = (a.astype(np.float64) for a in _pairs(case.seed, (4, 3)))
        g = lambda *p: f(x, y, **case.options(*p))
        check_grads(g, case.at, order=case.order, modes=["rev"], eps=1e-4)
        h = lambda a, b: f(a, b, **case.fixed)
        check_grads(h, (x, y), order=case.input_order, modes=["rev"], eps=1e-3)
