"""Binary classification losses: one independent yes/no decision per entry."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike, Range
from jaxloss._registry import register


def _smooth_binary_labels(fn: str, labels: Array, label_smoothing) -> Array:
    """``y * (1 - ls) + 0.5 * ls``; skipped statically when ``label_smoothing`` is 0."""
    ls = core.optional_hyperparameter(
        fn, "label_smoothing", label_smoothing, labels.dtype, unless=0.0
    )
    return labels if ls is None else labels * (1 - ls) + 0.5 * ls


def _elementwise_weight(fn: str, name: str, value, like: Array) -> Array:
    """A non-negative scalar or array weight that broadcasts to ``like.shape``."""
    w = core.hyperparameter(fn, name, value, like.dtype)
    core.check_broadcastable(fn, name, w, like.shape, "probabilities/logits")
    return w


@register(
    family="binary",
    inputs="probabilities",
    torch="torch.nn.functional.binary_cross_entropy",
    keras="keras.losses.BinaryCrossentropy",
    ranges={
        "epsilon": Range(low=0.0, high=1.0, low_open=True, high_open=True),
        "positive_weight": Range(low=0.0),
        "negative_weight": Range(low=0.0),
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
    },
    notes={
        "torch": (
            "PyTorch clamps the log at -100; jaxloss clips probabilities to [epsilon, 1 - epsilon]."
        ),
        "keras": "Keras averages over the last axis.",
    },
)
def binary_cross_entropy(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    epsilon: float | ArrayLike = 1e-7,
    positive_weight: float | ArrayLike = 1.0,
    negative_weight: float | ArrayLike = 1.0,
    label_smoothing: float | ArrayLike = 0.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Binary cross-entropy of probabilities, elementwise.

    $$
        \ell_i = -\bigl(w_+ \, y_i \log p_i + w_- \, (1 - y_i) \log(1 - p_i)\bigr),
        \qquad y_i \leftarrow y_i (1 - \alpha) + \tfrac{\alpha}{2}
    $$

    where $w_+$ is ``positive_weight``, $w_-$ is ``negative_weight`` and
    $\alpha$ is ``label_smoothing``. For logits use
    [`sigmoid_binary_cross_entropy`][jaxloss.sigmoid_binary_cross_entropy], which is more accurate.

    Args:
      probabilities: predicted probabilities of the positive class, any shape, floating,
        values in ``[0, 1]``.
      labels: targets of the same shape, in ``[0, 1]`` (hard 0/1 labels or soft labels);
        float, integer or bool (cast to the compute dtype).
      epsilon: lower bound, in ``(0, 1)``, applied to $p$ and to $1 - p$
        before taking logs.
      positive_weight: non-negative weight of the positive (label 1) term; a scalar or an
        array broadcastable to ``probabilities.shape`` (e.g. per class).
      negative_weight: non-negative weight of the negative (label 0) term, same form.
      label_smoothing: $\alpha \in [0, 1)$; labels move towards 0.5.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``probabilities.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to ``probabilities.shape``.

    Returns:
      A scalar, or ``probabilities.shape`` for ``reduction="none"``; float32 for half
      precision inputs, float64 for float64 inputs.

    Raises:
      TypeError: if ``probabilities`` is not floating, if ``labels`` is complex or not numeric, if
        ``epsilon``, ``positive_weight``, ``negative_weight`` or ``label_smoothing`` is not a real
        number, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``probabilities``, if a concrete
        ``epsilon`` is not in ``(0, 1)``, ``positive_weight`` or ``negative_weight`` is negative or
        ``label_smoothing`` is not in ``[0, 1)``, if ``where`` or ``weights`` is not broadcastable
        to the per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or
        ``"none"``.

    Note:
      $p$ and $1 - p$ are each clipped below at ``epsilon``, so each term is
      at most $-\log(\epsilon) \approx 16.1$ for the default. A probability of
      exactly 0 or 1 that disagrees with its label gives this finite value and a zero
      gradient (the clip is flat there); one that agrees gives loss 0 and a finite
      gradient. The clip has gradient 1 at and above ``epsilon`` and 0 below it.
      Probabilities outside ``[0, 1]`` are not valid inputs.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([0.8, 0.3])
      >>> y = jnp.array([1.0, 0.0])
      >>> [round(v, 4) for v in jaxloss.binary_cross_entropy(p, y, reduction="none").tolist()]
      [0.2231, 0.3567]
      >>> round(float(jaxloss.binary_cross_entropy(jnp.array([0.0]), jnp.array([1.0]))), 4)
      16.1181

    Equivalent to ``torch.nn.functional.binary_cross_entropy`` (with ``weight`` split into
    the two class weights; PyTorch clamps each log at -100 instead of clipping at
    ``epsilon``) and to ``keras.losses.BinaryCrossentropy`` followed by no mean over the
    last axis (Keras averages over it, and clips $p$ to
    $[\epsilon, 1 - \epsilon]$). ``positive_weight``/``negative_weight`` are Axon's
    ``positive_weights``/``negative_weights``; Axon's per-row output is
    ``jnp.mean(..., axis=-1)`` of ``reduction="none"``.
    """
    fn = "binary_cross_entropy"
    p, y, mask = core.elementwise_inputs(
        fn, probabilities, labels, where, names=("probabilities", "labels"), fill=0.5
    )
    eps = core.hyperparameter(fn, "epsilon", epsilon, p.dtype)
    w_pos = _elementwise_weight(fn, "positive_weight", positive_weight, p)
    w_neg = _elementwise_weight(fn, "negative_weight", negative_weight, p)
    y = _smooth_binary_labels(fn, y, label_smoothing)
    # Clip with a where (gradient 1 above the bound, 0 below), not jnp.clip, whose
    # gradient is halved at the bound itself (p == 1 would get half its gradient).
    q = 1 - p
    log_p = jnp.log(jnp.where(p < eps, eps, p))
    log_q = jnp.log(jnp.where(q < eps, eps, q))
    values = -(w_pos * y * log_p + w_neg * (1 - y) * log_q)
    return core.finish(fn, values, reduction, mask, weights)


