"""Float32 accuracy of ``jaxloss.ctc_loss`` against optax's, measured from float64.

The reference is ``optax.losses.ctc_loss`` in float64 (its autodiff gradient), itself
checked against ``jaxloss.ctc_loss`` in float64. Logits are rounded to float32 first, so
the float64 reference is exact for the float32 inputs and the errors below are those of
the float32 computations only.

For each size of the grid, the largest absolute error of jaxloss's float32 gradient
(w.r.t. the logits) must be at most optax's float32 one, and so must the error of the
loss values (both the plain call and the value of ``value_and_grad``). The only slack is
float32's own resolution: a gradient error below ``2**-23`` (one ulp at 0.5..1) or a value
error below one ulp of the value counts as exact, since float32 cannot do better than
rounding the result.

Targets have no two equal neighbours, so a target as long as the input (``L = T``) is
feasible: exactly one alignment, where optax's gradient is exact to rounding.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxloss

GRAD_RESOLUTION = 2.0**-23


def _inputs(seed: int, batch: int, steps: int, classes: int, length: int, one_to_one: bool):
    """Logits (float32 values in float64), paddings, labels; odd rows are padded."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, steps, classes)).astype(np.float32).astype(np.float64)
    labels = np.zeros((batch, length), np.int32)
    for b in range(batch):
        prev = 0
        for i in range(length):
            choices = [k for k in range(1, classes) if k != prev]  # 0 is the blank
            prev = labels[b, i] = rng.choice(choices)
    label_lens = np.full(batch, length)
    label_lens[1::2] = rng.integers(max(1, length // 2), length + 1, size=batch // 2)
    if one_to_one:  # padded rows keep frames == target length
        frames = label_lens.copy()
    else:
        frames = np.full(batch, steps)
        frames[1::2] = rng.integers(max(1, steps // 2), steps + 1, size=batch // 2)
    logit_pads = (np.arange(steps)[None, :] >= frames[:, None]).astype(np.float64)
    label_pads = (np.arange(length)[None, :] >= label_lens[:, None]).astype(np.float64)
    return logits, logit_pads, labels, label_pads


def _ours(x, lp, y, yp):
    return jaxloss.ctc_loss(x, lp, y, yp, reduction="none")


def _theirs(x, lp, y, yp):
    return optax.losses.ctc_loss(x, lp, y, yp)


def _with_values(fn):
    """``x -> ((sum, per-sequence values), grad)``, one compiled program."""
    return jax.jit(jax.value_and_grad(lambda x, *a: (jnp.sum(fn(x, *a)), fn(x, *a)), has_aux=True))


_VG = {"jaxloss": _with_values(_ours), "optax": _with_values(_theirs)}


def _errors(batch, steps, classes, length, one_to_one, seed=0, cross_check=False):
    logits, logit_pads, labels, label_pads = _inputs(
        seed, batch, steps, classes, length, one_to_one
    )
    with jax.enable_x64(True):
        args64 = (jnp.asarray(logits), jnp.asarray(logit_pads), labels, jnp.asarray(label_pads))
        (_, ref_values), ref_grad = _VG["optax"](*args64)
        ref_values, ref_grad = np.asarray(ref_values), np.asarray(ref_grad)
        if cross_check:  # the two float64 computations agree: the reference is sound
            (_, values64), grad64 = _VG["jaxloss"](*args64)
            np.testing.assert_allclose(np.asarray(values64), ref_values, rtol=1e-10)
            np.testing.assert_allclose(np.asarray(grad64), ref_grad, atol=1e-10)
    args32 = (
        jnp.asarray(logits, jnp.float32),
        jnp.asarray(logit_pads, jnp.float32),
        jnp.asarray(labels),
        jnp.asarray(label_pads, jnp.float32),
    )
    out = {}
    for name in ("jaxloss", "optax"):
        (_, values), grad = _VG[name](*args32)
        out[name] = {
            "grad": float(np.max(np.abs(np.asarray(grad, np.float64) - ref_grad))),
            "value": float(np.max(np.abs(np.asarray(values, np.float64) - ref_values))),
        }
    # jaxloss's value without a gradient comes from another program (the alphas alone);
    # optax's is the same computation either way
    plain = np.asarray(jax.jit(_ours)(*args32), np.float64)
    out["jaxloss"]["plain"] = float(np.max(np.abs(plain - ref_values)))
    value_resolution = float(np.max(np.spacing(np.abs(ref_values).astype(np.float32))))
    return out, value_resolution


def _check(out, value_resolution):
    ours, theirs = out["jaxloss"], out["optax"]
    assert ours["grad"] <= max(theirs["grad"], GRAD_RESOLUTION), out
    for kind in ("value", "plain"):
        assert ours[kind] <= max(theirs["value"], value_resolution), out


GRID = [
    (steps, length, one_to_one)
    for steps in (7, 200, 512)
    for length, one_to_one in ((max(1, steps // 4), False), (steps, True))
    # T == 200 with L = T / 4 sits between 7 and 512 frames with the same ratio; T == L == 50
    # is the regression test below, with a larger batch and the float64 cross-check
    if (steps, one_to_one) != (200, False)
]


@pytest.mark.parametrize(("steps", "length", "one_to_one"), GRID)
def test_ctc_float32_accuracy_at_most_optax(steps, length, one_to_one):
    classes = 13 if steps < 200 else 32
    # the float64 cross-check at the largest size (and at T == L in the regression test)
    cross_check = steps == 512 and not one_to_one
    _check(*_errors(4, steps, classes, length, one_to_one, cross_check=cross_check))


def test_ctc_float32_grad_one_to_one_alignment():
    """Regression: T == L == 50 has a single alignment, where optax's float32 gradient is
    exact to rounding (7e-8); ours was off by 1.5e-5 (alpha + beta - log p formed from
    states rounded at magnitudes of about 100)."""
    out, value_resolution = _errors(8, 50, 13, 50, True, cross_check=True)
    assert out["jaxloss"]["grad"] <= max(out["optax"]["grad"], GRAD_RESOLUTION), out
    _check(out, value_resolution)
