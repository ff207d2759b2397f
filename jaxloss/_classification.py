"""Softmax cross-entropy losses: probability labels, integer labels, probabilities in."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike
from jaxloss._registry import register

__all__ = [
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sparse_softmax_cross_entropy",
    "softmax_cross_entropy_with_indices",
    "categorical_cross_entropy",
]


# ---------------------------------------------------------------------------
# helpers


def _class_mask(fn: str, where: ArrayLike | None, x: Array, axis: int):
    """Splits ``where`` into a per-example mask or a per-class mask.

    ``where`` with as many dimensions as the logits is a mask over classes (optax's
    convention: masked classes are left out of the softmax); with fewer dimensions it is
    a mask over examples (the jaxloss convention). Returns ``(example_mask, class_mask)``.
    """
    if where is None:
        return None, None
    w = jnp.asarray(where)
    if w.dtype != jnp.bool_:
        raise TypeError(f"{fn}: argument 'where' must be a boolean mask, got {w.dtype}")
    if w.ndim == x.ndim and x.ndim > 0:
        core.check_broadcastable(fn, "where", w, x.shape, "logits")
        cmask = jnp.broadcast_to(w, x.shape)
        return jnp.any(cmask, axis=axis), cmask
    example_shape = x.shape[:axis] + x.shape[axis + 1 :]
    return core.example_mask(fn, w, example_shape), None


def _scaled_by_temperature(fn: str, x: Array, temperature) -> Array:
    if core.static_value(temperature) == 1.0:
        return x
    t = core.hyperparameter(fn, "temperature", temperature, x.dtype, low=0.0, low_open=True)
    return x / t


def _label_smoothing(fn: str, value, dtype):
    if core.static_value(value) == 0.0:
        return None
    return core.hyperparameter(
        fn, "label_smoothing", value, dtype, low=0.0, high=1.0, high_open=True
    )


def _class_weights(fn: str, class_weights, num_classes: int, dtype) -> Array | None:
    if class_weights is None:
        return None
    cw = core.as_float(fn, "class_weights", class_weights, dtype)
    if cw.shape != (num_classes,):
        raise ValueError(
            f"{fn}: argument 'class_weights' must have shape ({num_classes},) (one weight per "
            f"class), got {tuple(cw.shape)}"
        )
    return cw


def _shifted_rows(x: Array):
    """The (finite-safe, constant) row max, the max-shifted log-sum-exp, and row-ok.

    A row with no finite logit has ``ok`` False, a max of 0 and a log-sum-exp of 0 (its
    sum of exponentials is replaced by 1), so nothing NaN reaches the value or the
    gradient; callers zero the loss of such rows. No select over the full logits.
    """
    m = jax.lax.stop_gradient(jnp.max(x, axis=-1))
    ok = jnp.isfinite(m)
    m = jnp.where(ok, m, 0)
    s = jnp.sum(jnp.exp(x - m[..., None]), axis=-1)
    lse = jnp.log(jnp.where(ok, s, 1))
    return m, lse, ok


# ---------------------------------------------------------------------------
# probability labels


@register(
    family="classification",
    inputs="logits",
    optax="optax.losses.softmax_cross_entropy",
    torch="torch.nn.functional.cross_entropy (probability targets)",
    keras="keras.losses.CategoricalCrossentropy(from_logits=True)",
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

    .. math::
        \ell = -\sum_c w_c\, \tilde y_c \log \mathrm{softmax}(x / T)_c, \qquad
        \tilde y = (1 - \alpha)\, y + \alpha / C

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      labels: same shape, a probability distribution over ``axis`` (one-hot or soft).
      axis: the class axis.
      label_smoothing: :math:`\alpha \in [0, 1)`.
      class_weights: optional ``[C]`` per-class weights :math:`w_c` (PyTorch ``weight``;
        the ``"mean"`` still divides by the number of examples, as PyTorch does for
        probability targets).
      temperature: :math:`T > 0`; the logits are divided by it.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples (shape of ``logits`` without ``axis``), or, with as many
        dimensions as ``logits``, a mask over classes as in optax: masked classes are left
        out of the softmax and their labels ignored; a row with every class masked is
        excluded.
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``logits`` without ``axis`` for ``"none"``; float32 for
      half-precision logits.

    Note:
      A ``-inf`` logit whose label is 0 contributes 0 with a finite gradient and a finite
      forward-mode tangent. A row whose logits are all ``-inf`` gives 0 with zero gradient.

    Example:
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
    mask, cmask = _class_mask(fn, where, x, axis)
    if mask is not None:
        x, y = core.mask_inputs(mask, x, y, axis=axis)
    x = _scaled_by_temperature(fn, x, temperature)
    if cmask is not None:
        x = jnp.where(cmask, x, -jnp.inf)
        y = jnp.where(cmask, y, 0)
    ls = _label_smoothing(fn, label_smoothing, dtype)
    if ls is not None:
        if cmask is None:
            uniform = 1.0 / x.shape[axis]
        else:
            allowed = jnp.sum(cmask, axis=axis, keepdims=True)
            uniform = jnp.where(cmask, 1.0 / jnp.maximum(allowed, 1), 0).astype(dtype)
        y = (1 - ls) * y + ls * uniform
    cw = _class_weights(fn, class_weights, x.shape[axis], dtype)
    if cw is not None:
        y = y * jnp.expand_dims(cw, tuple(range(1, x.ndim - axis)))
    if axis != x.ndim - 1:
        x, y = jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1)
    # -sum_c y_c log p_c = sum(y) * lse - sum_c y_c x_c, on max-shifted logits; entries
    # with y_c = 0 are left out (double where), so -inf logits there are harmless.
    m, lse, ok = _shifted_rows(x)
    nz = y != 0
    shifted = jnp.where(nz, x - m[..., None], 0)
    per_example = jnp.sum(y, axis=-1) * lse - jnp.sum(jnp.where(nz, y * shifted, 0), axis=-1)
    per_example = jnp.where(ok, per_example, 0)
    return core.finish(fn, per_example, reduction, None, weights, mask=mask)


# ---------------------------------------------------------------------------
# integer labels


def _int_ce_rows(x, y, a, u, z):
    """Per-example integer-label CE on ``[..., V]`` logits, labels already in range.

    ``loss = a*(lse - x_y) + sum_c u_c*(lse - x_c) + z*lse**2`` with ``a`` per example
    (None for 1), ``u`` broadcastable to the logits (None for no smoothing) and ``z`` a
    scalar (None for 0). Plain autodiff: on the CPU XLA fuses its backward into one pass,
    and it measured faster there than a hand-written custom VJP.
    """
    m, lse, ok = _shifted_rows(x)
    picked = jnp.take_along_axis(x, y[..., None], axis=-1)[..., 0] - m
    loss = lse - picked
    if a is not None:
        loss = a * loss
    if u is not None:
        nz = u != 0
        shifted = jnp.where(nz, x - m[..., None], 0)
        loss = loss + jnp.sum(u, axis=-1) * lse - jnp.sum(jnp.where(nz, u * shifted, 0), -1)
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

    .. math::
        \ell = (1 - \alpha)\, w_y\, (\mathrm{lse}(x) - x_y)
             + \frac{\alpha}{C} \sum_c w_c\, (\mathrm{lse}(x) - x_c)
             + \lambda_z\, \mathrm{lse}(x)^2

    computed without building a one-hot array.

    Args:
      logits: ``[..., C, ...]`` unnormalized scores, floating.
      labels: integer class indices, the shape of ``logits`` without ``axis``.
      axis: the class axis.
      ignore_index: a label value whose examples are excluded (PyTorch's
        ``ignore_index``): they give 0 and do not count in the mean.
      label_smoothing: :math:`\alpha \in [0, 1)`, PyTorch's definition.
      class_weights: optional ``[C]`` weights :math:`w_c`; ``"mean"`` then divides by the
        summed class weights of the targets, as PyTorch does.
      z_loss: :math:`\lambda_z \ge 0`, the coefficient of the squared log-partition.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: a mask over examples, or, with as many dimensions as ``logits``, a mask over
        classes (optax's convention). An example whose true class is masked out, or whose
        classes are all masked, is excluded rather than given a negative or infinite loss.
      weights: per-example weights.

    Returns:
      A scalar, or the shape of ``labels`` for ``"none"``; float32 for half precision.

    Note:
      A label outside ``[0, C)`` that is not ``ignore_index`` gives NaN for its example
      (never a silent wrap of ``-1`` to the last class); wrap the call in
      :func:`jaxloss.checked` to raise an error naming the position instead. A row whose
      logits are all ``-inf`` gives 0 with zero gradient.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 1.0, 0.1], [0.5, 1.5, 2.1]])
      >>> loss = jaxloss.softmax_cross_entropy_with_integer_labels(logits, jnp.array([0, 2]))
      >>> round(float(loss), 4)
      0.4265

    Equivalent to ``optax.losses.softmax_cross_entropy_with_integer_labels``
    (``reduction="none"``), ``torch.nn.functional.cross_entropy`` (same ``ignore_index``,
    ``label_smoothing`` and ``weight`` semantics) and
    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``.
    """
    fn = "softmax_cross_entropy_with_integer_labels"
    x = core.as_logits(fn, "logits", logits)
    labels = core.as_labels(fn, "labels", labels)
    axis = core.normalize_axis(fn, axis, x.ndim)
    example_shape = x.shape[:axis] + x.shape[axis + 1 :]
    if labels.shape != example_shape:
        raise ValueError(
            f"{fn}: argument 'labels' must have the shape of 'logits' without axis {axis}, "
            f"got logits.shape={tuple(x.shape)} and labels.shape={tuple(labels.shape)}"
        )
    if ignore_index is not None and not isinstance(ignore_index, int):
        raise TypeError(f"{fn}: argument 'ignore_index' must be a Python int or None, got "
                        f"{type(ignore_index).__name__}")
    dtype = core.compute_dtype(x)
    x = x.astype(dtype)
    num_classes = x.shape[axis]
    mask, cmask = _class_mask(fn, where, x, axis)
    if axis != x.ndim - 1:
        x = jnp.moveaxis(x, axis, -1)
        cmask = None if cmask is None else jnp.moveaxis(cmask, axis, -1)

    in_range = (labels >= 0) & (labels < num_classes)
    ignored = None if ignore_index is None else labels == ignore_index
    valid = in_range if ignored is None else in_range | ignored
    core.check_labels(fn, valid, labels, num_classes)
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

    ls = _label_smoothing(fn, label_smoothing, dtype)
    cw = _class_weights(fn, class_weights, num_classes, dtype)
    z = None
    if core.static_value(z_loss) != 0.0:
        z = core.hyperparameter(fn, "z_loss", z_loss, dtype, low=0.0)

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
    return core.finish(fn, per_example, reduction, None, weights, mask=keep, norm=norm)


