"""Tests of the preference-optimization losses (jaxloss/_preference.py).

References are float64 NumPy code written from the papers' formulas (and TRL's
definitions of the logged metrics), independent of jaxloss; their gradients are central
finite differences in float64. The registry-wide checks (jit, vmap, reductions, dtypes,
sharding, ...) run on the cases in tests/cases/preference.py.
"""

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss._preference import (
    cpo_loss,
    dpo_loss,
    kto_loss,
    orpo_loss,
    sequence_log_probs,
    simpo_loss,
)

SHAPE = (2, 3)
WHERE = np.array([[True, False, True], [True, True, True]])

# ---------------------------------------------------------------------------
# float64 references


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _pair(u, e, loss_type):
    """DPO's sigmoid/robust/hinge penalty of the scaled margin ``u``."""
    if loss_type == "sigmoid":
        return -(1 - e) * _log_sigmoid(u) - e * _log_sigmoid(-u)
    if loss_type == "robust":
        return (-(1 - e) * _log_sigmoid(u) + e * _log_sigmoid(-u)) / (1 - 2 * e)
    assert loss_type == "hinge"
    return np.maximum(0.0, 1 - u)


def _rewards(chosen, rejected, **extra):
    return dict(
        chosen_rewards=chosen,
        rejected_rewards=rejected,
        reward_margins=chosen - rejected,
        reward_accuracies=(chosen > rejected).astype(np.float64),
        **extra,
    )


def ref_dpo(pc, pr, rc, rr, *, beta=0.1, label_smoothing=0.0, loss_type="sigmoid"):
    h = (pc - pr) - (rc - rr)
    if loss_type == "ipo":
        values = (h - 1 / (2 * beta)) ** 2
    else:
        values = _pair(beta * h, label_smoothing, loss_type)
    return values, _rewards(beta * (pc - rc), beta * (pr - rr))


def ref_simpo(pc, pr, *, beta=2.0, gamma=1.0, label_smoothing=0.0, loss_type="sigmoid"):
    values = _pair(beta * (pc - pr) - gamma, label_smoothing, loss_type)
    return values, _rewards(beta * pc, beta * pr)


def ref_cpo(pc, pr, *, beta=0.1, label_smoothing=0.0, loss_type="sigmoid", nll_weight=1.0):
    values = _pair(beta * (pc - pr), label_smoothing, loss_type) - nll_weight * pc
    return values, _rewards(beta * pc, beta * pr)


def ref_orpo(pc, pr, *, beta=0.1, nll_weight=1.0):
    # odds p / (1 - p) of the average per-token probability p = exp(logp)
    def log_odds(lp):
        return lp - np.log(-np.expm1(lp))

    ratio = log_odds(pc) - log_odds(pr)
    values = -nll_weight * pc - beta * _log_sigmoid(ratio)
    return values, _rewards(beta * pc, beta * pr, log_odds=ratio)


def ref_kto(p, r, desirable, p_kl=None, r_kl=None, *, beta=0.1, desirable_weight=1.0,
            undesirable_weight=1.0, kl=None):  # fmt: skip
    """``kl`` overrides the reference point (held fixed for finite differences)."""
    if kl is None:
        kl = 0.0 if p_kl is None else max(0.0, float(np.mean(p_kl - r_kl)))
    sigmoid = lambda x: 1 / (1 + np.exp(-x))
    logratio = p - r
    values = np.where(
        desirable,
        desirable_weight * (1 - sigmoid(beta * (logratio - kl))),
        undesirable_weight * (1 - sigmoid(beta * (kl - logratio))),
    )
    return values, dict(rewards=beta * logratio, kl=np.full(p.shape, kl))


def ref_reduce(values, reduction, where=None, weights=None):
    m = np.ones(values.shape, bool) if where is None else np.broadcast_to(where, values.shape)
    w = np.ones(values.shape) if weights is None else np.broadcast_to(weights, values.shape)
    if reduction == "none":
        return np.where(m, values * w, 0.0)
    num = np.sum(np.where(m, values * w, 0.0))
    if reduction == "sum":
        return num
    den = np.sum(np.where(m, w, 0.0))
    return num / den if den > 0 else 0.0


