"""Fused large-vocabulary cross-entropy against the materialized logits: memory and time.

    python -m benchmarks.bench_large_vocab [--quick] [--repeats N] [--json PATH]

Compared, both as ``jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))`` (gradients with
respect to the hidden states and the weight):

* fused: ``jaxloss.linear_softmax_cross_entropy_with_integer_labels(hidden, weight, y)``;
* naive: ``jaxloss.softmax_cross_entropy_with_integer_labels(hidden @ weight, y)``, which
  builds the ``[N, V]`` logits (and autodiff keeps several arrays of that size).

Sections:

1. memory: compiled temporary bytes (``memory_analysis().temp_size_in_bytes``) of both,
   at N=8192, D=1024, V=131072 in bfloat16 on the default backend. Compile only: nothing
   runs, so the numbers are deterministic.
2. CPU time: both at N=2048, D=512, V=32768 in float32, interleaved runs, medians and
   ``ratio = fused / naive`` (run only when the default backend is the CPU).
3. GPU (only when ``jax.default_backend() == "gpu"``): both at N=8192, D=4096, V=131072 in
   bfloat16 (time, effective TFLOP/s counting ``6 N D V`` flops, temporary bytes), and
   the integer-label cross-entropy on given ``[8192, 131072]`` bfloat16 logits, jaxloss
   against ``optax.losses.softmax_cross_entropy_with_integer_labels`` (+ ``jnp.mean``).

Prints progress on stderr, then the machine and a markdown table on stdout, and writes
JSON to ``benchmarks/results/large_vocab_<platform>.json``. Targets on the CPU: fused
temporary memory at most 5% of naive, fused time at most 1.3x naive.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from benchmarks import _timing as timing
from jaxloss._large_vocab import default_chunk_size

MEMORY_TARGET = 0.05
TIME_TARGET = 1.3

# (full, --quick) sizes as (N, D, V).
MEMORY_SIZE = ((8192, 1024, 131072), (1024, 128, 16384))
CPU_TIME_SIZE = ((2048, 512, 32768), (256, 64, 4096))
GPU_SIZE = ((8192, 4096, 131072), (1024, 512, 16384))
GPU_CE_SIZE = ((8192, 131072), (1024, 16384))


def fused_loss(hidden, weight, labels):
    return jaxloss.linear_softmax_cross_entropy_with_integer_labels(hidden, weight, labels)


def naive_loss(hidden, weight, labels):
    return jaxloss.softmax_cross_entropy_with_integer_labels(hidden @ weight, labels)


def _value_and_grad(loss):
    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))


def _specs(n: int, d: int, v: int, dtype) -> tuple:
    return (
        jax.ShapeDtypeStruct((n, d), dtype),
        jax.ShapeDtypeStruct((d, v), dtype),
        jax.ShapeDtypeStruct((n,), jnp.int32),
    )


def _inputs(n: int, d: int, v: int, dtype, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    hidden = jnp.asarray(rng.standard_normal((n, d), dtype=np.float32), dtype)
    weight = jnp.asarray(rng.standard_normal((d, v), dtype=np.float32) / np.sqrt(d), dtype)
    labels = jnp.asarray(rng.integers(0, v, size=(n,)), jnp.int32)
    return hidden, weight, labels


def temp_bytes(fn, specs) -> tuple[int | None, float]:
    """Compiled temporary bytes of ``fn`` at ``specs`` and the compile time in seconds."""
    start = time.perf_counter()
    compiled = fn.lower(*specs).compile()
    seconds = time.perf_counter() - start
    analysis = compiled.memory_analysis()
    return (None if analysis is None else int(analysis.temp_size_in_bytes)), seconds


def _mib(x: int | None) -> str:
    return "-" if x is None else f"{x / 2**20:.1f}"


def _agree(a, b, rtol: float) -> bool:
    """Values and gradients of two ``value_and_grad`` outputs agree (scaled tolerance)."""
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float64)
        scale = max(float(np.max(np.abs(y))), 1e-30)
        if not np.all(np.abs(x - y) <= rtol * scale):
            return False
    return True


# ---------------------------------------------------------------------------
# sections


def memory_section(quick: bool) -> dict[str, Any]:
    n, d, v = MEMORY_SIZE[quick]
    specs = _specs(n, d, v, jnp.bfloat16)
    timing.progress(f"[memory] compiling fused value_and_grad at N={n} D={d} V={v} bf16 ...")
    fused, fused_s = temp_bytes(_value_and_grad(fused_loss), specs)
    timing.progress(f"[memory] fused: {_mib(fused)} MiB temporary ({fused_s:.1f} s compile)")
    timing.progress("[memory] compiling naive value_and_grad ...")
    naive, naive_s = temp_bytes(_value_and_grad(naive_loss), specs)
    timing.progress(f"[memory] naive: {_mib(naive)} MiB temporary ({naive_s:.1f} s compile)")
    ratio = None if not fused or not naive else fused / naive
    return {
        "N": n,
        "D": d,
        "V": v,
        "dtype": "bfloat16",
        "chunk_size": default_chunk_size(n, v),
        "fused_temp_bytes": fused,
        "naive_temp_bytes": naive,
        "logits_bytes_f32": n * v * 4,
        "ratio": ratio,
        "target": MEMORY_TARGET,
        "meets_target": None if ratio is None else ratio <= MEMORY_TARGET,
    }


def timed_pair(fns, args, specs, size, dtype, flops: int, repeats: int, label: str):
    """Temporary bytes, agreement and interleaved times of ``fns["fused"]`` and ``["naive"]``.

    ``flops`` per call gives the effective TFLOP/s; the row has the size, both medians,
    their ratio and every sample.
    """
    n, d, v = size
    timing.progress(f"[{label}] N={n} D={d} V={v} {jnp.dtype(dtype).name}: compiling")
    temps = {name: temp_bytes(fn, specs)[0] for name, fn in fns.items()}
    outs = {name: fn(*args) for name, fn in fns.items()}
    agree = _agree(outs["fused"], outs["naive"], 1e-3 if dtype == jnp.float32 else 3e-2)
    timing.progress(f"[{label}] timing {repeats} interleaved rounds")
    samples = timing.time_interleaved(fns, args, repeats)
    fused_s, naive_s = timing.median(samples["fused"]), timing.median(samples["naive"])
    timing.progress(f"[{label}] fused {fused_s * 1e3:.1f} ms, naive {naive_s * 1e3:.1f} ms")
    return {
        "N": n,
        "D": d,
        "V": v,
        "dtype": jnp.dtype(dtype).name,
        "fused_ms": fused_s * 1e3,
        "naive_ms": naive_s * 1e3,
        "ratio": fused_s / naive_s,
        "fused_tflops": flops / fused_s / 1e12,
        "naive_tflops": flops / naive_s / 1e12,
        "fused_temp_bytes": temps["fused"],
        "naive_temp_bytes": temps["naive"],
        "values_and_grads_agree": agree,
        "fused_samples_ms": [s * 1e3 for s in samples["fused"]],
        "naive_samples_ms": [s * 1e3 for s in samples["naive"]],
    }


def time_section(size, dtype, repeats: int, label: str) -> dict[str, Any]:
    n, d, v = size
    fns = {"fused": _value_and_grad(fused_loss), "naive": _value_and_grad(naive_loss)}
    args, specs = _inputs(n, d, v, dtype), _specs(n, d, v, dtype)
    row = timed_pair(fns, args, specs, size, dtype, 6 * n * d * v, repeats, label)
    return {**row, "chunk_size": default_chunk_size(n, v)}


def ce_section(size, repeats: int) -> dict[str, Any]:
    import optax

    n, v = size
    rng = np.random.default_rng(1)
    logits = jnp.asarray(rng.standard_normal((n, v), dtype=np.float32), jnp.bfloat16)
    labels = jnp.asarray(rng.integers(0, v, size=(n,)), jnp.int32)
    fns = {
        "jaxloss": jax.jit(
            jax.value_and_grad(lambda x, y: jaxloss.softmax_cross_entropy_with_integer_labels(x, y))
        ),
        "optax": jax.jit(
            jax.value_and_grad(
                lambda x, y: jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(x, y))
            )
        ),
    }
    timing.progress(f"[ce] integer-label CE on [{n}, {v}] bf16 logits: jaxloss vs optax")
    outs = {name: fn(logits, labels) for name, fn in fns.items()}
    agree = _agree(outs["jaxloss"], outs["optax"], 3e-2)
    samples = timing.time_interleaved(fns, (logits, labels), repeats)
    a, b = timing.median(samples["jaxloss"]), timing.median(samples["optax"])
    return {
        "N": n,
        "V": v,
        "dtype": "bfloat16",
        "jaxloss_ms": a * 1e3,
        "optax_ms": b * 1e3,
        "ratio": a / b,
        "values_and_grads_agree": agree,
        "jaxloss_samples_ms": [s * 1e3 for s in samples["jaxloss"]],
        "optax_samples_ms": [s * 1e3 for s in samples["optax"]],
    }


# ---------------------------------------------------------------------------
# report


def _table(results: dict[str, Any]) -> str:
    rows = []
    mem = results["memory"]
    rows.append(
        [
            "temp memory (compile only)",
            f"{mem['N']}x{mem['D']}x{mem['V']} bf16",
            f"{_mib(mem['fused_temp_bytes'])} MiB",
            f"{_mib(mem['naive_temp_bytes'])} MiB",
            "-" if mem["ratio"] is None else f"{100 * mem['ratio']:.2f}%",
            f"<= {100 * MEMORY_TARGET:.0f}%",
        ]
    )
    for key, title, target in (
        ("cpu_time", "CPU time", f"<= {TIME_TARGET}x"),
        ("gpu_time", "GPU time", "-"),
    ):
        r = results.get(key)
        if r is None:
            continue
        rows.append(
            [
                title,
                f"{r['N']}x{r['D']}x{r['V']} {r['dtype']}",
                f"{r['fused_ms']:.1f} ms ({r['fused_tflops']:.2f} TFLOP/s)",
                f"{r['naive_ms']:.1f} ms ({r['naive_tflops']:.2f} TFLOP/s)",
                f"{r['ratio']:.3f}x",
                target,
            ]
        )
        if key == "gpu_time":
            rows.append(
                [
                    "GPU temp memory",
                    f"{r['N']}x{r['D']}x{r['V']} {r['dtype']}",
                    f"{_mib(r['fused_temp_bytes'])} MiB",
                    f"{_mib(r['naive_temp_bytes'])} MiB",
                    "-"
                    if not r["naive_temp_bytes"]
                    else f"{100 * r['fused_temp_bytes'] / r['naive_temp_bytes']:.2f}%",
                    "-",
                ]
            )
    ce = results.get("gpu_ce")
    if ce is not None:
        rows.append(
            [
                "int-label CE (jaxloss | optax)",
                f"{ce['N']}x{ce['V']} bf16 logits",
                f"{ce['jaxloss_ms']:.2f} ms",
                f"{ce['optax_ms']:.2f} ms",
                f"{ce['ratio']:.3f}x",
                "-",
            ]
        )
    return timing.markdown_table(
        ["measure", "size", "fused", "naive", "fused/naive", "target"], rows
    )


def arguments(doc: str) -> argparse.ArgumentParser:
    """The options of this script and of bench_llm_losses: --quick, --repeats, --json."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="much smaller sizes (smoke test)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", type=str, default=None)
    return parser


