"""``python -m jaxloss.demo``: train one small classifier per loss configuration.

A Flax NNX MLP is trained with an optax optimizer on scikit-learn's bundled digits
dataset (8x8 images, 10 classes; no download), once for each of: plain cross-entropy,
label-smoothed cross-entropy, focal loss, poly loss, and cross-entropy plus z-loss (a
``jaxloss.combine`` objective whose two terms are logged separately). Every ``k``
steps the model is evaluated on the held-out split with two measures that mean the same
for every configuration: accuracy and the negative log-likelihood (plain softmax
cross-entropy of the logits), whatever loss it is trained on. It prints a table of the
final held-out accuracy, NLL and training objective, and saves the held-out curves as
a PNG. A progress bar goes to stderr when stderr is a terminal and tqdm is installed.

Needs the ``examples`` extra: ``pip install -e ".[examples]"``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss


def load_digits_split(seed: int = 0, test_fraction: float = 0.25):
    """Standardized digits features and labels, split into train and held-out sets."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data.astype(np.float32) / 16.0
    y = data.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(0), x[train].std(0) + 1e-3
    x = (x - mean) / std
    return (x[train], y[train]), (x[test], y[test])


def configurations(num_classes: int = 10) -> dict[str, jaxloss.Combined]:
    """The loss configurations the demo trains, each as a ``combine`` objective.

    Every objective is called as ``objective(logits, labels)`` with integer labels.
    """

    def one_hot(fn):
        return lambda logits, labels: fn(logits, jax.nn.one_hot(labels, num_classes))

    ce = jaxloss.get("softmax_cross_entropy_with_integer_labels")
    return {
        "cross-entropy": jaxloss.combine(ce=ce),
        "label smoothing 0.1": jaxloss.combine(
            ce=jaxloss.get("softmax_cross_entropy_with_integer_labels", label_smoothing=0.1)
        ),
        "focal (gamma=2)": jaxloss.combine(
            focal=one_hot(jaxloss.get("softmax_focal_loss", gamma=2.0))
        ),
        "poly-1 (epsilon=2)": jaxloss.combine(
            poly=one_hot(jaxloss.get("poly_loss_cross_entropy", epsilon=2.0))
        ),
        "CE + z-loss 1e-3": jaxloss.combine(ce=ce, z=(jaxloss.get("z_loss"), 1e-3, (0,))),
    }


def train(
    objective,
    data,
    *,
    steps: int,
    batch_size: int,
    seed: int,
    eval_every: int = 10,
    progress=None,
):
    """Trains a fresh MLP on ``objective``; returns the history and the held-out result.

    Every ``eval_every`` steps (and after the last) the history records the step, the
    minibatch objective (``train``), and on the held-out split the accuracy
    (``accuracy``), the negative log-likelihood (``nll``: softmax cross-entropy of the
    logits, the same measure for every objective), the objective (``test``) and its
    unweighted terms (``terms``). ``progress``, if given, is called with 1 after each
    step (e.g. a tqdm bar's ``update``).
    """
    import optax
    from flax import nnx

    (x_train, y_train), (x_test, y_test) = data

    class MLP(nnx.Module):
        def __init__(self, rngs: nnx.Rngs):
            self.hidden = nnx.Linear(64, 128, rngs=rngs)
            self.out = nnx.Linear(128, 10, rngs=rngs)

        def __call__(self, x):
            return self.out(jax.nn.gelu(self.hidden(x)))

    model = MLP(nnx.Rngs(seed))
    optimizer = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x, y):
        def loss_fn(model):
            return objective(model(x), y)

        (total, terms), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
        optimizer.update(model, grads)
        return total, terms

    @nnx.jit
    def evaluate(model, x, y):
        logits = model(x)
        total, terms = objective(logits, y)
        nll = jaxloss.softmax_cross_entropy_with_integer_labels(logits, y)
        accuracy = jnp.mean(jnp.argmax(logits, -1) == y)
        return total, terms, nll, accuracy

    rng = np.random.default_rng(seed)
    history: dict[str, list] = {
        "step": [],
        "train": [],
        "test": [],
        "nll": [],
        "accuracy": [],
        "terms": [],
    }
    for i in range(steps):
        batch = rng.choice(len(y_train), batch_size, replace=False)
        total, terms = step(model, optimizer, x_train[batch], y_train[batch])
        if i % eval_every == 0 or i == steps - 1:
            test_total, test_terms, nll, accuracy = evaluate(model, x_test, y_test)
            history["step"].append(i + 1)
            history["train"].append(float(total))
            history["test"].append(float(test_total))
            history["nll"].append(float(nll))
            history["accuracy"].append(float(accuracy))
            history["terms"].append({k: float(v) for k, v in test_terms.items()})
        if progress is not None:
            progress(1)
    test_total, test_terms, nll, accuracy = evaluate(model, x_test, y_test)
    result = {
        "accuracy": float(accuracy),
        "nll": float(nll),
        "test_loss": float(test_total),
        "test_terms": {k: float(v) for k, v in test_terms.items()},
    }
    return history, result


