"""Hyperparameter ranges: declared once in ``register(ranges=...)``, checked everywhere.

Driven by the registry and the input factories of tests/cases/: for every declared range,
a value just outside it is rejected by a direct call and by ``jaxloss.get`` with the same
message, a closed bound itself is accepted, and every option that reaches
``core.hyperparameter`` has a declaration (and every declaration is reached).
"""

import inspect

import jax
import numpy as np
import pytest

import jaxloss
from jaxloss import _core as core
from jaxloss._core import Range
from tests.cases import all_cases

CASES = all_cases()
NAMES = jaxloss.names()
BATCH = (2, 3)
OUTSIDE_BY = 1e-3  # how far outside a closed bound the "just outside" value lies

# The public functions that are not losses but declare ranges (with their inputs).
HELPERS = {
    "smooth_labels": (lambda rng: ((np.eye(3, dtype=np.float32), 0.1), {}), jaxloss.smooth_labels),
    "pairwise_distance": (
        lambda rng: ((rng.normal(size=(2, 3)), rng.normal(size=(2, 3))), {}),
        jaxloss.pairwise_distance,
    ),
    "linear_log_probs": (
        lambda rng: (
            (
                rng.normal(size=(4, 3)).astype(np.float32),
                rng.normal(size=(3, 7)).astype(np.float32),
                np.array([0, 6, 2, 3], np.int32),
            ),
            {"temperature": 0.7, "logit_soft_cap": 5.0},
        ),
        jaxloss.linear_log_probs,
    ),
}


def _inputs(name):
    if name in HELPERS:
        return HELPERS[name][0](np.random.default_rng(0))
    return CASES[name].make(np.random.default_rng(0), BATCH)


def _fn(name):
    return HELPERS[name][1] if name in HELPERS else jaxloss.info(name).fn


def _shaped(args, kwargs, option, value):
    """``value`` in the form the option takes in the case: an array where it is one.

    ``class_weights`` (segmentation) must have one entry per class, the last axis of the
    first input.
    """
    given = kwargs.get(option)
    if isinstance(given, np.ndarray) and given.ndim:
        return np.full(given.shape, value, given.dtype)
    if option == "class_weights":
        return np.full(np.shape(args[0])[-1], value, np.float32)
    return value


def _call(name, option, value):
    args, kwargs = _inputs(name)
    kwargs = {**kwargs, option: _shaped(args, kwargs, option, value)}
    if name == "smooth_labels" and option == "alpha":  # a positional argument there
        args, kwargs = (args[0], kwargs.pop("alpha")), kwargs
    return _fn(name)(*args, **kwargs)


def _outside(allowed: Range) -> list[float]:
    """Values just outside each bound (the bound itself when open); NaN if unbounded."""
    out = []
    if allowed.low is not None:
        out.append(allowed.low if allowed.low_open else allowed.low - OUTSIDE_BY)
    if allowed.high is not None:
        out.append(allowed.high if allowed.high_open else allowed.high + OUTSIDE_BY)
    return out or [float("nan")]


def _closed_bounds(allowed: Range) -> list[float]:
    return [
        b
        for b, is_open in ((allowed.low, allowed.low_open), (allowed.high, allowed.high_open))
        if b is not None and not is_open
    ]


DECLARED = sorted(core._RANGES)  # (function, option): registered losses and HELPERS
OUTSIDE = [(f, o, v) for f, o in DECLARED for v in _outside(core._RANGES[f, o])]
CLOSED = [(f, o, v) for f, o in DECLARED for v in _closed_bounds(core._RANGES[f, o])]


def _message(name, option, value):
    got = value.tolist() if isinstance(value, np.ndarray) else value
    return f"{name}: argument '{option}' must be {core._RANGES[name, option]}, got {got}"


# ---------------------------------------------------------------------------
# declarations


def test_info_exposes_the_declared_ranges():
    assert jaxloss.info("huber_loss").ranges == {"delta": Range(low=0.0)}
    assert jaxloss.info("huber").ranges == {"delta": Range(low=0.0)}  # foreign names too
    assert jaxloss.info("squared_error").ranges == {}
    assert jaxloss.info("siglip_loss").ranges == {
        "temperature": Range(low=0.0, low_open=True),
        "bias": Range(),  # any number
    }
    with pytest.raises(TypeError):
        jaxloss.info("huber_loss").ranges["delta"] = Range()  # read-only


def test_range_wording_and_validation():
    assert str(Range(low=0.0)) == ">= 0.0"
    assert str(Range(low=0.0, low_open=True)) == "> 0.0"
    assert str(Range(low=0.0, high=1.0, high_open=True)) == "in [0.0, 1.0)"
    assert str(Range(low=-1.0, high=1.0)) == "in [-1.0, 1.0]"
    assert str(Range(high=1.0, high_open=True)) == "< 1.0"
    assert str(Range()) == "a number"
    assert hash(Range(low=0.0)) == hash(Range(low=0.0))
    with pytest.raises(ValueError, match="low must be below high"):
        Range(low=1.0, high=0.0)
    with pytest.raises(ValueError, match="an unbounded end cannot be open"):
        Range(high=1.0, low_open=True)


@pytest.mark.parametrize("name", NAMES)
def test_declared_options_are_options_of_the_loss(name):
    info = jaxloss.info(name)
    assert set(info.ranges) <= set(info.hyperparameters), name
    assert {o: r for (f, o), r in core._RANGES.items() if f == name} == dict(info.ranges)


