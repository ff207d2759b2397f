"""Softmax cross-entropy family: references, optax parity, gradients, options, errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jaxloss
from tests.grads import check_grads
from tests.references import ref_log_softmax

RNG = np.random.default_rng(20261128)


# -- independent float64 references ----------------------------------------


def ref_softmax_ce(x, y, axis=-1, ls=0.0, cw=None, temperature=1.0):
    x = np.asarray(x, np.float64) / temperature
    y = np.asarray(y, np.float64)
    c = x.shape[axis]
    y = (1 - ls) * y + ls / c
    if cw is not None:
        shape = [1] * x.ndim
        shape[axis] = c
        y = y * np.reshape(cw, shape)
    logp = ref_log_softmax(x, axis)
    return -np.sum(np.where(y == 0, 0.0, y * logp), axis=axis)


def ref_int_ce(x, labels, ls=0.0, cw=None, z=0.0, ignore_index=None):
    """PyTorch's definition, written out per example; returns (none_values, mean)."""
    x = np.asarray(x, np.float64)
    n, c = x.shape
    cw = np.ones(c) if cw is None else np.asarray(cw, np.float64)
    vals, dens = [], []
    for i in range(n):
        if ignore_index is not None and labels[i] == ignore_index:
            vals.append(0.0)
            dens.append(0.0)
            continue
        logp = ref_log_softmax(x[i])
        lse = np.log(np.sum(np.exp(x[i])))
        v = -(1 - ls) * cw[labels[i]] * logp[labels[i]] - ls / c * np.sum(cw * logp)
        vals.append(v + z * lse**2)
        dens.append(cw[labels[i]])
    vals = np.array(vals)
    return vals, vals.sum() / np.sum(dens)


def ref_categorical_ce(p, y, eps=1e-7, axis=-1):
    p = np.clip(np.asarray(p, np.float64), eps, 1.0)
    return -np.sum(np.asarray(y, np.float64) * np.log(p), axis=axis)


def _logits(shape, scale=2.0):
    return (scale * RNG.normal(size=shape)).astype(np.float32)


def _probs(shape, axis=-1):
    p = RNG.uniform(0.05, 1.0, size=shape)
    return (p / p.sum(axis, keepdims=True)).astype(np.float32)


# -- softmax_cross_entropy -------------------------------------------------


class TestSoftmaxCrossEntropy:
    f = staticmethod(jaxloss.softmax_cross_entropy)

    @pytest.mark.parametrize("jit", [False, True])
    def test_matches_reference_and_optax(self, jit):
        x, y = _logits((6, 7)), _probs((6, 7))
        f = (
            jax.jit(lambda a, b: self.f(a, b, reduction="none"))
            if jit
            else (lambda a, b: self.f(a, b, reduction="none"))
        )
        np.testing.assert_allclose(f(x, y), ref_softmax_ce(x, y), rtol=1e-5)
        np.testing.assert_allclose(f(x, y), optax.losses.softmax_cross_entropy(x, y), rtol=1e-6)
        np.testing.assert_allclose(self.f(x, y), ref_softmax_ce(x, y).mean(), rtol=1e-5)

    def test_kaun_example(self):
        # Kaun's documented example: mean over the batch of -sum y log softmax(x).
        x = np.array([[2.0, 1.0, 0.1], [0.5, 1.5, 2.1]], np.float32)
        y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
        expected = np.mean([-ref_log_softmax(x[0])[0], -ref_log_softmax(x[1])[2]])
        np.testing.assert_allclose(self.f(x, y), expected, rtol=1e-6)

    @pytest.mark.parametrize("axis", [0, 1, -1])
    def test_axis_matches_moveaxis(self, axis):
        x, y = _logits((4, 5, 6)), _probs((4, 5, 6), axis=axis)
        got = self.f(x, y, axis=axis, reduction="none")
        want = ref_softmax_ce(np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1))
        np.testing.assert_allclose(got, want, rtol=1e-5)

    def test_options(self):
        x, y = _logits((5, 4)), _probs((5, 4))
        cw = np.array([1.0, 2.0, 0.5, 3.0], np.float32)
        got = self.f(x, y, label_smoothing=0.2, class_weights=cw, temperature=1.7, reduction="none")
        want = ref_softmax_ce(x, y, ls=0.2, cw=cw, temperature=1.7)
        np.testing.assert_allclose(got, want, rtol=1e-5)
        # optax's label smoothing helper composes to the same thing.
        smoothed = optax.smooth_labels(y, 0.2)
        np.testing.assert_allclose(
            self.f(x, y, label_smoothing=0.2, reduction="none"),
            optax.losses.softmax_cross_entropy(x, smoothed),
            rtol=1e-5,
        )

    def test_class_mask_matches_optax_where(self):
        x, y = _logits((4, 6)), np.eye(6, dtype=np.float32)[[0, 2, 3, 5]]
        cmask = np.ones((4, 6), bool)
        cmask[:, 1] = False
        got = self.f(x, y, where=cmask, reduction="none")
        want = optax.losses.softmax_cross_entropy(x, y, where=cmask)
        np.testing.assert_allclose(got, want, rtol=1e-6)
        kept = ref_softmax_ce(x[:, [0, 2, 3, 4, 5]], y[:, [0, 2, 3, 4, 5]])
        np.testing.assert_allclose(got, kept, rtol=1e-5)

    def test_gradients(self):
        x, y = _logits((3, 5)).astype(np.float64), _probs((3, 5)).astype(np.float64)
        with jax.enable_x64(True):
            check_grads(
                lambda a: self.f(a, y, label_smoothing=0.1),
                (x,),
                order=2,
                modes=["fwd", "rev"],
                eps=1e-4,
            )
            check_grads(lambda b: self.f(x, b), (y,), order=1, modes=["rev"], eps=1e-4)
            check_grads(lambda t: self.f(x, y, temperature=t), (1.3,), order=1, eps=1e-4)

    def test_masked_neg_inf_logit_with_zero_label(self):
        # Finite value equal to the reference, finite grad and tangent.
        x = np.array([[1.0, -np.inf, 0.5, 2.0]], np.float32)
        y = np.array([[0.2, 0.0, 0.3, 0.5]], np.float32)
        value = self.f(x, y)
        finite = ref_softmax_ce(x[:, [0, 2, 3]], y[:, [0, 2, 3]])
        np.testing.assert_allclose(value, finite[0], rtol=1e-6)
        g = jax.grad(self.f)(jnp.asarray(x), y)
        assert np.all(np.isfinite(g)) and g[0, 1] == 0
        _, tangent = jax.jvp(lambda a: self.f(a, y), (jnp.asarray(x),), (jnp.ones_like(x),))
        assert np.isfinite(tangent)

    def test_all_neg_inf_row_gives_zero(self):
        x = np.array([[-np.inf] * 3, [1.0, 2.0, 3.0]], np.float32)
        y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
        out = self.f(x, y, reduction="none")
        assert out[0] == 0 and np.isfinite(out[1])
        g = jax.grad(lambda a: self.f(a, y, reduction="sum"))(jnp.asarray(x))
        assert np.all(g[0] == 0) and np.all(np.isfinite(g))

    def test_errors(self):
        x = np.zeros((2, 3), np.float32)
        with pytest.raises(
            ValueError,
            match=r"softmax_cross_entropy: arguments 'logits' and "
            r"'labels' must have the same shape.*\(2, 3\).*\(2, 4\)",
        ):
            self.f(x, np.zeros((2, 4), np.float32))
        with pytest.raises(TypeError, match="argument 'logits' must have a floating dtype"):
            self.f(np.zeros((2, 3), np.int32), x)
        with pytest.raises(ValueError, match=r"'label_smoothing' must be in \[0.0, 1.0\)"):
            self.f(x, x, label_smoothing=1.0)
        with pytest.raises(ValueError, match=r"'temperature' must be > 0.0, got 0.0"):
            self.f(x, x, temperature=0.0)
        with pytest.raises(ValueError, match=r"'class_weights' must have shape \(3,\)"):
            self.f(x, x, class_weights=np.ones(4))
        with pytest.raises(ValueError, match="'axis'=2 is out of range"):
            self.f(x, x, axis=2)

    @given(st.floats(-50, 50), st.integers(0, 2**31 - 1))
    def test_shift_invariance(self, shift, seed):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(3, 5)).astype(np.float32)
        p = rng.uniform(0.01, 1, size=(3, 5))
        y = (p / p.sum(-1, keepdims=True)).astype(np.float32)
        np.testing.assert_allclose(
            self.f(x + np.float32(shift), y), self.f(x, y), rtol=1e-4, atol=1e-4
        )

    @given(st.integers(0, 2**31 - 1))
    def test_non_negative_and_sum_is_mean_times_count(self, seed):
        rng = np.random.default_rng(seed)
        x = (5 * rng.normal(size=(4, 6))).astype(np.float32)
        y = rng.dirichlet(np.ones(6), size=4).astype(np.float32)
        none = self.f(x, y, reduction="none")
        assert np.all(np.asarray(none) >= 0)
        np.testing.assert_allclose(self.f(x, y, reduction="sum"), 4 * self.f(x, y), rtol=1e-5)


