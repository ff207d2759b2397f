"""Live Keras 3 oracle (JAX backend): every jaxloss loss that ``keras.losses`` also has.

Keras computes in float32, so both sides run in float32 and are compared at float32
tolerance. With the JAX backend a Keras loss is a JAX function, so its gradients come
from ``jax.vjp`` too: each case compares values for every Keras reduction (``None``,
``"sum_over_batch_size"``, ``"sum"``) and the vector-Jacobian products, under one seeded
random cotangent, with respect to the predictions and the targets.

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

import jaxloss  # noqa: E402

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
        "jaxloss circle_loss holds the weights alpha_p, alpha_n constant for autodiff "
        "(stop_gradient, as the paper's implementation); keras Circle differentiates "
        "through them. Values agree, gradients differ.",
        "test_circle_gradient_treats_the_weights_as_constants",
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


def oracle(jfn, kfn, arrays, diff=(0, 1), *, seed=0, rtol=RTOL, atol=ATOL):
    """Compares ``jfn(*arrays)`` with ``kfn(*arrays)`` (both JAX functions), values and
    VJPs with respect to ``arrays[i]`` for ``i`` in ``diff`` under one seeded cotangent
    (gradients at ten times the value tolerance)."""
    base = [_f32(a) for a in arrays]

    def with_diff(fn):
        def f(*d):
            args = list(base)
            for i, v in zip(diff, d):
                args[i] = v
            return fn(*args)

        return f

    primals = [base[i] for i in diff]
    j_out, j_vjp = jax.vjp(with_diff(jfn), *primals)
    k_out, k_vjp = jax.vjp(with_diff(kfn), *primals)
    assert j_out.dtype == jnp.float32
    assert j_out.shape == k_out.shape, (j_out.shape, k_out.shape)
    np.testing.assert_allclose(j_out, k_out, rtol=rtol, atol=atol, err_msg="value")
    if not diff:
        return
    g = jnp.asarray(np.random.default_rng(seed + 12345).normal(size=j_out.shape), jnp.float32)
    for i, jg, kg in zip(diff, j_vjp(g), k_vjp(g)):
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
    x = rng.normal(size=shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _onehot(rng, shape, axis=-1):
    axis = axis % len(shape)
    labels = rng.integers(0, shape[axis], size=shape[:axis] + shape[axis + 1 :])
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


def _last_axis_mean(fn, **kw):
    """jaxloss's elementwise ``fn`` in Keras's form: averaged over the last axis."""

    def f(r, p, t):
        if r == "none":
            return jnp.mean(fn(p, t, reduction="none", **kw), axis=-1)
        out = fn(p, t, reduction=r, **kw)
        return out if r == "mean" else out / p.shape[-1]

    return f


def _per_example(fn, **kw):
    return lambda r, p, t: fn(p, t, reduction=r, **kw)


def _dice_jax(fn, **kw):
    """jaxloss dice/tversky in Keras's [B, C] output (axis=(1, 2) over [B, H, W, C])."""

    def f(r, p, t):  # the class reduction is the example reduction
        return fn(
            p,
            t,
            smooth=0.0,
            apply_softmax=False,
            class_reduction=r,
            reduction=r,
            **kw,
        )

    return f


def _ctc_data(rng):
    """Logits [4, 8, 5] and zero-padded labels (0 is the blank and the padding)."""
    x = rng.normal(size=(4, 8, 5)) * 1.5
    y = np.array([[2, 2, 3, 0, 0], [1, 4, 0, 0, 0], [3, 0, 0, 0, 0], [4, 1, 2, 3, 1]])
    return x, y


def _ctc_jax(r, x, y):
    pad = (y == 0).astype(jnp.float32)
    return jaxloss.ctc_loss(x, jnp.zeros(x.shape[:2]), y, pad, reduction=r)


