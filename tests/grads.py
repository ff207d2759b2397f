"""Gradient-check helpers: ``check_grads`` on the jitted function, and :func:`of_args`.

``jax.test_util.check_grads`` evaluates its function many times (finite differences in
every direction, JVPs, VJPs, and again at second order). Given a plain function, each
evaluation under ``jax.jvp``/``jax.vjp`` runs op by op, and the loops and conds of a
loss are compiled again every time; given the jitted function, one compiled program per
derivative order serves them all. The check itself is unchanged.
"""

import jax
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
