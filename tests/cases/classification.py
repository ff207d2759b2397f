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
    # Log-probabilities and class indices.
    "nll_loss": Case(lambda rng, b: ((np.log(_soft_labels(rng, b)), _int_labels(rng, b)), {})),
    # Soft labels (the registry-wide gradient checks then cover the labels, at hard ones
    # too); the integer labels of Keras's form are tested in tests/test_classification.py.
    "categorical_generalized_cross_entropy": Case(
        lambda rng, b: ((_soft_labels(rng, b), _soft_labels(rng, b)), {"q": 0.7})
    ),
}


def _soft_binary(rng, batch):
    return rng.uniform(0.0, 1.0, size=batch).astype(np.float32)


CASES.update(
    {
        "sigmoid_focal_loss": Case(
            lambda rng, b: (
                (rng.normal(size=b).astype(np.float32), _soft_binary(rng, b)),
                {"alpha": 0.25, "gamma": 1.5},
            )
        ),
        "softmax_focal_loss": Case(
            lambda rng, b: (
                (_logits(rng, b), _soft_labels(rng, b)),
                {"gamma": 1.5, "alpha": np.linspace(0.5, 1.5, C).astype(np.float32)},
            )
        ),
        "poly_loss_cross_entropy": Case(
            lambda rng, b: ((_logits(rng, b), _soft_labels(rng, b)), {"epsilon": 2.0})
        ),
        # Probabilities and soft labels, Keras's default alpha (0.25).
        "categorical_focal_loss": Case(
            lambda rng, b: (
                (_soft_labels(rng, b), _soft_labels(rng, b)),
                {"gamma": 1.5, "label_smoothing": 0.1},
            )
        ),
        "softmax_focal_loss_with_integer_labels": Case(
            lambda rng, b: (
                (_logits(rng, b), _int_labels(rng, b)),
                {
                    "gamma": 1.5,
                    "alpha": np.linspace(0.5, 1.5, C).astype(np.float32),
                    "label_smoothing": 0.05,
                },
            )
        ),
        "poly_loss_cross_entropy_with_integer_labels": Case(
            lambda rng, b: ((_logits(rng, b), _int_labels(rng, b)), {"epsilon": 1.5})
        ),
        # One data argument: the logits.
        "z_loss": Case(lambda rng, b: ((_logits(rng, b),), {})),
    }
)
