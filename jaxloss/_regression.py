"""Regression losses: elementwise functions of a prediction and a target.

Every loss here is elementwise (``reduction="none"`` keeps the input shape) except
[`cosine_similarity`][jaxloss.cosine_similarity] and [`cosine_distance`][jaxloss.cosine_distance],
which compare vectors along ``axis`` and drop it. Small constants that keep a logarithm or a
division finite are always called ``epsilon``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._numerics import inverse_norm, safe_abs, xlogy_safe
from jaxloss._registry import register

_LOG2 = math.log(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------
# squared and absolute errors


@register(
    family="regression",
    inputs="values",
    optax="optax.losses.squared_error",
    torch="torch.nn.functional.mse_loss",
    keras="keras.losses.MeanSquaredError",
    aliases=("mse",),
    notes={
        "keras": "Keras averages over the last axis; jaxloss is elementwise.",
    },
)
def squared_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Squared error, elementwise.

    $$
        \ell_i = (\hat y_i - y_i)^2
    $$

    Args:
      predictions: predictions, any shape, floating.
      targets: targets of the same shape.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      TypeError: if ``predictions`` is not floating, if ``targets`` is complex or not numeric, or if
        ``where`` is not boolean.
      ValueError: if ``targets`` does not have the shape of ``predictions``, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.squared_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 0.0])))
      2.5

    Equivalent to ``optax.losses.squared_error`` (``reduction="none"``),
    ``torch.nn.functional.mse_loss`` and ``keras.losses.MeanSquaredError`` (no axis mean).
    """
    fn = "squared_error"
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    return core.finish(fn, jnp.square(p - t), reduction, mask, weights)


@register(family="regression", inputs="values", optax="optax.losses.l2_loss")
def l2_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Half the squared error, elementwise (the form whose gradient is the residual).

    $$
        \ell_i = \tfrac12 (\hat y_i - y_i)^2
    $$

    Args:
      predictions: predictions, any shape, floating.
      targets: targets of the same shape.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      TypeError: if ``predictions`` is not floating, if ``targets`` is complex or not numeric, or if
        ``where`` is not boolean.
      ValueError: if ``targets`` does not have the shape of ``predictions``, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.l2_loss(jnp.array([1.0, 2.0]), jnp.array([0.0, 0.0])))
      1.25

    Equivalent to ``optax.losses.l2_loss`` (``reduction="none"``); ``0.5 *
    torch.nn.functional.mse_loss``.
    """
    fn = "l2_loss"
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    return core.finish(fn, 0.5 * jnp.square(p - t), reduction, mask, weights)


@register(
    family="regression",
    inputs="values",
    torch="torch.nn.functional.l1_loss",
    keras="keras.losses.MeanAbsoluteError",
    aliases=("mae",),
)
def absolute_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Absolute error, elementwise.

    $$
        \ell_i = |\hat y_i - y_i|
    $$

    Args:
      predictions: predictions, any shape, floating.
      targets: targets of the same shape.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      TypeError: if ``predictions`` is not floating, if ``targets`` is complex or not numeric, or if
        ``where`` is not boolean.
      ValueError: if ``targets`` does not have the shape of ``predictions``, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      At a zero residual the gradient is ``0`` (the subgradient ``sign(0)``, as in
      PyTorch; ``jnp.abs`` alone would give ``1``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.absolute_error(jnp.array([1.0, -2.0]), jnp.array([0.0, 0.0])))
      1.5

    Equivalent to ``torch.nn.functional.l1_loss`` and ``keras.losses.MeanAbsoluteError``
    (no axis mean).
    """
    fn = "absolute_error"
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    return core.finish(fn, safe_abs(p - t), reduction, mask, weights)


# ---------------------------------------------------------------------------
# robust losses


