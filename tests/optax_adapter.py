"""jaxloss behind optax's loss signatures, so that optax's own loss tests can run on it.

``MODULES[name]`` stands in for ``optax.losses.<name>`` (``_classification``,
``_regression``, ...): a module object whose public functions take optax's arguments
(positional where optax has them positional, optax's names and defaults) and call the
jaxloss loss. optax returns per-example values, so every adapter passes
``reduction="none"`` unless optax itself reduces (``ntxent``, ``ranking_softmax_loss``'s
``reduce_fn``). ``LOSSES`` stands in for the public ``optax.losses`` namespace (for
optax's doctests).

Only the mapping of arguments lives here, never a formula: a behaviour jaxloss does not
have is not emulated. optax functions that jaxloss does not have yet are stubs raising
:class:`NotInJaxloss`; an optax option without a jaxloss counterpart raises
:class:`UnsupportedOption` unless it has its default value.
"""

from __future__ import annotations

import types

import jax.numpy as jnp

import jaxloss


class NotInJaxloss(NotImplementedError):
    """An optax loss that jaxloss does not provide (yet)."""


class UnsupportedOption(NotImplementedError):
    """An optax option that the adapter cannot map onto jaxloss."""


# optax.losses functions without a jaxloss equivalent, with the reason.
MISSING: dict[str, str] = {}


def _missing(module: str, name: str):
    def stub(*args, **kwargs):
        raise NotInJaxloss(f"optax.losses.{name} is not in jaxloss yet: {MISSING[name]}")

    stub.__name__ = stub.__qualname__ = name
    stub.__module__ = module
    return stub


def _default_only(fn: str, option: str, value, default) -> None:
    if value is not default and value != default:
        raise UnsupportedOption(
            f"{fn}: optax's {option}={value!r} has no jaxloss counterpart (only the default "
            f"{default!r} is mapped)"
        )


def _zeros_if_none(predictions, targets):
    """optax's regression losses default ``targets`` to zeros; jaxloss requires them."""
    return jnp.zeros_like(jnp.asarray(predictions)) if targets is None else targets


# ---------------------------------------------------------------------------
# optax.losses._classification


def sigmoid_binary_cross_entropy(logits, labels):
    return jaxloss.sigmoid_binary_cross_entropy(logits, labels, reduction="none")


def hinge_loss(predictor_outputs, targets):
    return jaxloss.hinge_loss(predictor_outputs, targets, reduction="none")


def perceptron_loss(predictor_outputs, targets):
    return jaxloss.perceptron_loss(predictor_outputs, targets, reduction="none")


def sparsemax_loss(logits, labels):
    return jaxloss.sparsemax_loss(logits, labels, reduction="none")


def softmax_cross_entropy(logits, labels, axis=-1, where=None):
    # optax's where: a class mask of the logits' rank, or an example mask (fewer
    # dimensions, expanded along axis); jaxloss's softmax family takes both as is.
    return jaxloss.softmax_cross_entropy(logits, labels, axis=axis, where=where, reduction="none")


def safe_softmax_cross_entropy(logits, labels):
    return jaxloss.safe_softmax_cross_entropy(logits, labels, reduction="none")


def softmax_cross_entropy_with_integer_labels(logits, labels, axis=-1, where=None):
    return jaxloss.softmax_cross_entropy_with_integer_labels(
        logits, labels, axis=axis, where=where, reduction="none"
    )


def multiclass_hinge_loss(scores, labels):
    return jaxloss.multiclass_hinge_loss(scores, labels, reduction="none")


def multiclass_perceptron_loss(scores, labels):
    return jaxloss.multiclass_perceptron_loss(scores, labels, reduction="none")


def poly_loss_cross_entropy(logits, labels, *, epsilon=2.0, axis=-1, where=None):
    return jaxloss.poly_loss_cross_entropy(
        logits, labels, epsilon=epsilon, axis=axis, where=where, reduction="none"
    )


def kl_divergence(log_predictions, targets, axis=-1, where=None):
    return jaxloss.kl_divergence(log_predictions, targets, axis=axis, where=where, reduction="none")


def kl_divergence_with_log_targets(log_predictions, log_targets, axis=-1, where=None):
    return jaxloss.kl_divergence_with_log_targets(
        log_predictions, log_targets, axis=axis, where=where, reduction="none"
    )


