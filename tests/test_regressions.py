"""Named regression tests for bugs that independent checks found (optax's shipped tests,
PyTorch/Keras on the same inputs, a fuzz harness, a new user's scripts).

Each test fails on the code before its fix. Expected values come from the formulas
(written out in NumPy float64 here), never from jaxloss.
"""

import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxloss


def _np_log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


# ---------------------------------------------------------------------------
# 1. label gradients where a label is 0


def test_softmax_cross_entropy_label_grad_where_label_is_zero():
    x = jnp.array([[10.0, 1.0, -2.0]])
    y = jnp.array([[0.0, 1.0, 0.0]])
    g = jax.grad(lambda y: jaxloss.softmax_cross_entropy(x, y, reduction="sum"))(y)
    np.testing.assert_allclose(g, -_np_log_softmax(x), rtol=1e-5, atol=1e-6)  # [1.3e-4, 9.0, 12.0]


def test_softmax_cross_entropy_label_jvp_where_label_is_zero():
    x = jnp.array([[10.0, 1.0, -2.0]])
    y = jnp.array([[0.0, 1.0, 0.0]])
    dy = jnp.array([[0.0, 0.0, 1.0]])
    _, tangent = jax.jvp(
        lambda y: jaxloss.softmax_cross_entropy(x, y, reduction="sum"), (y,), (dy,)
    )
    np.testing.assert_allclose(tangent, -_np_log_softmax(x)[0, 2], rtol=1e-6)


def test_integer_label_smoothing_grad_where_smoothing_is_traced_zero():
    # The smoothing mass ls/C is 0 at ls=0; its derivative must still reach ls.
    x = jnp.array([[2.0, -1.0, 0.5]])
    f = lambda ls: jaxloss.softmax_cross_entropy_with_integer_labels(
        x, jnp.array([0]), label_smoothing=ls, reduction="sum"
    )
    logp = _np_log_softmax(x)[0]
    np.testing.assert_allclose(jax.grad(f)(0.0), logp[0] - logp.mean(), rtol=1e-6)


def test_ranking_softmax_label_grad_where_relevance_is_zero():
    x = jnp.array([[1.0, 2.0, 3.0]])
    y = jnp.array([[0.0, 1.0, 0.0]])
    g = jax.grad(lambda y: jaxloss.ranking_softmax_loss(x, y, reduction="sum"))(y)
    np.testing.assert_allclose(g, -_np_log_softmax(x), rtol=1e-5, atol=1e-6)


def test_softmax_focal_label_grad_where_label_is_zero():
    x = jnp.array([[2.0, -1.0, 0.5]])
    y = jnp.array([[1.0, 0.0, 0.0]])
    g = jax.grad(lambda y: jaxloss.softmax_focal_loss(x, y, gamma=0.0, reduction="sum"))(y)
    np.testing.assert_allclose(g, [[0.241, 3.241, 1.741]], atol=1e-3)
    # gamma = 2: d/dy_c = -(1 - p_c)^2 log p_c.
    g2 = jax.grad(lambda y: jaxloss.softmax_focal_loss(x, y, gamma=2.0, reduction="sum"))(y)
    logp = _np_log_softmax(x)
    np.testing.assert_allclose(g2, -((1 - np.exp(logp)) ** 2) * logp, rtol=1e-5)


def _np_sigmoid_focal(x, y, gamma):
    p = 1 / (1 + np.exp(-x))
    ce = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return ce * (p * (1 - y) + (1 - p) * y) ** gamma


