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


def _merge_class_axes(fn: str, axes: tuple[int, ...], x: Array, *others: Array, where):
    """Moves the class ``axes`` of ``x`` last, in their order, and merges them into one.

    ``others`` (arrays of ``x``'s shape, e.g. probability labels) are merged the same way.
    A ``where`` with the dimensions of ``x`` is a class mask and is merged too; any other
    ``where`` is checked against, and broadcast to, the per-example shape (``x`` without
    ``axes``). Returns ``(x, others, where)``; no transpose when ``axes`` are already the
    trailing axes in order.
    """
    batch = tuple(a for a in range(x.ndim) if a not in axes)
    perm = batch + axes
    example_shape = tuple(x.shape[a] for a in batch)
    num_classes = core.prod(x.shape[a] for a in axes)

    def merge(a: Array) -> Array:
        if perm != tuple(range(a.ndim)):
            a = jnp.transpose(a, perm)
        return a.reshape(example_shape + (num_classes,))

    if where is not None:
        w = jnp.asarray(where)
        if w.dtype != jnp.bool_:
            raise TypeError(f"{fn}: argument 'where' must be a boolean mask, got {w.dtype}")
        if w.ndim == x.ndim and x.ndim > 0:
            core.check_broadcastable(fn, "where", w, x.shape, "logits")
            where = merge(jnp.broadcast_to(w, x.shape))
        else:
            where = core.example_mask(fn, w, example_shape)
    return merge(x), tuple(merge(a) for a in others), where


def _merged_class_weights(fn: str, class_weights, class_shape: tuple[int, ...], dtype):
    """``core.class_weights`` for the class axis, or the merged class axes of shape
    ``class_shape``, whose weights may then also be given in that shape."""
    num_classes = core.prod(class_shape)
    if class_weights is None or len(class_shape) == 1:
        return core.class_weights(fn, class_weights, num_classes, dtype)
    cw = core.as_float(fn, "class_weights", class_weights, dtype)
    if cw.shape == class_shape:
        return cw.reshape(num_classes)
    if cw.shape != (num_classes,):
        raise ValueError(
            f"{fn}: argument 'class_weights' must have shape ({num_classes},) or {class_shape} "
            f"(one weight per class of the merged class axes), got {tuple(cw.shape)}"
        )
    return cw


# ---------------------------------------------------------------------------
# probability labels


