"""The streamed large-vocabulary functions beside the cross-entropy: `linear_log_probs`,
`linear_kl_divergence` and `linear_jensen_shannon_divergence`.

Each is checked against its naive form (the logits materialized, then
`jax.nn.log_softmax` and the jaxloss loss of the same name) in value and in every
gradient, against a float64 NumPy reference written from the formula, by finite
differences in float64, under ``shard_map`` with the vocabulary sharded, and for the
compiled temporary memory at the size of a real language-model head.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

import jaxloss
from tests.grads import check_grads

LP = jaxloss.linear_log_probs
KL = jaxloss.linear_kl_divergence
JSD = jaxloss.linear_jensen_shannon_divergence

N, DS, DT, V = 9, 5, 7, 23  # chunk_size=5 leaves a remainder block of 3 columns


def _head(rng, d, v=V, batch=(N,), scale=1.0):
    h = (scale * rng.normal(size=batch + (d,))).astype(np.float32)
    w = (rng.normal(size=(d, v)) / np.sqrt(d)).astype(np.float32)
    b = rng.normal(size=(v,)).astype(np.float32)
    return jnp.asarray(h), jnp.asarray(w), jnp.asarray(b)


def _labels(rng, batch=(N,), v=V):
    return jnp.asarray(rng.integers(0, v, size=batch), jnp.int32)


def _assert_tree_close(got, want, rtol=2e-5, atol=2e-6):
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol)


def _naive_log_softmax(h, w, b, temperature=1.0, cap=None):
    x = h @ w if b is None else h @ w + b
    if cap is not None:
        x = cap * jnp.tanh(x / cap)
    return jax.nn.log_softmax(x / temperature, axis=-1)


# -- linear_log_probs ------------------------------------------------------------------


def _naive_log_probs(h, w, y, *, bias=None, temperature=1.0, logit_soft_cap=None, **_):
    ls = _naive_log_softmax(h, w, bias, temperature, logit_soft_cap)
    safe = jnp.clip(y, 0, w.shape[1] - 1)
    lp = jnp.take_along_axis(ls, safe[..., None], axis=-1)[..., 0]
    ent = -jnp.sum(jnp.exp(ls) * ls, axis=-1)
    return lp, ent


def _lp_objective(fn, y, **opts):
    """A scalar that weighs every token's log-prob and entropy differently."""
    c1 = jnp.linspace(-1.0, 2.0, N)
    c2 = jnp.cos(jnp.arange(N, dtype=jnp.float32))

    def f(h, w, b, t, cap):
        lp, ent = fn(h, w, y, bias=b, temperature=t, logit_soft_cap=cap, **opts)
        return jnp.sum(lp * c1) + jnp.sum(ent * c2)

    return f


@pytest.mark.parametrize(
    "opts",
    [
        {"chunk_size": 5},
        {"chunk_size": 23, "cap": 2.5},
        {"chunk_size": 4, "cap": 3.0, "temperature": 0.7},
        {"chunk_size": None, "temperature": 1.3},
    ],
    ids=["remainder", "one-block-cap", "cap-temperature", "default-chunk"],
)
def test_log_probs_and_entropy_equal_naive_in_value_and_every_gradient(opts):
    rng = np.random.default_rng(0)
    h, w, b = _head(rng, DS)
    y = _labels(rng)
    t = jnp.float32(opts.get("temperature", 1.0))
    cap = opts.get("cap")
    cap = None if cap is None else jnp.float32(cap)
    argnums = (0, 1, 2, 3) if cap is None else (0, 1, 2, 3, 4)

    def fused(h, w, y, **k):
        return LP(h, w, y, chunk_size=opts["chunk_size"], return_entropy=True, **k)

    @jax.jit
    def both(h, w, b, t, cap):
        got = jax.value_and_grad(_lp_objective(fused, y), argnums)(h, w, b, t, cap)
        want = jax.value_and_grad(_lp_objective(_naive_log_probs, y), argnums)(h, w, b, t, cap)
        return got, want

    got, want = both(h, w, b, t, cap)
    _assert_tree_close(got, want)