def finite_differences(f, arrays, eps=1e-6):
    """Central differences of the scalar ``f(*arrays)`` with respect to each array."""
    grads = []
    for i, x in enumerate(arrays):
        g = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            up, down = [a.copy() for a in arrays], [a.copy() for a in arrays]
            up[i][j] += eps
            down[i][j] -= eps
            g[j] = (f(*up) - f(*down)) / (2 * eps)
        grads.append(g)
    return grads


# ---------------------------------------------------------------------------
# inputs


def _sequence(rng):
    return -rng.uniform(5.0, 50.0, size=SHAPE)


def _average(rng):
    return -rng.uniform(0.05, 3.0, size=SHAPE)  # both sides of -ln 2 for ORPO


def _dpo_inputs(rng):
    pc, pr = _sequence(rng), _sequence(rng)
    return [pc, pr, pc + rng.normal(scale=3.0, size=SHAPE), pr + rng.normal(scale=3.0, size=SHAPE)]


def _kto_inputs(rng, kl):
    p = _sequence(rng)
    arrays = [p, p + rng.normal(scale=3.0, size=SHAPE)]
    desirable = np.array([[True, False, True], [False, True, False]])
    if not kl:
        return arrays, (desirable,)
    p_kl = _sequence(rng)
    return arrays, (desirable, p_kl, p_kl - rng.uniform(0.0, 1.0, size=SHAPE))


# name -> (loss, reference, make(rng) -> (float arrays, other args), options)
SPECS = {
    "dpo-sigmoid": (dpo_loss, ref_dpo, _dpo_inputs, dict(beta=0.2, label_smoothing=0.1)),
    "dpo-robust": (dpo_loss, ref_dpo, _dpo_inputs, dict(label_smoothing=0.2, loss_type="robust")),
    "dpo-hinge": (dpo_loss, ref_dpo, _dpo_inputs, dict(beta=0.5, loss_type="hinge")),
    "dpo-ipo": (dpo_loss, ref_dpo, _dpo_inputs, dict(beta=0.1, loss_type="ipo")),
    "simpo-sigmoid": (
        simpo_loss,
        ref_simpo,
        lambda rng: [_average(rng), _average(rng)],
        dict(beta=2.5, gamma=1.2, label_smoothing=0.1),
    ),
    "simpo-hinge": (
        simpo_loss,
        ref_simpo,
        lambda rng: [_average(rng), _average(rng)],
        dict(gamma=0.5, loss_type="hinge"),
    ),
    "cpo-sigmoid": (
        cpo_loss,
        ref_cpo,
        lambda rng: [_sequence(rng), _sequence(rng)],
        dict(label_smoothing=0.1, nll_weight=0.5),
    ),
    "cpo-hinge": (
        cpo_loss,
        ref_cpo,
        lambda rng: [_sequence(rng), _sequence(rng)],
        dict(beta=0.05, loss_type="hinge"),
    ),
    "orpo": (orpo_loss, ref_orpo, lambda rng: [_average(rng), _average(rng)], dict(beta=0.3)),
    "kto": (
        kto_loss,
        ref_kto,
        functools.partial(_kto_inputs, kl=True),
        dict(undesirable_weight=1.5),
    ),
    "kto-no-kl": (kto_loss, ref_kto, functools.partial(_kto_inputs, kl=False), dict(beta=0.3)),
}


# The scaled margins of the hinge losses (their kink is at 1).
HINGE_MARGINS = {
    "dpo-hinge": lambda pc, pr, rc, rr: 0.5 * ((pc - pr) - (rc - rr)),
    "simpo-hinge": lambda pc, pr: 2.0 * (pc - pr) - 0.5,
    "cpo-hinge": lambda pc, pr: 0.05 * (pc - pr),
}


def _make(name, seed):
    made = SPECS[name][2](np.random.default_rng(seed))
    return made if isinstance(made, tuple) else (made, ())


