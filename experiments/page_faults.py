"""How much of a training step is the system handing out memory: page faults on new arrays.

    python experiments/page_faults.py [--variant single_tower] [--batch 32] [--steps 6]

Every array a step makes anew (a layer's output, its mask, a gradient) is memory the process has not written
yet, and the first write to each page of it faults into the kernel. This script runs training steps (forward in
train mode, cross-entropy, backward, SGD with momentum and weight decay) and prints per step:

* the wall time, the minor page faults (``getrusage``) and the system CPU time they cost;
* for the first ReLU after conv1 (the largest ReLU), its forward split in two: the first write to every page of
  its new output and mask (one store per 4 KiB page, the page faults alone), then the same loop the library runs
  (``ops.kernels._relu_forward_loop``) on the pages now mapped. The split replaces ``ops.kernels.relu_forward``
  for the run with a copy that does exactly this; the values are the library's.

The first step is dropped from the summary (compilation, first touch of the weights). Nothing is written.
Linux (``resource``) only.

Runs with ``ALEXNET_NP_MALLOC=system`` (set here before alexnet_np is imported): glibc's allocator at its
defaults, as when this was measured; the library's default keeps freed memory for reuse
(:func:`alexnet_np.ops.buffers.keep_freed_memory`), and a step then makes about no page faults.
"""

import argparse
import os
import resource
import statistics
import time

import numpy as np

os.environ.setdefault("ALEXNET_NP_MALLOC", "system")  # before alexnet_np's import sets the allocator

import alexnet_np as an  # noqa: E402
from alexnet_np.ops import kernels as K
from alexnet_np.training.optim import SGD

PAGE = 4096


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="single_tower")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=6)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    model = an.AlexNet(args.variant, seed=0)
    x = rng.standard_normal((args.batch, 3, *model.input_size)).astype(np.float32)
    labels = rng.integers(0, model.num_classes, args.batch)
    loss = an.CrossEntropyLoss()
    opt = SGD(model.params, model.grads, lr=1e-4, momentum=0.9, weight_decay=5e-4)
    conv1_out = model.layers["conv1"].output_shape(x.shape)
    split = {}  # the largest ReLU's forward this step: {"touch": s, "loop": s}

    def relu_forward(a):  # ops.kernels.relu_forward, with the first touch of each new page timed apart
        y, mask = np.empty_like(a), np.empty_like(a, dtype=bool)
        flat = K._flat_in_memory_order(a, y, mask)
        if flat is None or a.dtype.kind != "f":
            return K.reference.relu_forward(a)
        t0 = time.perf_counter()
        flat[1][:: PAGE // y.itemsize] = 0  # one store per page of y and of the mask: the faults alone
        flat[2][::PAGE] = False
        t1 = time.perf_counter()
        K._relu_forward_loop(*flat)
        t2 = time.perf_counter()
        if a.shape == conv1_out:
            split.update(touch=t1 - t0, loop=t2 - t1)
        return y, mask

    K.relu_forward = relu_forward
    rows = []
    for _ in range(args.steps):
        before, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        loss.forward(model.forward(x, train=True), labels)
        model.backward(loss.backward(), input_grad=False)
        opt.step()
        wall, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
        rows.append(
            (
                wall,
                after.ru_minflt - before.ru_minflt,
                after.ru_stime - before.ru_stime,
                split["touch"],
                split["loop"],
            )
        )
    print(f"{args.variant}, batch {args.batch}; per step (the first dropped):")
    print(" step ms | minor faults | system CPU ms | ReLU after conv1: first touch ms, loop ms")
    for wall, faults, system, touch, loop in rows[1:]:
        print(
            f"{1e3 * wall:8.0f} | {faults:12d} | {1e3 * system:12.0f} | {1e3 * touch:8.1f}, {1e3 * loop:5.1f}"
        )
    med = [statistics.median(r[i] for r in rows[1:]) for i in range(5)]
    print(
        f"medians: step {1e3 * med[0]:.0f} ms, {med[1]:.0f} faults, system {1e3 * med[2]:.0f} ms; "
        f"ReLU after conv1: first touch {1e3 * med[3]:.1f} ms, loop {1e3 * med[4]:.1f} ms"
    )


if __name__ == "__main__":
    main()
