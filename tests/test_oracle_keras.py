"""Live Keras 3 oracle (JAX backend): every jaxloss loss that ``keras.losses`` also has.

Keras computes in float32, so both sides run in float32 and are compared at float32
tolerance. With the JAX backend a Keras loss is a JAX function, so its gradients come
from ``jax.vjp`` too: each case compares values for every Keras reduction (``None``,
``"sum_over_batch_size"``, ``"sum"``) and the vector-Jacobian products, under one seeded
random cotangent, with respect to the inputs the case differentiates (``diff``: the
predictions and the targets for most, the embeddings and reference embeddings for the
circle loss (with ``alpha_gradient=True``, Keras's gradient); none for the probability form
of ``SparseCategoricalCrossentropy``, whose values alone are compared). Both sides of a case,
values and VJPs for all three reductions, run as one compiled program.

Mapping: Keras averages elementwise losses over the last axis (``MeanSquaredError`` and
friends, ``BinaryCrossentropy``, ``Hinge``, ...), so its per-sample value is
``jnp.mean(jaxloss(..., reduction="none"), -1)``, ``"sum_over_batch_size"`` is jaxloss's
``"mean"`` and ``"sum"`` is jaxloss's ``"sum"`` divided by the size of that axis.

Where jaxloss differs from Keras by design, the difference is asserted (never skipped):
:data:`DIFFERENCES` lists each one, with its reason and the test that asserts it.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "jax"  # before keras is imported anywhere

import functools  # noqa: E402
import math  # noqa: E402
import zlib  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.special  # noqa: E402

import jaxloss  # noqa: E402
from tests.grads import of_args  # noqa: E402

RTOL = 2e-5
ATOL = 2e-6
N, C = 6, 5
# jaxloss reduction -> Keras reduction
KERAS_REDUCTION = {"none": None, "mean": "sum_over_batch_size", "sum": "sum"}
KL = keras.losses

# Documented differences between jaxloss and Keras: key -> (reason, asserting test).
DIFFERENCES: dict[str, tuple[str, str]] = {
    "hinge_binary_labels": (
        "keras Hinge/SquaredHinge convert labels in {0, 1} to {-1, +1} (2y - 1) when every "
        "label is 0 or 1; jaxloss hinge_loss/squared_hinge_loss use labels as given.",
        "test_hinge_converts_binary_labels_in_keras",
    ),
    "categorical_crossentropy_renormalization": (
        "keras CategoricalCrossentropy / SparseCategoricalCrossentropy on probabilities "
        "first rescale them to sum to 1 (and clip at 1 - 1e-7); jaxloss "
        "categorical_cross_entropy uses them as given. Equal values on normalized "
        "probabilities; on unnormalized ones keras == jaxloss(p / sum(p)); the gradient "
        "with respect to p differs by Keras's normalization term sum(y) / sum(p).",
        "test_categorical_crossentropy_renormalizes_in_keras",
    ),
    "categorical_focal_renormalization": (
        "keras CategoricalFocalCrossentropy on probabilities first rescales them to sum to "
        "1 over axis; jaxloss categorical_focal_loss uses them as given. Equal values on "
        "normalized probabilities; on unnormalized ones keras == jaxloss(p / sum(p)); on "
        "normalized ones keras's gradient with respect to p is jaxloss's g minus <g, p> "
        "(a constant per example).",
        "test_categorical_focal_renormalizes_in_keras",
    ),
    "categorical_focal_smoothing_axis": (
        "keras CategoricalFocalCrossentropy(axis=a) smooths labels with the size of the "
        "last axis, not of axis a; jaxloss divides label_smoothing by the number of classes "
        "along axis.",
        "test_categorical_focal_smoothing_uses_the_last_axis_in_keras",
    ),
    "tversky_alpha_beta_swapped": (
        "keras Tversky(alpha, beta) multiplies alpha by sum(y_true * (1 - y_pred)) (the "
        "false negatives) and beta by the false positives, although its docstring says "
        "alpha weighs false positives; jaxloss tversky_loss follows Salehi et al. "
        "(alpha on false positives). keras Tversky(alpha=a, beta=b) == jaxloss "
        "tversky_loss(alpha=b, beta=a).",
        "test_tversky_alpha_and_beta_are_swapped_in_keras",
    ),
    "overlap_empty_masks": (
        "keras Dice/Tversky add 1e-7 to the denominator: an empty target with an empty "
        "prediction gives loss 1; jaxloss (smooth=0) takes 0/0 as a perfect overlap, "
        "loss 0.",
        "test_empty_masks",
    ),
    "circle_gradient": (
        "jaxloss circle_loss holds the weights alpha_p, alpha_n constant for autodiff by "
        "default (stop_gradient, as the paper's implementation); keras Circle/circle "
        "differentiates through them. Values agree, gradients differ; jaxloss "
        "alpha_gradient=True gives Keras's gradient (the oracle cases).",
        "test_circle_gradient_treats_the_weights_as_constants",
    ),
    "circle_mean_over_nonzero_anchors": (
        "keras Circle marks its per-anchor output with a mask (loss > 0), so its "
        "'sum_over_batch_size' divides by the number of anchors with a positive and a "
        "negative; jaxloss circle_loss 'mean' divides by every anchor (those without "
        "give 0 and count). 'none' and 'sum' agree.",
        "test_circle_mean_counts_only_anchors_with_a_loss_in_keras",
    ),
    "kl_divergence_clipping": (
        "keras KLDivergence clips targets and predictions to [1e-7, 1]: a zero "
        "prediction under a positive target is finite in keras, inf in jaxloss; a zero "
        "target contributes 1e-7 * log(1e-7 / p) in keras, exactly 0 in jaxloss.",
        "test_kl_divergence_clips_in_keras",
    ),
    "sample_weight_mean": (
        "keras 'sum_over_batch_size' with sample_weight divides sum(w * l) by the batch "
        "size; jaxloss 'mean' with weights divides by sum(w), which is keras's "
        "'mean_with_sample_weight'.",
        "test_sample_weights",
    ),
    "ctc_infeasible": (
        "keras's CTC (optax's recursion, log(0) = -1e5) returns a large finite value for "
        "a target that no alignment can produce; jaxloss returns +inf.",
        "test_ctc_infeasible_is_finite_in_keras",
    ),
}


# ---------------------------------------------------------------------------
# the comparison


def _f32(a):
    a = np.asarray(a)
    return jnp.asarray(a, jnp.float32) if a.dtype.kind == "f" else jnp.asarray(a)


def _jit_values_and_vjps(fn_pairs, diff, seed):
    """One compiled program: for each ``(jfn, kfn)`` pair, ``((j_out, j_vjps), (k_out,
    k_vjps))`` on ``args``, the VJPs with respect to ``args[i]`` for ``i`` in ``diff`` under
    one seeded normal cotangent of the output's shape (a constant of the program)."""

    def run(*args):
        results = []
        for jfn, kfn in fn_pairs:
            primals = [args[i] for i in diff]
            j_out, j_vjp = jax.vjp(of_args(jfn, args, diff), *primals)
            k_out, k_vjp = jax.vjp(of_args(kfn, args, diff), *primals)
            g = np.random.default_rng(seed + 12345).normal(size=j_out.shape)
            g = jnp.asarray(g, jnp.float32)
            results.append(((j_out, j_vjp(g)), (k_out, k_vjp(g))))
        return results

    return jax.jit(run)


