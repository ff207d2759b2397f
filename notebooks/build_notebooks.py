"""Builds the example notebooks from the cell sources below (run after editing them).

    .venv/bin/python notebooks/build_notebooks.py

writes each ``0*.ipynb`` and executes it with nbclient in this environment's
``python3`` kernel, as ``tests/test_notebooks.py`` does, so the notebooks are committed
with their outputs and plots and render on the repository page. The cells are seeded
and print small summaries only, so a rebuild on the same library versions gives the
same outputs; cell ids are numbered and no execution timings are recorded. The test
executes every notebook again from its sources and checks that the committed ones
carry outputs.
"""

from __future__ import annotations

import pathlib
import tempfile

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str):
    return nbformat.v4.new_code_cell(text.strip())


TOUR = [
    md("""
# A tour of jaxloss

Every loss family, its value and its gradient. Each loss is a pure function: data first,
options as keywords, and `reduction`/`where`/`weights` on every one.
"""),
    code("""
import jax
import jax.numpy as jnp
%matplotlib inline
import matplotlib.pyplot as plt
import jaxloss

families = {}
for name in jaxloss.names():
    families.setdefault(jaxloss.info(name).family, []).append(name)
for family, names in sorted(families.items()):
    print(f"{family:16s} {len(names):2d}  {', '.join(names)}")
"""),
    md("""
## Regression: loss and gradient against the residual

Elementwise losses of `predictions - targets`; the gradient is `jax.grad` of the summed
loss, vectorized with `jax.vmap`.
"""),
    code("""
r = jnp.linspace(-3.0, 3.0, 241)
zero = jnp.zeros_like(r)
regression = {
    "squared_error": {}, "absolute_error": {}, "huber_loss": {"delta": 1.0},
    "smooth_l1_loss": {"beta": 1.0}, "log_cosh": {}, "quantile_loss": {"quantile": 0.8},
}
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
for i, (name, opts) in enumerate(regression.items()):
    f = lambda p, name=name, opts=opts: getattr(jaxloss, name)(p, 0.0 * p, reduction="none", **opts)
    style = "-" if i % 2 == 0 else "--"  # dashed over solid: smooth_l1 (beta=1) is huber (delta=1)
    ax0.plot(r, f(r), style, label=name)
    ax1.plot(r, jax.vmap(jax.grad(lambda p, f=f: f(p)))(r), style, label=name)
ax0.set(title="loss", xlabel="residual (prediction - target)", ylabel="loss", ylim=(0, 4))
ax1.set(title="gradient", xlabel="residual (prediction - target)", ylabel="d loss / d prediction")
ax0.legend(fontsize=8); plt.tight_layout(); plt.show()
"""),
    md("""
## Binary classification and margins: loss against the margin `y * x`
"""),
    code("""
m = jnp.linspace(-3.0, 3.0, 241)

margin_losses = {
    "sigmoid_binary_cross_entropy": lambda x: jaxloss.sigmoid_binary_cross_entropy(x, jnp.ones_like(x), reduction="none"),
    "hinge_loss": lambda x: jaxloss.hinge_loss(x, jnp.ones_like(x), reduction="none"),
    "squared_hinge_loss": lambda x: jaxloss.squared_hinge_loss(x, jnp.ones_like(x), reduction="none"),
    "soft_margin_loss": lambda x: jaxloss.soft_margin_loss(x, jnp.ones_like(x), reduction="none"),
    "perceptron_loss": lambda x: jaxloss.perceptron_loss(x, jnp.ones_like(x), reduction="none"),
    "sigmoid_focal_loss": lambda x: jaxloss.sigmoid_focal_loss(x, jnp.ones_like(x), gamma=2.0, reduction="none"),
}
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
for i, (name, f) in enumerate(margin_losses.items()):
    style = "-" if i % 2 == 0 else "--"  # dashed over solid: soft_margin is sigmoid BCE
    ax0.plot(m, f(m), style, label=name)
    ax1.plot(m, jax.vmap(jax.grad(f))(m), style, label=name)
ax0.set(title="loss", xlabel="margin y*x", ylabel="loss", ylim=(0, 4))
ax1.set(title="gradient", xlabel="margin y*x", ylabel="d loss / d logit x")
ax0.legend(fontsize=8); plt.tight_layout(); plt.show()
"""),
    md("""
## Multiclass: cross-entropy family against the true-class logit

Three classes with logits `[t, 0, 0]` and true class 0.
"""),
    code("""
t = jnp.linspace(-4.0, 4.0, 161)
logits = jnp.stack([t, jnp.zeros_like(t), jnp.zeros_like(t)], axis=-1)
labels = jnp.zeros(t.shape, jnp.int32)
onehot = jax.nn.one_hot(labels, 3)
multiclass = {
    "softmax_cross_entropy_with_integer_labels": lambda x: jaxloss.softmax_cross_entropy_with_integer_labels(x, labels, reduction="none"),
    "label smoothing 0.2": lambda x: jaxloss.softmax_cross_entropy_with_integer_labels(x, labels, label_smoothing=0.2, reduction="none"),
    "softmax_focal_loss": lambda x: jaxloss.softmax_focal_loss(x, onehot, gamma=2.0, reduction="none"),
    "poly_loss_cross_entropy": lambda x: jaxloss.poly_loss_cross_entropy(x, onehot, reduction="none"),
    "multiclass_hinge_loss": lambda x: jaxloss.multiclass_hinge_loss(x, labels, reduction="none"),
    "multiclass_sparsemax_loss": lambda x: jaxloss.multiclass_sparsemax_loss(x, labels, reduction="none"),
}
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
for i, (name, f) in enumerate(multiclass.items()):
    style = "-" if i % 2 == 0 else "--"
    ax0.plot(t, f(logits), style, label=name)
    g = jax.grad(lambda x, f=f: f(x).sum())(logits)[:, 0]
    ax1.plot(t, g, style, label=name)
ax0.set(title="loss", xlabel="true-class logit", ylabel="loss")
ax1.set(title="gradient wrt true-class logit", xlabel="true-class logit", ylabel="d loss / d true-class logit")
ax0.legend(fontsize=7); plt.tight_layout(); plt.show()
"""),
    md("""
## Divergences, metric learning, self-supervised, ranking, segmentation, sequences

One call each on small random inputs, with its gradient norm: every family under
`jax.jit(jax.value_and_grad(...))`.
"""),
    code("""
key = jax.random.key(0)
k = jax.random.split(key, 8)
x = jax.random.normal(k[0], (8, 5))
y = jax.random.normal(k[1], (8, 5))
p = jax.nn.softmax(y)
pm = jnp.where(jax.random.bernoulli(k[2], 0.5, (8,)), 1.0, -1.0)
calls = {
    "kl_divergence": lambda x: jaxloss.kl_divergence(jax.nn.log_softmax(x), p),
    "cosine_embedding_loss": lambda x: jaxloss.cosine_embedding_loss(x, y, pm),
    "contrastive_loss": lambda x: jaxloss.contrastive_loss(x, y, (pm > 0).astype(jnp.float32)),
    "triplet_margin_loss": lambda x: jaxloss.triplet_margin_loss(x, y, -y),
    "clip_loss": lambda x: jaxloss.clip_loss(x, y, temperature=0.1),
    "ntxent": lambda x: jaxloss.ntxent(x, jnp.array([0, 0, 1, 1, 2, 2, 3, 3])),
    "ranking_softmax_loss": lambda x: jaxloss.ranking_softmax_loss(x, (y > 0.5).astype(jnp.float32)),
    "binary_dice_loss": lambda x: jaxloss.binary_dice_loss(jax.nn.sigmoid(x), (y > 0).astype(jnp.float32)),
}
for name, f in calls.items():
    value, grad = jax.jit(jax.value_and_grad(f))(x)
    print(f"{name:24s} value {float(value):8.4f}   |grad| {float(jnp.linalg.norm(grad)):8.4f}")
"""),
    md("""
## Masks, weights and dtypes

`where` drops entries (exact zero gradient, even for inf/NaN inputs), `weights` weigh
them, and half-precision inputs come back as float32.
"""),
    code("""
pred = jnp.array([1.0, 2.0, jnp.nan, 4.0])
target = jnp.zeros(4)
mask = jnp.array([True, True, False, True])
print("masked mean:", jaxloss.squared_error(pred, target, where=mask))
print("gradient:   ", jax.grad(lambda p: jaxloss.squared_error(p, target, where=mask))(pred))
print("weighted:   ", jaxloss.squared_error(pred, target, where=mask, weights=jnp.array([1.0, 0.0, 5.0, 1.0])))
print("bf16 in ->  ", jaxloss.squared_error(pred.astype(jnp.bfloat16), target, where=mask).dtype)
"""),
]

