"""Fused log-probabilities and distillation divergences against the materialized logits.

    python -m benchmarks.bench_llm_losses [--quick] [--repeats N] [--chunks] [--json PATH]

Compared, each as ``jax.jit(jax.value_and_grad(f, argnums=(0, 1)))`` (gradients with
respect to the (student's) hidden states and weight):

* ``log_probs``: ``jnp.sum(jaxloss.linear_log_probs(h, w, y))`` against
  ``log_softmax(h @ w)`` gathered at the labels;
* ``kl``: ``jaxloss.linear_kl_divergence(hs, ws, ht, wt)`` (forward, teacher constant)
  against ``jaxloss.kl_divergence_with_log_targets`` of the two materialized
  log-softmaxes;
* ``jsd``: ``jaxloss.linear_jensen_shannon_divergence(..., beta=0.5)`` against
  ``jaxloss.jensen_shannon_divergence`` of the same;
* ``ce`` (GPU section only): the fused cross-entropy against
  ``jaxloss.softmax_cross_entropy_with_integer_labels(h @ w, y)``.

The teacher has the student's sizes (its hidden states and weight are other arrays).

Sections:

1. memory: compiled temporary bytes at N=8192, D=1024, V=131072 in bfloat16 (compile
   only, deterministic). Target: fused at most 5% of naive.
2. CPU time (when the default backend is the CPU): interleaved runs, medians, at a small
   size (N=512, D=128, V=8192) and a larger one (N=2048, D=512, V=32768), float32.
   Target: fused at most 1.0x naive at the small size.
3. ``--chunks``: the sweep behind ``jaxloss.default_chunk_size``: the fused
   cross-entropy and log-probabilities with blocks of 1 to 32 MiB of float32 logits, on
   the default backend, at three sizes.
4. GPU (when ``jax.default_backend() == "gpu"``): fused against naive at N=8192, D=4096,
   V=131072 in bfloat16 for the CE, the log-probs and the JSD: time, TFLOP/s (counting
   the naive program's matmul flops: ``6 N D V``, and ``8 N D V`` with a teacher) and
   temporary bytes; and the integer-label CE on given logits against optax (from
   ``benchmarks.bench_large_vocab``).

Prints progress on stderr, the machine and markdown tables on stdout, and writes JSON to
``benchmarks/results/llm_losses_<platform>.json``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from benchmarks import _timing as timing
from benchmarks.bench_large_vocab import (
    _mib,
    arguments,
    ce_section,
    save,
    start,
    temp_bytes,
    timed_pair,
)

MEMORY_TARGET = 0.05
TIME_TARGET = 1.0

MEMORY_SIZE = ((8192, 1024, 131072), (1024, 128, 16384))
CPU_SIZES = (((512, 128, 8192), (2048, 512, 32768)), ((256, 64, 4096),))
GPU_SIZE = ((8192, 4096, 131072), (1024, 512, 16384))
GPU_CE_SIZE = ((8192, 131072), (1024, 16384))
CHUNK_SIZES = (((1024, 128, 8192), (2048, 512, 32768), (4096, 256, 16384)), ((256, 64, 4096),))
CHUNK_MIB = (1, 2, 4, 8, 16, 32)


# ---------------------------------------------------------------------------
# the compared functions: (fused, naive, number of weight-like inputs, flops factor)


def _log_softmax(h, w):
    return jax.nn.log_softmax((h @ w).astype(jnp.float32), axis=-1)


def lp_fused(h, w, y, chunk_size=None):
    return jnp.sum(jaxloss.linear_log_probs(h, w, y, chunk_size=chunk_size))


def lp_naive(h, w, y):
    return jnp.sum(jnp.take_along_axis(_log_softmax(h, w), y[:, None], axis=-1))


def ce_fused(h, w, y, chunk_size=None):
    return jaxloss.linear_softmax_cross_entropy_with_integer_labels(h, w, y, chunk_size=chunk_size)


def ce_naive(h, w, y):
    return jaxloss.softmax_cross_entropy_with_integer_labels(h @ w, y)


def kl_fused(hs, ws, ht, wt):
    return jaxloss.linear_kl_divergence(hs, ws, ht, wt)


def kl_naive(hs, ws, ht, wt):
    lt = jax.lax.stop_gradient(_log_softmax(ht, wt))
    return jaxloss.kl_divergence_with_log_targets(_log_softmax(hs, ws), lt)


def jsd_fused(hs, ws, ht, wt):
    return jaxloss.linear_jensen_shannon_divergence(hs, ws, ht, wt, beta=0.5)


def jsd_naive(hs, ws, ht, wt):
    lt = jax.lax.stop_gradient(_log_softmax(ht, wt))
    return jaxloss.jensen_shannon_divergence(_log_softmax(hs, ws), lt, beta=0.5)


PAIRS = {
    "log_probs": (lp_fused, lp_naive, False, 6),
    "kl": (kl_fused, kl_naive, True, 8),
    "jsd": (jsd_fused, jsd_naive, True, 8),
    "ce": (ce_fused, ce_naive, False, 6),
}


def _vg(f):
    return jax.jit(jax.value_and_grad(f, argnums=(0, 1)))


def _specs(n, d, v, dtype, teacher: bool):
    h = jax.ShapeDtypeStruct((n, d), dtype)
    w = jax.ShapeDtypeStruct((d, v), dtype)
    if teacher:
        return (h, w, h, w)
    return (h, w, jax.ShapeDtypeStruct((n,), jnp.int32))


def _inputs(n, d, v, dtype, teacher: bool, seed=0):
    rng = np.random.default_rng(seed)

    def head():
        h = jnp.asarray(rng.standard_normal((n, d), dtype=np.float32), dtype)
        w = jnp.asarray(rng.standard_normal((d, v), dtype=np.float32) / np.sqrt(d), dtype)
        return h, w

    if teacher:
        return (*head(), *head())
    return (*head(), jnp.asarray(rng.integers(0, v, size=(n,)), jnp.int32))


# ---------------------------------------------------------------------------
# sections


def memory_section(quick: bool) -> list[dict[str, Any]]:
    n, d, v = MEMORY_SIZE[quick]
    rows = []
    for name in ("log_probs", "kl", "jsd"):
        fused, naive, teacher, _ = PAIRS[name]
        specs = _specs(n, d, v, jnp.bfloat16, teacher)
        timing.progress(f"[memory] {name}: compiling fused and naive at N={n} D={d} V={v} bf16")
        f_bytes, _ = temp_bytes(_vg(fused), specs)
        n_bytes, _ = temp_bytes(_vg(naive), specs)
        ratio = None if not f_bytes or not n_bytes else f_bytes / n_bytes
        rows.append(
            {
                "function": name,
                "N": n,
                "D": d,
                "V": v,
                "dtype": "bfloat16",
                "fused_temp_bytes": f_bytes,
                "naive_temp_bytes": n_bytes,
                "ratio": ratio,
                "target": MEMORY_TARGET,
                "meets_target": None if ratio is None else ratio <= MEMORY_TARGET,
            }
        )
    return rows


def time_rows(names, size, dtype, repeats: int, label: str) -> list[dict[str, Any]]:
    n, d, v = size
    rows = []
    for name in names:
        fused, naive, teacher, factor = PAIRS[name]
        fns = {"fused": _vg(fused), "naive": _vg(naive)}
        args, specs = _inputs(n, d, v, dtype, teacher), _specs(n, d, v, dtype, teacher)
        row = timed_pair(
            fns, args, specs, size, dtype, factor * n * d * v, repeats, f"{label} {name}"
        )
        chunk = jaxloss.default_chunk_size(2 * n if teacher else n, v)
        rows.append({"function": name, **row, "chunk_size": chunk})
    return rows


def chunk_section(quick: bool, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for n, d, v in CHUNK_SIZES[quick]:
        args = _inputs(n, d, v, jnp.float32, False, seed=2)
        fns = {}
        for mib in CHUNK_MIB:
            chunk = max(128, int(mib * 2**20 / (4 * n)) // 128 * 128)
            if chunk > v:
                continue
            for name, f in (("ce", ce_fused), ("log_probs", lp_fused)):
                fns[(name, mib, chunk)] = _vg(lambda h, w, y, f=f, c=chunk: f(h, w, y, c))
        timing.progress(f"[chunks] N={n} D={d} V={v}: {len(fns)} programs")
        keyed = {f"{k[0]}/{k[1]}": f for k, f in fns.items()}
        samples = timing.time_interleaved(keyed, args, repeats)
        for (name, mib, chunk), key in zip(fns, keyed):
            rows.append(
                {
                    "function": name,
                    "N": n,
                    "D": d,
                    "V": v,
                    "block_mib": mib,
                    "chunk_size": chunk,
                    "ms": timing.median(samples[key]) * 1e3,
                    "default_chunk_size": jaxloss.default_chunk_size(n, v),
                }
            )
    return rows


# ---------------------------------------------------------------------------
# report


def _name_and_size(r, dtype: str) -> list[str]:
    return [r["function"], f"{r['N']}x{r['D']}x{r['V']} {dtype}"]


def _time_table(rows) -> str:
    body = [
        [
            *_name_and_size(r, r["dtype"]),
            f"{r['fused_ms']:.1f} ms ({r['fused_tflops']:.2f} TFLOP/s)",
            f"{r['naive_ms']:.1f} ms ({r['naive_tflops']:.2f} TFLOP/s)",
            f"{r['ratio']:.3f}x",
            f"{_mib(r['fused_temp_bytes'])} / {_mib(r['naive_temp_bytes'])} MiB",
            "yes" if r["values_and_grads_agree"] else "NO",
        ]
        for r in rows
    ]
    headers = ["function", "size", "fused", "naive", "fused/naive", "temp fused/naive", "agree"]
    return timing.markdown_table(headers, body)


def _memory_table(rows) -> str:
    body = [
        [
            *_name_and_size(r, "bf16"),
            f"{_mib(r['fused_temp_bytes'])} MiB",
            f"{_mib(r['naive_temp_bytes'])} MiB",
            "-" if r["ratio"] is None else f"{100 * r['ratio']:.2f}%",
            f"<= {100 * MEMORY_TARGET:.0f}%",
        ]
        for r in rows
    ]
    return timing.markdown_table(
        ["function", "size", "fused", "naive", "fused/naive", "target"], body
    )


def _chunk_table(rows) -> str:
    sizes = sorted({(r["N"], r["D"], r["V"]) for r in rows})
    mibs = sorted({r["block_mib"] for r in rows})
    body = []
    for size in sizes:
        for name in ("ce", "log_probs"):
            cells = {
                r["block_mib"]: r
                for r in rows
                if (r["N"], r["D"], r["V"]) == size and r["function"] == name
            }
            row = [f"{size[0]}x{size[1]}x{size[2]}", name]
            for mib in mibs:
                cell = cells.get(mib)
                row.append("-" if cell is None else f"{cell['ms']:.1f} (c={cell['chunk_size']})")
            row.append(str(jaxloss.default_chunk_size(size[0], size[2])))
            body.append(row)
    headers = ["N x D x V", "function", *(f"{m} MiB" for m in mibs), "default"]
    return timing.markdown_table(headers, body)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = arguments(__doc__)
    parser.add_argument("--chunks", action="store_true", help="also the chunk-size sweep")
    args = parser.parse_args(argv)
    info, backend, results = start(args.quick)
    results["memory"] = memory_section(args.quick)
    if backend == "cpu":
        rows = []
        for size in CPU_SIZES[args.quick]:
            rows += time_rows(("log_probs", "kl", "jsd"), size, jnp.float32, args.repeats, "cpu")
        results["cpu_time"] = rows
    if backend == "gpu":
        results["gpu_time"] = time_rows(
            ("ce", "log_probs", "jsd"), GPU_SIZE[args.quick], jnp.bfloat16, args.repeats, "gpu"
        )
        results["gpu_ce"] = ce_section(GPU_CE_SIZE[args.quick], args.repeats)
    if args.chunks:
        results["chunks"] = chunk_section(args.quick, args.repeats)

    print(timing.machine_line(info))
    print()
    print(_memory_table(results["memory"]))
    for key in ("cpu_time", "gpu_time"):
        if key in results:
            print()
            print(_time_table(results[key]))
    if "gpu_ce" in results:
        ce = results["gpu_ce"]
        print(
            f"\nint-label CE on given [{ce['N']}, {ce['V']}] bf16 logits: jaxloss "
            f"{ce['jaxloss_ms']:.2f} ms, optax {ce['optax_ms']:.2f} ms ({ce['ratio']:.3f}x)"
        )
    if "chunks" in results:
        print()
        print(_chunk_table(results["chunks"]))
    if args.quick:
        print("\n(--quick sizes: the targets are meant for the full sizes)")
    for row in results.get("cpu_time", [])[:3]:
        row["target"] = TIME_TARGET
        row["meets_target"] = row["ratio"] <= TIME_TARGET
    return save(args.json or timing.RESULTS / f"llm_losses_{backend}.json", results)


if __name__ == "__main__":
    main()
