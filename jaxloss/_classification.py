"""Softmax cross-entropy losses: probability labels, integer labels, probabilities in."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._numerics import shifted_rows, soft_label_rows
from jaxloss._registry import register

# ---------------------------------------------------------------------------
# helpers


def _scaled_by_temperature(fn: str, x: Array, temperature) -> Array:
    t = core.optional_hyperparameter(fn, "temperature", temperature, x.dtype, unless=1.0)
    return x if t is None else x / t


# ---------------------------------------------------------------------------
# probability labels


@register(
    family="classification",
    inputs="logits",
    optax="optax.losses.softmax_cross_entropy",
    torch="torch.nn.functional.cross_entropy (probability targets)",
    keras="keras.losses.CategoricalCrossentropy(from_logits=True)",
    ranges={
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
        "temperature": Range(low=0.0, low_open=True),
    },
    notes={
        "optax": (
            "jaxloss adds `label_smoothing`, `class_weights`, `temperature`; a `where` over "
            "examples or (same ndim) over classes."
        ),
    },
)
def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    label_smoothing: float | Array = 0.0,
    class_weights: ArrayLike | None = None,
    temperature: float | Array = 1.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Softmax cross-entropy with probability (or one-hot) labels.

    $$
        \ell = -\sum_c w_c\, \tilde y_c \log \mathrm{softmax}(x / T)_c, \qquad
        \tilde y = (1 - \alpha)\, y + \alpha / C
    $$

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      labels: same shape, a probability distribution over ``axis`` (one-hot or soft).
      axis: the class axis.
      label_smoothing: $\alpha \in [0, 1)$.
      class_weights: optional ``[C]`` per-class weights $w_c$ (PyTorch ``weight``;
        the ``"mean"`` still divides by the number of examples, as PyTorch does for
        probability targets).
      temperature: $T > 0$; the logits are divided by it.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples (shape of ``logits`` without ``axis``), or, with as many
        dimensions as ``logits``, a mask over classes as in optax: masked classes are left
        out of the softmax and their labels ignored; a row with every class masked is
        excluded.
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``logits`` without ``axis`` for ``"none"``; float32 for
      half-precision logits.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is complex or not numeric, if
        ``label_smoothing`` or ``temperature`` is not a real number, if ``axis`` is not an int, or
        if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits``, if ``axis`` is out of range
        for ``logits``, if ``class_weights`` does not have one entry per class, if a concrete
        ``label_smoothing`` is not in ``[0, 1)`` or ``temperature`` is not positive, if ``where`` is
        not broadcastable to the per-example loss shape or, as a class mask with the dimensions of
        ``logits``, to ``logits.shape``, or ``weights`` to the per-example loss shape, or if
        ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      A ``-inf`` logit whose label is 0 contributes 0 with a finite gradient and a finite
      forward-mode tangent. A row whose logits are all ``-inf`` gives 0 with zero gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 1.0, 0.1]])
      >>> labels = jnp.array([[1.0, 0.0, 0.0]])
      >>> round(float(jaxloss.softmax_cross_entropy(logits, labels)), 4)
      0.417

    Equivalent to ``optax.losses.softmax_cross_entropy`` (``reduction="none"``),
    ``torch.nn.functional.cross_entropy`` with probability targets and
    ``keras.losses.CategoricalCrossentropy(from_logits=True)``.
    """
    fn = "softmax_cross_entropy"
    x = core.as_logits(fn, "logits", logits)
    y = core.as_float(fn, "labels", labels)
    core.check_same_shape(fn, "logits", x, "labels", y)
    axis = core.normalize_axis(fn, axis, x.ndim)
    dtype = core.compute_dtype(x, y)
    x, y = x.astype(dtype), y.astype(dtype)
    mask, cmask = core.class_mask(fn, where, x, axis)
    if mask is not None:
        x, y = core.mask_inputs(mask, x, y, axis=axis)
    x = _scaled_by_temperature(fn, x, temperature)
    if cmask is not None:
        x = jnp.where(cmask, x, -jnp.inf)
        y = jnp.where(cmask, y, 0)
    ls = core.optional_hyperparameter(fn, "label_smoothing", label_smoothing, dtype, unless=0.0)
    if ls is not None:
        uniform: float | Array
        if cmask is None:
            uniform = 1.0 / x.shape[axis]
        else:
            allowed = jnp.sum(cmask, axis=axis, keepdims=True)
            uniform = jnp.where(cmask, 1.0 / jnp.maximum(allowed, 1), 0).astype(dtype)
        y = (1 - ls) * y + ls * uniform
    cw = core.class_weights(fn, class_weights, x.shape[axis], dtype)
    if cw is not None:
        y = y * jnp.expand_dims(cw, tuple(range(1, x.ndim - axis)))
    if axis != x.ndim - 1:
        x, y = jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1)
    m, lse, ok = shifted_rows(x)
    per_example = jnp.where(ok, soft_label_rows(x, y, m, lse), 0)
    return core.finish(fn, per_example, reduction, mask, weights)


