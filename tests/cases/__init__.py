"""Input factories for the registry-wide tests (tests/test_all_losses.py).

Each module here defines ``CASES: dict[str, Case]`` for the losses of one family. A
``Case`` makes valid inputs for a loss whose per-example loss shape is ``batch``; the
generic tests use it for jit/vmap/reduction/mask/dtype/sharding checks over every
registered loss. Every loss in ``jaxloss.names()`` must have a case.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class Case:
    """``make(rng, batch) -> (args, kwargs)``.

    ``args`` are NumPy arrays (float32 for floats); ``kwargs`` are hyperparameters.
    ``batch`` is the per-example loss shape (``reduction="none"`` output shape).
    ``diff`` lists the positions of the floating args that the loss is differentiated
    by in the generic gradient checks (default: the first).
    ``batch_axes`` says, for each arg, which of its axes holds the leading batch axis
    (``None``: the arg is shared, not batched) for the vmap test; default all 0.
    ``structural`` lists floating args that are not differentiable data (CTC's 0/1
    paddings); every other floating arg is gradient-checked in tests/test_gradients.py.
    ``smooth``: False for losses with kinks at random points (hinge...), which are then
    skipped by finite-difference gradient checks at random points.
    ``where_drops_examples``: True for losses that compare the examples of a batch with
    each other (contrastive losses): ``where`` removes the masked examples from the
    batch, so the other examples' values change and the masked ``"mean"`` is the mean of
    the masked ``"none"`` output rather than of the unmasked one.
    ``mean_denominator``: for losses whose ``"mean"`` is not the mean of the ``"none"``
    values, ``mean_denominator(args) -> counts``: given the case's ``args`` (NumPy), the
    per-example count (of shape ``batch``) that ``"mean"`` divides by, so that ``"mean"``
    is ``sum(values) / sum(counts)``, with ``weights`` ``sum(w * values) / sum(w *
    counts)`` and with ``where`` the same sums over the unmasked examples (the pairwise
    ranking losses: one value per list, the sum over its valid pairs, and ``"mean"`` over
    the valid pairs). ``None`` (default): a count of 1 per example, the plain mean.
    """

    make: Callable[[np.random.Generator, tuple[int, ...]], tuple[tuple, dict]]
    diff: tuple[int, ...] = (0,)
    batch_axes: tuple[int | None, ...] | None = None
    structural: tuple[int, ...] = ()
    smooth: bool = True
    where_drops_examples: bool = False
    mean_denominator: Callable[[tuple], np.ndarray] | None = None

    def mean_counts(self, args: tuple, batch: tuple[int, ...]) -> np.ndarray:
        """The per-example counts that ``"mean"`` divides by, float64 of shape ``batch``:
        ``mean_denominator`` of ``args`` (arrays converted to NumPy), or ones."""
        if self.mean_denominator is None:
            return np.ones(batch)
        numpy_args = tuple(np.asarray(a) if hasattr(a, "__array__") else a for a in args)
        counts = np.asarray(self.mean_denominator(numpy_args), np.float64)
        assert counts.shape == tuple(batch), (counts.shape, batch)
        return counts


Maker = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def from_inputs(*makers: Maker, **hyperparameters) -> Case:
    """A default ``Case`` whose args are ``maker(rng, batch)`` for each maker, drawn from
    ``rng`` in that order, and whose kwargs are (a copy of) ``hyperparameters``."""
    return Case(lambda rng, b: (tuple(make(rng, b) for make in makers), dict(hyperparameters)))


def binary_logits(rng: np.random.Generator, batch: tuple[int, ...]) -> np.ndarray:
    """Standard normal logits of a binary classifier, one per example."""
    return rng.normal(size=batch).astype(np.float32)


def soft_binary_labels(rng: np.random.Generator, batch: tuple[int, ...]) -> np.ndarray:
    """Soft binary labels, uniform in [0, 1), one per example."""
    return rng.uniform(0.0, 1.0, size=batch).astype(np.float32)


def all_cases() -> dict[str, Case]:
    out: dict[str, Case] = {}
    for mod in pkgutil.iter_modules(__path__):
        cases = importlib.import_module(f"{__name__}.{mod.name}").CASES
        dup = set(out) & set(cases)
        assert not dup, f"cases defined twice: {dup}"
        out.update(cases)
    return out
