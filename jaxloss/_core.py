"""Shared machinery for every jaxloss loss: reduction, masks, dtypes, validation.

A loss module holds formulas; everything that is the same for all losses lives here:

* [`reduce_loss`][jaxloss.reduce_loss] and `finish`, the ``reduction`` / ``where`` / ``weights``
  rule every loss shares (weighted mean, 0 for empty or fully masked batches);
* `as_float`, `as_labels`, `compute_dtype`, the dtype policy (half
  precision is computed and returned in float32, float64 stays float64);
* `Range`, `declare_ranges` and `hyperparameter`: each numeric
  option's allowed range, declared once per function, and hyperparameters as Python
  floats or traced JAX scalars, range-checked whenever the value is concrete;
* `check_same_shape`, `check_reduction`, trace-time validation with messages
  that name the function, the argument, what was received and what is allowed;
* `check_labels`, the hook that [`jaxloss.checked`][jaxloss.checked] turns into a runtime error.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import core as jax_core
from jax.experimental import checkify

Array = jax.Array
ArrayLike = jax.typing.ArrayLike

REDUCTIONS = ("mean", "sum", "none")

# ---------------------------------------------------------------------------
# dtypes


def compute_dtype(*arrays: Any) -> np.dtype:
    """The floating dtype a loss computes in: at least float32, float64 kept under x64."""
    dtypes = [jnp.asarray(a).dtype for a in arrays if a is not None]
    floats = [d for d in dtypes if jnp.issubdtype(d, jnp.floating)]
    return jnp.result_type(*floats, jnp.float32) if floats else jnp.dtype(jnp.float32)


def as_float(fn: str, arg: str, x: ArrayLike, dtype: Any = None) -> Array:
    """Converts ``x`` to a floating array; bool/int are allowed only for targets/labels.

    Raises ``TypeError`` naming ``fn`` and ``arg`` for complex or non-numeric inputs.
    When ``dtype`` is given the array is cast to it (used to upcast half precision).
    """
    try:
        x = jnp.asarray(x)
    except TypeError as e:
        raise TypeError(f"{fn}: argument '{arg}' must be an array, got {type(x).__name__}") from e
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"{fn}: argument '{arg}' must have a real floating dtype, got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    return x


def as_logits(fn: str, arg: str, x: ArrayLike) -> Array:
    """Like `as_float` but integer/bool inputs are rejected (logits, predictions)."""
    try:
        x = jnp.asarray(x)
    except TypeError as e:
        raise TypeError(f"{fn}: argument '{arg}' must be an array, got {type(x).__name__}") from e
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{fn}: argument '{arg}' must have a floating dtype (float16, bfloat16, float32 or "
            f"float64), got {x.dtype}"
        )
    return x


def as_labels(fn: str, arg: str, x: ArrayLike) -> Array:
    """Integer class labels; float labels raise ``TypeError`` naming the argument."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(
            f"{fn}: argument '{arg}' must have an integer dtype (class indices), got {x.dtype}; "
            f"for one-hot or probability labels use the non-integer variant"
        )
    return x


# ---------------------------------------------------------------------------
# validation


def check_reduction(fn: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{fn}: argument 'reduction' must be one of 'mean', 'sum' or 'none', got {reduction!r}"
        )


def check_same_shape(fn: str, a_name: str, a: Array, b_name: str, b: Array) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{fn}: arguments '{a_name}' and '{b_name}' must have the same shape, got "
            f"{a_name}.shape={tuple(a.shape)} and {b_name}.shape={tuple(b.shape)}"
        )


def check_broadcastable(fn: str, arg: str, x: Array, shape: tuple, what: str) -> None:
    try:
        out = jnp.broadcast_shapes(x.shape, shape)
    except ValueError:
        out = None
    if out != tuple(shape):
        raise ValueError(
            f"{fn}: argument '{arg}' with shape {tuple(x.shape)} must be broadcastable to "
            f"the {what} shape {tuple(shape)}"
        )


def normalize_axis(fn: str, axis: int, ndim: int, arg: str = "logits") -> int:
    if not isinstance(axis, int | np.integer):
        raise TypeError(f"{fn}: argument 'axis' must be a Python int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{fn}: argument 'axis'={axis} is out of range for '{arg}' with {ndim} dimensions"
        )
    return int(axis) % ndim


