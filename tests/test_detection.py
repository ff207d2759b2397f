"""Tests of the bounding-box losses (jaxloss/_detection.py).

References are float64 NumPy code written from the papers' formulas (Rezatofighi et al.
2019 for GIoU, Zheng et al. 2020 for DIoU and CIoU), with ``eps`` added where
torchvision adds it (the IoU's union, the enclosing area, the squared diagonal, the
denominator of the CIoU weight alpha) and the documented conventions at degenerate
boxes (a ratio over exactly 0 is 0; the aspect angle of a box of zero width and height
is 0). Gradients are compared with central differences of the references; for CIoU the
reference is differentiated with alpha frozen at the evaluation point, as the loss
treats alpha as a constant. torchvision is not installed (it does not import next to
the CPU build of torch), so there is no live oracle.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.grads import check_grads

NAMES = ("generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss")
TOL = dict(rtol=1e-10, atol=1e-12)  # float64 against float64

# ---------------------------------------------------------------------------
# references


def _div(num, den):
    """``num / den``, 0 where ``den == 0`` (the documented convention)."""
    zero = den == 0
    return np.where(zero, 0.0, num / np.where(zero, 1.0, den))


def _angle(w, h):
    """``arctan(w / h)``: ``+-pi/2`` for ``h = 0`` (``w / 0 = +-inf``), 0 for ``w = h = 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.arctan(w / h)
    return np.where((w == 0) & (h == 0), 0.0, a)


def _geometry(b, t):
    """Per pair of boxes: intersection, union, enclosing width and height, the squared
    distance of the centres, and the widths and heights of both boxes."""
    x1, y1, x2, y2 = np.moveaxis(np.asarray(b, np.float64), -1, 0)
    u1, v1, u2, v2 = np.moveaxis(np.asarray(t, np.float64), -1, 0)
    iw = np.minimum(x2, u2) - np.maximum(x1, u1)
    ih = np.minimum(y2, v2) - np.maximum(y1, v1)
    # Only an overlap with positive width and height is an intersection.
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    w, h, wt, ht = x2 - x1, y2 - y1, u2 - u1, v2 - v1
    union = w * h + wt * ht - inter
    cw = np.maximum(x2, u2) - np.minimum(x1, u1)
    ch = np.maximum(y2, v2) - np.minimum(y1, v1)
    rho2 = ((x1 + x2) / 2 - (u1 + u2) / 2) ** 2 + ((y1 + y2) / 2 - (v1 + v2) / 2) ** 2
    return inter, union, cw, ch, rho2, (w, h, wt, ht)


def ref_giou(b, t, eps=1e-7):
    """1 - GIoU, GIoU = I / (U + eps) - (C - U) / (C + eps), C the enclosing area."""
    inter, union, cw, ch, _, _ = _geometry(b, t)
    area = cw * ch
    return 1 - _div(inter, union + eps) + _div(area - union, area + eps)


def ref_diou(b, t, eps=1e-7):
    """1 - IoU + rho^2 / (c^2 + eps), c the diagonal of the enclosing box."""
    inter, union, cw, ch, rho2, _ = _geometry(b, t)
    return 1 - _div(inter, union + eps) + _div(rho2, cw**2 + ch**2 + eps)


def _ciou_terms(b, t, eps):
    inter, union, _, _, _, (w, h, wt, ht) = _geometry(b, t)
    iou = _div(inter, union + eps)
    v = 4 / math.pi**2 * (_angle(wt, ht) - _angle(w, h)) ** 2
    return iou, v


def ref_ciou_alpha(b, t, eps=1e-7):
    iou, v = _ciou_terms(b, t, eps)
    return _div(v, 1 - iou + v + eps)


def ref_ciou(b, t, eps=1e-7, alpha=None):
    """DIoU loss + alpha v; ``alpha`` given: frozen (a constant), else computed here."""
    _, v = _ciou_terms(b, t, eps)
    if alpha is None:
        alpha = ref_ciou_alpha(b, t, eps)
    return ref_diou(b, t, eps) + alpha * v


REFS = {
    "generalized_box_iou_loss": ref_giou,
    "distance_box_iou_loss": ref_diou,
    "complete_box_iou_loss": ref_ciou,
}


