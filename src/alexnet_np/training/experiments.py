"""The paper's ablations, in miniature: the mini AlexNet on scikit-learn's digits.

Used by notebook 7 (small settings, to stay inside the notebook budget) and by
``experiments/paper_experiments.py`` (more seeds and epochs; it writes the figures and a JSON
of the numbers). Each function returns plain dicts, so what a figure shows can be asserted.

* :func:`relu_vs_tanh` — iterations (and seconds) until the training error falls below 25%,
  the measure of the paper's Figure 1 ("six times faster").
* :func:`compare` — held-out error and train/held-out gap for model variants (dropout on/off,
  overlapping/non-overlapping pooling, LRN on/off), with repeats over seeds.
"""

from __future__ import annotations

import time

import numpy as np

from ..layers import CrossEntropyLoss
from ..model import AlexNet
from .data import Dataset
from .optim import SGD
from .train import TrainConfig, Trainer, evaluate


def subset(data, n, seed=0):
    """The first ``n`` images of a seeded permutation of ``data`` (all classes stay represented)."""
    idx = np.sort(np.random.default_rng(seed).permutation(len(data))[:n])
    return Dataset(
        data.images[idx], data.labels[idx], data.classes, data.preprocessing, data.mirror_invariant
    )


def iterations_to_error(
    train, activation="relu", seed=0, target=0.25, max_iterations=500, window=10, lr=0.01, batch_size=32
):
    """Train a mini AlexNet (no dropout: the paper's Figure 1 network had no regularisation) until the
    training error, averaged over the last ``window`` mini-batches, falls below ``target``.

    Returns ``dict(iterations, seconds, curve)``; ``iterations`` is None if the target was not reached.
    """
    model = AlexNet("mini", num_classes=len(train.classes), seed=seed, activation=activation, dropout=0.0)
    opt = SGD(model.params, model.grads, lr=lr, momentum=0.9, weight_decay=5e-4)
    loss_fn = CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    size = model.input_size[0]
    off = (train.images.shape[2] - size) // 2
    images = np.ascontiguousarray(train.images[:, :, off : off + size, off : off + size])
    errors, curve = [], []
    start = time.perf_counter()
    order = np.array([], dtype=np.int64)
    for it in range(1, max_iterations + 1):
        if len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(len(train))])
        idx, order = order[:batch_size], order[batch_size:]
        logits = model.forward(images[idx], train=True)
        loss_fn.forward(logits, train.labels[idx])
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
        errors.append(float(np.mean(logits.argmax(axis=1) != train.labels[idx])))
        running = float(np.mean(errors[-window:]))
        curve.append(running)
        if it >= window and running < target:
            return dict(iterations=it, seconds=time.perf_counter() - start, curve=curve)
    return dict(iterations=None, seconds=time.perf_counter() - start, curve=curve)


def relu_vs_tanh(train, seeds=(0, 1, 2), log=None, **kwargs):
    """:func:`iterations_to_error` for ReLU and tanh over ``seeds`` -> dict of lists and the ratios.

    ``log`` (e.g. ``print``) receives one line per finished run: the runs take minutes on two cores.
    """
    out = {"relu": [], "tanh": []}
    for seed in seeds:
        for act in ("relu", "tanh"):
            run = iterations_to_error(train, activation=act, seed=seed, **kwargs)
            out[act].append(run)
            if log:
                reached = run["iterations"] is not None
                what = f"{run['iterations']} iterations to the target" if reached else "target not reached"
                log(f"{act}, seed {seed}: {what}, {run['seconds']:.1f} s")
    ratios = [
        t["iterations"] / r["iterations"]
        for r, t in zip(out["relu"], out["tanh"])
        if r["iterations"] and t["iterations"]
    ]
    time_ratios = [
        t["seconds"] / r["seconds"]
        for r, t in zip(out["relu"], out["tanh"])
        if r["iterations"] and t["iterations"]
    ]
    return dict(runs=out, ratios=ratios, time_ratios=time_ratios, seeds=list(seeds))


def train_error_gap(train, val, model_kwargs, epochs=6, seed=0, batch_size=32):
    """Train a mini AlexNet; return its final training error (eval mode, on the training images),
    held-out error, and the history."""
    model = AlexNet("mini", num_classes=len(train.classes), seed=seed, **model_kwargs)
    trainer = Trainer(
        model,
        train,
        val,
        TrainConfig(epochs=epochs, batch_size=batch_size, flip=False, seed=seed, schedule="none"),
    )
    history = trainer.fit(progress=False, log=None)
    train_err = 1 - evaluate(model, train)["top1"]
    val_err = 1 - evaluate(model, val)["top1"]
    return dict(train_error=train_err, val_error=val_err, gap=val_err - train_err, history=history)


def compare(train, val, variants: dict, seeds=(0, 1), epochs=6, log=None):
    """{name: model kwargs} -> {name: dict(val_errors, train_errors, gaps, mean_val_error, std_val_error)}.

    ``log`` (e.g. ``print``) receives one line per finished training run.
    """
    results = {}
    for name, kwargs in variants.items():
        runs = []
        for s in seeds:
            start = time.perf_counter()
            runs.append(train_error_gap(train, val, kwargs, epochs=epochs, seed=s))
            if log:
                log(
                    f"{name}, seed {s}: held-out error {runs[-1]['val_error']:.3f}, training error "
                    f"{runs[-1]['train_error']:.3f}, {time.perf_counter() - start:.1f} s"
                )
        v = np.array([r["val_error"] for r in runs])
        results[name] = dict(
            val_errors=v.tolist(),
            train_errors=[r["train_error"] for r in runs],
            gaps=[r["gap"] for r in runs],
            mean_val_error=float(v.mean()),
            std_val_error=float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            histories=[r["history"] for r in runs],
        )
    return results


def plot_relu_vs_tanh(result, ax=None):
    """The paper's Figure 1 in miniature: running training error against iterations, ReLU solid, tanh dashed."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    for i, (r, t) in enumerate(zip(result["runs"]["relu"], result["runs"]["tanh"])):
        ax.plot(
            np.arange(1, len(r["curve"]) + 1),
            r["curve"],
            "-",
            color=f"C{i}",
            label=f"ReLU, seed {result['seeds'][i]}",
        )
        ax.plot(
            np.arange(1, len(t["curve"]) + 1),
            t["curve"],
            "--",
            color=f"C{i}",
            label=f"tanh, seed {result['seeds'][i]}",
        )
    ax.axhline(0.25, color="k", lw=0.8)
    ax.set_xlabel("iterations (mini-batches of 32)")
    ax.set_ylabel("training error (running mean of 10 batches)")
    ax.set_title("ReLU (solid) vs tanh (dashed): time to 25% training error")
    ax.legend(fontsize=7)
    return ax
