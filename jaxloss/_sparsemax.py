"""Sparsemax losses: the Fenchel-Young losses of the sparse sigmoid and of sparsemax.

Both are zero exactly when the sparse prediction (``jax.nn.sparse_sigmoid`` of the
logit, or the sparsemax of the scores) equals the target, and their gradient is
``prediction - target``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike
from jaxloss._registry import register

# ---------------------------------------------------------------------------
# helpers


@jax.custom_jvp
def _binary_sparsemax(x: Array, y: Array) -> Array:
    """Elementwise ``y sparse_plus(-x) + (1 - y) sparse_plus(x) - y (1 - y)``, finite ``x``.

    With ``sparse_plus(s) - sparse_plus(-s) = s`` the two terms become one: for
    ``y >= 1/2`` it is ``sparse_plus(u) - (1 - y) u - y (1 - y)`` with ``u = -x``, else
    the same with ``u = x`` and ``y`` for ``1 - y``; for labels 0 and 1 that is exactly
    ``sparse_plus(-+x)``, computed without cancellation as optax does. The final select
    keeps XLA's CPU reduction fusion from splitting the expression into several
    materialized arrays.
    """
    upper = y >= 0.5
    u = jnp.where(upper, -x, x)
    c = jnp.where(upper, 1 - y, y)
    t = y * (1 - y)
    quadratic = 0.25 * jnp.square(lax.clamp(-1.0, u, 1.0) + 1)
    return jnp.where(u >= 1, (1 - c) * u - t, quadratic - c * u - t)


@_binary_sparsemax.defjvp
def _binary_sparsemax_jvp(primals, tangents):
    # d/dx = sparse_sigmoid(x) - y; d/dy = 2y - 1 - x.
    (x, y), (dx, dy) = primals, tangents
    grad_x = lax.clamp(0.0, 0.5 * (x + 1), 1.0) - y
    grad_y = 2 * y - 1 - x
    return _binary_sparsemax(x, y), grad_x * dx + grad_y * dy


def _sparsemax(z: Array) -> Array:
    """Euclidean projection of each row (last axis) of ``z`` onto the probability simplex.

    ``p = max(z - tau, 0)`` with the threshold ``tau`` found by sorting: with ``z`` in
    decreasing order and ``S_k`` the sum of its first ``k`` entries, the support size is
    the largest ``k`` with ``1 + k z_(k) > S_k`` and ``tau = (S_k - 1) / k``. Rows must
    have a finite maximum; ``-inf`` entries get probability 0. Plain autodiff through
    the sort and the cumulative sum gives the exact Jacobian
    ``diag(s) - s s^T / |s|`` (``s`` the support indicator).
    """
    num_classes = z.shape[-1]
    descending = jnp.flip(jnp.sort(z, axis=-1), axis=-1)
    cumulative = jnp.cumsum(descending, axis=-1)
    k = jnp.arange(1, num_classes + 1, dtype=z.dtype)
    support_size = jnp.sum(1 + k * descending > cumulative, axis=-1, keepdims=True)
    top_sum = jnp.take_along_axis(cumulative, support_size - 1, axis=-1)
    tau = (top_sum - 1) / support_size.astype(z.dtype)
    return jax.nn.relu(z - tau)


def _gini_terms(z: Array, p: Array) -> Array:
    """``<p, z> + (1 - ||p||^2) / 2`` over the last axis, 0 * (-inf) counted as 0."""
    zero = jnp.zeros((), z.dtype)
    inner = jnp.sum(p * jnp.where(p > 0, z, zero), axis=-1)
    return inner + 0.5 * (1 - jnp.sum(jnp.square(p), axis=-1))


@jax.custom_jvp
def _gini_conjugate(z: Array) -> Array:
    """``max_{p in simplex} <p, z> - (||p||^2 - 1) / 2``, attained at ``p = sparsemax(z)``.

    Its gradient is ``sparsemax(z)`` (Danskin); the custom JVP states that directly
    instead of differentiating through the projection, and stays differentiable (the
    second derivative is the sparsemax Jacobian).
    """
    return _gini_terms(z, _sparsemax(z))


@_gini_conjugate.defjvp
def _gini_conjugate_jvp(primals, tangents):
    (z,), (dz,) = primals, tangents
    p = _sparsemax(z)
    return _gini_terms(z, p), jnp.sum(p * dz, axis=-1)


# ---------------------------------------------------------------------------
# binary


@register(
    family="sparsemax",
    inputs="logits",
    optax="optax.losses.sparsemax_loss",
)
def sparsemax_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Binary sparsemax loss of logits and labels in {0, 1}, elementwise.

    $$
        \ell_i = y_i\, \operatorname{sparse\_plus}(-x_i)
               + (1 - y_i) \operatorname{sparse\_plus}(x_i) - y_i (1 - y_i)
    $$

    with $\operatorname{sparse\_plus}(s)$ equal to 0 for $s \le -1$,
    $(s + 1)^2 / 4$ for $-1 < s < 1$ and $s$ for $s \ge 1$. For
    labels 0 and 1 this is $\operatorname{sparse\_plus}(\pm x)$; in general it is
    the Fenchel-Young loss of the sparse sigmoid
    $\operatorname{clip}((x + 1) / 2, 0, 1)$: non-negative, zero exactly when
    ``jax.nn.sparse_sigmoid(logits) == labels``, with gradient
    ``jax.nn.sparse_sigmoid(logits) - labels``.

    Args:
      logits: real-valued scores, any shape, floating.
      labels: targets of the same shape in ``[0, 1]``: 0 or 1 (float, integer or bool
        is cast), or soft labels in between.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``logits.shape``; masked entries are excluded
        and get zero gradient (also when their logits are inf/NaN).
      weights: non-negative sample weights broadcastable to ``logits.shape``.

    Returns:
      A scalar, or ``logits.shape`` for ``reduction="none"``; float32 for half precision
      inputs, float64 for float64 inputs.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is complex or not numeric, or if
        ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits``, if ``where`` or ``weights``
        is not broadcastable to the per-example loss shape, or if ``reduction`` is not ``"mean"``,
        ``"sum"`` or ``"none"``.

    Note:
      The loss is continuously differentiable; its second derivative jumps at
      $x = \pm 1$. A logit of ``+inf`` with label exactly 1, or ``-inf`` with
      label exactly 0, gives loss 0 and gradient 0 (logits are clipped to
      ``+-finfo(dtype).max / 4``); an infinite logit that disagrees with its label
      therefore gives a huge finite loss (about ``8.5e37`` in float32) instead of
      ``inf``. (``jax.nn.sparse_plus`` itself has a NaN gradient
      at ``+-inf``; this function does not use it.)

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([0.0, 2.0, -0.5, 3.0])
      >>> y = jnp.array([1.0, 1.0, 0.0, 0.0])
      >>> jaxloss.sparsemax_loss(x, y, reduction="none")
      Array([0.25  , 0.    , 0.0625, 3.    ], dtype=float32)

    Equivalent to ``optax.losses.sparsemax_loss(logits, labels)`` (``reduction="none"``)
    for labels 0 and 1. Optax treats every nonzero label as 1; soft labels here follow
    the Fenchel-Young formula above instead.
    """
    fn = "sparsemax_loss"
    x, y, mask = core.elementwise_inputs(fn, logits, labels, where, names=("logits", "labels"))
    # Clamping to +-finfo.max/4 makes infinite logits finite (0 * inf never appears);
    # lax.clamp's derivative is 0 there, the exact gradient when the label agrees (and
    # it has none of jnp.clip's tie-splitting divides).
    bound = jnp.finfo(x.dtype).max / 4
    values = _binary_sparsemax(lax.clamp(-bound, x, bound), y)
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# multiclass


