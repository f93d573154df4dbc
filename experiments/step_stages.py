"""Where a training step's time goes, kernel by kernel.

    python experiments/step_stages.py [--variant single_tower] [--batch 32] [--steps 5] [--bandwidth]

Wraps the library's kernel entry points (:mod:`alexnet_np.ops.kernels`, :mod:`alexnet_np.ops.winograd_kernels`
and :func:`alexnet_np.ops.gemm.matmul`) with a timer for the run, runs one warm-up step and then ``--steps``
training steps (forward in train mode, cross-entropy, backward, SGD with momentum and weight decay), and prints
each entry point's time per step (its share of the step, calls per step) and, for the largest arrays, the
fastest and the median call: a median far above the fastest call is time the system took, not the kernel
(a page fault on each first write to new memory). Nothing is written.

``--bandwidth``: also the bytes each entry point's calls span (every array it takes or returns, counted once,
whether read or written; an array with a zero stride, as :func:`alexnet_np.ops.winograd_kernels.shape_only`, not
at all) and the machine's memory bandwidth, measured in the same run with a Numba triad ``a = b + s·c`` on both
threads over arrays far larger than the cache (3 × 64 MB; its bytes counted the same way, 3 × 64 MB a call,
fastest of 9). Each entry point's *floor* is its bytes at that bandwidth: the time it would take if it did nothing
but touch its arrays once, at the speed the memory allows. A kernel near its floor is bound by memory and no
rearrangement of its loops makes it much faster; one far above it spends its time computing. Conv1's forward in
blocks (``_forward_in_blocks``: its input transforms, products and output transforms one block at a time, V and M
in cache) is timed as one entry, as are the SGD updates (``sgd_paper_update``, one call per parameter array).
"""

import argparse
import statistics
import time
from collections import defaultdict

import numpy as np
from numba import njit, prange

import alexnet_np as an
from alexnet_np.ops import gemm
from alexnet_np.ops import kernels as K
from alexnet_np.ops import winograd_kernels as W
from alexnet_np.training.optim import SGD

ENTRY_POINTS = {
    W: ["filter_transform", "filter_transform_adjoint", "input_transform", "input_transform_adjoint"]
    + ["output_transform", "output_transform_adjoint"],
    K: ["im2col", "col2im", "space_to_depth", "depth_to_space", "lrn_forward", "lrn_backward"]
    + ["maxpool_forward", "maxpool_backward", "relu_forward", "relu_backward", "sgd_paper_update"],
    gemm: ["matmul"],
}
BLOCKS = (W, "_forward_in_blocks")  # timed with --bandwidth only: it runs inside conv2d_winograd


def spanned_bytes(*objects):
    """The bytes of every distinct array among ``objects`` (searched through tuples and lists), each once; an
    array with a zero stride (a broadcast stand-in) counts nothing."""
    seen, total, stack = set(), 0, list(objects)
    while stack:
        o = stack.pop()
        if isinstance(o, (tuple, list)):
            stack.extend(o)
        elif isinstance(o, np.ndarray) and 0 not in o.strides:
            key = (o.__array_interface__["data"][0], o.nbytes)
            if key not in seen:
                seen.add(key)
                total += o.nbytes
    return total


@njit(parallel=True)
def _triad(a, b, c, s):
    for i in prange(a.size):
        a[i] = b[i] + s * c[i]


def memory_bandwidth(megabytes=64, rounds=9):
    """Bytes per second of the triad a = b + s·c over three float32 arrays of ``megabytes`` each, on Numba's
    threads: 3 × the array's bytes per call (each array touched once), fastest of ``rounds`` calls."""
    n = megabytes * (1 << 20) // 4
    a, b, c = np.zeros(n, np.float32), np.ones(n, np.float32), np.ones(n, np.float32)
    _triad(a, b, c, np.float32(0.5))
    best = min(_timed_once(_triad, a, b, c, np.float32(0.5)) for _ in range(rounds))
    return 3 * a.nbytes / best


def _timed_once(f, *args):
    t = time.perf_counter()
    f(*args)
    return time.perf_counter() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="single_tower")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--bandwidth", action="store_true", help="bytes, GB/s and floor of each entry point")
    args = p.parse_args(argv)
    calls = defaultdict(list)  # name -> [(seconds, shape of the first argument)]
    spans = defaultdict(int)  # name -> bytes its calls spanned (--bandwidth)

    def timed(module, name):
        f = getattr(module, name)

        def run(*a, **k):
            t = time.perf_counter()
            result = f(*a, **k)
            calls[name].append((time.perf_counter() - t, getattr(a[0], "shape", None)))
            if args.bandwidth:
                spans[name] += spanned_bytes(a, list(k.values()), result)
            return result

        originals.append((module, name, f))
        setattr(module, name, run)

    originals = []  # put back when the run ends, so that main() can run inside another process's session
    try:
        _run(args, timed, calls, spans)
    finally:
        for module, name, f in originals:
            setattr(module, name, f)


def _run(args, timed, calls, spans):
    for module, names in ENTRY_POINTS.items():
        for name in names:
            timed(module, name)
    if args.bandwidth:
        timed(*BLOCKS)
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
    spans.clear()
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
    if args.bandwidth:
        print_floors(totals, {name: b / args.steps for name, b in spans.items()}, per_step)


def print_floors(totals, bytes_per_step, per_step):
    """Each entry point's bytes per step, the speed it moved them at, and its floor at the measured bandwidth."""
    bandwidth = memory_bandwidth()
    print(
        f"memory bandwidth (Numba triad, 3 × 64 MB, both threads, fastest of 9): {bandwidth / 1e9:.1f} GB/s"
    )
    print(
        f"  {'entry point':26s} {'MB/step':>8s} {'ms/step':>8s} {'GB/s':>6s} {'floor ms':>9s} {'× floor':>8s}"
    )
    time_rest = floor_rest = 0.0
    for name, total in sorted(totals.items(), key=lambda kv: -kv[1]):
        moved = bytes_per_step.get(name, 0)
        floor = moved / bandwidth
        note = "  (GEMMs)" if name == "matmul" else "  (products too)" if name == BLOCKS[1] else ""
        print(
            f"  {name:26s} {moved / 1e6:8.0f} {1e3 * total:8.1f} {moved / total / 1e9:6.1f} {1e3 * floor:9.1f} "
            f"{total / floor if floor else float('nan'):8.1f}{note}"
        )
        if not note:
            time_rest, floor_rest = time_rest + total, floor_rest + floor
    print(
        f"  the kernels outside the GEMMs (all but matmul and {BLOCKS[1]}): {1e3 * time_rest:.1f} ms a step "
        f"({100 * time_rest / per_step:.0f}% of it), their floor {1e3 * floor_rest:.1f} ms"
    )


if __name__ == "__main__":
    main()
