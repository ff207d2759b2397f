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