@pytest.mark.parametrize("name", list(SPECS))
def test_values_gradients_and_metrics_match_the_reference(name):
    fn, ref, _, options = SPECS[name]
    arrays, rest = _make(name, seed=sum(map(ord, name)))
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=SHAPE)
    if name in HINGE_MARGINS:  # finite differences need margins away from the kink at 1
        u = HINGE_MARGINS[name](*arrays)
        assert np.all(np.abs(1 - u) > 1e-3) and np.any(u > 1) and np.any(u < 1), u
    n = len(arrays)
    # Masked pairs hold NaN: they must not reach the value or the gradient.
    poisoned = [np.where(WHERE, a, np.nan) for a in arrays]

    def program(*args):
        f = lambda *a, **kw: fn(*a, *args[n : n + len(rest)], **options, **kw)
        floats = args[:n]
        masked = lambda *a: f(*a, where=WHERE, weights=weights)
        value, grads = jax.value_and_grad(masked, argnums=tuple(range(n)))(*floats)
        clean = args[n + len(rest) :]
        return dict(
            none=f(*clean, reduction="none"),
            sum=f(*clean, reduction="sum"),
            mean=f(*clean),
            masked_none=f(*floats, where=WHERE, weights=weights, reduction="none"),
            masked_mean=value,
            grads=grads,
            metrics=f(*floats, where=WHERE, return_metrics=True, reduction="none")[1],
        )

    with jax.enable_x64(True):
        out = jax.tree.map(np.asarray, jax.jit(program)(*poisoned, *rest, *arrays))
    values, metrics = ref(*arrays, *rest, **options)
    tol = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["none"], values, **tol)
    np.testing.assert_allclose(out["sum"], values.sum(), **tol)
    np.testing.assert_allclose(out["mean"], values.mean(), **tol)
    np.testing.assert_allclose(
        out["masked_none"], ref_reduce(values, "none", WHERE, weights), **tol
    )
    np.testing.assert_allclose(
        out["masked_mean"], ref_reduce(values, "mean", WHERE, weights), **tol
    )

    kl = metrics["kl"][0, 0] if "kl" in metrics else None  # KTO's z: gradient-stopped
    extra = {} if kl is None else {"kl": kl}

    def reduced(*a):
        return ref_reduce(ref(*a, *rest, **options, **extra)[0], "mean", WHERE, weights)

    expected = finite_differences(reduced, arrays)
    for g, e in zip(out["grads"], expected, strict=True):
        assert np.all(np.asarray(g)[~WHERE] == 0)
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    assert sorted(out["metrics"]) == sorted(metrics)
    for key, m in metrics.items():
        np.testing.assert_allclose(out["metrics"][key], np.where(WHERE, m, 0), err_msg=key, **tol)


def test_kto_reference_point_is_gradient_stopped_and_clamped():
    (p, r), (desirable, p_kl, r_kl) = _kto_inputs(np.random.default_rng(3), kl=True)
    with jax.enable_x64(True):
        grads = jax.jit(jax.grad(lambda a, b: kto_loss(p, r, desirable, a, b), argnums=(0, 1)))(
            p_kl, r_kl
        )
        for g in grads:
            np.testing.assert_array_equal(g, 0.0)
        # a negative KL estimate is clamped to 0: the same as no KL arrays at all
        below = kto_loss(p, r, desirable, r_kl, p_kl, reduction="none")
        np.testing.assert_allclose(below, kto_loss(p, r, desirable, reduction="none"), rtol=1e-12)
        # the KL arrays may have their own shape
        out = kto_loss(p, r, desirable, p_kl.ravel()[:4], r_kl.ravel()[:4], reduction="none")
        z = max(0.0, float(np.mean(p_kl.ravel()[:4] - r_kl.ravel()[:4])))
        np.testing.assert_allclose(out, ref_kto(p, r, desirable, kl=z)[0], rtol=1e-12)


