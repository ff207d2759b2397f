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


def _class_scores_and_int_labels(rng, batch):
    scores = rng.normal(size=batch + (C,)).astype(np.float32)
    return (scores, rng.integers(0, C, size=batch).astype(np.int32)), {}


def _multi_margin(rng, batch):
    (scores, labels), _ = _class_scores_and_int_labels(rng, batch)
    class_weights = rng.uniform(0.5, 2.0, size=C).astype(np.float32)
    return (scores, labels), {"p": 2, "margin": 0.8, "class_weights": class_weights}


def _logits_and_multi_hot(rng, batch):
    logits = rng.normal(size=batch + (C,)).astype(np.float32)
    multi_hot = (rng.random(batch + (C,)) < 0.4).astype(np.float32)
    return (logits, multi_hot), {}


CASES.update(
    {
        "squared_hinge_loss": Case(_scores_and_signs, smooth=False),
        "perceptron_loss": Case(_scores_and_signs, smooth=False),
        "multiclass_hinge_loss": Case(_class_scores_and_int_labels, smooth=False),
        "multiclass_perceptron_loss": Case(_class_scores_and_int_labels, smooth=False),
        "multi_margin_loss": Case(_multi_margin, smooth=False),
        "multilabel_soft_margin_loss": Case(_logits_and_multi_hot),
    }
)


def _scores_and_padded_targets(rng, batch):
    """Scores and PyTorch-style multi-label targets: the target classes of each example,
    then -1, then entries that the loss ignores (anything in [-1, C))."""
    scores = rng.normal(size=batch + (C,)).astype(np.float32)
    labels = rng.integers(-1, C, size=batch + (C,)).astype(np.int32)
    for idx in np.ndindex(batch):
        k = int(rng.integers(0, C + 1))  # 0 targets (loss 0) to all C
        labels[idx][:k] = rng.permutation(C)[:k]
        if k < C:
            labels[idx][k] = -1
    return (scores, labels), {}


CASES["multilabel_margin_loss"] = Case(_scores_and_padded_targets, smooth=False)
