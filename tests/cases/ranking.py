"""Cases for the ranking losses (jaxloss/_ranking.py): lists of N items along the last axis."""

import numpy as np

from tests.cases import Case

N = 5  # list size


def _lists(rng, batch):
    shape = tuple(batch) + (N,)
    logits = rng.normal(size=shape).astype(np.float32)
    labels = rng.integers(0, 3, size=shape).astype(np.float32)  # graded relevance 0..2
    return (logits, labels), {}


CASES = {"ranking_softmax_loss": Case(_lists)}
