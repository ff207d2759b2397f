"""Margin losses: penalties on signed scores that fall short of a margin."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._registry import register


@register(
    family="margin",
    inputs="logits",
    optax="optax.losses.hinge_loss",
    keras="keras.losses.Hinge",
    notes={
        "optax": "`predictor_outputs, targets` are `predictions, labels`.",
    },
)
def hinge_loss(
    predictions: ArrayLike,
    labels: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Binary hinge loss of real-valued scores and labels in {-1, +1}, elementwise.

    $$
        \ell_i = \max(0,\ 1 - y_i x_i)
    $$

    Args:
      predictions: real-valued scores (decision values), any shape, floating.
      labels: targets of the same shape with values -1 or +1; float, integer or bool is
        cast. Labels in {0, 1} are NOT converted: map them with ``2 * labels - 1`` first
        (a label 0 gives the constant loss 1).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs, float64 for float64 inputs.

    Raises:
      TypeError: if ``predictions`` is not floating, if ``labels`` is complex or not numeric, or if
        ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``predictions``, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      The gradient at the kink $y x = 1$ is 0 (the subgradient chosen by
      ``jax.nn.relu``). A score of ``+-inf`` whose sign agrees with its label gives loss 0
      and gradient 0; one that disagrees gives ``inf``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([0.5, 2.0, 0.3])
      >>> y = jnp.array([1.0, 1.0, -1.0])
      >>> jaxloss.hinge_loss(x, y, reduction="none")
      Array([0.5, 0. , 1.3], dtype=float32)

    Equivalent to ``optax.losses.hinge_loss(predictor_outputs, targets)``
    (``reduction="none"``), TorchLean's hinge spec (``reduction="mean"``) and
    ``keras.losses.Hinge`` without its mean over the last axis (Keras also converts
    {0, 1} labels to {-1, +1}; this function does not). Axon's ``hinge`` is
    ``jnp.mean(hinge_loss(..., reduction="none"), axis=-1)``.
    """
    fn = "hinge_loss"
    x, y, mask = core.elementwise_inputs(
        fn, predictions, labels, where, names=("predictions", "labels")
    )
    margin = 1 - y * x
    values = jnp.where(margin > 0, margin, 0)  # relu with gradient 0 at the kink
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="margin",
    inputs="logits",
    keras="keras.losses.CategoricalHinge",
)
def categorical_hinge_loss(
    predictions: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Categorical hinge loss of class scores and one-hot labels, per example.

    $$
        \ell = \max\Bigl(0,\ 1 + \max_c \bigl((1 - y_c)\, x_c\bigr) - \sum_c y_c x_c\Bigr)
    $$

    The score of the true class must exceed the largest other score by a margin of 1.

    Args:
      predictions: class scores ``[..., C, ...]``, floating.
      labels: one-hot labels of the same shape (float, integer or bool).
      axis: the class axis (static).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to the per-example shape (``axis`` dropped).
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the per-example shape (``predictions.shape`` without ``axis``) for
      ``reduction="none"``; float32 for half precision inputs.

    Raises:
      TypeError: if ``predictions`` is not floating, if ``labels`` is complex or not numeric, if
        ``axis`` is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``predictions``, if ``axis`` is out of
        range for ``predictions``, if ``where`` or ``weights`` is not broadcastable to the
        per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      This is the Keras/Axon form: the "largest other score" is the maximum of
      $(1 - y_c) x_c$, in which the true class contributes 0. So when every other
      score is negative, 0 is used in its place (the loss is then
      $\max(0, 1 - x_{\mathrm{true}})$). For the Crammer-Singer form over integer
      labels see ``multiclass_hinge_loss``. Ties in the maximum share its gradient
      equally; the gradient at the kink is 0.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.2, 0.5, 0.9], [2.0, 0.5, -1.0]])
      >>> y = jnp.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
      >>> jaxloss.categorical_hinge_loss(x, y, reduction="none")
      Array([0.6, 0. ], dtype=float32)

    Equivalent to ``keras.losses.CategoricalHinge`` (``reduction="none"``) and Axon's
    ``categorical_hinge``.
    """
    fn = "categorical_hinge_loss"
    x, y, mask, axis = core.distribution_inputs(
        fn, predictions, labels, where, axis, names=("predictions", "labels")
    )
    true_score = jnp.sum(y * x, axis=axis)
    other_score = jnp.max((1 - y) * x, axis=axis)
    values = jax.nn.relu(1 + other_score - true_score)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="margin",
    inputs="logits",
    torch="torch.nn.functional.soft_margin_loss",
)
def soft_margin_loss(
    predictions: ArrayLike,
    labels: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Soft margin (logistic) loss of real-valued scores and labels in {-1, +1}, elementwise.

    $$
        \ell_i = \log\bigl(1 + e^{-y_i x_i}\bigr) = \operatorname{softplus}(-y_i x_i)
    $$

    Args:
      predictions: real-valued scores, any shape, floating.
      labels: targets of the same shape with values -1 or +1; float, integer or bool.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs, float64 for float64 inputs.

    Raises:
      TypeError: if ``predictions`` is not floating, if ``labels`` is complex or not numeric, or if
        ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``predictions``, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      Computed with ``jax.nn.softplus``, so it does not overflow for large $|x|$
      (it is $-y x$ to working precision when $y x \ll 0$). A score of
      ``+-inf`` whose sign agrees with its label gives loss 0 and gradient 0; one that
      disagrees gives ``inf``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([0.0, 2.0, 100.0])
      >>> y = jnp.array([1.0, -1.0, -1.0])
      >>> [round(v, 4) for v in jaxloss.soft_margin_loss(x, y, reduction="none").tolist()]
      [0.6931, 2.1269, 100.0]

    Equivalent to ``torch.nn.functional.soft_margin_loss`` (same ``"mean"`` over all
    elements). Axon's ``soft_margin`` averages ``reduction="none"`` over the first axis.
    """
    fn = "soft_margin_loss"
    x, y, mask = core.elementwise_inputs(
        fn, predictions, labels, where, names=("predictions", "labels")
    )
    return core.finish(fn, jax.nn.softplus(-y * x), reduction, mask, weights)


