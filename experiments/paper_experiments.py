"""Regenerate the figures and numbers of notebook 7 at a larger scale.

    python experiments/paper_experiments.py [--seeds 3] [--epochs 12] [--out experiments/results]

Writes ``relu_vs_tanh.png``, ``ablations.png`` and ``results.json`` (every number the figures
show) to ``--out``. It trains 4 variants × seeds mini AlexNets on scikit-learn's digits plus the
ReLU/tanh runs: about 10 minutes on 2 cores with the defaults.
"""

import argparse
import json
import os
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    seeds = tuple(range(args.seeds))
    train, val = load_digits_data()
    t0 = time.perf_counter()

    rt = relu_vs_tanh(train, seeds=tuple(range(max(5, args.seeds))), max_iterations=600)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    plot_relu_vs_tanh(rt, ax)
    fig.tight_layout()
    atomic_write(os.path.join(args.out, "relu_vs_tanh.png"), lambda f: fig.savefig(f, format="png", dpi=110))
    print(f"ReLU iterations to 25%: {[r['iterations'] for r in rt['runs']['relu']]}")
    print(f"tanh iterations to 25%: {[r['iterations'] for r in rt['runs']['tanh']]}")
    print(
        f"tanh/ReLU ratio: mean {np.mean(rt['ratios']):.2f}, min {min(rt['ratios']):.2f}, max {max(rt['ratios']):.2f} "
        f"(the paper: about 6)"
    )

    ab = compare(train, val, ABLATIONS, seeds=seeds, epochs=args.epochs)
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
    a1.set_title(f"{len(seeds)} seeds, {args.epochs} epochs, mean ± std")
    a2.set_title("generalisation gap")
    fig.tight_layout()
    atomic_write(os.path.join(args.out, "ablations.png"), lambda f: fig.savefig(f, format="png", dpi=110))
    for n in names:
        print(
            f"{n:45} held-out error {100 * ab[n]['mean_val_error']:.2f} ± {100 * ab[n]['std_val_error']:.2f} %   "
            f"gap {100 * np.mean(ab[n]['gaps']):+.2f} %"
        )

    for r in ab.values():
        r.pop("histories")
    for runs in rt["runs"].values():
        for r in runs:
            r["curve"] = [round(c, 4) for c in r["curve"]]
    results = dict(
        relu_vs_tanh=rt,
        ablations=ab,
        seeds=list(seeds),
        epochs=args.epochs,
        seconds=time.perf_counter() - t0,
        command=" ".join(sys.argv),
    )
    atomic_write(
        os.path.join(args.out, "results.json"), lambda f: f.write(json.dumps(results, indent=1).encode())
    )
    print(f"wrote {args.out}/ in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
