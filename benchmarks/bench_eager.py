"""Eager calls and compile time of jaxloss against optax, for every loss both have.

    python -m benchmarks.bench_eager [--quick] [--only NAME[,NAME]] [--repeats N]
                                     [--compile-repeats N] [--json PATH] [--seed N]
                                     [--sync-dispatch]

Two tables, one process, interleaved, ratio = jaxloss / optax (lower is better):

* **eager**: one un-jitted call at notebook size (``[32, 10]``; CTC ``[4, 32, 10]``),
  waited for, after warm-up calls: what a notebook or an un-jitted evaluation loop pays
  per call. jaxloss runs a compiled kernel per loss (its public boundary); optax runs
  op by op. The median of ``--repeats`` samples, each the mean of enough back-to-back
  calls to last 20 ms.
* **compile**: trace, lower and compile ``jax.jit(jax.value_and_grad(loss))`` from
  scratch (``jax.clear_caches()`` before each), at the same sizes as ``benchmarks.bench_losses``
  (4M elements), so the figure is the cost a training script pays once. The median of
  ``--compile-repeats`` runs, alternating which library goes first.

The losses and their argument adaptors are those of ``benchmarks.bench_losses``.

On the CPU, XLA runs a program on the calling thread only when its cost analysis counts
fewer than 1000 flops (``cheap_computation_`` in XLA's ``cpu_client.cc``); any other
program is handed to a worker thread, and the caller waits for it to be picked up (tens
of microseconds on a busy 2-core machine). At ``[32, 10]`` each of optax's separate ops
is below that count and one fused loss kernel is above it. ``--sync-dispatch`` sets
``jax_cpu_enable_async_dispatch=False`` (every program on the calling thread) so that
the table shows what the kernels themselves cost; it must be the first thing the
process does with jax, so run it on its own, not from ``benchmarks.run``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax._src import xla_bridge  # private: is a backend started yet?

import jaxloss
from benchmarks import _timing as timing
from benchmarks.bench_losses import PAIRS, SIZES, Pair

EAGER_TARGET = 0.5
COMPILE_TARGET = 1.0

# Notebook sizes per size class of bench_losses (full, --quick).
EAGER_SIZES: dict[str, tuple[int, ...]] = {
    "elementwise": (32, 10),
    "classes": (32, 10),
    "ntxent": (32, 16),
    "ctc": (4, 32, 10),
    "dice": (2, 8, 8, 4),
    "binary_dice": (2, 8, 8),
}


def _setup(pair: Pair, shape: tuple[int, ...], seed: int):
    """The pair's inputs at ``shape``, and its two scalar losses of those inputs."""
    inputs = tuple(jnp.asarray(a) for a in pair.make(np.random.default_rng(seed), shape))
    jfn = getattr(jaxloss, pair.name)
    ofn = getattr(optax.losses, pair.optax)

    def ours(*inputs):
        return pair.jaxloss_call(jfn, *inputs)

    def theirs(*inputs):
        return jnp.mean(pair.optax_call(ofn, *inputs))

    return inputs, ours, theirs


def _row(pair: Pair, inputs, unit: str, ours: float, theirs: float, digits: int, **extra):
    """A table row: both medians in ``unit``, their ratio, and ``extra`` fields."""
    return {
        "name": pair.name,
        "shape": list(inputs[0].shape),
        f"jaxloss_{unit}": round(ours, digits),
        f"optax_{unit}": round(theirs, digits),
        "ratio": round(ours / theirs, 4),
        **extra,
    }


def eager_row(pair: Pair, repeats: int, seed: int) -> dict[str, Any]:
    inputs, ours, theirs = _setup(pair, EAGER_SIZES[pair.size], seed)
    fns = {"jaxloss": ours, "optax": theirs}
    for fn in fns.values():  # first calls: jaxloss compiles its kernel here
        jax.block_until_ready(fn(*inputs))
    number = timing.calls_per_sample(fns, inputs, 0.02)
    samples = timing.time_interleaved(fns, inputs, repeats, warmup=2, number=number)
    jus, ous = (timing.median(samples[k]) * 1e6 for k in ("jaxloss", "optax"))
    agree = bool(np.allclose(float(ours(*inputs)), float(theirs(*inputs)), rtol=1e-4, atol=1e-6))
    return _row(pair, inputs, "us", jus, ous, 2, values_agree=agree, calls_per_sample=number)


def _compile_once(fn, inputs) -> float:
    jax.clear_caches()
    # A persistent compilation cache (JAX_COMPILATION_CACHE_DIR, as the test suite sets)
    # would turn the compile into a cache read: time the compiler itself.
    cached = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", False)
    try:
        start = time.perf_counter()
        jax.jit(jax.value_and_grad(fn)).lower(*inputs).compile()
        return time.perf_counter() - start
    finally:
        jax.config.update("jax_enable_compilation_cache", cached)


