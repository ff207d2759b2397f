"""Margin losses: penalties on signed scores that fall short of a margin."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike
from jaxloss._registry import register

__all__ = ["hinge_loss", "categorical_hinge_loss", "soft_margin_loss"]


@register(
    family="margin",
    inputs="logits",
    optax="optax.losses.hinge_loss",
    keras="keras.losses.Hinge",
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

    .. math::
        \ell_i = \max(0,\ 1 - y_i x_i)

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

    Note:
      The gradient at the kink :math:`y x = 1` is 0 (the subgradient chosen by
      ``jax.nn.relu``). A score of ``+-inf`` whose sign agrees with its label gives loss 0
      and gradient 0; one that disagrees gives ``inf``.

    Example:
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
    return core.finish(fn, jax.nn.relu(1 - y * x), reduction, where, weights, mask=mask)


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

    .. math::
        \ell = \max\Bigl(0,\ 1 + \max_c \bigl((1 - y_c)\, x_c\bigr) - \sum_c y_c x_c\Bigr)

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

    Note:
      This is the Keras/Axon form: the "largest other score" is the maximum of
      :math:`(1 - y_c) x_c`, in which the true class contributes 0. So when every other
      score is negative, 0 is used in its place (the loss is then
      :math:`\max(0, 1 - x_{\mathrm{true}})`). For the Crammer-Singer form over integer
      labels see ``multiclass_hinge_loss``. Ties in the maximum share its gradient
      equally; the gradient at the kink is 0.

    Example:
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
    return core.finish(fn, values, reduction, where, weights, mask=mask)


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

    .. math::
        \ell_i = \log\bigl(1 + e^{-y_i x_i}\bigr) = \operatorname{softplus}(-y_i x_i)

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

    Note:
      Computed with ``jax.nn.softplus``, so it does not overflow for large :math:`|x|`
      (it is :math:`-y x` to working precision when :math:`y x \ll 0`). A score of
      ``+-inf`` whose sign agrees with its label gives loss 0 and gradient 0; one that
      disagrees gives ``inf``.

    Example:
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
    return core.finish(fn, jax.nn.softplus(-y * x), reduction, where, weights, mask=mask)
