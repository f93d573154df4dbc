"""The paper's ablations, in miniature: the mini AlexNet on scikit-learn's digits.

Used by ``experiments/paper_experiments.py``, which writes the numbers to committed results files
that notebook 7 reads and plots, and by notebook 7 itself (small settings, inside its budget).
Each function returns plain dicts, so what a figure shows can be asserted.

* :func:`relu_vs_tanh` — iterations until the training error falls below 25%, the measure of the
  paper's Figure 1 ("six times faster"), each activation's learning rate tuned on a grid, no
  regularisation, with a confidence interval for the ratio.
* :func:`compare` — held-out error and train/held-out gap for model variants (dropout on/off,
  overlapping/non-overlapping pooling, LRN on/off), with repeats over seeds.
"""

from __future__ import annotations

import time

import numpy as np

from ..layers import CrossEntropyLoss
from ..model import AlexNet
from ..shapes import ceil_div
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
    train,
    activation="relu",
    seed=0,
    lr=0.01,
    target=0.25,
    max_iterations=300,
    batch_size=32,
    probe_size=256,
    probe_every=8,
):
    """Iterations of SGD until a mini AlexNet's training error falls below ``target`` (the paper's Figure 1 measure).

    The paper's conditions, as far as they carry over: no regularisation of any kind (no weight decay, no dropout,
    no augmentation), momentum 0.9, a constant learning rate ``lr`` (tune it per activation:
    :func:`tune_learning_rate`). The training error is measured in eval mode on a fixed probe of ``probe_size``
    training images. The count has a resolution of one iteration at the cost of a probe every ``probe_every``
    steps: when a probe first falls below ``target``, the run goes back to the last probe above it (weights and
    momentum were kept) and replays the same mini-batches one step and one probe at a time. A non-finite loss
    ends the run as "not reached".

    Returns ``dict(iterations, seconds, curve)``: ``iterations`` is the first step after which the probe error is
    below ``target`` (None if not within ``max_iterations``); ``curve`` is a list of (iteration, probe error).
    """
    model = AlexNet("mini", num_classes=len(train.classes), seed=seed, activation=activation, dropout=0.0)
    opt = SGD(model.params, model.grads, lr=lr, momentum=0.9, weight_decay=0.0)
    loss_fn = CrossEntropyLoss()
    size = model.input_size[0]
    off = (train.images.shape[2] - size) // 2
    images = np.ascontiguousarray(train.images[:, :, off : off + size, off : off + size])
    rng = np.random.default_rng(seed)
    epochs = ceil_div(max_iterations * batch_size, len(train))
    order = np.concatenate([rng.permutation(len(train)) for _ in range(epochs)])
    batches = order[: max_iterations * batch_size].reshape(max_iterations, batch_size)
    probe = np.random.default_rng(10_000 + seed).permutation(len(train))[:probe_size]

    def step(it):  # mini-batch ``it`` (1-based); False if the loss is not finite
        idx = batches[it - 1]
        loss = loss_fn.forward(model.forward(images[idx], train=True), train.labels[idx])
        if not np.isfinite(loss):
            return False
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
        return True

    def probe_error():
        return float(np.mean(model.forward(images[probe], train=False).argmax(axis=1) != train.labels[probe]))

    def snapshot():
        return {k: v.copy() for k, v in model.params.items()}, {k: v.copy() for k, v in opt.velocity.items()}

    start = time.perf_counter()
    curve = [(0, probe_error())]
    kept, done = snapshot(), 0  # the state after step ``done``, whose probe was above the target
    fine = False
    while done < max_iterations:
        last = done + 1 if fine else min(done + probe_every, max_iterations)
        if not all(step(it) for it in range(done + 1, last + 1)):
            break
        error = probe_error()
        if error < target and not fine and last > done + 1:
            params, velocity = kept  # go back and find the first step below the target
            for k in params:
                model.params[k][...] = params[k]
                opt.velocity[k][...] = velocity[k]
            fine = True
            continue
        curve.append((last, error))
        if error < target:
            return dict(iterations=last, seconds=time.perf_counter() - start, curve=curve)
        kept, done = snapshot(), last
    return dict(iterations=None, seconds=time.perf_counter() - start, curve=curve)


