"""Metric-learning losses: pairs and triplets of scores or embeddings.

Two elementwise losses on scores ([`margin_ranking_loss`][jaxloss.margin_ranking_loss],
[`hinge_embedding_loss`][jaxloss.hinge_embedding_loss], PyTorch's ``"none"`` shape) and four
per-example losses on embeddings ``[..., D]`` that drop their vector ``axis``
([`cosine_embedding_loss`][jaxloss.cosine_embedding_loss],
[`contrastive_loss`][jaxloss.contrastive_loss],
[`triplet_margin_loss`][jaxloss.triplet_margin_loss],
[`triplet_margin_with_distance_loss`][jaxloss.triplet_margin_with_distance_loss]). Labels of the
PyTorch-style losses are ``-1``/``+1``; [`contrastive_loss`][jaxloss.contrastive_loss] takes ``1``
for a similar pair and ``0`` for a dissimilar one. Every distance is finite, with a finite gradient,
when two vectors coincide or are zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._numerics import inverse_norm, safe_abs, safe_sqrt
from jaxloss._registry import register

# ---------------------------------------------------------------------------
# helpers


def _elementwise(fn: str, arrays: dict[str, ArrayLike], labels: ArrayLike, where):
    """Same-shape score arrays and labels of an elementwise loss, in the compute dtype.

    Returns ``(arrays, labels, mask)``; masked entries of every input are replaced by 0 so
    that they get exactly zero gradient.
    """
    names = list(arrays)
    xs = [core.as_logits(fn, n, arrays[n]) for n in names]
    y = core.as_float(fn, "labels", labels)
    for n, x in zip(names[1:], xs[1:]):
        core.check_same_shape(fn, names[0], xs[0], n, x)
    core.check_same_shape(fn, names[0], xs[0], "labels", y)
    dtype = core.compute_dtype(*xs, y)
    xs = [x.astype(dtype) for x in xs]
    y = y.astype(dtype)
    mask = core.example_mask(fn, where, xs[0].shape)
    if mask is not None:
        xs = [core.mask_inputs(mask, x) for x in xs]
        y = core.mask_inputs(mask, y)
    return xs, y, mask


def _embeddings(fn: str, arrays: dict[str, ArrayLike], where, axis: int, labels=None):
    """Same-shape embeddings ``[..., D, ...]`` (and optional per-example labels).

    Returns ``(arrays, labels, mask, axis)``: arrays in the compute dtype, ``axis``
    normalized, ``labels`` checked to have the per-example shape (``axis`` dropped), and
    masked examples of every input replaced by 0.
    """
    names = list(arrays)
    xs = [core.as_logits(fn, n, arrays[n]) for n in names]
    for n, x in zip(names[1:], xs[1:]):
        core.check_same_shape(fn, names[0], xs[0], n, x)
    axis = core.normalize_axis(fn, axis, xs[0].ndim, names[0])
    example_shape = xs[0].shape[:axis] + xs[0].shape[axis + 1 :]
    y = None
    if labels is not None:
        y = core.as_float(fn, "labels", labels)
        if y.shape != example_shape:
            raise ValueError(
                f"{fn}: argument 'labels' must have the per-example shape of '{names[0]}' "
                f"without axis {axis}, {tuple(example_shape)}, got labels.shape="
                f"{tuple(y.shape)} and {names[0]}.shape={tuple(xs[0].shape)}"
            )
    dtype = core.compute_dtype(*xs, y)
    xs = [x.astype(dtype) for x in xs]
    mask = core.example_mask(fn, where, example_shape)
    if mask is not None:
        xs = [core.mask_inputs(mask, x, axis=axis) for x in xs]
    if y is not None:
        y = y.astype(dtype)
        if mask is not None:
            y = core.mask_inputs(mask, y)
    return xs, y, mask, axis


def _p_norm(v: Array, p, axis: int) -> Array:
    r"""The true p-norm $(\sum_i |v_i|^p)^{1/p}$ along ``axis``, for any ``p > 0``.

    ``p`` is a Python number or a (possibly traced) JAX scalar; ``1``, ``2`` and ``inf``
    given as concrete values take exact special forms. The general form divides by the
    largest magnitude first (no overflow for large ``p`` or large entries); that scale is
    held constant for autodiff, which is exact because the norm is homogeneous. The
    gradient is finite everywhere: a zero entry gets gradient 0 (the subgradient
    ``sign(0) = 0``), a zero vector gets a zero gradient.
    """
    static = core.static_value(p)
    if static == 2.0:
        return safe_sqrt(jnp.sum(jnp.square(v), axis=axis))
    a = safe_abs(v)
    if static == 1.0:
        return jnp.sum(a, axis=axis)
    if static == math.inf:
        return jnp.max(a, axis=axis)
    scale = jax.lax.stop_gradient(jnp.max(a, axis=axis, keepdims=True))
    nonzero_scale = scale > 0
    r = a / jnp.where(nonzero_scale, scale, jnp.ones_like(scale))
    nz = r > 0
    powered = jnp.where(nz, jnp.exp(p * jnp.log(jnp.where(nz, r, jnp.ones_like(r)))), 0)
    total = jnp.sum(powered, axis=axis)  # >= 1 wherever the vector is nonzero
    scale = jnp.squeeze(scale, axis)
    ok = jnp.squeeze(nonzero_scale, axis)
    root = jnp.exp(jnp.log(jnp.where(ok, total, jnp.ones_like(total))) / p)
    return jnp.where(ok, scale * root, 0)


def _distance(x1: Array, x2: Array, p, epsilon, axis: int) -> Array:
    """PyTorch's pairwise distance: ``||x1 - x2 + epsilon||_p`` along ``axis``."""
    diff = x1 - x2
    if core.static_value(epsilon) != 0.0:
        diff = diff + epsilon
    return _p_norm(diff, p, axis)


