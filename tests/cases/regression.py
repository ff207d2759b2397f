"""Cases for the regression losses (jaxloss/_regression.py).

Inputs keep every residual away from the kinks of the piecewise losses (0 for the
absolute error and the quantile loss, +-delta / +-beta for Huber and smooth L1), so that
finite-difference gradient checks at these points are valid.
"""

import numpy as np

from tests.cases import Case

D = 4  # vector length for the cosine losses


def _f32(x):
    return np.asarray(x, np.float32)


def _residuals(rng, shape, low, high):
    """Residuals with magnitude in [low, high] and a random sign."""
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return sign * rng.uniform(low, high, size=shape)


def _pair(rng, batch, low=0.2, high=2.0):
    """Predictions ~ N(0, 1) and targets at a residual of magnitude in [low, high]."""
    p = rng.normal(size=batch)
    return _f32(p), _f32(p - _residuals(rng, batch, low, high))


def _kinked(rng, batch, corner):
    """Residuals in [0.1, 0.7] * corner or [1.3, 2.5] * corner: away from |r| = corner."""
    p = rng.normal(size=batch)
    small = rng.random(batch) < 0.5
    mag = np.where(small, rng.uniform(0.1, 0.7, batch), rng.uniform(1.3, 2.5, batch)) * corner
    sign = np.where(rng.random(batch) < 0.5, -1.0, 1.0)
    return _f32(p), _f32(p - sign * mag)


def _counts(rng, batch):
    return _f32(rng.integers(0, 6, size=batch))


def _vectors(rng, batch):
    shape = tuple(batch) + (D,)
    return (_f32(rng.normal(size=shape)), _f32(rng.normal(size=shape))), {}


CASES = {
    "squared_error": Case(lambda rng, b: (_pair(rng, b), {})),
    "l2_loss": Case(lambda rng, b: (_pair(rng, b), {})),
    "absolute_error": Case(lambda rng, b: (_pair(rng, b), {})),
    "huber_loss": Case(lambda rng, b: (_kinked(rng, b, 0.8), {"delta": 0.8})),
    "smooth_l1_loss": Case(lambda rng, b: (_kinked(rng, b, 0.8), {"beta": 0.8})),
    "log_cosh": Case(lambda rng, b: (_pair(rng, b, 0.0, 3.0), {})),
    "absolute_percentage_error": Case(
        # Targets bounded away from 0, residuals away from 0.
        lambda rng, b: (
            (lambda t: (_f32(t + _residuals(rng, b, 0.1, 1.0)), _f32(t)))(
                _residuals(rng, b, 0.5, 2.0)
            ),
            {},
        )
    ),
    "squared_logarithmic_error": Case(
        # Positive inputs, above the clipping floor.
        lambda rng, b: ((_f32(rng.uniform(0.1, 3.0, b)), _f32(rng.uniform(0.0, 3.0, b))), {})
    ),
    "quantile_loss": Case(lambda rng, b: (_pair(rng, b), {"quantile": 0.3})),
    "poisson_loss": Case(lambda rng, b: ((_f32(rng.uniform(0.2, 3.0, b)), _counts(rng, b)), {})),
    "poisson_nll_loss": Case(
        lambda rng, b: ((_f32(rng.normal(scale=0.5, size=b)), _counts(rng, b)), {"full": True})
    ),
    "gaussian_nll_loss": Case(
        lambda rng, b: (
            _pair(rng, b) + (_f32(rng.uniform(0.5, 2.0, b)),),
            {"full": True},
        ),
        diff=(0,),
    ),
    "cosine_similarity": Case(_vectors),
    "cosine_distance": Case(_vectors),
}
