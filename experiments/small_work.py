"""What running small kernels without threads is worth: ``alexnet_np.ops.threads.SMALL_WORK`` at four levels.

    python experiments/small_work.py [--rounds 15]

A ``parallel=True`` Numba loop wakes the worker threads and waits for them on every call; below
``SMALL_WORK`` elements (its largest array) a kernel runs its serial twin instead (``ops.threads.sized``).
It first times one kernel, ReLU's forward loop on 64 and on 2^17 float32 values, run on the threads and as its
serial twin (the 10th percentile of 300 calls each). Then it times, interleaved in one process, a training step
of the mini network at batch 8, the mini network's forward pass at batch 1, and the single tower's and
torchvision's forward passes at batch 1, with ``SMALL_WORK`` at 0 (every loop on threads, as before the serial
twins) and at 2^15, 2^17 (the library's value) and 2^19, and prints each minimum and its ratio to the
all-threads one. The results are the same bits at every level (``tests/test_kernels.py``). Nothing is written.
"""

import argparse
import time

import numpy as np

import alexnet_np as an
from alexnet_np.ops import kernels, threads
from alexnet_np.training.optim import SGD

LEVELS = (0, 1 << 15, 1 << 17, 1 << 19)
CASES = (("mini", 8, True), ("mini", 1, False), ("single_tower", 1, False), ("torchvision", 1, False))


def minima(variant, batch, train, rounds):
    """{level: fastest seconds} for one case, the levels alternated round by round."""
    model = an.AlexNet(variant, seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, *model.input_size)).astype(np.float32)
    labels = rng.integers(0, model.num_classes, batch)
    loss = an.CrossEntropyLoss()
    opt = SGD(model.params, model.grads, lr=1e-4, momentum=0.9, weight_decay=5e-4)

    def run():
        if train:
            loss.forward(model.forward(x, train=True), labels)
            model.backward(loss.backward(), input_grad=False)
            opt.step()
        else:
            model.forward(x)

    kept, times = threads.SMALL_WORK, {level: [] for level in LEVELS}
    try:
        for level in LEVELS:  # compile both twins, warm the buffers
            threads.SMALL_WORK = level
            run()
            run()
        for _ in range(rounds):
            for level in LEVELS:
                threads.SMALL_WORK = level
                t = time.perf_counter()
                run()
                times[level].append(time.perf_counter() - t)
    finally:
        threads.SMALL_WORK = kept
    return {level: min(ts) for level, ts in times.items()}


def one_kernel():
    """ReLU's forward loop on threads and as its serial twin: {size: (parallel µs, serial µs)}."""
    parallel = kernels._relu_forward_loop
    serial = threads.sized(parallel, 0)
    out = {}
    for size in (64, 1 << 17):
        x = np.random.default_rng(0).standard_normal(size).astype(np.float32)
        y, mask = np.empty_like(x), np.empty(size, dtype=bool)
        seconds = {}
        for name, loop in (("parallel", parallel), ("serial", serial)):
            loop(x, y, mask)  # compiled and warm
            ts = []
            for _ in range(300):
                t = time.perf_counter()
                loop(x, y, mask)
                ts.append(time.perf_counter() - t)
            seconds[name] = float(np.percentile(ts, 10))
        out[size] = (1e6 * seconds["parallel"], 1e6 * seconds["serial"])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args(argv)
    for size, (par, ser) in one_kernel().items():
        print(f"ReLU forward loop on {size} values: on threads {par:.1f} µs, serial twin {ser:.1f} µs")
    print(
        "case | "
        + " | ".join(f"SMALL_WORK = {f'2^{level.bit_length() - 1}' if level else 0}" for level in LEVELS)
    )
    for variant, batch, train in CASES:
        low = minima(variant, batch, train, args.rounds)
        cells = [f"{1e3 * low[level]:.2f} ms ({low[level] / low[0]:.2f})" for level in LEVELS]
        print(
            f"{variant} batch {batch} {'training step' if train else 'forward'} | " + " | ".join(cells),
            flush=True,
        )


if __name__ == "__main__":
    main()