def _norm_degree(fn: str, p, dtype) -> Array | float:
    """``p > 0``: concrete values are range-checked and kept exact, traced ones pass."""
    checked = core.hyperparameter(fn, "p", p, dtype)
    static = core.static_value(p)
    return static if static in (1.0, 2.0, math.inf) else checked


# ---------------------------------------------------------------------------
# losses on scores


@register(
    family="metric",
    inputs="values",
    torch="torch.nn.functional.margin_ranking_loss",
    ranges={"margin": Range()},
)
def margin_ranking_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 0.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Margin ranking loss of two score arrays and a preferred order, elementwise.

    $$
        \ell_i = \max\bigl(0,\ -y_i\,(x_{1,i} - x_{2,i}) + m\bigr)
    $$

    ``y_i = 1`` says ``x1`` should rank higher (be larger) than ``x2`` by at least the
    margin ``m``; ``y_i = -1`` says the opposite.

    Args:
      x1: scores, any shape, floating.
      x2: scores of the same shape.
      labels: ``-1`` or ``+1`` of the same shape (float, integer or bool is cast; other
        values enter the formula as they are).
      margin: the margin ``m``, any real number; a Python float or a JAX scalar.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``x1.shape``; masked entries are excluded and
        get zero gradient.
      weights: non-negative weights broadcastable to ``x1.shape``.

    Returns:
      A scalar, or ``x1.shape`` for ``reduction="none"``; float32 for half precision
      inputs.

    Raises:
      TypeError: if ``x1`` or ``x2`` is not floating, if ``labels`` is complex or not numeric, if
        ``margin`` is not a real number, or if ``where`` is not boolean.
      ValueError: if ``x2`` or ``labels`` does not have the shape of ``x1``, if a concrete
        ``margin`` is NaN, if ``where`` or ``weights`` is not broadcastable to the per-example loss
        shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      The gradient at the kink (the loss exactly 0 with a positive argument of ``max``
      about to appear) is 0, as ``jax.nn.relu`` chooses.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([0.6934, -0.7239, 1.1954])
      >>> x2 = jnp.array([-0.4691, 0.2670, -1.7452])
      >>> y = jnp.ones(3)
      >>> [round(v, 4) for v in jaxloss.margin_ranking_loss(x1, x2, y, reduction="none").tolist()]
      [0.0, 0.9909, 0.0]

    Equivalent to ``torch.nn.functional.margin_ranking_loss`` (``reduction="none"``) and
    Axon's ``margin_ranking(y_true, {y_pred1, y_pred2})``.
    """
    fn = "margin_ranking_loss"
    (a, b), y, mask = _elementwise(fn, {"x1": x1, "x2": x2}, labels, where)
    m = core.hyperparameter(fn, "margin", margin, a.dtype)
    values = jax.nn.relu(m - y * (a - b))
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="metric",
    inputs="values",
    torch="torch.nn.functional.hinge_embedding_loss",
    ranges={"margin": Range()},
)
def hinge_embedding_loss(
    inputs: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Hinge embedding loss of (typically distance-like) inputs and labels in {-1, +1}.

    $$
        \ell_i = \begin{cases} x_i & y_i = 1 \\ \max(0,\ m - x_i) & y_i = -1 \end{cases}
    $$

    Usually ``x`` is a distance between two embeddings: similar pairs (``y = 1``) are
    pulled together, dissimilar ones (``y = -1``) pushed at least ``m`` apart.

    Args:
      inputs: values, any shape, floating.
      labels: ``-1`` or ``+1`` of the same shape (float, integer or bool is cast).
      margin: the margin ``m``, any real number; a Python float or a JAX scalar.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``inputs.shape``; masked entries are excluded
        and get zero gradient.
      weights: non-negative weights broadcastable to ``inputs.shape``.

    Returns:
      A scalar, or ``inputs.shape`` for ``reduction="none"``; float32 for half precision
      inputs.

    Raises:
      TypeError: if ``inputs`` is not floating, if ``labels`` is complex or not numeric, if
        ``margin`` is not a real number, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``inputs``, if a concrete ``margin`` is
        NaN, if ``where`` or ``weights`` is not broadcastable to the per-example loss shape, or if
        ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      As in PyTorch, a label other than ``+-1`` adds both terms (the first applies where
      ``y != -1``, the second where ``y != 1``). The two branches are selected, not
      multiplied, so ``x = +inf`` with ``y = -1`` gives 0 with zero gradient. The gradient
      at the kink ``x = m`` is 0.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([0.3, 0.3, 2.0])
      >>> y = jnp.array([1.0, -1.0, -1.0])
      >>> jaxloss.hinge_embedding_loss(x, y, reduction="none").tolist()
      [0.30000001192092896, 0.699999988079071, 0.0]

    Equivalent to ``torch.nn.functional.hinge_embedding_loss`` (``reduction="none"``).
    """
    fn = "hinge_embedding_loss"
    (x,), y, mask = _elementwise(fn, {"inputs": inputs}, labels, where)
    m = core.hyperparameter(fn, "margin", margin, x.dtype)
    zero = jnp.zeros((), x.dtype)
    values = jnp.where(y != -1, x, zero) + jnp.where(y != 1, jax.nn.relu(m - x), zero)
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# distances


