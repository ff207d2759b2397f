"""jaxloss.combine: weighted terms, per-term values, jit/static-argument use."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxloss
from tests.grads import check_grads

RNG = np.random.default_rng(7)


def _data():
    logits = jnp.asarray(RNG.normal(size=(6, 4)).astype(np.float32))
    labels = jnp.asarray(RNG.integers(0, 4, 6).astype(np.int32))
    return logits, labels


def _lse_squared(logits):
    return jnp.mean(jax.nn.logsumexp(logits, axis=-1) ** 2)


def test_total_is_weighted_sum_and_terms_are_unweighted():
    logits, labels = _data()
    ce = jaxloss.get("sparse_softmax_cross_entropy")
    objective = jaxloss.combine(ce=ce, smoothed=(ce.fn, 0.5), z=(_lse_squared, 1e-2, (0,)))
    total, parts = objective(logits, labels)
    plain = jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels)
    np.testing.assert_allclose(parts["ce"], plain, rtol=1e-6)
    np.testing.assert_allclose(parts["z"], _lse_squared(logits), rtol=1e-6)
    np.testing.assert_allclose(total, 1.5 * plain + 1e-2 * _lse_squared(logits), rtol=1e-6)
    assert objective.names == ("ce", "smoothed", "z")


def test_grad_with_aux_and_static_argument_without_retrace():
    logits, labels = _data()
    traces = []

    @jax.jit
    def step(logits, labels):
        return jax.grad(make(), has_aux=True)(logits, labels)

    def make():
        return jaxloss.combine(
            ce=jaxloss.get("sparse_softmax_cross_entropy"), z=(_lse_squared, 1e-2, (0,))
        )

    grads, parts = step(logits, labels)
    expected = jax.grad(
        lambda x: (
            jaxloss.softmax_cross_entropy_with_integer_labels(x, labels) + 1e-2 * _lse_squared(x)
        )
    )(logits)
    np.testing.assert_allclose(grads, expected, rtol=1e-5, atol=1e-7)
    assert set(parts) == {"ce", "z"}

    @jax.jit
    def run(objective, logits, labels):
        traces.append(1)
        return objective(logits, labels)[0]

    run = jax.jit(run.__wrapped__, static_argnums=0)
    run(make(), logits, labels)
    run(make(), logits, labels)  # an equal objective: no new trace
    assert len(traces) == 1
    assert make() == make() and hash(make()) == hash(make())


def test_keyword_arguments_reach_every_term():
    logits, labels = _data()
    mask = jnp.array([True, False, True, True, False, True])
    objective = jaxloss.combine(a=jaxloss.get("sparse_softmax_cross_entropy"))
    _, parts = objective(logits, labels, where=mask)
    np.testing.assert_allclose(
        parts["a"],
        jaxloss.softmax_cross_entropy_with_integer_labels(logits[mask], labels[mask]),
        rtol=1e-6,
    )


def test_errors():
    with pytest.raises(ValueError, match="combine: give at least one term"):
        jaxloss.combine()
    with pytest.raises(TypeError, match="term 'x' must be callable"):
        jaxloss.combine(x=3)
    with pytest.raises(TypeError, match="the weight of term 'x' must be a number or a JAX"):
        jaxloss.combine(x=(jaxloss.get("mse"), [2.0]))
    with pytest.raises(ValueError, match="the weight of term 'x' must be a scalar"):
        jaxloss.combine(x=(jaxloss.get("mse"), jnp.ones(2)))
    with pytest.raises(ValueError, match=r"term 'x' must be a loss or a tuple"):
        jaxloss.combine(x=(jaxloss.get("mse"), 1.0, (0,), 4))


# -- make_fenchel_young_loss ------------------------------------------------------------


def _tempered_lse(theta, temperature=1.0):
    return temperature * jax.nn.logsumexp(theta / temperature)


def test_fenchel_young_matches_formula_and_optax():
    """max_fun(theta) - <y, theta> per vector: float64 formula and optax, values and
    gradients (both arguments), keyword arguments forwarded to max_fun."""
    rng = np.random.default_rng(60)
    theta = rng.normal(size=(3, 4, 5))
    y = rng.dirichlet(np.ones(5), size=(3, 4))
    m = rng.random((3, 4)) < 0.7
    w = rng.uniform(0.5, 2.0, size=(3, 4))
    with jax.enable_x64(True):
        ours = jaxloss.make_fenchel_young_loss(_tempered_lse)
        theirs = optax.losses.make_fenchel_young_loss(_tempered_lse)

        @jax.jit
        def run(x, t):
            f = lambda x, t, **kw: ours(x, t, temperature=0.5, **kw)
            grad = jax.grad(lambda x, t: f(x, t, reduction="sum"), argnums=(0, 1))(x, t)
            # optax at the default temperature: its max_fun keyword arguments pass through
            # jnp.vectorize, which drops them (jax 0.10), so it is compared without them
            ref_grad = jax.grad(lambda x, t: jnp.sum(theirs(x, t)), (0, 1))(2 * x, t)
            none = f(x, t, reduction="none")
            masked = f(x, t, where=m, weights=w)
            moved = f(jnp.moveaxis(x, -1, 0), jnp.moveaxis(t, -1, 0), axis=0, reduction="none")
            dropped = theirs(x, t, temperature=0.5) - theirs(x, t)
            return none, theirs(2 * x, t) / 2, grad, ref_grad, masked, moved, dropped

        none, other, grad, ref_grad, masked, moved, dropped = run(theta, y)
        np.testing.assert_array_equal(dropped, 0.0)  # the documented difference
    z = theta / 0.5
    lse = 0.5 * (z.max(-1) + np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1)))
    expected = lse - np.sum(y * theta, axis=-1)
    np.testing.assert_allclose(none, expected, rtol=1e-12)
    np.testing.assert_allclose(none, other, rtol=1e-12)
    np.testing.assert_allclose(moved, expected, rtol=1e-12)
    np.testing.assert_allclose(masked, np.sum(m * w * expected) / np.sum(m * w), rtol=1e-12)
    softmax = np.exp(z - z.max(-1, keepdims=True))
    softmax /= softmax.sum(-1, keepdims=True)
    np.testing.assert_allclose(grad[0], softmax - y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad[1], -theta, rtol=1e-12)
    # t * lse(x / t) - <y, x> = t * (lse(x / t) - <y, x / t>): optax's loss of x / t, times t
    np.testing.assert_allclose(grad[0], ref_grad[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grad[1], ref_grad[1] / 2, rtol=1e-6, atol=1e-9)
    with jax.enable_x64(True):
        f = lambda x, t: ours(x, t, temperature=0.5)
        check_grads(f, (theta[:2, :2], y[:2, :2]), order=1, modes=["rev"], eps=1e-5)


def test_fenchel_young_conventions():
    loss = jaxloss.make_fenchel_young_loss(jax.nn.logsumexp)
    assert loss == jaxloss.make_fenchel_young_loss(jax.nn.logsumexp)
    assert hash(loss) == hash(jaxloss.make_fenchel_young_loss(jax.nn.logsumexp))
    logits, labels = _data()
    one_hot = jax.nn.one_hot(labels, 4)
    # the Fenchel-Young loss of logsumexp is the softmax cross-entropy
    np.testing.assert_allclose(
        loss(logits, one_hot),
        jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels),
        rtol=1e-6,
    )
    # half precision is computed and returned in float32; masked inf/NaN do not leak
    out = loss(logits.astype(jnp.bfloat16), one_hot, reduction="none")
    assert out.dtype == jnp.float32
    poisoned = logits.at[1].set(jnp.nan).at[4, 0].set(jnp.inf)
    mask = np.array([True, False, True, True, False, True])
    value, g = jax.value_and_grad(loss)(poisoned, one_hot, where=mask)
    np.testing.assert_allclose(value, loss(logits[mask], one_hot[mask]), rtol=1e-6)
    assert np.all(np.isfinite(g)) and np.all(np.asarray(g)[~mask] == 0)
    with pytest.raises(TypeError, match=r"make_fenchel_young_loss: argument 'max_fun' must be"):
        jaxloss.make_fenchel_young_loss(3)
    with pytest.raises(ValueError, match=r"max_fun must map a vector of shape \(4,\) to a scalar"):
        jaxloss.make_fenchel_young_loss(lambda v: v)(logits, one_hot)
    with pytest.raises(ValueError, match=r"argument 'reduction' must be one of"):
        loss(logits, one_hot, reduction="avg")
    with pytest.raises(ValueError, match=r"arguments 'scores' and 'targets' must have the same"):
        loss(logits, one_hot[:, :3])
