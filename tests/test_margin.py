"""Tests of the margin losses (jaxloss/_margin.py).

References are float64 NumPy code written from the formulas in the docstrings.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from jax.experimental import checkify

import jaxloss
from tests.grads import check_grads
from tests.shared_checks import check_class_axis, check_shift_invariant, check_values

# ---------------------------------------------------------------------------
# references


def ref_hinge(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.maximum(0.0, 1.0 - y * x)


def ref_categorical_hinge(x, y, axis=-1):
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    y = np.moveaxis(np.asarray(y, np.float64), axis, -1)
    out = np.empty(x.shape[:-1])
    for idx in np.ndindex(out.shape):
        true = np.sum(y[idx] * x[idx])
        other = np.max((1.0 - y[idx]) * x[idx])
        out[idx] = max(0.0, 1.0 + other - true)
    return out


def ref_soft_margin(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.logaddexp(0.0, -y * x)


def _scores(seed, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    x = (2 * rng.normal(size=shape)).astype(np.float32)
    y = rng.choice(np.array([-1.0, 1.0], np.float32), size=shape)
    return x, y


def _class_scores(seed, batch=(4,), num_classes=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=batch + (num_classes,)).astype(np.float32)
    y = np.eye(num_classes, dtype=np.float32)[rng.integers(0, num_classes, size=batch)]
    return x, y


def _away_from_kinks(x, y, gap=0.05):
    """Moves scores with |1 - y x| < gap away from the hinge kink (for finite differences)."""
    margin = 1 - y * x
    return np.where(np.abs(margin) < gap, x - y * 2 * gap, x).astype(x.dtype)


AXON_HINGE_LABELS = np.array([[1, 1, -1], [1, 1, -1]], np.int8)
AXON_HINGE_SCORES = np.array(
    [[0.45440044, 0.31470688, 0.67920924], [0.24311459, 0.93466766, 0.10914676]], np.float32
)


# ---------------------------------------------------------------------------
# hinge_loss


class TestHingeLoss:
    def test_axon_example(self):
        # Axon.Losses.hinge is the mean over the last axis of the elementwise hinge.
        values = jaxloss.hinge_loss(AXON_HINGE_SCORES, AXON_HINGE_LABELS, reduction="none")
        np.testing.assert_allclose(
            jnp.mean(values, axis=-1), [0.9700339436531067, 0.6437881588935852], rtol=1e-6
        )
        np.testing.assert_allclose(
            jaxloss.hinge_loss(AXON_HINGE_SCORES, AXON_HINGE_LABELS), 0.806911051273346, rtol=1e-6
        )
        # Axon's "sum" adds the two row means.
        np.testing.assert_allclose(
            jaxloss.hinge_loss(AXON_HINGE_SCORES, AXON_HINGE_LABELS, reduction="sum") / 3,
            1.613822102546692,
            rtol=1e-6,
        )

    def test_torchlean_spec_is_the_mean(self):
        x, y = _scores(2, (7,))
        np.testing.assert_allclose(jaxloss.hinge_loss(x, y), ref_hinge(x, y).mean(), rtol=1e-6)

    def test_labels_zero_one_are_not_converted(self):
        # Documented: a label 0 gives the constant loss 1 (no {0, 1} -> {-1, +1} mapping).
        out = jaxloss.hinge_loss(np.array([3.0, -3.0], np.float32), np.zeros(2), reduction="none")
        np.testing.assert_array_equal(out, [1.0, 1.0])


# ---------------------------------------------------------------------------
# categorical_hinge_loss


class TestCategoricalHingeLoss:
    def test_matches_reference(self):
        x, y = _class_scores(0, (3, 4))
        expected = [ref_categorical_hinge(x, y)]
        check_values(jaxloss.categorical_hinge_loss, (x, y), (3, 4), expected, rtol=1e-6, atol=1e-7)

    @pytest.mark.parametrize("axis", [0, 1, -2])
    def test_axis(self, axis):
        fn, args = jaxloss.categorical_hinge_loss, _class_scores(1, (3, 4))
        check_class_axis(fn, ref_categorical_hinge, args, axis, rtol=1e-6, atol=1e-7)

    def test_axon_example(self):
        y = np.array([[1, 0, 0], [0, 0, 1]], np.int8)
        x = np.array(
            [[0.05300799, 0.21617081, 0.68642382], [0.3754382, 0.08494169, 0.13442067]],
            np.float32,
        )
        np.testing.assert_allclose(
            jaxloss.categorical_hinge_loss(x, y, reduction="none"),
            [1.6334158182144165, 1.2410175800323486],
            rtol=1e-6,
        )
        np.testing.assert_allclose(
            jaxloss.categorical_hinge_loss(x, y), 1.4372167587280273, rtol=1e-6
        )
        np.testing.assert_allclose(
            jaxloss.categorical_hinge_loss(x, y, reduction="sum"), 2.8744335174560547, rtol=1e-6
        )

    def test_negative_other_scores_use_zero(self):
        # Keras/Axon form: the true class enters the max as 0, so with every other score
        # negative the loss is max(0, 1 - x_true).
        x = np.array([[-2.0, -3.0, -1.0], [-2.0, -3.0, 0.5]], np.float32)
        y = np.array([[0, 0, 1], [0, 0, 1]], np.float32)
        np.testing.assert_allclose(
            jaxloss.categorical_hinge_loss(x, y, reduction="none"), [2.0, 0.5], rtol=1e-6
        )

    def test_gradients(self):
        with jax.enable_x64(True):
            x, y = _class_scores(3, (6,))
            x = x.astype(np.float64)
            # Finite differences need points away from the kink and from ties in the max.
            assert np.all(np.abs(1 + np.max((1 - y) * x, -1) - np.sum(y * x, -1)) > 1e-2)
            top2 = np.sort((1 - y) * x, -1)[:, -2:]
            assert np.all(top2[:, 1] - top2[:, 0] > 1e-2)
            f = lambda x: jaxloss.categorical_hinge_loss(x, y)
            check_grads(f, (x,), order=1, modes=["rev"], eps=1e-4)

    @given(
        x=hnp.arrays(np.float32, (3, 4), elements=st.floats(-100, 100, width=32)),
        labels=hnp.arrays(np.int32, (3,), elements=st.integers(0, 3)),
    )
    def test_non_negative(self, x, labels):
        y = np.eye(4, dtype=np.float32)[labels]
        assert np.all(np.asarray(jaxloss.categorical_hinge_loss(x, y, reduction="none")) >= 0)

    def test_axis_out_of_range(self):
        x, y = _class_scores(4)
        with pytest.raises(
            ValueError, match=r"categorical_hinge_loss: argument 'axis'=2 is out of range"
        ):
            jaxloss.categorical_hinge_loss(x, y, axis=2)


# ---------------------------------------------------------------------------
# soft_margin_loss


class TestSoftMarginLoss:
    # the reference values: test_elementwise_matches_reference_and_optax

    def test_axon_example(self):
        # Axon.Losses.soft_margin on a [1, 3] batch returns the three elementwise values.
        y = np.array([[-1.0, 1.0, 1.0]], np.float32)
        x = np.array([[0.2953, -0.1709, 0.9486]], np.float32)
        values = jaxloss.soft_margin_loss(x, y, reduction="none")
        np.testing.assert_allclose(
            values[0], [0.851658046245575, 0.7822436094284058, 0.3273470401763916], rtol=1e-6
        )
        np.testing.assert_allclose(jaxloss.soft_margin_loss(x, y), 0.6537495255470276, rtol=1e-6)
        np.testing.assert_allclose(
            jaxloss.soft_margin_loss(x, y, reduction="sum"), 1.9612486362457275, rtol=1e-6
        )

    def test_large_and_infinite_scores(self):
        x = jnp.array([100.0, -1000.0, 1e4, jnp.inf, -jnp.inf, jnp.inf])
        y = jnp.array([-1.0, 1.0, 1.0, 1.0, -1.0, -1.0])
        out = jaxloss.soft_margin_loss(x, y, reduction="none")
        np.testing.assert_allclose(out, [100.0, 1000.0, 0.0, 0.0, 0.0, np.inf], rtol=1e-6)
        g = jax.grad(lambda x: jaxloss.soft_margin_loss(x, y[:5], reduction="sum"))(x[:5])
        np.testing.assert_allclose(g, [1.0, -1.0, 0.0, 0.0, 0.0], atol=1e-30)
        assert np.all(g[3:] == 0)

    def test_gradients(self):
        with jax.enable_x64(True):
            x, y = _scores(2)
            x, y = x.astype(np.float64), y.astype(np.float64)
            check_grads(
                lambda x: jaxloss.soft_margin_loss(x, y), (x,), order=2, modes=["rev"], eps=1e-4
            )
            # Labels may be soft (e.g. differentiated through); the formula is smooth in them.
            check_grads(
                lambda y: jaxloss.soft_margin_loss(x, y),
                (y * 0.7,),
                order=2,
                modes=["rev"],
                eps=1e-4,
            )

    @given(
        x=hnp.arrays(np.float32, (6,), elements=st.floats(-50.0, 50.0, width=32)),
        y=hnp.arrays(np.float32, (6,), elements=st.sampled_from([-1.0, 1.0])),
    )
    def test_non_negative_and_symmetric(self, x, y):
        out = np.asarray(jaxloss.soft_margin_loss(x, y, reduction="none"))
        assert np.all(out >= 0) and np.all(np.isfinite(out))
        # Always above the hinge-like lower bound max(0, -y x).
        assert np.all(out >= np.maximum(0.0, -y * x) * (1 - 1e-6))
        np.testing.assert_array_equal(jaxloss.soft_margin_loss(-x, -y, reduction="none"), out)


# ---------------------------------------------------------------------------
# references and inputs of the losses added after the first three


def ref_squared_hinge(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.maximum(0.0, 1.0 - y * x) ** 2


def ref_perceptron(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.maximum(0.0, -y * x)


def _rows(x, labels, axis):
    """Iterates (index, score row, label) over a [..., C, ...] array with the class axis."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    labels = np.asarray(labels)
    for idx in np.ndindex(labels.shape):
        yield idx, x[idx], int(labels[idx])


