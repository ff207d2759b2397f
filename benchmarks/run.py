"""Runs every benchmark and writes one report: markdown, JSON and a PNG chart.

    python -m benchmarks.run              # full sizes (minutes on a 2-core CPU)
    python -m benchmarks.run --quick      # tiny sizes, a smoke run
    python -m benchmarks.run --plot-only  # redraw ratios.png from the JSON already there

Each benchmark script (bench_losses, bench_ctc, bench_large_vocab, bench_eager) writes
``benchmarks/results/<name>_<platform>.json``; this runner runs them on the current
machine, then builds ``benchmarks/results/report.md``, ``report.json`` and
``ratios.png`` from every ``*_<platform>.json`` present, so figures measured earlier on
another platform (a GPU run made with ``python -m benchmarks.run`` on that machine and
copied here) stay in the report beside the CPU figures, each marked with its device.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import pathlib
import sys
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks import bench_ctc, bench_eager, bench_large_vocab, bench_losses  # noqa: E402
from benchmarks._timing import RESULTS, progress_bar  # noqa: E402

SCRIPTS = {
    "losses": bench_losses,
    "ctc": bench_ctc,
    "large_vocab": bench_large_vocab,
    "eager": bench_eager,
}


def run_all(
    quick: bool, only: list[str], platform: str, out: pathlib.Path, repeats: int | None = None
) -> dict[str, str]:
    """Runs the selected scripts; returns each one's printed output."""
    outputs = {}
    names = [n for n in SCRIPTS if not only or n in only]
    for name in progress_bar(names, "benchmarks"):
        argv = ["--json", str(out / f"{name}_{platform}.json")]
        if quick:
            argv.append("--quick")
        if repeats is not None:
            argv += ["--repeats", str(repeats)]
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            SCRIPTS[name].main(argv)
        outputs[name] = buffer.getvalue()
        (out / f"{name}_{platform}.md").write_text(outputs[name])
    return outputs


def _device(payload: dict[str, Any]) -> str:
    m = payload.get("machine", {})
    return f"{m.get('device_kind', '?')} ({m.get('backend', '?')}, {m.get('cpu_count', '?')} CPUs)"


def _shape(shape: Any) -> str:
    if isinstance(shape, dict):
        shape = list(shape.values())
    return "x".join(str(n) for n in shape)


def _spread(row: dict[str, Any], unit: str) -> tuple[float, float, int] | None:
    """Quartiles of the per-round ratios jaxloss/optax (samples are paired by round)."""
    ours, theirs = row.get(f"jaxloss_samples_{unit}"), row.get(f"optax_samples_{unit}")
    if not ours or not theirs or len(ours) != len(theirs):
        return None
    ratios = np.asarray(ours, float) / np.asarray(theirs, float)
    q1, q3 = np.percentile(ratios, [25, 75])
    return float(q1), float(q3), len(ratios)


