"""Numerics regression tests: one named test per documented edge case.

Each test builds its inputs, compares the value with an independent float64 NumPy
reference and requires a finite gradient. Several cases are also covered by the family
test files; these are the short, self-contained regression versions.
"""

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss


def np_log_softmax(x):
    x = np.asarray(x, np.float64)
    finite = np.isfinite(x)
    m = np.max(np.where(finite, x, -np.inf), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        e = np.where(finite, np.exp(x - m), 0.0)
    return x - m - np.log(e.sum(-1, keepdims=True))


def finite(tree):
    return all(np.all(np.isfinite(np.asarray(a))) for a in jax.tree_util.tree_leaves(tree))


# 1 -------------------------------------------------------------------------


def test_softmax_ce_masked_neg_inf_logit():
    x = jnp.array([[2.0, -jnp.inf, 0.5, -1.0], [0.3, 0.1, -jnp.inf, -jnp.inf]])
    y = jnp.array([[0.6, 0.0, 0.4, 0.0], [0.25, 0.75, 0.0, 0.0]])
    f = lambda v: jaxloss.softmax_cross_entropy(v, y, reduction="none")
    logp = np_log_softmax(x)
    yn = np.asarray(y, np.float64)
    ref = -np.sum(yn * np.where(yn == 0, 0.0, logp), axis=-1)
    out = f(x)
    assert finite(out)
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    g = jax.grad(lambda v: f(v).sum())(x)
    assert finite(g)
    # d/dx = softmax - y: 0 at the -inf logits.
    np.testing.assert_allclose(g, np.exp(logp) - np.asarray(y), rtol=1e-5, atol=1e-7)
    _, tangent = jax.jvp(f, (x,), (jnp.ones_like(x),))
    assert finite(tangent)
    np.testing.assert_allclose(tangent, np.sum(g, axis=-1), atol=1e-6)


# 2 -------------------------------------------------------------------------


def test_all_neg_inf_or_masked_row():
    x = jnp.array([[1.0, 2.0, 0.5], [-jnp.inf, -jnp.inf, -jnp.inf], [0.3, -0.2, 0.9]])
    y = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    labels = jnp.array([1, 0, 1])
    cmask = jnp.array([[True, True, True], [True, True, True], [False, False, False]])
    ref0 = -np_log_softmax(np.asarray(x[0]))[1]

    losses = {
        "prob": lambda v, **kw: jaxloss.softmax_cross_entropy(v, y, reduction="none", **kw),
        "int": lambda v, **kw: jaxloss.softmax_cross_entropy_with_integer_labels(
            v, labels, reduction="none", **kw
        ),
    }
    for name, f in losses.items():
        for kw in ({}, {"where": cmask}):
            out = f(x, **kw)
            assert finite(out), (name, kw)
            np.testing.assert_allclose(out[0], ref0, rtol=1e-6)
            assert float(out[1]) == 0.0, (name, kw)  # all -inf
            if kw:
                assert float(out[2]) == 0.0, name  # every class masked
            g = jax.grad(lambda v, f=f, kw=kw: f(v, **kw).sum())(x)
            assert finite(g), (name, kw)
            np.testing.assert_array_equal(g[1], 0.0)
            if kw:
                np.testing.assert_array_equal(g[2], 0.0)
            # The mean counts the excluded rows as empty, not as NaN.
            assert finite(jax.grad(lambda v, f=f, kw=kw: f(v, **kw).mean())(x))


# 3 -------------------------------------------------------------------------


def test_integer_labels_out_of_range_nan():
    x = jnp.array([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3], [0.0, 1.0, -1.0]])
    labels = jnp.array([3, -1, 2])
    out = jaxloss.softmax_cross_entropy_with_integer_labels(x, labels, reduction="none")
    assert np.isnan(out[0]) and np.isnan(out[1])  # never a silent wrap of -1 to class 2
    np.testing.assert_allclose(out[2], -np_log_softmax(np.asarray(x[2]))[2], rtol=1e-6)
    # The valid example's gradient stays finite; the invalid ones are loudly NaN only there.
    g = jax.grad(
        lambda v: jaxloss.softmax_cross_entropy_with_integer_labels(v, labels, reduction="none")[2]
    )(x)
    assert finite(g)


def test_ignore_index_excluded():
    x = jnp.array([[1.0, 2.0, 0.5], [jnp.nan, 0.2, 0.3], [0.0, 1.0, -1.0]])
    labels = jnp.array([1, -100, 0])
    f = lambda v, **kw: jaxloss.softmax_cross_entropy_with_integer_labels(
        v, labels, ignore_index=-100, **kw
    )
    logp = np_log_softmax(np.nan_to_num(np.asarray(x)))
    ref = np.array([-logp[0, 1], 0.0, -logp[2, 0]])
    np.testing.assert_allclose(f(x, reduction="none"), ref, rtol=1e-6)
    np.testing.assert_allclose(f(x), (ref[0] + ref[2]) / 2, rtol=1e-6)  # mean over 2
    g = jax.grad(f)(x)
    assert finite(g)
    np.testing.assert_array_equal(g[1], 0.0)