def normalize_axes(
    fn: str, axis: Any, ndim: int, arg: str = "logits", *, allow_none: bool = True
) -> int | tuple[int, ...]:
    """An axis option that may name several axes, normalized.

    An int is one axis and stays an int (its losses keep their single-axis program); a
    non-empty tuple of distinct ints names several axes, which the loss merges in the
    tuple's order (optax's convention); a one-element tuple is that axis; ``None`` (where
    ``allow_none``) is every axis. Errors name ``arg``, the array the axes index.
    """
    allowed = "an int or a non-empty tuple of distinct ints" + (", or None" if allow_none else "")
    if axis is None and allow_none:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer) and not isinstance(axis, bool):
        return normalize_axis(fn, int(axis), ndim, arg)
    if isinstance(axis, tuple) and axis and all(isinstance(a, int | np.integer) for a in axis):
        if not all(-ndim <= a < ndim for a in axis):
            raise ValueError(
                f"{fn}: argument 'axis'={axis} is out of range for '{arg}' with {ndim} "
                f"dimensions (each axis must be in [{-ndim}, {ndim}))"
            )
        axes = tuple(int(a) % ndim for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(
                f"{fn}: argument 'axis'={axis} names an axis twice (as {axes} for '{arg}' with "
                f"{ndim} dimensions); it must be {allowed}"
            )
        return axes[0] if len(axes) == 1 else axes
    got = "an array" if isinstance(axis, jax.Array | np.ndarray) else repr(axis)
    hint = " (several axes as a tuple)" if isinstance(axis, list) else ""
    raise TypeError(f"{fn}: argument 'axis' must be {allowed}{hint}, got {got}")


def paired_axis_inputs(
    fn: str,
    first: ArrayLike,
    second: ArrayLike,
    where: ArrayLike | None,
    axis: Any,
    names: tuple[str, str],
):
    """Prepares two same-shape inputs of a loss that sums over ``axis``, with optax's
    element ``where``.

    ``axis`` is an int, a tuple (the axes are moved last, in their order, and merged into
    one; no transpose when they already trail in order) or ``None`` (every axis). A
    ``where`` with the dimensions of the inputs masks entries (an example with none left
    is masked); with fewer it masks examples. Returns ``(a, b, axis, mask, entries)``:
    both inputs in the compute dtype, the int axis to sum over, the per-example mask and
    the entry mask (``None`` when ``where`` masks examples or is absent).
    """
    a = as_logits(fn, names[0], first)
    b = as_float(fn, names[1], second)
    check_same_shape(fn, names[0], a, names[1], b)
    w = None if where is None else jnp.asarray(where)
    if w is not None and w.dtype != jnp.bool_:
        raise TypeError(f"{fn}: argument 'where' must be a boolean mask, got {w.dtype}")
    elementwise = w is not None and w.ndim == a.ndim and a.ndim > 0
    if w is not None and elementwise:
        check_broadcastable(fn, "where", w, a.shape, f"'{names[0]}'")
        w = jnp.broadcast_to(w, a.shape)
    axes = normalize_axes(fn, axis, a.ndim, names[0])
    if isinstance(axes, tuple):
        batch = tuple(i for i in range(a.ndim) if i not in axes)
        perm = batch + axes
        shape = tuple(a.shape[i] for i in batch) + (prod(a.shape[i] for i in axes),)

        def merge(x: Array) -> Array:
            return (x if perm == tuple(range(x.ndim)) else jnp.transpose(x, perm)).reshape(shape)

        a, b = merge(a), merge(b)
        w = merge(w) if w is not None and elementwise else w
        axes = a.ndim - 1
    dtype = compute_dtype(a, b)
    a, b = a.astype(dtype), b.astype(dtype)
    if elementwise:
        mask, entries = class_mask(fn, w, a, axes)
    else:
        mask, entries = example_mask(fn, w, a.shape[:axes] + a.shape[axes + 1 :]), None
    return a, b, axes, mask, entries


def is_concrete(x: Any) -> bool:
    """True when ``x`` has a value at trace time (a Python number or a non-traced array)."""
    if isinstance(x, int | float | np.ndarray | np.generic):
        return True
    return isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer)


def is_traced(tree: Any) -> bool:
    """True when any leaf of ``tree`` is a tracer (we are inside jit, grad, vmap, ...)."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree))


def static_value(x: Any) -> float | None:
    """The Python value of a concrete scalar hyperparameter, else ``None``."""
    if not is_concrete(x):
        return None
    arr = np.asarray(x)
    if arr.ndim != 0:
        return None
    return float(arr)


def static_bool(fn: str, name: str, value) -> bool:
    """A structural on/off switch: must be a Python bool, never a traced value."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(
        f"{fn}: argument '{name}' must be a Python bool (it selects the formula at trace "
        f"time), got {type(value).__name__}"
    )


