import numpy as np

from tests.cases import Case

C = 5


def _logits_and_binary_labels(rng, batch):
    logits = (1.5 * rng.normal(size=batch)).astype(np.float32)
    return (logits, rng.integers(0, 2, size=batch).astype(np.float32)), {}


def _scores_and_int_labels(rng, batch):
    scores = rng.normal(size=batch + (C,)).astype(np.float32)
    return (scores, rng.integers(0, C, size=batch).astype(np.int32)), {}


CASES = {
    "sparsemax_loss": Case(_logits_and_binary_labels, smooth=False),
    "multiclass_sparsemax_loss": Case(_scores_and_int_labels, smooth=False),
}
