"""The memory and compute budget of a training step, per layer and in total, from the layer objects.

Each layer answers its own bytes (:meth:`~alexnet_np.layers.Layer.train_memory`) and MACs; this module adds
them up under a stated model of a training step of this library (forward in training mode, cross-entropy,
backward with the first layer's input gradient skipped, the paper's SGD with one velocity per parameter):

* **held for the whole step**: weights, gradients, momentum (velocities), running statistics, what every
  layer keeps from forward for backward, every convolution's column matrix (im2col) or its Winograd work arrays
  (``algorithm="auto"``: transformed filters, input tiles and output gradient), the largest column
  gradient or Winograd product (one scratch array shared by all layers), the input batch and its labels;
* **on top of that, one layer at a time**: that layer's input and output in forward (its dout and dx in
  backward) and its temporaries. The peak is the held bytes plus the largest of these.

Left out, and measured separately (:func:`measure_training_peak` reads both): the interpreter, NumPy, Numba
and their compiled kernels (the baseline), the allocator's rounding and free lists, small temporaries.

The paper's question: :func:`two_gpu_budget`, and :func:`one_device_budget` (the same step on one device).
The roofline: :func:`roofline_points`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np

from . import ops

MiB = 2**20
GiB = 2**30
HELD = ("weights", "grads", "momentum", "buffers", "kept", "im2col", "work")


@dataclass
class LayerBudget:
    name: str
    description: str
    bytes: dict  # the layer's train_memory, plus "momentum"
    step: int  # bytes alive beside the held ones while this layer runs forward or backward
    flops: int  # forward FLOPs for the batch (2 · MACs · N)
    traffic: int  # bytes a forward pass must move at least: input, weights, output
    gemm_traffic: int  # bytes the forward's matrix multiplies move as run: (M·K + K·N + M·N) per GEMM

    @property
    def held(self):
        return sum(self.bytes[k] for k in HELD)

    @property
    def intensity(self):
        """FLOP per byte of the forward pass (0 for layers without multiply-accumulates)."""
        return self.flops / self.traffic if self.traffic else 0.0

    @property
    def gemm_intensity(self):
        """The arithmetic intensity (FLOP per byte) of the forward's matrix multiplies as this library runs
        them. A convolution reads its column matrix, k² times larger than its input for stride 1, so it moves
        more than it must."""
        return self.flops / self.gemm_traffic if self.gemm_traffic else 0.0


@dataclass
class TrainingBudget:
    """Bytes of one training step of ``model`` on ``batch`` images (see the module's docstring)."""

    title: str
    batch: int
    rows: list = field(default_factory=list)
    scratch: int = 0  # the largest column gradient (shared by every layer)
    data: int = 0  # the input batch, its labels, the logits, probabilities and their gradient

    def total(self, key):
        return sum(r.bytes[key] for r in self.rows)

    @property
    def held(self):
        return sum(r.held for r in self.rows) + self.scratch + self.data

    @property
    def step(self):
        """The largest of the one-layer-at-a-time bytes, and the layer where it is reached."""
        top = max(self.rows, key=lambda r: r.step)
        return top.step, top.name

    @property
    def peak(self):
        return self.held + self.step[0]

    def parts(self):
        """{part: bytes} whose sum is :attr:`peak`."""
        out = {k: self.total(k) for k in HELD}
        out.update(scratch=self.scratch, data=self.data, step=self.step[0])
        return out

    def table(self):
        """Per layer, in MiB: held (weights+grads+momentum+kept+im2col) and the one-at-a-time bytes."""
        mib = lambda b: f"{b / MiB:,.1f}"  # noqa: E731
        head = ("layer", "weights", "grads", "momentum", "kept", "im2col", "step", "FLOP/B")
        body = [
            (
                r.name,
                mib(r.bytes["weights"]),
                mib(r.bytes["grads"]),
                mib(r.bytes["momentum"]),
                mib(r.bytes["kept"]),
                mib(r.bytes["im2col"]),
                mib(r.step),
                f"{r.intensity:.1f}" if r.flops else "-",
            )
            for r in self.rows
        ]
        widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
        line = lambda cells: "  ".join(  # noqa: E731
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )
        parts = ", ".join(f"{k} {v / MiB:,.0f}" for k, v in self.parts().items())
        return "\n".join(
            [f"{self.title}, batch {self.batch} (MiB)", line(head)]
            + [line(b) for b in body]
            + [f"peak {self.peak / MiB:,.0f} MiB = {parts} (step: at {self.step[1]})"]
        )

    def __str__(self):
        return self.table()


def training_budget(model, batch, momentum=True, algorithm="im2col"):
    """The :class:`TrainingBudget` of ``model`` (a Sequential with ``input_size``) at ``batch`` images.

    ``algorithm``: every convolution is counted as ``use_conv_algorithm(algorithm)`` runs it: ``"im2col"``
    (column matrices kept for the weight gradient; the default, what notebook 10 draws) or ``"auto"`` (the
    library's default: Winograd's and space-to-depth's work arrays where it picks them, Conv2d.train_memory).
    :func:`measure_training_peak` measures under the same algorithm.
    """
    if not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"training_budget: batch must be a positive int, got {batch!r}")
    with ops.use_conv_algorithm(algorithm):
        return _training_budget(model, batch, momentum)


