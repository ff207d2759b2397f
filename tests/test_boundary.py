"""The public boundary: an eager call runs one compiled kernel per loss.

Inside a transformation a loss is traced inline (nothing to test beyond the oracle and
composition suites); these tests pin down what the eager path promises: no retrace for
a new float option, the same validation and errors as before, and checks that still
fire under ``checked`` even when the data are closed-over constants.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxloss

P = jnp.array([0.0, 1.0, 3.0])
T = jnp.zeros(3)


def _huber(d, x):
    return np.mean(np.where(np.abs(x) <= d, 0.5 * x**2, d * (np.abs(x) - 0.5 * d)))


def test_a_new_float_value_does_not_recompile_the_eager_kernel():
    kernel = jaxloss.huber_loss.kernel
    jaxloss.huber_loss(P, T, delta=0.25)
    size = kernel._cache_size()
    for d in (0.3, 0.7, 1.5, 1234.5):
        np.testing.assert_allclose(
            jaxloss.huber_loss(P, T, delta=d), _huber(d, np.asarray(P)), rtol=1e-6
        )
    assert kernel._cache_size() == size


def test_integral_float_options_are_compiled_in_with_their_exact_forms():
    # 0.0, 1.0, 2.0, inf select exact special forms: no smoothing is no smoothing
    x = jnp.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    y = jnp.array([2, 1])
    fn = jaxloss.softmax_cross_entropy_with_integer_labels
    np.testing.assert_array_equal(fn(x, y, label_smoothing=0.0), fn(x, y))
    np.testing.assert_array_equal(
        jaxloss.triplet_margin_loss(x, -x, 2 * x, p=2.0, reduction="none"),
        jax.jit(lambda a: jaxloss.triplet_margin_loss(a, -a, 2 * a, p=2.0, reduction="none"))(x),
    )


@pytest.mark.parametrize("delta", [-0.5, float("nan"), -2.0])
def test_out_of_range_float_options_raise_on_every_eager_call(delta):
    jaxloss.huber_loss(P, T, delta=0.5)  # the kernel exists and knows the range
    for _ in range(2):
        with pytest.raises(ValueError, match=r"huber_loss: argument 'delta' must be >= 0"):
            jaxloss.huber_loss(P, T, delta=delta)


def test_out_of_range_float_option_on_the_first_call_of_a_fresh_loss():
    # a loss whose kernel has never been traced in this process with a runtime option
    with pytest.raises(ValueError, match=r"argument 'margin' must be >= 0"):
        jaxloss.contrastive_loss(jnp.ones((2, 3)), jnp.zeros((2, 3)), jnp.ones(2), margin=-0.5)


def test_array_options_are_runtime_arguments():
    w = np.array([1.0, 2.0])
    x = jnp.array([[1.0, -1.0], [0.5, 2.0]])
    y = jnp.array([0, 1])
    kernel = jaxloss.softmax_cross_entropy_with_integer_labels.kernel
    a = jaxloss.softmax_cross_entropy_with_integer_labels(x, y, class_weights=w)
    size = kernel._cache_size()
    b = jaxloss.softmax_cross_entropy_with_integer_labels(x, y, class_weights=2 * w)
    assert kernel._cache_size() == size
    np.testing.assert_allclose(a, b, rtol=1e-6)  # the class-weighted mean is scale-free
    logp = np.asarray(jax.nn.log_softmax(x))
    expected = -(1 * logp[0, 0] + 2 * logp[1, 1]) / 3
    np.testing.assert_allclose(a, expected, rtol=1e-6)


def test_validation_errors_are_unchanged_by_the_kernel():
    with pytest.raises(ValueError, match=r"reduction"):
        jaxloss.squared_error(P, T, reduction="avg")
    with pytest.raises(TypeError, match=r"labels"):
        jaxloss.softmax_cross_entropy_with_integer_labels(jnp.zeros((2, 3)), jnp.zeros(2))


def test_checked_with_closed_over_constants_still_checks():
    """No argument is a tracer here, but checkify is tracing: the loss must be traced
    inline (with its checks), not dispatched to the check-free eager kernel."""
    x, bad = jnp.zeros((2, 3)), jnp.array([0, 3])
    fn = jaxloss.softmax_cross_entropy_with_integer_labels
    fn(x, bad)  # warm the eager kernel with these very inputs
    with pytest.raises(checkify.JaxRuntimeError, match=r"label out of range \[0, 3\)"):
        jaxloss.checked(lambda: fn(x, bad))()


def test_eager_kernel_and_jit_agree_and_python_data_work():
    x = [[1.0, 2.0, 0.5]]
    y = [2]
    eager = jaxloss.softmax_cross_entropy_with_integer_labels(x, y)
    jitted = jax.jit(jaxloss.softmax_cross_entropy_with_integer_labels)(
        jnp.asarray(x), jnp.asarray(y)
    )
    np.testing.assert_array_equal(eager, jitted)
    np.testing.assert_allclose(eager, -jax.nn.log_softmax(jnp.asarray(x))[0, 2], rtol=1e-6)


def test_get_rejects_an_unknown_reduction_when_the_loss_is_bound():
    with pytest.raises(ValueError, match=r"jaxloss.get\('huber_loss'\): argument 'reduction'"):
        jaxloss.get("huber", reduction="avg")
    assert jaxloss.get("huber", reduction="sum")(P, T) == pytest.approx(
        _huber(1.0, np.asarray(P)) * 3
    )


def test_static_options_of_equal_value_and_other_type_get_their_own_kernel():
    """True == 1 and hash(True) == hash(1): a kernel keyed on the value alone, traced
    with full=True, served full=1 without the TypeError that a Python int gets."""
    p, t, v = jnp.ones(3), jnp.zeros(3), jnp.ones(3)
    jaxloss.gaussian_nll_loss(p, t, v, full=True)
    with pytest.raises(TypeError, match=r"gaussian_nll_loss: argument 'full' must be a Python"):
        jaxloss.gaussian_nll_loss(p, t, v, full=1)


def test_out_of_range_python_float_under_jit_still_raises_at_trace_time():
    f = jax.jit(lambda p, t: jaxloss.huber_loss(p, t, delta=-0.5))
    with pytest.raises(ValueError, match=r"huber_loss: argument 'delta' must be >= 0"):
        f(P, T)


def test_eager_grad_differentiates_one_cached_program():
    kernel = jaxloss.huber_loss.traced_kernel
    g = jax.grad(lambda p: jaxloss.huber_loss(p, T, delta=0.5))
    np.testing.assert_allclose(g(P), np.clip(np.asarray(P), -0.5, 0.5) / 3, rtol=1e-6)
    size = kernel._cache_size()
    np.testing.assert_allclose(g(2 * P), np.clip(2 * np.asarray(P), -0.5, 0.5) / 3, rtol=1e-6)
    assert kernel._cache_size() == size


def test_a_loss_inside_another_eager_kernel_leaves_checked_programs_checked():
    """A loss called while another traces its check-free eager kernel: had it gone through
    its own jitted `traced_kernel`, that check-free trace would be cached there and
    served to a later `checked` call with the same shapes, which then raised nothing."""
    from jaxloss import _core

    ce = jaxloss.softmax_cross_entropy_with_integer_labels
    outer = _core.public(lambda x, y: 2.0 * ce(x, y))
    x, bad = jnp.zeros((2, 5)), jnp.array([0, 5])
    assert np.isnan(float(outer(x, bad)))  # eager, unchecked: NaN for the bad label
    with pytest.raises(checkify.JaxRuntimeError, match=r"label out of range \[0, 5\)"):
        jaxloss.checked(ce)(x, bad)
