"""Learning-to-rank losses: scores of the items of a list against their relevance labels."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
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


# ---------------------------------------------------------------------------
# rax's losses: shared input preparation

# What `unique_softmax_loss` multiplies each item's term by, as a function of its label.
_GAINS = ("exponential", "identity", "none")


def _check_where(fn: str, where: ArrayLike | None) -> Array | None:
    if where is None:
        return None
    w = jnp.asarray(where)
    if w.dtype != jnp.bool_:
        raise TypeError(f"{fn}: argument 'where' must be a boolean mask, got {w.dtype}")
    return w


def _ranking_inputs(
    fn: str,
    scores: ArrayLike,
    labels: ArrayLike,
    axis: int,
    item_weights: ArrayLike | None,
    where: ArrayLike | None,
):
    """Prepares the ``[..., n, ...]`` scores and labels of a rax-style ranking loss.

    Returns ``(x, y, v, items, lists)`` with the item axis moved last: scores, labels and
    item weights (or ``None``) in the compute dtype; ``items`` the item mask (``where``
    with as many dimensions as the scores) or ``None``; ``lists`` the mask over lists
    (``where`` with fewer dimensions, broadcast to the per-list shape) or ``None``.
    Masked items and the items of masked lists are replaced by 0 (scores, labels and
    weights alike), so that inf/NaN there never reaches a value or a gradient.
    """
    x = core.as_logits(fn, "scores", scores)
    y = core.as_float(fn, "labels", labels)
    core.check_same_shape(fn, "scores", x, "labels", y)
    axis = core.normalize_axis(fn, axis, x.ndim, "scores")
    dtype = core.compute_dtype(x, y)
    x, y = x.astype(dtype), y.astype(dtype)
    v = None
    if item_weights is not None:
        v = core.as_float(fn, "item_weights", item_weights)
        core.check_broadcastable(fn, "item_weights", v, x.shape, "scores")
        v = jnp.broadcast_to(v.astype(dtype), x.shape)
    list_shape = x.shape[:axis] + x.shape[axis + 1 :]
    items = lists = None
    w = _check_where(fn, where)
    if w is not None:
        if w.ndim == x.ndim:
            core.check_broadcastable(fn, "where", w, x.shape, "scores")
            items = jnp.moveaxis(jnp.broadcast_to(w, x.shape), axis, -1)
        else:
            lists = core.example_mask(fn, w, list_shape)
    x, y = jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1)
    if v is not None:
        v = jnp.moveaxis(v, axis, -1)
    keep = items if lists is None else lists[..., None]
    if keep is not None:
        zero = jnp.zeros((), dtype)
        x, y = jnp.where(keep, x, zero), jnp.where(keep, y, zero)
        if v is not None:
            v = jnp.where(keep, v, zero)
    return x, y, v, items, lists


def _list_mask(items: Array | None, lists: Array | None) -> Array | None:
    """The per-list mask of a listwise loss: a list with no valid item is excluded."""
    if items is None:
        return lists
    valid = jnp.any(items, axis=-1)
    return valid if lists is None else valid & lists


def _weighted(values: Array, v: Array | None) -> Array:
    return values if v is None else values * v


# ---------------------------------------------------------------------------
# listwise


@register(
    family="ranking",
    inputs="logits",
    rax="rax.listmle_loss",
    notes={
        "rax": (
            "`reduction='none'` is rax's `reduce_fn=None`, `'mean'`/`'sum'` its `jnp.mean`/"
            "`jnp.sum`; `where` with fewer dimensions than `scores` masks lists and `weights` "
            "weights lists (jaxloss's weighted mean). `axis` chooses the item axis. rax's "
            "`segments` is not supported."
        )
    },
)
def listmle_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    key: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""ListMLE: the negative log-likelihood of the label order under a Plackett-Luce model.

    $$
        \ell = -\sum_{k=1}^{n} \Big( s_{\pi(k)} - \log \sum_{m \ge k} e^{s_{\pi(m)}} \Big)
    $$

    where $\pi$ sorts the valid items of the list by decreasing label (ties in their order
    of appearance, or at random with ``key``).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (only their order matters).
      axis: static int, the item axis (dropped from the output).
      key: optional ``jax.random`` key; with it, items of equal label are ordered at
        random (as rax: one uniform draw of ``scores``' shape, the item axis last, is the
        secondary sort key). Without it, ties keep their order of appearance.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: a boolean mask over items with as many dimensions as ``scores`` (masked items
        are left out of the list; a list with no valid item is excluded), or, with fewer
        dimensions, a mask over lists broadcastable to the per-list shape.
      weights: non-negative per-list weights broadcastable to the per-list shape.

    Returns:
      A scalar, or the per-list shape (``scores.shape`` without ``axis``) for
      ``reduction="none"``; float32 for half precision inputs.

    Raises:
      ValueError: if ``labels`` or ``where`` do not fit ``scores``, or ``axis`` is out of
        range.
      TypeError: if ``scores`` is not floating or ``where`` is not boolean.

    Note:
      The gradient flows through the scores only: the labels choose the order. A list with
      a single valid item gives 0. Masked items may hold inf or NaN: they get exactly zero
      gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
      >>> y = jnp.array([[2.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
      >>> out = jaxloss.listmle_loss(s, y, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.7209, 1.7918]

    Equivalent to ``rax.listmle_loss(scores, labels, key=key, where=where,
    reduce_fn=None)`` (``reduction="none"``, item-mask ``where``, ``axis=-1``); ``"mean"``
    and ``"sum"`` match rax's ``reduce_fn=jnp.mean`` / ``jnp.sum``, the mean skipping lists
    with no valid item as rax does. rax's ``segments`` is not supported; rax's listmle has
    no item weights, so neither does this function.
    """
    fn = "listmle_loss"
    x, y, _, items, lists = _ranking_inputs(fn, scores, labels, axis, None, where)
    valid = jnp.ones(x.shape, jnp.bool_) if items is None else items
    sort_keys = [jnp.logical_not(valid), -y]
    if key is not None:
        sort_keys.append(jax.random.uniform(key, x.shape))
    *_, xs, vs = jax.lax.sort([*sort_keys, x, valid], dimension=x.ndim - 1, num_keys=len(sort_keys))
    # Valid items first, by decreasing label; the log-sum-exp of each item and those after
    # it, with the invalid tail at -inf (double where: no NaN in the gradient).
    tail = jax.lax.cumlogsumexp(jnp.where(vs, xs, -jnp.inf), axis=x.ndim - 1, reverse=True)
    terms = jnp.where(vs, xs - jnp.where(vs, tail, 0), 0)
    values = -jnp.sum(terms, axis=-1)
    return core.finish(fn, values, reduction, _list_mask(items, lists), weights)


