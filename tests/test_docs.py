"""The generated documentation pages (API per family, migration tables) are current."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_pages", ROOT / "docs" / "gen_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_pages_are_up_to_date():
    for rel, text in _generator().all_pages().items():
        path = ROOT / "docs" / rel
        assert path.exists() and path.read_text() == text, (
            f"docs/{rel} is stale: run python docs/gen_pages.py")


def test_every_family_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for rel in _generator().api_pages():
        assert rel in nav, rel


def test_every_loss_is_documented_once():
    import jaxloss

    text = "\n".join((ROOT / "docs" / rel).read_text() for rel in _generator().api_pages())
    for name in jaxloss.names():
        assert text.count(f"::: jaxloss.{name}\n") == 1, name