def test_sigmoid_focal_label_grad_at_hard_labels():
    x = jnp.array([1.3, -0.7])
    y = jnp.array([0.0, 1.0])
    g = jax.grad(lambda y: jaxloss.sigmoid_focal_loss(x, y, reduction="sum"))(y)
    np.testing.assert_allclose(g, [-2.187357, 0.808441], rtol=1e-5)
    # Against central differences of the float64 formula, for gamma in {0.5, 2, 3}.
    xs, ys, h = np.asarray(x, np.float64), np.asarray(y, np.float64), 1e-6
    for gamma in (0.5, 2.0, 3.0):
        g = jax.grad(
            lambda y, gamma=gamma: jaxloss.sigmoid_focal_loss(x, y, gamma=gamma, reduction="sum")
        )(y)
        fd = [
            (
                _np_sigmoid_focal(xs, ys + h * e, gamma).sum()
                - _np_sigmoid_focal(xs, ys - h * e, gamma).sum()
            )
            / (2 * h)
            for e in np.eye(2)
        ]
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)


def test_sigmoid_focal_grad_finite_at_3e38():
    x = jnp.array([3e38, -3e38, -3e38, 3e38])
    y = jnp.array([1.0, 0.0, 1.0, 0.0])  # two agree, two disagree
    g = jax.grad(lambda x: jaxloss.sigmoid_focal_loss(x, y, reduction="sum"))(x)
    # d/dx = (1 - p_t)^2 (sigma(x) - y) + ... -> 0 where agreeing, -1 / +1 where wrong.
    np.testing.assert_array_equal(g, [0.0, 0.0, -1.0, 1.0])


def test_softmax_focal_grad_finite_at_3e38():
    x = jnp.array([[3e38, -3e38, 0.0]])
    y = jnp.array([[1.0, 0.0, 0.0]])
    g = jax.grad(lambda x: jaxloss.softmax_focal_loss(x, y, reduction="sum"))(x)
    np.testing.assert_array_equal(g, np.zeros((1, 3)))


# ---------------------------------------------------------------------------
# 3. checked and jit


CE = jaxloss.softmax_cross_entropy_with_integer_labels
X = jnp.zeros((2, 3))
GOOD, BAD = jnp.array([0, 2]), jnp.array([0, 3])


def test_checked_of_an_already_jitted_and_called_function_raises():
    f = jax.jit(CE)
    assert np.isnan(f(X, BAD))  # compiled once, unchecked
    with pytest.raises(checkify.JaxRuntimeError, match=r"label out of range \[0, 3\)"):
        jaxloss.checked(f)(X, BAD)


def test_plain_calls_after_checked_of_a_jitted_function():
    f = jax.jit(CE)
    jaxloss.checked(f)(X, GOOD)
    np.testing.assert_allclose(f(X, GOOD), np.log(3), rtol=1e-6)
    assert np.isnan(f(X, BAD))


def test_jit_of_checked():
    f = jax.jit(jaxloss.checked(CE))
    np.testing.assert_allclose(f(X, GOOD), np.log(3), rtol=1e-6)
    with pytest.raises(Exception, match=r"label out of range \[0, 3\) at position \[1\]: 3"):
        jax.block_until_ready(f(X, BAD))


def test_vmap_and_grad_of_checked():
    f = jaxloss.checked(lambda x, y: CE(x, y))
    out = jax.vmap(f)(jnp.stack([X, X]), jnp.stack([GOOD, GOOD]))
    np.testing.assert_allclose(out, [np.log(3)] * 2, rtol=1e-6)
    with pytest.raises(Exception, match="label out of range"):
        jax.vmap(f)(jnp.stack([X, X]), jnp.stack([GOOD, BAD]))
    g = jax.grad(f)(X, GOOD)
    np.testing.assert_allclose(g, jax.grad(CE)(X, GOOD), rtol=1e-6)


def test_checked_ignores_padding_labels_hidden_by_where():
    labels = jnp.array([0, -1])
    out = jaxloss.checked(CE)(X, labels, where=jnp.array([True, False]))
    np.testing.assert_allclose(out, np.log(3), rtol=1e-6)
    out = jaxloss.checked(jaxloss.multi_margin_loss)(X, labels, where=jnp.array([True, False]))
    np.testing.assert_allclose(out, 2 / 3, rtol=1e-6)


