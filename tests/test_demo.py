"""python -m jaxloss.demo runs end to end (few steps) and writes its PNG."""

from jaxloss import demo


def test_demo_runs_and_writes_png(tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert demo.main(["--steps", "15", "--batch-size", "64", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    for name in demo.configurations():
        assert f"| {name}" in text
    assert "ce=" in text and "z=" in text  # the composite's terms are reported separately


def test_training_improves_accuracy():
    data = demo.load_digits_split(seed=0)
    objective = demo.configurations()["cross-entropy"]
    _, result = demo.train(objective, data, steps=150, batch_size=128, seed=0)
    assert result["accuracy"] > 0.9
