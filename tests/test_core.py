"""The shared machinery: reduce_loss, hyperparameters, errors, checked, registry, catalogue."""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jaxloss
from jaxloss import _core as core


class TestReduceLoss:
    def test_plain_and_weighted(self):
        v = np.array([1.0, 2.0, 3.0, 6.0], np.float32)
        w = np.array([1.0, 0.0, 2.0, 1.0], np.float32)
        m = np.array([True, True, False, True])
        assert float(jaxloss.reduce_loss(v)) == 3.0
        assert float(jaxloss.reduce_loss(v, "sum")) == 12.0
        np.testing.assert_allclose(jaxloss.reduce_loss(v, weights=w), (1 + 6 + 6) / 4)
        np.testing.assert_allclose(jaxloss.reduce_loss(v, where=m), 3.0)
        np.testing.assert_allclose(jaxloss.reduce_loss(v, where=m, weights=w), 7 / 2)
        np.testing.assert_allclose(
            jaxloss.reduce_loss(v, "none", where=m, weights=w), [1.0, 0.0, 0.0, 6.0]
        )

    def test_broadcast_weights_and_mask(self):
        v = np.arange(6, dtype=np.float32).reshape(2, 3)
        np.testing.assert_allclose(
            jaxloss.reduce_loss(v, weights=np.array([1.0, 0.0, 1.0])), (0 + 2 + 3 + 5) / 4
        )
        np.testing.assert_allclose(jaxloss.reduce_loss(v, where=np.array([[True], [False]])), 1.0)

    def test_masked_nan_values_do_not_leak(self):
        v = jnp.array([1.0, jnp.nan, jnp.inf])
        m = jnp.array([True, False, False])
        assert float(jaxloss.reduce_loss(v, where=m)) == 1.0
        g = jax.grad(lambda x: jaxloss.reduce_loss(x, where=m))(v)
        np.testing.assert_array_equal(g, [1.0, 0.0, 0.0])

    @pytest.mark.parametrize("kw", [dict(where=np.zeros(3, bool)), dict(weights=np.zeros(3))])
    def test_all_excluded_is_zero_with_zero_grad(self, kw):
        v = jnp.array([1.0, 2.0, 3.0])
        assert float(jaxloss.reduce_loss(v, **kw)) == 0.0
        g = jax.grad(lambda x: jaxloss.reduce_loss(x, **kw))(v)
        np.testing.assert_array_equal(g, np.zeros(3))

    def test_empty(self):
        assert float(jaxloss.reduce_loss(jnp.zeros((0,)))) == 0.0
        assert float(jaxloss.reduce_loss(jnp.zeros((0,)), weights=jnp.zeros((0,)))) == 0.0
        assert (
            float(jax.grad(lambda x: jaxloss.reduce_loss(x).sum() + 1.0)(jnp.zeros((0,))).sum())
            == 0.0
        )

    def test_errors(self):
        with pytest.raises(
            ValueError,
            match="reduce_loss: argument 'reduction' must be one of"
            " 'mean', 'sum' or 'none', got 'avg'",
        ):
            jaxloss.reduce_loss(jnp.ones(2), "avg")
        with pytest.raises(ValueError, match=r"'weights' with shape \(3,\) must be broadcast"):
            jaxloss.reduce_loss(jnp.ones(2), weights=jnp.ones(3))
        with pytest.raises(TypeError, match="'where' must be a boolean mask, got int32"):
            jaxloss.reduce_loss(jnp.ones(2), where=jnp.ones(2, jnp.int32))

    @given(st.integers(0, 2**31 - 1), st.integers(1, 20))
    def test_sum_is_mean_times_count(self, seed, n):
        v = np.random.default_rng(seed).uniform(0, 10, n).astype(np.float32)
        np.testing.assert_allclose(
            jaxloss.reduce_loss(v, "sum"), n * jaxloss.reduce_loss(v), rtol=1e-5
        )