sparse_softmax_cross_entropy = softmax_cross_entropy_with_integer_labels
softmax_cross_entropy_with_indices = softmax_cross_entropy_with_integer_labels


# ---------------------------------------------------------------------------
# probabilities in


@register(
    family="classification",
    inputs="probabilities",
    optax=None,
    torch="torch.nn.functional.nll_loss(torch.log(probabilities))",
    keras="keras.losses.CategoricalCrossentropy(from_logits=False)",
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

    .. math::
        \ell = -\sum_c w_c\, y_c \log \mathrm{clip}(p_c, \epsilon, 1)

    Args:
      probabilities: ``[..., C, ...]`` class probabilities (e.g. a softmax output).
      labels: same shape (one-hot or soft labels), or integer class indices with the
        shape of ``probabilities`` without ``axis`` (Axon's ``sparse: true``).
      axis: the class axis.
      epsilon: probabilities are clipped below at ``epsilon`` so that a 0 probability
        gives a large finite loss and a finite gradient (Keras clips the same way).
      class_weights: optional ``[C]`` per-class weights (Axon's ``class_weights``).
      reduction, where, weights: see :func:`jaxloss.reduce_loss`.

    Returns:
      A scalar, or the shape without ``axis`` for ``"none"``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
      >>> y = jnp.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
      >>> [round(float(v), 4) for v in jaxloss.categorical_cross_entropy(p, y, reduction="none")]
      [0.0513, 2.3026]

    Equivalent to ``keras.losses.CategoricalCrossentropy()`` (probabilities in),
    Axon's ``categorical_cross_entropy`` and ``torch.nn.functional.nll_loss`` applied to
    ``log(probabilities)``. For logits use :func:`softmax_cross_entropy`.
    """
    fn = "categorical_cross_entropy"
    p = core.as_logits(fn, "probabilities", probabilities)
    axis = core.normalize_axis(fn, axis, p.ndim, "probabilities")
    num_classes = p.shape[axis]
    y = jnp.asarray(labels)
    if jnp.issubdtype(y.dtype, jnp.integer) and y.ndim == p.ndim - 1:
        expected = p.shape[:axis] + p.shape[axis + 1 :]
        if y.shape != expected:
            raise ValueError(
                f"{fn}: integer 'labels' must have the shape of 'probabilities' without "
                f"axis {axis}, got probabilities.shape={tuple(p.shape)} and "
                f"labels.shape={tuple(y.shape)}"
            )
        valid = (y >= 0) & (y < num_classes)
        core.check_labels(fn, valid, y, num_classes)
        y = jax.nn.one_hot(jnp.where(valid, y, -1), num_classes, axis=axis, dtype=p.dtype)
        y = jnp.where(jnp.expand_dims(valid, axis), y, jnp.nan)
    p, y, mask, axis = core.distribution_inputs(
        fn, p, y, where, axis, names=("probabilities", "labels"), fill=1.0
    )
    eps = core.hyperparameter(fn, "epsilon", epsilon, p.dtype, low=0.0, high=1.0, high_open=True)
    logp = jnp.log(jnp.clip(p, eps, 1.0))
    cw = _class_weights(fn, class_weights, num_classes, p.dtype)
    if cw is not None:
        y = y * jnp.expand_dims(cw, tuple(range(1, p.ndim - axis)))
    per_example = -jnp.sum(y * logp, axis=axis)
    return core.finish(fn, per_example, reduction, None, weights, mask=mask)
