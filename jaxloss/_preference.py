"""Preference-optimization losses on sequence-level log-probabilities.

Preference optimization fine-tunes a language model (the policy) on human or AI
preferences directly, without a separately trained reward model and without
reinforcement learning. The data are pairs of a chosen and a rejected completion of one
prompt (DPO, SimPO, CPO, ORPO) or single completions labelled desirable or undesirable
(KTO). Every loss here takes what the policy, and where the method has one, a frozen
reference model, assign to each completion: one log-probability per example, the sum
(or, for SimPO and ORPO, the per-token average) of its token log-probabilities, which
[`sequence_log_probs`][jaxloss.sequence_log_probs] computes from per-token
log-probabilities and a padding mask. The losses differ in the margin they build from
these numbers (a difference of log-ratios to the reference for DPO, of length-normalized
log-probabilities for SimPO, of log-odds for ORPO) and in the penalty on the margin.

Each loss can also return, with ``return_metrics=True``, the per-example quantities
that TRL logs (rewards, margins, accuracies), gradient-stopped, for monitoring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.experimental import checkify

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._registry import register

Metrics = dict[str, Array]

# Fill of a masked example's log-probabilities: negative, so that every formula here
# (ORPO's log(1 - p) included) is finite there and the double ``where`` gives exactly
# zero gradient also when the masked inputs are inf or NaN.
_FILL = -1.0
_LN2 = math.log(2.0)

_DPO_TYPES = ("sigmoid", "robust", "hinge", "ipo")
_PAIR_TYPES = ("sigmoid", "hinge")


# ---------------------------------------------------------------------------
# shared input handling


def _inputs(
    fn: str, named: Sequence[tuple[str, ArrayLike]], where: ArrayLike | None
) -> tuple[list[Array], Array | None]:
    """Floating, same-shape sequence log-probabilities in the compute dtype.

    Returns ``(arrays, mask)``: the arrays in the order given (float32 for half
    precision), masked examples replaced by ``_FILL``, and the per-example mask (or
    ``None``).
    """
    arrays = [core.as_logits(fn, name, value) for name, value in named]
    first_name = named[0][0]
    for (name, _), a in zip(named[1:], arrays[1:]):
        core.check_same_shape(fn, first_name, arrays[0], name, a)
    dtype = core.compute_dtype(*arrays)
    arrays = [a.astype(dtype) for a in arrays]
    mask = core.example_mask(fn, where, arrays[0].shape)
    if mask is not None:
        arrays = [core.mask_inputs(mask, a, fill=_FILL) for a in arrays]
    return arrays, mask


def _pair_inputs(fn: str, chosen: ArrayLike, rejected: ArrayLike, where: ArrayLike | None):
    """`_inputs` for the losses of a policy's chosen and rejected log-probabilities alone."""
    return _inputs(
        fn, (("policy_chosen_logps", chosen), ("policy_rejected_logps", rejected)), where
    )


def _with_nll(fn: str, values: Array, chosen: Array, nll_weight) -> Array:
    """``values - nll_weight * chosen``: the SFT term of CPO and ORPO on the chosen
    completions' log-probabilities (left out when ``nll_weight`` is statically 0)."""
    alpha = core.optional_hyperparameter(fn, "nll_weight", nll_weight, chosen.dtype, unless=0.0)
    return values if alpha is None else values - alpha * chosen