@register(
    family="sparsemax",
    inputs="logits",
    optax="optax.losses.multiclass_sparsemax_loss",
)
def multiclass_sparsemax_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multiclass sparsemax loss of class scores and integer labels.

    $$
        \ell = \langle p, x \rangle - x_y + \tfrac{1}{2}\bigl(1 - \lVert p \rVert^2\bigr),
        \qquad p = \operatorname{sparsemax}(x) = \operatorname*{argmin}_{q \in \Delta}
        \lVert q - x \rVert^2
    $$

    The Fenchel-Young loss of sparsemax (Martins and Astudillo, 2016): non-negative,
    zero exactly when ``sparsemax(x)`` is the one-hot vector of the label, and with
    gradient ``sparsemax(x) - one_hot(y)``. The sparsemax threshold is found by sorting
    each row, so the loss is jittable and works for any number of batch dimensions.

    Args:
      scores: class scores ``[..., C, ...]``, floating.
      labels: integer class indices, the shape of ``scores`` without ``axis``.
      axis: the class axis (static).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask over examples (the shape of ``labels``); masked examples are
        excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to the shape of ``labels``.

    Returns:
      A scalar, or the shape of ``labels`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      TypeError: if ``scores`` is not floating, if ``labels`` is not an integer array (class
        indices), if ``axis`` is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``scores`` without ``axis``, if ``axis``
        is out of range for ``scores``, if ``where`` or ``weights`` is not broadcastable to the
        per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      The gradient is given by a custom JVP (``sparsemax(x) - one_hot(y)`` exactly, not
      through the projection's sort); second derivatives are the sparsemax Jacobian,
      which jumps where the support changes. The loss is invariant to adding a constant
      to the scores and is computed on max-shifted scores. A label outside ``[0, C)``
      gives NaN for its example; wrap the call in [`jaxloss.checked`][jaxloss.checked] to raise an
      error instead. ``-inf`` scores get probability 0 and zero gradient. A row with
      ``+inf`` scores is treated as the limit: sparsemax spreads uniformly over its
      ``n`` infinite entries, the loss is $(1 - 1/n)/2$ (0 for a single ``+inf``
      true score) if the label is one of them and ``inf`` otherwise, with zero gradient
      for the row; a row of only ``-inf`` scores is treated as all equal.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0, 0.5, 2.0], [1.0, 1.2, 0.1]])
      >>> loss = jaxloss.multiclass_sparsemax_loss(x, jnp.array([2, 0]), reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.0, 0.36]

    Equivalent to ``optax.losses.multiclass_sparsemax_loss(scores, labels)``
    (``reduction="none"``; optax supports only ``[batch, classes]`` scores).
    """
    fn = "multiclass_sparsemax_loss"
    x, safe_labels, in_range, mask = core.integer_label_inputs(fn, scores, labels, where, axis)
    # Shift by the row max (the loss is shift-invariant, so stopping its gradient is
    # exact). A row whose max is +-inf is replaced by its limit: 0 at the max entries,
    # -inf elsewhere; such rows get zero gradient.
    m = jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))
    finite = jnp.isfinite(m)
    z = jnp.where(
        finite,
        x - jnp.where(finite, m, 0),
        jnp.where(x == m, jnp.zeros((), x.dtype), -jnp.inf),
    )
    z_true = jnp.take_along_axis(z, safe_labels[..., None], axis=-1)[..., 0]
    values = _gini_conjugate(z) - z_true
    values = jnp.where(in_range, values, jnp.nan)
    return core.finish(fn, values, reduction, mask, weights)
