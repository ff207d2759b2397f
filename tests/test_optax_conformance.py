"""optax's own loss tests, run against jaxloss.

The test modules shipped inside the installed optax (``optax/losses/*_test.py``) are
executed from their installed files, under private module names, while
``optax.losses.<name>`` (``_classification``, ``_regression``, ...) is temporarily
replaced by the jaxloss-backed stand-in of ``tests/optax_adapter.py``. Executing them
(rather than patching the globals of an imported copy) matters: several tests bind the
loss function at class-definition time, e.g. ``@parameterized.parameters(
_ranking.ranking_softmax_loss)``, which a later patch of the module globals would miss,
silently testing optax itself. Nothing of optax's test code or expected values is copied
here.

Each TestCase class of those modules is collected once, as a generated subclass named
``TestOptax<Module><Class>`` (the loaded modules and their classes are not module globals
here, so pytest does not collect them a second time).

Every optax test must pass except those in :data:`DEVIATIONS`: each of those runs, and
must fail with the documented exception and message, which is then reported as an xfail
(``strict=True``: a deviation that stops occurring fails the run, so the list stays
exact). A failure that is not listed is a jaxloss bug or an adapter mistake.
"""

from __future__ import annotations

import contextlib
import doctest
import functools
import importlib.util
import re
import sys
import types
import unittest
import zlib
from typing import NamedTuple
from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np
import optax.losses
import optax.losses._ranking
import pytest

import jaxloss
from tests import optax_adapter as adapter

# optax test module -> the CamelCase part of the generated class names.
OPTAX_TEST_MODULES = {
    "_classification_test": "Classification",
    "_fenchel_young_test": "FenchelYoung",
    "_ranking_test": "Ranking",
    "_regression_test": "Regression",
    "_segmentation_test": "Segmentation",
    "_self_supervised_test": "SelfSupervised",
    "_smoothing_test": "Smoothing",
}


class Deviation(NamedTuple):
    raises: type[BaseException]
    match: str  # regular expression searched in str(exception)
    reason: str


def _missing(name: str) -> Deviation:
    return Deviation(
        adapter.NotInJaxloss,
        rf"optax\.losses\.{name} is not in jaxloss",
        f"not yet in jaxloss: optax.losses.{name} ({adapter.MISSING[name]})",
    )


# Test id ("<generated class>::<test method>") -> the documented way it fails.
_C = "TestOptaxClassification"
DEVIATIONS: dict[str, Deviation] = {
    # -- convex_kl_divergence is a plain alias
    f"{_C}GeneralizedKLDivergenceTest::test_deprecated_alias": Deviation(
        AssertionError,
        r"^DeprecationWarning not triggered$",
        "jaxloss.convex_kl_divergence is an alias of generalized_kl_divergence (the same "
        "function, values and gradients equal to optax's, tests/test_divergence.py) without "
        "optax's DeprecationWarning",
    ),
    # -- dice_loss(apply_softmax=False) does not validate its probabilities
    "TestOptaxSegmentationDiceLossTest::test_probability_validation": Deviation(
        AssertionError,
        r"^ValueError not raised$",
        "dice_loss(apply_softmax=False) uses the predictions as given soft masks, which need not "
        "sum to 1 over the classes (documented in jaxloss/_segmentation.py; jit-safe); optax "
        "raises ValueError with a Python if, which also fails under jax.jit",
    ),
}


class DeviationConfirmed(Exception):
    """Raised by a listed test that failed exactly as documented (reported as xfail)."""


# ---------------------------------------------------------------------------
# loading optax's test modules against the adapters


@contextlib.contextmanager
def _optax_losses_replaced():
    with contextlib.ExitStack() as stack:
        for name, module in adapter.MODULES.items():
            stack.enter_context(mock.patch.object(optax.losses, name, module))
        yield


def _load(test_module: str) -> types.ModuleType:
    origin = importlib.util.find_spec(f"optax.losses.{test_module}").origin
    name = f"jaxloss_optax_conformance{test_module}"
    spec = importlib.util.spec_from_file_location(name, origin)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with _optax_losses_replaced():
        spec.loader.exec_module(module)
    return module


_LOADED = {name: _load(name) for name in OPTAX_TEST_MODULES}