def compare(j_result, k_result, diff, *, rtol=RTOL, atol=ATOL):
    """Compares jaxloss's ``(value, VJPs)`` with Keras's (gradients at ten times the value
    tolerance)."""
    (j_out, j_grads), (k_out, k_grads) = j_result, k_result
    assert j_out.dtype == jnp.float32
    assert j_out.shape == k_out.shape, (j_out.shape, k_out.shape)
    np.testing.assert_allclose(j_out, k_out, rtol=rtol, atol=atol, err_msg="value")
    for i, jg, kg in zip(diff, j_grads, k_grads):
        np.testing.assert_allclose(
            jg,
            kg,
            rtol=10 * rtol,
            atol=10 * atol,
            err_msg=f"gradient w.r.t. argument {i}",
        )


# ---------------------------------------------------------------------------
# data


def _probs(rng, shape, axis=-1):
    return scipy.special.softmax(rng.normal(size=shape), axis=axis)


def _onehot(rng, shape, axis=-1):
    labels = rng.integers(0, shape[axis], size=np.delete(shape, axis))
    return np.moveaxis(np.eye(shape[axis])[labels], -1, axis)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _values(rng, shape=(N, C), scale=1.5):
    return rng.normal(size=shape) * scale, rng.normal(size=shape) * scale


def _logits_binary(rng, hard=False, shape=(N, C)):
    x = rng.normal(size=shape) * 2
    y = rng.integers(0, 2, size=shape).astype(float) if hard else rng.uniform(size=shape)
    return x, y


def _probs_binary(rng, hard=False):
    x, y = _logits_binary(rng, hard)
    return _sigmoid(x), y