def test_every_option_reaching_hyperparameter_is_declared(monkeypatch):
    """Traces every loss (the unwrapped function under ``jax.eval_shape``: nothing cached,
    nothing compiled) with its case inputs, then once per declared option with an
    in-range value that no loss skips statically (not 0 or 1): the options that reach
    ``core.hyperparameter`` are exactly the declared ones."""
    reached = set()
    hyperparameter = core.hyperparameter

    def recording(fn, name, value, dtype):
        reached.add((fn, name))
        return hyperparameter(fn, name, value, dtype)

    monkeypatch.setattr(core, "hyperparameter", recording)
    for name in list(NAMES) + list(HELPERS):
        raw = inspect.unwrap(_fn(name))
        args, kwargs = _inputs(name)
        jax.eval_shape(lambda: raw(*args, **kwargs))  # noqa: B023 (called at once)
        for (f, option), allowed in core._RANGES.items():
            if f != name:
                continue
            low = -0.5 if allowed.low is None else allowed.low
            high = low + 1.0 if allowed.high is None else allowed.high
            value = low + 0.3 * (high - low)
            kw = {**kwargs, option: _shaped(args, kwargs, option, value)}
            a = args
            if name == "smooth_labels":
                a, kw = (args[0], kw.pop("alpha")), kw
            jax.eval_shape(lambda: raw(*a, **kw))  # noqa: B023
    assert sorted(reached - set(core._RANGES)) == []  # an undeclared one raises anyway
    assert sorted(set(core._RANGES) - reached) == []  # no stale declaration


# ---------------------------------------------------------------------------
# checks


@pytest.mark.parametrize(("name", "option", "value"), OUTSIDE)
def test_just_outside_is_rejected_by_the_call_and_by_get(name, option, value):
    message = _message(name, option, _shaped(*_inputs(name), option, value))
    with pytest.raises(ValueError) as call_error:
        _call(name, option, value)
    assert str(call_error.value) == message
    if name in HELPERS:
        return
    args, kwargs = _inputs(name)
    with pytest.raises(ValueError) as get_error:
        jaxloss.get(name, **{option: _shaped(args, kwargs, option, value)})
    assert str(get_error.value) == message


@pytest.mark.parametrize(("name", "option", "value"), CLOSED)
def test_a_closed_bound_is_accepted(name, option, value):
    _call(name, option, value)
    if name not in HELPERS:
        args, kwargs = _inputs(name)
        jaxloss.get(name, **{option: _shaped(args, kwargs, option, value)})


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("huber_loss", {"delta": -1.0}, "huber_loss: argument 'delta' must be >= 0.0, got -1.0"),
        ("huber", {"delta": -1}, "huber_loss: argument 'delta' must be >= 0.0, got -1"),
        (
            "softmax_cross_entropy",
            {"label_smoothing": 1.5},
            "softmax_cross_entropy: argument 'label_smoothing' must be in [0.0, 1.0), got 1.5",
        ),
        (
            "CrossEntropyLoss",
            {"label_smoothing": 1.0},
            "softmax_cross_entropy_with_integer_labels: argument 'label_smoothing' must be in "
            "[0.0, 1.0), got 1.0",
        ),
        (
            "triplet_margin_loss",
            {"margin": -0.5},
            "triplet_margin_loss: argument 'margin' must be >= 0.0, got -0.5",
        ),
        (
            "contrastive_loss",
            {"margin": -1.0},
            "contrastive_loss: argument 'margin' must be >= 0.0, got -1.0",
        ),
        (
            "cosine_embedding_loss",
            {"margin": 1.5},
            "cosine_embedding_loss: argument 'margin' must be in [-1.0, 1.0], got 1.5",
        ),
        (
            "sigmoid_focal_loss",
            {"gamma": -1.0},
            "sigmoid_focal_loss: argument 'gamma' must be >= 0.0, got -1.0",
        ),
        (
            "FocalLoss",
            {"gamma": -0.5},
            "softmax_focal_loss: argument 'gamma' must be >= 0.0, got -0.5",
        ),
        (
            "softmax_focal_loss",
            {"alpha": np.array([0.25, -0.5, 1.0])},
            "softmax_focal_loss: argument 'alpha' must be >= 0.0, got [0.25, -0.5, 1.0]",
        ),
        (
            "softmax_focal_loss",
            {"alpha": [0.25, -0.5]},
            "softmax_focal_loss: argument 'alpha' must be >= 0.0, got [0.25, -0.5]",
        ),
        (
            "quantile_loss",
            {"quantile": 0.0},
            "quantile_loss: argument 'quantile' must be in (0.0, 1.0), got 0.0",
        ),
        (
            "margin_ranking_loss",
            {"margin": float("nan")},
            "margin_ranking_loss: argument 'margin' must be a number, got nan",
        ),
    ],
)
def test_get_rejects_out_of_range_values(name, options, message):
    with pytest.raises(ValueError) as error:
        jaxloss.get(name, **options)
    assert str(error.value) == message
    with pytest.raises(ValueError) as error:  # also the Loss constructor and a config
        jaxloss.Loss(name, **options)
    assert str(error.value) == message
    config = {
        "name": name,
        "hyperparameters": {k: np.asarray(v).tolist() for k, v in options.items()},
    }
    with pytest.raises(ValueError) as error:
        jaxloss.Loss.from_config(config)
    assert str(error.value).split(", got")[0] == message.split(", got")[0]


def test_get_leaves_non_numbers_to_the_call():
    loss = jaxloss.get("huber_loss", delta="big")  # not a number: the call rejects it
    with pytest.raises(TypeError, match="huber_loss: argument 'delta' must be a real number"):
        loss(np.zeros(2, np.float32), np.ones(2, np.float32))
    assert jaxloss.get("sigmoid_focal_loss", alpha=None).name == "sigmoid_focal_loss"
    assert jaxloss.get("huber_loss", delta=0.0).name == "huber_loss"  # a closed bound