# ---------------------------------------------------------------------------
# helpers shared by the integer-label losses (also used by jaxloss/_sparsemax.py)


def _gaps_to_true_class(x: Array, safe_labels: Array):
    """``x_c - x_y`` over the last axis, exactly 0 at ``c = y``, and the ``c = y`` mask.

    The true-class entry is a constant 0 (a where, not ``x_y - x_y``), so an infinite
    true score whose label agrees gives finite gaps there and no NaN in the gradient.
    """
    is_true = jnp.arange(x.shape[-1]) == safe_labels[..., None]
    x_true = jnp.take_along_axis(x, safe_labels[..., None], axis=-1)
    return jnp.where(is_true, jnp.zeros((), x.dtype), x - x_true), is_true


# ---------------------------------------------------------------------------
# binary (labels in {-1, +1})


@register(
    family="margin",
    inputs="logits",
    keras="keras.losses.SquaredHinge",
)
def squared_hinge_loss(
    predictions: ArrayLike,
    labels: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Squared hinge loss of real-valued scores and labels in {-1, +1}, elementwise.

    $$
        \ell_i = \max(0,\ 1 - y_i x_i)^2
    $$

    Args:
      predictions: real-valued scores (decision values), any shape, floating.
      labels: targets of the same shape with values -1 or +1; float, integer or bool is
        cast. Labels in {0, 1} are NOT converted: map them with ``2 * labels - 1`` first.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs, float64 for float64 inputs.

    Raises:
      TypeError: if ``predictions`` is not floating, if ``labels`` is complex or not numeric, or if
        ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``predictions``, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      Unlike [`hinge_loss`][jaxloss.hinge_loss] the gradient is continuous: it is
      $-2 y \max(0, 1 - y x)$, which is 0 at $y x = 1$. A score of ``+-inf``
      whose sign agrees with its label gives loss 0 and gradient 0; one that disagrees
      gives ``inf``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([0.5, 2.0, 0.3])
      >>> y = jnp.array([1.0, 1.0, -1.0])
      >>> [round(v, 4) for v in jaxloss.squared_hinge_loss(x, y, reduction="none").tolist()]
      [0.25, 0.0, 1.69]

    Equivalent to ``keras.losses.SquaredHinge`` without its mean over the last axis
    (Keras also converts {0, 1} labels to {-1, +1}; this function does not).
    """
    fn = "squared_hinge_loss"
    x, y, mask = core.elementwise_inputs(
        fn, predictions, labels, where, names=("predictions", "labels")
    )
    values = jnp.square(jnp.maximum(1 - y * x, 0))
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="margin",
    inputs="logits",
    optax="optax.losses.perceptron_loss",
)
def perceptron_loss(
    predictions: ArrayLike,
    labels: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Binary perceptron loss of real-valued scores and labels in {-1, +1}, elementwise.

    $$
        \ell_i = \max(0,\ -y_i x_i)
    $$

    The hinge loss without a margin: only misclassified scores are penalized.

    Args:
      predictions: real-valued scores, any shape, floating.
      labels: targets of the same shape with values -1 or +1; float, integer or bool.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs, float64 for float64 inputs.

    Raises:
      TypeError: if ``predictions`` is not floating, if ``labels`` is complex or not numeric, or if
        ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``predictions``, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      The gradient at the kink $x = 0$ is 0 (the subgradient of ``jax.nn.relu``).
      A score of ``+-inf`` whose sign agrees with its label gives loss 0 and gradient 0;
      one that disagrees gives ``inf``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([0.5, -2.0, 0.3])
      >>> y = jnp.array([1.0, 1.0, -1.0])
      >>> jaxloss.perceptron_loss(x, y, reduction="none")
      Array([0. , 2. , 0.3], dtype=float32)

    Equivalent to ``optax.losses.perceptron_loss(predictor_outputs, targets)``
    (``reduction="none"``).
    """
    fn = "perceptron_loss"
    x, y, mask = core.elementwise_inputs(
        fn, predictions, labels, where, names=("predictions", "labels")
    )
    margin = -y * x
    values = jnp.where(margin > 0, margin, 0)  # relu with gradient 0 at the kink
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# multiclass (integer labels)


@register(
    family="margin",
    inputs="logits",
    optax="optax.losses.multiclass_hinge_loss",
)
def multiclass_hinge_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multiclass (Crammer-Singer) hinge loss of class scores and integer labels.

    $$
        \ell = \max_c \bigl(x_c + [c \ne y]\bigr) - x_y
             = \max\Bigl(0,\ \max_{c \ne y} (1 + x_c - x_y)\Bigr)
    $$

    The true score must exceed every other score by a margin of 1; only the largest
    violation counts (compare [`multi_margin_loss`][jaxloss.multi_margin_loss], which sums them).

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
      A label outside ``[0, C)`` gives NaN for its example (never a silent wrap of ``-1``
      to the last class); wrap the call in [`jaxloss.checked`][jaxloss.checked] to raise an error
      naming the position instead. Ties in the maximum share its gradient equally. A
      ``-inf`` score of a wrong class is ignored (loss and gradient finite); a ``+inf``
      true score gives loss 0 and gradient 0.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.2, 0.5, 0.9], [2.0, 0.5, -1.0]])
      >>> loss = jaxloss.multiclass_hinge_loss(x, jnp.array([2, 0]), reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.6, 0.0]

    Equivalent to ``optax.losses.multiclass_hinge_loss(scores, labels)``
    (``reduction="none"``; optax supports only the last axis and wraps a label ``-1``).
    """
    fn = "multiclass_hinge_loss"
    x, safe_labels, in_range, mask = core.integer_label_inputs(fn, scores, labels, where, axis)
    gaps, is_true = _gaps_to_true_class(x, safe_labels)
    values = jnp.max(jnp.where(is_true, gaps, gaps + 1), axis=-1)
    values = jnp.where(in_range, values, jnp.nan)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="margin",
    inputs="logits",
    optax="optax.losses.multiclass_perceptron_loss",
)
def multiclass_perceptron_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multiclass perceptron loss of class scores and integer labels.

    $$
        \ell = \max_c x_c - x_y
    $$

    Zero when the true class has the largest score;
    [`multiclass_hinge_loss`][jaxloss.multiclass_hinge_loss] without the margin.

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
      A label outside ``[0, C)`` gives NaN for its example; wrap the call in
      [`jaxloss.checked`][jaxloss.checked] to raise an error instead. Ties in the maximum share its
      gradient equally (as ``jnp.max`` does), so the gradient at equal scores is
      $1/C - [c = y]$, as in optax. ``-inf`` scores of wrong classes are ignored;
      a ``+inf`` true score gives loss 0 and gradient 0.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.2, 0.5, 0.9], [2.0, 0.5, -1.0]])
      >>> loss = jaxloss.multiclass_perceptron_loss(x, jnp.array([1, 0]), reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.4, 0.0]

    Equivalent to ``optax.losses.multiclass_perceptron_loss(scores, labels)``
    (``reduction="none"``; optax supports only the last axis).
    """
    fn = "multiclass_perceptron_loss"
    x, safe_labels, in_range, mask = core.integer_label_inputs(fn, scores, labels, where, axis)
    gaps, _ = _gaps_to_true_class(x, safe_labels)
    values = jnp.where(in_range, jnp.max(gaps, axis=-1), jnp.nan)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="margin",
    inputs="logits",
    torch="torch.nn.functional.multi_margin_loss",
    ranges={"margin": Range()},
)
def multi_margin_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    p: int = 1,
    margin: float | Array = 1.0,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multiclass (Weston-Watkins) margin loss of class scores and integer labels.

    $$
        \ell = \frac{1}{C} \sum_{c \ne y} w_y \max(0,\ m - x_y + x_c)^p
    $$

    Every wrong class whose score comes within the margin $m$ of the true score
    contributes (compare [`multiclass_hinge_loss`][jaxloss.multiclass_hinge_loss], which keeps only
    the largest).

    Args:
      scores: class scores ``[..., C, ...]``, floating.
      labels: integer class indices, the shape of ``scores`` without ``axis``.
      p: the power, ``1`` or ``2`` (a static Python int).
      margin: $m$, any real number (a Python float or a JAX scalar).
      class_weights: optional ``[C]`` weights; the weight $w_y$ of each example's
        TRUE class scales its loss (PyTorch's ``weight``).
      axis: the class axis (static).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``. With ``class_weights``
        the ``"mean"`` still divides by the number of examples (by ``sum(weights)``
        when ``weights``/``where`` are given), NOT by the summed class weights: this is
        what PyTorch's ``multi_margin_loss`` does, unlike its ``cross_entropy``.
      where: boolean mask over examples (the shape of ``labels``); masked examples are
        excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to the shape of ``labels``.

    Returns:
      A scalar, or the shape of ``labels`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if ``p`` is not 1 or 2, or ``class_weights`` does not have shape ``[C]``.

    Note:
      The division is by the number of classes $C$ (the true class included), as
      in PyTorch. A label outside ``[0, C)`` gives NaN for its example; wrap the call
      in [`jaxloss.checked`][jaxloss.checked] to raise an error instead. The gradient at a kink
      ($m - x_y + x_c = 0$) is 0. A ``-inf`` score of a wrong class contributes 0
      with zero gradient; a ``+inf`` true score gives loss 0 and gradient 0.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> round(float(jaxloss.multi_margin_loss(x, jnp.array([3]))), 4)
      0.325
      >>> loss = jaxloss.multi_margin_loss(x, jnp.array([3]), p=2, reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.1525]

    Equivalent to ``torch.nn.functional.multi_margin_loss(input, target, p, margin,
    weight)``, including its ``"mean"`` (``class_weights`` is PyTorch's ``weight``;
    PyTorch supports only the class axis 1 of a 2-D input).
    """
    fn = "multi_margin_loss"
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p not in (1, 2):
        raise ValueError(f"{fn}: argument 'p' must be 1 or 2 (a Python int), got {p!r}")
    x, safe_labels, in_range, mask = core.integer_label_inputs(fn, scores, labels, where, axis)
    num_classes = x.shape[-1]
    m = core.hyperparameter(fn, "margin", margin, x.dtype)
    cw = core.class_weights(fn, class_weights, num_classes, x.dtype)
    gaps, is_true = _gaps_to_true_class(x, safe_labels)
    violation = jax.nn.relu(gaps + m)
    if p == 2:
        violation = jnp.square(violation)
    values = jnp.sum(jnp.where(is_true, jnp.zeros((), x.dtype), violation), axis=-1)
    values = values / num_classes
    if cw is not None:
        values = cw[safe_labels] * values
    values = jnp.where(in_range, values, jnp.nan)
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# multi-label


@register(
    family="margin",
    inputs="logits",
    torch="torch.nn.functional.multilabel_soft_margin_loss",
)
def multilabel_soft_margin_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multi-label soft margin loss: the class-averaged sigmoid cross-entropy, per example.

    $$
        \ell = -\frac{1}{C} \sum_c w_c \bigl(y_c \log \sigma(x_c)
               + (1 - y_c) \log \sigma(-x_c)\bigr)
    $$

    Args:
      logits: ``[..., C, ...]`` one independent score per class, floating.
      labels: multi-hot targets of the same shape, in ``[0, 1]`` (float, integer or
        bool is cast; soft labels are allowed).
      class_weights: optional ``[C]`` per-class weights $w_c$ (PyTorch's
        ``weight``); the division is by $C$ regardless.
      axis: the class axis (static).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask over examples (the shape of ``logits`` without ``axis``);
        masked examples are excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the shape of ``logits`` without ``axis`` for ``reduction="none"``;
      float32 for half precision inputs.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is complex or not numeric, if ``axis``
        is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits``, if ``axis`` is out of range
        for ``logits``, if ``class_weights`` does not have one entry per class, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      Computed as $y \operatorname{softplus}(-x) + (1 - y) \operatorname{softplus}(x)$,
      stable for every finite logit. A logit of ``+inf`` with label exactly 1, or
      ``-inf`` with label exactly 0, contributes exactly 0 with zero gradient (the
      vanishing term is removed with a double ``where``); an infinite logit that
      disagrees with its label gives ``inf``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[2.0, -1.0, 0.0]])
      >>> y = jnp.array([[1.0, 0.0, 1.0]])
      >>> loss = jaxloss.multilabel_soft_margin_loss(x, y, reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.3778]

    Equivalent to ``torch.nn.functional.multilabel_soft_margin_loss(input, target,
    weight)`` (same ``"mean"`` over examples; PyTorch supports only the last axis).
    """
    fn = "multilabel_soft_margin_loss"
    x, y, mask, axis = core.distribution_inputs(fn, logits, labels, where, axis)
    x, y = jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1)
    cw = core.class_weights(fn, class_weights, x.shape[-1], x.dtype)
    zero = jnp.zeros((), x.dtype)
    # y * softplus(-x) is 0 * inf at x = -inf, y = 0, and (1 - y) * softplus(x) is 0 * inf
    # at x = +inf, y = 1: both the term and the logit fed to softplus are replaced there.
    skip_pos = (y == 0) & (x == -jnp.inf)
    skip_neg = (y == 1) & (x == jnp.inf)
    pos = jnp.where(skip_pos, zero, y * jax.nn.softplus(-jnp.where(skip_pos, zero, x)))
    neg = jnp.where(skip_neg, zero, (1 - y) * jax.nn.softplus(jnp.where(skip_neg, zero, x)))
    terms = pos + neg
    if cw is not None:
        terms = terms * cw
    values = jnp.mean(terms, axis=-1)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="margin",
    inputs="logits",
    torch="torch.nn.functional.multilabel_margin_loss",
    notes={
        "torch": (
            "`input, target` are `scores, labels` (same shape, integer class indices padded "
            "with -1). PyTorch raises an error for a label outside [-1, C), also after the "
            "first -1; jaxloss ignores every entry after the first -1 and gives NaN for an "
            "example with a label outside [0, C) before it (`jaxloss.checked` raises). "
            "PyTorch takes only [C] or [N, C]; jaxloss any [..., C, ...] with `axis`."
        ),
    },
)
def multilabel_margin_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Multi-label margin (hinge) loss of class scores and padded target class indices.

    With $T$ the target classes of an example (its labels up to the first ``-1``) and
    $C$ the number of classes:

    $$
        \ell = \frac{1}{C} \sum_{j \in T} \sum_{i \notin T}
               \max\bigl(0,\ 1 - (x_j - x_i)\bigr)
    $$

    Every target score must exceed every non-target score by a margin of 1.

    Args:
      scores: class scores ``[..., C, ...]``, floating.
      labels: integer class indices of the same shape as ``scores``: along ``axis``,
        each example lists its target classes first, then ``-1``, then anything (the
        entries after the first ``-1`` are ignored, PyTorch's padding rule). An example
        whose labels start with ``-1`` has no target and gives 0; one without ``-1``
        has ``C`` targets (a class listed twice counts twice, as in PyTorch).
      axis: the class axis of ``scores`` and ``labels`` (static).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask over examples (the shape of ``scores`` without ``axis``);
        masked examples are excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the shape of ``scores`` without ``axis`` (one value per example) for
      ``reduction="none"``; float32 for half precision inputs.

    Raises:
      TypeError: if ``scores`` is not floating, if ``labels`` is not an integer array (class
        indices), if ``axis`` is not an int, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``scores``, if ``axis`` is out of range
        for ``scores``, if ``where`` or ``weights`` is not broadcastable to the per-example loss
        shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      A label outside ``[0, C)`` before the first ``-1`` (``-2``, ``C``, ...) gives NaN
      for its example; wrap the call in [`jaxloss.checked`][jaxloss.checked] to raise an
      error naming the position instead. The gradient at a kink ($x_j - x_i = 1$) is 0,
      as in PyTorch. A ``-inf`` non-target score or a ``+inf`` target score contributes
      0 with zero gradient. The pairs are formed as a ``[..., C, C]`` array (PyTorch's
      kernel also does $C^2$ work per example).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> y = jnp.array([[3, 0, -1, 1]])  # targets 3 and 0; the 1 after -1 is ignored
      >>> round(float(jaxloss.multilabel_margin_loss(x, y)), 4)
      0.85

    Equivalent to ``torch.nn.functional.multilabel_margin_loss(input, target)`` (and
    ``torch.nn.MultiLabelMarginLoss``), including its ``"mean"`` over examples, for every
    target that PyTorch accepts (PyTorch supports only the last axis of a 1-D or 2-D
    input).
    """
    fn = "multilabel_margin_loss"
    x = core.as_logits(fn, "scores", scores)
    y = core.as_labels(fn, "labels", labels)
    core.check_same_shape(fn, "scores", x, "labels", y)
    axis = core.normalize_axis(fn, axis, x.ndim, "scores")
    x = x.astype(core.compute_dtype(x))
    num_classes = x.shape[axis]
    mask = core.example_mask(fn, where, x.shape[:axis] + x.shape[axis + 1 :])
    x = core.mask_inputs(mask, x, axis=axis)
    x, y_last = jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1)
    # The slots before the first -1 hold the targets; they must be class indices.
    listed = jnp.cumsum(y_last == -1, axis=-1) == 0
    in_range = (y_last >= 0) & (y_last < num_classes)
    ok = ~listed | in_range
    if mask is not None:
        ok = ok | ~mask[..., None]
    core.check_labels(fn, jnp.moveaxis(ok, -1, axis), y, num_classes)
    slot = listed & in_range  # [..., K]: a target in slot k
    safe = jnp.where(slot, y_last, 0)
    classes = jnp.arange(num_classes)
    is_target = jnp.any(slot[..., :, None] & (safe[..., :, None] == classes), axis=-2)
    x_target = jnp.take_along_axis(x, safe, axis=-1)  # [..., K]
    violation = jax.nn.relu(1 - x_target[..., :, None] + x[..., None, :])  # [..., K, C]
    counted = slot[..., :, None] & ~is_target[..., None, :]
    values = jnp.sum(jnp.where(counted, violation, jnp.zeros((), x.dtype)), axis=(-2, -1))
    values = values / num_classes
    values = jnp.where(jnp.all(ok, axis=-1), values, jnp.nan)
    return core.finish(fn, values, reduction, mask, weights)