def compile_row(pair: Pair, repeats: int, seed: int, quick: bool) -> dict[str, Any]:
    inputs, ours, theirs = _setup(pair, SIZES[pair.size][1 if quick else 0], seed)
    times: dict[str, list[float]] = {"jaxloss": [], "optax": []}
    for r in range(repeats):
        order = (("jaxloss", ours), ("optax", theirs))
        for label, fn in order if r % 2 == 0 else order[::-1]:
            times[label].append(_compile_once(fn, inputs))
    return _row(
        pair,
        inputs,
        "s",
        timing.median(times["jaxloss"]),
        timing.median(times["optax"]),
        4,
        jaxloss_samples_s=[round(t, 4) for t in times["jaxloss"]],
        optax_samples_s=[round(t, 4) for t in times["optax"]],
    )


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_eager",
        description="jaxloss vs optax: eager calls at notebook size, and compile time",
    )
    parser.add_argument(
        "--quick", action="store_true", help="three losses, few repeats, small compile sizes"
    )
    parser.add_argument("--only", default="", help="comma-separated loss names")
    parser.add_argument("--repeats", type=int, default=None, help="eager samples (30)")
    parser.add_argument("--compile-repeats", type=int, default=None, help="compiles (5)")
    parser.add_argument("--json", default=None, help="output path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sync-dispatch",
        action="store_true",
        help="run every CPU program on the calling thread (jax_cpu_enable_async_dispatch=False)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = _parse(argv)
    if args.sync_dispatch:
        if xla_bridge.backends_are_initialized():
            raise SystemExit(
                "bench_eager: --sync-dispatch must come before jax starts its backends; "
                "run `python -m benchmarks.bench_eager --sync-dispatch` on its own"
            )
        jax.config.update("jax_cpu_enable_async_dispatch", False)
    repeats = args.repeats or (3 if args.quick else 30)
    compile_repeats = args.compile_repeats or (1 if args.quick else 5)
    only = [n for n in args.only.split(",") if n]
    pairs = [p for p in PAIRS if not only or p.name in only]
    if args.quick and not only:  # a smoke run
        pairs = pairs[:3]
    info = timing.machine_info()
    eager, compiled = [], []
    for pair in timing.progress_bar(pairs, "eager"):
        eager.append(eager_row(pair, repeats, args.seed))
        compiled.append(compile_row(pair, compile_repeats, args.seed, args.quick))
    worst_eager = max(eager, key=lambda r: r["ratio"]) if eager else None
    worst_compile = max(compiled, key=lambda r: r["ratio"]) if compiled else None
    payload = {
        "benchmark": "eager",
        "description": "eager call (us, notebook size) and compile time (s) of "
        "jit(value_and_grad); ratio = jaxloss / optax",
        "machine": info,
        "config": {
            "repeats": repeats,
            "compile_repeats": compile_repeats,
            "quick": args.quick,
            "sync_dispatch": args.sync_dispatch,
        },
        "eager": eager,
        "compile": compiled,
        "worst_eager": worst_eager and {"name": worst_eager["name"], "ratio": worst_eager["ratio"]},
        "worst_compile": worst_compile
        and {"name": worst_compile["name"], "ratio": worst_compile["ratio"]},
    }
    suffix = "_sync" if args.sync_dispatch else ""
    path = args.json or timing.RESULTS / f"eager_{info['backend']}{suffix}.json"
    timing.write_json(path, payload)
    print(f"## jaxloss vs optax: eager calls and compile time\n\n{timing.machine_line(info)}\n")
    dispatch = "synchronous CPU dispatch" if args.sync_dispatch else "default (async) dispatch"
    print(f"Eager call at notebook size, {dispatch}, median of interleaved samples:\n")
    print(
        timing.markdown_table(
            ["loss", "shape", "jaxloss us", "optax us", "ratio", "check"],
            [
                [
                    r["name"],
                    "x".join(map(str, r["shape"])),
                    f"{r['jaxloss_us']:.1f}",
                    f"{r['optax_us']:.1f}",
                    f"{r['ratio']:.3f}",
                    "ok" if r["values_agree"] else "DIFF",
                ]
                for r in eager
            ],
        )
    )
    print("\nCompile time of jit(value_and_grad), trace + lower + compile, median:\n")
    print(
        timing.markdown_table(
            ["loss", "shape", "jaxloss s", "optax s", "ratio"],
            [
                [
                    r["name"],
                    "x".join(map(str, r["shape"])),
                    f"{r['jaxloss_s']:.3f}",
                    f"{r['optax_s']:.3f}",
                    f"{r['ratio']:.3f}",
                ]
                for r in compiled
            ],
        )
    )
    if worst_eager:
        print(
            f"\nworst eager ratio: {worst_eager['ratio']:.3f} ({worst_eager['name']}; "
            f"target <= {EAGER_TARGET}); worst compile ratio: {worst_compile['ratio']:.3f} "
            f"({worst_compile['name']}; target <= {COMPILE_TARGET})"
        )
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()