def _training_budget(model, batch, momentum):
    dtype = np.dtype(model.dtype or np.float32)
    shape = (int(batch), 3, *model.input_size)
    rows, scratch = [], 0
    for index, (name, layer) in enumerate(model):
        m = layer.train_memory(shape, dtype)
        m["momentum"] = m["weights"] if momentum else 0
        first = index == 0  # its input is data: no dx, no column gradient (input_grad=False)
        scratch = max(scratch, m["scratch_forward"], 0 if first else m["scratch"])
        forward = m["input"] + m["output"] + m["temporary"]
        backward = m["output"] + (0 if first else m["input"]) + m["temporary"]
        out = layer.output_shape(shape)
        gemm = sum((a * k + k * f + a * f) * dtype.itemsize for a, k, f in layer.gemm_shapes(shape))
        rows.append(
            LayerBudget(
                name=name,
                description=layer.describe(),
                bytes=m,
                step=max(forward, backward),
                flops=2 * layer.macs(shape) * shape[0],
                traffic=m["input"] + m["output"] + m["weights"] if layer.macs(shape) else 0,
                gemm_traffic=gemm,
            )
        )
        shape = out
    logits = int(np.prod(shape)) * dtype.itemsize
    data = int(np.prod((batch, 3, *model.input_size))) * dtype.itemsize + 8 * batch + 3 * logits
    return TrainingBudget(f"{type(model).__name__}({model.variant!r})", int(batch), rows, scratch, data)


# -- the paper's question --------------------------------------------------------------------------


def two_gpu_budget(model, batch=128, input_size=224):
    """Bytes per GPU of the paper's training step: did batch 128 fit in two 3 GB GTX 580s?

    The memory model (stated, not read from cuda-convnet's source; not an upper bound: it leaves out LRN's
    denominators, a prefetched batch, the CUDA context and scratch, and counts ReLU's output twice):

    * every layer is split across the two GPUs, half of its kernels or neurons on each (the paper,
      section 3.2), so each GPU holds half of the weights, gradients and momentum;
    * every layer's output is kept for backward, and a gradient of the same size next to it (more than
      a backward needs at a time, and cuda-convnet applies ReLU in place, where this counts its output
      again); each GPU holds its half of every layer's output;
    * each GPU holds the whole input batch (both see every image), at the paper's ``input_size``;
    * no im2col buffers: cuda-convnet's kernels convolve directly.

    ``model``: the ``paper`` variant (built at 227, where its sizes are those of the paper's network).
    Returns {part: bytes per GPU}, with ``"total"``.
    """
    dtype = np.dtype(model.dtype or np.float32)
    shape, outputs = (int(batch), 3, *model.input_size), 0
    for _, layer in model:
        shape = layer.output_shape(shape)
        outputs += int(np.prod(shape)) * dtype.itemsize
    weights = model.num_params() * dtype.itemsize
    parts = {
        "weights": weights // 2,
        "grads": weights // 2,
        "momentum": weights // 2,
        "outputs": outputs // 2,
        "output gradients": outputs // 2,
        "input batch": batch * 3 * input_size * input_size * dtype.itemsize,
    }
    parts["total"] = sum(parts.values())
    return parts


