import numpy as np

from tests.cases import Case

C = 5


def _signs(rng, batch):
    return rng.choice(np.array([-1.0, 1.0], np.float32), size=batch)


def _scores_and_signs(rng, batch):
    return (rng.normal(size=batch).astype(np.float32), _signs(rng, batch)), {}


def _class_scores_and_one_hot(rng, batch):
    scores = rng.normal(size=batch + (C,)).astype(np.float32)
    one_hot = np.eye(C, dtype=np.float32)[rng.integers(0, C, size=batch)]
    return (scores, one_hot), {}


CASES = {
    "hinge_loss": Case(_scores_and_signs, smooth=False),
    "categorical_hinge_loss": Case(_class_scores_and_one_hot, smooth=False),
    "soft_margin_loss": Case(_scores_and_signs),
}
