import numpy as np

from tests.cases import binary_logits, from_inputs, soft_binary_labels


def _probabilities(rng, batch):
    return rng.uniform(0.05, 0.95, size=batch).astype(np.float32)


def _binary_labels(rng, batch):
    return rng.integers(0, 2, size=batch).astype(np.float32)


CASES = {
    "binary_cross_entropy": from_inputs(
        _probabilities, _binary_labels, positive_weight=1.5, negative_weight=0.5
    ),
    "sigmoid_binary_cross_entropy": from_inputs(
        binary_logits, _binary_labels, pos_weight=2.0, label_smoothing=0.1
    ),
    # Soft labels (the hard-label gradient checks then round them to exactly 0/1).
    "binary_focal_loss": from_inputs(_probabilities, soft_binary_labels, alpha=0.25, gamma=1.5),
}