def test_log_probs_match_float64_reference():
    rng = np.random.default_rng(1)
    h, w, b = _head(rng, DS, batch=(3, 4))
    y = _labels(rng, batch=(3, 4))
    lp, ent = LP(h, w, y, bias=b, temperature=0.8, chunk_size=6, return_entropy=True)
    x = np.asarray(h, np.float64) @ np.asarray(w, np.float64) + np.asarray(b, np.float64)
    z = x / 0.8
    z = z - z.max(-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    want_lp = np.take_along_axis(log_p, np.asarray(y)[..., None], -1)[..., 0]
    want_ent = -(np.exp(log_p) * log_p).sum(-1)
    assert lp.shape == ent.shape == (3, 4)
    np.testing.assert_allclose(lp, want_lp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ent, want_ent, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(ent) <= np.log(V) + 1e-6)


def test_log_probs_float64_finite_differences():
    with jax.enable_x64(True):
        rng = np.random.default_rng(2)
        h, w, b = (jnp.asarray(a, jnp.float64) for a in _head(rng, 4, v=11, batch=(5,)))
        y = _labels(rng, batch=(5,), v=11)

        def f(h, w, b, t, cap):
            lp, ent = LP(h, w, y, bias=b, temperature=t, logit_soft_cap=cap, chunk_size=4,
                         return_entropy=True)  # fmt: skip
            return jnp.sum(lp * jnp.arange(1.0, 6.0)) + jnp.sum(ent * jnp.arange(5.0))

        args = (h, w, b, jnp.float64(0.9), jnp.float64(2.0))
        assert f(*args).dtype == jnp.float64
        check_grads(f, args, order=1, modes=["rev"], eps=1e-5)


def test_log_probs_where_ignore_index_and_bad_labels():
    rng = np.random.default_rng(3)
    h, w, _ = _head(rng, DS)
    y = _labels(rng).at[1].set(-100).at[2].set(V).at[3].set(V + 5)
    h = h.at[1].set(jnp.nan).at[3].set(jnp.inf)  # ignored and masked tokens: no effect
    where = jnp.arange(N) != 3
    f = jax.jit(lambda h, w: LP(h, w, y, ignore_index=-100, where=where, chunk_size=5))
    lp = f(h, w)
    assert lp[1] == 0 and lp[3] == 0  # ignored, masked (though out of range)
    assert np.isnan(lp[2])  # out of range, counted: NaN, as the cross-entropy
    ok = np.array([i not in (1, 2, 3) for i in range(N)])
    want, _ = _naive_log_probs(h, w, y)
    np.testing.assert_allclose(lp[ok], want[ok], rtol=1e-5)
    dh, dw = jax.grad(lambda h, w: jnp.sum(jnp.where(ok, f(h, w), 0)), (0, 1))(h, w)
    assert np.all(dh[1] == 0) and np.all(dh[3] == 0) and np.all(np.isfinite(dw))
    with pytest.raises(Exception, match=r"linear_log_probs: label out of range \[0, 23\)"):
        jaxloss.checked(lambda h, w: LP(h, w, y, ignore_index=-100, where=where))(h, w)


def test_log_probs_bfloat16_accumulate_in_float32_and_large_logits():
    rng = np.random.default_rng(4)
    h, w, _ = _head(rng, 16, v=300, batch=(8,))
    y = _labels(rng, batch=(8,), v=300)
    hb, wb = h.astype(jnp.bfloat16), w.astype(jnp.bfloat16)
    lp = LP(hb, wb, y, chunk_size=128)
    assert lp.dtype == jnp.float32
    want, _ = _naive_log_probs(hb.astype(jnp.float32), wb.astype(jnp.float32), y)
    np.testing.assert_allclose(lp, want, rtol=1e-4, atol=1e-4)
    dh, dw = jax.grad(lambda h, w: jnp.sum(LP(h, w, y, chunk_size=128)), (0, 1))(hb, wb)
    assert dh.dtype == dw.dtype == jnp.bfloat16
    big = LP(1e4 * h, w, y, chunk_size=128, return_entropy=True)
    assert np.all(np.isfinite(big[0])) and np.all(np.isfinite(big[1]))
    assert np.all(np.asarray(big[0]) <= 0)


def test_log_probs_vmap_and_leading_axes():
    rng = np.random.default_rng(5)
    h, w, b = _head(rng, DS, batch=(2, 3))
    y = _labels(rng, batch=(2, 3))
    full = LP(h, w, y, bias=b, chunk_size=5)
    rows = jax.vmap(lambda h, y: LP(h, w, y, bias=b, chunk_size=5))(h, y)
    np.testing.assert_allclose(rows, full, rtol=1e-6)
    np.testing.assert_allclose(full, _naive_log_probs(h, w, y, bias=b)[0], rtol=1e-5)


def test_forward_mode_is_documented_unavailable():
    rng = np.random.default_rng(6)
    h, w, _ = _head(rng, DS)
    y = _labels(rng)
    with pytest.raises(TypeError, match="custom_vjp"):
        jax.jvp(lambda h: LP(h, w, y), (h,), (h,))
    for fn in (LP, KL, JSD, jaxloss.linear_softmax_cross_entropy_with_integer_labels):
        assert "jax.jvp" in fn.__doc__ and "custom_vjp" in fn.__doc__


# -- linear divergences ----------------------------------------------------------------


def _naive_divergence(
    kind,
    hs,
    ws,
    ht,
    wt,
    labels=None,
    *,
    student_bias=None,
    teacher_bias=None,
    beta=0.5,
    temperature=1.0,
    ignore_index=-100,
    teacher_gradient=False,
    reduction="mean",
    where=None,
    weights=None,
):
    """The materialized logits, then the jaxloss loss."""
    if not teacher_gradient:
        ht, wt, teacher_bias = jax.lax.stop_gradient((ht, wt, teacher_bias))
    ls = _naive_log_softmax(hs, ws, student_bias, temperature)
    lt = _naive_log_softmax(ht, wt, teacher_bias, temperature)
    if labels is not None and ignore_index is not None:
        keep = labels != ignore_index
        where = keep if where is None else where & keep
    opts = dict(reduction=reduction, where=where, weights=weights)
    if kind == "forward":
        return jaxloss.kl_divergence_with_log_targets(ls, lt, **opts)
    if kind == "reverse":
        return jaxloss.kl_divergence_with_log_targets(lt, ls, **opts)
    return jaxloss.jensen_shannon_divergence(ls, lt, beta=beta, **opts)


def _fused_divergence(kind, *args, **kwargs):
    if kind == "jsd":
        return JSD(*args, **kwargs)
    return KL(*args, direction=kind, **kwargs)


DIVERGENCE_CASES = [
    ("forward", {"chunk_size": 5}),
    ("reverse", {"chunk_size": 5, "temperature": 2.0, "teacher_gradient": True}),
    ("jsd", {"chunk_size": 4, "beta": 0.5, "reduction": "sum"}),
    ("jsd", {"chunk_size": 23, "beta": 0.2, "temperature": 0.6, "teacher_gradient": True}),
    ("jsd", {"chunk_size": 6, "beta": 0.0, "reduction": "none"}),
    ("jsd", {"chunk_size": 6, "beta": 1.0, "teacher_gradient": True}),
]


@pytest.mark.parametrize("kind,opts", DIVERGENCE_CASES, ids=lambda x: str(x))
def test_divergences_equal_naive_in_value_and_every_gradient(kind, opts):
    """Biases on both heads, ignored tokens, ``where`` and ``weights``; the gradients with
    respect to every floating input: the student's, the teacher's (zero unless
    ``teacher_gradient``), the temperature and ``beta`` (traced)."""
    rng = np.random.default_rng(7)
    hs, ws, bs = _head(rng, DS)
    ht, wt, bt = _head(rng, DT, scale=1.5)
    labels = _labels(rng).at[2].set(-100)
    where = jnp.arange(N) != 5
    weights = jnp.linspace(0.5, 1.5, N)
    opts = dict(opts)
    chunk = opts.pop("chunk_size")
    beta = opts.pop("beta", None)
    t = opts.pop("temperature", 1.0)
    extra = {} if beta is None else {"beta": beta}

    def loss(fn):
        def f(hs, ws, bs, ht, wt, bt, t, b):
            k = dict(opts, temperature=t, where=where, weights=weights)
            if b is not None:
                k["beta"] = b
            out = fn(kind, hs, ws, ht, wt, labels, student_bias=bs, teacher_bias=bt, **k)
            return jnp.sum(out * jnp.linspace(1.0, 2.0, out.size).reshape(out.shape))

        return f

    def fused(*args, **kwargs):
        return _fused_divergence(*args, chunk_size=chunk, **kwargs)

    argnums = (0, 1, 2, 3, 4, 5, 6) + (() if beta is None else (7,))

    @jax.jit
    def both(*args):
        got = jax.value_and_grad(loss(fused), argnums)(*args)
        want = jax.value_and_grad(loss(_naive_divergence), argnums)(*args)
        return got, want

    b = None if beta is None else jnp.float32(extra["beta"])
    got, want = both(hs, ws, bs, ht, wt, bt, jnp.float32(t), b)
    want_val, want_grads = want
    if beta in (0.0, 1.0):
        want_grads = (*want_grads[:-1], jnp.zeros(()))  # the endpoints do not depend on beta
    _assert_tree_close(got, (want_val, want_grads), rtol=5e-5, atol=5e-6)
    if not opts.get("teacher_gradient"):
        assert all(np.all(np.asarray(g) == 0) for g in got[1][3:6])
    # an ignored and a masked token with non-finite hidden states: no effect, zero gradient
    bad = (hs.at[2].set(jnp.nan).at[5].set(jnp.inf), ws, bs, ht.at[2].set(jnp.nan), wt, bt)
    again = jax.jit(jax.value_and_grad(loss(fused), argnums))(*bad, jnp.float32(t), b)
    _assert_tree_close(again[0], got[0])
    assert np.all(np.asarray(again[1][0])[[2, 5]] == 0)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in again[1])