# One compiled program per side for all reductions (the CTC loops take seconds to compile).
_CTC_JAX = jax.jit(lambda x, y: {r: _ctc_jax(r, x, y) for r in KERAS_REDUCTION})
_CTC_KERAS = jax.jit(
    lambda x, y: {r: KL.CTC(reduction=k)(y, x) for r, k in KERAS_REDUCTION.items()}
)


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


W_CLASS = [0.5, 2.0, 1.0, 0.25, 1.5]

CASES = [
    # --- regression
    Case(
        "MeanSquaredError",
        _last_axis_mean(jaxloss.squared_error),
        _keras(KL.MeanSquaredError),
        _values,
    ),
    Case(
        "MeanAbsoluteError",
        _last_axis_mean(jaxloss.absolute_error),
        _keras(KL.MeanAbsoluteError),
        _values,
    ),
    Case(
        "MeanAbsolutePercentageError",
        _last_axis_mean(jaxloss.absolute_percentage_error),
        _keras(KL.MeanAbsolutePercentageError),
        lambda rng: (rng.normal(size=(N, C)), rng.uniform(0.5, 2, (N, C)) * _signs(rng, (N, C))),
    ),
    Case(
        "MeanSquaredLogarithmicError",
        _last_axis_mean(jaxloss.squared_logarithmic_error),
        _keras(KL.MeanSquaredLogarithmicError),
        lambda rng: (rng.uniform(-0.5, 3.0, (N, C)), rng.uniform(0.0, 3.0, (N, C))),
    ),
    Case("Huber", _last_axis_mean(jaxloss.huber_loss), _keras(KL.Huber), _values),
    Case(
        "Huber-delta0.6",
        _last_axis_mean(jaxloss.huber_loss, delta=0.6),
        _keras(KL.Huber, delta=0.6),
        _values,
    ),
    Case("LogCosh", _last_axis_mean(jaxloss.log_cosh), _keras(KL.LogCosh), _values),
    Case(
        "Poisson",
        _last_axis_mean(jaxloss.poisson_loss),
        _keras(KL.Poisson),
        lambda rng: (rng.uniform(0.1, 3.0, (N, C)), rng.integers(0, 6, (N, C)).astype(float)),
    ),
    Case(
        "CosineSimilarity",
        lambda r, p, t: -jaxloss.cosine_similarity(p, t, reduction=r),
        _keras(KL.CosineSimilarity),
        _values,
    ),
    Case(
        "CosineSimilarity-axis1",
        lambda r, p, t: -jaxloss.cosine_similarity(p, t, axis=1, reduction=r),
        _keras(KL.CosineSimilarity, axis=1),
        lambda rng: _values(rng, (N, C, 3)),
    ),
    # --- binary classification
    Case(
        "BinaryCrossentropy",
        _last_axis_mean(jaxloss.binary_cross_entropy),
        _keras(KL.BinaryCrossentropy),
        _probs_binary,
    ),
    Case(
        "BinaryCrossentropy-hard-smoothing",
        _last_axis_mean(jaxloss.binary_cross_entropy, label_smoothing=0.1),
        _keras(KL.BinaryCrossentropy, label_smoothing=0.1),
        lambda rng: _probs_binary(rng, hard=True),
    ),
    Case(
        "BinaryCrossentropy-logits",
        _last_axis_mean(jaxloss.sigmoid_binary_cross_entropy),
        _keras(KL.BinaryCrossentropy, from_logits=True),
        _logits_binary,
    ),
    Case(
        "BinaryCrossentropy-logits-hard-smoothing",
        _last_axis_mean(jaxloss.sigmoid_binary_cross_entropy, label_smoothing=0.2),
        _keras(KL.BinaryCrossentropy, from_logits=True, label_smoothing=0.2),
        lambda rng: _logits_binary(rng, hard=True),
    ),
    Case(
        "BinaryFocalCrossentropy-balanced-hard",
        _last_axis_mean(jaxloss.sigmoid_focal_loss, alpha=0.25, gamma=2.0),
        _keras(
            KL.BinaryFocalCrossentropy,
            apply_class_balancing=True,
            alpha=0.25,
            gamma=2.0,
            from_logits=True,
        ),
        lambda rng: _logits_binary(rng, hard=True),
    ),
    Case(
        "BinaryFocalCrossentropy-soft-gamma1.5",
        _last_axis_mean(jaxloss.sigmoid_focal_loss, gamma=1.5),
        _keras(KL.BinaryFocalCrossentropy, gamma=1.5, from_logits=True),
        _logits_binary,
    ),
    # --- categorical
    Case(
        "CategoricalCrossentropy-logits",
        _per_example(jaxloss.softmax_cross_entropy),
        _keras(KL.CategoricalCrossentropy, from_logits=True),
        lambda rng: (rng.normal(size=(N, C)) * 2, _probs(rng, (N, C))),
    ),
    Case(
        "CategoricalCrossentropy-logits-onehot-smoothing",
        _per_example(jaxloss.softmax_cross_entropy, label_smoothing=0.1),
        _keras(KL.CategoricalCrossentropy, from_logits=True, label_smoothing=0.1),
        lambda rng: (rng.normal(size=(N, C)) * 2, _onehot(rng, (N, C))),
    ),
    Case(
        "CategoricalCrossentropy-logits-axis1",
        _per_example(jaxloss.softmax_cross_entropy, axis=1),
        _keras(KL.CategoricalCrossentropy, from_logits=True, axis=1),
        lambda rng: (rng.normal(size=(N, C, 3)) * 2, _onehot(rng, (N, C, 3), axis=1)),
    ),
    # Keras renormalizes probabilities: equal values on normalized ones, and equal label
    # gradients; the probability gradient differs (DIFFERENCES, asserted below).
    Case(
        "CategoricalCrossentropy-probs",
        _per_example(jaxloss.categorical_cross_entropy),
        _keras(KL.CategoricalCrossentropy),
        lambda rng: (_probs(rng, (N, C)), _probs(rng, (N, C))),
        (1,),
    ),
    Case(
        "SparseCategoricalCrossentropy-logits",
        _per_example(jaxloss.softmax_cross_entropy_with_integer_labels),
        _keras(KL.SparseCategoricalCrossentropy, from_logits=True),
        lambda rng: (rng.normal(size=(N, C)) * 2, rng.integers(0, C, N)),
        (0,),
    ),
    Case(
        "SparseCategoricalCrossentropy-logits-ignore_class",
        _per_example(jaxloss.softmax_cross_entropy_with_integer_labels, ignore_index=2),
        _keras(KL.SparseCategoricalCrossentropy, from_logits=True, ignore_class=2),
        lambda rng: (rng.normal(size=(N, C)) * 2, np.array([2, 0, 4, 2, 1, 3])),
        (0,),
    ),
    Case(
        "SparseCategoricalCrossentropy-probs",
        _per_example(jaxloss.categorical_cross_entropy),
        _keras(KL.SparseCategoricalCrossentropy),
        lambda rng: (_probs(rng, (N, C)), rng.integers(0, C, N)),
        (),
    ),
    Case(
        "CategoricalFocalCrossentropy",
        _per_example(jaxloss.softmax_focal_loss, alpha=0.25, gamma=2.0),
        _keras(KL.CategoricalFocalCrossentropy, alpha=0.25, gamma=2.0, from_logits=True),
        lambda rng: (rng.normal(size=(N, C)) * 2, _onehot(rng, (N, C))),
    ),
    Case(
        "CategoricalFocalCrossentropy-class-alpha-soft",
        _per_example(jaxloss.softmax_focal_loss, alpha=np.array(W_CLASS), gamma=1.5),
        _keras(KL.CategoricalFocalCrossentropy, alpha=W_CLASS, gamma=1.5, from_logits=True),
        lambda rng: (rng.normal(size=(N, C)) * 2, _probs(rng, (N, C))),
    ),
    Case(
        "KLDivergence",
        lambda r, p, t: jaxloss.kl_divergence(jnp.log(p), t, reduction=r),
        _keras(KL.KLDivergence),
        lambda rng: (_probs(rng, (N, C)), _probs(rng, (N, C))),
    ),
    # --- margin
    Case(
        "Hinge",
        _last_axis_mean(jaxloss.hinge_loss),
        _keras(KL.Hinge),
        lambda rng: (rng.normal(size=(N, C)) * 1.5, _signs(rng, (N, C))),
    ),
    Case(
        "SquaredHinge",
        _last_axis_mean(jaxloss.squared_hinge_loss),
        _keras(KL.SquaredHinge),
        lambda rng: (rng.normal(size=(N, C)) * 1.5, _signs(rng, (N, C))),
    ),
    Case(
        "CategoricalHinge",
        _per_example(jaxloss.categorical_hinge_loss),
        _keras(KL.CategoricalHinge),
        lambda rng: (rng.normal(size=(N, C)) * 1.5, _onehot(rng, (N, C))),
    ),
    # --- segmentation: soft masks [B, H, W, C], per example and class (axis=(1, 2))
    Case(
        "Dice",
        _dice_jax(jaxloss.dice_loss),
        _keras(KL.Dice, axis=(1, 2)),
        lambda rng: _masks(rng, (3, 4, 4, 2)),
    ),
    Case(
        "Tversky",
        _dice_jax(jaxloss.tversky_loss, alpha=0.7, beta=0.3),
        _keras(KL.Tversky, alpha=0.3, beta=0.7, axis=(1, 2)),
        lambda rng: _masks(rng, (3, 4, 4, 2)),
    ),
    # --- sequence and metric learning
    Case("Circle", _circle_jax, _circle_keras, _circle_data, ()),
]