@core.declare_ranges({"p": Range(low=0.0, low_open=True), "epsilon": Range(low=0.0)})
def pairwise_distance(
    x1: ArrayLike,
    x2: ArrayLike,
    *,
    p: ArrayLike = 2.0,
    epsilon: ArrayLike = 1e-6,
    axis: int = -1,
) -> Array:
    r"""Distance between corresponding vectors, the p-norm of their difference.

    $$
        d(x_1, x_2) = \Bigl(\sum_j |x_{1,j} - x_{2,j} + \epsilon|^p\Bigr)^{1/p}
    $$

    Not a loss: the default ``distance_function`` of
    [`triplet_margin_with_distance_loss`][jaxloss.triplet_margin_with_distance_loss] and the
    distance of [`triplet_margin_loss`][jaxloss.triplet_margin_loss].

    Args:
      x1: vectors ``[..., D, ...]`` with ``D`` along ``axis``, floating.
      x2: vectors of the same shape.
      p: the norm degree, ``> 0`` (``inf`` allowed as a concrete value); a Python float
        or a JAX scalar.
      epsilon: added to every difference (PyTorch's ``eps``), ``>= 0``.
      axis: static int, the vector axis (dropped from the output).

    Returns:
      The input shape without ``axis``; float32 for half precision inputs.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[3.0, 4.0], [1.0, -1.0]])
      >>> jaxloss.pairwise_distance(x, jnp.zeros((2, 2)), epsilon=0.0).tolist()
      [5.0, 1.4142135381698608]

    Note:
      Finite with a finite gradient for identical vectors, also with ``epsilon = 0``
      (value 0, gradient 0) and for ``p < 1``. Absolute values are taken, so odd ``p``
      is a true norm. Equivalent to ``torch.nn.functional.pairwise_distance(x1, x2, p,
      eps, keepdim=False)`` for ``p > 0``.
    """
    fn = "pairwise_distance"
    (a, b), _, _, axis = _embeddings(fn, {"x1": x1, "x2": x2}, None, axis)
    p = _norm_degree(fn, p, a.dtype)
    epsilon = core.hyperparameter(fn, "epsilon", epsilon, a.dtype)
    return _distance(a, b, p, epsilon, axis)


