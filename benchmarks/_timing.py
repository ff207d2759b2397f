"""Small timing utilities shared by the benchmark scripts.

Usage from another script::

    from benchmarks import _timing as timing

    timing.median(timing.time_interleaved(fns, args, repeats)["jaxloss"])

``time_interleaved`` runs the candidates alternately in one process, so slow drift of the
machine (frequency scaling, a neighbour's load) hits every candidate alike; compare the
medians of its samples, never single runs. With ``min_sample_seconds`` a sample is the
mean of several back-to-back calls (each still waited for), so that functions of a few
milliseconds are not timed at the scale of the scheduler's jitter.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import jax
from tqdm import tqdm

T = TypeVar("T")

# Where the scripts write their JSON and the runner its report.
RESULTS = Path(__file__).resolve().parent / "results"


def _version(module: str) -> str | None:
    try:
        mod = __import__(module)
    except ImportError:
        return None
    return getattr(mod, "__version__", None)


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: host, CPU count, library versions, device, date."""
    uname = platform.uname()
    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable_cpus = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    device = jax.devices()[0]
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "system": f"{uname.system} {uname.release} {uname.machine}",
        "node": uname.node,
        "processor": platform.processor() or uname.machine,
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus,
        "load_average": load,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": _version("jaxlib"),
        "optax": _version("optax"),
        "numpy": _version("numpy"),
        "backend": jax.default_backend(),
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def machine_line(info: Mapping[str, Any]) -> str:
    """One line naming the machine, for the head of a printed table."""
    return (
        f"{info['processor']} ({info['system']}), {info['cpu_count']} CPUs "
        f"({info['usable_cpus']} usable, load {info['load_average']}), "
        f"device {info['device_kind']} [{info['backend']}], jax {info['jax']}, "
        f"jaxlib {info['jaxlib']}, optax {info['optax']}, {info['date']}"
    )


def time_once(fn: Callable, args: Sequence[Any]) -> float:
    """Seconds for one call of ``fn(*args)``, waiting for the result to be ready."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def calls_per_sample(
    fns: Mapping[str, Callable], args: Sequence[Any], min_sample_seconds: float
) -> int:
    """How many calls make one sample of the slowest function last ``min_sample_seconds``.

    One common count for every function (from one timed call each, after warm-up), so
    their samples cover the same number of calls.
    """
    if min_sample_seconds <= 0:
        return 1
    slowest = max(time_once(fn, args) for fn in fns.values())
    return max(1, math.ceil(min_sample_seconds / max(slowest, 1e-9)))


def time_interleaved(
    fns: Mapping[str, Callable],
    args: Sequence[Any],
    repeats: int,
    *,
    warmup: int = 1,
    number: int | None = None,
    min_sample_seconds: float = 0.0,
) -> dict[str, list[float]]:
    """Times every function in ``fns`` on the same ``args``, interleaved.

    Each function is first called ``warmup`` times (compilation, caches). Then, ``repeats``
    times, each function makes one sample, in the given order on even rounds and reversed
    on odd ones, so neither always goes first. A sample is the mean time of ``number``
    back-to-back calls, each waited for with ``block_until_ready``; by default ``number``
    is :func:`calls_per_sample` for ``min_sample_seconds`` (1 when that is 0). Returns
    ``{name: [seconds per call, ...]}`` with ``repeats`` samples per name.
    """
    if repeats < 1:
        raise ValueError(f"time_interleaved: repeats must be >= 1, got {repeats}")
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            jax.block_until_ready(fns[name](*args))
    if number is None:
        number = calls_per_sample(fns, args, min_sample_seconds)
    if number < 1:
        raise ValueError(f"time_interleaved: number must be >= 1, got {number}")
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            total = sum(time_once(fns[name], args) for _ in range(number))
            samples[name].append(total / number)
    return samples


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; columns whose cells all look numeric are right-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))

    def numeric(i: int) -> bool:
        col = [row[i] for row in cells if row[i] not in ("", "-")]
        return bool(col) and all(_is_number(c) for c in col)

    right = [numeric(i) for i in range(len(headers))]

    def fmt(row: Sequence[str]) -> str:
        cols = zip(row, widths, right, strict=True)
        return "| " + " | ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in cols) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (w + 1) + ":" if r else "-" * (w + 2) for w, r in zip(widths, right, strict=True)
        )
        + "|"
    )
    return "\n".join([fmt(list(headers)), rule, *(fmt(row) for row in cells)])


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("x%"))
    except ValueError:
        return False
    return True


def write_json(path: str | os.PathLike, payload: Any) -> Path:
    """Writes ``payload`` as indented JSON, creating the parent folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def progress(message: str) -> None:
    """A progress message on stderr, written above any live :func:`progress_bar`."""
    tqdm.write(message, file=sys.stderr)
    sys.stderr.flush()


def progress_bar(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterable[T]:
    """``iterable`` wrapped in a tqdm bar on stderr.

    The bar is shown only when stderr is a terminal (``disable=None``), so logs and
    captured output get the :func:`progress` messages alone; stdout is never touched.
    """
    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, disable=None, leave=False)
