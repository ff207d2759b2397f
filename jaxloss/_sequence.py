r"""Sequence losses: connectionist temporal classification (CTC).

[`ctc_loss`][jaxloss.ctc_loss] takes optax's arguments (``logits``, ``logit_paddings``, ``labels``,
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
* the forward (alpha) recursion is shifted every few frames by its largest state that
  can still end on the target, with the shifts summed in two-float (compensated) form,
  so the states that matter stay near 0 and ``log p`` does not inherit the rounding of
  ``T`` additions at its own magnitude;
* the gradient is a ``jax.custom_jvp`` in closed form. The forward pass stores the
  alphas of every state (blank and label), the backward (beta) pass adds each frame's
  betas to them, and the occupation probabilities of a frame are the softmax of these
  ``alpha + beta`` over the frame's states. The per-frame normalization cancels the
  shifts and, above all, the rounding that the states of a frame have in common
  (``alpha + beta - log p`` formed directly is off by about ``T * eps`` times the
  magnitude of the states, which dominated the float32 gradient when one alignment is
  nearly forced: ``T`` close to the target length, or a peaked model); a forced state
  gets an occupation of exactly 1, as optax's autodiff gives:

  $$
      \frac{\partial\,\mathrm{nll}}{\partial z_{tk}} = \mathrm{softmax}(z_t)_k -
      \sum_{s:\,\ell'_s = k} \gamma_t(s), \qquad
      \gamma_t(s) = \frac{\exp(\alpha_t(s) + \beta_t(s))}
      {\sum_{s'} \exp(\alpha_t(s') + \beta_t(s'))}.
  $$

  Autodiff through the loop is never used (it would store and replay every step).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike
from jaxloss._registry import register

# Finite stand-in for log(0). Sums of a few of them stay finite in float32.
_NEG = -1e30
# A log-likelihood below this is "probability zero": the alignment cannot exist.
_IMPOSSIBLE = -1e29
# Frames per renormalization of the alpha and beta states, and per loop iteration (the
# steps of a block are unrolled): _BLOCK for sequences of at least _UNROLL_FROM frames,
# 1 below, where the loops are short and the unrolled steps only cost compile time (40%
# of a small CTC program's; at 24 frames the single-step loop also runs as fast).
_BLOCK = 4
_UNROLL_FROM = 32


def _block(frames: int) -> int:
    """Frames per block for a sequence of ``frames`` frames (static)."""
    return _BLOCK if frames >= _UNROLL_FROM else 1


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


def _softmax_parts(x: Array) -> tuple[Array, Array, Array]:
    """``(m, e, s)`` with ``e = exp(x - m)`` and ``s = sum(e)`` over the last axis, so
    ``logsumexp = m + log(s)`` and ``softmax = e / s``; rows with no finite logit have
    ``m = 0`` (their ``logsumexp`` is ``-inf``)."""
    m = jnp.max(x, axis=-1, keepdims=True)
    m = jnp.where(jnp.isfinite(m), m, jnp.zeros((), x.dtype))
    e = jnp.exp(x - m)
    return m, e, jnp.sum(e, axis=-1, keepdims=True)


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
        frame = jnp.arange(n, dtype=jnp.int32)[:, None] * steps + jnp.arange(steps, dtype=jnp.int32)
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
    """One backward step, the mirror of `_alpha_step`; these betas include the
    emission of their own frame."""
    neg = jnp.full(b.shape[:1] + (1,), _NEG, b.dtype)
    # out of blank i: to blank i and label i
    p = _logaddexp(b, jnp.concatenate([lab, neg], axis=1))
    # out of label i: to label i, blank i+1 and, when allowed, label i+1 (= p without b_i+1)
    q = jnp.where(skip_next, p[:, 1:], b[:, 1:])
    new_lab = _logaddexp(lab, q) + emit_l
    new_b = p + emit_b
    return jnp.where(padded, b, new_b), jnp.where(padded, lab, new_lab)


def _log_likelihood(b: Array, lab: Array, lens: Array) -> Array:
    """``log p(labels | logits)`` from the final alphas: last blank or last label."""
    last_b = jnp.take_along_axis(b, lens[:, None], axis=1)[:, 0]
    last_l = jnp.take_along_axis(lab, jnp.maximum(lens - 1, 0)[:, None], axis=1, mode="clip")
    last_l = jnp.where(lens > 0, last_l[:, 0], jnp.asarray(_NEG, b.dtype))
    return _logaddexp_exact(last_b, last_l)


def _two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    """``a + b`` as ``(s, e)`` with ``s + e`` exact (Knuth's TwoSum)."""
    s = a + b
    bp = s - a
    return s, (a - (s - bp)) + (b - bp)


def _reference(b: Array, lab: Array, fewest: Array | None = None, most: Array | None = None):
    """The shift ``[N]`` that renormalizes the states of each sequence: its largest
    reference state (0 for a sequence with no reachable one, about ``-1e30``).

    Without a band the reference states are the blank states (one reduction: they are
    reference enough to keep the stored states of moderate size, since every label
    state feeds the next blank state). With a band (``[N, 1]``) they are the states
    that have consumed ``fewest`` to ``most`` labels (blank ``i`` has consumed ``i``,
    label ``i`` ``i + 1``), the states that can still end on the target: those stay
    near 0, where float32 resolves them finely, even when states that cannot end on it
    hold most of the mass (``T`` close to the target length, say).
    """
    if fewest is None or most is None:  # the band comes as a pair
        top = jnp.max(b, axis=1)
    else:
        index = jnp.arange(b.shape[1])[None, :]
        neg = jnp.asarray(_NEG, b.dtype)
        top = jnp.max(jnp.where((index >= fewest) & (index <= most), b, neg), axis=1)
        if lab.shape[1]:
            index = index[:, 1:]
            in_band = (index >= fewest) & (index <= most)
            top = jnp.maximum(top, jnp.max(jnp.where(in_band, lab, neg), axis=1))
    return jnp.where(top > _IMPOSSIBLE, top, jnp.zeros((), b.dtype))


def _blocked(steps: int, size: int, step, shift, carry):
    """``carry = step(t, carry)`` for ``t`` in ``0 .. steps - 1``, renormalized by
    ``carry = shift(i, carry)`` before frame ``i * size``; ``steps`` is a multiple of the
    block ``size`` (see `_whole_blocks`).

    Within a block the states drift by a few emissions only, and one renormalization
    per block amortizes its reductions; done at the start of a loop iteration, its
    subtraction fuses into the iteration's first step.
    """

    def block(i, carry):
        carry = shift(i, carry)
        for j in range(size):
            carry = step(i * size + j, carry)
        return carry

    assert steps % size == 0, (steps, size)
    if steps:
        carry = jax.lax.fori_loop(0, steps // size, block, carry)
    return carry


def _whole_blocks(lp_blank: Array, lp_labels: Array, pad: Array, size: int):
    """The emissions and frame paddings padded with padded frames (which neither emit
    nor advance the alignment) to a multiple of ``size`` frames: the loops then have no
    remainder steps to compile."""
    extra = -lp_blank.shape[1] % size
    if not extra:
        return lp_blank, lp_labels, pad
    return (
        jnp.pad(lp_blank, ((0, 0), (0, extra))),
        jnp.pad(lp_labels, ((0, 0), (0, extra), (0, 0))),
        jnp.pad(pad, ((0, 0), (0, extra)), constant_values=True),
    )


def _fewest(pad: Array, lens: Array, size: int) -> Array:
    """``[N, T / size]``: the fewest labels an alpha state may have consumed before
    frame ``i * size`` and still end on the target: the rest of the target needs one
    valid frame per label (repeats, which need more, are ignored: the bound only has to
    be necessary)."""
    after = jnp.cumsum(~pad[:, ::-1], axis=1, dtype=jnp.int32)[:, ::-1]  # in [t, T)
    return lens[:, None] - after[:, ::size]


def _pair(b: Array, lab: Array) -> Array:
    """``[N, 2, L + 1]``: the blank states over the label states (the last one unused)."""
    return jnp.stack([b, jnp.pad(lab, ((0, 0), (0, 1)), constant_values=_NEG)], axis=1)


class _Alphas(NamedTuple):
    """The carry of the alpha recursion (see `_forward`)."""

    blank: Array  # [N, L + 1] log-alphas of the blank states
    label: Array  # [N, L] log-alphas of the label states
    shift_hi: Array  # [N] the sum of the renormalization shifts so far, in two floats:
    shift_lo: Array  # [N] ... high and low parts (compensated summation)
    stored: Array | tuple  # [N, T + 1, 2, L + 1] every frame's alphas, or () if not kept
    offsets: Array | tuple = ()  # [N, T / block, 2] each block's total shift (hi, lo), or ()


def _forward(lp_blank, lp_labels, pad, skip, lens, store: bool = False, offsets: bool = False):
    """The alpha recursion: ``log p(labels | logits)`` ``[N]``, and with ``store`` also the
    alphas of every frame after its emission, ``[N, T + 1, 2, L + 1]`` with ``T`` padded
    to whole blocks (see `_pair`, `_whole_blocks`; frame ``T`` unused), each
    as shifted at the time. With ``offsets`` (and ``store``) the result is
    ``(log p, alphas, offsets)``: ``offsets[:, i]`` holds, as a (high, low) pair, the
    total shift of the alphas of the frames of block ``i``, which the true
    log-alphas are the stored ones plus.

    Every block of frames (see `_block`) the alphas are shifted by their largest
    state that can still
    end on the target (see `_reference`), and the shifts are summed in
    compensated (two-float) form: the states that matter stay near 0, so ``log p`` does
    not inherit the rounding of ``T`` additions at its own magnitude.
    """
    size = _block(lp_blank.shape[1])
    lp_blank, lp_labels, pad = _whole_blocks(lp_blank, lp_labels, pad, size)
    n, steps, length = lp_labels.shape
    dtype = lp_labels.dtype
    fewest = _fewest(pad, lens, size)

    def shift(i, c: _Alphas) -> _Alphas:
        top = _reference(c.blank, c.label, _at(fewest, i), lens[:, None])
        hi, err = _two_sum(c.shift_hi, top)
        lo = c.shift_lo + err
        kept = c.offsets
        if offsets:
            kept = jax.lax.dynamic_update_index_in_dim(kept, jnp.stack([hi, lo], 1), i, 1)
        return _Alphas(c.blank - top[:, None], c.label - top[:, None], hi, lo, c.stored, kept)

    def step(t, c: _Alphas) -> _Alphas:
        b, lab = _alpha_step(
            c.blank, c.label, _at(lp_blank, t), _at(lp_labels, t), _at(pad, t), skip
        )
        stored = c.stored
        if store:
            stored = jax.lax.dynamic_update_index_in_dim(stored, _pair(b, lab), t, 1)
        return _Alphas(b, lab, c.shift_hi, c.shift_lo, stored, c.offsets)

    zero = jnp.zeros((n,), dtype)
    b = jnp.full((n, length + 1), _NEG, dtype).at[:, 0].set(0.0)
    lab = jnp.full((n, length), _NEG, dtype)
    # The unused frame T gives `alphas` a shape of its own: two buffers of one shape,
    # read and written at the same frame (see _forward_backward), are measurably slower
    # on the CPU (they conflict in the cache).
    alphas = jnp.full((n, steps + 1, 2, length + 1), 1.0, dtype) if store else ()
    kept = jnp.zeros((n, steps // size, 2), dtype) if offsets else ()
    end = _blocked(steps, size, step, shift, _Alphas(b, lab, zero, zero, alphas, kept))
    loglik = end.shift_hi + (end.shift_lo + _log_likelihood(end.blank, end.label, lens))
    if store and offsets:
        return loglik, end.stored, end.offsets
    return (loglik, end.stored) if store else loglik


def _forward_backward(lp_blank, lp_labels, pad, skip, lens):
    """``log p`` ``[N]``, and ``alpha + beta`` of every state of every frame
    ``[N, T, 2, L + 1]`` (see `_pair`): the log-occupation probabilities, each frame
    up to a constant of its own (the shifts in effect when its alphas and betas were
    computed).

    `_forward` stores the alphas; then the beta recursion runs backward from the
    last frame, shifted every block of frames by its largest blank state, and adds
    each frame's betas to the stored alphas of the frame.
    """
    frames = lp_blank.shape[1]
    size = _block(frames)  # _forward's too: padding keeps the frames above _UNROLL_FROM
    lp_blank, lp_labels, pad = _whole_blocks(lp_blank, lp_labels, pad, size)
    n, steps, length = lp_labels.shape
    dtype = lp_labels.dtype
    loglik, alphas = _forward(lp_blank, lp_labels, pad, skip, lens, store=True)
    skip_next = jnp.concatenate([skip[:, 1:], jnp.zeros((n, 1), bool)], axis=1)

    def shift(i, carry):
        b, lab, sums = carry
        top = _reference(b, lab)[:, None]
        return b - top, lab - top, sums

    def step(t, carry):
        b, lab, sums = carry
        r = steps - 1 - t
        emit_b, emit_l = _at(lp_blank, r), _at(lp_labels, r)
        b, lab = _beta_step(b, lab, emit_b, emit_l, _at(pad, r), skip_next)
        # these betas include the emission of frame r, which its alphas hold already
        frame = _at(alphas, r) + _pair(b - emit_b, lab - emit_l)
        return b, lab, jax.lax.dynamic_update_index_in_dim(sums, frame, r, 1)

    # The betas start from a virtual frame T after the last, in blank lens.
    b = jnp.where(jnp.arange(length + 1)[None, :] == lens[:, None], 0.0, _NEG).astype(dtype)
    lab = jnp.full((n, length), _NEG, dtype)
    sums = jnp.full((n, steps, 2, length + 1), 2.0, dtype)
    _, _, sums = _blocked(steps, size, step, shift, (b, lab, sums))
    return loglik, sums[:, :frames]


@functools.partial(jax.custom_jvp, nondiff_argnums=(4,))
def _nll(x: Array, pad: Array, labels: Array, lens: Array, blank: int) -> Array:
    """``-log p(labels | x)`` per sequence; about ``1e30`` when no alignment exists.

    ``x`` [N, T, K] logits, ``pad`` [N, T] bool, ``labels`` [N, L] int32 in ``[0, K)``
    (padding positions hold any valid class), ``lens`` [N] label lengths.
    """
    m, _, total = _softmax_parts(x)
    lp_blank, lp_labels = _emissions(x, (m + jnp.log(total))[..., 0], labels, blank)
    return -_forward(lp_blank, lp_labels, pad, _skips(labels), lens)


@_nll.defjvp
def _nll_jvp(blank, primals, tangents):
    x, pad, labels, lens = primals
    dx = tangents[0]
    classes = x.shape[2]
    length = labels.shape[1]
    m, e, total = _softmax_parts(x)
    lp_blank, lp_labels = _emissions(x, (m + jnp.log(total))[..., 0], labels, blank)
    loglik, sums = _forward_backward(lp_blank, lp_labels, pad, _skips(labels), lens)
    live = ~pad[:, :, None] & (loglik > _IMPOSSIBLE)[:, None, None]
    # The occupations of a frame, a softmax over its states: the constant that each
    # frame's sums carry cancels, and so does the rounding its states have in common
    # (about T * eps * |log p| otherwise, which dominated float32 errors when an
    # alignment is nearly forced). The label states past the target are not states.
    real = jnp.arange(length)[None, None, :] < lens[:, None, None]
    sums_b = sums[:, :, 0]
    sums_l = jnp.where(real, sums[:, :, 1, :length], jnp.asarray(_NEG, x.dtype))
    top = jnp.maximum(
        jnp.max(sums_b, axis=2, keepdims=True), jnp.max(sums_l, axis=2, keepdims=True)
    )
    # (exp of the two halves, not of the stacked array and then sliced: XLA's CPU dot
    # below is twice as slow on a slice of a fused exp)
    w_blank = jnp.sum(jnp.exp(sums_b - top), axis=2, keepdims=True)
    w_labels = jnp.exp(sums_l - top)
    scale = 1.0 / (w_blank + jnp.sum(w_labels, axis=2, keepdims=True))
    # Class k collects the label states holding k, the blank the blank states.
    is_blank = (jnp.arange(classes) == blank).astype(x.dtype)
    one_hot = jax.nn.one_hot(labels, classes, dtype=x.dtype)
    occupation = jnp.einsum("nti,nik->ntk", w_labels, one_hot) + w_blank * is_blank
    grad = e / total - occupation * scale
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
    if not (
        jnp.issubdtype(x.dtype, jnp.floating)
        or jnp.issubdtype(x.dtype, jnp.integer)
        or x.dtype == jnp.bool_
    ):
        raise TypeError(
            f"{fn}: argument '{name}' must hold 0/1 padding flags (float, int or bool), got "
            f"{x.dtype}"
        )
    return x >= 0.5 if x.dtype != jnp.bool_ else x


class _Inputs(NamedTuple):
    """The validated inputs of a CTC call, flattened to ``N`` sequences (`_ctc_inputs`)."""

    x: Array  # [N, T, K] logits in the compute dtype (masked sequences zeroed)
    pad: Array  # [N, T] bool frame paddings
    labels: Array  # [N, L] int32, positions past the target or out of range -> blank
    given: Array  # [N, L] the labels as given, those outside [0, K) -> blank
    lens: Array  # [N] target lengths
    bad: Array  # [N] an out-of-range label inside the target
    blank: int
    batch: tuple  # the leading batch shape [...]
    mask: Array | None  # the per-sequence mask, [...]


def _ctc_inputs(fn, logits, logit_paddings, labels, label_paddings, blank_id, where) -> _Inputs:
    """Validates CTC inputs (the errors documented by [`ctc_loss`][jaxloss.ctc_loss])."""
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
    sequences = None if mask is None else mask[..., None]
    core.check_labels(fn, (in_range | ~real).reshape(batch + (length,)), y, classes, sequences)
    bad = jnp.any(real & ~in_range, axis=1)
    given = jnp.where(in_range, y, blank).astype(jnp.int32)
    y = jnp.where(real, given, blank)
    return _Inputs(x, pad, y, given, lens, bad, blank, batch, mask)


def _ctc_values(c: _Inputs, zero_infinity: bool) -> Array:
    """The per-sequence loss ``[...]`` of [`ctc_loss`][jaxloss.ctc_loss] (before `finish`)."""
    dtype = c.x.dtype
    nll = _nll(c.x, c.pad, c.labels, c.lens, c.blank)
    feasible = nll < -_IMPOSSIBLE
    infeasible_value = jnp.zeros((), dtype) if zero_infinity else jnp.asarray(jnp.inf, dtype)
    # NaN (from NaN logits) stays NaN; only a finite "probability zero" becomes +inf / 0.
    values = jnp.where(feasible | jnp.isnan(nll), jnp.maximum(nll, 0.0), infeasible_value)
    values = jnp.where(c.bad, jnp.asarray(jnp.nan, dtype), values)
    return values.reshape(c.batch)


@register(
    family="sequence",
    inputs="logits",
    optax="optax.losses.ctc_loss",
    torch="torch.nn.functional.ctc_loss",
    keras="keras.losses.CTC",
    notes={
        "optax": "same arguments; `zero_infinity` added; never negative.",
    },
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

    $$
        \ell_b = -\log \sum_{\pi \in \mathcal{B}^{-1}(y_b)} \prod_{t=1}^{T_b}
        \mathrm{softmax}(z_{bt})_{\pi_t}
    $$

    where $\mathcal{B}$ removes repeated symbols and then blanks, so the sum runs
    over every frame-level alignment of the target $y_b$ (Graves et al., 2006).

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

    Note:
      * Infeasible targets: when the target cannot be aligned to the frames (it needs
        ``len(target) + number of adjacent repeats`` frames, since ``"aa"`` needs a blank
        between its two ``a``), or every alignment has probability exactly zero (``-inf``
        logits), the loss is ``+inf`` (as PyTorch) with zero gradient (PyTorch's is
        NaN); with ``zero_infinity=True`` it is ``0`` with zero gradient, as PyTorch.
        Under ``"mean"``/``"sum"`` one ``+inf`` makes the result ``+inf``; mask such
        sequences with ``where`` (not ``weights=0``, since ``0 * inf`` is NaN) or use
        ``zero_infinity``.
      * An empty target on an empty (fully padded) input has probability one: loss ``0``.
      * ``-inf`` logits (classes masked out) are fine: value and gradient stay finite as
        long as a frame keeps one finite logit; a non-padded frame whose logits are all
        ``-inf``, or any ``+inf``/NaN logit in a non-padded frame, gives NaN. Padded
        frames may hold anything, including inf/NaN: they get zero gradient.
      * Labels outside ``[0, K)`` at non-padding positions give NaN for their sequence;
        [`jaxloss.checked`][jaxloss.checked] turns them into an error. A label equal to ``blank_id``
        is undefined, as in PyTorch.
      * The loss is never negative (rounding can make ``-log p`` about ``-1e-7`` when
        ``p`` is one; it is clamped at ``0``).
      * Float32 accuracy: value and gradient are at least as close to float64 as
        optax's float32 ones (tested on a grid of ``T`` up to 512 and target lengths
        up to ``T``). The value matches float64 to about ``1e-7`` relative, long inputs
        included (the recursion is renormalized every few frames with compensated sums
        of the shifts); float64 inputs use exact ``log1p``. The gradient is normalized
        per frame, so a forced alignment (``T`` equal to the target length) gets
        optax's exact occupations, and long, ambiguous inputs stay within about
        ``1e-5`` where optax is off by ``1e-4``.
      * Gradients use a closed form (``jax.custom_jvp``): forward and reverse mode both
        work, and higher derivatives differentiate through the recursion.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 2, 2))  # 2 frames, classes {blank, a}, uniform
      >>> loss = jaxloss.ctc_loss(logits, jnp.zeros((1, 2)), jnp.array([[1]]),
      ...                         jnp.zeros((1, 1)), reduction="none")
      >>> round(float(loss[0]), 4)  # -log(3/4): "a" from "aa", "a_" or "_a"
      0.2877

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
    zero_inf = core.static_bool(fn, "zero_infinity", zero_infinity)
    core.check_reduction(fn, reduction)
    c = _ctc_inputs(fn, logits, logit_paddings, labels, label_paddings, blank_id, where)
    values = _ctc_values(c, zero_inf)
    return core.finish(fn, values, reduction, c.mask, weights)


@core.public
def ctc_loss_with_forward_probs(
    logits: ArrayLike,
    logit_paddings: ArrayLike,
    labels: ArrayLike,
    label_paddings: ArrayLike,
    *,
    blank_id: int = 0,
    zero_infinity: bool = False,
) -> tuple[Array, Array, Array]:
    r"""CTC loss per sequence and the forward log-probabilities of its alignments.

    $$
        \log\alpha^{\mathrm{blank}}_t(n) = \log \sum_{\pi_{1:t}:\ \pi_t = \phi,\
        \mathcal{B}(\pi_{1:t}) = y_{1:n}} \prod_{s \le t} p_s(\pi_s), \qquad
        \log\alpha^{\mathrm{label}}_t(n) = \log \sum_{\pi_{1:t}:\ \pi_t = y_{n+1},\
        \mathcal{B}(\pi_{1:t}) = y_{1:n+1}} \prod_{s \le t} p_s(\pi_s)
    $$

    the log-probability that the first $t$ frames, ending on a blank $\phi$ (resp. on
    label $y_{n+1}$), emit the first $n$ (resp. $n + 1$) target labels; padded frames
    repeat the previous frame's values. At the last frame the blank states also hold
    the paths that end on the previous label, $\alpha^{\mathrm{blank}}_T(n) \mathrel{+}=
    \alpha^{\mathrm{label}}_T(n - 1)$, so that ``loss[b] = -logalpha_blank[-1, b,
    len_b]``. This is [`ctc_loss`][jaxloss.ctc_loss]'s forward recursion (renormalized
    every few frames; the shifts are added back, so these are the true log-probabilities,
    not shifted ones).

    Not a registered loss (it returns three arrays and has no ``reduction``); the loss
    it returns is ``ctc_loss(..., reduction="none")``, value and gradient.

    Args:
      logits: ``[..., T, K]`` unnormalized scores (see [`ctc_loss`][jaxloss.ctc_loss]).
      logit_paddings: ``[..., T]`` frame padding flags (``1.0`` = padded).
      labels: ``[..., L]`` integer target classes in ``[0, K)``, right-padded.
      label_paddings: ``[..., L]`` label padding flags (``1.0`` = padding).
      blank_id: the blank class, a Python int in ``[0, K)`` (static).
      zero_infinity: as in [`ctc_loss`][jaxloss.ctc_loss]: ``True`` gives ``0`` instead
        of ``+inf`` for a target no alignment can produce (static).

    Returns:
      ``(loss, logalpha_blank, logalpha_label)``: ``loss`` of shape ``[...]``, one value
      per sequence; ``logalpha_blank`` ``[T, ..., L + 1]`` and ``logalpha_label``
      ``[T, ..., L]``, time-major as in optax. All in the compute dtype (float32 for
      half precision, float64 for float64 logits under x64).

    Raises:
      ValueError: as [`ctc_loss`][jaxloss.ctc_loss]: shapes that do not match, or
        ``blank_id`` outside ``[0, K)``.
      TypeError: as [`ctc_loss`][jaxloss.ctc_loss]: non-integer ``labels``, non-floating
        ``logits``, or ``blank_id`` / ``zero_infinity`` not a Python int / bool.

    Note:
      A state that no alignment reaches is ``-inf`` (optax: about ``log_epsilon = -1e5``
      times the number of impossible steps). States past the target length follow the
      padding labels as given when they are classes in ``[0, K)`` (as optax; the blank
      otherwise): they do not affect the loss or the states of the target. A sequence
      with a label outside ``[0, K)`` inside its target has a NaN loss and NaN
      log-alphas. The log-alphas are differentiable by autodiff through the recursion
      (the loss has [`ctc_loss`][jaxloss.ctc_loss]'s closed-form gradient).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 2, 2))  # 2 frames, classes {blank, a}, uniform
      >>> loss, blank, label = jaxloss.ctc_loss_with_forward_probs(
      ...     logits, jnp.zeros((1, 2)), jnp.array([[1]]), jnp.zeros((1, 1)))
      >>> blank.shape, label.shape
      ((2, 1, 2), (2, 1, 1))
      >>> round(float(loss[0]), 4), round(float(-blank[-1, 0, 1]), 4)
      (0.2877, 0.2877)

    Equivalent to ``optax.losses.ctc_loss_with_forward_probs`` (same arguments, shapes
    and values; optax's ``log_epsilon`` is a true ``-inf`` here, so it has no such
    option, and the loss is that of [`ctc_loss`][jaxloss.ctc_loss]: ``+inf`` rather than
    about ``1e5`` for an infeasible target).
    """
    fn = "ctc_loss_with_forward_probs"
    zero_inf = core.static_bool(fn, "zero_infinity", zero_infinity)
    c = _ctc_inputs(fn, logits, logit_paddings, labels, label_paddings, blank_id, None)
    loss = _ctc_values(c, zero_inf)
    frames, length = c.x.shape[1], c.labels.shape[1]
    m, _, total = _softmax_parts(c.x)
    # The padding labels as given (the target's own states do not depend on them).
    lp_blank, lp_labels = _emissions(c.x, (m + jnp.log(total))[..., 0], c.given, c.blank)
    _, stored, offsets = _forward(
        lp_blank, lp_labels, c.pad, _skips(c.given), c.lens, store=True, offsets=True
    )
    size = _block(frames)
    stored = stored[:, :frames]
    offsets = jnp.repeat(offsets, size, axis=1)[:, :frames]  # each frame's total shift
    blank, label = stored[:, :, 0], stored[:, :, 1, :length]
    if frames:  # the last frame: the paths that end on the previous label, too
        last = blank[:, -1, 1:]
        last = _logaddexp_exact(last, label[:, -1])
        blank = blank.at[:, -1, 1:].set(last)

    def true_log(a: Array) -> Array:
        shifted = (a + offsets[:, :, 1:2]) + offsets[:, :, 0:1]
        out = jnp.where(a > _IMPOSSIBLE, shifted, -jnp.inf)
        out = jnp.where(c.bad[:, None, None], jnp.nan, out)
        out = jnp.moveaxis(out, 1, 0)  # time-major: [T, N, S]
        return out.reshape((frames,) + c.batch + out.shape[2:])

    return loss, true_log(blank), true_log(label)
