"""Bounding-box regression losses for object detection, on boxes ``(x1, y1, x2, y2)``.

Layout (as ``torchvision.ops``): ``boxes`` and ``target_boxes`` are ``[..., 4]`` arrays of
corners ``(x1, y1, x2, y2)``, one predicted box per target box; the per-example loss has
the shape ``boxes.shape[:-1]`` (a single box ``[4]`` gives a scalar). The three losses
share one geometry: the intersection $I$ (the overlap of the two boxes, counted only where
it has positive width and height), the union $U = A + A_t - I$ with the areas
$A = (x_2 - x_1)(y_2 - y_1)$, and the smallest enclosing box.

``epsilon`` is added where ``torchvision.ops`` adds its ``eps``: to the union in the IoU,
to the area of the enclosing box (GIoU), to its squared diagonal (DIoU, CIoU) and to the
denominator of the CIoU trade-off weight. Boxes are not validated (nothing branches on
array values, so every loss is jit-safe): a box with $x_2 < x_1$ or $y_2 < y_1$ enters
the formulas with a negative width or height, as in torchvision. A ratio whose
denominator is exactly 0 (possible with ``epsilon=0``, or for such inverted boxes) is
taken as 0, with finite gradients; the aspect angle of a box of zero width and height,
``arctan(0/0)``, is taken as 0 with zero gradient.

``where`` masks examples (boxes); a masked pair is replaced by two unit boxes before use,
so it gets exactly zero gradient even when its coordinates are inf/NaN.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._numerics import safe_ratio
from jaxloss._registry import register

_RANGES = {"epsilon": Range(low=0.0)}

_TORCH_NOTE = (
    "jaxloss's default reduction is 'mean' (torchvision's is 'none': pass "
    "reduction='none' for its default output); the arguments are boxes and target_boxes "
    "(torchvision's boxes1 and boxes2, in the same order) and its eps is epsilon. "
    "Integer boxes are rejected (torchvision converts them to float); integer "
    "target_boxes are accepted. With epsilon=0, zero-area boxes give finite values and "
    "gradients here (a zero denominator is taken as 0) where torchvision gives NaN; "
    "where/weights are jaxloss additions."
)


# ---------------------------------------------------------------------------
# shared helpers


def _ratio(num: Array, den: Array) -> Array:
    """``num / den``, and ``0`` where ``den == 0``; finite gradients (double where)."""
    return jnp.where(den != 0, safe_ratio(num, den), jnp.zeros((), num.dtype))


def _aspect_angle(w: Array, h: Array) -> Array:
    """``arctan(w / h)`` as torchvision computes it, with finite values and gradients.

    ``atan2(s w, s h)`` with ``s`` the sign of ``h`` (``+1`` at ``h = 0``): the same value
    as ``arctan(w / h)`` for ``h != 0`` (in ``(-pi/2, pi/2)``, also for a negative
    height), ``+-pi/2`` at ``h = 0`` (``arctan(+-inf)``), and the derivatives
    ``h / (w^2 + h^2)`` and ``-w / (w^2 + h^2)``, finite at ``h = 0``. At ``w = h = 0``
    (``0 / 0``) the angle is 0 with zero gradient (double where).
    """
    point = (w == 0) & (h == 0)
    s = jnp.where(h >= 0, jnp.ones((), h.dtype), -jnp.ones((), h.dtype))
    angle = jnp.arctan2(jnp.where(point, 0, s * w), jnp.where(point, 1, s * h))
    return jnp.where(point, jnp.zeros((), angle.dtype), angle)


def _box_inputs(fn: str, boxes: ArrayLike, target_boxes: ArrayLike, where: ArrayLike | None):
    """The two ``[..., 4]`` box arrays in the compute dtype, and the per-example mask.

    Masked pairs are replaced by two unit boxes ``(0, 0, 1, 1)`` (loss 0, finite
    gradients), so that their inputs get exactly zero gradient even when inf/NaN.
    """
    b = core.as_logits(fn, "boxes", boxes)
    t = core.as_float(fn, "target_boxes", target_boxes)
    core.check_same_shape(fn, "boxes", b, "target_boxes", t)
    if b.ndim == 0 or b.shape[-1] != 4:
        raise ValueError(
            f"{fn}: arguments 'boxes' and 'target_boxes' must have a last axis of size 4 "
            f"(x1, y1, x2, y2), got boxes.shape={tuple(b.shape)}"
        )
    dtype = core.compute_dtype(b, t)
    b, t = b.astype(dtype), t.astype(dtype)
    mask = core.example_mask(fn, where, b.shape[:-1])
    if mask is not None:
        unit = jnp.asarray([0.0, 0.0, 1.0, 1.0], dtype)
        b = jnp.where(mask[..., None], b, unit)
        t = jnp.where(mask[..., None], t, unit)
    return b, t, mask


def _box_loss(
    fn: str,
    kind: str,
    boxes: ArrayLike,
    target_boxes: ArrayLike,
    epsilon: ArrayLike,
    reduction: str,
    where: ArrayLike | None,
    weights: ArrayLike | None,
) -> Array:
    """The GIoU (``kind="giou"``), DIoU or CIoU loss of each pair of boxes."""
    core.check_reduction(fn, reduction)
    b, t, mask = _box_inputs(fn, boxes, target_boxes, where)
    eps = core.hyperparameter(fn, "epsilon", epsilon, b.dtype)
    x1, y1, x2, y2 = (b[..., k] for k in range(4))
    u1, v1, u2, v2 = (t[..., k] for k in range(4))

    # Intersection: only an overlap of positive width and height counts.
    iw = jnp.minimum(x2, u2) - jnp.maximum(x1, u1)
    ih = jnp.minimum(y2, v2) - jnp.maximum(y1, v1)
    inter = jnp.where((iw > 0) & (ih > 0), iw * ih, jnp.zeros((), b.dtype))
    w, h = x2 - x1, y2 - y1
    wt, ht = u2 - u1, v2 - v1
    union = w * h + wt * ht - inter
    iou = _ratio(inter, union + eps)

    # The smallest enclosing box.
    cw = jnp.maximum(x2, u2) - jnp.minimum(x1, u1)
    ch = jnp.maximum(y2, v2) - jnp.minimum(y1, v1)
    if kind == "giou":
        area = cw * ch
        values = 1 - iou + _ratio(area - union, area + eps)
        return core.finish(fn, values, reduction, mask, weights)

    # DIoU: squared distance of the centres over the squared diagonal of the enclosing box.
    dx = (x1 + x2) / 2 - (u1 + u2) / 2
    dy = (y1 + y2) / 2 - (v1 + v2) / 2
    values = 1 - iou + _ratio(dx * dx + dy * dy, cw * cw + ch * ch + eps)
    if kind == "ciou":
        diff = _aspect_angle(wt, ht) - _aspect_angle(w, h)
        v = (4 / math.pi**2) * diff * diff
        alpha = jax.lax.stop_gradient(_ratio(v, 1 - iou + v + eps))
        values = values + alpha * v
    return core.finish(fn, values, reduction, mask, weights)


# ---------------------------------------------------------------------------
# losses


@register(
    family="detection",
    inputs="boxes",
    torch="torchvision.ops.generalized_box_iou_loss",
    ranges=_RANGES,
    notes={"torch": _TORCH_NOTE},
)
def generalized_box_iou_loss(
    boxes: ArrayLike,
    target_boxes: ArrayLike,
    *,
    epsilon: ArrayLike = 1e-7,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Generalized IoU loss of predicted and target boxes, one value per box.

    With the intersection $I$ and union $U$ of the two boxes and the area $C$ of their
    smallest enclosing box (Rezatofighi et al. 2019):

    $$
        \ell = 1 - \mathrm{GIoU}, \qquad
        \mathrm{GIoU} = \frac{I}{U + \epsilon} - \frac{C - U}{C + \epsilon}
    $$

    $\ell \in [0, 2)$ for valid boxes: about 0 for identical boxes and towards 2 for small
    boxes far apart; unlike the IoU loss it keeps a gradient when the boxes do not
    overlap.

    Args:
      boxes: ``[..., 4]`` predicted boxes ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and
        ``y1 <= y2``; floating.
      target_boxes: ``[..., 4]`` target boxes of the same shape; float or int.
      epsilon: $\epsilon \ge 0$, added to the union and to the enclosing area.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to the per-example shape ``boxes.shape[:-1]``;
        masked boxes are excluded and get zero gradient (also when inf/NaN).
      weights: non-negative sample weights broadcastable to ``boxes.shape[:-1]``.

    Returns:
      A scalar, or ``boxes.shape[:-1]`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if the shapes differ or the last axis is not of size 4, for an unknown
        ``reduction``, or if a concrete ``epsilon`` is negative.
      TypeError: for non-floating ``boxes``.

    Note:
      Degenerate boxes (zero width or height, points, identical or disjoint boxes) give
      finite values and gradients; a zero-area box has IoU 0. Gradients at degenerate
      boxes can be as large as $1/\epsilon$ (a zero-area enclosing box). With
      ``epsilon=0`` a zero denominator is taken as 0: two zero-area boxes have IoU 0, and
      an enclosing box of zero area adds nothing. Boxes with $x_2 < x_1$ (or
      $y_2 < y_1$) are not rejected: as in torchvision their negative width enters the
      areas, so the loss is finite but leaves $[0, 2)$ and means nothing.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> boxes = jnp.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
      >>> targets = jnp.array([[2.0, 0.0, 3.0, 1.0], [1.0, 1.0, 3.0, 3.0]])
      >>> out = jaxloss.generalized_box_iou_loss(boxes, targets, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [1.3333, 1.0794]

    Equivalent to ``torchvision.ops.generalized_box_iou_loss(boxes, target_boxes,
    reduction="none", eps=epsilon)``; jaxloss's default reduction is ``"mean"``
    (torchvision's is ``"none"``). Differences: finite values and gradients at every
    degenerate box (with ``epsilon=0`` torchvision gives NaN for zero-area boxes);
    ``where``/``weights``.
    """
    return _box_loss(
        "generalized_box_iou_loss", "giou", boxes, target_boxes, epsilon, reduction, where, weights
    )


