"""Losses built from other functions: weighted sums of loss terms that report each term
([`combine`][jaxloss.combine]) and Fenchel-Young losses of a max function
([`make_fenchel_young_loss`][jaxloss.make_fenchel_young_loss])."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss import _core as core
from jaxloss._core import Array, ArrayLike
from jaxloss._registry import Loss

__all__ = ["combine", "Combined", "make_fenchel_young_loss"]

# Keyword names of a call that are not term names.
_RESERVED = ("where", "weights", "reduction", "term_weights")


@dataclasses.dataclass(frozen=True)
class Term:
    """One weighted term: ``weight * loss(*(args[i] for i in inputs), **kwargs)``."""

    loss: Callable
    weight: float = 1.0
    inputs: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Combined:
    """A frozen, hashable weighted sum of named loss terms.

    Calling it returns ``(total, terms)``: the weighted total (a scalar to differentiate)
    and a dict of the *unweighted* value of each term, for logging. Because it is
    hashable it can be a static argument of ``jax.jit`` or a static module field.

    A call takes the data arrays positionally and these keywords:

    * ``where=``, ``weights=`` (and any option the terms share): passed to every term
      that has no options of its own under that name;
    * ``<term name>={...}``: a dict of keyword arguments for that term only, e.g.
      ``ce={"where": example_mask}``; they replace the shared ones of the same name;
    * ``term_weights={name: weight}``: weights that replace the built-in ones for this
      call; they may be traced (an annealed weight under ``jax.jit``), and a new value
      does not retrace.
    """

    terms: tuple[tuple[str, Term], ...]

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Array, dict[str, Array]]:
        override = kwargs.pop("term_weights", None) or {}
        unknown = sorted(set(override) - set(self.names))
        if unknown:
            raise ValueError(
                f"combine: term_weights names {', '.join(map(repr, unknown))}, which are "
                f"not terms; the terms are {', '.join(map(repr, self.names))}"
            )
        own = {name: kwargs.pop(name) for name in self.names if name in kwargs}
        for name, options in own.items():
            if not isinstance(options, dict):
                raise TypeError(
                    f"combine: the options of term {name!r} must be a dict of keyword "
                    f"arguments, e.g. {name}={{'where': mask}}, got {type(options).__name__}"
                )
        values: dict[str, Array] = {}
        total = None
        for name, term in self.terms:
            chosen = args if term.inputs is None else _select(name, term.inputs, args)
            options = {**kwargs, **own.get(name, {})}
            value = term.loss(*chosen, **options)
            if isinstance(term.loss, Combined):  # a nested objective: its total, and parts
                value, parts = value
                values.update({f"{name}/{k}": v for k, v in parts.items()})
            values[name] = value
            weight = override.get(name, term.weight)
            weighted = value if _is_one(weight) else weight * value
            total = weighted if total is None else total + weighted
        return (jnp.zeros(()) if total is None else total), values

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.terms)

    def config(self) -> dict[str, Any]:
        """Plain JSON-serializable data, for terms that are [`jaxloss.Loss`][jaxloss.Loss] objects
        or nested [`Combined`][jaxloss.Combined] objectives;
        [`from_config`][jaxloss.Combined.from_config] rebuilds it."""
        out = {}
        for name, term in self.terms:
            if isinstance(term.loss, Loss):
                loss = {"loss": term.loss.config()}
            elif isinstance(term.loss, Combined):
                loss = {"combined": term.loss.config()}
            else:
                raise TypeError(
                    f"Combined.config: term {name!r} is a {type(term.loss).__name__}, not a "
                    f"jaxloss.Loss; only terms made with jaxloss.get(...) can be serialized"
                )
            inputs = None if term.inputs is None else list(term.inputs)
            out[name] = {**loss, "weight": term.weight, "inputs": inputs}
        return {"terms": out}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Combined:
        """Rebuilds a [`Combined`][jaxloss.Combined] from [`config`][jaxloss.Combined.config]
        output."""
        if not isinstance(config, dict) or not isinstance(config.get("terms"), dict):
            raise ValueError(
                f"Combined.from_config: expected a dict with a 'terms' dict, got {config!r}"
            )
        terms = {}
        for name, spec in config["terms"].items():
            loss: Loss | Combined
            if "loss" in spec:
                loss = Loss.from_config(spec["loss"])
            else:
                loss = cls.from_config(spec["combined"])
            inputs = spec.get("inputs")
            terms[name] = (loss, spec.get("weight", 1.0), None if inputs is None else inputs)
        return combine(**terms)


def _is_one(weight: Any) -> bool:
    return isinstance(weight, int | float) and weight == 1.0


def _select(name: str, inputs: tuple[int, ...], args: tuple) -> tuple:
    bad = [i for i in inputs if not -len(args) <= i < len(args)]
    if bad:
        raise ValueError(
            f"combine: term {name!r} takes the positional arguments {list(inputs)}, but the "
            f"call passed {len(args)}"
        )
    return tuple(args[i] for i in inputs)


def _weight(name: str, weight: Any) -> Any:
    if isinstance(weight, bool) or not (
        isinstance(weight, int | float) or isinstance(weight, jax.Array | jax.core.Tracer)
    ):
        raise TypeError(
            f"combine: the weight of term {name!r} must be a number or a JAX scalar, got "
            f"{type(weight).__name__}"
        )
    if isinstance(weight, int | float):
        return float(weight)
    if jnp.ndim(weight) != 0:
        raise ValueError(
            f"combine: the weight of term {name!r} must be a scalar, got shape "
            f"{tuple(jnp.shape(weight))}"
        )
    return weight


def _inputs(name: str, inputs: Any) -> tuple[int, ...] | None:
    if inputs is None:
        return None
    if isinstance(inputs, int) and not isinstance(inputs, bool):
        return (inputs,)
    if isinstance(inputs, list | tuple) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in inputs
    ):
        return tuple(inputs)
    raise TypeError(
        f"combine: the inputs of term {name!r} must be a position or a tuple of positions "
        f"of the call's positional arguments, e.g. (0,) or (0, 2), got {inputs!r}"
    )


def combine(**terms: Any) -> Combined:
    r"""Combines named loss terms into one objective that also reports each term.

    $$
        L = \sum_k w_k\, \ell_k(\text{inputs}_k)
    $$

    Each keyword is a term name; its value is either a loss (a [`jaxloss.Loss`][jaxloss.Loss] from
    [`jaxloss.get`][jaxloss.get], any function of the data arrays, or another
    [`Combined`][jaxloss.Combined]), or a tuple ``(loss, weight)`` or ``(loss, weight, inputs)``:

    * ``weight``: a Python number, or a JAX scalar (then the objective is not hashable;
      for a traced or annealed weight prefer ``term_weights=`` at call time);
    * ``inputs``: the position, or tuple of positions, of the call's positional
      arguments that this term takes (default: all of them).

    At call time ``where=``/``weights=`` go to every term, and ``name={...}`` gives one
    term its own keyword arguments (its own mask, say); see [`Combined`][jaxloss.Combined].

    Returns:
      A [`Combined`][jaxloss.Combined]; ``combined(*args, **kwargs)`` returns
      ``(total, {name: unweighted_value})``. A nested [`Combined`][jaxloss.Combined] term reports
      its parts too, as ``"name/part"``.

    Raises:
      ValueError: for no terms, a malformed tuple, or a term named like a call keyword
        (``where``, ``weights``, ``reduction``, ``term_weights``).
      TypeError: for a term that is not callable, a weight that is not a number or JAX
        scalar, or inputs that are not positions.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> objective = jaxloss.combine(
      ...     ce=jaxloss.get("softmax_cross_entropy_with_integer_labels"),
      ...     z=(jaxloss.get("z_loss"), 1e-3, 0),  # z-loss takes the logits only
      ... )
      >>> logits, labels = jnp.zeros((2, 3)), jnp.array([0, 1])
      >>> total, parts = objective(logits, labels)
      >>> sorted(parts)
      ['ce', 'z']
      >>> grads, parts = jax.grad(objective, has_aux=True)(logits, labels)
      >>> grads.shape
      (2, 3)
      >>> total, _ = objective(logits, labels, ce={"where": jnp.array([True, False])},
      ...                      term_weights={"z": jnp.asarray(0.0)})
      >>> round(float(total), 4)
      1.0986

    Unlike a Python lambda, the result compares equal to another ``combine`` call with
    the same terms, so ``jax.jit(..., static_argnums=...)`` does not recompile.
    """
    if not terms:
        raise ValueError("combine: give at least one term, e.g. combine(ce=jaxloss.get('mse'))")
    out = []
    for name, spec in terms.items():
        if name in _RESERVED:
            raise ValueError(
                f"combine: a term may not be named {name!r}, which is a keyword of the call "
                f"({', '.join(_RESERVED)})"
            )
        if isinstance(spec, tuple):
            if not 1 <= len(spec) <= 3:
                raise ValueError(
                    f"combine: term {name!r} must be a loss or a tuple (loss, weight[, inputs]),"
                    f" got a tuple of length {len(spec)}"
                )
            loss, weight, inputs = tuple(spec) + (None, 1.0, None)[len(spec) :]
        else:
            loss, weight, inputs = spec, 1.0, None
        if not callable(loss):
            raise TypeError(f"combine: term {name!r} must be callable, got {type(loss).__name__}")
        out.append((name, Term(loss, _weight(name, weight), _inputs(name, inputs))))
    return Combined(tuple(out))


# ---------------------------------------------------------------------------
# Fenchel-Young losses

_FY = "make_fenchel_young_loss"


@dataclasses.dataclass(frozen=True)
class _FenchelYoungLoss:
    """The loss [`make_fenchel_young_loss`][jaxloss.make_fenchel_young_loss] returns:
    frozen and hashable (equal for the same ``max_fun``)."""

    max_fun: Callable

    def __call__(
        self,
        scores: ArrayLike,
        targets: ArrayLike,
        *,
        axis: int = -1,
        reduction: str = "mean",
        where: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        **kwargs: Any,
    ) -> Array:
        fn = getattr(self.max_fun, "__name__", None)
        fn = f"fenchel_young_loss({fn})" if fn else "fenchel_young_loss"
        core.check_reduction(fn, reduction)
        x, y, mask, axis = core.distribution_inputs(
            fn, scores, targets, where, axis, names=("scores", "targets")
        )
        x, y = jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1)
        max_fun = functools.partial(self.max_fun, **kwargs) if kwargs else self.max_fun
        one = jax.eval_shape(max_fun, jax.ShapeDtypeStruct(x.shape[-1:], x.dtype))
        if getattr(one, "shape", None) != ():
            raise ValueError(
                f"{fn}: max_fun must map a vector of shape {x.shape[-1:]} to a scalar, got "
                f"{getattr(one, 'shape', type(one).__name__)}"
            )
        per_vector = jnp.vectorize(max_fun, signature="(n)->()")(x)
        values = per_vector.astype(x.dtype) - jnp.sum(y * x, axis=-1)
        return core.finish(fn, values, reduction, mask, weights)


def make_fenchel_young_loss(max_fun: Callable[..., Any]) -> Callable[..., Array]:
    r"""Builds the Fenchel-Young loss of a convex "max" function $\Omega^*$.

    $$
        \ell(\theta, y) = \Omega^*(\theta) - \langle y, \theta \rangle
    $$

    over the vectors $\theta$ of ``scores`` along ``axis`` (Blondel et al., *Learning
    with Fenchel-Young Losses*, 2020). The full loss adds $\Omega(y)$, a constant in
    $\theta$ that optax leaves out too. With ``max_fun = jax.nn.logsumexp`` it is the
    softmax cross-entropy for targets that sum to 1; its gradient in $\theta$ is
    $\nabla\Omega^*(\theta) - y$ (``softmax(theta) - y`` then).

    Args:
      max_fun: the function $\Omega^*$ of one vector, ``max_fun(theta, **kwargs)`` ->
        a scalar; it is vectorized over the other axes (``jnp.vectorize``), so it sees
        1-D vectors only.

    Returns:
      A loss ``loss(scores, targets, *, axis=-1, reduction="mean", where=None,
      weights=None, **kwargs)``, with the jaxloss conventions: ``scores`` (floating) and
      ``targets`` of the same shape ``[..., C, ...]``, ``axis`` the vector axis (static,
      an int), ``reduction``/``where``/``weights`` over the per-example shape (``axis``
      dropped; masked examples get exactly zero gradient, also when they hold inf/NaN),
      float32 for half precision. The other keyword arguments go to ``max_fun`` as given
      (not vectorized: scalars, or arrays that ``max_fun`` handles itself). It returns
      a scalar, or the per-example values for ``reduction="none"``. Losses made from the
      same ``max_fun`` are equal and hashable, so one can be a static argument of
      ``jax.jit``.

    Raises:
      TypeError: if ``max_fun`` is not callable. A call raises the usual jaxloss errors
        for its arguments (shapes, dtypes, ``axis``, ``where``, ``weights``,
        ``reduction``), and ``ValueError`` if ``max_fun`` does not return a scalar per
        vector.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.make_fenchel_young_loss(jax.nn.logsumexp)
      >>> scores = jnp.array([[1.0, 2.0, 0.5]])
      >>> targets = jnp.array([[0.0, 1.0, 0.0]])
      >>> round(float(loss(scores, targets)), 4)  # the softmax cross-entropy
      0.4644
      >>> round(float(jaxloss.softmax_cross_entropy(scores, targets)), 4)
      0.4644

    Equivalent to ``optax.losses.make_fenchel_young_loss(max_fun)``, whose loss is
    ``loss(..., reduction="none")`` here. optax's loss reduces over the last axis only
    and has no ``reduction``, ``where``, ``weights`` or dtype policy. It hands its extra
    arguments to ``max_fun`` through ``jnp.vectorize``, which rejects positional ones and
    (in jax 0.10) silently drops keyword ones; here keyword arguments reach ``max_fun``.
    """
    if not callable(max_fun):
        raise TypeError(f"{_FY}: argument 'max_fun' must be callable, got {type(max_fun).__name__}")
    return _FenchelYoungLoss(max_fun)