TRAINING_FLAX = [
    md("""
# Training with jaxloss in Flax NNX

The demo (`python -m jaxloss.demo`) step by step: a Flax NNX MLP on scikit-learn's
bundled digits, once per loss configuration, with each term of a composite objective
logged separately.
"""),
    code("""
import jax
import jax.numpy as jnp
%matplotlib inline
import matplotlib.pyplot as plt
import jaxloss
from jaxloss import demo

STEPS = 60  # the demo uses 400; small here so the notebook runs in seconds
data = demo.load_digits_split(seed=0)
(x_train, y_train), (x_test, y_test) = data
print(x_train.shape, y_train.shape, x_test.shape)
"""),
    md("""
## The objectives

`jaxloss.combine` builds a hashable objective that returns the weighted total and each
unweighted term. The z-loss term takes only the logits (input position 0).
"""),
    code("""
objectives = demo.configurations()
for name, objective in objectives.items():
    print(f"{name:22s} terms: {objective.names}")
"""),
    md("""
## Train once per objective
"""),
    code("""
histories, results = {}, {}
for name, objective in objectives.items():
    histories[name], results[name] = demo.train(objective, data, steps=STEPS, batch_size=128, seed=0)
    r = results[name]
    terms = ", ".join(f"{k}={v:.4f}" for k, v in r["test_terms"].items())
    print(f"{name:22s} held-out accuracy {r['accuracy']:.3f}  NLL {r['nll']:.4f}  objective terms {terms}")
"""),
    md("""
Each objective's own value cannot be compared across configurations (label smoothing
has a floor, focal loss down-weights easy examples), so the demo's figure measures
every run alike on the held-out split: accuracy, and the negative log-likelihood (plain
softmax cross-entropy of the logits), recorded every 10 steps in `histories`.
"""),
    code("""
demo.figure(histories)
plt.show()
"""),
    md("""
## The composite objective's terms

Each term was logged on its own at every evaluation step.
"""),
    code("""
h = histories["CE + z-loss 1e-3"]
print([round(t["z"], 3) for t in h["terms"]][:10])
assert all("ce" in t and "z" in t for t in h["terms"])
"""),
]

