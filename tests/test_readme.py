"""The README's Python examples run, and its Quickstart matches .ci/run."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    runnable = [b for b in blocks if "NAME(" not in b]
    assert runnable
    for block in runnable:
        exec(compile(block, "README.md", "exec"), {})


def test_ci_runs_the_quickstart_test_command():
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    test_command = next(c for c in commands if "[test]" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()
