"""Divergences between probability distributions along a class axis.

The axis may be several axes (a tuple, or ``None`` for all), summed over together as in
optax. ``where`` follows optax too when it has the dimensions of the inputs: a mask of
entries, left out of the sum (an example with no entry left is masked as a whole); with
fewer dimensions it masks examples, the jaxloss convention.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike
from jaxloss._registry import register

# Fill of a masked log-probability: its exponential is exactly 0 in float32 and float64,
# while the value itself stays finite (no ``0 * inf`` in the sums of the plain terms).
_LOG_ZERO = -1e4


def _inputs(
    fn: str,
    first: ArrayLike,
    second: ArrayLike,
    where: ArrayLike | None,
    axis,
    *,
    names: tuple[str, str],
    fills: tuple[float, float],
):
    """Prepares the two same-shape inputs of a divergence along ``axis``.

    Returns ``(a, b, mask, axis)``: both in the compute dtype, several axes (a tuple, or
    ``None`` for all) moved last and merged into one, ``axis`` the int axis to sum over,
    and ``mask`` the per-example mask (or ``None``). A ``where`` with the dimensions of
    the inputs masks entries (optax's convention; an example keeps the entries it has,
    and one with none left is masked); any other ``where`` masks examples. Masked
    entries, and the entries of masked examples, are replaced by ``fills`` (chosen so
    that they contribute exactly 0), so they get exactly zero gradient even when
    inf/NaN.
    """
    a, b, axes, mask, entries = core.paired_axis_inputs(fn, first, second, where, axis, names)
    dtype = a.dtype
    fill_a, fill_b = (jnp.asarray(f, dtype) for f in fills)
    if entries is not None:
        a, b = jnp.where(entries, a, fill_a), jnp.where(entries, b, fill_b)
    elif mask is not None:
        a = core.mask_inputs(mask, a, fill=fills[0], axis=axes)
        b = core.mask_inputs(mask, b, fill=fills[1], axis=axes)
    return a, b, mask, axes


def _finite_where_zero(x: Array, zero: Array) -> Array:
    """``x``, except -1 where ``zero`` holds (and ``x`` is below -1).

    ``maximum(x, -1 / zero)``: the bound is ``-inf`` (no effect) where ``zero`` is 0 and
    -1 where it is 1, so ``0 * (... - result)`` is exactly 0 there even when ``x`` is
    ``-inf``. Arithmetic rather than a second ``where`` on purpose: on the CPU a select
    on the log-predictions does not join XLA's reduction fusion and costs a full extra
    pass over the input, and this form needs no ``lax.cond`` fallback (whose two
    branches doubled the compile time).
    """
    return jnp.maximum(x, -1 / zero)


def _kl_terms(t: Array, logp: Array) -> Array:
    """``t * (log t - logp)``, exactly 0 where ``t == 0`` (also at ``logp = -inf``)."""
    zero = (t == 0).astype(t.dtype)
    return t * (jnp.log(t + zero) - _finite_where_zero(logp, zero))


def _kl_rows_value(t: Array, logp: Array, axis: int) -> Array:
    return jnp.sum(_kl_terms(t, logp), axis=axis)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _kl_rows(t: Array, logp: Array, axis: int) -> Array:
    """``sum(t * (log t - logp), axis)`` with closed-form gradients.

    d/dlogp = -t (exactly 0 where t == 0, even at logp = -inf); d/dt = log t - logp + 1
    where t != 0 and 0 (finite) where t == 0. The logp cotangent never reads logp.
    """
    return _kl_rows_value(t, logp, axis)


def _kl_rows_fwd(t, logp, axis):
    return _kl_rows_value(t, logp, axis), (t, logp)


def _kl_rows_bwd(axis, res, g):
    t, logp = res
    g = jnp.expand_dims(g, axis)
    present = t != 0
    dt = g * jnp.where(
        present, jnp.log(jnp.where(present, t, 1)) - jnp.where(present, logp, 0) + 1, 0
    )
    return dt, -g * t


_kl_rows.defvjp(_kl_rows_fwd, _kl_rows_bwd)


_SMALL = 2**16

NAMES = ("log_predictions", "targets")


# Jitted with a static axis: an eager call otherwise traces the two ``lax.cond`` branches,
# fresh closures each time, and compiles them on every call.
@functools.partial(jax.jit, static_argnums=2)
def _kl_log_rows_value(logt: Array, logp: Array, axis: int) -> Array:
    """``sum(exp(logt) * (logt - logp), axis)``, exactly 0 per class where ``exp(logt)``
    is 0.

    On the CPU, the plain terms are summed first and the guarded ones only when a sum is
    NaN (``lax.cond`` runs one branch): the plain terms are NaN wherever a target is 0
    (``0 * -inf``), and any select or clamp in them makes XLA:CPU's reduction fusion
    about 3x slower. ``exp(logt)`` is computed inside each branch: computed once outside,
    XLA materializes it as a ``[N, C]`` operand of the cond (about 40% slower). Other
    backends fuse the select and sum the guarded terms directly, as the CPU does for
    inputs of at most ``_SMALL`` elements, where the cond's fixed cost (two branches to
    compile, a predicate to read back) outweighs the pass it saves.
    """

    def guarded(logt, logp):
        t = jnp.exp(logt)
        return jnp.sum(t * jnp.where(t > 0, logt - logp, 0), axis=axis)

    def plain_unless_nan(logt, logp):
        plain = jnp.sum(jnp.exp(logt) * (logt - logp), axis=axis)
        return jax.lax.cond(jnp.any(jnp.isnan(plain)), lambda: guarded(logt, logp), lambda: plain)

    if logt.size <= _SMALL:
        return guarded(logt, logp)
    return jax.lax.platform_dependent(logt, logp, cpu=plain_unless_nan, default=guarded)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _kl_log_rows(logt: Array, logp: Array, axis: int) -> Array:
    """``sum(exp(logt) * (logt - logp), axis)``; d/dlogp = -t, d/dlogt = t (logt - logp + 1)."""
    return _kl_log_rows_value(logt, logp, axis)


def _kl_log_rows_fwd(logt, logp, axis):
    return _kl_log_rows_value(logt, logp, axis), (logt, logp)


def _kl_log_rows_bwd(axis, res, g):
    logt, logp = res
    g = jnp.expand_dims(g, axis)
    t = jnp.exp(logt)
    dlogt = g * t * jnp.where(t > 0, logt - logp + 1, 0)
    return dlogt, -g * t


_kl_log_rows.defvjp(_kl_log_rows_fwd, _kl_log_rows_bwd)


@register(
    family="divergence",
    inputs="log_probabilities",
    optax="optax.losses.kl_divergence",
    torch="torch.nn.functional.kl_div",
    keras="keras.losses.KLDivergence",
    notes={
        "optax": (
            "optax clips nothing and gives NaN gradients at zero targets; jaxloss gives finite "
            "ones."
        ),
        "torch": (
            "PyTorch's `kl_div(input, target)` takes log-predictions first, as jaxloss does. "
            "`reduction='batchmean'` divides the total by the size of the first axis, so it equals"
            " jaxloss's `'mean'` only for 2-D input `[N, C]`; for `[N, C, d1, ...]` it is "
            "jaxloss's `'sum'` divided by N. PyTorch's `'mean'` averages over every element "
            "(jaxloss `'mean'` divided by C)."
        ),
        "keras": (
            "Keras's `KLDivergence()(y_true, y_pred)` and `kl_divergence(y_true, y_pred)` take "
            "two probability distributions; jaxloss takes the log-predictions first, as optax "
            "and PyTorch do: `kl_divergence(jnp.log(y_pred), y_true)` (also for "
            "`jaxloss.get('KLDivergence')`). Keras clips both to `[1e-7, 1]`."
        ),
    },
)
def kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Kullback-Leibler divergence of predictions from targets, per example.

    $$
        \ell = \mathrm{KL}(t \,\|\, p) = \sum_c t_c \bigl(\log t_c - \log p_c\bigr),
        \qquad 0 \log 0 = 0
    $$

    Args:
      log_predictions: log-probabilities $\log p$, ``[..., C, ...]``, floating
        (e.g. the output of ``jax.nn.log_softmax``).
      targets: target probabilities $t$ of the same shape, non-negative (float,
        integer or bool; one-hot labels are fine).
      axis: the class axis (static): an int, a tuple of axes (summed over together, as
        one axis), or ``None`` for every axis.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask. With as many dimensions as the inputs (broadcastable to their
        shape) it masks entries, as optax's ``where``: masked entries are left out of
        the sum over ``axis`` (an example with none left is masked). With fewer it masks
        examples, broadcastable to the per-example shape (``axis`` dropped).
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the per-example shape (``log_predictions.shape`` without ``axis``) for
      ``reduction="none"``; float32 for half precision inputs.

    Raises:
      TypeError: if ``log_predictions`` is not floating, if ``targets`` is complex or not numeric,
        if ``axis`` is not an int, a tuple of ints or ``None``, or if ``where`` is not boolean.
      ValueError: if ``targets`` does not have the shape of ``log_predictions``, if ``axis`` is out
        of range for ``log_predictions`` or names an axis twice, if ``where`` is not broadcastable
        to the input shape (as many dimensions) or to the per-example loss shape (fewer), if
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      A class whose target is exactly 0 contributes exactly 0, also when its
      log-prediction is ``-inf`` (a masked class), and its gradient with respect to both
      arguments is 0, never NaN (the true derivative with respect to such a target is
      $-\infty$). A ``-inf`` log-prediction where the target is positive gives
      ``inf``; a NaN log-prediction gives NaN wherever it is. Negative targets are
      invalid and give NaN. Nothing is
      clipped: targets that sum to 1 and a normalized ``log_predictions`` give a value
      $\ge 0$ (up to rounding). The gradient is a closed-form custom VJP (its
      log-prediction part, ``-targets``, never reads the log-predictions), so forward
      mode (``jax.jvp``) is not available for this loss; ``jax.grad`` and
      ``jax.hessian`` are. Masked entries (an element-shaped ``where``) and the entries
      of masked examples are replaced by a zero target before use: they contribute 0
      and get exactly zero gradient, also when they hold inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> log_p = jnp.log(jnp.array([[0.5, 0.5], [0.25, 0.75]]))
      >>> t = jnp.array([[1.0, 0.0], [0.25, 0.75]])
      >>> [round(v, 4) for v in jaxloss.kl_divergence(log_p, t, reduction="none").tolist()]
      [0.6931, 0.0]

    Equivalent to ``optax.losses.kl_divergence(log_predictions, targets, axis, where)``
    (``reduction="none"``, the same ``axis`` and element-shaped ``where``; optax gives a
    NaN gradient at zero targets and NaN at a ``-inf`` log-prediction there, and lets
    inf/NaN in masked entries reach the gradient),
    ``torch.nn.functional.kl_div(log_predictions, targets)`` summed over ``axis``
    (PyTorch's ``"batchmean"`` is ``reduction="mean"`` here for 2-D ``[N, C]`` input
    only: it divides the total by the first dimension, so for ``[N, C, d1, ...]`` it is
    ``reduction="sum"`` divided by ``N``; PyTorch's ``"mean"`` averages over every
    element, i.e. ``reduction="mean"`` divided by ``C``) and
    ``keras.losses.KLDivergence`` applied to probabilities (Keras clips both to
    ``[1e-7, 1]``; Axon's ``kl_divergence`` clips the same way, so its values differ
    slightly where a target is 0).
    """
    fn = "kl_divergence"
    logp, t, mask, axis = _inputs(
        fn, log_predictions, targets, where, axis, names=NAMES, fills=(0.0, 0.0)
    )
    values = _kl_rows(t, logp, axis)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="divergence",
    inputs="log_probabilities",
    optax="optax.losses.kl_divergence_with_log_targets",
    torch="torch.nn.functional.kl_div(log_target=True)",
)
def kl_divergence_with_log_targets(
    log_predictions: ArrayLike,
    log_targets: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Kullback-Leibler divergence with both distributions given as log-probabilities.

    $$
        \ell = \mathrm{KL}(t \,\|\, p) = \sum_c e^{\log t_c} \bigl(\log t_c - \log p_c\bigr)
    $$

    Args:
      log_predictions: log-probabilities $\log p$, ``[..., C, ...]``, floating.
      log_targets: target log-probabilities $\log t$, same shape, floating.
      axis: the class axis (static): an int, a tuple of axes (summed over together, as
        one axis), or ``None`` for every axis.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask. With as many dimensions as the inputs (broadcastable to their
        shape) it masks entries, as optax's ``where``: masked entries are left out of
        the sum over ``axis`` (an example with none left is masked). With fewer it masks
        examples, broadcastable to the per-example shape (``axis`` dropped).
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the per-example shape (``axis`` dropped) for ``reduction="none"``;
      float32 for half precision inputs.

    Raises:
      TypeError: if ``log_predictions`` is not floating, if ``log_targets`` is complex or not
        numeric, if ``axis`` is not an int, a tuple of ints or ``None``, or if ``where`` is not
        boolean.
      ValueError: if ``log_targets`` does not have the shape of ``log_predictions``, if ``axis`` is
        out of range for ``log_predictions`` or names an axis twice, if ``where`` is not
        broadcastable to the input shape (as many dimensions) or to the per-example loss shape
        (fewer), if ``weights`` is not broadcastable to the per-example loss shape, or if
        ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      A class whose target probability $e^{\log t_c}$ is 0 (a ``-inf`` log target,
      or one so negative that the exponential underflows) contributes exactly 0, also
      when its log-prediction is ``-inf``, with zero gradient with respect to both
      arguments (double ``where``). A ``-inf`` log-prediction where the target is
      positive gives ``inf``. Like [`kl_divergence`][jaxloss.kl_divergence], it has a custom VJP: no
      forward-mode differentiation. Masked entries (an element-shaped ``where``) and the
      entries of masked examples get a target of exactly 0 before use: they contribute
      0 and get exactly zero gradient, also when they hold inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> log_p = jnp.log(jnp.array([[0.5, 0.5], [0.25, 0.75]]))
      >>> log_t = jnp.log(jnp.array([[1.0, 0.0], [0.25, 0.75]]))
      >>> loss = jaxloss.kl_divergence_with_log_targets(log_p, log_t, reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.6931, 0.0]

    Equivalent to ``optax.losses.kl_divergence_with_log_targets`` (``reduction="none"``,
    the same ``axis`` and element-shaped ``where``; optax gives NaN where a ``-inf`` log
    target meets a ``-inf`` log-prediction, and NaN gradients at ``-inf`` log targets)
    and ``torch.nn.functional.kl_div(log_predictions, log_targets, log_target=True)``
    summed over ``axis``.
    """
    fn = "kl_divergence_with_log_targets"
    names = ("log_predictions", "log_targets")
    # A masked log target is _LOG_ZERO (a target of exactly 0): no ``0 * -inf`` in the
    # plain terms, so the fast CPU path needs no fallback.
    logp, logt, mask, axis = _inputs(
        fn, log_predictions, log_targets, where, axis, names=names, fills=(0.0, _LOG_ZERO)
    )
    values = _kl_log_rows(logt, logp, axis)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="divergence",
    inputs="log_probabilities",
    optax="optax.losses.generalized_kl_divergence",
    aliases=("convex_kl_divergence",),
)
def generalized_kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Generalized KL divergence between unnormalized non-negative measures.

    $$
        \ell = \sum_c \Bigl(t_c \bigl(\log t_c - \log p_c\bigr) - t_c + p_c\Bigr),
        \qquad 0 \log 0 = 0
    $$

    the Bregman divergence of $x \log x - x$; it is $\ge 0$ for any
    non-negative $t$ and $p$ (no normalization needed) and equals
    [`kl_divergence`][jaxloss.kl_divergence] when both sum to 1.

    Args:
      log_predictions: $\log p$, ``[..., C, ...]``, floating (log space, as in
        optax, so that small predictions do not underflow).
      targets: non-negative $t$ of the same shape (float, int or bool).
      axis: the class axis (static): an int, a tuple of axes (summed over together, as
        one axis), or ``None`` for every axis.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask. With as many dimensions as the inputs (broadcastable to their
        shape) it masks entries, as optax's ``where``: masked entries are left out of
        the sum over ``axis`` (an example with none left is masked). With fewer it masks
        examples, broadcastable to the per-example shape (``axis`` dropped).
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the per-example shape (``axis`` dropped) for ``reduction="none"``;
      float32 for half precision inputs.

    Raises:
      TypeError: if ``log_predictions`` is not floating, if ``targets`` is complex or not numeric,
        if ``axis`` is not an int, a tuple of ints or ``None``, or if ``where`` is not boolean.
      ValueError: if ``targets`` does not have the shape of ``log_predictions``, if ``axis`` is out
        of range for ``log_predictions`` or names an axis twice, if ``where`` is not broadcastable
        to the input shape (as many dimensions) or to the per-example loss shape (fewer), if
        ``weights`` is not broadcastable to the per-example loss shape, or if ``reduction`` is not
        ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      A zero target contributes $p_c$ only; its ``t log t`` and ``t log p`` terms
      are removed by a double ``where``, so the value and the gradients with respect to
      both arguments are finite there, also when the log-prediction is ``-inf``. The
      gradient with respect to such a target is that of the remaining terms (``-1``),
      not the true $-\infty$. A ``-inf`` log-prediction where the target is
      positive gives ``inf``. Negative targets are invalid and give NaN. Like
      [`kl_divergence`][jaxloss.kl_divergence], it has a custom VJP: no forward-mode
      differentiation. A masked entry (an element-shaped ``where``) is a zero measure
      on both sides: it contributes 0 (neither $p_c$ nor $t_c$) and gets exactly zero
      gradient, also when it holds inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> log_p = jnp.log(jnp.array([[0.5, 1.0]]))
      >>> t = jnp.array([[1.0, 0.0]])
      >>> round(float(jaxloss.generalized_kl_divergence(log_p, t)), 4)
      1.1931

    Equivalent to ``optax.losses.generalized_kl_divergence(log_predictions, targets, axis,
    where)`` (``reduction="none"``, the same ``axis`` and element-shaped ``where``; optax
    gives NaN gradients at zero targets) and to its deprecated alias
    ``optax.losses.convex_kl_divergence``, which is ``convex_kl_divergence`` here (an
    alias, without optax's deprecation warning).
    """
    fn = "generalized_kl_divergence"
    # A masked entry is a zero measure on both sides: exp(_LOG_ZERO) is exactly 0.
    logp, t, mask, axis = _inputs(
        fn, log_predictions, targets, where, axis, names=NAMES, fills=(_LOG_ZERO, 0.0)
    )
    values = _kl_rows(t, logp, axis) + jnp.sum(jnp.exp(logp) - t, axis=axis)
    return core.finish(fn, values, reduction, mask, weights)


def _kl_log_terms(logt: Array, logp: Array) -> Array:
    """``exp(logt) (logt - logp)``, exactly 0 with zero gradients where ``exp(logt)`` is 0.

    The plain-``jnp`` form of `_kl_log_rows`'s terms (a double ``where``), without a
    custom VJP: ``jaxloss.checked`` cannot differentiate a custom VJP next to a traced
    hyperparameter's check (jax's checkify hands it misaligned residuals), and forward
    mode works.
    """
    t = jnp.exp(logt)
    present = t > 0
    zero = jnp.zeros((), t.dtype)
    safe_t, safe_p = jnp.where(present, logt, zero), jnp.where(present, logp, zero)
    return jnp.where(present, t * (safe_t - safe_p), zero)


def _jsd_rows(logq: Array, logp: Array, beta: Array, axis: int) -> Array:
    """``beta KL(P || M) + (1 - beta) KL(Q || M)``, ``M = beta P + (1 - beta) Q``, for
    ``0 < beta < 1``; a ``beta`` at an endpoint is replaced by 0.5 (its value is not
    used there, see the caller), so that ``log(beta)`` never reaches the gradient as
    ``0 * inf``. A class with probability 0 on both sides enters the mixture as 0 on
    both: ``logaddexp(-inf, -inf)`` has a NaN gradient (its terms are 0 either way)."""
    interior = (beta > 0) & (beta < 1)
    b = jnp.where(interior, beta, jnp.asarray(0.5, beta.dtype))
    either = (jnp.exp(logp) > 0) | (jnp.exp(logq) > 0)
    zero = jnp.zeros((), logp.dtype)
    safe_p, safe_q = jnp.where(either, logp, zero), jnp.where(either, logq, zero)
    logm = jnp.logaddexp(jnp.log(b) + safe_p, jnp.log1p(-b) + safe_q)
    terms = b * _kl_log_terms(logp, logm) + (1 - b) * _kl_log_terms(logq, logm)
    return jnp.sum(terms, axis=axis)


@register(
    family="divergence",
    inputs="log_probabilities",
    ranges={"beta": core.Range(low=0.0, high=1.0)},
)
def jensen_shannon_divergence(
    log_predictions: ArrayLike,
    log_targets: ArrayLike,
    *,
    beta: float | Array = 0.5,
    axis: int | tuple[int, ...] | None = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Generalized Jensen-Shannon divergence of a student from a teacher (GKD), per example.

    $$
        M = \beta P + (1 - \beta) Q, \qquad
        \ell = \begin{cases}
            \mathrm{KL}(P \,\|\, Q) & \beta = 0 \\
            \beta\, \mathrm{KL}(P \,\|\, M) + (1 - \beta)\, \mathrm{KL}(Q \,\|\, M)
                & 0 < \beta < 1 \\
            \mathrm{KL}(Q \,\|\, P) & \beta = 1
        \end{cases}
    $$

    with $P = e^{\log t}$ the teacher's (target) and $Q = e^{\log p}$ the student's
    (predicted) distribution; at $\beta = 0.5$ it is the Jensen-Shannon divergence.

    Args:
      log_predictions: the student's log-probabilities $\log Q$, ``[..., C, ...]``,
        floating (``jax.nn.log_softmax`` of the logits).
      log_targets: the teacher's log-probabilities $\log P$, same shape, floating.
      beta: $\beta \in [0, 1]$, the weight of the teacher in the mixture (a Python
        float or a JAX scalar; traced values work, also at the endpoints).
      axis: the class axis (static): an int, a tuple of axes (summed over together, as
        one axis), or ``None`` for every axis.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask. With as many dimensions as the inputs (broadcastable to their
        shape) it masks entries, as optax's ``where``: masked entries are left out of
        the sum over ``axis`` (an example with none left is masked). With fewer it masks
        examples, broadcastable to the per-example shape (``axis`` dropped).
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the per-example shape (``axis`` dropped) for ``reduction="none"``;
      float32 for half precision inputs.

    Raises:
      TypeError: if ``log_predictions`` is not floating, if ``log_targets`` is complex or not
        numeric, if ``axis`` is not an int, a tuple of ints or ``None``, or if ``where`` is not
        boolean.
      ValueError: if ``log_targets`` does not have the shape of ``log_predictions``, if ``axis`` is
        out of range for ``log_predictions`` or names an axis twice, if a concrete ``beta`` is not
        in ``[0, 1]``, if ``where`` is not broadcastable to the input shape (as many dimensions) or
        to the per-example loss shape (fewer), if ``weights`` is not broadcastable to the
        per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      The endpoints are special cases, as in TRL and Liger Kernel: the interior formula
      tends to 0 as $\beta \to 0$ or $\beta \to 1$, while $\beta = 0$ gives the forward
      KL $\mathrm{KL}(P \,\|\, Q)$ and $\beta = 1$ the reverse KL
      $\mathrm{KL}(Q \,\|\, P)$ (the value is discontinuous there). A static ``beta``
      of 0 or 1 compiles only that KL; a traced one selects it with ``jnp.where``, with
      a finite gradient with respect to ``beta`` everywhere (0 at the endpoints).
      $\log M$ is ``logaddexp(log(beta) + log_targets, log1p(-beta) +
      log_predictions)``. At $\beta = 0.5$ the value lies in $[0, \log 2]$ for
      normalized inputs. A class with probability 0 in both inputs (``-inf`` in both)
      contributes 0 with zero gradient; one with probability 0 in one input only is
      finite in the interior (``M > 0``), and at an endpoint is what that KL gives
      (``inf`` where the first distribution has mass and the second none). It is plain
      ``jnp`` with double ``where``s, without a custom VJP: forward mode works. Masked
      entries, and the entries of masked examples, are replaced by probability 0 on
      both sides: they contribute 0 and get exactly zero gradient, also when they hold
      inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> log_q = jnp.log(jnp.array([[0.5, 0.5], [0.9, 0.1]]))
      >>> log_p = jnp.log(jnp.array([[1.0, 0.0], [0.9, 0.1]]))
      >>> out = jaxloss.jensen_shannon_divergence(log_q, log_p, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.2158, 0.0]

    Equivalent to TRL's ``GKDTrainer.generalized_jsd_loss(student_logits,
    teacher_logits, beta=beta, reduction="none")`` summed over the vocabulary, applied
    here to ``log_softmax`` of the logits (TRL divides the logits by ``temperature``
    first; its default ``reduction="batchmean"`` with ``labels``, the sum divided by the
    number of tokens whose label is not -100, is ``reduction="mean"`` over ``[batch,
    tokens]`` examples with ``where=labels != -100``) and to Liger Kernel's
    ``LigerJSD(beta=beta)(log_q, log_p)`` (student first, as here; it averages over the
    tokens that are not ignored). Agarwal et al. 2024, "On-Policy Distillation of
    Language Models: Learning from Self-Generated Mistakes".
    """
    fn = "jensen_shannon_divergence"
    names = ("log_predictions", "log_targets")
    # A masked entry has probability exactly 0 on both sides (exp(_LOG_ZERO) == 0).
    logq, logp, mask, ax = _inputs(
        fn, log_predictions, log_targets, where, axis, names=names, fills=(_LOG_ZERO, _LOG_ZERO)
    )
    b = core.hyperparameter(fn, "beta", beta, logq.dtype)
    static = core.static_value(beta)
    if static == 0.0:
        values = jnp.sum(_kl_log_terms(logp, logq), axis=ax)
    elif static == 1.0:
        values = jnp.sum(_kl_log_terms(logq, logp), axis=ax)
    else:
        values = _jsd_rows(logq, logp, b, ax)
        if static is None:  # traced: the endpoints, selected at run time
            # Unselected, each KL compares a distribution with itself (0, finite
            # gradients): a KL that is infinite (disjoint supports) where it is not used
            # would give NaN gradients through the ``where``.
            forward = jnp.sum(_kl_log_terms(logp, jnp.where(b == 0, logq, logp)), axis=ax)
            reverse = jnp.sum(_kl_log_terms(logq, jnp.where(b == 1, logp, logq)), axis=ax)
            values = jnp.where(b == 0, forward, jnp.where(b == 1, reverse, values))
    return core.finish(fn, values, reduction, mask, weights)