def test_gradient_with_respect_to_traced_hyperparameters():
    rng = np.random.default_rng(4)
    pc, pr, rc, rr = _dpo_inputs(rng)
    (p, r), (desirable, p_kl, r_kl) = _kto_inputs(rng, kl=True)
    a, b = _average(rng), _average(rng)
    losses = {
        "dpo-sigmoid": (lambda t: dpo_loss(pc, pr, rc, rr, beta=t, label_smoothing=0.1), 0.2),
        "dpo-ipo": (lambda t: dpo_loss(pc, pr, rc, rr, beta=t, loss_type="ipo"), 0.3),
        "simpo-gamma": (lambda t: simpo_loss(a, b, gamma=t), 0.7),
        "orpo": (lambda t: orpo_loss(a, b, beta=t), 0.2),
        "kto": (lambda t: kto_loss(p, r, desirable, p_kl, r_kl, beta=t), 0.15),
    }
    references = {
        "dpo-sigmoid": lambda t: ref_dpo(pc, pr, rc, rr, beta=t, label_smoothing=0.1)[0].mean(),
        "dpo-ipo": lambda t: ref_dpo(pc, pr, rc, rr, beta=t, loss_type="ipo")[0].mean(),
        "simpo-gamma": lambda t: ref_simpo(a, b, gamma=t)[0].mean(),
        "orpo": lambda t: ref_orpo(a, b, beta=t)[0].mean(),
        "kto": lambda t: ref_kto(p, r, desirable, p_kl, r_kl, beta=t)[0].mean(),
    }
    with jax.enable_x64(True):
        grads = jax.jit(lambda ts: [jax.grad(f)(t) for (f, _), t in zip(losses.values(), ts)])(
            [t for _, t in losses.values()]
        )
    for (name, (_, t)), g in zip(losses.items(), grads):
        (expected,) = finite_differences(
            lambda x, name=name: references[name](float(x[()])), [np.array(t)]
        )
        np.testing.assert_allclose(g, expected, rtol=1e-6, err_msg=name)


def test_known_values_at_zero_margin():
    z = jnp.full((2,), -20.0)
    log2 = np.log(2.0)
    for loss_type, expected in [("sigmoid", log2), ("robust", log2), ("hinge", 1.0), ("ipo", 25.0)]:
        e = 0.2 if loss_type == "robust" else 0.0
        out = dpo_loss(z, z, z, z, loss_type=loss_type, label_smoothing=e)
        np.testing.assert_allclose(out, expected, rtol=1e-6, err_msg=loss_type)
    np.testing.assert_allclose(simpo_loss(z, z, gamma=0.0), log2, rtol=1e-6)
    np.testing.assert_allclose(cpo_loss(z, z, nll_weight=0.0), log2, rtol=1e-6)
    np.testing.assert_allclose(orpo_loss(z / 40, z / 40, beta=1.0), log2 + 0.5, rtol=1e-6)
    out = kto_loss(z, z, jnp.array([True, False]), undesirable_weight=3.0, reduction="none")
    np.testing.assert_allclose(out, [0.5, 1.5], rtol=1e-6)


def test_large_margins_give_finite_values_and_gradients():
    big = jnp.array([1e4, -1e4, 3e3, -3e3], jnp.float32)
    base = jnp.full((4,), -20.0)
    desirable = jnp.array([True, True, False, False])
    small = jnp.array([-1e-4, -30.0, -1e-3, -20.0])  # ORPO: average log-probs near 0 too

    def all_losses(x):
        out = [
            dpo_loss(base, base - x, base, base, loss_type=t, **kw)
            for t, kw in [
                ("sigmoid", {"label_smoothing": 0.1}),
                ("robust", {"label_smoothing": 0.1}),
                ("hinge", {}),
                ("ipo", {}),
            ]
        ]
        out += [simpo_loss(base, base - x, loss_type=t) for t in ("sigmoid", "hinge")]
        out += [cpo_loss(base, base - x, loss_type=t) for t in ("sigmoid", "hinge")]
        out += [orpo_loss(small, jnp.flip(small) - jnp.abs(x)), kto_loss(base + x, base, desirable)]
        return out

    values, grads = jax.jit(lambda x: (all_losses(x), jax.jacrev(all_losses)(x)))(big)
    for i, (v, g) in enumerate(zip(values, grads)):
        assert np.isfinite(v) and np.all(np.isfinite(g)), (i, v, g)
    # the sigmoid loss is linear in the margin far on the wrong side: slope beta / 4
    np.testing.assert_allclose(grads[0][1], -0.1 * 0.9 / 4, rtol=1e-5)