# -- integer labels ----------------------------------------------------------


class TestIntegerLabels:
    f = staticmethod(jaxloss.softmax_cross_entropy_with_integer_labels)

    @pytest.mark.parametrize("jit", [False, True])
    def test_matches_reference_and_optax(self, jit):
        x, labels = _logits((8, 11)), RNG.integers(0, 11, 8).astype(np.int32)
        f = lambda a, b: self.f(a, b, reduction="none")
        f = jax.jit(f) if jit else f
        np.testing.assert_allclose(f(x, labels), ref_int_ce(x, labels)[0], rtol=1e-5)
        np.testing.assert_allclose(
            f(x, labels),
            optax.losses.softmax_cross_entropy_with_integer_labels(x, labels),
            rtol=1e-6,
        )

    def test_sparse_aliases(self):
        assert jaxloss.sparse_softmax_cross_entropy is self.f
        assert jaxloss.get("sparse_softmax_cross_entropy").name == (
            "softmax_cross_entropy_with_integer_labels"
        )

    @pytest.mark.parametrize(
        "opts",
        [
            dict(label_smoothing=0.1),
            dict(class_weights=[0.5, 1.0, 2.0, 3.0, 0.25]),
            dict(label_smoothing=0.3, class_weights=[0.5, 1.0, 2.0, 3.0, 0.25]),
            dict(z_loss=1e-2),
            dict(ignore_index=-100),
            dict(
                ignore_index=2,
                label_smoothing=0.2,
                z_loss=1e-3,
                class_weights=[1.0, 2.0, 3.0, 4.0, 5.0],
            ),
        ],
    )
    def test_options_match_pytorch_definition(self, opts):
        x = _logits((9, 5))
        labels = RNG.integers(0, 5, 9).astype(np.int32)
        labels[[1, 4]] = opts.get("ignore_index", labels[1])
        ref_opts = dict(
            ls=opts.get("label_smoothing", 0.0),
            cw=opts.get("class_weights"),
            z=opts.get("z_loss", 0.0),
            ignore_index=opts.get("ignore_index"),
        )
        none, mean = ref_int_ce(x, labels, **ref_opts)
        np.testing.assert_allclose(
            self.f(x, labels, **opts, reduction="none"), none, rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(self.f(x, labels, **opts), mean, rtol=1e-5)

    def test_smoothing_matches_one_hot_version(self):
        x, labels = _logits((6, 7)), RNG.integers(0, 7, 6).astype(np.int32)
        onehot = np.eye(7, dtype=np.float32)[labels]
        np.testing.assert_allclose(
            self.f(x, labels, label_smoothing=0.15, reduction="none"),
            jaxloss.softmax_cross_entropy(x, onehot, label_smoothing=0.15, reduction="none"),
            rtol=1e-5,
        )

    @pytest.mark.parametrize("axis", [0, 1])
    def test_axis(self, axis):
        x = _logits((5, 6, 3))
        moved = np.moveaxis(x, axis, -1)
        labels = RNG.integers(0, x.shape[axis], moved.shape[:-1]).astype(np.int32)
        got = self.f(x, labels, axis=axis, reduction="none")
        want = ref_int_ce(moved.reshape(-1, x.shape[axis]), labels.ravel())[0]
        np.testing.assert_allclose(got, want.reshape(labels.shape), rtol=1e-5)

    @pytest.mark.parametrize(
        "opts",
        [
            dict(),
            dict(label_smoothing=0.2, z_loss=0.05),
            dict(class_weights=np.array([1.0, 2.0, 0.5, 1.5]), label_smoothing=0.1, ignore_index=3),
        ],
    )
    def test_gradients(self, opts):
        with jax.enable_x64(True):
            x = _logits((5, 4)).astype(np.float64)
            labels = np.array([0, 1, 3, 2, 1])
            check_grads(lambda a: self.f(a, labels, **opts), (x,), order=2, modes=["rev"], eps=1e-4)
            # Gradients of the traced hyperparameters (at these values) and of the class weights.
            at = {"label_smoothing": 0.2, "z_loss": 0.05} if "label_smoothing" in opts else {}
            if "class_weights" in opts:
                at["class_weights"] = opts["class_weights"]
            for key, value in at.items():
                check_grads(
                    lambda v, key=key: self.f(x, labels, **{**opts, key: v}),
                    (value,),
                    order=1,
                    modes=["rev"],
                    eps=1e-4,
                )

    def test_hyperparameters_are_traced_without_retracing(self):
        traces = []

        @jax.jit
        def f(x, labels, ls, z):
            traces.append(1)
            return self.f(x, labels, label_smoothing=ls, z_loss=z)

        x, labels = _logits((4, 5)), np.array([0, 1, 2, 3])
        a = f(x, labels, 0.1, 0.01)
        b = f(x, labels, 0.2, 0.02)
        assert len(traces) == 1 and a != b
        per_ls = jax.vmap(lambda s: self.f(x, labels, label_smoothing=s))(jnp.array([0.1, 0.2]))
        np.testing.assert_allclose(per_ls[0], self.f(x, labels, label_smoothing=0.1), rtol=1e-6)

    def test_out_of_range_labels_give_nan_not_wrap(self):
        x = _logits((4, 3))
        out = self.f(x, np.array([0, -1, 3, 2]), reduction="none")
        assert np.isnan(out[1]) and np.isnan(out[2])
        assert np.isfinite(out[0]) and np.isfinite(out[3])
        assert np.isnan(self.f(x, np.array([0, -1, 2, 2])))

    def test_checked_names_the_position(self):
        x = _logits((2, 3, 4))
        labels = np.array([[0, 1, 2], [3, 4, 1]])
        checked = jaxloss.checked(self.f)
        with pytest.raises(Exception, match=r"out of range \[0, 4\) at position \[1 1\]: 4"):
            checked(x, labels)
        ok = checked(x, np.array([[0, 1, 2], [3, 0, 1]]), reduction="sum")
        np.testing.assert_allclose(
            ok, self.f(x, np.array([[0, 1, 2], [3, 0, 1]]), reduction="sum"), rtol=1e-6
        )
        # ignore_index is not an error.
        checked(x, np.array([[0, 1, 2], [3, -100, 1]]), ignore_index=-100)

    def test_ignore_index_excluded_from_mean(self):
        x, labels = _logits((5, 4)), np.array([0, -100, 3, -100, 1])
        keep = labels != -100
        np.testing.assert_allclose(
            self.f(x, labels, ignore_index=-100), ref_int_ce(x[keep], labels[keep])[1], rtol=1e-5
        )
        g = jax.grad(lambda a: self.f(a, labels, ignore_index=-100))(jnp.asarray(x))
        assert np.all(g[~keep] == 0)

    def test_class_mask_hiding_true_class_is_not_negative(self):
        x, labels = _logits((3, 4)), np.array([1, 2, 0])
        cmask = np.ones((3, 4), bool)
        cmask[0, 1] = False  # hides the true class of example 0
        cmask[1, 0] = False
        out = self.f(x, labels, where=cmask, reduction="none")
        assert np.all(np.asarray(out) >= 0)
        assert out[0] == 0
        want1 = ref_int_ce(x[1:2, [1, 2, 3]], np.array([1]))[0][0]
        np.testing.assert_allclose(out[1], want1, rtol=1e-5)
        np.testing.assert_allclose(
            out,
            optax.losses.softmax_cross_entropy_with_integer_labels(x, labels, where=cmask)
            * np.array([0, 1, 1]),
            rtol=1e-5,
        )
        np.testing.assert_allclose(self.f(x, labels, where=cmask), out[1:].mean(), rtol=1e-6)

    def test_all_neg_inf_row(self):
        x = _logits((3, 4))
        x[1] = -np.inf
        out = self.f(x, np.array([0, 1, 2]), reduction="none")
        assert out[1] == 0 and np.all(np.isfinite(out))
        g = jax.grad(lambda a: self.f(a, np.array([0, 1, 2])))(jnp.asarray(x))
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0)

    def test_errors(self):
        x = np.zeros((2, 3), np.float32)
        with pytest.raises(TypeError, match="argument 'labels' must have an integer dtype"):
            self.f(x, np.zeros((2,), np.float32))
        with pytest.raises(
            ValueError,
            match=r"'labels' must have the shape of 'logits' "
            r"without axis 1.*\(2, 3\).*\(3,\)",
        ):
            self.f(x, np.zeros((3,), np.int32))
        with pytest.raises(ValueError, match=r"'z_loss' must be >= 0.0, got -1.0"):
            self.f(x, np.zeros((2,), np.int32), z_loss=-1.0)
        with pytest.raises(TypeError, match="'ignore_index' must be a Python int"):
            self.f(x, np.zeros((2,), np.int32), ignore_index=1.5)

    @given(st.floats(-30, 30), st.integers(0, 2**31 - 1))
    def test_shift_invariance(self, shift, seed):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(4, 6)).astype(np.float32)
        labels = rng.integers(0, 6, 4)
        np.testing.assert_allclose(
            self.f(x + np.float32(shift), labels, label_smoothing=0.1),
            self.f(x, labels, label_smoothing=0.1),
            rtol=1e-4,
            atol=1e-4,
        )


