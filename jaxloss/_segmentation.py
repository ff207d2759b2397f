"""Segmentation losses: soft overlap (Dice, Tversky) between predicted and target masks.

Layout (as ``optax.losses.dice_loss``): ``predictions`` and ``targets`` are
``[..., C]`` with the class axis last; ``axis`` names the spatial axes that are summed
over (default: every axis except the first and the last, i.e. ``[B, *spatial, C]``).
The remaining axes are the example axes, in order: ``reduction="none"`` returns one
value per example (``class_reduction="none"``: one per example and class). For several
batch axes pass the spatial axes explicitly, e.g. ``axis=(-3, -2)`` for
``[B1, B2, H, W, C]``; negative axes keep working under ``jax.vmap``.

Every loss here is jit-safe: nothing branches in Python on array values. With
``apply_softmax=False`` the predictions are soft masks used as given: they need not sum
to 1 over the classes (multi-label sigmoid masks, empty predictions), so they are not
validated. optax's ``dice_loss(apply_softmax=False)`` instead raises ``ValueError`` when
they do not sum to 1, with a Python ``if`` that fails under ``jax.jit``. The smoothing
constant is called ``smooth`` in all four losses, as in optax. A ratio whose
denominator is exactly ``0`` (only possible with ``smooth=0``, empty targets and empty
predictions) is taken as 1 (loss 0: two empty masks overlap perfectly), with finite
gradients.

``where`` masks examples (or ``(example, class)`` entries with
``class_reduction="none"``); the inputs of a masked example are replaced before use, so
they get exactly zero gradient even when inf/NaN.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._numerics import safe_ratio
from jaxloss._registry import register

_CLASS_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------
# shared helpers


def _spatial_axes(fn: str, axis, ndim: int, axis_ndim: int) -> tuple[int, ...]:
    """Normalized, sorted spatial axes of a ``[..., C]`` array with ``ndim`` dimensions.

    ``axis`` is interpreted against ``axis_ndim`` dimensions (the rank of the input as
    given, which may lack the class axis of size 1 that was appended).
    """
    if axis is None:
        return tuple(range(1, ndim - 1))
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    elif isinstance(axis, list | tuple):
        axis = tuple(axis)
    else:
        raise TypeError(
            f"{fn}: argument 'axis' must be None, an int or a sequence of ints, got "
            f"{type(axis).__name__}"
        )
    out = tuple(core.normalize_axis(fn, a, axis_ndim, "predictions") for a in axis)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn}: argument 'axis' has repeated axes: {axis}")
    if ndim - 1 in out:
        raise ValueError(
            f"{fn}: argument 'axis'={axis} must not contain the class axis (the last "
            f"axis of the [..., C] inputs); classes are reduced by 'class_reduction'"
        )
    return tuple(sorted(out))


def _overlap_inputs(
    fn: str,
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis,
    where: ArrayLike | None,
    apply_activation: bool,
    ignore_background: bool,
    per_class: bool,
    binary: bool = False,
):
    """Validates the inputs and returns per-example, per-class sums.

    Returns ``(intersection, predicted, target, ignore, mask, dtype)``: the sums of
    ``p * t``, ``p`` and ``t`` over the spatial axes, shaped ``[*examples, C]``;
    ``ignore`` says whether class 0 is to be dropped (``ignore_background`` and
    ``C > 1``); ``mask`` has the per-example shape (``per_class``: per example and
    class, ``C`` or ``C - 1`` classes), or is ``None``.
    """
    p = core.as_logits(fn, "predictions", predictions)
    t = core.as_float(fn, "targets", targets)
    given = (tuple(p.shape), tuple(t.shape))
    axis_ndim = p.ndim
    if binary and p.ndim == t.ndim and (p.ndim == 0 or p.shape[-1] != 1):
        # Binary masks without a class axis: append one of size 1.
        p, t = p[..., None], t[..., None]
    elif p.ndim == t.ndim - 1:
        p = p[..., None]
        axis_ndim = p.ndim
    elif t.ndim == p.ndim - 1:
        t = t[..., None]
    if p.shape != t.shape or p.ndim == 0:
        raise ValueError(
            f"{fn}: arguments 'predictions' and 'targets' must have the same shape [..., C] "
            f"(a missing class axis of size 1 is added), got predictions.shape={given[0]} "
            f"and targets.shape={given[1]}"
        )
    dtype = core.compute_dtype(p, t)
    p, t = p.astype(dtype), t.astype(dtype)
    axes = _spatial_axes(fn, axis, p.ndim, axis_ndim)
    ignore = ignore_background and p.shape[-1] > 1
    example_shape = tuple(s for a, s in enumerate(p.shape[:-1]) if a not in axes)
    classes = p.shape[-1] - (1 if ignore else 0)
    mask = core.example_mask(fn, where, example_shape + ((classes,) if per_class else ()))
    if mask is not None:
        sample = jnp.any(mask, axis=-1) if per_class else mask
        m = jnp.expand_dims(sample, axes + (p.ndim - 1,))
        p = jnp.where(m, p, jnp.zeros((), dtype))
        t = jnp.where(m, t, jnp.zeros((), dtype))
    if apply_activation:
        p = jax.nn.sigmoid(p) if p.shape[-1] == 1 else jax.nn.softmax(p, axis=-1)
    sums = [jnp.sum(a, axis=axes) for a in (p * t, p, t)]
    return (*sums, ignore, mask, dtype)


def _check_class_reduction(fn: str, class_reduction: str) -> None:
    if class_reduction not in _CLASS_REDUCTIONS:
        raise ValueError(
            f"{fn}: argument 'class_reduction' must be one of 'mean', 'sum' or 'none', got "
            f"{class_reduction!r}"
        )


def _tversky(
    fn: str,
    predictions,
    targets,
    *,
    alpha,
    beta,
    smooth,
    class_weights,
    apply_activation,
    ignore_background,
    class_reduction,
    axis,
    reduction,
    where,
    weights,
    binary: bool = False,
) -> Array:
    """The Tversky/Dice computation shared by [`dice_loss`][jaxloss.dice_loss] and friends."""
    apply_activation = core.static_bool(
        fn, "apply_sigmoid" if binary else "apply_softmax", apply_activation
    )
    ignore_background = core.static_bool(fn, "ignore_background", ignore_background)
    _check_class_reduction(fn, class_reduction)
    core.check_reduction(fn, reduction)
    per_class = class_reduction == "none"
    inter, pred, tgt, ignore, mask, dtype = _overlap_inputs(
        fn,
        predictions,
        targets,
        axis=axis,
        where=where,
        apply_activation=apply_activation,
        ignore_background=ignore_background,
        per_class=per_class,
        binary=binary,
    )
    # binary_dice_loss has no alpha/beta options (and no ranges for them): its fixed
    # 0.5s are used as they are.
    if not binary:
        alpha = core.hyperparameter(fn, "alpha", alpha, dtype)
        beta = core.hyperparameter(fn, "beta", beta, dtype)
    smooth = core.hyperparameter(fn, "smooth", smooth, dtype)
    num = inter + smooth
    den = inter + alpha * (pred - inter) + beta * (tgt - inter) + smooth
    values = 1 - safe_ratio(num, den)
    if class_weights is not None:
        cw = core.hyperparameter(fn, "class_weights", class_weights, dtype)
        if cw.shape != values.shape[-1:]:
            raise ValueError(
                f"{fn}: argument 'class_weights' must have shape (num_classes,) = "
                f"({values.shape[-1]},), got class_weights.shape={tuple(cw.shape)}"
            )
        values = values * cw
    if ignore:
        values = values[..., 1:]
    if class_reduction == "mean":
        values = jnp.mean(values, axis=-1)
    elif class_reduction == "sum":
        values = jnp.sum(values, axis=-1)
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# losses

# The options of the two Tversky-form losses (dice_loss is tversky_loss at alpha = beta
# = 1/2 by default): one declaration for both.
_TVERSKY_RANGES = {
    "alpha": Range(low=0.0),
    "beta": Range(low=0.0),
    "smooth": Range(low=0.0),
    "class_weights": Range(low=0.0),
}


@register(
    family="segmentation",
    inputs="logits",
    optax="optax.losses.dice_loss",
    keras="keras.losses.Dice",
    ranges=_TVERSKY_RANGES,
    notes={
        "keras": (
            "Keras's Dice takes probabilities and adds no smoothing term (1e-7 in the "
            "denominator): `apply_softmax=False, smooth=0.0`, which `jaxloss.get('Dice')` "
            "binds. With `axis=None` Keras pools every entry of the batch and every class into "
            "one ratio; jaxloss gives one value per example, the mean over classes of "
            "per-class ratios (Keras's `axis=(1, 2)` on `[B, H, W, C]` is jaxloss's "
            "`class_reduction='none'`)."
        ),
    },
)
def dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    smooth: ArrayLike = 1.0,
    alpha: ArrayLike = 0.5,
    beta: ArrayLike = 0.5,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    class_reduction: str = "mean",
    axis: int | tuple[int, ...] | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Soft Dice loss of class logits and one-hot target masks, per example.

    With probabilities $p$ (softmax over classes, or sigmoid for a single class)
    and sums over the spatial positions $i$ of one example,
    $I_c = \sum_i p_{ic} t_{ic}$, $P_c = \sum_i p_{ic}$,
    $T_c = \sum_i t_{ic}$:

    $$
        \ell_c = 1 - \frac{I_c + s}{I_c + \alpha (P_c - I_c) + \beta (T_c - I_c) + s},
        \qquad \ell = \operatorname{mean}_c\, w_c \ell_c
    $$

    With $\alpha = \beta = \tfrac12$ this is $1 - (2 I_c + 2s) / (P_c + T_c
    + 2s)$, the Dice loss; other values give the Tversky loss
    ([`tversky_loss`][jaxloss.tversky_loss]).

    Args:
      predictions: ``[B, *spatial, C]`` class logits (probabilities with
        ``apply_softmax=False``); ``[B, *spatial]`` for a single class is accepted when
        ``targets`` has the class axis of size 1.
      targets: one-hot (or soft) target masks of the same shape.
      class_weights: optional ``[C]`` non-negative weights $w_c$ of the per-class
        losses (applied before the class mean; not normalized, as optax).
      smooth: $s \ge 0$, added to numerator and denominator.
      alpha: weight $\ge 0$ of the false positives $P_c - I_c$.
      beta: weight $\ge 0$ of the false negatives $T_c - I_c$.
      apply_softmax: static; ``True``: ``predictions`` are logits (softmax over the
        last axis, sigmoid when it has size 1); ``False``: they are probabilities, used
        as given (no check, so the function stays jit-safe).
      ignore_background: static; drop class 0 (when ``C > 1``).
      class_reduction: static; ``"mean"`` (default), ``"sum"`` or ``"none"`` over the
        classes (optax's ``reduction``).
      axis: static; the spatial axes summed over (default: all but the first and the
        last). Must not contain the class (last) axis.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the examples.
      where: boolean mask broadcastable to the per-example shape (with
        ``class_reduction="none"``: per example and class).
      weights: non-negative sample weights broadcastable to the same shape.

    Returns:
      A scalar, or for ``reduction="none"`` the example shape (the axes not in ``axis``
      and not the class axis; ``[B]`` by default), followed by ``C`` (or ``C - 1``) with
      ``class_reduction="none"``; float32 for half precision inputs.

    Raises:
      ValueError: for mismatched shapes, bad ``axis``, ``class_weights`` of the wrong
        shape, an unknown ``class_reduction``, or negative ``smooth``/``alpha``/``beta``.
      TypeError: for non-floating ``predictions`` or a non-bool ``apply_softmax``.

    Note:
      An example whose class is absent from both target and prediction gets
      $\ell_c = 0$ for that class when ``smooth > 0``; with ``smooth = 0`` the
      ratio ``0/0`` is taken as 1 (loss 0) with finite gradients.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[[2.0, -1.0], [0.0, 1.0], [1.0, 1.0]]])  # [B=1, 3, C=2]
      >>> targets = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])
      >>> [round(v, 4) for v in jaxloss.dice_loss(logits, targets, reduction="none").tolist()]
      [0.1667]

    Equivalent to ``optax.losses.dice_loss(predictions, targets, ...)`` with the same
    arguments: optax's ``reduction`` (over classes) is ``class_reduction`` here, and
    ``reduction="none"`` here equals optax's output. Differences: jit-safe with
    ``apply_softmax=False`` (optax raises under ``jax.jit``); ``where``/``weights``.
    """
    return _tversky(
        "dice_loss",
        predictions,
        targets,
        alpha=alpha,
        beta=beta,
        smooth=smooth,
        class_weights=class_weights,
        apply_activation=apply_softmax,
        ignore_background=ignore_background,
        class_reduction=class_reduction,
        axis=axis,
        reduction=reduction,
        where=where,
        weights=weights,
    )


