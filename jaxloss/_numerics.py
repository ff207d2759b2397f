"""Safe math shared by the loss families: values and gradients that stay finite at the
singular points (a zero norm, a zero denominator, ``0 * log 0``, a row of ``-inf``
logits), each by a double ``where`` or a custom derivative."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy

from jaxloss._core import Array


def safe_reciprocal(x: Array) -> Array:
    """``1/x`` where ``x > 0``, else ``0``; the gradient is finite everywhere (double where)."""
    positive = x > 0
    return jnp.where(positive, 1.0 / jnp.where(positive, x, jnp.ones_like(x)), jnp.zeros_like(x))


def xlogy_safe(x: Array, y: Array) -> Array:
    """``x * log(y)``, ``0`` where ``x == 0``, with finite gradients also at ``x = y = 0``.

    ``jax.scipy.special.xlogy`` already gives the value ``0`` there, but its derivative
    with respect to ``y`` is ``x / y = 0 / 0``; ``y`` is replaced by ``1`` in that case.
    """
    both_zero = (x == 0) & (y == 0)
    return xlogy(x, jnp.where(both_zero, jnp.ones_like(y), y))


@jax.custom_jvp
def safe_abs(x: Array) -> Array:
    """``|x|`` whose derivative at ``0`` is ``sign(0) = 0`` (jnp.abs gives 1 there)."""
    return jnp.abs(x)


@safe_abs.defjvp
def _safe_abs_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return jnp.abs(x), jnp.sign(x) * dx


def inverse_norm(x: Array, axis: int, epsilon: Array) -> Array:
    """``1 / max(||x||, epsilon)`` along ``axis`` (``0`` for a zero vector when epsilon=0).

    Double where: the square root only sees norms above the floor, so the gradient at a
    zero (or tiny) vector is exactly zero through the norm, never ``inf * 0``.
    """
    sq = jnp.sum(jnp.square(x), axis=axis)
    above = sq > jnp.square(epsilon)
    norm = jnp.where(above, jnp.sqrt(jnp.where(above, sq, jnp.ones_like(sq))), epsilon)
    return safe_reciprocal(norm)


def safe_sqrt(s: Array) -> Array:
    """``sqrt(s)`` for ``s >= 0`` with gradient 0 (not ``inf``) at ``s = 0`` (double where)."""
    positive = s > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, s, jnp.ones_like(s))), 0)


def safe_ratio(num: Array, den: Array) -> Array:
    """``num / den``, and ``1`` where ``den == 0``; finite gradients (double where)."""
    nonzero = den != 0
    ratio = num / jnp.where(nonzero, den, jnp.ones_like(den))
    return jnp.where(nonzero, ratio, jnp.ones_like(ratio))


def shifted_rows(x: Array):
    """The (finite-safe, constant) row max, the max-shifted log-sum-exp, and row-ok.

    A row whose logits are all ``-inf`` has ``ok`` False, a max of 0 and a log-sum-exp
    of 0 (its sum of exponentials is replaced by 1), so nothing NaN reaches the value or
    the gradient; callers zero the loss of such rows. A NaN or ``+inf`` logit keeps ``ok``
    True and propagates (loudly) into the loss. No select over the full logits.
    """
    m = jax.lax.stop_gradient(jnp.max(x, axis=-1, initial=-jnp.inf))  # C = 0: -inf
    ok = m != -jnp.inf
    m = jnp.where(ok, m, 0)
    s = jnp.sum(jnp.exp(x - m[..., None]), axis=-1)
    lse = jnp.log(jnp.where(ok, s, 1))
    return m, lse, ok


def soft_label_rows(x: Array, y: Array, m: Array, lse: Array) -> Array:
    """``-sum_c y_c log softmax(x)_c`` over the last axis, from `shifted_rows`.

    Written ``sum(y) * lse - sum_c y_c (x_c - m)``. Only a shifted logit of ``-inf`` (a
    ``-inf`` logit, or one that overflows below the row max) whose label is 0 is replaced
    by 0 (so no ``0 * inf``); every other entry keeps
    ``y_c (x_c - m)``, so the derivative with respect to a label is ``-log p_c`` also
    where the label is 0 (distillation and learned labels differentiate through it).
    At such a ``-inf`` logit the label derivative is reported as ``lse`` (finite) rather
    than ``+inf``.
    """
    shifted = x - m[..., None]
    shifted = jnp.where((y != 0) | (shifted != -jnp.inf), shifted, 0)
    return jnp.sum(y, axis=-1) * lse - jnp.sum(y * shifted, axis=-1)