# -- categorical_cross_entropy ---------------------------------------------


class TestCategoricalCrossEntropy:
    f = staticmethod(jaxloss.categorical_cross_entropy)

    def test_axon_examples(self):
        # Axon's documented values for categorical_cross_entropy.
        p = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], np.float32)
        y = np.array([[0, 1, 0], [0, 0, 1]], np.float32)
        np.testing.assert_allclose(
            self.f(p, y, reduction="none"), [0.051293306052684784, 2.3025851249694824], rtol=1e-6
        )
        np.testing.assert_allclose(self.f(p, y), 1.1769392490386963, rtol=1e-6)
        np.testing.assert_allclose(
            self.f(p, np.array([1, 2]), reduction="sum"), 2.3538784980773926, rtol=1e-6
        )

    def test_reference_and_softmax_equivalence(self):
        x, y = _logits((5, 6)), _probs((5, 6))
        p = np.asarray(jax.nn.softmax(x))
        np.testing.assert_allclose(
            self.f(p, y, reduction="none"), ref_categorical_ce(p, y), rtol=1e-5
        )
        np.testing.assert_allclose(
            self.f(p, y, reduction="none"),
            jaxloss.softmax_cross_entropy(x, y, reduction="none"),
            rtol=1e-4,
        )

    def test_zero_probability_is_finite(self):
        p = np.array([[0.0, 1.0]], np.float32)
        y = np.array([[1.0, 0.0]], np.float32)
        value = self.f(p, y)
        np.testing.assert_allclose(value, -np.log(1e-7), rtol=1e-5)
        assert np.all(np.isfinite(jax.grad(self.f)(jnp.asarray(p), y)))

    def test_class_weights_and_gradients(self):
        with jax.enable_x64(True):
            p = _probs((4, 3)).astype(np.float64)
            y = _probs((4, 3)).astype(np.float64)
            cw = np.array([1.0, 2.0, 3.0])
            np.testing.assert_allclose(
                self.f(p, y, class_weights=cw, reduction="none"),
                -np.sum(cw * y * np.log(p), -1),
                rtol=1e-10,
            )
            check_grads(
                lambda a: self.f(a, y, class_weights=cw),
                (p,),
                order=2,
                modes=["fwd", "rev"],
                eps=1e-6,
            )

    def test_integer_labels_out_of_range_are_nan(self):
        p = _probs((2, 3))
        out = self.f(p, np.array([0, 5]), reduction="none")
        assert np.isfinite(out[0]) and np.isnan(out[1])

    def test_errors(self):
        p = _probs((2, 3))
        with pytest.raises(ValueError, match=r"'epsilon' must be in \[0.0, 1.0\)"):
            self.f(p, p, epsilon=1.0)
        with pytest.raises(ValueError, match="'probabilities' and 'labels' must have the same"):
            self.f(p, p[:, :2])
        with pytest.raises(ValueError, match="'labels' must have the shape of 'probabilities'"):
            self.f(p, np.array([0, 1, 2]))


