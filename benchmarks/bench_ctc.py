"""Times jitted value_and_grad of ``jaxloss.ctc_loss`` against ``optax.losses.ctc_loss``.

The target (issue "CTC"): on the CPU at ``B=8, T=200, K=64, L=50`` jaxloss takes at most
half of optax's time. Both sides are compiled and warmed up, then run interleaved (one
call each per round, alternating which goes first); the medians and their ratio are
reported, and the values and gradients of the two are compared.

    python -m benchmarks.bench_ctc [--quick] [--repeats N] [--sizes B,T,K,L[;...]]
                                   [--json PATH] [--seed N]

The timed functions (gradient w.r.t. the logits, mean over sequences)::

    jax.jit(jax.value_and_grad(lambda x: jaxloss.ctc_loss(x, pads, labels, label_pads)))
    jax.jit(jax.value_and_grad(lambda x: jnp.mean(optax.losses.ctc_loss(x, pads, ...))))

Inputs (seeded): normal logits; frame lengths uniform in ``[T/2, T]`` and label lengths
uniform in ``[L/2, L]`` (the rest is padding); labels uniform over the non-blank classes.
Every sequence is feasible (``T/2 >= 2L`` at the default sizes). Each size is timed
twice: with those padded frames, and with every frame valid. The default sizes are the
target's and a short one, ``8x24x32x6``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss
from benchmarks import _timing as timing

TARGET_RATIO = 0.5
# The target size, and short sequences (keyword spotting, short utterances), where the
# fixed cost of the two recursions and the occupation step shows.
DEFAULT_SIZES = ((8, 200, 64, 50), (8, 24, 32, 6))
QUICK_SIZES = ((2, 20, 8, 5),)


def make_inputs(
    rng: np.random.Generator,
    batch: int,
    steps: int,
    classes: int,
    length: int,
    padded: bool = True,
):
    """Logits, frame paddings, labels and label paddings (float32 / int32, right-padded).
    With ``padded=False`` every frame is valid (the labels keep their random lengths)."""
    logits = rng.normal(size=(batch, steps, classes)).astype(np.float32)
    frames = rng.integers(steps // 2, steps + 1, size=(batch, 1))
    logit_paddings = (np.arange(steps)[None, :] >= frames).astype(np.float32)
    if not padded:
        logit_paddings = np.zeros_like(logit_paddings)
    labels = rng.integers(1, classes, size=(batch, length)).astype(np.int32)  # 0 is blank
    label_lengths = rng.integers(length // 2, length + 1, size=(batch, 1))
    label_paddings = (np.arange(length)[None, :] >= label_lengths).astype(np.float32)
    return logits, logit_paddings, labels, label_paddings


def run_size(
    size: tuple[int, int, int, int], repeats: int, seed: int, padded: bool = True
) -> dict[str, Any]:
    batch, steps, classes, length = size
    logits, logit_paddings, labels, label_paddings = (
        jnp.asarray(a) for a in make_inputs(np.random.default_rng(seed), *size, padded=padded)
    )

    def ours(x, lp, y, yp):
        return jaxloss.ctc_loss(x, lp, y, yp)

    def theirs(x, lp, y, yp):
        return jnp.mean(optax.losses.ctc_loss(x, lp, y, yp))

    fns = {
        "jaxloss": jax.jit(jax.value_and_grad(ours)),
        "optax": jax.jit(jax.value_and_grad(theirs)),
    }
    args = (logits, logit_paddings, labels, label_paddings)
    compile_s = {}
    results = {}
    for name, fn in fns.items():
        start = time.perf_counter()
        results[name] = jax.block_until_ready(fn(*args))
        compile_s[name] = time.perf_counter() - start
    samples = timing.time_interleaved(fns, args, repeats, warmup=2)
    (v_ours, g_ours), (v_theirs, g_theirs) = results["jaxloss"], results["optax"]
    ms = {name: timing.median(s) * 1e3 for name, s in samples.items()}
    return {
        "size": {"B": batch, "T": steps, "K": classes, "L": length},
        "frames": "padded" if padded else "all valid",
        "jaxloss_ms": ms["jaxloss"],
        "optax_ms": ms["optax"],
        "ratio": ms["jaxloss"] / ms["optax"],
        "jaxloss_samples_ms": [s * 1e3 for s in samples["jaxloss"]],
        "optax_samples_ms": [s * 1e3 for s in samples["optax"]],
        "first_call_s": compile_s,
        "values": {"jaxloss": float(v_ours), "optax": float(v_theirs)},
        "values_agree": bool(np.allclose(v_ours, v_theirs, rtol=1e-4)),
        # float32 gradients of long recursions: compare relative to the largest entry
        "grads_agree": bool(
            np.allclose(g_ours, g_theirs, rtol=1e-3, atol=1e-3 * float(jnp.max(jnp.abs(g_theirs))))
        ),
        "max_grad_diff": float(jnp.max(jnp.abs(g_ours - g_theirs))),
    }


def _parse_sizes(text: str) -> tuple[tuple[int, int, int, int], ...]:
    sizes = []
    for part in text.split(";"):
        values = tuple(int(v) for v in part.split(","))
        if len(values) != 4:
            raise argparse.ArgumentTypeError(f"a size is B,T,K,L; got {part!r}")
        sizes.append(values)
    return tuple(sizes)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="jaxloss.ctc_loss vs optax.losses.ctc_loss: jitted value_and_grad"
    )
    parser.add_argument("--quick", action="store_true", help="a tiny size (smoke test)")
    parser.add_argument("--repeats", type=int, default=100, help="timed runs per side (100)")
    parser.add_argument(
        "--sizes", type=_parse_sizes, default=None, help="B,T,K,L[;B,T,K,L...] (8,200,64,50)"
    )
    parser.add_argument(
        "--json", default=None, help="output path (default benchmarks/results/ctc_<platform>.json)"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark, prints the table, writes the JSON; returns the JSON payload."""
    args = _parse(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    info = timing.machine_info()
    json_path = Path(args.json) if args.json else timing.RESULTS / f"ctc_{info['backend']}.json"
    rows = []
    runs = [(size, padded) for size in sizes for padded in (True, False)]
    for size, padded in timing.progress_bar(runs, "ctc"):
        frames = "padded" if padded else "all valid"
        row = run_size(size, args.repeats, args.seed, padded)
        timing.progress(
            f"B,T,K,L = {size}, {frames}: jaxloss {row['jaxloss_ms']:.3f} ms, optax "
            f"{row['optax_ms']:.3f} ms, ratio {row['ratio']:.3f}"
        )
        rows.append(row)

    payload = {
        "benchmark": "ctc",
        "description": "jitted value_and_grad w.r.t. logits of the mean loss, median ms; "
        "ratio = jaxloss / optax",
        "machine": info,
        "config": {
            "quick": args.quick,
            "repeats": args.repeats,
            "seed": args.seed,
            "target_ratio": TARGET_RATIO,
        },
        "rows": rows,
    }
    print(
        f"## jaxloss.ctc_loss vs optax.losses.ctc_loss: jitted value_and_grad, median of "
        f"{args.repeats} interleaved runs{' (--quick)' if args.quick else ''}"
    )
    print()
    print(f"Machine: {timing.machine_line(info)}")
    print()
    table = [
        (
            "x".join(str(v) for v in r["size"].values()),
            r["frames"],
            f"{r['jaxloss_ms']:.3f}",
            f"{r['optax_ms']:.3f}",
            f"{r['ratio']:.3f}",
            "ok" if r["values_agree"] and r["grads_agree"] else "MISMATCH",
        )
        for r in rows
    ]
    print(
        timing.markdown_table(
            ["B x T x K x L", "frames", "jaxloss ms", "optax ms", "ratio", "check"], table
        )
    )
    print()
    for r in rows:
        if tuple(r["size"].values()) == DEFAULT_SIZES[0]:
            verdict = "meets" if r["ratio"] <= TARGET_RATIO else "MISSES"
            print(
                f"Ratio at {'x'.join(map(str, DEFAULT_SIZES[0]))}, {r['frames']} frames: "
                f"{r['ratio']:.3f}, {verdict} the target of at most {TARGET_RATIO}."
            )
    path = timing.write_json(json_path, payload)
    print(f"JSON: {path}")
    return payload


if __name__ == "__main__":
    main()