@pytest.mark.parametrize("reduction", list(KERAS_REDUCTION))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_keras_oracle(case, reduction):
    seed = zlib.crc32(case.name.encode())
    arrays = case.data(np.random.default_rng(seed))
    oracle(
        lambda *a: case.jfn(reduction, *a),
        lambda *a: case.kfn(reduction, *a),
        arrays,
        case.diff,
        seed=seed,
    )


def test_keras_backend_is_jax():
    assert keras.backend.backend() == "jax"


# ---------------------------------------------------------------------------
# documented differences, asserted


def test_differences_are_asserted():
    for key, (reason, test) in DIFFERENCES.items():
        assert reason and test in globals(), (key, test)


@pytest.mark.parametrize("name", ["hinge_loss", "squared_hinge_loss"])
def test_hinge_converts_binary_labels_in_keras(name):
    rng = np.random.default_rng(1)
    x = _f32(rng.normal(size=(N, C)))
    y01 = _f32(rng.integers(0, 2, size=(N, C)))
    fn = getattr(jaxloss, name)
    cls = KL.Hinge if name == "hinge_loss" else KL.SquaredHinge
    k = cls(reduction=None)(y01, x)
    np.testing.assert_allclose(
        jnp.mean(fn(x, 2 * y01 - 1, reduction="none"), -1), k, rtol=RTOL, atol=ATOL
    )
    assert not np.allclose(jnp.mean(fn(x, y01, reduction="none"), -1), k, rtol=1e-2)


