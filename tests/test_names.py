"""The registry knows every loss name of optax, PyTorch, Keras and rax, with its semantics.

The names are read from the installed libraries, not from a list written here: a new
loss in a new version of one of them fails :func:`test_every_library_loss_name_resolves`
until the registry knows it. Then, for every PyTorch and Keras name, the loss that
``jaxloss.get(name)`` binds is called on inputs of the kind that library's loss takes
(probabilities or logits, class indices or one-hot) with that library's defaults, and
must give the library's value: a name that resolved to a loss with other input semantics
or other defaults fails. optax's and rax's names are jaxloss's own names (checked to
resolve to the function of that name); their values are compared in the per-family
oracle tests.
"""

from __future__ import annotations

import inspect
import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is imported anywhere

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax.losses
import pytest
import rax
import torch
import torch.nn.functional as F

import jaxloss
from jaxloss import _registry

N, C = 6, 5
RTOL, ATOL = 2e-5, 2e-6


# ---------------------------------------------------------------------------
# the names, read from the libraries


def optax_names() -> list[str]:
    return sorted(
        n for n in dir(optax.losses) if not n.startswith("_") and callable(getattr(optax.losses, n))
    )


def torch_names() -> list[str]:
    from torch.nn.modules.loss import _Loss

    classes = [
        n
        for n, v in vars(torch.nn).items()
        if inspect.isclass(v) and issubclass(v, _Loss) and v is not _Loss
    ]
    functions = [
        n
        for n in dir(F)
        if not n.startswith("_") and ("loss" in n or "entropy" in n or n == "kl_div")
    ]
    return sorted(set(classes + functions + ["AdaptiveLogSoftmaxWithLoss"]))


def keras_names() -> list[str]:
    L = keras.losses
    not_losses = {"Loss", "get", "serialize", "deserialize"}
    return sorted(
        n
        for n in dir(L)
        if not n.startswith("_") and n not in not_losses and callable(getattr(L, n))
    )


def rax_names() -> list[str]:
    return sorted(n for n in dir(rax) if n.endswith("_loss"))


LIBRARY_NAMES = {
    "optax": optax_names(),
    "torch": torch_names(),
    "keras": keras_names(),
    "rax": rax_names(),
}


@pytest.mark.parametrize("library", list(LIBRARY_NAMES))
def test_every_library_loss_name_resolves(library):
    names = LIBRARY_NAMES[library]
    assert len(names) >= 10, names  # the enumeration found the library's losses
    unresolved = []
    for name in names:
        if name in _registry.NOT_LOSSES:
            with pytest.raises(ValueError, match=rf"'{name}' is not a loss; use .*jaxloss\."):
                jaxloss.get(name)
            continue
        try:
            canonical = jaxloss.get(name).name
        except ValueError:
            unresolved.append(name)
            continue
        # any capitalization resolves to the same loss
        assert jaxloss.get(name.lower()).name == canonical, name
        assert jaxloss.get(name.upper()).name == canonical, name
    assert not unresolved, f"{library} losses the registry does not know: {unresolved}"


@pytest.mark.parametrize("library", ["optax", "rax"])
def test_names_that_are_jaxloss_names_resolve_to_themselves(library):
    for name in LIBRARY_NAMES[library]:
        if name in _registry.NOT_LOSSES or name in _registry.FOREIGN_NAMES:
            continue
        assert jaxloss.get(name).name in (name, _registry._ALIASES.get(name)), name


def test_lower_cased_names_are_unambiguous():
    """Two names that differ only in case never mean two different losses."""
    seen: dict[str, tuple[str, str]] = {}
    for table in (_registry._REGISTRY, _registry._ALIASES, _registry.FOREIGN_NAMES):
        for name in table:
            target = jaxloss.get(name)
            key = name.lower()
            if key in seen:
                assert seen[key][1] == target, (name, seen[key])
            seen[key] = (name, target)


def test_foreign_names_resolve_to_registered_losses_with_valid_options():
    for foreign, target in _registry.FOREIGN_NAMES.items():
        canonical = target if isinstance(target, str) else target[0]
        assert canonical in jaxloss.names(), (foreign, canonical)
        assert foreign not in jaxloss.names(), f"{foreign} is a jaxloss name already"
        loss = jaxloss.get(foreign)  # bound options are valid options of the loss
        assert loss.name == canonical


