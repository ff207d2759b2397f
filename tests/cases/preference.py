"""Cases for the preference-optimization losses (jaxloss/_preference.py).

Inputs look like real ones: sequence log-probabilities (sums over a completion's tokens)
are tens of nats below 0, average per-token log-probabilities (SimPO, ORPO) a few
tenths to a few nats, and the reference model's log-probabilities lie near the
policy's. Label smoothing is nonzero wherever the loss has it.
"""

import numpy as np

from tests.cases import Case


def _f32(x):
    return np.asarray(x, np.float32)


def _sequence(rng, batch):
    """Sums of token log-probabilities of a completion: -50 to -5 nats."""
    return -rng.uniform(5.0, 50.0, size=batch)


def _average(rng, batch):
    """Average per-token log-probabilities: -3 to -0.2 nats."""
    return -rng.uniform(0.2, 3.0, size=batch)


def _near(rng, x):
    """A reference model's log-probabilities of the same completions: close to ``x``."""
    return x + rng.normal(scale=2.0, size=x.shape)


def _dpo(rng, batch):
    pc, pr = _sequence(rng, batch), _sequence(rng, batch)
    args = (pc, pr, _near(rng, pc), _near(rng, pr))
    return tuple(map(_f32, args)), {"beta": 0.1, "label_smoothing": 0.1}


def _simpo(rng, batch):
    return (_f32(_average(rng, batch)), _f32(_average(rng, batch))), {"label_smoothing": 0.1}


def _cpo(rng, batch):
    args = (_f32(_sequence(rng, batch)), _f32(_sequence(rng, batch)))
    return args, {"label_smoothing": 0.1, "nll_weight": 0.5}


def _orpo(rng, batch):
    return (_f32(_average(rng, batch)), _f32(_average(rng, batch))), {"beta": 0.25}


def _kto(rng, batch):
    p = _sequence(rng, batch)
    desirable = rng.random(batch) < 0.5
    # The KL completions: the policy a little above the reference on average (z > 0).
    p_kl = _sequence(rng, batch)
    r_kl = p_kl - rng.uniform(0.0, 1.0, size=batch)
    args = (_f32(p), _f32(_near(rng, p)), desirable, _f32(p_kl), _f32(r_kl))
    return args, {"beta": 0.1, "undesirable_weight": 1.5}


CASES = {
    "dpo_loss": Case(_dpo, diff=(0, 1, 2, 3)),
    "simpo_loss": Case(_simpo, diff=(0, 1)),
    "cpo_loss": Case(_cpo, diff=(0, 1)),
    "orpo_loss": Case(_orpo, diff=(0, 1)),
    # The KL arguments only set the reference point z, which is gradient-stopped (as in
    # TRL): finite differences through them would see z move, so they are structural.
    "kto_loss": Case(_kto, diff=(0, 1), structural=(3, 4)),
}
