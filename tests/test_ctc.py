"""Tests of the CTC loss (jaxloss/_sequence.py).

PyTorch cannot be installed here, so the references are written from the definition:
``ref_ctc`` is a float64 NumPy version of the CTC forward algorithm (log-space alpha
recursion over the blank-extended label sequence, padded frames dropped), and
``brute_force_ctc`` sums the probabilities of every frame-level path whose collapse is the
target (tiny problems only). optax's ``ctc_loss`` is a third, independent implementation.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental import checkify

import jaxloss
from tests.grads import check_grads

# ---------------------------------------------------------------------------
# references


def _log_softmax(z):
    z = np.asarray(z, np.float64)
    m = np.max(z, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def _one_sequence(logits, logit_pad, labels, label_pad, blank):
    """-log p(target | frames) of one sequence by the alpha recursion, float64."""
    frames = _log_softmax(np.asarray(logits)[np.asarray(logit_pad) < 0.5])
    target = [int(v) for v, p in zip(labels, label_pad) if p < 0.5]
    ext = [blank]
    for v in target:
        ext += [v, blank]
    size = len(ext)
    if len(frames) == 0:
        return 0.0 if not target else np.inf
    alpha = np.full(size, -np.inf)
    alpha[0] = frames[0, ext[0]]
    if size > 1:
        alpha[1] = frames[0, ext[1]]
    with np.errstate(invalid="ignore"):
        for t in range(1, len(frames)):
            new = np.full(size, -np.inf)
            for s in range(size):
                terms = [alpha[s]]
                if s >= 1:
                    terms.append(alpha[s - 1])
                if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                    terms.append(alpha[s - 2])
                new[s] = np.logaddexp.reduce(terms) + frames[t, ext[s]]
            alpha = new
        last = alpha[-1] if size == 1 else np.logaddexp(alpha[-1], alpha[-2])
    return -last


def ref_ctc(logits, logit_paddings, labels, label_paddings, blank=0):
    """Per-sequence CTC negative log-likelihood, float64, for [B, T, K] inputs."""
    return np.array(
        [
            _one_sequence(*args, blank)
            for args in zip(logits, logit_paddings, labels, label_paddings)
        ]
    )


def _collapse(path, blank):
    out, prev = [], None
    for v in path:
        if v != prev and v != blank:
            out.append(v)
        prev = v
    return out


def brute_force_ctc(logits, target, blank=0):
    """-log of the summed probability of every path that collapses to ``target``."""
    lp = _log_softmax(logits)
    steps, classes = lp.shape
    total = -np.inf
    for path in itertools.product(range(classes), repeat=steps):
        if _collapse(path, blank) == list(target):
            total = np.logaddexp(total, sum(lp[t, k] for t, k in enumerate(path)))
    return -total


def _problem(seed, batch=4, steps=12, classes=5, length=4, blank=0, pad_frames=True):
    """Random feasible inputs with right-padded frames and labels (repeats included)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, steps, classes)).astype(np.float32)
    nonblank = [k for k in range(classes) if k != blank]
    labels = rng.choice(nonblank, size=(batch, length)).astype(np.int32)
    label_len = rng.integers(0, length + 1, size=batch)
    label_len[0] = length
    labels[0, :2] = labels[0, 0]  # a repeat: needs a blank between
    label_paddings = (np.arange(length)[None] >= label_len[:, None]).astype(np.float32)
    # frames: enough for the worst case (length + repeats), padded on the right
    low = 2 * length + 1 if pad_frames else steps
    frame_len = rng.integers(low, steps + 1, size=batch)
    logit_paddings = (np.arange(steps)[None] >= frame_len[:, None]).astype(np.float32)
    return logits, logit_paddings, labels, label_paddings


# ---------------------------------------------------------------------------
# values


