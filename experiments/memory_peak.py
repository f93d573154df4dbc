"""Measure the peak memory of single-tower training steps, for notebook 10 and the README.

    python experiments/memory_peak.py [--batches 32 128] [--algorithm im2col|auto] [--out experiments/memory_peak.json]

For each batch: the budget that :func:`alexnet_np.budget.training_budget` predicts from the layers, and the
peak resident size of two training steps measured by :func:`alexnet_np.budget.measure_training_peak` in a
fresh process, with glibc's mmap threshold fixed (freed arrays go back to the system: the peak of the
arrays alive) and with the default allocator (what a user sees). Batch 128 needs about 5.5 GB and 8
minutes on 2 cores. The output is committed (notebook 10 reads it), unlike ``experiments/results/``.

``--algorithm``: the convolution algorithm of the budget and the measured processes: ``im2col`` (the default,
under ``"runs"``) or ``auto`` (the library's default, Winograd's work arrays counted; under ``"runs_auto"``). A run
keeps what the file holds for the other algorithm.
"""

import argparse
import json
import os
import platform
import time

import alexnet_np as an
from alexnet_np import budget as B
from alexnet_np.io import atomic_write


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    p.add_argument("--algorithm", choices=["im2col", "auto"], default="im2col")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "memory_peak.json"))
    args = p.parse_args(argv)
    model = an.AlexNet("single_tower")
    key = "runs" if args.algorithm == "im2col" else "runs_auto"
    out = dict(variant="single_tower", machine=platform.machine(), cpus=os.cpu_count())
    if os.path.exists(args.out):  # keep the other algorithm's runs
        with open(args.out) as f:
            out.update({k: v for k, v in json.load(f).items() if k.startswith("runs")})
    out[key] = {}
    for batch in args.batches:
        run = dict(predicted=B.training_budget(model, batch, algorithm=args.algorithm).peak)
        for release in (True, False):
            t = time.perf_counter()
            m = B.measure_training_peak("single_tower", batch, release=release, algorithm=args.algorithm)
            m["seconds"] = round(time.perf_counter() - t, 1)
            run["release" if release else "default"] = m
            print(batch, "release" if release else "default", {k: v for k, v in m.items()}, flush=True)
        out[key][str(batch)] = run
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    atomic_write(args.out, lambda f: f.write(json.dumps(out, indent=1).encode()))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
