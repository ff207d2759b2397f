"""Softmax cross-entropy family: references, optax parity, gradients, options, errors."""

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
            # Gradients of the traced hyperparameters and of the class weights.
            if "label_smoothing" in opts:
                check_grads(
                    lambda s: self.f(x, labels, **{**opts, "label_smoothing": s}),
                    (0.2,),
                    order=1,
                    modes=["rev"],
                    eps=1e-4,
                )
                check_grads(
                    lambda z: self.f(x, labels, **{**opts, "z_loss": z}),
                    (0.05,),
                    order=1,
                    modes=["rev"],
                    eps=1e-4,
                )
            if "class_weights" in opts:
                check_grads(
                    lambda w: self.f(x, labels, **{**opts, "class_weights": w}),
                    (opts["class_weights"],),
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