def generalized_kl_divergence(log_predictions, targets, axis=-1, where=None):
    return jaxloss.generalized_kl_divergence(
        log_predictions, targets, axis=axis, where=where, reduction="none"
    )


def convex_kl_divergence(log_predictions, targets, axis=-1, where=None):
    # jaxloss's alias of generalized_kl_divergence (optax's also warns: not emulated).
    return jaxloss.convex_kl_divergence(
        log_predictions, targets, axis=axis, where=where, reduction="none"
    )


def ctc_loss_with_forward_probs(
    logits, logit_paddings, labels, label_paddings, *, blank_id=0, log_epsilon=-1e5
):
    _default_only("ctc_loss_with_forward_probs", "log_epsilon", log_epsilon, -1e5)
    return jaxloss.ctc_loss_with_forward_probs(
        logits, logit_paddings, labels, label_paddings, blank_id=blank_id
    )


def ctc_loss(logits, logit_paddings, labels, label_paddings, *, blank_id=0, log_epsilon=-1e5):
    # optax's log_epsilon is the log-probability it uses for "impossible"; jaxloss uses a
    # true -inf (so it has no such option).
    _default_only("ctc_loss", "log_epsilon", log_epsilon, -1e5)
    return jaxloss.ctc_loss(
        logits, logit_paddings, labels, label_paddings, blank_id=blank_id, reduction="none"
    )


def sigmoid_focal_loss(logits, labels, *, alpha=None, gamma=2.0):
    return jaxloss.sigmoid_focal_loss(logits, labels, alpha=alpha, gamma=gamma, reduction="none")


def multiclass_sparsemax_loss(scores, labels):
    return jaxloss.multiclass_sparsemax_loss(scores, labels, reduction="none")


# ---------------------------------------------------------------------------
# optax.losses._regression


def squared_error(predictions, targets=None):
    return jaxloss.squared_error(
        predictions, _zeros_if_none(predictions, targets), reduction="none"
    )


def l2_loss(predictions, targets=None):
    return jaxloss.l2_loss(predictions, _zeros_if_none(predictions, targets), reduction="none")


def huber_loss(predictions, targets=None, *, delta=1.0):
    return jaxloss.huber_loss(
        predictions, _zeros_if_none(predictions, targets), delta=delta, reduction="none"
    )


def log_cosh(predictions, targets=None):
    return jaxloss.log_cosh(predictions, _zeros_if_none(predictions, targets), reduction="none")


def cosine_similarity(predictions, targets, *, epsilon=0.0, axis=-1, where=None):
    # optax's epsilon floors the squared norm, jaxloss's the norm.
    return jaxloss.cosine_similarity(
        predictions, targets, axis=axis, epsilon=epsilon**0.5, where=where, reduction="none"
    )


def cosine_distance(predictions, targets, *, epsilon=0.0, axis=-1, where=None):
    return jaxloss.cosine_distance(
        predictions, targets, axis=axis, epsilon=epsilon**0.5, where=where, reduction="none"
    )


# ---------------------------------------------------------------------------
# optax.losses._ranking


def _reduction(reduce_fn) -> str:
    """optax's ``reduce_fn`` as a jaxloss ``reduction``."""
    if reduce_fn is jnp.mean:
        return "mean"
    if reduce_fn is jnp.sum:
        return "sum"
    if reduce_fn is None:
        return "none"
    raise UnsupportedOption(
        f"ranking_softmax_loss: reduce_fn={reduce_fn!r} is not jnp.mean, jnp.sum or None"
    )


def ranking_softmax_loss(logits, labels, *, where=None, weights=None, reduce_fn=jnp.mean):
    # optax's per-item weights are jaxloss's item_weights; its reduce_fn is a reduction.
    return jaxloss.ranking_softmax_loss(
        logits, labels, item_weights=weights, where=where, reduction=_reduction(reduce_fn)
    )


# ---------------------------------------------------------------------------
# optax.losses._segmentation


def dice_loss(
    predictions,
    targets,
    *,
    class_weights=None,
    smooth=1.0,
    alpha=0.5,
    beta=0.5,
    apply_softmax=True,
    reduction="mean",
    ignore_background=False,
    axis=None,
):
    # optax's reduction is over classes (jaxloss's class_reduction); per example here.
    return jaxloss.dice_loss(
        predictions,
        targets,
        class_weights=class_weights,
        smooth=smooth,
        alpha=alpha,
        beta=beta,
        apply_softmax=apply_softmax,
        ignore_background=ignore_background,
        class_reduction=reduction,
        axis=axis,
        reduction="none",
    )


