"""The paper's experiments in miniature, at a scale notebook 7 cannot afford; notebook 7 reads and plots the results.

    python experiments/paper_experiments.py [--only relu_tanh|ablations] [--out experiments/results]

``relu_tanh``: the paper's Figure 1 measure (iterations until the training error falls below 25%) for ReLU and
tanh in the mini AlexNet on scikit-learn's digits, with the paper's method as far as it carries over: each
activation's learning rate tuned on a grid (tanh: 0.01, 0.03, 0.1; ReLU: 0.001, 0.003, 0.01, 0.03, 0.1, since its best
rate sat at the bottom of the shorter grid; on seeds 100 and 101), no regularisation of any kind, a resolution of one
iteration, 6 measured seeds and a 95% confidence interval for the ratio. Budget: under 45 minutes on 2 cores.

``ablations``: held-out error of the mini AlexNet with and without dropout, overlapping pooling and LRN (3 seeds,
12 epochs, every training image). Budget: about 20 minutes on 2 cores.

Each part writes ``<part>.json`` (every number, the command, the commit and the seconds it took) and
``<part>.png`` to ``--out``; the committed files in ``experiments/results/`` are what notebook 7 shows.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from alexnet_np.io import atomic_write  # noqa: E402
from alexnet_np.training.data import load_digits_data  # noqa: E402
from alexnet_np.training.experiments import compare, plot_relu_vs_tanh, relu_vs_tanh  # noqa: E402

ABLATIONS = {
    "baseline (overlapping pool, LRN, dropout)": {},
    "no dropout": {"dropout": 0.0},
    "non-overlapping 2×2/2 pool": {"pool": (2, 2)},
    "no LRN": {"lrn": False},
}


def provenance(started, cpu_started, commit):
    return dict(
        command="python experiments/paper_experiments.py " + " ".join(sys.argv[1:]),
        commit=commit,
        seconds=round(time.perf_counter() - started, 1),
        cpu_seconds=round(time.process_time() - cpu_started, 1),
        cpus=os.cpu_count(),
    )


def current_commit():
    """The commit the run starts from (read once, before the work: main may move while it runs)."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", ""
    return commit + ("+uncommitted changes" if dirty else "")


def write(out, name, results, fig):
    atomic_write(os.path.join(out, f"{name}.png"), lambda f: fig.savefig(f, format="png", dpi=110))
    atomic_write(os.path.join(out, f"{name}.json"), lambda f: f.write(json.dumps(results, indent=1).encode()))
    print(f"wrote {out}/{name}.json and {name}.png ({results['seconds']:.0f} s)")


def run_relu_tanh(train, out):
    started, cpu_started, commit = time.perf_counter(), time.process_time(), current_commit()
    rt = relu_vs_tanh(train, progress=lambda line: print(line, flush=True))
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    plot_relu_vs_tanh(rt, ax)
    fig.tight_layout()
    r = rt["ratio"]
    if r["ratios"]:
        print(
            f"tanh/ReLU iterations: geometric mean {r['geometric_mean']:.2f}, 95% CI {r['low']:.2f}-{r['high']:.2f}"
            f" over {len(r['ratios'])} seeds (the paper: about 6)"
        )
    for runs in rt["runs"].values():
        for run in runs:
            run["curve"] = [(i, round(e, 4)) for i, e in run["curve"]]
            run["seconds"] = round(run["seconds"], 2)
    rt["tuning"] = {act: {str(lr): its for lr, its in table.items()} for act, table in rt["tuning"].items()}
    write(out, "relu_vs_tanh", {**rt, **provenance(started, cpu_started, commit)}, fig)


def run_ablations(train, val, out, seeds=(0, 1, 2), epochs=12):
    started, cpu_started, commit = time.perf_counter(), time.process_time(), current_commit()
    ab = compare(train, val, ABLATIONS, seeds=seeds, epochs=epochs)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    names = list(ab)
    for i, n in enumerate(names):
        a1.errorbar(i, 100 * ab[n]["mean_val_error"], yerr=100 * ab[n]["std_val_error"], fmt="o", capsize=4)
        a1.scatter([i] * len(seeds), [100 * e for e in ab[n]["val_errors"]], s=10, color="0.5")
        a2.bar(i, 100 * np.mean(ab[n]["gaps"]))
    for a, label in ((a1, "held-out top-1 error (%)"), (a2, "held-out − training error (%)")):
        a.set_xticks(range(len(names)))
        a.set_xticklabels(names, rotation=15, fontsize=8)
        a.set_ylabel(label)
    a1.set_title(f"{len(seeds)} seeds, {epochs} epochs, mean ± std")
    a2.set_title("generalisation gap")
    fig.tight_layout()
    for n in names:
        print(
            f"{n:45} held-out error {100 * ab[n]['mean_val_error']:.2f} ± {100 * ab[n]['std_val_error']:.2f} %   "
            f"gap {100 * np.mean(ab[n]['gaps']):+.2f} %"
        )
    for r in ab.values():
        r.pop("histories")
    results = dict(ablations=ab, seeds=list(seeds), epochs=epochs, held_out_images=len(val))
    write(out, "ablations", {**results, **provenance(started, cpu_started, commit)}, fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=("relu_tanh", "ablations"), help="run one part (default: both)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    train, val = load_digits_data(seed=0)
    if args.only in (None, "relu_tanh"):
        run_relu_tanh(train, args.out)
    if args.only in (None, "ablations"):
        run_ablations(train, val, args.out)


if __name__ == "__main__":
    main()