@register(
    family="classification",
    inputs="logits",
    optax="optax.losses.softmax_cross_entropy",
    torch="torch.nn.functional.cross_entropy (probability targets)",
    keras="keras.losses.CategoricalCrossentropy(from_logits=True)",
    aliases=("safe_softmax_cross_entropy",),
    ranges={
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
        "temperature": Range(low=0.0, low_open=True),
    },
    notes={
        "optax": (
            "jaxloss adds `label_smoothing`, `class_weights`, `temperature`; a `where` over "
            "examples or (same ndim) over classes. A `-inf` logit whose label is 0 contributes 0 "
            "(optax's `softmax_cross_entropy` gives NaN there), which is what "
            "`optax.losses.safe_softmax_cross_entropy` computes: the alias "
            "`safe_softmax_cross_entropy` is this function. Differences from the safe variant: "
            "at such a logit the label derivative is finite (the log-sum-exp of the row, optax: "
            "+inf), a row of only `-inf` logits gives 0 (optax: NaN), and labels must have the "
            "shape of the logits (optax broadcasts them)."
        ),
    },
)
def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
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
      axis: the class axis; or a tuple of class axes, merged in the tuple's order into one
        class axis of their combined size $C$ (as optax does); or ``None``, every axis.
      label_smoothing: $\alpha \in [0, 1)$.
      class_weights: optional ``[C]`` per-class weights $w_c$ (PyTorch ``weight``;
        the ``"mean"`` still divides by the number of examples, as PyTorch does for
        probability targets); with several class axes, ``[C]`` in their merged order or
        the shape of those axes.
      temperature: $T > 0$; the logits are divided by it.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples (shape of ``logits`` without ``axis``), or, with as many
        dimensions as ``logits``, a mask over classes as in optax: masked classes are left
        out of the softmax and their labels ignored; a row with every class masked is
        excluded.
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``logits`` without ``axis`` (without every class axis) for
      ``"none"``; float32 for half-precision logits.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is complex or not numeric, if
        ``label_smoothing`` or ``temperature`` is not a real number, if ``axis`` is not an int, a
        tuple of ints or ``None``, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits``, if ``axis`` is out of range
        for ``logits`` or names an axis twice, if ``class_weights`` does not have one entry per
        class, if a concrete
        ``label_smoothing`` is not in ``[0, 1)`` or ``temperature`` is not positive, if ``where`` is
        not broadcastable to the per-example loss shape or, as a class mask with the dimensions of
        ``logits``, to ``logits.shape``, or ``weights`` to the per-example loss shape, or if
        ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      A ``-inf`` logit whose label is 0 contributes 0 (the convention $0 \log 0 = 0$) with
      a finite gradient and a finite forward-mode tangent, so this function is also
      ``safe_softmax_cross_entropy`` (optax's name for that convention). A row whose logits
      are all ``-inf`` gives 0 with zero gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 1.0, 0.1]])
      >>> labels = jnp.array([[1.0, 0.0, 0.0]])
      >>> round(float(jaxloss.softmax_cross_entropy(logits, labels)), 4)
      0.417

    Equivalent to ``optax.losses.softmax_cross_entropy`` (``reduction="none"``; tuple and
    ``None`` axes alike) and, at ``-inf`` logits, ``optax.losses.safe_softmax_cross_entropy``,
    ``torch.nn.functional.cross_entropy`` with probability targets and
    ``keras.losses.CategoricalCrossentropy(from_logits=True)``.
    """
    fn = "softmax_cross_entropy"
    x = core.as_logits(fn, "logits", logits)
    y = core.as_float(fn, "labels", labels)
    core.check_same_shape(fn, "logits", x, "labels", y)
    axes = core.normalize_axes(fn, axis, x.ndim)
    if isinstance(axes, tuple):
        class_shape = tuple(x.shape[a] for a in axes)
        x, (y,), where = _merge_class_axes(fn, axes, x, y, where=where)
        axis = int(x.ndim) - 1
    else:
        axis = axes
        class_shape = (x.shape[axis],)
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
    cw = _merged_class_weights(fn, class_weights, class_shape, dtype)
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
    axis: int | tuple[int, ...] = -1,
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
      axis: the class axis, or a tuple of class axes merged in the tuple's order into one
        class axis of their combined size $C$ (as optax does): a label is then the
        row-major flat index over those axes (``jnp.ravel_multi_index`` in the tuple's
        order).
      ignore_index: a label value whose examples are excluded (PyTorch's
        ``ignore_index``): they give 0 and do not count in the mean.
      label_smoothing: $\alpha \in [0, 1)$, PyTorch's definition.
      class_weights: optional ``[C]`` weights $w_c$ (with several class axes, in their
        merged order, or the shape of those axes); ``"mean"`` then divides by the
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
        ``z_loss`` is not a real number, if ``axis`` is not an int or a tuple of ints, or if
        ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits`` without ``axis``, if ``axis``
        is out of range for ``logits`` or names an axis twice, if ``class_weights`` does not have
        one entry per class, if a
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
    axes = core.normalize_axes(fn, axis, x.ndim, allow_none=False)
    if isinstance(axes, tuple):
        class_shape = tuple(x.shape[a] for a in axes)
        example_shape = tuple(s for a, s in enumerate(x.shape) if a not in axes)
        if labels.shape != example_shape:
            raise ValueError(
                f"{fn}: argument 'labels' must have the shape of 'logits' without axes {axes}, "
                f"got logits.shape={tuple(x.shape)} and labels.shape={tuple(labels.shape)}"
            )
        x, _, where = _merge_class_axes(fn, axes, x, where=where)
        axis = int(x.ndim) - 1
    else:
        axis = axes
        class_shape = (x.shape[axis],)
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
    cw = _merged_class_weights(fn, class_weights, class_shape, dtype)
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


@register(
    family="classification",
    inputs="log_probabilities",
    torch="torch.nn.functional.nll_loss",
    aliases=("negative_log_likelihood",),
    notes={
        "torch": (
            "`input, target` are `log_probabilities, labels`; `weight` is `class_weights`; the "
            "class axis is the last by default: pass `axis=1` for PyTorch's `[N, C, d1, ...]` "
            "layout. `reduction='mean'` divides by the summed class weights of the counted "
            "targets as PyTorch does, but gives 0 when every target is ignored (PyTorch: NaN); a "
            "label out of range gives NaN for its example (PyTorch raises)."
        ),
    },
)
def nll_loss(
    log_probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    ignore_index: int | None = None,
    class_weights: ArrayLike | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Negative log-likelihood of integer labels under given log-probabilities.

    $$
        \ell = -w_y \log p_y, \qquad
        \mathrm{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}
    $$

    The log-probability of each example's label is picked, negated and weighted by the
    label's class weight $w_y$; nothing is normalized, so ``log_probabilities`` is
    typically a ``log_softmax`` output (``nll_loss(log_softmax(x), y)`` is
    [`softmax_cross_entropy_with_integer_labels`][jaxloss.softmax_cross_entropy_with_integer_labels]).

    Args:
      log_probabilities: ``[..., C, ...]`` log-probabilities (any floating scores are used
        as given).
      labels: integer class indices, the shape of ``log_probabilities`` without ``axis``.
      axis: the class axis (``axis=1`` for PyTorch's ``[N, C, d1, ...]`` layout).
      ignore_index: a label value whose examples are excluded (PyTorch's
        ``ignore_index``): they give 0, get zero gradient and do not count in the mean.
      class_weights: optional ``[C]`` weights $w_c$ (PyTorch's ``weight``); ``"mean"``
        then divides by the summed class weights of the counted targets, as PyTorch does.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: boolean mask over examples (the shape of ``labels``).
      weights: non-negative per-example weights (they multiply the class weights, in the
        ``"mean"`` denominator too).

    Returns:
      A scalar, or the shape of ``labels`` for ``"none"``; float32 for half precision.

    Raises:
      TypeError: if ``log_probabilities`` is not floating, if ``labels`` is not an integer array
        (class indices), if ``ignore_index`` is not an int or ``None``, if ``axis`` is not an int,
        or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``log_probabilities`` without ``axis``,
        if ``axis`` is out of range for ``log_probabilities``, if ``class_weights`` does not have
        one entry per class, if ``where`` or ``weights`` is not broadcastable to the per-example
        loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      A label outside ``[0, C)`` that is not ``ignore_index`` gives NaN for its example;
      [`jaxloss.checked`][jaxloss.checked] raises an error naming its position instead. When
      every target is ignored, masked or of class weight 0, ``"mean"`` is 0 with zero
      gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> log_p = jnp.log(jnp.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]))
      >>> round(float(jaxloss.nll_loss(log_p, jnp.array([0, 2]))), 4)
      0.4338

    Equivalent to ``torch.nn.functional.nll_loss`` (``torch.nn.NLLLoss``) with the same
    ``weight``, ``ignore_index`` and ``reduction`` semantics (class axis ``axis=1`` for
    PyTorch's layout).
    """
    fn = "nll_loss"
    x = core.as_logits(fn, "log_probabilities", log_probabilities)
    y = core.as_labels(fn, "labels", labels)
    axis = core.normalize_axis(fn, axis, x.ndim, "log_probabilities")
    example_shape = core.example_shape_of_labels(fn, x, y, axis, "log_probabilities")
    ignore_index = core.ignore_index_option(fn, ignore_index)
    keep = core.example_mask(fn, where, example_shape)
    if ignore_index is not None:
        counted = y != ignore_index
        keep = counted if keep is None else keep & counted
    # Class axis last; excluded examples (masked or ignored) get zero inputs, so zero
    # gradient even where they are inf/NaN, and are exempt from the label check.
    x, safe_labels, in_range, keep = core.integer_label_inputs(fn, x, y, keep, axis)
    cw = core.class_weights(fn, class_weights, x.shape[-1], x.dtype)
    picked = jnp.take_along_axis(x, safe_labels[..., None], axis=-1)[..., 0]
    target_weight = None if cw is None else cw[safe_labels]
    values = -picked if target_weight is None else -target_weight * picked
    values = jnp.where(in_range, values, jnp.nan)
    return core.finish(fn, values, reduction, keep, weights, norm=target_weight)


