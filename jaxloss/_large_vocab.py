"""Large-vocabulary cross-entropy: the output projection fused with the loss.

For a language model with ``N`` tokens and a vocabulary of ``V`` words, the logits
``hidden @ weight`` are an ``[N, V]`` array (8192 tokens x 128k words in float32 is 4 GiB,
and autodiff keeps several arrays of that size alive). The loss here never builds it:

* the forward pass walks over blocks of ``chunk_size`` vocabulary columns, computing one
  ``[N, chunk_size]`` block of logits at a time and folding it into per-token running
  statistics: the running max and sum of exponentials (an online log-sum-exp), the logit
  of the label, and the sum of the logits (for label smoothing; with class weights
  ``w``, the weighted sum ``sum_c w_c x_c``);
* only those ``[N]`` statistics are kept for the backward pass (besides the inputs);
* the backward pass walks over the same blocks again, recomputes each block of logits,
  forms its gradient ``g * (softmax - one_hot - smoothing) (+ z-loss, soft-cap terms)``
  and accumulates ``d_hidden += dlogits @ W_block.T``, writes
  ``d_weight[:, block] = hidden.T @ dlogits`` and ``d_bias[block] = sum(dlogits)``.

Class weights enter as the weight ``w_y`` of each token's label (gathered outside the
fused computation, which differentiates it like any input: its cotangent is the token's
cross-entropy) and, under label smoothing only, as the ``[V]`` vector itself (its
cotangent is written block by block, like ``d_bias``). Without class weights the program
is the unweighted one.

Products run on the inputs' dtype with float32 (or float64) accumulation
(``preferred_element_type``); statistics and block gradients are float32 for half
precision inputs.

A vocabulary size that ``chunk_size`` does not divide is handled by a last, narrower
block (a second, statically shaped step), so the weight is never padded or copied.

With ``axis_name`` the vocabulary is sharded over a mesh axis inside ``jax.shard_map``:
each device holds ``weight[:, shard]`` (and ``bias[shard]``, ``class_weights[shard]``);
the forward pass communicates a ``pmax`` and up to three ``psum`` of ``[N]`` vectors (max,
sum of exponentials, label logit, sum of logits; with class weights a fourth, the label's
weight, and the scalar sum of the weights), the backward pass only the sum of the
``[N, D]`` hidden-state cotangent over the shards (inserted by ``shard_map``'s transpose;
with ``check_vma=False`` also a ``psum`` of the ``[N]`` output cotangent). Logits and
weights are never gathered.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._registry import register

_FN = "linear_softmax_cross_entropy_with_integer_labels"

# Aim for one block of logits (tokens x chunk columns, 4-byte accumulation) of about
# this many bytes; blocks are a multiple of _LANE columns and at least _LANE wide.
_BLOCK_BYTES = 16 * 2**20
_LANE = 128


def default_chunk_size(num_tokens: int, vocab: int) -> int:
    """The vocabulary block used when ``chunk_size=None``.

    About 16 MiB of float32 logits per block (``num_tokens * chunk * 4`` bytes), a
    multiple of 128 columns and at least 128, the whole vocabulary when that is smaller.
    A divisor of ``vocab`` within a factor 2 below that target is preferred, so that no
    remainder block is needed.
    """
    target = _BLOCK_BYTES // max(4 * int(num_tokens), 1)
    chunk = max(_LANE, target // _LANE * _LANE)
    if chunk >= vocab:
        return int(vocab)
    for cand in range(chunk, chunk // 2 - 1, -_LANE):
        if cand > 0 and vocab % cand == 0:
            return cand
    return chunk


# ---------------------------------------------------------------------------
# the fused computation


@dataclasses.dataclass(frozen=True)
class _Config:
    """Static description of one fused call (hashable: a ``nondiff_argnums`` argument)."""

    chunk: int  # columns per block
    num_full: int  # number of full blocks
    remainder: int  # columns of the last, partial block (0: none)
    vocab_total: int  # number of classes over all shards
    axis_name: Any  # vocabulary mesh axis, or None
    acc: Any  # accumulation / statistics dtype (numpy dtype)
    mm: Any  # operand dtype of the products (numpy dtype)
    smoothing: bool  # label smoothing present
    zloss: bool  # z-loss present
    cap: bool  # soft cap present
    cap_grad: bool  # the soft cap is traced: compute its cotangent
    typed: bool  # inside shard_map(check_vma=True), where the weight varies over axis_name
    weighted: bool = False  # class weights: the label's weight w_y scales its term
    smooth_weights: bool = False  # class weights under label smoothing: sum_c w_c x_c


def _dot(a: Array, b: Array, contract: tuple[int, int], acc) -> Array:
    dims = (((contract[0],), (contract[1],)), ((), ()))
    return lax.dot_general(a, b, dims, preferred_element_type=acc)


def _block_logits(cfg: _Config, h, w, b, start, width, cap):
    """One vocabulary block: ``(logits, tanh or None, raw logits, weight block)``.

    A traced ``start`` (inside the loop) passes through an optimization barrier together
    with ``weight``: XLA's CPU backend slices half-precision arrays by converting the whole
    operand to float32, and without the barrier it hoists that conversion of the full
    ``[D, V]`` weight out of the loop (a float32 copy of the weight).
    """
    if not isinstance(start, int):
        w, start = lax.optimization_barrier((w, start))
    w_c = lax.dynamic_slice_in_dim(w, start, width, axis=1).astype(cfg.mm)
    z = _dot(h, w_c, (1, 0), cfg.acc)
    if b is not None:
        z = z + lax.dynamic_slice_in_dim(b, start, width).astype(cfg.acc)[None, :]
    if not cfg.cap:
        return z, None, z, w_c
    t = jnp.tanh(z / cap)
    return cap * t, t, z, w_c


def _label_offset(cfg: _Config, vocab_local: int):
    if cfg.axis_name is None:
        return 0
    return lax.axis_index(cfg.axis_name) * vocab_local


def _blocks(cfg: _Config, body, init):
    """Runs ``body(start, width, carry)`` over the full blocks and the remainder block."""
    carry = init
    if cfg.num_full == 1:
        carry = body(0, cfg.chunk, carry)
    elif cfg.num_full > 1:
        carry = lax.fori_loop(
            0, cfg.num_full, lambda i, c: body(i * cfg.chunk, cfg.chunk, c), carry
        )
    if cfg.remainder:
        carry = body(cfg.num_full * cfg.chunk, cfg.remainder, carry)
    return carry


def _forward(cfg: _Config, h, w, b, labels, ls, zc, cap, wy, cw):
    n = h.shape[0]
    vocab_local = w.shape[1]
    local = labels - _label_offset(cfg, vocab_local)
    acc = cfg.acc

    def body(start, width, carry):
        m, s, picked, total = carry
        logits, _, _, _ = _block_logits(cfg, h, w, b, start, width, cap)
        m_new = jnp.maximum(m, jnp.max(logits, axis=1))
        shift = jnp.where(jnp.isfinite(m_new), m_new, 0)
        s = s * jnp.exp(m - shift) + jnp.sum(jnp.exp(logits - shift[:, None]), axis=1)
        pos = local - start
        inside = (pos >= 0) & (pos < width)
        col = jnp.clip(pos, 0, width - 1)[:, None]
        hit = jnp.take_along_axis(logits, col, axis=1)[:, 0]
        picked = picked + jnp.where(inside, hit, 0)
        if cfg.smooth_weights:  # sum_c w_c x_c
            w_c = lax.dynamic_slice_in_dim(cw, start, width)
            total = total + jnp.sum(logits * w_c[None, :], axis=1)
        elif cfg.smoothing:
            total = total + jnp.sum(logits, axis=1)
        return m_new, s, picked, total

    zeros = jnp.zeros((n,), acc)
    init = (jnp.full((n,), -jnp.inf, acc), zeros, zeros, zeros)
    init = _varying(init, _vma(h, w, b, labels, ls, zc, cap, wy, cw))
    m, s, picked, total = _blocks(cfg, body, init)
    weight_sum = None  # W = sum_c w_c, over every shard
    if cfg.smooth_weights:
        weight_sum = jnp.sum(cw)

    if cfg.axis_name is not None:
        m_all = lax.pmax(m, cfg.axis_name)
        shift = jnp.where(jnp.isfinite(m_all), m_all, 0)
        s = lax.psum(s * jnp.exp(m - shift), cfg.axis_name)
        picked = lax.psum(picked, cfg.axis_name)
        if cfg.smoothing:
            total = lax.psum(total, cfg.axis_name)
        if weight_sum is not None:
            weight_sum = lax.psum(weight_sum, cfg.axis_name)
        m = m_all

    ok = jnp.isfinite(m)
    m = jnp.where(ok, m, 0)
    log_s = jnp.log(jnp.where(ok, s, 1))
    lse = m + log_s
    # Written relative to the max so that large logits lose no precision:
    # lse - (1 - a) x_y - a mean(x) + z lse^2.
    if cfg.weighted:
        # (1 - a) w_y (lse - x_y) + (a / V) sum_c w_c (lse - x_c) + z lse^2
        a_y = wy if not cfg.smoothing else (1 - ls) * wy
        loss = a_y * (log_s + (m - picked))
        if cfg.smoothing:
            assert weight_sum is not None  # smooth_weights: computed above
            u = ls / cfg.vocab_total
            loss = loss + u * (weight_sum * log_s + (weight_sum * m - total))
    elif cfg.smoothing:
        loss = log_s + (1 - ls) * (m - picked) + ls * (m - total / cfg.vocab_total)
    else:
        loss = log_s + (m - picked)
    if cfg.zloss:
        loss = loss + zc * jnp.square(lse)
    loss = jnp.where(ok, loss, 0)
    return loss, (lse, ok, picked, total, weight_sum)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _fused(cfg: _Config, h, w, b, labels, ls, zc, cap, wy, cw):
    return _forward(cfg, h, w, b, labels, ls, zc, cap, wy, cw)[0]


def _fused_fwd(cfg: _Config, h, w, b, labels, ls, zc, cap, wy, cw):
    loss, stats = _forward(cfg, h, w, b, labels, ls, zc, cap, wy, cw)
    return loss, (h, w, b, labels, ls, zc, cap, wy, cw, stats)


def _fused_bwd(cfg: _Config, res, g):
    h, w, b, labels, ls, zc, cap, wy, cw, (lse, ok, picked, total, weight_sum) = res
    acc = cfg.acc
    g = jnp.where(ok, g.astype(acc), 0)
    g_rows = g
    if cfg.axis_name is not None and not cfg.typed:
        # shard_map(check_vma=False) splits the cotangent of a replicated output across
        # the devices (and sums the cotangents of replicated inputs): the transpose of
        # the forward psums is a psum of the cotangent.
        g = lax.psum(g, cfg.axis_name)
    # dloss/dlogit_j = (1 + 2 z lse) p_j - (1 - a) [j = y] - a / V; with class weights
    # (w_y (1 - a) + a W / V + 2 z lse) p_j - (1 - a) w_y [j = y] - (a / V) w_j.
    coef_y = g if not cfg.smoothing else g * (1 - ls)
    if cfg.weighted:
        coef_y = coef_y * wy
        coef_p = coef_y
        if cfg.smoothing:
            coef_p = coef_p + g * (ls * weight_sum / cfg.vocab_total)
        if cfg.zloss:
            coef_p = coef_p + g * (2 * zc * lse)
    else:
        coef_p = g if not cfg.zloss else g * (1 + 2 * zc * lse)
    coef_u = None if not cfg.smoothing else g * (ls / cfg.vocab_total)
    args = (h, w, b, labels, zc, cap, lse, coef_p, coef_y, coef_u, cw)
    if jnp.dtype(w.dtype).itemsize == 2 or (b is not None and jnp.dtype(b.dtype).itemsize == 2):
        # Half-precision gradient buffers are written through a uint16 view on the CPU,
        # whose backend would otherwise convert the whole buffer to float32 and back at
        # every block; elsewhere they are written directly.
        dh, dw, db, dcap, d_cw = lax.platform_dependent(
            *args,
            cpu=functools.partial(_backward_blocks, cfg, True),
            default=functools.partial(_backward_blocks, cfg, False),
        )
    else:
        dh, dw, db, dcap, d_cw = _backward_blocks(cfg, False, *args)

    d_ls = d_z = d_cap = d_wy = None
    if cfg.weighted:
        # the cross-entropy of the label, lse - x_y, which w_y (1 - a) multiplies
        ce = lse - picked
        d_wy = g_rows * ce if not cfg.smoothing else g_rows * ((1 - ls) * ce)
    if cfg.smoothing:
        if cfg.weighted:
            # -w_y (lse - x_y) + (W lse - sum_c w_c x_c) / V
            smooth = (weight_sum * lse - total) / cfg.vocab_total
            d_ls = jnp.sum(g_rows * (smooth - wy * ce)).astype(ls.dtype)
        else:
            d_ls = jnp.sum(g_rows * (picked - total / cfg.vocab_total)).astype(ls.dtype)
    if cfg.zloss:
        d_z = jnp.sum(g_rows * jnp.square(lse)).astype(zc.dtype)
    if cfg.cap:
        d_cap = dcap.astype(cap.dtype) if cfg.cap_grad else jnp.zeros_like(cap)
    cts = (dh, dw, db, d_ls, d_z, d_cap, d_wy, d_cw)
    primals = (h, w, b, ls, zc, cap, wy, cw)
    dh, dw, db, d_ls, d_z, d_cap, d_wy, d_cw = (_like(ct, x) for ct, x in zip(cts, primals))
    return dh, dw, db, None, d_ls, d_z, d_cap, d_wy, d_cw


def _as_bits(x: Array, bits: bool) -> Array:
    if bits and jnp.dtype(x.dtype).itemsize == 2:
        return lax.bitcast_convert_type(x, jnp.uint16)
    return x


def _from_bits(x: Array, dtype, bits: bool) -> Array:
    return lax.bitcast_convert_type(x, dtype) if bits and x.dtype != dtype else x


def _backward_blocks(
    cfg: _Config, bits: bool, h, w, b, labels, zc, cap, lse, coef_p, coef_y, coef_u, cw
):
    """The backward walk over the vocabulary blocks: ``(d_hidden, d_weight, d_bias, d_cap,
    d_class_weights)`` (the last ``None`` unless class weights enter the smoothing term).

    With ``bits``, the half-precision gradient buffers are uint16 views (see _fused_bwd).
    """
    acc = cfg.acc
    n, d = h.shape
    vocab_local = w.shape[1]
    local = labels - _label_offset(cfg, vocab_local)

    def body(start, width, carry):
        dh, dw, db, dcap, dcw = carry
        logits, t, z, w_c = _block_logits(cfg, h, w, b, start, width, cap)
        log_p = logits - lse[:, None]
        p = jnp.exp(log_p)
        pos = (local - start)[:, None]
        onehot = lax.broadcasted_iota(jnp.int32, (n, width), 1) == pos
        dl = coef_p[:, None] * p - jnp.where(onehot, coef_y[:, None], 0)
        if cfg.smooth_weights:
            cw_c = lax.dynamic_slice_in_dim(cw, start, width)
            dl = dl - coef_u[:, None] * cw_c[None, :]
            # d/dw_c of (a / V) sum_c w_c (lse - x_c): the block's columns
            dcw_c = -jnp.sum(coef_u[:, None] * log_p, axis=0)
            dcw = lax.dynamic_update_slice_in_dim(dcw, dcw_c, start, axis=0)
        elif coef_u is not None:
            dl = dl - coef_u[:, None]
        if cfg.cap:
            if cfg.cap_grad:
                dcap = dcap + jnp.sum(dl * (t - (z / cap) * (1 - t * t)))
            dl = dl * (1 - t * t)
        dl_mm = dl.astype(cfg.mm)
        dh = dh + _dot(dl_mm, w_c, (1, 1), acc)
        dw_c = _as_bits(_dot(h, dl_mm, (0, 0), acc).astype(w.dtype), bits)
        dw = lax.dynamic_update_slice_in_dim(dw, dw_c, start, axis=1)
        if db is not None:
            db_c = _as_bits(jnp.sum(dl, axis=0).astype(b.dtype), bits)
            db = lax.dynamic_update_slice_in_dim(db, db_c, start, axis=0)
        return dh, dw, db, dcap, dcw

    init = (
        jnp.zeros((n, d), acc),
        _as_bits(jnp.zeros(w.shape, w.dtype), bits),
        None if b is None else _as_bits(jnp.zeros(b.shape, b.dtype), bits),
        jnp.zeros((), acc),
        jnp.zeros(cw.shape, acc) if cfg.smooth_weights else None,
    )
    init = _varying(init, _vma(h, w, b, labels, zc, cap, lse, coef_p, coef_y, cw))
    dh, dw, db, dcap, dcw = _blocks(cfg, body, init)
    dw = _from_bits(dw, w.dtype, bits)
    db = None if b is None else _from_bits(db, b.dtype, bits)
    return dh.astype(h.dtype), dw, db, dcap, dcw


_fused.defvjp(_fused_fwd, _fused_bwd)

# Eager calls go through a jit with a static config: otherwise every call traces the
# block loop's fresh closures again. Traced calls (under jit, grad, vmap, checkify) use
# _fused itself: there the jit would add nothing, and checkify cannot linearize a jit
# around a custom_vjp (jax 0.10: "foreach() argument 2 is shorter than argument 1").
_fused_jit = jax.jit(_fused, static_argnums=0)


def _fused_call(cfg: _Config, *operands):
    return (_fused if core.is_traced(operands) else _fused_jit)(cfg, *operands)


def _vma(*xs) -> frozenset:
    """The mesh axes over which any of ``xs`` varies (empty outside ``shard_map``)."""
    out: frozenset = frozenset()
    for x in xs:
        if x is None:
            continue
        aval = jax.typeof(x)
        mat = getattr(aval, "mat", None)  # jax >= 0.10: the manual axis type
        out |= frozenset(mat.varying) if mat is not None else frozenset(getattr(aval, "vma", ()))
    return out


def _varying(tree, axes: frozenset):
    """Marks every array of ``tree`` as varying over the mesh axes ``axes``.

    Inside a type-checked ``shard_map`` (``check_vma=True``, the default), loop carries
    that start as constants but accumulate per-device values must be typed "varying"
    from the start. The hidden states are the same on every vocabulary shard, but each
    shard computes only its part of their cotangent: casting them to "varying" before the
    fused call makes the cast's transpose sum those parts across the axis, once.
    """
    if not axes:
        return tree

    def cast(x):
        missing = tuple(sorted(axes - _vma(x), key=str))
        return lax.pcast(x, missing, to="varying") if missing else x

    return jax.tree_util.tree_map(cast, tree)


def _like(ct, primal):
    """A cotangent summed over the mesh axes over which it varies but its primal does not.

    The forward pass combined ``primal`` with values varying over those axes (an implicit
    ``pcast`` to varying), whose transpose is this sum; e.g. the weight gradient over a
    data-parallel axis of the tokens. Nothing to do outside a type-checked shard_map.
    """
    if ct is None or primal is None:
        return ct
    extra = tuple(sorted(_vma(ct) - _vma(primal), key=str))
    return lax.psum(ct, extra) if extra else ct


# ---------------------------------------------------------------------------
# public function


@register(
    family="large_vocab",
    inputs="hidden+weight",
    optax=None,
    torch="torch.nn.functional.linear_cross_entropy",
    keras=None,
    notes={
        "torch": (
            "`input, linear_weight, target` are `hidden, weight.T, labels` (jaxloss's weight is "
            "`[D, V]`, a Flax Dense kernel); `linear_bias` is `bias`, `weight` is "
            "`class_weights`, with the same `'mean'` (divided by the summed class weights of the "
            "counted tokens). In a PyTorch without `linear_cross_entropy` (it is in 2.13), its "
            "reference form `F.cross_entropy(F.linear(hidden, weight.T, bias), labels, "
            "weight=class_weights)`."
        ),
    },
    ranges={
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
        "z_loss": Range(low=0.0),
        "logit_soft_cap": Range(low=0.0, low_open=True),
    },
)
def linear_softmax_cross_entropy_with_integer_labels(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float | Array = 0.0,
    class_weights: ArrayLike | None = None,
    z_loss: float | Array = 0.0,
    logit_soft_cap: float | Array | None = None,
    chunk_size: int | None = None,
    axis_name: str | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Integer-label softmax cross-entropy of a linear layer, without the logits array.

    $$
        x = \mathrm{cap}(h W + b), \qquad
        \ell = (1 - \alpha)\, w_y \bigl(\mathrm{lse}(x) - x_y\bigr)
               + \frac{\alpha}{V} \sum_c w_c \bigl(\mathrm{lse}(x) - x_c\bigr)
               + \lambda_z\, \mathrm{lse}(x)^2
    $$

    with $\mathrm{cap}(x) = c \tanh(x / c)$ when ``logit_soft_cap`` is $c$
    (Gemma 2) and the identity otherwise, and class weights $w_c = 1$ unless
    ``class_weights`` are given. The value and the gradients with respect to
    ``hidden``, ``weight``, ``bias`` and ``class_weights`` are those of materializing the
    logits and calling [`jaxloss.softmax_cross_entropy_with_integer_labels`][], but no
    ``[tokens, V]`` array exists in the forward or the backward pass: both walk over blocks of
    ``chunk_size`` vocabulary columns (a custom VJP that keeps only per-token statistics
    and recomputes each block of logits in the backward pass).

    Args:
      hidden: ``[..., D]`` final hidden states, floating.
      weight: ``[D, V]`` output projection (a Flax ``Dense`` kernel; pass
        ``embedding.T`` for tied embeddings). With ``axis_name``, this device's
        ``[D, V / n]`` vocabulary shard.
      labels: ``[...]`` integer token ids in ``[0, V)`` (global ids with ``axis_name``).
      bias: optional ``[V]`` bias (this device's shard with ``axis_name``).
      ignore_index: a label value whose tokens are excluded (they give 0 and do not count
        in the mean), e.g. ``-100`` for padding.
      label_smoothing: $\alpha \in [0, 1)$, PyTorch's definition.
      class_weights: optional ``[V]`` per-class weights $w_c$ (this device's ``[V / n]``
        shard with ``axis_name``, like ``bias``), PyTorch's ``weight``: each token's loss
        is weighted by the weight of its label (and the smoothing term by the weight of
        each class), and ``"mean"`` divides by the summed weights $w_y$ of the counted
        tokens (times their ``weights``; ignored and masked tokens excluded), as
        PyTorch does. Differentiable.
      z_loss: $\lambda_z \ge 0$, the coefficient of the squared log-partition (not
        weighted by ``class_weights``).
      logit_soft_cap: $c > 0$ or ``None``; the logits become $c \tanh(x/c)$.
      chunk_size: vocabulary columns per block (static). ``None`` picks about 16 MiB of
        float32 logits per block (``tokens * chunk_size * 4`` bytes), a multiple of 128
        columns, preferring a divisor of ``V``. A size that does not divide ``V`` is
        fine: the last block is narrower.
      axis_name: the mesh axis over which the vocabulary is sharded, inside
        ``jax.shard_map`` (static). ``hidden`` and ``labels`` must be the same on every
        device of that axis (a ``PartitionSpec`` without that axis; the tokens may be
        sharded over other axes). Works with ``check_vma`` on (the default) and off.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: boolean mask over tokens, broadcastable to ``labels.shape``.
      weights: per-token weights, broadcastable to ``labels.shape``.

    Returns:
      A scalar, or ``labels.shape`` for ``"none"``; float32 for half-precision inputs
      (float64 for float64 inputs). Gradients come back in the dtypes of ``hidden``,
      ``weight``, ``bias`` and ``class_weights``.

    Raises:
      TypeError: if ``hidden``, ``weight`` or ``bias`` is not floating, if ``labels`` is not an
        integer array (class indices), if ``ignore_index`` is not an int or ``None``, if
        ``chunk_size`` is not an int or ``None``, if ``label_smoothing``, ``z_loss`` or
        ``logit_soft_cap`` is not a real number, if ``class_weights`` is complex, if ``axis_name``
        is not hashable, or if ``where`` is not boolean.
      ValueError: if ``hidden`` is a scalar, if ``weight`` is not a ``[D, V]`` matrix with ``V >=
        1`` and the ``D`` of ``hidden``, if ``labels`` does not have the shape of ``hidden`` without
        its last axis, if ``bias`` or ``class_weights`` does not have shape ``(V,)``, if
        ``chunk_size`` is below 1, if a
        concrete ``label_smoothing`` is not in ``[0, 1)``, ``z_loss`` is negative or
        ``logit_soft_cap`` is not positive, if ``where`` or ``weights`` is not broadcastable to the
        per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.
      NameError: if ``axis_name`` is not a bound mesh axis (outside ``shard_map``).

    Note:
      A label outside ``[0, V)`` that is not ``ignore_index`` gives NaN for its token
      ([`jaxloss.checked`][jaxloss.checked] turns it into an error). Masked and ignored tokens get
      exactly zero gradient, also when their hidden states are inf/NaN. A token whose
      logits have no finite maximum gives 0 with zero gradient. Products use the
      inputs' dtype with float32 accumulation, so bfloat16 inputs give float32 logits
      (more accurate than materializing bfloat16 logits). Gradients with respect to
      ``label_smoothing``, ``z_loss`` and a traced ``logit_soft_cap`` are computed too.
      With ``class_weights``, a ``"mean"`` whose counted tokens all have class weight 0
      is 0 with zero gradient (PyTorch: NaN from 0/0).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> hidden = jnp.array([[1.0, 0.0], [0.5, -1.0]])
      >>> weight = jnp.array([[2.0, 1.0, 0.1], [0.0, -1.0, 2.0]])
      >>> loss = jaxloss.linear_softmax_cross_entropy_with_integer_labels(
      ...     hidden, weight, jnp.array([0, 1]), chunk_size=2)
      >>> round(float(loss), 4)
      0.4553
      >>> loss = jaxloss.linear_softmax_cross_entropy_with_integer_labels(
      ...     hidden, weight, jnp.array([0, 1]), class_weights=jnp.array([1.0, 3.0, 1.0]))
      >>> round(float(loss), 4)
      0.4745

    Equivalent to ``jaxloss.softmax_cross_entropy_with_integer_labels(cap(hidden @ weight
    + bias), labels)`` (with the same ``ignore_index``, ``label_smoothing``,
    ``class_weights`` and ``z_loss``) and to ``torch.nn.functional.linear_cross_entropy(hidden,
    weight.T, labels, linear_bias=bias, weight=class_weights)`` (in PyTorch 2.13; its
    reference form is ``F.cross_entropy(F.linear(hidden, weight.T, bias), labels,
    weight=class_weights)``), with the same ``ignore_index``, ``label_smoothing`` and
    weighted ``"mean"``; the fused linear cross-entropy of Liger Kernel and Apple's Cut
    Cross-Entropy compute the same loss.
    """
    fn = _FN
    h = core.as_logits(fn, "hidden", hidden)
    w = core.as_logits(fn, "weight", weight)
    labels = core.as_labels(fn, "labels", labels)
    b = None if bias is None else core.as_logits(fn, "bias", bias)
    if h.ndim < 1:
        raise ValueError(f"{fn}: argument 'hidden' must have shape [..., D], got a scalar")
    if w.ndim != 2:
        raise ValueError(
            f"{fn}: argument 'weight' must have shape [D, V], got weight.shape={tuple(w.shape)}"
        )
    if h.shape[-1] != w.shape[0]:
        raise ValueError(
            f"{fn}: arguments 'hidden' and 'weight' must agree on D (hidden [..., D], weight "
            f"[D, V]), got hidden.shape={tuple(h.shape)} and weight.shape={tuple(w.shape)}"
        )
    if labels.shape != h.shape[:-1]:
        raise ValueError(
            f"{fn}: argument 'labels' must have the shape of 'hidden' without its last axis, "
            f"got hidden.shape={tuple(h.shape)} and labels.shape={tuple(labels.shape)}"
        )
    vocab_local = int(w.shape[1])
    if vocab_local == 0:
        raise ValueError(
            f"{fn}: argument 'weight' must have at least one column, got shape {tuple(w.shape)}"
        )
    if b is not None and b.shape != (vocab_local,):
        raise ValueError(
            f"{fn}: argument 'bias' must have shape ({vocab_local},) (one entry per column of "
            f"'weight'), got bias.shape={tuple(b.shape)}"
        )
    ignore_index = core.ignore_index_option(fn, ignore_index)
    if chunk_size is not None:
        if not isinstance(chunk_size, int | np.integer) or isinstance(chunk_size, bool):
            raise TypeError(
                f"{fn}: argument 'chunk_size' must be a Python int or None, got "
                f"{type(chunk_size).__name__}"
            )
        if chunk_size < 1:
            raise ValueError(f"{fn}: argument 'chunk_size' must be >= 1, got {chunk_size}")
    if axis_name is not None:
        try:
            hash(axis_name)
        except TypeError:
            raise TypeError(
                f"{fn}: argument 'axis_name' must be a mesh axis name (a str), "
                f"got {type(axis_name).__name__}"
            ) from None
    core.check_reduction(fn, reduction)

    acc = core.compute_dtype(h, w, b)
    mm = jnp.result_type(h.dtype, w.dtype)
    batch_shape = labels.shape
    mask = core.example_mask(fn, where, batch_shape)
    cw = core.class_weights(fn, class_weights, vocab_local, acc)

    ls = core.optional_hyperparameter(fn, "label_smoothing", label_smoothing, acc, unless=0.0)
    zc = core.optional_hyperparameter(fn, "z_loss", z_loss, acc, unless=0.0)
    cap = None
    if logit_soft_cap is not None:
        cap = core.hyperparameter(fn, "logit_soft_cap", logit_soft_cap, acc)

    vocab_total = vocab_local
    if axis_name is not None:
        vocab_total = vocab_local * int(lax.axis_size(axis_name))

    in_range = (labels >= 0) & (labels < vocab_total)
    ignored = None if ignore_index is None else labels == ignore_index
    valid = in_range if ignored is None else in_range | ignored
    core.check_labels(fn, valid, labels, vocab_total, mask)
    keep = mask
    if ignored is not None:
        keep = ~ignored if keep is None else keep & ~ignored

    n = core.prod(batch_shape)
    h2 = h.reshape((n, h.shape[-1]))
    if keep is not None:
        # Inner half of the double where: excluded tokens get finite (zero) hidden states.
        h2 = jnp.where(keep.reshape((n, 1)), h2, jnp.zeros((), h2.dtype))
    h2 = h2.astype(mm)
    labels2 = labels.reshape((n,)).astype(jnp.int32)
    wy = None  # the class weight of each token's label
    if cw is not None:
        if axis_name is None:
            wy = cw[jnp.where(in_range.reshape((n,)), labels2, 0)]
        else:  # the label's weight lives on one shard
            local = labels2 - lax.axis_index(axis_name) * vocab_local
            here = (local >= 0) & (local < vocab_local)
            wy = lax.psum(jnp.where(here, cw[jnp.clip(local, 0, vocab_local - 1)], 0), axis_name)

    chunk = default_chunk_size(n, vocab_local) if chunk_size is None else int(chunk_size)
    chunk = min(chunk, vocab_local)
    cfg = _Config(
        chunk=chunk,
        num_full=vocab_local // chunk,
        remainder=vocab_local % chunk,
        vocab_total=vocab_total,
        axis_name=axis_name,
        acc=np.dtype(acc),
        mm=np.dtype(mm),
        smoothing=ls is not None,
        zloss=zc is not None,
        cap=cap is not None,
        cap_grad=cap is not None and not core.is_concrete(logit_soft_cap),
        typed=axis_name is not None and axis_name in _vma(w),
        weighted=cw is not None,
        smooth_weights=cw is not None and ls is not None,
    )
    if cfg.typed:
        h2 = _varying(h2, frozenset((axis_name,)))
    cw_in = cw if cfg.smooth_weights else None  # otherwise only w_y enters
    per_token = _fused_call(cfg, h2, w, b, labels2, ls, zc, cap, wy, cw_in)
    per_token = per_token.reshape(batch_shape)
    per_token = jnp.where(in_range | ~valid, per_token, 0)
    per_token = jnp.where(valid, per_token, jnp.nan)
    norm = None if wy is None else wy.reshape(batch_shape)
    return core.finish(fn, per_token, reduction, keep, weights, norm=norm)
