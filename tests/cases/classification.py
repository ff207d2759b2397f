import numpy as np

from tests.cases import Case

C = 5


def _logits(rng, batch):
    return rng.normal(size=batch + (C,)).astype(np.float32)


def _soft_labels(rng, batch):
    p = rng.uniform(0.05, 1.0, size=batch + (C,))
    return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def _int_labels(rng, batch):
    return rng.integers(0, C, size=batch).astype(np.int32)


CASES = {
    "softmax_cross_entropy": Case(
        lambda rng, b: ((_logits(rng, b), _soft_labels(rng, b)), {"label_smoothing": 0.1})
    ),
    "softmax_cross_entropy_with_integer_labels": Case(
        lambda rng, b: ((_logits(rng, b), _int_labels(rng, b)), {"label_smoothing": 0.05})
    ),
    "categorical_cross_entropy": Case(
        lambda rng, b: ((_soft_labels(rng, b), _soft_labels(rng, b)), {})
    ),
}
