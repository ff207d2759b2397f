"""The loss registry: names, aliases, metadata, and the frozen [`Loss`][jaxloss.Loss] object."""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from jaxloss._core import Range, check_option, check_reduction, declare_ranges, public


@dataclasses.dataclass(frozen=True)
class LossInfo:
    """Metadata of one registered loss (used by the catalogue, docs and tests).

    ``ranges`` maps each numeric option to its allowed [`Range`][jaxloss.Range], as
    declared in ``register(ranges=...)`` (a read-only mapping). ``notes`` maps
    ``"optax"``, ``"torch"``, ``"keras"`` or ``"rax"`` to what differs from that library's function
    (the migration guides print them).

    Examples:
      >>> import jaxloss
      >>> dict(jaxloss.info("huber_loss").ranges)
      {'delta': Range(low=0.0, high=None, low_open=False, high_open=False)}
      >>> str(jaxloss.info("quantile_loss").ranges["quantile"])
      'in (0.0, 1.0)'
    """

    name: str
    fn: Callable
    family: str
    inputs: str
    optax: str | None = None
    torch: str | None = None
    keras: str | None = None
    rax: str | None = None
    aliases: tuple[str, ...] = ()
    ranges: Mapping[str, Range] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )
    notes: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        """Keyword-only option names, ``reduction``/``where``/``weights`` excluded."""
        params = inspect.signature(self.fn).parameters.values()
        return tuple(
            p.name
            for p in params
            if p.kind is p.KEYWORD_ONLY and p.name not in ("reduction", "where", "weights")
        )


# The families, in the order the docs list them, with their page titles. A loss of family
# ``f`` is defined in the private module ``jaxloss._f``: one module per family.
FAMILIES: dict[str, str] = {
    "regression": "Regression",
    "binary": "Binary classification",
    "classification": "Classification",
    "sparsemax": "Sparsemax",
    "margin": "Margin and hinge",
    "divergence": "Divergences",
    "sequence": "Sequence (CTC)",
    "metric": "Metric learning",
    "self_supervised": "Self-supervised",
    "ranking": "Ranking",
    "segmentation": "Segmentation",
    "detection": "Detection (boxes)",
    "large_vocab": "Large vocabulary",
    "preference": "Preference optimization",
}

# The libraries whose equivalent functions the registry records, with their display names.
LIBRARIES: dict[str, str] = {"optax": "optax", "torch": "PyTorch", "keras": "Keras", "rax": "rax"}

_REGISTRY: dict[str, LossInfo] = {}
_ALIASES: dict[str, str] = {}