class TestValues:
    def test_matches_numpy_reference(self):
        args = _problem(0)
        out = jaxloss.ctc_loss(*args, reduction="none")
        assert out.shape == (4,) and out.dtype == jnp.float32
        np.testing.assert_allclose(out, ref_ctc(*args), rtol=1e-5)

    @pytest.mark.parametrize("target", [[], [1], [1, 1], [1, 2], [2, 1, 2], [1, 1, 1]])
    def test_matches_brute_force(self, target):
        rng = np.random.default_rng(len(target))
        steps, classes = 5, 3
        logits = rng.normal(size=(steps, classes))
        expected = brute_force_ctc(logits, target)
        length = max(len(target), 1)
        labels = np.array([target + [0] * (length - len(target))], np.int32)
        label_pad = (np.arange(length) >= len(target)).astype(np.float64)[None]
        with jax.enable_x64(True):
            out = jaxloss.ctc_loss(
                jnp.asarray(logits[None]),
                jnp.zeros((1, steps)),
                labels,
                label_pad,
                reduction="none",
            )
            assert out.dtype == jnp.float64
            np.testing.assert_allclose(out[0], expected, rtol=1e-12)

    def test_optax_parity(self):
        args = _problem(2, batch=6, steps=30, classes=7, length=8)
        out = jaxloss.ctc_loss(*args, reduction="none")
        ref = optax.losses.ctc_loss(*args)
        np.testing.assert_allclose(out, ref, rtol=2e-5, atol=1e-5)
        np.testing.assert_allclose(jax.jit(jaxloss.ctc_loss)(*args), jnp.mean(ref), rtol=2e-5)

    @pytest.mark.parametrize("blank", [0, 2, 4])
    def test_blank_id(self, blank):
        args = _problem(3, blank=blank)
        out = jaxloss.ctc_loss(*args, blank_id=blank, reduction="none")
        np.testing.assert_allclose(out, ref_ctc(*args, blank=blank), rtol=1e-5)
        np.testing.assert_allclose(
            out, optax.losses.ctc_loss(*args, blank_id=blank), rtol=2e-5, atol=1e-5
        )

    def test_padding_anywhere_in_time_is_skipped(self):
        logits, logit_pad, labels, label_pad = _problem(4, pad_frames=False)
        logit_pad = np.zeros_like(logit_pad)
        logit_pad[:, [0, 5, 6]] = 1.0  # padded frames at the start and in the middle
        out = jaxloss.ctc_loss(logits, logit_pad, labels, label_pad, reduction="none")
        np.testing.assert_allclose(out, ref_ctc(logits, logit_pad, labels, label_pad), rtol=1e-5)
        np.testing.assert_allclose(
            out, optax.losses.ctc_loss(logits, logit_pad, labels, label_pad), rtol=2e-5
        )

    def test_long_sequences_stay_accurate(self):
        args = _problem(5, batch=2, steps=300, classes=20, length=60)
        out = jaxloss.ctc_loss(*args, reduction="none")
        np.testing.assert_allclose(out, ref_ctc(*args), rtol=1e-5)

    def test_extra_leading_batch_axes(self):
        logits, logit_pad, labels, label_pad = _problem(6, batch=6)
        flat = jaxloss.ctc_loss(logits, logit_pad, labels, label_pad, reduction="none")
        out = jaxloss.ctc_loss(
            logits.reshape(2, 3, *logits.shape[1:]),
            logit_pad.reshape(2, 3, -1),
            labels.reshape(2, 3, -1),
            label_pad.reshape(2, 3, -1),
            reduction="none",
        )
        assert out.shape == (2, 3)
        np.testing.assert_allclose(out.reshape(-1), flat, rtol=1e-6)
        single = jaxloss.ctc_loss(logits[0], logit_pad[0], labels[0], label_pad[0])
        assert single.shape == ()
        np.testing.assert_allclose(single, flat[0], rtol=1e-6)

    def test_mean_is_plain_mean_of_sequences(self):
        # Not PyTorch's default (which divides each loss by its target length first).
        args = _problem(7)
        values = ref_ctc(*args)
        np.testing.assert_allclose(jaxloss.ctc_loss(*args), values.mean(), rtol=1e-5)
        w = np.array([1.0, 0.0, 2.0, 0.5], np.float32)
        np.testing.assert_allclose(
            jaxloss.ctc_loss(*args, weights=w), (w * values).sum() / w.sum(), rtol=1e-5
        )

    def test_paddings_may_be_bool_or_int(self):
        args = _problem(8)
        ref = jaxloss.ctc_loss(*args, reduction="none")
        as_bool = (args[0], args[1] > 0, args[2], args[3] > 0)
        as_int = (args[0], args[1].astype(np.int32), args[2], args[3].astype(np.int8))
        np.testing.assert_array_equal(jaxloss.ctc_loss(*as_bool, reduction="none"), ref)
        np.testing.assert_array_equal(jaxloss.ctc_loss(*as_int, reduction="none"), ref)