def _np_divergences(ls, lt, beta):
    s, t = np.exp(ls), np.exp(lt)
    fwd = (t * (lt - ls)).sum(-1)
    rev = (s * (ls - lt)).sum(-1)
    m = beta * t + (1 - beta) * s
    jsd = beta * (t * (lt - np.log(m))).sum(-1) + (1 - beta) * (s * (ls - np.log(m))).sum(-1)
    return fwd, rev, jsd


def test_divergences_match_float64_reference():
    rng = np.random.default_rng(8)
    hs, ws, bs = _head(rng, DS, batch=(2, 5))
    ht, wt, bt = _head(rng, DT, batch=(2, 5), scale=2.0)

    def log_softmax(h, w, b, t):
        z = (np.asarray(h, np.float64) @ np.asarray(w, np.float64) + np.asarray(b, np.float64)) / t
        z = z - z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))

    ls, lt = log_softmax(hs, ws, bs, 1.5), log_softmax(ht, wt, bt, 1.5)
    fwd, rev, jsd = _np_divergences(ls, lt, 0.3)
    k = dict(student_bias=bs, teacher_bias=bt, temperature=1.5, chunk_size=7, reduction="none")
    np.testing.assert_allclose(KL(hs, ws, ht, wt, **k), fwd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(KL(hs, ws, ht, wt, direction="reverse", **k), rev, rtol=1e-5,
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(JSD(hs, ws, ht, wt, beta=0.3, **k), jsd, rtol=1e-5, atol=1e-6)
    half = np.asarray(JSD(hs, ws, ht, wt, **k))
    assert np.all((half >= 0) & (half <= np.log(2)))
    swapped = JSD(ht, wt, hs, ws, student_bias=bt, teacher_bias=bs, temperature=1.5,
                  reduction="none")  # fmt: skip
    np.testing.assert_allclose(swapped, half, rtol=1e-5, atol=1e-7)  # symmetric at 0.5


def test_divergences_float64_finite_differences_every_input():
    with jax.enable_x64(True):
        rng = np.random.default_rng(9)
        hs, ws, bs = (jnp.asarray(a, jnp.float64) for a in _head(rng, 3, v=10, batch=(4,)))
        ht, wt, bt = (jnp.asarray(a, jnp.float64) for a in _head(rng, 4, v=10, batch=(4,)))
        for kind, beta in (("forward", None), ("reverse", None), ("jsd", 0.35)):

            def f(hs, ws, bs, ht, wt, bt, t, kind=kind, beta=beta):
                k = {} if beta is None else {"beta": beta}
                return _fused_divergence(kind, hs, ws, ht, wt, student_bias=bs, teacher_bias=bt,
                                         temperature=t, teacher_gradient=True, chunk_size=4,
                                         **k)  # fmt: skip

            check_grads(f, (hs, ws, bs, ht, wt, bt, jnp.float64(1.3)), order=1, modes=["rev"],
                        eps=1e-5)  # fmt: skip


def test_divergence_of_a_model_with_itself_is_zero_and_stable_at_large_logits():
    rng = np.random.default_rng(10)
    h, w, b = _head(rng, DS)
    for kind in ("forward", "reverse", "jsd"):
        out = _fused_divergence(kind, h, w, h, w, student_bias=b, teacher_bias=b,
                                reduction="none")  # fmt: skip
        np.testing.assert_allclose(out, 0, atol=2e-6)
        g = jax.grad(lambda h, k=kind: _fused_divergence(k, 300 * h, w, 200 * h, w))(h)
        assert np.all(np.isfinite(g))
    big = _fused_divergence("jsd", 300 * h, w, -200 * h, w, reduction="none")
    assert np.all(np.isfinite(big)) and np.all(np.asarray(big) <= np.log(2) + 1e-5)


def test_divergences_bfloat16_and_mixed_models():
    rng = np.random.default_rng(11)
    hs, ws, _ = _head(rng, 16, v=260)
    ht, wt, _ = _head(rng, 24, v=260)
    hb, wb = hs.astype(jnp.bfloat16), ws.astype(jnp.bfloat16)  # a bf16 student, f32 teacher
    out = JSD(hb, wb, ht, wt, chunk_size=128)
    assert out.dtype == jnp.float32
    want = _naive_divergence("jsd", hb.astype(jnp.float32), wb.astype(jnp.float32), ht, wt)
    np.testing.assert_allclose(out, want, rtol=1e-4)
    dh, dw = jax.grad(lambda h, w: KL(h, w, ht, wt, chunk_size=128), (0, 1))(hb, wb)
    assert dh.dtype == dw.dtype == jnp.bfloat16 and np.all(np.isfinite(dw.astype(np.float32)))


# -- vocabulary-parallel -----------------------------------------------------------------


def test_vocab_parallel_equals_unsharded():
    """Under ``shard_map`` with the vocabulary sharded over every device, ``check_vma`` on
    and off (in one program): the unsharded values and gradients, for the log-probs with
    entropy and for the JSD and the reverse KL (with biases and a temperature)."""
    n_dev = len(jax.devices())
    rng = np.random.default_rng(12)
    v = 6 * n_dev
    hs, ws, bs = _head(rng, DS, v=v)
    ht, wt, bt = _head(rng, DT, v=v)
    y = _labels(rng, v=v).at[0].set(v - 1)
    mesh = Mesh(np.array(jax.devices()), ("vocab",))

    def total(axis_name, hs, ws, bs, ht, wt, bt):
        lp, ent = LP(hs, ws, y, bias=bs, temperature=0.9, logit_soft_cap=4.0, chunk_size=4,
                     return_entropy=True, axis_name=axis_name)  # fmt: skip
        k = dict(student_bias=bs, teacher_bias=bt, temperature=1.2, chunk_size=4,
                 axis_name=axis_name, teacher_gradient=True)  # fmt: skip
        jsd = JSD(hs, ws, ht, wt, beta=0.3, **k)
        rev = KL(hs, ws, ht, wt, direction="reverse", **k)
        return jnp.sum(lp * jnp.arange(N)) + jnp.sum(ent) + 3 * jsd + rev

    def sharded(check_vma):
        return jax.shard_map(
            lambda *a: total("vocab", *a),
            mesh=mesh,
            in_specs=(P(), P(None, "vocab"), P("vocab"), P(), P(None, "vocab"), P("vocab")),
            out_specs=P(),
            check_vma=check_vma,
        )

    @jax.jit
    def both(*args):
        got = jax.value_and_grad(lambda *a: sharded(True)(*a) + 2 * sharded(False)(*a),
                                 tuple(range(6)))(*args)  # fmt: skip
        want = jax.value_and_grad(lambda *a: 3 * total(None, *a), tuple(range(6)))(*args)
        return got, want

    got, want = both(hs, ws, bs, ht, wt, bt)
    _assert_tree_close(got, want, rtol=5e-5, atol=5e-6)


# -- memory ----------------------------------------------------------------------------


def _all_shapes(jaxpr):
    for eqn in jaxpr.eqns:
        for var in eqn.outvars:
            yield tuple(getattr(var.aval, "shape", ()))
        for value in eqn.params.values():
            for inner in value if isinstance(value, tuple | list) else (value,):
                inner = getattr(inner, "jaxpr", inner)
                if hasattr(inner, "eqns"):
                    yield from _all_shapes(inner)


def test_no_tokens_by_vocab_array_in_forward_or_backward():
    n, ds, dt, v, chunk = 64, 24, 40, 1000, 128
    rng = np.random.default_rng(13)
    hs, ws, bs = _head(rng, ds, v=v, batch=(n,))
    ht, wt, _ = _head(rng, dt, v=v, batch=(n,))
    y = _labels(rng, batch=(n,), v=v)

    def f(hs, ws, bs, ht, wt):
        lp, ent = LP(hs, ws, y, bias=bs, temperature=0.7, logit_soft_cap=5.0, chunk_size=chunk,
                     return_entropy=True)  # fmt: skip
        k = dict(temperature=0.7, chunk_size=chunk, teacher_gradient=True)
        kls = KL(hs, ws, ht, wt, **k) + KL(hs, ws, ht, wt, direction="reverse", **k)
        return jnp.sum(lp + ent) + JSD(hs, ws, ht, wt, beta=0.4, **k) + kls

    g = jax.value_and_grad(f, argnums=(0, 1, 2, 3, 4))
    shapes = set(_all_shapes(jax.make_jaxpr(g)(hs, ws, bs, ht, wt).jaxpr))
    assert (n, chunk) in shapes  # the blocks are there...
    biggest = max(int(np.prod(s)) for s in shapes if ds not in s and dt not in s)
    assert biggest <= n * chunk  # ...and nothing larger, except the [D, V] weights


@pytest.mark.parametrize("which", ["log_probs", "kl", "jsd"])
def test_compiled_temporary_memory_is_at_most_5_percent_of_naive(which):
    """value_and_grad with respect to the (student's) hidden states and weight at N=8192,
    D=1024, V=131072 in bfloat16: compiled, not run."""
    n, d, v = 8192, 1024, 131072
    h = jax.ShapeDtypeStruct((n, d), jnp.bfloat16)
    w = jax.ShapeDtypeStruct((d, v), jnp.bfloat16)
    y = jax.ShapeDtypeStruct((n,), jnp.int32)

    def temp(f, *specs):
        grad = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))
        analysis = grad.lower(*specs).compile().memory_analysis()
        if analysis is None:
            pytest.skip("no memory analysis on this backend")
        return analysis.temp_size_in_bytes

    if which == "log_probs":
        fused = temp(lambda h, w, y: jnp.sum(LP(h, w, y)), h, w, y)
        naive = temp(lambda h, w, y: jnp.sum(_naive_log_probs(h, w, y)[0]), h, w, y)
    else:
        kind = "forward" if which == "kl" else "jsd"
        fused = temp(lambda a, b, c, d: _fused_divergence(kind, a, b, c, d), h, w, h, w)
        naive = temp(lambda a, b, c, d: _naive_divergence(kind, a, b, c, d), h, w, h, w)
    assert fused <= 0.05 * naive, (fused / 2**20, naive / 2**20)


