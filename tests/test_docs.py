"""The generated documentation pages (API per family, migration tables) are current."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_pages", ROOT / "docs" / "gen_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_files_are_up_to_date():
    """The API and migration pages, the package's re-exports and the README's catalogue
    are written from the registry."""
    for rel, text in _generator().generated_files().items():
        path = ROOT / rel
        assert path.exists() and path.read_text() == text, (
            f"{rel} is stale: run python docs/gen_pages.py"
        )


def test_every_family_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for rel in _generator().api_pages():
        assert rel in nav, rel


def test_every_loss_is_documented_once():
    import jaxloss

    text = "\n".join((ROOT / "docs" / rel).read_text() for rel in _generator().api_pages())
    for name in jaxloss.names():
        assert text.count(f"::: jaxloss.{name}\n") == 1, name


def _site_checker():
    spec = importlib.util.spec_from_file_location("check_site", ROOT / "docs" / "check_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ENTRY = (
    '<div class="doc doc-object doc-function"><h2 id="jaxloss.huber_loss" '
    'class="doc doc-heading">huber_loss</h2><div class="doc doc-contents">{}</div></div>'
)


def test_site_check_passes_a_clean_page():
    check = _site_checker()
    page = (
        '<html><head><script src="../../mathjax/tex-chtml.js"></script></head><body>'
        + _ENTRY.format(
            '<p>See <a href="#jaxloss.l2_loss"><code>l2_loss</code></a>.</p>'
            '<div class="arithmatex">\\[\\ell_i = r_i^2\\]</div>'
        )
        + "</body></html>"
    )
    assert check.page_problems(page, ["huber_loss"]) == []


def test_site_check_finds_raw_rst_roles_and_math():
    check = _site_checker()
    for raw in (
        ":func:<code>l2_loss</code>",
        ":class:`Loss`",
        ":math:`x`",
        ".. math::",
        ":meth:<code>Loss.config</code>",
        ":attr:`LossInfo.ranges`",
        ":mod:`jax`",
    ):
        problems = check.page_problems(f"<html><body><p>See {raw}.</p></body></html>")
        assert len(problems) == 1 and "raw reStructuredText" in problems[0], raw
    # the same text inside a script or a style is not page text
    assert check.page_problems("<script>var a = ':func:`x`';</script>") == []


def test_site_check_finds_cdn_scripts_and_missing_formulas():
    check = _site_checker()
    cdn = '<script src="https://unpkg.com/mathjax@3/es5/tex-mml-chtml.js"></script>'
    assert "network" in " ".join(check.page_problems(cdn))
    module = '<script type="module">const m = await import("https://cdn.example.org/m.js")</script>'
    assert "network" in " ".join(check.page_problems(module))
    no_formula = _ENTRY.format("<p>Huber loss, written as text.</p>")
    problems = check.page_problems(no_formula, ["huber_loss"])
    assert len(problems) == 1 and "jaxloss.huber_loss" in problems[0]


def test_site_check_finds_a_loss_without_an_api_entry(tmp_path):
    check = _site_checker()
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "index.html").write_text(_ENTRY.format('<div class="arithmatex"></div>'))
    assert check.check_site(tmp_path, ["huber_loss"], ["huber_loss"]) == []
    problems = check.check_site(tmp_path, ["huber_loss", "l2_loss"], [])
    assert len(problems) == 1 and "jaxloss.l2_loss" in problems[0]
