"""jaxloss in the training steps of Flax (NNX and Linen), Haiku and Equinox."""

import equinox as eqx
import flax.linen as linen
import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxloss

STEPS = 30


def _data(seed=0, n=64, d=8, classes=3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(classes, d))
    labels = rng.integers(0, classes, n)
    x = centers[labels] + rng.normal(size=(n, d))
    return jnp.asarray(x, jnp.float32), jnp.asarray(labels, jnp.int32)


X, Y = _data()
LOSS = jaxloss.get("sparse_softmax_cross_entropy", label_smoothing=0.1)


def _mean_square(logits):
    return jnp.mean(jnp.square(logits))


def _decreases(losses):
    losses = [float(v) for v in losses]
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses


def test_flax_nnx():
    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.l1 = nnx.Linear(8, 16, rngs=rngs)
            self.l2 = nnx.Linear(16, 3, rngs=rngs)

        def __call__(self, x):
            return self.l2(jax.nn.relu(self.l1(x)))

    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x, y):
        def loss_fn(model):
            return jaxloss.softmax_cross_entropy_with_integer_labels(model(x), y)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    _decreases([step(model, optimizer, X, Y) for _ in range(STEPS)])


def test_flax_linen_with_loss_as_static_field():
    class MLP(linen.Module):
        loss: jaxloss.Loss  # a hashable static field

        @linen.compact
        def __call__(self, x, y):
            logits = linen.Dense(3)(jax.nn.relu(linen.Dense(16)(x)))
            return self.loss(logits, y)

    model = MLP(LOSS)
    params = model.init(jax.random.key(0), X, Y)
    tx = optax.adam(1e-2)
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(model.apply)(params, X, Y)
        updates, state = tx.update(grads, state)
        return optax.apply_updates(params, updates), state, loss

    losses = []
    for _ in range(STEPS):
        params, state, loss = step(params, state)
        losses.append(loss)
    _decreases(losses)


def test_haiku_transform_with_combined_objective():
    objective = jaxloss.combine(ce=LOSS, logit_l2=(_mean_square, 1e-3, (0,)))

    def forward(x):
        return hk.nets.MLP([16, 3])(x)

    net = hk.without_apply_rng(hk.transform(forward))
    params = net.init(jax.random.key(1), X)
    tx = optax.adam(1e-2)
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        (loss, parts), grads = jax.value_and_grad(
            lambda p: objective(net.apply(p, X), Y), has_aux=True
        )(params)
        updates, state = tx.update(grads, state)
        return optax.apply_updates(params, updates), state, loss, parts

    losses = []
    for _ in range(STEPS):
        params, state, loss, parts = step(params, state)
        np.testing.assert_allclose(loss, parts["ce"] + 1e-3 * parts["logit_l2"], rtol=1e-5)
        losses.append(parts["ce"])
    _decreases(losses)


def test_equinox_filter_value_and_grad():
    model = eqx.nn.MLP(8, 3, 16, 1, key=jax.random.key(2))
    tx = optax.adam(1e-2)
    state = tx.init(eqx.filter(model, eqx.is_array))

    @eqx.filter_jit
    def step(model, state, loss):
        value, grads = eqx.filter_value_and_grad(lambda m: loss(jax.vmap(m)(X), Y))(model)
        updates, state = tx.update(grads, state)
        return eqx.apply_updates(model, updates), state, value

    losses = []
    for _ in range(STEPS):
        model, state, value = step(model, state, LOSS)  # a Loss passes as a static leaf
        losses.append(value)
    _decreases(losses)


def test_loss_as_jit_static_argument():
    w = jnp.zeros((8, 3))
    step = jax.jit(
        lambda loss, w: jax.value_and_grad(lambda v: loss(X @ v, Y))(w), static_argnums=0
    )
    losses = []
    for _ in range(STEPS):
        value, g = step(LOSS, w)
        w = w - 0.5 * g
        losses.append(value)
    _decreases(losses)