# -- errors ----------------------------------------------------------------------------


def test_errors():
    rng = np.random.default_rng(14)
    h, w, b = _head(rng, DS)
    ht, wt, _ = _head(rng, DT)
    y = _labels(rng)
    with pytest.raises(ValueError, match=r"linear_log_probs: argument 'labels' must have the"):
        LP(h, w, y[:3])
    with pytest.raises(ValueError, match=r"linear_log_probs: arguments 'hidden' and 'weight'"):
        LP(h, w.T, y)
    with pytest.raises(TypeError, match=r"linear_log_probs: argument 'labels'"):
        LP(h, w, y.astype(jnp.float32))
    with pytest.raises(ValueError, match=r"linear_log_probs: argument 'temperature' must be"):
        LP(h, w, y, temperature=0.0)
    with pytest.raises(ValueError, match=r"linear_log_probs: argument 'chunk_size' must be >= 1"):
        LP(h, w, y, chunk_size=0)
    with pytest.raises(ValueError, match=r"argument 'direction' must be 'forward' or 'reverse'"):
        KL(h, w, ht, wt, direction="backward")
    with pytest.raises(ValueError, match=r"'student_weight' and 'teacher_weight' must have the"):
        KL(h, w, ht, wt[:, :5])
    with pytest.raises(ValueError, match=r"'student_hidden' and 'teacher_hidden' must have the"):
        JSD(h, w, ht[:4], wt)
    with pytest.raises(ValueError, match=r"linear_jensen_shannon_divergence: argument 'beta'"):
        JSD(h, w, ht, wt, beta=1.5)
    with pytest.raises(ValueError, match=r"argument 'teacher_bias' must have shape \(23,\)"):
        JSD(h, w, ht, wt, teacher_bias=b[:4])
    with pytest.raises(TypeError, match=r"argument 'teacher_gradient' must be a Python bool"):
        KL(h, w, ht, wt, teacher_gradient=1)
    with pytest.raises(ValueError, match=r"linear_kl_divergence: argument 'labels' must have"):
        KL(h, w, ht, wt, y[:2])