@register(
    family="regression",
    inputs="values",
    optax="optax.losses.huber_loss",
    torch="torch.nn.functional.huber_loss",
    keras="keras.losses.Huber",
    ranges={"delta": Range(low=0.0)},
    notes={
        "optax": "`delta` keyword-only.",
        "torch": "PyTorch's `huber_loss(delta)` is the same function.",
    },
)
def huber_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    delta: ArrayLike = 1.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Huber loss: quadratic for small residuals, linear with slope ``delta`` beyond.

    $$
        \ell_i = \begin{cases} \tfrac12 r_i^2 & |r_i| \le \delta \\
        \delta\,(|r_i| - \tfrac12\delta) & \text{otherwise} \end{cases}, \qquad
        r_i = \hat y_i - y_i
    $$

    Args:
      predictions: predictions, any shape, floating.
      targets: targets of the same shape.
      delta: where the loss turns from quadratic to linear, ``>= 0``; a Python float or
        a JAX scalar (traced values work under ``jit``/``vmap``/``grad``).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if a concrete ``delta`` is negative.

    Note:
      Computed branch-free as ``0.5 * m**2 + delta * (|r| - m)`` with
      ``m = min(|r|, delta)``, so ``delta = 0`` gives the constant ``0`` (not NaN) and the
      gradient with respect to ``delta`` is defined everywhere. ``smooth_l1_loss`` is the
      same curve divided by its threshold.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0])
      >>> jaxloss.huber_loss(p, t, reduction="none").tolist()
      [0.125, 2.5]

    Equivalent to ``optax.losses.huber_loss`` (``reduction="none"``),
    ``torch.nn.functional.huber_loss`` and ``keras.losses.Huber`` (no axis mean).
    """
    fn = "huber_loss"
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    delta = core.hyperparameter(fn, "delta", delta, p.dtype)
    # jnp.abs (not safe_abs): at r = 0 both give gradient 0 here, and it is cheaper.
    abs_r = jnp.abs(p - t)
    quad = jnp.minimum(abs_r, delta)
    values = 0.5 * jnp.square(quad) + delta * (abs_r - quad)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="regression",
    inputs="values",
    torch="torch.nn.functional.smooth_l1_loss",
    ranges={"beta": Range(low=0.0)},
    notes={
        "torch": "same `beta`.",
    },
)
def smooth_l1_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    beta: ArrayLike = 1.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Smooth L1 loss (PyTorch form): L1 with the corner below ``beta`` rounded off.

    $$
        \ell_i = \begin{cases} \tfrac12 r_i^2 / \beta & |r_i| < \beta \\
        |r_i| - \tfrac12\beta & \text{otherwise} \end{cases}, \qquad r_i = \hat y_i - y_i
    $$

    Args:
      predictions: predictions, any shape, floating.
      targets: targets of the same shape.
      beta: width of the quadratic zone, ``>= 0``; a Python float or a JAX scalar.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if a concrete ``beta`` is negative.

    Note:
      ``beta = 0`` is exactly the absolute error: the quadratic branch (the only one that
      divides by ``beta``) is selected only where ``|r| < beta`` and its input is
      sanitized elsewhere, so neither the value nor any gradient (also with respect to
      ``beta``) divides by zero. For ``beta > 0`` it equals
      ``huber_loss(delta=beta) / beta``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0])
      >>> jaxloss.smooth_l1_loss(p, t, reduction="none").tolist()
      [0.125, 2.5]

    Equivalent to ``torch.nn.functional.smooth_l1_loss``.
    """
    fn = "smooth_l1_loss"
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    beta = core.hyperparameter(fn, "beta", beta, p.dtype)
    abs_r = safe_abs(p - t)
    inside = abs_r < beta  # never true when beta == 0
    # Double where: the division only ever sees beta where beta > |r| >= 0.
    safe_beta = jnp.where(inside, beta, jnp.ones_like(abs_r))
    values = jnp.where(inside, 0.5 * jnp.square(abs_r) / safe_beta, abs_r - 0.5 * beta)
    return core.finish(fn, values, reduction, mask, weights)