@register(
    family="binary",
    inputs="logits",
    optax="optax.losses.sigmoid_binary_cross_entropy",
    torch="torch.nn.functional.binary_cross_entropy_with_logits",
    keras="keras.losses.BinaryCrossentropy",
    ranges={
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
        "pos_weight": Range(low=0.0),
    },
    notes={
        "optax": (
            "jaxloss adds `pos_weight` and `label_smoothing`; agreeing infinite logits give 0, not"
            " NaN."
        ),
        "torch": (
            "`pos_weight` is the same. PyTorch's `weight` rescales each element and its `'mean'` "
            "is `mean(w * l)`; jaxloss's `weights` `'mean'` is `sum(w * l) / sum(w)`: use "
            "`reduction='sum'` and divide by the element count for PyTorch's figure."
        ),
    },
)
def sigmoid_binary_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    pos_weight: ArrayLike | None = None,
    label_smoothing: float | ArrayLike = 0.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Binary cross-entropy of logits (sigmoid applied inside), elementwise.

    $$
        \ell_i = -\bigl(w \, y_i \log \sigma(x_i) + (1 - y_i) \log \sigma(-x_i)\bigr),
        \qquad y_i \leftarrow y_i (1 - \alpha) + \tfrac{\alpha}{2}
    $$

    with $w$ = ``pos_weight`` (1 when ``None``) and $\log\sigma$ computed as
    ``jax.nn.log_sigmoid`` (stable for any finite logit).

    Args:
      logits: real-valued scores, any shape, floating.
      labels: targets of the same shape in ``[0, 1]``; float, integer or bool.
      pos_weight: ``None`` or non-negative weight of the positive term, a scalar or an
        array broadcastable to ``logits.shape`` (e.g. shape ``[C]`` for one weight per
        class); > 1 raises recall, < 1 raises precision.
      label_smoothing: $\alpha \in [0, 1)$; labels move towards 0.5.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``logits.shape``; masked entries are excluded
        and get zero gradient (also when their logits are inf/NaN).
      weights: non-negative sample weights broadcastable to ``logits.shape``.

    Returns:
      A scalar, or ``logits.shape`` for ``reduction="none"``; float32 for half precision
      inputs, float64 for float64 inputs.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is complex or not numeric, if
        ``pos_weight`` or ``label_smoothing`` is not a real number, or if ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``logits``, if ``pos_weight`` is not
        broadcastable to ``logits.shape``, if a concrete ``pos_weight`` is negative or
        ``label_smoothing`` is not in ``[0, 1)``, if ``where`` or ``weights`` is not broadcastable
        to the per-example loss shape, or if ``reduction`` is not ``"mean"``, ``"sum"`` or
        ``"none"``.

    Note:
      A logit of ``+inf`` with label exactly 1, or ``-inf`` with label exactly 0, gives
      loss exactly 0 and gradient exactly 0: logits are clipped to
      ``+-finfo(dtype).max / 4`` before the (branch-free) formula, so no ``inf - inf``
      appears in the value or the gradient. An infinite logit that disagrees with its
      label (or any infinite logit with ``label_smoothing > 0``) therefore gives a huge
      finite loss (about ``8.5e37`` in float32) instead of ``inf``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([2.0, -1.0, jnp.inf])
      >>> y = jnp.array([1.0, 0.0, 1.0])
      >>> loss = jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.1269, 0.3133, 0.0]

    Equivalent to ``optax.losses.sigmoid_binary_cross_entropy`` (``reduction="none"``;
    optax has no ``pos_weight``/``label_smoothing`` and gives NaN at the infinite
    logits above), ``torch.nn.functional.binary_cross_entropy_with_logits`` (same
    ``pos_weight``; its ``weight`` is ``weights`` here, except under ``"mean"``: PyTorch
    divides by the element count, ``mean(w * l)``, and jaxloss by the summed weights,
    ``sum(w * l) / sum(w)``, the rule of every jaxloss loss) and
    ``keras.losses.BinaryCrossentropy(from_logits=True)`` without its mean over the last
    axis (Keras's ``label_smoothing`` is the same).
    """
    fn = "sigmoid_binary_cross_entropy"
    x, y, mask = core.elementwise_inputs(fn, logits, labels, where, names=("logits", "labels"))
    y = _smooth_binary_labels(fn, y, label_smoothing)
    # Clipping makes +-inf logits finite, so the branch-free forms below never meet
    # inf - inf; clip's gradient is 0 there, which is the exact gradient when the label
    # agrees (loss 0 at the limit).
    bound = jnp.finfo(x.dtype).max / 4
    x = jnp.clip(x, -bound, bound)
    # softplus(-x) = log(1 + exp(-|x|)) + max(-x, 0), written so that its derivative at
    # x = 0 is exactly -1/2.
    log_term = jnp.log1p(jnp.exp(-jnp.abs(x)))
    if pos_weight is None:
        # -y log s(x) - (1-y) log s(-x) = max(x, 0) - x*y + log(1 + exp(-|x|)):
        # accurate for agreeing labels on both sides.
        values = jnp.where(x >= 0, x, 0) - x * y + log_term
    else:
        # PyTorch's form: (1-y) x + (1 + (w-1) y) softplus(-x).
        w = _elementwise_weight(fn, "pos_weight", pos_weight, x)
        softplus_neg = log_term + jnp.where(x < 0, -x, 0)
        values = (1 - y) * x + (1 + (w - 1) * y) * softplus_neg
    return core.finish(fn, values, reduction, mask, weights)


def _log_one_minus_pt(log_p: Array, log_q: Array, y: Array) -> Array:
    """``log(1 - p_t) = log((1 - y) p + y q)`` in log space, each weight's log guarded."""
    has_pos, has_neg = y > 0, y < 1
    log_y = jnp.where(has_pos, jnp.log(jnp.where(has_pos, y, 1)), -jnp.inf)
    log_1my = jnp.where(has_neg, jnp.log1p(-jnp.where(has_neg, y, 0)), -jnp.inf)
    return jnp.logaddexp(log_1my + log_p, log_y + log_q)


@jax.custom_jvp
def _sigmoid_focal_factor(x: Array, y: Array, g: Array) -> Array:
    """The modulating factor ``(1 - p_t)^g`` of the sigmoid focal loss, elementwise.

    The value is ``exp(g log(1 - p_t))`` with the log computed in log space; the
    derivatives are closed-form, so they are exact at hard labels too (autodiff through
    the guarded ``log y`` would drop the label derivative at ``y = 0`` and ``y = 1``).
    """
    return jnp.exp(g * _log_one_minus_pt(jax.nn.log_sigmoid(x), jax.nn.log_sigmoid(-x), y))


@_sigmoid_focal_factor.defjvp
def _sigmoid_focal_factor_jvp(primals, tangents):
    # With u = 1 - p_t = (1 - y) p + y q:  du/dx = p q (1 - 2y),  du/dy = q - p, and
    # d(u^g) = g u^(g-1) du, each product formed in log space so that no intermediate
    # overflows where u is tiny; d(u^g)/dg = u^g log u.
    x, y, g = primals
    dx, dy, dg = tangents
    log_p, log_q = jax.nn.log_sigmoid(x), jax.nn.log_sigmoid(-x)
    log_u = _log_one_minus_pt(log_p, log_q, y)
    out = jnp.exp(g * log_u)
    base = (g - 1) * log_u
    # The coefficients are formed before they meet the tangents, so that in reverse mode
    # a huge cotangent (the loss at a logit of -3e38) meets a zero coefficient, not g.
    active = g > 0
    c_x = jnp.where(active, g * jnp.exp(base + log_p + log_q) * (1 - 2 * y), 0)
    c_y = jnp.where(active, g * (jnp.exp(base + log_q) - jnp.exp(base + log_p)), 0)
    c_g = jnp.where(out > 0, out * log_u, 0)
    tangent = c_x * dx + c_y * dy + c_g * dg
    return out, tangent


@register(
    family="binary",
    inputs="logits",
    optax="optax.losses.sigmoid_focal_loss",
    torch="torchvision.ops.sigmoid_focal_loss",
    keras="keras.losses.BinaryFocalCrossentropy(from_logits=True)",
    ranges={
        "gamma": Range(low=0.0),
        "alpha": Range(low=0.0, high=1.0),
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
    },
    notes={
        "keras": (
            "Keras averages over the last axis; `apply_class_balancing=True, alpha=a` is "
            "`alpha=a`, `apply_class_balancing=False` (Keras's default) is `alpha=None` (the "
            "default here). The same `label_smoothing`, applied before the focal factor and the "
            "class weight as in Keras."
        ),
    },
)
def sigmoid_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float | Array | None = None,
    gamma: float | Array = 2.0,
    label_smoothing: float | Array = 0.0,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Sigmoid focal loss: binary cross-entropy scaled down on easy entries, elementwise.

    $$
        \ell_i = -\alpha_t\,(1 - p_t)^\gamma \bigl(y_i \log \sigma(x_i)
        + (1 - y_i) \log \sigma(-x_i)\bigr), \qquad
        1 - p_t = y_i\, \sigma(-x_i) + (1 - y_i)\, \sigma(x_i)
    $$

    with $\alpha_t = \alpha y_i + (1 - \alpha)(1 - y_i)$ (1 when ``alpha`` is
    ``None``). With ``label_smoothing`` $s$ the labels are first smoothed,
    $y_i \leftarrow y_i (1 - s) + s / 2$, and the smoothed labels enter everywhere: the
    cross-entropy, $p_t$ and $\alpha_t$ (as in Keras). The modulating factor is computed
    in log space,
    $\exp(\gamma \log(1 - p_t))$ with $\log(1 - p_t)$ a ``logaddexp`` of log
    sigmoids, so it is accurate and has a bounded derivative for every finite logit.

    Args:
      logits: real-valued scores, any shape, floating.
      labels: targets of the same shape in ``[0, 1]`` (hard or soft); float, int or bool.
      alpha: ``None`` or the weight $\alpha \in [0, 1]$ of the positive term.
      gamma: focusing exponent $\gamma \ge 0$; ``gamma=0`` is (``alpha``-weighted)
        [`sigmoid_binary_cross_entropy`][jaxloss.sigmoid_binary_cross_entropy].
      label_smoothing: $s \in [0, 1)$; labels move towards 0.5 (Keras's definition).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``logits.shape``; masked entries are excluded
        and get zero gradient (also when their logits are inf/NaN).
      weights: non-negative sample weights broadcastable to ``logits.shape``.

    Returns:
      A scalar, or ``logits.shape`` for ``reduction="none"``; float32 for half precision.

    Raises:
      TypeError: if ``logits`` is not floating, if ``labels`` is complex or not numeric, if
        ``alpha``, ``gamma`` or ``label_smoothing`` is not a real number, or if ``where`` is not
        boolean.
      ValueError: if ``labels`` does not have the shape of ``logits``, if a concrete ``gamma`` is
        negative, ``alpha`` is outside ``[0, 1]`` or ``label_smoothing`` is not in ``[0, 1)``, if
        ``where`` or ``weights`` is not broadcastable to the per-example loss shape, or if
        ``reduction`` is not ``"mean"``, ``"sum"`` or ``"none"``.

    Note:
      At ``gamma=0`` the modulating factor is exactly 1 with derivative exactly 0 (never
      ``0 ** 0`` or ``0 * inf``), so the gradient and the Hessian are finite at any
      finite logit, e.g. ``+-80``. A logit of ``+inf`` with label 1, or ``-inf`` with
      label 0, gives 0 with zero gradient; an infinite logit that disagrees with its label
      (or any infinite logit with ``label_smoothing > 0``) gives ``inf``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([2.0, -1.0, 0.5])
      >>> y = jnp.array([1.0, 0.0, 0.0])
      >>> loss = jaxloss.sigmoid_focal_loss(x, y, alpha=0.25, reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.0005, 0.017, 0.2831]

    Equivalent to ``optax.losses.sigmoid_focal_loss(logits, labels, alpha=alpha,
    gamma=gamma)`` (``reduction="none"``; optax needs labels broadcastable, here they
    have the logits' shape), ``torchvision.ops.sigmoid_focal_loss(inputs, targets,
    alpha, gamma, reduction="none")`` (whose ``alpha=-1`` is ``alpha=None`` here) and
    ``keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha, gamma,
    label_smoothing, from_logits=True)`` without its mean over the last axis
    (``apply_class_balancing=False``, Keras's default, is ``alpha=None``; Keras takes the
    sigmoid first and clips it to ``[1e-7, 1 - 1e-7]``, so its loss stops growing at
    about 16.1 for logits beyond ``+-16``, where jaxloss's keeps growing linearly).
    """
    fn = "sigmoid_focal_loss"
    x, y, mask = core.elementwise_inputs(fn, logits, labels, where, names=("logits", "labels"))
    y = _smooth_binary_labels(fn, y, label_smoothing)
    g = core.optional_hyperparameter(fn, "gamma", gamma, x.dtype, unless=0.0)
    a = None
    if alpha is not None:
        a = core.hyperparameter(fn, "alpha", alpha, x.dtype)
    # An infinite logit whose hard label agrees has loss 0: it is replaced by 0 before the
    # logs and its loss zeroed afterwards (double where), so no inf - inf or 0 * inf.
    agree = ((x == jnp.inf) & (y == 1)) | ((x == -jnp.inf) & (y == 0))
    x = jnp.where(agree, 0, x)
    log_p = jax.nn.log_sigmoid(x)
    log_q = jax.nn.log_sigmoid(-x)
    values = -(y * log_p + (1 - y) * log_q)
    if g is not None:
        values = _sigmoid_focal_factor(x, y, g) * values
    if a is not None:
        values = (a * y + (1 - a) * (1 - y)) * values
    values = jnp.where(agree, 0, values)
    return core.finish(fn, values, reduction, mask, weights)


def _power_of_nonnegative(u: Array, g: Array) -> Array:
    """``u ** g`` for ``u >= 0``, as ``exp(g log u)`` with a finite derivative at ``u = 0``.

    At ``u = 0`` the value is ``0 ** g`` (1 for ``g = 0``, else 0) and the derivatives are
    taken as 0 (double where): callers multiply the factor by a cross-entropy that is
    itself 0 there, so the product's derivative is 0 whatever ``g``.
    """
    positive = u > 0
    power = jnp.exp(g * jnp.log(jnp.where(positive, u, 1)))
    return jnp.where(positive, power, jnp.where(g == 0, 1, 0).astype(u.dtype))


@register(
    family="binary",
    inputs="probabilities",
    keras="keras.losses.BinaryFocalCrossentropy",
    ranges={
        "alpha": Range(low=0.0, high=1.0),
        "gamma": Range(low=0.0),
        "label_smoothing": Range(low=0.0, high=1.0, high_open=True),
        "epsilon": Range(low=0.0, high=1.0, low_open=True, high_open=True),
    },
    notes={
        "keras": (
            "Keras averages over the last axis. `apply_class_balancing=False` (Keras's default) "
            "is `alpha=None` (the default here), `apply_class_balancing=True, alpha=a` is "
            "`alpha=a`; `label_smoothing` and the clipping at `1e-7` are the same."
        ),
    },
)
def binary_focal_loss(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float | Array | None = None,
    gamma: float | Array = 2.0,
    label_smoothing: float | Array = 0.0,
    epsilon: float | Array = 1e-7,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Binary focal loss of probabilities: cross-entropy scaled down on easy entries.

    $$
        \ell_i = -\alpha_t\,(1 - p_t)^\gamma \bigl(y_i \log p_i
        + (1 - y_i) \log(1 - p_i)\bigr), \qquad
        1 - p_t = y_i (1 - p_i) + (1 - y_i)\, p_i
    $$

    with $\alpha_t = \alpha y_i + (1 - \alpha)(1 - y_i)$ (1 when ``alpha`` is
    ``None``, the default, as in Keras, whose class balancing is off by default). With
    ``label_smoothing`` $s$ the labels are first smoothed,
    $y_i \leftarrow y_i (1 - s) + s / 2$, and the smoothed labels enter the
    cross-entropy, $p_t$ and $\alpha_t$ (as in Keras). For logits use
    [`sigmoid_focal_loss`][jaxloss.sigmoid_focal_loss], which is more accurate.

    Args:
      probabilities: predicted probabilities of the positive class, any shape, floating,
        values in ``[0, 1]``.
      labels: targets of the same shape in ``[0, 1]`` (hard or soft); float, int or bool.
      alpha: ``None`` (no class balancing) or the weight $\alpha \in [0, 1]$ of the
        positive term ($1 - \alpha$ weighs the negative one). Keras's
        ``apply_class_balancing=True, alpha=0.25`` is ``alpha=0.25``.
      gamma: focusing exponent $\gamma \ge 0$; ``gamma=0`` is (``alpha``-weighted)
        [`binary_cross_entropy`][jaxloss.binary_cross_entropy].
      label_smoothing: $s \in [0, 1)$; labels move towards 0.5 (Keras's definition).
      epsilon: lower bound, in ``(0, 1)``, applied to $p$ and to $1 - p$ inside the
        logs (Keras's ``1e-7``); the focal factor uses the probabilities as given.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``probabilities.shape``; masked entries are
        excluded and get zero gradient.
      weights: non-negative sample weights broadcastable to ``probabilities.shape``.

    Returns:
      A scalar, or ``probabilities.shape`` for ``reduction="none"``; float32 for half
      precision inputs, float64 for float64 inputs.

    Raises:
      TypeError: if ``probabilities`` is not floating, if ``labels`` is complex or not numeric,
        if ``alpha``, ``gamma``, ``label_smoothing`` or ``epsilon`` is not a real number, or if
        ``where`` is not boolean.
      ValueError: if ``labels`` does not have the shape of ``probabilities``, if a concrete
        ``alpha`` is outside ``[0, 1]``, ``gamma`` is negative, ``label_smoothing`` is not in
        ``[0, 1)`` or ``epsilon`` is not in ``(0, 1)``, if ``where`` or ``weights`` is not
        broadcastable to the per-example loss shape, or if ``reduction`` is not ``"mean"``,
        ``"sum"`` or ``"none"``.

    Note:
      Each log is at most $-\log(\epsilon) \approx 16.1$ for the default
      ``epsilon``, so a probability of exactly 0 or 1 that disagrees with its label gives a
      finite loss and a finite gradient (through the focal factor; the clip itself is
      flat there). One that agrees with a hard label gives 0 with a finite gradient for
      any ``gamma``, also below 1, where $(1 - p_t)^\gamma$ has an infinite slope at
      $p_t = 1$ (it is multiplied by a cross-entropy that vanishes there).
      Probabilities outside ``[0, 1]`` are not valid inputs.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([0.9, 0.4, 0.2])
      >>> y = jnp.array([1.0, 1.0, 0.0])
      >>> loss = jaxloss.binary_focal_loss(p, y, reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.0011, 0.3299, 0.0089]
      >>> loss = jaxloss.binary_focal_loss(p, y, alpha=0.25, reduction="none")
      >>> [round(v, 4) for v in loss.tolist()]
      [0.0003, 0.0825, 0.0067]

    Equivalent to ``keras.losses.BinaryFocalCrossentropy(apply_class_balancing, alpha,
    gamma, label_smoothing)`` (``from_logits=False``, its default) without its mean over
    the last axis, with ``alpha=None`` for ``apply_class_balancing=False``. Keras clips
    $p$ to $[\epsilon, 1 - \epsilon]$ in the cross-entropy, which differs from
    clipping $p$ and $1 - p$ below at $\epsilon$ only above $1 - \epsilon$.
    """
    fn = "binary_focal_loss"
    p, y, mask = core.elementwise_inputs(
        fn, probabilities, labels, where, names=("probabilities", "labels"), fill=0.5
    )
    eps = core.hyperparameter(fn, "epsilon", epsilon, p.dtype)
    y = _smooth_binary_labels(fn, y, label_smoothing)
    g = core.optional_hyperparameter(fn, "gamma", gamma, p.dtype, unless=0.0)
    q = 1 - p
    # Clipped with a where, as in binary_cross_entropy: gradient 1 at p == 1, not 1/2.
    log_p = jnp.log(jnp.where(p < eps, eps, p))
    log_q = jnp.log(jnp.where(q < eps, eps, q))
    values = -(y * log_p + (1 - y) * log_q)
    if g is not None:
        values = _power_of_nonnegative(y * q + (1 - y) * p, g) * values
    if alpha is not None:
        a = core.hyperparameter(fn, "alpha", alpha, p.dtype)
        values = (a * y + (1 - a) * (1 - y)) * values
    return core.finish(fn, values, reduction, mask, weights)
