"""mkdocs hooks (registered under ``hooks:`` in mkdocs.yml).

* The notebooks ``notebooks/0*.ipynb`` become site pages without moving them: they are
  added to the site's files, where the mkdocs-jupyter plugin renders them (unexecuted).
* MathJax comes from the installed ``django-static-mathjax`` package (MathJax 3.2.2) and is
  copied into the built site under ``mathjax/``, so formulas render without the network.
* mkdocs-jupyter's notebook template links MathJax 2 and mermaid from a CDN; those script
  tags are dropped (the page already loads the local MathJax).
"""

from __future__ import annotations

import pathlib
import re

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = "notebooks/0*.ipynb"

# What tex-chtml.js needs at run time (relative to es5/): the combined component itself, the
# CHTML fonts it loads, the TeX extensions it may autoload and the menu / assistive parts.
MATHJAX_PARTS = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y", "ui")
SITE_PREFIX = "mathjax"

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)
_REMOTE = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", re.IGNORECASE)


def _drop_remote_script(match: re.Match) -> str:
    attrs, body = match.group(1), match.group(2)
    if 'src=""' in attrs or _REMOTE.search(attrs) or "import(" in body and _REMOTE.search(body):
        return ""
    return match.group(0)


def mathjax_dir() -> pathlib.Path:
    """The ``es5`` folder of the installed MathJax (``pip install django-static-mathjax``)."""
    try:
        import mathjax  # the django-static-mathjax package
    except ImportError as error:  # pragma: no cover - a clear message for a missing extra
        raise SystemExit(
            'docs/hooks.py: MathJax is missing; run pip install -e ".[docs]" '
            "(django-static-mathjax)"
        ) from error
    es5 = pathlib.Path(mathjax.__path__[0]) / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        raise SystemExit(f"docs/hooks.py: no tex-chtml.js under {es5}")
    return es5


def _mathjax_files(config) -> list[File]:
    es5 = mathjax_dir()
    files = []
    for part in MATHJAX_PARTS:
        path = es5 / part
        paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for p in paths:
            rel = p.relative_to(es5).as_posix()
            files.append(File.generated(config, f"{SITE_PREFIX}/{rel}", abs_src_path=str(p)))
    return files


@event_priority(100)  # before mkdocs-jupyter's on_files, which claims the .ipynb files
def on_files(files, config):
    for path in sorted(ROOT.glob(NOTEBOOKS)):
        rel = path.relative_to(ROOT).as_posix()
        files.append(
            File(
                rel,
                src_dir=str(ROOT),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    for file in _mathjax_files(config):
        files.append(file)
    return files


def on_page_content(html, page, config, files):
    if page.file.src_uri.endswith(".ipynb"):
        html = _SCRIPT.sub(_drop_remote_script, html)
    return html
