"""python -m jaxloss.demo runs end to end (few steps) and writes its PNG."""

import sys

from jaxloss import demo


def test_demo_runs_and_writes_png(tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert demo.main(["--steps", "15", "--batch-size", "64", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    captured = capsys.readouterr()
    text = captured.out
    assert "| accuracy | NLL " in text
    for name in demo.configurations():
        assert f"| {name}" in text
    assert "ce=" in text and "z=" in text  # the composite's terms are reported separately
    assert "\r" not in text  # no progress bar on stdout
    assert "step/s" not in captured.err  # and none on a stderr that is not a terminal


def test_training_improves_accuracy():
    data = demo.load_digits_split(seed=0)
    objective = demo.configurations()["cross-entropy"]
    history, result = demo.train(objective, data, steps=150, batch_size=128, seed=0)
    assert result["accuracy"] > 0.9
    # the held-out curves the figure plots: every 10 steps and after the last
    assert history["step"] == [*range(1, 150, 10), 150]
    assert len(history["nll"]) == len(history["accuracy"]) == len(history["step"])
    assert history["nll"][-1] < history["nll"][0] and history["accuracy"][-1] > 0.9
    assert abs(history["nll"][-1] - result["nll"]) < 1e-6  # plain CE = this objective


def test_progress_bar_falls_back_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    with demo._progress_bar("cross-entropy", 10) as bar:
        assert bar is None