def ref_multiclass_hinge(x, labels, axis=-1):
    out = np.empty(np.shape(labels))
    for idx, row, y in _rows(x, labels, axis):
        # Crammer-Singer: the largest margin violation of a wrong class, or 0.
        out[idx] = max([0.0] + [1.0 + row[c] - row[y] for c in range(row.size) if c != y])
    return out


def ref_multiclass_perceptron(x, labels, axis=-1):
    out = np.empty(np.shape(labels))
    for idx, row, y in _rows(x, labels, axis):
        out[idx] = row.max() - row[y]
    return out


def ref_multi_margin(x, labels, p=1, margin=1.0, class_weights=None, axis=-1):
    out = np.empty(np.shape(labels))
    for idx, row, y in _rows(x, labels, axis):
        w = 1.0 if class_weights is None else float(class_weights[y])
        total = 0.0
        for c in range(row.size):
            if c != y:
                total += w * max(0.0, margin - row[y] + row[c]) ** p
        out[idx] = total / row.size
    return out


def ref_multilabel_soft_margin(x, y, class_weights=None, axis=-1):
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    y = np.moveaxis(np.asarray(y, np.float64), axis, -1)
    sig = 1.0 / (1.0 + np.exp(-x))
    terms = -(y * np.log(sig) + (1.0 - y) * np.log(1.0 - sig))
    if class_weights is not None:
        terms = terms * np.asarray(class_weights, np.float64)
    return terms.mean(-1)


