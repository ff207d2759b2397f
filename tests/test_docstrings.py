"""Every registered loss's docstring follows the project's template.

In order: a one-line summary, the formula as a ``$$`` block, ``Args:`` (every parameter of
the signature), ``Returns:``, ``Raises:``, ``Note:`` (optional), ``Examples:``, and a final
paragraph that names the equivalent function of optax, PyTorch, Keras or rax (``Equivalent
to ...``, or ``No direct equivalent in optax, PyTorch or Keras`` and the closest one).
Docstrings are Markdown: no reStructuredText roles or directives. Reads text only (no jax
computation).
"""

from __future__ import annotations

import inspect
import re

import pytest

import jaxloss

NAMES = jaxloss.names()

SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")  # a Google-style section header line
REQUIRED = ("Args:", "Returns:", "Raises:", "Examples:")
KNOWN = {*REQUIRED, "Note:"}
RST = (".. math::", ":math:", ":func:", ":class:", ":meth:", ":attr:")
FINAL = ("Equivalent to", "No direct equivalent in optax, PyTorch or Keras", "Closest to")


def _doc(name: str) -> str:
    return inspect.getdoc(jaxloss.info(name).fn) or ""


def _sections(doc: str) -> list[tuple[str, int]]:
    """The section headers (unindented ``Word:`` lines) with their line numbers."""
    return [
        (m.group(0).strip(), i)
        for i, line in enumerate(doc.splitlines())
        if (m := SECTION.match(line))
    ]


def _section_body(doc: str, header: str) -> list[str]:
    """The lines of a section: the indented block after its header."""
    lines = doc.splitlines()
    start = lines.index(header) + 1
    body = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        body.append(line)
    return body


@pytest.mark.parametrize("name", NAMES)
def test_summary_line(name):
    lines = _doc(name).splitlines()
    assert lines and lines[0].strip(), f"{name}: no one-line summary"
    assert len(lines) == 1 or not lines[1].strip(), f"{name}: the summary is not one line"


@pytest.mark.parametrize("name", NAMES)
def test_sections_in_order(name):
    found = [header for header, _ in _sections(_doc(name))]
    unknown = [h for h in found if h not in KNOWN]
    assert not unknown, f"{name}: unexpected sections {unknown}"
    for header in REQUIRED:
        assert found.count(header) == 1, f"{name}: needs exactly one {header!r} section"
    expected = [h for h in ("Args:", "Returns:", "Raises:", "Note:", "Examples:") if h in found]
    assert found == expected, f"{name}: sections {found}, expected the order {expected}"


@pytest.mark.parametrize("name", NAMES)
def test_formula_before_args(name):
    doc = _doc(name)
    head = doc[: doc.find("\nArgs:")]
    assert head.count("$$") >= 2, f"{name}: no $$ ... $$ formula block before 'Args:'"


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_documented(name):
    fn = jaxloss.info(name).fn
    body = "\n".join(_section_body(_doc(name), "Args:"))
    params = list(inspect.signature(fn).parameters)
    missing = [p for p in params if not re.search(rf"^  {re.escape(p)}( \([^)]*\))?:", body, re.M)]
    assert not missing, f"{name}: parameters not documented in 'Args:': {missing}"
    documented = re.findall(r"^  (\w+)( \([^)]*\))?:", body, re.M)
    assert [d[0] for d in documented] == params, f"{name}: 'Args:' is not in signature order"


@pytest.mark.parametrize("name", NAMES)
def test_raises_lists_errors(name):
    body = [line for line in _section_body(_doc(name), "Raises:") if line.strip()]
    entries = [line for line in body if re.match(r"^  \w+(Error|Exception):", line)]
    assert entries, f"{name}: 'Raises:' lists no exception (``  ValueError: if ...``)"


@pytest.mark.parametrize("name", NAMES)
def test_final_paragraph_names_equivalent(name):
    doc = _doc(name).rstrip()
    last = doc.split("\n\n")[-1]
    assert not last.startswith(" "), f"{name}: the final paragraph is inside a section"
    assert last.startswith(FINAL), (
        f"{name}: the final paragraph must start with 'Equivalent to' (or 'No direct "
        f"equivalent in optax, PyTorch or Keras'), got {last[:60]!r}"
    )
    examples = max(i for header, i in _sections(doc) if header == "Examples:")
    assert len(doc.splitlines()) - len(last.splitlines()) > examples, (
        f"{name}: the final paragraph is not after 'Examples:'"
    )


@pytest.mark.parametrize("name", NAMES)
def test_no_restructuredtext(name):
    doc = _doc(name)
    found = [r for r in RST if r in doc]
    assert not found, f"{name}: reStructuredText left in the docstring: {found}"
