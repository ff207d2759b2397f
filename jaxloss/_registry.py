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
}

# The libraries whose equivalent functions the registry records, with their display names.
LIBRARIES: dict[str, str] = {"optax": "optax", "torch": "PyTorch", "keras": "Keras", "rax": "rax"}

_REGISTRY: dict[str, LossInfo] = {}
_ALIASES: dict[str, str] = {}

# Names under which other libraries (Kaun, TorchLean, Axon, scirs2-neural,
# mpneuralnetwork, PyTorch, Keras) know a loss. ``get`` resolves them;
# they are not exported as attributes (the aliases declared in register() are).
FOREIGN_NAMES: dict[str, str] = {
    "mean_squared_error": "squared_error",
    "MeanSquaredError": "squared_error",
    "MSE": "squared_error",
    "mean_absolute_error": "absolute_error",
    "l1_loss": "absolute_error",
    "huber": "huber_loss",
    "Huber": "huber_loss",
    "smooth_l1": "smooth_l1_loss",
    "logcosh": "log_cosh",
    "log_cosh_loss": "log_cosh",
    "poisson": "poisson_loss",
    "cosine_similarity_loss": "cosine_distance",
    # Each name resolves to the function with the input semantics it has in its own
    # library: torch's CrossEntropyLoss takes class indices, Keras's BinaryCrossentropy
    # and CategoricalCrossentropy (from_logits=False) and torch's BCELoss probabilities.
    "cross_entropy": "softmax_cross_entropy_with_integer_labels",
    "CrossEntropyLoss": "softmax_cross_entropy_with_integer_labels",
    "CategoricalCrossEntropy": "categorical_cross_entropy",
    "CategoricalCrossentropy": "categorical_cross_entropy",
    "categorical_crossentropy": "categorical_cross_entropy",
    "SparseCategoricalCrossentropy": "categorical_cross_entropy",  # integer labels work too
    "BinaryCrossEntropy": "binary_cross_entropy",
    "BinaryCrossentropy": "binary_cross_entropy",
    "binary_crossentropy": "binary_cross_entropy",
    "BCELoss": "binary_cross_entropy",
    "BCEWithLogitsLoss": "sigmoid_binary_cross_entropy",
    "binary_cross_entropy_with_logits": "sigmoid_binary_cross_entropy",
    "hinge": "hinge_loss",
    "categorical_hinge": "categorical_hinge_loss",
    "soft_margin": "soft_margin_loss",
    "kl_div": "kl_divergence",
    "focal": "sigmoid_focal_loss",
    "FocalLoss": "softmax_focal_loss",
    "margin_ranking": "margin_ranking_loss",
    "connectionist_temporal_classification": "ctc_loss",
    "ctc": "ctc_loss",
    "ContrastiveLoss": "contrastive_loss",
    "TripletLoss": "triplet_margin_loss",
    "triplet": "triplet_margin_loss",
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


def info(name: str) -> LossInfo:
    """The `LossInfo` of a canonical name or alias."""
    key = _ALIASES.get(name) or FOREIGN_NAMES.get(name, name)
    if key not in _REGISTRY:
        choices = list(_REGISTRY) + list(_ALIASES) + list(FOREIGN_NAMES)
        close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"jaxloss.get: unknown loss {name!r}{hint} (jaxloss.names() lists all "
            f"{len(_REGISTRY)} losses)"
        )
    return _REGISTRY[key]


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
        entry = info(name)
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
    """Looks a loss up by canonical name or alias and binds ``hyperparameters``.

    Names other libraries use (``"mean_squared_error"``, ``"huber"``,
    ``"categorical_hinge"``, ``"CrossEntropyLoss"``, ...) resolve too.

    Raises ``ValueError`` listing the closest names when ``name`` is unknown, and the
    ``ValueError`` a call would raise when a numeric option is outside its declared range
    (`LossInfo.ranges`).

    Examples:
      >>> import jaxloss
      >>> jaxloss.get("mse").name
      'squared_error'
    """
    return Loss(name, **hyperparameters)