def test_categorical_crossentropy_renormalizes_in_keras():
    rng = np.random.default_rng(2)
    y = _f32(_probs(rng, (N, C)))
    q = _f32(rng.uniform(0.05, 1.0, size=(N, C)))  # unnormalized
    k = KL.CategoricalCrossentropy(reduction=None)(y, q)
    normalized = q / jnp.sum(q, -1, keepdims=True)
    np.testing.assert_allclose(
        jaxloss.categorical_cross_entropy(normalized, y, reduction="none"), k, rtol=RTOL, atol=ATOL
    )
    assert not np.allclose(jaxloss.categorical_cross_entropy(q, y, reduction="none"), k, rtol=1e-2)
    labels = jnp.asarray(rng.integers(0, C, N))
    k_sparse = KL.SparseCategoricalCrossentropy(reduction=None)(labels, q)
    np.testing.assert_allclose(
        jaxloss.categorical_cross_entropy(normalized, labels, reduction="none"),
        k_sparse,
        rtol=RTOL,
        atol=ATOL,
    )
    # On normalized probabilities the gradients differ by the normalization term.
    p = _f32(_probs(rng, (N, C)))
    g_j = jax.grad(lambda a: jaxloss.categorical_cross_entropy(a, y, reduction="sum"))(p)
    g_k = jax.grad(lambda a: KL.CategoricalCrossentropy(reduction="sum")(y, a))(p)
    np.testing.assert_allclose(g_j, -y / p, rtol=1e-5)
    np.testing.assert_allclose(
        g_k,
        g_j + jnp.sum(y, -1, keepdims=True) / jnp.sum(p, -1, keepdims=True),
        rtol=1e-4,
        atol=1e-4,
    )