# ---------------------------------------------------------------------------
# integer labels


def _int_ce_rows(x, y, a, u, z):
    """Per-example integer-label CE on ``[..., V]`` logits, labels already in range.

    ``loss = a*(lse - x_y) + sum_c u_c*(lse - x_c) + z*lse**2`` with ``a`` per example
    (None for 1), ``u`` broadcastable to the logits (None for no smoothing) and ``z`` a
    scalar (None for 0). Plain autodiff: on the CPU XLA fuses its backward into one pass,
    and it measured faster there than a hand-written custom VJP.
    """
    m, lse, ok = shifted_rows(x)
    picked = jnp.take_along_axis(x, y[..., None], axis=-1)[..., 0] - m
    loss = lse - picked
    if a is not None:
        loss = a * loss
    if u is not None:
        loss = loss + soft_label_rows(x, u, m, lse)
    if z is not None:
        loss = loss + z * jnp.square(lse + m)
    return jnp.where(ok, loss, 0)


@register(
    family="classification",
    inputs="logits",
    optax="optax.losses.softmax_cross_entropy_with_integer_labels",
    torch="torch.nn.functional.cross_entropy",
    keras="keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
    aliases=("sparse_softmax_cross_entropy", "softmax_cross_entropy_with_indices"),
    ranges={"label_smoothing": Range(low=0.0, high=1.0, high_open=True), "z_loss": Range(low=0.0)},
    notes={
        "optax": (
            "jaxloss adds `ignore_index`, `label_smoothing`, `class_weights`, `z_loss`; labels out"
            " of range give NaN instead of wrapping."
        ),
        "torch": (
            "`input, target` are `logits, labels`; `weight` is `class_weights`; `reduction='mean'`"
            " divides by the summed class weights as PyTorch does."
        ),
    },
)
def softmax_cross_entropy_with_integer_labels(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    ignore_index: int | None = None,
    label_smoothing: float | Array = 0.0,
    class_weights: ArrayLike | None = None,
    z_loss: float | Array = 0.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Softmax cross-entropy with integer class labels.

    $$
        \ell = (1 - \alpha)\, w_y\, (\mathrm{lse}(x) - x_y)
             + \frac{\alpha}{C} \sum_c w_c\, (\mathrm{lse}(x) - x_c)
             + \lambda_z\, \mathrm{lse}(x)^2
    $$

    computed without building a one-hot array.

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      labels: integer class indices, the shape of ``logits`` without ``axis``.
      axis: the class axis.
      ignore_index: a label value whose examples are excluded (PyTorch's
        ``ignore_index``): they give 0 and do not count in the mean.
      label_smoothing: $\alpha \in [0, 1)$, PyTorch's definition.
      class_weights: optional ``[C]`` weights $w_c$; ``"mean"`` then divides by the
        summed class weights of the targets, as PyTorch does.
      z_loss: $\lambda_z \ge 0$, the coefficient of the squared log-partition.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples, or, with as many dimensions as ``logits``, a mask over
        classes (optax's convention). An example whose true class is masked out, or whose
        classes are all masked, is excluded rather than given a negative or infinite loss.
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``labels`` for ``"none"``; float32 for half precision.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is not an integer array (class
        indices), if ``ignore_index`` is not an int or ``None``, if ``label_smoothing`` or
        ``z_loss`` is not a real number, if ``axis`` is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits`` without ``axis``, if ``axis``
        is out of range for ``logits``, if ``class_weights`` does not have one entry per class, if a
        concrete ``label_smoothing`` is not in ``[0, 1)`` or ``z_loss`` is negative, if ``where`` is
        not broadcastable to the per-example loss shape or, as a class mask with the dimensions of
        ``logits``, to ``logits.shape``, or ``weights`` to the per-example loss shape, or if
        ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      A label outside ``[0, C)`` that is not ``ignore_index`` gives NaN for its example
      (never a silent wrap of ``-1`` to the last class); wrap the call in
      [`jaxloss.checked`][jaxloss.checked] to raise an error naming the position instead. A row
      whose logits are all ``-inf`` gives 0 with zero gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 1.0, 0.1], [0.5, 1.5, 2.1]])
      >>> loss = jaxloss.softmax_cross_entropy_with_integer_labels(logits, jnp.array([0, 2]))
      >>> round(float(loss), 4)
      0.4885

    Equivalent to ``optax.losses.softmax_cross_entropy_with_integer_labels``
    (``reduction="none"``), ``torch.nn.functional.cross_entropy`` (same ``ignore_index``,
    ``label_smoothing`` and ``weight`` semantics) and
    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``.
    """
    fn = "softmax_cross_entropy_with_integer_labels"
    x = core.as_logits(fn, "logits", logits)
    labels = core.as_labels(fn, "labels", labels)
    axis = core.normalize_axis(fn, axis, x.ndim)
    core.example_shape_of_labels(fn, x, labels, axis, "logits")
    ignore_index = core.ignore_index_option(fn, ignore_index)
    dtype = core.compute_dtype(x)
    x = x.astype(dtype)
    num_classes = x.shape[axis]
    mask, cmask = core.class_mask(fn, where, x, axis)
    if axis != x.ndim - 1:
        x = jnp.moveaxis(x, axis, -1)
        cmask = None if cmask is None else jnp.moveaxis(cmask, axis, -1)

    in_range = (labels >= 0) & (labels < num_classes)
    ignored = None if ignore_index is None else labels == ignore_index
    valid = in_range if ignored is None else in_range | ignored
    core.check_labels(fn, valid, labels, num_classes, mask)
    safe_labels = jnp.where(in_range, labels, 0)

    excluded = ignored
    if cmask is not None:
        true_visible = jnp.take_along_axis(cmask, safe_labels[..., None], axis=-1)[..., 0]
        hidden = ~true_visible & in_range
        excluded = hidden if excluded is None else excluded | hidden
    keep = mask
    if excluded is not None:
        keep = ~excluded if keep is None else keep & ~excluded
    if keep is not None:
        x = jnp.where(keep[..., None], x, 0)
    if cmask is not None:
        x = jnp.where(cmask, x, -jnp.inf)

    ls = core.optional_hyperparameter(fn, "label_smoothing", label_smoothing, dtype, unless=0.0)
    cw = core.class_weights(fn, class_weights, num_classes, dtype)
    z = core.optional_hyperparameter(fn, "z_loss", z_loss, dtype, unless=0.0)

    a = None if cw is None else cw[safe_labels]
    u = None
    if ls is not None:
        a = (1 - ls) * (1 if a is None else a)
        if cmask is None:
            u = (ls / num_classes) * (jnp.ones((num_classes,), dtype) if cw is None else cw)
        else:
            allowed = jnp.sum(cmask, axis=-1, keepdims=True)
            per_class = cmask.astype(dtype) if cw is None else jnp.where(cmask, cw, 0)
            u = ls * per_class / jnp.maximum(allowed, 1)

    per_example = _int_ce_rows(x, safe_labels, a, u, z)
    per_example = jnp.where(in_range | ~valid, per_example, 0)
    per_example = jnp.where(valid, per_example, jnp.nan)
    norm = None if cw is None else cw[safe_labels]
    return core.finish(fn, per_example, reduction, keep, weights, norm=norm)


# ---------------------------------------------------------------------------
# probabilities in


@register(
    family="classification",
    inputs="probabilities",
    optax=None,
    torch="torch.nn.functional.nll_loss(torch.log(probabilities))",
    keras="keras.losses.CategoricalCrossentropy(from_logits=False)",
    ranges={"epsilon": Range(low=0.0, high=1.0, high_open=True)},
    notes={
        "torch": (
            "equals `nll_loss(log(p), target, weight=w)`, with the same weighted `'mean'` (divided"
            " by the summed class weights of the targets)."
        ),
        "keras": (
            "`from_logits=False` form; use `softmax_cross_entropy` for logits. Keras first "
            "rescales the predicted probabilities to sum to 1 over the class axis; jaxloss uses "
            "them as given (they are equal for normalized probabilities)."
        ),
    },
)
def categorical_cross_entropy(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    epsilon: float | Array = 1e-7,
    class_weights: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Cross-entropy of predicted probabilities against one-hot, soft or integer labels.

    $$
        \ell = -\sum_c w_c\, y_c \log \mathrm{clip}(p_c, \epsilon, 1)
    $$

    Args:
      probabilities: ``[..., C, ...]`` class probabilities (e.g. a softmax output).
      labels: same shape (one-hot or soft labels), or integer class indices with the
        shape of ``probabilities`` without ``axis`` (Axon's ``sparse: true``).
      axis: the class axis.
      epsilon: probabilities are clipped below at ``epsilon`` so that a 0 probability
        gives a large finite loss and a finite gradient (Keras clips the same way).
      class_weights: optional ``[C]`` per-class weights $w_c$ (Axon's
        ``class_weights``, PyTorch's ``weight``). The loss of an example becomes
        $-\sum_c w_c y_c \log p_c$, and ``"mean"`` divides by the summed weights of
        the targets, $\sum_i \sum_c w_c y_{ic}$ (the class weight of each target
        for hard labels), as ``torch.nn.functional.nll_loss`` and
        [`jaxloss.softmax_cross_entropy_with_integer_labels`][] do.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: boolean mask over examples (the shape without ``axis``).
      weights: non-negative per-example weights.

    Returns:
      A scalar, or the shape without ``axis`` for ``"none"``.

    Raises:
      TypeError: if ``probabilities`` is not floating, if ``labels`` is complex or not numeric, if
        ``epsilon`` is not a real number, if ``axis`` is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` has neither the shape of ``probabilities`` nor, as integer class
        indices, that shape without ``axis``, if ``axis`` is out of range for ``probabilities``, if
        ``class_weights`` does not have one entry per class, if a concrete ``epsilon`` is not in
        ``[0, 1)``, if ``where`` or ``weights`` is not broadcastable to the per-example loss shape,
        or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
      >>> y = jnp.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
      >>> [round(float(v), 4) for v in jaxloss.categorical_cross_entropy(p, y, reduction="none")]
      [0.0513, 2.3026]

    Equivalent to ``keras.losses.CategoricalCrossentropy()`` (probabilities in; Keras
    first rescales the probabilities to sum to 1 over the class axis, jaxloss uses them as
    given, so the two agree on normalized probabilities),
    Axon's ``categorical_cross_entropy`` and ``torch.nn.functional.nll_loss`` applied to
    ``log(probabilities)``. For logits use [`softmax_cross_entropy`][jaxloss.softmax_cross_entropy].
    """
    fn = "categorical_cross_entropy"
    p = core.as_logits(fn, "probabilities", probabilities)
    axis = core.normalize_axis(fn, axis, p.ndim, "probabilities")
    num_classes = p.shape[axis]
    y = jnp.asarray(labels)
    if jnp.issubdtype(y.dtype, jnp.integer) and y.ndim == p.ndim - 1:
        expected = core.example_shape_of_labels(fn, p, y, axis, "probabilities")
        valid = (y >= 0) & (y < num_classes)
        core.check_labels(fn, valid, y, num_classes, core.example_mask(fn, where, expected))
        y = jax.nn.one_hot(jnp.where(valid, y, -1), num_classes, axis=axis, dtype=p.dtype)
        y = jnp.where(jnp.expand_dims(valid, axis), y, jnp.nan)
    p, y, mask, axis = core.distribution_inputs(
        fn, p, y, where, axis, names=("probabilities", "labels"), fill=1.0
    )
    eps = core.hyperparameter(fn, "epsilon", epsilon, p.dtype)
    logp = jnp.log(jnp.clip(p, eps, 1.0))
    cw = core.class_weights(fn, class_weights, num_classes, p.dtype)
    norm = None
    if cw is not None:
        y = y * jnp.expand_dims(cw, tuple(range(1, p.ndim - axis)))
        # "mean" divides by the summed class weights of the targets, as torch's nll_loss
        # and softmax_cross_entropy_with_integer_labels do (for soft labels: sum_c w_c y_c).
        norm = jnp.sum(y, axis=axis)
    per_example = -jnp.sum(y * logp, axis=axis)
    return core.finish(fn, per_example, reduction, mask, weights, norm=norm)


