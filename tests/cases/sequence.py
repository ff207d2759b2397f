"""Cases for the sequence losses (jaxloss/_sequence.py).

``ctc_loss`` takes ``batch + (T, K)`` logits, ``batch + (T,)`` frame paddings,
``batch + (L,)`` labels and label paddings, and gives one value per sequence, so its
per-example shape is ``batch`` (any leading shape, also under ``jax.vmap``). The inputs
are always feasible: at most ``L = 2`` labels (a repeat needs 3 frames) and at least 5 of
the ``T = 6`` frames are real.
"""

import numpy as np

from tests.cases import Case

T, K, L = 6, 4, 2  # frames, classes (0 is the blank), labels


def _ctc(rng, batch):
    batch = tuple(batch)
    logits = rng.normal(size=batch + (T, K)).astype(np.float32)
    # The last frame is padding for about half of the sequences.
    logit_paddings = np.zeros(batch + (T,), np.float32)
    logit_paddings[..., -1] = rng.random(batch) < 0.5
    labels = rng.integers(1, K, size=batch + (L,)).astype(np.int32)
    # One or two labels per sequence (right-padded); padded slots hold junk on purpose.
    label_paddings = np.zeros(batch + (L,), np.float32)
    label_paddings[..., -1] = rng.random(batch) < 0.5
    labels = np.where(label_paddings > 0, -7, labels).astype(np.int32)
    return (logits, logit_paddings, labels, label_paddings), {}


CASES = {
    "ctc_loss": Case(_ctc, structural=(1, 3)),
}
