"""Self-supervised and metric-learning losses over a batch of embeddings.

Each loss here compares every example of a batch with every other one (or, for
[`circle_loss`][jaxloss.circle_loss] with ``ref_embeddings``, with a separate set of
reference embeddings), so its per-example value depends on the whole batch. The batch
axis is the second to last: ``embeddings`` (or ``x``/``y``) are ``[..., B, D]`` and
``reduction="none"`` gives one value per anchor, ``[..., B]``. Leading axes hold
independent batches (they are never compared with each other), which is what
``jax.vmap`` over them would give.

``where`` removes examples from the batch: a masked example is neither an anchor nor a
positive or negative for any other anchor, so the values of the remaining anchors are
those of the batch without it, and its inputs get exactly zero gradient even when they
are inf/NaN. (``where`` therefore is not the same as masking the ``"none"`` output of
the full batch.) ``weights`` only weight the anchors in the reduction.

Embeddings are L2-normalized with the norm floored at ``sqrt(finfo(dtype).eps)`` (the
squared norm at ``eps``, as ``optax.losses.ntxent`` does): a zero vector is normalized
to the zero vector (cosine similarity 0 with everything) with a finite gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._registry import register

# ---------------------------------------------------------------------------
# shared helpers


def _embeddings(fn: str, name: str, x: ArrayLike) -> Array:
    """A floating ``[..., B, D]`` array (at least 2-D)."""
    x = core.as_logits(fn, name, x)
    if x.ndim < 2:
        raise ValueError(
            f"{fn}: argument '{name}' must have shape [..., batch, features] (at least 2 "
            f"dimensions), got {name}.shape={tuple(x.shape)}; for a single example add a "
            f"batch axis"
        )
    return x


def _class_labels(fn: str, embeddings: Array, labels: ArrayLike) -> Array:
    labels = core.as_labels(fn, "labels", labels)
    if labels.shape != embeddings.shape[:-1]:
        raise ValueError(
            f"{fn}: argument 'labels' must have the shape of 'embeddings' without its last "
            f"(feature) axis, got embeddings.shape={tuple(embeddings.shape)} and "
            f"labels.shape={tuple(labels.shape)}"
        )
    return labels


def _normalize(x: Array) -> Array:
    """``x / max(||x||, sqrt(eps))`` along the last axis; finite gradient at ``x = 0``."""
    eps = jnp.finfo(x.dtype).eps
    sq = jnp.sum(jnp.square(x), axis=-1, keepdims=True)
    return x * lax.rsqrt(jnp.maximum(sq, jnp.asarray(eps, x.dtype)))


def _pair_mask(mask: Array | None, shape: tuple) -> Array:
    """``[..., B, B]`` validity of the pairs ``(i, j)`` from the per-example mask."""
    if mask is None:
        return jnp.ones(shape, bool)
    return mask[..., :, None] & mask[..., None, :]


def _masked_logsumexp(z: Array, mask: Array) -> tuple[Array, Array]:
    """``log sum_j exp(z_ij)`` over the ``j`` with ``mask_ij``, and whether any exists.

    Rows without a valid entry give the finite value ``0`` with zero gradient (instead of
    ``-inf`` and NaN gradients); callers select them away with the second result.
    """
    any_valid = jnp.any(mask, axis=-1)
    top = jnp.max(jnp.where(mask, z, -jnp.inf), axis=-1, keepdims=True, initial=-jnp.inf)
    top = lax.stop_gradient(jnp.where(jnp.isfinite(top), top, jnp.zeros_like(top)))
    shifted = jnp.where(mask, z, top) - top
    total = jnp.sum(jnp.where(mask, jnp.exp(shifted), jnp.zeros_like(z)), axis=-1)
    safe = jnp.where(any_valid, total, jnp.ones_like(total))
    out = jnp.log(safe) + top[..., 0]
    return jnp.where(any_valid, out, jnp.zeros_like(out)), any_valid


def _inputs(fn, names, arrays, where):
    """Validates ``[..., B, D]`` inputs; returns them in the compute dtype, masked, + mask."""
    xs = [_embeddings(fn, n, a) for n, a in zip(names, arrays)]
    for n, x in zip(names[1:], xs[1:]):
        core.check_same_shape(fn, names[0], xs[0], n, x)
    dtype = core.compute_dtype(*xs)
    xs = [x.astype(dtype) for x in xs]
    mask = core.example_mask(fn, where, xs[0].shape[:-1])
    if mask is not None:
        xs = [core.mask_inputs(mask, x, axis=-1) for x in xs]
    return xs, mask, dtype


def _same_label_pairs(labels: Array, mask: Array | None, batch_shape: tuple):
    """Positive (same label, ``i != j``) and negative (different label) valid pairs."""
    n = batch_shape[-1]
    valid = _pair_mask(mask, batch_shape + (n,))
    same = labels[..., :, None] == labels[..., None, :]
    eye = jnp.eye(n, dtype=bool)
    return same & ~eye & valid, ~same & valid


# ---------------------------------------------------------------------------
# losses


@register(
    family="self_supervised",
    inputs="embeddings",
    optax="optax.losses.ntxent",
    ranges={"temperature": Range(low=0.0, low_open=True)},
)
def ntxent(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    temperature: ArrayLike = 0.07,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Normalized temperature-scaled cross-entropy (NT-Xent, SimCLR), per anchor.

    With cosine similarities $z_{ij} = \cos(e_i, e_j) / \tau$, positives
    $P(i) = \{j \ne i : y_j = y_i\}$ and negatives $N(i) = \{k : y_k \ne
    y_i\}$, every positive pair has the loss

    $$
        \ell_{ij} = -\log \frac{e^{z_{ij}}}{e^{z_{ij}} + \sum_{k \in N(i)} e^{z_{ik}}}
        = \operatorname{softplus}\Bigl(\log\sum_{k \in N(i)} e^{z_{ik}} - z_{ij}\Bigr)
    $$

    and anchor $i$ gets the sum of its pair losses divided by the mean number of
    positives per anchor of its batch ($n_{\mathrm{pairs}} / B$):

    $$
        \ell_i = \frac{B}{\sum_{a} |P(a)|} \sum_{j \in P(i)} \ell_{ij}
    $$

    so that the plain mean over anchors is the mean over all positive pairs, optax's
    value. When every anchor has the same number of positives (two augmented views per
    image: one each), $\ell_i$ is simply the mean of its pair losses.

    Args:
      embeddings: ``[..., B, D]`` floating; ``B`` examples compared with each other,
        leading axes are independent batches.
      labels: ``[..., B]`` integer group ids; examples with equal labels form positive
        pairs (e.g. ``[0, 0, 1, 1]`` for two views of two images).
      temperature: ``> 0``; Python float or (traced) JAX scalar.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``[..., B]``; masked examples are removed
        from the batch (see the module docstring) and get zero gradient.
      weights: non-negative anchor weights broadcastable to ``[..., B]``.

    Returns:
      A scalar, or ``[..., B]`` for ``reduction="none"``; float32 for half precision
      inputs, float64 for float64 inputs.

    Raises:
      ValueError: if ``labels.shape != embeddings.shape[:-1]``, ``embeddings`` has fewer
        than 2 dimensions, or a concrete ``temperature`` is not positive.
      TypeError: for non-floating ``embeddings`` or non-integer ``labels``.

    Note:
      A batch without any positive pair gives loss 0 (optax: NaN from 0/0) with zero
      gradient; an anchor without positives gives 0; an anchor without negatives has
      pair losses 0. Zero embeddings have cosine similarity 0 with everything (finite
      value and gradient).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
      >>> labels = jnp.array([0, 0, 1, 1])
      >>> out = jaxloss.ntxent(e, labels, temperature=0.5, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.2333, 0.6271, 0.6271, 0.2333]
      >>> round(float(jaxloss.ntxent(e, labels, temperature=0.5)), 4)
      0.4302

    Equivalent to ``optax.losses.ntxent(embeddings, labels, temperature)`` for
    ``reduction="mean"`` (a 2-D batch with at least one positive pair); optax takes
    ``temperature`` positionally and has no per-anchor output.
    """
    fn = "ntxent"
    (e,), mask, dtype = _inputs(fn, ("embeddings",), (embeddings,), where)
    labels = _class_labels(fn, e, labels)
    temperature = core.hyperparameter(fn, "temperature", temperature, dtype)
    batch_shape = e.shape[:-1]
    u = _normalize(e)
    z = jnp.einsum("...id,...jd->...ij", u, u) / temperature
    pos, neg = _same_label_pairs(labels, mask, batch_shape)
    lse_neg, has_neg = _masked_logsumexp(z, neg)
    pair = jax.nn.softplus(lse_neg[..., :, None] - z)
    pair = jnp.where(pos & has_neg[..., :, None], pair, jnp.zeros_like(pair))
    per_anchor = jnp.sum(pair, axis=-1)
    # B / n_pairs of each batch (B = number of unmasked examples).
    n_pairs = jnp.sum(pos, axis=(-2, -1)).astype(dtype)
    n_valid = (
        jnp.full(batch_shape[:-1], batch_shape[-1], dtype)
        if mask is None
        else jnp.sum(mask, axis=-1).astype(dtype)
    )
    has_pairs = n_pairs > 0
    scale = jnp.where(has_pairs, n_valid / jnp.where(has_pairs, n_pairs, 1), 0)
    values = per_anchor * scale[..., None]
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="self_supervised",
    inputs="embeddings",
    ranges={"temperature": Range(low=0.0, low_open=True)},
)
def clip_loss(
    x: ArrayLike,
    y: ArrayLike,
    *,
    temperature: ArrayLike = 0.07,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Symmetric InfoNCE (CLIP) loss of paired embeddings, per pair.

    With $z_{ij} = \hat x_i \cdot \hat y_j / \tau$ for L2-normalized
    $\hat x, \hat y$, pair $i$ is the positive of both its row and its
    column of $z$:

    $$
        \ell_i = \tfrac12 \Bigl(\log\sum_j e^{z_{ij}} + \log\sum_j e^{z_{ji}}\Bigr)
        - z_{ii}
    $$

    i.e. the mean of the cross-entropies of row $i$ (``x`` to ``y``) and column
    $i$ (``y`` to ``x``) with target $i$.

    Args:
      x: ``[..., B, D]`` floating embeddings (e.g. images); leading axes are independent
        batches.
      y: ``[..., B, D]`` floating embeddings (e.g. texts); ``y[..., i, :]`` is the
        positive of ``x[..., i, :]``.
      temperature: ``> 0``, divides the similarities; Python float or (traced, e.g.
        learned) JAX scalar: ``jax.grad`` with respect to it works. CLIP learns
        $\log(1/\tau)$ initialized at $\tau = 0.07$; pass
        ``jnp.exp(-log_scale)``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``[..., B]``; masked pairs are removed from
        the batch (neither rows nor columns) and get zero gradient.
      weights: non-negative pair weights broadcastable to ``[..., B]``.

    Returns:
      A scalar, or ``[..., B]`` for ``reduction="none"``; float32 for half precision
      inputs, float64 for float64 inputs.

    Raises:
      ValueError: if ``x`` and ``y`` differ in shape or have fewer than 2 dimensions, or
        a concrete ``temperature`` is not positive.
      TypeError: for non-floating inputs.

    Note:
      Zero vectors are normalized to zero (similarity 0, finite gradient). The
      ``"mean"`` is CLIP's loss: the mean of the two directions' mean cross-entropies.
      A batch of one pair gives 0.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> y = jnp.array([[1.0, 0.2], [0.1, 1.0]])
      >>> out = jaxloss.clip_loss(x, y, temperature=0.5, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.1738, 0.1693]

    No direct equivalent in optax, PyTorch or Keras (the closest is ``optax.losses.ntxent``,
    InfoNCE over one set of labelled embeddings); matches the pseudo-code of Radford et al.
    (2021), "Learning Transferable Visual Models From Natural Language Supervision".
    """
    fn = "clip_loss"
    (a, b), mask, dtype = _inputs(fn, ("x", "y"), (x, y), where)
    temperature = core.hyperparameter(fn, "temperature", temperature, dtype)
    n = a.shape[-2]
    z = jnp.einsum("...id,...jd->...ij", _normalize(a), _normalize(b)) / temperature
    valid = _pair_mask(mask, a.shape[:-2] + (n, n))
    rows, _ = _masked_logsumexp(z, valid)
    cols, _ = _masked_logsumexp(jnp.swapaxes(z, -1, -2), jnp.swapaxes(valid, -1, -2))
    values = 0.5 * (rows + cols) - jnp.diagonal(z, axis1=-2, axis2=-1)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="self_supervised",
    inputs="embeddings",
    ranges={"temperature": Range(low=0.0, low_open=True), "bias": Range()},
)
def siglip_loss(
    x: ArrayLike,
    y: ArrayLike,
    *,
    temperature: ArrayLike = 0.1,
    bias: ArrayLike = -10.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Pairwise sigmoid (SigLIP) loss of paired embeddings, one row per example.

    With $z_{ij} = \hat x_i \cdot \hat y_j / \tau + b$ for L2-normalized
    $\hat x, \hat y$ and $s_{ij} = +1$ if $i = j$ else $-1$:

    $$
        \ell_i = -\sum_j \log \sigma(s_{ij} z_{ij})
    $$

    Every pair is an independent binary classification; the ``"mean"`` over rows is the
    paper's loss (the total divided by the batch size).

    Args:
      x: ``[..., B, D]`` floating embeddings; leading axes are independent batches.
      y: ``[..., B, D]`` floating embeddings; ``y[..., i, :]`` is the positive of
        ``x[..., i, :]``.
      temperature: ``> 0``, divides the similarities (the paper multiplies by
        $t = e^{t'}$: pass ``temperature=jnp.exp(-t_prime)``). Default ``0.1``,
        the paper's initialization $t = 10$. May be traced (learned).
      bias: real offset $b$ of the logits, default ``-10.0`` (the paper's
        initialization). May be traced (learned).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``[..., B]``; masked pairs are removed from
        the batch (neither rows nor columns) and get zero gradient.
      weights: non-negative row weights broadcastable to ``[..., B]``.

    Returns:
      A scalar, or ``[..., B]`` for ``reduction="none"``; float32 for half precision
      inputs, float64 for float64 inputs.

    Raises:
      ValueError: if ``x`` and ``y`` differ in shape or have fewer than 2 dimensions, or
        a concrete ``temperature`` is not positive.
      TypeError: for non-floating inputs.

    Note:
      Computed with ``jax.nn.log_sigmoid`` (no overflow for large logits). Zero vectors
      are normalized to zero (logit $b$, finite gradient).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> y = jnp.array([[1.0, 0.2], [0.1, 1.0]])
      >>> out = jaxloss.siglip_loss(x, y, temperature=1.0, bias=0.0, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [1.0627, 1.1106]

    No direct equivalent in optax, PyTorch or Keras (the closest is
    [`clip_loss`][jaxloss.clip_loss], with a softmax instead of the pairwise sigmoid); Zhai et
    al. (2023), "Sigmoid Loss for Language Image Pre-Training", with ``temperature`` dividing
    (as in [`clip_loss`][jaxloss.clip_loss]).
    """
    fn = "siglip_loss"
    (a, b), mask, dtype = _inputs(fn, ("x", "y"), (x, y), where)
    temperature = core.hyperparameter(fn, "temperature", temperature, dtype)
    bias = core.hyperparameter(fn, "bias", bias, dtype)
    n = a.shape[-2]
    z = jnp.einsum("...id,...jd->...ij", _normalize(a), _normalize(b)) / temperature + bias
    sign = jnp.where(jnp.eye(n, dtype=bool), 1, -1).astype(dtype)
    terms = -jax.nn.log_sigmoid(sign * z)
    valid = _pair_mask(mask, a.shape[:-2] + (n, n))
    values = jnp.sum(jnp.where(valid, terms, jnp.zeros_like(terms)), axis=-1)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="self_supervised",
    inputs="embeddings",
    keras="keras.losses.circle",
    ranges={"margin": Range(), "gamma": Range(low=0.0)},
    notes={
        "keras": (
            "`y_true, y_pred` are `labels, embeddings`; `ref_labels`, `ref_embeddings` and "
            "`remove_diagonal` mean the same (each reference argument defaults to the batch's "
            "own). Keras expects L2-normalized embeddings and clamps the distance `1 - s` at 0; "
            "jaxloss normalizes them (equal values on unit vectors). Keras differentiates "
            "through the weights alpha: pass `alpha_gradient=True` for its gradient. Defaults "
            "differ: Keras `gamma=80, margin=0.4`. `keras.losses.Circle` (no reference "
            "arguments) divides its `'sum_over_batch_size'` by the number of anchors whose loss "
            "is > 0 (those with a positive and a negative); jaxloss's `'mean'` by all anchors."
        ),
    },
)
def circle_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    remove_diagonal: bool = True,
    margin: ArrayLike = 0.25,
    gamma: ArrayLike = 256.0,
    alpha_gradient: bool = False,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Circle loss (Sun et al. 2020) with pairs from class labels, per anchor.

    With cosine similarities $s_{ij}$ between anchor $i$ and reference $j$, positives
    $s_p$ (same label) and negatives $s_n$ (other labels) of anchor $i$:

    $$
        \ell_i = \operatorname{softplus}\Bigl(
        \log\sum_n e^{\gamma \alpha_n (s_n - \Delta_n)} +
        \log\sum_p e^{-\gamma \alpha_p (s_p - \Delta_p)}\Bigr)
    $$

    with $\alpha_p = [1 + m - s_p]_+$, $\alpha_n = [s_n + m]_+$,
    $\Delta_p = 1 - m$, $\Delta_n = m$. The references are the batch itself unless
    ``ref_embeddings`` are given; the pair $(i, i)$ is not a positive when
    ``remove_diagonal`` is True.

    Args:
      embeddings: ``[..., B, D]`` floating anchors; leading axes are independent batches.
      labels: ``[..., B]`` integer class labels of the anchors.
      ref_embeddings: optional ``[..., R, D]`` floating reference embeddings (a memory
        bank, the other view, ...), with the leading axes and ``D`` of ``embeddings``;
        default ``embeddings`` (the batch is compared with itself).
      ref_labels: optional ``[..., R]`` integer labels of the references; default
        ``labels`` (then the references need ``R = B`` rows). Each of the two reference
        arguments defaults on its own, as in Keras.
      remove_diagonal: whether the pair $(i, i)$ (anchor $i$ and reference $i$, by
        index, whatever the references are) is left out of the positives (a Python
        bool, static). With the batch as its own references, False counts every anchor
        as its own positive ($s_{ii} = 1$).
      margin: relaxation $m$ (any real; the paper uses ``0.25`` for face
        recognition). May be traced.
      gamma: scale $\gamma \ge 0$ (the paper uses ``256``; ``80`` for
        fine-grained retrieval). May be traced.
      alpha_gradient: whether autodiff differentiates through the weights
        $\alpha_p, \alpha_n$ (a Python bool, static). False (default): they are
        constants, as in the paper's implementation; True: the gradient is the
        derivative of the value, Keras's.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``[..., B]``; masked anchors give 0 and get
        zero gradient. When the batch is its own reference (``ref_embeddings=None``),
        masked examples are also removed from the references.
      weights: non-negative anchor weights broadcastable to ``[..., B]``.

    Returns:
      A scalar, or ``[..., B]`` for ``reduction="none"``; float32 for half precision
      inputs, float64 for float64 inputs.

    Raises:
      ValueError: if ``labels.shape != embeddings.shape[:-1]``, ``embeddings`` or
        ``ref_embeddings`` has fewer than 2 dimensions, ``ref_embeddings`` differs from
        ``embeddings`` in its leading axes or ``D``, ``ref_labels`` does not have the
        shape of the references without ``D``, ``ref_labels`` is None while the
        references do not have ``B`` rows, or a concrete ``gamma`` is negative.
      TypeError: for non-floating ``embeddings`` or ``ref_embeddings``, non-integer
        ``labels`` or ``ref_labels``, or a ``remove_diagonal`` or ``alpha_gradient`` that
        is not a Python bool.

    Note:
      An anchor without a positive or without a negative gives 0 with zero gradient
      (also in the ``"mean"``, which divides by every anchor). Zero embeddings have
      similarity 0 with everything (finite value and gradient). With
      ``alpha_gradient=False`` the gradient is the paper's, not the derivative of the
      value through $\alpha$ (finite differences of the value disagree with it).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
      >>> labels = jnp.array([0, 0, 1, 1])
      >>> out = jaxloss.circle_loss(e, labels, gamma=4.0, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.9653, 1.5509, 1.5509, 0.9653]
      >>> bank = jnp.array([[0.6, 0.8], [-1.0, 0.0]])
      >>> out = jaxloss.circle_loss(e, labels, ref_embeddings=bank, ref_labels=jnp.array([0, 1]),
      ...     remove_diagonal=False, gamma=4.0, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.907, 0.5787, 6.0623, 0.9454]

    Equivalent to ``keras.losses.circle(labels, embeddings, ref_labels, ref_embeddings,
    remove_diagonal, gamma, margin)`` (``reduction="none"``; Keras expects unit-norm
    embeddings, which jaxloss normalizes, and differentiates through $\alpha$, which is
    ``alpha_gradient=True``). ``keras.losses.Circle(gamma, margin, remove_diagonal)`` is
    the same loss without reference arguments whose ``"sum_over_batch_size"`` divides by
    the number of anchors with a loss above 0 (jaxloss's ``"mean"`` divides by all of
    them). Sun et al. (2020), "Circle Loss: A Unified Perspective of Pair Similarity
    Optimization", Eq. 6 with pairs from class labels; the paper's implementation and
    ``pytorch_metric_learning.losses.CircleLoss`` hold $\alpha$ constant. Not in optax.
    """
    fn = "circle_loss"
    remove_diagonal = core.static_bool(fn, "remove_diagonal", remove_diagonal)
    alpha_gradient = core.static_bool(fn, "alpha_gradient", alpha_gradient)
    (e,), mask, dtype = _inputs(fn, ("embeddings",), (embeddings,), where)
    labels = _class_labels(fn, e, labels)
    if ref_embeddings is None:
        r, ref_mask = e, mask
    else:
        r = _embeddings(fn, "ref_embeddings", ref_embeddings)
        if r.shape[:-2] != e.shape[:-2] or r.shape[-1] != e.shape[-1]:
            raise ValueError(
                f"{fn}: argument 'ref_embeddings' must have shape [..., R, D] with the leading "
                f"axes and D of 'embeddings' [..., B, D], got embeddings.shape="
                f"{tuple(e.shape)} and ref_embeddings.shape={tuple(r.shape)}"
            )
        dtype = core.compute_dtype(e, r)
        e, r, ref_mask = e.astype(dtype), r.astype(dtype), None
    if ref_labels is None:
        if r.shape[-2] != e.shape[-2]:
            raise ValueError(
                f"{fn}: argument 'ref_embeddings' must have as many rows as 'embeddings' "
                f"when 'ref_labels' is None (the references then take 'labels'), got "
                f"embeddings.shape={tuple(e.shape)} and ref_embeddings.shape={tuple(r.shape)}"
            )
        ref_y = labels
    else:
        ref_y = core.as_labels(fn, "ref_labels", ref_labels)
        if ref_y.shape != r.shape[:-1]:
            raise ValueError(
                f"{fn}: argument 'ref_labels' must have the shape of the reference embeddings "
                f"without their last (feature) axis, got references of shape {tuple(r.shape)} "
                f"and ref_labels.shape={tuple(ref_y.shape)}"
            )
    margin = core.hyperparameter(fn, "margin", margin, dtype)
    gamma = core.hyperparameter(fn, "gamma", gamma, dtype)
    n_anchor, n_ref = e.shape[-2], r.shape[-2]
    pair_shape = e.shape[:-2] + (n_anchor, n_ref)
    valid = jnp.ones(pair_shape, bool)
    if mask is not None:
        valid = valid & mask[..., :, None]
    if ref_mask is not None:
        valid = valid & ref_mask[..., None, :]
    same = labels[..., :, None] == ref_y[..., None, :]
    pos, neg = same & valid, ~same & valid
    if remove_diagonal:
        pos = pos & ~jnp.eye(n_anchor, n_ref, dtype=bool)
    s = jnp.einsum("...id,...jd->...ij", _normalize(e), _normalize(r))
    alpha_p = jax.nn.relu(1 + margin - s)
    alpha_n = jax.nn.relu(s + margin)
    if not alpha_gradient:
        alpha_p, alpha_n = lax.stop_gradient(alpha_p), lax.stop_gradient(alpha_n)
    lse_p, has_p = _masked_logsumexp(-gamma * alpha_p * (s - (1 - margin)), pos)
    lse_n, has_n = _masked_logsumexp(gamma * alpha_n * (s - margin), neg)
    both = has_p & has_n
    values = jnp.where(both, jax.nn.softplus(lse_p + lse_n), jnp.zeros_like(lse_p))
    return core.finish(fn, values, reduction, mask, weights)