def test_checked_ctc_ignores_padding_labels_of_sequences_hidden_by_where():
    """ctc_loss's label check exempted padding positions but not sequences masked by
    ``where``: a masked sequence holding -1 labels raised under ``checked``."""
    logits = jnp.zeros((2, 3, 3))
    labels = jnp.array([[1, 2], [-1, -1]])
    args = (logits, jnp.zeros((2, 3)), labels, jnp.zeros((2, 2)))
    out = jaxloss.checked(jaxloss.ctc_loss)(*args, where=jnp.array([True, False]))
    # the unmasked sequence: "12" in 3 frames over {blank, 1, 2}, uniform: 5 alignments of 27
    np.testing.assert_allclose(out, -np.log(5 / 27), rtol=1e-6)
    with pytest.raises(checkify.JaxRuntimeError, match=r"ctc_loss: label out of range"):
        jaxloss.checked(jaxloss.ctc_loss)(*args)


def test_checked_catches_traced_hyperparameters_out_of_range():
    f = jax.jit(lambda p, t, d: jaxloss.huber_loss(p, t, delta=d))
    p, t = jnp.ones(3), jnp.zeros(3)
    assert float(f(p, t, -1.0)) < 0  # unchecked, a wrong value: that is what checked is for
    with pytest.raises(
        checkify.JaxRuntimeError, match=r"huber_loss: argument 'delta' must be >= 0"
    ):
        jaxloss.checked(f)(p, t, -1.0)
    np.testing.assert_allclose(jaxloss.checked(f)(p, t, 1.0), 0.5, rtol=1e-6)
    g = lambda x, ls: jaxloss.softmax_cross_entropy(x, jax.nn.softmax(x), label_smoothing=ls)
    with pytest.raises(checkify.JaxRuntimeError, match=r"'label_smoothing' must be in \[0"):
        jaxloss.checked(jax.jit(g))(X, 1.5)


# ---------------------------------------------------------------------------
# 4. foreign registry names keep their library's input semantics


@pytest.mark.parametrize(
    "foreign, canonical",
    [
        ("BinaryCrossEntropy", "binary_cross_entropy"),  # Keras: probabilities
        ("BinaryCrossentropy", "binary_cross_entropy"),
        ("BCELoss", "binary_cross_entropy"),  # torch: probabilities
        ("BCEWithLogitsLoss", "sigmoid_binary_cross_entropy"),
        ("CategoricalCrossEntropy", "categorical_cross_entropy"),  # Keras: probabilities
        ("CategoricalCrossentropy", "categorical_cross_entropy"),
        ("CrossEntropyLoss", "softmax_cross_entropy_with_integer_labels"),  # class indices
    ],
)
def test_foreign_names_resolve_to_the_same_input_semantics(foreign, canonical):
    assert jaxloss.get(foreign).name == canonical


def test_torch_cross_entropy_loss_name_takes_class_indices():
    logits = jnp.array([[2.0, 0.5, -1.0]])
    out = jaxloss.get("CrossEntropyLoss")(logits, jnp.array([1]))
    np.testing.assert_allclose(out, -_np_log_softmax(logits)[0, 1], rtol=1e-6)


# ---------------------------------------------------------------------------
# 5. array options in get(), and their JSON round trip


def test_get_with_array_class_weights_calls_and_round_trips():
    loss = jaxloss.get("dice_loss", class_weights=np.array([1.0, 3.0]))
    p = jnp.array([[[2.0, -1.0], [0.0, 1.0]]])
    t = jnp.array([[[1.0, 0.0], [0.0, 1.0]]])
    np.testing.assert_allclose(
        loss(p, t), jaxloss.dice_loss(p, t, class_weights=jnp.array([1.0, 3.0])), rtol=1e-6
    )
    again = jaxloss.Loss.from_config(json.loads(json.dumps(loss.config())))
    assert again == loss and hash(again) == hash(loss)
    np.testing.assert_allclose(again(p, t), loss(p, t), rtol=1e-6)