HAIKU_EQUINOX = [
    md("""
# jaxloss with Haiku and Equinox

The same losses in `hk.transform` and `eqx.filter_value_and_grad` training steps. A
`jaxloss.Loss` is hashable, so it can be a static argument or a static field.
"""),
    code("""
import equinox as eqx
import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax
import jaxloss

rng = np.random.default_rng(0)
centers = rng.normal(scale=3.0, size=(3, 8))
labels = rng.integers(0, 3, 128)
X = jnp.asarray(centers[labels] + rng.normal(size=(128, 8)), jnp.float32)
Y = jnp.asarray(labels, jnp.int32)
loss = jaxloss.get("sparse_softmax_cross_entropy", label_smoothing=0.1)
print(loss, loss.config())
"""),
    md("## Haiku"),
    code("""
net = hk.without_apply_rng(hk.transform(lambda x: hk.nets.MLP([32, 3])(x)))
params = net.init(jax.random.key(0), X)
tx = optax.adam(1e-2)
state = tx.init(params)

@jax.jit
def step(params, state):
    value, grads = jax.value_and_grad(lambda p: loss(net.apply(p, X), Y))(params)
    updates, state = tx.update(grads, state)
    return optax.apply_updates(params, updates), state, value

haiku_losses = []
for _ in range(40):
    params, state, value = step(params, state)
    haiku_losses.append(float(value))
print("haiku:", haiku_losses[0], "->", haiku_losses[-1])
assert haiku_losses[-1] < haiku_losses[0]
"""),
    md("## Equinox"),
    code("""
model = eqx.nn.MLP(8, 3, 32, 1, key=jax.random.key(1))
state = tx.init(eqx.filter(model, eqx.is_array))

@eqx.filter_jit
def eqx_step(model, state, loss):
    value, grads = eqx.filter_value_and_grad(lambda m: loss(jax.vmap(m)(X), Y))(model)
    updates, state = tx.update(grads, state)
    return eqx.apply_updates(model, updates), state, value

eqx_losses = []
for _ in range(40):
    model, state, value = eqx_step(model, state, loss)
    eqx_losses.append(float(value))
print("equinox:", eqx_losses[0], "->", eqx_losses[-1])
assert eqx_losses[-1] < eqx_losses[0]
"""),
]