def _boxes(rng, shape):
    """Valid boxes: random top-left corners and sizes (as tests/cases/detection.py)."""
    corner = rng.uniform(0.0, 2.0, size=shape + (2,))
    size = rng.uniform(0.5, 2.0, size=shape + (2,))
    return np.concatenate([corner, corner + size], axis=-1)


N = 16  # every test program evaluates N pairs of boxes: one compilation per dtype


def _pairs(seed, shape=(N,)):
    rng = np.random.default_rng(seed)
    return _boxes(rng, shape), _boxes(rng, shape)


def _central_differences(f, b, t, h=1e-6):
    """d f_i / d b_i and d f_i / d t_i per pair, ``f`` giving one value per pair: each
    coordinate of every box is moved at once (pair i's value depends on pair i only)."""
    gb, gt = np.zeros_like(b), np.zeros_like(t)
    for k in range(4):
        e = np.zeros(4)
        e[k] = h
        gb[..., k] = (f(b + e, t) - f(b - e, t)) / (2 * h)
        gt[..., k] = (f(b, t + e) - f(b, t - e)) / (2 * h)
    return gb, gt


@jax.jit
def _values_and_grads(b, t, eps):
    """Every loss's per-pair values and gradients (both boxes), and its reductions."""
    out = {}
    for name in NAMES:
        fn = getattr(jaxloss, name)
        out[name] = dict(
            none=fn(b, t, epsilon=eps, reduction="none"),
            mean=fn(b, t, epsilon=eps),
            sum=fn(b, t, epsilon=eps, reduction="sum"),
            grads=jax.grad(lambda x, y, fn=fn: fn(x, y, epsilon=eps, reduction="sum"), (0, 1))(
                b, t
            ),
        )
    return out


# ---------------------------------------------------------------------------
# values and gradients against the references


@pytest.mark.parametrize("eps", [1e-7, 0.0, 0.3])
def test_values_and_gradients_match_references(eps):
    # eps = 0.3 makes every place where eps is added visible in the values.
    with jax.enable_x64(True):
        b, t = _pairs(0)
        out = _values_and_grads(b, t, eps)
        for name in NAMES:
            ref = REFS[name]
            expected = ref(b, t, eps)
            got = out[name]
            np.testing.assert_allclose(got["none"], expected, **TOL, err_msg=name)
            np.testing.assert_allclose(got["mean"], expected.mean(), **TOL, err_msg=name)
            np.testing.assert_allclose(got["sum"], expected.sum(), **TOL, err_msg=name)
            if name == "complete_box_iou_loss":
                # alpha is a constant for the gradient: differentiate with it frozen.
                alpha = ref_ciou_alpha(b, t, eps)
                f = lambda x, y, a=alpha: ref_ciou(x, y, eps, alpha=a)  # noqa: E731
            else:
                f = lambda x, y, ref=ref: ref(x, y, eps)  # noqa: E731
            gb, gt = _central_differences(f, b, t)
            np.testing.assert_allclose(got["grads"][0], gb, rtol=1e-6, atol=1e-8, err_msg=name)
            np.testing.assert_allclose(got["grads"][1], gt, rtol=1e-6, atol=1e-8, err_msg=name)


def test_ciou_gradient_is_not_the_derivative_of_its_value():
    # The documented difference: with alpha frozen the gradient leaves out v * d(alpha),
    # so it differs from the derivative of the value wherever the aspect ratios differ.
    with jax.enable_x64(True):
        b, t = _pairs(1)
        g = _values_and_grads(b, t, 1e-7)["complete_box_iou_loss"]["grads"]
        full = _central_differences(lambda x, y: ref_ciou(x, y), b, t)
        frozen = _central_differences(lambda x, y: ref_ciou(x, y, alpha=ref_ciou_alpha(b, t)), b, t)
        np.testing.assert_allclose(g[0], frozen[0], rtol=1e-6, atol=1e-8)
        assert np.max(np.abs(np.asarray(g[0]) - full[0])) > 1e-2
        assert np.max(np.abs(np.asarray(g[1]) - full[1])) > 1e-2


def test_float32_matches_the_float64_reference():
    b, t = _pairs(2)
    out = _values_and_grads(b.astype(np.float32), t.astype(np.float32), 1e-7)
    for name in NAMES:
        assert out[name]["none"].dtype == jnp.float32
        np.testing.assert_allclose(out[name]["none"], REFS[name](b, t), rtol=1e-5, atol=1e-6)