def start(quick: bool) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The machine, the backend, and the results dict that the sections fill."""
    info = timing.machine_info()
    timing.progress(f"machine: {timing.machine_line(info)}")
    return info, jax.default_backend(), {"machine": info, "quick": quick}


def save(path, results: dict[str, Any]) -> dict[str, Any]:
    """Writes ``results`` as JSON to ``path`` and says so on stderr."""
    timing.write_json(path, results)
    timing.progress(f"wrote {path}")
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = arguments(__doc__).parse_args(argv)
    info, backend, results = start(args.quick)
    results["memory"] = memory_section(args.quick)
    if backend == "cpu":
        results["cpu_time"] = time_section(
            CPU_TIME_SIZE[args.quick], jnp.float32, args.repeats, "cpu time"
        )
    if backend == "gpu":
        results["gpu_time"] = time_section(
            GPU_SIZE[args.quick], jnp.bfloat16, args.repeats, "gpu time"
        )
        results["gpu_ce"] = ce_section(GPU_CE_SIZE[args.quick], args.repeats)

    print(timing.machine_line(info))
    print(
        f"platform {backend}, {info['cpu_count']} CPUs, jax {info['jax']}, "
        f"device {info['device_kind']}"
    )
    print()
    print(_table(results))
    if args.quick:
        print("\n(--quick sizes: the targets are meant for the full sizes)")
    cpu = results.get("cpu_time")
    if cpu is not None:
        results["cpu_time"]["target"] = TIME_TARGET
        results["cpu_time"]["meets_target"] = cpu["ratio"] <= TIME_TARGET
        print(
            f"\nCPU time target (fused <= {TIME_TARGET}x naive): "
            f"{'met' if cpu['ratio'] <= TIME_TARGET else 'MISSED'}; values and gradients "
            f"{'agree' if cpu['values_and_grads_agree'] else 'DISAGREE'}"
        )
    mem = results["memory"]
    if mem["ratio"] is not None:
        print(
            f"memory target (fused <= {100 * MEMORY_TARGET:.0f}% of naive): "
            f"{'met' if mem['meets_target'] else 'MISSED'}"
        )
    return save(args.json or timing.RESULTS / f"large_vocab_{backend}.json", results)


if __name__ == "__main__":
    main()