LARGE_VOCAB = [
    md("""
# Large vocabulary: fused linear cross-entropy

`jaxloss.linear_softmax_cross_entropy_with_integer_labels(hidden, weight, labels)`
computes `softmax_cross_entropy_with_integer_labels(hidden @ weight, labels)` without
ever building the `[tokens, vocab]` logits, in the forward or the backward pass. Here:
the compiled temporary memory of `value_and_grad`, fused against naive, as the vocabulary
grows (compile only; nothing large is run).
"""),
    code("""
import jax
import jax.numpy as jnp
%matplotlib inline
import matplotlib.ticker
import matplotlib.pyplot as plt
import jaxloss

N, D = 1024, 256

def naive(h, w, y):
    return jaxloss.softmax_cross_entropy_with_integer_labels(h @ w, y)

def fused(h, w, y):
    return jaxloss.linear_softmax_cross_entropy_with_integer_labels(h, w, y)

def temp_bytes(f, V):
    h = jax.ShapeDtypeStruct((N, D), jnp.bfloat16)
    w = jax.ShapeDtypeStruct((D, V), jnp.bfloat16)
    y = jax.ShapeDtypeStruct((N,), jnp.int32)
    compiled = jax.jit(jax.value_and_grad(f, argnums=(0, 1))).lower(h, w, y).compile()
    return compiled.memory_analysis().temp_size_in_bytes

vocab = [4096, 16384, 65536]
rows = [(V, temp_bytes(naive, V), temp_bytes(fused, V)) for V in vocab]
for V, a, b in rows:
    print(f"V={V:6d}  naive {a / 2**20:8.1f} MiB   fused {b / 2**20:8.1f} MiB   ({100 * b / a:.1f}%)")
"""),
    code("""
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(vocab, [a / 2**20 for _, a, _ in rows], "o-", label="naive (materialized logits)")
ax.plot(vocab, [b / 2**20 for _, _, b in rows], "o-", label="fused")
ax.set(xscale="log", yscale="log", xlabel="vocabulary size V", ylabel="compiled temporaries (MiB, log scale)",
       title=f"value_and_grad temporaries, N={N}, D={D}, bf16\\n(lower is better)")
ax.set_xticks(vocab, [str(v) for v in vocab]); ax.set_xticks([], minor=True)
ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
ax.legend(); plt.tight_layout(); plt.show()
"""),
    md("## Same value and gradients"),
    code("""
kh, kw, ky = jax.random.split(jax.random.key(0), 3)
h = jax.random.normal(kh, (64, 32))
w = jax.random.normal(kw, (32, 1000)) * 0.1
y = jax.random.randint(ky, (64,), 0, 1000)
(v1, g1), (v2, g2) = [jax.value_and_grad(f, argnums=(0, 1))(h, w, y) for f in (naive, fused)]
print(float(v1), float(v2))
print(float(jnp.max(jnp.abs(g1[0] - g2[0]))), float(jnp.max(jnp.abs(g1[1] - g2[1]))))
assert jnp.allclose(v1, v2, rtol=1e-5)
"""),
]

NOTEBOOKS = {
    "01_tour.ipynb": TOUR,
    "02_training_flax.ipynb": TRAINING_FLAX,
    "03_haiku_and_equinox.ipynb": HAIKU_EQUINOX,
    "04_large_vocabulary.ipynb": LARGE_VOCAB,
}


def build(name: str, cells) -> nbformat.NotebookNode:
    """The notebook ``name`` from its cell sources, unexecuted, with numbered cell ids."""
    nb = nbformat.v4.new_notebook(cells=cells)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{pathlib.Path(name).stem}-{i:02d}"
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def execute(nb: nbformat.NotebookNode, cwd: str) -> nbformat.NotebookNode:
    """Runs every cell in a fresh ``python3`` kernel started in ``cwd``, in place."""
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": cwd}},
    )
    client.execute()
    return nb


def _coalesce_streams(outputs: list) -> list:
    """Joins consecutive stdout (or stderr) chunks: how a print splits is timing noise."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (
            out.output_type == "stream"
            and prev is not None
            and prev.output_type == "stream"
            and prev.name == out.name
        ):
            prev.text += out.text
        else:
            merged.append(out)
    return merged


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = build(name, cells)
        with tempfile.TemporaryDirectory() as cwd:  # files a cell writes stay out of the repo
            execute(nb, cwd)
        errors = [
            o
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
            if o.output_type == "error"
        ]
        if errors:
            raise SystemExit(f"{name}: {errors[0].ename}: {errors[0].evalue}")
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = _coalesce_streams(cell.outputs)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print("wrote", name, "(executed)")


if __name__ == "__main__":
    main()
