"""Tests of the divergences (jaxloss/_divergence.py).

References are float64 NumPy code written from the formulas in the docstrings.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jaxloss
from tests.grads import check_grads
from tests.shared_checks import check_class_axis, check_same_values, check_values


def ref_kl(log_p, t, axis=-1):
    log_p, t = np.asarray(log_p, np.float64), np.asarray(t, np.float64)
    terms = np.zeros_like(t)
    pos = t > 0
    terms[pos] = t[pos] * (np.log(t[pos]) - log_p[pos])
    return terms.sum(axis=axis)


def _log_softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _distributions(seed, batch=(4,), num_classes=5, dtype=np.float32, spread=2.0):
    rng = np.random.default_rng(seed)
    log_p = _log_softmax(rng.normal(size=batch + (num_classes,)))
    t = np.exp(_log_softmax(spread * rng.normal(size=batch + (num_classes,))))
    return log_p.astype(dtype), t.astype(dtype)


class TestKLDivergence:
    def test_matches_reference_and_optax(self):
        log_p, t = _distributions(0, (3, 4))
        expected = [ref_kl(log_p, t), optax.losses.kl_divergence(log_p, t)]
        check_values(jaxloss.kl_divergence, (log_p, t), (3, 4), expected, rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize("axis", [0, 1, -3])
    def test_axis(self, axis):
        args = _distributions(1, (3, 2))
        check_class_axis(jaxloss.kl_divergence, ref_kl, args, axis, rtol=1e-5, atol=1e-6)

    def test_axon_example(self):
        # Axon.Losses.kl_divergence takes probabilities and clips targets and predictions
        # to [1e-7, 1], so an all-zero target row gives it -3.08e-6 where the exact value
        # (ours, nothing clipped) is 0. The first row has no zero-target term that matters
        # and agrees; the second is checked against the exact value instead.
        y_true = np.array([[0, 1], [0, 0]], np.uint8)
        y_pred = np.array([[0.6, 0.4], [0.4, 0.6]], np.float32)
        out = jaxloss.kl_divergence(np.log(y_pred), y_true, reduction="none")
        np.testing.assert_allclose(out[0], 0.916289210319519, rtol=1e-5)
        np.testing.assert_allclose(out[0], np.log(1 / 0.4), rtol=1e-6)
        assert float(out[1]) == 0.0

    def test_zero_targets_and_minus_inf_log_predictions(self):
        # A masked class (-inf log-prediction) with target 0 contributes exactly 0.
        log_p = jnp.array([[0.0, -jnp.inf, -jnp.inf], [np.log(0.5), np.log(0.5), -jnp.inf]])
        t = jnp.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
        out = jaxloss.kl_divergence(log_p, t, reduction="none")
        np.testing.assert_array_equal(out, [0.0, 0.0])
        g_logp, g_t = jax.grad(
            lambda a, b: jaxloss.kl_divergence(a, b, reduction="sum"), argnums=(0, 1)
        )(log_p, t)
        assert np.all(np.isfinite(g_logp)) and np.all(np.isfinite(g_t))
        # d/dlog_p = -t; zero-target entries get exactly 0 for both arguments.
        np.testing.assert_allclose(g_logp, -t)
        np.testing.assert_array_equal(g_t[t == 0], 0.0)
        # d/dt = log t + 1 - log p where t > 0.
        pos = np.asarray(t) > 0
        expected = np.log(np.asarray(t)[pos]) + 1 - np.asarray(log_p)[pos]
        np.testing.assert_allclose(g_t[pos], expected, rtol=1e-6, atol=1e-6)

    def test_one_hot_integer_targets(self):
        log_p, _ = _distributions(3)
        labels = np.random.default_rng(3).integers(0, 5, size=4)
        one_hot = np.eye(5, dtype=np.int32)[labels]
        out = jaxloss.kl_divergence(log_p, one_hot, reduction="none")
        np.testing.assert_allclose(out, -log_p[np.arange(4), labels], rtol=1e-6)

    def test_minus_inf_where_target_positive_is_inf(self):
        out = jaxloss.kl_divergence(
            jnp.array([[0.0, -jnp.inf]]), jnp.array([[0.5, 0.5]]), reduction="none"
        )
        np.testing.assert_array_equal(out, [np.inf])

    def test_gradients(self):
        with jax.enable_x64(True):
            # Targets well away from 0, so finite differences stay inside the domain.
            log_p, t = _distributions(4, (3,), dtype=np.float64, spread=0.5)
            assert t.min() > 0.05
            f = lambda a, b: jaxloss.kl_divergence(a, b)
            check_grads(f, (log_p, t), order=2, modes=["rev"], eps=1e-4)
            # The gradient matches the closed form.
            g_logp, g_t = jax.grad(
                lambda a, b: jaxloss.kl_divergence(a, b, reduction="sum"), argnums=(0, 1)
            )(log_p, t)
            np.testing.assert_allclose(g_logp, -t, rtol=1e-12)
            np.testing.assert_allclose(g_t, np.log(t) + 1 - log_p, rtol=1e-12, atol=1e-12)

    @given(
        z=hnp.arrays(np.float64, (3, 4), elements=st.floats(-10, 10)),
        w=hnp.arrays(np.float64, (3, 4), elements=st.floats(-10, 10)),
        drop=hnp.arrays(np.bool_, (3, 4)),
    )
    def test_non_negative_on_distributions(self, z, w, drop):
        log_p = _log_softmax(z).astype(np.float32)
        w = np.where(drop, -np.inf, w)
        w[:, 0] = 0.0  # keep each row a distribution
        t = np.exp(_log_softmax(w)).astype(np.float32)
        out = np.asarray(jaxloss.kl_divergence(log_p, t, reduction="none"))
        assert np.all(out >= -1e-6)
        # KL(t || t) == 0.
        self_kl = jaxloss.kl_divergence(_log_softmax(w).astype(np.float32), t, reduction="none")
        np.testing.assert_allclose(self_kl, 0.0, atol=1e-6)

    def test_axis_out_of_range(self):
        log_p, t = _distributions(5)
        with pytest.raises(ValueError, match=r"kl_divergence: argument 'axis'=-3 is out of range"):
            jaxloss.kl_divergence(log_p, t, axis=-3)


# -- kl_divergence_with_log_targets --------------------------------------------


def ref_kl_log_targets(log_p, log_t, axis=-1):
    log_p, log_t = np.asarray(log_p, np.float64), np.asarray(log_t, np.float64)
    t = np.exp(log_t)
    terms = np.zeros_like(t)
    pos = t > 0
    terms[pos] = t[pos] * (log_t[pos] - log_p[pos])
    return terms.sum(axis=axis)


def ref_generalized_kl(log_p, t, axis=-1):
    log_p, t = np.asarray(log_p, np.float64), np.asarray(t, np.float64)
    terms = np.exp(log_p) - t
    pos = t > 0
    terms[pos] += t[pos] * (np.log(t[pos]) - log_p[pos])
    return terms.sum(axis=axis)


def _log_pair(seed, batch=(4,), num_classes=5, dtype=np.float32):
    rng = np.random.default_rng(seed)
    log_p = _log_softmax(rng.normal(size=batch + (num_classes,)))
    log_t = _log_softmax(2.0 * rng.normal(size=batch + (num_classes,)))
    return log_p.astype(dtype), log_t.astype(dtype)


class TestKLDivergenceWithLogTargets:
    def test_matches_reference_optax_and_kl_divergence(self):
        log_p, log_t = _log_pair(10, (3, 4))
        expected = [
            ref_kl_log_targets(log_p, log_t),
            optax.losses.kl_divergence_with_log_targets(log_p, log_t),
            jaxloss.kl_divergence(log_p, np.exp(log_t), reduction="none"),
        ]
        fn = jaxloss.kl_divergence_with_log_targets
        check_values(fn, (log_p, log_t), (3, 4), expected, rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize("axis", [0, -2])
    def test_axis_and_jit(self, axis):
        log_p, log_t = _log_pair(11, (3,))
        log_p, log_t = np.moveaxis(log_p, -1, axis), np.moveaxis(log_t, -1, axis)
        f = lambda a, b: jaxloss.kl_divergence_with_log_targets(a, b, axis=axis, reduction="none")
        np.testing.assert_allclose(
            f(log_p, log_t), ref_kl_log_targets(log_p, log_t, axis), rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(jax.jit(f)(log_p, log_t), f(log_p, log_t), rtol=1e-6)

    def test_minus_inf_log_targets(self):
        log_p = jnp.array([[0.0, -jnp.inf, -jnp.inf], [np.log(0.5), np.log(0.5), -jnp.inf]])
        log_t = jnp.array([[0.0, -jnp.inf, -jnp.inf], [np.log(0.5), -jnp.inf, -jnp.inf]])
        f = lambda a, b: jaxloss.kl_divergence_with_log_targets(a, b, reduction="sum")
        out = jaxloss.kl_divergence_with_log_targets(log_p, log_t, reduction="none")
        np.testing.assert_allclose(out, [0.0, 0.5 * np.log(0.5) - 0.5 * np.log(0.5)], atol=1e-7)
        g_p, g_t = jax.grad(f, argnums=(0, 1))(log_p, log_t)
        assert np.all(np.isfinite(g_p)) and np.all(np.isfinite(g_t))
        absent = ~np.isfinite(np.asarray(log_t))
        np.testing.assert_array_equal(g_p[absent], 0.0)
        np.testing.assert_array_equal(g_t[absent], 0.0)
        # d/dlog_p = -t and d/dlog_t = t (log t - log p + 1) where t > 0.
        t = np.exp(np.asarray(log_t))
        np.testing.assert_allclose(g_p, -t, rtol=1e-6)
        present = ~absent
        expected = t[present] * (np.asarray(log_t)[present] - np.asarray(log_p)[present] + 1)
        np.testing.assert_allclose(g_t[present], expected, rtol=1e-6, atol=1e-7)
        # Positive target, -inf log prediction: inf.
        out = jaxloss.kl_divergence_with_log_targets(
            jnp.array([[0.0, -jnp.inf]]), jnp.log(jnp.array([[0.5, 0.5]])), reduction="none"
        )
        np.testing.assert_array_equal(out, [np.inf])

    @given(
        z=hnp.arrays(np.float64, (3, 4), elements=st.floats(-10, 10)),
        w=hnp.arrays(np.float64, (3, 4), elements=st.floats(-10, 10)),
    )
    def test_non_negative_and_zero_on_equal(self, z, w):
        log_p, log_t = _log_softmax(z).astype(np.float32), _log_softmax(w).astype(np.float32)
        out = np.asarray(jaxloss.kl_divergence_with_log_targets(log_p, log_t, reduction="none"))
        assert np.all(out >= -1e-5)
        same = jaxloss.kl_divergence_with_log_targets(log_t, log_t, reduction="none")
        np.testing.assert_allclose(same, 0.0, atol=1e-6)


# -- generalized_kl_divergence -------------------------------------------------


def _measures(seed, batch=(4,), num_classes=5, dtype=np.float32):
    rng = np.random.default_rng(seed)
    log_p = rng.normal(scale=0.7, size=batch + (num_classes,))
    t = rng.uniform(0.05, 2.0, size=batch + (num_classes,))
    return log_p.astype(dtype), t.astype(dtype)


class TestGeneralizedKL:
    def test_matches_reference_and_optax(self):
        log_p, t = _measures(20, (3, 4))
        fn = jaxloss.generalized_kl_divergence
        expected = [ref_generalized_kl(log_p, t), optax.losses.generalized_kl_divergence(log_p, t)]
        out = check_values(fn, (log_p, t), (3, 4), expected, rtol=1e-5, atol=1e-6)
        f = jax.jit(lambda a, b: fn(a, b, reduction="none"))
        np.testing.assert_allclose(f(log_p, t), out, rtol=1e-6)

    def test_equals_kl_divergence_on_distributions(self):
        fn, kl = jaxloss.generalized_kl_divergence, jaxloss.kl_divergence
        check_same_values(fn, kl, _distributions(21), rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize("axis", [0, 1])
    def test_axis(self, axis):
        fn, args = jaxloss.generalized_kl_divergence, _measures(22, (3, 2))
        check_class_axis(fn, ref_generalized_kl, args, axis, rtol=1e-5, atol=1e-6)

    def test_zero_targets(self):
        log_p = jnp.array([[0.0, -jnp.inf, np.log(0.3)], [np.log(2.0), 0.5, -1.0]])
        t = jnp.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.5]])
        out = jaxloss.generalized_kl_divergence(log_p, t, reduction="none")
        np.testing.assert_allclose(out, ref_generalized_kl(log_p, t), rtol=1e-6)
        f = lambda a, b: jaxloss.generalized_kl_divergence(a, b, reduction="sum")
        g_p, g_t = jax.grad(f, argnums=(0, 1))(log_p, t)
        assert np.all(np.isfinite(g_p)) and np.all(np.isfinite(g_t))
        # d/dlog_p = p - t; d/dt = log t - log p where t > 0, -1 (the linear term) at t = 0.
        np.testing.assert_allclose(g_p, np.exp(log_p) - t, rtol=1e-6, atol=1e-7)
        zero = np.asarray(t) == 0
        np.testing.assert_array_equal(g_t[zero], -1.0)
        expected = (np.log(np.where(zero, 1, t)) - np.asarray(log_p))[~zero]
        np.testing.assert_allclose(g_t[~zero], expected, rtol=1e-6, atol=1e-7)

    @given(
        log_p=hnp.arrays(np.float32, (3, 4), elements=st.floats(-8, 3, width=32)),
        t=hnp.arrays(np.float32, (3, 4), elements=st.floats(0, 10, width=32)),
    )
    def test_non_negative(self, log_p, t):
        out = np.asarray(jaxloss.generalized_kl_divergence(log_p, t, reduction="none"))
        scale = np.sum(t + np.exp(log_p.astype(np.float64)), axis=-1)
        assert np.all(out >= -1e-5 * scale)


# -- shared by the divergences: second-order gradients, shape and dtype errors -----------


@pytest.mark.parametrize(
    "name, inputs, seed",
    [
        ("kl_divergence_with_log_targets", _log_pair, 12),
        ("generalized_kl_divergence", _measures, 23),
    ],
)
def test_second_order_gradients(name, inputs, seed):
    with jax.enable_x64(True):
        args = inputs(seed, (3,), dtype=np.float64)
        f = jax.jit(lambda a, b: getattr(jaxloss, name)(a, b))
        check_grads(f, args, order=2, modes=["rev"], eps=1e-4)


# name: (its second argument, as its messages name it; its inputs)
_ERROR_INPUTS = {
    "kl_divergence": ("targets", lambda: _measures(24)),
    "kl_divergence_with_log_targets": ("log_targets", lambda: _log_pair(13)),
    "generalized_kl_divergence": ("targets", lambda: _measures(24)),
}


@pytest.mark.parametrize("name", _ERROR_INPUTS)
def test_shape_and_dtype_errors(name):
    second, inputs = _ERROR_INPUTS[name]
    fn = getattr(jaxloss, name)
    log_p, s = inputs()
    for short in (s[:2], s[:, :2]):
        with pytest.raises(
            ValueError,
            match=rf"{name}: arguments 'log_predictions' and '{second}' must have the same shape",
        ):
            fn(log_p, short)
    with pytest.raises(TypeError, match=rf"{name}: argument 'log_predictions'.*floating dtype"):
        fn(log_p.astype(np.int32), s)
    with pytest.raises(TypeError, match=rf"{name}: argument '{second}' must have a real floating"):
        fn(log_p, s.astype(np.complex64))


@pytest.mark.parametrize("log_targets", [False, True])
def test_kl_row_sums_agree_above_and_below_the_cond_threshold(log_targets):
    """With log targets, inputs above ``_SMALL`` elements sum the plain terms and fall back
    (lax.cond) to the guarded ones on a NaN; smaller ones sum the guarded terms
    directly. ``kl_divergence`` has one branch-free form for both sizes. All must give
    the float64 reference, with a zero target meeting a -inf log-prediction."""
    from jaxloss import _divergence

    rows = _divergence._SMALL // 8 + 1  # [rows, 8] is just above the threshold
    rng = np.random.default_rng(0)
    logp = np.log(rng.dirichlet(np.ones(8), size=rows))
    t = rng.dirichlet(np.ones(8), size=rows)
    t[0, 3], logp[0, 3] = 0.0, -np.inf  # a masked class with no target mass
    present = t > 0
    terms = t * (np.log(np.where(present, t, 1)) - np.where(present, logp, 0))
    expected = np.sum(np.where(present, terms, 0), axis=1)
    fn = jaxloss.kl_divergence_with_log_targets if log_targets else jaxloss.kl_divergence
    with np.errstate(divide="ignore"):
        second = np.log(t) if log_targets else t
    for n in (rows, 4):  # the cond path, then the direct one
        args = (jnp.asarray(logp[:n], jnp.float32), jnp.asarray(second[:n], jnp.float32))
        assert (n * 8 > _divergence._SMALL) == (n == rows)
        out = np.asarray(fn(*args, reduction="none"))
        np.testing.assert_allclose(out, expected[:n], rtol=2e-5, atol=1e-6)


def test_kl_divergence_compiles_without_a_cond():
    """Regression: the large-input path summed fast terms and fell back through a
    ``lax.cond`` to guarded ones, compiling both branches (1.8x optax's compile time).
    The branch-free form must stay free of conditionals, forward and backward, and keep
    a zero target at a ``-inf`` log-prediction exactly 0 (checked above)."""
    spec = jax.ShapeDtypeStruct((512, 256), jnp.float32)  # above the old 2**16 threshold
    hlo = (
        jax.jit(jax.value_and_grad(jaxloss.kl_divergence, argnums=(0, 1)))
        .lower(spec, spec)
        .as_text()
    )
    assert "stablehlo.case" not in hlo and "stablehlo.if" not in hlo
    log_p = jnp.array([[-jnp.inf, np.log(0.5), np.log(0.5)], [np.nan, 0.0, -1.0]])
    t = jnp.array([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(
        np.isnan(np.asarray(jaxloss.kl_divergence(log_p, t, reduction="none"))),
        [False, True],  # a NaN log-prediction propagates, also at a zero target
    )


# -- element masks and several axes (optax's where and axis) ---------------------------


def _terms(name, lp, s):
    """The per-entry terms of each divergence, float64, from the formulas (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "kl_divergence_with_log_targets":
            t = np.exp(s)
            return np.where(t > 0, t * (s - lp), 0.0)
        kl = np.where(s > 0, s * (np.log(np.where(s > 0, s, 1)) - lp), 0.0)
        return kl + (np.exp(lp) - s if name == "generalized_kl_divergence" else 0.0)


_NAMES = ["generalized_kl_divergence", "kl_divergence", "kl_divergence_with_log_targets"]


def _second(name, rng, shape):
    """The second argument of ``name``: targets, log targets or positive measures."""
    t = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if name == "kl_divergence_with_log_targets":
        return np.log(t)
    return t * 2.0 if name == "generalized_kl_divergence" else t


def _ref_masked(name, lp, s, m, axes):
    """The sum over ``axes`` of the terms of the unmasked entries (masked ones give 0)."""
    lp, s = np.asarray(lp, np.float64), np.asarray(s, np.float64)
    return np.sum(np.where(m, _terms(name, lp, s), 0.0), axis=axes)


@pytest.mark.parametrize("name", _NAMES)
def test_element_where_and_tuple_axis_match_reference_and_optax(name):
    """optax's where: masked entries are left out of the sum; a tuple axis sums over
    several axes. Values and gradients against the float64 formula and optax."""
    rng = np.random.default_rng(30)
    shape = (3, 2, 4)
    lp = np.log(rng.dirichlet(np.ones(4), size=(3, 2)))
    s = _second(name, rng, shape)
    m = rng.random(shape) < 0.6
    m[0, 0] = False  # an example with no entry left: masked as a whole
    fn, ox = getattr(jaxloss, name), getattr(optax.losses, name)
    cases = {(2,): dict(where=m), (2, 0): dict(axis=(2, 0)), (0, 1, 2): dict(axis=None, where=m)}
    cases[(1, 2)] = dict(axis=(1, 2), where=m)
    ours = jax.jit(lambda a, b: [fn(a, b, reduction="none", **kw) for kw in cases.values()])
    theirs = jax.jit(lambda a, b: [ox(a, b, **kw) for kw in cases.values()])
    f32 = lp.astype(np.float32), s.astype(np.float32)
    for (axes, kw), out, other in zip(cases.items(), ours(*f32), theirs(*f32)):
        expected = _ref_masked(name, lp, s, kw.get("where", True), axes)
        np.testing.assert_allclose(out, expected, rtol=2e-5, atol=2e-6, err_msg=str(kw))
        np.testing.assert_allclose(out, other, rtol=2e-5, atol=2e-6, err_msg=str(kw))
    with jax.enable_x64(True):
        # Gradients of the summed loss, both arguments, against optax's autodiff (finite
        # wherever optax's are: every target positive, every mask entry's inputs finite).
        kw = dict(axis=(0, 2), where=m)
        grads = jax.jit(
            lambda a, b: (
                jax.grad(lambda a, b: fn(a, b, reduction="sum", **kw), argnums=(0, 1))(a, b),
                jax.grad(lambda a, b: jnp.sum(ox(a, b, **kw)), argnums=(0, 1))(a, b),
            )
        )
        for g, h in zip(*grads(lp, s)):
            np.testing.assert_allclose(g, np.where(m, h, 0), rtol=1e-10, atol=1e-12)
        f = lambda a, b: fn(a, b, axis=(0, 2), where=m)
        check_grads(f, (lp, s), order=1, modes=["rev"], eps=1e-5)


@pytest.mark.parametrize("name", _NAMES)
def test_element_masked_entries_holding_inf_and_nan_do_not_leak(name):
    rng = np.random.default_rng(31)
    lp = np.log(rng.dirichlet(np.ones(5), size=4)).astype(np.float32)
    s = _second(name, rng, (4, 5)).astype(np.float32)
    m = np.ones((4, 5), bool)
    m[0, 1] = m[1, 3] = m[2, 0] = False
    m[3] = False  # every entry of an example masked: the example is masked
    poisoned_lp, poisoned_s = lp.copy(), s.copy()
    poisoned_lp[~m] = np.nan
    poisoned_s[0, 1], poisoned_s[1, 3], poisoned_s[2, 0] = np.inf, np.nan, -np.inf
    poisoned_s[3] = np.nan
    fn = getattr(jaxloss, name)

    @jax.jit
    def run(a, b):
        return {
            r: jax.value_and_grad(lambda a, b, r=r: fn(a, b, where=m, reduction=r), argnums=(0, 1))(
                a, b
            )
            for r in ("mean", "sum")
        } | {"none": fn(a, b, where=m, reduction="none")}

    clean, dirty = run(lp, s), run(poisoned_lp, poisoned_s)
    expected = _ref_masked(name, lp, s, m, -1)
    expected[3] = 0.0  # a fully masked example is 0 in "none" and out of the mean
    np.testing.assert_allclose(dirty["none"], expected, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(dirty["mean"][0], expected[:3].mean(), rtol=2e-5)
    for r in ("mean", "sum"):
        np.testing.assert_allclose(dirty[r][0], clean[r][0], rtol=1e-6)
        for g, h in zip(dirty[r][1], clean[r][1]):
            assert np.all(np.isfinite(g))
            np.testing.assert_array_equal(np.asarray(g)[~m], 0.0)
            np.testing.assert_allclose(g, h, rtol=1e-6)


def test_where_with_fewer_dimensions_still_masks_examples():
    log_p, t = _distributions(32, (3, 2))
    m = np.array([True, False, True])[:, None]  # [3, 1]: the per-example shape [3, 2]
    out = jaxloss.kl_divergence(log_p, t, where=m, reduction="none")
    np.testing.assert_allclose(out, np.where(m, ref_kl(log_p, t), 0), rtol=1e-5, atol=1e-6)
    # with a tuple axis the per-example shape is what is left: [3] here
    out = jaxloss.kl_divergence(log_p, t, axis=(1, 2), where=m[:, 0], reduction="none")
    np.testing.assert_allclose(out, np.where(m[:, 0], ref_kl(log_p, t).sum(-1), 0), rtol=1e-5)


def test_axis_and_where_errors():
    log_p, t = _distributions(33, (3,))
    f = jaxloss.generalized_kl_divergence
    with pytest.raises(ValueError, match=r"generalized_kl_divergence: argument 'axis'=\(1, -1\) "):
        f(log_p, t, axis=(1, -1))
    with pytest.raises(ValueError, match=r"argument 'axis'=\(0, 2\) is out of range"):
        f(log_p, t, axis=(0, 2))
    with pytest.raises(TypeError, match=r"argument 'axis' must be an int or a non-empty tuple"):
        f(log_p, t, axis=())
    with pytest.raises(ValueError, match=r"'where' with shape \(2, 5\) must be broadcastable"):
        f(log_p, t, where=np.ones((2, 5), bool))
    with pytest.raises(TypeError, match=r"argument 'where' must be a boolean mask"):
        f(log_p, t, where=np.ones((3, 5)))


def test_convex_kl_divergence_is_generalized_kl_divergence_as_in_optax():
    """optax's convex_kl_divergence is its deprecated alias of generalized_kl_divergence;
    here the alias is the same function, with optax's values and gradients."""
    import warnings

    assert jaxloss.convex_kl_divergence is jaxloss.generalized_kl_divergence
    assert jaxloss.aliases()["convex_kl_divergence"] == "generalized_kl_divergence"
    rng = np.random.default_rng(34)
    lp = rng.normal(size=(2, 3, 4))
    t = rng.uniform(0.1, 2.0, size=(2, 3, 4))
    m = rng.random((2, 3, 4)) < 0.7
    with jax.enable_x64(True), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for kw in ({}, {"axis": (0, 2), "where": m}):
            ours = jax.jit(
                jax.value_and_grad(
                    lambda a, b, kw=kw: jaxloss.convex_kl_divergence(a, b, reduction="sum", **kw),
                    argnums=(0, 1),
                )
            )(lp, t)
            theirs = jax.jit(
                jax.value_and_grad(
                    lambda a, b, kw=kw: jnp.sum(optax.losses.convex_kl_divergence(a, b, **kw)),
                    argnums=(0, 1),
                )
            )(lp, t)
            np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
            for g, h in zip(ours[1], theirs[1]):
                np.testing.assert_allclose(g, np.where(m, h, 0) if kw else h, rtol=1e-12)


# -- jensen_shannon_divergence ---------------------------------------------------------

# The registered function (jaxloss.jensen_shannon_divergence once the exports are
# regenerated from the registry).
JSD = jaxloss.info("jensen_shannon_divergence").fn


def ref_jsd(log_q, log_p, beta, axis=-1):
    """The generalized JSD of GKD (TRL's and Liger's definition), float64: P the teacher
    (``log_p``), Q the student (``log_q``), M = beta P + (1 - beta) Q, the KLs at the
    endpoints; 0 log 0 = 0."""
    log_q, log_p = np.asarray(log_q, np.float64), np.asarray(log_p, np.float64)
    p, q = np.exp(log_p), np.exp(log_q)

    def kl(a, log_a, log_b):
        with np.errstate(invalid="ignore"):
            return np.sum(np.where(a > 0, a * (log_a - log_b), 0.0), axis=axis)

    if beta == 0:
        return kl(p, log_p, log_q)
    if beta == 1:
        return kl(q, log_q, log_p)
    with np.errstate(divide="ignore"):
        log_m = np.log(beta * p + (1 - beta) * q)
    return beta * kl(p, log_p, log_m) + (1 - beta) * kl(q, log_q, log_m)


BETAS = (0.0, 0.25, 0.5, 0.9, 1.0)


def test_jsd_matches_reference_with_static_and_traced_beta():
    log_q, log_p = _log_pair(40, (3, 4))
    static = jax.jit(lambda a, b: [JSD(a, b, beta=beta, reduction="none") for beta in BETAS])
    traced = jax.jit(lambda a, b, betas: [JSD(a, b, beta=t, reduction="none") for t in betas])
    betas = [jnp.float32(beta) for beta in BETAS]
    for beta, s, t in zip(BETAS, static(log_q, log_p), traced(log_q, log_p, betas)):
        expected = ref_jsd(log_q, log_p, beta)
        np.testing.assert_allclose(s, expected, rtol=2e-5, atol=1e-6, err_msg=str(beta))
        np.testing.assert_allclose(t, expected, rtol=2e-5, atol=1e-6, err_msg=str(beta))
    # an eager call (the public boundary's kernel, beta a runtime argument)
    np.testing.assert_allclose(
        JSD(log_q, log_p, reduction="none"), ref_jsd(log_q, log_p, 0.5), rtol=2e-5, atol=1e-6
    )
    # a tuple axis sums over both
    out = JSD(log_q, log_p, beta=0.3, axis=(1, 2), reduction="none")
    np.testing.assert_allclose(out, ref_jsd(log_q, log_p, 0.3).sum(-1), rtol=2e-5, atol=1e-6)


def test_jsd_endpoints_are_the_two_kl_divergences():
    log_q, log_p = _log_pair(41, (5,))
    kl = jaxloss.kl_divergence_with_log_targets
    forward, reverse = kl(log_q, log_p, reduction="none"), kl(log_p, log_q, reduction="none")
    f = jax.jit(lambda a, b, t: JSD(a, b, beta=t, reduction="none"))
    for beta, expected in [(0.0, forward), (1.0, reverse)]:
        np.testing.assert_allclose(
            JSD(log_q, log_p, beta=beta, reduction="none"), expected, rtol=1e-6
        )
        np.testing.assert_allclose(f(log_q, log_p, jnp.float32(beta)), expected, rtol=1e-6)


def test_jsd_is_symmetric_and_at_most_log_2_at_one_half():
    rng = np.random.default_rng(42)
    # from nearly equal to nearly disjoint distributions, and two disjoint ones
    log_q = _log_softmax(rng.normal(scale=[[0.1], [1.0], [5.0], [30.0]], size=(4, 6)))
    log_p = _log_softmax(rng.normal(scale=[[0.1], [1.0], [5.0], [30.0]], size=(4, 6)))
    log_q = np.concatenate([log_q, [[0.0, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf]]])
    log_p = np.concatenate([log_p, [[-np.inf, 0.0, -np.inf, -np.inf, -np.inf, -np.inf]]])
    f = jax.jit(lambda a, b: (JSD(a, b, reduction="none"), JSD(b, a, reduction="none")))
    ab, ba = f(log_q.astype(np.float32), log_p.astype(np.float32))
    np.testing.assert_allclose(ab, ba, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ab, ref_jsd(log_q, log_p, 0.5), rtol=2e-5, atol=1e-6)
    assert np.all(np.asarray(ab) >= 0) and np.all(np.asarray(ab) <= np.log(2) * (1 + 1e-6))
    np.testing.assert_allclose(ab[-1], np.log(2), rtol=1e-6)  # disjoint supports
    # finite gradients there, beta static or traced (the unused endpoint KLs are infinite)
    grads = jax.jit(
        lambda a, b, t: [
            jax.grad(lambda a, b, beta=beta: JSD(a, b, beta=beta), (0, 1))(a, b)
            for beta in (0.5, t)
        ]
    )(log_q[-1:].astype(np.float32), log_p[-1:].astype(np.float32), jnp.float32(0.5))
    for g in jax.tree.leaves(grads):
        assert np.all(np.isfinite(g)), g


def test_jsd_gradients():
    with jax.enable_x64(True):
        log_q, log_p = _log_pair(43, (3,), dtype=np.float64)
        for beta in (0.0, 0.3, 1.0):
            f = lambda a, b, beta=beta: JSD(a, b, beta=beta)
            # plain jnp, no custom VJP: forward mode too
            check_grads(f, (log_q, log_p), order=1, modes=["fwd", "rev"], eps=1e-5)
        # with respect to a traced beta: the interior formula's derivative, 0 at the ends
        g = jax.jit(jax.vmap(jax.grad(lambda t: JSD(log_q, log_p, beta=t))))(
            jnp.array([0.0, 0.3, 0.8, 1.0])
        )
        eps = 1e-6
        for t, got in zip((0.3, 0.8), np.asarray(g)[1:3]):
            fd = (ref_jsd(log_q, log_p, t + eps) - ref_jsd(log_q, log_p, t - eps)).mean() / (
                2 * eps
            )
            np.testing.assert_allclose(got, fd, rtol=1e-6)
        np.testing.assert_array_equal(np.asarray(g)[[0, 3]], 0.0)


def test_jsd_zero_probability_in_both_inputs_and_masked_entries():
    log_q, log_p = _log_pair(44, (2,), num_classes=4)
    log_q[0, 2] = log_p[0, 2] = -np.inf  # a class that neither distribution has
    log_q[0] -= np.log(np.sum(np.exp(log_q[0])))
    log_p[0] -= np.log(np.sum(np.exp(log_p[0])))
    m = np.ones((2, 4), bool)
    m[1, 3] = False  # an element-masked entry, holding NaN
    poisoned_q = log_q.copy()
    poisoned_q[1, 3] = np.nan

    def program(a, b, betas):
        out = []
        for t in betas:
            loss = lambda a, b, t=t: JSD(a, b, beta=t, where=m, reduction="sum")
            out.append((JSD(a, b, beta=t, where=m, reduction="none"), jax.grad(loss, (0, 1))(a, b)))
        return out

    betas = [jnp.float32(t) for t in (0.0, 0.5, 1.0)] + [0.0, 0.5, 1.0]  # traced, then static
    results = jax.jit(program, static_argnums=())(poisoned_q, log_p, betas)
    kept = np.where(m, log_q, -np.inf), np.where(m, log_p, -np.inf)  # masked entry: no mass
    for t, (value, grads) in zip((0.0, 0.5, 1.0) * 2, results):
        np.testing.assert_allclose(value, ref_jsd(*kept, t), rtol=2e-5, atol=1e-6, err_msg=str(t))
        for g in grads:
            g = np.asarray(g)
            assert np.all(np.isfinite(g)), (t, g)
            assert g[0, 2] == 0 and g[1, 3] == 0, (t, g)


def test_jsd_errors():
    log_q, log_p = _log_pair(45)
    with pytest.raises(
        ValueError,
        match=r"jensen_shannon_divergence: argument 'beta' must be in \[0.0, 1.0\], got 1.5",
    ):
        JSD(log_q, log_p, beta=1.5)
    with pytest.raises(
        ValueError,
        match=r"jensen_shannon_divergence: arguments 'log_predictions' and 'log_targets' must "
        r"have the same shape",
    ):
        JSD(log_q, log_p[:, :3])