# ---------------------------------------------------------------------------
# focal, poly and z losses, label smoothing


def _class_inputs(fn: str, logits, labels, where, axis: int):
    """Logits and probability labels of a softmax loss, ``axis`` moved last.

    Returns ``(x, y, mask)``: examples masked by ``where`` have their inputs replaced by
    0 (double where; ``mask`` is the per-example mask or None), and classes masked by a
    class-shaped ``where`` get logit ``-inf`` and label 0 (left out of the softmax, as in
    optax).
    """
    x = core.as_logits(fn, "logits", logits)
    y = core.as_float(fn, "labels", labels)
    core.check_same_shape(fn, "logits", x, "labels", y)
    axis = core.normalize_axis(fn, axis, x.ndim)
    dtype = core.compute_dtype(x, y)
    x, y = x.astype(dtype), y.astype(dtype)
    mask, cmask = core.class_mask(fn, where, x, axis)
    if mask is not None:
        x, y = core.mask_inputs(mask, x, y, axis=axis)
    if cmask is not None:
        x = jnp.where(cmask, x, -jnp.inf)
        y = jnp.where(cmask, y, 0)
    if axis != x.ndim - 1:
        x, y = jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1)
    return x, y, mask


def _softmax_parts(x: Array):
    """``log p``, ``1 - p`` and ``log(1 - p)`` of ``p = softmax(x)`` over the last axis.

    Everything is measured from the top logit of each row, so that ``1 - p`` of the most
    likely class is the sum of the other probabilities, ``s / (1 + s)`` with
    ``s = sum_{j != top} exp(x_j - x_top)`` and ``log s`` a log-sum-exp of the other
    logits, instead of a cancelling ``1 - p``: ``log(1 - p_top)`` stays exact (e.g.
    ``-160`` for logits ``[80, -80]``) even where ``s`` underflows, with bounded first and
    second derivatives. Every other class has ``p <= 1/2``, where ``log1p(-p)`` is
    accurate. Returns ``(log_p, one_minus_p, log_one_minus_p, ok)``; a row whose top logit
    is infinite (all ``-inf``, or a ``+inf``) has ``ok`` False and is computed on zeros
    (callers zero its loss, as the cross-entropies do); a NaN logit propagates. When no
    other class is finite (``C == 1`` or all others ``-inf``) the top class has
    ``log p == 0`` exactly and ``log(1 - p)`` is reported as 0 rather than ``-inf``:
    callers multiply it (through ``exp(gamma * .)``) by that ``log p``, so the product is
    still exactly 0, and no ``0 * inf`` reaches a gradient.
    """
    num_classes = x.shape[-1]
    top = jnp.argmax(x, axis=-1)
    ok = ~jnp.isinf(jnp.take_along_axis(x, top[..., None], axis=-1)[..., 0])
    x = jnp.where(ok[..., None], x, 0)
    # x_top itself (not jnp.max, whose derivative is split between ties) is the reference,
    # so the top entry of z is identically 0 and the formulas are exact for any x.
    ref = jnp.take_along_axis(x, top[..., None], axis=-1)
    z = x - ref
    is_top = jnp.arange(num_classes) == top[..., None]
    z_rest = jnp.where(is_top, -jnp.inf, z)
    m2 = jax.lax.stop_gradient(jnp.max(z_rest, axis=-1))
    has_rest = jnp.isfinite(m2)
    m2 = jnp.where(has_rest, m2, 0)
    r = jnp.sum(jnp.exp(z_rest - m2[..., None]), axis=-1)
    log_s = m2 + jnp.log(jnp.where(has_rest, r, 1))
    s = jnp.exp(m2) * r
    log_norm = jnp.log1p(s)
    log_p = z - log_norm[..., None]
    p_other = jnp.where(is_top, 0, jnp.exp(log_p))
    log1m_top = jnp.where(has_rest, log_s - log_norm, 0)
    one_minus_p = jnp.where(is_top, (s / (1 + s))[..., None], 1 - p_other)
    log_one_minus_p = jnp.where(is_top, log1m_top[..., None], jnp.log1p(-p_other))
    return log_p, one_minus_p, log_one_minus_p, ok


