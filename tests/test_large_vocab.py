"""Large-vocabulary fused linear cross-entropy: reference, naive parity, gradients, memory.

The fused loss must equal materializing ``logits = hidden @ weight + bias`` (soft-capped)
and calling ``jaxloss.softmax_cross_entropy_with_integer_labels`` with the same options,
in value and in the gradients with respect to ``hidden``, ``weight`` and ``bias``, for
every option, and never build a ``[tokens, V]`` array. The vocabulary-parallel form
(``axis_name``) is tested in tests/test_sharding.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxloss
from jaxloss._large_vocab import default_chunk_size
from tests.grads import check_grads

FN = jaxloss.linear_softmax_cross_entropy_with_integer_labels
NAME = "linear_softmax_cross_entropy_with_integer_labels"

BATCH = (3, 4)
D = 8
V = 37  # prime: no chunk size other than 1 and V divides it


def _inputs(seed=0, batch=BATCH, d=D, v=V, scale=1.0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    h = (rng.normal(size=batch + (d,)) * scale).astype(dtype)
    w = (rng.normal(size=(d, v)) / np.sqrt(d)).astype(dtype)
    b = (0.5 * rng.normal(size=(v,))).astype(dtype)
    y = rng.integers(0, v, size=batch).astype(np.int32)
    return jnp.asarray(h), jnp.asarray(w), jnp.asarray(b), jnp.asarray(y)


def naive(hidden, weight, labels, *, bias=None, logit_soft_cap=None, chunk_size=None, **options):
    """The materialized computation the fused loss must equal."""
    del chunk_size
    logits = jnp.matmul(hidden, weight, preferred_element_type=jnp.float32)
    if hidden.dtype == jnp.float64:
        logits = jnp.matmul(hidden, weight)
    if bias is not None:
        logits = logits + bias
    if logit_soft_cap is not None:
        logits = logit_soft_cap * jnp.tanh(logits / logit_soft_cap)
    return jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels, **options)


# -- independent float64 NumPy reference -------------------------------------


def ref_linear_ce(h, w, y, b=None, ls=0.0, z=0.0, cap=None, ignore_index=None):
    """Per-token values from the formula, in float64 (0 for ignored tokens)."""
    h = np.asarray(h, np.float64).reshape(-1, np.shape(h)[-1])
    x = h @ np.asarray(w, np.float64)
    if b is not None:
        x = x + np.asarray(b, np.float64)
    if cap is not None:
        x = cap * np.tanh(x / cap)
    y = np.asarray(y).reshape(-1)
    v = x.shape[1]
    out = []
    for i in range(x.shape[0]):
        if ignore_index is not None and y[i] == ignore_index:
            out.append(0.0)
            continue
        if not 0 <= y[i] < v:
            out.append(np.nan)
            continue
        m = x[i].max()
        lse = m + np.log(np.sum(np.exp(x[i] - m)))
        logp = x[i] - lse
        out.append(-(1 - ls) * logp[y[i]] - ls * logp.mean() + z * lse**2)
    return np.array(out)


@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"label_smoothing": 0.1},
        {"z_loss": 1e-2},
        {"logit_soft_cap": 1.5},
        {"label_smoothing": 0.2, "z_loss": 0.1, "logit_soft_cap": 2.0},
    ],
)
@pytest.mark.parametrize("chunk_size", [None, 1, 5, 16, 37, 100])
def test_matches_float64_reference(opts, chunk_size):
    h, w, b, y = _inputs()
    out = FN(h, w, y, bias=b, chunk_size=chunk_size, reduction="none", **opts)
    ref = ref_linear_ce(
        h,
        w,
        y,
        b,
        opts.get("label_smoothing", 0.0),
        opts.get("z_loss", 0.0),
        opts.get("logit_soft_cap"),
    )
    assert out.shape == BATCH and out.dtype == jnp.float32
    np.testing.assert_allclose(out, ref.reshape(BATCH), rtol=1e-5, atol=1e-6)


# -- equality with the materialized computation, value and all three gradients ------

OPTION_SETS = [
    {},
    {"ignore_index": 3},
    {"label_smoothing": 0.15},
    {"z_loss": 0.02},
    {"logit_soft_cap": 1.5},
    {"ignore_index": 3, "label_smoothing": 0.1, "z_loss": 0.05, "logit_soft_cap": 2.5},
]


def _value_and_grads(fn, h, w, b, y, **kwargs):
    use_bias = b is not None

    def loss(h, w, b):
        return fn(h, w, y, bias=b if use_bias else None, **kwargs)

    return jax.value_and_grad(loss, argnums=(0, 1, 2))(h, w, b if use_bias else jnp.zeros(()))


def _jit_value_and_grads(fn, h, w, b, y, **kwargs):
    """``_value_and_grads`` as one jitted program: forward and backward compiled together."""
    return jax.jit(lambda h, w, b, y: _value_and_grads(fn, h, w, b, y, **kwargs))(h, w, b, y)


def _assert_same(fused, ref, rtol=1e-5, atol=1e-6):
    (v1, g1), (v2, g2) = fused, ref
    np.testing.assert_allclose(v1, v2, rtol=rtol, atol=atol)
    for a, c in zip(g1, g2):
        assert a.dtype == c.dtype
        np.testing.assert_allclose(a, c, rtol=rtol, atol=atol)


# chunk_size None resolves to one block of all 37 columns (the program chunk_size=37
# compiles too); 4 splits them into 9 blocks and a remainder of 1 (as 6 would: 6 blocks
# and 1).
@pytest.mark.parametrize("opts", OPTION_SETS)
@pytest.mark.parametrize("chunk_size", [None, 4])
@pytest.mark.parametrize("bias", [True, False])
def test_equals_naive_value_and_gradients(opts, chunk_size, bias):
    h, w, b, y = _inputs(seed=1)
    y = y.at[0, 0].set(3)  # a token with the ignored label for ignore_index=3
    b = b if bias else None
    # One program per option set (eagerly, the fused loss's forward and backward compile
    # apart); the naive reference stays eager: its kernels are shared by the chunk sizes.
    fused = _jit_value_and_grads(FN, h, w, b, y, chunk_size=chunk_size, **opts)
    _assert_same(fused, _value_and_grads(naive, h, w, b, y, **opts))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_equals_naive_with_where_weights_and_reductions(reduction):
    h, w, b, y = _inputs(seed=2)
    rng = np.random.default_rng(3)
    where = jnp.asarray(rng.random(BATCH) < 0.7)
    weights = jnp.asarray(rng.uniform(0.1, 2.0, size=BATCH).astype(np.float32))
    opts = dict(
        reduction=reduction,
        where=where,
        weights=weights,
        ignore_index=5,
        label_smoothing=0.1,
        z_loss=0.01,
        logit_soft_cap=3.0,
    )

    def total(fn):
        return lambda *a, **k: jnp.sum(fn(*a, **k))

    fused = _jit_value_and_grads(total(FN), h, w, b, y, chunk_size=8, **opts)
    _assert_same(fused, _value_and_grads(total(naive), h, w, b, y, **opts))
    out = FN(h, w, y, bias=b, chunk_size=8, **opts)
    np.testing.assert_allclose(out, naive(h, w, y, bias=b, **opts), rtol=1e-5, atol=1e-6)


def test_where_broadcasts_over_tokens():
    h, w, _, y = _inputs(seed=4)
    where = jnp.array([True, False, True, True])  # broadcast over the leading axis
    np.testing.assert_allclose(
        FN(h, w, y, where=where, chunk_size=10), naive(h, w, y, where=where), rtol=1e-5
    )


def test_jit_matches_eager():
    h, w, b, y = _inputs(seed=5)
    f = lambda h, w, b: FN(h, w, y, bias=b, chunk_size=7, label_smoothing=0.1, reduction="none")
    np.testing.assert_allclose(jax.jit(f)(h, w, b), f(h, w, b), rtol=1e-6, atol=1e-7)


def test_one_dimensional_hidden_is_one_token():
    h, w, b, y = _inputs(seed=6, batch=())
    out = FN(h, w, y, bias=b, chunk_size=5, reduction="none")
    assert out.shape == ()
    np.testing.assert_allclose(out, ref_linear_ce(h, w, y, b)[0], rtol=1e-5)


def test_vmap_over_tokens():
    h, w, b, y = _inputs(seed=7)
    f = lambda h, y: FN(h, w, y, bias=b, chunk_size=6, reduction="none")
    np.testing.assert_allclose(jax.vmap(f)(h, y), f(h, y), rtol=1e-6, atol=1e-7)


def test_large_logits_are_stable():
    h, w, b, y = _inputs(seed=8, scale=300.0)
    out = FN(h, w, y, bias=b, chunk_size=6, reduction="none", z_loss=1e-4)
    ref = ref_linear_ce(h, w, y, b, z=1e-4)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, ref.reshape(BATCH), rtol=1e-5, atol=1e-3)
    g = jax.grad(lambda h: FN(h, w, y, bias=b, chunk_size=6))(h)
    assert np.all(np.isfinite(g))


# -- half precision and float64 ---------------------------------------------------


def test_bfloat16_inputs_accumulate_in_float32():
    h, w, b, y = _inputs(seed=9, d=64, v=300)
    hb, wb, bb = h.astype(jnp.bfloat16), w.astype(jnp.bfloat16), b.astype(jnp.bfloat16)
    opts = dict(label_smoothing=0.1, z_loss=0.01, logit_soft_cap=4.0, chunk_size=64)
    out = FN(hb, wb, y, bias=bb, reduction="none", **opts)
    assert out.dtype == jnp.float32
    # float32 accumulation: equal to float32 arithmetic on the rounded inputs.
    hf, wf, bf = (a.astype(jnp.float32) for a in (hb, wb, bb))
    ref = FN(hf, wf, y, bias=bf, reduction="none", **opts)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        out, ref_linear_ce(hf, wf, y, bf, 0.1, 0.01, 4.0).reshape(BATCH), rtol=1e-5, atol=1e-5
    )
    grad = jax.grad(lambda h, w, b: FN(h, w, y, bias=b, **opts), argnums=(0, 1, 2))
    # Both gradients in one program.
    grads, ref_grads = jax.jit(lambda a, c: (grad(*a), grad(*c)))((hb, wb, bb), (hf, wf, bf))
    for g, r, x in zip(grads, ref_grads, (hb, wb, bb)):
        assert g.dtype == x.dtype == jnp.bfloat16
        scale = float(np.max(np.abs(r)))  # in NumPy (exact): no small kernels to compile
        np.testing.assert_allclose(np.asarray(g, np.float32), r, rtol=2e-2, atol=2e-2 * scale)


def test_mixed_dtypes_give_gradients_in_each_dtype():
    h, w, b, y = _inputs(seed=10)
    grads = jax.grad(lambda h, w, b: FN(h, w, y, bias=b, chunk_size=8), argnums=(0, 1, 2))(
        h, w.astype(jnp.bfloat16), b.astype(jnp.float16)
    )
    assert [g.dtype for g in grads] == [jnp.float32, jnp.bfloat16, jnp.float16]


def test_float64_stays_float64_and_gradients_check():
    with jax.enable_x64(True):
        h, w, b, y = (
            jnp.asarray(a, jnp.float64) if a.dtype != jnp.int32 else a
            for a in _inputs(seed=11, batch=(5,), d=4, v=9)
        )
        assert FN(h, w, y, bias=b).dtype == jnp.float64
        f = jax.jit(
            lambda h, w, b: FN(
                h, w, y, bias=b, chunk_size=4, label_smoothing=0.1, z_loss=0.05, logit_soft_cap=2.0
            )
        )
        check_grads(f, (h, w, b), order=2, modes=["rev"], eps=1e-4)
        f_plain = jax.jit(lambda h, w: FN(h, w, y, chunk_size=2))
        check_grads(f_plain, (h, w), order=1, modes=["rev"], eps=1e-4)


def test_hyperparameter_gradients_match_naive():
    h, w, b, y = _inputs(seed=12)

    def grads(fn, **static):
        def loss(ls, z, cap):
            return fn(h, w, y, bias=b, label_smoothing=ls, z_loss=z, logit_soft_cap=cap, **static)

        # jit: one program (the naive loss would otherwise be differentiated op by op).
        return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(0.1, 0.02, 2.0)

    for a, c in zip(grads(FN, chunk_size=6), grads(naive)):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


def test_traced_hyperparameters_do_not_recompile():
    h, w, b, y = _inputs(seed=13)
    traces = []

    @jax.jit
    def f(ls, cap):
        traces.append(1)
        return FN(h, w, y, bias=b, label_smoothing=ls, logit_soft_cap=cap, chunk_size=9)

    for ls, cap in [(0.1, 2.0), (0.2, 3.0)]:
        np.testing.assert_allclose(
            f(jnp.float32(ls), jnp.float32(cap)),
            naive(h, w, y, bias=b, label_smoothing=ls, logit_soft_cap=cap),
            rtol=1e-5,
        )
    assert len(traces) == 1


# -- labels, masks and edge cases -------------------------------------------------


def test_out_of_range_labels_give_nan_for_that_token_only():
    h, w, b, y = _inputs(seed=14)
    y = y.at[1, 2].set(V).at[2, 0].set(-1)
    out = np.asarray(FN(h, w, y, bias=b, chunk_size=5, reduction="none"))
    bad = np.zeros(BATCH, bool)
    bad[1, 2] = bad[2, 0] = True
    assert np.all(np.isnan(out[bad])) and np.all(np.isfinite(out[~bad]))
    assert np.isnan(FN(h, w, y, bias=b))
    g = jax.grad(lambda h: FN(h, w, y, where=jnp.asarray(~bad), chunk_size=5))(h)
    assert np.all(np.isfinite(g))


def test_checked_names_the_offending_label():
    h, w, _, y = _inputs(seed=15)
    y = y.at[2, 1].set(99)
    f = jaxloss.checked(FN)
    with pytest.raises(Exception, match=rf"{NAME}: label out of range \[0, {V}\)"):
        f(h, w, y)


def test_ignore_index_excluded_from_the_mean():
    h, w, b, y = _inputs(seed=16)
    y = y.at[0, :].set(-100)
    vals = ref_linear_ce(h, w, y, b, ignore_index=-100)
    keep = np.asarray(y).reshape(-1) != -100
    out = FN(h, w, y, bias=b, ignore_index=-100, chunk_size=8)
    np.testing.assert_allclose(out, vals[keep].mean(), rtol=1e-5)
    g = jax.grad(lambda h: FN(h, w, y, bias=b, ignore_index=-100, chunk_size=8))(h)
    assert np.all(np.asarray(g)[0] == 0)


def test_masked_and_ignored_tokens_get_exact_zero_gradient_even_when_nonfinite():
    h, w, b, y = _inputs(seed=17)
    where = np.ones(BATCH, bool)
    where[1, 1] = False
    y = y.at[2, 3].set(-100)
    poisoned = h.at[1, 1].set(jnp.inf).at[1, 1, 0].set(jnp.nan).at[2, 3].set(jnp.nan)

    def loss(h, w, b):
        return FN(
            h,
            w,
            y,
            bias=b,
            where=where,
            ignore_index=-100,
            chunk_size=6,
            label_smoothing=0.1,
            z_loss=0.01,
            logit_soft_cap=3.0,
        )

    np.testing.assert_allclose(loss(poisoned, w, b), loss(h, w, b), rtol=1e-6)
    gh, gw, gb = jax.grad(loss, argnums=(0, 1, 2))(poisoned, w, b)
    for g in (gh, gw, gb):
        assert np.all(np.isfinite(g))
    assert np.all(np.asarray(gh)[1, 1] == 0) and np.all(np.asarray(gh)[2, 3] == 0)
    ref = jax.grad(loss, argnums=(0, 1, 2))(h, w, b)
    for g, r in zip((gh, gw, gb), ref):
        np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-7)


def test_fully_masked_and_empty_give_zero():
    h, w, b, y = _inputs(seed=18)
    none = jnp.zeros(BATCH, bool)
    assert float(FN(h, w, y, where=none)) == 0.0
    g = jax.grad(lambda h, w: FN(h, w, y, where=none), argnums=(0, 1))(h, w)
    assert all(np.all(x == 0) for x in g)
    h0, w0, b0, y0 = _inputs(seed=18, batch=(0,))
    assert float(FN(h0, w0, y0, bias=b0)) == 0.0
    assert FN(h0, w0, y0, reduction="none").shape == (0,)


@jax.jit
def _smoothed_none(h, w, y, b):
    return FN(h, w, y, bias=b, chunk_size=4, reduction="none", label_smoothing=0.1)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(shift=st.floats(-50.0, 50.0), seed=st.integers(0, 2**16))
def test_property_bias_shift_invariance_and_nonnegativity(shift, seed):
    h, w, b, y = _inputs(seed=seed, batch=(5,), v=13)
    out = _smoothed_none(h, w, y, b)
    shifted = _smoothed_none(h, w, y, b + shift)
    assert np.all(np.asarray(out) >= 0)
    np.testing.assert_allclose(out, shifted, rtol=1e-4, atol=1e-4)


# -- no [tokens, V] array -------------------------------------------------------------


def _inner_jaxprs(value):
    if isinstance(value, tuple | list):
        for v in value:
            yield from _inner_jaxprs(v)
    elif hasattr(value, "eqns"):
        yield value
    elif hasattr(getattr(value, "jaxpr", None), "eqns"):
        yield value.jaxpr


def _all_shapes(jaxpr):
    """Shapes of every value computed in ``jaxpr`` and in the jaxprs nested in it."""
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:
            yield tuple(getattr(v.aval, "shape", ()))
        for value in eqn.params.values():
            for inner in _inner_jaxprs(value):
                yield from _all_shapes(inner)


@pytest.mark.parametrize("weighted", [False, True])
def test_no_tokens_by_vocab_array_in_forward_or_backward(weighted):
    n, d, v, chunk = 64, 24, 1000, 128
    h, w, b, y = _inputs(seed=19, batch=(n,), d=d, v=v)
    cw = jnp.linspace(0.5, 2.0, v) if weighted else None
    opts = dict(
        class_weights=cw, chunk_size=chunk, label_smoothing=0.1, z_loss=0.01, logit_soft_cap=5.0
    )
    f = jax.value_and_grad(lambda h, w, b: FN(h, w, y, bias=b, **opts), argnums=(0, 1, 2))
    shapes = set(_all_shapes(jax.make_jaxpr(f)(h, w, b).jaxpr))
    assert (n, chunk) in shapes  # the blocks are there...
    biggest = max(int(np.prod(s)) for s in shapes if d not in s)
    assert biggest <= n * chunk  # ...and nothing larger than a block, except [D, V]-sized


def test_compiled_temporary_memory_is_a_fraction_of_the_logits():
    n, d, v = 512, 32, 8192
    h = jax.ShapeDtypeStruct((n, d), jnp.float32)
    w = jax.ShapeDtypeStruct((d, v), jnp.float32)
    y = jax.ShapeDtypeStruct((n,), jnp.int32)

    def temp(fn):
        f = jax.jit(jax.value_and_grad(lambda h, w, y: fn(h, w, y), argnums=(0, 1)))
        analysis = f.lower(h, w, y).compile().memory_analysis()
        if analysis is None:
            pytest.skip("no memory analysis on this backend")
        return analysis.temp_size_in_bytes

    logits_bytes = n * v * 4
    fused = temp(lambda h, w, y: FN(h, w, y, chunk_size=512))
    assert fused < logits_bytes / 4
    assert fused < temp(naive) / 10


def test_default_chunk_size():
    assert default_chunk_size(4, 50) == 50  # small: one block
    for platform, block in (("cpu", 8 * 2**20), ("gpu", 16 * 2**20), ("tpu", 16 * 2**20)):
        c = default_chunk_size(8192, 131072, platform)
        assert c % 128 == 0 and 131072 % c == 0 and block // 2 < 8192 * c * 4 <= block
        assert default_chunk_size(10**7, 50_000, platform) == 128  # at least 128 columns
        c = default_chunk_size(1000, 50_257, platform)  # GPT-2: no divisor, a remainder block
        assert c % 128 == 0 and c * 1000 * 4 <= block and 50_257 % c
        assert default_chunk_size(0, 1000, platform) == 1000
    assert default_chunk_size(8192, 131072) == default_chunk_size(
        8192, 131072, jax.default_backend()
    )


# -- registry and errors --------------------------------------------------------------


def test_bound_options_match_a_direct_call():
    h, w, _, y = _inputs(seed=20)
    loss = jaxloss.get(NAME, chunk_size=8, label_smoothing=0.1)
    np.testing.assert_allclose(loss(h, w, y), FN(h, w, y, chunk_size=8, label_smoothing=0.1))


def test_errors():
    h, w, b, y = _inputs(seed=21)
    with pytest.raises(ValueError, match=rf"{NAME}: arguments 'hidden' and 'weight' must agree"):
        FN(h, w[:-1], y)
    with pytest.raises(ValueError, match=rf"{NAME}: argument 'weight' must have shape \[D, V\]"):
        FN(h, w[None], y)
    with pytest.raises(ValueError, match=rf"{NAME}: argument 'labels' must have the shape"):
        FN(h, w, y[:, :2])
    with pytest.raises(ValueError, match=rf"{NAME}: argument 'bias' must have shape \({V},\)"):
        FN(h, w, y, bias=b[:-1])
    with pytest.raises(ValueError, match="'hidden' must have shape"):
        FN(h[0, 0, 0], w, y)
    with pytest.raises(ValueError, match="'weight' must have at least one column"):
        FN(h, w[:, :0], y)
    with pytest.raises(TypeError, match=rf"{NAME}: argument 'labels' must have an integer"):
        FN(h, w, y.astype(jnp.float32))
    with pytest.raises(TypeError, match=rf"{NAME}: argument 'hidden' must have a floating"):
        FN(y[..., None], w[:1], y)
    with pytest.raises(TypeError, match=rf"{NAME}: argument 'weight' must have a floating"):
        FN(h, jnp.ones((D, V), jnp.int32), y)
    with pytest.raises(TypeError, match="'chunk_size' must be a Python int"):
        FN(h, w, y, chunk_size=4.0)
    with pytest.raises(ValueError, match="'chunk_size' must be >= 1, got 0"):
        FN(h, w, y, chunk_size=0)
    with pytest.raises(TypeError, match="'ignore_index' must be a Python int"):
        FN(h, w, y, ignore_index=1.5)
    with pytest.raises(ValueError, match=r"'label_smoothing' must be in \[0.0, 1.0\)"):
        FN(h, w, y, label_smoothing=1.0)
    with pytest.raises(ValueError, match="'z_loss' must be >= 0.0"):
        FN(h, w, y, z_loss=-1.0)
    with pytest.raises(ValueError, match="'logit_soft_cap' must be > 0.0"):
        FN(h, w, y, logit_soft_cap=0.0)
    with pytest.raises(ValueError, match=rf"{NAME}: argument 'reduction' must be one of"):
        FN(h, w, y, reduction="avg")
    with pytest.raises(ValueError, match="'where'.*broadcastable"):
        FN(h, w, y, where=np.ones((7,), bool))
    with pytest.raises(TypeError, match="'where' must be a boolean mask"):
        FN(h, w, y, where=np.ones(BATCH, np.float32))


# -- class weights (PyTorch's weight=) ----------------------------------------------


def ref_weighted_mean_and_grads(
    h, w, y, b, cw, label_smoothing=0.0, z_loss=0.0, logit_soft_cap=None, ignore_index=None
):
    """The class-weighted "mean" and its gradients w.r.t. (hidden, weight, bias,
    class_weights), in float64 from the formula:

    l_n = (1 - a) w_y (lse - x_y) + (a / V) sum_c w_c (lse - x_c) + z lse^2, and
    mean = sum_n l_n / sum_n w_{y_n} over the tokens that are not ignored.
    """
    ls, z, cap = label_smoothing, z_loss, logit_soft_cap
    shape = np.shape(h)
    h = np.asarray(h, np.float64).reshape(-1, shape[-1])
    w, b, cw = (np.asarray(a, np.float64) for a in (w, b, cw))
    y = np.asarray(y).reshape(-1)
    raw = h @ w + b
    t = None if cap is None else np.tanh(raw / cap)
    x = raw if cap is None else cap * t
    n, v = x.shape
    counted = np.ones(n, bool) if ignore_index is None else y != ignore_index
    total, dx, dcw, denom = 0.0, np.zeros_like(x), np.zeros(v), 0.0
    for i in np.flatnonzero(counted):
        m = x[i].max()
        lse = m + np.log(np.sum(np.exp(x[i] - m)))
        p = np.exp(x[i] - lse)
        wy = cw[y[i]]
        total += (1 - ls) * wy * (lse - x[i, y[i]]) + ls / v * np.sum(cw * (lse - x[i]))
        total += z * lse**2
        denom += wy
        dx[i] = ((1 - ls) * wy + ls / v * cw.sum() + 2 * z * lse) * p - ls / v * cw
        dx[i, y[i]] -= (1 - ls) * wy
        dcw += ls / v * (lse - x[i])
        dcw[y[i]] += (1 - ls) * (lse - x[i, y[i]])
    mean = total / denom
    for i in np.flatnonzero(counted):  # the denominator's derivative
        dcw[y[i]] -= mean
    dx, dcw = dx / denom, dcw / denom
    draw = dx if cap is None else dx * (1 - t * t)
    return mean, ((draw @ w.T).reshape(shape), h.T @ draw, draw.sum(0), dcw)


# without smoothing (only each label's weight enters) and with every option (the
# weighted sum of the logits too)
CW_OPTIONS = [
    {},
    {"ignore_index": 3, "label_smoothing": 0.1, "z_loss": 0.05, "logit_soft_cap": 2.5},
]


def _class_weights(seed=30, v=V):
    return jnp.asarray(np.random.default_rng(seed).uniform(0.2, 3.0, size=v).astype(np.float32))


_CW = _class_weights()


def _weighted_value_and_grads(fn, h, w, b, y, cw, **kwargs):
    loss = lambda h, w, b, cw: fn(h, w, y, bias=b, class_weights=cw, **kwargs)
    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))(h, w, b, cw)


@pytest.mark.parametrize("opts", CW_OPTIONS)
def test_class_weights_match_float64_reference_and_naive(opts):
    h, w, b, y = _inputs(seed=31)
    y = y.at[0, 0].set(3).at[1, 2].set(3)  # tokens with the ignored label
    cw = _class_weights()
    fused = _weighted_value_and_grads(FN, h, w, b, y, cw, chunk_size=5, **opts)
    ref = ref_weighted_mean_and_grads(h, w, y, b, cw, **opts)
    np.testing.assert_allclose(fused[0], ref[0], rtol=1e-5)
    for g, r in zip(fused[1], ref[1]):
        np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-6)
    if opts:  # the materialized logits, same options: value and all four gradients
        _assert_same(fused, _weighted_value_and_grads(naive, h, w, b, y, cw, **opts))


def test_class_weights_with_where_and_weights_equal_naive():
    # The "mean" divides by sum(weights * where * w_y): the one place where the three
    # meet ("sum" and "none" are the per-token values, compared with PyTorch's).
    h, w, b, y = _inputs(seed=32)
    rng = np.random.default_rng(33)
    where = rng.random(BATCH) < 0.7
    weights = rng.uniform(0.1, 2.0, size=BATCH).astype(np.float32)
    opts = dict(where=where, weights=weights, ignore_index=5, label_smoothing=0.1)
    fused = _weighted_value_and_grads(FN, h, w, b, y, _CW, chunk_size=8, **opts)
    _assert_same(fused, _weighted_value_and_grads(naive, h, w, b, y, _CW, **opts))


def test_class_weights_float64_gradient_check():
    # Finite differences in the class weights (hidden, weight and bias: the reference
    # test above, and the unweighted checks).
    with jax.enable_x64(True):
        h, w, b, y = (
            jnp.asarray(a, jnp.float64) if a.dtype != jnp.int32 else a
            for a in _inputs(seed=35, batch=(5,), d=4, v=9)
        )
        f = lambda cw: FN(
            h, w, y, bias=b, class_weights=cw, chunk_size=5, label_smoothing=0.1, z_loss=0.05
        )
        check_grads(f, (jnp.linspace(0.5, 2.0, 9),), order=1, modes=["rev"], eps=1e-4)


def test_class_weights_of_zero_for_every_label_give_zero():
    # Only class 0's smoothing term is left, and the mean divides by sum w_y = 0: 0 with
    # zero gradient (PyTorch: NaN).
    h, w, b, y = _inputs(seed=36)
    y = jnp.where(y == 0, 1, y)  # class 0, the one with a weight, is nobody's label
    cw = jnp.zeros(V).at[0].set(1.0)
    f = jax.jit(
        jax.value_and_grad(
            lambda h: FN(h, w, y, bias=b, class_weights=cw, chunk_size=6, label_smoothing=0.1)
        )
    )
    value, grad = f(h)
    assert float(value) == 0.0 and np.all(np.asarray(grad) == 0)


def test_class_weights_vocab_parallel_equal_unsharded():
    """``class_weights`` sharded like ``bias``, under ``shard_map`` with ``check_vma`` on and
    off (both in one program): the unsharded value and gradients."""
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    n_dev = len(jax.devices())
    h, w, b, y = _inputs(seed=37, batch=(6,), d=5, v=7 * n_dev)
    y = y.at[0].set(7 * n_dev - 1).at[1].set(3)
    cw = _class_weights(38, 7 * n_dev)
    opts = dict(label_smoothing=0.1, ignore_index=3)

    def sharded(check_vma):
        return jax.shard_map(
            lambda h, w, b, cw: FN(h, w, y, bias=b, class_weights=cw, axis_name="vocab", **opts),
            mesh=Mesh(np.array(jax.devices()), ("vocab",)),
            in_specs=(P(), P(None, "vocab"), P("vocab"), P("vocab")),
            out_specs=P(),
            check_vma=check_vma,
        )

    def both(h, w, y, bias, class_weights):  # 1x the checked + 2x the unchecked form
        return sharded(True)(h, w, bias, class_weights) + 2 * sharded(False)(
            h, w, bias, class_weights
        )

    got = _weighted_value_and_grads(both, h, w, b, y, cw)
    ref = _weighted_value_and_grads(lambda *a, **k: 3 * FN(*a, **k, **opts), h, w, b, y, cw)
    _assert_same(got, ref)


def test_class_weights_errors():
    h, w, _, y = _inputs(seed=39)
    with pytest.raises(
        ValueError, match=rf"{NAME}: argument 'class_weights' must have shape \({V},\)"
    ):
        FN(h, w, y, class_weights=jnp.ones(V + 1))
    with pytest.raises(TypeError, match=rf"{NAME}: argument 'class_weights' must have a real"):
        FN(h, w, y, class_weights=jnp.ones(V, jnp.complex64))
