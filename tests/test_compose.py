"""jaxloss.combine: weighted terms, per-term values, jit/static-argument use."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

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
