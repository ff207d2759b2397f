"""Writes the generated documentation pages from the registry: one API page per family
and the optax / PyTorch / Keras migration tables.

Run ``python docs/gen_pages.py`` after adding a loss; ``tests/test_docs.py`` fails when
the committed pages are out of date.
"""

from __future__ import annotations

import html
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jaxloss  # noqa: E402

FAMILY_TITLES = {
    "regression": "Regression",
    "classification": "Classification",
    "margin": "Margin and hinge",
    "divergence": "Divergences",
    "sequence": "Sequence (CTC)",
    "metric": "Metric learning",
    "self_supervised": "Self-supervised",
    "ranking": "Ranking",
    "segmentation": "Segmentation",
    "large_vocab": "Large vocabulary",
}

# Argument differences worth knowing when moving a call over, per library.
NOTES = {
    "optax": {
        "kl_divergence": "optax clips nothing and gives NaN gradients at zero targets; "
        "jaxloss gives finite ones.",
        "cosine_similarity": "optax floors the squared norm with `epsilon` (default 0: NaN "
        "for zero vectors); jaxloss floors the norm: optax `epsilon=e**2` equals jaxloss "
        "`epsilon=e`.",
        "cosine_distance": "see cosine_similarity.",
        "sigmoid_binary_cross_entropy": "jaxloss adds `pos_weight` and `label_smoothing`; "
        "agreeing infinite logits give 0, not NaN.",
        "softmax_cross_entropy": "jaxloss adds `label_smoothing`, `class_weights`, "
        "`temperature`; a `where` over examples or (same ndim) over classes.",
        "softmax_cross_entropy_with_integer_labels": "jaxloss adds `ignore_index`, "
        "`label_smoothing`, `class_weights`, `z_loss`; labels out of range give NaN "
        "instead of wrapping.",
        "huber_loss": "`delta` keyword-only.",
        "triplet_margin_loss": "`norm_degree` is `p`; jaxloss takes absolute values "
        "(a true p-norm).",
        "ctc_loss": "same arguments; `zero_infinity` added; never negative.",
        "hinge_loss": "`predictor_outputs, targets` are `predictions, labels`.",
    },
    "torch": {
        "softmax_cross_entropy_with_integer_labels": "`input, target` are `logits, labels`; "
        "`weight` is `class_weights`; `reduction='mean'` divides by the summed class "
        "weights as PyTorch does.",
        "binary_cross_entropy": "PyTorch clamps the log at -100; jaxloss clips "
        "probabilities to [epsilon, 1 - epsilon].",
        "gaussian_nll_loss": "`var` is `variance` (broadcastable to the predictions).",
        "kl_divergence": "PyTorch's `kl_div(input, target)` takes log-predictions first, "
        "as jaxloss does. `reduction='batchmean'` divides the total by the size of the "
        "first axis, so it equals jaxloss's `'mean'` only for 2-D input `[N, C]`; for "
        "`[N, C, d1, ...]` it is jaxloss's `'sum'` divided by N. PyTorch's `'mean'` "
        "averages over every element (jaxloss `'mean'` divided by C).",
        "sigmoid_binary_cross_entropy": "`pos_weight` is the same. PyTorch's `weight` "
        "rescales each element and its `'mean'` is `mean(w * l)`; jaxloss's `weights` "
        "`'mean'` is `sum(w * l) / sum(w)`: use `reduction='sum'` and divide by the "
        "element count for PyTorch's figure.",
        "categorical_cross_entropy": "equals `nll_loss(log(p), target, weight=w)`, with the "
        "same weighted `'mean'` (divided by the summed class weights of the targets).",
        "smooth_l1_loss": "same `beta`.",
        "huber_loss": "PyTorch's `huber_loss(delta)` is the same function.",
        "poisson_nll_loss": "`eps` is `epsilon`.",
    },
    "keras": {
        "squared_error": "Keras averages over the last axis; jaxloss is elementwise.",
        "absolute_percentage_error": "Keras averages over the last axis.",
        "categorical_cross_entropy": "`from_logits=False` form; use "
        "`softmax_cross_entropy` for logits. Keras first rescales the predicted "
        "probabilities to sum to 1 over the class axis; jaxloss uses them as given "
        "(they are equal for normalized probabilities).",
        "binary_cross_entropy": "Keras averages over the last axis.",
    },
}


def _title(family: str) -> str:
    return FAMILY_TITLES.get(family, family.replace("_", " ").capitalize())


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
    for family, names in sorted(families.items()):
        lines = [*FRONT_MATTER, f"# {_title(family)} losses", ""]
        lines.append("| loss | inputs | optax | PyTorch | Keras |")
        lines.append("|---|---|---|---|---|")
        for name in names:
            info = jaxloss.info(name)
            lines.append(
                f"| [`{name}`](#jaxloss.{name}) | {info.inputs} | {_name_cell(info.optax)} | "
                f"{_name_cell(info.torch)} | {_name_cell(info.keras)} |"
            )
        lines.append("")
        for name in names:
            lines += [f"::: jaxloss.{name}", ""]
        pages[f"api/{family}.md"] = "\n".join(lines)
    return pages


def migration_pages() -> dict[str, str]:
    titles = {"optax": "optax", "torch": "PyTorch", "keras": "Keras"}
    pages = {}
    for key, title in titles.items():
        lines = [
            *FRONT_MATTER,
            f"# Migrating from {title}",
            "",
            f"Every {title} function that jaxloss covers, name for name. All jaxloss losses "
            "take the data first and options as keywords, and share `reduction` "
            "(default `\"mean\"`), `where` and `weights`; `reduction=\"none\"` gives the "
            "per-example values.",
            "",
            f"| {title} | jaxloss | differences |",
            "|---|---|---|",
        ]
        for name in jaxloss.names():
            theirs = getattr(jaxloss.info(name), key)
            if theirs:
                note = NOTES[key].get(name, "")
                lines.append(f"| `{theirs}` | [`jaxloss.{name}`](../api/"
                             f"{jaxloss.info(name).family}.md#jaxloss.{name}) | {note} |")
        pages[f"migration/{key}.md"] = "\n".join(lines) + "\n"
    return pages


def all_pages() -> dict[str, str]:
    return {**api_pages(), **migration_pages()}


def main() -> int:
    for rel, text in all_pages().items():
        path = ROOT / "docs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print("wrote", path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