def one_device_budget(model, batch=128, input_size=224):
    """Bytes of the same training step as :func:`two_gpu_budget`, with the whole network on one device.

    The same memory model, nothing halved: all of the weights, gradients and momentum, every layer's whole
    output and a gradient of the same size, and the input batch once. It leaves out what
    :func:`two_gpu_budget` leaves out (LRN's denominators, the CUDA context, cuda-convnet's scratch, the
    prefetched next batch) and counts ReLU's in-place output again. Returns {part: bytes}, with ``"total"``.
    """
    halves = two_gpu_budget(model, batch, input_size)
    parts = {k: 2 * v for k, v in halves.items() if k not in ("input batch", "total")}
    parts["input batch"] = halves["input batch"]
    parts["total"] = sum(parts.values())
    return parts


# -- the roofline ----------------------------------------------------------------------------------


def roofline_points(budget, gemm_gflops, bandwidth_gbs):
    """{layer: (FLOP/byte, attainable GFLOP/s, "compute" or "memory")} for the layers with MACs.

    Attainable = min(GEMM rate, bandwidth · intensity) (Williams, Waterman & Patterson 2009); a layer
    is compute-bound when its intensity is past the ridge ``gemm_gflops / bandwidth_gbs``.
    """
    ridge = gemm_gflops / bandwidth_gbs
    return {
        r.name: (
            r.intensity,
            min(gemm_gflops, bandwidth_gbs * r.intensity),
            "compute" if r.intensity >= ridge else "memory",
        )
        for r in budget.rows
        if r.flops
    }


# -- measured ---------------------------------------------------------------------------------------


def measure_training_peak(
    variant="single_tower", batch=32, steps=2, release=True, timeout=600, algorithm="im2col"
):
    """Peak resident bytes of ``steps`` training steps in a fresh Python process (Linux):
    ``python -m alexnet_np.peak_memory`` (its ``measure``).

    The process imports the library, runs one step of the variant at batch 2 (so every kernel is compiled
    or loaded) and one large matrix product (the BLAS library's work buffers), then reads its resident
    size: the ``baseline`` that :func:`training_budget` leaves out. It then builds the model and the
    batch, resets the high-water mark (``/proc/self/clear_refs``, as the benchmark does), runs the steps
    (the second one is the steady state: every cache and buffer exists) and reads the peak. Returns
    {"baseline", "built", "peak", "growth"} in bytes; growth = peak − baseline is what
    :attr:`TrainingBudget.peak` predicts.

    ``release=True`` measures the arrays alive: the library leaves glibc's allocator alone
    (``ALEXNET_NP_MALLOC=system``) and its mmap threshold is fixed at 1 MiB (``MALLOC_MMAP_THRESHOLD_``), so
    every array of 1 MiB or more goes back to the system when it is freed, and NumPy does not ask for
    transparent huge pages (``NUMPY_MADVISE_HUGEPAGE=0``), which the kernel fills in 2 MiB steps, more or less
    of them depending on what else the machine is doing. ``release=False`` measures what a user sees: the
    library's default, glibc's malloc keeping freed memory for reuse
    (:func:`alexnet_np.ops.buffers.keep_freed_memory`). ``algorithm``: the convolution algorithm of the process
    (``ALEXNET_NP_CONV_ALGORITHM``), as :func:`training_budget`'s.
    """
    env = dict(os.environ, ALEXNET_NP_CONV_ALGORITHM=algorithm)  # the algorithm training_budget counts
    for name in ("MALLOC_MMAP_THRESHOLD_", "NUMPY_MADVISE_HUGEPAGE", "ALEXNET_NP_MALLOC"):
        env.pop(name, None)
    if release:
        env.update(MALLOC_MMAP_THRESHOLD_=str(MiB), NUMPY_MADVISE_HUGEPAGE="0", ALEXNET_NP_MALLOC="system")
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_np.peak_memory", variant, str(batch), str(steps)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if r.returncode:
        raise RuntimeError(f"measure_training_peak({variant!r}, {batch}): the process failed:\n{r.stderr}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["growth"] = out["peak"] - out["baseline"]
    return out