def test_smoothing_with_hinge_or_ipo_is_an_error():
    z = np.full((2,), -5.0, np.float32)
    raw = inspect.unwrap(dpo_loss)  # the body, where a Python float is known at trace time
    for loss_type in ("hinge", "ipo"):
        with pytest.raises(
            ValueError,
            match=rf"dpo_loss: argument 'label_smoothing' must be 0 with loss_type='{loss_type}'"
            r".*, got 0.1",
        ):
            raw(z, z, z, z, loss_type=loss_type, label_smoothing=0.1)
        # The public call checks the Python value before its kernel (core.precheck)...
        with pytest.raises(ValueError, match=r"dpo_loss: argument 'label_smoothing' must be 0"):
            dpo_loss(z, z, z, z, loss_type=loss_type, label_smoothing=0.1)
        # ...a traced value gives NaN, and an error under jaxloss.checked.
        traced = jax.jit(
            lambda e, t=loss_type: dpo_loss(z, z, z, z, loss_type=t, label_smoothing=e)
        )
        assert np.isnan(traced(0.1))
        with pytest.raises(Exception, match=r"argument 'label_smoothing' must be 0 with"):
            jaxloss.checked(traced)(0.1)
        assert float(dpo_loss(z, z, z, z, loss_type=loss_type, label_smoothing=0.0)) >= 0
    with pytest.raises(ValueError, match=r"simpo_loss: argument 'label_smoothing' must be 0"):
        inspect.unwrap(simpo_loss)(z, z, loss_type="hinge", label_smoothing=0.2)
    with pytest.raises(ValueError, match=r"cpo_loss: argument 'label_smoothing' must be 0"):
        cpo_loss(z, z, loss_type="hinge", label_smoothing=0.2)
    with pytest.raises(ValueError, match=r"simpo_loss: argument 'label_smoothing' must be 0"):
        jaxloss.get("simpo_loss", loss_type="hinge")(z, z, label_smoothing=0.3)


def test_errors():
    z = np.full((3,), -5.0, np.float32)
    with pytest.raises(
        ValueError,
        match=r"^dpo_loss: argument 'loss_type' must be one of 'sigmoid', 'robust', 'hinge' or "
        r"'ipo', got 'dpop'",
    ):
        dpo_loss(z, z, z, z, loss_type="dpop")
    with pytest.raises(ValueError, match=r"simpo_loss: .* one of 'sigmoid' or 'hinge', got 'ipo'"):
        simpo_loss(z, z, loss_type="ipo")
    with pytest.raises(
        ValueError,
        match=r"dpo_loss: arguments 'policy_chosen_logps' and 'reference_rejected_logps' must have "
        r"the same shape, got policy_chosen_logps.shape=\(3,\) and "
        r"reference_rejected_logps.shape=\(2,\)",
    ):
        dpo_loss(z, z, z, z[:2])
    with pytest.raises(
        TypeError, match=r"dpo_loss: argument 'reference_chosen_logps' must have a floating dtype"
    ):
        dpo_loss(z, z, z.astype(np.int32), z)
    for bad in (0.5, -0.1):
        with pytest.raises(
            ValueError,
            match=rf"dpo_loss: argument 'label_smoothing' must be in \[0.0, 0.5\), got {bad}",
        ):
            dpo_loss(z, z, z, z, label_smoothing=bad)
    with pytest.raises(ValueError, match=r"dpo_loss: argument 'beta' must be > 0.0, got 0.0"):
        dpo_loss(z, z, z, z, beta=0.0)
    with pytest.raises(ValueError, match=r"cpo_loss: argument 'nll_weight' must be >= 0.0"):
        cpo_loss(z, z, nll_weight=-1.0)
    with pytest.raises(TypeError, match=r"orpo_loss: argument 'return_metrics' must be a Python"):
        orpo_loss(z, z, return_metrics=1)
    d = np.array([True, False, True])
    with pytest.raises(
        TypeError, match=r"kto_loss: argument 'desirable' must be a boolean array .*, got float32"
    ):
        kto_loss(z, z, d.astype(np.float32))
    with pytest.raises(
        ValueError, match=r"'policy_logps' and 'desirable' must have the same shape"
    ):
        kto_loss(z, z, d[:2])
    for kl in [dict(policy_kl_logps=z), dict(reference_kl_logps=z)]:
        (given,) = kl
        with pytest.raises(
            ValueError,
            match=rf"kto_loss: arguments 'policy_kl_logps' and 'reference_kl_logps' must be given "
            rf"together \(both or neither\), got only '{given}'",
        ):
            kto_loss(z, z, d, **kl)
    with pytest.raises(ValueError, match=r"'policy_kl_logps' and 'reference_kl_logps' must have"):
        kto_loss(z, z, d, z, z[:2])


