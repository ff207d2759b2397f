"""Writes what is generated from the registry: one API page per family, the optax /
PyTorch / Keras migration tables, the package's re-exports of every loss and alias
(``jaxloss/__init__.py``) and the README's catalogue table.

Run ``python docs/gen_pages.py`` after adding a loss; ``tests/test_docs.py`` fails when
a generated file is out of date.
"""

from __future__ import annotations

import html
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import importlib  # noqa: E402

import jaxloss  # noqa: E402
from jaxloss import _registry  # noqa: E402

# Import every family module (each registers its losses), so that the registry is
# complete even while the package's generated exports are being written.
for _family in _registry.FAMILIES:
    importlib.import_module(f"jaxloss._{_family}")


def _title(family: str) -> str:
    return _registry.FAMILIES[family]


# Pages with one big table: no right-hand table of contents, the table gets the width.
FRONT_MATTER = ["---", "hide:", "  - toc", "---", ""]


def _name_cell(text: str | None) -> str:
    """A dotted library name as code that may wrap after a dot or before a parenthesis,
    never inside a word."""
    if not text:
        return "-"
    text = html.escape(text).replace(".", ".<wbr>").replace("(", "<wbr>(")
    return f"<code>{text}</code>"


def api_pages() -> dict[str, str]:
    families: dict[str, list[str]] = {}
    for name in jaxloss.names():
        families.setdefault(jaxloss.info(name).family, []).append(name)
    pages = {}
    for family, names in sorted(
        families.items(), key=lambda kv: list(_registry.FAMILIES).index(kv[0])
    ):
        lines = [*FRONT_MATTER, f"# {_title(family)} losses", ""]
        # optax, PyTorch and Keras always; rax on the pages where a loss has one
        libs = [k for k in _registry.LIBRARIES if k != "rax"]
        if any(jaxloss.info(n).rax for n in names):
            libs.append("rax")
        lines.append("| loss | inputs | " + " | ".join(_registry.LIBRARIES[k] for k in libs) + " |")
        lines.append("|---|---|" + "---|" * len(libs))
        for name in names:
            info = jaxloss.info(name)
            cells = " | ".join(_name_cell(getattr(info, k)) for k in libs)
            lines.append(f"| [`{name}`](#jaxloss.{name}) | {info.inputs} | {cells} |")
        lines.append("")
        for name in names:
            lines += [f"::: jaxloss.{name}", ""]
        pages[f"api/{family}.md"] = "\n".join(lines)
    return pages


def migration_pages() -> dict[str, str]:
    pages = {}
    for key, title in _registry.LIBRARIES.items():
        lines = [
            *FRONT_MATTER,
            f"# Migrating from {title}",
            "",
            f"Every {title} function that jaxloss covers, name for name. All jaxloss losses "
            "take the data first and options as keywords, and share `reduction` "
            '(default `"mean"`), `where` and `weights`; `reduction="none"` gives the '
            "per-example values.",
            "",
            f"| {title} | jaxloss | differences |",
            "|---|---|---|",
        ]
        for name in jaxloss.names():
            theirs = getattr(jaxloss.info(name), key)
            if theirs:
                note = jaxloss.info(name).notes.get(key, "")
                lines.append(
                    f"| `{theirs}` | [`jaxloss.{name}`](../api/"
                    f"{jaxloss.info(name).family}.md#jaxloss.{name}) | {note} |"
                )
        pages[f"migration/{key}.md"] = "\n".join(lines) + "\n"
    return pages


def all_pages() -> dict[str, str]:
    return {**api_pages(), **migration_pages()}


EXPORTS_BEGIN = "# --- generated from the registry by `python docs/gen_pages.py`: do not edit ---\n"
EXPORTS_END = "# --- end of the generated exports ---\n"


def package_exports() -> str:
    """The block of ``jaxloss/__init__.py`` that re-exports every loss and alias.

    Explicit ``from ... import x as x`` lines, as jax.nn writes them, so that readers,
    IDEs, type checkers and the documentation tools see every name; ``__all__`` lists
    them with the hand-written names above the block.
    """
    rows = []
    for name in jaxloss.names():
        entry = jaxloss.info(name)
        module = entry.fn.__module__
        rows += [(module, name, name)] + [(module, name, alias) for alias in entry.aliases]
    lines = [EXPORTS_BEGIN]
    for module, name, alias in sorted(rows):
        line = f"from {module} import {name} as {alias}\n"
        if len(line) > 101:  # as ruff format writes it (line length 100)
            line = f"from {module} import (\n    {name} as {alias},\n)\n"
        lines.append(line)
    lines.append("\n__all__ += [\n")
    lines += [f'    "{a}",\n' for _, _, a in sorted(rows, key=lambda r: r[2])]
    lines.append("]\n")
    lines.append(EXPORTS_END)
    return "".join(lines)


CATALOGUE_BEGIN = "<!-- catalogue: generated from the registry by `python docs/gen_pages.py` -->\n"
CATALOGUE_END = "<!-- end of the catalogue -->\n"


def readme_catalogue() -> str:
    """The README's table of families and their losses (aliases in brackets)."""
    lines = [CATALOGUE_BEGIN, "| family | losses |\n", "|---|---|\n"]
    for family, title in _registry.FAMILIES.items():
        cells = []
        for name in jaxloss.names():
            entry = jaxloss.info(name)
            if entry.family == family:
                alias = "".join(f" [`{a}`]" for a in entry.aliases)
                cells.append(f"`{name}`{alias}")
        if cells:
            lines.append(f"| [{title}](docs/api/{family}.md) | {', '.join(cells)} |\n")
    lines.append(CATALOGUE_END)
    return "".join(lines)


def _splice(text: str, begin: str, end: str, block: str, path: str) -> str:
    if begin not in text or end not in text:
        raise SystemExit(f"gen_pages: {path} has no generated block ({begin.strip()!r})")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + block + tail


def generated_files() -> dict[str, str]:
    """Every generated file, by path from the repository root, with its current text."""
    files = {f"docs/{rel}": text for rel, text in all_pages().items()}
    for rel, begin, end, block in (
        ("jaxloss/__init__.py", EXPORTS_BEGIN, EXPORTS_END, package_exports()),
        ("README.md", CATALOGUE_BEGIN, CATALOGUE_END, readme_catalogue()),
    ):
        files[rel] = _splice((ROOT / rel).read_text(), begin, end, block, rel)
    return files


def main() -> int:
    for rel, text in generated_files().items():
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print("wrote", rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