def _allowed(low, high, low_open: bool, high_open: bool) -> str:
    """The allowed range in words, e.g. ``in [0, 1)``, ``> 0`` or ``a number``."""
    if low is None and high is None:
        return "a number"
    lo = "" if low is None else f"{'(' if low_open else '['}{low}"
    hi = "" if high is None else f"{high}{')' if high_open else ']'}"
    if low is not None and high is not None:
        return f"in {lo}, {hi}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    return f"{'<' if high_open else '<='} {high}"


@dataclasses.dataclass(frozen=True)
class Range:
    """The allowed values of a numeric hyperparameter: an interval, each end open or closed.

    ``None`` leaves that side unbounded, so ``Range()`` allows any number; NaN is never
    allowed. ``str`` gives the wording of the error messages.

    Examples:
      >>> from jaxloss._core import Range
      >>> str(Range(low=0.0)), str(Range(low=0.0, low_open=True))
      ('>= 0.0', '> 0.0')
      >>> str(Range(low=0.0, high=1.0, high_open=True)), str(Range())
      ('in [0.0, 1.0)', 'a number')
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __post_init__(self):
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"Range: low must be below high, got low={self.low}, high={self.high}")
        if (self.low_open and self.low is None) or (self.high_open and self.high is None):
            raise ValueError("Range: an unbounded end cannot be open")

    def __str__(self) -> str:
        return _allowed(self.low, self.high, self.low_open, self.high_open)

    @property
    def bounded(self) -> bool:
        """True unless every number is allowed (only NaN is then rejected)."""
        return self.low is not None or self.high is not None

    def contains(self, v):
        """Elementwise: ``v`` is in the range and not NaN (NumPy or JAX arrays alike)."""
        ok = v == v
        if self.low is not None:
            ok = ok & ((v > self.low) if self.low_open else (v >= self.low))
        if self.high is not None:
            ok = ok & ((v < self.high) if self.high_open else (v <= self.high))
        return ok


class _KernelState(threading.local):
    tracing = False  # True while the public boundary traces its kernel (no checks)


_KERNEL = _KernelState()

# (function, argument) -> Range, filled at import time by `declare_ranges` (through
# `jaxloss._registry.register(ranges=...)` for a loss). `hyperparameter` checks against
# it, and so do the public boundary (the float options it passes to the compiled kernel
# as runtime arguments, see `public`) and `jaxloss.get` (the options it binds).
_RANGES: dict[tuple[str, str], Range] = {}


def declare_ranges(
    ranges: Mapping[str, Range], *, name: str | None = None
) -> Callable[[Callable], Callable]:
    """Decorator that declares the range of each numeric option of a function.

    Every option that the function passes to `hyperparameter` must be declared,
    an unbounded one as ``Range()``. Losses declare theirs through
    ``register(ranges=...)``; this decorator is for the public functions that are not
    losses (`jaxloss.smooth_labels`, `jaxloss.pairwise_distance`). ``name``
    is the name the function calls itself in its messages (default its ``__name__``).
    The function is returned unchanged.

    Raises:
      TypeError: at import time, if an option is not an argument of the function or its
        range is not a `Range`.
    """

    def deco(fn: Callable) -> Callable:
        key = name or fn.__name__
        params = inspect.signature(fn).parameters
        for option, allowed in ranges.items():
            if option not in params:
                raise TypeError(
                    f"{key}: a range is declared for option {option!r}, which is not an "
                    f"argument of the function"
                )
            if not isinstance(allowed, Range):
                raise TypeError(
                    f"{key}: the range of option {option!r} must be a jaxloss Range, got "
                    f"{type(allowed).__name__}"
                )
            if (key, option) in _RANGES:
                raise RuntimeError(f"{key}: the range of option {option!r} is declared twice")
            _RANGES[key, option] = allowed
        return fn

    return deco


def _check_concrete(fn: str, name: str, value, allowed: Range):
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: argument '{name}' must be a real number, got {arr.dtype}")
    if not np.all(allowed.contains(arr)):
        got = arr.item() if arr.ndim == 0 else arr.tolist()
        raise ValueError(f"{fn}: argument '{name}' must be {allowed}, got {got}")


def check_option(fn: str, name: str, value) -> None:
    """Range-checks a concrete numeric value of a declared option, ahead of the call.

    What `hyperparameter` would do with it: raises the same ``ValueError`` (an
    array is checked elementwise) or ``TypeError`` (a complex value). Options without a
    declared range, values that are not numbers (``None``, strings, callables, ...) and
    traced values are left alone, for the call to handle.
    """
    allowed = _RANGES.get((fn, name))
    if allowed is None or isinstance(value, jax.core.Tracer):
        return
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # e.g. a ragged list
        return
    if arr.dtype.kind not in "OUSV":
        _check_concrete(fn, name, arr, allowed)


def hyperparameter(fn: str, name: str, value: Any, dtype: Any) -> Array:
    """A numeric hyperparameter as a JAX scalar of ``dtype``, checked against its range.

    The range is the one ``fn`` declares for ``name`` (see `declare_ranges`).
    Python floats and JAX scalars are both accepted. A concrete value out of range raises
    ``ValueError`` at trace time; a traced value (so ``jax.vmap``/``jax.grad`` over it
    work and a new value under ``jax.jit`` does not retrace) is checked at run time under
    [`checked`][jaxloss.checked].

    Raises:
      RuntimeError: if ``fn`` declares no range for ``name`` (a bug in ``fn``: nothing
        is left unchecked by omission).
    """
    allowed = _RANGES.get((fn, name))
    if allowed is None:
        raise RuntimeError(
            f"{fn}: option '{name}' has no declared range; declare it in "
            f"register(ranges=...) (Range() if any number is allowed)"
        )
    if not (is_concrete(value) or isinstance(value, jax.core.Tracer)):
        raise TypeError(
            f"{fn}: argument '{name}' must be a real number or a JAX scalar, got "
            f"{type(value).__name__}"
        )
    if is_concrete(value):
        _check_concrete(fn, name, value, allowed)
    elif allowed.bounded and not _KERNEL.tracing:
        checkify.debug_check(
            jnp.all(allowed.contains(value)),
            f"{fn}: argument '{name}' must be {allowed}, got {{value}}",
            value=value,
        )
    return jnp.asarray(value, dtype=dtype)


def optional_hyperparameter(fn: str, name: str, value: Any, dtype: Any, *, unless: float):
    """``hyperparameter(fn, name, value, dtype)``, or ``None`` when ``value`` is
    statically ``unless`` (the option then has no effect, e.g. a focal ``gamma`` of 0,
    and the caller leaves its term out of the program)."""
    if static_value(value) == unless:
        return None
    return hyperparameter(fn, name, value, dtype)


# ---------------------------------------------------------------------------
# reduction


def _mask(fn: str, where: ArrayLike | None, shape: tuple) -> Array | None:
    if where is None:
        return None
    where = jnp.asarray(where)
    if where.dtype != jnp.bool_:
        raise TypeError(f"{fn}: argument 'where' must be a boolean mask, got {where.dtype}")
    check_broadcastable(fn, "where", where, shape, "per-example loss")
    return jnp.broadcast_to(where, shape)


def example_mask(fn: str, where: ArrayLike | None, shape: tuple) -> Array | None:
    """Validates ``where`` against the per-example shape and broadcasts it there."""
    return _mask(fn, where, tuple(shape))


def mask_inputs(mask: Array | None, *arrays: Array, fill: float = 0.0, axis: int | None = None):
    """Replaces masked entries of each input by ``fill`` (the inner half of a double where).

    With ``axis`` the mask has the per-example shape and is expanded along that axis of
    the inputs. Masked inputs then get exactly zero gradient even when they are inf/NaN.
    """
    if mask is None:
        return arrays if len(arrays) != 1 else arrays[0]
    m = mask if axis is None else jnp.expand_dims(mask, axis)
    out = tuple(None if a is None else jnp.where(m, a, jnp.asarray(fill, a.dtype)) for a in arrays)
    return out if len(out) != 1 else out[0]


def reduce_loss(
    values: ArrayLike,
    reduction: str = "mean",
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Reduces per-example loss values with the jaxloss rule.

    $$
        \mathrm{mean} = \frac{\sum_i w_i \ell_i}{\sum_i w_i}, \qquad w = \mathrm{weights}
        \cdot \mathrm{where}
    $$

    A plain mean when both ``where`` and ``weights`` are ``None``. An empty batch, or one
    whose entries are all masked or zero-weighted, gives ``0.0`` with zero gradient, never
    NaN. Masked entries are ``0`` in the ``"none"`` output and get exactly zero gradient.

    Args:
      values: per-example losses, any shape.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      where: boolean mask broadcastable to ``values.shape``.
      weights: non-negative weights broadcastable to ``values.shape``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``values.shape`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.reduce_loss(jnp.array([1.0, 3.0]), weights=jnp.array([1.0, 3.0])))
      2.5
    """
    values = as_float("reduce_loss", "values", values)
    return finish("reduce_loss", values, reduction, where, weights)


