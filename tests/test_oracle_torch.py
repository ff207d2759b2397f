"""Live PyTorch oracle: every jaxloss loss that ``torch.nn.functional`` also has.

Each case computes the loss with jaxloss (float64, under ``jax.enable_x64``) and with
PyTorch (explicit float64 CPU tensors; the global default dtype is left alone) for every
reduction, and compares the values and the vector-Jacobian products under a seeded
random cotangent with respect to every input that PyTorch differentiates: predictions
and, where PyTorch supports it, targets (``torch.autograd.grad``). Tolerance: rtol 1e-10.
jaxloss's values and VJPs of a case, for all three reductions, come from one compiled
program (``jax.jit`` of the losses and their ``jax.vjp``).

Where jaxloss differs from PyTorch by design, the difference is asserted (never skipped):
:data:`DIFFERENCES` lists each one, with its reason and the test that asserts it.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as F

import jaxloss
from tests.grads import of_args

RTOL = 1e-10
ATOL = 1e-12
REDUCTIONS = ("none", "mean", "sum")
N, C = 6, 5

# Documented differences between jaxloss and PyTorch: key -> (reason, asserting test).
DIFFERENCES: dict[str, tuple[str, str]] = {
    "bce_with_logits_weighted_mean": (
        "jaxloss `weights=` 'mean' is the weighted mean sum(w*l)/sum(w) (the jaxloss "
        "reduction rule); torch binary_cross_entropy_with_logits(weight=) 'mean' is "
        "mean(w*l). 'none' and 'sum' agree.",
        "test_weighted_mean_is_normalized_by_the_weights",
    ),
    "bce_weighted_mean": (
        "same rule for binary_cross_entropy(weight=); jaxloss's positive_weight/"
        "negative_weight (both = w) reproduce torch's weight=, 'mean' included.",
        "test_weighted_mean_is_normalized_by_the_weights",
    ),
    "bce_log_clamp": (
        "torch clamps each log at -100, jaxloss clips p and 1-p at epsilon=1e-7: a "
        "probability of exactly 0 or 1 that disagrees with its label costs 100 in torch "
        "and -log(1e-7) = 16.118 in jaxloss (equal with epsilon=exp(-100)).",
        "test_bce_saturated_probabilities",
    ),
    "kl_div_reductions": (
        "torch kl_div 'none' is elementwise and 'mean' divides by every element "
        "(N*C*d); jaxloss 'none' is per example (summed over the class axis) and 'mean' "
        "divides by the number of examples (N*d). torch 'batchmean' divides by N only, "
        "so it equals jaxloss 'mean' only for 2-D input.",
        "test_kl_div_reductions_k_dimensional",
    ),
    "kl_div_zero_target_gradient": (
        "at a target exactly 0 torch's gradient with respect to the target is NaN "
        "(d/dt xlogy(t, t) at t = 0); jaxloss gives 0 (documented double where).",
        "test_kl_div_zero_targets",
    ),
    "kl_div_log_target_minus_inf": (
        "torch kl_div(log_target=True) is NaN where a log target is -inf "
        "(exp(-inf) * (-inf - x)); jaxloss gives 0 for that class, with zero gradient.",
        "test_kl_div_zero_targets",
    ),
    "ctc_mean": (
        "torch ctc_loss 'mean' divides each sequence's loss by its target length "
        "(clamped at 1) before averaging; jaxloss 'mean' is the plain mean of the "
        "per-sequence losses (= 'sum' with weights=1/length, divided by N, is torch's).",
        "test_ctc_mean_divides_by_target_lengths_in_torch",
    ),
    "ctc_infeasible_gradient": (
        "an infeasible target: both give +inf, torch's gradient is NaN while jaxloss's "
        "is 0 (jaxloss's docstring says 'zero gradient, as PyTorch'; PyTorch zeroes it "
        "only with zero_infinity=True).",
        "test_ctc_infeasible",
    ),
    "poisson_nll_full_zero_target": (
        "poisson_nll_loss(full=True): torch's gradient with respect to a target exactly 0 "
        "is NaN (the Stirling term is evaluated at 0 and then masked); jaxloss's is the "
        "finite gradient of the rest (-input). Values agree.",
        "test_poisson_nll_full_zero_targets",
    ),
    "gaussian_nll_clamped_variance_gradient": (
        "variances below eps: torch clamps in place under no_grad, so the gradient "
        "evaluated at eps passes straight through; jaxloss gives such entries zero "
        "gradient (the derivative of the function computed). Values agree.",
        "test_gaussian_nll_clamped_variance",
    ),
    "gaussian_nll_variance_rank": (
        "torch accepts a variance with one dimension fewer than the input ([N] for "
        "[N, D]); jaxloss needs variance[..., None] and raises ValueError otherwise.",
        "test_gaussian_nll_clamped_variance",
    ),
    "cosine_similarity_floored_norm_gradient": (
        "a vector whose norm is below eps: both floor the norm at eps (values agree), "
        "torch clamps under no_grad so its gradient still differentiates the norm "
        "(straight-through), jaxloss differentiates the function computed (a constant eps). "
        "They agree for zero vectors: y / (||y|| eps).",
        "test_cosine_similarity_below_the_norm_floor",
    ),
    "cosine_embedding_epsilon": (
        "torch adds 1e-12 to each squared norm, jaxloss floors each norm at epsilon=1e-8:"
        " they differ for vectors of norm below ~1e-6.",
        "test_cosine_embedding_tiny_vectors",
    ),
    "all_ignored_mean": (
        "cross_entropy with every target ignored (or of class weight 0): torch's 'mean' "
        "is 0/0 = NaN; jaxloss's is 0 with zero gradient (its reduction rule).",
        "test_cross_entropy_all_ignored",
    ),
    "nll_loss_all_ignored_mean": (
        "nll_loss with every target ignored: torch's 'mean' is 0/0 = NaN; jaxloss's is 0 with "
        "zero gradient (its reduction rule), as for cross_entropy.",
        "test_nll_loss_all_ignored",
    ),
    "categorical_cross_entropy_renormalization": (
        "torch has no cross-entropy of probabilities with soft labels; through "
        "F.cross_entropy(log p) the values agree for normalized p, but torch's gradient "
        "with respect to p contains the log_softmax normalization term, jaxloss's does "
        "not (jaxloss uses p as given); only label gradients are compared there.",
        "test_categorical_cross_entropy_probability_gradient",
    ),
}


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


# ---------------------------------------------------------------------------
# the comparison


def _torch(a, requires_grad=False):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)
    if a.dtype.kind == "b":
        return torch.tensor(a)
    return torch.tensor(a, dtype=torch.int64)


def _jax(a):
    a = np.asarray(a)
    return jnp.asarray(a, jnp.float64) if a.dtype.kind == "f" else jnp.asarray(a)


_t = _torch  # the short name used in the tests below


def _jit_values_and_vjps(fns, diff, seed):
    """One compiled program: ``(out, VJPs w.r.t. args[i] for i in diff, g)`` per ``fn(*args)``.

    The cotangent ``g`` is one seeded normal sample of ``out``'s shape (a constant of the
    program), returned so that PyTorch gets the same one.
    """

    def run(*args):
        results = []
        for fn in fns:
            out, vjp = jax.vjp(of_args(fn, args, diff), *(args[i] for i in diff))
            g = jnp.asarray(np.random.default_rng(seed + 12345).normal(size=out.shape))
            results.append((out, vjp(g), g))
        return results

    return jax.jit(run)


def compare(j_result, tfn, arrays, diff, *, rtol=RTOL, atol=ATOL):
    """Compares jaxloss's ``(value, VJPs, cotangent)`` with ``tfn(*tensors)``'s, w.r.t. ``diff``."""
    j_out, j_grads, g = j_result
    tensors = [_torch(a, i in diff) for i, a in enumerate(arrays)]
    t_out = tfn(*tensors)
    assert j_out.dtype == jnp.float64
    assert tuple(j_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(
        np.asarray(j_out), t_out.detach().numpy(), rtol=rtol, atol=atol, err_msg="value"
    )
    if not diff:
        return
    t_grads = torch.autograd.grad(
        t_out,
        [tensors[i] for i in diff],
        grad_outputs=torch.tensor(np.asarray(g), dtype=torch.float64),
        allow_unused=True,
    )
    for i, tg, jg in zip(diff, t_grads, j_grads):
        tg = np.zeros(np.shape(arrays[i])) if tg is None else tg.numpy()
        np.testing.assert_allclose(
            np.asarray(jg), tg, rtol=rtol, atol=atol, err_msg=f"gradient w.r.t. argument {i}"
        )


def oracle(jfn, tfn, arrays, diff=(0,), *, seed=0, rtol=RTOL, atol=ATOL):
    """Compares ``jfn(*arrays)`` with ``tfn(*tensors)``, values and VJPs w.r.t. ``diff``.

    The VJP cotangent is one seeded normal sample of the output shape (a scalar for
    ``"mean"``/``"sum"``), the same for both frameworks.
    """
    j_result = _jit_values_and_vjps([jfn], diff, seed)(*[_jax(a) for a in arrays])[0]
    compare(j_result, tfn, arrays, diff, rtol=rtol, atol=atol)


@functools.partial(jax.jit, static_argnums=0)
def _vjp(fn, g, *args):
    """``fn(*args)`` and its VJP under the cotangent ``g`` w.r.t. every arg: one program."""
    out, vjp = jax.vjp(fn, *args)
    return out, vjp(g)


# ---------------------------------------------------------------------------
# data


def _probs(rng, shape, axis=-1):
    return scipy.special.softmax(rng.normal(size=shape), axis=axis)


def _onehot(rng, shape, axis=-1):
    labels = rng.integers(0, shape[axis], size=np.delete(shape, axis))
    return np.moveaxis(np.eye(shape[axis])[labels], -1, axis)


def _signs(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------------------
# the cases


@dataclass(frozen=True)
class Case:
    """jaxloss's ``jfn(*arrays, reduction=r)`` against torch's ``tfn(*tensors, reduction=r)``
    on the arrays ``data(rng)`` returns, both differentiated with respect to ``arrays[i]``
    for ``i`` in ``diff`` (see :func:`_case`)."""

    name: str
    jfn: Callable
    tfn: Callable
    data: Callable[[np.random.Generator], tuple]
    diff: tuple[int, ...] = (0,)


# torch's names of jaxloss's options, where they differ
_TORCH_NAME = {"epsilon": "eps", "class_weights": "weight"}


def _calling(fn, named, options):
    """``fn(*arrays, reduction=r)``: the last ``len(named)`` arrays as the keywords ``named``,
    with ``options``."""

    def call(*arrays, reduction):
        k = len(arrays) - len(named)
        return fn(*arrays[:k], **dict(zip(named, arrays[k:])), **options, reduction=reduction)

    return call


def _case(name, jfn, tfn, data, diff=(0,), *, named=(), jax_only=(), torch_only=(), **options):
    """A :class:`Case` calling jaxloss's ``jfn`` and torch's ``tfn`` alike on the arrays of
    ``data``: the last ``len(named)`` of them as the keywords ``named``, with ``options``
    (both renamed for torch by ``_TORCH_NAME``), and ``jax_only``/``torch_only`` options
    (``axis=1``: torch's class axis)."""
    t_named = tuple(_TORCH_NAME.get(k, k) for k in named)
    t_options = {_TORCH_NAME.get(k, k): v for k, v in options.items()} | dict(torch_only)
    return Case(
        name,
        _calling(jfn, named, options | dict(jax_only)),
        _calling(tfn, t_named, t_options),
        data,
        diff,
    )


def _family(jfn, tfn, diff=(0,)):
    """``case(name, data, diff=diff, **kw)``: :func:`_case` for jaxloss's ``jfn`` against
    torch's ``tfn``."""
    return lambda name, data, diff=diff, **kw: _case(name, jfn, tfn, data, diff, **kw)


def _elementwise(rng, shape=(N, C), scale=1.5):
    return rng.normal(size=shape) * scale, rng.normal(size=shape) * scale


def _l1_data(rng):
    p, t = _elementwise(rng)
    t[0, 0] = p[0, 0]  # a zero residual: subgradient sign(0) = 0 in both
    return p, t


def _bce_data(rng, hard=False, shape=(N, C)):
    p = _sigmoid(rng.normal(size=shape) * 2)
    y = rng.integers(0, 2, size=shape).astype(float) if hard else rng.uniform(size=shape)
    return p, y


def _logit_data(rng, hard=False, shape=(N, C)):
    x = rng.normal(size=shape) * 2
    y = rng.integers(0, 2, size=shape).astype(float) if hard else rng.uniform(size=shape)
    return x, y


def _poisson_data(rng, log_input, zeros=True):
    """Counts with zeros, ones and larger values (zeros=False: the counts of ``full=True``,
    whose torch target gradient is NaN at 0, DIFFERENCES["poisson_nll_full_zero_target"])."""
    pred = rng.normal(size=(N, C)) if log_input else rng.uniform(0.1, 3.0, size=(N, C))
    counts = rng.integers(0 if zeros else 1, 6, size=(N, C)).astype(float)
    counts[0, :3] = [0.0 if zeros else 1.0, 1.0, 2.0]
    return pred, counts


def _gauss_data(rng, var_shape):
    p, t = _elementwise(rng, scale=1.0)
    return p, t, rng.uniform(0.2, 2.0, size=var_shape)


def _focal_torchvision(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss, verbatim (torchvision is not installed)."""
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return _reduce(loss, reduction)


def _ce_int_data(rng, shape=(N, C), ignore=None):
    x = rng.normal(size=shape) * 2
    label_shape = shape[:1] + shape[2:]
    y = rng.integers(0, shape[1], size=label_shape)
    if ignore is not None:
        y.reshape(-1)[[1, 4]] = ignore
    return x, y


def _ce_prob_data(rng, shape=(N, C), onehot=False):
    x = rng.normal(size=shape) * 2
    y = _onehot(rng, shape, axis=1) if onehot else _probs(rng, shape, axis=1)
    return x, y


def _linear_ce_data(rng, labels=None, class_weights=False):
    """Hidden states [N, 4], a head [4, 7], labels (random unless given) and a bias [7] (with
    ``class_weights``: class weights [7] instead)."""
    h, w = rng.normal(size=(N, 4)), rng.normal(size=(4, 7))
    y = rng.integers(0, 7, size=N) if labels is None else np.array(labels)
    return h, w, y, rng.uniform(0.2, 2.0, size=7) if class_weights else rng.normal(size=7)


def _triplets(rng):
    return tuple(rng.normal(size=(N, 4)) for _ in range(3))


def _ctc_data(rng, blank=0, input_lengths=(8, 7, 6, 8)):
    """4 sequences of at most 8 frames over 5 classes; targets of lengths 3 (with a
    repeat), 2, 1 and 0; the blank is class 0 or 4."""
    t_max, k, l_max = 8, 5, 3
    x = rng.normal(size=(4, t_max, k)) * 1.5
    labels = np.array([[2, 2, 3], [1, 4, 1], [3, 1, 1], [4, 1, 1]])
    if blank != 0:
        labels = labels - 1  # classes 0..3, blank 4
    input_lengths = np.asarray(input_lengths)
    target_lengths = np.array([3, 2, 1, 0])
    logit_pad = (np.arange(t_max)[None] >= input_lengths[:, None]).astype(float)
    label_pad = (np.arange(l_max)[None] >= target_lengths[:, None]).astype(float)
    return x, logit_pad, labels, label_pad


def _ctc_torch(x, logit_pad, labels, label_pad, blank=0, zero_infinity=False, r="none"):
    lp = F.log_softmax(x, dim=-1).transpose(0, 1)
    in_len = (logit_pad < 0.5).sum(-1)
    tgt_len = (label_pad < 0.5).sum(-1)
    return F.ctc_loss(
        lp, labels, in_len, tgt_len, blank=blank, reduction=r, zero_infinity=zero_infinity
    )


def _kl_torch(lp, t, log_target=False, reduction="mean"):
    """torch kl_div in jaxloss's reductions: summed over the classes, 'mean' is batchmean."""
    if reduction == "none":
        return F.kl_div(lp, t, reduction="none", log_target=log_target).sum(-1)
    r = "batchmean" if reduction == "mean" else "sum"
    return F.kl_div(lp, t, reduction=r, log_target=log_target)


def _multilabel_kdim(x, y, weight=None, reduction="mean"):
    xx, yy = x.movedim(1, -1).reshape(-1, x.shape[1]), y.movedim(1, -1).reshape(-1, x.shape[1])
    out = F.multilabel_soft_margin_loss(xx, yy, weight=weight, reduction=reduction)
    return out.reshape(x.shape[0], x.shape[2]) if reduction == "none" else out


def _multimargin_kdim(x, y, reduction="mean", **kw):
    out = F.multi_margin_loss(
        x.movedim(1, -1).reshape(-1, x.shape[1]), y.reshape(-1), reduction=reduction, **kw
    )
    return out.reshape(y.shape) if reduction == "none" else out


def _linear_ce_torch(h, w, y, bias=None, **kw):
    """torch's linear_cross_entropy with jaxloss's [D, V] head and ``bias=``."""
    return F.linear_cross_entropy(h, w.T, y, linear_bias=bias, **kw)


def _multilabel_targets(rng, shape=(N, C)):
    """Scores and padded targets: 0 to C target classes per row (a repeat in row 2),
    then -1, then entries in [-1, C) that both ignore."""
    x = rng.normal(size=shape) * 1.5
    y = rng.integers(-1, shape[1], size=shape)
    for n, k in enumerate([0, shape[1], 3] + list(rng.integers(0, shape[1] + 1, shape[0] - 3))):
        y[n, :k] = rng.permutation(shape[1])[:k]
        y[n, k : k + 1] = -1
    y[2, 1] = y[2, 0]
    return x, y


def _reduce(v, r):
    return v if r == "none" else v.mean() if r == "mean" else v.sum()


def _reducing(tfn):
    """torch's per-example ``tfn`` (no reduction of its own), reduced as jaxloss reduces."""
    return lambda *tensors, reduction: _reduce(tfn(*tensors), reduction)


def _of_log(tfn):
    """torch's ``tfn`` of log-probabilities, called on probabilities."""
    return lambda p, *rest, **kw: tfn(torch.log(p), *rest, **kw)


def _times(factor, tfn):
    """``factor`` times torch's ``tfn``."""
    return lambda *tensors, **kw: factor * tfn(*tensors, **kw)


def _smoothed(tfn, s):
    """torch's binary ``tfn`` on labels smoothed by ``s`` (jaxloss's ``label_smoothing=s``)."""
    return lambda x, y, **kw: tfn(x, y * (1 - s) + s / 2, **kw)


W_CLASS = np.array([0.5, 2.0, 1.0, 0.25, 1.5])


def _cosine_torch(x, y):
    return 1 - F.cosine_similarity(x, y, dim=-1)


def _cosine_jax(x, y):
    return jaxloss.cosine_distance(x, y, epsilon=1e-8, reduction="none")


def _l1_torch(x, y):
    return (x - y).abs().sum(-1)


def _l1_jax(x, y):
    return jnp.sum(jnp.abs(x - y), axis=-1)


PT = (0, 1)  # differentiate the first two arrays (predictions and targets)
ALL3 = (0, 1, 2)  # all three

# the losses with several cases: jaxloss's function, torch's, the arrays differentiated
_huber = _family(jaxloss.huber_loss, F.huber_loss, PT)
_smooth_l1 = _family(jaxloss.smooth_l1_loss, F.smooth_l1_loss, PT)
_poisson = _family(jaxloss.poisson_nll_loss, F.poisson_nll_loss, PT)
_gauss = _family(jaxloss.gaussian_nll_loss, F.gaussian_nll_loss, ALL3)
_bce = _family(jaxloss.binary_cross_entropy, F.binary_cross_entropy, PT)
_bce_logits = _family(jaxloss.sigmoid_binary_cross_entropy, F.binary_cross_entropy_with_logits, PT)
_focal = _family(jaxloss.sigmoid_focal_loss, _focal_torchvision, PT)
_int_ce = _family(jaxloss.softmax_cross_entropy_with_integer_labels, F.cross_entropy)
_linear_ce = _family(jaxloss.linear_softmax_cross_entropy_with_integer_labels, _linear_ce_torch)
_prob_ce = _family(jaxloss.softmax_cross_entropy, F.cross_entropy, PT)
_cce = _family(jaxloss.categorical_cross_entropy, _of_log(F.nll_loss))
_nll = _family(jaxloss.nll_loss, F.nll_loss)
_kl = _family(jaxloss.kl_divergence, _kl_torch, PT)
_soft_margin = _family(jaxloss.multilabel_soft_margin_loss, F.multilabel_soft_margin_loss, PT)
_multi_margin = _family(jaxloss.multi_margin_loss, F.multi_margin_loss)
_label_margin = _family(jaxloss.multilabel_margin_loss, F.multilabel_margin_loss)
_ranking = _family(jaxloss.margin_ranking_loss, F.margin_ranking_loss, ALL3)
_hinge_emb = _family(jaxloss.hinge_embedding_loss, F.hinge_embedding_loss)
_cos_emb = _family(jaxloss.cosine_embedding_loss, F.cosine_embedding_loss, PT)
_triplet = _family(jaxloss.triplet_margin_loss, F.triplet_margin_loss, ALL3)
_triplet_d = _family(
    jaxloss.triplet_margin_with_distance_loss, F.triplet_margin_with_distance_loss, ALL3
)


def _with_distance(variant, jdist, tdist, **options):
    """The case ``triplet_margin_with_distance_loss-{variant}``: jaxloss with the distance
    ``jdist``, torch with ``tdist``."""
    return _triplet_d(
        f"triplet_margin_with_distance_loss-{variant}",
        _triplets,
        jax_only={"distance_function": jdist},
        torch_only={"distance_function": tdist},
        **options,
    )


_CW = ("class_weights",)  # the last array: class weights

CASES = [
    # --- elementwise regression
    _case(
        "mse_loss", jaxloss.squared_error, F.mse_loss, lambda rng: _elementwise(rng, (3, 4, 2)), PT
    ),
    _case("mse_loss-half-is-l2_loss", jaxloss.l2_loss, _times(0.5, F.mse_loss), _elementwise, PT),
    _case("l1_loss", jaxloss.absolute_error, F.l1_loss, _l1_data, PT),
    _huber("huber_loss", _elementwise),
    _huber("huber_loss-delta0.7", _elementwise, delta=0.7),
    _smooth_l1("smooth_l1_loss", _elementwise),
    _smooth_l1("smooth_l1_loss-beta0.5", _elementwise, beta=0.5),
    _smooth_l1("smooth_l1_loss-beta0", _l1_data, beta=0.0),
    _poisson("poisson_nll_loss", lambda rng: _poisson_data(rng, True)),
    _poisson("poisson_nll_loss-full", lambda rng: _poisson_data(rng, True, zeros=False), full=True),
    _poisson("poisson_nll_loss-rate", lambda rng: _poisson_data(rng, False), log_input=False),
    _poisson(
        "poisson_nll_loss-rate-full-eps",
        lambda rng: _poisson_data(rng, False, zeros=False),
        log_input=False,
        full=True,
        epsilon=0.01,
    ),
    _gauss("gaussian_nll_loss", lambda rng: _gauss_data(rng, (N, C))),
    _gauss("gaussian_nll_loss-full-rowvar", lambda rng: _gauss_data(rng, (N, 1)), full=True),
    _case(
        "gaussian_nll_loss-rank-minus-one-var",
        lambda p, t, v, **kw: jaxloss.gaussian_nll_loss(p, t, v[..., None], **kw),
        F.gaussian_nll_loss,
        lambda rng: _gauss_data(rng, (N,)),
        ALL3,
    ),
    # --- binary classification
    _bce("binary_cross_entropy", _bce_data),
    _bce("binary_cross_entropy-hard", lambda rng: _bce_data(rng, hard=True)),
    _case(
        "binary_cross_entropy-weight",
        lambda p, y, weight, **kw: jaxloss.binary_cross_entropy(
            p, y, positive_weight=weight, negative_weight=weight, **kw
        ),
        F.binary_cross_entropy,
        lambda rng: (*_bce_data(rng), rng.uniform(0.1, 2.0, size=(N, C))),
        PT,
        named=("weight",),
    ),
    _case(
        "binary_cross_entropy-smoothing",
        jaxloss.binary_cross_entropy,
        _smoothed(F.binary_cross_entropy, 0.2),
        lambda rng: _bce_data(rng, hard=True, shape=(3, 4, 2)),
        PT,
        jax_only={"label_smoothing": 0.2},
    ),
    _bce_logits("bce_with_logits", _logit_data),
    _bce_logits("bce_with_logits-hard", lambda rng: _logit_data(rng, hard=True)),
    _bce_logits(
        "bce_with_logits-extreme-logits-pos_weight",
        lambda rng: (rng.normal(size=(N, C)) * 40, rng.integers(0, 2, (N, C)) * 1.0, W_CLASS),
        named=("pos_weight",),
    ),
    _bce_logits(
        "bce_with_logits-pos_weight",
        lambda rng: (*_logit_data(rng), W_CLASS * 2),
        named=("pos_weight",),
    ),
    _case(
        "bce_with_logits-pos_weight-smoothing-kdim",
        jaxloss.sigmoid_binary_cross_entropy,
        _smoothed(F.binary_cross_entropy_with_logits, 0.1),
        lambda rng: (*_logit_data(rng, hard=True, shape=(3, 2, C)), W_CLASS),
        PT,
        named=("pos_weight",),
        jax_only={"label_smoothing": 0.1},
    ),
    _focal("sigmoid_focal-hard", lambda rng: _logit_data(rng, hard=True), alpha=0.25, gamma=2.0),
    _focal("sigmoid_focal-soft-gamma1.5", _logit_data, alpha=None, gamma=1.5),
    _focal("sigmoid_focal-soft-gamma0", _logit_data, alpha=0.6, gamma=0.0),
    # --- softmax cross-entropy, integer labels
    _int_ce("cross_entropy", _ce_int_data),
    _int_ce("cross_entropy-weight", lambda rng: (*_ce_int_data(rng), W_CLASS), named=_CW),
    _int_ce(
        "cross_entropy-ignore_index",
        lambda rng: _ce_int_data(rng, ignore=-100),
        ignore_index=-100,
    ),
    _int_ce("cross_entropy-label_smoothing", _ce_int_data, label_smoothing=0.15),
    _int_ce(
        "cross_entropy-weight-ignore-smoothing",
        lambda rng: (*_ce_int_data(rng, ignore=2), W_CLASS),
        named=_CW,
        ignore_index=2,
        label_smoothing=0.2,
    ),
    _int_ce(
        "cross_entropy-kdim-weight-ignore-smoothing",
        lambda rng: (*_ce_int_data(rng, (3, C, 2, 3), ignore=-100), W_CLASS),
        named=_CW,
        jax_only={"axis": 1},
        ignore_index=-100,
        label_smoothing=0.1,
    ),
    _case(
        "cross_entropy-kdim-moved-axis",
        lambda x, y, **kw: jaxloss.softmax_cross_entropy_with_integer_labels(
            jnp.moveaxis(x, 1, -1), y, **kw
        ),
        F.cross_entropy,
        lambda rng: _ce_int_data(rng, (3, C, 4)),
        label_smoothing=0.1,
    ),
    _linear_ce(
        "linear_cross_entropy",
        _linear_ce_data,
        (0, 1, 3),
        named=("bias",),
        jax_only={"chunk_size": 3},
    ),
    _linear_ce(
        "linear_cross_entropy-ignore-smoothing",
        lambda rng: _linear_ce_data(rng, [3, -100, 0, 6, -100, 2]),
        (0, 1, 3),
        named=("bias",),
        jax_only={"chunk_size": 4},
        ignore_index=-100,
        label_smoothing=0.2,
    ),
    _linear_ce(
        "linear_cross_entropy-weight",
        lambda rng: _linear_ce_data(rng, class_weights=True),
        PT,  # torch does not differentiate its class weights
        named=_CW,
        jax_only={"chunk_size": 3},
    ),
    _linear_ce(
        "linear_cross_entropy-weight-bias-ignore-smoothing-zero-weight",
        lambda rng: (
            *_linear_ce_data(rng, [3, -100, 0, 6, -100, 1]),  # class 1 has weight 0
            np.array([0.5, 0.0, 2.0, 1.0, 0.25, 1.5, 3.0]),
        ),
        (0, 1, 3),
        named=("bias", "class_weights"),
        jax_only={"chunk_size": 4},
        ignore_index=-100,
        label_smoothing=0.2,
    ),
    # --- softmax cross-entropy, probability targets
    _prob_ce("cross_entropy-probs", _ce_prob_data),
    _prob_ce("cross_entropy-probs-onehot", lambda rng: _ce_prob_data(rng, onehot=True)),
    _prob_ce(
        "cross_entropy-probs-weight-smoothing",
        lambda rng: (*_ce_prob_data(rng), W_CLASS),
        named=_CW,
        label_smoothing=0.2,
    ),
    _prob_ce(
        "cross_entropy-probs-kdim-weight-smoothing",
        lambda rng: (*_ce_prob_data(rng, (3, C, 2, 2)), W_CLASS),
        named=_CW,
        jax_only={"axis": 1},
        label_smoothing=0.1,
    ),
    # --- probabilities in: nll_loss(log p)
    _cce("nll_loss", lambda rng: (_probs(rng, (N, C)), rng.integers(0, C, size=N))),
    _cce(
        "nll_loss-weight",
        lambda rng: (_probs(rng, (N, C)), rng.integers(0, C, size=N), W_CLASS),
        named=_CW,
    ),
    _cce(
        "nll_loss-kdim-weight",
        lambda rng: (_probs(rng, (3, C, 4), axis=1), rng.integers(0, C, size=(3, 4)), W_CLASS),
        named=_CW,
        jax_only={"axis": 1},
    ),
    _case(
        "categorical_cross_entropy-soft",
        jaxloss.categorical_cross_entropy,
        _of_log(F.cross_entropy),
        lambda rng: (_probs(rng, (3, C, 2), axis=1), _probs(rng, (3, C, 2), axis=1)),
        (1,),
        jax_only={"axis": 1},
    ),
    _cce(
        "categorical_cross_entropy-ignore_index-weight",
        lambda rng: (
            _probs(rng, (N, C, 2), axis=1),
            *_ce_int_data(rng, (N, C, 2), -100)[1:],
            W_CLASS,
        ),
        named=_CW,
        jax_only={"axis": 1},
        ignore_index=-100,
    ),
    # label smoothing on probabilities: through a softmax, the gradient with respect to the
    # logits is comparable (DIFFERENCES["categorical_cross_entropy_renormalization"])
    _case(
        "categorical_cross_entropy-softmax-smoothing-weight-ignore",
        lambda x, y, **kw: jaxloss.categorical_cross_entropy(jax.nn.softmax(x, axis=1), y, **kw),
        F.cross_entropy,
        lambda rng: (*_ce_int_data(rng, (N, C, 2), ignore=3), W_CLASS),
        named=_CW,
        jax_only={"axis": 1},
        label_smoothing=0.2,
        ignore_index=3,
    ),
    # --- nll_loss (log-probabilities in)
    _nll(
        "nll_loss-log-probabilities",
        lambda rng: (np.log(_probs(rng, (N, C))), rng.integers(0, C, size=N)),
    ),
    _nll(
        "nll_loss-log-probabilities-weight-ignore",
        lambda rng: (np.log(_probs(rng, (N, C))), *_ce_int_data(rng, ignore=-100)[1:], W_CLASS),
        named=_CW,
        ignore_index=-100,
    ),
    _nll(
        "nll_loss-kdim-weight-ignore-unnormalized",
        lambda rng: (*_ce_int_data(rng, (3, C, 2, 3), ignore=2), W_CLASS),
        named=_CW,
        jax_only={"axis": 1},
        ignore_index=2,
    ),
    # --- divergences
    _kl("kl_div", lambda rng: (np.log(_probs(rng, (N, C))), _probs(rng, (N, C)))),
    _case(
        "kl_div-log_target",
        jaxloss.kl_divergence_with_log_targets,
        functools.partial(_kl_torch, log_target=True),
        lambda rng: (np.log(_probs(rng, (N, C))), np.log(_probs(rng, (N, C)))),
        PT,
    ),
    # --- margin
    _case(
        "soft_margin_loss",
        jaxloss.soft_margin_loss,
        F.soft_margin_loss,
        lambda rng: (rng.normal(size=(N, C)) * 2, _signs(rng, (N, C))),
    ),
    _soft_margin("multilabel_soft_margin_loss", lambda rng: _logit_data(rng, hard=True)),
    _soft_margin(
        "multilabel_soft_margin_loss-weight-soft",
        lambda rng: (*_logit_data(rng), W_CLASS),
        named=_CW,
    ),
    _case(
        "multilabel_soft_margin_loss-kdim-weight",
        jaxloss.multilabel_soft_margin_loss,
        _multilabel_kdim,
        lambda rng: (*_logit_data(rng, shape=(3, C, 2)), W_CLASS),
        PT,
        named=_CW,
        jax_only={"axis": 1},
    ),
    _multi_margin(
        "multi_margin_loss", lambda rng: (rng.normal(size=(N, C)), rng.integers(0, C, size=N))
    ),
    _multi_margin(
        "multi_margin_loss-p2-margin-weight",
        lambda rng: (rng.normal(size=(N, C)), rng.integers(0, C, size=N), W_CLASS),
        named=_CW,
        p=2,
        margin=0.7,
    ),
    _case(
        "multi_margin_loss-kdim-weight",
        jaxloss.multi_margin_loss,
        _multimargin_kdim,
        lambda rng: (rng.normal(size=(3, C, 2)), rng.integers(0, C, size=(3, 2)), W_CLASS),
        named=_CW,
        jax_only={"axis": 1},
        margin=1.5,
    ),
    _label_margin("multilabel_margin_loss", _multilabel_targets),
    _case(
        "multilabel_margin_loss-class-axis-0",
        lambda x, y, **kw: jaxloss.multilabel_margin_loss(x.T, y.T, axis=0, **kw),
        F.multilabel_margin_loss,
        lambda rng: _multilabel_targets(rng, (4, 7)),
    ),
    _label_margin(
        "multilabel_margin_loss-1d", lambda rng: (rng.normal(size=C), np.array([4, 1, -1, 3, 0]))
    ),
    # --- metric learning
    _ranking("margin_ranking_loss", lambda rng: (*_elementwise(rng), _signs(rng, (N, C)))),
    _ranking(
        "margin_ranking_loss-margin",
        lambda rng: (*_elementwise(rng, (3, 4, 2)), _signs(rng, (3, 4, 2))),
        margin=0.3,
    ),
    _hinge_emb(
        "hinge_embedding_loss",
        lambda rng: (np.abs(rng.normal(size=(N, C))) * 1.5, _signs(rng, (N, C))),
    ),
    _hinge_emb(
        "hinge_embedding_loss-margin",
        lambda rng: (rng.normal(size=(N, C)), _signs(rng, (N, C))),
        margin=0.5,
    ),
    _hinge_emb(  # labels other than +-1 add both terms, as in torch
        "hinge_embedding_loss-other-labels",
        lambda rng: (rng.normal(size=(N, C)), rng.choice([-1.0, 0.0, 1.0, 2.0], size=(N, C))),
        margin=0.5,
    ),
    _cos_emb("cosine_embedding_loss", lambda rng: (*_elementwise(rng), _signs(rng, N))),
    _cos_emb(
        "cosine_embedding_loss-margin-label0",
        lambda rng: (*_elementwise(rng), np.array([1.0, -1.0, 0.0, 1.0, -1.0, 0.0])),
        margin=-0.2,
    ),
    _case(
        "cosine_similarity",
        jaxloss.cosine_similarity,
        _reducing(functools.partial(F.cosine_similarity, dim=1)),
        lambda rng: _elementwise(rng, (N, C, 3)),
        PT,
        jax_only={"axis": 1},
    ),
    _case(
        "one-minus-cosine_similarity-is-cosine_distance",
        jaxloss.cosine_distance,
        _reducing(_cosine_torch),
        _elementwise,
        PT,
    ),
    _triplet("triplet_margin_loss", _triplets),
    _triplet("triplet_margin_loss-p1-swap", _triplets, p=1.0, swap=True, margin=2.0),
    _triplet("triplet_margin_loss-p3-eps", _triplets, p=3.0, epsilon=1e-3, margin=1.5),
    _triplet_d("triplet_margin_with_distance_loss", _triplets),
    _with_distance("cosine-swap", _cosine_jax, _cosine_torch, margin=0.5, swap=True),
    _with_distance("l1", _l1_jax, _l1_torch, margin=3.0),
]


@functools.cache
def _jax_case(case):
    """jaxloss's side of ``case`` for every reduction, in one compiled program (the tests of
    the three reductions share it)."""
    fns = [functools.partial(case.jfn, reduction=r) for r in REDUCTIONS]
    return _jit_values_and_vjps(fns, case.diff, zlib.crc32(case.name.encode()))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_torch_oracle(case, reduction):
    seed = zlib.crc32(case.name.encode())
    rng = np.random.default_rng(seed)
    arrays = case.data(rng)
    j_results = _jax_case(case)(*[_jax(a) for a in arrays])
    compare(
        j_results[REDUCTIONS.index(reduction)],
        functools.partial(case.tfn, reduction=reduction),
        arrays,
        case.diff,
    )


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 0.5, math.inf])
def test_pairwise_distance(p):
    # Not a loss: the distance of triplet_margin_loss, torch's F.pairwise_distance.
    rng = np.random.default_rng(13)
    a, b = rng.normal(size=(N, C)), rng.normal(size=(N, C))
    oracle(
        lambda x, y: jaxloss.pairwise_distance(x, y, p=p, epsilon=1e-6),
        lambda x, y: F.pairwise_distance(x, y, p=p, eps=1e-6),
        (a, b),
        (0, 1),
    )


