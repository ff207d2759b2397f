"""Smoke test of the loss benchmark script: it runs, and writes the rows it promises.

Never asserts on speed: timings on shared test machines are noise.
"""

import json

from benchmarks import bench_losses

NAMES = ["squared_error", "softmax_cross_entropy_with_integer_labels"]


def test_bench_losses_quick_writes_json(tmp_path, capsys):
    out = tmp_path / "results" / "losses.json"
    payload = bench_losses.main(
        ["--quick", "--repeats", "2", "--only", ",".join(NAMES), "--json", str(out)]
    )
    data = json.loads(out.read_text())
    assert data == json.loads(json.dumps(payload))
    assert [row["name"] for row in data["rows"]] == NAMES
    for row in data["rows"]:
        assert row["jaxloss_ms"] > 0 and row["optax_ms"] > 0 and row["ratio"] > 0
        assert len(row["jaxloss_samples_ms"]) == len(row["optax_samples_ms"]) == 2
        assert all(t > 0 for t in row["jaxloss_samples_ms"] + row["optax_samples_ms"])
        assert row["values_agree"] and row["grads_agree"]
    assert data["errors"] == {}
    assert data["machine"]["jax"] and data["machine"]["device_kind"]
    printed = capsys.readouterr().out
    assert "| loss" in printed and NAMES[0] in printed


def test_run_all_writes_report_json_and_chart(tmp_path, capsys):
    from benchmarks import run

    # bench_losses on two losses (its full quick run is 26 compilations, most of this
    # test's time): the report is built from every JSON in the folder, so this one is
    # reported and charted beside the three that run.main runs itself.
    losses_json = tmp_path / "losses_cpu_quick.json"
    bench_losses.main(
        ["--quick", "--repeats", "2", "--only", ",".join(NAMES), "--json", str(losses_json)]
    )
    (tmp_path / "losses_cpu_quick.md").write_text(capsys.readouterr().out)
    argv = ["--quick", "--repeats", "2", "--results", str(tmp_path)]
    assert run.main([*argv, "--only", "ctc,large_vocab,eager"]) == 0
    assert set(run.SCRIPTS) == {"losses", "ctc", "large_vocab", "eager"}
    report = (tmp_path / "report.md").read_text()
    for name in ("losses", "ctc", "large_vocab", "eager"):
        assert f"## {name}_cpu_quick on cpu" in report
    assert "| loss" in report  # the losses table, from its .md
    data = json.loads((tmp_path / "report.json").read_text())
    assert {"losses_cpu_quick", "ctc_cpu_quick", "large_vocab_cpu_quick"} <= set(data)
    eager = data["eager_cpu_quick"]
    assert len(eager["eager"]) == len(eager["compile"]) == 3
    for row in eager["eager"]:
        assert row["jaxloss_us"] > 0 and row["optax_us"] > 0 and row["values_agree"]
    for row in eager["compile"]:
        assert row["jaxloss_s"] > 0 and row["optax_s"] > 0
    frames = [r["frames"] for r in data["ctc_cpu_quick"]["rows"]]
    assert frames == ["padded", "all valid"]
    chart = tmp_path / "ratios.png"
    assert chart.read_bytes()[:4] == b"\x89PNG"
    rows = run.ratio_rows(data)
    assert [r["label"] for r in rows] == [
        "squared_error 256x256",
        "softmax_cross_entropy_with_integer_labels 64x4096",
        "ctc_loss 2x20x8x5 padded",
        "ctc_loss 2x20x8x5 all valid",
    ]
    assert all(r["spread"] is not None and r["spread"][2] == 2 for r in rows)
    # --plot-only redraws the chart from the JSON there, running nothing
    chart.unlink()
    assert run.main(["--plot-only", "--results", str(tmp_path)]) == 0
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_chart_rows_of_the_committed_results():
    from benchmarks import run

    results = run.load_results(run.RESULTS)
    rows = run.ratio_rows(results)
    labels = [r["label"] for r in rows]
    assert len(labels) == len(set(labels))  # one row per (loss, shape/condition)
    for frames in ("padded", "all valid"):
        assert f"ctc_loss 8x200x64x50 {frames}" in labels
    assert "ctc_loss 32x512x256" in labels  # bench_losses' CTC row, with its shape
    for r in rows:  # the committed JSON holds per-round samples: a spread for every row
        q1, q3, n = r["spread"]
        assert q1 <= q3 and n >= 30
    assert run._target_lines(results) == (1.05, 0.5)


def test_time_interleaved_averages_back_to_back_calls():
    import jax.numpy as jnp
    import pytest

    from benchmarks._timing import calls_per_sample, time_interleaved

    calls = {"a": 0, "b": 0}

    def counted(name):
        def fn(x):
            calls[name] += 1
            return x + 1

        return fn

    fns = {"a": counted("a"), "b": counted("b")}
    samples = time_interleaved(fns, (jnp.zeros(3),), 4, warmup=1, number=3)
    # one warm-up call each, then 4 samples of 3 calls each
    assert calls == {"a": 13, "b": 13}
    assert [len(v) for v in samples.values()] == [4, 4]
    assert all(t > 0 for v in samples.values() for t in v)
    assert calls_per_sample(fns, (jnp.zeros(3),), 0.0) == 1
    # a function of ~0 s needs many calls to fill a 10 ms sample
    assert calls_per_sample(fns, (jnp.zeros(3),), 0.01) > 1
    with pytest.raises(ValueError, match="number must be >= 1"):
        time_interleaved(fns, (jnp.zeros(3),), 1, number=0)