def test_close_name_suggestions():
    with pytest.raises(ValueError, match=r"unknown loss 'BCELos'; did you mean 'BCELoss'"):
        jaxloss.get("BCELos")
    with pytest.raises(ValueError, match=r"did you mean .*'MeanSquaredError'"):
        jaxloss.get("meansquarederr")
    with pytest.raises(TypeError, match=r"jaxloss.get: a loss name must be a string, got int"):
        jaxloss.get(3)


# ---------------------------------------------------------------------------
# each PyTorch and Keras name gives that library's value with its defaults


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(sum(map(ord, name)))


def _probs(rng, shape):
    e = np.exp(rng.normal(size=shape))
    return e / e.sum(-1, keepdims=True)


def _onehot(rng, shape):
    return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]


def _signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _log_softmax(x, axis=-1):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


# data kind -> rng -> the arrays, in jaxloss's argument order
DATA = {
    "real": lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C))),
    "positive": lambda r: (r.uniform(0.1, 3.0, (N, C)), r.uniform(0.1, 3.0, (N, C))),
    "rates_counts": lambda r: (r.uniform(0.1, 3.0, (N, C)), r.integers(0, 6, (N, C)) * 1.0),
    "log_rates_counts": lambda r: (r.normal(size=(N, C)), r.integers(0, 6, (N, C)) * 1.0),
    "gaussian": lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)), r.uniform(0.5, 2, (N, C))),
    "probs_binary": lambda r: (r.uniform(0.05, 0.95, (N, C)), r.integers(0, 2, (N, C)) * 1.0),
    "logits_binary": lambda r: (2 * r.normal(size=(N, C)), r.integers(0, 2, (N, C)) * 1.0),
    "logits_index": lambda r: (2 * r.normal(size=(N, C)), r.integers(0, C, N)),
    "log_probs_index": lambda r: (_log_softmax(2 * r.normal(size=(N, C))), r.integers(0, C, N)),
    "log_probs_index_2d": lambda r: (
        _log_softmax(r.normal(size=(2, C, 3, 4)), axis=1),
        r.integers(0, C, (2, 3, 4)),
    ),
    "probs_onehot": lambda r: (_probs(r, (N, C)), _onehot(r, (N, C))),
    "probs_index": lambda r: (_probs(r, (N, C)), r.integers(0, C, N)),
    "real_onehot": lambda r: (1.5 * r.normal(size=(N, C)), _onehot(r, (N, C))),
    "real_signs": lambda r: (1.5 * r.normal(size=(N, C)), _signs(r, (N, C))),
    "real_binary": lambda r: (r.normal(size=(N, C)), r.integers(0, 2, (N, C)) * 1.0),
    "log_probs_probs": lambda r: (_log_softmax(r.normal(size=(N, C))), _probs(r, (N, C))),
    "pair_signs": lambda r: (r.normal(size=N), r.normal(size=N), _signs(r, (N,))),
    "vectors_pair_signs": lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)), _signs(r, (N,))),
    "triplets": lambda r: tuple(r.normal(size=(N, C)) for _ in range(3)),
    "scores_index": lambda r: (r.normal(size=(N, C)), r.integers(0, C, N)),
    "scores_targets_padded": lambda r: (
        r.normal(size=(N, C)),
        np.array([[1, 3, -1, 0, 2], [0, -1, 2, 2, 2], [4, 2, 1, 0, 3]] * 2),
    ),
    "masks": lambda r: (r.uniform(0.05, 0.95, (1, 4, 4, 1)), r.integers(0, 2, (1, 4, 4, 1)) * 1.0),
    "embeddings_labels": lambda r: (r.normal(size=(8, C)), np.array([0, 1, 0, 2, 1, 0, 2, 2])),
    "linear": lambda r: (r.normal(size=(N, 4)), r.normal(size=(4, C)), r.integers(0, C, N)),
}