# ---------------------------------------------------------------------------
# probabilities in


@register(
    family="classification",
    inputs="probabilities",
    optax=None,
    torch="torch.nn.functional.nll_loss(torch.log(probabilities))",
    keras="keras.losses.CategoricalCrossentropy(from_logits=False)",
    ranges={
        "epsilon": Range(low=0.0, high=1.0, high_open=True),
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
    },
    notes={
        "torch": (
            "equals `nll_loss(log(p), target, weight=w, ignore_index=i)`, with the same weighted "
            "`'mean'` (divided by the summed class weights of the counted targets); with "
            "`label_smoothing` it equals `cross_entropy(log(p), target, label_smoothing=...)` "
            "on normalized probabilities."
        ),
        "keras": (
            "`from_logits=False` form; use `softmax_cross_entropy` for logits. Keras first "
            "rescales the predicted probabilities to sum to 1 over the class axis; jaxloss uses "
            "them as given (they are equal for normalized probabilities). `label_smoothing` is "
            "Keras's (`y (1 - a) + a / C`), with `C` the size of `axis` (Keras takes the last "
            "axis's size whatever `axis` is); integer labels are smoothed the same way "
            "(Keras's `SparseCategoricalCrossentropy` has no smoothing), and `ignore_index` is "
            "its `ignore_class`."
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
    ignore_index: int | None = None,
    label_smoothing: float | Array = 0.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Cross-entropy of predicted probabilities against one-hot, soft or integer labels.

    $$
        \ell = -\sum_c w_c\, \tilde y_c \log \mathrm{clip}(p_c, \epsilon, 1), \qquad
        \tilde y = (1 - \alpha)\, y + \alpha / C
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
        $-\sum_c w_c \tilde y_c \log p_c$, and ``"mean"`` divides by the summed weights of
        the (unsmoothed) targets, $\sum_i \sum_c w_c y_{ic}$ (the class weight of each
        target for hard labels), as ``torch.nn.functional.nll_loss``,
        ``torch.nn.functional.cross_entropy`` and
        [`jaxloss.softmax_cross_entropy_with_integer_labels`][] do.
      ignore_index: with integer labels, a label value whose examples are excluded
        (PyTorch's ``ignore_index``, Keras's ``ignore_class``): they give 0, get zero
        gradient and do not count in the mean.
      label_smoothing: $\alpha \in [0, 1)$, Keras's definition: the labels (the one-hot
        of integer labels alike) are mixed with the uniform distribution over the $C$
        classes.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: boolean mask over examples (the shape without ``axis``).
      weights: non-negative per-example weights.

    Returns:
      A scalar, or the shape without ``axis`` for ``"none"``.

    Raises:
      TypeError: if ``probabilities`` is not floating, if ``labels`` is complex or not numeric, if
        ``epsilon`` or ``label_smoothing`` is not a real number, if ``ignore_index`` is not an int
        or ``None``, if ``axis`` is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` has neither the shape of ``probabilities`` nor, as integer class
        indices, that shape without ``axis``, if ``ignore_index`` is given with labels that are not
        integer class indices, if ``axis`` is out of range for ``probabilities``, if
        ``class_weights`` does not have one entry per class, if a concrete ``epsilon`` or
        ``label_smoothing`` is not in ``[0, 1)``, if ``where`` or ``weights`` is not broadcastable
        to the per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or
        ``"none"``.

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
    ignore_index = core.ignore_index_option(fn, ignore_index)
    y = jnp.asarray(labels)
    if jnp.issubdtype(y.dtype, jnp.integer) and y.ndim == p.ndim - 1:
        expected = core.example_shape_of_labels(fn, p, y, axis, "probabilities")
        in_range = valid = (y >= 0) & (y < num_classes)
        if ignore_index is not None:
            # Ignored examples are masked: excluded from the reduction, zero gradient.
            counted = y != ignore_index
            valid = in_range | ~counted
            user_mask = core.example_mask(fn, where, expected)
            where = counted if user_mask is None else user_mask & counted
        core.check_labels(fn, valid, y, num_classes, core.example_mask(fn, where, expected))
        y = jax.nn.one_hot(jnp.where(in_range, y, -1), num_classes, axis=axis, dtype=p.dtype)
        y = jnp.where(jnp.expand_dims(valid, axis), y, jnp.nan)
    elif ignore_index is not None:
        raise ValueError(
            f"{fn}: argument 'ignore_index' needs integer class indices as 'labels' (the shape "
            f"of 'probabilities' without axis {axis}), got labels of dtype {y.dtype} and shape "
            f"{tuple(y.shape)} for probabilities of shape {tuple(p.shape)}"
        )
    p, y, mask, axis = core.distribution_inputs(
        fn, p, y, where, axis, names=("probabilities", "labels"), fill=1.0
    )
    eps = core.hyperparameter(fn, "epsilon", epsilon, p.dtype)
    logp = jnp.log(jnp.clip(p, eps, 1.0))
    cw = core.class_weights(fn, class_weights, num_classes, p.dtype)
    norm = None
    if cw is not None:
        cw = jnp.expand_dims(cw, tuple(range(1, p.ndim - axis)))
        # "mean" divides by the summed class weights of the (unsmoothed) targets, as
        # torch's nll_loss and cross_entropy do (for soft labels: sum_c w_c y_c).
        norm = jnp.sum(y * cw, axis=axis)
    ls = core.optional_hyperparameter(fn, "label_smoothing", label_smoothing, p.dtype, unless=0.0)
    if ls is not None:
        y = (1 - ls) * y + ls / max(num_classes, 1)
    if cw is not None:
        y = y * cw
    per_example = -jnp.sum(y * logp, axis=axis)
    return core.finish(fn, per_example, reduction, mask, weights, norm=norm)


def _generalized_ce_terms(p: Array, q: Array) -> Array:
    """``(1 - p**q) / q`` elementwise, as ``-expm1(q log p) / q`` (no cancellation near
    ``p = 1`` or for small ``q``). At ``p = 0`` the value is ``1 / q`` and the derivative
    with respect to ``p`` is 0 (double where), the limit of the derivative with respect to
    the logits of a softmax; a negative ``p`` gives NaN."""
    zero = p == 0
    log_p = jnp.log(jnp.where(zero, jnp.ones_like(p), p))
    return jnp.where(zero, 1 / q, -jnp.expm1(q * log_p) / q)


@register(
    family="classification",
    inputs="probabilities",
    keras="keras.losses.CategoricalGeneralizedCrossEntropy",
    ranges={"q": Range(low=0.0, high=1.0, low_open=True)},
    notes={
        "keras": (
            "`y_true, y_pred` are `labels, probabilities` (swapped). Keras takes integer labels "
            "over the last axis and `q` in (0, 1); jaxloss also takes one-hot or soft labels "
            "(the label-weighted sum of the per-class terms), any class `axis`, and `q = 1` "
            "(the paper's range (0, 1])."
        ),
    },
)
def categorical_generalized_cross_entropy(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    q: float | Array = 0.5,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Generalized cross-entropy of predicted probabilities, robust to noisy labels.

    $$
        \ell = \frac{1 - p_y^{\,q}}{q}, \qquad
        \ell = \sum_c y_c\, \frac{1 - p_c^{\,q}}{q} \ \text{(one-hot or soft labels)}
    $$

    Zhang & Sabuncu (2018), "Generalized Cross Entropy Loss for Training Deep Neural
    Networks with Noisy Labels": as $q \to 0$ it tends to the categorical cross-entropy
    $-\log p_y$, and $q = 1$ gives $1 - p_y$ (the mean absolute error of the
    probabilities, up to a factor of 2).

    Args:
      probabilities: ``[..., C, ...]`` class probabilities (e.g. a softmax output).
      labels: integer class indices with the shape of ``probabilities`` without ``axis``
        (Keras's form), or one-hot or soft labels of the shape of ``probabilities``.
      q: the exponent $q \in (0, 1]$.
      axis: the class axis.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: boolean mask over examples (the shape without ``axis``).
      weights: non-negative per-example weights.

    Returns:
      A scalar, or the shape without ``axis`` for ``"none"``; float32 for half precision.

    Raises:
      TypeError: if ``probabilities`` is not floating, if ``labels`` is complex or not numeric, if
        ``q`` is not a real number, if ``axis`` is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` has neither the shape of ``probabilities`` nor, as integer class
        indices, that shape without ``axis``, if ``axis`` is out of range for ``probabilities``, if
        a concrete ``q`` is not in ``(0, 1]``, if ``where`` or ``weights`` is not broadcastable to
        the per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      Computed as $-\mathrm{expm1}(q \log p) / q$, accurate for $p$ near 1 and for small
      $q$. A probability of exactly 0 gives $1 / q$ with a zero derivative (its exact
      derivative $-p^{q - 1}$ is infinite, while the derivative with respect to the logits
      of a softmax tends to 0 there). An integer label outside ``[0, C)`` gives NaN for its
      example ([`jaxloss.checked`][jaxloss.checked] raises instead).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])
      >>> loss = jaxloss.categorical_generalized_cross_entropy(p, jnp.array([0, 1, 0, 1]))
      >>> round(float(loss), 4)
      0.3599

    Equivalent to ``keras.losses.CategoricalGeneralizedCrossEntropy(q=q)`` (integer labels,
    ``keras.losses.categorical_generalized_cross_entropy`` per example).
    """
    fn = "categorical_generalized_cross_entropy"
    p = core.as_logits(fn, "probabilities", probabilities)
    axis = core.normalize_axis(fn, axis, p.ndim, "probabilities")
    y = jnp.asarray(labels)
    if jnp.issubdtype(y.dtype, jnp.integer) and y.ndim == p.ndim - 1:
        core.example_shape_of_labels(fn, p, y, axis, "probabilities")
        # Class axis last, masked examples zeroed (p = 0: zero gradient), labels checked.
        x, safe_labels, in_range, mask = core.integer_label_inputs(fn, p, y, where, axis)
        exponent = core.hyperparameter(fn, "q", q, x.dtype)
        p_y = jnp.take_along_axis(x, safe_labels[..., None], axis=-1)[..., 0]
        values = jnp.where(in_range, _generalized_ce_terms(p_y, exponent), jnp.nan)
    else:
        p, y, mask, axis = core.distribution_inputs(
            fn, p, y, where, axis, names=("probabilities", "labels"), fill=1.0
        )
        exponent = core.hyperparameter(fn, "q", q, p.dtype)
        values = jnp.sum(y * _generalized_ce_terms(p, exponent), axis=axis)
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# focal, poly and z losses, label smoothing


def _class_inputs(fn: str, logits, labels, where, axis: int, label_smoothing=0.0):
    """Logits and probability labels of a softmax loss, ``axis`` moved last.

    Returns ``(x, y, mask)``: examples masked by ``where`` have their inputs replaced by
    0 (double where; ``mask`` is the per-example mask or None), and classes masked by a
    class-shaped ``where`` get logit ``-inf`` and label 0 (left out of the softmax, as in
    optax). A ``label_smoothing`` $s$ (statically 0: none) mixes the labels with the
    uniform distribution over the unmasked classes, ``(1 - s) y + s / C``.
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
    ls = core.optional_hyperparameter(fn, "label_smoothing", label_smoothing, dtype, unless=0.0)
    if ls is not None:
        uniform: float | Array = 1.0 / max(x.shape[axis], 1)  # no classes: nothing to smooth
        if cmask is not None:
            allowed = jnp.sum(cmask, axis=axis, keepdims=True)
            uniform = jnp.where(cmask, 1.0 / jnp.maximum(allowed, 1), 0).astype(dtype)
        y = (1 - ls) * y + ls * uniform
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
    keras="keras.losses.CategoricalFocalCrossentropy(from_logits=True)",
    ranges={
        "gamma": Range(low=0.0),
        "alpha": Range(low=0.0),
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
    },
    notes={
        "keras": (
            "Keras's `alpha` defaults to 0.25, jaxloss's to `None` (all 1): pass `alpha=0.25` for"
            " Keras's figure. Keras takes the softmax, then clips it to `[1e-7, 1 - 1e-7]`;"
            " jaxloss works on the log-softmax (exact at any logit). Keras's `label_smoothing`"
            " divides by the size of the last axis whatever `axis` is; jaxloss by the number of"
            " classes along `axis`."
        ),
    },
)
def softmax_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float | ArrayLike | None = None,
    gamma: float | Array = 2.0,
    label_smoothing: float | Array = 0.0,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multiclass focal loss of logits against probability (or one-hot) labels.

    $$
        \ell = -\sum_c \alpha_c\, \tilde y_c\, (1 - p_c)^\gamma \log p_c, \qquad
        p = \mathrm{softmax}(x), \qquad \tilde y = (1 - s)\, y + s / C
    $$

    The modulating factor $(1 - p_c)^\gamma$ is per class and does not involve the
    labels, so label smoothing (``label_smoothing`` $s$) changes only the weights
    $\tilde y_c$ of the classes, as in Keras.

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      labels: same shape, a probability distribution over ``axis`` (one-hot or soft).
      alpha: ``None`` (all 1), a scalar, or a ``[C]`` array of per-class weights
        $\alpha_c \ge 0$.
      gamma: focusing exponent $\gamma \ge 0$; ``gamma=0`` is the (``alpha``-weighted)
        [`softmax_cross_entropy`][jaxloss.softmax_cross_entropy].
      label_smoothing: $s \in [0, 1)$, spread uniformly over the $C$ classes along
        ``axis`` (over the unmasked ones with a class mask).
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
      TypeError: if ``logits`` is not floating, if ``labels`` is complex or not numeric, if
        ``alpha``, ``gamma`` or ``label_smoothing`` is not a real number, if ``axis`` is not an
        int, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits``, if ``axis`` is out of range
        for ``logits``, if a concrete ``gamma`` or ``alpha`` is negative or ``label_smoothing`` is
        not in ``[0, 1)``, if ``alpha`` is an array whose shape is not ``(C,)``, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

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

    Equivalent to ``keras.losses.CategoricalFocalCrossentropy(alpha, gamma,
    label_smoothing, from_logits=True)`` with ``alpha`` given (Keras's default is 0.25,
    jaxloss's ``None``; Keras clips the softmax to ``[1e-7, 1 - 1e-7]``, so the two
    differ where a probability is beyond that range) and to the multiclass focal loss of
    Lin et al. (2017) as in kornia's ``focal_loss`` (on probabilities; here on logits,
    with a per-class ``alpha``); with ``gamma=0`` and ``alpha=None`` it is
    ``optax.losses.softmax_cross_entropy``.
    """
    fn = "softmax_focal_loss"
    x, y, mask = _class_inputs(fn, logits, labels, where, axis, label_smoothing)
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
    a = _class_alpha(fn, alpha, num_classes, x.dtype)
    if a is not None:
        terms = a * terms
    values = jnp.where(ok, -jnp.sum(terms, axis=-1), 0)
    return core.finish(fn, values, reduction, mask, weights)


def _class_alpha(fn: str, alpha, num_classes: int, dtype) -> Array | None:
    """A focal loss's ``alpha``: ``None``, or a scalar or ``[C]`` array of class weights."""
    if alpha is None:
        return None
    if isinstance(alpha, list | tuple):  # e.g. from Loss.config(): range-check it too
        alpha = np.asarray(alpha)
    a = core.hyperparameter(fn, "alpha", alpha, dtype)
    if a.ndim != 0 and a.shape != (num_classes,):
        raise ValueError(
            f"{fn}: argument 'alpha' must be a scalar or have shape ({num_classes},) "
            f"(one weight per class), got {tuple(a.shape)}"
        )
    return a


