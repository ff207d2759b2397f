"""Runs every benchmark and writes one report: markdown, JSON and a PNG chart.

    python -m benchmarks.run              # full sizes (minutes on a 2-core CPU)
    python -m benchmarks.run --quick      # tiny sizes, a smoke run

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
import time
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks import bench_ctc, bench_eager, bench_large_vocab, bench_losses  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
SCRIPTS = {
    "losses": bench_losses,
    "ctc": bench_ctc,
    "large_vocab": bench_large_vocab,
    "eager": bench_eager,
}


def _bar(done: int, total: int, label: str, start: float) -> None:
    width = 24
    filled = width * done // total
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<14} "
        f"{time.perf_counter() - start:6.1f}s"
    )
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def run_all(
    quick: bool, only: list[str], platform: str, out: pathlib.Path, repeats: int | None = None
) -> dict[str, str]:
    """Runs the selected scripts; returns each one's printed output."""
    outputs = {}
    start = time.perf_counter()
    names = [n for n in SCRIPTS if not only or n in only]
    for i, name in enumerate(names):
        _bar(i, len(names), name, start)
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
        _bar(i + 1, len(names), name, start)
    return outputs


def _device(payload: dict[str, Any]) -> str:
    m = payload.get("machine", {})
    return f"{m.get('device_kind', '?')} ({m.get('backend', '?')}, {m.get('cpu_count', '?')} CPUs)"


def ratio_rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, float, str]]:
    """``(label, jaxloss/baseline ratio, device)`` for the chart."""
    rows = []
    for key, payload in sorted(results.items()):
        device = payload.get("machine", {}).get("device_kind", "?")
        if key.startswith("losses_"):
            for r in payload.get("rows", []):
                rows.append((r["name"], r["ratio"], device))
        elif key.startswith("ctc_"):
            for r in payload.get("rows", []):
                frames = r.get("frames", "padded")
                rows.append((f"ctc_loss ({frames} frames)", r["ratio"], device))
    return rows


def chart(rows: list[tuple[str, float, str]], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return
    devices = sorted({d for _, _, d in rows})
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(rows) + 1.5))
    labels = [f"{n} [{d}]" if len(devices) > 1 else n for n, _, d in rows]
    colors = ["tab:green" if r <= 1.05 else "tab:red" for _, r, _ in rows]
    ax.barh(range(len(rows)), [r for _, r, _ in rows], color=colors)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.axvline(1.05, color="k", lw=0.8, ls="--")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio jaxloss / optax (value_and_grad, lower is faster)")
    ax.set_title(f"jaxloss vs optax on {', '.join(devices)}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(out: pathlib.Path) -> dict[str, Any]:
    results = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))
               if p.stem != "report"}
    lines = ["# jaxloss benchmark report", "",
             "Produced by `python -m benchmarks.run`; every figure is marked with the "
             "device it ran on.", ""]
    for key, payload in results.items():
        md = out / f"{key}.md"
        lines += [f"## {key} on {_device(payload)}", ""]
        if md.exists():
            lines += ["```", md.read_text().rstrip(), "```", ""]
    (out / "report.md").write_text("\n".join(lines))
    (out / "report.json").write_text(json.dumps(results, indent=1))
    chart(ratio_rows(results), out / "ratios.png")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {list(SCRIPTS)}")
    parser.add_argument("--results", default=str(RESULTS), help="output folder")
    parser.add_argument("--repeats", type=int, default=None, help="timing repeats per script")
    args = parser.parse_args(argv)
    import jax

    out = pathlib.Path(args.results)
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
