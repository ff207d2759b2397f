"""Gradient-check helpers: ``check_grads`` on the jitted function, and :func:`of_args`.

``jax.test_util.check_grads`` evaluates its function many times (finite differences in
every direction, JVPs, VJPs, and again at second order). Given a plain function, each
evaluation under ``jax.jvp``/``jax.vjp`` runs op by op, and the loops and conds of a
loss are compiled again every time; given the jitted function, one compiled program per
derivative order serves them all. The check itself is unchanged.
"""

import jax
import numpy as np
from jax.test_util import check_grads as _check_grads


def check_grads(f, args, order, *rest, **kwargs):
    return _check_grads(jax.jit(f), args, order, *rest, **kwargs)


def of_args(fn, args, indices):
    """``fn`` as a function of ``args[i]`` for ``i`` in ``indices``, the other args fixed."""

    def f(*values):
        full = list(args)
        for i, v in zip(indices, values):
            full[i] = v
        return fn(*full)

    return f


def check_first_and_second_order(f, x, *, seed=0, eps=1e-4, tol=1e-5, directions=2):
    """Checks ``grad(f)`` and its Hessian-vector products at ``x`` against central finite
    differences along random directions, as ``check_grads(f, (x,), order=2,
    modes=["rev"])`` does, but in one compiled program per function.

    For each direction ``v``: ``<grad f(x), v>`` against ``(f(x + eps v) - f(x - eps v))
    / (2 eps)``, and the reverse-over-reverse product ``H v`` against the same difference
    of ``grad f``. ``f`` maps one float64 array to a scalar.
    """
    g = jax.grad(f)

    @jax.jit
    def program(x, v):
        hv = jax.grad(lambda y: jax.numpy.vdot(g(y), v))(x)
        fd_f = (f(x + eps * v) - f(x - eps * v)) / (2 * eps)
        fd_g = (g(x + eps * v) - g(x - eps * v)) / (2 * eps)
        return jax.numpy.vdot(g(x), v), fd_f, hv, fd_g

    rng = np.random.default_rng(seed)
    for _ in range(directions):
        v = jax.numpy.asarray(rng.normal(size=np.shape(x)), x.dtype)
        gv, fd_f, hv, fd_g = (np.asarray(a) for a in program(x, v))
        np.testing.assert_allclose(gv, fd_f, rtol=tol, atol=tol, err_msg="first order")
        np.testing.assert_allclose(hv, fd_g, rtol=tol, atol=tol, err_msg="second order")
