"""Registry-driven gradient checks with respect to every floating input.

For every registered loss and every floating positional argument (predictions, logits,
labels, targets, embeddings, variances; not CTC's 0/1 paddings), the reverse-mode
gradient of a randomly weighted sum of the ``"none"`` output is compared, in float64,
with finite differences of the same function along random directions:

* at the case's random inputs (soft labels);
* at hard labels, for the losses that have ``[0, 1]``-valued labels or targets: every
  such argument (after the first) is rounded to 0/1 (a one-hot where it is a
  distribution over the last axis), the label that exposes a dropped derivative where
  a label is exactly 0. There the
  direction points into ``[0, 1]`` and the difference is one-sided (second order), so
  no probe leaves the domain;
* with a ``where`` mask that drops some examples.

The finite differences never go through jaxloss's autodiff, so a derivative that the
code drops or gets wrong (a double ``where``, a custom rule) shows up here. For each
check, the gradients and the finite-difference evaluations are one compiled program.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.cases import all_cases

CASES = all_cases()
NAMES = jaxloss.names()
BATCH = (2, 3)
H = 1e-6


def _floating(name, args):
    case = CASES[name]
    return [
        i
        for i, a in enumerate(args)
        if isinstance(a, np.ndarray) and a.dtype.kind == "f" and i not in case.structural
    ]


def _make64(name, seed=0):
    args, kwargs = CASES[name].make(np.random.default_rng(seed), BATCH)
    args = [
        a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
        for a in args
    ]
    return args, kwargs


def _hard(a):
    """0/1 version of a [0, 1]-valued array: one-hot where it is a distribution."""
    if a.ndim and np.allclose(a.sum(-1), 1.0):
        return np.eye(a.shape[-1])[np.argmax(a, -1)]
    return (a > 0.5).astype(a.dtype)


def _grads_and_values(fs, xs, points):
    """Each f's gradient at its x and its values at its points, from one compiled program."""

    def program(xs, points):
        return [(jax.grad(f)(x), [f(p) for p in ps]) for f, x, ps in zip(fs, xs, points)]

    return jax.jit(program)(xs, points)


def _directional_checks(checks, one_sided):
    """Compares <grad f(x), d> with a finite difference of f along d (float64), for each
    ``checks[i] = (f, x, d)``. The probes f(x + t d) are plain evaluations of f (no
    autodiff), compiled in one program with the gradients."""
    fs, xs, directions = zip(*checks.values())
    ts = (0.0, H, 2 * H) if one_sided else (H, -H)
    points = [[jnp.asarray(x + t * d) for t in ts] for x, d in zip(xs, directions)]
    results = _grads_and_values(fs, [jnp.asarray(x) for x in xs], points)
    for i, (g, values), direction in zip(checks, results, directions, strict=True):
        g = np.asarray(g)
        analytic = float(np.sum(g * direction))
        fx = dict(zip(ts, map(float, values), strict=True))
        if one_sided:
            numeric = (-3 * fx[0.0] + 4 * fx[H] - fx[2 * H]) / (2 * H)
        else:
            numeric = (fx[H] - fx[-H]) / (2 * H)
        scale = max(1.0, abs(analytic), float(np.sum(np.abs(g) * np.abs(direction))))
        assert abs(analytic - numeric) <= 2e-5 * scale, (f"argument {i}", analytic, numeric)


def _checks(name, args, kwargs, where=None, hard=False):
    fn = getattr(jaxloss, name)
    rng = np.random.default_rng(1)
    out_shape = jax.eval_shape(lambda: fn(*args, **kwargs, reduction="none")).shape
    cot = jnp.asarray(rng.uniform(0.5, 1.5, size=out_shape))
    extra = {} if where is None else {"where": where}
    checks = {}  # argument index -> (f, x, direction)
    for i in _floating(name, args):
        x = args[i]
        in_unit = bool(np.all((x >= 0) & (x <= 1)))
        if hard and (i == 0 or not in_unit):
            continue  # hard values are for labels/targets, never the predictions (arg 0)
        if hard:
            x = _hard(x)
            # Into the interior: up where 0, down where 1 (and along the simplex's
            # interior for a one-hot: -1 on the hot class, +1/(C-1) elsewhere).
            if x.ndim and np.allclose(x.sum(-1), 1.0):
                direction = np.where(x == 1, -1.0, 1.0 / (x.shape[-1] - 1))
            else:
                direction = np.where(x == 1, -1.0, 1.0)
        else:
            direction = rng.normal(size=x.shape)
        x_args = list(args)
        x_args[i] = x  # the hard values where hard, else args unchanged

        def f(v, i=i, x_args=x_args):
            a = list(x_args)
            a[i] = v
            return jnp.sum(cot * fn(*a, **kwargs, **extra, reduction="none"))

        checks[i] = (f, x, direction)
    if checks:
        _directional_checks(checks, one_sided=hard)
    return len(checks)


# Losses whose label enters through log(t) (KL), where the derivative at a target of
# exactly 0 is -inf and documented as 0; checked at soft targets only.
LOG_TARGETS = {"kl_divergence", "generalized_kl_divergence"}


@pytest.mark.parametrize("name", NAMES)
def test_gradient_of_every_floating_input(name):
    with jax.enable_x64(True):
        args, kwargs = _make64(name)
        assert _checks(name, args, kwargs) >= 1


def _has_unit_labels(name):
    """The case has a floating argument after the first with every value in [0, 1]."""
    args, _ = _make64(name)
    return any(
        i != 0 and bool(np.all((args[i] >= 0) & (args[i] <= 1))) for i in _floating(name, args)
    )


# Only losses with [0, 1]-valued labels or targets have hard labels to check (a loss with
# none, such as squared_error or ctc_loss, would check nothing).
HARD_NAMES = [n for n in NAMES if n in LOG_TARGETS or _has_unit_labels(n)]


def test_hard_label_checks_cover_the_label_losses():
    # Regression: this test ran for every loss and checked nothing for 33 of them.
    assert {"softmax_cross_entropy", "sigmoid_binary_cross_entropy", "dice_loss"} <= set(HARD_NAMES)
    assert "squared_error" not in HARD_NAMES


@pytest.mark.parametrize("name", HARD_NAMES)
def test_gradient_at_hard_labels(name):
    with jax.enable_x64(True):
        args, kwargs = _make64(name)
        if name not in LOG_TARGETS:
            assert _checks(name, args, kwargs, hard=True) >= 1
            return
        # The documented value instead of -inf: a finite target gradient, 0 at t = 0.
        args[1] = _hard(args[1])
        fn = getattr(jaxloss, name)
        g = jax.jit(jax.grad(lambda t: fn(args[0], t, reduction="sum")))(jnp.asarray(args[1]))
        g = np.asarray(g)
        assert np.all(np.isfinite(g))
        if name == "kl_divergence":
            assert np.all(g[args[1] == 0] == 0)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_with_a_mask(name):
    with jax.enable_x64(True):
        args, kwargs = _make64(name)
        where = np.ones(BATCH, bool)
        where[0, 1] = where[1, 2] = False
        _checks(name, args, kwargs, where=where)