@register(
    family="classification",
    inputs="logits",
    ranges={"gamma": Range(low=0.0), "alpha": Range(low=0.0)},
)
def softmax_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float | ArrayLike | None = None,
    gamma: float | Array = 2.0,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multiclass focal loss of logits against probability (or one-hot) labels.

    $$
        \ell = -\sum_c \alpha_c\, y_c\, (1 - p_c)^\gamma \log p_c, \qquad
        p = \mathrm{softmax}(x)
    $$

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      labels: same shape, a probability distribution over ``axis`` (one-hot or soft).
      alpha: ``None`` (all 1), a scalar, or a ``[C]`` array of per-class weights
        $\alpha_c \ge 0$.
      gamma: focusing exponent $\gamma \ge 0$; ``gamma=0`` is the (``alpha``-weighted)
        [`softmax_cross_entropy`][jaxloss.softmax_cross_entropy].
      axis: the class axis.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples (shape of ``logits`` without ``axis``), or, with as many
        dimensions as ``logits``, a mask over classes (as in
        [`softmax_cross_entropy`][jaxloss.softmax_cross_entropy]).
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``logits`` without ``axis`` for ``"none"``; float32 for
      half-precision logits.

    Raises:
      ValueError: if a concrete ``gamma`` or ``alpha`` is negative, or ``alpha`` is an
        array whose shape is not ``(C,)``.

    Note:
      $\log p$ is a log-softmax and $(1 - p_c)^\gamma$ is
      $\exp(\gamma \log(1 - p_c))$, with $1 - p$ of the most likely class
      taken as the sum of the others (no cancellation). At ``gamma=0`` the factor is
      exactly 1 with zero derivative, so gradients and Hessians are finite at logits of
      ``+-80`` and beyond. A ``-inf`` logit whose label is 0 contributes 0 with a finite
      gradient; a row whose logits are all ``-inf`` gives 0 with zero gradient. A NaN
      logit gives NaN for its example.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 1.0, 0.1]])
      >>> labels = jnp.array([[1.0, 0.0, 0.0]])
      >>> round(float(jaxloss.softmax_focal_loss(logits, labels)), 4)
      0.0485

    Equivalent to the multiclass focal loss of Lin et al. (2017) as in kornia's
    ``focal_loss`` and scirs2-neural's ``FocalLoss`` (both on probabilities; here on
    logits, with a per-class ``alpha``); with ``gamma=0`` and ``alpha=None`` it is
    ``optax.losses.softmax_cross_entropy``.
    """
    fn = "softmax_focal_loss"
    x, y, mask = _class_inputs(fn, logits, labels, where, axis)
    num_classes = x.shape[-1]
    g = core.optional_hyperparameter(fn, "gamma", gamma, x.dtype, unless=0.0)
    if num_classes == 0:  # no classes: nothing to predict, as in the cross-entropies
        return core.finish(fn, jnp.zeros(x.shape[:-1], x.dtype), reduction, mask, weights)
    log_p, _, log_one_minus_p, ok = _softmax_parts(x)
    # Only a -inf logit whose label is 0 has its log p (-inf) replaced by 0; every other
    # class keeps y_c log p_c, so the label derivative is exact where a label is 0.
    terms = y * jnp.where((y != 0) | (log_p != -jnp.inf), log_p, 0)
    if g is not None:
        terms = jnp.exp(g * log_one_minus_p) * terms
    if alpha is not None:
        if isinstance(alpha, list | tuple):  # e.g. from Loss.config(): range-check it too
            alpha = np.asarray(alpha)
        a = core.hyperparameter(fn, "alpha", alpha, x.dtype)
        if a.ndim != 0 and a.shape != (num_classes,):
            raise ValueError(
                f"{fn}: argument 'alpha' must be a scalar or have shape ({num_classes},) "
                f"(one weight per class), got {tuple(a.shape)}"
            )
        terms = a * terms
    values = jnp.where(ok, -jnp.sum(terms, axis=-1), 0)
    return core.finish(fn, values, reduction, mask, weights)


class _PolyParts(NamedTuple):
    """Row statistics of the poly-1 loss (see `_poly_parts`); ``[...]`` per row unless
    marked ``[..., C]``."""

    ok: Array  # the row's top logit is finite
    z: Array  # [..., C] logits minus the top logit
    is_top: Array  # [..., C] the top class
    e: Array  # [..., C] exp(z)
    s: Array  # sum of e over the other classes
    norm: Array  # 1 + s, the softmax denominator
    total: Array  # sum of the labels, Y
    y_top: Array  # the label of the top class
    ye: Array  # sum of y * e over the other classes
    ce: Array  # the cross-entropy term
    poly: Array  # the polynomial term, sum_c y_c (1 - p_c)


def _poly_parts(x: Array, y: Array) -> _PolyParts:
    """Row statistics of the poly-1 loss, measured from the top logit of each row.

    With ``z = x - x_top``, ``e = exp(z)`` and ``s = sum_{j != top} e_j`` (so
    ``p = e / (1 + s)``), the loss is computed from row sums only:
    ``CE = Y log1p(s) - sum_c y_c z_c`` and
    ``sum_c y_c (1 - p_c) = (Y - y_top) - sum_{c != top} y_c e_c / (1 + s)
    + y_top s / (1 + s)``, with ``Y = sum_c y_c``. ``1 - p_top = s / (1 + s)`` never
    cancels (every other class has ``p <= 1/2``), and both sums share one pass over the
    logits and labels. A row whose top logit is infinite (all ``-inf``, or a ``+inf``) is
    computed on zeros and flagged in ``ok``.
    """
    top = jnp.argmax(x, axis=-1)[..., None]
    ok = ~jnp.isinf(jnp.take_along_axis(x, top, axis=-1)[..., 0])
    x = jnp.where(ok[..., None], x, 0)
    z = x - jnp.take_along_axis(x, top, axis=-1)
    is_top = jnp.arange(x.shape[-1]) == top
    e = jnp.exp(z)
    s = jnp.sum(jnp.where(is_top, 0, e), axis=-1)
    nz = y != 0
    total = jnp.sum(y, axis=-1)
    y_top = jnp.take_along_axis(y, top, axis=-1)[..., 0]
    yz = jnp.sum(jnp.where(nz, y * jnp.where(nz, z, 0), 0), axis=-1)
    ye = jnp.sum(jnp.where(is_top, 0, y * e), axis=-1)
    norm = 1 + s
    ce = total * jnp.log1p(s) - yz
    poly = (total - y_top) - ye / norm + y_top * (s / norm)
    return _PolyParts(ok, z, is_top, e, s, norm, total, y_top, ye, ce, poly)


@jax.custom_jvp
def _poly_rows(x: Array, y: Array, eps: Array) -> Array:
    """``-sum_c y_c log p_c + eps sum_c y_c (1 - p_c)`` over the last axis, with
    closed-form derivatives (one fused elementwise pass each way)."""
    r = _poly_parts(x, y)
    return jnp.where(r.ok, r.ce + eps * r.poly, 0)


def _poly_rows_jvp(primals, tangents):
    # d/dx_j = p_j (Y + eps y.p) - y_j - eps y_j p_j;
    # d/dy_j = -log p_j + eps (1 - p_j) (0 where log p_j = -inf); d/deps = sum y (1 - p).
    # Symbolic zeros skip the label and epsilon terms when they are not differentiated.
    x, y, eps = primals
    dx, dy, deps = tangents
    r = _poly_parts(x, y)
    out = jnp.where(r.ok, r.ce + eps * r.poly, 0)
    p = r.e / r.norm[..., None]
    tangent = jnp.zeros_like(out)
    if not isinstance(dx, SymbolicZero):
        y_dot_p = (r.ye + r.y_top) / r.norm
        grad_x = p * (r.total + eps * y_dot_p)[..., None] - y - eps * y * p
        tangent = tangent + jnp.sum(grad_x * dx, axis=-1)
    if not isinstance(dy, SymbolicZero):
        log_p = r.z - jnp.log1p(r.s)[..., None]
        one_minus_p = jnp.where(r.is_top, (r.s / r.norm)[..., None], 1 - p)
        grad_y = jnp.where(jnp.isfinite(log_p), eps * one_minus_p - log_p, 0)
        tangent = tangent + jnp.sum(grad_y * dy, axis=-1)
    if not isinstance(deps, SymbolicZero):
        tangent = tangent + r.poly * deps
    return out, jnp.where(r.ok, tangent, 0)


_poly_rows.defjvp(_poly_rows_jvp, symbolic_zeros=True)


@register(
    family="classification",
    inputs="logits",
    optax="optax.losses.poly_loss_cross_entropy",
    ranges={"epsilon": Range()},
)
def poly_loss_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    epsilon: float | Array = 2.0,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Poly-1 loss: softmax cross-entropy plus a weighted first polynomial term.

    $$
        \ell = -\sum_c y_c \log p_c + \epsilon \sum_c y_c (1 - p_c), \qquad
        p = \mathrm{softmax}(x)
    $$

    For normalized labels the second sum is $1 - p_t$ with
    $p_t = \sum_c y_c p_c$ (Leng et al., 2022, "PolyLoss").

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      labels: same shape, a probability distribution over ``axis`` (one-hot or soft).
      epsilon: coefficient $\epsilon$ of the polynomial term, any real (the paper
        uses 2 for classification and -1 for detection; for ``epsilon >= -1`` and
        normalized labels the loss is non-negative).
      axis: the class axis.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples, or, with as many dimensions as ``logits``, a mask
        over classes (optax's ``where``).
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``logits`` without ``axis`` for ``"none"``; float32 for
      half-precision logits.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is complex or not numeric, if
        ``epsilon`` is not a real number, if ``axis`` is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits``, if ``axis`` is out of range
        for ``logits``, if a concrete ``epsilon`` is NaN, if ``where`` is not broadcastable to the
        per-example loss shape or, as a class mask with the dimensions of ``logits``, to
        ``logits.shape``, or ``weights`` to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      $1 - p$ of the most likely class is computed as the sum of the other
      probabilities, so confident predictions do not lose the polynomial term to
      cancellation. A ``-inf`` logit whose label is 0 contributes 0 with a finite
      gradient; a row whose logits are all ``-inf`` gives 0 with zero gradient. A NaN
      logit gives NaN for its example.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 1.0, 0.1]])
      >>> labels = jnp.array([[1.0, 0.0, 0.0]])
      >>> round(float(jaxloss.poly_loss_cross_entropy(logits, labels)), 4)
      1.099

    Equivalent to ``optax.losses.poly_loss_cross_entropy(logits, labels,
    epsilon=epsilon)`` (``reduction="none"``).
    """
    fn = "poly_loss_cross_entropy"
    x, y, mask = _class_inputs(fn, logits, labels, where, axis)
    eps = core.hyperparameter(fn, "epsilon", epsilon, x.dtype)
    if x.shape[-1] == 0:  # no classes: nothing to predict, as in the cross-entropies
        values = jnp.zeros(x.shape[:-1], x.dtype)
    else:
        values = _poly_rows(x, y, eps)
    return core.finish(fn, values, reduction, mask, weights)