# The names other libraries give their losses, each resolved to the jaxloss loss with the
# same input semantics (probabilities or logits, class indices or one-hot) and, where that
# library's defaults differ from the jaxloss loss's, the options that give its defaults:
# name -> loss, or name -> (loss, {option: value}). Names that are jaxloss names already
# (most of optax's and rax's, PyTorch's functional names such as "huber_loss") are not
# repeated. ``get`` and ``info`` resolve them, exactly or ignoring case; they are not
# exported as attributes (the aliases declared in register() are).
_OPTAX_NAMES: dict[str, str | tuple[str, dict[str, Any]]] = {}
_TORCH_NAMES: dict[str, str | tuple[str, dict[str, Any]]] = {
    "L1Loss": "absolute_error",
    "l1_loss": "absolute_error",
    "MSELoss": "squared_error",
    "mse_loss": "squared_error",
    "HuberLoss": "huber_loss",
    "SmoothL1Loss": "smooth_l1_loss",
    "BCELoss": "binary_cross_entropy",
    "BCEWithLogitsLoss": "sigmoid_binary_cross_entropy",
    "binary_cross_entropy_with_logits": "sigmoid_binary_cross_entropy",
    # class indices, as torch's CrossEntropyLoss is used almost always
    "CrossEntropyLoss": "softmax_cross_entropy_with_integer_labels",
    "cross_entropy": "softmax_cross_entropy_with_integer_labels",
    "NLLLoss": "nll_loss",
    "NLLLoss2d": ("nll_loss", {"axis": 1}),  # [N, C, H, W] by definition
    "KLDivLoss": "kl_divergence",
    "kl_div": "kl_divergence",
    "PoissonNLLLoss": "poisson_nll_loss",
    "GaussianNLLLoss": "gaussian_nll_loss",
    "HingeEmbeddingLoss": "hinge_embedding_loss",
    "MarginRankingLoss": "margin_ranking_loss",
    "SoftMarginLoss": "soft_margin_loss",
    "MultiMarginLoss": "multi_margin_loss",
    "MultiLabelMarginLoss": "multilabel_margin_loss",
    "MultiLabelSoftMarginLoss": "multilabel_soft_margin_loss",
    "CosineEmbeddingLoss": "cosine_embedding_loss",
    "TripletMarginLoss": "triplet_margin_loss",
    "TripletMarginWithDistanceLoss": "triplet_margin_with_distance_loss",
    "CTCLoss": "ctc_loss",
    "LinearCrossEntropyLoss": "linear_softmax_cross_entropy_with_integer_labels",
    "linear_cross_entropy": "linear_softmax_cross_entropy_with_integer_labels",
}
_KERAS_NAMES: dict[str, str | tuple[str, dict[str, Any]]] = {
    "MeanSquaredError": "squared_error",
    "mean_squared_error": "squared_error",
    "MeanAbsoluteError": "absolute_error",
    "mean_absolute_error": "absolute_error",
    "MeanAbsolutePercentageError": "absolute_percentage_error",
    "mean_absolute_percentage_error": "absolute_percentage_error",
    "MeanSquaredLogarithmicError": "squared_logarithmic_error",
    "mean_squared_logarithmic_error": "squared_logarithmic_error",
    "Huber": "huber_loss",
    "huber": "huber_loss",
    "LogCosh": "log_cosh",
    "Poisson": "poisson_loss",
    "poisson": "poisson_loss",
    # Keras's cross-entropies take probabilities unless from_logits=True
    "BinaryCrossentropy": "binary_cross_entropy",
    "binary_crossentropy": "binary_cross_entropy",
    "CategoricalCrossentropy": "categorical_cross_entropy",
    "categorical_crossentropy": "categorical_cross_entropy",
    "SparseCategoricalCrossentropy": "categorical_cross_entropy",  # integer labels
    "sparse_categorical_crossentropy": "categorical_cross_entropy",
    "BinaryFocalCrossentropy": "binary_focal_loss",
    "binary_focal_crossentropy": "binary_focal_loss",
    "CategoricalFocalCrossentropy": "categorical_focal_loss",
    "categorical_focal_crossentropy": "categorical_focal_loss",
    "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy",
    "Hinge": "hinge_loss",
    "hinge": "hinge_loss",
    "SquaredHinge": "squared_hinge_loss",
    "squared_hinge": "squared_hinge_loss",
    "CategoricalHinge": "categorical_hinge_loss",
    "categorical_hinge": "categorical_hinge_loss",
    "KLDivergence": "kl_divergence",
    "CosineSimilarity": "cosine_distance",  # 1 - cos; Keras's value is -cos
    # Keras's Dice and Tversky take probabilities and add no smoothing term
    "Dice": ("dice_loss", {"apply_softmax": False, "smooth": 0.0}),
    "dice": ("dice_loss", {"apply_softmax": False, "smooth": 0.0}),
    "Tversky": ("tversky_loss", {"apply_softmax": False, "smooth": 0.0}),
    "tversky": ("tversky_loss", {"apply_softmax": False, "smooth": 0.0}),
    # Keras's defaults, and its gradient (through the pair weights)
    "Circle": ("circle_loss", {"gamma": 80.0, "margin": 0.4, "alpha_gradient": True}),
    "circle": ("circle_loss", {"gamma": 80.0, "margin": 0.4, "alpha_gradient": True}),
    "CTC": "ctc_loss",
    "ctc": "ctc_loss",
}
_RAX_NAMES: dict[str, str | tuple[str, dict[str, Any]]] = {"softmax_loss": "ranking_softmax_loss"}
# Names from the loss modules jaxloss started from (Kaun, TorchLean, Axon, scirs2-neural,
# mpneuralnetwork) and common shorthands.
_OTHER_NAMES: dict[str, str | tuple[str, dict[str, Any]]] = {
    "MSE": "squared_error",
    "smooth_l1": "smooth_l1_loss",
    "logcosh": "log_cosh",
    "log_cosh_loss": "log_cosh",
    "cosine_similarity_loss": "cosine_distance",
    "binary_cross_entropy_loss": "binary_cross_entropy",
    "soft_margin": "soft_margin_loss",
    "focal": "sigmoid_focal_loss",
    "FocalLoss": "softmax_focal_loss",
    "margin_ranking": "margin_ranking_loss",
    "connectionist_temporal_classification": "ctc_loss",
    "ContrastiveLoss": "contrastive_loss",
    "TripletLoss": "triplet_margin_loss",
    "triplet": "triplet_margin_loss",
}
FOREIGN_NAMES: dict[str, str | tuple[str, dict[str, Any]]] = {
    **_OTHER_NAMES,
    **_RAX_NAMES,
    **_OPTAX_NAMES,
    **_KERAS_NAMES,
    **_TORCH_NAMES,
}