def finish(
    fn: str,
    values: Array,
    reduction: str,
    where: ArrayLike | None,
    weights: ArrayLike | None,
    *,
    norm: Array | None = None,
) -> Array:
    """Applies ``where``/``weights``/``reduction`` to per-example ``values`` of loss ``fn``.

    ``where`` is the one mask over examples: the user's ``where`` as given, or the mask
    a loss already prepared from it (`example_mask`, `class_mask`, ...) to sanitize its
    inputs; it is checked and broadcast to ``values.shape`` either way.
    ``norm`` (per-example, optional) multiplies the weights of the ``"mean"`` denominator
    only: the class weight of each target for PyTorch's weighted cross-entropy mean.
    """
    check_reduction(fn, reduction)
    shape = values.shape
    mask = _mask(fn, where, shape)
    if weights is not None:
        weights = jnp.asarray(weights)
        check_broadcastable(fn, "weights", weights, shape, "per-example loss")
        if not jnp.issubdtype(weights.dtype, jnp.floating):
            weights = weights.astype(values.dtype)
        weights = weights.astype(jnp.promote_types(weights.dtype, values.dtype))
    if mask is not None:
        values = jnp.where(mask, values, jnp.zeros((), values.dtype))

    if reduction == "none":
        if weights is not None:
            values = values * weights
            if mask is not None:
                values = jnp.where(mask, values, jnp.zeros((), values.dtype))
        return values

    if weights is None and mask is None and norm is None:
        if reduction == "sum":
            return jnp.sum(values)
        if values.size == 0:
            return jnp.zeros((), values.dtype)
        return jnp.mean(values)

    if weights is None:
        w = jnp.ones(shape, values.dtype) if mask is None else mask.astype(values.dtype)
        num = jnp.sum(values)
    else:
        w = jnp.broadcast_to(weights, shape)
        if mask is not None:
            w = jnp.where(mask, w, jnp.zeros((), w.dtype))
        num = jnp.sum(values * w)
    if reduction == "sum":
        return num
    den = jnp.sum(w if norm is None else w * norm)
    positive = den > 0
    return jnp.where(positive, num / jnp.where(positive, den, 1), jnp.zeros((), num.dtype))