# PyTorch name -> (data kind, reduction compared). "mean" unless torch's "mean" divides
# by another count than jaxloss's (kl_div divides by every entry).
TORCH = {
    "L1Loss": ("real", "mean"),
    "l1_loss": ("real", "mean"),
    "MSELoss": ("real", "mean"),
    "mse_loss": ("real", "mean"),
    "HuberLoss": ("real", "mean"),
    "huber_loss": ("real", "mean"),
    "SmoothL1Loss": ("real", "mean"),
    "smooth_l1_loss": ("real", "mean"),
    "BCELoss": ("probs_binary", "mean"),
    "binary_cross_entropy": ("probs_binary", "mean"),
    "BCEWithLogitsLoss": ("logits_binary", "mean"),
    "binary_cross_entropy_with_logits": ("logits_binary", "mean"),
    "CrossEntropyLoss": ("logits_index", "mean"),
    "cross_entropy": ("logits_index", "mean"),
    "NLLLoss": ("log_probs_index", "mean"),
    "nll_loss": ("log_probs_index", "mean"),
    "NLLLoss2d": ("log_probs_index_2d", "mean"),
    "KLDivLoss": ("log_probs_probs", "sum"),
    "kl_div": ("log_probs_probs", "sum"),
    "PoissonNLLLoss": ("log_rates_counts", "mean"),
    "poisson_nll_loss": ("log_rates_counts", "mean"),
    "GaussianNLLLoss": ("gaussian", "mean"),
    "gaussian_nll_loss": ("gaussian", "mean"),
    "HingeEmbeddingLoss": ("real_signs", "mean"),
    "hinge_embedding_loss": ("real_signs", "mean"),
    "SoftMarginLoss": ("real_signs", "mean"),
    "soft_margin_loss": ("real_signs", "mean"),
    "MarginRankingLoss": ("pair_signs", "mean"),
    "margin_ranking_loss": ("pair_signs", "mean"),
    "CosineEmbeddingLoss": ("vectors_pair_signs", "mean"),
    "cosine_embedding_loss": ("vectors_pair_signs", "mean"),
    "TripletMarginLoss": ("triplets", "mean"),
    "triplet_margin_loss": ("triplets", "mean"),
    "TripletMarginWithDistanceLoss": ("triplets", "mean"),
    "triplet_margin_with_distance_loss": ("triplets", "mean"),
    "MultiMarginLoss": ("scores_index", "mean"),
    "multi_margin_loss": ("scores_index", "mean"),
    "MultiLabelMarginLoss": ("scores_targets_padded", "mean"),
    "multilabel_margin_loss": ("scores_targets_padded", "mean"),
    "MultiLabelSoftMarginLoss": ("real_binary", "mean"),
    "multilabel_soft_margin_loss": ("real_binary", "mean"),
    "linear_cross_entropy": ("linear", "mean"),
}
# Names whose inputs are laid out differently from the jaxloss loss's; the oracle test
# named here compares them through the layout change.
TORCH_LAYOUT = {
    "CTCLoss": "test_oracle_torch.py::test_ctc_loss ([T, N, C] log-probs and lengths)",
    "ctc_loss": "test_oracle_torch.py::test_ctc_loss ([T, N, C] log-probs and lengths)",
    "LinearCrossEntropyLoss": "a module that owns its weight; F.linear_cross_entropy here",
}

# Keras name -> data kind; compared with Keras's default reduction (the mean over
# examples of Keras's per-example values, which average elementwise losses over the last
# axis), so jaxloss's "mean" over every entry. ``offset``: jaxloss minus Keras.
KERAS = {
    "MeanSquaredError": "real",
    "mean_squared_error": "real",
    "MeanAbsoluteError": "real",
    "mean_absolute_error": "real",
    "MeanAbsolutePercentageError": "positive",
    "mean_absolute_percentage_error": "positive",
    "MeanSquaredLogarithmicError": "positive",
    "mean_squared_logarithmic_error": "positive",
    "Huber": "real",
    "huber": "real",
    "LogCosh": "real",
    "log_cosh": "real",
    "Poisson": "rates_counts",
    "poisson": "rates_counts",
    "BinaryCrossentropy": "probs_binary",
    "binary_crossentropy": "probs_binary",
    "BinaryFocalCrossentropy": "probs_binary",
    "binary_focal_crossentropy": "probs_binary",
    "CategoricalCrossentropy": "probs_onehot",
    "categorical_crossentropy": "probs_onehot",
    "CategoricalFocalCrossentropy": "probs_onehot",
    "categorical_focal_crossentropy": "probs_onehot",
    "SparseCategoricalCrossentropy": "probs_index",
    "sparse_categorical_crossentropy": "probs_index",
    "CategoricalGeneralizedCrossEntropy": "probs_index",
    "categorical_generalized_cross_entropy": "probs_index",
    "Hinge": "real_signs",
    "hinge": "real_signs",
    "SquaredHinge": "real_signs",
    "squared_hinge": "real_signs",
    "CategoricalHinge": "real_onehot",
    "categorical_hinge": "real_onehot",
    "CosineSimilarity": "real",
    "cosine_similarity": "real",
    "KLDivergence": "log_probs_probs",
    "kl_divergence": "log_probs_probs",
    "Dice": "masks",
    "dice": "masks",
    "Tversky": "masks",
    "tversky": "masks",
    "Circle": "embeddings_labels",
    "circle": "embeddings_labels",
}
KERAS_OFFSET = {"CosineSimilarity": 1.0}  # cosine_distance is 1 - cos; Keras's is -cos
KERAS_LAYOUT = {
    "CTC": "test_oracle_keras.py::test_ctc (labels first, no paddings)",
    "ctc": "test_oracle_keras.py::test_ctc (labels first, no paddings)",
}
# Keras function names that are jaxloss names with jaxloss's (optax's) semantics; the
# Keras function takes other inputs, and the migration guide says how to call jaxloss.
KERAS_NAME_CLASHES = {
    "kl_divergence": "jaxloss.kl_divergence takes log-predictions (optax); Keras probabilities",
    "cosine_similarity": "jaxloss.cosine_similarity is +cos (optax); Keras's loss is -cos",
}


