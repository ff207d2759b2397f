"""Weighted sums of loss terms that report each term: :func:`combine`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from jaxloss._core import Array

__all__ = ["combine", "Combined"]


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
    """

    terms: tuple[tuple[str, Term], ...]

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Array, dict[str, Array]]:
        values: dict[str, Array] = {}
        total = None
        for name, term in self.terms:
            chosen = args if term.inputs is None else tuple(args[i] for i in term.inputs)
            value = term.loss(*chosen, **kwargs)
            values[name] = value
            weighted = term.weight * value
            total = weighted if total is None else total + weighted
        return (jnp.zeros(()) if total is None else total), values

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.terms)


def combine(**terms: Any) -> Combined:
    r"""Combines named loss terms into one objective that also reports each term.

    .. math::
        L = \sum_k w_k\, \ell_k(\text{inputs}_k)

    Each keyword is a term name; its value is either a loss (a :class:`jaxloss.Loss` from
    :func:`jaxloss.get`, or any function of the data arrays), or a tuple
    ``(loss, weight)`` or ``(loss, weight, inputs)`` where ``inputs`` are the positions of
    the call's positional arguments that this term takes (default: all of them). Keyword
    arguments of the call (``where=...``, ``weights=...``) go to every term.

    Returns:
      A hashable :class:`Combined`; ``combined(*args, **kwargs)`` returns
      ``(total, {name: unweighted_value})``.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> objective = jaxloss.combine(
      ...     ce=jaxloss.get("softmax_cross_entropy_with_integer_labels"),
      ...     z=(jaxloss.get("z_loss"), 1e-3, (0,)),  # z-loss takes the logits only
      ... )
      >>> logits, labels = jnp.zeros((2, 3)), jnp.array([0, 1])
      >>> total, parts = objective(logits, labels)
      >>> sorted(parts)
      ['ce', 'z']
      >>> grads, parts = jax.grad(objective, has_aux=True)(logits, labels)
      >>> grads.shape
      (2, 3)

    Unlike a Python lambda, the result compares equal to another ``combine`` call with
    the same terms, so ``jax.jit(..., static_argnums=...)`` does not recompile.
    """
    if not terms:
        raise ValueError("combine: give at least one term, e.g. combine(ce=jaxloss.get('mse'))")
    out = []
    for name, spec in terms.items():
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
            raise TypeError(
                f"combine: term {name!r} must be callable, got {type(loss).__name__}"
            )
        if isinstance(weight, int | float):
            weight = float(weight)
        else:
            raise TypeError(
                f"combine: the weight of term {name!r} must be a Python number (it is part of "
                f"the hashable objective), got {type(weight).__name__}"
            )
        out.append((name, Term(loss, weight, None if inputs is None else tuple(inputs))))
    return Combined(tuple(out))