def _check_loss_type(fn: str, loss_type: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(loss_type, str) or loss_type not in allowed:
        quoted = [repr(t) for t in allowed]
        listed = ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
        raise ValueError(f"{fn}: argument 'loss_type' must be one of {listed}, got {loss_type!r}")


def _smoothing(fn: str, label_smoothing, dtype) -> Array | None:
    """The label smoothing of a sigmoid-type loss, ``None`` when statically 0."""
    return core.optional_hyperparameter(fn, "label_smoothing", label_smoothing, dtype, unless=0.0)


def _unused_smoothing(fn: str, label_smoothing, loss_type: str, dtype) -> Array | None:
    """For a loss type that has no label smoothing (hinge, IPO): a nonzero value is an error.

    A value known at trace time raises ``ValueError``. A traced one (every non-integral
    float passed through the public boundary is a runtime argument of its kernel) cannot:
    it is returned, and the caller makes the loss NaN where it is not 0; under
    [`jaxloss.checked`][jaxloss.checked] it fails with the same message. ``None``
    when the value is statically 0.
    """
    static = core.static_value(label_smoothing)
    message = (
        f"{fn}: argument 'label_smoothing' must be 0 with loss_type={loss_type!r}, which has "
        f"no label smoothing"
    )
    if static is not None:
        if static != 0.0:
            raise ValueError(f"{message}, got {static}")
        return None
    e = core.hyperparameter(fn, "label_smoothing", label_smoothing, dtype)
    if not core._KERNEL.tracing:  # the eager kernel leaves every check out
        checkify.debug_check(e == 0, message + ", got {value}", value=e)
    return e


def _smoothing_precheck(fn: str, unused: tuple[str, ...]):
    """The call-time check (`core.precheck`) that a concrete nonzero ``label_smoothing``
    is not combined with a loss type in ``unused``."""

    def check(kwargs: dict) -> None:
        loss_type = kwargs.get("loss_type", "sigmoid")
        static = core.static_value(kwargs.get("label_smoothing", 0.0))
        if loss_type in unused and static is not None and static != 0.0:
            raise ValueError(
                f"{fn}: argument 'label_smoothing' must be 0 with loss_type={loss_type!r}, "
                f"which has no label smoothing, got {static}"
            )

    return check


def _nan_unless_zero(values: Array, e: Array | None) -> Array:
    return values if e is None else jnp.where(e == 0, values, jnp.nan)


def _sigmoid_loss(z: Array, e: Array | None, *, robust: bool = False) -> Array:
    """``-(1-e) log σ(z) - e log σ(-z)``; robust: ``(-(1-e) log σ(z) + e log σ(-z)) / (1-2e)``."""
    positive = -jax.nn.log_sigmoid(z)
    if e is None:
        return positive
    negative = -jax.nn.log_sigmoid(-z)
    if robust:
        return ((1 - e) * positive - e * negative) / (1 - 2 * e)
    return (1 - e) * positive + e * negative


def _metrics(mask: Array | None, **values: Array) -> Metrics:
    """Per-example metrics: gradient-stopped, masked examples set to 0."""
    out = {}
    for name, v in values.items():
        v = jax.lax.stop_gradient(v)
        out[name] = v if mask is None else jnp.where(mask, v, jnp.zeros((), v.dtype))
    return out


def _reward_metrics(chosen: Array, rejected: Array, mask: Array | None, **extra: Array) -> Metrics:
    return _metrics(
        mask,
        chosen_rewards=chosen,
        rejected_rewards=rejected,
        reward_margins=chosen - rejected,
        reward_accuracies=(chosen > rejected).astype(chosen.dtype),
        **extra,
    )


def _log1mexp(x: Array) -> Array:
    """``log(1 - exp(x))`` for ``x < 0``, accurate everywhere (Mächler 2012).

    ``log(-expm1(x))`` above ``-ln 2``, ``log1p(-exp(x))`` below; each branch gets a safe
    input where it is not selected, so that its gradient is never ``0 * inf``.
    """
    near = x > -_LN2
    safe = jnp.asarray(-1.0, x.dtype)
    upper = jnp.log(-jnp.expm1(jnp.where(near, x, safe)))
    lower = jnp.log1p(-jnp.exp(jnp.where(near, safe, x)))
    return jnp.where(near, upper, lower)


# ---------------------------------------------------------------------------
# DPO


@register(
    family="preference",
    inputs="log_probabilities",
    ranges={
        "beta": Range(low=0.0, low_open=True),
        "label_smoothing": Range(low=0.0, high=0.5, high_open=True),
    },
)
@core.precheck(_smoothing_precheck("dpo_loss", ("hinge", "ipo")))
def dpo_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    reference_chosen_logps: ArrayLike,
    reference_rejected_logps: ArrayLike,
    *,
    beta: float | Array = 0.1,
    label_smoothing: float | Array = 0.0,
    loss_type: str = "sigmoid",
    return_metrics: bool = False,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array | tuple[Array, Metrics]:
    r"""Direct Preference Optimization loss, per preference pair.

    $$
        h = \bigl(\log\pi(y_w) - \log\pi(y_l)\bigr)
            - \bigl(\log\pi_{\mathrm{ref}}(y_w) - \log\pi_{\mathrm{ref}}(y_l)\bigr),
        \qquad
        \ell = \begin{cases}
            -(1-\epsilon)\log\sigma(\beta h) - \epsilon\log\sigma(-\beta h)
                & \text{sigmoid} \\
            \bigl(-(1-\epsilon)\log\sigma(\beta h) + \epsilon\log\sigma(-\beta h)\bigr)
                / (1 - 2\epsilon) & \text{robust} \\
            \max(0,\ 1 - \beta h) & \text{hinge} \\
            \bigl(h - \tfrac{1}{2\beta}\bigr)^2 & \text{ipo}
        \end{cases}
    $$

    with $y_w$ the chosen and $y_l$ the rejected completion, $\pi$ the policy and
    $\pi_{\mathrm{ref}}$ the frozen reference model.

    Args:
      policy_chosen_logps: the policy's log-probability of each chosen completion (the
        sum of its token log-probabilities, see
        [`sequence_log_probs`][jaxloss.sequence_log_probs]), any shape, floating.
      policy_rejected_logps: the policy's log-probability of each rejected completion,
        same shape.
      reference_chosen_logps: the reference model's log-probability of each chosen
        completion, same shape (no gradient is needed through it, but one is given).
      reference_rejected_logps: the reference model's log-probability of each rejected
        completion, same shape.
      beta: $\beta > 0$, the strength of the implicit KL penalty towards the reference
        (a Python float or a JAX scalar; traced values work, also ``jax.grad`` by it).
      label_smoothing: $\epsilon \in [0, 0.5)$, the assumed probability that a
        preference label is flipped: conservative DPO for ``"sigmoid"``, the unbiased
        estimator of robust DPO for ``"robust"``. Must be 0 for ``"hinge"`` and ``"ipo"``.
      loss_type: ``"sigmoid"`` (DPO, default), ``"robust"`` (robust DPO), ``"hinge"``
        (SLiC) or ``"ipo"`` (IPO).
      return_metrics: if True (a Python bool), also return the per-example metrics.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask of the pairs, broadcastable to the input shape.
      weights: non-negative weights of the pairs, broadcastable to the input shape.

    Returns:
      The loss: a scalar, or the input shape for ``reduction="none"``; float32 for
      half-precision inputs. With ``return_metrics=True`` a tuple ``(loss, metrics)``,
      ``metrics`` a dict of arrays of the input shape (gradient-stopped, 0 at masked
      pairs, unweighted): ``chosen_rewards`` $\beta(\log\pi(y_w) -
      \log\pi_{\mathrm{ref}}(y_w))$, ``rejected_rewards`` (the same for $y_l$),
      ``reward_margins`` (their difference, $\beta h$) and ``reward_accuracies`` (1.0
      where the chosen reward is the larger, else 0.0).

    Raises:
      TypeError: if an input is not floating, if ``where`` is not boolean, or if
        ``return_metrics`` is not a Python bool.
      ValueError: if the inputs do not all have the shape of ``policy_chosen_logps``, if
        ``loss_type`` is not one of the four, if a concrete ``beta`` is not > 0 or
        ``label_smoothing`` not in ``[0, 0.5)``, if a ``label_smoothing`` known at trace
        time is nonzero with ``"hinge"`` or ``"ipo"``, if ``where`` or ``weights`` is not
        broadcastable to the input shape, or if ``reduction`` is not ``"mean"``,
        ``"sum"`` or ``"none"``.

    Note:
      The ``"sigmoid"`` and ``"robust"`` losses use ``jax.nn.log_sigmoid``: values and
      gradients are finite for any finite margin (``|h| ~ 1e4`` included). The robust
      loss is unbounded below as $\beta h \to \infty$ for $\epsilon > 0$, by design.
      A nonzero ``label_smoothing`` with ``"hinge"`` or ``"ipo"`` is a ``ValueError``
      when it is a number at call time; a traced one (a JAX array under ``jax.jit``) gives
      NaN, and under [`jaxloss.checked`][jaxloss.checked] the same error. For
      IPO, pass length-averaged log-probabilities as the paper (and TRL) do. Masked
      pairs are replaced before use: they get exactly zero gradient, also when they
      hold inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> pc, pr = jnp.array([-10.0, -20.0]), jnp.array([-12.0, -15.0])
      >>> rc, rr = jnp.array([-11.0, -18.0]), jnp.array([-11.0, -17.0])
      >>> [round(v, 4) for v in jaxloss.dpo_loss(pc, pr, rc, rr, reduction="none").tolist()]
      [0.5981, 0.913]
      >>> loss, metrics = jaxloss.dpo_loss(pc, pr, rc, rr, return_metrics=True)
      >>> metrics["reward_accuracies"].tolist()
      [1.0, 0.0]

    Equivalent to TRL's ``DPOTrainer`` loss (``trl.DPOConfig(beta, label_smoothing,
    loss_type)`` with ``loss_type`` ``"sigmoid"``, ``"robust"``, ``"hinge"`` or ``"ipo"``,
    ``DPOTrainer.dpo_loss`` per pair, its loss being ``reduction="mean"``; TRL warns and
    ignores a nonzero ``label_smoothing`` with ``"hinge"`` or ``"ipo"``, here it is an
    error) and to Liger Kernel's ``LigerFusedLinearDPOLoss`` (which also computes the
    log-probabilities from the hidden states). Rafailov et al. 2023,
    "Direct Preference Optimization: Your Language Model is Secretly a Reward Model";
    conservative DPO: Mitchell 2023; robust DPO: Chowdhury et al. 2024; SLiC: Zhao et
    al. 2023; IPO: Azar et al. 2023.
    """
    fn = "dpo_loss"
    _check_loss_type(fn, loss_type, _DPO_TYPES)
    return_metrics = core.static_bool(fn, "return_metrics", return_metrics)
    (pc, pr, rc, rr), mask = _inputs(
        fn,
        (
            ("policy_chosen_logps", policy_chosen_logps),
            ("policy_rejected_logps", policy_rejected_logps),
            ("reference_chosen_logps", reference_chosen_logps),
            ("reference_rejected_logps", reference_rejected_logps),
        ),
        where,
    )
    dtype = pc.dtype
    b = core.hyperparameter(fn, "beta", beta, dtype)
    h = (pc - pr) - (rc - rr)
    if loss_type in ("sigmoid", "robust"):
        e = _smoothing(fn, label_smoothing, dtype)
        values = _sigmoid_loss(b * h, e, robust=loss_type == "robust")
    else:
        e = _unused_smoothing(fn, label_smoothing, loss_type, dtype)
        if loss_type == "hinge":
            values = jax.nn.relu(1 - b * h)
        else:
            values = jnp.square(h - 1 / (2 * b))
        values = _nan_unless_zero(values, e)
    loss = core.finish(fn, values, reduction, mask, weights)
    if not return_metrics:
        return loss
    return loss, _reward_metrics(b * (pc - rc), b * (pr - rr), mask)


# ---------------------------------------------------------------------------
# SimPO and CPO: no reference model


def _pair_loss(fn: str, u: Array, label_smoothing, loss_type: str) -> Array:
    """The sigmoid or hinge loss of margins ``u`` (DPO's, without a reference)."""
    if loss_type == "sigmoid":
        return _sigmoid_loss(u, _smoothing(fn, label_smoothing, u.dtype))
    e = _unused_smoothing(fn, label_smoothing, loss_type, u.dtype)
    return _nan_unless_zero(jax.nn.relu(1 - u), e)


@register(
    family="preference",
    inputs="log_probabilities",
    ranges={
        "beta": Range(low=0.0, low_open=True),
        "gamma": Range(),
        "label_smoothing": Range(low=0.0, high=0.5, high_open=True),
    },
)
@core.precheck(_smoothing_precheck("simpo_loss", ("hinge",)))
def simpo_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    *,
    beta: float | Array = 2.0,
    gamma: float | Array = 1.0,
    label_smoothing: float | Array = 0.0,
    loss_type: str = "sigmoid",
    return_metrics: bool = False,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array | tuple[Array, Metrics]:
    r"""Simple Preference Optimization loss (reference-free, length-normalized), per pair.

    $$
        u = \beta\,\bigl(\bar\ell(y_w) - \bar\ell(y_l)\bigr) - \gamma,
        \qquad
        \ell = \begin{cases}
            -(1-\epsilon)\log\sigma(u) - \epsilon\log\sigma(-u) & \text{sigmoid} \\
            \max(0,\ 1 - u) & \text{hinge}
        \end{cases}
    $$

    with $\bar\ell(y) = \frac{1}{|y|}\log\pi(y)$ the policy's average per-token
    log-probability of a completion.

    Args:
      policy_chosen_logps: the policy's average per-token log-probability of each
        chosen completion (``sequence_log_probs(..., average=True)``), any shape,
        floating.
      policy_rejected_logps: the same for each rejected completion, same shape.
      beta: $\beta > 0$, the reward scale (a Python float or a JAX scalar; traced
        values work).
      gamma: $\gamma$, the target reward margin (any number; the paper uses
        $\gamma > 0$).
      label_smoothing: $\epsilon \in [0, 0.5)$ for ``"sigmoid"`` (as in DPO); must be
        0 for ``"hinge"``.
      loss_type: ``"sigmoid"`` (default) or ``"hinge"``.
      return_metrics: if True (a Python bool), also return the per-example metrics.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask of the pairs, broadcastable to the input shape.
      weights: non-negative weights of the pairs, broadcastable to the input shape.

    Returns:
      The loss: a scalar, or the input shape for ``reduction="none"``; float32 for
      half-precision inputs. With ``return_metrics=True`` a tuple ``(loss, metrics)``,
      ``metrics`` a dict of arrays of the input shape (gradient-stopped, 0 at masked
      pairs): ``chosen_rewards`` $\beta\bar\ell(y_w)$, ``rejected_rewards``
      $\beta\bar\ell(y_l)$, ``reward_margins`` and ``reward_accuracies``.

    Raises:
      TypeError: if an input is not floating, if ``where`` is not boolean, or if
        ``return_metrics`` is not a Python bool.
      ValueError: if the inputs do not have the same shape, if ``loss_type`` is not
        ``"sigmoid"`` or ``"hinge"``, if a concrete ``beta`` is not > 0 or
        ``label_smoothing`` not in ``[0, 0.5)``, if a ``label_smoothing`` known at trace
        time is nonzero with ``"hinge"``, if ``where`` or ``weights`` is not
        broadcastable to the input shape, or if ``reduction`` is not ``"mean"``,
        ``"sum"`` or ``"none"``.

    Note:
      The defaults follow the paper's repository (princeton-nlp/SimPO): $\beta = 2$
      and $\gamma = 1$ ($\gamma / \beta = 0.5$, its ``gamma_beta_ratio``). A
      nonzero ``label_smoothing`` with ``"hinge"`` is an error (a traced one gives NaN,
      see [`dpo_loss`][jaxloss.dpo_loss]).
      Values and gradients are finite for any finite margin. Masked pairs get exactly
      zero gradient, also when they hold inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> pc, pr = jnp.array([-0.5, -1.0]), jnp.array([-1.5, -0.8])
      >>> [round(v, 4) for v in jaxloss.simpo_loss(pc, pr, reduction="none").tolist()]
      [0.3133, 1.6204]

    Equivalent to the ``SimPOTrainer`` loss of the paper's repository (``beta``,
    ``gamma_beta_ratio`` $= \gamma / \beta$, ``label_smoothing``, ``loss_type``) and to
    TRL's ``CPOTrainer`` with ``loss_type="simpo"`` and ``cpo_alpha=0`` (TRL's
    ``simpo_gamma`` is $\gamma$, and TRL's ``beta`` defaults to 0.1; with its default
    ``cpo_alpha=1.0`` TRL adds a negative log-likelihood term, see
    [`cpo_loss`][jaxloss.cpo_loss]); Liger Kernel's ``LigerFusedLinearSimPOLoss`` (which
    computes the log-probabilities from the hidden states). Meng et al. 2024, "SimPO:
    Simple Preference Optimization with a Reference-Free Reward".
    """
    fn = "simpo_loss"
    _check_loss_type(fn, loss_type, _PAIR_TYPES)
    return_metrics = core.static_bool(fn, "return_metrics", return_metrics)
    (pc, pr), mask = _pair_inputs(fn, policy_chosen_logps, policy_rejected_logps, where)
    b = core.hyperparameter(fn, "beta", beta, pc.dtype)
    g = core.hyperparameter(fn, "gamma", gamma, pc.dtype)
    values = _pair_loss(fn, b * (pc - pr) - g, label_smoothing, loss_type)
    loss = core.finish(fn, values, reduction, mask, weights)
    if not return_metrics:
        return loss
    return loss, _reward_metrics(b * pc, b * pr, mask)


@register(
    family="preference",
    inputs="log_probabilities",
    ranges={
        "beta": Range(low=0.0, low_open=True),
        "label_smoothing": Range(low=0.0, high=0.5, high_open=True),
        "nll_weight": Range(low=0.0),
    },
)
@core.precheck(_smoothing_precheck("cpo_loss", ("hinge",)))
def cpo_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    *,
    beta: float | Array = 0.1,
    label_smoothing: float | Array = 0.0,
    loss_type: str = "sigmoid",
    nll_weight: float | Array = 1.0,
    return_metrics: bool = False,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array | tuple[Array, Metrics]:
    r"""Contrastive Preference Optimization loss: DPO without a reference, plus an NLL term.

    $$
        u = \beta\,\bigl(\log\pi(y_w) - \log\pi(y_l)\bigr),
        \qquad
        \ell = \begin{cases}
            -(1-\epsilon)\log\sigma(u) - \epsilon\log\sigma(-u) & \text{sigmoid} \\
            \max(0,\ 1 - u) & \text{hinge}
        \end{cases}
        \; - \; \alpha \log\pi(y_w)
    $$

    Args:
      policy_chosen_logps: the policy's log-probability of each chosen completion, any
        shape, floating.
      policy_rejected_logps: the same for each rejected completion, same shape.
      beta: $\beta > 0$ (a Python float or a JAX scalar; traced values work).
      label_smoothing: $\epsilon \in [0, 0.5)$ for ``"sigmoid"``; must be 0 for
        ``"hinge"``.
      loss_type: ``"sigmoid"`` (default) or ``"hinge"``.
      nll_weight: $\alpha \ge 0$, the weight of the behaviour-cloning term
        $-\log\pi(y_w)$ (TRL's ``cpo_alpha``); 0 leaves it out.
      return_metrics: if True (a Python bool), also return the per-example metrics.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask of the pairs, broadcastable to the input shape.
      weights: non-negative weights of the pairs, broadcastable to the input shape.

    Returns:
      The loss: a scalar, or the input shape for ``reduction="none"``; float32 for
      half-precision inputs. With ``return_metrics=True`` a tuple ``(loss, metrics)``,
      ``metrics`` a dict of arrays of the input shape (gradient-stopped, 0 at masked
      pairs): ``chosen_rewards`` $\beta\log\pi(y_w)$, ``rejected_rewards``
      $\beta\log\pi(y_l)$, ``reward_margins`` and ``reward_accuracies``.

    Raises:
      TypeError: if an input is not floating, if ``where`` is not boolean, or if
        ``return_metrics`` is not a Python bool.
      ValueError: if the inputs do not have the same shape, if ``loss_type`` is not
        ``"sigmoid"`` or ``"hinge"``, if a concrete ``beta`` is not > 0,
        ``label_smoothing`` not in ``[0, 0.5)`` or ``nll_weight`` negative, if a
        concrete ``label_smoothing`` is nonzero with ``"hinge"``, if
        ``where`` or ``weights`` is not broadcastable to the input shape, or if
        ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      The NLL term is per pair, on whatever log-probabilities are passed (sums over
      tokens, or averages). TRL computes it as the cross-entropy of the chosen tokens
      averaged over every chosen token of the batch, ``sum(token_logps) /
      num_tokens`` with its sign changed: that is the mean over the pairs of this term
      for per-token averages only when every chosen completion has the same length. A
      nonzero ``label_smoothing`` with ``"hinge"`` is an error (a traced one gives NaN,
      see [`dpo_loss`][jaxloss.dpo_loss]). Masked pairs get exactly zero gradient, also
      when they hold inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> pc, pr = jnp.array([-10.0]), jnp.array([-14.0])
      >>> round(float(jaxloss.cpo_loss(pc, pr, nll_weight=0.0)), 4)
      0.513
      >>> round(float(jaxloss.cpo_loss(pc, pr)), 4)
      10.513

    Equivalent to TRL's ``CPOTrainer`` loss (``trl.CPOConfig(beta, label_smoothing,
    loss_type, cpo_alpha)`` with ``loss_type`` ``"sigmoid"`` or ``"hinge"``; its NLL
    term is a token mean over the batch, see the note) and to Liger Kernel's
    ``LigerFusedLinearCPOLoss`` (which computes the log-probabilities from the hidden
    states). Xu et al. 2024, "Contrastive Preference Optimization: Pushing the
    Boundaries of LLM Performance in Machine Translation".
    """
    fn = "cpo_loss"
    _check_loss_type(fn, loss_type, _PAIR_TYPES)
    return_metrics = core.static_bool(fn, "return_metrics", return_metrics)
    (pc, pr), mask = _pair_inputs(fn, policy_chosen_logps, policy_rejected_logps, where)
    b = core.hyperparameter(fn, "beta", beta, pc.dtype)
    values = _pair_loss(fn, b * (pc - pr), label_smoothing, loss_type)
    values = _with_nll(fn, values, pc, nll_weight)
    loss = core.finish(fn, values, reduction, mask, weights)
    if not return_metrics:
        return loss
    return loss, _reward_metrics(b * pc, b * pr, mask)


# ---------------------------------------------------------------------------
# ORPO


@register(
    family="preference",
    inputs="log_probabilities",
    ranges={"beta": Range(low=0.0), "nll_weight": Range(low=0.0)},
)
def orpo_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    *,
    beta: float | Array = 0.1,
    nll_weight: float | Array = 1.0,
    return_metrics: bool = False,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array | tuple[Array, Metrics]:
    r"""Odds Ratio Preference Optimization loss: NLL plus a log-odds-ratio penalty, per pair.

    $$
        \log\mathrm{OR} = \bigl(\bar\ell_w - \bar\ell_l\bigr)
            - \bigl(\log(1 - e^{\bar\ell_w}) - \log(1 - e^{\bar\ell_l})\bigr),
        \qquad
        \ell = -\alpha\,\bar\ell_w - \beta \log\sigma(\log\mathrm{OR})
    $$

    with $\bar\ell_w$, $\bar\ell_l$ the policy's average per-token log-probabilities of
    the chosen and rejected completions, and $\log\frac{p}{1-p}$ the log-odds of
    $p = e^{\bar\ell}$.

    Args:
      policy_chosen_logps: the policy's average per-token log-probability of each
        chosen completion (``sequence_log_probs(..., average=True)``), any shape,
        floating, < 0.
      policy_rejected_logps: the same for each rejected completion, same shape, < 0.
      beta: $\beta \ge 0$, the weight of the odds-ratio term (the paper's $\lambda$,
        TRL's ``beta``; a Python float or a JAX scalar, traced values work).
      nll_weight: $\alpha \ge 0$, the weight of the NLL term $-\bar\ell_w$; 0 leaves
        it out.
      return_metrics: if True (a Python bool), also return the per-example metrics.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask of the pairs, broadcastable to the input shape.
      weights: non-negative weights of the pairs, broadcastable to the input shape.

    Returns:
      The loss: a scalar, or the input shape for ``reduction="none"``; float32 for
      half-precision inputs. With ``return_metrics=True`` a tuple ``(loss, metrics)``,
      ``metrics`` a dict of arrays of the input shape (gradient-stopped, 0 at masked
      pairs): ``chosen_rewards`` $\beta\bar\ell_w$, ``rejected_rewards``
      $\beta\bar\ell_l$, ``reward_margins``, ``reward_accuracies`` and ``log_odds``
      ($\log\mathrm{OR}$).

    Raises:
      TypeError: if an input is not floating, if ``where`` is not boolean, or if
        ``return_metrics`` is not a Python bool.
      ValueError: if the inputs do not have the same shape, if a concrete ``beta`` or
        ``nll_weight`` is negative, if ``where`` or ``weights`` is not broadcastable to
        the input shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or
        ``"none"``.

    Note:
      The odds need probabilities below 1, so inputs must be < 0 (they are not
      checked): 0 gives an infinite log-odds and a positive input NaN.
      $\log(1 - e^x)$ is computed as ``log(-expm1(x))`` above $-\ln 2$ and
      ``log1p(-exp(x))`` below, accurate for inputs close to 0 and very negative
      alike; values and gradients are finite for any inputs < 0. Masked pairs get
      exactly zero gradient, also when they hold inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> pc, pr = jnp.array([-0.5]), jnp.array([-1.5])
      >>> round(float(jaxloss.orpo_loss(pc, pr)), 4)
      0.5171
      >>> _, metrics = jaxloss.orpo_loss(pc, pr, return_metrics=True)
      >>> round(float(metrics["log_odds"][0]), 4)
      1.6803

    Equivalent to TRL's ``ORPOTrainer`` loss (``trl.ORPOConfig(beta)``; TRL's NLL term
    has weight 1 and is the cross-entropy of the chosen tokens averaged over the batch's
    tokens, here it is per pair on the average log-probabilities passed) and to Liger
    Kernel's ``LigerFusedLinearORPOLoss`` (which computes the log-probabilities from the
    hidden states). Hong et al. 2024, "ORPO: Monolithic Preference Optimization without
    Reference Model".
    """
    fn = "orpo_loss"
    return_metrics = core.static_bool(fn, "return_metrics", return_metrics)
    (pc, pr), mask = _pair_inputs(fn, policy_chosen_logps, policy_rejected_logps, where)
    b = core.hyperparameter(fn, "beta", beta, pc.dtype)
    log_odds = (pc - pr) - (_log1mexp(pc) - _log1mexp(pr))
    values = -b * jax.nn.log_sigmoid(log_odds)
    values = _with_nll(fn, values, pc, nll_weight)
    loss = core.finish(fn, values, reduction, mask, weights)
    if not return_metrics:
        return loss
    return loss, _reward_metrics(b * pc, b * pr, mask, log_odds=log_odds)


# ---------------------------------------------------------------------------
# KTO


@register(
    family="preference",
    inputs="log_probabilities",
    ranges={
        "beta": Range(low=0.0, low_open=True),
        "desirable_weight": Range(low=0.0),
        "undesirable_weight": Range(low=0.0),
    },
)
def kto_loss(
    policy_logps: ArrayLike,
    reference_logps: ArrayLike,
    desirable: ArrayLike,
    policy_kl_logps: ArrayLike | None = None,
    reference_kl_logps: ArrayLike | None = None,
    *,
    beta: float | Array = 0.1,
    desirable_weight: float | Array = 1.0,
    undesirable_weight: float | Array = 1.0,
    return_metrics: bool = False,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array | tuple[Array, Metrics]:
    r"""Kahneman-Tversky Optimization loss, per completion (desirable or undesirable).

    $$
        r = \log\pi(y) - \log\pi_{\mathrm{ref}}(y),
        \qquad
        z = \max\Bigl(0,\ \operatorname{mean}\bigl(\log\pi(y') -
            \log\pi_{\mathrm{ref}}(y')\bigr)\Bigr),
        \qquad
        \ell = \begin{cases}
            \lambda_D \bigl(1 - \sigma(\beta (r - z))\bigr) & y \text{ desirable} \\
            \lambda_U \bigl(1 - \sigma(\beta (z - r))\bigr) & y \text{ undesirable}
        \end{cases}
    $$

    with $z$, the reference point, an estimate of the KL divergence of the policy from
    the reference on mismatched completions $y'$ (gradient-stopped).

    Args:
      policy_logps: the policy's log-probability of each completion, any shape,
        floating.
      reference_logps: the reference model's log-probability of each completion, same
        shape.
      desirable: boolean array of the same shape: True for a desirable completion,
        False for an undesirable one.
      policy_kl_logps: the policy's log-probabilities of the KL completions $y'$
        (TRL's ``KL`` batch: each prompt paired with another example's completion), any
        shape; ``None`` (default, together with ``reference_kl_logps``) gives $z = 0$.
      reference_kl_logps: the reference model's log-probabilities of the same KL
        completions, the shape of ``policy_kl_logps``.
      beta: $\beta > 0$ (a Python float or a JAX scalar; traced values work).
      desirable_weight: $\lambda_D \ge 0$, the weight of desirable completions.
      undesirable_weight: $\lambda_U \ge 0$, the weight of undesirable completions.
      return_metrics: if True (a Python bool), also return the per-example metrics.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask of the completions, broadcastable to the input shape (it does
        not apply to the KL completions).
      weights: non-negative weights of the completions, broadcastable to the input
        shape.

    Returns:
      The loss: a scalar, or the input shape for ``reduction="none"``; float32 for
      half-precision inputs. With ``return_metrics=True`` a tuple ``(loss, metrics)``,
      ``metrics`` a dict of arrays of the input shape (gradient-stopped, 0 at masked
      completions): ``rewards`` $\beta r$ and ``kl`` ($z$, broadcast).

    Raises:
      TypeError: if an input is not floating, if ``desirable`` is not boolean, if
        ``where`` is not boolean, or if ``return_metrics`` is not a Python bool.
      ValueError: if ``reference_logps`` or ``desirable`` does not have the shape of
        ``policy_logps``, if only one of ``policy_kl_logps`` and ``reference_kl_logps``
        is given or their shapes differ, if a concrete ``beta`` is not > 0 or a weight
        negative, if ``where`` or ``weights`` is not broadcastable to the input shape,
        or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      $z$ is the mean over every entry of the KL arrays (0 for empty ones), clamped at
      0 and gradient-stopped, as in TRL; under ``jax.jit`` with sharded inputs the mean
      is over the global arrays, which is what TRL's gather across processes computes.
      $1 - \sigma(x)$ is computed as $\sigma(-x)$: finite values and gradients for any
      finite margin. Masked completions get exactly zero gradient, also when they hold
      inf or NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, ref = jnp.array([-10.0, -10.0]), jnp.array([-12.0, -12.0])
      >>> desirable = jnp.array([True, False])
      >>> [round(v, 4) for v in jaxloss.kto_loss(p, ref, desirable, reduction="none").tolist()]
      [0.4502, 0.5498]

    Equivalent to TRL's ``KTOTrainer`` loss (``trl.KTOConfig(beta, desirable_weight,
    undesirable_weight)``, ``KTOTrainer.kto_loss``: the mean over the concatenated
    desirable and undesirable losses is ``reduction="mean"``; TRL's KL estimate is
    computed when its ``calculate_KL`` holds, here when the KL arrays are passed) and to
    Liger Kernel's ``LigerFusedLinearKTOLoss`` (which computes the log-probabilities
    from the hidden states). Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect
    Theoretic Optimization".
    """
    fn = "kto_loss"
    return_metrics = core.static_bool(fn, "return_metrics", return_metrics)
    (p, ref), mask = _inputs(
        fn, (("policy_logps", policy_logps), ("reference_logps", reference_logps)), where
    )
    d = jnp.asarray(desirable)
    if d.dtype != jnp.bool_:
        raise TypeError(
            f"{fn}: argument 'desirable' must be a boolean array (True for a desirable "
            f"completion), got {d.dtype}"
        )
    core.check_same_shape(fn, "policy_logps", p, "desirable", d)
    if (policy_kl_logps is None) != (reference_kl_logps is None):
        given = "policy_kl_logps" if reference_kl_logps is None else "reference_kl_logps"
        raise ValueError(
            f"{fn}: arguments 'policy_kl_logps' and 'reference_kl_logps' must be given "
            f"together (both or neither), got only '{given}'"
        )
    dtype = p.dtype
    z = jnp.zeros((), dtype)
    if policy_kl_logps is not None and reference_kl_logps is not None:
        pkl = core.as_logits(fn, "policy_kl_logps", policy_kl_logps)
        rkl = core.as_logits(fn, "reference_kl_logps", reference_kl_logps)
        core.check_same_shape(fn, "policy_kl_logps", pkl, "reference_kl_logps", rkl)
        dtype = core.compute_dtype(p, pkl, rkl)
        p, ref, z = p.astype(dtype), ref.astype(dtype), z.astype(dtype)
        if pkl.size:
            kl = jnp.mean(pkl.astype(dtype) - rkl.astype(dtype))
            z = jax.lax.stop_gradient(jnp.maximum(kl, 0))
    b = core.hyperparameter(fn, "beta", beta, dtype)
    wd = core.hyperparameter(fn, "desirable_weight", desirable_weight, dtype)
    wu = core.hyperparameter(fn, "undesirable_weight", undesirable_weight, dtype)
    r = p - ref
    values = jnp.where(d, wd * jax.nn.sigmoid(-b * (r - z)), wu * jax.nn.sigmoid(-b * (z - r)))
    loss = core.finish(fn, values, reduction, mask, weights)
    if not return_metrics:
        return loss
    return loss, _metrics(mask, rewards=b * r, kl=jnp.broadcast_to(z, r.shape))


# ---------------------------------------------------------------------------
# sequence log-probabilities (not a loss)


@core.public
def sequence_log_probs(
    token_log_probs: ArrayLike,
    *,
    where: ArrayLike | None = None,
    average: bool = False,
    axis: int = -1,
) -> Array:
    r"""The log-probability of each sequence: the masked sum (or mean) of its token log-probs.

    $$
        \log\pi(y) = \sum_t m_t \log\pi(y_t \mid y_{<t}),
        \qquad
        \bar\ell(y) = \frac{\sum_t m_t \log\pi(y_t \mid y_{<t})}{\sum_t m_t}
    $$

    Not a loss: the result is the input of the preference losses
    ([`dpo_loss`][jaxloss.dpo_loss] takes sums, [`simpo_loss`][jaxloss.simpo_loss] and
    [`orpo_loss`][jaxloss.orpo_loss] averages).

    Args:
      token_log_probs: ``[..., T, ...]`` log-probabilities of the tokens of each
        sequence (the log-softmax of the logits at the target tokens), floating.
      where: boolean token mask broadcastable to ``token_log_probs.shape`` (the
        completion tokens, padding and prompt left out); ``None`` counts every token.
      average: if True (a Python bool), divide by the number of unmasked tokens.
      axis: the token axis (static).

    Returns:
      ``token_log_probs.shape`` without ``axis``; float32 for half-precision inputs.

    Raises:
      TypeError: if ``token_log_probs`` is not floating, if ``where`` is not boolean,
        if ``average`` is not a Python bool, or if ``axis`` is not an int.
      ValueError: if ``axis`` is out of range or ``where`` is not broadcastable to
        ``token_log_probs.shape``.

    Note:
      A masked token counts 0 and gets exactly zero gradient, also when it holds inf or
      NaN (a double ``where``). A sequence with no unmasked token has sum 0 and, with
      ``average=True``, average 0, with finite (zero) gradients.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> lp = jnp.array([[-1.0, -2.0, -3.0], [-0.5, -1.5, jnp.nan]])
      >>> m = jnp.array([[True, True, True], [True, True, False]])
      >>> jaxloss.sequence_log_probs(lp, where=m).tolist()
      [-6.0, -2.0]
      >>> jaxloss.sequence_log_probs(lp, where=m, average=True).tolist()
      [-2.0, -1.0]

    Equivalent to the reduction of the per-token log-probabilities in TRL's trainers
    (``(per_token_logps * loss_mask).sum(-1)``, divided by ``loss_mask.sum(-1)`` where
    they use averages: DPO's IPO, CPO's SimPO, ORPO; TRL does not guard a row without
    tokens) and inside Liger Kernel's fused preference losses.
    """
    fn = "sequence_log_probs"
    x = core.as_logits(fn, "token_log_probs", token_log_probs)
    average = core.static_bool(fn, "average", average)
    axis = core.normalize_axis(fn, axis, x.ndim, "token_log_probs")
    x = x.astype(core.compute_dtype(x))
    if where is None:
        total = jnp.sum(x, axis=axis)
        count = jnp.asarray(x.shape[axis], x.dtype)
    else:
        w = jnp.asarray(where)
        if w.dtype != jnp.bool_:
            raise TypeError(
                f"{fn}: argument 'where' must be a boolean mask, got {w.dtype} (an integer "
                f"attention mask: pass mask.astype(bool))"
            )
        core.check_broadcastable(fn, "where", w, x.shape, "'token_log_probs'")
        w = jnp.broadcast_to(w, x.shape)
        total = jnp.sum(jnp.where(w, x, jnp.zeros((), x.dtype)), axis=axis)
        count = jnp.sum(w, axis=axis).astype(x.dtype)
    if not average:
        return total
    return total / jnp.maximum(count, 1)