def test_get_with_array_positive_weight():
    loss = jaxloss.get("binary_cross_entropy", positive_weight=np.array([1.0, 2.0]))
    p, y = jnp.array([[0.3, 0.6]]), jnp.array([[1.0, 1.0]])
    expected = -(np.log(0.3) + 2 * np.log(0.6)) / 2
    np.testing.assert_allclose(loss(p, y), expected, rtol=1e-6)
    assert jaxloss.Loss.from_config(json.loads(json.dumps(loss.config()))) == loss


# ---------------------------------------------------------------------------
# 6. eager calls must not compile on every call


@pytest.mark.parametrize(
    "name, make",
    [
        (
            "kl_divergence",
            lambda r: (
                jax.nn.log_softmax(r.normal(size=(32, 10))),
                jax.nn.softmax(r.normal(size=(32, 10))),
            ),
        ),
        (
            "kl_divergence_with_log_targets",
            lambda r: (
                jax.nn.log_softmax(r.normal(size=(32, 10))),
                jax.nn.log_softmax(r.normal(size=(32, 10))),
            ),
        ),
    ],
)
def test_eager_calls_do_not_recompile(name, make):
    # Count compilations, not seconds: XLA compiles through jax's lowering, which the
    # log of jax._src.interpreters.pxla reports once per compile.
    args = make(np.random.default_rng(0))
    f = getattr(jaxloss, name)
    jax.block_until_ready(f(*args))
    start = time.perf_counter()
    with jax.log_compiles(True):
        import logging

        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger = logging.getLogger("jax")
        logger.addHandler(handler)
        try:
            for _ in range(3):
                jax.block_until_ready(f(*args))
        finally:
            logger.removeHandler(handler)
    compiles = [r for r in records if "ompil" in r.getMessage()]
    assert compiles == [], [r.getMessage() for r in compiles][:3]
    assert time.perf_counter() - start < 30  # a sanity bound, not a benchmark


def test_eager_fused_cross_entropy_does_not_retrace(monkeypatch):
    # The vocabulary loop's body is a fresh closure per call: before the kernel was
    # jitted, every eager call traced it again (about 90 ms at 32 tokens).
    from jaxloss import _large_vocab

    r = np.random.default_rng(0)
    h = jnp.asarray(r.normal(size=(32, 8)), jnp.float32)
    w = jnp.asarray(r.normal(size=(8, 10)), jnp.float32)
    y = jnp.asarray(r.integers(0, 10, 32))
    f = jaxloss.linear_softmax_cross_entropy_with_integer_labels
    first = f(h, w, y)
    traces = []
    original = _large_vocab._forward
    monkeypatch.setattr(_large_vocab, "_forward", lambda *a: traces.append(1) or original(*a))
    for _ in range(3):
        np.testing.assert_allclose(f(h, w, y), first, rtol=1e-6)
    assert traces == []


# ---------------------------------------------------------------------------
# 7. documented differences: the weighted categorical mean, dice on probabilities


def test_categorical_cross_entropy_class_weights_mean_divides_by_target_weights():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]])
    labels = np.array([0, 2, 1])
    w = np.array([1.0, 2.0, 0.5])
    per = -w[labels] * np.log(p[np.arange(3), labels])
    expected = per.sum() / w[labels].sum()  # torch.nn.functional.nll_loss(weight=w)
    got_int = jaxloss.categorical_cross_entropy(p, labels, class_weights=w)
    got_onehot = jaxloss.categorical_cross_entropy(p, np.eye(3)[labels], class_weights=w)
    np.testing.assert_allclose(got_int, expected, rtol=1e-6)
    np.testing.assert_allclose(got_onehot, expected, rtol=1e-6)
    logits = np.log(p)
    same_rule = jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels, class_weights=w)
    np.testing.assert_allclose(got_int, same_rule, rtol=1e-5)