def _int_class_scores(seed, batch=(4,), num_classes=5, scale=1.5):
    rng = np.random.default_rng(seed)
    x = (scale * rng.normal(size=batch + (num_classes,))).astype(np.float32)
    return x, rng.integers(0, num_classes, size=batch).astype(np.int32)


def _away_from_class_kinks(x, labels, margin):
    """Asserts every gap x_c - x_y (c != y) is away from -margin and from other gaps."""
    x = np.asarray(x, np.float64)
    gaps = x - np.take_along_axis(x, labels[..., None], -1)
    others = np.where(np.eye(x.shape[-1], dtype=bool)[labels], np.nan, gaps)
    assert np.all(np.isnan(others) | (np.abs(others + margin) > 1e-2))


# ---------------------------------------------------------------------------
# squared_hinge_loss


class TestSquaredHingeLoss:
    def test_keras_form_is_the_last_axis_mean(self):
        # keras.losses.SquaredHinge averages the elementwise values over the last axis.
        x, y = _scores(12, (2, 3))
        values = jaxloss.squared_hinge_loss(x, y, reduction="none")
        np.testing.assert_allclose(
            jnp.mean(values, -1), ref_squared_hinge(x, y).mean(-1), rtol=1e-5
        )


# ---------------------------------------------------------------------------
# what the elementwise losses share: hinge_loss, squared_hinge_loss, perceptron_loss (and
# soft_margin_loss for the reference values)

