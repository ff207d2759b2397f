"""The notebooks in notebooks/: each executes from its sources with nbclient (small sizes,
a few seconds each), and each is committed executed, with its outputs and plots."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PLOTTING = {"01_tour", "02_training_flax", "04_large_vocabulary", "05_post_training"}


def test_the_five_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01_tour.ipynb",
        "02_training_flax.ipynb",
        "03_haiku_and_equinox.ipynb",
        "04_large_vocabulary.ipynb",
        "05_post_training.ipynb",
    ]


def _errors(nb):
    return [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def _images(nb):
    return [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # run from the sources alone, not the committed outputs
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    assert not _errors(nb)
    if path.stem in PLOTTING:
        assert _images(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_executed(path):
    """notebooks/build_notebooks.py writes them executed, so they render with outputs."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert all(c.outputs for c in code[:1])  # the first cell of each prints something
    assert not _errors(nb)
    assert bool(_images(nb)) == (path.stem in PLOTTING)
    for cell in code:  # no execution timestamps (they would change on every rebuild)
        assert "execution" not in cell.metadata