# ---------------------------------------------------------------------------
# losses on embeddings


@register(
    family="metric",
    inputs="embeddings",
    torch="torch.nn.functional.cosine_embedding_loss",
    ranges={"margin": Range(low=-1.0, high=1.0), "epsilon": Range(low=0.0)},
)
def cosine_embedding_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 0.0,
    axis: int = -1,
    epsilon: ArrayLike = 1e-8,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Cosine embedding loss of vector pairs labelled similar (+1) or dissimilar (-1).

    $$
        \ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\
        \max\bigl(0,\ \cos(x_1, x_2) - m\bigr) & y = -1 \end{cases}, \qquad
        \cos(x_1, x_2) = \frac{\langle x_1, x_2\rangle}{\max(\|x_1\|, \epsilon)\,
        \max(\|x_2\|, \epsilon)}
    $$

    Args:
      x1: vectors ``[..., D, ...]`` with ``D`` along ``axis``, floating.
      x2: vectors of the same shape.
      labels: ``-1`` or ``+1`` of the per-example shape (``x1.shape`` without ``axis``);
        float, integer or bool is cast.
      margin: the margin ``m`` in ``[-1, 1]``; a Python float or a JAX scalar.
      axis: static int, the vector axis (dropped from the output).
      epsilon: floor of each vector norm, ``>= 0``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to the per-example shape; masked examples are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to the per-example shape.

    Returns:
      A scalar, or ``x1.shape`` without ``axis`` for ``reduction="none"``; float32 for
      half precision inputs.

    Raises:
      ValueError: if ``labels`` does not have the per-example shape, or a concrete
        ``margin`` is outside ``[-1, 1]`` or ``epsilon`` is negative.

    Note:
      A zero vector has cosine 0 (loss ``1`` for ``y = 1``, ``max(0, -m)`` for
      ``y = -1``) and a finite gradient (see [`cosine_similarity`][jaxloss.cosine_similarity]).
      Labels other than ``+-1`` give 0, as in PyTorch. The gradient at the kink ``cos = m`` is 0.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
      >>> x2 = jnp.array([[0.0, 1.0], [2.0, 2.0], [1.0, 0.0]])
      >>> y = jnp.array([1.0, -1.0, 1.0])
      >>> [round(v, 4) for v in jaxloss.cosine_embedding_loss(x1, x2, y, reduction="none").tolist()]
      [1.0, 1.0, 1.0]

    Equivalent to ``torch.nn.functional.cosine_embedding_loss`` (``reduction="none"``;
    PyTorch adds ``1e-12`` to each squared norm instead of flooring the norms, which
    differs only for vectors of norm below about ``1e-6``).
    """
    fn = "cosine_embedding_loss"
    (a, b), y, mask, axis = _embeddings(fn, {"x1": x1, "x2": x2}, where, axis, labels)
    m = core.hyperparameter(fn, "margin", margin, a.dtype)
    epsilon = core.hyperparameter(fn, "epsilon", epsilon, a.dtype)
    dot = jnp.sum(a * b, axis=axis)
    cos = dot * inverse_norm(a, axis, epsilon) * inverse_norm(b, axis, epsilon)
    zero = jnp.zeros((), a.dtype)
    values = jnp.where(y == 1, 1 - cos, zero) + jnp.where(y == -1, jax.nn.relu(cos - m), zero)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="metric",
    inputs="embeddings",
    ranges={"margin": Range(low=0.0), "epsilon": Range(low=0.0)},
)
def contrastive_loss(
    x1: ArrayLike,
    x2: ArrayLike | None,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    axis: int = -1,
    epsilon: ArrayLike = 1e-6,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Contrastive loss of embedding pairs (Hadsell et al.), label 1 = similar pair.

    $$
        \ell = y\, d^2 + (1 - y)\, \max(0,\ m - d)^2, \qquad
        d = \|x_1 - x_2 + \epsilon\|_2
    $$

    Similar pairs (``y = 1``) are pulled together, dissimilar ones (``y = 0``) pushed at
    least ``m`` apart. Not halved: Hadsell et al. write ``1/2`` before each term; this
    function, like scirs2-neural's ``ContrastiveLoss`` and the usual PyTorch recipes,
    leaves it out (multiply by ``0.5`` for the paper's scale).

    Args:
      x1: embeddings ``[..., D, ...]`` with ``D`` along ``axis``, floating; or, when
        ``x2`` is ``None``, precomputed non-negative distances ``d`` of the per-example
        shape.
      x2: embeddings of the same shape as ``x1``, or ``None`` (``x1`` holds distances;
        ``axis`` and ``epsilon`` are then unused).
      labels: ``1`` (similar) or ``0`` (dissimilar) of the per-example shape
        (``x1.shape`` without ``axis``, or ``x1.shape`` for distances); float, integer or
        bool is cast, and soft labels in ``[0, 1]`` interpolate the two terms.
      margin: the margin ``m >= 0``; a Python float or a JAX scalar.
      axis: static int, the vector axis (dropped from the output).
      epsilon: added to every difference before the norm, as in
        ``torch.nn.functional.pairwise_distance``; ``>= 0``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to the per-example shape; masked examples are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the per-example shape for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if the shapes disagree, or a concrete ``margin`` or ``epsilon`` is
        negative.

    Note:
      The similar-pair term is the squared norm itself (no square root), so its
      gradient is finite and exact at ``d = 0``. The dissimilar-pair term needs
      $\nabla d$, undefined at ``d = 0``: with ``epsilon > 0`` (default) ``d`` is
      never 0 for coincident vectors and the pair is pushed apart along the all-ones
      direction; with ``epsilon = 0`` the value is ``m**2`` and the gradient 0 (a
      subgradient). With precomputed distances the formula is applied to ``x1`` as given.
      ``epsilon = 0`` reproduces scirs2-neural's ``ContrastiveLoss`` (which averages
      over the batch, i.e. ``reduction="mean"``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([[0.0, 0.0], [0.0, 0.0]])
      >>> x2 = jnp.array([[0.3, 0.4], [0.3, 0.4]])
      >>> y = jnp.array([1.0, 0.0])
      >>> v = jaxloss.contrastive_loss(x1, x2, y, epsilon=0.0, reduction="none")
      >>> [round(x, 4) for x in v.tolist()]
      [0.25, 0.25]
      >>> v = jaxloss.contrastive_loss(jnp.array([0.5, 0.5]), None, y, reduction="none")
      >>> [round(x, 4) for x in v.tolist()]
      [0.25, 0.25]

    Equivalent to scirs2-neural's ``ContrastiveLoss(margin)`` (``epsilon=0``). Not in
    optax, PyTorch or Keras.
    """
    fn = "contrastive_loss"
    if x2 is None:
        (d,), y, mask = _elementwise(fn, {"x1": x1}, labels, where)
        sq = jnp.square(d)
        dtype = d.dtype
    else:
        (a, b), y, mask, axis = _embeddings(fn, {"x1": x1, "x2": x2}, where, axis, labels)
        dtype = a.dtype
        epsilon = core.hyperparameter(fn, "epsilon", epsilon, dtype)
        diff = a - b
        if core.static_value(epsilon) != 0.0:
            diff = diff + epsilon
        sq = jnp.sum(jnp.square(diff), axis=axis)
        d = safe_sqrt(sq)
    m = core.hyperparameter(fn, "margin", margin, dtype)
    values = y * sq + (1 - y) * jnp.square(jax.nn.relu(m - d))
    return core.finish(fn, values, reduction, mask, weights)


