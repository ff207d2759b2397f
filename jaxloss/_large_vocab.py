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

# One block of logits (tokens x chunk columns, 4-byte accumulation) is about this many
# bytes, by platform; blocks are a multiple of _LANE columns and at least _LANE wide. The
# CPU figure is measured (benchmarks/bench_llm_losses.py --chunks: on 2 cores,
# value_and_grad of the fused cross-entropy and log-probabilities is flat from 4 to 8 MiB
# blocks and slower both below, where the loop's overhead shows, and above, where a block
# leaves the cache: at N=1024, D=128, V=8192, 23 ms at 8 MiB against 32 ms at 16 MiB).
# The GPU figure keeps the earlier 16 MiB, which no device has measured yet.
_BLOCK_BYTES = {"cpu": 8 * 2**20}
_BLOCK_BYTES_DEFAULT = 16 * 2**20
_LANE = 128


def default_chunk_size(num_tokens: int, vocab: int, platform: str | None = None) -> int:
    """The vocabulary block of the fused large-vocabulary functions when ``chunk_size=None``.

    About 8 MiB of float32 logits per block (``num_tokens * chunk * 4`` bytes) on the
    CPU and 16 MiB on other platforms (``platform``, default ``jax.default_backend()``),
    a multiple of 128 columns and at least 128, the whole vocabulary when that is
    smaller. A divisor of ``vocab`` within a factor 2 below that target is preferred, so
    that no remainder block is needed. The two-model divergences count the tokens of both
    models (``2 * N``).

    Examples:
      >>> import jaxloss
      >>> jaxloss.default_chunk_size(8192, 131072, platform="cpu")
      256
      >>> jaxloss.default_chunk_size(8192, 131072, platform="gpu")
      512
      >>> jaxloss.default_chunk_size(64, 1000, platform="cpu")
      1000
    """
    if platform is None:
        platform = jax.default_backend()
    block = _BLOCK_BYTES.get(platform, _BLOCK_BYTES_DEFAULT)
    target = block // max(4 * int(num_tokens), 1)
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


def _project(h, w, b, start, width, mm, acc):
    """``(h @ w[:, block] + b[block], w[:, block])`` for the block of ``width`` columns at
    ``start``, the product in ``mm`` with ``acc`` accumulation.

    A traced ``start`` (inside the loop) passes through an optimization barrier together
    with ``weight``: XLA's CPU backend slices half-precision arrays by converting the whole
    operand to float32, and without the barrier it hoists that conversion of the full
    ``[D, V]`` weight out of the loop (a float32 copy of the weight).
    """
    if not isinstance(start, int):
        w, start = lax.optimization_barrier((w, start))
    w_c = lax.dynamic_slice_in_dim(w, start, width, axis=1).astype(mm)
    z = _dot(h, w_c, (1, 0), acc)
    if b is not None:
        z = z + lax.dynamic_slice_in_dim(b, start, width).astype(acc)[None, :]
    return z, w_c


def _block_logits(cfg: _Config | _Stream, h, w, b, start, width, cap):
    """One vocabulary block: ``(logits, tanh or None, raw logits, weight block)``."""
    z, w_c = _project(h, w, b, start, width, cfg.mm, cfg.acc)
    if not cfg.cap:
        return z, None, z, w_c
    t = jnp.tanh(z / cap)
    return cap * t, t, z, w_c


def _label_offset(cfg: _Config | _Stream, vocab_local: int):
    if cfg.axis_name is None:
        return 0
    return lax.axis_index(cfg.axis_name) * vocab_local