@register(
    family="classification",
    inputs="probabilities",
    keras="keras.losses.CategoricalFocalCrossentropy",
    ranges={
        "alpha": Range(low=0.0),
        "gamma": Range(low=0.0),
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
        "epsilon": Range(low=0.0, high=1.0, low_open=True, high_open=True),
    },
    notes={
        "keras": (
            "The same defaults (`alpha=0.25`, `gamma=2`) and clipping at `1e-7`. Keras first "
            "rescales the probabilities to sum to 1 over `axis`; jaxloss uses them as given (equal"
            " on normalized probabilities, where the gradients differ by a constant per example)."
            " Keras's `label_smoothing` divides by the size of the last axis and its `alpha` list"
            " runs along the last axis whatever `axis` is; jaxloss uses the class axis for both."
        ),
    },
)
def categorical_focal_loss(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float | ArrayLike | None = 0.25,
    gamma: float | Array = 2.0,
    label_smoothing: float | Array = 0.0,
    axis: int = -1,
    epsilon: float | Array = 1e-7,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multiclass focal loss of predicted probabilities against probability or one-hot labels.

    $$
        \ell = -\sum_c \alpha_c\, \tilde y_c\, (1 - p_c)^\gamma \log p_c, \qquad
        \tilde y = (1 - s)\, y + s / C
    $$

    with $p_c$ clipped to $[\epsilon, 1 - \epsilon]$ inside the log and the
    factor, as Keras does. For logits use
    [`softmax_focal_loss`][jaxloss.softmax_focal_loss], which is exact at any logit.

    Args:
      probabilities: ``[..., C, ...]`` class probabilities (e.g. a softmax output), floating.
      labels: same shape, a probability distribution over ``axis`` (one-hot or soft); float,
        int or bool.
      alpha: the class weights $\alpha_c \ge 0$: a scalar (default 0.25, Keras's
        default), a ``[C]`` array, or ``None`` (all 1).
      gamma: focusing exponent $\gamma \ge 0$; ``gamma=0`` is the (``alpha``-weighted)
        [`categorical_cross_entropy`][jaxloss.categorical_cross_entropy].
      label_smoothing: $s \in [0, 1)$, spread uniformly over the $C$ classes along
        ``axis``.
      axis: the class axis.
      epsilon: the clipping bound $\epsilon \in (0, 1)$ (Keras's ``1e-7``): a
        probability of 0 gives a large finite loss with a finite gradient, and the factor
        $(1 - p_c)^\gamma$ stays differentiable at $p_c = 1$ for any ``gamma``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: boolean mask over examples (the shape without ``axis``).
      weights: non-negative per-example weights.

    Returns:
      A scalar, or the shape without ``axis`` for ``"none"``; float32 for half-precision
      inputs.

    Raises:
      TypeError: if ``probabilities`` is not floating, if ``labels`` is complex or not numeric, if
        ``alpha``, ``gamma``, ``label_smoothing`` or ``epsilon`` is not a real number, if ``axis``
        is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``probabilities``, if ``axis`` is out of
        range for ``probabilities``, if a concrete ``alpha`` or ``gamma`` is negative,
        ``label_smoothing`` is not in ``[0, 1)`` or ``epsilon`` is not in ``(0, 1)``, if ``alpha``
        is an array whose shape is not ``(C,)``, if ``where`` or ``weights`` is not broadcastable
        to the per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or
        ``"none"``.

    Note:
      The clips are wheres, not ``jnp.clip``: the gradient is that of the formula inside
      $[\epsilon, 1 - \epsilon]$ (also at its ends) and 0 outside. The probabilities
      are used as given; Keras rescales them to sum to 1 first, which changes nothing
      for normalized probabilities but adds, to the gradient with respect to them, a
      constant per example.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]])
      >>> y = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
      >>> [round(v, 4) for v in jaxloss.categorical_focal_loss(p, y, reduction="none").tolist()]
      [0.008, 0.1475]

    Equivalent to ``keras.losses.CategoricalFocalCrossentropy(alpha, gamma,
    label_smoothing, axis)`` (``from_logits=False``, its default) on normalized
    probabilities (Keras rescales them to sum to 1 over ``axis``; jaxloss does not). With
    ``axis`` other than the last, Keras smooths with the size of the last axis and lays
    an ``alpha`` list along it; jaxloss uses the class axis.
    """
    fn = "categorical_focal_loss"
    p, y, mask, axis = core.distribution_inputs(
        fn, probabilities, labels, where, axis, names=("probabilities", "labels"), fill=0.5
    )
    if axis != p.ndim - 1:
        p, y = jnp.moveaxis(p, axis, -1), jnp.moveaxis(y, axis, -1)
    num_classes = p.shape[-1]
    eps = core.hyperparameter(fn, "epsilon", epsilon, p.dtype)
    g = core.optional_hyperparameter(fn, "gamma", gamma, p.dtype, unless=0.0)
    ls = core.optional_hyperparameter(fn, "label_smoothing", label_smoothing, p.dtype, unless=0.0)
    a = _class_alpha(fn, alpha, num_classes, p.dtype)
    if ls is not None:
        y = (1 - ls) * y + ls / max(num_classes, 1)
    # Clipped with wheres (jnp.clip would halve the gradient at the bounds).
    hi = 1 - eps
    clipped = jnp.where(p < eps, eps, jnp.where(p > hi, hi, p))
    terms = y * jnp.log(clipped)
    if g is not None:
        terms = jnp.exp(g * jnp.log1p(-clipped)) * terms
    if a is not None:
        terms = a * terms
    return core.finish(fn, -jnp.sum(terms, axis=-1), reduction, mask, weights)


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


# ---------------------------------------------------------------------------
# focal and poly losses with integer labels


def _integer_class_inputs(fn: str, logits, labels, where, axis: int):
    """Logits ``[..., C]`` (``axis`` moved last) and integer labels of a softmax loss.

    Returns ``(x, safe_labels, in_range, keep, cmask)``. ``keep`` (or None) is the
    per-example mask: ``where`` over examples, or, for a class-shaped ``where`` (optax's
    convention), the examples with a visible class whose true class is visible too (an
    example whose true class is masked out is excluded, as in
    `softmax_cross_entropy_with_integer_labels`). Excluded examples have their logits
    replaced by 0 (double where), masked classes get logit ``-inf``. Labels outside
    ``[0, C)`` are replaced by 0 (the caller turns their loss into NaN with ``in_range``)
    and reported to [`jaxloss.checked`][jaxloss.checked] unless masked.
    """
    x = core.as_logits(fn, "logits", logits)
    labels = core.as_labels(fn, "labels", labels)
    axis = core.normalize_axis(fn, axis, x.ndim)
    core.example_shape_of_labels(fn, x, labels, axis, "logits")
    x = x.astype(core.compute_dtype(x))
    num_classes = x.shape[axis]
    mask, cmask = core.class_mask(fn, where, x, axis)
    if axis != x.ndim - 1:
        x = jnp.moveaxis(x, axis, -1)
        cmask = None if cmask is None else jnp.moveaxis(cmask, axis, -1)
    in_range = (labels >= 0) & (labels < num_classes)
    core.check_labels(fn, in_range, labels, num_classes, mask)
    safe_labels = jnp.where(in_range, labels, 0)
    keep = mask
    if cmask is not None and num_classes > 0:
        visible = jnp.take_along_axis(cmask, safe_labels[..., None], axis=-1)[..., 0]
        keep = keep & (visible | ~in_range)
    if keep is not None:
        x = jnp.where(keep[..., None], x, 0)
    if cmask is not None:
        x = jnp.where(cmask, x, -jnp.inf)
    return x, safe_labels, in_range, keep, cmask


def _picked_parts(x: Array, labels: Array):
    """``log p_y``, ``log(1 - p_y)`` and ``1 - p_y`` of ``p = softmax(x)`` at the labels.

    With ``d = logsumexp_{c != y} x_c - x_y`` (the log-odds against the true class),
    ``log p_y = -softplus(d)``, ``log(1 - p_y) = -softplus(-d)`` and
    ``1 - p_y = sigmoid(d)``: exact at both ends (no ``1 - p`` cancels, no ``exp``
    underflows; e.g. ``log(1 - p_y) = -160`` for logits ``[80, -80]``, label 0), from
    one max-shifted pass over the other classes and no one-hot array. A row whose top
    logit is infinite (all ``-inf``, or a ``+inf``) is computed on zeros and flagged in
    ``ok``; a NaN logit propagates. When the true class is the only finite one,
    ``log p_y`` is 0 and ``log(1 - p_y)`` is reported as 0 (not ``-inf``), as in
    `_softmax_parts`. Returns ``(log_p, log_one_minus_p, one_minus_p, ok)``.
    """
    top = jax.lax.stop_gradient(jnp.max(x, axis=-1))
    ok = ~jnp.isinf(top)
    x = jnp.where(ok[..., None], x, 0)
    is_label = jnp.arange(x.shape[-1]) == labels[..., None]
    x_y = jnp.take_along_axis(x, labels[..., None], axis=-1)[..., 0]
    rest = jnp.where(is_label, -jnp.inf, x)
    m = jax.lax.stop_gradient(jnp.max(rest, axis=-1))
    has_rest = m != -jnp.inf  # NaN counts as present, so that it propagates
    m = jnp.where(has_rest, m, 0)
    r = jnp.sum(jnp.exp(rest - m[..., None]), axis=-1)
    d = jnp.where(has_rest, m + jnp.log(jnp.where(has_rest, r, 1)) - x_y, -jnp.inf)
    log_p = -jax.nn.softplus(d)
    log_one_minus_p = jnp.where(has_rest, -jax.nn.softplus(-d), 0)
    return log_p, log_one_minus_p, jax.nn.sigmoid(d), ok


def _integer_label_values(values: Array, in_range: Array) -> Array:
    """Per-example values with NaN for labels outside ``[0, C)`` (loud, never a wrap)."""
    return jnp.where(in_range, values, jnp.nan)


@register(
    family="classification",
    inputs="logits",
    keras="keras.losses.CategoricalFocalCrossentropy(from_logits=True) (one-hot labels)",
    ranges={
        "gamma": Range(low=0.0),
        "alpha": Range(low=0.0),
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
    },
    notes={
        "keras": (
            "Keras needs one-hot labels and defaults to `alpha=0.25` (here `None`, all 1); its "
            "softmax is clipped to `[1e-7, 1 - 1e-7]`."
        ),
    },
)
def softmax_focal_loss_with_integer_labels(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float | ArrayLike | None = None,
    gamma: float | Array = 2.0,
    label_smoothing: float | Array = 0.0,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multiclass focal loss of logits against integer class labels.

    $$
        \ell = -(1 - s)\, \alpha_y (1 - p_y)^\gamma \log p_y
          - \frac{s}{C} \sum_c \alpha_c (1 - p_c)^\gamma \log p_c, \qquad
        p = \mathrm{softmax}(x)
    $$

    [`softmax_focal_loss`][jaxloss.softmax_focal_loss] of the one-hot labels (smoothed
    with ``label_smoothing`` $s$), computed without building them: without smoothing
    only the true class's $\log p_y$ and $\log(1 - p_y)$ are formed, from the
    log-odds $\mathrm{lse}_{c \ne y}(x_c) - x_y$.

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      labels: integer class indices, the shape of ``logits`` without ``axis``.
      alpha: ``None`` (all 1), a scalar, or a ``[C]`` array of per-class weights
        $\alpha_c \ge 0$ (the true class's weight $\alpha_y$ applies).
      gamma: focusing exponent $\gamma \ge 0$; ``gamma=0`` is the (``alpha``-weighted)
        [`softmax_cross_entropy_with_integer_labels`][jaxloss.softmax_cross_entropy_with_integer_labels].
      label_smoothing: $s \in [0, 1)$, spread uniformly over the $C$ classes (over the
        unmasked ones with a class mask).
      axis: the class axis.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples, or, with as many dimensions as ``logits``, a mask over
        classes (masked classes are left out of the softmax). An example whose true class
        is masked out, or whose classes are all masked, is excluded.
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``labels`` for ``"none"``; float32 for half precision.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is not an integer array (class
        indices), if ``alpha``, ``gamma`` or ``label_smoothing`` is not a real number, if ``axis``
        is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits`` without ``axis``, if ``axis``
        is out of range for ``logits``, if a concrete ``alpha`` or ``gamma`` is negative or
        ``label_smoothing`` is not in ``[0, 1)``, if ``alpha`` is an array whose shape is not
        ``(C,)``, if ``where`` is not broadcastable to the per-example loss shape or, as a class
        mask with the dimensions of ``logits``, to ``logits.shape``, or ``weights`` to the
        per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      A label outside ``[0, C)`` gives NaN for its example (never a silent wrap of ``-1``
      to the last class); wrap the call in [`jaxloss.checked`][jaxloss.checked] to raise
      an error naming the position instead. At ``gamma=0`` the factor is exactly 1 with
      zero derivative; gradients and Hessians are finite at logits of ``+-80``. A row
      whose logits are all ``-inf`` gives 0 with zero gradient; a NaN logit gives NaN for
      its example.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 1.0, 0.1], [0.5, 1.5, 2.1]])
      >>> loss = jaxloss.softmax_focal_loss_with_integer_labels(logits, jnp.array([0, 2]))
      >>> round(float(loss), 4)
      0.0757

    Equivalent to [`softmax_focal_loss`][jaxloss.softmax_focal_loss] and
    ``keras.losses.CategoricalFocalCrossentropy(alpha, gamma, label_smoothing,
    from_logits=True)`` applied to ``jax.nn.one_hot(labels, C)`` (Keras's default
    ``alpha`` is 0.25, jaxloss's ``None``).
    """
    fn = "softmax_focal_loss_with_integer_labels"
    x, y, in_range, keep, cmask = _integer_class_inputs(fn, logits, labels, where, axis)
    num_classes = x.shape[-1]
    g = core.optional_hyperparameter(fn, "gamma", gamma, x.dtype, unless=0.0)
    ls = core.optional_hyperparameter(fn, "label_smoothing", label_smoothing, x.dtype, unless=0.0)
    a = _class_alpha(fn, alpha, num_classes, x.dtype)
    if num_classes == 0:  # no class index is valid
        values = jnp.full(y.shape, jnp.nan, x.dtype)
        return core.finish(fn, values, reduction, keep, weights)
    log_p, log_one_minus_p, _, ok = _picked_parts(x, y)
    values = -log_p
    if g is not None:
        values = jnp.exp(g * log_one_minus_p) * values
    if a is not None and a.ndim:
        values = a[y] * values
    if ls is not None:
        # The smoothed labels' uniform part, s / C on every (unmasked) class: all classes.
        all_log_p, _, all_log_one_minus_p, _ = _softmax_parts(x)
        if cmask is None:
            terms = all_log_p / num_classes
        else:
            # Masked classes (log p = -inf) get no mass: their term is 0, not 0 * inf.
            u = cmask / jnp.maximum(jnp.sum(cmask, axis=-1, keepdims=True), 1)
            terms = u * jnp.where(cmask, all_log_p, 0)
        if g is not None:
            terms = jnp.exp(g * all_log_one_minus_p) * terms
        if a is not None and a.ndim:
            terms = a * terms
        values = (1 - ls) * values - ls * jnp.sum(terms, axis=-1)
    if a is not None and not a.ndim:
        values = a * values
    values = _integer_label_values(jnp.where(ok, values, 0), in_range)
    return core.finish(fn, values, reduction, keep, weights)