_TRIPLET_NAMES = ("anchors", "positives", "negatives")


@register(
    family="metric",
    inputs="embeddings",
    optax="optax.losses.triplet_margin_loss",
    torch="torch.nn.functional.triplet_margin_loss",
    ranges={
        "margin": Range(low=0.0),
        "p": Range(low=0.0, low_open=True),
        "epsilon": Range(low=0.0),
    },
    notes={
        "optax": "`norm_degree` is `p`; jaxloss takes absolute values (a true p-norm).",
    },
)
def triplet_margin_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    p: ArrayLike = 2.0,
    epsilon: ArrayLike = 1e-6,
    swap: bool = False,
    axis: int = -1,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Triplet margin loss with a true p-norm distance, per triplet.

    $$
        \ell = \max\bigl(0,\ d(a, p) - d(a, n) + m\bigr), \qquad
        d(x, y) = \Bigl(\sum_j |x_j - y_j + \epsilon|^p\Bigr)^{1/p}
    $$

    With ``swap=True`` the negative distance is $\min(d(a, n), d(p, n))$ (the
    "distance swap" of Balntas et al.).

    Args:
      anchors: embeddings ``[..., D, ...]`` with ``D`` along ``axis``, floating.
      positives: embeddings of the same shape (similar to the anchors).
      negatives: embeddings of the same shape (dissimilar to the anchors).
      margin: the margin ``m >= 0``; a Python float or a JAX scalar.
      p: the norm degree, ``> 0`` (``inf`` allowed as a concrete value); a Python float
        or a JAX scalar (``jax.grad``/``jax.vmap`` over it work).
      epsilon: added to every difference before the norm (PyTorch's ``eps``), ``>= 0``.
      swap: static bool, use the distance swap.
      axis: static int, the vector axis (dropped from the output).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to the per-example shape; masked triplets are
        excluded and get zero gradient.
      weights: non-negative weights broadcastable to the per-example shape.

    Returns:
      A scalar, or ``anchors.shape`` without ``axis`` for ``reduction="none"``; float32
      for half precision inputs.

    Raises:
      ValueError: if the shapes disagree, or a concrete ``margin`` or ``epsilon`` is
        negative or ``p <= 0``.
      TypeError: if ``swap`` is not a Python bool.

    Note:
      The distance takes absolute values, so every ``p > 0`` gives a true (quasi-)norm;
      it is finite with a finite gradient for identical vectors (``d = 0``), also with
      ``epsilon = 0``. The gradient at the kink (loss exactly 0) is 0.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[0.0, 0.0], [1.0, 1.0]])
      >>> pos = jnp.array([[0.1, 0.1], [1.1, 1.1]])
      >>> neg = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> out = jaxloss.triplet_margin_loss(a, pos, neg, epsilon=0.0, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.1414, 0.1414]

    Equivalent to ``torch.nn.functional.triplet_margin_loss(anchor, positive, negative,
    margin, p, eps, swap)`` (``reduction="none"``) and, for ``p = 2``, to
    ``optax.losses.triplet_margin_loss(..., norm_degree=2)``, which adds its ``eps``
    inside the square root instead of to the difference (the two agree exactly at
    ``epsilon = eps = 0``). optax omits the absolute value, so its ``norm_degree=1``
    sums signed differences and odd degrees such as 3 give NaN; this function is
    correct there. With ``epsilon=0`` it is scirs2-neural's ``TripletLoss``.
    """
    fn = "triplet_margin_loss"
    arrays = dict(zip(_TRIPLET_NAMES, (anchors, positives, negatives)))
    (a, pos, neg), _, mask, axis = _embeddings(fn, arrays, where, axis)
    swap = core.static_bool(fn, "swap", swap)
    m = core.hyperparameter(fn, "margin", margin, a.dtype)
    p = _norm_degree(fn, p, a.dtype)
    epsilon = core.hyperparameter(fn, "epsilon", epsilon, a.dtype)
    d_pos = _distance(a, pos, p, epsilon, axis)
    d_neg = _distance(a, neg, p, epsilon, axis)
    if swap:
        d_neg = jnp.minimum(d_neg, _distance(pos, neg, p, epsilon, axis))
    values = jax.nn.relu(d_pos - d_neg + m)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="metric",
    inputs="embeddings",
    torch="torch.nn.functional.triplet_margin_with_distance_loss",
    ranges={"margin": Range(low=0.0)},
)
def triplet_margin_with_distance_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    *,
    distance_function: Callable[[Array, Array], Array] | None = None,
    margin: ArrayLike = 1.0,
    swap: bool = False,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Triplet margin loss with any distance function, per triplet.

    $$
        \ell = \max\bigl(0,\ d(a, p) - d(a, n) + m\bigr)
    $$

    With ``swap=True`` the negative distance is $\min(d(a, n), d(p, n))$.

    Args:
      anchors: embeddings ``[..., D]``, floating (the vectors are along the last axis).
      positives: embeddings of the same shape.
      negatives: embeddings of the same shape.
      distance_function: a Python callable ``d(x, y)`` mapping two ``[..., D]`` arrays
        to ``[...]`` non-negative distances (static: a new function retraces under
        ``jit``). Default ``None``: `pairwise_distance` with ``p=2``,
        ``epsilon=1e-6``.
      margin: the margin ``m >= 0``; a Python float or a JAX scalar.
      swap: static bool, use the distance swap.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to the per-example shape (``anchors.shape[:-1]``);
        masked triplets are excluded and get zero gradient.
      weights: non-negative weights broadcastable to the per-example shape.

    Returns:
      A scalar, or ``anchors.shape[:-1]`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      TypeError: if ``distance_function`` is not callable or ``swap`` not a Python bool.
      ValueError: if the shapes disagree, the distance function returns another shape
        than ``anchors.shape[:-1]``, or a concrete ``margin`` is negative.

    Note:
      Masked triplets reach ``distance_function`` as zero vectors; the default distance
      has a finite gradient there, a custom one should too. A [`jaxloss.Loss`][jaxloss.Loss]
      bound with a custom ``distance_function`` is not possible: ``jaxloss.get`` accepts
      only JSON-serializable hyperparameters and raises ``TypeError`` for a callable;
      call this function directly (or wrap it with ``functools.partial``) instead.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[0.0, 0.0]])
      >>> pos = jnp.array([[0.0, 2.0]])
      >>> neg = jnp.array([[1.0, 0.0]])
      >>> l1 = lambda x, y: jnp.sum(jnp.abs(x - y), axis=-1)
      >>> jaxloss.triplet_margin_with_distance_loss(
      ...     a, pos, neg, distance_function=l1, reduction="none").tolist()
      [2.0]

    Equivalent to ``torch.nn.functional.triplet_margin_with_distance_loss``
    (``reduction="none"``).
    """
    fn = "triplet_margin_with_distance_loss"
    if distance_function is not None and not callable(distance_function):
        raise TypeError(
            f"{fn}: argument 'distance_function' must be a callable d(x, y) or None, got "
            f"{type(distance_function).__name__}"
        )
    arrays = dict(zip(_TRIPLET_NAMES, (anchors, positives, negatives)))
    (a, pos, neg), _, mask, _ = _embeddings(fn, arrays, where, -1)
    swap = core.static_bool(fn, "swap", swap)
    m = core.hyperparameter(fn, "margin", margin, a.dtype)
    example_shape = a.shape[:-1]

    def dist(x, y, what):
        if distance_function is None:
            return _distance(x, y, 2.0, 1e-6, x.ndim - 1)
        d = jnp.asarray(distance_function(x, y))
        if d.shape != example_shape:
            raise ValueError(
                f"{fn}: distance_function must map two {tuple(a.shape)} arrays to the "
                f"per-example shape {tuple(example_shape)}, got {tuple(d.shape)} for {what}"
            )
        return d.astype(a.dtype)

    d_pos = dist(a, pos, "d(anchors, positives)")
    d_neg = dist(a, neg, "d(anchors, negatives)")
    if swap:
        d_neg = jnp.minimum(d_neg, dist(pos, neg, "d(positives, negatives)"))
    values = jax.nn.relu(d_pos - d_neg + m)
    return core.finish(fn, values, reduction, mask, weights)