@jax.custom_jvp
def _log_cosh(r: Array) -> Array:
    """``log(cosh(r))`` elementwise, accurate for tiny and huge ``r``; derivative ``tanh(r)``.

    Near 0, ``|r| + log1p(exp(-2|r|)) - log 2`` cancels; there the Taylor series
    ``r^2/2 - r^4/12 + r^6/45 - 17 r^8/2520 + 31 r^10/14175`` (truncation below 1e-10
    relative for ``|r| < 0.25``) keeps full relative precision for a few multiplies.

    The derivative is given in closed form: ``tanh(r)`` is one cheap elementwise op, and
    the backward pass then needs neither the forward's ``exp`` as a stored residual nor
    a second ``exp``, which keeps ``value_and_grad`` at two passes over the inputs.
    """
    abs_r = jnp.abs(r)
    r2 = jnp.square(r)
    near = r2 * (0.5 + r2 * (-1 / 12 + r2 * (1 / 45 + r2 * (-17 / 2520 + r2 * (31 / 14175)))))
    far = abs_r + jnp.log1p(jnp.exp(-2.0 * abs_r)) - _LOG2
    return jnp.where(abs_r < 0.25, near, far)


@_log_cosh.defjvp
def _log_cosh_jvp(primals, tangents):
    (r,), (dr,) = primals, tangents
    return _log_cosh(r), jnp.tanh(r) * dr