@register(
    family="detection",
    inputs="boxes",
    torch="torchvision.ops.distance_box_iou_loss",
    ranges=_RANGES,
    notes={"torch": _TORCH_NOTE},
)
def distance_box_iou_loss(
    boxes: ArrayLike,
    target_boxes: ArrayLike,
    *,
    epsilon: ArrayLike = 1e-7,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Distance IoU loss of predicted and target boxes, one value per box.

    With the intersection $I$ and union $U$ of the two boxes, the distance $d$ of their
    centres and the diagonal $c$ of their smallest enclosing box (Zheng et al. 2020):

    $$
        \ell = 1 - \frac{I}{U + \epsilon} + \frac{d^2}{c^2 + \epsilon}
    $$

    $\ell \in [0, 2)$ for valid boxes; the distance term pulls the centres together also
    when the boxes do not overlap, and vanishes for concentric boxes.

    Args:
      boxes: ``[..., 4]`` predicted boxes ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and
        ``y1 <= y2``; floating.
      target_boxes: ``[..., 4]`` target boxes of the same shape; float or int.
      epsilon: $\epsilon \ge 0$, added to the union and to $c^2$.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to the per-example shape ``boxes.shape[:-1]``;
        masked boxes are excluded and get zero gradient (also when inf/NaN).
      weights: non-negative sample weights broadcastable to ``boxes.shape[:-1]``.

    Returns:
      A scalar, or ``boxes.shape[:-1]`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if the shapes differ or the last axis is not of size 4, for an unknown
        ``reduction``, or if a concrete ``epsilon`` is negative.
      TypeError: for non-floating ``boxes``.

    Note:
      Degenerate boxes (zero width or height, points, identical or disjoint boxes) give
      finite values and gradients; a zero-area box has IoU 0, and two equal point boxes
      have $d = c = 0$ (distance term 0). With ``epsilon=0`` a zero denominator is taken
      as 0. Boxes with $x_2 < x_1$ (or $y_2 < y_1$) are not rejected: as in torchvision
      their negative width enters the union (the centres and the enclosing box use the
      corners as given), so the loss is finite but means nothing.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> boxes = jnp.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
      >>> targets = jnp.array([[2.0, 0.0, 3.0, 1.0], [1.0, 1.0, 3.0, 3.0]])
      >>> out = jaxloss.distance_box_iou_loss(boxes, targets, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [1.4, 0.9683]

    Equivalent to ``torchvision.ops.distance_box_iou_loss(boxes, target_boxes,
    reduction="none", eps=epsilon)``; jaxloss's default reduction is ``"mean"``
    (torchvision's is ``"none"``). Differences: finite values and gradients at every
    degenerate box (with ``epsilon=0`` torchvision gives NaN for zero-area boxes);
    ``where``/``weights``.
    """
    return _box_loss(
        "distance_box_iou_loss", "diou", boxes, target_boxes, epsilon, reduction, where, weights
    )


_CIOU_TORCH_NOTE = _TORCH_NOTE + (
    " torchvision's complete_box_iou_loss passes its eps only to alpha: its IoU and c^2 "
    "always add 1e-7, whatever eps is; here epsilon is used in all three places (the same "
    "values at the default epsilon=1e-7). Both treat alpha as a constant for the gradient "
    "(torchvision computes it under torch.no_grad()). torchvision gives NaN for a box of "
    "zero width and height (atan(0/0)), here its aspect angle is 0 with zero gradient; "
    "for a box of zero height torchvision's gradient of atan(w/h) is NaN (inf/inf), "
    "here it is the finite derivative of atan2."
)


@register(
    family="detection",
    inputs="boxes",
    torch="torchvision.ops.complete_box_iou_loss",
    ranges=_RANGES,
    notes={"torch": _CIOU_TORCH_NOTE},
)
def complete_box_iou_loss(
    boxes: ArrayLike,
    target_boxes: ArrayLike,
    *,
    epsilon: ArrayLike = 1e-7,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Complete IoU loss of predicted and target boxes, one value per box.

    The [`distance_box_iou_loss`][jaxloss.distance_box_iou_loss] plus an aspect-ratio
    term (Zheng et al. 2020), with the widths $w, w_t$ and heights $h, h_t$ of the
    predicted and target boxes and $\mathrm{IoU} = I / (U + \epsilon)$:

    $$
        \ell = 1 - \mathrm{IoU} + \frac{d^2}{c^2 + \epsilon} + \alpha v, \qquad
        v = \frac{4}{\pi^2} \Bigl(\arctan\frac{w_t}{h_t} - \arctan\frac{w}{h}\Bigr)^2,
        \qquad \alpha = \frac{v}{1 - \mathrm{IoU} + v + \epsilon}
    $$

    $\alpha$ is a constant for the gradient (``jax.lax.stop_gradient``, as the paper and
    torchvision), so the gradient of $\alpha v$ is $\alpha\, \partial v$: it is not the
    derivative of the value.

    Args:
      boxes: ``[..., 4]`` predicted boxes ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and
        ``y1 <= y2``; floating.
      target_boxes: ``[..., 4]`` target boxes of the same shape; float or int.
      epsilon: $\epsilon \ge 0$, added to the union, to $c^2$ and to the denominator
        of $\alpha$.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to the per-example shape ``boxes.shape[:-1]``;
        masked boxes are excluded and get zero gradient (also when inf/NaN).
      weights: non-negative sample weights broadcastable to ``boxes.shape[:-1]``.

    Returns:
      A scalar, or ``boxes.shape[:-1]`` for ``reduction="none"``; float32 for half
      precision inputs.

    Raises:
      ValueError: if the shapes differ or the last axis is not of size 4, for an unknown
        ``reduction``, or if a concrete ``epsilon`` is negative.
      TypeError: for non-floating ``boxes``.

    Note:
      Degenerate boxes give finite values and gradients. A box of zero height has the
      aspect angle $\arctan(\pm\infty) = \pm\pi/2$ (as torchvision), with the finite
      derivatives of $\operatorname{atan2}$; a box of zero width and height has angle 0
      (torchvision: $\arctan(0/0)$, NaN) with zero gradient. With ``epsilon=0`` a zero
      denominator is taken as 0 (identical boxes: $\alpha = 0$). Boxes with
      $x_2 < x_1$ (or $y_2 < y_1$) are not rejected: as in torchvision their signed
      width and height enter the areas and $\arctan(w/h)$, so the loss is finite but
      means nothing.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> boxes = jnp.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
      >>> targets = jnp.array([[2.0, 0.0, 3.0, 1.0], [0.0, 0.0, 2.0, 1.0]])
      >>> out = jaxloss.complete_box_iou_loss(boxes, targets, reduction="none")
      >>> [round(v, 4) for v in out.tolist()]
      [1.4, 0.5532]

    Equivalent to ``torchvision.ops.complete_box_iou_loss(boxes, target_boxes,
    reduction="none", eps=epsilon)`` at the default ``epsilon=1e-7``; jaxloss's default
    reduction is ``"mean"`` (torchvision's is ``"none"``). Differences: torchvision adds
    its ``eps`` only to the denominator of $\alpha$ (its IoU and $c^2$ always add
    ``1e-7``), here ``epsilon`` is used in all three places; finite values and gradients
    at every degenerate box; ``where``/``weights``.
    """
    return _box_loss(
        "complete_box_iou_loss", "ciou", boxes, target_boxes, epsilon, reduction, where, weights
    )