def test_check_grads_both_boxes():
    # Finite differences of the losses themselves (tests/grads.py), with respect to both
    # boxes, of GIoU and DIoU (one program for both, every per-pair value). Not for
    # CIoU, whose gradient is by design not the derivative of its value (above).
    with jax.enable_x64(True):
        b, t = _pairs(3, shape=(2, 3))

        def f(x, y):
            return jnp.stack(
                [
                    jaxloss.generalized_box_iou_loss(x, y, reduction="none"),
                    jaxloss.distance_box_iou_loss(x, y, reduction="none"),
                ]
            )

        check_grads(f, (b, t), 1, modes=["rev"])


# ---------------------------------------------------------------------------
# values derived by hand


UNIT = [0.0, 0.0, 1.0, 1.0]


def _padded(b, t, dtype=np.float64):
    """``b`` and ``t`` followed by pairs of unit boxes up to ``N`` pairs."""
    b, t = np.asarray(b, dtype).reshape(-1, 4), np.asarray(t, dtype).reshape(-1, 4)
    fill = np.full((N - len(b), 4), UNIT, dtype)
    return np.concatenate([b, fill]), np.concatenate([t, fill])


def _losses(b, t, eps):
    """The three losses (``reduction="none"``) of float64 boxes, from the shared program."""
    n = len(b)
    with jax.enable_x64(True):
        out = _values_and_grads(*_padded(b, t), eps)
        return {name: np.asarray(out[name]["none"])[:n] for name in NAMES}


def test_identical_boxes_give_zero():
    boxes = np.array([UNIT, [1.0, 2.0, 4.0, 3.0], [-2.0, -1.0, 0.5, 5.0]])
    area = np.array([1.0, 3.0, 15.0])
    for name, values in _losses(boxes, boxes, 0.0).items():
        np.testing.assert_array_equal(values, 0.0, err_msg=name)  # IoU exactly 1
    # With eps: IoU = A / (A + eps), the enclosing and distance terms are 0, v = 0.
    for name, values in _losses(boxes, boxes, 1e-7).items():
        np.testing.assert_allclose(
            values, 1e-7 / (area + 1e-7), rtol=1e-7, atol=1e-15, err_msg=name
        )


def test_disjoint_unit_boxes_by_hand():
    # Unit boxes [0, 1] x [0, 1] and [1 + g, 2 + g] x [0, 1], a gap g apart: I = 0,
    # U = 2, the enclosing box is (2 + g) x 1, so C = 2 + g and
    #   GIoU = I / U - (C - U) / C = -g / (2 + g),   loss = 1 + g / (2 + g):
    # 4/3 at g = 1, 3/2 at g = 2, and 1 for boxes that touch (g = 0).
    # DIoU: the centres are 1 + g apart, c^2 = (2 + g)^2 + 1: loss = 1 + (1 + g)^2 / c^2,
    # 1 + 4/10 = 1.4 at g = 1. CIoU: equal aspect ratios (v = 0), the DIoU loss.
    gaps = np.array([1.0, 2.0, 0.0])
    b = np.array([UNIT] * 3)
    t = np.stack([1 + gaps, 0 * gaps, 2 + gaps, 1 + 0 * gaps], axis=-1)
    out = _losses(b, t, 0.0)
    np.testing.assert_allclose(out["generalized_box_iou_loss"], [4 / 3, 3 / 2, 1.0], rtol=1e-15)
    diou = 1 + (1 + gaps) ** 2 / ((2 + gaps) ** 2 + 1)
    np.testing.assert_allclose(diou[0], 1.4, rtol=1e-15)
    np.testing.assert_allclose(out["distance_box_iou_loss"], diou, rtol=1e-15)
    np.testing.assert_allclose(out["complete_box_iou_loss"], diou, rtol=1e-15)
    # eps enters the GIoU term as g / (2 + g + eps) (the IoU is 0 / (2 + eps) = 0).
    out = _losses(b, t, 1e-7)
    np.testing.assert_allclose(
        out["generalized_box_iou_loss"], 1 + gaps / (2 + gaps + 1e-7), rtol=1e-15
    )