def test_tversky_alpha_and_beta_are_swapped_in_keras():
    p, t = (_f32(a) for a in _masks(np.random.default_rng(3), (3, 4, 4, 2)))
    k = KL.Tversky(alpha=0.2, beta=0.8, axis=(1, 2), reduction=None)(t, p)

    def jax_tversky(alpha, beta):
        return jaxloss.tversky_loss(
            p,
            t,
            alpha=alpha,
            beta=beta,
            smooth=0.0,
            apply_softmax=False,
            class_reduction="none",
            reduction="none",
        )

    np.testing.assert_allclose(jax_tversky(0.8, 0.2), k, rtol=RTOL, atol=ATOL)
    assert not np.allclose(jax_tversky(0.2, 0.8), k, rtol=1e-2)
    # The definition: alpha weighs the false positives sum(p * (1 - t)).
    inter = jnp.sum(p * t, axis=(1, 2))
    fp, fn = jnp.sum(p * (1 - t), axis=(1, 2)), jnp.sum((1 - p) * t, axis=(1, 2))
    np.testing.assert_allclose(
        jax_tversky(0.2, 0.8), 1 - inter / (inter + 0.2 * fp + 0.8 * fn), rtol=1e-5
    )


def test_empty_masks():
    rng = np.random.default_rng(4)
    p, t = (_f32(a) for a in _masks(rng, (2, 3, 3, 1)))
    p, t = p.at[0].set(0.0), t.at[0].set(0.0)  # example 0: both masks empty
    for kcls, jfn in ((KL.Dice, jaxloss.dice_loss), (KL.Tversky, jaxloss.tversky_loss)):
        k = kcls(axis=(1, 2), reduction=None)(t, p)
        j = jfn(p, t, smooth=0.0, apply_softmax=False, class_reduction="none", reduction="none")
        np.testing.assert_allclose(j[1], k[1], rtol=RTOL, atol=ATOL)
        assert float(k[0, 0]) == pytest.approx(1.0)
        assert float(j[0, 0]) == 0.0


def test_dice_over_the_whole_batch():
    # keras Dice() with axis=None pools every entry of the batch into one ratio.
    p, t = (_f32(a) for a in _masks(np.random.default_rng(5), (3, 4, 4, 1)))
    k = KL.Dice(reduction=None)(t, p)
    j = jaxloss.binary_dice_loss(
        p.reshape(1, -1), t.reshape(1, -1), smooth=0.0, apply_sigmoid=False, reduction="sum"
    )
    np.testing.assert_allclose(j, k, rtol=RTOL, atol=ATOL)