# -- -inf logits: safe_softmax_cross_entropy is softmax_cross_entropy ---------


class TestSafeSoftmaxCrossEntropy:
    """optax's ``safe_softmax_cross_entropy`` takes ``0 log 0 = 0`` at ``-inf`` logits;
    ``softmax_cross_entropy`` already does, so the name is an alias of it."""

    # Rows: finite; a -inf logit of label 0; two of them; a single finite logit; a -inf
    # logit under a positive label (+inf); all -inf (optax NaN, jaxloss 0).
    X = np.array(
        [
            [1.5, -0.5, 0.25, 2.0],
            [0.3, -np.inf, 1.2, -0.7],
            [-np.inf, 2.5, -np.inf, 0.5],
            [-np.inf, -np.inf, 0.75, -np.inf],
            [-np.inf, 0.0, 1.0, 0.0],
            [-np.inf, -np.inf, -np.inf, -np.inf],
        ],
        np.float32,
    )
    Y = np.array(
        [
            [0.1, 0.2, 0.3, 0.4],
            [0.25, 0.0, 0.5, 0.25],
            [0.0, 0.6, 0.0, 0.4],
            [0.0, 0.0, 1.0, 0.0],
            [0.2, 0.3, 0.3, 0.2],
            [0.0, 1.0, 0.0, 0.0],
        ],
        np.float32,
    )

    def test_alias(self):
        assert jaxloss.safe_softmax_cross_entropy is jaxloss.softmax_cross_entropy
        assert jaxloss.get("safe_softmax_cross_entropy").name == "softmax_cross_entropy"

    def test_matches_optax_safe_at_neg_inf_logits(self):
        g = np.random.default_rng(3).normal(size=4).astype(np.float32)
        ours_fn = functools.partial(jaxloss.safe_softmax_cross_entropy, reduction="none")
        theirs_fn = optax.losses.safe_softmax_cross_entropy

        @jax.jit
        def program(x, y):
            # VJPs on the rows whose value is finite (the first four)
            def vjp(fn):
                return jax.grad(lambda a, b: jnp.sum(g * fn(a[:4], b[:4])), argnums=(0, 1))(x, y)

            plain = optax.losses.softmax_cross_entropy(x, y)
            return ours_fn(x, y), theirs_fn(x, y), plain, vjp(ours_fn), vjp(theirs_fn)

        ours, theirs, plain, (gx, gy), (tgx, tgy) = program(self.X, self.Y)
        finite = np.isfinite(self.X)
        for i in range(4):  # reference: the finite logits only (0 log 0 = 0 for the others)
            keep = finite[i]
            want = -np.sum(self.Y[i, keep] * ref_log_softmax(self.X[i, keep]))
            np.testing.assert_allclose(ours[i], want, rtol=1e-6)
        np.testing.assert_allclose(ours[:5], theirs[:5], rtol=1e-6)
        assert ours[4] == np.inf
        # optax's plain softmax_cross_entropy is NaN wherever a -inf logit has label 0.
        assert np.all(np.isnan(plain[1:4]))
        # Documented difference: a row of only -inf logits is NaN in optax, 0 here.
        assert np.isnan(theirs[5]) and ours[5] == 0
        np.testing.assert_allclose(gx, tgx, rtol=1e-5, atol=1e-7)
        # Label gradients: -log p where the logit is finite, in both. At a -inf logit
        # optax's is infinite, jaxloss's the row's log-sum-exp shifted by its max (finite;
        # documented in the registry notes).
        f4 = finite[:4]
        np.testing.assert_allclose(np.asarray(gy)[:4][f4], np.asarray(tgy)[:4][f4], rtol=1e-5)
        assert np.all(np.isinf(np.asarray(tgy)[:4][~f4]))
        for i in range(4):
            x_i = self.X[i, finite[i]].astype(np.float64)
            lse = np.log(np.sum(np.exp(x_i - x_i.max())))
            np.testing.assert_allclose(gy[i, ~finite[i]], g[i] * lse, rtol=1e-5, atol=1e-7)


# -- several class axes (optax's tuple axis) ---------------------------------


def _merge(a, axes):
    """``a`` with ``axes`` moved last in their order and merged into one (NumPy)."""
    axes = tuple(ax % a.ndim for ax in axes)
    batch = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, batch + list(axes))
    return moved.reshape(moved.shape[: len(batch)] + (-1,))


AXES = ((1, 3), (3, 0, 2), (-2, -1))