# ---------------------------------------------------------------------------
# documented differences, asserted


def test_differences_are_asserted():
    for key, (reason, test) in DIFFERENCES.items():
        assert reason and test in globals(), (key, test)


@pytest.mark.parametrize("loss", ["sigmoid_binary_cross_entropy", "binary_cross_entropy"])
def test_weighted_mean_is_normalized_by_the_weights(loss):
    rng = np.random.default_rng(7)
    if loss == "binary_cross_entropy":
        a, y = _bce_data(rng)
        jfn, tfn = jaxloss.binary_cross_entropy, F.binary_cross_entropy
    else:
        a, y = _logit_data(rng)
        # with pos_weight too: torch's pos_weight + weight together.
        jfn = functools.partial(jaxloss.sigmoid_binary_cross_entropy, pos_weight=_jax(W_CLASS))
        tfn = functools.partial(F.binary_cross_entropy_with_logits, pos_weight=_t(W_CLASS))
    w = rng.uniform(0.0, 3.0, size=(N, C))
    ta, ty, tw = _t(a, True), _t(y, True), _t(w)
    t_none = tfn(ta, ty, weight=tw, reduction="none")

    @jax.jit  # one compiled program for every jaxloss value and gradient below
    def losses(a, y, w):
        out = {r: jfn(a, y, weights=w, reduction=r) for r in ("none", "sum")}
        out["mean"], vjp = jax.vjp(lambda a_, y_: jfn(a_, y_, weights=w), a, y)
        out["mean_grads"] = vjp(jnp.asarray(1.0))
        if loss == "binary_cross_entropy":
            out["pos_neg_weights"] = jfn(a, y, positive_weight=w, negative_weight=w)
        return out

    j = losses(_jax(a), _jax(y), _jax(w))
    # 'none' and 'sum' agree with torch's weight=.
    for r in ("none", "sum"):
        np.testing.assert_allclose(
            j[r],
            tfn(ta, ty, weight=tw, reduction=r).detach().numpy(),
            rtol=RTOL,
            atol=ATOL,
        )
    # 'mean' is sum(w*l)/sum(w), not torch's mean(w*l).
    j_mean = j["mean"]
    normalized = t_none.sum() / tw.sum()
    np.testing.assert_allclose(j_mean, normalized.item(), rtol=RTOL)
    torch_mean = tfn(ta, ty, weight=tw, reduction="mean").item()
    assert not np.isclose(float(j_mean), torch_mean, rtol=1e-3)
    np.testing.assert_allclose(float(j_mean) * w.sum() / w.size, torch_mean, rtol=RTOL)
    # ... and so is its gradient.
    for jg, tg in zip(j["mean_grads"], torch.autograd.grad(normalized, [ta, ty])):
        np.testing.assert_allclose(jg, tg.numpy(), rtol=RTOL, atol=ATOL)
    if loss == "binary_cross_entropy":
        # positive_weight = negative_weight = w is torch's weight=, 'mean' included.
        np.testing.assert_allclose(j["pos_neg_weights"], torch_mean, rtol=RTOL)


