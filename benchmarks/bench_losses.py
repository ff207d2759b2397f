"""Times jitted value_and_grad of every jaxloss loss against its optax counterpart.

Both sides run in one process on the same inputs, compiled and warmed up first, then
interleaved (one jaxloss sample, one optax sample, alternating which goes first; a
sample is the mean of as many back-to-back calls as make it last ``--min-sample-ms``,
the same count for both sides, so millisecond losses are not timed at the scale of the
scheduler's jitter); each row reports the median of each side and
``ratio = median(jaxloss) / median(optax)``, and checks that both give the same value
and gradient.

    python -m benchmarks.bench_losses [--quick] [--only NAME[,NAME]] [--repeats N]
                                      [--min-sample-ms MS] [--json PATH]

The timed functions are::

    jax.jit(jax.value_and_grad(lambda x, *rest: jaxloss_fn(x, *rest, reduction="mean")))
    jax.jit(jax.value_and_grad(lambda x, *rest: jnp.mean(optax_fn(x, *rest))))

with the gradient taken w.r.t. the first (prediction / logit) argument. Pairs whose
jaxloss name does not exist yet are skipped, so the script runs while the library grows.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss
from benchmarks import _timing as timing

THRESHOLD = 1.05

# Input shapes per size class: (full, --quick). --quick is ~64x fewer elements.
SIZES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "elementwise": ((2048, 2048), (256, 256)),  # 4M elements
    "classes": ((512, 32768), (64, 4096)),  # 512 examples x 32768 classes
    "ntxent": ((2048, 256), (256, 32)),  # [N, D] embeddings: a 2048 x 2048 similarity
    "ctc": ((32, 512, 256), (4, 128, 128)),  # [B, T, K] logits, 4M elements
    "dice": ((16, 128, 128, 16), (4, 32, 32, 16)),  # [B, H, W, C] logits, 4M elements
    "binary_dice": ((64, 256, 256), (16, 64, 64)),  # [B, H, W] logits, 4M elements
}


# ---------------------------------------------------------------------------
# input makers: (numpy Generator, shape) -> tuple of arrays; the first is differentiated


def _f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def _normal(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    out = np.zeros((*labels.shape, num_classes), dtype=np.float32)
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


def make_regression(rng, shape):
    return _normal(rng, shape), _normal(rng, shape)


def make_binary01(rng, shape):
    return _normal(rng, shape), _f32(rng.integers(0, 2, shape))


def make_signs(rng, shape):
    return _normal(rng, shape), _f32(2 * rng.integers(0, 2, shape) - 1)


def make_int_labels(rng, shape):
    return _normal(rng, shape), rng.integers(0, shape[-1], shape[:-1]).astype(np.int32)


def make_one_hot(rng, shape):
    logits, labels = make_int_labels(rng, shape)
    return logits, _one_hot(labels, shape[-1])


def make_log_probs(rng, shape):
    return _f32(_log_softmax(_normal(rng, shape))), _f32(np.exp(_log_softmax(_normal(rng, shape))))


def make_log_probs_log_targets(rng, shape):
    return _f32(_log_softmax(_normal(rng, shape))), _f32(_log_softmax(_normal(rng, shape)))


def make_log_probs_positive_targets(rng, shape):
    return _f32(_log_softmax(_normal(rng, shape))), _f32(np.exp(_normal(rng, shape)))


def make_triplet(rng, shape):
    return _normal(rng, shape), _normal(rng, shape), _normal(rng, shape)


def make_ntxent(rng, shape):
    return _normal(rng, shape), (np.arange(shape[0]) // 2).astype(np.int32)


def make_ctc(rng, shape):
    batch, steps, classes = shape
    max_labels = steps // 4
    logit_paddings = np.zeros((batch, steps), np.float32)
    labels = rng.integers(1, classes, (batch, max_labels)).astype(np.int32)  # 0 is blank
    lengths = rng.integers(max_labels // 2, max_labels + 1, (batch, 1))
    label_paddings = _f32(np.arange(max_labels)[None, :] >= lengths)
    return _normal(rng, shape), logit_paddings, labels, label_paddings


def make_dice(rng, shape):
    return make_one_hot(rng, shape)


# ---------------------------------------------------------------------------
# the table of pairs


def _jl(**kwargs) -> Callable:
    """jaxloss adaptor: ``fn(*inputs, **kwargs, reduction="mean")``."""
    return lambda fn, *inputs: fn(*inputs, **kwargs, reduction="mean")


def _ox(**kwargs) -> Callable:
    """optax adaptor: ``fn(*inputs, **kwargs)`` (its output is then averaged)."""
    return lambda fn, *inputs: fn(*inputs, **kwargs)


@dataclasses.dataclass(frozen=True)
class Pair:
    """One jaxloss loss and its optax counterpart, with their argument adaptors."""

    name: str  # jaxloss canonical name
    optax: str  # attribute of optax.losses
    size: str  # key of SIZES
    make: Callable  # (rng, shape) -> inputs; inputs[0] is differentiated
    jaxloss_call: Callable = dataclasses.field(default_factory=_jl)  # (fn, *inputs) -> scalar
    optax_call: Callable = dataclasses.field(default_factory=_ox)  # (fn, *inputs) -> values


def same(name: str, size: str, make: Callable, **options: Any) -> Pair:
    """A loss with one name in both libraries, called with the same keyword options."""
    return Pair(name, name, size, make, _jl(**options), _ox(**options))


E, C = "elementwise", "classes"

PAIRS: tuple[Pair, ...] = (
    # regression
    same("squared_error", E, make_regression),
    same("l2_loss", E, make_regression),
    same("huber_loss", E, make_regression, delta=1.0),
    same("log_cosh", E, make_regression),
    same("cosine_similarity", E, make_regression, epsilon=1e-8),
    same("cosine_distance", E, make_regression, epsilon=1e-8),
    # binary / elementwise classification
    same("sigmoid_binary_cross_entropy", E, make_binary01),
    same("sigmoid_focal_loss", E, make_binary01, alpha=0.25, gamma=2.0),
    same("hinge_loss", E, make_signs),  # optax: (predictor_outputs, targets)
    same("perceptron_loss", E, make_signs),
    same("sparsemax_loss", E, make_binary01),  # binary labels in {0, 1}
    # softmax / categorical
    same("softmax_cross_entropy", C, make_one_hot),
    same("softmax_cross_entropy_with_integer_labels", C, make_int_labels),
    same("poly_loss_cross_entropy", C, make_one_hot, epsilon=2.0),
    same("multiclass_hinge_loss", C, make_int_labels),
    same("multiclass_perceptron_loss", C, make_int_labels),
    # sparsemax sorts each row: 2048 x 2048 keeps it at 4M elements without a 32768-sort
    same("multiclass_sparsemax_loss", E, make_int_labels),
    # divergences: optax kl_divergence(log_predictions, targets)
    same("kl_divergence", C, make_log_probs),
    same("kl_divergence_with_log_targets", C, make_log_probs_log_targets),
    same("generalized_kl_divergence", C, make_log_probs_positive_targets),
    # structured, metric, self-supervised, ranking, segmentation
    same("ctc_loss", "ctc", make_ctc),  # (logits, logit_paddings, labels, ...)
    same("triplet_margin_loss", E, make_triplet, margin=1.0),
    same("ntxent", "ntxent", make_ntxent, temperature=0.07),
    same("ranking_softmax_loss", E, make_binary01),
    same("dice_loss", "dice", make_dice),
    same("binary_dice_loss", "binary_dice", make_binary01),
)


def pair_names() -> list[str]:
    return [p.name for p in PAIRS]


# ---------------------------------------------------------------------------
# running one pair


def build(pair: Pair) -> tuple[Callable, Callable]:
    """The two jitted value_and_grad functions of ``pair`` (jaxloss, optax)."""
    jfn = getattr(jaxloss, pair.name)
    ofn = getattr(optax.losses, pair.optax)

    def jaxloss_loss(x, *rest):
        return pair.jaxloss_call(jfn, x, *rest)

    def optax_loss(x, *rest):
        return jnp.mean(pair.optax_call(ofn, x, *rest))

    return jax.jit(jax.value_and_grad(jaxloss_loss)), jax.jit(jax.value_and_grad(optax_loss))


def _agree(a, b, *, rtol: float) -> bool:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        return False
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return bool(np.allclose(a, b, rtol=rtol, atol=rtol * scale + 1e-7, equal_nan=False))


def run_pair(
    pair: Pair, *, quick: bool, repeats: int, seed: int = 0, min_sample_ms: float = 50.0
) -> dict[str, Any]:
    shape = SIZES[pair.size][1 if quick else 0]
    rng = np.random.default_rng(seed)
    inputs = tuple(jnp.asarray(a) for a in pair.make(rng, shape))
    jaxloss_vg, optax_vg = build(pair)

    compile_s = {}
    outputs = {}
    for label, fn in (("jaxloss", jaxloss_vg), ("optax", optax_vg)):
        start = time.perf_counter()
        outputs[label] = jax.block_until_ready(fn(*inputs))  # compile + first run
        compile_s[label] = round(time.perf_counter() - start, 3)

    (vj, gj), (vo, go) = outputs["jaxloss"], outputs["optax"]
    value_ok = _agree(vj, vo, rtol=1e-4)
    grad_ok = _agree(gj, go, rtol=1e-3)
    del outputs, gj, go

    fns = {"jaxloss": jaxloss_vg, "optax": optax_vg}
    number = timing.calls_per_sample(fns, inputs, min_sample_ms / 1e3)
    samples = timing.time_interleaved(fns, inputs, repeats, number=number)
    jms = timing.median(samples["jaxloss"]) * 1e3
    oms = timing.median(samples["optax"]) * 1e3
    return {
        "name": pair.name,
        "optax": f"optax.losses.{pair.optax}",
        "shape": list(inputs[0].shape),
        "dtype": str(inputs[0].dtype),
        "jaxloss_ms": round(jms, 4),
        "optax_ms": round(oms, 4),
        "ratio": round(jms / oms, 4),
        "jaxloss_value": float(vj),
        "optax_value": float(vo),
        "values_agree": value_ok,
        "grads_agree": grad_ok,
        "compile_s": compile_s,
        "repeats": repeats,
        "calls_per_sample": number,
        "jaxloss_samples_ms": [round(s * 1e3, 4) for s in samples["jaxloss"]],
        "optax_samples_ms": [round(s * 1e3, 4) for s in samples["optax"]],
    }


# ---------------------------------------------------------------------------
# command line


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_losses",
        description="Time jitted value_and_grad of jaxloss losses against optax.",
    )
    parser.add_argument("--quick", action="store_true", help="~64x smaller inputs (tests)")
    parser.add_argument("--only", default=None, help="comma-separated loss names (aliases ok)")
    parser.add_argument("--repeats", type=int, default=30, help="timed samples per side (30)")
    parser.add_argument(
        "--min-sample-ms",
        type=float,
        default=None,
        help="a sample averages enough back-to-back calls to last this long "
        "(default 50; 0 with --quick)",
    )
    parser.add_argument(
        "--json",
        default=None,
        help="output path (default benchmarks/results/losses_<platform>.json)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.min_sample_ms is None:
        args.min_sample_ms = 0.0 if args.quick else 50.0
    if args.min_sample_ms < 0:
        parser.error("--min-sample-ms must be >= 0")
    if args.only:
        aliases = jaxloss.aliases()
        wanted = [aliases.get(n.strip(), n.strip()) for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in pair_names()]
        if unknown:
            parser.error(
                f"--only: no benchmark pair for {', '.join(unknown)}; "
                f"known: {', '.join(pair_names())}"
            )
        args.only = wanted
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark, prints the table, writes the JSON; returns the JSON payload."""
    args = _parse(argv)
    pairs = [p for p in PAIRS if args.only is None or p.name in args.only]
    info = timing.machine_info()
    json_path = (
        Path(args.json) if args.json else (timing.RESULTS / f"losses_{info['backend']}.json")
    )

    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    errors: dict[str, str] = {}
    for pair in timing.progress_bar(pairs, "losses"):
        head = f"{pair.name}:"
        if not hasattr(jaxloss, pair.name):
            timing.progress(f"{head} skipped: not in jaxloss yet")
            skipped.append(pair.name)
            continue
        if not hasattr(optax.losses, pair.optax):
            timing.progress(f"{head} skipped: optax {optax.__version__} has no losses.{pair.optax}")
            skipped.append(pair.name)
            continue
        try:
            row = run_pair(
                pair,
                quick=args.quick,
                repeats=args.repeats,
                seed=args.seed,
                min_sample_ms=args.min_sample_ms,
            )
        except Exception as exc:  # report and go on: one broken adaptor must not stop the rest
            errors[pair.name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            timing.progress(f"{head} error: {errors[pair.name]}")
            traceback.print_exc(file=sys.stderr)
            continue
        timing.progress(
            f"{head} jaxloss {row['jaxloss_ms']:.3f} ms, optax {row['optax_ms']:.3f} ms, "
            f"ratio {row['ratio']:.3f}"
        )
        rows.append(row)

    # registered losses that name an optax counterpart but have no pair here
    paired = set(pair_names())
    unpaired = sorted(n for n in jaxloss.names() if jaxloss.info(n).optax and n not in paired)

    worst = max(rows, key=lambda r: r["ratio"], default=None)
    payload = {
        "benchmark": "losses",
        "description": "jitted value_and_grad, median ms; ratio = jaxloss / optax",
        "machine": info,
        "config": {
            "quick": args.quick,
            "repeats": args.repeats,
            "min_sample_ms": args.min_sample_ms,
            "only": args.only,
            "seed": args.seed,
            "threshold": THRESHOLD,
        },
        "rows": rows,
        "skipped": skipped,
        "errors": errors,
        "unpaired": unpaired,
        "worst": None if worst is None else {"name": worst["name"], "ratio": worst["ratio"]},
    }

    print(
        f"## jaxloss vs optax: jitted value_and_grad, median of {args.repeats} interleaved "
        f"samples of >= {args.min_sample_ms:g} ms{' (--quick)' if args.quick else ''}"
    )
    print()
    print(f"Machine: {timing.machine_line(info)}")
    print()
    table_rows = [
        (
            r["name"],
            "x".join(map(str, r["shape"])),
            f"{r['jaxloss_ms']:.3f}",
            f"{r['optax_ms']:.3f}",
            f"{r['ratio']:.3f}",
            _agree_text(r),
        )
        for r in rows
    ]
    print(
        timing.markdown_table(
            ["loss", "shape", "jaxloss ms", "optax ms", "ratio", "check"], table_rows
        )
    )
    print()
    if worst is not None:
        print(f"worst ratio: {worst['ratio']:.3f} ({worst['name']})")
        above = [f"{r['name']} ({r['ratio']:.3f})" for r in rows if r["ratio"] > THRESHOLD]
        print(f"above {THRESHOLD}: {', '.join(above) if above else 'none'}")
    if skipped:
        print(f"skipped (not in jaxloss yet): {', '.join(skipped)}")
    if errors:
        print("errors: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    if unpaired:
        print(f"registered with an optax counterpart but no pair here: {', '.join(unpaired)}")
    path = timing.write_json(json_path, payload)
    print(f"wrote {path}")
    return payload


def _agree_text(row: dict[str, Any]) -> str:
    if row["values_agree"] and row["grads_agree"]:
        return "ok"
    bad = [w for w, ok in (("value", row["values_agree"]), ("grad", row["grads_agree"])) if not ok]
    return "WARNING: " + " and ".join(bad) + " differ"


if __name__ == "__main__":
    main()