def multiclass_generalized_dice_loss(
    predictions, targets, *, smooth=1.0, apply_softmax=True, ignore_background=False
):
    # optax returns the batch mean (its class weights couple the examples).
    return jaxloss.multiclass_generalized_dice_loss(
        predictions,
        targets,
        smooth=smooth,
        apply_softmax=apply_softmax,
        ignore_background=ignore_background,
        reduction="mean",
    )


def binary_dice_loss(predictions, targets, *, smooth=1.0, apply_sigmoid=True):
    return jaxloss.binary_dice_loss(
        predictions, targets, smooth=smooth, apply_sigmoid=apply_sigmoid, reduction="none"
    )


# ---------------------------------------------------------------------------
# optax.losses._self_supervised


def ntxent(embeddings, labels, temperature=0.07):
    # optax returns the mean over positive pairs: jaxloss's "mean" over anchors.
    return jaxloss.ntxent(embeddings, labels, temperature=temperature, reduction="mean")


def triplet_margin_loss(
    anchors, positives, negatives, axis=-1, norm_degree=2, margin=1.0, eps=1e-6
):
    # optax adds eps inside the root, jaxloss (as PyTorch) to each difference; the two
    # agree to O(eps).
    return jaxloss.triplet_margin_loss(
        anchors,
        positives,
        negatives,
        margin=margin,
        p=norm_degree,
        epsilon=eps,
        axis=axis,
        reduction="none",
    )


# ---------------------------------------------------------------------------
# optax.losses._smoothing


def smooth_labels(labels, alpha, *, axis=-1, where=None):
    return jaxloss.smooth_labels(labels, alpha, axis=axis, where=where)


# ---------------------------------------------------------------------------
# optax.losses._fenchel_young


def make_fenchel_young_loss(max_fun):
    # optax's loss returns the per-vector values: jaxloss's reduction="none".
    loss = jaxloss.make_fenchel_young_loss(max_fun)

    def fenchel_young_loss(scores, targets, **kwargs):
        return loss(scores, targets, reduction="none", **kwargs)

    return fenchel_young_loss


# ---------------------------------------------------------------------------
# the stand-in modules

_CONTENTS = {
    "_classification": (
        sigmoid_binary_cross_entropy,
        hinge_loss,
        perceptron_loss,
        sparsemax_loss,
        safe_softmax_cross_entropy,
        softmax_cross_entropy,
        softmax_cross_entropy_with_integer_labels,
        multiclass_hinge_loss,
        multiclass_perceptron_loss,
        poly_loss_cross_entropy,
        kl_divergence,
        kl_divergence_with_log_targets,
        generalized_kl_divergence,
        convex_kl_divergence,
        ctc_loss_with_forward_probs,
        ctc_loss,
        sigmoid_focal_loss,
        multiclass_sparsemax_loss,
    ),
    "_regression": (
        squared_error,
        l2_loss,
        huber_loss,
        log_cosh,
        cosine_similarity,
        cosine_distance,
    ),
    "_ranking": (ranking_softmax_loss,),
    "_segmentation": (dice_loss, multiclass_generalized_dice_loss, binary_dice_loss),
    "_self_supervised": (ntxent, triplet_margin_loss),
    "_smoothing": (smooth_labels,),
    "_fenchel_young": (make_fenchel_young_loss,),
}


def _module(name: str, contents) -> types.ModuleType:
    full = f"{__name__}.{name}"
    module = types.ModuleType(full, f"jaxloss behind the signatures of optax.losses.{name}.")
    for item in contents:
        fn = _missing(full, item) if isinstance(item, str) else item
        setattr(module, fn.__name__, fn)

    def __getattr__(attr):
        raise AttributeError(
            f"{full} has no {attr!r}: map optax.losses.{name}.{attr} in tests/optax_adapter.py"
        )

    module.__getattr__ = __getattr__
    return module


MODULES = {name: _module(name, contents) for name, contents in _CONTENTS.items()}

LOSSES = types.SimpleNamespace(
    **{
        attr: getattr(module, attr)
        for module in MODULES.values()
        for attr in vars(module)
        if not attr.startswith("_")
    }
)
