"""Cases for the segmentation losses (jaxloss/_segmentation.py).

Inputs are ``batch + (H, W, C)`` (binary: ``batch + (H, W)``) with the spatial axes
named by ``axis`` as negative axes, so that ``batch`` is the per-example shape (also
under ``jax.vmap``).
"""

import numpy as np

from tests.cases import Case

H, W, C = 3, 2, 3


def _f32(x):
    return np.asarray(x, np.float32)


def _multiclass(kwargs):
    def make(rng, batch):
        shape = tuple(batch) + (H, W)
        logits = _f32(rng.normal(size=shape + (C,)))
        targets = np.eye(C, dtype=np.float32)[rng.integers(0, C, size=shape)]
        return (logits, targets), {"axis": (-3, -2), **kwargs}

    return make


def _every_class_present(rng, batch):
    # Generalized Dice weights an absent class (T_c = 0) like the largest present one,
    # a jump in the targets; with every class present in every example the loss is
    # differentiable in the targets, which tests/test_gradients.py checks.
    (logits, targets), kwargs = _multiclass({})(rng, batch)
    flat = targets.reshape((-1, H * W, C))
    for example in flat:
        example[:C] = np.eye(C, dtype=np.float32)[rng.permutation(C)]
    return (logits, flat.reshape(targets.shape)), kwargs


def _binary(rng, batch):
    shape = tuple(batch) + (H, W)
    logits = _f32(rng.normal(size=shape))
    targets = _f32(rng.random(shape) < 0.5)
    return (logits, targets), {"axis": (-2, -1)}


CASES = {
    "dice_loss": Case(_multiclass({})),
    "binary_dice_loss": Case(_binary),
    "tversky_loss": Case(_multiclass({"alpha": 0.3, "beta": 0.7})),
    "generalized_dice_loss": Case(_every_class_present),
    # Its class weights come from the volumes of the whole batch: `where` removes
    # examples from them, so the other examples' values change.
    "multiclass_generalized_dice_loss": Case(
        _multiclass({"smooth": 0.5}), where_drops_examples=True
    ),
}