# name: (float64 reference, optax's loss or None, seed of the scores, rtol, atol)
ELEMENTWISE = {
    "hinge_loss": (ref_hinge, optax.losses.hinge_loss, 0, 1e-6, 1e-7),
    "squared_hinge_loss": (ref_squared_hinge, None, 10, 1e-5, 1e-6),
    "perceptron_loss": (ref_perceptron, optax.losses.perceptron_loss, 20, 1e-6, 1e-7),
    "soft_margin_loss": (ref_soft_margin, None, 0, 1e-6, 0.0),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_matches_reference_and_optax(name):
    ref, oracle, seed, rtol, atol = ELEMENTWISE[name]
    fn = getattr(jaxloss, name)
    x, y = _scores(seed)
    expected = [ref(x, y)] + ([] if oracle is None else [oracle(x, y)])
    check_values(fn, (x, y), x.shape, expected, rtol=rtol, atol=atol)
    # "mean" averages over every element (PyTorch's soft_margin_loss, Keras's hinges).
    np.testing.assert_allclose(fn(x, y), ref(x, y).mean(), rtol=rtol)


HINGES = ["hinge_loss", "squared_hinge_loss", "perceptron_loss"]


@pytest.mark.parametrize("name", HINGES)
def test_hinges_infinite_scores(name):
    fn = getattr(jaxloss, name)
    x = jnp.array([jnp.inf, -jnp.inf, jnp.inf])
    y = jnp.array([1.0, -1.0, -1.0])
    np.testing.assert_array_equal(fn(x, y, reduction="none"), [0.0, 0.0, np.inf])
    g = jax.grad(lambda x: fn(x, y[:2], reduction="sum"))(x[:2])
    np.testing.assert_array_equal(g, [0.0, 0.0])


def _off_hinge_kinks(x, y):
    return _away_from_kinks(x.astype(np.float64), y.astype(np.float64))


# name: (seed, the scores moved off the kinks, the gradient of the "sum" (rtol 0: exact),
# labels and scores at a kink, where the (sub)gradient is 0)
HINGE_GRADIENTS = {
    "hinge_loss": (
        3,
        _off_hinge_kinks,
        lambda x, y: np.where(y * x < 1, -y, 0.0),
        0.0,
        ([1.0, -1.0], [1.0, -1.0]),  # y * x == 1
    ),
    "squared_hinge_loss": (
        13,
        _off_hinge_kinks,
        lambda x, y: -2 * y * np.maximum(0.0, 1 - y * x),
        1e-12,
        ([1.0, -1.0], [1.0, -1.0]),  # y * x == 1: the gradient is continuous there
    ),
    "perceptron_loss": (
        22,
        lambda x, y: np.where(np.abs(x) < 0.05, 0.1, x),
        lambda x, y: np.where(y * x < 0, -y, 0.0),
        0.0,
        ([1.0], [0.0]),  # x == 0
    ),
}


@pytest.mark.parametrize("name", HINGE_GRADIENTS)
def test_hinges_gradients_and_kinks(name):
    seed, off_kinks, gradient, rtol, (kink_labels, kink_scores) = HINGE_GRADIENTS[name]
    fn = getattr(jaxloss, name)
    with jax.enable_x64(True):
        x, y = _scores(seed)
        x = off_kinks(x, y)
        f = lambda x: fn(x, y, reduction="sum")
        check_grads(f, (x,), order=1, modes=["rev"], eps=1e-3)
        np.testing.assert_allclose(jax.grad(f)(x), gradient(x, y), rtol=rtol, atol=0)
        g = jax.grad(lambda x: fn(x, jnp.array(kink_labels), reduction="sum"))
        np.testing.assert_array_equal(g(jnp.array(kink_scores)), np.zeros(len(kink_scores)))


@pytest.mark.parametrize("name", HINGES)
@given(
    x=hnp.arrays(np.float32, (6,), elements=st.floats(-1e3, 1e3, width=32)),
    y=hnp.arrays(np.float32, (6,), elements=st.sampled_from([-1.0, 1.0])),
)
def test_hinges_non_negative_and_against_the_hinge(name, x, y):
    out = np.asarray(getattr(jaxloss, name)(x, y, reduction="none"))
    assert np.all(out >= 0)
    hinge = np.asarray(jaxloss.hinge_loss(x, y, reduction="none"), np.float64)
    if name == "squared_hinge_loss":  # the hinge squared
        np.testing.assert_allclose(out, hinge**2, rtol=1e-5)
    if name == "perceptron_loss":  # the hinge without the margin: below it
        assert np.all(out <= hinge)


# ---------------------------------------------------------------------------
# multiclass_hinge_loss and multiclass_perceptron_loss (Crammer-Singer family)

CRAMMER_SINGER = [
    (jaxloss.multiclass_hinge_loss, ref_multiclass_hinge, optax.losses.multiclass_hinge_loss, 1.0),
    (
        jaxloss.multiclass_perceptron_loss,
        ref_multiclass_perceptron,
        optax.losses.multiclass_perceptron_loss,
        0.0,
    ),
]
CS_IDS = ["multiclass_hinge_loss", "multiclass_perceptron_loss"]


@pytest.mark.parametrize("fn,ref,optax_fn,margin", CRAMMER_SINGER, ids=CS_IDS)
class TestCrammerSinger:
    def test_matches_reference_and_optax(self, fn, ref, optax_fn, margin):
        x, y = _int_class_scores(30, (6,))
        check_values(fn, (x, y), (6,), [ref(x, y), optax_fn(x, y)], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(fn(x, y), ref(x, y).mean(), rtol=1e-5)

    def test_several_batch_dimensions_and_axis(self, fn, ref, optax_fn, margin):
        x, y = _int_class_scores(31, (2, 3))
        np.testing.assert_allclose(fn(x, y, reduction="none"), ref(x, y), rtol=1e-5, atol=1e-6)
        for axis in (0, 1, -3):
            check_class_axis(fn, ref, (x, y), axis, moved=(0,), rtol=1e-5, atol=1e-6)

    def test_gradients(self, fn, ref, optax_fn, margin):
        with jax.enable_x64(True):
            x, y = _int_class_scores(33, (6,))
            x = x.astype(np.float64)
            _away_from_class_kinks(x, y, margin)
            f = lambda x: fn(x, y, reduction="sum")
            check_grads(f, (x,), order=1, modes=["rev"], eps=1e-4)

    def test_ties_share_the_gradient_like_optax(self, fn, ref, optax_fn, margin):
        x = jnp.zeros((1, 4))
        y = jnp.array([2])
        g = jax.grad(lambda x: fn(x, y, reduction="sum"))(x)
        g_optax = jax.grad(lambda x: jnp.sum(optax_fn(x, y)))(x)
        np.testing.assert_allclose(g, g_optax, atol=1e-7)

    def test_infinite_scores(self, fn, ref, optax_fn, margin):
        # A -inf wrong class is ignored; a +inf true score gives 0 with zero gradient.
        x = jnp.array([[-jnp.inf, 0.0, 3.0], [jnp.inf, 0.0, 1.0], [0.0, jnp.inf, 1.0]])
        y = jnp.array([2, 0, 0])
        out = fn(x, y, reduction="none")
        np.testing.assert_array_equal(out, [0.0, 0.0, np.inf])
        g = jax.grad(lambda x: fn(x, y[:2], reduction="sum"))(x[:2])
        np.testing.assert_array_equal(g, np.zeros((2, 3)))

    def test_out_of_range_labels_give_nan(self, fn, ref, optax_fn, margin):
        x, _ = _int_class_scores(34, (4,))
        y = np.array([0, 5, -1, 2], np.int32)
        out = np.asarray(fn(x, y, reduction="none"))
        assert np.isnan(out[1]) and np.isnan(out[2]) and np.all(np.isfinite(out[[0, 3]]))
        # Masked bad labels give 0 with zero gradient, and jaxloss.checked ignores them.
        m = np.array([True, False, False, True])
        g = jax.grad(lambda x: fn(x, y, where=m))(x)
        assert np.all(np.isfinite(g)) and np.all(g[1:3] == 0)
        np.testing.assert_allclose(
            jaxloss.checked(fn)(x, y, where=m), ref(x[m], y[m]).mean(), rtol=1e-5
        )

    def test_checked_names_the_position(self, fn, ref, optax_fn, margin):
        x, _ = _int_class_scores(35, (3,))
        name = fn.__name__
        with pytest.raises(
            checkify.JaxRuntimeError,
            match=rf"{name}: label out of range \[0, 5\) at position \[1\]: -1",
        ):
            jaxloss.checked(fn)(x, np.array([0, -1, 7], np.int32))

    @given(
        x=hnp.arrays(np.float32, (3, 4), elements=st.floats(-100, 100, width=32)),
        y=hnp.arrays(np.int32, (3,), elements=st.integers(0, 3)),
        shift=st.floats(-50, 50, width=32),
    )
    def test_non_negative_and_shift_invariant(self, fn, ref, optax_fn, margin, x, y, shift):
        check_shift_invariant(functools.partial(fn, reduction="none"), x, y, shift)

    def test_label_shape_mismatch(self, fn, ref, optax_fn, margin):
        name = fn.__name__
        with pytest.raises(
            ValueError,
            match=rf"{name}: argument 'labels' must have the shape of 'scores' without axis 1, "
            r"got scores.shape=\(2, 3\) and labels.shape=\(3,\)",
        ):
            fn(np.zeros((2, 3), np.float32), np.zeros(3, np.int32))

    def test_float_labels(self, fn, ref, optax_fn, margin):
        name = fn.__name__
        with pytest.raises(TypeError, match=rf"{name}: argument 'labels' must have an integer"):
            fn(np.zeros((2, 3), np.float32), np.zeros(2, np.float32))

    def test_axis_out_of_range(self, fn, ref, optax_fn, margin):
        name = fn.__name__
        with pytest.raises(ValueError, match=rf"{name}: argument 'axis'=2 is out of range"):
            fn(np.zeros((2, 3), np.float32), np.zeros(2, np.int32), axis=2)


def test_multiclass_hinge_versus_perceptron():
    # The hinge is the perceptron loss of the scores with the margin added to wrong classes.
    x, y = _int_class_scores(36, (5,))
    shifted = x + 1 - np.eye(5, dtype=np.float32)[y]
    np.testing.assert_allclose(
        jaxloss.multiclass_hinge_loss(x, y, reduction="none"),
        jaxloss.multiclass_perceptron_loss(shifted, y, reduction="none"),
        rtol=1e-6,
        atol=1e-6,
    )


# ---------------------------------------------------------------------------
# multi_margin_loss


class TestMultiMarginLoss:
    @pytest.mark.parametrize("p", [1, 2])
    @pytest.mark.parametrize("margin", [1.0, 0.5])
    def test_matches_reference(self, p, margin):
        x, y = _int_class_scores(40, (6,))
        expected = [ref_multi_margin(x, y, p, margin)]
        fn = jaxloss.multi_margin_loss
        check_values(fn, (x, y), (6,), expected, rtol=1e-5, atol=1e-6, p=p, margin=margin)

    def test_class_weights_and_pytorch_mean(self):
        x, y = _int_class_scores(41, (6,))
        cw = np.random.default_rng(41).uniform(0.2, 3.0, size=5).astype(np.float32)
        values = ref_multi_margin(x, y, 2, 1.0, cw)
        out = jaxloss.multi_margin_loss(x, y, p=2, class_weights=cw, reduction="none")
        np.testing.assert_allclose(out, values, rtol=1e-5, atol=1e-6)
        # PyTorch's "mean" with weight divides by the number of examples, not by sum(w_y).
        mean = jaxloss.multi_margin_loss(x, y, p=2, class_weights=cw)
        np.testing.assert_allclose(mean, values.sum() / 6, rtol=1e-5)
        assert not np.isclose(float(mean), values.sum() / cw[y].sum(), rtol=1e-3)

    def test_pytorch_documented_example(self):
        # The example of the torch.nn.MultiMarginLoss documentation: 0.3250.
        x = np.array([[0.1, 0.2, 0.4, 0.8]], np.float32)
        np.testing.assert_allclose(jaxloss.multi_margin_loss(x, np.array([3])), 0.325, rtol=1e-6)

    def test_several_batch_dimensions_and_axis(self):
        x, y = _int_class_scores(42, (2, 3))
        np.testing.assert_allclose(
            jaxloss.multi_margin_loss(x, y, reduction="none"),
            ref_multi_margin(x, y),
            rtol=1e-5,
            atol=1e-6,
        )
        xa = np.moveaxis(x, -1, 1)
        np.testing.assert_allclose(
            jaxloss.multi_margin_loss(xa, y, axis=1, reduction="none"),
            ref_multi_margin(xa, y, axis=1),
            rtol=1e-5,
            atol=1e-6,
        )

    def test_jit_and_traced_margin(self):
        x, y = _int_class_scores(43)
        traces = []

        def loss(x, y, m):
            traces.append(1)  # runs once per trace, not per call
            return jaxloss.multi_margin_loss(x, y, margin=m, reduction="none")

        f = jax.jit(loss)
        for m in (1.0, 0.3):
            np.testing.assert_allclose(
                f(x, y, m), ref_multi_margin(x, y, 1, m), rtol=1e-5, atol=1e-6
            )
        assert len(traces) == 1
        # Differentiable in the margin: d/dm of sum_c max(0, m - x_y + x_c) / C.
        with jax.enable_x64(True):
            xd = x.astype(np.float64)
            _away_from_class_kinks(xd, y, 1.0)
            check_grads(
                lambda m: jaxloss.multi_margin_loss(xd, y, margin=m, p=2),
                (1.0,),
                order=1,
                modes=["rev"],
                eps=1e-4,
            )

    @pytest.mark.parametrize("p", [1, 2])
    def test_gradients(self, p):
        with jax.enable_x64(True):
            x, y = _int_class_scores(45, (6,))
            x = x.astype(np.float64)
            _away_from_class_kinks(x, y, 1.0)
            cw = np.linspace(0.5, 2.0, 5)
            f = lambda x: jaxloss.multi_margin_loss(x, y, p=p, class_weights=cw)
            check_grads(f, (x,), order=1, modes=["rev"], eps=1e-4)

    def test_infinite_scores(self):
        x = jnp.array([[-jnp.inf, 0.0, 3.0], [jnp.inf, 0.0, 1.0], [0.0, jnp.inf, 1.0]])
        y = jnp.array([2, 0, 0])
        for p in (1, 2):
            out = jaxloss.multi_margin_loss(x, y, p=p, reduction="none")
            np.testing.assert_array_equal(out, [0.0, 0.0, np.inf])
            g = jax.grad(lambda x, p=p: jaxloss.multi_margin_loss(x, y[:2], p=p))(x[:2])
            np.testing.assert_array_equal(g, np.zeros((2, 3)))

    def test_out_of_range_labels_give_nan(self):
        x, _ = _int_class_scores(45, (3,))
        out = np.asarray(
            jaxloss.multi_margin_loss(x, np.array([5, 1, -1], np.int32), reduction="none")
        )
        assert np.isnan(out[0]) and np.isnan(out[2]) and np.isfinite(out[1])
        with pytest.raises(checkify.JaxRuntimeError, match=r"at position \[0\]: 5"):
            jaxloss.checked(jaxloss.multi_margin_loss)(x, np.array([5, 1, -1], np.int32))

    @given(
        x=hnp.arrays(np.float32, (3, 4), elements=st.floats(-100, 100, width=32)),
        y=hnp.arrays(np.int32, (3,), elements=st.integers(0, 3)),
        shift=st.floats(-50, 50, width=32),
    )
    def test_non_negative_and_shift_invariant(self, x, y, shift):
        values = functools.partial(jaxloss.multi_margin_loss, reduction="none")
        check_shift_invariant(values, x, y, shift)

    @pytest.mark.parametrize("p", [0, 3, 1.5, True, "1"])
    def test_bad_p(self, p):
        with pytest.raises(ValueError, match=r"multi_margin_loss: argument 'p' must be 1 or 2"):
            jaxloss.multi_margin_loss(np.zeros((2, 3), np.float32), np.zeros(2, np.int32), p=p)

    def test_nan_margin(self):
        with pytest.raises(ValueError, match=r"multi_margin_loss: argument 'margin' must be"):
            jaxloss.multi_margin_loss(
                np.zeros((2, 3), np.float32), np.zeros(2, np.int32), margin=float("nan")
            )

    def test_label_shape_mismatch(self):
        with pytest.raises(
            ValueError,
            match=r"multi_margin_loss: argument 'labels' must have the shape of 'scores'",
        ):
            jaxloss.multi_margin_loss(np.zeros((2, 3), np.float32), np.zeros((2, 1), np.int32))

    def test_float_labels(self):
        with pytest.raises(TypeError, match=r"multi_margin_loss: argument 'labels'.*integer"):
            jaxloss.multi_margin_loss(np.zeros((2, 3), np.float32), np.zeros(2))


@pytest.mark.parametrize(
    "name, labels, class_weights, got",
    [
        (
            "multi_margin_loss",
            np.zeros(2, np.int32),
            np.ones(4),
            r" \(one weight per class\), got \(4,\)",
        ),
        ("multilabel_soft_margin_loss", np.zeros((2, 3)), np.ones((2, 3)), ""),
    ],
)
def test_bad_class_weights_shape(name, labels, class_weights, got):
    # scores [2, 3]: one class weight per class, shape (3,)
    with pytest.raises(
        ValueError, match=rf"{name}: argument 'class_weights' must have shape \(3,\){got}"
    ):
        getattr(jaxloss, name)(np.zeros((2, 3), np.float32), labels, class_weights=class_weights)


# ---------------------------------------------------------------------------
# multilabel_soft_margin_loss


def _multi_hot(seed, batch=(4,), num_classes=5):
    rng = np.random.default_rng(seed)
    x = (2 * rng.normal(size=batch + (num_classes,))).astype(np.float32)
    y = (rng.random(batch + (num_classes,)) < 0.4).astype(np.float32)
    return x, y


class TestMultilabelSoftMarginLoss:
    def test_matches_reference(self):
        x, y = _multi_hot(50, (6,))
        fn, expected = jaxloss.multilabel_soft_margin_loss, [ref_multilabel_soft_margin(x, y)]
        check_values(fn, (x, y), (6,), expected, rtol=1e-5)
        # PyTorch's "mean" averages the per-example values over the batch.
        np.testing.assert_allclose(
            jaxloss.multilabel_soft_margin_loss(x, y),
            ref_multilabel_soft_margin(x, y).mean(),
            rtol=1e-5,
        )

    def test_matches_optax_sigmoid_cross_entropy_class_mean(self):
        x, y = _multi_hot(51, (3,))
        expected = jnp.mean(optax.losses.sigmoid_binary_cross_entropy(x, y), axis=-1)
        np.testing.assert_allclose(
            jaxloss.multilabel_soft_margin_loss(x, y, reduction="none"), expected, rtol=1e-5
        )

    def test_class_weights_divide_by_num_classes(self):
        x, y = _multi_hot(52, (4,))
        cw = np.array([0.5, 1.0, 2.0, 0.0, 1.5], np.float32)
        np.testing.assert_allclose(
            jaxloss.multilabel_soft_margin_loss(x, y, class_weights=cw, reduction="none"),
            ref_multilabel_soft_margin(x, y, cw),
            rtol=1e-5,
        )

    def test_axis_and_several_batch_dimensions(self):
        x, y = _multi_hot(53, (2, 3))
        xa, ya = np.moveaxis(x, -1, 0), np.moveaxis(y, -1, 0)
        out = jaxloss.multilabel_soft_margin_loss(xa, ya, axis=0, reduction="none")
        np.testing.assert_allclose(out, ref_multilabel_soft_margin(x, y), rtol=1e-5)

    def test_gradients(self):
        with jax.enable_x64(True):
            x, y = _multi_hot(55)
            x = x.astype(np.float64)
            cw = np.linspace(0.5, 2.0, 5)
            f = lambda x: jaxloss.multilabel_soft_margin_loss(x, y, class_weights=cw)
            check_grads(f, (x,), order=2, modes=["rev"], eps=1e-4)
            # Soft labels: smooth in the labels too.
            check_grads(
                lambda y: jaxloss.multilabel_soft_margin_loss(x, y),
                (0.2 + 0.6 * y,),
                order=2,
                modes=["rev"],
                eps=1e-4,
            )

    def test_large_and_infinite_logits(self):
        x = jnp.array([[1e4, -1e4, jnp.inf, -jnp.inf], [jnp.inf, 0.0, 0.0, 0.0]])
        y = jnp.array([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
        out = jaxloss.multilabel_soft_margin_loss(x, y, reduction="none")
        np.testing.assert_allclose(out[0], 0.0, atol=1e-30)
        assert out[1] == np.inf
        g = jax.grad(lambda x: jaxloss.multilabel_soft_margin_loss(x, y[:1]))(x[:1])
        np.testing.assert_array_equal(g, np.zeros((1, 4)))

    @given(
        x=hnp.arrays(np.float32, (3, 4), elements=st.floats(-50.0, 50.0, width=32)),
        y=hnp.arrays(np.float32, (3, 4), elements=st.sampled_from([0.0, 1.0])),
    )
    def test_non_negative_and_symmetric(self, x, y):
        out = np.asarray(jaxloss.multilabel_soft_margin_loss(x, y, reduction="none"))
        assert np.all(out >= 0) and np.all(np.isfinite(out))
        flipped = jaxloss.multilabel_soft_margin_loss(-x, 1 - y, reduction="none")
        np.testing.assert_allclose(flipped, out, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------
# multilabel_margin_loss


def _target_lists(labels):
    """The target classes of each example: its labels up to the first -1 (PyTorch)."""
    out = []
    for row in labels:
        targets = []
        for v in row:
            if v == -1:
                break
            targets.append(int(v))
        out.append(targets)
    return out


def ref_multilabel_margin(x, labels, axis=-1):
    """Values and gradients w.r.t. the scores, in float64, from the formula: the sum over
    listed targets j (with repeats) and non-target classes i of max(0, 1 - x_j + x_i) / C.
    NaN for an example with a listed label outside [0, C)."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    labels = np.moveaxis(np.asarray(labels), axis, -1)
    num_classes = x.shape[-1]
    values = np.zeros(x.shape[:-1])
    grads = np.zeros(x.shape)
    for idx in np.ndindex(values.shape):
        (targets,) = _target_lists(labels[idx][None])
        if any(not 0 <= t < num_classes for t in targets):
            values[idx] = np.nan
            continue
        others = [i for i in range(num_classes) if i not in targets]
        for j in targets:
            for i in others:
                hinge = 1.0 - x[idx][j] + x[idx][i]
                if hinge > 0:
                    values[idx] += hinge / num_classes
                    grads[idx][j] -= 1.0 / num_classes
                    grads[idx][i] += 1.0 / num_classes
    return values, np.moveaxis(grads, -1, axis)


def _multilabel_targets(seed, batch=(6,), num_classes=5, scale=1.5):
    """Scores away from the kinks and padded targets: 0 to C targets per example, -1, then
    ignored entries (the first examples: none, all, a repeat, targets after a -1)."""
    rng = np.random.default_rng(seed)
    x = (scale * rng.normal(size=batch + (num_classes,))).astype(np.float32)
    y = rng.integers(-1, num_classes, size=batch + (num_classes,)).astype(np.int32)
    flat = y.reshape(-1, num_classes)
    for n, row in enumerate(flat):
        k = [0, num_classes, 3, 1][n] if n < 4 else int(rng.integers(0, num_classes + 1))
        row[:k] = rng.permutation(num_classes)[:k]
        if k < num_classes:
            row[k] = -1
    flat[2, 1] = flat[2, 0]  # a repeated target counts twice
    # away from the kinks 1 - x_j + x_i = 0 (finite differences, subgradients)
    gaps = x[..., :, None] - x[..., None, :]
    assert np.all(np.abs(np.abs(gaps) - 1) > 1e-2), "draw again: a pair sits on a kink"
    return x, y


def _mlm(reduction="none", **kw):
    return jax.jit(lambda x, y: jaxloss.multilabel_margin_loss(x, y, reduction=reduction, **kw))


_mlm_none = _mlm()  # one compiled program per input shape, shared by the tests


class TestMultilabelMarginLoss:
    def test_values_and_gradients_match_reference(self):
        with jax.enable_x64(True):
            x, y = _multilabel_targets(50)
            x = x.astype(np.float64)
            values, grads = ref_multilabel_margin(x, y)

            @jax.jit
            def program(x, g):
                out, vjp = jax.vjp(
                    lambda a: jaxloss.multilabel_margin_loss(a, y, reduction="none"), x
                )
                return out, vjp(g)[0], jax.grad(lambda a: jaxloss.multilabel_margin_loss(a, y))(x)

            g = np.random.default_rng(51).normal(size=values.shape)
            out, vjp, grad_mean = program(x, g)
            assert out.dtype == jnp.float64 and out.shape == (6,)
            np.testing.assert_allclose(out, values, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(vjp, g[:, None] * grads, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(grad_mean, grads / len(values), rtol=1e-12, atol=1e-14)
            assert values[0] == 0.0 and values[1] == 0.0  # no target; every class a target
            check_grads(
                lambda a: jaxloss.multilabel_margin_loss(a, y), (x,), order=1, modes=["rev"]
            )

    def test_pytorch_documented_example_and_padding(self):
        # torch.nn.MultiLabelMarginLoss's documentation: scores [0.1, 0.2, 0.4, 0.8] with
        # targets [3, 0, -1, 1] (3 and 0) give 0.85; whatever follows the -1 is ignored.
        x = np.array([[0.1, 0.2, 0.4, 0.8]] * 4, np.float32)
        y = np.array([[3, 0, -1, 1], [3, 0, -1, -1], [3, 0, -1, 7], [3, 0, -1, -5]], np.int32)
        out = _mlm_none(x, y)
        np.testing.assert_allclose(out, np.full(4, 0.85), rtol=1e-6)

    def test_reductions_axis_and_leading_axes(self):
        x, y = _multilabel_targets(52, batch=(2, 3))
        values, _ = ref_multilabel_margin(x, y)
        f = jax.jit(
            lambda x, y, xa, ya: {
                r: (
                    jaxloss.multilabel_margin_loss(x, y, reduction=r),
                    jaxloss.multilabel_margin_loss(xa, ya, axis=1, reduction=r),
                )
                for r in ("none", "mean", "sum")
            }
        )
        out = f(x, y, np.moveaxis(x, -1, 1), np.moveaxis(y, -1, 1))
        for r, expected in (("none", values), ("mean", values.mean()), ("sum", values.sum())):
            for got in out[r]:
                np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=r)

    def test_where_and_weights(self):
        x, y = _multilabel_targets(53)
        values, _ = ref_multilabel_margin(x, y)
        where = np.array([1, 0, 1, 1, 0, 1], bool)
        w = np.linspace(0.5, 2.0, 6).astype(np.float32)
        bad_x = x.copy()
        bad_x[1] = np.nan
        bad_y = y.copy()
        bad_y[4, 0] = 99  # an invalid label in a masked example: neither NaN nor an error
        f = jax.jit(
            jax.value_and_grad(
                lambda a: jaxloss.multilabel_margin_loss(a, bad_y, where=where, weights=w)
            )
        )
        value, g = f(bad_x)
        expected = np.sum((w * values)[where]) / np.sum(w[where])
        np.testing.assert_allclose(value, expected, rtol=1e-5)
        assert np.all(np.isfinite(g)) and np.all(np.asarray(g)[~where] == 0)
        jaxloss.checked(jaxloss.multilabel_margin_loss)(bad_x, bad_y, where=where)  # no error

    def test_infinite_scores(self):
        # A -inf non-target or a +inf target contributes 0 with zero gradient.
        x = jnp.array([[2.0, -jnp.inf, 0.0], [jnp.inf, 0.5, 0.0]])
        y = jnp.array([[0, 2, -1], [0, -1, 1]])
        f = jax.jit(jax.value_and_grad(lambda a: jaxloss.multilabel_margin_loss(a, y)))
        value, g = f(x)
        assert float(value) == 0.0
        np.testing.assert_array_equal(g, np.zeros((2, 3)))

    def test_labels_outside_the_classes_give_nan_and_checked_names_them(self):
        x, _ = _multilabel_targets(54, batch=(3,))
        y = np.array([[0, 5, -1, 1, 2], [1, -1, 0, 0, 0], [-2, 0, 1, 2, 3]], np.int32)
        out = np.asarray(_mlm_none(x, y))
        assert np.isnan(out[0]) and np.isfinite(out[1]) and np.isnan(out[2])
        with pytest.raises(checkify.JaxRuntimeError, match=r"at position \[0 1\]: 5"):
            jaxloss.checked(jaxloss.multilabel_margin_loss)(x, y)
        with pytest.raises(checkify.JaxRuntimeError, match=r"at position \[0 2\]: -2"):
            jaxloss.checked(jaxloss.multilabel_margin_loss)(np.moveaxis(x, -1, 0), y.T, axis=0)

    @given(
        x=hnp.arrays(np.float32, (3, 4), elements=st.floats(-50, 50, width=32)),
        y=hnp.arrays(np.int32, (3, 4), elements=st.integers(-1, 3)),
        shift=st.floats(-20, 20, width=32),
    )
    def test_non_negative_and_shift_invariant(self, x, y, shift):
        check_shift_invariant(_mlm_none, x, y, shift)

    def test_errors(self):
        x, y = _multilabel_targets(55)
        with pytest.raises(
            ValueError,
            match=r"multilabel_margin_loss: arguments 'scores' and 'labels' must have the same "
            r"shape, got scores.shape=\(6, 5\) and labels.shape=\(6, 4\)",
        ):
            jaxloss.multilabel_margin_loss(x, y[:, :4])
        with pytest.raises(TypeError, match=r"multilabel_margin_loss: argument 'labels'.*integer"):
            jaxloss.multilabel_margin_loss(x, y.astype(np.float32))
        with pytest.raises(ValueError, match=r"multilabel_margin_loss: argument 'axis'=2"):
            jaxloss.multilabel_margin_loss(x, y, axis=2)
