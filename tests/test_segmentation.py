"""Tests of the segmentation losses (jaxloss/_segmentation.py).

References are float64 NumPy code written from the formulas (Milletari et al. 2016,
Salehi et al. 2017, Sudre et al. 2017), looping over examples and classes.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jaxloss
from tests.grads import check_grads
from tests.shared_checks import check_same_values

TOL = dict(rtol=1e-5, atol=1e-6)

# ---------------------------------------------------------------------------
# references


def ref_probabilities(logits):
    x = np.asarray(logits, np.float64)
    if x.shape[-1] == 1:
        return 1 / (1 + np.exp(-x))
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _examples(p, t, axis):
    """The example shape and (index, p [N, C], t [N, C]) for every example.

    Examples are indexed by the axes that are neither spatial (``axis``) nor the class
    axis (the last).
    """
    ndim = p.ndim
    spatial = tuple(a % ndim for a in axis)
    batch = [a for a in range(ndim - 1) if a not in spatial]
    order = batch + list(spatial) + [ndim - 1]
    p, t = np.transpose(p, order), np.transpose(t, order)
    shape = p.shape[: len(batch)]
    items = [
        (idx, p[idx].reshape(-1, p.shape[-1]), t[idx].reshape(-1, t.shape[-1]))
        for idx in np.ndindex(shape)
    ]
    return shape, items


def ref_tversky(
    logits,
    targets,
    *,
    axis,
    alpha=0.5,
    beta=0.5,
    smooth=1.0,
    softmax=True,
    class_weights=None,
    ignore_background=False,
    class_reduction="mean",
):
    p = ref_probabilities(logits) if softmax else np.asarray(logits, np.float64)
    t = np.asarray(targets, np.float64)
    results = {}
    shape, items = _examples(p, t, axis)
    for idx, pe, te in items:
        per_class = []
        for c in range(pe.shape[-1]):
            tp = np.sum(pe[:, c] * te[:, c])
            fp = np.sum(pe[:, c] * (1 - te[:, c]))
            fn = np.sum((1 - pe[:, c]) * te[:, c])
            den = tp + alpha * fp + beta * fn + smooth
            loss = 0.0 if den == 0 else 1 - (tp + smooth) / den
            per_class.append(loss * (1.0 if class_weights is None else class_weights[c]))
        if ignore_background and len(per_class) > 1:
            per_class = per_class[1:]
        results[idx] = np.array(per_class)
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[class_reduction]
    out = np.array([reduce(results[idx]) for idx in np.ndindex(shape)])
    return out.reshape(shape + out.shape[1:])


def ref_generalized_dice(
    logits, targets, *, axis, smooth=1e-5, softmax=True, ignore_background=False
):
    p = ref_probabilities(logits) if softmax else np.asarray(logits, np.float64)
    t = np.asarray(targets, np.float64)
    out = {}
    shape, items = _examples(p, t, axis)
    for idx, pe, te in items:
        if ignore_background and pe.shape[-1] > 1:
            pe, te = pe[:, 1:], te[:, 1:]
        volume = te.sum(axis=0)
        present = volume > 0
        if present.any():
            w = np.where(present, 1 / np.where(present, volume, 1) ** 2, 0)
            w = np.where(present, w, w[present].max())
        else:
            w = np.ones_like(volume)
        w = w / w.sum()
        num = 2 * np.sum(w * (pe * te).sum(axis=0)) + smooth
        den = np.sum(w * (pe.sum(axis=0) + volume)) + smooth
        out[idx] = 0.0 if den == 0 else 1 - num / den
    return np.array([out[idx] for idx in np.ndindex(shape)]).reshape(shape)


def _segmentation(seed, shape=(3, 4, 5), classes=3):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=shape + (classes,)).astype(np.float32)
    targets = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, size=shape)]
    return logits, targets


def _binary(seed, shape=(3, 4, 5)):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape).astype(np.float32), (rng.random(shape) < 0.4).astype(np.float32))


# ---------------------------------------------------------------------------
# dice_loss


class TestDiceLoss:
    @pytest.mark.parametrize(
        "options",
        [
            {},
            {"alpha": 0.3, "beta": 0.7},
            {"smooth": 0.0},
            {"class_weights": np.array([1.0, 2.0, 0.5], np.float32)},
            {"ignore_background": True},
            {"class_weights": np.array([1.0, 2.0, 0.5], np.float32), "ignore_background": True},
        ],
    )
    @pytest.mark.parametrize("class_reduction", ["mean", "sum", "none"])
    def test_matches_reference_and_optax(self, options, class_reduction):
        logits, targets = _segmentation(0)
        out = jaxloss.dice_loss(
            logits, targets, **options, class_reduction=class_reduction, reduction="none"
        )
        ref = ref_tversky(logits, targets, axis=(1, 2), **options, class_reduction=class_reduction)
        assert out.shape == ref.shape and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref, **TOL)
        expected = optax.losses.dice_loss(logits, targets, **options, reduction=class_reduction)
        np.testing.assert_allclose(out, expected, **TOL)

    def test_default_mean_is_mean_of_optax(self):
        logits, targets = _segmentation(1)
        np.testing.assert_allclose(
            jaxloss.dice_loss(logits, targets),
            jnp.mean(optax.losses.dice_loss(logits, targets)),
            **TOL,
        )

    def test_axis_and_several_batch_axes(self):
        logits, targets = _segmentation(2, (2, 3, 4, 5))
        out = jaxloss.dice_loss(logits, targets, axis=(-3, -2), reduction="none")
        assert out.shape == (2, 3)
        np.testing.assert_allclose(out, ref_tversky(logits, targets, axis=(2, 3)), **TOL)
        np.testing.assert_allclose(out, optax.losses.dice_loss(logits, targets, axis=(2, 3)), **TOL)
        # Spatial axes need not be contiguous: batch axis in the middle.
        out = jaxloss.dice_loss(logits, targets, axis=(0, 2), reduction="none")
        np.testing.assert_allclose(out, ref_tversky(logits, targets, axis=(0, 2)), **TOL)
        # vmap over a leading axis with negative axes.
        f = lambda a, b: jaxloss.dice_loss(a, b, axis=(-3, -2), reduction="none")
        np.testing.assert_allclose(jax.vmap(f)(logits, targets), f(logits, targets), **TOL)

    def test_probabilities_under_jit(self):
        logits, targets = _segmentation(3)
        probs = jax.nn.softmax(logits, axis=-1)
        f = jax.jit(lambda p, t: jaxloss.dice_loss(p, t, apply_softmax=False, reduction="none"))
        np.testing.assert_allclose(
            f(probs, targets),
            optax.losses.dice_loss(probs, targets, apply_softmax=False),
            **TOL,
        )
        # optax's value check is a Python `if` on an array: it fails under jit.
        with pytest.raises(jax.errors.TracerBoolConversionError):
            jax.jit(lambda p, t: optax.losses.dice_loss(p, t, apply_softmax=False))(probs, targets)

    def test_missing_class_axis_of_size_one(self):
        logits, masks = _binary(4)
        out = jaxloss.dice_loss(logits, masks[..., None], reduction="none")
        np.testing.assert_allclose(
            out, ref_tversky(logits[..., None], masks[..., None], axis=(1, 2)), **TOL
        )
        np.testing.assert_allclose(out, optax.losses.dice_loss(logits, masks[..., None]), **TOL)

    def test_perfect_and_empty_overlap(self):
        _, targets = _segmentation(5)
        out = jaxloss.dice_loss(
            targets,
            targets,
            apply_softmax=False,
            smooth=0.0,
            class_reduction="none",
            reduction="none",
        )
        # Classes present in an example: exact overlap, loss 0; absent: 0/0 -> loss 0.
        np.testing.assert_allclose(out, 0.0, atol=1e-7)
        zeros = np.zeros_like(targets)
        f = lambda p: jaxloss.dice_loss(p, zeros, apply_softmax=False, smooth=0.0)
        assert float(f(zeros)) == 0.0
        assert np.all(np.isfinite(jax.grad(f)(zeros)))
        g = jax.grad(lambda p: jaxloss.dice_loss(p, zeros, smooth=0.0))(zeros)
        assert np.all(np.isfinite(g))

    def test_where_per_example_and_per_class(self):
        logits, targets = _segmentation(6)
        mask = np.array([True, False, True])
        bad = logits.copy()
        bad[1] = np.nan
        f = lambda x: jaxloss.dice_loss(x, targets, where=mask)
        np.testing.assert_allclose(
            f(bad), ref_tversky(logits, targets, axis=(1, 2))[mask].mean(), **TOL
        )
        g = np.asarray(jax.grad(f)(bad))
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0)
        class_mask = np.array([[True, False, True]] * 3)
        out = jaxloss.dice_loss(
            logits, targets, class_reduction="none", where=class_mask, reduction="none"
        )
        ref = ref_tversky(logits, targets, axis=(1, 2), class_reduction="none")
        np.testing.assert_allclose(out, np.where(class_mask, ref, 0), **TOL)
        # An example with every class masked has its inputs replaced: NaN-safe.
        class_mask[1] = False
        h = lambda x: jaxloss.dice_loss(x, targets, class_reduction="none", where=class_mask)
        np.testing.assert_allclose(h(bad), h(logits), **TOL)
        g = np.asarray(jax.grad(h)(bad))
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0)

    def test_gradients(self):
        with jax.enable_x64(True):
            logits, targets = _segmentation(7, (2, 3, 2))
            logits = logits.astype(np.float64)
            f = lambda x: jaxloss.dice_loss(x, targets, alpha=0.3, beta=0.7)
            check_grads(f, (logits,), order=2, modes=["rev"], eps=1e-4)
            g = lambda a, b, s: jaxloss.dice_loss(logits, targets, alpha=a, beta=b, smooth=s)
            check_grads(g, (0.4, 0.6, 0.5), order=1, modes=["rev"], eps=1e-4)

    @given(
        logits=hnp.arrays(np.float32, (2, 4, 3), elements=st.floats(-30, 30, width=32)),
        labels=hnp.arrays(np.int32, (2, 4), elements=st.integers(0, 2)),
    )
    @settings(max_examples=20, deadline=None)
    def test_in_unit_interval(self, logits, labels):
        targets = np.eye(3, dtype=np.float32)[labels]
        out = np.asarray(jaxloss.dice_loss(logits, targets, reduction="none"))
        assert np.all(np.isfinite(out)) and np.all(out >= -1e-6) and np.all(out <= 1 + 1e-6)

    @given(perm=st.permutations(range(3)))
    @settings(max_examples=6, deadline=None)
    def test_class_permutation_invariant(self, perm):
        logits, targets = _segmentation(8)
        perm = np.asarray(perm)
        np.testing.assert_allclose(
            jaxloss.dice_loss(logits[..., perm], targets[..., perm], reduction="none"),
            jaxloss.dice_loss(logits, targets, reduction="none"),
            **TOL,
        )

    def test_errors(self):
        logits, targets = _segmentation(9)
        f = jaxloss.dice_loss
        with pytest.raises(ValueError, match=r"dice_loss: arguments 'predictions' and 'targets'"):
            f(logits, targets[:, :2])
        with pytest.raises(ValueError, match=r"dice_loss: argument 'axis'.*class axis"):
            f(logits, targets, axis=(1, -1))
        with pytest.raises(ValueError, match=r"dice_loss: argument 'axis'=5 is out of range"):
            f(logits, targets, axis=5)
        with pytest.raises(ValueError, match=r"dice_loss: argument 'axis' has repeated"):
            f(logits, targets, axis=(1, -3))
        with pytest.raises(ValueError, match=r"dice_loss: argument 'class_weights' must have"):
            f(logits, targets, class_weights=np.ones(2))
        with pytest.raises(ValueError, match=r"dice_loss: argument 'class_reduction' must be"):
            f(logits, targets, class_reduction="avg")
        with pytest.raises(ValueError, match=r"dice_loss: argument 'smooth' must be >= 0"):
            f(logits, targets, smooth=-1.0)
        with pytest.raises(ValueError, match=r"dice_loss: argument 'alpha' must be >= 0"):
            f(logits, targets, alpha=-0.1)
        with pytest.raises(TypeError, match=r"dice_loss: argument 'apply_softmax' must be a"):
            f(logits, targets, apply_softmax=jnp.array(True))
        with pytest.raises(TypeError, match=r"dice_loss: argument 'predictions' must have a"):
            f(logits.astype(np.int32), targets)
        with pytest.raises(TypeError, match=r"dice_loss: argument 'axis' must be None"):
            f(logits, targets, axis=1.0)


# ---------------------------------------------------------------------------
# binary_dice_loss


class TestBinaryDiceLoss:
    @pytest.mark.parametrize("shape", [(3, 5), (3, 4, 5), (3, 4, 5, 1), (6,)])
    def test_matches_reference_and_optax(self, shape):
        logits, masks = _binary(0, shape)
        out = jaxloss.binary_dice_loss(logits, masks, reduction="none")
        assert out.shape == shape[:1] and out.dtype == jnp.float32
        expanded = (logits, masks) if shape[-1] == 1 else (logits[..., None], masks[..., None])
        ref = ref_tversky(*expanded, axis=tuple(range(1, expanded[0].ndim - 1)))
        np.testing.assert_allclose(out, ref, **TOL)
        np.testing.assert_allclose(out, optax.losses.binary_dice_loss(logits, masks), **TOL)

    def test_formula(self):
        logits, masks = _binary(1, (2, 6))
        p = 1 / (1 + np.exp(-logits.astype(np.float64)))
        expected = 1 - (2 * (p * masks).sum(-1) + 2) / (p.sum(-1) + masks.sum(-1) + 2)
        np.testing.assert_allclose(
            jaxloss.binary_dice_loss(logits, masks, reduction="none"), expected, **TOL
        )

    def test_axis_probabilities_and_jit(self):
        logits, masks = _binary(2, (2, 3, 4, 5))
        probs = jax.nn.sigmoid(logits)
        f = jax.jit(
            lambda p, t: jaxloss.binary_dice_loss(
                p, t, apply_sigmoid=False, axis=(-2, -1), reduction="none"
            )
        )
        out = f(probs, masks)
        assert out.shape == (2, 3)
        ref = ref_tversky(
            np.asarray(probs)[..., None], masks[..., None], axis=(2, 3), softmax=False
        )
        np.testing.assert_allclose(out, ref, **TOL)
        # A trailing channel axis is not a spatial axis: the same axes apply.
        out1 = jaxloss.binary_dice_loss(
            probs[..., None], masks[..., None], apply_sigmoid=False, axis=(2, 3), reduction="none"
        )
        np.testing.assert_allclose(out1, ref, **TOL)

    def test_empty_masks(self):
        zeros = np.zeros((2, 4), np.float32)
        f = lambda p: jaxloss.binary_dice_loss(p, zeros, apply_sigmoid=False, smooth=0.0)
        assert float(f(zeros)) == 0.0
        assert np.all(np.isfinite(jax.grad(f)(zeros)))
        g = jax.grad(lambda x: jaxloss.binary_dice_loss(x, zeros, smooth=0.0))(zeros)
        assert np.all(np.isfinite(g))
        # Very confident wrong logits: finite.
        out = jaxloss.binary_dice_loss(np.full((2, 4), 1e4, np.float32), zeros, reduction="none")
        assert np.all(np.isfinite(out))

    def test_gradients(self):
        with jax.enable_x64(True):
            logits, masks = _binary(3, (2, 5))
            f = lambda x, s: jaxloss.binary_dice_loss(x, masks, smooth=s)
            check_grads(f, (logits.astype(np.float64), 0.5), order=2, modes=["rev"], eps=1e-4)

    def test_errors(self):
        logits, masks = _binary(4)
        with pytest.raises(ValueError, match=r"binary_dice_loss: arguments 'predictions' and"):
            jaxloss.binary_dice_loss(logits, masks[:, :2])
        with pytest.raises(TypeError, match=r"binary_dice_loss: argument 'apply_sigmoid'"):
            jaxloss.binary_dice_loss(logits, masks, apply_sigmoid=1)
        with pytest.raises(ValueError, match=r"binary_dice_loss: argument 'smooth' must be >= 0"):
            jaxloss.binary_dice_loss(logits, masks, smooth=-1.0)


# ---------------------------------------------------------------------------
# tversky_loss


class TestTverskyLoss:
    def test_matches_reference_and_optax(self):
        logits, targets = _segmentation(0)
        out = jaxloss.tversky_loss(logits, targets, alpha=0.3, beta=0.7, reduction="none")
        np.testing.assert_allclose(
            out, ref_tversky(logits, targets, axis=(1, 2), alpha=0.3, beta=0.7), **TOL
        )
        np.testing.assert_allclose(
            out, optax.losses.dice_loss(logits, targets, alpha=0.3, beta=0.7), **TOL
        )

    def test_half_half_is_dice(self):
        check_same_values(jaxloss.tversky_loss, jaxloss.dice_loss, _segmentation(1), rtol=1e-6)

    def test_alpha_weights_false_positives(self):
        # One class, probabilities given: all mass predicted where the target is empty.
        p = np.array([[[0.9], [0.9], [0.1]]], np.float32)
        t = np.array([[[0.0], [0.0], [1.0]]], np.float32)
        fp_heavy = jaxloss.tversky_loss(p, t, alpha=0.9, beta=0.1, smooth=0.0, apply_softmax=False)
        fn_heavy = jaxloss.tversky_loss(p, t, alpha=0.1, beta=0.9, smooth=0.0, apply_softmax=False)
        # TP = 0.1, FP = 1.8, FN = 0.9.
        np.testing.assert_allclose(fp_heavy, 1 - 0.1 / (0.1 + 0.9 * 1.8 + 0.1 * 0.9), **TOL)
        np.testing.assert_allclose(fn_heavy, 1 - 0.1 / (0.1 + 0.1 * 1.8 + 0.9 * 0.9), **TOL)

    def test_traced_alpha_beta(self):
        logits, targets = _segmentation(2)
        f = jax.jit(lambda a, b: jaxloss.tversky_loss(logits, targets, alpha=a, beta=b))
        np.testing.assert_allclose(
            f(0.2, 0.8),
            ref_tversky(logits, targets, axis=(1, 2), alpha=0.2, beta=0.8).mean(),
            **TOL,
        )
        alphas = jnp.array([0.1, 0.5, 0.9])
        np.testing.assert_allclose(
            jax.vmap(lambda a: f(a, 1 - a))(alphas), [float(f(a, 1 - a)) for a in alphas], **TOL
        )

    def test_errors(self):
        logits, targets = _segmentation(3)
        with pytest.raises(ValueError, match=r"tversky_loss: argument 'beta' must be >= 0"):
            jaxloss.tversky_loss(logits, targets, beta=-1.0)
        with pytest.raises(ValueError, match=r"tversky_loss: arguments 'predictions' and"):
            jaxloss.tversky_loss(logits, targets[..., :2])


# ---------------------------------------------------------------------------
# generalized_dice_loss


class TestGeneralizedDiceLoss:
    @pytest.mark.parametrize("options", [{}, {"smooth": 1.0}, {"ignore_background": True}])
    def test_matches_reference(self, options):
        logits, targets = _segmentation(0, (4, 3, 3), classes=4)
        out = jaxloss.generalized_dice_loss(logits, targets, **options, reduction="none")
        assert out.shape == (4,) and out.dtype == jnp.float32
        np.testing.assert_allclose(
            out, ref_generalized_dice(logits, targets, axis=(1, 2), **options), **TOL
        )

    def test_sudre_formula_when_all_classes_present(self):
        # smooth = 0, every class present: weight normalization does not matter.
        logits, _ = _segmentation(1, (2, 6), classes=3)
        labels = np.array([[0, 1, 2, 0, 0, 1], [2, 2, 1, 0, 2, 2]])
        targets = np.eye(3, dtype=np.float32)[labels]
        p = ref_probabilities(logits)
        w = 1 / targets.sum(axis=1) ** 2
        expected = 1 - 2 * np.sum(w * (p * targets).sum(1), -1) / np.sum(
            w * (p.sum(1) + targets.sum(1)), -1
        )
        np.testing.assert_allclose(
            jaxloss.generalized_dice_loss(logits, targets, smooth=0.0, reduction="none"),
            expected,
            **TOL,
        )

    def test_absent_classes_get_the_largest_weight(self):
        p = np.array([[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8]]])
        labels = np.array([[0, 1, 1, 1]])  # class 2 absent
        targets = np.eye(3)[labels]
        out = jaxloss.generalized_dice_loss(
            p.astype(np.float32),
            targets.astype(np.float32),
            smooth=0.0,
            apply_softmax=False,
            reduction="none",
        )
        w = np.array([1.0, 1 / 9, 1.0])  # class 2 takes the max of 1/1 and 1/9
        inter = (p * targets).sum(1)[0]
        total = (p.sum(1) + targets.sum(1))[0]
        np.testing.assert_allclose(out, [1 - 2 * np.sum(w * inter) / np.sum(w * total)], **TOL)

    def test_empty_targets(self):
        zeros = np.zeros((2, 3, 2), np.float32)
        f = lambda p: jaxloss.generalized_dice_loss(p, zeros, apply_softmax=False, smooth=0.0)
        assert float(f(zeros)) == 0.0
        assert np.all(np.isfinite(jax.grad(f)(zeros)))
        # Nonzero predictions against empty targets: uniform weights, loss near 1.
        probs = np.full((2, 3, 2), 0.5, np.float32)
        np.testing.assert_allclose(
            jaxloss.generalized_dice_loss(probs, zeros, apply_softmax=False, reduction="none"),
            ref_generalized_dice(probs, zeros, axis=(1,), softmax=False),
            **TOL,
        )
        g = jax.grad(lambda x: jaxloss.generalized_dice_loss(x, zeros))(zeros)
        assert np.all(np.isfinite(g))

    def test_gradients(self):
        with jax.enable_x64(True):
            logits, targets = _segmentation(2, (2, 4), classes=3)
            f = lambda x: jaxloss.generalized_dice_loss(x, targets, smooth=0.1)
            check_grads(f, (logits.astype(np.float64),), order=2, modes=["rev"], eps=1e-4)

    def test_differs_from_optax_batch_weighting(self):
        # optax pools the class volumes over the batch and returns one scalar; here each
        # example has its own weights (documented difference).
        logits, targets = _segmentation(3, (3, 4), classes=3)
        ours = jaxloss.generalized_dice_loss(logits, targets, reduction="none")
        assert ours.shape == (3,)
        assert optax.losses.multiclass_generalized_dice_loss(logits, targets).shape == ()

    def test_errors(self):
        logits, targets = _segmentation(4)
        f = jaxloss.generalized_dice_loss
        with pytest.raises(ValueError, match=r"generalized_dice_loss: argument 'smooth' must"):
            f(logits, targets, smooth=-1e-3)
        with pytest.raises(ValueError, match=r"generalized_dice_loss: arguments 'predictions'"):
            f(logits, targets[:1])
        with pytest.raises(TypeError, match=r"generalized_dice_loss: argument 'ignore_backgr"):
            f(logits, targets, ignore_background=None)


# ---------------------------------------------------------------------------
# all four


NAMES = ["dice_loss", "binary_dice_loss", "tversky_loss", "generalized_dice_loss"]


def _inputs(name, batch):
    if name == "binary_dice_loss":
        return _binary(10, batch + (4, 5))
    return _segmentation(10, batch + (4, 5))


@pytest.mark.parametrize("name", NAMES)
def test_jit_vmap_grad_together(name):
    f = getattr(jaxloss, name)
    logits, targets = _inputs(name, (3, 2))
    grad = jax.grad(lambda x, t: f(x, t))  # default axis: each vmapped slice is [2, ...]
    batched = jax.jit(jax.vmap(grad))(logits, targets)
    assert batched.shape == logits.shape and np.all(np.isfinite(batched))
    for i in range(3):
        np.testing.assert_allclose(batched[i], grad(logits[i], targets[i]), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch(name):
    f = getattr(jaxloss, name)
    logits, targets = _inputs(name, (0,))
    assert f(logits, targets, reduction="none").shape == (0,)
    assert float(f(logits, targets)) == 0.0
    assert jax.grad(lambda x: f(x, targets))(logits).shape == logits.shape


# -- multiclass_generalized_dice_loss (optax's batch-coupled form) ---------------------


def ref_multiclass_generalized_dice(logits, targets, smooth=1.0, ignore_background=False):
    """Per-example values [B] of the formula, float64: class weights from the volumes of
    the whole batch, normalized to sum to C, times each example's per-class Dice loss,
    averaged over the (kept) classes."""
    p = ref_probabilities(logits)
    t = np.asarray(targets, np.float64)
    classes = p.shape[-1]
    volumes = t.reshape(-1, classes).sum(axis=0)
    w = 1 / (volumes**2 + 1e-7)
    w = w / w.sum() * classes
    spatial = tuple(range(1, p.ndim - 1))
    inter, pred, tgt = (np.sum(a, axis=spatial) for a in (p * t, p, t))
    dice = 1 - (inter + smooth) / ((pred + tgt) / 2 + smooth)
    per_class = w * dice
    return (per_class[:, 1:] if ignore_background and classes > 1 else per_class).mean(-1)


class TestMulticlassGeneralizedDiceLoss:
    @pytest.mark.parametrize("options", [{}, {"smooth": 0.25, "ignore_background": True}])
    def test_matches_reference_and_optax(self, options):
        logits, targets = _segmentation(70, shape=(3, 4, 5), classes=4)
        targets[..., 3] = 0.0  # a class absent from the whole batch (weight ~1e7)
        targets[..., 0] = 1.0 - targets[..., 1:].sum(-1)
        fn = jaxloss.multiclass_generalized_dice_loss
        with jax.enable_x64(True):
            x, t = logits.astype(np.float64), targets.astype(np.float64)
            ref = ref_multiclass_generalized_dice(x, t, **options)

            @jax.jit
            def run(x, t):
                ours = jax.value_and_grad(lambda x, t: fn(x, t, **options), (0, 1))(x, t)
                other = jax.value_and_grad(
                    lambda x, t: optax.losses.multiclass_generalized_dice_loss(x, t, **options),
                    (0, 1),
                )(x, t)
                return fn(x, t, reduction="none", **options), ours, other

            none, (value, grads), (other, other_grads) = run(x, t)
        np.testing.assert_allclose(none, ref, rtol=1e-10)
        np.testing.assert_allclose(value, ref.mean(), rtol=1e-10)
        np.testing.assert_allclose(value, other, rtol=1e-10)
        for g, h in zip(grads, other_grads):
            np.testing.assert_allclose(g, h, rtol=1e-8, atol=1e-12)
        out32 = fn(logits, targets, **options)
        assert out32.dtype == jnp.float32
        np.testing.assert_allclose(out32, ref.mean(), rtol=1e-5)

    def test_gradients_and_where_removes_examples_from_the_batch(self):
        logits, targets = _segmentation(71, shape=(4, 3, 2), classes=3)
        fn = jaxloss.multiclass_generalized_dice_loss
        mask = np.array([True, False, True, True])
        poisoned = logits.copy()
        poisoned[1] = np.nan  # a masked example's inputs are never read
        with jax.enable_x64(True):
            x, t = logits.astype(np.float64), targets.astype(np.float64)
            check_grads(lambda a, b: fn(a, b, smooth=0.5), (x, t), 1, modes=["rev"], eps=1e-5)
        value, g = jax.value_and_grad(lambda x: fn(x, targets, where=mask))(poisoned)
        np.testing.assert_allclose(value, fn(logits[mask], targets[mask]), rtol=1e-6)
        assert np.all(np.isfinite(g)) and np.all(np.asarray(g)[1] == 0)
        w = np.array([1.0, 2.0, 0.5, 1.0], np.float32)
        per_example = ref_multiclass_generalized_dice(logits, targets)
        np.testing.assert_allclose(
            fn(logits, targets, weights=w), np.sum(w * per_example) / w.sum(), rtol=1e-5
        )
