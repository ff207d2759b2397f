"""Sharded execution on 8 virtual CPU devices (tests/conftest.py sets the XLA flag).

(a) The vocabulary-parallel fused cross-entropy under ``jax.shard_map`` equals the
unsharded loss in value and in the gradients with respect to ``hidden``, ``weight`` and
``bias``, and communicates only ``[tokens]``-sized vectors.
(b) Every registered loss gives the same result on inputs sharded over the batch
(``NamedSharding``, ``P('batch')`` on the batch axis) as on unsharded inputs.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxloss
from tests.cases import all_cases

FN = jaxloss.linear_softmax_cross_entropy_with_integer_labels


def test_eight_devices():
    assert jax.device_count() == 8


# -- (a) vocabulary-parallel fused cross-entropy ------------------------------------

N, D, V = 6, 5, 8 * 7  # 7 vocabulary columns per device


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    h = jnp.asarray(rng.normal(size=(N, D)).astype(np.float32))
    w = jnp.asarray((rng.normal(size=(D, V)) / np.sqrt(D)).astype(np.float32))
    b = jnp.asarray((0.5 * rng.normal(size=(V,))).astype(np.float32))
    y = rng.integers(0, V, size=(N,)).astype(np.int32)
    y[0] = V - 1  # a label on the last shard
    y[1] = 3  # and one ignored below
    return h, w, b, jnp.asarray(y)


OPTIONS = [
    {},
    {
        "chunk_size": 3,
        "label_smoothing": 0.1,
        "z_loss": 0.02,
        "logit_soft_cap": 2.0,
        "ignore_index": 3,
    },
]


def _vocab_parallel(check_vma=True, **options):
    mesh = Mesh(np.array(jax.devices()), ("vocab",))

    def local(h, w, b, y, where, weights):
        return FN(h, w, y, bias=b, axis_name="vocab", where=where, weights=weights, **options)

    return jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(P(), P(None, "vocab"), P("vocab"), P(), P(), P()),
        out_specs=P(),
        check_vma=check_vma,
    )


def _assert_same_value_and_grads(f_sharded, f_ref, h, w, b, outputs=(None, None)):
    """The jitted sharded loss and the unsharded reference agree in value and in the
    gradients with respect to hidden, weight and bias, and in ``outputs``, a (sharded,
    reference) pair of functions of them evaluated in the same compiled program."""

    def program(f, out):
        def value_grads_and_output(h, w, b):
            vg = jax.value_and_grad(f, argnums=(0, 1, 2))(h, w, b)
            return vg, None if out is None else out(h, w, b)

        return jax.jit(value_grads_and_output)

    (v1, g1), o1 = program(f_sharded, outputs[0])(h, w, b)
    (v2, g2), o2 = program(f_ref, outputs[1])(h, w, b)
    np.testing.assert_allclose(v1, v2, rtol=1e-5, atol=1e-6)
    for a, c in zip(g1, g2):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)
    if o1 is not None or o2 is not None:
        np.testing.assert_allclose(o1, o2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("check_vma", [True, False])
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_vocab_parallel_equals_unsharded(options, check_vma, reduction):
    h, w, b, y = _inputs()
    rng = np.random.default_rng(1)
    where = jnp.asarray(rng.random(N) < 0.8).at[0].set(True)
    weights = jnp.asarray(rng.uniform(0.5, 2.0, size=N).astype(np.float32))
    opts = dict(options, reduction=reduction)
    sharded = _vocab_parallel(check_vma, **opts)

    def out_sharded(h, w, b):
        return sharded(h, w, b, y, where, weights)

    def out_ref(h, w, b):
        return FN(h, w, y, bias=b, where=where, weights=weights, **opts)

    # The summed loss in value and gradients, and the (plain, not differentiated) output.
    _assert_same_value_and_grads(
        lambda *a: jnp.sum(out_sharded(*a)),
        lambda *a: jnp.sum(out_ref(*a)),
        h,
        w,
        b,
        outputs=(out_sharded, out_ref),
    )


def test_vocab_parallel_hyperparameter_gradients():
    h, w, b, y = _inputs(seed=2)
    mesh = Mesh(np.array(jax.devices()), ("vocab",))

    def local(h, w, b, ls, z, cap):
        return FN(
            h,
            w,
            y,
            bias=b,
            axis_name="vocab",
            chunk_size=4,
            label_smoothing=ls,
            z_loss=z,
            logit_soft_cap=cap,
        )

    sharded = jax.shard_map(
        local, mesh=mesh, in_specs=(P(), P(None, "vocab"), P("vocab"), P(), P(), P()), out_specs=P()
    )
    hyper = (jnp.float32(0.1), jnp.float32(0.01), jnp.float32(3.0))
    g1 = jax.jit(jax.grad(lambda *a: sharded(h, w, b, *a), argnums=(0, 1, 2)))(*hyper)
    g2 = jax.jit(
        jax.grad(
            lambda ls, z, cap: FN(
                h, w, y, bias=b, label_smoothing=ls, z_loss=z, logit_soft_cap=cap
            ),
            argnums=(0, 1, 2),
        )
    )(*hyper)
    for a, c in zip(g1, g2):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("check_vma", [True, False])
def test_vocab_parallel_with_data_parallel_tokens(check_vma):
    """A 2 x 4 mesh: tokens sharded over 'data', the vocabulary over 'vocab'."""
    h, w, b, y = _inputs(seed=3)
    h = jnp.concatenate([h, h[::-1]])  # 12 tokens, 6 per data shard
    y = jnp.concatenate([y, y[::-1]])
    mesh = Mesh(np.array(jax.devices()).reshape(2, 4), ("data", "vocab"))

    def local(h, w, b, y):
        return FN(
            h, w, y, bias=b, axis_name="vocab", chunk_size=5, label_smoothing=0.1, reduction="none"
        )

    sharded = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(P("data"), P(None, "vocab"), P("vocab"), P("data")),
        out_specs=P("data"),
        check_vma=check_vma,
    )
    f1 = lambda h, w, b: jnp.mean(sharded(h, w, b, y))
    f2 = lambda h, w, b: FN(h, w, y, bias=b, label_smoothing=0.1)
    _assert_same_value_and_grads(f1, f2, h, w, b)


def test_vocab_parallel_communicates_only_token_vectors():
    h, w, b, y = _inputs(seed=4)
    rng = np.random.default_rng(5)
    where = jnp.ones(N, bool)
    weights = jnp.asarray(rng.uniform(0.5, 2.0, size=N).astype(np.float32))
    sharded = _vocab_parallel(**OPTIONS[1])
    f = jax.jit(
        jax.value_and_grad(lambda h, w, b: sharded(h, w, b, y, where, weights), argnums=(0, 1, 2))
    )
    hlo = f.lower(h, w, b).as_text()
    assert "all_gather" not in hlo and "all-gather" not in hlo
    reduced = re.findall(r"stablehlo\.all_reduce.*?->\s*(tensor<[^>]*>)", hlo, flags=re.S)
    assert reduced, "expected the psum/pmax of the statistics"
    allowed = {f"tensor<{N}xf32>", "tensor<f32>", f"tensor<{N}x{D}xf32>"}
    assert set(reduced) <= allowed, set(reduced)
    # Exactly one [N, D] reduction: the hidden-state cotangent, summed once.
    assert reduced.count(f"tensor<{N}x{D}xf32>") == 1


def test_vocab_parallel_out_of_range_label_is_nan():
    h, w, b, y = _inputs(seed=6)
    y = y.at[2].set(V)  # one past the last shard
    sharded = _vocab_parallel(reduction="none")
    out = np.asarray(sharded(h, w, b, y, jnp.ones(N, bool), jnp.ones(N, jnp.float32)))
    assert np.isnan(out[2]) and np.all(np.isfinite(np.delete(out, 2)))


# -- (b) every registered loss on batch-sharded inputs --------------------------------

CASES = all_cases()
BATCH = (8, 2)


def _shard(args, axes, mesh):
    out = []
    for a, ax in zip(args, axes):
        if not isinstance(a, np.ndarray):
            out.append(a)
            continue
        if ax is None:
            spec = P()
        else:
            spec = P(*([None] * ax + ["batch"]))
        # Straight from the host array: no resharding program to compile.
        out.append(jax.device_put(a, NamedSharding(mesh, spec)))
    return tuple(out)


@pytest.mark.parametrize("name", jaxloss.names())
def test_batch_sharded_equals_unsharded(name):
    case = CASES[name]
    args, kwargs = case.make(np.random.default_rng(0), BATCH)
    axes = case.batch_axes or (0,) * len(args)
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    plain = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
    sharded = _shard(args, axes, mesh)
    fn = getattr(jaxloss, name)
    i = case.diff[0]

    def values_and_grad(*a):
        """The "none" and "mean" values and the gradient of the default reduction by
        argument ``i``, from one compiled program per input set."""

        def loss(x):
            b = list(a)
            b[i] = x
            return fn(*b, **kwargs)

        return (
            fn(*a, **kwargs, reduction="none"),
            fn(*a, **kwargs, reduction="mean"),
            jax.grad(loss)(a[i]),
        )

    f = jax.jit(values_and_grad)
    tol = dict(rtol=2e-5, atol=1e-6)
    for got, want in zip(f(*sharded), f(*plain), strict=True):
        np.testing.assert_allclose(got, want, **tol)


def test_fused_loss_per_data_shard_without_axis_name():
    """Inside shard_map over the tokens only: every device has the whole vocabulary."""
    h, w, b, y = _inputs(seed=7)
    h = jnp.concatenate([h, h[::-1]] * 4)[: 8 * 3]
    y = jnp.concatenate([y, y[::-1]] * 4)[: 8 * 3]
    mesh = Mesh(np.array(jax.devices()), ("data",))

    def local(h, w, b, y):
        return FN(h, w, y, bias=b, chunk_size=9, z_loss=0.01, reduction="none")

    sharded = jax.shard_map(
        local, mesh=mesh, in_specs=(P("data"), P(), P(), P("data")), out_specs=P("data")
    )
    f1 = lambda h, w, b: jnp.mean(sharded(h, w, b, y))
    f2 = lambda h, w, b: FN(h, w, y, bias=b, z_loss=0.01)
    _assert_same_value_and_grads(f1, f2, h, w, b)
