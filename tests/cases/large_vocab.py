"""Cases for the large-vocabulary loss (jaxloss/_large_vocab.py).

The hidden states and the labels are batched; the ``[D, V]`` weight is shared (not
batched). ``chunk_size`` does not divide ``V`` so that the generic tests go through the
block loop and the narrower last block.
"""

import numpy as np

from tests.cases import Case

D = 6  # hidden size
V = 11  # vocabulary size


def _make(rng, batch):
    hidden = rng.normal(size=batch + (D,)).astype(np.float32)
    weight = (rng.normal(size=(D, V)) / np.sqrt(D)).astype(np.float32)
    labels = rng.integers(0, V, size=batch).astype(np.int32)
    return (hidden, weight, labels), {"label_smoothing": 0.05, "chunk_size": 4}


DT = 8  # the teacher's hidden size


def _make_distillation(options):
    def make(rng, batch):
        hidden = rng.normal(size=batch + (D,)).astype(np.float32)
        weight = (rng.normal(size=(D, V)) / np.sqrt(D)).astype(np.float32)
        teacher_hidden = rng.normal(size=batch + (DT,)).astype(np.float32)
        teacher_weight = (1.5 * rng.normal(size=(DT, V)) / np.sqrt(DT)).astype(np.float32)
        # teacher_gradient: the generic gradient checks differentiate every floating input
        kwargs = {"chunk_size": 4, "temperature": 1.5, "teacher_gradient": True, **options}
        return (hidden, weight, teacher_hidden, teacher_weight), kwargs

    return make


CASES = {
    "linear_softmax_cross_entropy_with_integer_labels": Case(
        _make, diff=(0, 1), batch_axes=(0, None, 0)
    ),
    "linear_kl_divergence": Case(
        _make_distillation({"direction": "reverse"}),
        diff=(0, 1, 2, 3),
        batch_axes=(0, None, 0, None),
    ),
    "linear_jensen_shannon_divergence": Case(
        _make_distillation({"beta": 0.3}), diff=(0, 1, 2, 3), batch_axes=(0, None, 0, None)
    ),
}