def test_dice_loss_takes_soft_masks_that_need_not_sum_to_one():
    # A documented difference from optax, which raises here: multi-label masks and empty
    # predictions are valid inputs with apply_softmax=False. The value is the formula's.
    p = np.array([[[0.2, 0.7], [0.5, 0.5]]])
    t = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    inter, pred, tgt = (p * t).sum(1), p.sum(1), t.sum(1)
    expected = np.mean(1 - (2 * inter + 2) / (pred + tgt + 2), axis=-1)
    got = jaxloss.dice_loss(p, t, apply_softmax=False, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# ---------------------------------------------------------------------------
# 8. combine


def _combine_data():
    rng = np.random.default_rng(3)
    logits = jnp.asarray(rng.normal(size=(6, 4)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, 4, 6))
    preds = jnp.asarray(rng.normal(size=(6,)), jnp.float32)
    targets = jnp.asarray(rng.normal(size=(6,)), jnp.float32)
    return logits, labels, preds, targets


def test_combine_traced_weight_does_not_retrace():
    logits, labels, *_ = _combine_data()
    objective = jaxloss.combine(ce=jaxloss.get("cross_entropy"), z=(jaxloss.get("z_loss"), 1.0, 0))
    traces = []

    @jax.jit
    def step(w):
        traces.append(1)
        return objective(logits, labels, term_weights={"z": w})[0]

    ce = jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels)
    z = jaxloss.z_loss(logits)
    for w in (0.0, 0.5, 1e-3):
        np.testing.assert_allclose(step(jnp.float32(w)), ce + w * z, rtol=1e-6)
    assert len(traces) == 1
    # The weight is differentiable (a learned or annealed weight).
    np.testing.assert_allclose(jax.grad(step)(jnp.float32(0.3)), z, rtol=1e-6)


def test_combine_array_weight_in_the_spec():
    logits, labels, *_ = _combine_data()
    objective = jaxloss.combine(ce=(jaxloss.get("cross_entropy"), jnp.float32(0.25)))
    total, parts = objective(logits, labels)
    np.testing.assert_allclose(total, 0.25 * parts["ce"], rtol=1e-6)


def test_combine_each_term_has_its_own_inputs_and_mask():
    logits, labels, preds, targets = _combine_data()
    ce_mask = jnp.array([True, True, False, True, False, True])
    objective = jaxloss.combine(
        ce=(jaxloss.get("cross_entropy"), 1.0, (0, 1)),
        mse=(jaxloss.get("mse"), 0.5, (2, 3)),
    )
    total, parts = objective(logits, labels, preds, targets, ce={"where": ce_mask})
    m = np.asarray(ce_mask)
    ce = -_np_log_softmax(logits)[np.arange(6), labels][m].mean()
    mse = np.mean((np.asarray(preds, np.float64) - np.asarray(targets, np.float64)) ** 2)
    np.testing.assert_allclose(parts["ce"], ce, rtol=1e-5)
    np.testing.assert_allclose(parts["mse"], mse, rtol=1e-5)
    np.testing.assert_allclose(total, ce + 0.5 * mse, rtol=1e-5)


def test_combine_single_position_and_nested_combined():
    logits, labels, *_ = _combine_data()
    inner = jaxloss.combine(ce=jaxloss.get("cross_entropy"), z=(jaxloss.get("z_loss"), 1e-2, 0))
    outer = jaxloss.combine(main=inner, z_again=(jaxloss.get("z_loss"), 0.5, 0))
    total, parts = outer(logits, labels)
    ce = jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels)
    z = jaxloss.z_loss(logits)
    np.testing.assert_allclose(total, ce + 1e-2 * z + 0.5 * z, rtol=1e-6)
    assert set(parts) == {"main", "main/ce", "main/z", "z_again"}
    np.testing.assert_allclose(parts["main"], ce + 1e-2 * z, rtol=1e-6)