# ---------------------------------------------------------------------------
# runtime checks (jaxloss.checked)
#
# Every loss always emits its checks as ``checkify.debug_check``: a no-op (dropped from
# the program) unless the function runs under ``checkify.checkify``, which is what
# :func:`checked` does. The program is therefore the same whether or not it is checked,
# so jit's cache can never hand a checked caller an unchecked program or the reverse.
#
# The one exception is the kernel of the public boundary (see `public`), traced only for
# an eager call at the top level, never under checkify: it leaves the checks out, since
# a debug_check is an effect and effects keep jit off its fast C++ dispatch path.


def check_labels(
    fn: str, valid: Array, labels: Array, num_classes: int, mask: Array | None = None
) -> None:
    """Under [`jaxloss.checked`][jaxloss.checked], fails at run time naming the first invalid label.

    ``mask`` (the per-example ``where``, or None) exempts masked examples: padding labels
    such as ``-1`` hidden by ``where`` are not errors. Outside ``checked`` this does
    nothing: invalid labels then give a NaN loss for their example, as documented.
    """
    if _KERNEL.tracing:
        return
    if mask is not None:
        valid = valid | ~jnp.broadcast_to(mask, valid.shape)
    if valid.size == 0:
        return
    flat = jnp.ravel(valid)
    first = jnp.argmin(flat)
    index = jnp.stack(jnp.unravel_index(first, valid.shape)) if valid.ndim else first
    checkify.debug_check(
        jnp.all(flat),
        f"{fn}: label out of range [0, {num_classes}) at position {{index}}: {{value}}",
        index=index,
        value=jnp.ravel(labels)[first],
    )


def _throw(err: checkify.Error) -> None:
    err.throw()