def test_class_mask_hiding_true_class_not_negative():
    x = jnp.array([[5.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    labels = jnp.array([0, 2])
    cmask = jnp.array([[False, True, True], [True, True, True]])
    f = lambda v, **kw: jaxloss.softmax_cross_entropy_with_integer_labels(
        v, labels, where=cmask, **kw
    )
    out = f(x, reduction="none")
    # The hidden true class excludes the example (0), never a negative or inf loss.
    ref = np.array([0.0, -np_log_softmax(np.asarray(x[1]))[2]])
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    assert np.all(np.asarray(out) >= 0)
    np.testing.assert_allclose(f(x), ref[1], rtol=1e-6)  # the mean counts one example
    g = jax.grad(f)(x)
    assert finite(g)
    np.testing.assert_array_equal(g[0], 0.0)


# 4 -------------------------------------------------------------------------


def test_sigmoid_bce_infinite_logits_agreeing():
    x = jnp.array([jnp.inf, -jnp.inf, 1.5])
    y = jnp.array([1.0, 0.0, 0.0])
    f = lambda v: jaxloss.sigmoid_binary_cross_entropy(v, y, reduction="none")
    ref = np.array([0.0, 0.0, np.log1p(np.exp(1.5))])
    np.testing.assert_allclose(f(x), ref, rtol=1e-6)
    g = jax.grad(lambda v: f(v).sum())(x)
    assert finite(g)
    np.testing.assert_array_equal(g[:2], 0.0)
    np.testing.assert_allclose(g[2], 1 / (1 + np.exp(-1.5)), rtol=1e-6)


# 5 -------------------------------------------------------------------------


def test_kl_zero_targets():
    log_p = jnp.array([[np.log(0.7), np.log(0.3), -jnp.inf], [np.log(0.2), np.log(0.8), -2.0]])
    t = jnp.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    tn, lpn = np.asarray(t, np.float64), np.asarray(log_p, np.float64)
    pos = tn > 0
    ref = np.where(pos, tn * (np.log(np.where(pos, tn, 1)) - np.where(pos, lpn, 0)), 0).sum(-1)

    f = lambda a, b: jaxloss.kl_divergence(a, b, reduction="none")
    np.testing.assert_allclose(f(log_p, t), ref, rtol=1e-6)
    g_p, g_t = jax.grad(lambda a, b: f(a, b).sum(), argnums=(0, 1))(log_p, t)
    assert finite((g_p, g_t))
    np.testing.assert_array_equal(np.asarray(g_t)[~pos], 0.0)

    log_t = jnp.log(t)  # -inf where the target is 0
    h = lambda a, b: jaxloss.kl_divergence_with_log_targets(a, b, reduction="none")
    np.testing.assert_allclose(h(log_p, log_t), ref, rtol=1e-6)
    g_p, g_t = jax.grad(lambda a, b: h(a, b).sum(), argnums=(0, 1))(log_p, log_t)
    assert finite((g_p, g_t))
    np.testing.assert_array_equal(np.asarray(g_p)[~pos], 0.0)
    np.testing.assert_array_equal(np.asarray(g_t)[~pos], 0.0)


# 6 -------------------------------------------------------------------------


def test_cosine_zero_vector():
    x = jnp.zeros((2, 3))
    y = jnp.array([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    eps = 1e-8  # the documented default: the gradient is at most 1/eps per element
    for fn, ref in ((jaxloss.cosine_similarity, 0.0), (jaxloss.cosine_distance, 1.0)):
        out = fn(x, y, reduction="none")
        np.testing.assert_allclose(out, [ref, ref], atol=1e-7)
        g_x, g_y = jax.grad(lambda a, b, fn=fn: fn(a, b, reduction="sum"), argnums=(0, 1))(x, y)
        assert finite((g_x, g_y))
        assert np.all(np.abs(np.asarray(g_x)) <= 1 / eps * (1 + 1e-6))
        assert np.all(np.abs(np.asarray(g_y)) <= 1 / eps * (1 + 1e-6))
        # Towards y / (|y| eps) (sign by the loss): the first row's bound is attained.
        expected = np.asarray(y[0], np.float64) / (3.0 * eps)
        sign = 1.0 if ref == 0.0 else -1.0
        np.testing.assert_allclose(g_x[0], sign * expected, rtol=1e-5)


# 7 -------------------------------------------------------------------------


def test_half_precision_large_vocab():
    rng = np.random.default_rng(7)
    rows, vocab = 64, 32768
    logits32 = (4.0 * rng.normal(size=(rows, vocab))).astype(np.float32)
    labels = rng.integers(0, vocab, size=rows)
    soft = rng.uniform(size=(rows, vocab))
    soft /= soft.sum(-1, keepdims=True)
    for dtype in (jnp.bfloat16, jnp.float16):
        x = jnp.asarray(logits32, dtype)
        y = jnp.asarray(soft, dtype)
        xf, yf = np.asarray(x, np.float64), np.asarray(y, np.float64)  # the rounded inputs
        logp = np_log_softmax(xf)

        out = jaxloss.softmax_cross_entropy_with_integer_labels(x, labels, reduction="none")
        assert out.dtype == jnp.float32
        np.testing.assert_allclose(out, -logp[np.arange(rows), labels], rtol=1e-4, atol=1e-4)
        g = jax.grad(jaxloss.softmax_cross_entropy_with_integer_labels)(x, labels)
        assert g.dtype == dtype and finite(g.astype(jnp.float32))

        out = jaxloss.softmax_cross_entropy(x, y, reduction="none")
        assert out.dtype == jnp.float32
        np.testing.assert_allclose(out, -np.sum(yf * logp, -1), rtol=1e-4, atol=1e-4)
        assert finite(jax.grad(jaxloss.softmax_cross_entropy)(x, y).astype(jnp.float32))

    # The mean of 1e5 bf16 losses is accurate to float32, not to bf16.
    n = 100_000
    p = jnp.asarray(3.0 * rng.normal(size=n) + 1.0, jnp.bfloat16)
    t = jnp.asarray(rng.normal(size=n), jnp.bfloat16)
    ref = np.mean((np.asarray(p, np.float64) - np.asarray(t, np.float64)) ** 2)
    for f in (jaxloss.squared_error, jax.jit(jaxloss.squared_error)):
        out = f(p, t)
        assert out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref, rtol=1e-6)
    g = jax.grad(jaxloss.squared_error)(p, t)
    assert g.dtype == jnp.bfloat16 and finite(g.astype(jnp.float32))


# 8 -------------------------------------------------------------------------


def test_focal_gamma_zero_extreme_logits():
    x = jnp.array([80.0, -80.0, 80.0, -80.0])
    y = jnp.array([1.0, 1.0, 0.0, 0.0])
    # gamma = 0: the binary cross-entropy, softplus(-x) for y = 1 and softplus(x) for y = 0.
    ref = np.array([np.log1p(np.exp(-80.0)), 80.0, 80.0, np.log1p(np.exp(-80.0))])
    xs = jnp.array([[80.0, -80.0, 0.0], [-80.0, 80.0, 0.0]])
    ys = jnp.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    # -log p_0 = log1p(sum_{j != 0} exp(x_j - x_0)): no rounding of 1 + tiny.
    ref_s = np.array([np.log1p(np.exp(-160.0) + np.exp(-80.0)), 160.0 + np.log1p(np.exp(-80.0))])
    for gamma in (0.0, jnp.float32(0.0)):  # static and traced
        f = lambda v, g=gamma: jaxloss.sigmoid_focal_loss(v, y, gamma=g, reduction="none")
        np.testing.assert_allclose(f(x), ref, rtol=1e-6)
        s = lambda v, g=gamma: jaxloss.sigmoid_focal_loss(v, y, gamma=g, reduction="sum")
        assert finite(jax.jit(jax.grad(s))(x)) and finite(jax.jit(jax.hessian(s))(x))

        h = lambda v, g=gamma: jaxloss.softmax_focal_loss(v, ys, gamma=g, reduction="none")
        np.testing.assert_allclose(h(xs), ref_s, rtol=1e-6)
        s = lambda v, g=gamma: jaxloss.softmax_focal_loss(v, ys, gamma=g, reduction="sum")
        assert finite(jax.jit(jax.grad(s))(xs)) and finite(jax.jit(jax.hessian(s))(xs))


# 9 -------------------------------------------------------------------------


def test_smooth_labels_masked():
    y = jnp.array([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    w = jnp.array([[True, True, False, False], [False, False, False, False]])
    alpha = 0.2
    out = jaxloss.smooth_labels(y, alpha, where=w)
    wn, yn = np.asarray(w), np.asarray(y, np.float64)
    count = wn.sum(-1, keepdims=True)
    ref = np.where(wn, (1 - alpha) * yn + alpha / np.maximum(count, 1), 0.0)
    assert finite(out)
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(out)[~wn], 0.0)  # masked classes get no mass
    np.testing.assert_allclose(np.asarray(out)[0].sum(), 1.0, rtol=1e-6)
    g = jax.grad(lambda a: jaxloss.smooth_labels(y, a, where=w).sum())(jnp.float32(alpha))
    assert finite(g)


# 10 ------------------------------------------------------------------------


def test_bce_probabilities_at_bounds():
    p = jnp.array([0.0, 1.0, 0.0, 1.0])
    y = jnp.array([1.0, 0.0, 0.0, 1.0])
    eps = 1e-7  # the default: each disagreeing term is -log(eps)
    f = lambda v: jaxloss.binary_cross_entropy(v, y, reduction="none")
    out = f(p)
    ref = np.array([-np.log(eps), -np.log(eps), 0.0, 0.0])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(out)[:2] > 15.0)
    g = jax.grad(lambda v: f(v).sum())(p)
    assert finite(g)
