"""Cases for the ranking losses (jaxloss/_ranking.py): lists of items along the last axis.

Listwise and pairwise losses give one value per list: their scores are ``batch + (N,)``.
A pairwise loss's value is the sum over the valid pairs of the list and its ``"mean"``
divides by the number of valid pairs, which ``valid_pairs`` counts for the
``mean_denominator`` of their cases. Pointwise losses give one value per item: their
scores are ``batch`` itself (lists of ``batch[-1]`` items).

Labels are integer-like relevance grades: where a loss reads them only through
comparisons (sorting, label order, valid pairs), a perturbation that breaks a tie jumps,
so they are ``structural``; where a loss is differentiable in them, ``diff`` names them.
"""

import numpy as np

from tests.cases import Case

N = 5  # list size of the listwise and pairwise cases


def _grades(rng, shape):
    return rng.integers(0, 3, size=shape).astype(np.float32)  # graded relevance 0..2


def _lists(rng, batch):
    shape = tuple(batch) + (N,)
    return (rng.normal(size=shape).astype(np.float32), _grades(rng, shape)), {}


def _lists_with_a_relevant_item(rng, batch):
    """Graded labels with at least one positive label per list (poly1's target
    distribution switches to uniform where a list's labels sum to 0)."""
    (scores, labels), _ = _lists(rng, batch)
    labels[..., 0] = np.maximum(labels[..., 0], 1.0)
    return (scores, labels), {"epsilon": 0.7}


def valid_pairs(labels, ordered=True):
    """The number of valid pairs of each list of ``labels`` ``[..., n]`` (float64), as rax
    defines them with no mask: the pairs ``(i, j)`` with ``y_i > y_j``, or every one of
    the ``n * n`` pairs (``i = j`` included) when not ``ordered`` (pairwise_mse_loss)."""
    y = np.asarray(labels, np.float64)
    if not ordered:
        return np.full(y.shape[:-1], float(y.shape[-1] ** 2))
    return np.sum(y[..., :, None] > y[..., None, :], axis=(-2, -1)).astype(np.float64)


def _ordered_pairs(args):
    return valid_pairs(args[1])


def _all_pairs(args):
    return valid_pairs(args[1], ordered=False)


def _lists_qr(rng, batch):
    args, _ = _lists(rng, batch)
    return args, {"tau": 0.3, "squared": True}


def _items(rng, batch):
    """Scores of shape ``batch`` (lists along the last axis) and graded labels."""
    shape = tuple(batch)
    return (rng.normal(size=shape).astype(np.float32), _grades(rng, shape)), {}


def _items_soft_labels(rng, batch):
    shape = tuple(batch)
    scores = rng.normal(size=shape).astype(np.float32)
    return (scores, rng.uniform(0.0, 1.0, size=shape).astype(np.float32)), {}


CASES = {
    "ranking_softmax_loss": Case(_lists),
    # listwise
    "listmle_loss": Case(_lists, structural=(1,)),
    "poly1_softmax_loss": Case(_lists_with_a_relevant_item, diff=(0, 1)),
    "unique_softmax_loss": Case(_lists, structural=(1,)),
    # pairwise: one value per list, "mean" over the valid pairs
    "pairwise_hinge_loss": Case(
        _lists, structural=(1,), smooth=False, mean_denominator=_ordered_pairs
    ),
    "pairwise_logistic_loss": Case(_lists, structural=(1,), mean_denominator=_ordered_pairs),
    "pairwise_soft_zero_one_loss": Case(_lists, structural=(1,), mean_denominator=_ordered_pairs),
    "pairwise_mse_loss": Case(_lists, diff=(0, 1), mean_denominator=_all_pairs),
    "pairwise_qr_loss": Case(
        _lists_qr, structural=(1,), smooth=False, mean_denominator=_ordered_pairs
    ),
    # pointwise
    "pointwise_sigmoid_loss": Case(_items_soft_labels, diff=(0, 1)),
    "pointwise_mse_loss": Case(_items, diff=(0, 1)),
}