@register(
    family="segmentation",
    inputs="logits",
    optax="optax.losses.binary_dice_loss",
    ranges={"smooth": Range(low=0.0)},
)
def binary_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1.0,
    apply_sigmoid: bool = True,
    axis: int | tuple[int, ...] | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Soft Dice loss of binary logits and binary target masks, per example.

    With $p = \sigma(x)$ and sums over the spatial positions of one example:

    $$
        \ell = 1 - \frac{2 \sum_i p_i t_i + 2s}{\sum_i p_i + \sum_i t_i + 2s}
    $$

    Args:
      predictions: ``[B, *spatial]`` or ``[B, *spatial, 1]`` logits (probabilities with
        ``apply_sigmoid=False``). A last axis of size 1 is the channel axis.
      targets: binary (or soft) target masks of the same shape.
      smooth: $s \ge 0$.
      apply_sigmoid: static; ``False`` when ``predictions`` are already probabilities.
      axis: static; the spatial axes of ``predictions`` as given (default: all but the
        first, and not a trailing channel axis of size 1).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the examples.
      where: boolean mask broadcastable to the per-example shape (``[B]`` by default).
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the example shape (``[B]`` by default) for ``reduction="none"``;
      float32 for half precision inputs.

    Raises:
      ValueError: for mismatched shapes, bad ``axis`` or negative ``smooth``.
      TypeError: for non-floating ``predictions`` or a non-bool ``apply_sigmoid``.

    Note:
      An empty target with an empty prediction gives 0 (for ``smooth = 0`` the ratio
      ``0/0`` is taken as 1). Large logits are fine (``jax.nn.sigmoid``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[3.0, -2.0, 0.5, -1.0]])
      >>> targets = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> out = jaxloss.binary_dice_loss(logits, targets, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.1364]

    Equivalent to ``optax.losses.binary_dice_loss(predictions, targets, smooth=...)``
    (``reduction="none"``). optax's ``apply_sigmoid=False`` raises unless every
    probability is 1 (its sum-to-one check sees a single class); here probabilities are
    used as given, also under ``jax.jit``.
    """
    return _tversky(
        "binary_dice_loss",
        predictions,
        targets,
        alpha=0.5,
        beta=0.5,
        smooth=smooth,
        class_weights=None,
        apply_activation=apply_sigmoid,
        ignore_background=False,
        class_reduction="mean",
        axis=axis,
        reduction=reduction,
        where=where,
        weights=weights,
        binary=True,
    )


@register(
    family="segmentation",
    inputs="logits",
    keras="keras.losses.Tversky",
    ranges=_TVERSKY_RANGES,
    notes={
        "keras": (
            "Keras's `alpha` weighs the false negatives and `beta` the false positives, the "
            "other way round from jaxloss (and the paper): Keras's `Tversky(alpha=a, beta=b)` is "
            "`tversky_loss(alpha=b, beta=a)`. Keras takes probabilities and adds no smoothing "
            "(`apply_softmax=False, smooth=0.0`, bound by `jaxloss.get('Tversky')`), and with "
            "`axis=None` pools the whole batch into one ratio."
        ),
    },
)
def tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: ArrayLike = 0.5,
    beta: ArrayLike = 0.5,
    smooth: ArrayLike = 1.0,
    class_weights: ArrayLike | None = None,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    class_reduction: str = "mean",
    axis: int | tuple[int, ...] | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Tversky loss (Salehi et al. 2017) of class logits and target masks, per example.

    $$
        \ell_c = 1 - \frac{I_c + s}{I_c + \alpha\, \mathrm{FP}_c + \beta\, \mathrm{FN}_c
        + s}, \qquad \mathrm{FP}_c = P_c - I_c,\ \mathrm{FN}_c = T_c - I_c
    $$

    with the sums $I_c, P_c, T_c$ of [`dice_loss`][jaxloss.dice_loss], and
    $\ell = \operatorname{mean}_c w_c \ell_c$. $\alpha > \beta$ penalizes
    false positives more, $\beta > \alpha$ false negatives (Salehi et al. use
    $\alpha = 0.3, \beta = 0.7$); $\alpha = \beta = \tfrac12$ (the default)
    is the Dice loss.

    Args:
      predictions: ``[B, *spatial, C]`` class logits (see [`dice_loss`][jaxloss.dice_loss]).
      targets: one-hot (or soft) target masks of the same shape.
      alpha: weight $\ge 0$ of the false positives.
      beta: weight $\ge 0$ of the false negatives.
      smooth: $s \ge 0$.
      class_weights: optional ``[C]`` weights of the per-class losses.
      apply_softmax: static; ``False`` when ``predictions`` are probabilities.
      ignore_background: static; drop class 0 (when ``C > 1``).
      class_reduction: static; ``"mean"``, ``"sum"`` or ``"none"`` over classes.
      axis: static; the spatial axes (default: all but the first and the last).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the examples.
      where: boolean mask broadcastable to the per-example shape.
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      As [`dice_loss`][jaxloss.dice_loss]: a scalar, or the example shape (``[B]`` by default, ``C``
      appended with ``class_reduction="none"``) for ``reduction="none"``.

    Raises:
      ValueError: as [`dice_loss`][jaxloss.dice_loss].
      TypeError: as [`dice_loss`][jaxloss.dice_loss].

    Note:
      Identical to ``dice_loss`` with the same ``alpha``/``beta`` (this name exists for
      discoverability). Edge cases as [`dice_loss`][jaxloss.dice_loss].

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[[2.0, -1.0], [0.0, 1.0], [1.0, 1.0]]])
      >>> targets = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])
      >>> out = jaxloss.tversky_loss(logits, targets, alpha=0.3, beta=0.7, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.1641]

    Equivalent to ``optax.losses.dice_loss(predictions, targets, alpha=..., beta=...)``
    (``reduction="none"`` here).
    """
    return _tversky(
        "tversky_loss",
        predictions,
        targets,
        alpha=alpha,
        beta=beta,
        smooth=smooth,
        class_weights=class_weights,
        apply_activation=apply_softmax,
        ignore_background=ignore_background,
        class_reduction=class_reduction,
        axis=axis,
        reduction=reduction,
        where=where,
        weights=weights,
    )