# ---------------------------------------------------------------------------
# edge cases


def _single(logits, target, frames=None, **kwargs):
    """Loss of one sequence with labels ``target`` (padded to at least one slot)."""
    logits = jnp.asarray(logits)[None]
    steps = logits.shape[1]
    frames = steps if frames is None else frames
    length = max(len(target), 1)
    labels = jnp.array([list(target) + [1] * (length - len(target))], jnp.int32)
    label_pad = (jnp.arange(length) >= len(target)).astype(jnp.float32)[None]
    logit_pad = (jnp.arange(steps) >= frames).astype(jnp.float32)[None]
    return jaxloss.ctc_loss(logits, logit_pad, labels, label_pad, **kwargs)


class TestEdgeCases:
    def test_empty_target_and_empty_input_give_zero(self):
        logits = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
        for f in (lambda x: _single(x, [], frames=0), jax.jit(lambda x: _single(x, [], frames=0))):
            assert float(f(logits)) == 0.0
            g = jax.grad(f)(logits)
            assert np.all(g == 0)
        assert ref_ctc(logits[None], np.ones((1, 4)), np.ones((1, 1)), np.ones((1, 1)))[0] == 0.0

    def test_empty_target_is_all_blanks(self):
        logits = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
        expected = -_log_softmax(logits)[:, 0].sum()
        np.testing.assert_allclose(_single(logits, []), expected, rtol=1e-6)

    def test_repeated_label_needs_a_blank_between(self):
        rng = np.random.default_rng(2)
        two = rng.normal(size=(2, 3)).astype(np.float32)
        three = rng.normal(size=(3, 3)).astype(np.float32)
        assert float(_single(two, [1, 1])) == np.inf  # "aa" in 2 frames: impossible
        assert np.isfinite(float(_single(two, [1, 2])))  # "ab" in 2 frames: fine
        # "aa" in 3 frames: the only path is a, blank, a
        lp = _log_softmax(three)
        np.testing.assert_allclose(
            _single(three, [1, 1]), -(lp[0, 1] + lp[1, 0] + lp[2, 1]), rtol=1e-6
        )
        np.testing.assert_allclose(
            _single(three, [1, 1]), brute_force_ctc(three, [1, 1]), rtol=1e-6
        )

    def test_infeasible_is_inf_with_zero_gradient(self):
        logits = np.random.default_rng(3).normal(size=(2, 3, 4)).astype(np.float32)
        logit_pad = np.array([[0, 0, 0], [0, 0, 1]], np.float32)  # second: 2 frames
        labels = np.array([[1, 2, 3], [1, 2, 3]], np.int32)  # 3 labels
        label_pad = np.zeros((2, 3), np.float32)
        out = jaxloss.ctc_loss(logits, logit_pad, labels, label_pad, reduction="none")
        assert np.isfinite(out[0]) and out[1] == np.inf
        assert ref_ctc(logits, logit_pad, labels, label_pad)[1] == np.inf
        assert float(jaxloss.ctc_loss(logits, logit_pad, labels, label_pad)) == np.inf
        g = jax.grad(lambda x: jaxloss.ctc_loss(x, logit_pad, labels, label_pad))(logits)
        assert np.all(np.isfinite(g))
        assert np.all(g[1] == 0)

    def test_zero_infinity(self):
        logits = np.random.default_rng(4).normal(size=(2, 3, 4)).astype(np.float32)
        logit_pad = np.array([[0, 0, 0], [0, 0, 1]], np.float32)
        labels = np.array([[1, 2, 3], [1, 1, 1]], np.int32)
        label_pad = np.array([[0, 0, 0], [0, 0, 1]], np.float32)  # second: "aa" in 2 frames
        f = lambda x, r="mean": jaxloss.ctc_loss(
            x, logit_pad, labels, label_pad, zero_infinity=True, reduction=r
        )
        out = f(logits, "none")
        assert out[1] == 0.0
        np.testing.assert_allclose(
            out[0], ref_ctc(logits, logit_pad, labels, label_pad)[0], rtol=1e-5
        )
        np.testing.assert_allclose(f(logits), out[0] / 2, rtol=1e-6)
        for g in (jax.grad(f)(logits), jax.jit(jax.grad(f))(logits)):
            assert np.all(np.isfinite(g))
            assert np.all(g[1] == 0)
            assert np.any(g[0] != 0)

    def test_all_paths_through_minus_inf_logits_is_infeasible(self):
        logits = np.zeros((3, 3), np.float32)
        logits[:, 2] = -np.inf  # class 2 can never be emitted
        assert float(_single(logits, [2])) == np.inf
        assert float(_single(logits, [2], zero_infinity=True)) == 0.0

    def test_minus_inf_logits_of_unused_classes(self):
        logits = np.random.default_rng(5).normal(size=(6, 5)).astype(np.float32)
        logits[:, 4] = -np.inf
        logits[2, 3] = -np.inf
        target = [1, 3, 2]
        out = _single(logits, target)
        np.testing.assert_allclose(out, brute_force_ctc(logits, target), rtol=1e-5)
        g = jax.grad(lambda x: _single(x, target))(logits)
        assert np.all(np.isfinite(g))
        assert np.all(g[:, 4] == 0) and g[2, 3] == 0

    def test_padded_frames_may_hold_non_finite_logits(self):
        logits = np.random.default_rng(6).normal(size=(6, 4)).astype(np.float32)
        clean = _single(logits, [1, 2], frames=4)
        logits[4] = np.nan
        logits[5] = [np.inf, -np.inf, np.inf, 0.0]
        f = lambda x: _single(x, [1, 2], frames=4)
        np.testing.assert_allclose(f(logits), clean, rtol=1e-6)
        g = jax.grad(f)(logits)
        assert np.all(np.isfinite(g)) and np.all(g[4:] == 0)

    def test_never_negative_when_alignment_is_certain(self):
        # optax can return about -1e-7 here; the probability is one up to rounding.
        logits = np.full((1, 5, 3), -60.0, np.float32)
        for t, k in enumerate([1, 0, 2, 0, 2]):
            logits[0, t, k] = 60.0
        args = (logits, np.zeros((1, 5)), np.array([[1, 2, 2]]), np.zeros((1, 3)))
        out = jaxloss.ctc_loss(*args, reduction="none")
        assert 0.0 <= float(out[0]) < 1e-5
        g = jax.grad(lambda x: jaxloss.ctc_loss(x, *args[1:]))(jnp.asarray(logits))
        assert np.all(np.isfinite(g))

    def test_large_logits(self):
        args = _problem(7)
        big = (args[0] * 1000.0,) + args[1:]
        out = jaxloss.ctc_loss(*big, reduction="none")
        np.testing.assert_allclose(out, ref_ctc(*big), rtol=1e-5)
        g = jax.grad(lambda x: jaxloss.ctc_loss(x, *big[1:]))(big[0])
        assert np.all(np.isfinite(g))

    def test_non_finite_logits_in_a_real_frame_give_nan(self):
        logits = np.random.default_rng(8).normal(size=(4, 3)).astype(np.float32)
        logits[1, 2] = np.nan
        assert np.isnan(float(_single(logits, [1])))

    def test_out_of_range_labels_give_nan_and_checked_raises(self):
        logits, logit_pad, labels, label_pad = _problem(9)
        labels = labels.copy()
        labels[1, 0] = 5  # == classes
        labels[0, -1] = -1
        label_pad = label_pad.copy()
        label_pad[0, -1] = 1.0  # a bad value in a padded slot is ignored
        out = jaxloss.ctc_loss(logits, logit_pad, labels, label_pad, reduction="none")
        assert np.isnan(out[1]) and np.all(np.isfinite(np.asarray(out)[[0, 2, 3]]))
        f = jaxloss.checked(lambda *a: jaxloss.ctc_loss(*a, reduction="none"))
        with pytest.raises(checkify.JaxRuntimeError, match=r"ctc_loss: label out of range"):
            f(logits, logit_pad, labels, label_pad)

    def test_masked_sequences_get_zero_gradient(self):
        logits, logit_pad, labels, label_pad = _problem(10)
        where = np.array([True, False, True, True])
        poisoned = logits.copy()
        poisoned[1] = np.nan
        f = lambda x: jaxloss.ctc_loss(x, logit_pad, labels, label_pad, where=where)
        np.testing.assert_allclose(
            f(poisoned), ref_ctc(logits, logit_pad, labels, label_pad)[where].mean(), rtol=1e-5
        )
        g = jax.grad(f)(poisoned)
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0)