def test_ciou_aspect_term_by_hand():
    # [0, 1] x [0, 1] against [0, 2] x [0, 1]: I = 1, U = 2, IoU = 1/2; the centres are
    # 1/2 apart and the enclosing box is 2 x 1 (c^2 = 5): DIoU loss = 1/2 + 1/20.
    # v = (4 / pi^2) (atan(2) - atan(1))^2, alpha = v / (1/2 + v).
    out = _losses([UNIT], [[0.0, 0.0, 2.0, 1.0]], 0.0)
    v = 4 / math.pi**2 * (math.atan(2.0) - math.pi / 4) ** 2
    np.testing.assert_allclose(out["distance_box_iou_loss"], [0.55], rtol=1e-15)
    np.testing.assert_allclose(out["complete_box_iou_loss"], [0.55 + v * v / (0.5 + v)], rtol=1e-14)
    # GIoU: the enclosing box is the union, so the loss is 1 - IoU.
    np.testing.assert_allclose(out["generalized_box_iou_loss"], [0.5], rtol=1e-15)


def test_losses_are_symmetric_in_their_arguments():
    b, t = (x.astype(np.float32) for x in _pairs(4))
    forward, backward = _values_and_grads(b, t, 1e-7), _values_and_grads(t, b, 1e-7)
    for name in NAMES:
        np.testing.assert_allclose(
            forward[name]["none"], backward[name]["none"], rtol=1e-6, err_msg=name
        )


# ---------------------------------------------------------------------------
# degenerate boxes


DEGENERATE = {
    # name: (boxes, target_boxes)
    "zero width": ([1.0, 1.0, 1.0, 3.0], [0.0, 0.0, 2.0, 2.0]),
    "zero height": ([0.0, 2.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]),
    "point inside": ([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]),
    "zero-width target": ([0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 1.0, 2.0]),
    "equal points": ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]),
    "distinct points": ([0.0, 0.0, 0.0, 0.0], [3.0, 4.0, 3.0, 4.0]),
    "points on a vertical line": ([0.0, 0.0, 0.0, 0.0], [0.0, 5.0, 0.0, 5.0]),
    "equal zero-width boxes": ([1.0, 0.0, 1.0, 2.0], [1.0, 0.0, 1.0, 2.0]),
    "identical": ([0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 2.0, 1.0]),
    "disjoint": ([0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 6.0, 7.0]),
    "touching": ([0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 2.0, 1.0]),
    "x2 < x1": ([2.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]),
    "inverted in x and y": ([2.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]),
    "inverted, zero width": ([1.0, 2.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]),
}


@pytest.mark.parametrize("eps", [1e-7, 0.0])
def test_degenerate_boxes_finite_values_and_gradients(eps):
    b, t = _padded([p[0] for p in DEGENERATE.values()], [p[1] for p in DEGENERATE.values()])
    with jax.enable_x64(True):
        out = _values_and_grads(b, t, eps)  # jitted: values and grads of both boxes
        for name in NAMES:
            values = np.asarray(out[name]["none"])
            gb, gt = (np.asarray(g) for g in out[name]["grads"])
            assert np.all(np.isfinite(values)), (name, values)
            assert np.all(np.isfinite(gb)) and np.all(np.isfinite(gt)), name
            # The values are the formulas' (as torchvision computes them, unvalidated),
            # with the documented conventions where they are 0/0.
            np.testing.assert_allclose(
                values, REFS[name](b, t, eps), rtol=1e-12, atol=1e-14, err_msg=name
            )
    # float32 too, where 1 / eps = 1e7 is the largest gradient a zero-area box can get.
    out = _values_and_grads(b.astype(np.float32), t.astype(np.float32), eps)
    for name in NAMES:
        assert np.all(np.isfinite(out[name]["none"])), name
        assert all(np.all(np.isfinite(g)) for g in out[name]["grads"]), name


