import numpy as np

from tests.cases import Case


def _probabilities(rng, batch):
    return rng.uniform(0.05, 0.95, size=batch).astype(np.float32)


def _binary_labels(rng, batch):
    return rng.integers(0, 2, size=batch).astype(np.float32)


CASES = {
    "binary_cross_entropy": Case(
        lambda rng, b: (
            (_probabilities(rng, b), _binary_labels(rng, b)),
            {"positive_weight": 1.5, "negative_weight": 0.5},
        )
    ),
    "sigmoid_binary_cross_entropy": Case(
        lambda rng, b: (
            (rng.normal(size=b).astype(np.float32), _binary_labels(rng, b)),
            {"pos_weight": 2.0, "label_smoothing": 0.1},
        )
    ),
    # Soft labels (the hard-label gradient checks then round them to exactly 0/1).
    "binary_focal_loss": Case(
        lambda rng, b: (
            (_probabilities(rng, b), rng.uniform(0.0, 1.0, size=b).astype(np.float32)),
            {"alpha": 0.25, "gamma": 1.5},
        )
    ),
}