def _expect_deviation(test, key: str, deviation: Deviation):
    @functools.wraps(test)
    def wrapper(self):
        try:
            test(self)
        except deviation.raises as e:
            if not re.search(deviation.match, str(e)):
                raise
            raise DeviationConfirmed(f"{key}: {e}") from e
        # Returning normally is an XPASS, which strict=True turns into a failure.

    mark = pytest.mark.xfail(strict=True, raises=DeviationConfirmed, reason=deviation.reason)
    return mark(wrapper)


def _seeded_set_up(base: type):
    """``base.setUp`` after seeding NumPy's global RNG from the test id (restored after).

    Several optax tests draw their inputs from the unseeded global RNG; a seed per test
    makes a run reproducible and independent of the test order.
    """

    def setUp(self):
        self.addCleanup(np.random.set_state, np.random.get_state())
        np.random.seed(zlib.crc32(f"{type(self).__name__}::{self._testMethodName}".encode()))
        base.setUp(self)

    return setUp


def _generate() -> dict[str, type]:
    classes = {}
    loader = unittest.TestLoader()
    for test_module, camel in OPTAX_TEST_MODULES.items():
        module = _LOADED[test_module]
        for attr, base in vars(module).items():
            if not (
                isinstance(base, type)
                and issubclass(base, unittest.TestCase)
                and base.__module__ == module.__name__
            ):
                continue
            name = f"TestOptax{camel}{attr}"
            body = {"__module__": __name__, "__qualname__": name, "setUp": _seeded_set_up(base)}
            for method in loader.getTestCaseNames(base):
                key = f"{name}::{method}"
                if key in DEVIATIONS:
                    body[method] = _expect_deviation(getattr(base, method), key, DEVIATIONS[key])
            classes[name] = types.new_class(
                name, (base,), exec_body=lambda ns, b=body: ns.update(b)
            )
    return classes


_GENERATED = _generate()
globals().update(_GENERATED)


# ---------------------------------------------------------------------------
# checks of the harness itself


def test_every_deviation_names_a_test():
    tests = {
        f"{name}::{method}"
        for name, cls in _GENERATED.items()
        for method in unittest.TestLoader().getTestCaseNames(cls)
    }
    assert sorted(set(DEVIATIONS) - tests) == []


def _bound_objects(obj, depth=0):
    """The objects a test method closes over (parameterized binds its parameters so)."""
    if depth > 4:
        return
    yield obj
    items = ()
    if isinstance(obj, dict):
        items = obj.values()
    elif isinstance(obj, list | tuple):
        items = obj
    elif isinstance(obj, types.FunctionType):
        items = [cell.cell_contents for cell in obj.__closure__ or ()]
        items += [obj.__wrapped__] if hasattr(obj, "__wrapped__") else []
    for item in items:
        yield from _bound_objects(item, depth + 1)


def test_loaded_modules_use_the_adapters():
    for test_module, module in _LOADED.items():
        for name, stand_in in adapter.MODULES.items():
            if name in vars(module):
                assert vars(module)[name] is stand_in, (test_module, name)
    # Functions bound at class-definition time (e.g. @parameterized.parameters(
    # _ranking.ranking_softmax_loss)) must be the adapters too, never optax's losses.
    adapters = {fn for module in adapter.MODULES.values() for fn in vars(module).values()}
    seen = 0
    for name, cls in _GENERATED.items():
        for method in unittest.TestLoader().getTestCaseNames(cls):
            for obj in _bound_objects(getattr(cls, method)):
                module = getattr(obj, "__module__", None) or ""
                assert not (callable(obj) and module.startswith("optax.losses.")), (name, obj)
                seen += obj in adapters if callable(obj) else 0
    assert seen > 0


def test_every_optax_loss_is_mapped_or_listed_missing():
    public = {n for n in dir(optax.losses) if not n.startswith("_")}
    assert public == set(vars(adapter.LOSSES))
    for name in adapter.MISSING:
        # A name jaxloss gains must be wired up in the adapter (and its deviations removed).
        assert not hasattr(jaxloss, name), name


def test_optax_ranking_doctests():
    """optax's _ranking_test runs its module's doctests (load_tests); here on jaxloss."""
    optax_stand_in = types.SimpleNamespace(losses=adapter.LOSSES)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    found = finder.find(
        optax.losses._ranking, globs={"jax": jax, "jnp": jnp, "optax": optax_stand_in}
    )
    examples = [t for t in found if t.examples]
    assert examples
    for t in examples:
        runner.run(t)
    assert runner.summarize(verbose=False).failed == 0