class TestTupleAxis:
    def test_softmax_cross_entropy(self):
        x = _logits((2, 3, 4, 2))
        y = RNG.uniform(0.05, 1.0, size=(len(AXES),) + x.shape).astype(np.float32)
        y = np.stack([b / np.sum(b, axis=ax, keepdims=True) for b, ax in zip(y, AXES)])
        cw = [RNG.uniform(0.5, 2.0, size=[x.shape[a] for a in ax]) for ax in AXES]
        cmask = RNG.uniform(size=x.shape) < 0.8
        emask = [RNG.uniform(size=_merge(x, ax).shape[:-1]) < 0.6 for ax in AXES]

        @jax.jit
        def program(a, b, w, m, e):
            out = []
            for k, ax in enumerate(AXES):
                f = functools.partial(jaxloss.softmax_cross_entropy, a, b[k], axis=ax)
                out.append(
                    dict(
                        plain=f(reduction="none"),
                        options=f(label_smoothing=0.2, class_weights=w[k], reduction="none"),
                        flat_weights=f(class_weights=w[k].reshape(-1), reduction="none"),
                        class_mask=f(where=m, reduction="none"),
                        example_mask=f(where=e[k], reduction="none"),
                        optax=optax.losses.softmax_cross_entropy(a, b[k], axis=ax),
                        optax_mask=optax.losses.softmax_cross_entropy(a, b[k], axis=ax, where=m),
                    )
                )
            return out

        for k, (ax, out) in enumerate(zip(AXES, program(x, y, cw, cmask, emask))):
            flat_x, flat_y, flat_w = _merge(x, ax), _merge(y[k], ax), cw[k].reshape(-1)
            np.testing.assert_allclose(out["plain"], ref_softmax_ce(flat_x, flat_y), rtol=1e-5)
            np.testing.assert_allclose(out["plain"], out["optax"], rtol=1e-5)
            want = ref_softmax_ce(flat_x, flat_y, ls=0.2, cw=flat_w)
            np.testing.assert_allclose(out["options"], want, rtol=1e-5)
            want = ref_softmax_ce(flat_x, flat_y, cw=flat_w)
            np.testing.assert_allclose(out["flat_weights"], want, rtol=1e-5)
            np.testing.assert_allclose(out["class_mask"], out["optax_mask"], rtol=1e-5)
            want = np.where(emask[k], out["plain"], 0)
            np.testing.assert_allclose(out["example_mask"], want, rtol=1e-6)

    def test_integer_labels(self):
        x = _logits((2, 3, 4, 2))
        labels, cws = [], []
        for ax in AXES:
            flat = _merge(x, ax)
            y = RNG.integers(0, flat.shape[-1], size=flat.shape[:-1]).astype(np.int32)
            y.reshape(-1)[1] = -100
            labels.append(y)
            cws.append(RNG.uniform(0.5, 2.0, size=flat.shape[-1]).astype(np.float32))

        @jax.jit
        def program(a, ys, ws):
            out = []
            for ax, y, cw in zip(AXES, ys, ws):
                f = functools.partial(jaxloss.softmax_cross_entropy_with_integer_labels, a, axis=ax)
                opts = dict(ignore_index=-100, label_smoothing=0.1, class_weights=cw)
                safe = jnp.maximum(y, 0)
                out.append(
                    (
                        f(safe, reduction="none"),
                        optax.losses.softmax_cross_entropy_with_integer_labels(a, safe, axis=ax),
                        f(y, reduction="none", **opts),
                        f(y, **opts),
                    )
                )
            return out

        results = program(x, labels, cws)
        for ax, y, cw, (plain, theirs, none, mean) in zip(AXES, labels, cws, results):
            np.testing.assert_allclose(plain, theirs, rtol=1e-5)
            flat = _merge(x, ax).reshape(-1, len(cw))
            ref = ref_int_ce(flat, y.ravel(), ls=0.1, cw=cw, ignore_index=-100)
            np.testing.assert_allclose(none, ref[0].reshape(y.shape), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(mean, ref[1], rtol=1e-5)

    def test_labels_are_flat_indices_in_the_tuple_order(self):
        # axis=(2, 1): the class at index i of axis 2 and j of axis 1 is i * shape[1] + j.
        x = _logits((2, 3, 4))
        i, j = np.array([3, 0]), np.array([1, 2])
        labels = np.ravel_multi_index((i, j), (4, 3))
        got = jaxloss.softmax_cross_entropy_with_integer_labels(
            x, labels, axis=(2, 1), reduction="none"
        )
        want = [-ref_log_softmax(x[n].ravel())[j[n] * 4 + i[n]] for n in range(2)]
        np.testing.assert_allclose(got, want, rtol=1e-5)

    def test_gradients(self):
        with jax.enable_x64(True):
            x = _logits((2, 3, 2)).astype(np.float64)
            y = _probs((2, 3, 2)).astype(np.float64)
            labels = np.array([3, 0])
            check_grads(
                lambda a, b: (
                    jaxloss.softmax_cross_entropy(a, b, axis=(2, 1), label_smoothing=0.1)
                    + jaxloss.softmax_cross_entropy_with_integer_labels(
                        a, labels, axis=(1, 2), label_smoothing=0.1
                    )
                ),
                (x, y),
                order=1,
                modes=["rev"],
                eps=1e-5,
            )

    def test_int_axis_has_no_transpose(self):
        # The int-axis program is unchanged: no transpose when the class axis is last, and
        # trailing class axes in order are merged by a reshape alone.
        x = jnp.zeros((4, 3, 5))
        labels = jnp.zeros((4,), jnp.int32)

        def program(fn, *args, **kw):
            return str(jax.make_jaxpr(lambda *a: fn(*a, **kw))(*args))

        sce = jaxloss.softmax_cross_entropy
        ice = jaxloss.softmax_cross_entropy_with_integer_labels
        assert "transpose" not in program(sce, x, x)
        assert "transpose" not in program(sce, x, x, axis=(1, 2))
        assert "transpose" not in program(ice, x, labels, axis=(-2, -1))
        assert "transpose" in program(ice, x, labels, axis=(2, 1))

    def test_axis_none_is_every_axis(self):
        x, y = _logits((3, 4)), _probs((12,)).reshape(3, 4)
        got = jaxloss.softmax_cross_entropy(x, y, axis=None, reduction="none")
        assert got.shape == ()
        np.testing.assert_allclose(got, ref_softmax_ce(x.ravel(), y.ravel()), rtol=1e-5)
        theirs = optax.losses.softmax_cross_entropy(x, y, axis=None)
        np.testing.assert_allclose(got, theirs, rtol=1e-5)

    def test_errors(self):
        x = np.zeros((2, 3, 4), np.float32)
        labels = np.zeros((2,), np.int32)
        sce = jaxloss.softmax_cross_entropy
        for fn in (sce, jaxloss.softmax_cross_entropy_with_integer_labels):
            name = fn.__name__
            second = x if fn is sce else labels
            with pytest.raises(
                ValueError, match=rf"^{name}: argument 'axis'=\(1, -2\) names an axis twice"
            ):
                fn(x, second, axis=(1, -2))
            with pytest.raises(
                ValueError, match=rf"^{name}: argument 'axis'=\(1, 3\) is out of range .*\[-3, 3\)"
            ):
                fn(x, second, axis=(1, 3))
            for bad, got in (([1, 2], "an array"), ((), r"\(\)"), (("a",), r"\('a',\)")):
                with pytest.raises(
                    TypeError,
                    match=rf"^{name}: argument 'axis' must be an int or a non-empty tuple of "
                    rf"distinct ints.*got {got}",
                ):
                    fn(x, second, axis=bad)
            with pytest.raises(
                ValueError, match=r"'class_weights' must have shape \(12,\) or \(3, 4\).*got \(3,\)"
            ):
                fn(x, second, axis=(1, 2), class_weights=np.ones(3))
        with pytest.raises(TypeError, match="or None"):
            sce(x, x, axis="all")
        with pytest.raises(
            ValueError,
            match=r"'labels' must have the shape of 'logits' without axes \(1, 2\), got "
            r"logits.shape=\(2, 3, 4\) and labels.shape=\(3,\)",
        ):
            jaxloss.softmax_cross_entropy_with_integer_labels(x, np.zeros(3, np.int32), axis=(1, 2))
        with pytest.raises(ValueError, match=r"'where' with shape \(3,\) must be broadcastable"):
            sce(x, x, axis=(1, 2), where=np.ones(3, bool))


# -- nll_loss ------------------------------------------------------------------


def ref_nll(lp, labels, axis=-1, cw=None, ignore_index=None):
    """PyTorch's nll_loss, per example: (none values, mean, gradient of the mean)."""
    lp = np.moveaxis(np.asarray(lp, np.float64), axis, -1)
    flat = lp.reshape(-1, lp.shape[-1])
    y = np.asarray(labels).ravel()
    cw = np.ones(flat.shape[-1]) if cw is None else np.asarray(cw, np.float64)
    vals, dens = np.zeros(len(y)), np.zeros(len(y))
    grad = np.zeros_like(flat)
    for i, c in enumerate(y):
        if ignore_index is not None and c == ignore_index:
            continue
        vals[i] = -cw[c] * flat[i, c]
        dens[i] = cw[c]
        grad[i, c] = -cw[c]
    mean = vals.sum() / dens.sum()
    grad = np.moveaxis((grad / dens.sum()).reshape(lp.shape), -1, axis)
    return vals.reshape(np.shape(labels)), mean, grad


class TestNllLoss:
    f = staticmethod(jaxloss.nll_loss)

    @pytest.mark.parametrize(
        "shape, axis, opts",
        [
            ((7, 5), -1, {}),
            ((7, 5), -1, {"class_weights": [0.5, 2.0, 1.0, 0.25, 1.5], "ignore_index": 3}),
            ((3, 5, 2, 2), 1, {"class_weights": [0.5, 2.0, 1.0, 0.25, 1.5], "ignore_index": -100}),
            ((4, 3, 5), 0, {"ignore_index": -1}),
        ],
    )
    def test_reference_values_and_gradients(self, shape, axis, opts):
        with jax.enable_x64(True):
            lp = ref_log_softmax(RNG.normal(size=shape) * 2, axis)
            label_shape = shape[: axis % len(shape)] + shape[axis % len(shape) + 1 :]
            labels = RNG.integers(0, shape[axis], size=label_shape)
            if "ignore_index" in opts:
                labels.reshape(-1)[[0, 3]] = opts["ignore_index"]
            kw = dict(opts, axis=axis)
            if "class_weights" in kw:
                kw["class_weights"] = np.asarray(kw["class_weights"])

            @jax.jit
            def program(a):
                mean, grad = jax.value_and_grad(lambda b: self.f(b, labels, **kw))(a)
                return (
                    self.f(a, labels, reduction="none", **kw),
                    self.f(a, labels, reduction="sum", **kw),
                    mean,
                    grad,
                )

            none, total, mean, grad = program(lp)
            want_none, want_mean, want_grad = ref_nll(
                lp, labels, axis, opts.get("class_weights"), opts.get("ignore_index")
            )
            np.testing.assert_allclose(none, want_none, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(total, want_none.sum(), rtol=1e-12)
            np.testing.assert_allclose(mean, want_mean, rtol=1e-12)
            np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-14)

    def test_of_log_softmax_is_the_integer_label_cross_entropy(self):
        x = _logits((6, 5))
        labels = np.array([0, 4, -100, 2, 1, -100])
        cw = np.array([0.5, 2.0, 1.0, 0.25, 1.5], np.float32)
        opts = dict(ignore_index=-100, class_weights=cw)
        for reduction in ("none", "mean", "sum"):
            np.testing.assert_allclose(
                self.f(jax.nn.log_softmax(x), labels, reduction=reduction, **opts),
                jaxloss.softmax_cross_entropy_with_integer_labels(
                    x, labels, reduction=reduction, **opts
                ),
                rtol=1e-5,
                atol=1e-6,
            )

    def test_gradient_check(self):
        with jax.enable_x64(True):
            lp = np.log(_probs((4, 3)).astype(np.float64))
            labels = np.array([0, 2, 1, 2])
            cw = np.array([1.0, 2.0, 0.5])
            check_grads(
                lambda a, w: self.f(a, labels, class_weights=w, ignore_index=1),
                (lp, cw),
                order=1,
                modes=["rev", "fwd"],
                eps=1e-6,
            )

    def test_ignored_and_masked_examples(self):
        lp = np.log(_probs((4, 3)))
        lp[1] = [np.nan, np.inf, -np.inf]  # an ignored example with non-finite inputs
        labels = np.array([0, -100, 2, 1])
        where = np.array([True, True, True, False])
        out = self.f(lp, labels, ignore_index=-100, where=where, reduction="none")
        np.testing.assert_allclose(out, [-lp[0, 0], 0.0, -lp[2, 2], 0.0], rtol=1e-6)
        g = jax.grad(lambda a: self.f(a, labels, ignore_index=-100, where=where))(jnp.asarray(lp))
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0) and np.all(g[3] == 0)
        np.testing.assert_allclose(g[0, 0], -0.5, rtol=1e-6)
        # every target ignored: 0 with zero gradient (PyTorch's 'mean' is NaN)
        all_ignored = np.full(4, -100)
        assert float(self.f(lp, all_ignored, ignore_index=-100)) == 0.0
        g = jax.grad(lambda a: self.f(a, all_ignored, ignore_index=-100))(jnp.asarray(lp))
        assert np.all(g == 0)

    def test_out_of_range_labels(self):
        lp = np.log(_probs((3, 4)))
        out = self.f(lp, np.array([0, 4, -1]), reduction="none")
        assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])
        checked = jaxloss.checked(self.f)
        with pytest.raises(
            Exception, match=r"nll_loss: label out of range \[0, 4\) at position \[1\]: 4"
        ):
            checked(lp, np.array([0, 4, 1]))
        checked(lp, np.array([0, -100, 1]), ignore_index=-100)  # not an error

    def test_alias_and_errors(self):
        assert jaxloss.negative_log_likelihood is self.f
        assert jaxloss.get("negative_log_likelihood").name == "nll_loss"
        lp = np.zeros((2, 3), np.float32)
        with pytest.raises(
            TypeError, match=r"^nll_loss: argument 'log_probabilities' must have a floating"
        ):
            self.f(np.zeros((2, 3), np.int32), np.zeros(2, np.int32))
        with pytest.raises(
            TypeError, match=r"^nll_loss: argument 'labels' must have an integer dtype"
        ):
            self.f(lp, np.zeros(2, np.float32))
        with pytest.raises(
            ValueError,
            match=r"^nll_loss: argument 'labels' must have the shape of 'log_probabilities' "
            r"without axis 1, got log_probabilities.shape=\(2, 3\) and labels.shape=\(3,\)",
        ):
            self.f(lp, np.zeros(3, np.int32))
        with pytest.raises(
            ValueError,
            match=r"^nll_loss: argument 'axis'=2 is out of range for 'log_probabilities'",
        ):
            self.f(lp, np.zeros(2, np.int32), axis=2)
        with pytest.raises(
            ValueError, match=r"^nll_loss: argument 'class_weights' must have shape \(3,\)"
        ):
            self.f(lp, np.zeros(2, np.int32), class_weights=np.ones(2))
        with pytest.raises(
            TypeError, match=r"^nll_loss: argument 'ignore_index' must be a Python int"
        ):
            self.f(lp, np.zeros(2, np.int32), ignore_index=True)