@register(family="classification", inputs="logits")
def z_loss(
    logits: ArrayLike,
    *,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""The squared log-partition function of the logits (PaLM's auxiliary "z-loss").

    $$
        \ell = \Bigl(\log \sum_c e^{x_c}\Bigr)^2
    $$

    Multiply it by a small coefficient (PaLM uses ``1e-4``) and add it to the
    cross-entropy to keep the softmax normalizer near 1;
    [`softmax_cross_entropy_with_integer_labels`][jaxloss.softmax_cross_entropy_with_integer_labels]
    has it built in as ``z_loss=``.

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      axis: the class axis.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples, or, with as many dimensions as ``logits``, a mask
        over classes (masked classes are left out of the log-sum-exp).
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``logits`` without ``axis`` for ``"none"``; float32 for
      half-precision logits.

    Raises:
      TypeError: if ``logits`` is not floating, if ``axis`` is not an int, or if ``where`` is not
        boolean.
      ValueError: if ``axis`` is out of range for ``logits``, if ``where`` is not broadcastable to
        the per-example loss shape or, as a class mask with the dimensions of ``logits``, to
        ``logits.shape``, or ``weights`` to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      Computed as a max-shifted log-sum-exp, so the log-sum-exp itself is finite for any
      finite logits; its square overflows to ``inf`` once it exceeds the dtype's range
      (a log-sum-exp above about ``1.8e19`` in float32, e.g. a logit of ``1e20``). A row whose
      logits are all ``-inf`` (or all masked) gives 0 with zero gradient, as in the
      cross-entropies, rather than ``inf``; so does a row with a ``+inf`` logit. A NaN
      logit gives NaN for its row.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.z_loss(jnp.array([[1.0, 2.0, 3.0]]))), 4)
      11.6118

    Equivalent to the ``z_loss`` term of T5X's / PaLM's cross-entropy (``lse ** 2``
    before its coefficient).
    """
    fn = "z_loss"
    x = core.as_logits(fn, "logits", logits)
    axis = core.normalize_axis(fn, axis, x.ndim)
    x = x.astype(core.compute_dtype(x))
    mask, cmask = core.class_mask(fn, where, x, axis)
    if mask is not None:
        x = core.mask_inputs(mask, x, axis=axis)
    if cmask is not None:
        x = jnp.where(cmask, x, -jnp.inf)
    if axis != x.ndim - 1:
        x = jnp.moveaxis(x, axis, -1)
    # A max-shifted log-sum-exp; rows without a finite max (all -inf, or a +inf) are
    # zeroed (double where), a NaN logit propagates.
    m, lse, ok = shifted_rows(x)
    ok = ok & (m != jnp.inf)
    values = jnp.where(ok, jnp.square(lse + m), 0)
    return core.finish(fn, values, reduction, mask, weights)


@core.declare_ranges({"alpha": Range(low=0.0, high=1.0)})
def smooth_labels(
    labels: ArrayLike,
    alpha: float | Array,
    *,
    axis: int = -1,
    where: ArrayLike | None = None,
) -> Array:
    r"""Label smoothing: mixes labels with the uniform distribution over the classes.

    $$
        \tilde y_c = (1 - \alpha)\, y_c + \frac{\alpha}{C}
    $$

    Not a loss: the result is meant for a cross-entropy such as
    [`softmax_cross_entropy`][jaxloss.softmax_cross_entropy] (which also has ``label_smoothing=``
    built in).

    Args:
      labels: ``[..., C, ...]`` one-hot or probability labels; float, int or bool.
      alpha: smoothing factor $\alpha \in [0, 1]$, a Python float or a JAX scalar
        (traced values are fine: ``jax.grad``/``jax.vmap`` over it work).
      axis: the class axis (static).
      where: optional boolean class mask broadcastable to ``labels.shape``: masked
        classes get no mass (0) and $\alpha$ is spread over the unmasked classes
        only, $C$ being their number in each row.

    Returns:
      An array of ``labels.shape``; float32 for half-precision, integer or bool labels.

    Raises:
      ValueError: if a concrete ``alpha`` is outside ``[0, 1]``.

    Note:
      A row whose classes are all masked gives zeros (never inf or NaN from
      $\alpha / 0$).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.smooth_labels(jnp.array([0.0, 1.0, 0.0, 0.0]), 0.2)
      Array([0.05, 0.85, 0.05, 0.05], dtype=float32)

    Equivalent to ``optax.smooth_labels(labels, alpha)``; with ``where``, optax still
    gives masked classes mass and divides by the unmasked count, here they get none.
    """
    fn = "smooth_labels"
    y = core.as_float(fn, "labels", labels)
    axis = core.normalize_axis(fn, axis, y.ndim, "labels")
    y = y.astype(core.compute_dtype(y))
    a = core.hyperparameter(fn, "alpha", alpha, y.dtype)
    if where is None:
        return (1 - a) * y + a / y.shape[axis]
    w = jnp.asarray(where)
    if w.dtype != jnp.bool_:
        raise TypeError(f"{fn}: argument 'where' must be a boolean mask, got {w.dtype}")
    core.check_broadcastable(fn, "where", w, y.shape, "labels")
    w = jnp.broadcast_to(w, y.shape)
    count = jnp.sum(w, axis=axis, keepdims=True).astype(y.dtype)
    uniform = a / jnp.maximum(count, 1)
    return jnp.where(w, (1 - a) * y + uniform, 0)
