"""Where a training step's time goes, kernel by kernel.

    python experiments/step_stages.py [--variant single_tower] [--batch 32] [--steps 5]

Wraps the library's kernel entry points (:mod:`alexnet_np.ops.kernels`, :mod:`alexnet_np.ops.winograd_kernels`
and :func:`alexnet_np.ops.gemm.matmul`) with a timer for the run, runs one warm-up step and then ``--steps``
training steps (forward in train mode, cross-entropy, backward, SGD with momentum and weight decay), and prints
each entry point's time per step (its share of the step, calls per step) and, for the largest arrays, the
fastest and the median call: a median far above the fastest call is time the system took, not the kernel
(a page fault on each first write to new memory). Nothing is written.
"""

import argparse
import statistics
import time
from collections import defaultdict

import numpy as np

import alexnet_np as an
from alexnet_np.ops import gemm
from alexnet_np.ops import kernels as K
from alexnet_np.ops import winograd_kernels as W
from alexnet_np.training.optim import SGD

ENTRY_POINTS = {
    W: ["filter_transform", "filter_transform_adjoint", "input_transform", "input_transform_adjoint"]
    + ["output_transform", "output_transform_adjoint"],
    K: ["im2col", "col2im", "space_to_depth", "depth_to_space", "lrn_forward", "lrn_backward"]
    + ["maxpool_forward", "maxpool_backward", "relu_forward", "relu_backward"],
    gemm: ["matmul"],
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="single_tower")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args(argv)
    calls = defaultdict(list)  # name -> [(seconds, shape of the first argument)]

    def timed(module, name):
        f = getattr(module, name)

        def run(*a, **k):
            t = time.perf_counter()
            result = f(*a, **k)
            calls[name].append((time.perf_counter() - t, getattr(a[0], "shape", None)))
            return result

        setattr(module, name, run)

    for module, names in ENTRY_POINTS.items():
        for name in names:
            timed(module, name)
    rng = np.random.default_rng(0)
    model = an.AlexNet(args.variant, seed=0)
    x = rng.standard_normal((args.batch, 3, *model.input_size)).astype(np.float32)
    y = rng.integers(0, model.num_classes, args.batch)
    loss = an.CrossEntropyLoss()
    opt = SGD(model.params, model.grads, lr=1e-4, momentum=0.9, weight_decay=5e-4)

    def step():
        loss.forward(model.forward(x, train=True), y)
        model.backward(loss.backward(), input_grad=False)
        opt.step()

    step()
    calls.clear()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    per_step = (time.perf_counter() - t) / args.steps
    print(
        f"{args.variant}, batch {args.batch}: {1e3 * per_step:.0f} ms per training step ({args.steps} steps)"
    )
    totals = {name: sum(s for s, _ in c) / args.steps for name, c in calls.items()}
    for name, total in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(
            f"  {name:26s} {1e3 * total:7.1f} ms  {100 * total / per_step:5.1f}%  "
            f"{len(calls[name]) // args.steps} calls per step"
        )
    print("the largest array each entry point took, fastest / median call:")
    for name, c in sorted(calls.items()):
        largest = max((s for _, s in c if s is not None), key=lambda s: int(np.prod(s)), default=None)
        ms = [1e3 * s for s, shape in c if shape == largest]
        if ms:
            print(f"  {name:26s} {str(largest):22s} {min(ms):6.1f} / {statistics.median(ms):6.1f} ms")


if __name__ == "__main__":
    main()
