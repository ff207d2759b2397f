"""Cases for the metric-learning losses (jaxloss/_metric.py).

Scores and labels have the per-example shape ``batch``; embeddings are ``batch + (D,)``.
The PyTorch-style losses take labels -1/+1, ``contrastive_loss`` takes 1 (similar) / 0.
"""

import numpy as np

from tests.cases import Case

D = 4  # embedding length


def _f32(x):
    return np.asarray(x, np.float32)


def _signs(rng, batch):
    return rng.choice(np.array([-1.0, 1.0], np.float32), size=batch)


def _embeddings(rng, batch, n):
    return tuple(_f32(rng.normal(size=tuple(batch) + (D,))) for _ in range(n))


def _margin_ranking(rng, batch):
    return (_f32(rng.normal(size=batch)), _f32(rng.normal(size=batch)), _signs(rng, batch)), {
        "margin": 0.2
    }


def _hinge_embedding(rng, batch):
    # Distance-like inputs; the kink at x = margin is avoided by the smooth=False flag.
    return (_f32(rng.uniform(0.0, 2.0, size=batch)), _signs(rng, batch)), {"margin": 1.0}


def _cosine_embedding(rng, batch):
    return _embeddings(rng, batch, 2) + (_signs(rng, batch),), {"margin": 0.1}


def _contrastive(rng, batch):
    labels = _f32(rng.integers(0, 2, size=batch))
    # Margin 3: about half of the dissimilar pairs of N(0, 1) vectors in 4-D are inside it.
    return _embeddings(rng, batch, 2) + (labels,), {"margin": 3.0}


def _triplet(rng, batch):
    return _embeddings(rng, batch, 3), {"margin": 0.5}


CASES = {
    "margin_ranking_loss": Case(_margin_ranking, diff=(0, 1), smooth=False),
    # Labels are +-1 indicators that select the formula (PyTorch's form), not data.
    "hinge_embedding_loss": Case(_hinge_embedding, smooth=False, structural=(1,)),
    "cosine_embedding_loss": Case(_cosine_embedding, diff=(0, 1), smooth=False),
    # The squared hinge of the dissimilar term has a continuous first derivative.
    "contrastive_loss": Case(_contrastive, diff=(0, 1)),
    "triplet_margin_loss": Case(_triplet, diff=(0, 1, 2), smooth=False),
    # kwargs {}: the default distance (a custom callable cannot be bound in a Loss config).
    "triplet_margin_with_distance_loss": Case(
        lambda rng, b: (_embeddings(rng, b, 3), {}), diff=(0, 1, 2), smooth=False
    ),
}