def test_combine_config_round_trip():
    objective = jaxloss.combine(
        ce=jaxloss.get("cross_entropy", label_smoothing=0.1),
        z=(jaxloss.get("z_loss"), 1e-3, 0),
        nested=jaxloss.combine(d=jaxloss.get("dice_loss", class_weights=np.ones(4))),
    )
    config = json.loads(json.dumps(objective.config()))
    assert jaxloss.Combined.from_config(config) == objective
    with pytest.raises(TypeError, match="term 'f' is a function, not a jaxloss.Loss"):
        jaxloss.combine(f=lambda x: x).config()


def test_combine_errors_are_clear():
    with pytest.raises(TypeError, match="the weight of term 'x' must be a number or a JAX scalar"):
        jaxloss.combine(x=(jaxloss.get("mse"), "0.5"))
    with pytest.raises(TypeError, match="the inputs of term 'x' must be a position"):
        jaxloss.combine(x=(jaxloss.get("mse"), 1.0, "ab"))
    with pytest.raises(ValueError, match="may not be named 'where'"):
        jaxloss.combine(where=jaxloss.get("mse"))
    objective = jaxloss.combine(x=(jaxloss.get("mse"), 1.0, (0, 3)))
    with pytest.raises(ValueError, match=r"term 'x' takes the positional arguments \[0, 3\]"):
        objective(jnp.zeros(2), jnp.zeros(2))
    with pytest.raises(ValueError, match="term_weights names 'y', which are not terms"):
        jaxloss.combine(x=jaxloss.get("mse"))(jnp.zeros(2), jnp.zeros(2), term_weights={"y": 1.0})


# ---------------------------------------------------------------------------
# found by optax's shipped tests: an empty class axis


@pytest.mark.parametrize(
    "name",
    [
        "softmax_cross_entropy",
        "poly_loss_cross_entropy",
        "softmax_focal_loss",
        "ranking_softmax_loss",
    ],
)
def test_empty_class_axis_gives_zero(name):
    fn = getattr(jaxloss, name)
    out = fn(np.zeros((2, 0), np.float32), np.zeros((2, 0), np.float32), reduction="none")
    np.testing.assert_array_equal(out, np.zeros(2))
    assert float(jaxloss.z_loss(np.zeros((2, 0), np.float32))) == 0.0


# ---------------------------------------------------------------------------
# ignore_index: one rule for every loss that has it


@pytest.mark.parametrize(
    "name",
    [
        "softmax_cross_entropy_with_integer_labels",
        "linear_softmax_cross_entropy_with_integer_labels",
    ],
)
def test_ignore_index_takes_numpy_integers_and_rejects_bools(name):
    """The two copies of the ``ignore_index`` check disagreed: the softmax one accepted
    ``True`` (silently ignoring class 1) and rejected ``np.int64``; the fused one did the
    opposite. Both now take ints and NumPy integers and reject bools."""
    rng = np.random.default_rng(0)
    labels = jnp.array([0, 2, 1, 2])
    if name.startswith("linear"):
        hidden = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)
        weight = jnp.asarray(rng.normal(size=(3, 5)), jnp.float32)
        logits = hidden @ weight
        call = lambda **kw: jaxloss.linear_softmax_cross_entropy_with_integer_labels(
            hidden, weight, labels, reduction="none", **kw
        )
    else:
        logits = jnp.asarray(rng.normal(size=(4, 5)), jnp.float32)
        call = lambda **kw: jaxloss.softmax_cross_entropy_with_integer_labels(
            logits, labels, reduction="none", **kw
        )
    log_p = _np_log_softmax(np.asarray(logits))
    expected = np.where(np.asarray(labels) == 2, 0.0, -log_p[np.arange(4), np.asarray(labels)])
    np.testing.assert_allclose(call(ignore_index=np.int64(2)), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match=rf"{name}: argument 'ignore_index' must be a Python int"):
        call(ignore_index=True)