@register(family="segmentation", inputs="logits", ranges={"smooth": Range(low=0.0)})
def generalized_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1e-5,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: int | tuple[int, ...] | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Generalized Dice loss (Sudre et al. 2017) with inverse squared class volumes.

    With the per-example sums $I_c, P_c, T_c$ of [`dice_loss`][jaxloss.dice_loss]:

    $$
        \ell = 1 - \frac{2 \sum_c w_c I_c + s}{\sum_c w_c (P_c + T_c) + s},
        \qquad w_c \propto \frac{1}{T_c^2},\ \sum_c w_c = 1
    $$

    Classes absent from an example's target ($T_c = 0$) get the largest weight of
    its present classes (as NiftyNet, the authors' implementation, and MONAI do); an
    example without any target mass weights all classes equally. The weights are
    normalized to sum to 1, which leaves the ratio unchanged for ``smooth = 0`` and
    puts ``smooth`` on the scale of a pixel count.

    Args:
      predictions: ``[B, *spatial, C]`` class logits (probabilities with
        ``apply_softmax=False``).
      targets: one-hot (or soft) target masks of the same shape.
      smooth: $s \ge 0$ (default ``1e-5``: only guards against ``0/0``).
      apply_softmax: static; ``False`` when ``predictions`` are probabilities.
      ignore_background: static; drop class 0 (when ``C > 1``) from the sums and the
        weights.
      axis: static; the spatial axes (default: all but the first and the last).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the examples.
      where: boolean mask broadcastable to the per-example shape.
      weights: non-negative sample weights broadcastable to the per-example shape.

    Returns:
      A scalar, or the example shape (``[B]`` by default) for ``reduction="none"``;
      float32 for half precision inputs.

    Raises:
      ValueError: for mismatched shapes, bad ``axis`` or negative ``smooth``.
      TypeError: for non-floating ``predictions`` or non-bool static switches.

    Note:
      Empty targets and empty predictions give 0 (``0/0`` is taken as 1 when
      ``smooth = 0``), with finite gradients. The weights depend on the targets only.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[[2.0, -1.0], [0.0, 1.0], [1.0, 1.0]]])
      >>> targets = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])
      >>> out = jaxloss.generalized_dice_loss(logits, targets, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [0.318]

    No direct equivalent in optax, PyTorch or Keras. The closest,
    ``optax.losses.multiclass_generalized_dice_loss`` (jaxloss's
    [`multiclass_generalized_dice_loss`][jaxloss.multiclass_generalized_dice_loss]), is
    not equivalent: it returns
    one scalar for the whole batch, its class weights $1 / (T_c^2 + 10^{-7})$ are
    computed over the whole batch (coupling the examples; absent classes get weight
    $10^7$), and it averages weighted per-class Dice losses (smoothed per class)
    instead of taking Sudre's single ratio of weighted sums.
    """
    fn = "generalized_dice_loss"
    apply_softmax = core.static_bool(fn, "apply_softmax", apply_softmax)
    ignore_background = core.static_bool(fn, "ignore_background", ignore_background)
    core.check_reduction(fn, reduction)
    inter, pred, tgt, ignore, mask, dtype = _overlap_inputs(
        fn,
        predictions,
        targets,
        axis=axis,
        where=where,
        apply_activation=apply_softmax,
        ignore_background=ignore_background,
        per_class=False,
    )
    smooth = core.hyperparameter(fn, "smooth", smooth, dtype)
    if ignore:
        inter, pred, tgt = inter[..., 1:], pred[..., 1:], tgt[..., 1:]
    present = tgt > 0
    inverse_sq = jnp.where(present, 1 / jnp.square(jnp.where(present, tgt, 1)), 0)
    largest = jnp.max(inverse_sq, axis=-1, keepdims=True, initial=0.0)
    w = jnp.where(present, inverse_sq, largest)
    w = jnp.where(jnp.any(present, axis=-1, keepdims=True), w, jnp.ones_like(w))
    total = jnp.sum(w, axis=-1, keepdims=True)
    w = w / jnp.where(total > 0, total, 1)
    num = 2 * jnp.sum(w * inter, axis=-1) + smooth
    den = jnp.sum(w * (pred + tgt), axis=-1) + smooth
    values = 1 - safe_ratio(num, den)
    return core.finish(fn, values, reduction, mask, weights)


# optax's floor of the squared class volumes (a class absent from the batch gets the
# weight 1 / _VOLUME_FLOOR before normalization).
_VOLUME_FLOOR = 1e-7


@register(
    family="segmentation",
    inputs="logits",
    optax="optax.losses.multiclass_generalized_dice_loss",
    ranges={"smooth": Range(low=0.0)},
    notes={
        "optax": (
            "same formula and defaults (a batch-coupled loss: the class weights come from "
            "the whole batch); optax returns the batch mean only, jaxloss's `'none'` gives "
            "each example's part of it; `where` removes examples from the batch (from the "
            "class volumes too), `weights` weighs them in the mean only; `axis` added."
        ),
    },
)
def multiclass_generalized_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1.0,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: int | tuple[int, ...] | None = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Dice loss with class weights from the inverse squared class volumes of the batch.

    With the per-example, per-class Dice losses $\ell_{bc}$ of
    [`dice_loss`][jaxloss.dice_loss] (smoothed per class by $s$) and the class volumes
    $V_c = \sum_{b, i} t_{bic}$ of the whole batch (examples and spatial positions):

    $$
        w_c = C\, \frac{1 / (V_c^2 + 10^{-7})}{\sum_{c'} 1 / (V_{c'}^2 + 10^{-7})},
        \qquad \ell_b = \operatorname{mean}_c\, w_c\, \ell_{bc}
    $$

    The mean over the examples, the default, is optax's value: the mean of
    $w_c \ell_{bc}$ over examples and classes. The weights couple the examples of a
    batch, so ``reduction="none"`` gives each example's share of that mean, not a loss
    of the example alone (for Sudre's per-example loss see
    [`generalized_dice_loss`][jaxloss.generalized_dice_loss]). With
    ``ignore_background`` class 0 is left out of the class mean, but not out of the
    normalization of the weights (over all $C$ classes, as optax).

    Args:
      predictions: ``[B, *spatial, C]`` class logits (probabilities with
        ``apply_softmax=False``; a single class gets a sigmoid).
      targets: one-hot (or soft) target masks of the same shape.
      smooth: $s \ge 0$, added to each class's numerator and denominator.
      apply_softmax: static; ``False`` when ``predictions`` are probabilities.
      ignore_background: static; drop class 0 (when ``C > 1``) from the class mean.
      axis: static; the spatial axes (default: all but the first and the last). The
        class volumes sum over every axis but the class axis.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the examples.
      where: boolean mask broadcastable to the per-example shape: masked examples are
        removed from the batch, from the class volumes too (their inputs are never
        read, so they get exactly zero gradient even when inf/NaN).
      weights: non-negative sample weights broadcastable to the per-example shape (the
        class volumes do not use them).

    Returns:
      A scalar, or the example shape (``[B]`` by default) for ``reduction="none"``;
      float32 for half precision inputs.

    Raises:
      ValueError: for mismatched shapes, bad ``axis`` or negative ``smooth``.
      TypeError: for non-floating ``predictions`` or non-bool static switches.

    Note:
      A class absent from the targets of the whole batch gets the weight
      $C \cdot 10^{7} / \sum_{c'} \dots$, which dominates the others: as optax, no
      special case. The weights depend on the targets, and the gradient with respect to
      the targets goes through them.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[[2.0, -1.0], [0.0, 1.0], [1.0, 1.0]]])  # [B=1, 3, C=2]
      >>> targets = jnp.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])
      >>> out = jaxloss.multiclass_generalized_dice_loss(logits, targets)
      >>> round(float(out), 4)
      0.1812

    Equivalent to ``optax.losses.multiclass_generalized_dice_loss(predictions, targets,
    smooth=..., apply_softmax=..., ignore_background=...)`` with ``reduction="mean"``
    (optax has no ``reduction``, ``where``, ``weights`` or ``axis``); not equivalent to
    Sudre et al.'s single ratio of weighted sums, which is
    [`generalized_dice_loss`][jaxloss.generalized_dice_loss].
    """
    fn = "multiclass_generalized_dice_loss"
    apply_softmax = core.static_bool(fn, "apply_softmax", apply_softmax)
    ignore_background = core.static_bool(fn, "ignore_background", ignore_background)
    core.check_reduction(fn, reduction)
    # Masked examples have their inputs zeroed, so they add nothing to the volumes.
    inter, pred, tgt, ignore, mask, dtype = _overlap_inputs(
        fn,
        predictions,
        targets,
        axis=axis,
        where=where,
        apply_activation=apply_softmax,
        ignore_background=ignore_background,
        per_class=False,
    )
    smooth = core.hyperparameter(fn, "smooth", smooth, dtype)
    volumes = jnp.sum(tgt, axis=tuple(range(tgt.ndim - 1)))
    w = 1 / (jnp.square(volumes) + _VOLUME_FLOOR)
    w = w * (w.shape[0] / jnp.sum(w))
    per_class = w * (1 - safe_ratio(inter + smooth, (pred + tgt) / 2 + smooth))
    if ignore:
        per_class = per_class[..., 1:]
    return core.finish(fn, jnp.mean(per_class, axis=-1), reduction, mask, weights)