def _signs(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


def _masks(rng, shape):
    """Soft predicted masks (probabilities) and binary target masks, [B, H, W, C]."""
    return rng.uniform(size=shape), (rng.uniform(size=shape) < 0.4).astype(float)


# ---------------------------------------------------------------------------
# the cases: jaxloss fn(reduction, pred, true, ...), keras fn(reduction, pred, true, ...)


@dataclass(frozen=True)
class Case:
    name: str
    jfn: Callable
    kfn: Callable
    data: Callable[[np.random.Generator], tuple]
    diff: tuple[int, ...] = (0, 1)


def _keras(cls, **kw):
    """``fn(reduction, pred, true)`` calling ``cls(**kw, reduction=...)(true, pred)``."""
    return lambda r, p, t: cls(reduction=KERAS_REDUCTION[r], **kw)(t, p)


def _last_axis_mean(fn):
    """jaxloss's elementwise ``fn`` in Keras's form: averaged over the last axis."""

    def f(r, p, t, **kw):
        if r == "none":
            return jnp.mean(fn(p, t, reduction="none", **kw), axis=-1)
        out = fn(p, t, reduction=r, **kw)
        return out if r == "mean" else out / p.shape[-1]

    return f


def _per_example(fn):
    return lambda r, p, t, **kw: fn(p, t, reduction=r, **kw)


def _overlap(fn):
    """jaxloss dice/tversky in Keras's [B, C] output (axis=(1, 2) over [B, H, W, C]): no
    smoothing, probabilities in, the class reduction the example reduction."""
    return lambda r, p, t, **kw: fn(
        p, t, smooth=0.0, apply_softmax=False, class_reduction=r, reduction=r, **kw
    )


# Keras's names of jaxloss's options, where they differ
_KERAS_NAME = {"ignore_index": "ignore_class"}


def _on(inputs, fn):
    """``fn`` of ``inputs(pred, true)``."""
    return fn if inputs is None else lambda r, p, t, **kw: fn(r, *inputs(p, t), **kw)


def _case(
    name,
    jfn,
    cls,
    data,
    diff=(0, 1),
    *,
    jax_only=(),
    keras_only=(),
    jax_inputs=None,
    keras_inputs=None,
    **options,
):
    """A :class:`Case`: ``jfn(r, pred, true, **options)`` (jaxloss in Keras's form) against
    ``cls(**options)`` (named by ``_KERAS_NAME``), with the ``jax_only``/``keras_only``
    options; ``jax_inputs``/``keras_inputs``: what that side makes of ``(pred, true)`` first
    (``None``: nothing)."""
    k_options = {_KERAS_NAME.get(k, k): v for k, v in options.items()} | dict(keras_only)
    return Case(
        name,
        _on(jax_inputs, functools.partial(jfn, **options, **dict(jax_only))),
        _on(keras_inputs, _keras(cls, **k_options)),
        data,
        diff,
    )


def _family(jfn, cls, **keras_only):
    """``case(name, data, diff=(0, 1), **options)``: :func:`_case` for ``jfn`` against
    ``cls``, with the Keras-only options ``keras_only``."""
    return lambda name, data, diff=(0, 1), **kw: _case(
        name, jfn, cls, data, diff, keras_only=keras_only, **kw
    )


def _binary_focal(jfn, **keras_only):
    """:func:`_family` for jaxloss's binary focal ``jfn`` against BinaryFocalCrossentropy,
    whose class balancing (with ``alpha``) is jaxloss's ``alpha`` (not None)."""

    def case(name, data, **options):
        balancing = {"apply_class_balancing": "alpha" in options}
        return _case(
            name,
            _last_axis_mean(jfn),
            KL.BinaryFocalCrossentropy,
            data,
            keras_only=keras_only | balancing,
            **options,
        )

    return case


def _ctc_data(rng):
    """Logits [4, 8, 5] and zero-padded labels (0 is the blank and the padding)."""
    x = rng.normal(size=(4, 8, 5)) * 1.5
    y = np.array([[2, 2, 3, 0, 0], [1, 4, 0, 0, 0], [3, 0, 0, 0, 0], [4, 1, 2, 3, 1]])
    return x, y


def _ctc_jax(r, x, y):
    pad = (y == 0).astype(jnp.float32)
    return jaxloss.ctc_loss(x, jnp.zeros(x.shape[:2]), y, pad, reduction=r)


def _ctc_keras(x, y):
    return {r: KL.CTC(reduction=k)(y, x) for r, k in KERAS_REDUCTION.items()}


@jax.jit
def _ctc_run(x, y, ct):
    """Both sides' CTC for every reduction (dicts reduction -> output) and their VJPs with
    respect to ``x`` under the cotangents ``ct`` (a dict like the outputs): one compiled
    program for the CTC tests (the CTC loops take seconds to compile)."""
    j_out, j_vjp = jax.vjp(lambda a: {r: _ctc_jax(r, a, y) for r in KERAS_REDUCTION}, x)
    k_out, k_vjp = jax.vjp(lambda a: _ctc_keras(a, y), x)
    return j_out, k_out, j_vjp(ct)[0], k_vjp(ct)[0]


def _ctc_cotangents(x, reduction=None, g=None):
    """Zero cotangents for ``_ctc_run`` on ``x``, except ``g`` for ``reduction``'s output."""
    ct = {r: jnp.zeros(x.shape[:1] if r == "none" else ()) for r in KERAS_REDUCTION}
    if reduction is not None:
        ct[reduction] = jnp.asarray(g, jnp.float32)
    return ct


def _circle_data(rng):
    e = rng.normal(size=(8, 4))
    return e, np.array([0, 0, 1, 1, 1, 2, 2, 0])


def _unit(e):
    return e / jnp.linalg.norm(e, axis=-1, keepdims=True)


def _circle_jax(r, e, y):
    return jaxloss.circle_loss(e, y, margin=0.25, gamma=8.0, reduction=r)


@functools.partial(jax.jit, static_argnums=0)  # compiled: Keras's many small ops are slow
def _circle_keras(r, e, y):
    return KL.Circle(gamma=8.0, margin=0.25, reduction=KERAS_REDUCTION[r])(y, _unit(e))


def _circle_class(remove_diagonal):
    """keras Circle (the batch against itself) and jaxloss with Keras's gradient."""

    opts = dict(gamma=8.0, margin=0.25, remove_diagonal=remove_diagonal)

    def jfn(r, e, y):
        return jaxloss.circle_loss(e, y, alpha_gradient=True, reduction=r, **opts)

    def kfn(r, e, y):
        return KL.Circle(reduction=KERAS_REDUCTION[r], **opts)(y, _unit(e))

    return jfn, kfn


def _circle_refs_data(rng):
    """8 anchors and 6 reference embeddings; every anchor has a positive and a negative
    among the references, also with the diagonal removed; (i, i) is a positive pair for
    i = 0, 2, 3, 4."""
    e, bank = rng.normal(size=(8, 4)), rng.normal(size=(6, 4))
    return e, np.array([0, 0, 1, 1, 2, 2, 0, 1]), bank, np.array([0, 2, 1, 1, 2, 0])


def _circle_function(remove_diagonal, with_batch=False):
    """keras.losses.circle with reference embeddings (per anchor, reduced as jaxloss
    reduces it) and jaxloss with Keras's gradient. ``with_batch``: the references are the
    batch followed by the bank, so that (i, i) is each anchor with itself (s = 1)."""

    opts = dict(gamma=10.0, margin=0.4, remove_diagonal=remove_diagonal)

    def refs(e, y, bank, ry):
        return (jnp.concatenate([e, bank]), jnp.concatenate([y, ry])) if with_batch else (bank, ry)

    def jfn(r, e, y, bank, ry):
        bank, ry = refs(e, y, bank, ry)
        return jaxloss.circle_loss(
            e, y, ref_embeddings=bank, ref_labels=ry, alpha_gradient=True, reduction=r, **opts
        )

    def kfn(r, e, y, bank, ry):
        bank, ry = refs(e, y, bank, ry)
        per_anchor = KL.circle(y, _unit(e), ref_labels=ry, ref_embeddings=_unit(bank), **opts)
        return {"none": per_anchor, "mean": jnp.mean(per_anchor), "sum": jnp.sum(per_anchor)}[r]

    return jfn, kfn


W_CLASS = np.array([0.5, 2.0, 1.0, 0.25, 1.5])


def _softmax(x, t):
    return jax.nn.softmax(x), t


def _one_hot(x, t):
    return x, jax.nn.one_hot(t, C)


def _softmax_one_hot(x, t):
    return _one_hot(*_softmax(x, t))


def _hard_logits(rng):
    return _logits_binary(rng, hard=True)


def _logits_and(targets):
    """Data: logits [N, C] (times 2) and ``targets(rng)``."""
    return lambda rng: (rng.normal(size=(N, C)) * 2, targets(rng))


def _probs_and(targets):
    """Data: probabilities [N, C] and ``targets(rng)``."""
    return lambda rng: (_probs(rng, (N, C)), targets(rng))


def _soft_labels(rng):
    return _probs(rng, (N, C))


def _onehot_labels(rng):
    return _onehot(rng, (N, C))


def _int_labels(rng):
    return rng.integers(0, C, N)


def _labels_ignoring_2(rng):
    """Integer labels, twice the class 2 (the ignored class of the cases that use them)."""
    return np.array([2, 0, 4, 2, 1, 3])


def _hinge_signs(rng):
    return rng.normal(size=(N, C)) * 1.5, _signs(rng, (N, C))


def _nonzero_targets(rng):
    return rng.normal(size=(N, C)), rng.uniform(0.5, 2, (N, C)) * _signs(rng, (N, C))


def _nonnegative(rng):
    return rng.uniform(-0.5, 3.0, (N, C)), rng.uniform(0.0, 3.0, (N, C))


def _counts(rng):
    return rng.uniform(0.1, 3.0, (N, C)), rng.integers(0, 6, (N, C)).astype(float)


# Keras's elementwise losses: the class (the case's name), jaxloss's loss and the data
_ELEMENTWISE = [
    (KL.MeanSquaredError, jaxloss.squared_error, _values),
    (KL.MeanAbsoluteError, jaxloss.absolute_error, _values),
    (KL.MeanAbsolutePercentageError, jaxloss.absolute_percentage_error, _nonzero_targets),
    (KL.MeanSquaredLogarithmicError, jaxloss.squared_logarithmic_error, _nonnegative),
    (KL.Huber, jaxloss.huber_loss, _values),
    (KL.LogCosh, jaxloss.log_cosh, _values),
    (KL.Poisson, jaxloss.poisson_loss, _counts),
    (KL.Hinge, jaxloss.hinge_loss, _hinge_signs),
    (KL.SquaredHinge, jaxloss.squared_hinge_loss, _hinge_signs),
]

# the losses with several cases: jaxloss's function in Keras's form, Keras's class
_cosine = _family(
    lambda r, p, t, **kw: -jaxloss.cosine_similarity(p, t, reduction=r, **kw), KL.CosineSimilarity
)
_bce = _family(_last_axis_mean(jaxloss.binary_cross_entropy), KL.BinaryCrossentropy)
_bce_logits = _family(
    _last_axis_mean(jaxloss.sigmoid_binary_cross_entropy), KL.BinaryCrossentropy, from_logits=True
)
_focal_logits = _binary_focal(jaxloss.sigmoid_focal_loss, from_logits=True)
_focal_probs = _binary_focal(jaxloss.binary_focal_loss)
_cce_logits = _family(
    _per_example(jaxloss.softmax_cross_entropy), KL.CategoricalCrossentropy, from_logits=True
)
_sparse_logits = _family(
    _per_example(jaxloss.softmax_cross_entropy_with_integer_labels),
    KL.SparseCategoricalCrossentropy,
    from_logits=True,
)
_cce = _family(_per_example(jaxloss.categorical_cross_entropy), KL.CategoricalCrossentropy)
_gce = _family(
    _per_example(jaxloss.categorical_generalized_cross_entropy),
    KL.CategoricalGeneralizedCrossEntropy,
)
_cfocal_logits = _family(
    _per_example(jaxloss.softmax_focal_loss), KL.CategoricalFocalCrossentropy, from_logits=True
)
_cfocal = _family(_per_example(jaxloss.categorical_focal_loss), KL.CategoricalFocalCrossentropy)

CASES = [
    # --- elementwise, averaged over the last axis
    *(_case(cls.__name__, _last_axis_mean(fn), cls, data) for cls, fn, data in _ELEMENTWISE),
    _case("Huber-delta0.6", _last_axis_mean(jaxloss.huber_loss), KL.Huber, _values, delta=0.6),
    _cosine("CosineSimilarity", _values),
    _cosine("CosineSimilarity-axis1", lambda rng: _values(rng, (N, C, 3)), axis=1),
    # --- binary classification
    _bce("BinaryCrossentropy", _probs_binary),
    _bce(
        "BinaryCrossentropy-hard-smoothing",
        lambda rng: _probs_binary(rng, hard=True),
        label_smoothing=0.1,
    ),
    _bce_logits("BinaryCrossentropy-logits", _logits_binary),
    _bce_logits("BinaryCrossentropy-logits-hard-smoothing", _hard_logits, label_smoothing=0.2),
    _focal_logits("BinaryFocalCrossentropy-balanced-hard", _hard_logits, alpha=0.25, gamma=2.0),
    _focal_logits("BinaryFocalCrossentropy-soft-gamma1.5", _logits_binary, gamma=1.5),
    _focal_logits(
        "BinaryFocalCrossentropy-logits-balanced-hard-smoothing",
        _hard_logits,
        alpha=0.25,
        label_smoothing=0.2,
    ),
    # Probabilities: Keras's defaults (no class balancing) are binary_focal_loss's.
    _focal_probs("BinaryFocalCrossentropy-probs", _probs_binary),
    _focal_probs(
        "BinaryFocalCrossentropy-probs-balanced-hard-smoothing",
        lambda rng: _probs_binary(rng, hard=True),
        alpha=0.3,
        gamma=1.5,
        label_smoothing=0.1,
    ),
    # --- categorical
    _cce_logits("CategoricalCrossentropy-logits", _logits_and(_soft_labels)),
    _cce_logits(
        "CategoricalCrossentropy-logits-onehot-smoothing",
        _logits_and(_onehot_labels),
        label_smoothing=0.1,
    ),
    _cce_logits(
        "CategoricalCrossentropy-logits-axis1",
        lambda rng: (rng.normal(size=(N, C, 3)) * 2, _onehot(rng, (N, C, 3), axis=1)),
        axis=1,
    ),
    # Keras renormalizes probabilities: equal values on normalized ones, and equal label
    # gradients; the probability gradient differs (DIFFERENCES, asserted below).
    _cce("CategoricalCrossentropy-probs", _probs_and(_soft_labels), (1,)),
    _sparse_logits("SparseCategoricalCrossentropy-logits", _logits_and(_int_labels), (0,)),
    _sparse_logits(
        "SparseCategoricalCrossentropy-logits-ignore_class",
        _logits_and(_labels_ignoring_2),
        (0,),
        ignore_index=2,
    ),
    _case(
        "SparseCategoricalCrossentropy-probs",
        _per_example(jaxloss.categorical_cross_entropy),
        KL.SparseCategoricalCrossentropy,
        _probs_and(_int_labels),
        (),
    ),
    # Probabilities as a softmax of logits: Keras's rescaling is then the identity, so the
    # gradients with respect to the logits are comparable.
    _cce(
        "CategoricalCrossentropy-softmax-smoothing",
        _logits_and(_soft_labels),
        jax_inputs=_softmax,
        keras_inputs=_softmax,
        label_smoothing=0.1,
    ),
    _cce(
        "CategoricalCrossentropy-softmax-smoothing-integer-labels",
        _logits_and(_int_labels),
        (0,),
        jax_inputs=_softmax,
        keras_inputs=_softmax_one_hot,
        label_smoothing=0.25,
    ),
    _case(
        "SparseCategoricalCrossentropy-softmax-ignore_class",
        _per_example(jaxloss.categorical_cross_entropy),
        KL.SparseCategoricalCrossentropy,
        _logits_and(_labels_ignoring_2),
        (0,),
        jax_inputs=_softmax,
        keras_inputs=_softmax,
        ignore_index=2,
    ),
    _gce("CategoricalGeneralizedCrossEntropy", _probs_and(_int_labels), (0,), q=0.7),
    _gce(
        "CategoricalGeneralizedCrossEntropy-onehot-labels",
        _probs_and(_int_labels),
        (0,),
        jax_inputs=_one_hot,
    ),
    _cfocal_logits(
        "CategoricalFocalCrossentropy", _logits_and(_onehot_labels), alpha=0.25, gamma=2.0
    ),
    _cfocal_logits(
        "CategoricalFocalCrossentropy-class-alpha-soft",
        _logits_and(_soft_labels),
        alpha=W_CLASS,
        gamma=1.5,
    ),
    _cfocal_logits(
        "CategoricalFocalCrossentropy-logits-onehot-smoothing",
        _logits_and(_onehot_labels),
        alpha=0.25,
        label_smoothing=0.1,
    ),
    # Integer labels against Keras's one-hot form.
    _case(
        "CategoricalFocalCrossentropy-logits-integer-labels",
        _per_example(jaxloss.softmax_focal_loss_with_integer_labels),
        KL.CategoricalFocalCrossentropy,
        _logits_and(_int_labels),
        (0,),
        keras_only={"from_logits": True},
        keras_inputs=_one_hot,
        alpha=W_CLASS,
        gamma=1.5,
        label_smoothing=0.1,
    ),
    # Probabilities: the same defaults (alpha=0.25, gamma=2). Keras renormalizes them:
    # equal values and label gradients on normalized ones; the probability gradients
    # differ by a constant per example (DIFFERENCES, asserted below).
    _cfocal("CategoricalFocalCrossentropy-probs", _probs_and(_soft_labels), (1,)),
    _cfocal(
        "CategoricalFocalCrossentropy-probs-class-alpha-onehot-smoothing",
        _probs_and(_onehot_labels),
        (1,),
        alpha=W_CLASS,
        gamma=1.5,
        label_smoothing=0.2,
    ),
    _cfocal(
        "CategoricalFocalCrossentropy-probs-axis1",
        lambda rng: (_probs(rng, (N, C, 3), axis=1), _onehot(rng, (N, C, 3), axis=1)),
        (1,),
        axis=1,
    ),
    _case(
        "KLDivergence",
        _per_example(lambda p, t, **kw: jaxloss.kl_divergence(jnp.log(p), t, **kw)),
        KL.KLDivergence,
        _probs_and(_soft_labels),
    ),
    # --- margin
    _case(
        "CategoricalHinge",
        _per_example(jaxloss.categorical_hinge_loss),
        KL.CategoricalHinge,
        lambda rng: (rng.normal(size=(N, C)) * 1.5, _onehot(rng, (N, C))),
    ),
    # --- segmentation: soft masks [B, H, W, C], per example and class (axis=(1, 2))
    _case(
        "Dice",
        _overlap(jaxloss.dice_loss),
        KL.Dice,
        lambda rng: _masks(rng, (3, 4, 4, 2)),
        keras_only={"axis": (1, 2)},
    ),
    _case(
        "Tversky",
        _overlap(jaxloss.tversky_loss),
        KL.Tversky,
        lambda rng: _masks(rng, (3, 4, 4, 2)),
        jax_only={"alpha": 0.7, "beta": 0.3},
        keras_only={"alpha": 0.3, "beta": 0.7, "axis": (1, 2)},
    ),
    # --- sequence and metric learning
    Case("Circle", *_circle_class(True), _circle_data, (0,)),
    Case("circle-references", *_circle_function(True), _circle_refs_data, (0, 2)),
    Case(
        "circle-batch-and-references-keep-diagonal",
        *_circle_function(False, with_batch=True),
        _circle_refs_data,
        (0, 2),
    ),
]


@functools.cache
def _case_program(case):
    """Both sides of ``case`` for every reduction, values and VJPs (with respect to the
    arrays ``case.diff`` names, under one seeded cotangent) in one compiled program (the
    tests of the three reductions share it)."""
    pairs = [
        (functools.partial(case.jfn, r), functools.partial(case.kfn, r)) for r in KERAS_REDUCTION
    ]
    return _jit_values_and_vjps(pairs, case.diff, zlib.crc32(case.name.encode()))


@pytest.mark.parametrize("reduction", list(KERAS_REDUCTION))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_keras_oracle(case, reduction):
    seed = zlib.crc32(case.name.encode())
    arrays = case.data(np.random.default_rng(seed))
    results = _case_program(case)(*[_f32(a) for a in arrays])
    compare(*results[list(KERAS_REDUCTION).index(reduction)], case.diff)


def test_keras_backend_is_jax():
    assert keras.backend.backend() == "jax"


# ---------------------------------------------------------------------------
# documented differences, asserted


def test_differences_are_asserted():
    for key, (reason, test) in DIFFERENCES.items():
        assert reason and test in globals(), (key, test)


@pytest.mark.parametrize(
    ("fn", "cls"),
    [(jaxloss.hinge_loss, KL.Hinge), (jaxloss.squared_hinge_loss, KL.SquaredHinge)],
    ids=["hinge_loss", "squared_hinge_loss"],
)
def test_hinge_converts_binary_labels_in_keras(fn, cls):
    rng = np.random.default_rng(1)
    x = _f32(rng.normal(size=(N, C)))
    y01 = _f32(rng.integers(0, 2, size=(N, C)))

    @jax.jit  # one compiled program for the three losses
    def losses(x, y01):
        def per_sample(y):
            return jnp.mean(fn(x, y, reduction="none"), -1)

        return cls(reduction=None)(y01, x), per_sample(2 * y01 - 1), per_sample(y01)

    k, j_signs, j_01 = losses(x, y01)
    np.testing.assert_allclose(j_signs, k, rtol=RTOL, atol=ATOL)
    assert not np.allclose(j_01, k, rtol=1e-2)


def test_categorical_crossentropy_renormalizes_in_keras():
    rng = np.random.default_rng(2)
    y = _probs(rng, (N, C)).astype(np.float32)
    q = rng.uniform(0.05, 1.0, size=(N, C)).astype(np.float32)  # unnormalized
    labels = rng.integers(0, C, N)
    p = _probs(rng, (N, C)).astype(np.float32)

    @jax.jit  # one compiled program for every value and gradient below
    def losses(y, q, labels, p):
        normalized = q / jnp.sum(q, -1, keepdims=True)
        cce = functools.partial(jaxloss.categorical_cross_entropy, reduction="none")
        return {
            "keras": KL.CategoricalCrossentropy(reduction=None)(y, q),
            "normalized": cce(normalized, y),
            "unnormalized": cce(q, y),
            "keras_sparse": KL.SparseCategoricalCrossentropy(reduction=None)(labels, q),
            "normalized_sparse": cce(normalized, labels),
            "grad": jax.grad(lambda a: jaxloss.categorical_cross_entropy(a, y, reduction="sum"))(p),
            "keras_grad": jax.grad(lambda a: KL.CategoricalCrossentropy(reduction="sum")(y, a))(p),
        }

    out = losses(y, q, labels, p)
    np.testing.assert_allclose(out["normalized"], out["keras"], rtol=RTOL, atol=ATOL)
    assert not np.allclose(out["unnormalized"], out["keras"], rtol=1e-2)
    np.testing.assert_allclose(out["normalized_sparse"], out["keras_sparse"], rtol=RTOL, atol=ATOL)
    # On normalized probabilities the gradients differ by the normalization term.
    g_j = np.asarray(out["grad"])
    np.testing.assert_allclose(g_j, -y / p, rtol=1e-5)
    np.testing.assert_allclose(
        out["keras_grad"],
        g_j + np.sum(y, -1, keepdims=True) / np.sum(p, -1, keepdims=True),
        rtol=1e-4,
        atol=1e-4,
    )


def test_categorical_focal_renormalizes_in_keras():
    rng = np.random.default_rng(10)
    y = _probs(rng, (N, C)).astype(np.float32)
    q = rng.uniform(0.05, 1.0, size=(N, C)).astype(np.float32)  # unnormalized
    p = _probs(rng, (N, C)).astype(np.float32)

    @jax.jit  # one compiled program for every value and gradient below
    def losses(y, q, p):
        cfl = functools.partial(jaxloss.categorical_focal_loss, reduction="none")
        keras_sum = KL.CategoricalFocalCrossentropy(reduction="sum")
        return {
            "keras": KL.CategoricalFocalCrossentropy(reduction=None)(y, q),
            "normalized": cfl(q / jnp.sum(q, -1, keepdims=True), y),
            "unnormalized": cfl(q, y),
            "grad": jax.grad(lambda a: jnp.sum(cfl(a, y)))(p),
            "keras_grad": jax.grad(lambda a: keras_sum(y, a))(p),
        }

    out = losses(y, q, p)
    np.testing.assert_allclose(out["normalized"], out["keras"], rtol=RTOL, atol=ATOL)
    assert not np.allclose(out["unnormalized"], out["keras"], rtol=1e-2)
    # Keras differentiates through p / sum(p): at sum(p) = 1 its gradient is g - <g, p>.
    g = np.asarray(out["grad"])
    expected = g - np.sum(g * p, -1, keepdims=True)
    np.testing.assert_allclose(out["keras_grad"], expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(out["keras_grad"], g, rtol=1e-2, atol=1e-3)


def test_categorical_focal_smoothing_uses_the_last_axis_in_keras():
    rng = np.random.default_rng(11)
    p = _probs(rng, (N, C, 3), axis=1).astype(np.float32)
    y = _onehot(rng, (N, C, 3), axis=1).astype(np.float32)

    @jax.jit  # one compiled program for the four losses
    def losses(p, y):
        cfl = functools.partial(jaxloss.categorical_focal_loss, axis=1, reduction="none")
        return (
            KL.CategoricalFocalCrossentropy(axis=1, label_smoothing=0.3, reduction=None)(y, p),
            cfl(p, y, label_smoothing=0.3),
            cfl(p, 0.7 * y + 0.3 / 3),  # smoothed with the size of the last axis (3)
            cfl(p, 0.7 * y + 0.3 / C),  # smoothed with the number of classes (C)
        )

    k, j, j_last_axis, j_classes = losses(p, y)
    np.testing.assert_allclose(j_last_axis, k, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(j, j_classes, rtol=RTOL, atol=ATOL)
    assert not np.allclose(j, k, rtol=1e-2)


def test_tversky_alpha_and_beta_are_swapped_in_keras():
    p, t = (a.astype(np.float32) for a in _masks(np.random.default_rng(3), (3, 4, 4, 2)))

    @jax.jit  # one compiled program for the three losses
    def losses(p, t):
        k = KL.Tversky(alpha=0.2, beta=0.8, axis=(1, 2), reduction=None)(t, p)
        tversky = functools.partial(_overlap(jaxloss.tversky_loss), "none", p, t)
        return k, tversky(alpha=0.8, beta=0.2), tversky(alpha=0.2, beta=0.8)

    k, j_swapped, j = losses(p, t)
    np.testing.assert_allclose(j_swapped, k, rtol=RTOL, atol=ATOL)
    assert not np.allclose(j, k, rtol=1e-2)
    # The definition: alpha weighs the false positives sum(p * (1 - t)).
    inter = np.sum(p * t, axis=(1, 2))
    fp, fn = np.sum(p * (1 - t), axis=(1, 2)), np.sum((1 - p) * t, axis=(1, 2))
    np.testing.assert_allclose(j, 1 - inter / (inter + 0.2 * fp + 0.8 * fn), rtol=1e-5)


def test_empty_masks():
    rng = np.random.default_rng(4)
    p, t = (a.astype(np.float32) for a in _masks(rng, (2, 3, 3, 1)))
    p[0], t[0] = 0.0, 0.0  # example 0: both masks empty
    pairs = ((KL.Dice, jaxloss.dice_loss), (KL.Tversky, jaxloss.tversky_loss))

    @jax.jit  # one compiled program for the four losses
    def losses(p, t):
        return [
            (kcls(axis=(1, 2), reduction=None)(t, p), _overlap(jfn)("none", p, t))
            for kcls, jfn in pairs
        ]

    for k, j in losses(p, t):
        np.testing.assert_allclose(j[1], k[1], rtol=RTOL, atol=ATOL)
        assert float(k[0, 0]) == pytest.approx(1.0)
        assert float(j[0, 0]) == 0.0


def test_dice_over_the_whole_batch():
    # keras Dice() with axis=None pools every entry of the batch into one ratio.
    p, t = (a.astype(np.float32) for a in _masks(np.random.default_rng(5), (3, 4, 4, 1)))

    @jax.jit  # one compiled program for both losses
    def losses(p, t):
        j = jaxloss.binary_dice_loss(
            p.reshape(1, -1), t.reshape(1, -1), smooth=0.0, apply_sigmoid=False, reduction="sum"
        )
        return KL.Dice(reduction=None)(t, p), j

    k, j = losses(p, t)
    np.testing.assert_allclose(j, k, rtol=RTOL, atol=ATOL)


def test_circle_gradient_treats_the_weights_as_constants():
    e, y = (_f32(a) for a in _circle_data(np.random.default_rng(6)))

    # jaxloss's gradient is Keras's formula with alpha_p and alpha_n held constant.
    def keras_formula_constant_weights(a):
        u = _unit(a)
        s = u @ u.T
        same = y[:, None] == y[None, :]
        pos, neg = same & ~jnp.eye(len(y), dtype=bool), ~same
        ap = jax.lax.stop_gradient(jax.nn.relu(1.25 - s))
        an = jax.lax.stop_gradient(jax.nn.relu(s + 0.25))
        lp = jax.nn.logsumexp(jnp.where(pos, -8.0 * ap * (s - 0.75), -jnp.inf), axis=1)
        ln = jax.nn.logsumexp(jnp.where(neg, 8.0 * an * (s - 0.25), -jnp.inf), axis=1)
        return jnp.sum(jax.nn.softplus(lp + ln))

    @jax.jit  # one compiled program for the three gradients
    def gradients(a):
        return (
            jax.value_and_grad(lambda a: _circle_jax("sum", a, y))(a),
            jax.value_and_grad(lambda a: _circle_keras("sum", a, y))(a),
            jax.grad(keras_formula_constant_weights)(a),
        )

    (j_val, g_j), (k_val, g_k), g_formula = gradients(e)
    np.testing.assert_allclose(j_val, k_val, rtol=RTOL)
    assert not np.allclose(g_j, g_k, rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(g_j, g_formula, rtol=1e-4, atol=1e-5)


def test_circle_mean_counts_only_anchors_with_a_loss_in_keras():
    e, _ = _circle_data(np.random.default_rng(7))
    y = np.array([0, 0, 1, 1, 1, 2, 3, 0])  # anchors 5 and 6 have no positive: loss 0

    @jax.jit  # one compiled program for both sides' reductions
    def losses(e):
        return {r: (_circle_jax(r, e, y), _circle_keras(r, e, y)) for r in KERAS_REDUCTION}

    out = losses(_f32(e))
    j_none, k_none = out["none"]
    np.testing.assert_allclose(j_none, k_none, rtol=RTOL, atol=ATOL)
    assert np.all(np.asarray(j_none)[5:7] == 0) and np.all(np.asarray(j_none)[[0, 7]] > 0)
    np.testing.assert_allclose(out["sum"][0], out["sum"][1], rtol=RTOL)
    j_mean, k_mean = (float(v) for v in out["mean"])
    np.testing.assert_allclose(j_mean, float(np.sum(j_none)) / 8, rtol=RTOL)
    np.testing.assert_allclose(k_mean, float(np.sum(j_none)) / 6, rtol=RTOL)


@jax.jit  # one compiled program per input shape
def _kl_divergences(t, p):
    """Keras's and jaxloss's per-example KL divergence of probabilities ``p`` from ``t``."""
    k = KL.KLDivergence(reduction=None)(t, p)
    return k, jaxloss.kl_divergence(jnp.log(p), t, reduction="none")


def test_kl_divergence_clips_in_keras():
    t = _f32([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    p = _f32([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])  # row 0: p = 0 under a positive target
    k, j = _kl_divergences(t, p)
    assert float(j[0]) == math.inf
    assert np.isfinite(float(k[0]))
    np.testing.assert_allclose(j[1], k[1], atol=ATOL)
    # A zero target: keras's clipped term 1e-7 * log(1e-7 / p) is not exactly 0.
    t0, p0 = _f32([[0.0, 1.0]]), _f32([[0.5, 0.5]])
    k0, j0 = (float(v[0]) for v in _kl_divergences(t0, p0))
    np.testing.assert_allclose(j0, math.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(k0 - j0, 1e-7 * math.log(1e-7 / 0.5), rtol=1e-2)


# (jaxloss fn, its weights' shape for sample weights [N], keras class) per weighted case
_WEIGHTED = {
    "MeanSquaredError": (jaxloss.squared_error, (N, 1), KL.MeanSquaredError),
    "CategoricalCrossentropy-logits": (
        jaxloss.softmax_cross_entropy,
        (N,),
        functools.partial(KL.CategoricalCrossentropy, from_logits=True),
    ),
}


@pytest.mark.parametrize("name", list(_WEIGHTED))
def test_sample_weights(name):
    jfn, w_shape, cls = _WEIGHTED[name]
    case = next(c for c in CASES if c.name == name)
    rng = np.random.default_rng(7)
    p, t = (a.astype(np.float32) for a in case.data(rng))
    w = rng.uniform(0.0, 3.0, size=N).astype(np.float32)

    @jax.jit  # one compiled program for the five losses
    def losses(p, t, w):
        j_none = jfn(p, t, weights=w.reshape(w_shape), reduction="none")
        return {
            "mean": jfn(p, t, weights=w.reshape(w_shape)),
            "keras_weighted": cls(reduction="mean_with_sample_weight")(t, p, sample_weight=w),
            "keras_batch": cls(reduction="sum_over_batch_size")(t, p, sample_weight=w),
            "none": jnp.mean(j_none, -1) if j_none.ndim == 2 else j_none,
            "keras_none": cls(reduction=None)(t, p, sample_weight=w),
        }

    out = losses(p, t, w)
    j_mean = float(out["mean"])
    np.testing.assert_allclose(j_mean, out["keras_weighted"], rtol=RTOL)
    np.testing.assert_allclose(j_mean * np.sum(w) / N, out["keras_batch"], rtol=RTOL)
    assert not np.isclose(j_mean, float(out["keras_batch"]), rtol=1e-2)
    # per sample, 'none' is w * l in both
    np.testing.assert_allclose(out["none"], out["keras_none"], rtol=RTOL, atol=ATOL)


def test_ctc():
    x, y = (_f32(a) for a in _ctc_data(np.random.default_rng(8)))
    rng = np.random.default_rng(9)
    for r in KERAS_REDUCTION:
        g = rng.normal(size=x.shape[:1] if r == "none" else ())
        j_out, k_out, j_g, k_g = _ctc_run(x, y, _ctc_cotangents(x, r, g))
        assert j_out[r].shape == np.shape(g), r
        np.testing.assert_allclose(j_out[r], k_out[r], rtol=1e-5, atol=1e-5, err_msg=r)
        np.testing.assert_allclose(j_g, k_g, rtol=1e-4, atol=1e-5, err_msg=r)


def test_ctc_infeasible_is_finite_in_keras():
    x, y = (_f32(a) for a in _ctc_data(np.random.default_rng(8)))
    y = y.at[0].set(1)  # "1 1 1 1 1" needs 9 frames, there are 8
    j_out, k_out, _, _ = _ctc_run(x, y, _ctc_cotangents(x))  # the compiled program of test_ctc
    k, j = k_out["none"], j_out["none"]
    assert float(j[0]) == math.inf
    assert np.isfinite(float(k[0])) and float(k[0]) > 1e4
    np.testing.assert_allclose(j[1:], k[1:], rtol=1e-5)
