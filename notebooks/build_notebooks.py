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

POST_TRAINING = [
    md("""
# Post-training: DPO and distillation without the logits

Post-training losses act on the language-model head: DPO needs the log-probability of
whole completions under the policy and a frozen reference, distillation needs the
student's and the teacher's full next-token distributions. With a real vocabulary the
`[tokens, vocab]` logits are often the largest array of the step. The fused functions take
the final hidden states and the head's kernel instead (`hidden` `[B, T, D]` and
`weight` `[D, V]`) and never build `hidden @ weight`, in the forward or the backward
pass:

- `jaxloss.linear_log_probs` gives per-token log-probabilities of the labels;
  `jaxloss.sequence_log_probs` sums them over the completion; `jaxloss.dpo_loss` takes
  the sums;
- `jaxloss.linear_jensen_shannon_divergence` and `jaxloss.linear_kl_divergence` compare
  two heads token by token.

Everything here is a toy (vocabularies of 32 and 48 tokens) so that the notebook runs
in seconds on a CPU; the calls are the same at `V = 128k`.
"""),
    md("""
## A tiny causal language model in Flax NNX

Token and position embeddings, a causal mix of the last three positions (the
embeddings of tokens `t`, `t-1`, `t-2` concatenated and projected: a width-3 causal
convolution), a residual MLP, and an output head. `hidden(tokens)` returns the final
hidden states; the head is only used through its kernel, handed to the fused losses.
"""),
    code("""
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
%matplotlib inline
import matplotlib.pyplot as plt
import jaxloss


class TinyLM(nnx.Module):
    def __init__(self, vocab, dim, seq_len, window=3, *, rngs):
        self.window = window
        self.embed = nnx.Embed(vocab, dim, rngs=rngs)
        self.pos = nnx.Embed(seq_len, dim, rngs=rngs)
        self.mix = nnx.Linear(window * dim, dim, rngs=rngs)
        self.mlp = nnx.Linear(dim, 4 * dim, rngs=rngs)
        self.mlp_out = nnx.Linear(4 * dim, dim, rngs=rngs)
        self.head = nnx.Linear(dim, vocab, use_bias=False, rngs=rngs)  # only its kernel is used

    def hidden(self, tokens):  # [B, T] -> [B, T, D]
        x = self.embed(tokens) + self.pos(jnp.arange(tokens.shape[-1]))
        past = [jnp.pad(x, ((0, 0), (k, 0), (0, 0)))[:, : x.shape[1]] for k in range(self.window)]
        x = jax.nn.gelu(self.mix(jnp.concatenate(past, axis=-1)))
        return x + self.mlp_out(jax.nn.gelu(self.mlp(x)))

    @property
    def kernel(self):  # [D, V]
        return self.head.kernel[...]


@partial(nnx.jit, static_argnums=(0, 1, 2, 3))
def tiny_lm(vocab, dim, seq_len, seed):  # built under jit: one compilation, not one per initializer
    return TinyLM(vocab, dim, seq_len, rngs=nnx.Rngs(seed))


@nnx.jit
def forward(model, tokens):  # hidden states and next-token log-probs of a batch
    hidden = model.hidden(tokens[:, :-1])
    return hidden, jaxloss.linear_log_probs(hidden, model.kernel, tokens[:, 1:])


model = tiny_lm(32, 32, 14, 0)  # the model of the DPO section
hidden, token_logps = nnx.eval_shape(forward, model, jnp.zeros((4, 14), jnp.int32))  # shapes only
n_params = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
print(f"hidden {hidden.shape}, kernel {model.kernel.shape}, "
      f"token log-probs {token_logps.shape}, {n_params} parameters")
"""),
    md("""
## DPO against a frozen reference

The toy preference: a prompt of 6 random tokens (vocabulary 32), then a completion of 8
tokens. The *chosen* completion counts up from the last prompt token, the *rejected*
one counts down (modulo 32). A short supervised phase on both completions (the loss on
completion tokens only) makes both equally plausible: the model learns to count either
way and to choose the direction at random. That model, copied with `nnx.clone`, is the
frozen reference, and the policy starts from it.

A sequence's log-probability is the sum of its completion tokens' log-probabilities:
`jaxloss.sequence_log_probs(jaxloss.linear_log_probs(hidden, kernel, next_tokens),
where=completion_mask)`.
"""),
    code("""
V, P, R = 32, 6, 8  # vocabulary, prompt and completion lengths
T = P + R
rng = np.random.default_rng(0)


def preference_pairs(n):
    prompt = rng.integers(0, V, (n, P))
    up = np.arange(1, R + 1)
    chosen = np.concatenate([prompt, (prompt[:, -1:] + up) % V], axis=1)
    rejected = np.concatenate([prompt, (prompt[:, -1:] - up) % V], axis=1)
    return jnp.asarray(chosen, jnp.int32), jnp.asarray(rejected, jnp.int32)


train_chosen, train_rejected = preference_pairs(1024)
test_chosen, test_rejected = preference_pairs(1024)
completion = jnp.arange(1, T) >= P  # over the next-token targets tokens[:, 1:]


def sequence_logps(model, tokens):
    hidden = model.hidden(tokens[:, :-1])
    token_logps = jaxloss.linear_log_probs(hidden, model.kernel, tokens[:, 1:])
    return jaxloss.sequence_log_probs(token_logps, where=completion)


print("chosen:  ", train_chosen[0, :P].tolist(), "->", train_chosen[0, P:].tolist())
print("rejected:", train_rejected[0, :P].tolist(), "->", train_rejected[0, P:].tolist())
"""),
    code("""
optimizer = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)


@nnx.jit
def sft_step(model, optimizer, tokens):
    def loss_fn(model):
        hidden = model.hidden(tokens[:, :-1])
        return jaxloss.linear_softmax_cross_entropy_with_integer_labels(
            hidden, model.kernel, tokens[:, 1:], where=completion)
    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


both = jnp.concatenate([train_chosen, train_rejected])  # the supervised mix
for step in range(200):
    loss = sft_step(model, optimizer, both[rng.choice(len(both), 64, replace=False)])
print(f"supervised phase: completion-token cross-entropy {float(loss):.3f} nats")

reference = nnx.clone(model)  # frozen: never passed to an optimizer
logps = nnx.jit(lambda m, c, r: (sequence_logps(m, c), sequence_logps(m, r)))
ref_train_chosen, ref_train_rejected = logps(reference, train_chosen, train_rejected)
ref_test_chosen, ref_test_rejected = logps(reference, test_chosen, test_rejected)
print(f"reference, held-out mean log-prob: chosen {float(ref_test_chosen.mean()):.3f}, "
      f"rejected {float(ref_test_rejected.mean()):.3f} nats")
"""),
    md("""
The reference's log-probabilities are computed once, outside any gradient (what TRL
calls precomputing the reference log-probs). Each DPO step differentiates only the
policy's; `return_metrics=True` adds the per-pair implicit rewards
$\\beta(\\log\\pi - \\log\\pi_{\\mathrm{ref}})$, their margin and whether the chosen
reward is the larger.
"""),
    code("""
BETA = 0.1
optimizer = nnx.Optimizer(model, optax.adam(2e-4), wrt=nnx.Param)


@nnx.jit
def dpo_step(model, optimizer, chosen, rejected, ref_chosen, ref_rejected):
    def loss_fn(model):
        policy_chosen = sequence_logps(model, chosen)
        policy_rejected = sequence_logps(model, rejected)
        return jaxloss.dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected,
                                beta=BETA, return_metrics=True)
    (loss, metrics), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
    optimizer.update(model, grads)
    return loss, {k: v.mean() for k, v in metrics.items()}


keys = ("loss", "chosen_rewards", "rejected_rewards", "reward_margins", "reward_accuracies")
history = {k: [] for k in keys}
for step in range(100):
    batch = rng.choice(len(train_chosen), 64, replace=False)
    loss, metrics = dpo_step(model, optimizer, train_chosen[batch], train_rejected[batch],
                             ref_train_chosen[batch], ref_train_rejected[batch])
    history["loss"].append(float(loss))
    for k, v in metrics.items():
        history[k].append(float(v))
    if step % 20 == 0 or step == 99:
        print(f"step {step:3d}  loss {float(loss):.4f}"
              f"  reward margin {float(metrics['reward_margins']):7.3f}"
              f"  reward accuracy {float(metrics['reward_accuracies']):.3f}")
"""),
    code("""
steps = np.arange(1, len(history["loss"]) + 1)
fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(14, 3.8))
ax0.plot(steps, history["loss"], label="DPO loss (sigmoid)")
ax0.axhline(np.log(2), color="gray", ls=":", label="log 2 (policy = reference)")
ax0.set(title="DPO loss", xlabel="step", ylabel="loss (nats)")
ax1.plot(steps, history["reward_margins"], label="reward margin")
ax1.plot(steps, history["chosen_rewards"], label="chosen reward")
ax1.plot(steps, history["rejected_rewards"], label="rejected reward")
ax1.axhline(0.0, color="gray", ls=":")
ax1.set(title=f"implicit rewards, beta = {BETA}", xlabel="step", ylabel="beta x log-ratio (nats)")
ax2.plot(steps, history["reward_accuracies"], label="reward accuracy")
ax2.set(title="reward accuracy", xlabel="step", ylabel="fraction of pairs", ylim=(-0.02, 1.05))
for ax in (ax0, ax1, ax2):
    ax.legend(fontsize=8)
fig.suptitle("DPO on the training minibatches (64 pairs per step)")
plt.tight_layout(); plt.show()
"""),
    code("""
policy_test_chosen, policy_test_rejected = logps(model, test_chosen, test_rejected)
_, test_metrics = jaxloss.dpo_loss(policy_test_chosen, policy_test_rejected, ref_test_chosen,
                                   ref_test_rejected, beta=BETA, return_metrics=True)
accuracy = float(test_metrics["reward_accuracies"].mean())
print(f"held-out reward accuracy: {accuracy:.3f} ({len(test_chosen)} pairs)")
for name, ref, pol in [("chosen", ref_test_chosen, policy_test_chosen),
                       ("rejected", ref_test_rejected, policy_test_rejected)]:
    print(f"held-out {name:8s} log-prob {float(ref.mean()):7.3f} -> {float(pol.mean()):7.3f} nats "
          f"(moved {float((pol - ref).mean()):+.3f})")
"""),
    md("""
Every held-out pair is ranked correctly after 100 steps, but the log-probabilities show
how: the rejected completions lost about 43 nats, and the chosen ones lost several
nats too. In the middle panel the chosen reward stays near zero for the first 40
steps or so, then falls, while the rejected reward falls much faster. The loss sees only
the margin between the two log-ratios, and widening it by breaking the counting-down
continuation also hurts counting up, which plausibly shares its features in so small a
model. This is the known *likelihood displacement* of DPO: both likelihoods fall, the
rejected one faster. Fewer steps, a larger `beta` (the sigmoid saturates at a smaller
log-ratio) or an added negative log-likelihood term on the chosen completions (RPO,
TRL's `rpo_alpha`) keep the chosen likelihood up; the loss here is plain DPO. The
reward accuracy of the very first step is 0 because the policy equals the reference:
every margin is exactly 0, and a tie does not count as correct.
"""),
    md("""
## Distillation from a larger model to a smaller one

A toy language: a fixed random Markov chain over 48 tokens whose transition logits
have rank 8 (so that a model of width 16 can represent it), sequences of 16 tokens. A
teacher of width 64 learns it from 2048 sequences with the fused cross-entropy. Two
students of width 16, from the same initialization, then get only 128 sequences and
the same 200 full-batch steps: one learns from the labels (the sampled next tokens),
the other from the teacher's whole next-token distribution at every position,
`jaxloss.linear_jensen_shannon_divergence(student_hidden, student_kernel,
teacher_hidden, teacher_kernel, beta=0.5)`, the teacher frozen (the fused divergences
differentiate the student only unless `teacher_gradient=True`).
"""),
    code("""
V, L = 48, 16
rng = np.random.default_rng(1)
transition_logits = 3.0 * rng.normal(size=(V, 8)) @ rng.normal(size=(8, V)) / np.sqrt(8)
transition = np.exp(transition_logits - transition_logits.max(1, keepdims=True))
transition /= transition.sum(1, keepdims=True)


def sample_chain(n):
    x = np.empty((n, L), np.int64)
    x[:, 0] = rng.integers(0, V, n)
    for t in range(1, L):
        u = rng.random((n, 1))
        x[:, t] = np.minimum((transition[x[:, t - 1]].cumsum(1) < u).sum(1), V - 1)
    return jnp.asarray(x, jnp.int32)


teacher_data, student_data, test_data = sample_chain(2048), sample_chain(128), sample_chain(512)
entropy = -(transition * np.log(transition)).sum(1)
floor = float(entropy[np.asarray(test_data[:, :-1])].mean())  # the chain's own cross-entropy
print(f"held-out entropy of the chain (the floor): {floor:.3f} nats; uniform: {np.log(V):.3f} nats")


def cross_entropy(model, tokens):
    hidden = model.hidden(tokens[:, :-1])
    return jaxloss.linear_softmax_cross_entropy_with_integer_labels(
        hidden, model.kernel, tokens[:, 1:])


@nnx.jit
def ce_step(model, optimizer, tokens):
    loss, grads = nnx.value_and_grad(cross_entropy)(model, tokens)
    optimizer.update(model, grads)
    return loss


teacher = tiny_lm(V, 64, L, 1)
optimizer = nnx.Optimizer(teacher, optax.adam(3e-3), wrt=nnx.Param)
for step in range(300):
    ce_step(teacher, optimizer, teacher_data[rng.choice(len(teacher_data), 64, replace=False)])
# The teacher is frozen from here on: its hidden states are computed once.
teacher_hidden, teacher_logps = forward(teacher, jnp.concatenate([student_data, test_data]))
teacher_train_hidden, teacher_test_hidden = teacher_hidden[:128], teacher_hidden[128:]
teacher_kernel = teacher.kernel
teacher_ce = -float(teacher_logps[128:].mean())
print(f"teacher (D=64, 2048 sequences): held-out cross-entropy {teacher_ce:.3f} nats")
"""),
    code("""


def divergences(student, tokens, teacher_hidden):
    hidden = student.hidden(tokens[:, :-1])
    jsd = jaxloss.linear_jensen_shannon_divergence(
        hidden, student.kernel, teacher_hidden, teacher_kernel, beta=0.5)
    kl = jaxloss.linear_kl_divergence(  # forward KL(teacher || student)
        hidden, student.kernel, teacher_hidden, teacher_kernel)
    return jsd, kl


@nnx.jit
def distill_step(student, optimizer, tokens, teacher_hidden):
    loss, grads = nnx.value_and_grad(lambda s: divergences(s, tokens, teacher_hidden)[0])(student)
    optimizer.update(student, grads)
    return loss


@nnx.jit
def evaluate(student, tokens, teacher_hidden):
    return cross_entropy(student, tokens), *divergences(student, tokens, teacher_hidden)


init = tiny_lm(V, 16, L, 2)
students = {"labels only (CE)": nnx.clone(init), "distilled (JSD to teacher)": nnx.clone(init)}
optimizers = {k: nnx.Optimizer(s, optax.adam(3e-3), wrt=nnx.Param) for k, s in students.items()}
curves = {k: {"step": [], "ce": [], "jsd": [], "kl": []} for k in students}
for step in range(201):
    for k, s in students.items():
        if step % 10 == 0:  # held-out evaluation before the step
            for name, v in zip(("ce", "jsd", "kl"), evaluate(s, test_data, teacher_test_hidden)):
                curves[k][name].append(float(v))
            curves[k]["step"].append(step)
        if step < 200:
            if k.startswith("labels"):
                ce_step(s, optimizers[k], student_data)
            else:
                distill_step(s, optimizers[k], student_data, teacher_train_hidden)
for k, c in curves.items():
    best = int(np.argmin(c["ce"]))
    print(f"{k:27s} held-out CE {c['ce'][-1]:.3f} nats"
          f" (best {c['ce'][best]:.3f} at step {c['step'][best]}),"
          f" JSD {c['jsd'][-1]:.4f}, forward KL to teacher {c['kl'][-1]:.4f}")
"""),
    code("""
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 4))
for k, c in curves.items():
    ax0.plot(c["step"], c["ce"], "o-", ms=3, label=f"student D=16: {k}")
    ax1.plot(c["step"], c["jsd"], "o-", ms=3, label=f"student D=16: {k}")
ax0.axhline(teacher_ce, color="k", ls="--", label="teacher D=64")
ax0.axhline(floor, color="gray", ls=":", label="the chain's entropy (floor)")
xlabel = "training step (full batch, 128 sequences)"
ax0.set(title="held-out cross-entropy (512 sequences)", xlabel=xlabel,
        ylabel="cross-entropy (nats / token)", ylim=(floor - 0.2, np.log(V) + 0.4))
ax1.set(title="held-out Jensen-Shannon divergence to the teacher", xlabel=xlabel,
        ylabel="JSD, beta = 0.5 (nats / token)")
ax0.legend(fontsize=8); ax1.legend(fontsize=8)
plt.tight_layout(); plt.show()
"""),
    md("""
Both students saw the same 128 sequences (1,920 next-token targets) for the same 200
steps from the same initialization. The label-only student's held-out cross-entropy is
lowest around step 100 and then rises: it memorizes the sampled next tokens of its
small training set. The distilled student is trained on the teacher's whole
next-token distribution at each of those positions (what the teacher learned from 2048
sequences), keeps improving, and ends close to the teacher (dashed line), well below
the label-only student even at that student's best step. The Jensen-Shannon panel and
the printed forward KL to the teacher (`jaxloss.linear_kl_divergence`) tell the same
story. The advantage belongs to scarce labels: given 1024 training sequences instead,
in a run not shown here, the label-only student learns the chain itself and ends with
a lower held-out cross-entropy than the distilled one, which only copies the teacher
(2.10 against 2.22 nats after the same 200 steps).
"""),
    md("""
## Check: the fused log-probabilities are the naive ones

On small inputs, `linear_log_probs` against `log_softmax(hidden @ kernel)` gathered at
the labels, in value and in the gradient with respect to both `hidden` and `kernel`.
"""),
    code("""
rng = np.random.default_rng(3)
hidden = jnp.asarray(rng.normal(size=(4, 12, 32)), jnp.float32)
kernel = jnp.asarray(rng.normal(size=(32, 50)) / np.sqrt(32), jnp.float32)
labels = jnp.asarray(rng.integers(0, 50, (4, 12)), jnp.int32)
cotangent = jnp.asarray(rng.normal(size=(4, 12)), jnp.float32)  # a random weighting of the tokens


def naive(hidden, kernel):
    logp = jax.nn.log_softmax(hidden @ kernel)
    return jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]


def fused(hidden, kernel):
    return jaxloss.linear_log_probs(hidden, kernel, labels, chunk_size=16)  # 4 vocabulary blocks


@jax.jit
def value_and_grads(hidden, kernel):
    out = []
    for f in (naive, fused):
        weighted = lambda h, w, f=f: jnp.sum(cotangent * f(h, w))
        grads = jax.grad(weighted, argnums=(0, 1))(hidden, kernel)
        out.append((f(hidden, kernel), *grads))
    return out


(n_lp, n_gh, n_gw), (f_lp, f_gh, f_gw) = value_and_grads(hidden, kernel)
diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in [(n_lp, f_lp), (n_gh, f_gh), (n_gw, f_gw)])
print(f"max |fused - naive| over the log-probs and both gradients: {diff:.1e}")
assert diff < 1e-5
"""),
]

NOTEBOOKS = {
    "01_tour.ipynb": TOUR,
    "02_training_flax.ipynb": TRAINING_FLAX,
    "03_haiku_and_equinox.ipynb": HAIKU_EQUINOX,
    "04_large_vocabulary.ipynb": LARGE_VOCAB,
    "05_post_training.ipynb": POST_TRAINING,
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