# ---------------------------------------------------------------------------
# sequence_log_probs


def test_sequence_log_probs_sums_averages_and_masks():
    rng = np.random.default_rng(5)
    lp = -rng.uniform(0.1, 5.0, size=(3, 4, 5))
    m = rng.random((3, 4, 5)) < 0.6
    m[0, 0] = False  # a sequence with no token
    m[1, 1] = True
    poisoned = np.where(m, lp, np.nan)
    total = np.where(m, lp, 0).sum(-1)
    count = m.sum(-1)
    average = np.where(count > 0, total / np.maximum(count, 1), 0.0)

    def program(x):
        out = {
            "sum": sequence_log_probs(x, where=m),
            "average": sequence_log_probs(x, where=m, average=True),
            "axis0": sequence_log_probs(
                jnp.moveaxis(x, -1, 0), where=np.moveaxis(m, -1, 0), axis=0
            ),
        }
        grads = {
            k: jax.grad(lambda v, k=k: jnp.sum(sequence_log_probs(v, where=m, average=k)))(x)
            for k in (False, True)
        }
        return out, grads

    with jax.enable_x64(True):
        out, grads = jax.tree.map(np.asarray, jax.jit(program)(poisoned))
    np.testing.assert_allclose(out["sum"], total, rtol=1e-12)
    np.testing.assert_allclose(out["axis0"], total, rtol=1e-12)
    np.testing.assert_allclose(out["average"], average, rtol=1e-12)
    assert out["sum"][0, 0] == 0 and out["average"][0, 0] == 0
    np.testing.assert_array_equal(grads[False], m.astype(np.float64))
    np.testing.assert_allclose(grads[True], m / np.maximum(count, 1)[..., None], rtol=1e-12)
    # no mask: every token; half precision computes in float32
    x = lp.astype(np.float16)
    np.testing.assert_allclose(
        sequence_log_probs(x, average=True), x.astype(np.float64).mean(-1), rtol=1e-5
    )
    assert sequence_log_probs(x).dtype == jnp.float32
    assert sequence_log_probs(np.zeros((2, 0), np.float32), average=True).tolist() == [0.0, 0.0]


def test_sequence_log_probs_errors():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match=r"sequence_log_probs: argument 'where' must be a boolean"):
        sequence_log_probs(x, where=np.ones((2, 3), np.int32))
    with pytest.raises(ValueError, match=r"'where' with shape \(3, 3\) must be broadcastable"):
        sequence_log_probs(x, where=np.ones((3, 3), bool))
    with pytest.raises(TypeError, match=r"'token_log_probs' must have a floating dtype"):
        sequence_log_probs(x.astype(np.int32))
    with pytest.raises(ValueError, match=r"argument 'axis'=2 is out of range"):
        sequence_log_probs(x, axis=2)