def test_bce_saturated_probabilities():
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.3])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    t = F.binary_cross_entropy(_t(p), _t(y), reduction="none").numpy()

    @jax.jit  # one compiled program for both epsilons
    def losses(p, y):
        bce = functools.partial(jaxloss.binary_cross_entropy, reduction="none")
        return bce(p, y), bce(p, y, epsilon=math.exp(-100))

    j, j100 = (np.asarray(v) for v in losses(_jax(p), _jax(y)))
    np.testing.assert_allclose(t[:2], 100.0)
    np.testing.assert_allclose(j[:2], -math.log(1e-7), rtol=1e-12)
    np.testing.assert_allclose(j[2:], t[2:], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(j100, t, rtol=RTOL, atol=ATOL)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")
def test_kl_div_reductions_k_dimensional():
    rng = np.random.default_rng(3)
    d = 4
    lp = np.log(_probs(rng, (N, C, d), axis=1))
    t = _probs(rng, (N, C, d), axis=1)
    tl, tt = _t(lp), _t(t)

    def torch_kl(r):
        return F.kl_div(tl, tt, reduction=r).item()

    @jax.jit  # one compiled program for the four jaxloss values
    def losses(lp, t):
        kl = functools.partial(jaxloss.kl_divergence, axis=1)
        out = {r: kl(lp, t, reduction=r) for r in REDUCTIONS}
        return out, kl(lp[..., 0], t[..., 0])  # and the 2-D 'mean' below

    j, j2 = losses(_jax(lp), _jax(t))
    j_none = j["none"]
    np.testing.assert_allclose(
        j_none, F.kl_div(tl, tt, reduction="none").sum(1).numpy(), rtol=RTOL, atol=ATOL
    )
    j_mean = float(j["mean"])
    j_sum = float(j["sum"])
    np.testing.assert_allclose(j_sum, torch_kl("sum"), rtol=RTOL)
    # jaxloss 'mean' = sum / (N d); batchmean = sum / N; torch 'mean' = sum / (N C d).
    np.testing.assert_allclose(j_mean, torch_kl("batchmean") / d, rtol=RTOL)
    np.testing.assert_allclose(j_mean, torch_kl("mean") * C, rtol=RTOL)
    assert not np.isclose(j_mean, torch_kl("batchmean"), rtol=1e-2)
    assert not np.isclose(j_mean, torch_kl("mean"), rtol=1e-2)
    # 2-D: 'mean' is batchmean, and still C times torch's 'mean'.
    lp2, t2 = lp[..., 0], t[..., 0]
    j2 = float(j2)
    np.testing.assert_allclose(
        j2, F.kl_div(_t(lp2), _t(t2), reduction="batchmean").item(), rtol=RTOL
    )
    np.testing.assert_allclose(
        j2, F.kl_div(_t(lp2), _t(t2), reduction="mean").item() * C, rtol=RTOL
    )


def test_kl_div_zero_targets():
    rng = np.random.default_rng(4)
    lp = np.log(_probs(rng, (N, C)))
    t = _probs(rng, (N, C))
    t[:, 0] = 0.0
    t[1, 2] = 0.0
    t /= t.sum(-1, keepdims=True)
    zero = t == 0
    tl, tt = _t(lp, True), _t(t, True)
    out = F.kl_div(tl, tt, reduction="sum")
    t_glp, t_gt = torch.autograd.grad(out, [tl, tt])
    j_out, (j_glp, j_gt) = _vjp(
        lambda a, b: jaxloss.kl_divergence(a, b, reduction="sum"), 1.0, _jax(lp), _jax(t)
    )
    np.testing.assert_allclose(j_out, out.item(), rtol=RTOL)
    np.testing.assert_allclose(j_glp, t_glp.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(j_gt)[~zero], t_gt.numpy()[~zero], rtol=RTOL)
    assert np.all(np.isnan(t_gt.numpy()[zero]))
    np.testing.assert_array_equal(np.asarray(j_gt)[zero], 0.0)
    # log targets: a -inf log target is NaN in torch, 0 (zero gradient) in jaxloss.
    with np.errstate(divide="ignore"):
        lt = np.log(t)
    t_log = F.kl_div(_t(lp), _t(lt), reduction="none", log_target=True).numpy()
    assert np.all(np.isnan(t_log[zero]))
    j_log, (g_lp, g_lt) = _vjp(
        lambda a, b: jaxloss.kl_divergence_with_log_targets(a, b, reduction="none"),
        jnp.ones(N),
        _jax(lp),
        _jax(lt),
    )
    np.testing.assert_allclose(
        t_log.sum(-1)[~zero.any(-1)], np.asarray(j_log)[~zero.any(-1)], rtol=RTOL
    )
    np.testing.assert_allclose(j_log, np.where(zero, 0.0, np.nan_to_num(t_log)).sum(-1), rtol=RTOL)
    assert np.all(np.isfinite(g_lp)) and np.all(np.isfinite(g_lt))
    np.testing.assert_array_equal(np.asarray(g_lt)[zero], 0.0)


def test_poisson_nll_full_zero_targets():
    pred, counts = _poisson_data(np.random.default_rng(8), True)
    zero = counts == 0
    assert zero.any()
    tp, tt = _t(pred, True), _t(counts, True)
    out = F.poisson_nll_loss(tp, tt, full=True, reduction="sum")
    t_gp, t_gt = torch.autograd.grad(out, [tp, tt])
    j_out, (j_gp, j_gt) = _vjp(
        lambda a, b: jaxloss.poisson_nll_loss(a, b, full=True, reduction="sum"),
        1.0,
        _jax(pred),
        _jax(counts),
    )
    np.testing.assert_allclose(j_out, out.item(), rtol=RTOL)
    np.testing.assert_allclose(j_gp, t_gp.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(j_gt)[~zero], t_gt.numpy()[~zero], rtol=RTOL)
    assert np.all(np.isnan(t_gt.numpy()[zero]))
    np.testing.assert_allclose(np.asarray(j_gt)[zero], -pred[zero], rtol=RTOL)


def test_gaussian_nll_clamped_variance():
    rng = np.random.default_rng(9)
    p, t, v = _gauss_data(rng, (N, C))
    eps = 0.1
    v[0, :2] = [0.0, 0.05]  # below the floor
    low = v < eps
    tp, tt, tv = _t(p, True), _t(t, True), _t(v, True)
    out = F.gaussian_nll_loss(tp, tt, tv, eps=eps, reduction="sum")
    t_g = torch.autograd.grad(out, [tp, tt, tv])
    j_out, j_g = _vjp(
        lambda a, b, c: jaxloss.gaussian_nll_loss(a, b, c, epsilon=eps, reduction="sum"),
        1.0,
        _jax(p),
        _jax(t),
        _jax(v),
    )
    np.testing.assert_allclose(j_out, out.item(), rtol=RTOL)
    for jg, tg in zip(j_g[:2], t_g[:2]):
        np.testing.assert_allclose(jg, tg.numpy(), rtol=RTOL, atol=ATOL)
    jv, tv_g = np.asarray(j_g[2]), t_g[2].numpy()
    np.testing.assert_allclose(jv[~low], tv_g[~low], rtol=RTOL)
    np.testing.assert_array_equal(jv[low], 0.0)
    r2 = (p - t)[low] ** 2
    np.testing.assert_allclose(tv_g[low], 0.5 * (1 / eps - r2 / eps**2), rtol=RTOL)
    # torch's [N] variance for an [N, D] input is jaxloss's [N, 1].
    with pytest.raises(ValueError, match="variance"):
        jaxloss.gaussian_nll_loss(_jax(p), _jax(t), _jax(v[:, 0]))


def test_cosine_similarity_below_the_norm_floor():
    rng = np.random.default_rng(10)
    eps = 0.5
    x = rng.normal(size=(N, C)) * 0.05  # norms below eps
    x[0] = 0.0  # a zero vector
    y = rng.normal(size=(N, C))
    tx = _t(x, True)
    t_out = F.cosine_similarity(tx, _t(y), dim=-1, eps=eps)
    (t_g,) = torch.autograd.grad(t_out.sum(), [tx])
    j_out, (j_g,) = _vjp(
        lambda a: jaxloss.cosine_similarity(a, _jax(y), epsilon=eps, reduction="none"),
        jnp.ones(N),
        _jax(x),
    )
    np.testing.assert_allclose(j_out, t_out.detach().numpy(), rtol=RTOL, atol=ATOL)
    ny = np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), eps)
    floor = y / (eps * ny)  # d/dx of x.y / (eps ||y||)
    np.testing.assert_allclose(j_g, floor, rtol=RTOL)
    nx = np.linalg.norm(x[1:], axis=-1, keepdims=True)
    dot = np.sum(x[1:] * y[1:], axis=-1, keepdims=True)
    straight_through = floor[1:] - dot / (eps**2 * ny[1:]) * x[1:] / nx
    np.testing.assert_allclose(t_g[1:].numpy(), straight_through, rtol=1e-8)
    np.testing.assert_allclose(t_g[0].numpy(), floor[0], rtol=RTOL)
    assert not np.allclose(j_g[1:], t_g[1:].numpy(), rtol=1e-3)


