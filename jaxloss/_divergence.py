"""Divergences between probability distributions along a class axis."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike
from jaxloss._registry import register

__all__ = ["kl_divergence"]


@register(
    family="divergence",
    inputs="log_probabilities",
    optax="optax.losses.kl_divergence",
    torch="torch.nn.functional.kl_div",
    keras="keras.losses.KLDivergence",
)
def kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Kullback-Leibler divergence of predictions from targets, per example.

    .. math::
        \ell = \mathrm{KL}(t \,\|\, p) = \sum_c t_c \bigl(\log t_c - \log p_c\bigr),
        \qquad 0 \log 0 = 0

    Args:
      log_predictions: log-probabilities :math:`\log p`, ``[..., C, ...]``, floating
        (e.g. the output of ``jax.nn.log_softmax``).
      targets: target probabilities :math:`t` of the same shape, non-negative (float,
        integer or bool; one-hot labels are fine).
      axis: the class axis (static).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to the per-example shape (``axis`` dropped).
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the per-example shape (``log_predictions.shape`` without ``axis``) for
      ``reduction="none"``; float32 for half precision inputs.

    Note:
      A class whose target is exactly 0 contributes exactly 0, also when its
      log-prediction is ``-inf`` (a masked class), and its gradient with respect to both
      arguments is 0, never NaN (a double ``where``; the true derivative with respect to
      such a target is :math:`-\infty`). A ``-inf`` log-prediction where the target is
      positive gives ``inf``. Negative targets are invalid and give NaN. Nothing is
      clipped: targets that sum to 1 and a normalized ``log_predictions`` give a value
      :math:`\ge 0` (up to rounding).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> log_p = jnp.log(jnp.array([[0.5, 0.5], [0.25, 0.75]]))
      >>> t = jnp.array([[1.0, 0.0], [0.25, 0.75]])
      >>> [round(v, 4) for v in jaxloss.kl_divergence(log_p, t, reduction="none").tolist()]
      [0.6931, 0.0]

    Equivalent to ``optax.losses.kl_divergence(log_predictions, targets)``
    (``reduction="none"``; optax gives a NaN gradient at zero targets and NaN at a ``-inf``
    log-prediction there), ``torch.nn.functional.kl_div(log_predictions, targets)`` summed
    over ``axis`` (PyTorch's ``"batchmean"`` is ``reduction="mean"`` here) and
    ``keras.losses.KLDivergence`` applied to probabilities (Keras clips both to
    ``[1e-7, 1]``; Axon's ``kl_divergence`` clips the same way, so its values differ
    slightly where a target is 0).
    """
    fn = "kl_divergence"
    logp, t, mask, axis = core.distribution_inputs(
        fn, log_predictions, targets, where, axis, names=("log_predictions", "targets")
    )
    present = t != 0
    one = jnp.ones((), t.dtype)
    zero = jnp.zeros((), t.dtype)
    t_safe = jnp.where(present, t, one)
    logp_safe = jnp.where(present, logp, zero)
    terms = jnp.where(present, t_safe * (jnp.log(t_safe) - logp_safe), zero)
    values = jnp.sum(terms, axis=axis)
    return core.finish(fn, values, reduction, where, weights, mask=mask)