# -- categorical_cross_entropy: label smoothing, ignore_index ---------------------


def ref_categorical_options(p, labels, ls=0.0, cw=None, ignore_index=None, eps=1e-7):
    """Keras's smoothing, PyTorch's weighted mean; (none values, mean). ``labels``: integer
    class indices or soft labels over the last axis."""
    p = np.clip(np.asarray(p, np.float64), eps, 1.0)
    c = p.shape[-1]
    labels = np.asarray(labels)
    counted = np.ones(p.shape[0], bool)
    if labels.ndim == p.ndim - 1:
        if ignore_index is not None:
            counted = labels != ignore_index
        y = np.eye(c)[np.where(counted, labels, 0)] * counted[:, None]
    else:
        y = labels.astype(np.float64)
    weighted = cw is not None
    cw = np.asarray(cw, np.float64) if weighted else np.ones(c)
    smoothed = (1 - ls) * y + ls / c
    vals = np.where(counted, -np.sum(cw * smoothed * np.log(p), -1), 0.0)
    # 'mean': by the summed class weights of the unsmoothed targets (PyTorch) when weighted,
    # else by the number of counted examples
    return vals, vals.sum() / (np.sum(cw * y) if weighted else counted.sum())


class TestCategoricalCrossEntropyOptions:
    f = staticmethod(jaxloss.categorical_cross_entropy)
    CW = np.array([0.5, 2.0, 1.0, 0.25, 1.5])

    CONFIGS = (
        ("soft", dict(label_smoothing=0.2)),
        ("soft", dict(label_smoothing=0.1, class_weights=CW)),
        ("int", dict(label_smoothing=0.15)),
        ("int", dict(ignore_index=-100)),
        ("int", dict(label_smoothing=0.3, class_weights=CW, ignore_index=2)),
    )

    def test_reference_values_and_gradients(self):
        with jax.enable_x64(True):
            p = _probs((6, 5)).astype(np.float64)
            soft = _probs((6, 5)).astype(np.float64)
            hard = []
            for _, opts in self.CONFIGS:
                y = RNG.integers(0, 5, 6)
                y[[1, 4]] = opts.get("ignore_index", y[1])
                hard.append(y)

            def losses(a, b, reduction):
                return [
                    self.f(a, b if kind == "soft" else y, reduction=reduction, **opts)
                    for (kind, opts), y in zip(self.CONFIGS, hard)
                ]

            none, mean = jax.jit(lambda a, b: (losses(a, b, "none"), losses(a, b, "mean")))(p, soft)
            for k, (kind, opts) in enumerate(self.CONFIGS):
                want_none, want_mean = ref_categorical_options(
                    p,
                    soft if kind == "soft" else hard[k],
                    opts.get("label_smoothing", 0.0),
                    opts.get("class_weights"),
                    opts.get("ignore_index"),
                )
                np.testing.assert_allclose(none[k], want_none, rtol=1e-12, atol=1e-14)
                np.testing.assert_allclose(mean[k], want_mean, rtol=1e-12)
            # gradients w.r.t. the probabilities and the soft labels, finite differences:
            # a random combination of every configuration's "mean"
            c = RNG.normal(size=len(self.CONFIGS))
            check_grads(
                lambda a, b: sum(ck * v for ck, v in zip(c, losses(a, b, "mean"))),
                (p, soft),
                order=1,
                modes=["rev"],
                eps=1e-6,
            )

    def test_smoothed_one_hot_equals_smoothed_integer_labels(self):
        p, labels = _probs((5, 4)), np.array([0, 3, 1, 1, 2])
        onehot = np.eye(4, dtype=np.float32)[labels]
        for reduction in ("none", "mean"):
            np.testing.assert_allclose(
                self.f(p, labels, label_smoothing=0.2, reduction=reduction),
                self.f(p, onehot, label_smoothing=0.2, reduction=reduction),
                rtol=1e-6,
            )

    def test_axis_and_traced_label_smoothing(self):
        p = _probs((3, 4, 2), axis=1)
        labels = RNG.integers(0, 4, (3, 2))
        got = self.f(p, labels, axis=1, label_smoothing=0.1, reduction="none")
        want = ref_categorical_options(np.moveaxis(p, 1, -1).reshape(-1, 4), labels.ravel(), 0.1)
        np.testing.assert_allclose(got, want[0].reshape(3, 2), rtol=1e-5)
        per_ls = jax.vmap(lambda s: self.f(p, labels, axis=1, label_smoothing=s))(
            jnp.array([0.0, 0.1])
        )
        np.testing.assert_allclose(
            per_ls[1], self.f(p, labels, axis=1, label_smoothing=0.1), rtol=1e-6
        )
        np.testing.assert_allclose(per_ls[0], self.f(p, labels, axis=1), rtol=1e-6)

    def test_ignored_examples_get_zero_gradient(self):
        p = _probs((4, 3))
        p[2] = [np.nan, np.inf, 0.0]
        labels = np.array([0, 1, -100, 2])
        g = jax.grad(lambda a: self.f(a, labels, ignore_index=-100))(jnp.asarray(p))
        assert np.all(np.isfinite(g)) and np.all(g[2] == 0)
        checked = jaxloss.checked(self.f)
        checked(p, labels, ignore_index=-100)  # an ignored label is not an error

    def test_errors(self):
        p = _probs((2, 3))
        with pytest.raises(
            ValueError,
            match=r"^categorical_cross_entropy: argument 'ignore_index' needs integer class "
            r"indices as 'labels'",
        ):
            self.f(p, p, ignore_index=0)
        with pytest.raises(ValueError, match=r"'label_smoothing' must be in \[0.0, 1.0\), got 1.0"):
            self.f(p, np.array([0, 1]), label_smoothing=1.0)


