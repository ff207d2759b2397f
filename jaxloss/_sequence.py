"""Sequence losses: connectionist temporal classification (CTC).

:func:`ctc_loss` takes optax's arguments (``logits``, ``logit_paddings``, ``labels``,
``label_paddings``) and returns one value per sequence, like PyTorch's
``reduction="none"``.

How it is computed (the forward-backward algorithm of Graves et al., 2006, in log space):

* the extended label sequence ``blank, l1, blank, l2, ..., lN, blank`` is kept as two
  arrays, the ``N + 1`` blank states and the ``N`` label states, so that one time step
  needs one log-add-exp per state: the sum over (blank ``i``, label ``i - 1``) is shared
  by blank ``i`` and, when the skip over blank ``i`` is allowed, by label ``i``;
* the log-softmax is never materialized: one ``logsumexp`` per frame, then one gather
  of the target labels' logits (``[B, T, N]``) and the blank column, so the loop body is
  purely elementwise on ``[B, N + 1]`` arrays; in float32 its ``log1p`` is a polynomial
  (XLA's is several times slower on the CPU);
* ``log(0)`` is the finite constant ``-1e30``, so no ``-inf - -inf`` ever occurs: an
  alignment that cannot exist ends far below ``-1e29`` and is reported as ``+inf``;
* the gradient is a ``jax.custom_jvp`` in closed form. One loop runs the forward
  (alpha) recursion and the backward (beta) recursion together, storing the label
  states only; every few frames both are shifted so that their largest blank state is
  0 and the shifts are summed in two-float (compensated) form, so the stored states stay
  of moderate size and ``alpha + beta - log p`` is formed without the rounding of ``T``
  additions at the magnitude of ``log p``. The occupation probabilities of the label
  states give the gradient, and that of the blank follows because the occupations of
  one time step sum to one:

  .. math::
      \\frac{\\partial\\,\\mathrm{nll}}{\\partial z_{tk}} = \\mathrm{softmax}(z_t)_k -
      \\sum_{s:\\,\\ell'_s = k} \\gamma_t(s), \\qquad
      \\gamma_t(s) = \\exp(\\alpha_t(s) + \\beta_t(s) - \\log p(\\ell \\mid z)).

  Autodiff through the loop is never used (it would store and replay every step).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike
from jaxloss._registry import register

__all__ = ["ctc_loss"]

# Finite stand-in for log(0). Sums of a few of them stay finite in float32.
_NEG = -1e30
# A log-likelihood below this is "probability zero": the alignment cannot exist.
_IMPOSSIBLE = -1e29
# Frames per renormalization of the forward-backward states.
_BLOCK = 4

# log1p(u) / u on [0, 1]: Chebyshev fit of degree 8 (numpy.polynomial.chebyshev.chebfit
# at 4000 Chebyshev nodes, converted to the power basis). In float32, u * p(u) is within
# 1.3e-7 of log1p(u) on all of [0, 1], as accurate as float32 can round log1p itself,
# and a polynomial is several times cheaper than XLA's log1p on the CPU.
_LOG1P_COEFFS = (
    0.9999999705406566,
    -0.4999950151678805,
    0.33319271342512613,
    -0.24844369892523777,
    0.19111431080712105,
    -0.13674769705687367,
    0.07836166801955272,
    -0.029588507392940357,
    0.005253457796951799,
)


# ---------------------------------------------------------------------------
# numerics


def _logaddexp(x: Array, y: Array) -> Array:
    """``log(exp(x) + exp(y))`` for finite inputs (``-1e30`` plays ``-inf``)."""
    u = jnp.exp(-jnp.abs(x - y))
    if x.dtype == jnp.float32:
        acc = jnp.asarray(_LOG1P_COEFFS[-1], x.dtype)
        for c in _LOG1P_COEFFS[-2::-1]:
            acc = acc * u + jnp.asarray(c, x.dtype)
        return jnp.maximum(x, y) + u * acc
    return jnp.maximum(x, y) + jnp.log1p(u)


def _logaddexp_exact(x: Array, y: Array) -> Array:
    return jnp.maximum(x, y) + jnp.log1p(jnp.exp(-jnp.abs(x - y)))


def _log_normalizer(x: Array) -> Array:
    """``logsumexp`` over the last axis; rows with no finite logit give ``-inf``."""
    m = jnp.max(x, axis=-1)
    m = jnp.where(jnp.isfinite(m), m, jnp.zeros((), x.dtype))
    return m + jnp.log(jnp.sum(jnp.exp(x - m[..., None]), axis=-1))


# ---------------------------------------------------------------------------
# the recursions over [N, L + 1] blank states and [N, L] label states


def _skips(labels: Array) -> Array:
    """``skip[n, i]``: label ``i`` may follow label ``i - 1`` directly (they differ)."""
    first = jnp.zeros(labels.shape[:1] + (1,), bool)
    return jnp.concatenate([first, labels[:, 1:] != labels[:, :-1]], axis=1)


def _emissions(x: Array, lse: Array, labels: Array, blank: int) -> tuple[Array, Array]:
    """Log-probabilities of the blank ``[N, T]`` and of each target label ``[N, T, L]``."""
    n, steps, classes = x.shape
    neg = jnp.asarray(_NEG, x.dtype)
    if 0 < n * steps * classes < 2**31:
        # One flat gather: its output comes out in [N, T, L] order, no transpose.
        frame = jnp.arange(n, dtype=jnp.int32)[:, None] * steps + jnp.arange(
            steps, dtype=jnp.int32
        )
        index = frame[:, :, None] * classes + labels[:, None, :]
        picked = jnp.take(x.reshape(-1), index, mode="clip")
    else:
        picked = jnp.take_along_axis(x, labels[:, None, :], axis=2, mode="clip")
    lp_labels = jnp.maximum(picked - lse[:, :, None], neg)
    lp_blank = jnp.maximum(x[:, :, blank] - lse, neg)
    return lp_blank, lp_labels


def _at(a: Array, t) -> Array:
    """``a[:, t]`` for a traced ``t``; ``[N, T]`` arrays give ``[N, 1]``."""
    return jax.lax.dynamic_index_in_dim(a, t, axis=1, keepdims=a.ndim == 2)


def _alpha_step(b, lab, emit_b, emit_l, padded, skip):
    """One forward step: blank states ``b`` [N, L+1], label states ``lab`` [N, L]."""
    neg = jnp.full(b.shape[:1] + (1,), _NEG, b.dtype)
    # into blank i: from blank i and label i-1
    p = _logaddexp(b, jnp.concatenate([neg, lab], axis=1))
    # into label i: from label i, blank i and, when allowed, label i-1 (= p without b_i)
    q = jnp.where(skip, p[:, :-1], b[:, :-1])
    new_lab = _logaddexp(lab, q) + emit_l
    new_b = p + emit_b
    return jnp.where(padded, b, new_b), jnp.where(padded, lab, new_lab)


def _beta_step(b, lab, emit_b, emit_l, padded, skip_next):
    """One backward step on the pre-emission betas (the mirror of :func:`_alpha_step`)."""
    neg = jnp.full(b.shape[:1] + (1,), _NEG, b.dtype)
    vb = b + emit_b
    vl = lab + emit_l
    # out of blank i: to blank i and label i
    p = _logaddexp(vb, jnp.concatenate([vl, neg], axis=1))
    # out of label i: to label i, blank i+1 and, when allowed, label i+1
    q = jnp.where(skip_next, p[:, 1:], vb[:, 1:])
    new_lab = _logaddexp(vl, q)
    return jnp.where(padded, b, p), jnp.where(padded, lab, new_lab)


def _alpha_init(n: int, length: int, dtype) -> tuple[Array, Array]:
    b = jnp.full((n, length + 1), _NEG, dtype).at[:, 0].set(0.0)
    return b, jnp.full((n, length), _NEG, dtype)


def _log_likelihood(b: Array, lab: Array, lens: Array) -> Array:
    """``log p(labels | logits)`` from the final alphas: last blank or last label."""
    last_b = jnp.take_along_axis(b, lens[:, None], axis=1)[:, 0]
    last_l = jnp.take_along_axis(lab, jnp.maximum(lens - 1, 0)[:, None], axis=1, mode="clip")
    last_l = jnp.where(lens > 0, last_l[:, 0], jnp.asarray(_NEG, b.dtype))
    return _logaddexp_exact(last_b, last_l)


def _forward(lp_blank, lp_labels, pad, skip):
    """The alphas after the last frame."""
    n, steps, length = lp_labels.shape

    def body(t, carry):
        return _alpha_step(*carry, _at(lp_blank, t), _at(lp_labels, t), _at(pad, t), skip)

    init = _alpha_init(n, length, lp_labels.dtype)
    return jax.lax.fori_loop(0, steps, body, init) if steps else init


def _two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    """``a + b`` as ``(s, e)`` with ``s + e`` exact (Knuth's TwoSum)."""
    s = a + b
    bp = s - a
    return s, (a - (s - bp)) + (b - bp)


def _renormalize(b: Array, lab: Array, hi: Array, lo: Array):
    """Shifts the states of each sequence by its largest blank state, adding the shift to
    the two-float shift sum ``(hi, lo)``; returns the new ``(b, lab, hi, lo)``.

    The blank states alone (one reduction instead of two) are reference enough: the
    shift only has to keep the stored states of moderate size between two shifts, and
    every label state feeds the next blank state. A sequence with no reachable blank
    state (about ``-1e30``) is left as it is.
    """
    top = jnp.max(b, axis=1)
    top = jnp.where(top > _IMPOSSIBLE, top, jnp.zeros((), b.dtype))
    hi, err = _two_sum(hi, top)
    return b - top[:, None], lab - top[:, None], hi, lo + err


def _forward_backward(lp_blank, lp_labels, pad, skip, lens):
    """``log p``, and the log-occupations of the label states of every frame.

    One loop runs both recursions, the alphas forward from frame 0 and the betas
    backward from the last frame, so each iteration has two independent chains. Both are
    renormalized every ``_BLOCK`` frames (largest blank state 0), and the shifts are summed in
    compensated (two-float) form: the stored states stay of moderate size, so the occupations
    ``exp(alpha + beta - log p)`` do not inherit the rounding of ``T`` additions at the
    magnitude of ``log p`` (about ``1e-3`` relative at ``T = 512`` in float32 before).

    Returns ``(loglik [N], alphas [N, T, L], betas [N, T, L], offset [N, T])`` with
    ``log gamma_t(s) = alphas[:, t, s] + betas[:, t, s] + offset[:, t]``.
    """
    n, steps, length = lp_labels.shape
    dtype = lp_labels.dtype
    skip_next = jnp.concatenate([skip[:, 1:], jnp.zeros((n, 1), bool)], axis=1)
    blanks = jnp.arange(length + 1)[None, :]
    beta_b = jnp.where(blanks == lens[:, None], 0.0, _NEG).astype(dtype)
    beta_l = jnp.where(blanks[:, :-1] == lens[:, None] - 1, 0.0, _NEG).astype(dtype)
    zero = jnp.zeros((n,), dtype)
    # alphas[:, t]: after emitting at frame t, with shift sum a_shift[:, t] (hi, lo).
    # betas[:, t + 1] = beta_t, the pre-emission beta of frame t (betas[:, 0] is unused),
    # with shift sum b_shift[:, t + 1]. Distinct fill values keep XLA from sharing (and
    # then copying) the buffers.
    alphas = jnp.full((n, steps, length), 1.0, dtype)
    betas = jnp.full((n, steps + 1, length), 2.0, dtype).at[:, steps].set(beta_l)
    blocks = steps // _BLOCK
    a_shift = jnp.full((2, n, blocks + 1), 3.0, dtype).at[:, :, 0].set(0.0)
    b_shift = jnp.full((2, n, blocks + 1), 4.0, dtype).at[:, :, 0].set(0.0)

    def step(t, carry):
        # One frame of both recursions; the states are stored with the shift sums in
        # effect (states + shift = the true log-probabilities).
        b, lab, a_hi, a_lo, bb, bl, b_hi, b_lo, alphas, betas, a_shift, b_shift = carry
        r = steps - 1 - t
        b, lab = _alpha_step(b, lab, _at(lp_blank, t), _at(lp_labels, t), _at(pad, t), skip)
        bb, bl = _beta_step(bb, bl, _at(lp_blank, r), _at(lp_labels, r), _at(pad, r), skip_next)
        alphas = jax.lax.dynamic_update_index_in_dim(alphas, lab, t, axis=1)
        betas = jax.lax.dynamic_update_index_in_dim(betas, bl, r, axis=1)
        return b, lab, a_hi, a_lo, bb, bl, b_hi, b_lo, alphas, betas, a_shift, b_shift

    def block(i, carry):
        # _BLOCK frames, then one renormalization: within a block the states drift by a
        # few emissions only, and the reductions of the renormalization are amortized.
        for j in range(_BLOCK):
            carry = step(i * _BLOCK + j, carry)
        b, lab, a_hi, a_lo, bb, bl, b_hi, b_lo, alphas, betas, a_shift, b_shift = carry
        b, lab, a_hi, a_lo = _renormalize(b, lab, a_hi, a_lo)
        bb, bl, b_hi, b_lo = _renormalize(bb, bl, b_hi, b_lo)
        a_shift = jax.lax.dynamic_update_index_in_dim(a_shift, jnp.stack([a_hi, a_lo]), i + 1, 2)
        b_shift = jax.lax.dynamic_update_index_in_dim(b_shift, jnp.stack([b_hi, b_lo]), i + 1, 2)
        return b, lab, a_hi, a_lo, bb, bl, b_hi, b_lo, alphas, betas, a_shift, b_shift

    b, lab = _alpha_init(n, length, dtype)
    init = (b, lab, zero, zero, beta_b, beta_l, zero, zero, alphas, betas, a_shift, b_shift)
    if blocks:
        init = jax.lax.fori_loop(0, blocks, block, init)
    for t in range(blocks * _BLOCK, steps):
        init = step(t, init)
    b, lab, a_hi, a_lo, _, _, _, _, alphas, betas, a_shift, b_shift = init
    rest = _log_likelihood(b, lab, lens)  # log p = a_hi + a_lo + rest
    loglik = a_hi + (a_lo + rest)
    # The shift sums in effect when frame t's alpha and beta were stored (the beta of
    # frame t is the one computed at iteration steps - 2 - t, or the initial one).
    frames = np.arange(steps)
    a_shift = a_shift[:, :, frames // _BLOCK]
    b_shift = b_shift[:, :, np.maximum(steps - 2 - frames, 0) // _BLOCK]
    # offset = alpha shift + beta shift - log p, cancelling in exact steps.
    s, e = _two_sum(a_shift[0], -a_hi[:, None])
    offset = (s + b_shift[0]) + (e + (a_shift[1] - a_lo[:, None]) + b_shift[1] - rest[:, None])
    return loglik, alphas, betas[:, 1:], offset


@functools.partial(jax.custom_jvp, nondiff_argnums=(4,))
def _nll(x: Array, pad: Array, labels: Array, lens: Array, blank: int) -> Array:
    """``-log p(labels | x)`` per sequence; about ``1e30`` when no alignment exists.

    ``x`` [N, T, K] logits, ``pad`` [N, T] bool, ``labels`` [N, L] int32 in ``[0, K)``
    (padding positions hold any valid class), ``lens`` [N] label lengths.
    """
    lse = _log_normalizer(x)
    lp_blank, lp_labels = _emissions(x, lse, labels, blank)
    b, lab = _forward(lp_blank, lp_labels, pad, _skips(labels))
    return -_log_likelihood(b, lab, lens)


@_nll.defjvp
def _nll_jvp(blank, primals, tangents):
    x, pad, labels, lens = primals
    dx = tangents[0]
    classes = x.shape[2]
    length = labels.shape[1]
    lse = _log_normalizer(x)
    lp_blank, lp_labels = _emissions(x, lse, labels, blank)
    loglik, alphas, betas, offset = _forward_backward(
        lp_blank, lp_labels, pad, _skips(labels), lens
    )
    feasible = loglik > _IMPOSSIBLE
    live = ~pad[:, :, None] & feasible[:, None, None]
    real = jnp.arange(length)[None, None, :] < lens[:, None, None]
    offset = jnp.where(feasible[:, None], offset, 0.0)[:, :, None]
    # Occupation probabilities of the label states.
    gamma = jnp.where(live & real, jnp.exp(alphas + betas + offset), 0.0)
    # Class k collects the label states holding k; the blank collects the rest of each
    # frame's unit mass (occupations sum to one), hence the -1 column here and the +1
    # below: occupation[n, t, k] = posterior(k) - [k == blank].
    is_blank = (jnp.arange(classes) == blank).astype(x.dtype)
    scatter = jax.nn.one_hot(labels, classes, dtype=x.dtype) - is_blank
    occupation = jnp.einsum("nti,nik->ntk", gamma, scatter)
    grad = jnp.exp(x - lse[:, :, None]) - occupation - is_blank
    grad = jnp.where(live, grad, jnp.zeros((), x.dtype))
    return -loglik, jnp.sum(grad * dx, axis=(1, 2))


# ---------------------------------------------------------------------------
# the loss


def _static_int(fn: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{fn}: argument '{name}' must be a Python int (it is static), got "
            f"{type(value).__name__}"
        )
    return int(value)




def _paddings(fn: str, name: str, x: ArrayLike) -> Array:
    x = jnp.asarray(x)
    if not (jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer)
            or x.dtype == jnp.bool_):
        raise TypeError(
            f"{fn}: argument '{name}' must hold 0/1 padding flags (float, int or bool), got "
            f"{x.dtype}"
        )
    return x >= 0.5 if x.dtype != jnp.bool_ else x


@register(
    family="sequence",
    inputs="logits",
    optax="optax.losses.ctc_loss",
    torch="torch.nn.functional.ctc_loss",
    keras="keras.losses.CTC",
)
def ctc_loss(
    logits: ArrayLike,
    logit_paddings: ArrayLike,
    labels: ArrayLike,
    label_paddings: ArrayLike,
    *,
    blank_id: int = 0,
    zero_infinity: bool = False,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Connectionist temporal classification loss: ``-log p(labels | logits)`` per sequence.

    .. math::
        \ell_b = -\log \sum_{\pi \in \mathcal{B}^{-1}(y_b)} \prod_{t=1}^{T_b}
        \mathrm{softmax}(z_{bt})_{\pi_t}

    where :math:`\mathcal{B}` removes repeated symbols and then blanks, so the sum runs
    over every frame-level alignment of the target :math:`y_b` (Graves et al., 2006).

    Args:
      logits: ``[..., T, K]`` unnormalized scores over ``K`` classes (blank included) for
        ``T`` frames; any leading batch shape ``[...]`` (usually ``[B]``).
      logit_paddings: ``[..., T]`` padding flags of the frames: ``1.0`` marks a padded
        frame (ignored: it neither emits nor advances the alignment), ``0.0`` a real one.
        Floats, ints or bools; values ``>= 0.5`` count as padding.
      labels: ``[..., L]`` integer target classes in ``[0, K)``, right-padded.
      label_paddings: ``[..., L]`` padding flags of the labels (``1.0`` = padding); the
        target length is the number of ``0.0`` entries, which must come first.
      blank_id: the blank class, a Python int in ``[0, K)`` (static).
      zero_infinity: if ``True``, sequences that no alignment can produce give ``0``
        instead of ``+inf`` (PyTorch's option); a Python bool (static).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask of shape ``[...]``; masked sequences are excluded, give ``0``
        in ``"none"`` output and get exactly zero gradient (even with non-finite logits).
      weights: non-negative weights broadcastable to ``[...]``.

    Returns:
      A scalar, or shape ``[...]`` (one value per sequence) for ``reduction="none"``;
      float32 for half-precision logits, float64 under x64 for float64 logits.

    Raises:
      ValueError: if the shapes do not match (``[..., T, K]``, ``[..., T]``, ``[..., L]``,
        ``[..., L]``) or ``blank_id`` is outside ``[0, K)``.
      TypeError: if ``labels`` is not an integer array, ``logits`` not floating, or
        ``blank_id`` / ``zero_infinity`` not a Python int / bool.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 2, 2))  # 2 frames, classes {blank, a}, uniform
      >>> loss = jaxloss.ctc_loss(logits, jnp.zeros((1, 2)), jnp.array([[1]]),
      ...                         jnp.zeros((1, 1)), reduction="none")
      >>> round(float(loss[0]), 4)  # -log(3/4): "a" from "aa", "a_" or "_a"
      0.2877

    Note:
      * Infeasible targets: when the target cannot be aligned to the frames (it needs
        ``len(target) + number of adjacent repeats`` frames, since ``"aa"`` needs a blank
        between its two ``a``), or every alignment has probability exactly zero (``-inf``
        logits), the loss is ``+inf`` with zero gradient, as PyTorch; with
        ``zero_infinity=True`` it is ``0`` with zero gradient. Under ``"mean"``/``"sum"``
        one ``+inf`` makes the result ``+inf``; mask such sequences with ``where`` (not
        ``weights=0``, since ``0 * inf`` is NaN) or use ``zero_infinity``.
      * An empty target on an empty (fully padded) input has probability one: loss ``0``.
      * ``-inf`` logits (classes masked out) are fine: value and gradient stay finite as
        long as a frame keeps one finite logit; a non-padded frame whose logits are all
        ``-inf``, or any ``+inf``/NaN logit in a non-padded frame, gives NaN. Padded
        frames may hold anything, including inf/NaN: they get zero gradient.
      * Labels outside ``[0, K)`` at non-padding positions give NaN for their sequence;
        :func:`jaxloss.checked` turns them into an error. A label equal to ``blank_id``
        is undefined, as in PyTorch.
      * The loss is never negative (rounding can make ``-log p`` about ``-1e-7`` when
        ``p`` is one; it is clamped at ``0``).
      * Float32 accuracy: the value matches a float64 reference to about ``1e-6``
        relative (the recursion uses a polynomial ``log1p`` accurate to ``1.3e-7``);
        float64 inputs are computed with exact ``log1p``. The gradient stays within
        about ``1e-4`` of float64 also for long inputs (``T = 512``): the
        forward-backward states are renormalized every few frames with compensated
        sums of the shifts, so the occupation probabilities do not inherit the rounding
        of ``T`` additions at the magnitude of ``log p``.
      * Gradients use a closed form (``jax.custom_jvp``): forward and reverse mode both
        work, and higher derivatives differentiate through the recursion.

    Equivalent to ``optax.losses.ctc_loss`` (``reduction="none"``; optax returns about
    ``1e5`` instead of ``+inf`` for infeasible targets and can return ``-1e-7``),
    ``torch.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths,
    reduction="none")`` on time-major log-softmaxed inputs, and ``keras.losses.CTC``.
    Reductions differ: PyTorch's default ``reduction="mean"`` first divides each
    sequence's loss by its target length and then averages; jaxloss's ``"mean"`` is the
    plain (or weighted) mean of the per-sequence negative log-likelihoods, i.e.
    ``jnp.mean(optax.losses.ctc_loss(...))``.
    """
    fn = "ctc_loss"
    x = core.as_logits(fn, "logits", logits)
    y = core.as_labels(fn, "labels", labels)
    pad = _paddings(fn, "logit_paddings", logit_paddings)
    label_pad = _paddings(fn, "label_paddings", label_paddings)
    if x.ndim < 2:
        raise ValueError(
            f"{fn}: argument 'logits' must have shape [..., T, K] (frames, classes), got "
            f"logits.shape={tuple(x.shape)}"
        )
    if pad.shape != x.shape[:-1]:
        raise ValueError(
            f"{fn}: arguments 'logits' and 'logit_paddings' must have shapes [..., T, K] and "
            f"[..., T], got logits.shape={tuple(x.shape)} and "
            f"logit_paddings.shape={tuple(pad.shape)}"
        )
    if y.ndim < 1 or y.shape[:-1] != x.shape[:-2]:
        raise ValueError(
            f"{fn}: arguments 'logits' and 'labels' must have shapes [..., T, K] and [..., L] "
            f"with the same batch shape [...], got logits.shape={tuple(x.shape)} and "
            f"labels.shape={tuple(y.shape)}"
        )
    if label_pad.shape != y.shape:
        raise ValueError(
            f"{fn}: arguments 'labels' and 'label_paddings' must have the same shape, got "
            f"labels.shape={tuple(y.shape)} and label_paddings.shape={tuple(label_pad.shape)}"
        )
    classes = x.shape[-1]
    blank = _static_int(fn, "blank_id", blank_id)
    if not 0 <= blank < classes:
        raise ValueError(
            f"{fn}: argument 'blank_id' must be in [0, {classes}) (the number of classes of "
            f"'logits'), got {blank}"
        )
    zero_inf = core.static_bool(fn, "zero_infinity", zero_infinity)
    core.check_reduction(fn, reduction)

    batch = x.shape[:-2]
    steps, length = x.shape[-2], y.shape[-1]
    x = x.astype(core.compute_dtype(x))
    mask = core.example_mask(fn, where, batch)
    if mask is not None:
        x = jnp.where(mask[..., None, None], x, jnp.zeros((), x.dtype))

    n = core.prod(batch)
    x = x.reshape(n, steps, classes)
    pad = pad.reshape(n, steps)
    y = y.reshape(n, length)
    lens = jnp.sum(~label_pad.reshape(n, length), axis=1, dtype=jnp.int32)
    real = jnp.arange(length)[None, :] < lens[:, None]
    in_range = (y >= 0) & (y < classes)
    core.check_labels(fn, (in_range | ~real).reshape(y.shape), y, classes)
    bad = jnp.any(real & ~in_range, axis=1)
    y = jnp.where(real & in_range, y, blank).astype(jnp.int32)

    nll = _nll(x, pad, y, lens, blank)
    feasible = nll < -_IMPOSSIBLE
    infeasible_value = jnp.zeros((), x.dtype) if zero_inf else jnp.asarray(jnp.inf, x.dtype)
    # NaN (from NaN logits) stays NaN; only a finite "probability zero" becomes +inf / 0.
    values = jnp.where(feasible | jnp.isnan(nll), jnp.maximum(nll, 0.0), infeasible_value)
    values = jnp.where(bad, jnp.asarray(jnp.nan, x.dtype), values)
    values = values.reshape(batch)
    return core.finish(fn, values, reduction, where, weights, mask=mask)