def _progress_bar(label: str, total: int):
    """A tqdm bar on stderr (hidden when stderr is not a terminal), or none without tqdm."""
    try:
        from tqdm import tqdm
    except ImportError:
        return contextlib.nullcontext(None)
    return tqdm(
        total=total, desc=f"{label:<22}", unit="step", file=sys.stderr, disable=None, leave=True
    )


def figure(histories: dict):
    """Two panels over training steps: held-out NLL and held-out accuracy, one legend."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    fig, (ax_nll, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.6))
    for i, (name, h) in enumerate(histories.items()):
        # earlier runs drawn wider, so a run hidden under a later one still shows
        lw = 1.2 + 0.4 * (len(histories) - 1 - i)
        ax_nll.plot(h["step"], h["nll"], label=name, lw=lw)
        ax_acc.plot(h["step"], h["accuracy"], label=name, lw=lw)
    ax_nll.set(
        title="held-out negative log-likelihood (lower is better)",
        xlabel="training step",
        ylabel="softmax cross-entropy of the logits (log scale)",
        yscale="log",
    )
    ax_acc.set(
        title="held-out accuracy (higher is better)",
        xlabel="training step",
        ylabel="fraction of held-out digits correct (axis from 0.8)",
        ylim=(0.8, 1.0),
    )
    ax_nll.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax_nll.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax_nll.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    for ax in (ax_nll, ax_acc):
        ax.grid(alpha=0.3, which="both")
    handles, labels = ax_nll.get_legend_handles_labels()
    fig.legend(
        handles, labels, title="trained on", loc="lower center", ncol=len(labels), fontsize=9
    )
    fig.suptitle(
        "jaxloss demo: Flax NNX MLP on scikit-learn digits, one run per training loss;\n"
        "both panels measure every run the same way, on the held-out split"
    )
    fig.tight_layout(rect=(0, 0.11, 1, 1))
    return fig


def plot(histories: dict, path: str) -> None:
    """Saves ``figure`` as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = figure(histories)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jaxloss.demo", description=__doc__)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=10, help="held-out evaluation period")
    parser.add_argument("--out", default="jaxloss_demo.png", help="PNG of the held-out curves")
    args = parser.parse_args(argv)

    data = load_digits_split(args.seed)
    print(
        f"jaxloss {jaxloss.__version__} demo on {jax.devices()[0].device_kind}: digits, "
        f"{len(data[0][1])} train / {len(data[1][1])} held-out examples, "
        f"{args.steps} Adam steps of batch {args.batch_size} per configuration",
        flush=True,
    )
    histories, results = {}, {}
    for name, objective in configurations().items():
        with _progress_bar(name, args.steps) as bar:
            histories[name], results[name] = train(
                objective,
                data,
                steps=args.steps,
                batch_size=args.batch_size,
                seed=args.seed,
                eval_every=args.eval_every,
                progress=None if bar is None else bar.update,
            )

    print()
    print("held-out accuracy and NLL (softmax cross-entropy) measure every configuration alike;")
    print("the objective is each configuration's own training loss, not comparable across rows")
    print()
    print(f"| {'loss configuration':<22} | accuracy | NLL    | objective | objective terms")
    print(f"|{'-' * 24}|----------|--------|-----------|----------------")
    for name, r in results.items():
        terms = ", ".join(f"{k}={v:.4f}" for k, v in r["test_terms"].items())
        print(
            f"| {name:<22} | {r['accuracy']:8.4f} | {r['nll']:6.4f} | {r['test_loss']:9.4f} "
            f"| {terms}"
        )
    plot(histories, args.out)
    print(f"\nheld-out accuracy and NLL curves saved to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