def checked(fn: Callable) -> Callable:
    """Wraps ``fn`` so that invalid inputs raise instead of giving NaN or a wrong value.

    Built on `jax.experimental.checkify`. Two kinds of check are switched on for
    every jaxloss loss that ``fn`` calls:

    * integer labels outside ``[0, num_classes)`` that are neither ``ignore_index`` nor
      masked by ``where``;
    * traced hyperparameters outside their range (``delta``, ``margin``, ``gamma``,
      ``label_smoothing``, ... under ``jax.jit`` or ``jax.vmap``); concrete ones are
      rejected at trace time in any case.

    A failure raises ``jax.experimental.checkify.JaxRuntimeError`` naming the loss, the
    argument or the first offending position (a multi-index into the labels array) and
    the value. ``fn`` may be jitted already, and the result may itself be jitted or
    vmapped: inside a transformation the error is raised through a host callback when
    the program runs (under ``jax.jit`` it then surfaces as a runtime error whose message
    contains the same text). Plain, unchecked calls of ``fn`` are unaffected.

    Note:
      The fused large-vocabulary functions (``linear_*``) are ``jax.custom_vjp``s, which
      checkify cannot differentiate through: ``jax.grad(checked(fn))`` fails for them
      (a ``ValueError`` from inside JAX), while ``checked(jax.grad(fn))`` and
      ``checked(fn)`` work.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> f = jaxloss.checked(jaxloss.softmax_cross_entropy_with_integer_labels)
      >>> f(jnp.zeros((2, 3)), jnp.array([0, 3]))  # doctest: +SKIP
      JaxRuntimeError: ... label out of range [0, 3) at position [1]: 3
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        # Keyword options (reduction, ignore_index, ...) are closed over as static values;
        # positional data arrays are traced.
        err, out = checkify.checkify(functools.partial(fn, **kwargs), errors=checkify.user_checks)(
            *args
        )
        if is_traced(err):
            # Inside jit/vmap the error state is traced: raise when the program runs.
            jax.debug.callback(_throw, err)
        else:
            # Concrete, also under grad when the checks read only labels/hyperparameters.
            err.throw()
        return out

    return wrapper


# ---------------------------------------------------------------------------
# the public boundary: an eager call runs one compiled kernel


_TRACE_STATE_CLEAN = getattr(jax_core, "trace_state_clean", None)  # private jax API


def _top_level() -> bool:
    """No trace is active: not inside jit, grad, vmap, checkify, ... (of any function)."""
    return True if _TRACE_STATE_CLEAN is None else _TRACE_STATE_CLEAN()


class _Dynamic:
    """Marks an argument passed to the kernel as a runtime (traced) value."""

    def __repr__(self) -> str:
        return "<dynamic>"


_DYN = _Dynamic()


def _is_dynamic_option(value: Any) -> bool:
    """A keyword option that the kernel takes at run time: arrays and non-integral floats.

    Everything else is compiled in: strings, bools, ints, ``None``, tuples, and floats
    with an integer value or infinite (``0.0``, ``1.0``, ``2.0``, ``inf``), which select
    exact special forms (no smoothing, temperature 1, the L2 or max norm); any other float
    is a runtime argument, so sweeping it never recompiles.
    """
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, float):
        return not (value.is_integer() or math.isinf(value))
    if isinstance(value, np.floating):
        return True
    return isinstance(value, jax.Array | np.ndarray | list)


def _is_dynamic_data(value: Any) -> bool:
    """A positional (data) argument that the kernel takes at run time: anything array-like."""
    if value is None or isinstance(value, bool | np.bool_ | str):
        return False
    return isinstance(value, jax.Array | np.ndarray | np.generic | int | float | list | tuple)


def _as_array(value: Any) -> Any:
    return jnp.asarray(value) if isinstance(value, list | tuple) else value


def precheck(check: Callable[[dict], None]) -> Callable[[Callable], Callable]:
    """Decorator: ``check(kwargs)`` runs on the keyword options of every public call.

    For constraints between options that no single `Range` states (DPO's
    ``label_smoothing`` must be 0 with ``loss_type="hinge"``): a non-integral Python
    float reaches the compiled kernel of `public` as a runtime
    value, unknown while tracing, so the loss body cannot reject it; ``check`` sees the
    Python values and raises. Applied below ``register``; returns ``fn`` unchanged.
    """

    def deco(fn: Callable) -> Callable:
        fn._jaxloss_precheck = check  # type: ignore[attr-defined]
        return fn

    return deco


def public(fn: Callable) -> Callable:
    """The public entry point of a loss: every call goes through ``jax.jit``.

    The data, the arrays and the non-integral float options are runtime arguments of
    the jitted kernel, the other options (strings, bools, ints, ``None``, integral
    floats) are compiled in. Validation happens while tracing, with the same errors as
    an unjitted call; concrete float options that become runtime arguments are
    range-checked here, in Python, against the range their loss declares (see
    `declare_ranges`). A new float value therefore neither retraces nor goes
    unchecked.

    Two kernels: an eager call at the top level (no trace active, no tracer among the
    arguments) runs ``kernel``, which leaves the ``checkify`` checks out (they are no-ops
    there, and an effect keeps jit off its fast dispatch path). Inside a transformation
    (``jax.jit``, ``jax.grad``, ``jax.vmap``, [`checked`][jaxloss.checked], ...) the call goes
    through ``traced_kernel``, checks included: under a user's ``jit`` the nested jit is inlined
    at no cost, and an eager ``jax.grad(loss)(...)`` differentiates one compiled program
    instead of running the loss op by op.
    """
    name = fn.__name__
    pre = getattr(fn, "_jaxloss_precheck", None)

    def run_checked(spec, dynamic):
        arg_spec, kwarg_spec = spec
        values = iter(dynamic)
        args = [next(values) if s is _DYN else s[1] for s in arg_spec]
        kwargs = {k: next(values) if s is _DYN else s[1] for k, s in kwarg_spec}
        return fn(*args, **kwargs)

    def run(spec, dynamic):
        _KERNEL.tracing = True
        try:
            return run_checked(spec, dynamic)
        finally:
            _KERNEL.tracing = False

    kernel = jax.jit(run, static_argnums=0)
    traced_kernel = jax.jit(run_checked, static_argnums=0)

    def check(runtime: list) -> None:
        """Range-checks the concrete runtime options that have a declared range."""
        for key, value in runtime:
            allowed = _RANGES.get((name, key))
            if allowed is not None and is_concrete(value):  # traced: under `checked`
                _check_concrete(name, key, value, allowed)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _KERNEL.tracing:
            # Called while another loss traces its check-free kernel: trace inline, so
            # that no check-free program ever lands in `traced_kernel`'s cache.
            return fn(*args, **kwargs)
        if pre is not None:
            pre(kwargs)
        top = _top_level() and not is_traced((args, kwargs))
        dynamic = []
        arg_spec = []
        for a in args:
            if _is_dynamic_data(a):
                dynamic.append(_as_array(a))
                arg_spec.append(_DYN)
            else:
                arg_spec.append((type(a), a))  # the type too: True == 1 as a key
        kwarg_spec = []
        runtime = []
        for k in sorted(kwargs):
            v = kwargs[k]
            if _is_dynamic_option(v):
                v = _as_array(v)
                dynamic.append(v)
                kwarg_spec.append((k, _DYN))
                runtime.append((k, v))
            else:
                kwarg_spec.append((k, (type(v), v)))
        spec = (tuple(arg_spec), tuple(kwarg_spec))
        try:
            hash(spec)
        except TypeError:  # an unhashable option: no kernel, a plain call
            return fn(*args, **kwargs)
        check(runtime)
        return (kernel if top else traced_kernel)(spec, tuple(dynamic))

    # For tests and benchmarks: the compiled entry points.
    wrapper.kernel = kernel  # type: ignore[attr-defined]
    wrapper.traced_kernel = traced_kernel  # type: ignore[attr-defined]
    return wrapper


def prod(shape) -> int:
    return math.prod(int(s) for s in shape)


# ---------------------------------------------------------------------------
# input preparation shared by the loss families


def ignore_index_option(fn: str, ignore_index: Any) -> int | None:
    """``ignore_index`` as a Python int (or ``None``): ints and NumPy integers are allowed,
    bools are not (``True`` is not a class index)."""
    if ignore_index is None:
        return None
    if not isinstance(ignore_index, int | np.integer) or isinstance(ignore_index, bool | np.bool_):
        raise TypeError(
            f"{fn}: argument 'ignore_index' must be a Python int or None, got "
            f"{type(ignore_index).__name__}"
        )
    return int(ignore_index)


def class_mask(fn: str, where: ArrayLike | None, x: Array, axis: int):
    """Splits ``where`` into a per-example mask or a per-class mask.

    ``where`` with as many dimensions as the logits is a mask over classes (optax's
    convention: masked classes are left out of the softmax); with fewer dimensions it is
    a mask over examples (the jaxloss convention). Returns ``(example_mask, class_mask)``.
    """
    if where is None:
        return None, None
    w = jnp.asarray(where)
    if w.dtype != jnp.bool_:
        raise TypeError(f"{fn}: argument 'where' must be a boolean mask, got {w.dtype}")
    if w.ndim == x.ndim and x.ndim > 0:
        check_broadcastable(fn, "where", w, x.shape, "logits")
        cmask = jnp.broadcast_to(w, x.shape)
        return jnp.any(cmask, axis=axis), cmask
    example_shape = x.shape[:axis] + x.shape[axis + 1 :]
    return example_mask(fn, w, example_shape), None


def class_weights(fn: str, class_weights, num_classes: int, dtype) -> Array | None:
    if class_weights is None:
        return None
    cw = as_float(fn, "class_weights", class_weights, dtype)
    if cw.shape != (num_classes,):
        raise ValueError(
            f"{fn}: argument 'class_weights' must have shape ({num_classes},) (one weight per "
            f"class), got {tuple(cw.shape)}"
        )
    return cw


def example_shape_of_labels(fn: str, x: Array, labels: Array, axis: int, x_name: str) -> tuple:
    """``x.shape`` without its class axis ``axis`` (normalized), which integer ``labels``
    must have; raises the ``ValueError`` every integer-label loss raises otherwise."""
    shape = x.shape[:axis] + x.shape[axis + 1 :]
    if labels.shape != shape:
        raise ValueError(
            f"{fn}: argument 'labels' must have the shape of '{x_name}' without axis {axis}, "
            f"got {x_name}.shape={tuple(x.shape)} and labels.shape={tuple(labels.shape)}"
        )
    return shape


def integer_label_inputs(
    fn: str,
    scores: ArrayLike,
    labels: ArrayLike,
    where: ArrayLike | None,
    axis: int,
    *,
    name: str = "scores",
):
    """Prepares ``[..., C, ...]`` scores and integer labels of shape ``[...]``.

    ``name`` is the loss's name for the scores argument (``"logits"``,
    ``"log_probabilities"``, ...), used in its error messages.

    Returns ``(x, safe_labels, in_range, mask)``: the scores in the compute dtype with the
    class axis moved last and masked examples replaced by 0, labels clipped into range
    (out-of-range ones replaced by 0; the caller turns their loss into NaN with
    ``in_range``), and the per-example mask (or ``None``). Registers the label check of
    [`jaxloss.checked`][jaxloss.checked]; masked examples are not checked.
    """
    x = as_logits(fn, name, scores)
    y = as_labels(fn, "labels", labels)
    axis = normalize_axis(fn, axis, x.ndim, name)
    example_shape = example_shape_of_labels(fn, x, y, axis, name)
    x = x.astype(compute_dtype(x))
    num_classes = x.shape[axis]
    mask = example_mask(fn, where, example_shape)
    x = mask_inputs(mask, x, axis=axis)
    x = jnp.moveaxis(x, axis, -1)
    in_range = (y >= 0) & (y < num_classes)
    check_labels(fn, in_range, y, num_classes, mask)
    return x, jnp.where(in_range, y, 0), in_range, mask


def elementwise_inputs(
    fn: str,
    predictions: ArrayLike,
    targets: ArrayLike,
    where: ArrayLike | None,
    *,
    names: tuple[str, str] = ("predictions", "targets"),
    fill: float = 0.0,
    target_fill: float | None = None,
):
    """Prepares the two same-shape inputs of an elementwise loss.

    Returns ``(predictions, targets, mask)``: both inputs in the compute dtype (float32
    for half precision), shapes checked, and masked entries replaced by ``fill`` (and
    ``target_fill``, default ``fill``) so that they get exactly zero gradient.
    """
    p = as_logits(fn, names[0], predictions)
    t = as_float(fn, names[1], targets)
    check_same_shape(fn, names[0], p, names[1], t)
    dtype = compute_dtype(p, t)
    p, t = p.astype(dtype), t.astype(dtype)
    mask = example_mask(fn, where, p.shape)
    if mask is not None:
        p = mask_inputs(mask, p, fill=fill)
        t = mask_inputs(mask, t, fill=fill if target_fill is None else target_fill)
    return p, t, mask


def distribution_inputs(
    fn: str,
    logits: ArrayLike,
    labels: ArrayLike,
    where: ArrayLike | None,
    axis: int,
    *,
    names: tuple[str, str] = ("logits", "labels"),
    fill: float = 0.0,
    label_fill: float = 0.0,
):
    """Prepares ``[..., C, ...]`` inputs of a loss that reduces over ``axis``.

    Returns ``(logits, labels, mask, axis)`` with both arrays in the compute dtype,
    ``axis`` normalized, and ``mask`` (or ``None``) of the per-example shape (``axis``
    dropped). Masked examples have their inputs replaced by ``fill``/``label_fill``.
    """
    x = as_logits(fn, names[0], logits)
    y = as_float(fn, names[1], labels)
    check_same_shape(fn, names[0], x, names[1], y)
    axis = normalize_axis(fn, axis, x.ndim, names[0])
    dtype = compute_dtype(x, y)
    x, y = x.astype(dtype), y.astype(dtype)
    example_shape = x.shape[:axis] + x.shape[axis + 1 :]
    mask = example_mask(fn, where, example_shape)
    if mask is not None:
        x = mask_inputs(mask, x, fill=fill, axis=axis)
        y = mask_inputs(mask, y, fill=label_fill, axis=axis)
    return x, y, mask, axis