def test_circle_gradient_treats_the_weights_as_constants():
    e, y = (_f32(a) for a in _circle_data(np.random.default_rng(6)))
    j_val, g_j = jax.value_and_grad(lambda a: _circle_jax("sum", a, y))(e)
    k_val, g_k = jax.value_and_grad(lambda a: _circle_keras("sum", a, y))(e)
    np.testing.assert_allclose(j_val, k_val, rtol=RTOL)
    assert not np.allclose(g_j, g_k, rtol=1e-2, atol=1e-3)

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

    np.testing.assert_allclose(
        g_j, jax.grad(keras_formula_constant_weights)(e), rtol=1e-4, atol=1e-5
    )


def test_kl_divergence_clips_in_keras():
    t = _f32([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    p = _f32([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])  # row 0: p = 0 under a positive target
    k = KL.KLDivergence(reduction=None)(t, p)
    j = jaxloss.kl_divergence(jnp.log(p), t, reduction="none")
    assert float(j[0]) == math.inf
    assert np.isfinite(float(k[0]))
    np.testing.assert_allclose(j[1], k[1], atol=ATOL)
    # A zero target: keras's clipped term 1e-7 * log(1e-7 / p) is not exactly 0.
    t0, p0 = _f32([[0.0, 1.0]]), _f32([[0.5, 0.5]])
    k0 = float(KL.KLDivergence(reduction=None)(t0, p0)[0])
    j0 = float(jaxloss.kl_divergence(jnp.log(p0), t0, reduction="none")[0])
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
    p, t = (_f32(a) for a in case.data(rng))
    w = _f32(rng.uniform(0.0, 3.0, size=N))
    j_mean = jfn(p, t, weights=w.reshape(w_shape))
    k_weighted = cls(reduction="mean_with_sample_weight")(t, p, sample_weight=w)
    k_batch = cls(reduction="sum_over_batch_size")(t, p, sample_weight=w)
    np.testing.assert_allclose(j_mean, k_weighted, rtol=RTOL)
    np.testing.assert_allclose(j_mean * jnp.sum(w) / N, k_batch, rtol=RTOL)
    assert not np.isclose(float(j_mean), float(k_batch), rtol=1e-2)
    # per sample, 'none' is w * l in both
    j_none = jfn(p, t, weights=w.reshape(w_shape), reduction="none")
    j_none = jnp.mean(j_none, -1) if j_none.ndim == 2 else j_none
    np.testing.assert_allclose(
        j_none, cls(reduction=None)(t, p, sample_weight=w), rtol=RTOL, atol=ATOL
    )


def test_ctc():
    x, y = (_f32(a) for a in _ctc_data(np.random.default_rng(8)))
    j_out, j_vjp = jax.vjp(lambda a: _CTC_JAX(a, y), x)
    k_out, k_vjp = jax.vjp(lambda a: _CTC_KERAS(a, y), x)
    rng = np.random.default_rng(9)
    for r in KERAS_REDUCTION:
        np.testing.assert_allclose(j_out[r], k_out[r], rtol=1e-5, atol=1e-5, err_msg=r)
        ct = {k: jnp.zeros_like(v) for k, v in j_out.items()}
        ct[r] = jnp.asarray(rng.normal(size=j_out[r].shape), jnp.float32)
        np.testing.assert_allclose(j_vjp(ct)[0], k_vjp(ct)[0], rtol=1e-4, atol=1e-5, err_msg=r)


def test_ctc_infeasible_is_finite_in_keras():
    x, y = (_f32(a) for a in _ctc_data(np.random.default_rng(8)))
    y = y.at[0].set(1)  # "1 1 1 1 1" needs 9 frames, there are 8
    k = _CTC_KERAS(x, y)["none"]
    j = _CTC_JAX(x, y)["none"]
    assert float(j[0]) == math.inf
    assert np.isfinite(float(k[0])) and float(k[0]) > 1e4
    np.testing.assert_allclose(j[1:], k[1:], rtol=1e-5)
