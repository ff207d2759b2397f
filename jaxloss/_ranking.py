"""Learning-to-rank losses: scores of the items of a list against their relevance labels."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike
from jaxloss._numerics import shifted_rows, soft_label_rows
from jaxloss._registry import register


@register(
    family="ranking",
    inputs="logits",
    optax="optax.losses.ranking_softmax_loss",
    rax="rax.softmax_loss",
)
def ranking_softmax_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Listwise softmax loss: cross-entropy of the item scores against relevance labels.

    $$
        \ell = -\sum_{i \in \text{list}} v_i\, y_i \log
        \frac{e^{s_i}}{\sum_{j \in \text{list}} e^{s_j}}
    $$

    with item weights $v_i$ (default 1). The labels are not normalized: a list
    with two relevant items counts both.

    Args:
      logits: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (binary or graded, non-negative; float,
        integer or bool is cast).
      axis: static int, the item axis (dropped from the output).
      item_weights: optional non-negative per-item weights broadcastable to
        ``logits.shape``; they multiply the labels (optax's ``weights``).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: a boolean mask over items with as many dimensions as ``logits`` (optax's
        ``where``: masked items are left out of the softmax and their labels ignored; a
        list with no valid item is excluded), or, with fewer dimensions, a mask over
        lists broadcastable to the per-list shape.
      weights: non-negative per-list weights broadcastable to the per-list shape.

    Returns:
      A scalar, or the per-list shape (``logits.shape`` without ``axis``) for
      ``reduction="none"``; float32 for half precision inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights`` or ``where`` do not fit ``logits``.

    Note:
      A list without relevant items (all labels 0) gives 0 with zero gradient; so does a
      list whose items are all masked. ``-inf`` scores of items with label 0 (or of
      masked items) give a finite value and gradient (optax gives NaN for an unmasked
      ``-inf`` score with label 0, from ``0 * -inf``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
      >>> y = jnp.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
      >>> out = jaxloss.ranking_softmax_loss(s, y, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.4076, 2.1972]

    Equivalent to ``optax.losses.ranking_softmax_loss(logits, labels, where=where,
    weights=item_weights, reduce_fn=None)`` (``reduction="none"``, item-mask ``where``,
    ``axis=-1``); with ``reduction="mean"`` and an item mask it matches optax's default
    ``reduce_fn=jnp.mean``, which also skips lists with no valid item.
    """
    fn = "ranking_softmax_loss"
    x = core.as_logits(fn, "logits", logits)
    y = core.as_float(fn, "labels", labels)
    core.check_same_shape(fn, "logits", x, "labels", y)
    axis = core.normalize_axis(fn, axis, x.ndim)
    dtype = core.compute_dtype(x, y)
    x, y = x.astype(dtype), y.astype(dtype)
    if item_weights is not None:
        v = core.as_float(fn, "item_weights", item_weights)
        core.check_broadcastable(fn, "item_weights", v, x.shape, "logits")
        y = y * v.astype(dtype)
    mask, cmask = core.class_mask(fn, where, x, axis)
    if mask is not None:
        x, y = core.mask_inputs(mask, x, y, axis=axis)
    if cmask is not None:
        x = jnp.where(cmask, x, -jnp.inf)
        y = jnp.where(cmask, y, 0)
    if axis != x.ndim - 1:
        x, y = jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1)
    # -sum_i y_i log_softmax(x)_i; a -inf score with relevance 0 contributes 0.
    m, lse, ok = shifted_rows(x)
    values = jnp.where(ok, soft_label_rows(x, y, m, lse), 0)
    return core.finish(fn, values, reduction, mask, weights)