def tune_learning_rate(train, activation, lrs, seeds, **kwargs):
    """The learning rate of ``lrs`` with the fewest iterations to the target (median over ``seeds``; a run that
    does not reach it counts as infinitely many). Returns ``(best_lr, {lr: [iterations per seed]})``."""
    table = {}
    for lr in lrs:
        table[lr] = [
            iterations_to_error(train, activation=activation, seed=s, lr=lr, **kwargs)["iterations"]
            for s in seeds
        ]
    best = min(lrs, key=lambda lr: (np.median([np.inf if i is None else i for i in table[lr]]), lr))
    return best, table


def ratio_interval(relu_iterations, tanh_iterations, confidence=0.95):
    """Geometric mean of the per-seed ratios tanh/ReLU and its t-interval (computed on log ratios).

    Returns ``dict(ratios, geometric_mean, low, high)``; seeds where either run missed the target are left out.
    """
    from math import exp, sqrt

    from scipy import stats

    ratios = [t / r for r, t in zip(relu_iterations, tanh_iterations) if r and t]
    if not ratios:
        return dict(ratios=[], geometric_mean=None, low=None, high=None)
    logs = np.log(ratios)
    mean = float(logs.mean())
    half = 0.0
    if len(logs) > 1:
        half = float(stats.t.ppf(0.5 + confidence / 2, len(logs) - 1) * logs.std(ddof=1) / sqrt(len(logs)))
    return dict(ratios=ratios, geometric_mean=exp(mean), low=exp(mean - half), high=exp(mean + half))


def relu_vs_tanh(
    train,
    seeds=(0, 1, 2, 3, 4, 5),
    lrs=(("relu", (0.001, 0.003, 0.01, 0.03, 0.1)), ("tanh", (0.01, 0.03, 0.1))),
    tuning_seeds=(100, 101),
    progress=print,
    **kwargs,
):
    """The paper's Figure 1 in miniature: tune each activation's learning rate on ``tuning_seeds``, then count the
    iterations to the target on ``seeds`` (other seeds, so the tuning does not flatter the result). ``lrs`` gives
    each activation's grid as ``(activation, grid)`` pairs; ReLU's reaches further down than tanh's because its
    best rate sat at the bottom of the common grid 0.01, 0.03, 0.1, and a best rate is only known to be the best
    when the grid has a rate on each side of it.

    Returns ``dict(lr, grid, tuning, runs, seeds, ratio)``: the chosen learning rate and the grid per activation,
    the tuning table,
    the measured runs per activation, and :func:`ratio_interval` of tanh/ReLU iterations.
    """
    lr, tuning, runs = {}, {}, {}
    grids = dict(lrs)
    for act in ("relu", "tanh"):
        lr[act], tuning[act] = tune_learning_rate(train, act, grids[act], tuning_seeds, **kwargs)
        if progress:
            progress(f"{act}: iterations per tuning seed by learning rate {tuning[act]} -> lr {lr[act]}")
        runs[act] = []
        for seed in seeds:
            runs[act].append(iterations_to_error(train, activation=act, seed=seed, lr=lr[act], **kwargs))
            if progress:
                progress(f"{act} seed {seed}: {runs[act][-1]['iterations']} iterations")
    ratio = ratio_interval([r["iterations"] for r in runs["relu"]], [t["iterations"] for t in runs["tanh"]])
    grid = {act: list(grids[act]) for act in ("relu", "tanh")}
    return dict(lr=lr, grid=grid, tuning=tuning, runs=runs, seeds=list(seeds), ratio=ratio)


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


def plot_relu_vs_tanh(result, ax=None, target=0.25):
    """Training error (on the probe) against iterations, ReLU solid, tanh dashed, one colour per seed."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    for i in range(len(result["seeds"])):
        for act, style in (("relu", "-"), ("tanh", "--")):
            its, errors = zip(*result["runs"][act][i]["curve"])
            label = f"{'ReLU' if act == 'relu' else 'tanh'} (lr {result['lr'][act]})" if i == 0 else None
            ax.plot(its, errors, style, color=f"C{i % 10}", lw=1, label=label)
    ax.axhline(target, color="k", lw=0.8)
    ax.set_xlabel("iterations (mini-batches of 32)")
    ax.set_ylabel("training error (probe of training images, eval mode)")
    ax.set_title(
        f"ReLU (solid) vs tanh (dashed), {len(result['seeds'])} seeds: iterations to {target:.0%} error"
    )
    ax.legend(fontsize=8)
    return ax