# ---------------------------------------------------------------------------
# gradients


class TestGradients:
    def test_matches_optax_gradient(self):
        args = _problem(11, batch=5, steps=25, classes=6, length=6)
        g = jax.grad(lambda x: jaxloss.ctc_loss(x, *args[1:]))(args[0])
        g_ref = jax.grad(lambda x: jnp.mean(optax.losses.ctc_loss(x, *args[1:])))(args[0])
        np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=2e-6)

    def test_float32_gradient_of_long_sequences_matches_float64(self):
        # T = 512: the forward-backward states are renormalized every few frames, so the
        # occupations do not inherit the rounding of 512 additions at |log p| ~ 2000
        # (without it the blank's gradient was off by about 4e-4 here).
        args = _problem(12, batch=3, steps=512, classes=64, length=100)
        f = lambda x, dtype: jnp.sum(jaxloss.ctc_loss(x.astype(dtype), *args[1:], reduction="none"))
        g32 = np.asarray(jax.grad(f)(jnp.asarray(args[0]), jnp.float32), np.float64)
        with jax.enable_x64(True):
            g64 = np.asarray(jax.grad(f)(jnp.asarray(args[0], jnp.float64), jnp.float64))
        assert np.abs(g64).max() > 0.5
        np.testing.assert_allclose(g32, g64, rtol=0, atol=1e-4)

    def test_check_grads_float64(self):
        with jax.enable_x64(True):
            logits, logit_pad, labels, label_pad = _problem(
                12, batch=3, steps=7, classes=4, length=3
            )
            f = lambda x: jaxloss.ctc_loss(x, logit_pad, labels, label_pad, reduction="sum")
            x = jnp.asarray(logits, jnp.float64)
            check_grads(f, (x,), order=1, modes=["rev", "fwd"], eps=1e-4)

    def test_second_order_float64(self):
        # Higher derivatives differentiate through the recursion of the custom JVP rule.
        with jax.enable_x64(True):
            logits, logit_pad, labels, label_pad = _problem(
                18, batch=1, steps=4, classes=3, length=1
            )
            f = lambda x: jaxloss.ctc_loss(x, logit_pad, labels, label_pad)
            check_grads(f, (jnp.asarray(logits, jnp.float64),), order=2, modes=["rev"], eps=1e-3)

    def test_finite_differences_float64_with_padding_and_blank(self):
        with jax.enable_x64(True):
            logits, logit_pad, labels, label_pad = _problem(
                13, batch=2, steps=8, classes=4, length=2, blank=3
            )
            x = jnp.asarray(logits, jnp.float64)
            f = lambda x: jaxloss.ctc_loss(x, logit_pad, labels, label_pad, blank_id=3)
            g = jax.grad(f)(x)
            rng = np.random.default_rng(0)
            for _ in range(3):
                v = jnp.asarray(rng.normal(size=x.shape))
                fd = (f(x + 1e-6 * v) - f(x - 1e-6 * v)) / 2e-6
                np.testing.assert_allclose(jnp.sum(g * v), fd, rtol=1e-6)
            # padded frames do not touch the loss
            assert np.all(np.asarray(g)[np.asarray(logit_pad) > 0.5] == 0)

    def test_gradient_rows_sum_to_zero(self):
        # d/dz of -log p is softmax - occupation; both sum to one over classes.
        args = _problem(14)
        g = jax.grad(lambda x: jaxloss.ctc_loss(x, *args[1:], reduction="sum"))(args[0])
        np.testing.assert_allclose(np.asarray(g).sum(-1), 0.0, atol=1e-5)

    def test_jvp_matches_grad(self):
        args = _problem(15)
        f = lambda x: jaxloss.ctc_loss(x, *args[1:])
        v = np.random.default_rng(0).normal(size=args[0].shape).astype(np.float32)
        _, tangent = jax.jvp(f, (args[0],), (v,))
        np.testing.assert_allclose(tangent, jnp.sum(jax.grad(f)(args[0]) * v), rtol=1e-4)

    def test_jit_vmap_grad_together(self):
        logits, logit_pad, labels, label_pad = _problem(16, batch=6)

        def one(x, lp, y, yp):  # one sequence: [T, K], [T], [L], [L]
            return jaxloss.ctc_loss(x, lp, y, yp)

        per_example = jax.jit(jax.vmap(jax.value_and_grad(one)))
        values, grads = per_example(logits, logit_pad, labels, label_pad)
        np.testing.assert_allclose(values, ref_ctc(logits, logit_pad, labels, label_pad), rtol=1e-5)
        batched = jax.grad(
            lambda x: jaxloss.ctc_loss(x, logit_pad, labels, label_pad, reduction="sum")
        )(logits)
        np.testing.assert_allclose(grads, batched, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------
# properties


B, T, K, L = 3, 6, 4, 3  # fixed shapes: one compilation for every example
_loss = jax.jit(jaxloss.ctc_loss, static_argnames=("zero_infinity", "reduction"))


@st.composite
def _small_problems(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([0.1, 1.0, 10.0, 50.0]))
    rng = np.random.default_rng(seed)
    logits = (scale * rng.normal(size=(B, T, K))).astype(np.float32)
    labels = rng.integers(1, K, size=(B, L)).astype(np.int32)
    label_pad = np.arange(L)[None] >= rng.integers(0, L + 1, (B, 1))
    logit_pad = np.arange(T)[None] >= rng.integers(0, T + 1, (B, 1))
    return logits, logit_pad.astype(np.float32), labels, label_pad.astype(np.float32)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(_small_problems())
def test_non_negative_and_matches_reference(problem):
    out = np.asarray(_loss(*problem, reduction="none"))
    ref = ref_ctc(*problem)
    assert np.all(out >= 0)
    assert np.array_equal(np.isinf(out), np.isinf(ref))
    finite = np.isfinite(ref)
    np.testing.assert_allclose(out[finite], ref[finite], rtol=1e-5, atol=1e-5)
    zeroed = np.asarray(_loss(*problem, zero_infinity=True, reduction="none"))
    assert np.all(np.isfinite(zeroed)) and np.all(zeroed[~finite] == 0)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(_small_problems(), st.floats(-5.0, 5.0))
def test_invariant_to_a_per_frame_shift_of_the_logits(problem, c):
    logits = problem[0]
    shift = c * np.arange(T, dtype=np.float32)[None, :, None]
    a = _loss(*problem, zero_infinity=True, reduction="none")
    b = _loss(logits + shift, *problem[1:], zero_infinity=True, reduction="none")
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------
# errors


def _valid():
    return _problem(17)


class TestErrors:
    @pytest.mark.parametrize(
        "labels_cut, paddings_cut, message",
        [
            (np.s_[:3], np.s_[:3], r"'logits' and 'labels'.*labels.shape=\(3, 4\)"),
            (
                np.s_[:],
                np.s_[:, :-1],
                r"'labels' and 'label_paddings'.*label_paddings.shape=\(4, 3\)",
            ),
        ],
        ids=["labels_batch_shape", "label_paddings_shape"],
    )
    def test_label_shapes(self, labels_cut, paddings_cut, message):
        logits, logit_pad, labels, label_pad = _valid()
        with pytest.raises(ValueError, match="ctc_loss: arguments " + message):
            jaxloss.ctc_loss(logits, logit_pad, labels[labels_cut], label_pad[paddings_cut])

    def test_logits_rank(self):
        with pytest.raises(ValueError, match=r"ctc_loss: argument 'logits' must have shape"):
            jaxloss.ctc_loss(
                np.zeros(5, np.float32), np.zeros(5), np.zeros(2, np.int32), np.zeros(2)
            )

    def test_float_labels(self):
        logits, logit_pad, labels, label_pad = _valid()
        with pytest.raises(TypeError, match=r"ctc_loss: argument 'labels' must have an integer"):
            jaxloss.ctc_loss(logits, logit_pad, labels.astype(np.float32), label_pad)

    def test_complex_paddings(self):
        logits, logit_pad, labels, label_pad = _valid()
        with pytest.raises(TypeError, match=r"ctc_loss: argument 'logit_paddings' must hold"):
            jaxloss.ctc_loss(logits, logit_pad.astype(np.complex64), labels, label_pad)

    @pytest.mark.parametrize("blank", [-1, 5])
    def test_blank_id_range(self, blank):
        with pytest.raises(ValueError, match=r"ctc_loss: argument 'blank_id' must be in \[0, 5\)"):
            jaxloss.ctc_loss(*_valid(), blank_id=blank)

    def test_blank_id_type(self):
        with pytest.raises(TypeError, match=r"ctc_loss: argument 'blank_id' must be a Python int"):
            jaxloss.ctc_loss(*_valid(), blank_id=jnp.array(0))

    def test_zero_infinity_type(self):
        with pytest.raises(TypeError, match=r"ctc_loss: argument 'zero_infinity' must be a"):
            jaxloss.ctc_loss(*_valid(), zero_infinity=1)

    def test_errors_are_raised_under_jit(self):
        logits, logit_pad, labels, label_pad = _valid()
        with pytest.raises(ValueError, match=r"'logit_paddings'"):
            jax.jit(jaxloss.ctc_loss)(logits, logit_pad[:, :-1], labels, label_pad)


def test_benchmark_script_quick(tmp_path, capsys):
    from benchmarks import bench_ctc

    out = tmp_path / "ctc.json"
    payload = bench_ctc.main(["--quick", "--repeats", "2", "--json", str(out)])
    assert out.exists() and payload["rows"][0]["values_agree"] and payload["rows"][0]["grads_agree"]
    row = payload["rows"][0]
    assert row["jaxloss_ms"] > 0 and row["optax_ms"] > 0 and len(row["jaxloss_samples_ms"]) == 2
    assert "| B x T x K x L" in capsys.readouterr().out


# ---------------------------------------------------------------------------
# ctc_loss_with_forward_probs


def ref_forward_probs(logits, logit_paddings, labels, blank=0):
    """Float64 log-alphas in optax's layout, from the recursion's definition.

    ``blank[t, b, n]``: the first ``t + 1`` frames emitted ``labels[b, :n]`` and frame
    ``t`` is a blank; ``label[t, b, n]``: they emitted ``labels[b, :n + 1]`` and frame
    ``t`` is ``labels[b, n]``; a padded frame keeps the previous values; at the last
    frame ``blank[n + 1]`` also gets ``label[n]`` (a path may end on a label). Every
    label slot is a state, padding labels included (as optax).
    """
    lp = _log_softmax(logits)
    batch, steps, _ = lp.shape
    length = labels.shape[1]
    blank_a = np.full((steps, batch, length + 1), -np.inf)
    label_a = np.full((steps, batch, length), -np.inf)
    add = np.logaddexp
    for b in range(batch):
        pb = np.full(length + 1, -np.inf)
        pb[0] = 0.0
        pl = np.full(length, -np.inf)
        for t in range(steps):
            if logit_paddings[b, t] < 0.5:
                nb, nl = np.empty_like(pb), np.empty_like(pl)
                for n in range(length + 1):
                    into = add(pb[n], pl[n - 1]) if n else pb[n]
                    nb[n] = into + lp[b, t, blank]
                for n in range(length):
                    into = add(pl[n], pb[n])
                    if n and labels[b, n] != labels[b, n - 1]:
                        into = add(into, pl[n - 1])
                    nl[n] = into + lp[b, t, labels[b, n]]
                pb, pl = nb, nl
            blank_a[t, b], label_a[t, b] = pb, pl
        blank_a[-1, b, 1:] = add(blank_a[-1, b, 1:], label_a[-1, b])
    return blank_a, label_a


class TestForwardProbs:
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_matches_reference_optax_and_ctc_loss(self, dtype):
        logits, lpad, labels, label_pad = _problem(50, steps=34, length=5)
        logits = logits.astype(dtype)
        with jax.enable_x64(dtype == np.float64):
            loss, blank, label = jaxloss.ctc_loss_with_forward_probs(
                logits, lpad, labels, label_pad
            )
            theirs = jax.jit(optax.losses.ctc_loss_with_forward_probs)(
                logits, lpad, labels, label_pad
            )
            plain = jaxloss.ctc_loss(logits, lpad, labels, label_pad, reduction="none")
        assert loss.dtype == blank.dtype == label.dtype == dtype
        assert blank.shape == (34, 4, 6) and label.shape == (34, 4, 5)
        np.testing.assert_array_equal(loss, plain)
        ref_b, ref_l = ref_forward_probs(logits, lpad, labels)
        lens = (label_pad < 0.5).sum(1)
        np.testing.assert_allclose(-ref_b[-1, np.arange(4), lens], loss, rtol=1e-6)
        tol = dict(rtol=2e-6, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12)
        for ours, ref, other in zip((blank, label), (ref_b, ref_l), theirs[1:]):
            ours = np.asarray(ours)
            # unreachable states: -inf here, about log_epsilon = -1e5 (or below) in optax
            np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(ref))
            np.testing.assert_array_equal(np.isfinite(ours), np.asarray(other) > -1e4)
            reach = np.isfinite(ref)
            np.testing.assert_allclose(ours[reach], ref[reach], **tol)
            np.testing.assert_allclose(ours[reach], np.asarray(other)[reach], **tol)

    def test_leading_batch_axes_blank_id_and_gradient_of_the_log_alphas(self):
        logits, lpad, labels, label_pad = _problem(51, batch=6, steps=8, length=3, blank=2)
        reshape = lambda a: a.reshape((2, 3) + a.shape[1:])
        f = jax.jit(
            lambda x: jaxloss.ctc_loss_with_forward_probs(
                x, reshape(lpad), reshape(labels), reshape(label_pad), blank_id=2
            )
        )
        loss, blank, label = f(reshape(logits))
        assert loss.shape == (2, 3) and blank.shape == (8, 2, 3, 4) and label.shape == (8, 2, 3, 3)
        ref_b, ref_l = ref_forward_probs(logits, lpad, labels, blank=2)
        for ours, ref in ((blank, ref_b), (label, ref_l)):
            ours = np.asarray(ours).reshape(ref.shape)
            np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(ref))
            np.testing.assert_allclose(ours[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=2e-6)
        with jax.enable_x64(True):  # the log-alphas differentiate by autodiff
            x, pad, y, ypad = (a[:2, :5] for a in _problem(53, steps=5, length=2))
            x = x.astype(np.float64)
            reach = np.isfinite(ref_forward_probs(x, pad, y)[0])

            @jax.jit
            def alphas(x):
                _, b, _ = jaxloss.ctc_loss_with_forward_probs(x, pad, y, ypad)
                return jnp.sum(jnp.where(reach, b, 0.0))

            g = jax.jit(jax.grad(alphas))(x)
            for v in np.random.default_rng(54).normal(size=(2,) + x.shape):
                fd = (alphas(x + 1e-5 * v) - alphas(x - 1e-5 * v)) / 2e-5
                np.testing.assert_allclose(np.sum(g * v), fd, rtol=1e-7)

    def test_bad_labels_and_errors(self):
        logits, lpad, labels, label_pad = _problem(52)
        labels = labels.copy()
        labels[0, 1] = 99  # inside the target of sequence 0 (of length 4)
        loss, blank, label = jaxloss.ctc_loss_with_forward_probs(logits, lpad, labels, label_pad)
        assert np.isnan(loss[0]) and np.all(np.isnan(blank[:, 0])) and np.all(np.isnan(label[:, 0]))
        assert np.all(np.isfinite(loss[1:]))
        with pytest.raises(ValueError, match=r"ctc_loss_with_forward_probs: argument 'blank_id'"):
            jaxloss.ctc_loss_with_forward_probs(logits, lpad, labels, label_pad, blank_id=5)
        with pytest.raises(TypeError, match=r"ctc_loss_with_forward_probs: argument 'labels'"):
            jaxloss.ctc_loss_with_forward_probs(logits, lpad, labels * 1.0, label_pad)
        assert "ctc_loss_with_forward_probs" in jaxloss.__all__
        assert "ctc_loss_with_forward_probs" not in jaxloss.names()
