"""Cases for the self-supervised losses (jaxloss/_self_supervised.py).

These losses compare the examples of a batch with each other: inputs are
``batch + (D,)`` (labels ``batch``), the last axis of ``batch`` is the compared batch
and any leading axes are independent batches, so the per-example shape is ``batch``.

With ``where`` these losses drop the masked examples from the batch (they stop being
negatives/positives of the others, so their inputs get zero gradient even when
inf/NaN); the ``"mean"`` under ``where`` is then the mean of the masked ``"none"``
output, not of the unmasked one (``where_drops_examples=True``).
"""

import numpy as np

from tests.cases import Case

D = 6  # embedding length


def _f32(x):
    return np.asarray(x, np.float32)


def _embeddings(rng, batch):
    return _f32(rng.normal(size=tuple(batch) + (D,)))


def _labelled(kwargs):
    def make(rng, batch):
        # Two groups: with 4 examples per batch nearly every anchor has a positive.
        labels = rng.integers(0, 2, size=batch).astype(np.int32)
        return (_embeddings(rng, batch), labels), dict(kwargs)

    return make


def _paired(kwargs):
    def make(rng, batch):
        x = _embeddings(rng, batch)
        # y correlated with x so the positives are the most similar pairs.
        y = _f32(x + 0.5 * rng.normal(size=x.shape))
        return (x, y), dict(kwargs)

    return make


CASES = {
    "ntxent": Case(_labelled({"temperature": 0.5}), where_drops_examples=True),
    "clip_loss": Case(_paired({"temperature": 0.2}), diff=(0, 1), where_drops_examples=True),
    "siglip_loss": Case(
        _paired({"temperature": 0.2, "bias": -2.0}), diff=(0, 1), where_drops_examples=True
    ),
    # By default the circle-loss weights alpha are stop_gradient constants, so autodiff is
    # not the derivative of the value; alpha_gradient=True (Keras's gradient) makes it one,
    # which the finite-difference checks then cover.
    "circle_loss": Case(
        _labelled({"margin": 0.25, "gamma": 16.0, "alpha_gradient": True}),
        where_drops_examples=True,
    ),
}
