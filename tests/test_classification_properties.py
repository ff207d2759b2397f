"""Hypothesis properties of every binary, classification, sparsemax, margin and divergence
loss.

Driven by the registry (``jaxloss.names()`` filtered by ``jaxloss.info(name).family``) and
the input factories of tests/cases, so a loss added to one of these families is covered
without editing this file. At hypothesis-drawn seeds and batch shapes:

* non-negativity on valid inputs (logits also scaled up to 30x), except for the losses
  listed in ``NOT_NON_NEGATIVE`` with their reason;
* ``jax.vmap`` over the leading batch axis equals a loop, and ``jax.jit`` equals eager (the
  jitted "none" and "mean" values and the vmapped ones come from one jitted program);
* for cases marked ``smooth``: reverse-mode gradients agree with central finite
  differences in float64 (``jax.test_util.check_grads``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxloss
from tests.cases import all_cases
from tests.grads import check_grads, of_args

FAMILIES = ("binary", "classification", "sparsemax", "margin", "divergence")
CASES = all_cases()
NAMES = [n for n in jaxloss.names() if jaxloss.info(n).family in FAMILIES]

# Losses of these families that can be negative on valid inputs, with the reason. Every
# loss registered today is non-negative on the inputs of its case (poly loss for its
# epsilon=2.0 >= -1; the KL divergences for normalized or, for the generalized one, any
# non-negative measures), so the list is empty; add a loss here with a reason rather than
# loosening the check.
NOT_NON_NEGATIVE: dict[str, str] = {}

# Absolute slack for rounding (float32): KL(t || t), sparsemax at a perfect prediction.
SLACK = 1e-5

SEEDS = st.integers(0, 2**32 - 1)
BATCHES = st.sampled_from([(1,), (2,), (3,), (2, 2)])


def _make(name, seed, batch, dtype=None):
    args, kwargs = CASES[name].make(np.random.default_rng(seed), batch)
    out = []
    for a in args:
        a = np.asarray(a)
        if dtype is not None and np.issubdtype(a.dtype, np.floating):
            a = a.astype(dtype)
        out.append(jnp.asarray(a))
    return out, kwargs


def _fn(name):
    return getattr(jaxloss, name)


def test_families_are_covered():
    assert NAMES, "no loss registered in the classification/margin/divergence families"
    # Regression: these losses left the "classification" family for "binary" and
    # "sparsemax" of their own, and dropped out of these properties until FAMILIES did too.
    moved = {"binary_cross_entropy", "sigmoid_binary_cross_entropy", "sigmoid_focal_loss"}
    assert moved | {"sparsemax_loss", "multiclass_sparsemax_loss"} <= set(NAMES)
    assert set(NAMES) <= set(CASES)
    assert set(NOT_NON_NEGATIVE) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=5)
@given(seed=SEEDS, batch=BATCHES, scale=st.floats(0.1, 30.0))
def test_non_negative(name, seed, batch, scale):
    if name in NOT_NON_NEGATIVE:
        pytest.skip(NOT_NON_NEGATIVE[name])
    args, kwargs = _make(name, seed, batch)
    if jaxloss.info(name).inputs == "logits":
        # Logits are unconstrained: scaling keeps the inputs valid and reaches saturation.
        # (Scaled in NumPy, the same float32 product without compiling a kernel per shape.)
        args[0] = jnp.asarray(np.asarray(args[0]) * np.float32(scale))
    out = np.asarray(_fn(name)(*args, **kwargs, reduction="none"), np.float64)
    assert out.shape == batch
    assert np.all(np.isfinite(out))
    assert np.all(out >= -SLACK * max(1.0, float(np.max(np.abs(out))))), out


def _key(kwargs):
    """A hashable key for the options ``kwargs`` (arrays by dtype, shape and bytes)."""

    def freeze(v):
        if isinstance(v, np.ndarray | jax.Array):
            v = np.asarray(v)
            return (v.dtype.str, v.shape, v.tobytes())
        return (type(v), v)

    return tuple(sorted((k, freeze(v)) for k, v in kwargs.items()))


_JITTED = {}


def _jitted_none_mean_vmap(name, kwargs, axes):
    """``jax.jit`` of the "none" and "mean" values and the vmapped "none" values, one program.

    Cached per loss and options, so that the hypothesis examples of a shape reuse it.
    """
    key = (name, _key(kwargs), axes)
    if key not in _JITTED:
        fn = _fn(name)
        f = lambda *a: fn(*a, **kwargs, reduction="none")
        _JITTED[key] = jax.jit(lambda *a: (f(*a), fn(*a, **kwargs), jax.vmap(f, in_axes=axes)(*a)))
    return _JITTED[key]


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=3)
@given(seed=SEEDS, batch=BATCHES)
def test_vmap_and_jit_match_eager(name, seed, batch):
    case = CASES[name]
    args, kwargs = _make(name, seed, batch)
    f = lambda *a: _fn(name)(*a, **kwargs, reduction="none")
    mean = lambda *a: _fn(name)(*a, **kwargs)
    axes = case.batch_axes or (0,) * len(args)
    jit_none, jit_mean, batched = _jitted_none_mean_vmap(name, kwargs, axes)(*args)
    eager = np.asarray(f(*args))
    tol = dict(rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(jit_none, eager, **tol)
    np.testing.assert_allclose(jit_mean, mean(*args), **tol)

    batched = np.asarray(batched)
    for i in range(batch[0]):
        # Sliced in NumPy (exact): no slicing kernel to compile per shape.
        sliced = [
            a if ax is None else jnp.asarray(np.take(np.asarray(a), i, axis=ax))
            for a, ax in zip(args, axes)
        ]
        np.testing.assert_allclose(batched[i], f(*sliced), **tol)
        np.testing.assert_allclose(batched[i], eager[i], **tol)


SMOOTH = [n for n in NAMES if CASES[n].smooth]


@pytest.mark.parametrize("name", SMOOTH)
@settings(max_examples=2)
@given(seed=SEEDS, batch=st.sampled_from([(2,), (3,)]))
def test_gradients_match_finite_differences(name, seed, batch):
    case = CASES[name]
    with jax.enable_x64(True):
        args, kwargs = _make(name, seed, batch, dtype=np.float64)
        diff = [i for i in case.diff if jnp.issubdtype(args[i].dtype, jnp.floating)]
        assert diff, f"{name}: the case has no floating argument to differentiate"

        loss = of_args(lambda *a: _fn(name)(*a, **kwargs), args, diff)

        assert jax.jit(loss)(*[args[i] for i in diff]).dtype == jnp.float64
        # check_grads jits ``loss`` itself: the same program as the line above, compiled once.
        check_grads(
            loss,
            tuple(args[i] for i in diff),
            order=1,
            modes=["rev"],
            eps=1e-6,
            atol=1e-6,
            rtol=1e-5,
        )