# Public names of those libraries that are not losses, with the jaxloss function to use.
NOT_LOSSES: dict[str, str] = {
    "smooth_labels": "jaxloss.smooth_labels (a label transform, not a loss)",
    "make_fenchel_young_loss": "jaxloss.make_fenchel_young_loss (it builds a loss function)",
    "ctc_loss_with_forward_probs": (
        "jaxloss.ctc_loss_with_forward_probs (it returns the loss and the forward variables; "
        "jaxloss.ctc_loss is the loss)"
    ),
    "AdaptiveLogSoftmaxWithLoss": (
        "a PyTorch module with its own parameters; for large vocabularies see "
        "jaxloss.linear_softmax_cross_entropy_with_integer_labels"
    ),
}


def register(
    *,
    family: str,
    inputs: str,
    optax: str | None = None,
    torch: str | None = None,
    keras: str | None = None,
    rax: str | None = None,
    aliases: tuple[str, ...] = (),
    name: str | None = None,
    ranges: Mapping[str, Range] | None = None,
    notes: Mapping[str, str] | None = None,
) -> Callable[[Callable], Callable]:
    """Decorator that records a loss function under its ``__name__`` (or ``name``).

    ``ranges`` declares the allowed range of each numeric option, once: the loss checks
    its values against it when called, ``jaxloss.get`` when it binds them, and
    `LossInfo.ranges` lists them. Every option the loss passes to
    ``core.hyperparameter`` must be declared (``Range()`` if any number is allowed).
    """

    def deco(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in _REGISTRY or key in _ALIASES:
            raise RuntimeError(f"jaxloss: loss {key!r} registered twice")
        if family not in FAMILIES:
            raise RuntimeError(
                f"jaxloss: loss {key!r} has family {family!r}; the families are "
                f"{', '.join(FAMILIES)} (add a new one to FAMILIES in _registry.py)"
            )
        if fn.__module__ != f"jaxloss._{family}":
            raise RuntimeError(
                f"jaxloss: loss {key!r} of family {family!r} must be defined in "
                f"jaxloss._{family}, not {fn.__module__}"
            )
        unknown_notes = set(notes or {}) - set(LIBRARIES)
        if unknown_notes:
            raise RuntimeError(f"jaxloss: loss {key!r} has notes for {sorted(unknown_notes)}")
        declared = dict(ranges or {})
        declare_ranges(declared, name=key)(fn)
        fn = public(fn)
        _REGISTRY[key] = LossInfo(
            key,
            fn,
            family,
            inputs,
            optax,
            torch,
            keras,
            rax,
            tuple(aliases),
            types.MappingProxyType(declared),
            types.MappingProxyType(dict(notes or {})),
        )
        for alias in aliases:
            _ALIASES[alias] = key
        return fn

    return deco


def names() -> list[str]:
    """Sorted canonical names of every registered loss (aliases excluded).

    Examples:
      >>> import jaxloss
      >>> "huber_loss" in jaxloss.names()
      True
    """
    return sorted(_REGISTRY)


def aliases() -> dict[str, str]:
    """Mapping of every alias to its canonical name."""
    return dict(sorted(_ALIASES.items()))


def _lookup(name: str) -> tuple[str, dict[str, Any]]:
    """``(canonical name, options bound for a foreign name)``: exact match first, then
    ignoring case; a ``ValueError`` with the closest names otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"jaxloss.get: a loss name must be a string, got {type(name).__name__}")
    tables: list[Mapping[str, Any]] = [_REGISTRY, _ALIASES, FOREIGN_NAMES]
    for key in (name, _case_index().get(name.lower())):
        if key is None:
            continue
        if key in _REGISTRY:
            return key, {}
        if key in _ALIASES:
            return _ALIASES[key], {}
        if key in FOREIGN_NAMES:
            target = FOREIGN_NAMES[key]
            return (target, {}) if isinstance(target, str) else (target[0], dict(target[1]))
        if key in NOT_LOSSES:
            raise ValueError(f"jaxloss.get: {key!r} is not a loss; use {NOT_LOSSES[key]}")
    choices = [k for table in tables for k in table]
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    if not close:  # a name written in another case style: compare lower-cased
        lowered = {c.lower(): c for c in choices}
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), lowered, n=3)]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"jaxloss.get: unknown loss {name!r}{hint} (jaxloss.names() lists all "
        f"{len(_REGISTRY)} losses; names of optax, PyTorch, Keras and rax losses resolve too)"
    )


_CASE_INDEX: dict[str, str] = {}
_CASE_INDEX_SIZE = -1


def _case_index() -> dict[str, str]:
    """Lower-cased name -> the name as written, over every known name (rebuilt when a
    loss registers). jaxloss's own names win over foreign names of the same spelling."""
    global _CASE_INDEX_SIZE
    if _CASE_INDEX_SIZE != len(_REGISTRY) + len(_ALIASES):
        _CASE_INDEX.clear()
        for table in (NOT_LOSSES, FOREIGN_NAMES, _ALIASES, _REGISTRY):
            _CASE_INDEX.update((k.lower(), k) for k in table)
        _CASE_INDEX_SIZE = len(_REGISTRY) + len(_ALIASES)
    return _CASE_INDEX


def info(name: str) -> LossInfo:
    """The `LossInfo` of a loss, by canonical name, alias, or another library's name.

    Lookup is exact first, then ignores case (``"bceloss"``, ``"HUBER"``).

    Examples:
      >>> import jaxloss
      >>> jaxloss.info("CrossEntropyLoss").name
      'softmax_cross_entropy_with_integer_labels'
      >>> jaxloss.info("binarycrossentropy").name
      'binary_cross_entropy'
    """
    return _REGISTRY[_lookup(name)[0]]


@dataclasses.dataclass(frozen=True)
class _ArrayValue:
    """A hashable array-valued hyperparameter (``class_weights``, a per-class ``alpha``).

    Bound options must be hashable, so arrays are kept as nested tuples with their dtype
    and handed back to the loss as NumPy arrays; in [`Loss.config`][jaxloss.Loss.config] they are
    ``{"array": nested lists, "dtype": name}``.
    """

    data: tuple
    dtype: str

    def array(self) -> np.ndarray:
        return np.asarray(self.data, dtype=self.dtype)


def _nested_tuple(value: Any) -> Any:
    return tuple(_nested_tuple(v) for v in value) if isinstance(value, list) else value


def _freeze(value: Any) -> Any:
    """Hashable, JSON-friendly form of a hyperparameter value."""
    if isinstance(value, str | bool | int | float | _ArrayValue) or value is None:
        return value
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"array", "dtype"}:  # an array from config(), after a JSON trip
            return _freeze(np.asarray(value["array"], dtype=value["dtype"]))
        raise TypeError("jaxloss.Loss: dict-valued hyperparameters are not supported")
    arr = np.asarray(value)
    if arr.dtype.kind in "biuf":
        if arr.ndim == 0:
            return arr.item()
        return _ArrayValue(_nested_tuple(arr.tolist()), arr.dtype.name)
    raise TypeError(
        f"jaxloss.Loss: hyperparameter values must be numbers, strings, None or arrays, "
        f"got {type(value).__name__}"
    )