def ratio_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One chart row per (loss, shape/condition, device) with a jaxloss/optax ratio.

    Each row: ``label``, ``ratio`` (of the medians, as in the tables), ``device``,
    ``spread`` (interquartile range of the per-round ratios and their count, or None
    where the JSON has no samples), ``source`` (the benchmark) and ``size``.
    """
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    order = {"losses": 0, "ctc": 1}  # bench_losses' rows, then bench_ctc's
    keys = sorted(results, key=lambda k: (order.get(k.split("_")[0], 2), k))
    for key in keys:
        payload = results[key]
        device = payload.get("machine", {}).get("device_kind", "?")
        found = []
        if key.startswith("losses_"):
            for r in payload.get("rows", []):
                dtype = r.get("dtype", "float32")
                label = f"{r['name']} {_shape(r.get('shape', []))}"
                if dtype != "float32":
                    label += f" {dtype}"
                found.append((label, r, "losses", None))
        elif key.startswith("ctc_"):
            for r in payload.get("rows", []):
                size = tuple(r.get("size", {}).values())
                label = f"ctc_loss {_shape(size)} {r.get('frames', 'padded')}"
                found.append((label, r, "ctc", size))
        for label, r, source, size in found:
            if (label, device) in seen:
                continue
            seen.add((label, device))
            rows.append(
                {
                    "label": label,
                    "ratio": r["ratio"],
                    "device": device,
                    "spread": _spread(r, "ms"),
                    "source": source,
                    "size": size,
                }
            )
    return rows


def _target_lines(results: dict[str, dict[str, Any]]) -> tuple[float | None, float | None]:
    """bench_losses' flag threshold and bench_ctc's target ratio, as their JSON records."""
    threshold = target = None
    for key, payload in results.items():
        config = payload.get("config", {})
        if key.startswith("losses_"):
            threshold = config.get("threshold", threshold)
        elif key.startswith("ctc_"):
            target = config.get("target_ratio", target)
    return threshold, target


def chart(
    rows: list[dict[str, Any]],
    path: pathlib.Path,
    threshold: float | None = None,
    ctc_target: float | None = None,
) -> None:
    """Horizontal bars of jaxloss/optax time ratios, one per row of :func:`ratio_rows`.

    Green: jaxloss faster (ratio < 1), red: slower. Whiskers: interquartile range of the
    per-round ratios, where the JSON has samples. Lines: parity, bench_losses' flag
    threshold, and bench_ctc's target across the rows it applies to (its first size).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not rows:
        return
    devices = sorted({r["device"] for r in rows})
    n = len(rows)
    fig, ax = plt.subplots(figsize=(10, 0.3 * n + 2.4))
    y = np.arange(n)
    ratios = np.array([r["ratio"] for r in rows])
    labels = [f"{r['label']} [{r['device']}]" if len(devices) > 1 else r["label"] for r in rows]
    faster, slower = "tab:green", "tab:red"
    ax.barh(y, ratios, color=[faster if v < 1 else slower for v in ratios], height=0.7)
    with_spread = [i for i, r in enumerate(rows) if r["spread"] is not None]
    if with_spread:
        lo = np.array([rows[i]["spread"][0] for i in with_spread])
        hi = np.array([rows[i]["spread"][1] for i in with_spread])
        mid = ratios[with_spread]
        err = np.vstack([np.maximum(mid - lo, 0), np.maximum(hi - mid, 0)])
        ax.errorbar(mid, y[with_spread], xerr=err, fmt="none", ecolor="k", elinewidth=1, capsize=2)
    handles = [
        Patch(color=faster, label="jaxloss faster (ratio < 1)"),
        Patch(color=slower, label="jaxloss slower (ratio > 1)"),
    ]
    ax.axvline(1.0, color="k", lw=1.2)
    handles.append(Line2D([], [], color="k", lw=1.2, label="1.0: parity with optax"))
    if threshold is not None:
        ax.axvline(threshold, color="0.4", lw=1, ls="--")
        handles.append(
            Line2D(
                [],
                [],
                color="0.4",
                lw=1,
                ls="--",
                label=f"{threshold}: bench_losses lists losses above this",
            )
        )
    target_rows = [i for i, r in enumerate(rows) if r["size"] == bench_ctc.DEFAULT_SIZES[0]]
    if ctc_target is not None and target_rows:
        ax.vlines(
            ctc_target, min(target_rows) - 0.45, max(target_rows) + 0.45, color="tab:blue", lw=2
        )
        handles.append(
            Line2D(
                [],
                [],
                color="tab:blue",
                lw=2,
                label=f"{ctc_target}: bench_ctc target for its "
                f"{_shape(bench_ctc.DEFAULT_SIZES[0])} rows",
            )
        )
    if with_spread:
        counts = sorted({rows[i]["spread"][2] for i in with_spread})
        rounds = " or ".join(map(str, counts))
        spread_note = (
            f"bar: ratio of the medians of {rounds} interleaved rounds; "
            "whisker: interquartile range of the per-round ratios"
        )
        if len(with_spread) < n:
            spread_note += " (rows without one: medians only)"
        handles.append(
            Line2D([], [], color="k", marker="|", ms=8, lw=1, label="whisker: IQR of round ratios")
        )
    else:
        spread_note = "bar: ratio of the medians (the JSON holds medians only: no spread shown)"
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, max(float(ratios.max()), *(r["spread"][1] for r in rows if r["spread"])) * 1.08)
    ax.set_xlabel("time ratio jaxloss / optax (jitted value_and_grad; lower is faster)")
    title = (
        f"jaxloss vs optax on {', '.join(devices)}: one row per loss and input shape "
        "(float32 unless marked)"
    )
    fig.suptitle(f"{title}\n{spread_note}", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    height = fig.get_figheight()
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.8 / height, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def load_results(out: pathlib.Path) -> dict[str, dict[str, Any]]:
    """Every benchmark JSON in ``out`` (not the combined report.json), by file stem."""
    return {
        p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json")) if p.stem != "report"
    }


def plot(results: dict[str, dict[str, Any]], out: pathlib.Path) -> pathlib.Path:
    """Draws ``out / "ratios.png"`` from the benchmark results; returns its path."""
    path = out / "ratios.png"
    chart(ratio_rows(results), path, *_target_lines(results))
    return path


def report(out: pathlib.Path) -> dict[str, Any]:
    results = load_results(out)
    lines = [
        "# jaxloss benchmark report",
        "",
        "Produced by `python -m benchmarks.run`; every figure is marked with the device it ran on.",
        "",
    ]
    for key, payload in results.items():
        md = out / f"{key}.md"
        lines += [f"## {key} on {_device(payload)}", ""]
        if md.exists():
            lines += ["```", md.read_text().rstrip(), "```", ""]
    (out / "report.md").write_text("\n".join(lines))
    (out / "report.json").write_text(json.dumps(results, indent=1))
    plot(results, out)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {list(SCRIPTS)}")
    parser.add_argument("--results", default=str(RESULTS), help="output folder")
    parser.add_argument("--repeats", type=int, default=None, help="timing repeats per script")
    parser.add_argument(
        "--plot-only",
        action="store_true",
        help="run nothing: redraw ratios.png from the JSON results already in --results",
    )
    args = parser.parse_args(argv)
    out = pathlib.Path(args.results)
    if args.plot_only:
        print(f"chart: {plot(load_results(out), out)}")
        return 0
    import jax

    out.mkdir(parents=True, exist_ok=True)
    platform = jax.default_backend() + ("_quick" if args.quick else "")
    only = [s for s in args.only.split(",") if s]
    outputs = run_all(args.quick, only, platform, out, args.repeats)
    for name, text in outputs.items():
        print(f"### {name}\n{text}")
    report(out)
    print(f"report: {out / 'report.md'}, {out / 'report.json'}, {out / 'ratios.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