@register(
    family="regression",
    inputs="values",
    optax="optax.losses.log_cosh",
    keras="keras.losses.LogCosh",
)
def log_cosh(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Logarithm of the hyperbolic cosine of the residual, elementwise.

    $$
        \ell_i = \log\cosh(r_i) = |r_i| + \log(1 + e^{-2|r_i|}) - \log 2, \qquad
        r_i = \hat y_i - y_i
    $$

    About ``r**2 / 2`` for small residuals and ``|r| - log 2`` for large ones; its
    gradient is ``tanh(r)``.

    Args:
      predictions: predictions, any shape, floating.
      targets: targets of the same shape.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      TypeError: if ``predictions`` is not floating, if ``targets`` is complex or not numeric, or if
        ``where`` is not boolean.
      ValueError: if ``targets`` does not have the shape of ``predictions``, if ``where`` or
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      Finite for any finite residual (no ``cosh`` overflow: ``|r| = 1e4`` gives
      ``1e4 - log 2``), with gradient ``tanh(r)`` (``+-1`` at huge residuals). For
      ``|r| < 0.25`` the value is its Taylor series to ``r**10``, which keeps full
      relative precision for tiny residuals where ``|r| + log1p(exp(-2|r|)) - log 2``
      would cancel to ``0``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> v = jaxloss.log_cosh(jnp.array([0.0, 1e4]), jnp.array([0.0, 0.0]), reduction="none")
      >>> [round(float(x), 3) for x in v]
      [0.0, 9999.307]

    Equivalent to ``optax.losses.log_cosh`` (``reduction="none"``) and
    ``keras.losses.LogCosh`` (no axis mean).
    """
    fn = "log_cosh"
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    values = _log_cosh(p - t)
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# relative and logarithmic errors


@register(
    family="regression",
    inputs="values",
    keras="keras.losses.MeanAbsolutePercentageError",
    aliases=("mape",),
    ranges={"epsilon": Range(low=0.0, low_open=True)},
    notes={
        "keras": "Keras averages over the last axis.",
    },
)
def absolute_percentage_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: ArrayLike = 1e-7,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Absolute error as a percentage of the target, elementwise.

    $$
        \ell_i = 100\,\frac{|\hat y_i - y_i|}{\max(|y_i|, \epsilon)}
    $$

    Args:
      predictions: predictions, any shape, floating.
      targets: targets of the same shape.
      epsilon: floor of the denominator ``|y|``, ``> 0`` (Keras' ``backend.epsilon()``
        by default).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if a concrete ``epsilon`` is not positive.

    Note:
      A zero target gives ``100 * |p| / epsilon``: finite but huge (``1e9 * |p|`` at
      the default); mask such entries with ``where`` when the percentage is undefined.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.array([1.5, 3.0]), jnp.array([2.0, 4.0])
      >>> jaxloss.absolute_percentage_error(p, t, reduction="none").tolist()
      [25.0, 25.0]

    Equivalent to ``keras.losses.MeanAbsolutePercentageError`` (no axis mean).
    """
    fn = "absolute_percentage_error"
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    epsilon = core.hyperparameter(fn, "epsilon", epsilon, p.dtype)
    values = 100.0 * safe_abs(p - t) / jnp.maximum(jnp.abs(t), epsilon)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="regression",
    inputs="values",
    keras="keras.losses.MeanSquaredLogarithmicError",
    aliases=("msle",),
    ranges={"epsilon": Range(low=0.0)},
)
def squared_logarithmic_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: ArrayLike = 1e-7,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Squared difference of ``log(1 + x)`` of prediction and target, elementwise.

    $$
        \ell_i = \bigl(\log(1 + \max(\hat y_i, \epsilon)) - \log(1 + \max(y_i,
        \epsilon))\bigr)^2
    $$

    For non-negative quantities whose relative error matters (counts, prices).

    Args:
      predictions: predictions, any shape, floating; meant to be ``>= 0``.
      targets: targets of the same shape, meant to be ``>= 0``.
      epsilon: floor applied to both inputs before the logarithm, ``>= 0``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if a concrete ``epsilon`` is negative.

    Note:
      Clipping: inputs below ``epsilon`` (in particular negative predictions) are
      replaced by ``epsilon``, as Keras does; such predictions get a zero gradient. The
      logarithms use ``log1p``, accurate for small values.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.array([3.0, 0.0]), jnp.array([0.0, 0.0])
      >>> [round(x, 4) for x in jaxloss.msle(p, t, reduction="none").tolist()]
      [1.9218, 0.0]

    Equivalent to ``keras.losses.MeanSquaredLogarithmicError`` (no axis mean; Keras
    always uses ``epsilon = 1e-7``).
    """
    fn = "squared_logarithmic_error"
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    epsilon = core.hyperparameter(fn, "epsilon", epsilon, p.dtype)
    diff = jnp.log1p(jnp.maximum(p, epsilon)) - jnp.log1p(jnp.maximum(t, epsilon))
    return core.finish(fn, jnp.square(diff), reduction, mask, weights)


@register(
    family="regression",
    inputs="values",
    aliases=("pinball_loss",),
    ranges={"quantile": Range(low=0.0, high=1.0, low_open=True, high_open=True)},
)
def quantile_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    quantile: ArrayLike = 0.5,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Quantile (pinball) loss: its minimizer is the ``quantile`` of the targets.

    $$
        \ell_i = \max(q\,r_i,\ (q - 1)\,r_i), \qquad r_i = y_i - \hat y_i
    $$

    Under-prediction (``r > 0``) costs ``q`` per unit, over-prediction ``1 - q``.

    Args:
      predictions: predictions, any shape, floating.
      targets: targets of the same shape.
      quantile: ``q`` in the open interval ``(0, 1)``; a Python float or a JAX scalar
        (``jax.vmap`` over an array of quantiles works).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if a concrete ``quantile`` is not in ``(0, 1)``.

    Note:
      ``quantile = 0.5`` is half the absolute error. At a zero residual the gradient is
      the average of the two slopes, ``(2q - 1) / 2`` with respect to the target.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.array([0.0, 0.0]), jnp.array([2.0, -2.0])
      >>> jaxloss.quantile_loss(p, t, quantile=0.75, reduction="none").tolist()
      [1.5, 0.5]

    Equivalent to the pinball loss of scikit-learn's ``mean_pinball_loss`` (``alpha``
    there) and TensorFlow Addons' ``PinballLoss``.
    """
    fn = "quantile_loss"
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    q = core.hyperparameter(fn, "quantile", quantile, p.dtype)
    r = t - p
    values = jnp.maximum(q * r, (q - 1.0) * r)
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# likelihood losses