@register(
    family="classification",
    inputs="logits",
    optax="optax.losses.poly_loss_cross_entropy (one-hot labels)",
    ranges={"epsilon": Range()},
)
def poly_loss_cross_entropy_with_integer_labels(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    epsilon: float | Array = 2.0,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Poly-1 loss with integer class labels: cross-entropy plus $\epsilon (1 - p_y)$.

    $$
        \ell = -\log p_y + \epsilon\,(1 - p_y), \qquad p = \mathrm{softmax}(x)
    $$

    [`poly_loss_cross_entropy`][jaxloss.poly_loss_cross_entropy] of the one-hot labels,
    computed without building them, from the log-odds
    $d = \mathrm{lse}_{c \ne y}(x_c) - x_y$:
    $\ell = \mathrm{softplus}(d) + \epsilon\, \sigma(d)$.

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      labels: integer class indices, the shape of ``logits`` without ``axis``.
      epsilon: coefficient $\epsilon$ of the polynomial term, any real (2 in the paper
        for classification; the loss is non-negative for ``epsilon >= -1``).
      axis: the class axis.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples, or, with as many dimensions as ``logits``, a mask over
        classes (masked classes are left out of the softmax). An example whose true class
        is masked out, or whose classes are all masked, is excluded.
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``labels`` for ``"none"``; float32 for half precision.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is not an integer array (class
        indices), if ``epsilon`` is not a real number, if ``axis`` is not an int, or if ``where``
        is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits`` without ``axis``, if ``axis``
        is out of range for ``logits``, if a concrete ``epsilon`` is NaN, if ``where`` is not
        broadcastable to the per-example loss shape or, as a class mask with the dimensions of
        ``logits``, to ``logits.shape``, or ``weights`` to the per-example loss shape, or if
        ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      $1 - p_y$ is $\sigma(d)$, so a confident prediction keeps its polynomial term
      (no cancellation in $1 - p_y$). A label outside ``[0, C)`` gives NaN for its
      example; wrap the call in [`jaxloss.checked`][jaxloss.checked] to raise an error
      instead. A row whose logits are all ``-inf`` gives 0 with zero gradient; a NaN logit
      gives NaN for its example.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 1.0, 0.1], [0.5, 1.5, 2.1]])
      >>> labels = jnp.array([0, 2])
      >>> loss = jaxloss.poly_loss_cross_entropy_with_integer_labels(logits, labels)
      >>> round(float(loss), 4)
      1.2583

    Equivalent to ``optax.losses.poly_loss_cross_entropy(logits, jax.nn.one_hot(labels,
    C), epsilon=epsilon)`` (``reduction="none"``) and to
    [`poly_loss_cross_entropy`][jaxloss.poly_loss_cross_entropy] of the one-hot labels.
    """
    fn = "poly_loss_cross_entropy_with_integer_labels"
    x, y, in_range, keep, _ = _integer_class_inputs(fn, logits, labels, where, axis)
    eps = core.hyperparameter(fn, "epsilon", epsilon, x.dtype)
    if x.shape[-1] == 0:  # no class index is valid
        values = jnp.full(y.shape, jnp.nan, x.dtype)
        return core.finish(fn, values, reduction, keep, weights)
    log_p, _, one_minus_p, ok = _picked_parts(x, y)
    values = jnp.where(ok, eps * one_minus_p - log_p, 0)
    return core.finish(fn, _integer_label_values(values, in_range), reduction, keep, weights)


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