class TestHyperparameters:
    @pytest.fixture
    def declare(self, monkeypatch):
        """Declares ranges of a test function "f" for the duration of one test."""

        def declare(**ranges):
            for name, allowed in ranges.items():
                monkeypatch.setitem(core._RANGES, ("f", name), allowed)

        return declare

    def test_ranges_and_messages(self, declare):
        f = lambda v: core.hyperparameter("f", "delta", v, jnp.float32)
        declare(delta=core.Range(low=0.0))
        assert float(f(0.5)) == 0.5
        with pytest.raises(ValueError, match=r"f: argument 'delta' must be >= 0.0, got -1.0"):
            f(-1.0)
        with pytest.raises(ValueError, match="got nan"):
            f(float("nan"))
        with pytest.raises(ValueError, match=r"must be >= 0.0, got -2.0"):
            f(jnp.float32(-2.0))  # concrete JAX scalars are checked too
        declare(delta=core.Range(low=0.0, high=1.0, low_open=True, high_open=True))
        with pytest.raises(ValueError, match=r"must be in \(0.0, 1.0\), got 1.0"):
            f(1.0)

    def test_non_numbers_are_rejected(self, declare):
        declare(margin=core.Range())
        with pytest.raises(
            TypeError,
            match=r"f: argument 'margin' must be a real number or a "
            r"JAX scalar, got str",
        ):
            core.hyperparameter("f", "margin", "1", jnp.float32)

    def test_undeclared_option_is_an_error(self):
        with pytest.raises(RuntimeError, match=r"f: option 'delta' has no declared range"):
            core.hyperparameter("f", "delta", 1.0, jnp.float32)

    def test_traced_values_skip_the_check(self, declare):
        declare(d=core.Range(low=0.0))
        out = jax.jit(lambda v: core.hyperparameter("f", "d", v, jnp.float32))(-1.0)
        assert float(out) == -1.0

    def test_static_value(self):
        assert core.static_value(0.0) == 0.0
        assert core.static_value(jnp.float32(2.0)) == 2.0
        assert core.static_value(jnp.ones(2)) is None
        jax.jit(lambda v: (core.static_value(v) is None) or (_ for _ in ()).throw(AssertionError))(
            1.0
        )


class TestRegistry:
    def test_names_sorted_and_aliases_resolve(self):
        names = jaxloss.names()
        assert names == sorted(names) and len(names) == len(set(names))
        for alias, canonical in jaxloss.aliases().items():
            assert jaxloss.get(alias).name == canonical
            assert alias not in names

    def test_unknown_name_suggests(self):
        with pytest.raises(
            ValueError,
            match=r"unknown loss 'hubber_loss'; did you mean "
            r"'huber_loss'",
        ):
            jaxloss.get("hubber_loss")

    def test_unknown_option(self):
        with pytest.raises(TypeError, match="loss 'huber_loss' has no option 'beta'"):
            jaxloss.get("huber_loss", beta=1.0)

    def test_loss_object(self):
        loss = jaxloss.get("mse", reduction="sum")
        assert loss == jaxloss.get("squared_error", reduction="sum")
        assert loss != jaxloss.get("squared_error")
        assert {loss: 1}[jaxloss.get("squared_error", reduction="sum")] == 1
        with pytest.raises(dataclasses_error()):
            loss.name = "x"
        config = loss.config()
        assert json.loads(json.dumps(config)) == config
        np.testing.assert_allclose(loss(jnp.ones(3), jnp.zeros(3)), 3.0)

    def test_array_hyperparameters_roundtrip(self):
        loss = jaxloss.get(
            "softmax_cross_entropy_with_integer_labels",
            class_weights=np.array([1.0, 2.0]),
            ignore_index=-100,
        )
        again = jaxloss.Loss.from_config(json.loads(json.dumps(loss.config())))
        assert again == loss and hash(again) == hash(loss)

    def test_from_config_errors(self):
        with pytest.raises(ValueError, match="expected a dict with a 'name' key"):
            jaxloss.Loss.from_config({"hyperparameters": {}})


def dataclasses_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_catalogue_lists_every_loss():
    out = subprocess.run(
        [sys.executable, "-m", "jaxloss"], capture_output=True, text=True, check=True
    ).stdout
    for name in jaxloss.names():
        info = jaxloss.info(name)
        row = next(
            line
            for line in out.splitlines()
            if line.startswith(f"| {name} ") or line.startswith(f"| {name} [")
        )
        assert info.family in row and info.inputs in row
    assert f"{len(jaxloss.names())} losses" in out


def test_register_rejects_an_unknown_family_and_a_module_outside_its_family():
    """One module per family: a loss of family ``f`` must live in ``jaxloss._f``."""
    from jaxloss._registry import register

    def stray(x, *, reduction="mean", where=None, weights=None):
        return x

    with pytest.raises(RuntimeError, match=r"'stray' has family 'no_such_family'"):
        register(family="no_such_family", inputs="logits")(stray)
    stray.__module__ = "jaxloss._regression"
    with pytest.raises(RuntimeError, match=r"defined in jaxloss._margin, not jaxloss._regression"):
        register(family="margin", inputs="logits")(stray)
    assert "stray" not in jaxloss.names()


def test_every_loss_lives_in_its_family_module_and_is_exported_by_name_and_alias():
    from jaxloss._registry import FAMILIES

    exported = set(jaxloss.__all__)
    for name in jaxloss.names():
        entry = jaxloss.info(name)
        assert entry.family in FAMILIES
        assert entry.fn.__module__ == f"jaxloss._{entry.family}", name
        for public in (name, *entry.aliases):
            assert getattr(jaxloss, public) is entry.fn and public in exported, public
    # Every other public name (machinery, helpers) has its entry on the composition page.
    import pathlib

    page = (pathlib.Path(__file__).parents[1] / "docs" / "api" / "composition.md").read_text()
    others = exported - set(jaxloss.names()) - set(jaxloss.aliases())
    assert others and all(f"::: jaxloss.{n}\n" in page for n in others), sorted(others)
