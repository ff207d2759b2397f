import numpy as np

from tests.cases import Case

C = 5


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _log_predictions_and_targets(rng, batch):
    log_p = _log_softmax(rng.normal(size=batch + (C,)))
    t = np.exp(_log_softmax(rng.normal(size=batch + (C,))))
    return (log_p.astype(np.float32), t.astype(np.float32)), {}


CASES = {
    "kl_divergence": Case(_log_predictions_and_targets),
}


def _log_predictions_and_log_targets(rng, batch):
    log_p = _log_softmax(rng.normal(size=batch + (C,)))
    log_t = _log_softmax(rng.normal(size=batch + (C,)))
    return (log_p.astype(np.float32), log_t.astype(np.float32)), {}


def _log_predictions_and_measures(rng, batch):
    # Unnormalized, strictly positive measures on both sides.
    log_p = rng.normal(scale=0.5, size=batch + (C,))
    t = rng.uniform(0.1, 2.0, size=batch + (C,))
    return (log_p.astype(np.float32), t.astype(np.float32)), {}


CASES.update(
    {
        "kl_divergence_with_log_targets": Case(_log_predictions_and_log_targets, diff=(0, 1)),
        "generalized_kl_divergence": Case(_log_predictions_and_measures, diff=(0, 1)),
    }
)

CASES["jensen_shannon_divergence"] = Case(
    lambda rng, b: (_log_predictions_and_log_targets(rng, b)[0], {"beta": 0.3}), diff=(0, 1)
)
