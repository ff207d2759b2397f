import numpy as np

from tests.cases import binary_logits, from_inputs, soft_binary_labels

C = 5
# Per-class weights of the softmax focal losses.
ALPHA = np.linspace(0.5, 1.5, C).astype(np.float32)


def _logits(rng, batch):
    return rng.normal(size=batch + (C,)).astype(np.float32)


def _soft_labels(rng, batch):
    p = rng.uniform(0.05, 1.0, size=batch + (C,))
    return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def _log_soft_labels(rng, batch):
    return np.log(_soft_labels(rng, batch))


def _int_labels(rng, batch):
    return rng.integers(0, C, size=batch).astype(np.int32)


CASES = {
    "softmax_cross_entropy": from_inputs(_logits, _soft_labels, label_smoothing=0.1),
    "softmax_cross_entropy_with_integer_labels": from_inputs(
        _logits, _int_labels, label_smoothing=0.05
    ),
    "categorical_cross_entropy": from_inputs(_soft_labels, _soft_labels),
    # Log-probabilities and class indices.
    "nll_loss": from_inputs(_log_soft_labels, _int_labels),
    # Soft labels (the registry-wide gradient checks then cover the labels, at hard ones
    # too); the integer labels of Keras's form are tested in tests/test_classification.py.
    "categorical_generalized_cross_entropy": from_inputs(_soft_labels, _soft_labels, q=0.7),
    "sigmoid_focal_loss": from_inputs(binary_logits, soft_binary_labels, alpha=0.25, gamma=1.5),
    "softmax_focal_loss": from_inputs(_logits, _soft_labels, gamma=1.5, alpha=ALPHA),
    "poly_loss_cross_entropy": from_inputs(_logits, _soft_labels, epsilon=2.0),
    # Probabilities and soft labels, Keras's default alpha (0.25).
    "categorical_focal_loss": from_inputs(
        _soft_labels, _soft_labels, gamma=1.5, label_smoothing=0.1
    ),
    "softmax_focal_loss_with_integer_labels": from_inputs(
        _logits, _int_labels, gamma=1.5, alpha=ALPHA, label_smoothing=0.05
    ),
    "poly_loss_cross_entropy_with_integer_labels": from_inputs(_logits, _int_labels, epsilon=1.5),
    # One data argument: the logits.
    "z_loss": from_inputs(_logits),
}
