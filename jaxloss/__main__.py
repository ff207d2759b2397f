"""``python -m jaxloss``: print the catalogue of every loss."""

from __future__ import annotations

import sys

import jaxloss


def catalogue() -> str:
    """A markdown table: every loss, its family, inputs and its optax/PyTorch/Keras twin."""
    rows = []
    for name in jaxloss.names():
        entry = jaxloss.info(name)
        rows.append(
            (
                name + ("" if not entry.aliases else f" [{', '.join(entry.aliases)}]"),
                entry.family,
                entry.inputs,
                entry.optax or "-",
                entry.torch or "-",
                entry.keras or "-",
            )
        )
    header = ("loss [aliases]", "family", "inputs", "optax", "PyTorch", "Keras")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    fmt = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    lines = [fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt(r) for r in sorted(rows, key=lambda r: (r[1], r[0]))]
    families = sorted({jaxloss.info(n).family for n in jaxloss.names()})
    lines.append("")
    lines.append(
        f"jaxloss {jaxloss.__version__}: {len(rows)} losses in {len(families)} families "
        f"({', '.join(families)})."
    )
    return "\n".join(lines)


def main() -> int:
    print(catalogue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