def _thaw(value: Any) -> Any:
    """The JSON form of a frozen value (tuples become lists)."""
    if isinstance(value, _ArrayValue):
        return {"array": _thaw(value.data), "dtype": value.dtype}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _call_value(value: Any) -> Any:
    """The value a frozen hyperparameter is passed to its loss as."""
    return value.array() if isinstance(value, _ArrayValue) else value


@dataclasses.dataclass(frozen=True, init=False)
class Loss:
    """A registered loss with some of its options bound: frozen, hashable, serializable.

    Call it with the remaining arguments of the loss function. Because it is hashable it
    can be a static argument of ``jax.jit`` or a static field of a Flax/Equinox module.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.get("huber", delta=0.5)
      >>> float(loss(jnp.array([2.0]), jnp.array([0.0])))
      0.875
      >>> jaxloss.Loss.from_config(loss.config()) == loss
      True
    """

    name: str
    hyperparameters: tuple[tuple[str, Any], ...]

    def __init__(self, name: str, **hyperparameters: Any):
        canonical, bound = _lookup(name)
        entry = _REGISTRY[canonical]
        hyperparameters = {**bound, **hyperparameters}
        allowed = set(entry.hyperparameters) | {"reduction", "where", "weights"}
        unknown = sorted(set(hyperparameters) - allowed)
        if unknown:
            raise TypeError(
                f"jaxloss.get: loss {entry.name!r} has no option {', '.join(map(repr, unknown))}; "
                f"its options are {', '.join(sorted(allowed))}"
            )
        if "reduction" in hyperparameters:
            check_reduction(f"jaxloss.get({entry.name!r})", hyperparameters["reduction"])
        frozen = tuple(sorted((k, _freeze(v)) for k, v in hyperparameters.items()))
        for k, v in frozen:  # the error a call would raise, named as the call names it
            check_option(entry.name, k, _call_value(v))
        object.__setattr__(self, "name", entry.name)
        object.__setattr__(self, "hyperparameters", frozen)

    @property
    def fn(self) -> Callable:
        return _REGISTRY[self.name].fn

    @property
    def info(self) -> LossInfo:
        return _REGISTRY[self.name]

    def __call__(self, *args: Any, **kwargs: Any):
        bound = {k: _call_value(v) for k, v in self.hyperparameters}
        bound.update(kwargs)
        return self.fn(*args, **bound)

    def config(self) -> dict[str, Any]:
        """Plain JSON-serializable data: ``{"name": ..., "hyperparameters": {...}}``."""
        hyper = {k: _thaw(v) for k, v in self.hyperparameters}
        return {"name": self.name, "hyperparameters": hyper}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """Rebuilds a [`Loss`][jaxloss.Loss] from [`config`][jaxloss.Loss.config] output (also
        after a JSON trip)."""
        if not isinstance(config, dict) or "name" not in config:
            raise ValueError(
                f"jaxloss.Loss.from_config: expected a dict with a 'name' key, got {config!r}"
            )
        return cls(config["name"], **dict(config.get("hyperparameters", {})))

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.hyperparameters)
        return f"jaxloss.Loss({self.name!r}{opts})"


