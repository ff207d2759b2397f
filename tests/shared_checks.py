"""Checks shared by the per-family loss tests (margin, sparsemax, divergence, ...).

Each one is a sequence of assertions that several test files made in the same words;
the tests call them with their own inputs, references and tolerances.
"""

import jax.numpy as jnp
import numpy as np


def check_values(fn, args, shape, expected, *, rtol, atol=0.0, **kwargs):
    """``fn(*args, reduction="none", **kwargs)`` is float32 with ``shape`` and is close to
    each array of ``expected`` (float64 references, oracles). Returns the values."""
    out = fn(*args, reduction="none", **kwargs)
    assert out.shape == shape and out.dtype == jnp.float32
    for want in expected:
        np.testing.assert_allclose(out, want, rtol=rtol, atol=atol)
    return out


def check_same_values(first, second, args, *, rtol, atol=0.0):
    """Two losses give the same per-example values on ``args``."""
    np.testing.assert_allclose(
        first(*args, reduction="none"), second(*args, reduction="none"), rtol=rtol, atol=atol
    )


def check_class_axis(fn, ref, args, axis, *, moved=None, rtol, atol=0.0):
    """Moves the last axis of ``args`` (of those indexed by ``moved``, default all) to
    ``axis``: ``fn(..., axis=axis, reduction="none")`` matches ``ref(..., axis)``."""
    moved = range(len(args)) if moved is None else moved
    args = [np.moveaxis(a, -1, axis) if k in moved else a for k, a in enumerate(args)]
    out = fn(*args, axis=axis, reduction="none")
    np.testing.assert_allclose(out, ref(*args, axis), rtol=rtol, atol=atol)


def check_shift_invariant(values, scores, labels, shift, *, lower=0.0):
    """The per-example ``values(scores, labels)`` are >= ``lower`` and do not change when a
    constant ``shift`` is added to every score (to float32 precision)."""
    out = np.asarray(values(scores, labels))
    assert np.all(out >= lower)
    shifted = np.asarray(values(scores + np.float32(shift), labels))
    np.testing.assert_allclose(shifted, out, atol=1e-4 * (1 + abs(shift)))