def _blocks(cfg: _Config | _Stream, body, init):
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
      chunk_size: vocabulary columns per block (static). ``None`` picks it with
        [`jaxloss.default_chunk_size`][] (about 8 MiB of float32 logits per block on the
        CPU, 16 MiB elsewhere, a multiple of 128 columns, preferring a divisor of
        ``V``). A size that does not divide ``V`` is fine: the last block is narrower.
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
      Forward-mode differentiation (``jax.jvp``, ``jax.jacfwd``) is not available: the
      function is a ``jax.custom_vjp``; reverse mode, ``jax.jit``, ``jax.vmap`` and
      ``shard_map`` work. A label outside ``[0, V)`` that is not ``ignore_index`` gives
      NaN for its token ([`jaxloss.checked`][jaxloss.checked] turns it into an error).
      Masked and ignored tokens get exactly zero gradient, also when their hidden
      states are inf/NaN. A token whose logits have no finite maximum gives 0 with zero
      gradient. Products use the
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
    h, w, b = _head_inputs(fn, hidden, weight, bias, ("hidden", "weight", "bias"))
    labels = _token_labels(fn, h, labels)
    vocab_local = int(w.shape[1])
    ignore_index = core.ignore_index_option(fn, ignore_index)
    _static_options(fn, chunk_size, axis_name)
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

    vocab_total = _vocab_total(vocab_local, axis_name)
    in_range, valid, keep = _label_validity(fn, labels, ignore_index, vocab_total, mask)

    h2 = _tokens(h, keep, mm)
    n = h2.shape[0]
    labels2 = labels.reshape((n,)).astype(jnp.int32)
    wy = None  # the class weight of each token's label
    if cw is not None:
        if axis_name is None:
            wy = cw[jnp.where(in_range.reshape((n,)), labels2, 0)]
        else:  # the label's weight lives on one shard
            local = labels2 - lax.axis_index(axis_name) * vocab_local
            here = (local >= 0) & (local < vocab_local)
            wy = lax.psum(jnp.where(here, cw[jnp.clip(local, 0, vocab_local - 1)], 0), axis_name)

    cfg = _Config(
        **_blocking(chunk_size, n, vocab_local),
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


# ---------------------------------------------------------------------------
# the streamed core of the per-token log-probabilities and the distillation divergences
#
# Same walk as the cross-entropy above: blocks of vocabulary columns, per-token running
# statistics in the forward pass, the blocks recomputed in the backward pass. One or two
# heads (hidden states and weight): the model's for `linear_log_probs`, the student's and
# the teacher's for the divergences. The logits of a head are ``cap(h W + b) / T``.


@dataclasses.dataclass(frozen=True)
class _Stream:
    """Static description of one streamed call (a ``nondiff_argnums`` argument)."""

    kind: str  # "log_probs", or the divergence: "forward", "reverse" or "jsd"
    chunk: int
    num_full: int
    remainder: int
    axis_name: Any
    acc: Any  # accumulation / statistics dtype
    mm: Any  # operand dtype of the (student's) products
    mm_t: Any = None  # operand dtype of the teacher's products
    cap: bool = False  # logit soft cap (log_probs)
    cap_grad: bool = False
    temp: bool = False  # a temperature other than a concrete 1
    temp_grad: bool = False
    entropy: bool = False  # log_probs: also the entropy of each token's distribution
    teacher_grad: bool = False  # divergences: cotangents for the teacher too
    beta_traced: bool = False  # jsd: beta is traced (the endpoints are chosen at run time)
    typed: bool = False  # inside shard_map(check_vma=True)


def _times(p: Array, x: Array) -> Array:
    """``p * x`` with 0 where ``p`` is 0 (so ``x = -inf`` there gives 0, not NaN)."""
    return jnp.where(p > 0, p * x, 0)


def _lse_step(m: Array, s: Array, z: Array):
    """Folds a block ``z`` into the running max ``m`` and sum of exponentials ``s``.

    Returns ``(m, s, e, scale)``: ``e = exp(z - m_new)`` and ``scale = exp(m_old -
    m_new)``, which rescales any other running sum weighted by ``e``.
    """
    m_new = jnp.maximum(m, jnp.max(z, axis=1))
    shift = jnp.where(jnp.isfinite(m_new), m_new, 0)
    scale = jnp.exp(m - shift)
    e = jnp.exp(z - shift[:, None])
    return m_new, s * scale + jnp.sum(e, axis=1), e, scale


def _combine(cfg: _Stream, m: Array, sums: tuple):
    """The max over the vocabulary shards and the running sums rescaled to it, summed."""
    if cfg.axis_name is None:
        return m, sums
    m_all = lax.pmax(m, cfg.axis_name)
    shift = jnp.where(jnp.isfinite(m_all), m_all, 0)
    local = jnp.where(jnp.isfinite(m), m, 0)
    scale = jnp.where(jnp.isfinite(m), jnp.exp(local - shift), 0)
    return m_all, tuple(lax.psum(x * scale, cfg.axis_name) for x in sums)


def _log_normalizer(m: Array, s: Array):
    """``(log-sum-exp, ok)`` from the max and the sum of exponentials relative to it."""
    ok = jnp.isfinite(m)
    return jnp.where(ok, m, 0) + jnp.log(jnp.where(ok, s, 1)), ok


def _scaled(cfg: _Stream, x: Array, temp) -> Array:
    return x / temp if cfg.temp else x


def _grad_buffers(cfg: _Stream, bits: bool, h, w, b):
    """Zero ``(d_hidden, d_weight, d_bias)`` for one head (``d_bias`` None without bias)."""
    return (
        jnp.zeros(h.shape, cfg.acc),
        _as_bits(jnp.zeros(w.shape, w.dtype), bits),
        None if b is None else _as_bits(jnp.zeros(b.shape, b.dtype), bits),
    )


def _write_block(cfg: _Stream, bits: bool, mm, h, w, b, w_c, dx, start, bufs):
    """Adds a block's logit cotangent ``dx`` to one head's gradient buffers."""
    dh, dw, db = bufs
    dx_mm = dx.astype(mm)
    dh = dh + _dot(dx_mm, w_c, (1, 1), cfg.acc)
    dw_c = _as_bits(_dot(h, dx_mm, (0, 0), cfg.acc).astype(w.dtype), bits)
    dw = lax.dynamic_update_slice_in_dim(dw, dw_c, start, axis=1)
    if db is not None:
        db_c = _as_bits(jnp.sum(dx, axis=0).astype(b.dtype), bits)
        db = lax.dynamic_update_slice_in_dim(db, db_c, start, axis=0)
    return dh, dw, db


def _read_buffers(h, w, b, bits: bool, bufs):
    dh, dw, db = bufs
    db = None if b is None else _from_bits(db, b.dtype, bits)
    return dh.astype(h.dtype), _from_bits(dw, w.dtype, bits), db


def _half(*xs) -> bool:
    return any(x is not None and jnp.dtype(x.dtype).itemsize == 2 for x in xs)


def _walk_with_bits(walk, args, half: bool):
    """Runs ``walk(bits, *args)``, with uint16 gradient buffers on the CPU for half
    precision (see `_fused_bwd`)."""
    if half:
        return lax.platform_dependent(
            *args,
            cpu=functools.partial(walk, True),
            default=functools.partial(walk, False),
        )
    return walk(False, *args)


# --- per-token log-probabilities (and entropies) of one head


def _log_probs_forward(cfg: _Stream, h, w, b, labels, temp, cap):
    n = h.shape[0]
    local = labels - _label_offset(cfg, w.shape[1])
    acc = cfg.acc

    def body(start, width, carry):
        m, s, picked, ez = carry
        x, _, _, _ = _block_logits(cfg, h, w, b, start, width, cap)
        z = _scaled(cfg, x, temp)
        m, s, e, scale = _lse_step(m, s, z)
        pos = local - start
        inside = (pos >= 0) & (pos < width)
        hit = jnp.take_along_axis(z, jnp.clip(pos, 0, width - 1)[:, None], axis=1)[:, 0]
        picked = picked + jnp.where(inside, hit, 0)
        if cfg.entropy:
            ez = ez * scale + jnp.sum(_times(e, z), axis=1)
        return m, s, picked, ez

    zeros = jnp.zeros((n,), acc)
    init = (jnp.full((n,), -jnp.inf, acc), zeros, zeros, zeros)
    init = _varying(init, _vma(h, w, b, labels, temp, cap))
    m, s, picked, ez = _blocks(cfg, body, init)
    if cfg.axis_name is not None:
        picked = lax.psum(picked, cfg.axis_name)
    m, (s, ez) = _combine(cfg, m, (s, ez))
    lse, ok = _log_normalizer(m, s)
    log_p = jnp.where(ok, picked - lse, 0)
    mean_z = ez / jnp.where(ok, s, 1)  # E_p[z]
    entropy = jnp.where(ok, lse - mean_z, 0) if cfg.entropy else None
    return (log_p, entropy), (lse, ok, mean_z)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _log_probs(cfg: _Stream, h, w, b, labels, temp, cap):
    return _log_probs_forward(cfg, h, w, b, labels, temp, cap)[0]


def _log_probs_fwd(cfg: _Stream, h, w, b, labels, temp, cap):
    out, stats = _log_probs_forward(cfg, h, w, b, labels, temp, cap)
    return out, (h, w, b, labels, temp, cap, stats)


def _log_probs_bwd(cfg: _Stream, res, g):
    h, w, b, labels, temp, cap, (lse, ok, mean_z) = res
    acc = cfg.acc
    g_lp = jnp.where(ok, g[0].astype(acc), 0)
    g_ent = jnp.where(ok, g[1].astype(acc), 0) if cfg.entropy else None
    if cfg.axis_name is not None and not cfg.typed:  # see _fused_bwd
        g_lp = lax.psum(g_lp, cfg.axis_name)
        g_ent = None if g_ent is None else lax.psum(g_ent, cfg.axis_name)
    args = (h, w, b, labels, temp, cap, lse, mean_z, g_lp, g_ent)
    dh, dw, db, dtemp, dcap = _walk_with_bits(
        functools.partial(_log_probs_walk, cfg), args, _half(w, b)
    )
    d_temp = d_cap = None
    if cfg.temp:
        d_temp = dtemp.astype(temp.dtype) if cfg.temp_grad else jnp.zeros_like(temp)
    if cfg.cap:
        d_cap = dcap.astype(cap.dtype) if cfg.cap_grad else jnp.zeros_like(cap)
    cts = (dh, dw, db, d_temp, d_cap)
    dh, dw, db, d_temp, d_cap = (_like(c, x) for c, x in zip(cts, (h, w, b, temp, cap)))
    return dh, dw, db, None, d_temp, d_cap


def _log_probs_walk(cfg: _Stream, bits, h, w, b, labels, temp, cap, lse, mean_z, g_lp, g_ent):
    n = h.shape[0]
    local = labels - _label_offset(cfg, w.shape[1])

    def body(start, width, carry):
        bufs, dtemp, dcap = carry
        x, t, r, w_c = _block_logits(cfg, h, w, b, start, width, cap)
        z = _scaled(cfg, x, temp)
        p = jnp.exp(z - lse[:, None])
        onehot = lax.broadcasted_iota(jnp.int32, (n, width), 1) == (local - start)[:, None]
        # d log p_y / dz_j = [j = y] - p_j;  d H / dz_j = p_j (E_p[z] - z_j)
        dz = jnp.where(onehot, g_lp[:, None], 0) - g_lp[:, None] * p
        if g_ent is not None:
            dz = dz + g_ent[:, None] * _times(p, mean_z[:, None] - z)
        if cfg.temp_grad:  # z = x / T: dz/dT = -z / T
            dtemp = dtemp - jnp.sum(jnp.where(dz != 0, dz * z, 0)) / temp
        dx = _scaled(cfg, dz, temp)
        if cfg.cap:
            if cfg.cap_grad:
                dcap = dcap + jnp.sum(dx * (t - (r / cap) * (1 - t * t)))
            dx = dx * (1 - t * t)
        bufs = _write_block(cfg, bits, cfg.mm, h, w, b, w_c, dx, start, bufs)
        return bufs, dtemp, dcap

    init = (_grad_buffers(cfg, bits, h, w, b), jnp.zeros((), cfg.acc), jnp.zeros((), cfg.acc))
    init = _varying(init, _vma(h, w, b, labels, temp, cap, lse, mean_z, g_lp, g_ent))
    bufs, dtemp, dcap = _blocks(cfg, body, init)
    dh, dw, db = _read_buffers(h, w, b, bits, bufs)
    return dh, dw, db, dtemp, dcap


_log_probs.defvjp(_log_probs_fwd, _log_probs_bwd)


# --- divergences between a student's and a teacher's distributions


def _heads(cfg: _Stream, hs, ws, bs, ht, wt, bt, temp, start, width):
    zs, ws_c = _project(hs, ws, bs, start, width, cfg.mm, cfg.acc)
    zt, wt_c = _project(ht, wt, bt, start, width, cfg.mm_t, cfg.acc)
    return _scaled(cfg, zs, temp), _scaled(cfg, zt, temp), ws_c, wt_c


def _beta_terms(beta):
    """``(log beta, log(1 - beta))``, -inf at the endpoints."""
    return jnp.log(beta), jnp.log1p(-beta)


def _divergence_forward(cfg: _Stream, hs, ws, bs, ht, wt, bt, temp, beta):
    n = hs.shape[0]
    acc = cfg.acc
    vma = _vma(hs, ws, bs, ht, wt, bt, temp, beta)

    def lse_body(start, width, carry):
        ms, ss, mt, st, a = carry
        zs, zt, _, _ = _heads(cfg, hs, ws, bs, ht, wt, bt, temp, start, width)
        ms, ss, es, scale_s = _lse_step(ms, ss, zs)
        mt, st, et, scale_t = _lse_step(mt, st, zt)
        if cfg.kind == "forward":  # sum_j e^t_j (z^t_j - z^s_j)
            a = a * scale_t + jnp.sum(_times(et, zt - zs), axis=1)
        elif cfg.kind == "reverse":  # sum_j e^s_j (z^s_j - z^t_j)
            a = a * scale_s + jnp.sum(_times(es, zs - zt), axis=1)
        return ms, ss, mt, st, a

    zeros = jnp.zeros((n,), acc)
    low = jnp.full((n,), -jnp.inf, acc)
    init = _varying((low, zeros, low, zeros, zeros), vma)
    ms, ss, mt, st, a = _blocks(cfg, lse_body, init)
    # the running sum `a` is weighted by the teacher's exponentials (forward) or the
    # student's (reverse): it is rescaled with that head's max
    ms, (ss, *a_s) = _combine(cfg, ms, (ss, a) if cfg.kind == "reverse" else (ss,))
    mt, (st, *a_t) = _combine(cfg, mt, (st, a) if cfg.kind == "forward" else (st,))
    lse_s, ok_s = _log_normalizer(ms, ss)
    lse_t, ok_t = _log_normalizer(mt, st)
    ok = ok_s & ok_t
    if cfg.kind == "forward":  # KL(t || s) = E_t[z^t - z^s] - lse_t + lse_s
        kl = a_t[0] / jnp.where(ok, st, 1) - lse_t + lse_s
        value, stats = kl, (kl, kl)
    elif cfg.kind == "reverse":  # KL(s || t) = E_s[z^s - z^t] - lse_s + lse_t
        kl = a_s[0] / jnp.where(ok, ss, 1) - lse_s + lse_t
        value, stats = kl, (kl, kl)
    else:  # a second walk: the log of the mixture needs the normalized log-probs
        log_b, log_1b = _beta_terms(beta)

        def jsd_body(start, width, carry):
            k_t, k_s = carry
            zs, zt, _, _ = _heads(cfg, hs, ws, bs, ht, wt, bt, temp, start, width)
            ls, lt = zs - lse_s[:, None], zt - lse_t[:, None]
            lm = jnp.logaddexp(lt + log_b, ls + log_1b)
            k_t = k_t + jnp.sum(_times(jnp.exp(lt), lt - lm), axis=1)
            k_s = k_s + jnp.sum(_times(jnp.exp(ls), ls - lm), axis=1)
            return k_t, k_s

        k_t, k_s = _blocks(cfg, jsd_body, _varying((zeros, zeros), vma))
        if cfg.axis_name is not None:
            k_t, k_s = lax.psum((k_t, k_s), cfg.axis_name)
        # KL(t || m) and KL(s || m): at beta = 0 the mixture is s and k_t is KL(t || s),
        # at beta = 1 it is t and k_s is KL(s || t) (TRL's and Liger's endpoints)
        value = jnp.where(beta == 0, k_t, jnp.where(beta == 1, k_s, beta * k_t + (1 - beta) * k_s))
        stats = (k_t, k_s)
    value = jnp.where(ok, value, 0)
    return value, (lse_s, lse_t, ok, stats)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _divergence(cfg: _Stream, hs, ws, bs, ht, wt, bt, temp, beta):
    return _divergence_forward(cfg, hs, ws, bs, ht, wt, bt, temp, beta)[0]


def _divergence_fwd(cfg: _Stream, hs, ws, bs, ht, wt, bt, temp, beta):
    value, stats = _divergence_forward(cfg, hs, ws, bs, ht, wt, bt, temp, beta)
    return value, (hs, ws, bs, ht, wt, bt, temp, beta, stats)


def _divergence_bwd(cfg: _Stream, res, g):
    hs, ws, bs, ht, wt, bt, temp, beta, (lse_s, lse_t, ok, stats) = res
    g = jnp.where(ok, g.astype(cfg.acc), 0)
    g_rows = g
    if cfg.axis_name is not None and not cfg.typed:  # see _fused_bwd
        g = lax.psum(g, cfg.axis_name)
    args = (hs, ws, bs, ht, wt, bt, temp, beta, lse_s, lse_t, stats, g)
    half = _half(ws, bs) or (cfg.teacher_grad and _half(wt, bt))
    student, teacher, dtemp = _walk_with_bits(functools.partial(_divergence_walk, cfg), args, half)
    d_temp = None
    if cfg.temp:
        d_temp = dtemp.astype(temp.dtype) if cfg.temp_grad else jnp.zeros_like(temp)
    d_beta = None
    if beta is not None:
        # d/db of b KL(t || m) + (1 - b) KL(s || m) is KL(t || m) - KL(s || m) (the terms of
        # m's derivative sum to 0); the endpoints are other functions, constant in b
        k_t, k_s = stats
        inside = (beta != 0) & (beta != 1)
        d_beta = jnp.where(inside, jnp.sum(g_rows * (k_t - k_s)), 0).astype(beta.dtype)
    cts = (*student, *teacher, d_temp)
    primals = (hs, ws, bs, ht, wt, bt, temp)
    out = tuple(_like(c, x) for c, x in zip(cts, primals))
    return (*out, d_beta)


def _divergence_walk(
    cfg: _Stream, bits, hs, ws, bs, ht, wt, bt, temp, beta, lse_s, lse_t, stats, g
):
    k_t, k_s = stats
    if cfg.kind == "jsd":
        log_b, log_1b = _beta_terms(beta)
        at_0, at_1 = beta == 0, beta == 1
        c_s = jnp.where(at_1, 1, 1 - beta)  # the weight of KL(s || m) in the gradient
        c_t = jnp.where(at_0, 1, beta)

    def body(start, width, carry):
        s_bufs, t_bufs, dtemp = carry
        zs, zt, ws_c, wt_c = _heads(cfg, hs, ws, bs, ht, wt, bt, temp, start, width)
        ls, lt = zs - lse_s[:, None], zt - lse_t[:, None]
        ps, pt = jnp.exp(ls), jnp.exp(lt)
        gk = g[:, None]
        if cfg.kind == "forward":
            dzs = gk * (ps - pt)
            dzt = gk * _times(pt, lt - ls - k_t[:, None])
        elif cfg.kind == "reverse":
            dzs = gk * _times(ps, ls - lt - k_s[:, None])
            dzt = gk * (pt - ps)
        else:
            # d/dz^s of (1 - b) KL(s || m) + b KL(t || m) is (1 - b) p^s (log(p^s / m) - KL(s || m))
            lm = jnp.logaddexp(lt + log_b, ls + log_1b)
            dzs = gk * (c_s * _times(ps, ls - lm - k_s[:, None]))
            dzt = gk * (c_t * _times(pt, lt - lm - k_t[:, None]))
            if cfg.beta_traced:
                dzs = jnp.where(at_0, gk * (ps - pt), dzs)
                dzt = jnp.where(at_1, gk * (pt - ps), dzt)
        if cfg.temp_grad:  # z = x / T for both heads: dz/dT = -z / T
            dtemp = (
                dtemp
                - (
                    jnp.sum(jnp.where(dzs != 0, dzs * zs, 0))
                    + jnp.sum(jnp.where(dzt != 0, dzt * zt, 0))
                )
                / temp
            )
        s_bufs = _write_block(
            cfg, bits, cfg.mm, hs, ws, bs, ws_c, _scaled(cfg, dzs, temp), start, s_bufs
        )
        if cfg.teacher_grad:
            t_bufs = _write_block(
                cfg, bits, cfg.mm_t, ht, wt, bt, wt_c, _scaled(cfg, dzt, temp), start, t_bufs
            )
        return s_bufs, t_bufs, dtemp

    t_bits = bits and cfg.teacher_grad
    t_init = _grad_buffers(cfg, t_bits, ht, wt, bt) if cfg.teacher_grad else None
    init = (_grad_buffers(cfg, bits, hs, ws, bs), t_init, jnp.zeros((), cfg.acc))
    init = _varying(init, _vma(hs, ws, bs, ht, wt, bt, temp, beta, lse_s, lse_t, k_t, k_s, g))
    s_bufs, t_bufs, dtemp = _blocks(cfg, body, init)
    student = _read_buffers(hs, ws, bs, bits, s_bufs)
    if cfg.teacher_grad:
        teacher = _read_buffers(ht, wt, bt, t_bits, t_bufs)
    else:
        teacher = (None, None, None)
    return student, teacher, dtemp


_divergence.defvjp(_divergence_fwd, _divergence_bwd)


# ---------------------------------------------------------------------------
# argument preparation shared by the streamed functions


def _head_inputs(fn: str, hidden, weight, bias, names: tuple[str, str, str]):
    """Checks one head's ``hidden [..., D]``, ``weight [D, V]`` and ``bias [V]``."""
    nh, nw, nb = names
    h = core.as_logits(fn, nh, hidden)
    w = core.as_logits(fn, nw, weight)
    b = None if bias is None else core.as_logits(fn, nb, bias)
    if h.ndim < 1:
        raise ValueError(f"{fn}: argument '{nh}' must have shape [..., D], got a scalar")
    if w.ndim != 2:
        raise ValueError(
            f"{fn}: argument '{nw}' must have shape [D, V], got {nw}.shape={tuple(w.shape)}"
        )
    if w.shape[1] == 0:
        raise ValueError(
            f"{fn}: argument '{nw}' must have at least one column, got shape {tuple(w.shape)}"
        )
    if h.shape[-1] != w.shape[0]:
        raise ValueError(
            f"{fn}: arguments '{nh}' and '{nw}' must agree on D ({nh} [..., D], {nw} "
            f"[D, V]), got {nh}.shape={tuple(h.shape)} and {nw}.shape={tuple(w.shape)}"
        )
    if b is not None and b.shape != (w.shape[1],):
        raise ValueError(
            f"{fn}: argument '{nb}' must have shape ({w.shape[1]},) (one entry per column "
            f"of '{nw}'), got {nb}.shape={tuple(b.shape)}"
        )
    return h, w, b


def _token_labels(fn: str, h: Array, labels, hidden_name: str = "hidden") -> Array:
    """Integer ``labels`` with the token shape of ``h`` (``hidden`` without its last axis)."""
    labels = core.as_labels(fn, "labels", labels)
    if labels.shape != h.shape[:-1]:
        raise ValueError(
            f"{fn}: argument 'labels' must have the shape of '{hidden_name}' without its last "
            f"axis, got {hidden_name}.shape={tuple(h.shape)} and labels.shape={tuple(labels.shape)}"
        )
    return labels


def _counted(mask: Array | None, ignored: Array | None) -> Array | None:
    """The counted tokens: the ``where`` mask without the ``ignore_index`` ones (``None``:
    every token)."""
    if ignored is None:
        return mask
    return ~ignored if mask is None else mask & ~ignored


def _label_validity(fn: str, labels: Array, ignore_index, vocab_total: int, mask):
    """``(in_range, valid, counted)`` for the labels of a log-probability head: labels in
    ``[0, vocab_total)``, those or ``ignore_index``, and the counted tokens; registers
    the label check of `jaxloss.checked` (masked tokens exempt)."""
    in_range = (labels >= 0) & (labels < vocab_total)
    ignored = None if ignore_index is None else labels == ignore_index
    valid = in_range if ignored is None else in_range | ignored
    core.check_labels(fn, valid, labels, vocab_total, mask)
    return in_range, valid, _counted(mask, ignored)


def _static_options(fn: str, chunk_size, axis_name) -> None:
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


def _blocking(chunk_size, rows: int, vocab_local: int) -> dict:
    chunk = default_chunk_size(rows, vocab_local) if chunk_size is None else int(chunk_size)
    chunk = min(chunk, vocab_local)
    return {"chunk": chunk, "num_full": vocab_local // chunk, "remainder": vocab_local % chunk}


def _vocab_total(vocab_local: int, axis_name) -> int:
    if axis_name is None:
        return vocab_local
    return vocab_local * int(lax.axis_size(axis_name))


def _tokens(h: Array, keep: Array | None, mm) -> Array:
    """``hidden`` as ``[N, D]`` in the product dtype, excluded tokens zeroed (the inner
    half of the double where: they get exactly zero gradient even when inf/NaN)."""
    n = core.prod(h.shape[:-1])
    h2 = h.reshape((n, h.shape[-1]))
    if keep is not None:
        h2 = jnp.where(keep.reshape((n, 1)), h2, jnp.zeros((), h2.dtype))
    return h2.astype(mm)


# ---------------------------------------------------------------------------
# public functions


@core.public
@core.declare_ranges(
    {
        "temperature": Range(low=0.0, low_open=True),
        "logit_soft_cap": Range(low=0.0, low_open=True),
    }
)
def linear_log_probs(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    temperature: float | Array = 1.0,
    logit_soft_cap: float | Array | None = None,
    ignore_index: int | None = None,
    chunk_size: int | None = None,
    axis_name: str | None = None,
    return_entropy: bool = False,
    where: ArrayLike | None = None,
) -> Array | tuple[Array, Array]:
    r"""Per-token log-probabilities of the labels under a linear head, without the logits.

    $$
        z = \mathrm{cap}(h W + b) / T, \qquad
        \log p(y) = z_y - \log \sum_j e^{z_j}, \qquad
        H = \log \sum_j e^{z_j} - \sum_j p_j z_j
    $$

    The log-probability of each token's label (what policy-gradient methods such as
    PPO and GRPO need, and the sequence log-probabilities of DPO-style losses), and with
    ``return_entropy`` the entropy $H$ of each token's distribution. Like
    [`jaxloss.linear_softmax_cross_entropy_with_integer_labels`][], no ``[tokens, V]``
    array exists in the forward or the backward pass: both walk over blocks of
    ``chunk_size`` vocabulary columns (a custom VJP that keeps per-token statistics only
    and recomputes each block in the backward pass).

    Args:
      hidden: ``[..., D]`` final hidden states, floating.
      weight: ``[D, V]`` output projection (with ``axis_name``, this device's
        ``[D, V / n]`` vocabulary shard).
      labels: ``[...]`` integer token ids in ``[0, V)`` (global ids with ``axis_name``).
      bias: optional ``[V]`` bias (this device's shard with ``axis_name``).
      temperature: $T > 0$, dividing the logits (the sampling temperature of the
        rollouts, as TRL's GRPO does). Differentiable.
      logit_soft_cap: $c > 0$ or ``None``; the logits become $c \tanh(x / c)$ before the
        temperature (Gemma 2).
      ignore_index: a label value whose tokens give 0 (e.g. ``-100`` for padding).
      chunk_size: vocabulary columns per block (static); ``None`` picks it from
        [`jaxloss.default_chunk_size`][] (a measured rule, CPU and GPU).
      axis_name: the mesh axis over which the vocabulary is sharded, inside
        ``jax.shard_map`` (static); the only communication is ``[N]``-sized reductions.
      return_entropy: also return the per-token entropy (one more ``[N]`` statistic).
      where: boolean mask over tokens, broadcastable to ``labels.shape``; masked tokens
        give 0 and exactly zero gradient.

    Returns:
      ``labels.shape`` log-probabilities, or ``(log_probs, entropy)`` with
      ``return_entropy``; float32 for half-precision inputs (float64 for float64).

    Raises:
      TypeError: if ``hidden``, ``weight`` or ``bias`` is not floating, ``labels`` is not
        an integer array, ``chunk_size`` or ``ignore_index`` is not an int or ``None``, a
        numeric option is not a real number, or ``where`` is not boolean.
      ValueError: if ``weight`` is not ``[D, V]`` with the ``D`` of ``hidden``, ``labels``
        does not have the shape of ``hidden`` without its last axis, ``bias`` is not
        ``(V,)``, ``chunk_size < 1``, a concrete ``temperature`` or ``logit_soft_cap``
        is not positive, or ``where`` does not broadcast to ``labels.shape``.

    Note:
      Forward-mode differentiation (``jax.jvp``, ``jax.jacfwd``) is not available: the
      function is a ``jax.custom_vjp``. Reverse mode (``jax.grad``, ``jax.vjp``),
      ``jax.jit``, ``jax.vmap`` and ``shard_map`` all work. A label outside ``[0, V)``
      that is not ``ignore_index`` gives NaN for its token. Products use the inputs'
      dtype with float32 accumulation.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> hidden = jnp.array([[1.0, 0.0], [0.5, -1.0]])
      >>> weight = jnp.array([[2.0, 1.0, 0.1], [0.0, -1.0, 2.0]])
      >>> lp, ent = jaxloss.linear_log_probs(hidden, weight, jnp.array([0, 1]),
      ...                                    return_entropy=True)
      >>> [round(float(x), 4) for x in lp], [round(float(x), 4) for x in ent]
      ([-0.417, -0.4936], [0.8467, 0.7456])

    Equivalent to ``jnp.take_along_axis(jax.nn.log_softmax(cap(hidden @ weight + bias) /
    temperature), labels[..., None], -1)[..., 0]`` (TRL's ``selective_log_softmax``
    of the same logits), computed without the logits.
    """
    fn = "linear_log_probs"
    h, w, b = _head_inputs(fn, hidden, weight, bias, ("hidden", "weight", "bias"))
    labels = _token_labels(fn, h, labels)
    ignore_index = core.ignore_index_option(fn, ignore_index)
    _static_options(fn, chunk_size, axis_name)
    acc = core.compute_dtype(h, w, b)
    mm = jnp.result_type(h.dtype, w.dtype)
    batch_shape = labels.shape
    mask = core.example_mask(fn, where, batch_shape)
    temp = core.optional_hyperparameter(fn, "temperature", temperature, acc, unless=1.0)
    cap = None
    if logit_soft_cap is not None:
        cap = core.hyperparameter(fn, "logit_soft_cap", logit_soft_cap, acc)
    vocab_local = int(w.shape[1])
    vocab_total = _vocab_total(vocab_local, axis_name)
    _, valid, keep = _label_validity(fn, labels, ignore_index, vocab_total, mask)
    h2 = _tokens(h, keep, mm)
    n = h2.shape[0]
    cfg = _Stream(
        kind="log_probs",
        **_blocking(chunk_size, n, vocab_local),
        axis_name=axis_name,
        acc=np.dtype(acc),
        mm=np.dtype(mm),
        cap=cap is not None,
        cap_grad=cap is not None and not core.is_concrete(logit_soft_cap),
        temp=temp is not None,
        temp_grad=temp is not None and not core.is_concrete(temperature),
        entropy=bool(return_entropy),
        typed=axis_name is not None and axis_name in _vma(w),
    )
    if cfg.typed:
        h2 = _varying(h2, frozenset((axis_name,)))
    # (core.public runs this inside a jit: the operands are traced, even in eager calls)
    operands = (h2, w, b, labels.reshape((n,)).astype(jnp.int32), temp, cap)
    log_p, entropy = _log_probs(cfg, *operands)

    def finish(x):
        x = jnp.where(valid, x.reshape(batch_shape), jnp.nan)
        return x if keep is None else jnp.where(keep, x, 0)

    if not return_entropy:
        return finish(log_p)
    return finish(log_p), finish(entropy)


_DIVERGENCE_NAMES = (
    ("student_hidden", "student_weight", "student_bias"),
    ("teacher_hidden", "teacher_weight", "teacher_bias"),
)


def _linear_divergence(
    fn,
    kind,
    hs,
    ws,
    ht,
    wt,
    labels,
    bs,
    bt,
    temperature,
    beta,
    ignore_index,
    teacher_gradient,
    chunk_size,
    axis_name,
    reduction,
    where,
    weights,
):
    """The shared body of the linear divergences: checks, then the streamed core."""
    hs, ws, bs = _head_inputs(fn, hs, ws, bs, _DIVERGENCE_NAMES[0])
    ht, wt, bt = _head_inputs(fn, ht, wt, bt, _DIVERGENCE_NAMES[1])
    if hs.shape[:-1] != ht.shape[:-1]:
        raise ValueError(
            f"{fn}: arguments 'student_hidden' and 'teacher_hidden' must have the same "
            f"tokens (all axes but the last), got student_hidden.shape={tuple(hs.shape)} and "
            f"teacher_hidden.shape={tuple(ht.shape)}"
        )
    if ws.shape[1] != wt.shape[1]:
        raise ValueError(
            f"{fn}: arguments 'student_weight' and 'teacher_weight' must have the same "
            f"vocabulary V, got student_weight.shape={tuple(ws.shape)} and "
            f"teacher_weight.shape={tuple(wt.shape)}"
        )
    batch_shape = hs.shape[:-1]
    ignore_index = core.ignore_index_option(fn, ignore_index)
    ignored = None
    if labels is not None:
        labels = _token_labels(fn, hs, labels, "student_hidden")
        if ignore_index is not None:
            ignored = labels == ignore_index
    teacher_gradient = core.static_bool(fn, "teacher_gradient", teacher_gradient)
    _static_options(fn, chunk_size, axis_name)
    core.check_reduction(fn, reduction)
    acc = core.compute_dtype(hs, ws, bs, ht, wt, bt)
    mm_s = jnp.result_type(hs.dtype, ws.dtype)
    mm_t = jnp.result_type(ht.dtype, wt.dtype)
    keep = _counted(core.example_mask(fn, where, batch_shape), ignored)
    temp = core.optional_hyperparameter(fn, "temperature", temperature, acc, unless=1.0)
    beta_arr = None
    if kind == "jsd":
        b_static = core.static_value(beta)
        if b_static == 0.0:
            kind = "forward"
        elif b_static == 1.0:
            kind = "reverse"
        else:
            beta_arr = core.hyperparameter(fn, "beta", beta, acc)
    if not teacher_gradient:
        ht, wt, bt = lax.stop_gradient((ht, wt, bt))
    hs2, ht2 = _tokens(hs, keep, mm_s), _tokens(ht, keep, mm_t)
    n = hs2.shape[0]
    vocab_local = int(ws.shape[1])
    cfg = _Stream(
        kind=kind,
        **_blocking(chunk_size, 2 * n, vocab_local),
        axis_name=axis_name,
        acc=np.dtype(acc),
        mm=np.dtype(mm_s),
        mm_t=np.dtype(mm_t),
        temp=temp is not None,
        temp_grad=temp is not None and not core.is_concrete(temperature),
        teacher_grad=teacher_gradient,
        beta_traced=beta_arr is not None and not core.is_concrete(beta),
        typed=axis_name is not None and axis_name in _vma(ws),
    )
    if cfg.typed:
        hs2, ht2 = _varying((hs2, ht2), frozenset((axis_name,)))
    values = _divergence(cfg, hs2, ws, bs, ht2, wt, bt, temp, beta_arr).reshape(batch_shape)
    return core.finish(fn, values, reduction, keep, weights)


_DIVERGENCE_RANGES = {"temperature": Range(low=0.0, low_open=True)}


@register(
    family="large_vocab",
    inputs="hidden+weight",
    optax=None,
    torch=None,
    keras=None,
    ranges=_DIVERGENCE_RANGES,
)
def linear_kl_divergence(
    student_hidden: ArrayLike,
    student_weight: ArrayLike,
    teacher_hidden: ArrayLike,
    teacher_weight: ArrayLike,
    labels: ArrayLike | None = None,
    *,
    student_bias: ArrayLike | None = None,
    teacher_bias: ArrayLike | None = None,
    direction: str = "forward",
    temperature: float | Array = 1.0,
    ignore_index: int | None = -100,
    teacher_gradient: bool = False,
    chunk_size: int | None = None,
    axis_name: str | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""KL divergence between a teacher's and a student's token distributions, without the logits.

    $$
        s = \mathrm{softmax}\bigl((h_s W_s + b_s) / T\bigr), \quad
        t = \mathrm{softmax}\bigl((h_t W_t + b_t) / T\bigr), \qquad
        \ell = \mathrm{KL}(t \,\|\, s) = \sum_j t_j \log \frac{t_j}{s_j}
        \ \ \text{(forward)} \quad\text{or}\quad
        \mathrm{KL}(s \,\|\, t) \ \ \text{(reverse)}
    $$

    per token, for knowledge distillation: the forward KL is Hinton's distillation
    loss (mean-seeking), the reverse KL that of MiniLLM and on-policy distillation
    (mode-seeking). Neither model's ``[tokens, V]`` logits are built, in the forward or
    the backward pass (one walk over blocks of vocabulary columns each way, a custom
    VJP). The teacher is a constant: gradients flow to the student's hidden states,
    weight and bias only, unless ``teacher_gradient=True``.

    Args:
      student_hidden: ``[..., D_s]`` the student's final hidden states.
      student_weight: ``[D_s, V]`` the student's output projection (this device's
        vocabulary shard with ``axis_name``).
      teacher_hidden: ``[..., D_t]`` the teacher's hidden states, same tokens.
      teacher_weight: ``[D_t, V]`` the teacher's output projection, same vocabulary.
      labels: optional ``[...]`` integer labels, used only to leave out the tokens whose
        label is ``ignore_index`` (padding and prompt tokens).
      student_bias: optional ``[V]`` bias of the student's head.
      teacher_bias: optional ``[V]`` bias of the teacher's head.
      direction: ``"forward"``, $\mathrm{KL}(t \| s)$, or ``"reverse"``,
        $\mathrm{KL}(s \| t)$.
      temperature: $T > 0$, dividing both models' logits (not multiplied back by
        $T^2$). Differentiable.
      ignore_index: the label value of left-out tokens (``-100``, as Hugging Face's
        shifted labels, TRL and Liger); ``None`` to count every token.
      teacher_gradient: also differentiate with respect to the teacher's arrays.
      chunk_size: vocabulary columns per block (static); ``None``: the measured rule of
        [`jaxloss.default_chunk_size`][].
      axis_name: the mesh axis of the vocabulary shards inside ``jax.shard_map`` (both
        weights sharded the same way); communication is ``[N]``-sized only.
      reduction: ``"mean"`` (over the counted tokens), ``"sum"`` or ``"none"``.
      where: boolean mask over tokens, broadcastable to the token shape.
      weights: per-token weights, broadcastable to the token shape.

    Returns:
      A scalar, or the token shape for ``"none"``; float32 for half-precision inputs.

    Raises:
      TypeError: if an array is not floating (``labels``: not integer), ``chunk_size`` or
        ``ignore_index`` is not an int or ``None``, ``teacher_gradient`` is not a bool,
        ``temperature`` is not a real number, or ``where`` is not boolean.
      ValueError: if a weight is not ``[D, V]`` with its hidden states' ``D``, the two
        vocabularies or token shapes differ, ``labels`` has another token shape, a bias is
        not ``(V,)``, ``direction`` or ``reduction`` is unknown, ``chunk_size < 1``, a
        concrete ``temperature`` is not positive, or ``where``/``weights`` do not
        broadcast to the token shape.

    Note:
      Forward-mode differentiation (``jax.jvp``) is not available: a ``jax.custom_vjp``.
      Products run in each model's dtype with float32 accumulation (bfloat16 weights
      give float32 logits).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> hs = jnp.array([[1.0, 0.0], [0.5, -1.0]])
      >>> ws = jnp.array([[2.0, 1.0, 0.1], [0.0, -1.0, 2.0]])
      >>> ht = jnp.array([[0.5, 1.0, 0.0], [1.0, 0.0, 1.0]])
      >>> wt = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
      >>> round(float(jaxloss.linear_kl_divergence(hs, ws, ht, wt)), 4)
      0.7009

    Equivalent to ``jaxloss.kl_divergence_with_log_targets(log_softmax(student_logits /
    T), log_softmax(teacher_logits / T))`` for ``"forward"`` (the arguments swapped for
    ``"reverse"``) with the logits ``hidden @ weight + bias`` and the teacher's under
    ``jax.lax.stop_gradient``; Liger Kernel's ``LigerFusedLinearJSD`` with ``beta=0``
    (forward) or ``1`` (reverse) fuses the same loss in PyTorch.
    """
    fn = "linear_kl_divergence"
    core.check_option(fn, "direction", direction)
    if direction not in ("forward", "reverse"):
        raise ValueError(
            f"{fn}: argument 'direction' must be 'forward' or 'reverse', got {direction!r}"
        )
    return _linear_divergence(
        fn,
        direction,
        student_hidden,
        student_weight,
        teacher_hidden,
        teacher_weight,
        labels,
        student_bias,
        teacher_bias,
        temperature,
        None,
        ignore_index,
        teacher_gradient,
        chunk_size,
        axis_name,
        reduction,
        where,
        weights,
    )


@register(
    family="large_vocab",
    inputs="hidden+weight",
    optax=None,
    torch=None,
    keras=None,
    ranges={**_DIVERGENCE_RANGES, "beta": Range(low=0.0, high=1.0)},
)
def linear_jensen_shannon_divergence(
    student_hidden: ArrayLike,
    student_weight: ArrayLike,
    teacher_hidden: ArrayLike,
    teacher_weight: ArrayLike,
    labels: ArrayLike | None = None,
    *,
    student_bias: ArrayLike | None = None,
    teacher_bias: ArrayLike | None = None,
    beta: float | Array = 0.5,
    temperature: float | Array = 1.0,
    ignore_index: int | None = -100,
    teacher_gradient: bool = False,
    chunk_size: int | None = None,
    axis_name: str | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Generalized Jensen-Shannon divergence between a teacher and a student, without the logits.

    $$
        m = \beta\, t + (1 - \beta)\, s, \qquad
        \ell = \beta\, \mathrm{KL}(t \,\|\, m) + (1 - \beta)\, \mathrm{KL}(s \,\|\, m)
    $$

    per token, with $s$ and $t$ the student's and the teacher's softmax distributions
    of ``(hidden @ weight + bias) / T``: the distillation loss of GKD (Agarwal et al.,
    2024). ``beta = 0.5`` is the symmetric JSD; as in TRL and Liger Kernel, ``beta = 0``
    is the forward $\mathrm{KL}(t \| s)$ and ``beta = 1`` the reverse $\mathrm{KL}(s \|
    t)$ (see [`jaxloss.linear_kl_divergence`][]). Neither model's ``[tokens, V]`` logits
    are built: the forward pass walks over the vocabulary twice (the log-normalizers, then
    the divergence), the backward pass once (a custom VJP). The teacher is a constant
    unless ``teacher_gradient=True``.

    Args:
      student_hidden: ``[..., D_s]`` the student's final hidden states.
      student_weight: ``[D_s, V]`` the student's output projection (this device's
        vocabulary shard with ``axis_name``).
      teacher_hidden: ``[..., D_t]`` the teacher's hidden states, same tokens.
      teacher_weight: ``[D_t, V]`` the teacher's output projection, same vocabulary.
      labels: optional ``[...]`` integer labels, used only to leave out the tokens whose
        label is ``ignore_index``.
      student_bias: optional ``[V]`` bias of the student's head.
      teacher_bias: optional ``[V]`` bias of the teacher's head.
      beta: $\beta \in [0, 1]$, the teacher's share of the mixture. Differentiable
        inside $(0, 1)$.
      temperature: $T > 0$, dividing both models' logits. Differentiable.
      ignore_index: the label value of left-out tokens (``-100``); ``None`` to count
        every token.
      teacher_gradient: also differentiate with respect to the teacher's arrays.
      chunk_size: vocabulary columns per block (static); ``None``: the measured rule of
        [`jaxloss.default_chunk_size`][].
      axis_name: the mesh axis of the vocabulary shards inside ``jax.shard_map``.
      reduction: ``"mean"`` (over the counted tokens), ``"sum"`` or ``"none"``.
      where: boolean mask over tokens, broadcastable to the token shape.
      weights: per-token weights, broadcastable to the token shape.

    Returns:
      A scalar, or the token shape for ``"none"``; float32 for half-precision inputs.

    Raises:
      TypeError: if an array is not floating (``labels``: not integer), ``chunk_size`` or
        ``ignore_index`` is not an int or ``None``, ``teacher_gradient`` is not a bool,
        ``beta`` or ``temperature`` is not a real number, or ``where`` is not boolean.
      ValueError: if a weight is not ``[D, V]`` with its hidden states' ``D``, the two
        vocabularies or token shapes differ, a bias is not ``(V,)``, ``reduction`` is
        unknown, ``chunk_size < 1``, a concrete ``beta`` is outside ``[0, 1]`` or
        ``temperature`` is not positive, or ``where``/``weights`` do not broadcast.

    Note:
      Forward-mode differentiation (``jax.jvp``) is not available: a ``jax.custom_vjp``.
      The value lies in $[0, \log 2]$ at ``beta = 0.5``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> hs = jnp.array([[1.0, 0.0], [0.5, -1.0]])
      >>> ws = jnp.array([[2.0, 1.0, 0.1], [0.0, -1.0, 2.0]])
      >>> ht = jnp.array([[0.5, 1.0, 0.0], [1.0, 0.0, 1.0]])
      >>> wt = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
      >>> round(float(jaxloss.linear_jensen_shannon_divergence(hs, ws, ht, wt)), 4)
      0.1249

    Equivalent to ``jaxloss.jensen_shannon_divergence(log_softmax(student_logits / T),
    log_softmax(teacher_logits / T), beta=beta)`` of the materialized logits (the
    teacher's under ``jax.lax.stop_gradient``), to TRL's ``GKDTrainer.generalized_jsd_loss``
    and to Liger Kernel's ``LigerFusedLinearJSD`` (PyTorch and Triton).
    """
    fn = "linear_jensen_shannon_divergence"
    return _linear_divergence(
        fn,
        "jsd",
        student_hidden,
        student_weight,
        teacher_hidden,
        teacher_weight,
        labels,
        student_bias,
        teacher_bias,
        temperature,
        beta,
        ignore_index,
        teacher_gradient,
        chunk_size,
        axis_name,
        reduction,
        where,
        weights,
    )