def test_degenerate_values_by_hand():
    pairs = [DEGENERATE[k] for k in ("equal points", "distinct points", "point inside")]
    out = _losses([p[0] for p in pairs], [p[1] for p in pairs], 0.0)
    # Equal points: IoU 0 (0/0 taken as 0), no enclosing area, no distance: loss 1.
    # Distinct points (0, 0) and (3, 4): GIoU: C = 12, U = 0, 1 + 12/12 = 2; DIoU: the
    # centres are 5 apart and the enclosing diagonal is 5: 1 + 25/25 = 2; CIoU: both
    # aspect angles are 0 (0/0), so v = 0. A point inside a 2 x 2 box: GIoU 1 + 0/4 = 1
    # (the enclosing box is the target, C = U = 4);
    # DIoU 1 + 0 (equal centres); CIoU adds alpha v with v = (4/pi^2)(pi/4)^2 = 1/4 and
    # alpha = v / (1 + v) = 1/5: 1 + 1/20.
    np.testing.assert_allclose(out["generalized_box_iou_loss"], [1.0, 2.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(out["distance_box_iou_loss"], [1.0, 2.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(out["complete_box_iou_loss"], [1.0, 2.0, 1.05], rtol=1e-15)


def test_zero_height_box_has_aspect_angle_pi_over_2():
    # A 2 x 0 box along the top edge of the box [0, 2] x [0, 2]: atan(2/0) = pi/2 (as
    # torchvision's atan(inf)) against atan(1) = pi/4, so v = (4/pi^2)(pi/4)^2 = 1/4. The
    # IoU is 0 (an overlap of zero height), the centres are 1 apart in a 2 x 2 enclosing
    # box (c^2 = 8), and alpha = (1/4) / (1 + 1/4) = 1/5: loss 1 + 1/8 + 1/20.
    out = _losses(*(np.array([p]) for p in DEGENERATE["zero height"]), 0.0)
    np.testing.assert_allclose(out["complete_box_iou_loss"], [1 + 1 / 8 + 1 / 20], rtol=1e-15)


# ---------------------------------------------------------------------------
# shapes, dtypes, masks and errors


def test_per_example_shape_is_boxes_shape_without_the_last_axis():
    for shape in [(), (3,), (2, 3)]:
        b = jax.ShapeDtypeStruct(shape + (4,), jnp.float32)
        for name in NAMES:
            fn = getattr(jaxloss, name)
            out = jax.eval_shape(lambda x, fn=fn: fn(x, x, reduction="none"), b)
            assert out.shape == shape and out.dtype == jnp.float32, (name, shape)


def test_integer_targets_and_masked_nonfinite_boxes():
    b = np.array([UNIT, [0.0, 0.0, 2.0, 2.0], [np.nan, np.inf, 1.0, 1.0]], np.float32)
    t = np.array([[0, 0, 2, 1], [1, 1, 3, 3], [0, 0, 1, 1]], np.int32)
    where = np.array([True, True, False])

    @jax.jit
    def program(b):
        out = {}
        for name in NAMES:
            fn = getattr(jaxloss, name)
            value = fn(b, t, where=where, reduction="none")
            grad = jax.grad(lambda x, fn=fn: fn(x, t, where=where))(b)
            out[name] = (value, grad)
        return out

    for name, (value, grad) in program(b).items():
        np.testing.assert_allclose(value[:2], REFS[name](b[:2], t[:2]), rtol=1e-6, atol=1e-6)
        assert value[2] == 0, name
        assert np.all(np.isfinite(grad)) and np.all(grad[2] == 0), name


@pytest.mark.parametrize("name", NAMES)
def test_errors(name):
    fn = getattr(jaxloss, name)
    b = np.zeros((2, 4), np.float32)
    with pytest.raises(
        ValueError, match=rf"^{name}: arguments 'boxes' and 'target_boxes' must have the same"
    ):
        jax.jit(fn)(b, np.zeros((3, 4), np.float32))
    three = np.zeros((2, 3), np.float32)
    with pytest.raises(
        ValueError,
        match=rf"^{name}: arguments 'boxes' and 'target_boxes' must have a last axis of size 4 "
        r"\(x1, y1, x2, y2\), got boxes.shape=\(2, 3\)",
    ):
        fn(three, three)
    with pytest.raises(
        ValueError, match=rf"^{name}: argument 'epsilon' must be >= 0.0, got -0.001"
    ):
        fn(b, b, epsilon=-1e-3)
    with pytest.raises(TypeError, match=rf"^{name}: argument 'boxes' must have a floating"):
        fn(b.astype(np.int32), b)


def test_registry_entries():
    for name in NAMES:
        info = jaxloss.info(name)
        assert (info.family, info.inputs) == ("detection", "boxes")
        assert info.torch == f"torchvision.ops.{name}"
        assert info.optax is None and info.keras is None and info.rax is None
        assert "'mean'" in info.notes["torch"] and "'none'" in info.notes["torch"]
        assert 'torchvision\'s is ``"none"``' in info.fn.__doc__