@register(
    family="ranking",
    inputs="logits",
    rax="rax.poly1_softmax_loss",
    ranges={"epsilon": Range()},
    notes={
        "rax": (
            "`item_weights` is rax's `weights`; `reduction='none'` is rax's `reduce_fn=None`, "
            "`'mean'`/`'sum'` its `jnp.mean`/`jnp.sum`; `where` with fewer dimensions than "
            "`scores` masks lists and `weights` weights lists. rax's `segments` is not "
            "supported."
        )
    },
)
def poly1_softmax_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    epsilon: float | ArrayLike = 1.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Poly-1 listwise softmax loss: the softmax loss plus $\epsilon (1 - p_t)$.

    $$
        \ell = -\sum_i v_i y_i \log p_i + \epsilon \Big(1 - \sum_i
        \frac{v_i y_i}{\sum_j v_j y_j}\, p_i\Big), \qquad
        p_i = \frac{e^{s_i}}{\sum_j e^{s_j}}
    $$

    over the valid items of a list, with item weights $v_i$ (default 1). When the
    weighted labels of a list sum to 0, the target distribution is uniform over its valid
    items (so $p_t = 1/n$).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (non-negative; float, integer or bool is
        cast).
      axis: static int, the item axis (dropped from the output).
      item_weights: optional non-negative per-item weights broadcastable to
        ``scores.shape``; they multiply the labels (rax's ``weights``).
      epsilon: weight of the polynomial term, any number (a float or a JAX scalar).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: a boolean mask over items with as many dimensions as ``scores`` (masked items
        are left out of the softmax and their labels ignored; a list with no valid item
        is excluded), or, with fewer dimensions, a mask over lists broadcastable to the
        per-list shape.
      weights: non-negative per-list weights broadcastable to the per-list shape.

    Returns:
      A scalar, or the per-list shape (``scores.shape`` without ``axis``) for
      ``reduction="none"``; float32 for half precision inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights`` or ``where`` do not fit ``scores``, or
        ``epsilon`` is NaN.
      TypeError: if ``scores`` is not floating or ``where`` is not boolean.

    Note:
      Differentiable in the scores and the labels. A list whose items are all masked gives
      0 with zero gradient; masked items may hold inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
      >>> y = jnp.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
      >>> out = jaxloss.poly1_softmax_loss(s, y, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.7424, 2.8639]

    Equivalent to ``rax.poly1_softmax_loss(scores, labels, epsilon=epsilon, where=where,
    weights=item_weights, reduce_fn=None)`` (``reduction="none"``, item-mask ``where``,
    ``axis=-1``); ``"mean"`` and ``"sum"`` match rax's ``reduce_fn=jnp.mean`` /
    ``jnp.sum``, the mean skipping lists with no valid item as rax does. rax's
    ``segments`` is not supported.
    """
    fn = "poly1_softmax_loss"
    x, y, v, items, lists = _ranking_inputs(fn, scores, labels, axis, item_weights, where)
    eps = core.hyperparameter(fn, "epsilon", epsilon, x.dtype)
    y = _weighted(y, v)
    if items is not None:
        x = jnp.where(items, x, -jnp.inf)
        count = jnp.sum(items, axis=-1).astype(x.dtype)
    else:
        count = jnp.full(x.shape[:-1], x.shape[-1], x.dtype)
    m, lse, ok = shifted_rows(x)
    ce = jnp.where(ok, soft_label_rows(x, y, m, lse), 0)
    p = jnp.exp(x - m[..., None] - lse[..., None])  # 0 at the masked (-inf) items
    total = jnp.sum(y, axis=-1)
    nonzero = total != 0
    pt_labels = jnp.sum(y * p, axis=-1) / jnp.where(nonzero, total, 1)
    pt_uniform = 1 / jnp.where(count > 0, count, 1)
    pt = jnp.where(count > 0, jnp.where(nonzero, pt_labels, pt_uniform), 1)
    values = ce + eps * (1 - pt)
    return core.finish(fn, values, reduction, _list_mask(items, lists), weights)


def _gain(fn: str, gain: str, y: Array) -> Array | None:
    if not isinstance(gain, str) or gain not in _GAINS:
        raise ValueError(
            f"{fn}: argument 'gain' must be one of 'exponential', 'identity' or 'none', "
            f"got {gain!r}"
        )
    if gain == "exponential":
        return jnp.expm1(y * jnp.log(jnp.asarray(2, y.dtype)))
    if gain == "identity":
        return y
    return None


@register(
    family="ranking",
    inputs="logits",
    rax="rax.unique_softmax_loss",
    notes={
        "rax": (
            "`gain='exponential'` is rax's default `gain_fn` (2**y - 1), `'identity'` is "
            "`gain_fn=lambda y: y`, `'none'` is `gain_fn=None`; other gain functions are not "
            "supported. `item_weights` is rax's `weights`; `reduction='none'` is rax's "
            "`reduce_fn=None`; `where` with fewer dimensions than `scores` masks lists and "
            "`weights` weights lists. rax's `segments` is not supported."
        )
    },
)
def unique_softmax_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    gain: str = "exponential",
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Unique softmax loss: each item against itself and the items of lower label.

    $$
        \ell = -\sum_i v_i\, g(y_i) \log \frac{e^{s_i}}{e^{s_i} +
        \sum_{j:\, y_j < y_i} e^{s_j}}
    $$

    over the valid items of a list, with item weights $v_i$ (default 1) and the gain
    $g(y) = 2^y - 1$ (``"exponential"``), $g(y) = y$ (``"identity"``) or $g(y) = 1$
    (``"none"``).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (float, integer or bool is cast).
      axis: static int, the item axis (dropped from the output).
      item_weights: optional non-negative per-item weights broadcastable to
        ``scores.shape`` (rax's ``weights``).
      gain: static str, ``"exponential"`` (default, rax's default gain $2^y - 1$),
        ``"identity"`` ($y$) or ``"none"`` (no gain: every item counts 1).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: a boolean mask over items with as many dimensions as ``scores`` (masked items
        are left out of every softmax; a list with no valid item is excluded), or, with
        fewer dimensions, a mask over lists broadcastable to the per-list shape.
      weights: non-negative per-list weights broadcastable to the per-list shape.

    Returns:
      A scalar, or the per-list shape (``scores.shape`` without ``axis``) for
      ``reduction="none"``; float32 for half precision inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights`` or ``where`` do not fit ``scores``, or
        ``gain`` is not one of the three names.
      TypeError: if ``scores`` is not floating or ``where`` is not boolean.

    Note:
      Items of equal label are left out of each other's softmax. With ``gain="none"``
      an item with the lowest label of its list contributes $-\log 1 = 0$. Masked items
      may hold inf or NaN: they get exactly zero gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
      >>> y = jnp.array([[2.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
      >>> out = jaxloss.unique_softmax_loss(s, y, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [1.5361, 1.3863]

    Equivalent to ``rax.unique_softmax_loss(scores, labels, where=where,
    weights=item_weights, gain_fn=..., reduce_fn=None)`` with rax's default ``gain_fn``
    for ``"exponential"``, ``lambda y: y`` for ``"identity"`` and ``None`` for ``"none"``
    (``reduction="none"``, item-mask ``where``, ``axis=-1``); ``"mean"`` and ``"sum"``
    match rax's ``reduce_fn=jnp.mean`` / ``jnp.sum``, the mean skipping lists with no
    valid item as rax does. rax's ``segments`` and other gain functions are not supported
    (a callable option cannot be bound in the registry).
    """
    fn = "unique_softmax_loss"
    x, y, v, items, lists = _ranking_inputs(fn, scores, labels, axis, item_weights, where)
    g = _gain(fn, gain, y)
    n = x.shape[-1]
    # Row i: item i and the valid items j of a lower label.
    allowed = (y[..., None, :] < y[..., :, None]) | jnp.eye(n, dtype=jnp.bool_)
    if items is not None:
        allowed = allowed & items[..., None, :]
    row = jnp.broadcast_to(x[..., None, :], allowed.shape)
    top = jax.lax.stop_gradient(
        jnp.max(jnp.where(allowed, row, -jnp.inf), axis=-1, initial=-jnp.inf)
    )
    top = jnp.where(jnp.isfinite(top), top, 0)  # rows of masked items: nothing allowed
    e = jnp.where(allowed, jnp.exp(jnp.where(allowed, row, top[..., None]) - top[..., None]), 0)
    total = jnp.sum(e, axis=-1)
    lse = top + jnp.log(jnp.where(total > 0, total, 1))
    terms = _weighted(x - lse, v)
    if g is not None:
        terms = terms * g
    if items is not None:
        terms = jnp.where(items, terms, 0)
    values = -jnp.sum(terms, axis=-1)
    return core.finish(fn, values, reduction, _list_mask(items, lists), weights)


# ---------------------------------------------------------------------------
# pairwise

_PAIRWISE_RAX_NOTE = (
    "`reduction='none'` gives one value per list, the sum of its valid pairs' losses "
    "(rax's `reduce_fn=None` summed over its last axis, the pairs); `'mean'` and `'sum'` "
    "are rax's `jnp.mean` (over every valid pair of the batch) and `jnp.sum`. "
    "`item_weights` is rax's `weights` (the weight of item i multiplies pair (i, j), and "
    "is not in the mean's denominator, as in rax). `where` with fewer dimensions than "
    "`scores` masks lists; `weights` weights lists: `'mean'` is then sum_l w_l L_l / "
    "sum_l w_l P_l (L_l the sum and P_l the number of valid pairs of list l). rax's "
    "`segments` and `lambdaweight_fn` are not supported."
)


def _pairwise(
    fn: str,
    scores: ArrayLike,
    labels: ArrayLike,
    axis: int,
    item_weights: ArrayLike | None,
    reduction: str,
    where: ArrayLike | None,
    weights: ArrayLike | None,
    pair_loss,
    *,
    ordered: bool = True,
    options=lambda dtype: (),
) -> Array:
    """A pairwise loss: per list, the sum of ``v_i pair_loss(s_i - s_j, y_i - y_j,
    *options)`` over its valid pairs.

    The valid pairs of a list are those with ``y_i > y_j`` (every pair when ``ordered``
    is False) whose items are both valid. ``"mean"`` divides by the number of valid pairs:
    it is each list's ``norm`` in `core.finish`.
    """
    x, y, v, items, lists = _ranking_inputs(fn, scores, labels, axis, item_weights, where)
    extra = options(x.dtype)
    ds = x[..., :, None] - x[..., None, :]
    dy = y[..., :, None] - y[..., None, :]
    losses = pair_loss(ds, dy, *extra)
    if v is not None:
        losses = losses * v[..., :, None]
    valid = dy > 0 if ordered else jnp.ones(losses.shape, jnp.bool_)
    if items is not None:
        valid = valid & items[..., :, None] & items[..., None, :]
    # The inputs of masked items are 0 already: a single where leaves no NaN gradient.
    values = jnp.sum(jnp.where(valid, losses, 0), axis=(-2, -1))
    count = jnp.sum(valid, axis=(-2, -1)).astype(values.dtype)
    return core.finish(fn, values, reduction, lists, weights, norm=count)


@register(
    family="ranking",
    inputs="logits",
    rax="rax.pairwise_hinge_loss",
    notes={"rax": _PAIRWISE_RAX_NOTE},
)
def pairwise_hinge_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Pairwise hinge loss: a unit margin between each item and every item of lower label.

    $$
        \ell = \sum_{i, j:\; y_i > y_j} v_i \max\big(0,\, 1 - (s_i - s_j)\big)
    $$

    per list, summed over its valid pairs, with item weights $v_i$ (default 1).
    ``"mean"`` is the mean over the valid pairs of the batch,
    $\sum_l w_l \ell_l / \sum_l w_l P_l$, where $P_l$ is the number of valid pairs of
    list $l$ and $w_l$ its weight (1 without ``weights``).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (float, integer or bool is cast).
      axis: static int, the item axis (dropped from the output).
      item_weights: optional non-negative per-item weights broadcastable to
        ``scores.shape``; the weight of item $i$ multiplies every pair $(i, j)$ (rax's
        ``weights``).
      reduction: ``"mean"`` (default: over the valid pairs), ``"sum"`` or ``"none"``
        (one sum per list).
      where: a boolean mask over items with as many dimensions as ``scores`` (a pair is
        valid when both its items are), or, with fewer dimensions, a mask over lists
        broadcastable to the per-list shape.
      weights: non-negative per-list weights broadcastable to the per-list shape; in
        ``"mean"`` they weight each list's sum and its number of valid pairs alike.

    Returns:
      A scalar, or the per-list shape (``scores.shape`` without ``axis``) for
      ``reduction="none"``: each list's sum over its valid pairs, 0 for a list with none;
      float32 for half precision inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights`` or ``where`` do not fit ``scores``.
      TypeError: if ``scores`` is not floating or ``where`` is not boolean.

    Note:
      A pair is valid when $y_i > y_j$ and both its items are valid. ``"mean"`` divides
      by the number of valid pairs (weighted by ``weights``, not by the item weights),
      not by the number of lists: a list with no valid pair adds 0 to both sums, and the
      mean is 0 when no list has one. The gradient at $s_i - s_j = 1$ is the one of
      ``max(0, .)`` at 0 (0). Masked items may hold inf or NaN: they get exactly zero
      gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[2.0, 1.5, 0.0], [0.0, 1.0, 0.5]])
      >>> y = jnp.array([[2.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
      >>> jaxloss.pairwise_hinge_loss(s, y, reduction="none").tolist()  # 3 and 2 pairs
      [0.5, 3.5]
      >>> round(float(jaxloss.pairwise_hinge_loss(s, y)), 4)  # (0.5 + 3.5) / 5
      0.8

    Equivalent to ``rax.pairwise_hinge_loss(scores, labels, where=where,
    weights=item_weights, reduce_fn=None).sum(-1)`` (``reduction="none"``, item-mask
    ``where``, ``axis=-1``); without ``weights``, ``"mean"`` and ``"sum"`` are rax's
    default ``reduce_fn=jnp.mean`` and ``jnp.sum``. rax's ``segments`` and
    ``lambdaweight_fn`` are not supported (a callable option cannot be bound in the
    registry).
    """

    def pair(ds, dy):
        return jax.nn.relu(1 - ds)

    return _pairwise(
        "pairwise_hinge_loss", scores, labels, axis, item_weights, reduction, where, weights, pair
    )


@register(
    family="ranking",
    inputs="logits",
    rax="rax.pairwise_logistic_loss",
    notes={"rax": _PAIRWISE_RAX_NOTE},
)
def pairwise_logistic_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Pairwise logistic (RankNet) loss: $\log(1 + e^{-(s_i - s_j)})$ for each ordered pair.

    $$
        \ell = \sum_{i, j:\; y_i > y_j} v_i \log\big(1 + e^{-(s_i - s_j)}\big)
    $$

    per list, summed over its valid pairs, with item weights $v_i$ (default 1).
    ``"mean"`` is the mean over the valid pairs of the batch,
    $\sum_l w_l \ell_l / \sum_l w_l P_l$, where $P_l$ is the number of valid pairs of
    list $l$ and $w_l$ its weight (1 without ``weights``).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (float, integer or bool is cast).
      axis: static int, the item axis (dropped from the output).
      item_weights: optional non-negative per-item weights broadcastable to
        ``scores.shape``; the weight of item $i$ multiplies every pair $(i, j)$ (rax's
        ``weights``).
      reduction: ``"mean"`` (default: over the valid pairs), ``"sum"`` or ``"none"``
        (one sum per list).
      where: a boolean mask over items with as many dimensions as ``scores`` (a pair is
        valid when both its items are), or, with fewer dimensions, a mask over lists
        broadcastable to the per-list shape.
      weights: non-negative per-list weights broadcastable to the per-list shape; in
        ``"mean"`` they weight each list's sum and its number of valid pairs alike.

    Returns:
      A scalar, or the per-list shape (``scores.shape`` without ``axis``) for
      ``reduction="none"``: each list's sum over its valid pairs, 0 for a list with none;
      float32 for half precision inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights`` or ``where`` do not fit ``scores``.
      TypeError: if ``scores`` is not floating or ``where`` is not boolean.

    Note:
      A pair is valid when $y_i > y_j$ and both its items are valid. ``"mean"`` divides
      by the number of valid pairs (weighted by ``weights``, not by the item weights),
      not by the number of lists: a list with no valid pair adds 0 to both sums, and the
      mean is 0 when no list has one. Computed as a softplus, exact for score
      differences of any size. Masked items may hold inf or NaN: they get exactly zero
      gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
      >>> y = jnp.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
      >>> out = jaxloss.pairwise_logistic_loss(s, y, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]  # log 2 + log(1 + e); no valid pair
      [2.0064, 0.0]
      >>> round(float(jaxloss.pairwise_logistic_loss(s, y)), 4)  # over the 2 valid pairs
      1.0032

    Equivalent to ``rax.pairwise_logistic_loss(scores, labels, where=where,
    weights=item_weights, reduce_fn=None).sum(-1)`` (``reduction="none"``, item-mask
    ``where``, ``axis=-1``); without ``weights``, ``"mean"`` and ``"sum"`` are rax's
    default ``reduce_fn=jnp.mean`` and ``jnp.sum``. rax's ``segments`` and
    ``lambdaweight_fn`` are not supported (a callable option cannot be bound in the
    registry).
    """

    def pair(ds, dy):
        return jax.nn.softplus(-ds)

    return _pairwise(
        "pairwise_logistic_loss",
        scores,
        labels,
        axis,
        item_weights,
        reduction,
        where,
        weights,
        pair,
    )


@register(
    family="ranking",
    inputs="logits",
    rax="rax.pairwise_soft_zero_one_loss",
    notes={"rax": _PAIRWISE_RAX_NOTE},
)
def pairwise_soft_zero_one_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Pairwise soft zero-one loss: a sigmoid of the score difference of each ordered pair.

    $$
        \ell = \sum_{i, j:\; y_i > y_j} v_i\, \sigma\big(-(s_i - s_j)\big)
    $$

    per list, summed over its valid pairs, with item weights $v_i$ (default 1): a smooth
    count of the misordered pairs. ``"mean"`` is the mean over the valid pairs of the
    batch, $\sum_l w_l \ell_l / \sum_l w_l P_l$, where $P_l$ is the number of valid pairs
    of list $l$ and $w_l$ its weight (1 without ``weights``).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (float, integer or bool is cast).
      axis: static int, the item axis (dropped from the output).
      item_weights: optional non-negative per-item weights broadcastable to
        ``scores.shape``; the weight of item $i$ multiplies every pair $(i, j)$ (rax's
        ``weights``).
      reduction: ``"mean"`` (default: over the valid pairs), ``"sum"`` or ``"none"``
        (one sum per list).
      where: a boolean mask over items with as many dimensions as ``scores`` (a pair is
        valid when both its items are), or, with fewer dimensions, a mask over lists
        broadcastable to the per-list shape.
      weights: non-negative per-list weights broadcastable to the per-list shape; in
        ``"mean"`` they weight each list's sum and its number of valid pairs alike.

    Returns:
      A scalar, or the per-list shape (``scores.shape`` without ``axis``) for
      ``reduction="none"``: each list's sum over its valid pairs, 0 for a list with none;
      float32 for half precision inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights`` or ``where`` do not fit ``scores``.
      TypeError: if ``scores`` is not floating or ``where`` is not boolean.

    Note:
      A pair is valid when $y_i > y_j$ and both its items are valid. ``"mean"`` divides
      by the number of valid pairs (weighted by ``weights``, not by the item weights),
      not by the number of lists: a list with no valid pair adds 0 to both sums, and the
      mean is 0 when no list has one. Masked items may hold inf or NaN: they get exactly
      zero gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
      >>> y = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
      >>> out = jaxloss.pairwise_soft_zero_one_loss(s, y, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]  # 0.5 + sigma(1); sigma(1) + 0.5
      [1.2311, 1.2311]
      >>> round(float(jaxloss.pairwise_soft_zero_one_loss(s, y)), 4)  # over 4 pairs
      0.6155

    Equivalent to ``rax.pairwise_soft_zero_one_loss(scores, labels, where=where,
    weights=item_weights, reduce_fn=None).sum(-1)`` (``reduction="none"``, item-mask
    ``where``, ``axis=-1``); without ``weights``, ``"mean"`` and ``"sum"`` are rax's
    default ``reduce_fn=jnp.mean`` and ``jnp.sum``. rax's ``segments`` and
    ``lambdaweight_fn`` are not supported (a callable option cannot be bound in the
    registry).
    """

    def pair(ds, dy):
        return jax.nn.sigmoid(-ds)

    return _pairwise(
        "pairwise_soft_zero_one_loss",
        scores,
        labels,
        axis,
        item_weights,
        reduction,
        where,
        weights,
        pair,
    )


@register(
    family="ranking",
    inputs="logits",
    rax="rax.pairwise_mse_loss",
    notes={"rax": _PAIRWISE_RAX_NOTE},
)
def pairwise_mse_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Pairwise squared error: the score differences against the label differences.

    $$
        \ell = \sum_{i, j} v_i \big((y_i - y_j) - (s_i - s_j)\big)^2
    $$

    per list, summed over every pair of its valid items (both orders and $i = j$
    included, as rax), with item weights $v_i$ (default 1). ``"mean"`` is the mean over
    the valid pairs of the batch, $\sum_l w_l \ell_l / \sum_l w_l P_l$, where
    $P_l = n_l^2$ for a list of $n_l$ valid items and $w_l$ is its weight (1 without
    ``weights``).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (float, integer or bool is cast).
      axis: static int, the item axis (dropped from the output).
      item_weights: optional non-negative per-item weights broadcastable to
        ``scores.shape``; the weight of item $i$ multiplies every pair $(i, j)$ (rax's
        ``weights``).
      reduction: ``"mean"`` (default: over the valid pairs), ``"sum"`` or ``"none"``
        (one sum per list).
      where: a boolean mask over items with as many dimensions as ``scores`` (a pair is
        valid when both its items are), or, with fewer dimensions, a mask over lists
        broadcastable to the per-list shape.
      weights: non-negative per-list weights broadcastable to the per-list shape; in
        ``"mean"`` they weight each list's sum and its number of valid pairs alike.

    Returns:
      A scalar, or the per-list shape (``scores.shape`` without ``axis``) for
      ``reduction="none"``: each list's sum over its valid pairs, 0 for a list with none;
      float32 for half precision inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights`` or ``where`` do not fit ``scores``.
      TypeError: if ``scores`` is not floating or ``where`` is not boolean.

    Note:
      Every pair of valid items is valid, the $n_l$ pairs $(i, i)$ (loss 0) included:
      ``"mean"`` divides by $\sum_l w_l n_l^2$, as rax's ``jnp.mean`` does without
      weights (not by the item weights); a list with no valid item adds 0 to both sums.
      Differentiable in the scores and the labels. Masked items may hold inf or NaN:
      they get exactly zero gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[1.0, 0.0], [0.0, 0.0]])
      >>> y = jnp.array([[2.0, 0.0], [1.0, 0.0]])
      >>> jaxloss.pairwise_mse_loss(s, y, reduction="none").tolist()  # 4 pairs each
      [2.0, 2.0]
      >>> float(jaxloss.pairwise_mse_loss(s, y))  # (2 + 2) / 8
      0.5

    Equivalent to ``rax.pairwise_mse_loss(scores, labels, where=where,
    weights=item_weights, reduce_fn=None).sum(-1)`` (``reduction="none"``, item-mask
    ``where``, ``axis=-1``); without ``weights``, ``"mean"`` and ``"sum"`` are rax's
    default ``reduce_fn=jnp.mean`` and ``jnp.sum``. rax's ``segments`` and
    ``lambdaweight_fn`` are not supported (a callable option cannot be bound in the
    registry).
    """

    def pair(ds, dy):
        return jnp.square(dy - ds)

    return _pairwise(
        "pairwise_mse_loss",
        scores,
        labels,
        axis,
        item_weights,
        reduction,
        where,
        weights,
        pair,
        ordered=False,
    )


@register(
    family="ranking",
    inputs="logits",
    rax="rax.pairwise_qr_loss",
    ranges={"tau": Range(low=0.0, high=1.0, low_open=True)},
    notes={"rax": _PAIRWISE_RAX_NOTE},
)
def pairwise_qr_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    tau: float | ArrayLike = 0.5,
    squared: bool = False,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Pairwise quantile regression: a pinball loss on the score differences of ordered pairs.

    $$
        \ell = \sum_{i, j:\; y_i > y_j} v_i \Big(\tau \max(0, \Delta y - \Delta s)^q
        + (1 - \tau) \max(0, \Delta s - \Delta y)^q\Big)
    $$

    with $\Delta s = s_i - s_j$, $\Delta y = y_i - y_j$, $q = 2$ when ``squared`` else 1:
    per list, summed over its valid pairs, with item weights $v_i$ (default 1).
    ``"mean"`` is the mean over the valid pairs of the batch,
    $\sum_l w_l \ell_l / \sum_l w_l P_l$, where $P_l$ is the number of valid pairs of
    list $l$ and $w_l$ its weight (1 without ``weights``).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (float, integer or bool is cast).
      axis: static int, the item axis (dropped from the output).
      item_weights: optional non-negative per-item weights broadcastable to
        ``scores.shape``; the weight of item $i$ multiplies every pair $(i, j)$ (rax's
        ``weights``).
      tau: the quantile, in ``(0, 1]`` (a float or a JAX scalar); 0.5 is median
        regression.
      squared: static bool, square each of the two hinges.
      reduction: ``"mean"`` (default: over the valid pairs), ``"sum"`` or ``"none"``
        (one sum per list).
      where: a boolean mask over items with as many dimensions as ``scores`` (a pair is
        valid when both its items are), or, with fewer dimensions, a mask over lists
        broadcastable to the per-list shape.
      weights: non-negative per-list weights broadcastable to the per-list shape; in
        ``"mean"`` they weight each list's sum and its number of valid pairs alike.

    Returns:
      A scalar, or the per-list shape (``scores.shape`` without ``axis``) for
      ``reduction="none"``: each list's sum over its valid pairs, 0 for a list with none;
      float32 for half precision inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights`` or ``where`` do not fit ``scores``, or
        ``tau`` is not in ``(0, 1]``.
      TypeError: if ``scores`` is not floating, ``where`` is not boolean or ``squared`` is
        not a Python bool.

    Note:
      A pair is valid when $y_i > y_j$ and both its items are valid. ``"mean"`` divides
      by the number of valid pairs (weighted by ``weights``, not by the item weights),
      not by the number of lists: a list with no valid pair adds 0 to both sums, and the
      mean is 0 when no list has one. Masked items may hold inf or NaN: they get exactly
      zero gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([0.5, 0.0, 3.0])
      >>> y = jnp.array([2.0, 1.0, 0.0])
      >>> float(jaxloss.pairwise_qr_loss(s, y, tau=0.75, reduction="none"))  # one list
      6.75
      >>> float(jaxloss.pairwise_qr_loss(s, y, tau=0.75))  # over its 3 valid pairs
      2.25

    Equivalent to ``rax.pairwise_qr_loss(scores, labels, where=where,
    weights=item_weights, tau=tau, squared=squared, reduce_fn=None).sum(-1)``
    (``reduction="none"``, item-mask ``where``, ``axis=-1``); without ``weights``,
    ``"mean"`` and ``"sum"`` are rax's default ``reduce_fn=jnp.mean`` and ``jnp.sum``.
    rax's ``segments`` and ``lambdaweight_fn`` are not supported (a callable option
    cannot be bound in the registry).
    """
    fn = "pairwise_qr_loss"
    squared = core.static_bool(fn, "squared", squared)

    def pair(ds, dy, t):
        below, above = jax.nn.relu(dy - ds), jax.nn.relu(ds - dy)
        if squared:
            below, above = jnp.square(below), jnp.square(above)
        return t * below + (1 - t) * above

    def options(dtype):
        return (core.hyperparameter(fn, "tau", tau, dtype),)

    return _pairwise(
        fn, scores, labels, axis, item_weights, reduction, where, weights, pair, options=options
    )


# ---------------------------------------------------------------------------
# pointwise


def _pointwise_inputs(fn, scores, labels, axis, item_weights, where):
    """Scores, labels and item weights (or ``None``) in the compute dtype and the per-item
    mask (or ``None``): ``where`` over items (as many dimensions as ``scores``) or over
    lists (fewer, expanded along ``axis``). Masked items are replaced by 0."""
    x = core.as_logits(fn, "scores", scores)
    y = core.as_float(fn, "labels", labels)
    core.check_same_shape(fn, "scores", x, "labels", y)
    axis = core.normalize_axis(fn, axis, x.ndim, "scores")
    dtype = core.compute_dtype(x, y)
    x, y = x.astype(dtype), y.astype(dtype)
    v = None
    if item_weights is not None:
        v = core.as_float(fn, "item_weights", item_weights)
        core.check_broadcastable(fn, "item_weights", v, x.shape, "scores")
        v = jnp.broadcast_to(v.astype(dtype), x.shape)
    mask = None
    w = _check_where(fn, where)
    if w is not None:
        if w.ndim == x.ndim:
            mask = core.example_mask(fn, w, x.shape)
        else:
            lists = core.example_mask(fn, w, x.shape[:axis] + x.shape[axis + 1 :])
            mask = jnp.broadcast_to(jnp.expand_dims(lists, axis), x.shape)
        x, y = core.mask_inputs(mask, x, y)
        if v is not None:
            v = core.mask_inputs(mask, v)
    return x, y, v, mask


_POINTWISE_RAX_NOTE = (
    "`reduction='none'` is rax's `reduce_fn=None` (one value per item), `'mean'`/`'sum'` "
    "its `jnp.mean`/`jnp.sum`; `item_weights` is rax's `weights`. `where` with fewer "
    "dimensions than `scores` masks lists; `weights` weights items (jaxloss's weighted "
    "mean). rax's `segments` (which pointwise losses ignore) is not an argument."
)


@register(
    family="ranking",
    inputs="logits",
    rax="rax.pointwise_sigmoid_loss",
    notes={"rax": _POINTWISE_RAX_NOTE},
)
def pointwise_sigmoid_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Pointwise sigmoid cross-entropy of each item's score against its clipped label.

    $$
        \ell_i = v_i \Big(-\bar y_i \log \sigma(s_i) - (1 - \bar y_i)
        \log\big(1 - \sigma(s_i)\big)\Big), \qquad \bar y_i = \min(1, \max(0, y_i))
    $$

    one value per item, with item weights $v_i$ (default 1).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape, clipped to ``[0, 1]`` (float, integer
        or bool is cast).
      axis: static int, the item axis (used by a per-list ``where`` only).
      item_weights: optional non-negative per-item weights broadcastable to
        ``scores.shape`` (rax's ``weights``).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: a boolean mask over items with as many dimensions as ``scores``, or, with
        fewer dimensions, a mask over lists broadcastable to the per-list shape
        (``scores.shape`` without ``axis``).
      weights: non-negative per-item weights broadcastable to ``scores.shape``, for
        jaxloss's weighted mean.

    Returns:
      A scalar, or ``scores.shape`` for ``reduction="none"``; float32 for half precision
      inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights``, ``where`` or ``weights`` do not fit
        ``scores``.
      TypeError: if ``scores`` is not floating or ``where`` is not boolean.

    Note:
      Computed as $\mathrm{softplus}(s) - s \bar y$, exact at any score. The label
      derivative is $-s_i v_i$ on ``[0, 1]`` (its ends included, the one-sided
      derivative into the interval) and 0 outside, where the label is clipped. Masked
      items may hold inf or NaN: they get exactly zero gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([0.0, 2.0, -1.0])
      >>> y = jnp.array([1.0, 2.0, 0.0])  # 2 is clipped to 1
      >>> out = jaxloss.pointwise_sigmoid_loss(s, y, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.6931, 0.1269, 0.3133]

    Equivalent to ``rax.pointwise_sigmoid_loss(scores, labels, where=where,
    weights=item_weights, reduce_fn=None)`` (``reduction="none"``, item-mask ``where``);
    ``"mean"`` and ``"sum"`` match rax's ``reduce_fn=jnp.mean`` / ``jnp.sum``. rax's
    ``segments`` is not supported (pointwise losses ignore it). At a label of exactly 0
    or 1 rax's label gradient is half of this one's (from ``jnp.clip``).
    """
    fn = "pointwise_sigmoid_loss"
    x, y, v, mask = _pointwise_inputs(fn, scores, labels, axis, item_weights, where)
    inside = (y >= 0) & (y <= 1)
    y = jnp.where(inside, y, jnp.clip(y, 0, 1))
    values = _weighted(jax.nn.softplus(x) - x * y, v)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="ranking",
    inputs="logits",
    rax="rax.pointwise_mse_loss",
    notes={"rax": _POINTWISE_RAX_NOTE},
)
def pointwise_mse_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    item_weights: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Pointwise squared error of each item's score against its label.

    $$
        \ell_i = v_i (y_i - s_i)^2
    $$

    one value per item, with item weights $v_i$ (default 1).

    Args:
      scores: item scores ``[..., n, ...]`` with the ``n`` items of each list along
        ``axis``, floating.
      labels: relevance labels of the same shape (float, integer or bool is cast).
      axis: static int, the item axis (used by a per-list ``where`` only).
      item_weights: optional non-negative per-item weights broadcastable to
        ``scores.shape`` (rax's ``weights``).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: a boolean mask over items with as many dimensions as ``scores``, or, with
        fewer dimensions, a mask over lists broadcastable to the per-list shape
        (``scores.shape`` without ``axis``).
      weights: non-negative per-item weights broadcastable to ``scores.shape``, for
        jaxloss's weighted mean.

    Returns:
      A scalar, or ``scores.shape`` for ``reduction="none"``; float32 for half precision
      inputs.

    Raises:
      ValueError: if ``labels``, ``item_weights``, ``where`` or ``weights`` do not fit
        ``scores``.
      TypeError: if ``scores`` is not floating or ``where`` is not boolean.

    Note:
      Differentiable in the scores and the labels. Masked items may hold inf or NaN: they
      get exactly zero gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([0.5, 2.0, -1.0])
      >>> y = jnp.array([1.0, 2.0, 0.0])
      >>> jaxloss.pointwise_mse_loss(s, y, reduction="none").tolist()
      [0.25, 0.0, 1.0]

    Equivalent to ``rax.pointwise_mse_loss(scores, labels, where=where,
    weights=item_weights, reduce_fn=None)`` (``reduction="none"``, item-mask ``where``);
    ``"mean"`` and ``"sum"`` match rax's ``reduce_fn=jnp.mean`` / ``jnp.sum``. rax's
    ``segments`` is not supported (pointwise losses ignore it).
    """
    fn = "pointwise_mse_loss"
    x, y, v, mask = _pointwise_inputs(fn, scores, labels, axis, item_weights, where)
    values = _weighted(jnp.square(x - y), v)
    return core.finish(fn, values, reduction, mask, weights)
