"""Tests of the ranking losses (jaxloss/_ranking.py).

The references are float64 NumPy code written from the formulas in the docstrings; the
live oracles are optax (ranking_softmax_loss) and rax (the others). Each loss has one
jitted program (float64), compiled once for all its shared tests: jaxloss and its oracle
under every reduction and option set, with item masks and item weights, values and
gradients (see ``_program``).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import rax
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from rax._src import metrics as rax_metrics

import jaxloss
from tests.grads import check_first_and_second_order

TOL = dict(rtol=1e-5, atol=1e-6)

# ---------------------------------------------------------------------------
# float64 NumPy references written from the formulas


def ref_ranking_softmax(logits, labels, item_mask=None, item_weights=None, axis=-1):
    """Per-list -sum_i v_i y_i log softmax(s)_i over the valid items; 0 for empty lists."""
    s = np.moveaxis(np.asarray(logits, np.float64), axis, -1)
    y = np.moveaxis(np.asarray(labels, np.float64), axis, -1)
    v = (
        np.ones_like(y)
        if item_weights is None
        else np.broadcast_to(np.moveaxis(np.asarray(item_weights, np.float64), axis, -1), y.shape)
    )
    m = np.ones(y.shape, bool) if item_mask is None else np.moveaxis(item_mask, axis, -1)
    out = np.zeros(s.shape[:-1])
    for idx in np.ndindex(out.shape):
        valid = m[idx]
        if not valid.any():
            continue
        sv = s[idx][valid]
        top = sv.max()
        logp = sv - (top + np.log(np.sum(np.exp(sv - top))))
        out[idx] = -np.sum((v[idx] * y[idx])[valid] * logp)
    return out


def _as64(*arrays):
    return [None if a is None else np.asarray(a, np.float64) for a in arrays]


def _valid(mask, shape):
    return np.ones(shape, bool) if mask is None else np.broadcast_to(mask, shape)


def _lse(a):
    top = a.max()
    return top + np.log(np.sum(np.exp(a - top)))


def ref_listmle(s, y, mask=None, order=None):
    """-sum_k (s_pi(k) - log sum_{m >= k} exp s_pi(m)), pi by decreasing label (stable)
    over the valid items; ``order`` (optional) gives a tie-breaking key per item."""
    s, y = _as64(s, y)
    m = _valid(mask, s.shape)
    out = np.zeros(s.shape[:-1])
    for idx in np.ndindex(out.shape):
        keep = np.flatnonzero(m[idx])
        if order is None:
            rank = np.argsort(-y[idx][keep], kind="stable")
        else:
            rank = np.lexsort((order[idx][keep], -y[idx][keep]))
        sv = s[idx][keep][rank]
        out[idx] = sum(_lse(sv[k:]) - sv[k] for k in range(len(sv)))
    return out


def ref_poly1(s, y, mask=None, v=None, epsilon=1.0):
    s, y, v = _as64(s, y, v)
    m = _valid(mask, s.shape)
    yv = y if v is None else y * np.broadcast_to(v, y.shape)
    out = np.zeros(s.shape[:-1])
    for idx in np.ndindex(out.shape):
        keep = m[idx]
        if not keep.any():
            continue
        sv, lv = s[idx][keep], yv[idx][keep]
        logp = sv - _lse(sv)
        target = lv / lv.sum() if lv.sum() != 0 else np.full(len(lv), 1 / len(lv))
        out[idx] = -np.sum(lv * logp) + epsilon * (1 - np.sum(target * np.exp(logp)))
    return out


GAINS = {"exponential": lambda y: 2.0**y - 1, "identity": lambda y: y, "none": np.ones_like}


def ref_unique_softmax(s, y, mask=None, v=None, gain="exponential"):
    s, y, v = _as64(s, y, v)
    m = _valid(mask, s.shape)
    v = np.ones_like(s) if v is None else np.broadcast_to(v, s.shape)
    out = np.zeros(s.shape[:-1])
    for idx in np.ndindex(out.shape):
        total = 0.0
        for i in np.flatnonzero(m[idx]):
            below = m[idx] & (y[idx] < y[idx][i])
            den = _lse(np.concatenate([[s[idx][i]], s[idx][below]]))
            total -= v[idx][i] * GAINS[gain](y[idx][i]) * (s[idx][i] - den)
        out[idx] = total
    return out


def _qr(ds, dy, tau=0.5, squared=False):
    below, above = np.maximum(dy - ds, 0), np.maximum(ds - dy, 0)
    q = 2 if squared else 1
    return tau * below**q + (1 - tau) * above**q


PAIR_FORMULAS = {  # name -> (loss of (s_i - s_j, y_i - y_j), every pair valid?)
    "pairwise_hinge_loss": (lambda ds, dy: np.maximum(0, 1 - ds), False),
    "pairwise_logistic_loss": (lambda ds, dy: np.log1p(np.exp(-ds)), False),
    "pairwise_soft_zero_one_loss": (lambda ds, dy: 1 / (1 + np.exp(ds)), False),
    "pairwise_mse_loss": (lambda ds, dy: (dy - ds) ** 2, True),
    "pairwise_qr_loss": (_qr, False),
}


def ref_pairwise(name, s, y, mask=None, v=None, **options):
    """(sums, counts): per list, the sum of the losses of its valid pairs and their
    number, from an explicit double loop over the pairs."""
    s, y, v = _as64(s, y, v)
    m = _valid(mask, s.shape)
    v = np.ones_like(s) if v is None else np.broadcast_to(v, s.shape)
    formula, every = PAIR_FORMULAS[name]
    n = s.shape[-1]
    sums = np.zeros(s.shape[:-1])
    counts = np.zeros(s.shape[:-1])
    for idx in np.ndindex(sums.shape):
        for i in range(n):
            for j in range(n):
                if m[idx][i] and m[idx][j] and (every or y[idx][i] > y[idx][j]):
                    ds, dy = s[idx][i] - s[idx][j], y[idx][i] - y[idx][j]
                    sums[idx] += v[idx][i] * formula(ds, dy, **options)
                    counts[idx] += 1
    return sums, counts


def ref_pointwise(name, s, y, mask=None, v=None):
    s, y, v = _as64(s, y, v)
    v = np.ones_like(s) if v is None else np.broadcast_to(v, s.shape)
    if name == "pointwise_mse_loss":
        out = (y - s) ** 2
    else:
        t = np.clip(y, 0, 1)
        out = -t * np.log(1 / (1 + np.exp(-s))) - (1 - t) * np.log(1 / (1 + np.exp(s)))
    out = v * out
    return out if mask is None else np.where(mask, out, 0)


def _numeric_grad(f, x, h=1e-6):
    """Central differences of the float64 NumPy function ``f`` (with scalar or vector
    values) at each entry of ``x``: ``x.shape + f(x).shape``."""
    x = np.asarray(x, np.float64)
    g = np.zeros(x.shape + np.shape(f(x)))
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (f(up) - f(down)) / (2 * h)
    return g


# ---------------------------------------------------------------------------
# shared inputs and references

LISTWISE = ("listmle_loss", "poly1_softmax_loss", "unique_softmax_loss")
PAIRWISE = tuple(PAIR_FORMULAS)
POINTWISE = ("pointwise_sigmoid_loss", "pointwise_mse_loss")
RAX_NAMES = LISTWISE + PAIRWISE + POINTWISE
NAMES = ("ranking_softmax_loss",) + RAX_NAMES  # ranking_softmax_loss: optax is its oracle
# Losses with a label derivative; those of TIE_SENSITIVE also compare labels (the gain of
# unique_softmax_loss, the hinges of pairwise_qr_loss), so their label derivatives are
# checked at labels without ties (a finite difference at a tie jumps).
LABEL_DIFFERENTIABLE = {"ranking_softmax_loss", "poly1_softmax_loss", "pairwise_mse_loss"}
LABEL_DIFFERENTIABLE |= set(POINTWISE)
TIE_SENSITIVE = {"unique_softmax_loss", "pairwise_qr_loss"}
LABEL_DIFFERENTIABLE |= TIE_SENSITIVE
HAS_ITEM_WEIGHTS = set(NAMES) - {"listmle_loss"}
OPTION_SETS = {  # the option sets checked (default: only the defaults)
    "poly1_softmax_loss": ({"epsilon": 0.6}, {"epsilon": -0.4}),
    "unique_softmax_loss": ({}, {"gain": "identity"}, {"gain": "none"}),
    "pairwise_qr_loss": ({"tau": 0.3, "squared": True}, {"tau": 0.8}),
}
REDUCTIONS = ("none", "sum", "mean")
BATCH, N = (3, 2), 5


def _option_sets(name):
    return OPTION_SETS.get(name, ({},))


def _per_example_shape(name):
    return BATCH + (N,) if name in POINTWISE else BATCH


def _inputs(name, seed):
    """float64 inputs of a loss's program: scores, graded labels (soft labels in
    [-0.5, 1.5] for pointwise_sigmoid_loss, off the clip's kinks), an item mask with one
    list fully masked, positive item weights, a mask over lists, per-example weights and a
    cotangent of the ``"none"`` output."""
    rng = np.random.default_rng(seed)
    shape = BATCH + (N,)
    s = rng.normal(size=shape)
    if name == "pointwise_sigmoid_loss":
        y = rng.uniform(-0.5, 1.5, size=shape)
    else:
        y = rng.integers(0, 3, size=shape).astype(np.float64)
    mask = rng.random(shape) < 0.75
    mask[..., 0] = True
    mask[0, 0] = False  # a list with no valid item
    v = rng.uniform(0.3, 2.0, size=shape)
    lists = np.array([[True, False], [True, True], [False, True]])
    w = rng.uniform(0.5, 2.0, size=_per_example_shape(name))
    cot = rng.uniform(0.5, 1.5, size=_per_example_shape(name))
    return dict(s=s, y=y, mask=mask, v=v, lists=lists, w=w, cot=cot)


def _reference(name, s, y, mask=None, v=None, **options):
    """(values, counts) per example from the references: the ``"none"`` values, and what
    ``"mean"`` divides by for each example (its number of valid pairs for a pairwise loss;
    1 for a valid item or a list with a valid item, else 0)."""
    if name in PAIRWISE:
        return ref_pairwise(name, s, y, mask, v, **options)
    if name in POINTWISE:
        values = ref_pointwise(name, s, y, mask, v)
        return values, _valid(mask, values.shape).astype(np.float64)
    if name == "listmle_loss":
        values = ref_listmle(s, y, mask)
    elif name == "poly1_softmax_loss":
        values = ref_poly1(s, y, mask, v, **options)
    elif name == "ranking_softmax_loss":
        values = ref_ranking_softmax(s, y, mask, v)
    else:
        values = ref_unique_softmax(s, y, mask, v, **options)
    lists = np.ones(values.shape, bool) if mask is None else np.any(mask, -1)
    return values, lists.astype(np.float64)


def _mean(values, counts, weights=1.0):
    """sum(w * values) / sum(w * counts), 0 when the denominator is."""
    den = np.sum(weights * counts)
    return np.sum(weights * values) / den if den > 0 else 0.0


# ---------------------------------------------------------------------------
# one program per loss: jaxloss and its oracle under every reduction and option set


def _rax_fn(name, **options):
    f = getattr(rax, name)
    if name == "unique_softmax_loss" and "gain" in options:
        gain = options.pop("gain")
        options["gain_fn"] = {
            # rax's default gain (2**y - 1), not exported under a public name
            "exponential": rax_metrics.default_gain_fn,
            "identity": lambda a: a,
            "none": None,
        }[gain]
    return functools.partial(f, **options)


def _oracle(name, options, s, y, mask, v, reduction):
    """rax (optax for ranking_softmax_loss) under the ``reduce_fn`` of ``reduction``; a
    pairwise loss's ``reduce_fn=None`` output (one value per pair, 0 at the pairs that
    are not valid) summed per list."""
    kw = dict(where=mask, reduce_fn={"none": None, "sum": jnp.sum, "mean": jnp.mean}[reduction])
    if name in HAS_ITEM_WEIGHTS:
        kw["weights"] = v
    if name == "ranking_softmax_loss":
        return optax.losses.ranking_softmax_loss(s, y, **kw)
    out = _rax_fn(name, **options)(s, y, **kw)
    return jnp.sum(out, axis=-1) if reduction == "none" and name in PAIRWISE else out


def _ours(name, options, s, y, *, mask=None, v=None, **rest):
    kw = dict(options, **rest)
    if mask is not None:
        kw["where"] = mask
    if v is not None and name in HAS_ITEM_WEIGHTS:
        kw["item_weights"] = v
    return getattr(jaxloss, name)(s, y, **kw)


@functools.cache
def _program(name):
    """The jitted program of a loss, compiled once for all its tests (float64): for each
    option set, jaxloss's and its oracle's values under every reduction with an item mask
    and item weights and a VJP of ``"none"`` (with the cotangent ``cot``) by the scores and
    the labels; for the first option set also the gradients of ``"mean"`` (the reduction
    does not depend on the options), both sides' ``"mean"`` and ``"sum"`` without a mask,
    and jaxloss's weighted mean, per-list ``where`` and ``weights`` and moved item axis;
    and the value and gradient at empty lists."""

    def program(s, y, mask, v, lists, w, cot):
        out = []
        for options in _option_sets(name):

            def ours(a, b, reduction="mean", options=options, mask=mask):
                return _ours(name, options, a, b, mask=mask, v=v, reduction=reduction)

            def theirs(a, b, reduction="mean", options=options, mask=mask):
                return _oracle(name, options, a, b, mask, v, reduction)

            first = not out
            results = []
            for f in (ours, theirs):
                r = {red: f(s, y, red) for red in REDUCTIONS}
                vjp = lambda a, b, f=f: jnp.sum(cot * f(a, b, "none"))  # noqa: E731
                r["vjp"] = jax.grad(vjp, argnums=(0, 1))(s, y)
                if first:
                    r["grad"] = jax.grad(f, argnums=(0, 1))(s, y)
                    r["unmasked_mean"] = f(s, y, "mean", mask=None)
                    r["unmasked_sum"] = f(s, y, "sum", mask=None)
                results.append(r)
            out.append(results)
            if not first:
                continue
            mine = results[0]
            mine["weighted_mean"] = _ours(name, options, s, y, mask=mask, v=v, weights=w)
            for red in ("none", "mean"):
                mine[f"lists_{red}"] = _ours(
                    name, options, s, y, mask=lists, v=v, weights=w, reduction=red
                )
            ms, my, mm, mv = (jnp.moveaxis(a, -1, 0) for a in (s, y, mask, v))
            moved = _ours(name, options, ms, my, mask=mm, v=mv, axis=0, reduction="none")
            # a pointwise loss's output keeps the scores' layout
            mine["axis_none"] = jnp.moveaxis(moved, 0, -1) if name in POINTWISE else moved
        empty = jnp.zeros((2, 0), s.dtype)
        at_empty = jax.value_and_grad(lambda a: _ours(name, {}, a, empty))(empty)
        return out, at_empty

    jitted = jax.jit(program)

    def run(**inputs):
        with jax.enable_x64(True):
            return jax.tree.map(np.asarray, jitted(**inputs))

    return run


def _outputs(name, seed, **changes):
    inputs = dict(_inputs(name, seed), **changes)
    return inputs, _program(name)(**inputs)


def _seed(name):
    return 20 + NAMES.index(name)


TIGHT = dict(rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_matches_the_reference_on_values_and_gradients(name):
    """Values under every reduction with an item mask (one list fully masked) and item
    weights, without a mask, with per-list weights, with a mask over lists and under a
    moved item axis, against the float64 reference; and the gradients of "mean" and of
    a random weighting of "none" by the scores (and the labels where the loss is
    differentiable in them) against central differences of the reference, at labels
    without ties for the losses that compare them."""
    inputs, (out, _) = _outputs(name, _seed(name))
    s, y, mask, v, lists, w, cot = (inputs[k] for k in ("s", "y", "mask", "v", "lists", "w", "cot"))
    vr = v if name in HAS_ITEM_WEIGHTS else None
    per_list = np.broadcast_to(np.expand_dims(lists, -1) if name in POINTWISE else lists, w.shape)
    for k, (options, (mine, _)) in enumerate(zip(_option_sets(name), out, strict=True)):
        values, counts = _reference(name, s, y, mask, vr, **options)
        np.testing.assert_allclose(mine["none"], values, **TIGHT)
        np.testing.assert_allclose(mine["sum"], values.sum(), **TIGHT)
        np.testing.assert_allclose(mine["mean"], _mean(values, counts), **TIGHT)
        if k:
            continue  # the other checks are made for the first option set
        plain, plain_counts = _reference(name, s, y, None, vr, **options)
        np.testing.assert_allclose(mine["unmasked_sum"], plain.sum(), **TIGHT)
        np.testing.assert_allclose(mine["unmasked_mean"], _mean(plain, plain_counts), **TIGHT)
        np.testing.assert_allclose(mine["weighted_mean"], _mean(values, counts, w), **TIGHT)
        np.testing.assert_allclose(mine["axis_none"], values, **TIGHT)
        # where over lists, weights per example: sum(w v) / sum(w count) over the lists kept
        lw = w * per_list
        np.testing.assert_allclose(mine["lists_none"], lw * plain, **TIGHT)
        np.testing.assert_allclose(mine["lists_mean"], _mean(plain, plain_counts, lw), **TIGHT)
    if name in TIE_SENSITIVE:  # distinct labels: the valid pairs are the same nearby
        y = y + np.random.default_rng(3).permutation(y.size).reshape(y.shape) * 0.01
        _, (out, _) = _outputs(name, _seed(name), y=y)
    for options, (mine, _) in zip(_option_sets(name), out, strict=True):

        def objectives(a, b, options=options):
            """What "vjp" and "grad" differentiate: sum(cot * none) and the mean."""
            values, counts = _reference(name, a, b, mask, vr, **options)
            return np.array([np.sum(cot * values), _mean(values, counts)])

        keys = [k for k in ("vjp", "grad") if k in mine]
        by_s = _numeric_grad(lambda a: objectives(a, y), s)
        by_y = (
            _numeric_grad(lambda b: objectives(s, b), y) if name in LABEL_DIFFERENTIABLE else None
        )
        for i, key in enumerate(keys):
            gs, gy = mine[key]
            np.testing.assert_allclose(gs, by_s[..., i], rtol=1e-6, atol=1e-8, err_msg=key)
            assert np.all(gs[~mask] == 0), key
            if by_y is None:
                np.testing.assert_array_equal(gy, 0.0, err_msg=key)
            else:
                np.testing.assert_allclose(gy, by_y[..., i], rtol=1e-6, atol=1e-8, err_msg=key)


@pytest.mark.parametrize("name", NAMES)
def test_oracle_values_and_gradients(name):
    """rax (optax for ranking_softmax_loss) with reduce_fn=None (summed over the pairs of
    each list for a pairwise loss) / jnp.sum / jnp.mean against reduction="none" / "sum" /
    "mean", with an item mask (a fully masked list included) and item weights, and the
    gradients (a VJP of "none" with a random cotangent, and of "mean") by the scores and
    the labels, for every option set; one program per loss."""
    inputs, (out, _) = _outputs(name, _seed(name))
    y, mask, v = inputs["y"], inputs["mask"], inputs["v"]
    for options, (mine, theirs) in zip(_option_sets(name), out, strict=True):
        for key in [k for k in (*REDUCTIONS, "unmasked_mean", "unmasked_sum") if k in mine]:
            np.testing.assert_allclose(mine[key], theirs[key], **TIGHT, err_msg=f"{options} {key}")
        for key in [k for k in ("vjp", "grad") if k in mine]:
            np.testing.assert_allclose(mine[key][0], theirs[key][0], **TIGHT)
            ours_y, rax_y = mine[key][1], theirs[key][1]
            if name == "unique_softmax_loss" and options.get("gain") != "none":
                # rax's label gradient is NaN at masked items (their -inf scores reach the
                # gain's cotangent); jaxloss's is 0 there.
                assert np.all(np.isnan(rax_y[~mask])) and np.all(ours_y[~mask] == 0)
                ours_y, rax_y = ours_y[mask], rax_y[mask]
            if name == "poly1_softmax_loss":
                # rax's label gradient is NaN at the valid items of a list whose valid
                # weighted labels sum to 0 (a 0/0 in its normalization); jaxloss's, at the
                # uniform target it uses there too, is finite.
                at = mask & (np.sum(np.where(mask, y * v, 0), -1) == 0)[..., None]
                assert at.any() and np.all(np.isnan(rax_y[at])), key
                assert np.all(np.isfinite(ours_y))
                ours_y, rax_y = ours_y[~at], rax_y[~at]
            np.testing.assert_allclose(ours_y, rax_y, **TIGHT, err_msg=f"{options} {key}")


@pytest.mark.parametrize("name", NAMES)
def test_degenerate_lists_and_poisoned_masked_items(name):
    """Masked items holding inf/NaN (a fully masked list among them): the same values and
    gradients as with finite ones there, exactly zero gradient at the masked items; empty
    lists give 0 with an empty gradient."""
    inputs, (clean, at_empty) = _outputs(name, _seed(name))
    mask = inputs["mask"]
    poison = np.where(np.arange(mask.size).reshape(mask.shape) % 2, np.inf, np.nan)
    s, y = (np.where(mask, inputs[k], poison) for k in ("s", "y"))
    _, (out, _) = _outputs(name, _seed(name), s=s, y=y)
    for (mine, _), (want, _) in zip(out, clean, strict=True):
        for key in ("none", "sum", "mean", "weighted_mean", "axis_none"):
            if key in want:
                np.testing.assert_allclose(mine[key], want[key], **TIGHT, err_msg=key)
        for key in [k for k in ("grad", "vjp") if k in want]:
            for g, g_clean in zip(mine[key], want[key], strict=True):
                assert np.all(np.isfinite(g)) and np.all(g[~mask] == 0), key
                np.testing.assert_allclose(g, g_clean, **TIGHT, err_msg=key)
    value, grad = at_empty
    assert float(value) == 0.0 and grad.shape == (2, 0)


ORDERED_PAIRWISE = tuple(n for n in PAIRWISE if not PAIR_FORMULAS[n][1])


@pytest.mark.parametrize("name", ORDERED_PAIRWISE)
def test_pairwise_without_a_valid_pair_gives_zero(name):
    """Equal labels in every list: no valid pair, so 0 per list, a "mean" of 0 (as rax's
    safe mean) and zero gradients, even with per-list weights."""
    _, (out, _) = _outputs(name, _seed(name), y=np.ones(BATCH + (N,)))
    for mine, theirs in out:
        for key in ("none", "sum", "mean", "weighted_mean", "lists_mean"):
            if key in mine:
                np.testing.assert_array_equal(mine[key], 0.0, err_msg=key)
        np.testing.assert_array_equal(theirs["mean"], 0.0)
        for key in [k for k in ("grad", "vjp") if k in mine]:
            for g in mine[key]:
                np.testing.assert_array_equal(g, 0.0, err_msg=key)


# ---------------------------------------------------------------------------
# ranking_softmax_loss: what the shared program does not check


# No relevant item; every item masked; a -inf score on an irrelevant item.
DEGENERATE = dict(
    s=np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [-np.inf, 0.0, 1.0]], np.float32),
    y=np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 2.0], [0.0, 1.0, 0.0]], np.float32),
    mask=np.array([[True, True, True], [False, False, False], [True, True, True]]),
)


@functools.cache
def _softmax_edge_cases():
    """The values the edge-case tests below read, from one jitted program."""

    @jax.jit
    def program(degenerate, broadcast):
        s, y, mask = degenerate["s"], degenerate["y"], degenerate["mask"]
        f = lambda a: jaxloss.ranking_softmax_loss(a, y, where=mask, reduction="sum")  # noqa: E731
        zero_labels = jnp.array([[1.0, 0.0, 1.0, 0.0]])
        at_zero = lambda a: jaxloss.ranking_softmax_loss(a, zero_labels)  # noqa: E731
        bs, by, bv = broadcast
        return dict(
            degenerate=jax.value_and_grad(f)(s),
            optax_degenerate=optax.losses.ranking_softmax_loss(s, y, where=mask, reduce_fn=None),
            zero_logits=jax.value_and_grad(at_zero)(jnp.zeros((1, 4))),
            broadcast=jaxloss.ranking_softmax_loss(bs, by, item_weights=bv, reduction="none"),
        )

    rng = np.random.default_rng(5)
    bs, by = rng.normal(size=(3, 4)), rng.integers(0, 3, size=(3, 4)).astype(np.float64)
    bv = np.array([2.0, 1.0, 0.5, 0.0])  # per position, shared by all lists
    out = jax.tree.map(np.asarray, program(DEGENERATE, (bs, by, bv)))
    return out, (bs, by, bv)


class TestRankingSoftmaxLoss:
    def test_degenerate_lists(self):
        value, g = _softmax_edge_cases()[0]["degenerate"]
        expected = -np.log(1.0 / (1.0 + np.e))  # third list: softmax over (0, 1) at 0
        np.testing.assert_allclose(value, expected, rtol=1e-6)
        assert np.all(np.isfinite(g))
        np.testing.assert_array_equal(g[:2], 0.0)
        assert g[2, 0] == 0.0
        # optax agrees on the first two lists, and gives NaN for the -inf score (0 * -inf).
        theirs = _softmax_edge_cases()[0]["optax_degenerate"]
        np.testing.assert_array_equal(theirs[:2], 0.0)
        assert np.isnan(theirs[2])

    def test_zero_logits(self):
        value, g = _softmax_edge_cases()[0]["zero_logits"]
        np.testing.assert_allclose(value, 2 * np.log(4.0), rtol=1e-6)
        np.testing.assert_allclose(g, [[-0.5, 0.5, -0.5, 0.5]], rtol=1e-6)

    def test_broadcast_item_weights(self):
        out, (s, y, v) = _softmax_edge_cases()
        ref = ref_ranking_softmax(s, y, item_weights=v)
        np.testing.assert_allclose(out["broadcast"], ref, **TOL)

    def test_second_order_gradients(self):
        rng = np.random.default_rng(10)
        s, y = rng.normal(size=(4, 6)), rng.integers(0, 3, size=(4, 6)).astype(np.float64)
        mask = rng.random(s.shape) < 0.8
        mask[:, 0] = True
        with jax.enable_x64(True):
            f = lambda v: jaxloss.ranking_softmax_loss(v, y, where=mask, item_weights=2.0)
            check_first_and_second_order(f, jnp.asarray(s), eps=1e-4, tol=1e-6)

    @settings(max_examples=10, deadline=None, derandomize=True)
    @given(
        hnp.arrays(np.float32, (2, 5), elements=st.floats(-20, 20, width=32)),
        hnp.arrays(np.float32, (2, 5), elements=st.floats(0, 3, width=32)),
        st.floats(-50, 50, width=32),
    )
    def test_nonnegative_and_shift_invariant(self, s, y, shift):
        a = jaxloss.ranking_softmax_loss(s, y, reduction="none")
        b = jaxloss.ranking_softmax_loss(s + np.float32(shift), y, reduction="none")
        assert np.all(np.asarray(a) >= -1e-6)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)

    def test_errors(self):
        s = jnp.zeros((2, 3))
        f = jaxloss.ranking_softmax_loss
        with pytest.raises(
            ValueError, match=r"ranking_softmax_loss: arguments 'logits' and 'labels'"
        ):
            f(s, jnp.zeros((2, 4)))
        with pytest.raises(TypeError, match=r"ranking_softmax_loss: argument 'logits' must have a"):
            f(jnp.zeros((2, 3), jnp.int32), s)
        with pytest.raises(
            TypeError, match=r"ranking_softmax_loss: argument 'where' must be a bool"
        ):
            f(s, s, where=jnp.ones((2, 3)))
        with pytest.raises(ValueError, match=r"ranking_softmax_loss: argument 'item_weights'"):
            f(s, s, item_weights=jnp.ones((2, 4)))
        with pytest.raises(ValueError, match=r"ranking_softmax_loss: argument 'axis'=2"):
            f(s, s, axis=2)


def test_listmle_ties_without_and_with_a_key_match_rax():
    s = np.array([[0.3, -1.0, 2.0, 0.5], [1.0, 0.2, -0.4, 0.0]], np.float32)
    y = np.array([[1.0, 1.0, 0.0, 1.0], [2.0, 2.0, 2.0, 0.0]], np.float32)
    key = jax.random.PRNGKey(5)

    @jax.jit
    def program(s, y, key):
        return (
            jaxloss.listmle_loss(s, y, reduction="none"),
            rax.listmle_loss(s, y, reduce_fn=None),
            jaxloss.listmle_loss(s, y, key=key, reduction="none"),
            rax.listmle_loss(s, y, key=key, reduce_fn=None),
            jax.random.uniform(key, s.shape),  # the tie-breaking key rax documents
        )

    plain, rax_plain, keyed, rax_keyed, u = (np.asarray(a) for a in program(s, y, key))
    np.testing.assert_allclose(plain, rax_plain, rtol=1e-6)
    np.testing.assert_allclose(plain, ref_listmle(s, y), rtol=1e-6)  # order of appearance
    np.testing.assert_allclose(keyed, rax_keyed, rtol=1e-6)
    np.testing.assert_allclose(keyed, ref_listmle(s, y, order=u), rtol=1e-6)
    assert not np.allclose(keyed, plain)  # the key changes the order of tied items


def test_option_errors():
    s = jnp.zeros((2, 3))
    with pytest.raises(ValueError, match=r"unique_softmax_loss: argument 'gain' must be one of"):
        jaxloss.unique_softmax_loss(s, s, gain="exp2")
    with pytest.raises(TypeError, match=r"pairwise_qr_loss: argument 'squared' must be a Python"):
        jaxloss.pairwise_qr_loss(s, s, squared=1)
    with pytest.raises(
        ValueError, match=r"pairwise_qr_loss: argument 'tau' must be in \(0.0, 1.0\]"
    ):
        jaxloss.pairwise_qr_loss(s, s, tau=0.0)
    with pytest.raises(ValueError, match=r"pointwise_mse_loss: argument 'item_weights'"):
        jaxloss.pointwise_mse_loss(s, s, item_weights=jnp.ones(4))
    with pytest.raises(ValueError, match=r"listmle_loss: arguments 'scores' and 'labels'"):
        jaxloss.listmle_loss(s, jnp.zeros((2, 4)))
    # A mask over pairs (one more dimension than the scores) is not a form of 'where'.
    with pytest.raises(
        ValueError,
        match=r"pairwise_logistic_loss: argument 'where' with shape \(2, 3, 3\) must be "
        r"broadcastable to the per-example loss shape \(2,\)",
    ):
        jaxloss.pairwise_logistic_loss(s, s, where=jnp.ones((2, 3, 3), bool))
