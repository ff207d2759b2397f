"""Cases for the bounding-box losses (jaxloss/_detection.py).

Boxes are ``batch + (4,)`` corners ``(x1, y1, x2, y2)``, valid (``x2 > x1``, ``y2 > y1``):
random top-left corners in ``[0, 2)^2`` and sizes in ``[0.5, 2)``, so that most pairs
overlap partly and some do not. Both box arguments are differentiated.
"""

import numpy as np

from tests.cases import Case


def _boxes(rng, batch):
    corner = rng.uniform(0.0, 2.0, size=tuple(batch) + (2,))
    size = rng.uniform(0.5, 2.0, size=tuple(batch) + (2,))
    return np.concatenate([corner, corner + size], axis=-1).astype(np.float32)


def _pair(rng, batch):
    return (_boxes(rng, batch), _boxes(rng, batch)), {}


def _same_aspect_pair(rng, batch):
    # The CIoU weight alpha is a constant for the gradient (as in the paper and
    # torchvision), so autodiff differs from finite differences of the value by terms
    # proportional to the aspect term v. The registry-wide finite-difference checks
    # therefore get target boxes with the predictions' aspect ratios (v = 0, where both
    # agree); tests/test_detection.py checks the gradient at unequal aspect ratios
    # against a reference with alpha frozen.
    boxes = _boxes(rng, batch)
    corner = rng.uniform(0.0, 2.0, size=tuple(batch) + (2,))
    scale = rng.uniform(0.5, 1.5, size=tuple(batch) + (1,))
    size = (boxes[..., 2:] - boxes[..., :2]) * scale
    targets = np.concatenate([corner, corner + size], axis=-1).astype(np.float32)
    return (boxes, targets), {}


CASES = {
    "generalized_box_iou_loss": Case(_pair, diff=(0, 1)),
    "distance_box_iou_loss": Case(_pair, diff=(0, 1)),
    "complete_box_iou_loss": Case(_same_aspect_pair, diff=(0, 1)),
}
