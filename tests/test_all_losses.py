"""Checks that hold for every registered loss, driven by the factories in tests/cases/.

Each loss gets: a case (so nothing is left untested), eager == jit, vmap equivalence,
the reduction/where/weights algebra, exact zero gradient for masked entries holding
inf/NaN, 0 for fully masked and empty batches, the dtype policy, the errors shared by
every loss (unknown reduction, bad ``where``, mismatched shapes, non-floating data), and
a registry round trip.
"""

import functools
import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.cases import all_cases

CASES = all_cases()
NAMES = jaxloss.names()
BATCH = (3, 4)


def _make(name, batch=BATCH, seed=0):
    args, kwargs = CASES[name].make(np.random.default_rng(seed), batch)
    return tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args), kwargs


def _fn(name):
    return getattr(jaxloss, name)


def test_every_loss_has_a_case():
    assert sorted(set(NAMES) - set(CASES)) == []
    assert sorted(set(CASES) - set(NAMES)) == []


def test_every_name_and_alias_is_exported():
    for name in NAMES:
        assert getattr(jaxloss, name) is jaxloss.info(name).fn
    for alias, canonical in jaxloss.aliases().items():
        assert getattr(jaxloss, alias) is getattr(jaxloss, canonical), alias


@pytest.mark.parametrize("name", NAMES)
def test_none_shape_and_finite(name):
    args, kwargs = _make(name)
    out = _fn(name)(*args, **kwargs, reduction="none")
    assert out.shape == BATCH
    assert out.dtype == jnp.float32  # float32 inputs
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("name", NAMES)
def test_jit_matches_eager(name):
    args, kwargs = _make(name)
    f = lambda *a: _fn(name)(*a, **kwargs, reduction="none")
    np.testing.assert_allclose(jax.jit(f)(*args), f(*args), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_vmap_matches_loop(name):
    case = CASES[name]
    args, kwargs = _make(name)
    axes = case.batch_axes or (0,) * len(args)
    f = lambda *a: _fn(name)(*a, **kwargs, reduction="none")
    batched = jax.vmap(f, in_axes=axes)(*args)
    for i in range(BATCH[0]):
        # NumPy slices: an eager jnp.take would compile a gather per input shape.
        sliced = [
            a if ax is None else np.take(np.asarray(a), i, axis=ax) for a, ax in zip(args, axes)
        ]
        np.testing.assert_allclose(batched[i], f(*sliced), rtol=2e-5, atol=1e-6)


@functools.cache
def _option_outputs(name):
    """One jitted program per loss, shared by the next three tests (one compile for all).

    ``(args, w, m) ->`` the output under each reduction/``where``/``weights`` option set,
    the gradients of the weighted and of the masked mean by the first ``diff`` arg too.
    """
    _, kwargs = _make(name)
    f = functools.partial(_fn(name), **kwargs)
    i = CASES[name].diff[0]

    def value_and_grad(args, **option):
        def loss(v):
            a = list(args)
            a[i] = v
            return f(*a, **option)

        return jax.value_and_grad(loss)(args[i])

    @jax.jit
    def outputs(args, w, m):
        out = dict(
            none=f(*args, reduction="none"),
            sum=f(*args, reduction="sum"),
            mean=f(*args),
            masked_weighted_sum=f(*args, where=m, weights=w, reduction="sum"),
            masked_weighted_none=f(*args, where=m, weights=w, reduction="none"),
        )
        out["weighted"], out["weighted_grad"] = value_and_grad(args, weights=w)
        out["masked"], out["masked_grad"] = value_and_grad(args, where=m)
        if CASES[name].where_drops_examples:
            out["masked_none"] = f(*args, where=m, reduction="none")
        return out

    return outputs


@pytest.mark.parametrize("name", NAMES)
def test_reduction_algebra(name):
    args, _ = _make(name)
    rng = np.random.default_rng(1)
    w = rng.uniform(0.1, 2.0, size=BATCH).astype(np.float32)
    m = rng.random(BATCH) < 0.6
    m[0, 0] = True
    out = _option_outputs(name)(args, w, m)
    values = np.asarray(out["none"], np.float64)
    # "mean" divides by these per-example counts (1 each but for the pairwise losses).
    den = CASES[name].mean_counts(args, BATCH)
    tol = dict(rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(out["sum"], values.sum(), **tol)
    np.testing.assert_allclose(out["mean"], values.sum() / den.sum(), **tol)
    np.testing.assert_allclose(out["weighted"], (w * values).sum() / (w * den).sum(), **tol)
    if CASES[name].where_drops_examples:
        # Masked examples leave the batch: compare with the masked per-example values.
        values = np.asarray(out["masked_none"], np.float64)
        assert np.all(values[~m] == 0)
    np.testing.assert_allclose(out["masked"], values[m].sum() / den[m].sum(), **tol)
    np.testing.assert_allclose(out["masked_weighted_sum"], (w * values)[m].sum(), **tol)
    np.testing.assert_allclose(out["masked_weighted_none"], np.where(m, w * values, 0), **tol)
    # and an eager call with both options (the public boundary's own kernel) agrees
    _, kwargs = _make(name)
    eager = _fn(name)(*args, **kwargs, where=m, weights=w, reduction="none")
    np.testing.assert_allclose(eager, out["masked_weighted_none"], **tol)


@pytest.mark.parametrize("name", NAMES)
def test_masked_entries_get_zero_gradient_even_when_nonfinite(name):
    case = CASES[name]
    args, _ = _make(name)
    m = np.ones(BATCH, bool)
    m[1, 2] = False
    i = case.diff[0]
    x = np.asarray(args[i]).copy()
    # Poison the masked example's slice of the differentiated input with inf and NaN.
    assert x.shape[: len(BATCH)] == BATCH, "cases put the batch axes first"
    idx = (1, 2)
    poisoned = x.copy()
    poisoned[idx] = np.inf
    if poisoned[idx].ndim:
        poisoned[idx].flat[0] = np.nan

    def masked(v):
        """The masked mean and its gradient at ``v`` (from the shared program)."""
        a = list(args)
        a[i] = jnp.asarray(v)
        out = _option_outputs(name)(tuple(a), np.ones(BATCH, np.float32), m)
        return out["masked"], np.asarray(out["masked_grad"])

    value, g = masked(poisoned)
    np.testing.assert_allclose(value, masked(x)[0], rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(g))
    assert np.all(g[idx] == 0)


@pytest.mark.parametrize("name", NAMES)
def test_fully_masked_and_zero_weighted_give_zero(name):
    args, _ = _make(name)
    out = _option_outputs(name)(args, np.zeros(BATCH, np.float32), np.zeros(BATCH, bool))
    for option in ("masked", "weighted"):
        assert float(out[option]) == 0.0, option
        assert np.all(np.asarray(out[f"{option}_grad"]) == 0), option


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch_gives_zero(name):
    args, kwargs = _make(name, batch=(0,))
    assert float(_fn(name)(*args, **kwargs)) == 0.0
    assert float(_fn(name)(*args, **kwargs, reduction="sum")) == 0.0


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision_computes_in_float32(name, dtype):
    args, kwargs = _make(name)
    floats = [i for i, a in enumerate(args) if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating)]
    # Casts in NumPy (round to nearest even, as XLA): an eager astype compiles per shape.
    half = tuple(np.asarray(a).astype(dtype) if i in floats else a for i, a in enumerate(args))
    out = _fn(name)(*half, **kwargs, reduction="none")
    assert out.dtype == jnp.float32
    # Same as float32 evaluation of the rounded inputs.
    rounded = tuple(a.astype(np.float32) if i in floats else a for i, a in enumerate(half))
    ref = _fn(name)(*rounded, **kwargs, reduction="none")
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_float64_stays_float64(name):
    with jax.enable_x64(True):
        args, kwargs = _make(name)
        args = tuple(
            np.asarray(a, np.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a for a in args
        )
        # The output dtype from tracing alone (nothing to compile).
        out = jax.eval_shape(lambda *a: _fn(name)(*a, **kwargs), *args)
        assert out.dtype == jnp.float64


@pytest.mark.parametrize("name", NAMES)
def test_unknown_reduction_is_rejected(name):
    args, kwargs = _make(name)
    with pytest.raises(ValueError, match=rf"{name}: argument 'reduction' must be one of"):
        _fn(name)(*args, **kwargs, reduction="avg")


@pytest.mark.parametrize("name", NAMES)
def test_bad_where_shape_is_rejected(name):
    args, kwargs = _make(name)
    with pytest.raises(ValueError, match="'where'.*broadcastable"):
        _fn(name)(*args, **kwargs, where=np.ones((7,), bool))


def _data_arg_names(name):
    """The names of the first two positional (data) parameters of a loss."""
    return tuple(inspect.signature(_fn(name)).parameters)[:2]


# Losses whose first argument's last axis is not shared by the other data arguments (a
# class, feature or embedding axis that labels/paddings do not have): a wrong length
# there is legitimate, so the mismatch is made along the axis before it, which the next
# argument does share.
_MISMATCH_AXIS = {
    # logits [..., T, K]: K classes; T frames, shared with logit_paddings [..., T].
    "ctc_loss": -2,
    # embeddings [..., N, D]: D features; labels are [..., N].
    "circle_loss": -2,
    "ntxent": -2,
    # scores/logits [..., C] with integer labels [...]: C classes (and multi_margin_loss's
    # class_weights [C] would only give its own class-count error).
    "multiclass_hinge_loss": -2,
    "multiclass_perceptron_loss": -2,
    "multiclass_sparsemax_loss": -2,
    "multi_margin_loss": -2,
    "softmax_cross_entropy_with_integer_labels": -2,
    "softmax_focal_loss_with_integer_labels": -2,
    "poly_loss_cross_entropy_with_integer_labels": -2,
    "nll_loss": -2,
}
# Losses with no second data argument: nothing for the first one to mismatch.
_NO_SHAPE_MISMATCH = {"z_loss": "one data argument (logits)"}


@pytest.mark.parametrize("name", NAMES)
def test_mismatched_shapes_are_rejected(name):
    if name in _NO_SHAPE_MISMATCH:
        pytest.skip(_NO_SHAPE_MISMATCH[name])
    args, kwargs = _make(name)
    first, second = _data_arg_names(name)
    axis = _MISMATCH_AXIS.get(name, -1)
    x = np.asarray(args[0])
    shorter = np.delete(x, -1, axis=axis)
    longer = np.concatenate([x, np.take(x, [0], axis=axis)], axis=axis)
    jitted = jax.jit(lambda *a: _fn(name)(*a, **kwargs))
    for bad in (shorter, longer):
        for f in (functools.partial(_fn(name), **kwargs), jitted):
            with pytest.raises((ValueError, TypeError), match=rf"^{name}: argument") as e:
                f(bad, *args[1:])
            # The message names both arguments and gives both shapes.
            msg = e.value.args[0]
            assert f"'{first}'" in msg and f"'{second}'" in msg, msg
            shapes = f"got {first}.shape={bad.shape} and {second}.shape={tuple(args[1].shape)}"
            assert msg.endswith(shapes), msg


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.int32, np.bool_, np.complex64])
def test_non_floating_first_argument_is_rejected(name, dtype):
    args, kwargs = _make(name)
    first, _ = _data_arg_names(name)
    bad = np.asarray(args[0]).astype(dtype)
    msg = rf"^{name}: argument '{first}' must have a floating dtype .*, got {np.dtype(dtype)}\b"
    with pytest.raises(TypeError, match=msg):
        _fn(name)(bad, *args[1:], **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_registry_loss_roundtrip_and_call(name):
    args, kwargs = _make(name)
    loss = jaxloss.get(name, **kwargs)
    again = jaxloss.Loss.from_config(json.loads(json.dumps(loss.config())))
    assert again == loss and hash(again) == hash(loss)
    np.testing.assert_allclose(again(*args), _fn(name)(*args, **kwargs), rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_loss_is_a_static_argument(name):
    args, kwargs = _make(name)
    loss = jaxloss.get(name, **kwargs)
    out = jax.jit(lambda fn, *a: fn(*a), static_argnums=0)(loss, *args)
    np.testing.assert_allclose(out, _fn(name)(*args, **kwargs), rtol=2e-5, atol=1e-6)