@register(
    family="regression",
    inputs="values",
    keras="keras.losses.Poisson",
    ranges={"epsilon": Range(low=0.0)},
)
def poisson_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: ArrayLike = 1e-7,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Poisson loss on a predicted rate (the Poisson NLL without its constant).

    $$
        \ell_i = \hat y_i - y_i \log(\hat y_i + \epsilon)
    $$

    Args:
      predictions: predicted rates ``>= 0``, any shape, floating.
      targets: observed counts (``>= 0``) of the same shape.
      epsilon: added to the rate inside the logarithm, ``>= 0``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if a concrete ``epsilon`` is negative.

    Note:
      A zero target contributes ``0 * log(...) = 0`` (``xlogy``), with a finite gradient,
      even when the rate is ``0`` and ``epsilon = 0``. A zero rate with a positive target
      gives ``-t log(epsilon)`` (``+inf`` when ``epsilon = 0``). The loss can be negative.
      For a log-rate input use [`poisson_nll_loss`][jaxloss.poisson_nll_loss].

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.array([1.0, 2.0]), jnp.array([0.0, 2.0])
      >>> [round(x, 4) for x in jaxloss.poisson_loss(p, t, reduction="none").tolist()]
      [1.0, 0.6137]

    Equivalent to ``keras.losses.Poisson`` (no axis mean) and Axon's
    ``Axon.Losses.poisson``; ``torch.nn.functional.poisson_nll_loss(log_input=False)``
    uses ``epsilon = 1e-8``.
    """
    fn = "poisson_loss"
    # Masked entries become rate 1, count 0: finite value and gradient for any epsilon.
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where, fill=1.0, target_fill=0.0)
    epsilon = core.hyperparameter(fn, "epsilon", epsilon, p.dtype)
    values = p - xlogy_safe(t, p + epsilon)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="regression",
    inputs="values",
    torch="torch.nn.functional.poisson_nll_loss",
    ranges={"epsilon": Range(low=0.0)},
    notes={
        "torch": "`eps` is `epsilon`.",
    },
)
def poisson_nll_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    epsilon: ArrayLike = 1e-8,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Poisson negative log-likelihood (PyTorch form), elementwise.

    $$
        \ell_i = \begin{cases} e^{\hat y_i} - y_i \hat y_i & \text{log\_input} \\
        \hat y_i - y_i \log(\hat y_i + \epsilon) & \text{otherwise} \end{cases}
        \;+\; [\text{full}]\,[y_i > 1]\,\bigl(y_i \log y_i - y_i + \tfrac12\log(2\pi
        y_i)\bigr)
    $$

    Args:
      predictions: log-rates (``log_input=True``) or rates ``>= 0``, any shape, floating.
      targets: observed counts (``>= 0``) of the same shape.
      log_input: static Python bool: whether ``predictions`` are log-rates.
      full: static Python bool: add the Stirling approximation of ``log(y!)`` (only for
        targets above 1, where it is meaningful).
      epsilon: added to the rate inside the logarithm when ``log_input=False``, ``>= 0``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      TypeError: if ``log_input`` or ``full`` is not a Python bool.
      ValueError: if a concrete ``epsilon`` is negative.

    Note:
      With ``log_input=True`` the value is ``exp(input) - y * input``, which overflows to
      ``+inf`` only for log-rates above ~88 (float32). With ``log_input=False`` a zero
      target contributes nothing from the logarithm (``xlogy``). The Stirling term is
      computed on a sanitized target, so targets ``<= 1`` (including ``0``) get no term and
      no NaN gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.array([0.0, 0.0]), jnp.array([0.0, 3.0])
      >>> [round(x, 4) for x in jaxloss.poisson_nll_loss(p, t, reduction="none").tolist()]
      [1.0, 1.0]
      >>> v = jaxloss.poisson_nll_loss(p, t, full=True, reduction="none")
      >>> [round(x, 4) for x in v.tolist()]
      [1.0, 2.7641]

    Equivalent to ``torch.nn.functional.poisson_nll_loss`` (``eps`` there is
    ``epsilon`` here).
    """
    fn = "poisson_nll_loss"
    log_input = core.static_bool(fn, "log_input", log_input)
    full = core.static_bool(fn, "full", full)
    fill = 0.0 if log_input else 1.0
    p, t, mask = core.elementwise_inputs(
        fn, predictions, targets, where, fill=fill, target_fill=0.0
    )
    epsilon = core.hyperparameter(fn, "epsilon", epsilon, p.dtype)
    if log_input:
        values = jnp.exp(p) - t * p
    else:
        values = p - xlogy_safe(t, p + epsilon)
    if full:
        above = t > 1.0
        t_safe = jnp.where(above, t, jnp.ones_like(t))
        stirling = t_safe * jnp.log(t_safe) - t_safe + 0.5 * jnp.log(2.0 * jnp.pi * t_safe)
        values = values + jnp.where(above, stirling, jnp.zeros_like(stirling))
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="regression",
    inputs="values",
    torch="torch.nn.functional.gaussian_nll_loss",
    ranges={"epsilon": Range(low=0.0)},
    notes={
        "torch": "`var` is `variance` (broadcastable to the predictions).",
    },
)
def gaussian_nll_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    variance: ArrayLike,
    *,
    full: bool = False,
    epsilon: ArrayLike = 1e-6,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Gaussian negative log-likelihood with a predicted mean and variance, elementwise.

    $$
        \ell_i = \tfrac12\Bigl(\log v_i + \frac{(\hat y_i - y_i)^2}{v_i}\Bigr)
        + [\text{full}]\,\tfrac12\log(2\pi), \qquad v_i = \max(\sigma^2_i, \epsilon)
    $$

    Args:
      predictions: predicted means, any shape, floating.
      targets: targets of the same shape.
      variance: predicted variances ``>= 0``, broadcastable to ``predictions.shape`` (one
        per element, a trailing axis of size 1 for one variance per row, or a scalar).
      full: static Python bool: add the constant ``0.5 * log(2 pi)``.
      epsilon: floor of the variance, ``>= 0``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``predictions.shape``; masked entries are
        excluded and get zero gradient (also in ``variance``).
      weights: non-negative weights broadcastable to ``predictions.shape``.

    Returns:
      A scalar, or ``predictions.shape`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if ``variance`` does not broadcast to ``predictions.shape``, or a
        concrete ``epsilon`` is negative.
      TypeError: if ``full`` is not a Python bool.

    Note:
      Variances below ``epsilon`` (including ``0`` and negative values, which cannot be
      rejected at trace time) are clamped to ``epsilon``; the clamped entries get a zero
      gradient with respect to ``variance`` (the gradient of the function computed).
      PyTorch instead clamps in place under ``no_grad``, which passes the gradient
      evaluated at ``epsilon`` straight through to the variance.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t, v = jnp.array([0.0, 2.0]), jnp.array([0.0, 0.0]), jnp.array([1.0, 4.0])
      >>> [round(x, 4) for x in jaxloss.gaussian_nll_loss(p, t, v, reduction="none").tolist()]
      [0.0, 1.1931]

    Equivalent to ``torch.nn.functional.gaussian_nll_loss`` (``reduction="none"``; its
    ``eps`` is ``epsilon`` here). PyTorch also accepts a variance with one dimension
    fewer than the input; here pass ``variance[..., None]`` for that.
    """
    fn = "gaussian_nll_loss"
    full = core.static_bool(fn, "full", full)
    p, t, mask = core.elementwise_inputs(fn, predictions, targets, where)
    v = core.as_float(fn, "variance", variance)
    try:
        shape = jnp.broadcast_shapes(v.shape, p.shape)
    except ValueError:
        shape = None
    if shape != p.shape:
        raise ValueError(
            f"{fn}: argument 'variance' with shape {tuple(v.shape)} must be broadcastable to "
            f"'predictions' shape {tuple(p.shape)} (for one variance per row of a "
            f"[..., D] input, give variance the shape [..., 1])"
        )
    dtype = core.compute_dtype(p, v)
    p, t = p.astype(dtype), t.astype(dtype)
    v = jnp.broadcast_to(v.astype(dtype), p.shape)
    v = core.mask_inputs(mask, v, fill=1.0)
    epsilon = core.hyperparameter(fn, "epsilon", epsilon, dtype)
    # Plain where (not maximum): below the floor the variance gets exactly zero gradient.
    v = jnp.where(v < epsilon, epsilon, v)
    values = 0.5 * (jnp.log(v) + jnp.square(p - t) / v)
    if full:
        values = values + _HALF_LOG_2PI
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# cosine


def _cosine(fn, predictions, targets, axis, epsilon, where):
    """``(similarity, mask)``: the cosine along ``axis`` and the per-example mask.

    A ``where`` with the dimensions of the inputs masks entries (optax's convention:
    left out of the dot product and of both norms; an example with none left is
    masked); with fewer it masks examples. Masked entries are replaced by 0 before use.
    """
    names = ("predictions", "targets")
    x, y, vector_axis, mask, entries = core.paired_axis_inputs(
        fn, predictions, targets, where, axis, names
    )
    dtype = x.dtype
    if entries is None and mask is not None:
        entries = jnp.expand_dims(mask, vector_axis)
    if entries is not None:
        x, y = (jnp.where(entries, a, jnp.zeros((), dtype)) for a in (x, y))
    epsilon = core.hyperparameter(fn, "epsilon", epsilon, dtype)
    dot = jnp.sum(x * y, axis=vector_axis)
    inv = inverse_norm(x, vector_axis, epsilon) * inverse_norm(y, vector_axis, epsilon)
    return dot * inv, mask


@register(
    family="regression",
    inputs="embeddings",
    optax="optax.losses.cosine_similarity",
    torch="torch.nn.functional.cosine_similarity",
    ranges={"epsilon": Range(low=0.0)},
    notes={
        "optax": (
            "optax floors the squared norm with `epsilon` (default 0: NaN for zero vectors); "
            "jaxloss floors the norm: optax `epsilon=e**2` equals jaxloss `epsilon=e`."
        ),
    },
)
def cosine_similarity(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    epsilon: ArrayLike = 1e-8,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Cosine similarity of predicted and target vectors (a similarity: higher is closer).

    $$
        s = \frac{\langle \hat y, y\rangle}{\max(\|\hat y\|, \epsilon)\,
        \max(\|y\|, \epsilon)}
    $$

    Use [`cosine_distance`][jaxloss.cosine_distance] (``1 - s``) as a loss to minimize.

    Args:
      predictions: vectors ``[..., D, ...]`` with ``D`` along ``axis``, floating.
      targets: vectors of the same shape.
      axis: the vector axis (static, dropped from the output): an int, a tuple of axes
        (one vector over all of them), or ``None`` for every axis.
      epsilon: floor of each vector norm, ``>= 0``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask. With as many dimensions as the inputs (broadcastable to their
        shape) it masks entries, as optax's ``where``: masked entries are left out of
        the dot product and of both norms (an example with none left is masked). With
        fewer it masks examples, broadcastable to the per-example shape (``axis``
        dropped). Masked entries and examples are excluded and get zero gradient.
      weights: non-negative weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the input shape without ``axis`` for ``reduction="none"``; float32
      for half precision inputs.

    Raises:
      ValueError: if a concrete ``epsilon`` is negative, if ``axis`` is out of range or
        names an axis twice, or if ``where`` is not broadcastable to the input shape (as
        many dimensions) or to the per-example shape (fewer).
      TypeError: if ``axis`` is not an int, a tuple of ints or ``None``, or if ``where``
        is not boolean.

    Note:
      Each norm is floored at ``epsilon``, so a zero vector has similarity ``0``. The
      gradient with respect to a zero vector ``x`` is ``y / (||y|| epsilon)``: finite, at
      most ``1/epsilon`` per element (``1e8`` at the default); a larger ``epsilon``
      bounds it further. With ``epsilon = 0`` a zero vector still gives ``0`` and a zero
      gradient. Vectors whose squared norm overflows the dtype are not supported.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
      >>> t = jnp.array([[0.0, 1.0], [2.0, 2.0], [1.0, 0.0]])
      >>> [round(x, 4) for x in jaxloss.cosine_similarity(p, t, reduction="none").tolist()]
      [0.0, 1.0, 0.0]

    Equivalent to ``optax.losses.cosine_similarity`` (``reduction="none"``, the same
    ``axis`` and element-shaped ``where``) and
    ``torch.nn.functional.cosine_similarity(dim=axis, eps=epsilon)``. optax's ``epsilon``
    floors the *squared* norm: optax ``epsilon=e**2`` matches ``epsilon=e`` here (optax's
    default ``0`` gives NaN for zero vectors). ``keras.losses.CosineSimilarity`` returns
    ``-s``.
    """
    fn = "cosine_similarity"
    values, mask = _cosine(fn, predictions, targets, axis, epsilon, where)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="regression",
    inputs="embeddings",
    optax="optax.losses.cosine_distance",
    keras="keras.losses.CosineSimilarity",
    ranges={"epsilon": Range(low=0.0)},
    notes={
        "optax": "see cosine_similarity.",
        "keras": (
            "Keras's CosineSimilarity loss is `-cos`; this is `1 - cos`: the same gradient, 1 "
            "more in value. Keras's function `keras.losses.cosine_similarity` is that same `-cos` "
            "loss, while `jaxloss.cosine_similarity` is optax's `+cos`."
        ),
    },
)
def cosine_distance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    epsilon: ArrayLike = 1e-8,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Cosine distance ``1 - cosine_similarity``, per vector (a loss in ``[0, 2]``).

    $$
        \ell = 1 - \frac{\langle \hat y, y\rangle}{\max(\|\hat y\|, \epsilon)\,
        \max(\|y\|, \epsilon)}
    $$

    Args:
      predictions: vectors ``[..., D, ...]`` with ``D`` along ``axis``, floating.
      targets: vectors of the same shape.
      axis: the vector axis (static, dropped from the output): an int, a tuple of axes
        (one vector over all of them), or ``None`` for every axis.
      epsilon: floor of each vector norm, ``>= 0``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask. With as many dimensions as the inputs (broadcastable to their
        shape) it masks entries, as optax's ``where``: masked entries are left out of
        the dot product and of both norms (an example with none left is masked). With
        fewer it masks examples, broadcastable to the per-example shape (``axis``
        dropped). Masked entries and examples are excluded and get zero gradient.
      weights: non-negative weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the input shape without ``axis`` for ``reduction="none"``; float32
      for half precision inputs.

    Raises:
      ValueError: if a concrete ``epsilon`` is negative, if ``axis`` is out of range or
        names an axis twice, or if ``where`` is not broadcastable to the input shape (as
        many dimensions) or to the per-example shape (fewer).
      TypeError: if ``axis`` is not an int, a tuple of ints or ``None``, or if ``where``
        is not boolean.

    Note:
      Each norm is floored at ``epsilon``, so a zero vector has similarity ``0``. The
      gradient with respect to a zero vector ``x`` is ``y / (||y|| epsilon)``: finite, at
      most ``1/epsilon`` per element (``1e8`` at the default); a larger ``epsilon``
      bounds it further. With ``epsilon = 0`` a zero vector still gives ``0`` and a zero
      gradient. Vectors whose squared norm overflows the dtype are not supported.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
      >>> t = jnp.array([[0.0, 1.0], [2.0, 2.0], [1.0, 0.0]])
      >>> [round(x, 4) for x in jaxloss.cosine_distance(p, t, reduction="none").tolist()]
      [1.0, 0.0, 1.0]

    Equivalent to ``optax.losses.cosine_distance`` (``reduction="none"``, the same ``axis``
    and element-shaped ``where``; see [`cosine_similarity`][jaxloss.cosine_similarity]
    for optax's ``epsilon``; an example whose entries are all masked is masked here,
    0 in ``"none"``, where optax gives 1) and to ``1 - torch.nn.functional.cosine_similarity``.
    """
    fn = "cosine_distance"
    values, mask = _cosine(fn, predictions, targets, axis, epsilon, where)
    return core.finish(fn, 1.0 - values, reduction, mask, weights)