def test_every_torch_and_keras_name_is_compared():
    assert set(LIBRARY_NAMES["torch"]) - set(_registry.NOT_LOSSES) == set(TORCH) | set(TORCH_LAYOUT)
    assert set(LIBRARY_NAMES["keras"]) == set(KERAS) | set(KERAS_LAYOUT)


def _torch_value(name, arrays, reduction):
    if name == "linear_cross_entropy":  # torch's weight is [V, D], jaxloss's [D, V]
        arrays = (arrays[0], arrays[1].T.copy(), arrays[2])
    tensors = [torch.tensor(a) for a in arrays]
    if name[0].isupper():
        return getattr(torch.nn, name)(reduction=reduction)(*tensors)
    if name == "linear_cross_entropy":
        return F.linear_cross_entropy(*tensors, reduction=reduction)
    return getattr(F, name)(*tensors, reduction=reduction)


@pytest.mark.filterwarnings("ignore:`NLLLoss2d` has been deprecated")
@pytest.mark.parametrize("name", sorted(TORCH))
def test_torch_name_gives_torch_value(name):
    kind, reduction = TORCH[name]
    arrays = DATA[kind](_rng(name))
    with jax.enable_x64(True):
        ours = jaxloss.get(name)(*(jnp.asarray(a) for a in arrays), reduction=reduction)
    theirs = _torch_value(name, arrays, reduction)
    np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-10, atol=1e-12)


def _keras_inputs(kind, arrays):
    """(y_true, y_pred) for Keras from jaxloss's (prediction, target) arrays.

    Two input changes, both in the migration guide: Keras's KLDivergence takes
    probabilities where jaxloss's kl_divergence (optax's) takes log-predictions, and
    Keras's Circle expects unit embeddings (jaxloss normalizes them itself).
    """
    if kind == "log_probs_probs":  # Keras's KLDivergence takes probabilities
        return arrays[1], np.exp(arrays[0])
    if kind == "embeddings_labels":  # Keras's Circle takes unit embeddings
        e = arrays[0] / np.linalg.norm(arrays[0], axis=-1, keepdims=True)
        return arrays[1], e
    return arrays[1], arrays[0]


@pytest.mark.parametrize("name", sorted(KERAS))
def test_keras_name_gives_keras_value(name):
    kind = KERAS[name]
    arrays = tuple(
        np.asarray(a, np.float32) if a.dtype.kind == "f" else a for a in DATA[kind](_rng(name))
    )
    y_true, y_pred = _keras_inputs(kind, arrays)
    fn = getattr(keras.losses, name)
    if name[0].isupper():
        theirs = fn()(y_true, y_pred)
    else:  # the function form has no default q; the class's is 0.5
        extra = {"q": 0.5} if name == "categorical_generalized_cross_entropy" else {}
        theirs = jnp.mean(fn(y_true, y_pred, **extra))
    if name in KERAS_NAME_CLASHES:
        # a jaxloss name: jaxloss's semantics; the documented call gives Keras's value
        assert jaxloss.get(name).name == name
        ours = {
            "kl_divergence": lambda: jaxloss.kl_divergence(*arrays),
            "cosine_similarity": lambda: -jaxloss.cosine_similarity(*arrays),
        }[name]()
    else:
        ours = jaxloss.get(name)(*arrays) - KERAS_OFFSET.get(name, 0.0)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=RTOL, atol=ATOL)
