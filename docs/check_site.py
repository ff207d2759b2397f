"""Checks a built documentation site: ``python docs/check_site.py SITE_DIR``.

Fails (exit status 1, one line per problem naming the page) when

* reStructuredText is left in a page's text (``.. math::``, ``:math:``, ``:func:``,
  ``:class:``, ``:meth:``, ``:attr:``, ``:mod:``): docstrings are Markdown;
* a registered loss (``jaxloss.names()``) has no API entry (an element with
  ``id="jaxloss.<name>"`` on an ``api/`` page);
* a loss whose docstring has a formula (``$``) has no rendered formula
  (``class="arithmatex"``) inside its entry;
* a page loads a script from an http(s) URL (no CDN: the site works offline).
"""

from __future__ import annotations

import html.parser
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

RAW_RST = re.compile(r"\.\. math::|:(?:math|func|class|meth|attr|mod):(?=[`\S])")
REMOTE_URL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
REMOTE_IMPORT = re.compile(r"""\bimport\b[^;'"]*\(?\s*['"](?:https?:)?//""", re.IGNORECASE)
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "param",
    "source",
    "track",
    "wbr",
}


class _Page(html.parser.HTMLParser):
    """Visible text, script sources and, per element id, the ids and classes inside the
    element that holds it (a mkdocstrings entry is the heading's parent)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.scripts: list[str] = []  # src attributes
        self.inline_scripts: list[str] = []
        self.ids: set[str] = set()
        self._stack: list[dict] = []  # open elements: tag, id, classes seen inside
        self.entry_classes: dict[str, set[str]] = {}
        self._skip = 0  # inside <script> / <style>
        self._script_body: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        for node in self._stack:
            node["inside"] |= classes
        if attrs.get("id"):
            self.ids.add(attrs["id"])
            if self._stack:  # the entry is the parent element
                self._stack[-1]["owns"].append(attrs["id"])
        if tag == "script":
            if attrs.get("src") is not None:
                self.scripts.append(attrs["src"])
            self._script_body = []
        if tag in ("script", "style"):
            self._skip += 1
        if tag not in VOID:
            self._stack.append({"tag": tag, "inside": set(), "owns": []})

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
            if tag == "script" and self._script_body is not None:
                self.inline_scripts.append("".join(self._script_body))
                self._script_body = None
        if not any(node["tag"] == tag for node in self._stack):
            return  # stray end tag
        while self._stack:
            node = self._stack.pop()
            for owned in node["owns"]:
                self.entry_classes[owned] = node["inside"]
            if node["tag"] == tag:
                break

    def handle_data(self, data):
        if self._skip:
            if self._script_body is not None:
                self._script_body.append(data)
            return
        self.text.append(data)

    def close(self):
        super().close()
        while self._stack:
            self.handle_endtag(self._stack[-1]["tag"])


def parse(html_text: str) -> _Page:
    page = _Page()
    page.feed(html_text)
    page.close()
    return page


def raw_rst(page: _Page) -> list[str]:
    """The raw reStructuredText constructs left in a page's visible text."""
    text = "".join(page.text)
    found = []
    for match in RAW_RST.finditer(text):
        snippet = " ".join(text[max(0, match.start() - 30) : match.end() + 30].split())
        found.append(f"raw reStructuredText {match.group(0)!r} in '...{snippet}...'")
    return found


def remote_scripts(page: _Page) -> list[str]:
    """Scripts that the page loads from the network."""
    found = [f"script from the network: {src}" for src in page.scripts if REMOTE_URL.match(src)]
    found += [
        f"script imports from the network: {m.group(0).strip()}"
        for body in page.inline_scripts
        for m in REMOTE_IMPORT.finditer(body)
    ]
    return found


def missing_formulas(page: _Page, names_with_formula) -> list[str]:
    """Losses on the page whose entry should show a formula but has no arithmatex element."""
    return [
        f"jaxloss.{name}: its docstring has a formula but its entry has no rendered "
        'formula (class="arithmatex")'
        for name in names_with_formula
        if f"jaxloss.{name}" in page.entry_classes
        and "arithmatex" not in page.entry_classes[f"jaxloss.{name}"]
    ]


def page_problems(html_text: str, names_with_formula=()) -> list[str]:
    """Every problem of one page (missing API entries are a whole-site check)."""
    page = parse(html_text)
    return raw_rst(page) + remote_scripts(page) + missing_formulas(page, names_with_formula)


def check_site(site: pathlib.Path, names, names_with_formula) -> list[str]:
    problems = []
    pages = sorted(site.rglob("*.html"))
    if not pages:
        return [f"{site}: no HTML pages (is this a built site?)"]
    api_ids: set[str] = set()
    for path in pages:
        rel = path.relative_to(site).as_posix()
        page = parse(path.read_text(encoding="utf-8"))
        problems += [
            f"{rel}: {p}"
            for p in raw_rst(page)
            + remote_scripts(page)
            + missing_formulas(page, names_with_formula)
        ]
        if rel.startswith("api/"):
            api_ids |= page.ids
    problems += [
        f"api/: jaxloss.{name} is registered but has no API entry "
        f'(no id="jaxloss.{name}" on an api page)'
        for name in names
        if f"jaxloss.{name}" not in api_ids
    ]
    return problems


def registered_losses():
    """``(names, names whose docstring has a formula)`` from the installed jaxloss."""
    import inspect

    sys.path.insert(0, str(ROOT))
    import jaxloss

    names = list(jaxloss.names())
    with_formula = [n for n in names if "$" in (inspect.getdoc(getattr(jaxloss, n)) or "")]
    return names, with_formula


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python docs/check_site.py SITE_DIR", file=sys.stderr)
        return 2
    site = pathlib.Path(argv[0])
    names, with_formula = registered_losses()
    problems = check_site(site, names, with_formula)
    for problem in problems:
        print(f"check_site: {problem}", file=sys.stderr)
    if problems:
        print(f"check_site: {len(problems)} problem(s) in {site}", file=sys.stderr)
        return 1
    print(f"check_site: {site} ok ({len(names)} losses, {len(with_formula)} with formulas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
