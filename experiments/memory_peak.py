"""Measure the peak memory of single-tower training steps, for notebook 10 and the README.

    python experiments/memory_peak.py [--batches 32 128] [--out experiments/memory_peak.json]

For each batch: the budget that :func:`alexnet_np.budget.training_budget` predicts from the layers, and the
peak resident size of two training steps measured by :func:`alexnet_np.budget.measure_training_peak` in a
fresh process, with glibc's mmap threshold fixed (freed arrays go back to the system: the peak of the
arrays alive) and with the default allocator (what a user sees). Batch 128 needs about 5.5 GB and 8
minutes on 2 cores. The output is committed (notebook 10 reads it), unlike ``experiments/results/``.
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
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "memory_peak.json"))
    args = p.parse_args(argv)
    model = an.AlexNet("single_tower")
    out = dict(variant="single_tower", machine=platform.machine(), cpus=os.cpu_count(), runs={})
    for batch in args.batches:
        run = dict(predicted=B.training_budget(model, batch).peak)
        for release in (True, False):
            t = time.perf_counter()
            m = B.measure_training_peak("single_tower", batch, release=release)
            m["seconds"] = round(time.perf_counter() - t, 1)
            run["release" if release else "default"] = m
            print(batch, "release" if release else "default", {k: v for k, v in m.items()}, flush=True)
        out["runs"][str(batch)] = run
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    atomic_write(args.out, lambda f: f.write(json.dumps(out, indent=1).encode()))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