# -- categorical_generalized_cross_entropy ----------------------------------------


def ref_gce(p, labels, q):
    """Zhang & Sabuncu's (1 - p_y^q) / q, or sum_c y_c (1 - p_c^q) / q for soft labels."""
    p = np.asarray(p, np.float64)
    labels = np.asarray(labels)
    if labels.ndim == p.ndim - 1:
        p_y = np.take_along_axis(p, labels[..., None], -1)[..., 0]
        return (1 - p_y**q) / q
    return np.sum(labels * (1 - p**q) / q, -1)


class TestGeneralizedCrossEntropy:
    f = staticmethod(jaxloss.categorical_generalized_cross_entropy)

    def test_reference_values_and_gradients(self):
        with jax.enable_x64(True):
            p = _probs((6, 4)).astype(np.float64)
            labels = RNG.integers(0, 4, 6)
            soft = _probs((6, 4)).astype(np.float64)
            qs = (0.3, 0.7, 1.0)

            @jax.jit
            def program(a, s):
                return [
                    (
                        self.f(a, labels, q=q, reduction="none"),
                        self.f(a, s, q=q, reduction="none"),
                        jax.grad(lambda b, q=q: self.f(b, labels, q=q, reduction="sum"))(a),
                    )
                    for q in qs
                ]

            rows = np.arange(6)
            for q, (none, soft_none, grad) in zip(qs, program(p, soft)):
                np.testing.assert_allclose(none, ref_gce(p, labels, q), rtol=1e-12)
                np.testing.assert_allclose(soft_none, ref_gce(p, soft, q), rtol=1e-12)
                # d/dp_y (1 - p_y^q) / q = -p_y^(q - 1)
                want = np.zeros_like(p)
                want[rows, labels] = -(p[rows, labels] ** (q - 1))
                np.testing.assert_allclose(grad, want, rtol=1e-12)
            # every floating input and q, finite differences
            check_grads(
                lambda a, s, e: self.f(a, s, q=e) + self.f(a, labels, q=e),
                (p, soft, 0.7),
                order=1,
                modes=["rev"],
                eps=1e-6,
            )

    def test_limits(self):
        with jax.enable_x64(True):
            p, labels = _probs((5, 3)).astype(np.float64), RNG.integers(0, 3, 5)
            # q -> 0: the cross-entropy -log p_y, without cancellation
            np.testing.assert_allclose(
                self.f(p, labels, q=1e-9, reduction="none"),
                -np.log(p[np.arange(5), labels]),
                rtol=1e-8,
            )
            # q = 1: 1 - p_y
            np.testing.assert_allclose(
                self.f(p, labels, q=1.0, reduction="none"),
                1 - p[np.arange(5), labels],
                rtol=1e-12,
            )
        # p_y near 1 in float32: -expm1(q log p) keeps the small value
        p = np.array([[1 - 2**-20, 2**-20]], np.float32)
        got = self.f(p, np.array([0]), q=0.5)
        np.testing.assert_allclose(got, (1 - (1 - 2.0**-20) ** 0.5) / 0.5, rtol=1e-5)

    def test_zero_probability(self):
        p = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]], np.float32)
        labels = np.array([0, 2])
        out = self.f(p, labels, q=0.5, reduction="none")
        np.testing.assert_allclose(out, [2.0, 2.0])
        g = jax.grad(lambda a: self.f(a, labels, q=0.5))(jnp.asarray(p))
        assert np.all(g == 0)
        # one-hot labels: a zero probability of a class with label 0 adds nothing
        onehot = np.eye(3, dtype=np.float32)[labels]
        np.testing.assert_allclose(self.f(p, onehot, q=0.5, reduction="none"), [2.0, 2.0])
        g = jax.grad(lambda a: self.f(p, a, q=0.5))(jnp.asarray(onehot))
        np.testing.assert_allclose(g, (1 - p**0.5) / 0.5 / 2, rtol=1e-6)

    def test_integer_labels_masks_and_errors(self):
        p = _probs((4, 3))
        p[1] = [np.inf, np.nan, 0.5]
        labels = np.array([0, 1, 2, 5])
        where = np.array([True, False, True, True])
        out = self.f(p, labels, where=where, reduction="none")
        assert out[1] == 0 and np.isnan(out[3]) and np.all(np.isfinite(out[:3]))
        g = jax.grad(lambda a: self.f(a, labels, where=where, reduction="sum"))(jnp.asarray(p))
        assert np.all(g[1] == 0)
        with pytest.raises(Exception, match=r"label out of range \[0, 3\) at position \[3\]: 5"):
            jaxloss.checked(self.f)(p, labels, where=where)
        with pytest.raises(ValueError, match=r"'q' must be in \(0.0, 1.0\], got 0.0"):
            self.f(p, labels, q=0.0)
        with pytest.raises(
            ValueError,
            match=r"^categorical_generalized_cross_entropy: argument 'labels' must have the shape "
            r"of 'probabilities' without axis 1",
        ):
            self.f(p, np.array([0, 1]))
