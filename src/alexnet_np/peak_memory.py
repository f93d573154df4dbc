"""Resident memory read from Linux's ``/proc/self/status``, and the training-step measurement behind
:func:`alexnet_np.budget.measure_training_peak`, run in a fresh process as
``python -m alexnet_np.peak_memory VARIANT BATCH STEPS``.

:func:`rss` is the resident size now, :func:`peak_rss` the high-water mark (``VmHWM``) since the process
started or since :func:`reset_peak`; the benchmark (:func:`alexnet_np.tools.bench.measure_memory`) and the
budget use these three and nothing else.
"""

from __future__ import annotations

import gc
import json
import sys

import numpy as np

from . import ops
from .layers import CrossEntropyLoss
from .model import AlexNet
from .ops import buffers, kernels, reference


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # the file gives kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def rss() -> int:
    """Bytes resident now (``VmRSS``)."""
    return _status("VmRSS")


def peak_rss() -> int:
    """The most bytes resident since the process started or since :func:`reset_peak` (``VmHWM``)."""
    return _status("VmHWM")


def reset_peak() -> None:
    """Reset the high-water mark to the present resident size (``/proc/self/clear_refs``)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def training_steps(model, x, labels, count):
    """``count`` training steps: forward in training mode, cross-entropy, backward without the input
    gradient, and the paper's SGD (momentum 0.9, weight decay 5e-4, lr 0.01) with one velocity per parameter,
    as :class:`alexnet_np.training.optim.SGD` runs it. Returns the velocities (kept alive by the caller)."""
    loss = CrossEntropyLoss()
    velocity = {k: np.zeros_like(v) for k, v in model.params.items()}
    update = kernels.sgd_paper_update if ops.fast() else reference.sgd_paper_update
    for _ in range(count):
        loss.forward(model.forward(x, train=True), labels)
        model.backward(loss.backward(), input_grad=False)
        for k, w in model.params.items():
            update(w, velocity[k], model.grads[k], 0.9, 5e-4, 0.01)
    return velocity


def measure(variant: str, batch: int, count: int) -> dict:
    """{"baseline", "built", "peak"} in bytes: resident after the warm-up, after building the model and the
    batch, and the peak of ``count`` steps (:func:`alexnet_np.budget.measure_training_peak` says what each
    includes)."""
    small = AlexNet(variant, num_classes=10)  # compiles (or loads) every kernel the step uses
    training_steps(small, np.ones((2, 3, *small.input_size), np.float32), np.zeros(2, np.int64), 1)
    a = np.ones((2048, 2048), np.float32)
    a @ a  # the BLAS library's work buffers, touched in full by a large product: part of the baseline
    del small, a
    gc.collect()
    buffers.release_freed_memory()  # what malloc keeps for reuse (ops.buffers.keep_freed_memory) is not in use
    baseline = rss()
    model = AlexNet(variant, num_classes=1000)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, *model.input_size)).astype(np.float32)
    labels = rng.integers(0, 1000, size=batch)
    built = rss()
    reset_peak()
    velocity = training_steps(model, x, labels, count)
    peak = peak_rss()
    del velocity
    return dict(baseline=baseline, built=built, peak=peak)


def main(argv=None) -> None:
    variant, batch, count = (sys.argv[1:] if argv is None else argv)[:3]
    print(json.dumps(measure(variant, int(batch), int(count))))


if __name__ == "__main__":
    main()