def get(name: str, **hyperparameters: Any) -> Loss:
    """Looks a loss up by name and binds ``hyperparameters``.

    ``name`` is a jaxloss name or alias, or the name of a loss in optax
    (``optax.losses``), PyTorch (``torch.nn`` loss classes and ``torch.nn.functional``
    losses), Keras (``keras.losses`` classes and functions) or rax. Another library's
    name resolves to the jaxloss loss with the same input semantics: Keras's
    ``"BinaryCrossentropy"`` (probabilities by default) to `binary_cross_entropy`,
    PyTorch's ``"BCEWithLogitsLoss"`` to `sigmoid_binary_cross_entropy`, PyTorch's
    ``"CrossEntropyLoss"`` (class indices) to
    `softmax_cross_entropy_with_integer_labels`; where that library's defaults differ,
    the options that give them are bound. Lookup is exact first, then ignores case.

    Raises ``ValueError`` listing the closest names when ``name`` is unknown (or naming
    the jaxloss function to use when it is another library's helper, not a loss), and
    the ``ValueError`` a call would raise when a numeric option is outside its declared
    range (`LossInfo.ranges`).

    Examples:
      >>> import jaxloss
      >>> jaxloss.get("mse").name
      'squared_error'
      >>> jaxloss.get("BCEWithLogitsLoss").name
      'sigmoid_binary_cross_entropy'
      >>> jaxloss.get("huber", delta=0.5)
      jaxloss.Loss('huber_loss', delta=0.5)
    """
    return Loss(name, **hyperparameters)
