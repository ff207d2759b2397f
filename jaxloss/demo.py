"""``python -m jaxloss.demo``: train one small classifier per loss configuration.

A Flax NNX MLP is trained with an optax optimizer on scikit-learn's bundled digits
dataset (8x8 images, 10 classes; no download), once for each of: plain cross-entropy,
label-smoothed cross-entropy, focal loss, poly loss, and cross-entropy plus z-loss (a
:func:`jaxloss.combine` objective whose two terms are logged separately). It prints a
table of held-out accuracy and final loss and saves the training curves as a PNG.

Needs the ``examples`` extra: ``pip install -e ".[examples]"``.
"""

from __future__ import annotations

import argparse
import sys
import time

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


def train(objective, data, *, steps: int, batch_size: int, seed: int, progress=None):
    """Trains a fresh MLP on ``objective``; returns the history and the held-out result."""
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
        accuracy = jnp.mean(jnp.argmax(logits, -1) == y)
        return total, terms, accuracy

    rng = np.random.default_rng(seed)
    history = {"step": [], "train": [], "test": [], "terms": []}
    for i in range(steps):
        batch = rng.choice(len(y_train), batch_size, replace=False)
        total, terms = step(model, optimizer, x_train[batch], y_train[batch])
        if i % 10 == 0 or i == steps - 1:
            test_total, _, _ = evaluate(model, x_test, y_test)
            history["step"].append(i)
            history["train"].append(float(total))
            history["test"].append(float(test_total))
            history["terms"].append({k: float(v) for k, v in terms.items()})
        if progress is not None:
            progress(i + 1, steps)
    test_total, test_terms, accuracy = evaluate(model, x_test, y_test)
    result = {
        "accuracy": float(accuracy),
        "test_loss": float(test_total),
        "test_terms": {k: float(v) for k, v in test_terms.items()},
    }
    return history, result


def _progress_bar(label: str):
    width = 30
    start = time.perf_counter()

    def show(done: int, total: int):
        if done != total and done % 20:
            return
        filled = width * done // total
        elapsed = time.perf_counter() - start
        sys.stdout.write(
            f"\r  {label:<22} [{'#' * filled}{'.' * (width - filled)}] {done:4d}/{total}"
            f"  {elapsed:5.1f}s"
        )
        if done == total:
            sys.stdout.write("\n")
        sys.stdout.flush()

    return show


def plot(histories: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, h in histories.items():
        axes[0].plot(h["step"], h["train"], label=name)
        axes[1].plot(h["step"], h["test"], label=name)
    for ax, title in zip(axes, ("training loss (minibatch)", "held-out loss")):
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle("jaxloss demo: Flax NNX MLP on scikit-learn digits")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jaxloss.demo", description=__doc__)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="jaxloss_demo.png", help="PNG of training curves")
    args = parser.parse_args(argv)

    data = load_digits_split(args.seed)
    print(
        f"jaxloss {jaxloss.__version__} demo on {jax.devices()[0].device_kind}: digits, "
        f"{len(data[0][1])} train / {len(data[1][1])} held-out examples, "
        f"{args.steps} Adam steps of batch {args.batch_size} per configuration"
    )
    histories, results = {}, {}
    for name, objective in configurations().items():
        histories[name], results[name] = train(
            objective, data, steps=args.steps, batch_size=args.batch_size, seed=args.seed,
            progress=_progress_bar(name),
        )

    print()
    print(f"| {'loss configuration':<22} | held-out accuracy | held-out loss | terms")
    print(f"|{'-' * 24}|-------------------|---------------|------")
    for name, r in results.items():
        terms = ", ".join(f"{k}={v:.4f}" for k, v in r["test_terms"].items())
        print(f"| {name:<22} | {r['accuracy']:17.4f} | {r['test_loss']:13.4f} | {terms}")
    plot(histories, args.out)
    print(f"\ntraining curves saved to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
