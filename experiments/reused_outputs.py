"""What reusing the largest arrays from step to step would save: ReLU's output and mask, LRN's input gradient.

    python experiments/reused_outputs.py [--variant single_tower] [--batch 32] [--rounds 6]

The largest arrays a training step makes anew are new memory each time, and their first writes fault every
page (``experiments/page_faults.py``; ReLU's forward on conv1's output and LRN's backward showed a median call
several times their fastest in ``experiments/step_stages.py``). This script replaces, for its own run only,
``ops.kernels.relu_forward`` and ``ops.kernels.lrn_backward`` with versions that write into arrays kept from
the previous call of the same shape and layout instead of new ones, and times training steps in blocks of three,
the modes alternated block by block in one process:

* ``default``: the library as it is;
* ``ReLU kept``: ReLU's forward reuses its output and mask;
* ``ReLU and LRN kept``: and LRN's backward its input gradient.

It prints each mode's fastest and median step, the median of minor page faults and of system CPU time per step
(``getrusage``). Reusing is safe *here* because this loop keeps no output past the next step; the library
cannot do it without knowing that nobody else holds the array (a caller's ``return_activations``, another
layer's cache), and the arrays kept would be memory the budget (``alexnet_np.budget``) does not count today.
Nothing is written.

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
from alexnet_np.ops import kernels
from alexnet_np.training.optim import SGD

MODES = ("default", "ReLU kept", "ReLU and LRN kept")


def kept_versions():
    """relu_forward and lrn_backward that refill arrays kept by (shape, dtype, strides) instead of new ones."""
    kept = {}

    def like(tag, a, dtype=None):
        key = (tag, a.shape, np.dtype(dtype or a.dtype), a.strides)
        if key not in kept:
            kept[key] = np.empty_like(a, dtype=dtype)  # keeps a's layout, as the library's kernels do
        return kept[key]

    def relu_forward(x):
        y, mask = like("relu y", x), like("relu mask", x, bool)
        flat = kernels._flat_in_memory_order(x, y, mask)
        if flat is None or x.dtype.kind != "f":
            return kernels.reference.relu_forward(x)
        kernels.sized(kernels._relu_forward_loop, y.size)(*flat)
        return y, mask

    def lrn_backward(dout, x, scale, size=5, alpha=1e-4, beta=0.75):
        dx, t = like("lrn dx", x), x.dtype.type
        arrays = (dout, x, scale, dx)
        if all(kernels.is_channels_last(a) for a in arrays):
            loop = kernels.sized(kernels._lrn_backward_pixels_loop, dx.size)
            loop(*kernels._pixels(*arrays[:3]), size, t(alpha), t(beta), *kernels._pixels(dx))
        else:
            kernels.sized(kernels._lrn_backward_loop, dx.size)(dout, x, scale, size, t(alpha), t(beta), dx)
        return dx

    return relu_forward, lrn_backward


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="single_tower")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=6)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    model = an.AlexNet(args.variant, seed=0)
    x = rng.standard_normal((args.batch, 3, *model.input_size)).astype(np.float32)
    labels = rng.integers(0, model.num_classes, args.batch)
    loss = an.CrossEntropyLoss()
    opt = SGD(model.params, model.grads, lr=1e-4, momentum=0.9, weight_decay=5e-4)
    library = (kernels.relu_forward, kernels.lrn_backward)
    kept = kept_versions()

    def step():
        loss.forward(model.forward(x, train=True), labels)
        model.backward(loss.backward(), input_grad=False)
        opt.step()

    step()
    rows = {mode: [] for mode in MODES}
    for _ in range(args.rounds):
        for mode in MODES:
            kernels.relu_forward = kept[0] if mode != "default" else library[0]
            kernels.lrn_backward = kept[1] if mode == "ReLU and LRN kept" else library[1]
            step()  # the first step of a block makes the kept arrays
            for _ in range(3):
                before, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
                step()
                wall, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
                rows[mode].append(
                    (wall, after.ru_minflt - before.ru_minflt, after.ru_stime - before.ru_stime)
                )
    kernels.relu_forward, kernels.lrn_backward = library
    print(
        f"{args.variant}, batch {args.batch}: {3 * args.rounds} steps per mode, modes alternated in blocks of 3"
    )
    print("| mode | step fastest / median ms | minor faults (median) | system CPU ms (median) |")
    print("|---|---|---|---|")
    for mode, r in rows.items():
        wall = [w for w, _, _ in r]
        print(
            f"| {mode} | {1e3 * min(wall):.0f} / {1e3 * statistics.median(wall):.0f} | "
            f"{statistics.median(f for _, f, _ in r):.0f} | {1e3 * statistics.median(s for _, _, s in r):.0f} |"
        )


if __name__ == "__main__":
    main()
