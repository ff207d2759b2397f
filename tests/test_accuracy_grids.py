"""Float32 accuracy of the cross-entropy family against optax, on a grid of sizes.

For each loss, class count and logit scale, the float32 value and gradient (a VJP with a
random cotangent) of jaxloss and of optax are compared with optax's float64 evaluation
of the same float32-rounded inputs, so only the arithmetic differs. jaxloss's maximum
absolute error must be at or below optax's plus one float32 unit in the last place of
the result's largest magnitude. Both libraries' errors here are one to three such units,
from different but equally stable formulas (poly's row sums, the focal factor's
log-space derivatives), so within one unit the order is chance; a formula that loses
accuracy (as CTC's gradient did, by a factor of 200) fails.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxloss

EPS32 = float(np.finfo(np.float32).eps)
N = 16
TIE_ULPS = 1.0

LOSSES = {
    "softmax_cross_entropy": ("soft", optax.losses.softmax_cross_entropy),
    "softmax_cross_entropy_with_integer_labels": (
        "int",
        optax.losses.softmax_cross_entropy_with_integer_labels,
    ),
    "sigmoid_binary_cross_entropy": ("binary", optax.losses.sigmoid_binary_cross_entropy),
    "poly_loss_cross_entropy": ("soft", optax.losses.poly_loss_cross_entropy),
    "sigmoid_focal_loss": ("binary", optax.losses.sigmoid_focal_loss),
}
GRID = [(c, s) for c in (3, 1000) for s in (1.0, 30.0)]


def _inputs(kind, classes, scale):
    rng = np.random.default_rng(classes + int(scale))
    x = (rng.normal(size=(N, classes)) * scale).astype(np.float32)
    if kind == "soft":
        y = rng.dirichlet(np.ones(classes), N).astype(np.float32)
    elif kind == "int":
        y = rng.integers(0, classes, N).astype(np.int32)
    else:
        y = (rng.random((N, classes)) < 0.5).astype(np.float32)
    return x, y, rng


def _value_and_vjp(f, x, y, cot):
    out, vjp = jax.vjp(lambda v: f(v, y), x)
    return np.asarray(out, np.float64), np.asarray(vjp(cot)[0], np.float64)


def _err(a, ref):
    return float(np.max(np.abs(a - ref)))


@pytest.mark.parametrize("classes, scale", GRID)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_float32_error_at_or_below_optax(name, classes, scale):
    kind, theirs = LOSSES[name]
    ours = functools.partial(getattr(jaxloss, name), reduction="none")
    x, y, rng = _inputs(kind, classes, scale)
    cot_shape = (N,) if kind != "binary" else (N, classes)
    cot = rng.uniform(0.5, 1.5, size=cot_shape)
    with jax.enable_x64(True):
        y64 = jnp.asarray(y, jnp.float64 if kind != "int" else jnp.int32)
        ref_v, ref_g = _value_and_vjp(theirs, jnp.asarray(x, jnp.float64), y64, jnp.asarray(cot))
    cot32 = jnp.asarray(cot, jnp.float32)
    ours_v, ours_g = _value_and_vjp(jax.jit(ours), jnp.asarray(x), jnp.asarray(y), cot32)
    theirs_v, theirs_g = _value_and_vjp(jax.jit(theirs), jnp.asarray(x), jnp.asarray(y), cot32)
    for what, a, b, ref in (("value", ours_v, theirs_v, ref_v), ("grad", ours_g, theirs_g, ref_g)):
        tie = TIE_ULPS * EPS32 * float(np.max(np.abs(ref)))
        assert _err(a, ref) <= _err(b, ref) + tie, (what, _err(a, ref), _err(b, ref), tie)