def test_cosine_embedding_tiny_vectors():
    rng = np.random.default_rng(11)
    a = rng.normal(size=(N, C))
    b = rng.normal(size=(N, C))
    y = _signs(rng, N)
    y[:2] = 1.0
    a[:2] *= 1e-8  # norms ~2e-8
    t = F.cosine_embedding_loss(_t(a), _t(b), _t(y), reduction="none").numpy()
    j = np.asarray(jaxloss.cosine_embedding_loss(_jax(a), _jax(b), _jax(y), reduction="none"))
    np.testing.assert_allclose(j[2:], t[2:], rtol=RTOL, atol=ATOL)
    # jaxloss: the true cosine (the norm is above its floor 1e-8 ... or near it); torch: the
    # 1e-12 added to the squared norm shrinks the cosine towards 0, the loss towards 1.
    assert np.all(np.abs(t[:2] - 1) < 0.1)
    cos = np.sum(a[:2] * b[:2], -1) / (
        np.maximum(np.linalg.norm(a[:2], axis=-1), 1e-8) * np.linalg.norm(b[:2], axis=-1)
    )
    np.testing.assert_allclose(j[:2], 1 - cos, rtol=1e-10)
    assert not np.allclose(j[:2], t[:2], rtol=1e-2)


def test_categorical_cross_entropy_probability_gradient():
    rng = np.random.default_rng(12)
    p, y = _probs(rng, (N, C)), _probs(rng, (N, C))
    tp, ty = _t(p, True), _t(y, True)
    t_out = F.cross_entropy(torch.log(tp), ty, reduction="sum")
    t_gp, t_gy = torch.autograd.grad(t_out, [tp, ty])
    j_out, (j_gp, j_gy) = _vjp(
        lambda a, b: jaxloss.categorical_cross_entropy(a, b, reduction="sum"),
        1.0,
        _jax(p),
        _jax(y),
    )
    np.testing.assert_allclose(j_out, t_out.item(), rtol=RTOL)
    np.testing.assert_allclose(j_gy, t_gy.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(j_gp, -y / p, rtol=RTOL)
    # torch's differentiates log_softmax(log p) = log p - log(sum p): + sum(y) / sum(p).
    np.testing.assert_allclose(t_gp.numpy(), -y / p + 1.0, rtol=RTOL, atol=1e-12)


# ---------------------------------------------------------------------------
# CTC: one jitted jaxloss function per blank id (its loop takes seconds to compile)


@functools.cache
def _jax_ctc(blank):
    def f(x, lpad, y, ypad, w):
        loss = functools.partial(jaxloss.ctc_loss, x, lpad, y, ypad, blank_id=blank)
        out = {r: loss(reduction=r) for r in REDUCTIONS}
        if blank == 0:  # for the tests of the differences
            out["zero_infinity"] = loss(zero_infinity=True, reduction="none")
            out["weighted_sum"] = loss(weights=w, reduction="sum")
        return out

    return jax.jit(f)


def _ctc_run(blank, x, lpad, y, ypad, w=None):
    """jaxloss's CTC outputs and a VJP taking the name of the output to differentiate."""
    w = np.ones(len(x)) if w is None else w
    rest = [_jax(a) for a in (lpad, y, ypad, w)]
    out, vjp = jax.vjp(lambda a: _jax_ctc(blank)(a, *rest), _jax(x))

    def grad(name, g):
        ct = {k: jnp.zeros_like(v) for k, v in out.items()}
        ct[name] = jnp.asarray(g, out[name].dtype)
        return np.asarray(vjp(ct)[0])

    return out, grad


@pytest.mark.parametrize("blank", [0, 4])
def test_ctc_loss(blank):
    x, lpad, y, ypad = _ctc_data(np.random.default_rng(20 + blank), blank=blank)
    out, grad = _ctc_run(blank, x, lpad, y, ypad)
    rng = np.random.default_rng(30 + blank)
    for reduction in REDUCTIONS:
        tx = _t(x, True)
        # torch's 'mean' is another formula (DIFFERENCES["ctc_mean"]): jaxloss's 'mean' is
        # the mean of torch's 'none'.
        t_out = _ctc_torch(
            tx,
            _t(lpad),
            _t(y),
            _t(ypad),
            blank=blank,
            r="none" if reduction == "mean" else reduction,
        )
        if reduction == "mean":
            t_out = t_out.mean()
        np.testing.assert_allclose(out[reduction], t_out.detach().numpy(), rtol=RTOL)
        g = rng.normal(size=tuple(t_out.shape))
        (t_g,) = torch.autograd.grad(t_out, [tx], grad_outputs=torch.tensor(g))
        np.testing.assert_allclose(grad(reduction, g), t_g.numpy(), rtol=RTOL, atol=ATOL)


def test_ctc_mean_divides_by_target_lengths_in_torch():
    x, lpad, y, ypad = _ctc_data(np.random.default_rng(20))
    lengths = np.maximum((ypad < 0.5).sum(-1), 1)
    out, grad = _ctc_run(0, x, lpad, y, ypad, w=1.0 / lengths)
    tx = _t(x, True)
    t_mean = _ctc_torch(tx, _t(lpad), _t(y), _t(ypad), r="mean")
    t_none = _ctc_torch(_t(x), _t(lpad), _t(y), _t(ypad), r="none")
    np.testing.assert_allclose(out["mean"], t_none.mean().item(), rtol=RTOL)
    assert not np.isclose(float(out["mean"]), t_mean.item(), rtol=1e-2)
    # torch's 'mean' is jaxloss's 'sum' with weights 1/length, divided by N.
    n = len(lengths)
    np.testing.assert_allclose(float(out["weighted_sum"]) / n, t_mean.item(), rtol=RTOL)
    (t_g,) = torch.autograd.grad(t_mean, [tx])
    np.testing.assert_allclose(grad("weighted_sum", 1.0 / n), t_g.numpy(), rtol=RTOL, atol=ATOL)


def test_ctc_infeasible():
    # Sequence 0 ("2 2 3" needs 4 frames) gets only 3 frames: no alignment exists.
    x, lpad, y, ypad = _ctc_data(np.random.default_rng(21), input_lengths=(3, 7, 6, 8))
    out, grad = _ctc_run(0, x, lpad, y, ypad)
    for zero_infinity, name in ((False, "none"), (True, "zero_infinity")):
        tx = _t(x, True)
        t_out = _ctc_torch(tx, _t(lpad), _t(y), _t(ypad), zero_infinity=zero_infinity)
        (t_g,) = torch.autograd.grad(t_out.sum(), [tx])
        j_g = grad(name, np.ones(4))
        np.testing.assert_allclose(out[name], t_out.detach().numpy(), rtol=RTOL)
        assert float(out[name][0]) == (0.0 if zero_infinity else math.inf)
        np.testing.assert_allclose(j_g[1:], t_g[1:].numpy(), rtol=RTOL, atol=ATOL)
        np.testing.assert_array_equal(j_g[0], 0.0)
        if zero_infinity:
            np.testing.assert_array_equal(t_g[0].numpy(), 0.0)
        else:  # NaN in its 3 frames, 0 in its padded ones
            assert np.all(np.isnan(t_g[0, :3].numpy()))


def test_cross_entropy_all_ignored():
    rng = np.random.default_rng(14)
    x = rng.normal(size=(N, C))
    y = np.full(N, -100)
    tx = _t(x, True)
    t_out = F.cross_entropy(tx, _t(y), ignore_index=-100)
    (t_g,) = torch.autograd.grad(t_out, [tx])
    j_out, (j_g,) = _vjp(
        lambda a: jaxloss.softmax_cross_entropy_with_integer_labels(a, _jax(y), ignore_index=-100),
        1.0,
        _jax(x),
    )
    assert math.isnan(t_out.item())
    assert float(j_out) == 0.0
    np.testing.assert_array_equal(j_g, 0.0)
    np.testing.assert_array_equal(t_g.numpy(), 0.0)  # torch's gradient is 0 too
    # every target of class weight 0: the same 0/0
    w = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    y0 = np.array([0, 1, 1, 0, 0, 1])
    t_w = F.cross_entropy(_t(x), _t(y0), weight=_t(w)).item()
    j_w = float(
        jaxloss.softmax_cross_entropy_with_integer_labels(_jax(x), _jax(y0), class_weights=_jax(w))
    )
    assert math.isnan(t_w) and j_w == 0.0


def test_nll_loss_all_ignored():
    rng = np.random.default_rng(15)
    lp = np.log(_probs(rng, (N, C)))
    y = np.full(N, -100)
    tlp = _t(lp, True)
    t_out = F.nll_loss(tlp, _t(y), ignore_index=-100)
    (t_g,) = torch.autograd.grad(t_out, [tlp])
    j_out, (j_g,) = _vjp(lambda a: jaxloss.nll_loss(a, _jax(y), ignore_index=-100), 1.0, _jax(lp))
    assert math.isnan(t_out.item())
    assert float(j_out) == 0.0
    np.testing.assert_array_equal(j_g, 0.0)
    np.testing.assert_array_equal(t_g.numpy(), 0.0)
