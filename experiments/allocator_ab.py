"""How much of a training step goes to the memory allocator: glibc's defaults against memory kept for reuse.

    python experiments/allocator_ab.py [--variant single_tower] [--batch 32] [--rounds 3] [--steps 13]

Every large array a step makes (a layer's output, a gradient) is new memory: above glibc's mmap threshold
(at most 32 MiB; conv1's output at batch 32 is 37 MB, 35.4 MiB) it is mapped from the system when made and given back
when freed, and below it, freed memory at the top of the heap is given back beyond the trim threshold; each
step's first write to such memory page-faults again. This script times the same steps in fresh processes,
alternated, under two allocator settings:

* ``system``: glibc's defaults (``ALEXNET_NP_MALLOC=system``);
* ``keep``: the library's default, :func:`alexnet_np.ops.buffers.keep_freed_memory` at import (mmap and trim
  thresholds of 256 MiB).

It prints, per process, the minimum and median of the training step and of the forward pass (the first of
``--steps`` dropped), the median minor page faults and system CPU time per step (``getrusage``) and the peak
resident size. Nothing is written. glibc on Linux only.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

MODES = ("system", "keep")


def child(mode, variant, batch, steps):
    import numpy as np

    os.environ["ALEXNET_NP_MALLOC"] = mode
    import alexnet_np as an
    from alexnet_np.training.optim import SGD

    rng = np.random.default_rng(0)
    model = an.AlexNet(variant, seed=0)
    x = rng.standard_normal((batch, 3, *model.input_size)).astype(np.float32)
    y = rng.integers(0, model.num_classes, batch)
    loss = an.CrossEntropyLoss()
    opt = SGD(model.params, model.grads, lr=1e-4, momentum=0.9, weight_decay=5e-4)
    assert an.ops.buffers.keeps_freed_memory == (mode == "keep"), "the setting did not take"
    step_s, forward_s, faults, system = [], [], [], []
    for _ in range(steps):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t = time.perf_counter()
        loss.forward(model.forward(x, train=True), y)
        model.backward(loss.backward(), input_grad=False)
        opt.step()
        step_s.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        faults.append(r1.ru_minflt - r0.ru_minflt)
        system.append(r1.ru_stime - r0.ru_stime)
        t = time.perf_counter()
        model.forward(x)
        forward_s.append(time.perf_counter() - t)
    step_s, forward_s = sorted(step_s[1:]), sorted(forward_s[1:])
    faults, system = statistics.median(faults[1:]), statistics.median(system[1:])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{mode:14s} step min {1e3 * step_s[0]:.0f} median {1e3 * step_s[len(step_s) // 2]:.0f} ms | "
        f"forward min {1e3 * forward_s[0]:.0f} median {1e3 * forward_s[len(forward_s) // 2]:.0f} ms | "
        f"step faults {faults:.0f} system {1e3 * system:.0f} ms | peak RSS {peak:.0f} MiB",
        flush=True,
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="single_tower")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=13)
    p.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.child, args.variant, args.batch, args.steps)
    print(
        f"{args.variant}, batch {args.batch}, {args.steps} steps per process, {args.rounds} rounds",
        flush=True,
    )
    for _ in range(args.rounds):
        for mode in MODES:
            cmd = [sys.executable, __file__, "--child", mode, "--variant", args.variant]
            cmd += ["--batch", str(args.batch), "--steps", str(args.steps)]
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
