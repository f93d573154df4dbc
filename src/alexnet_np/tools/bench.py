"""Benchmark: alexnet_np (Numba kernels, and the NumPy reference) against PyTorch on the CPU.

    python -m alexnet_np bench [--batches 1 8 32] [--variants single_tower torchvision] [--out bench_results]
                               [--repeats 7] [--settle 20] [--settings users best] [--json]
    python -m alexnet_np bench --conv [--batches ...] [--variants ...]     # per-layer, by algorithm

What is measured, and how:

* **As users run it** (the default, and the column the ratios are judged on): ``python -m alexnet_np bench``
  starts a fresh interpreter that imports NumPy *before* alexnet_np, as a notebook or a script does, and
  sets no environment variable of its own (OpenBLAS keeps its default spin, ``OMP_WAIT_POLICY`` is whatever
  the user has). ``--settings best`` adds a second column: the same rounds in a fresh interpreter that
  imports alexnet_np first with ``OPENBLAS_THREAD_TIMEOUT=4`` and ``OMP_WAIT_POLICY=passive`` set before
  anything loads (:mod:`alexnet_np.ops.threads`). Each process records the settings it ran under.
* **PyTorch at its own defaults**: its own thread count (``torch.get_num_threads()``, recorded), timed twice:
  interleaved with ours in one process (ours, PyTorch, ours, ...: a noisy neighbour hits both alike; the
  ratio is taken there; the process has alexnet_np's allocator setting,
  :func:`alexnet_np.ops.buffers.keep_freed_memory`, which PyTorch's tensors share), and alone in a fresh
  process of its own (NumPy, then torch, nothing else run; glibc's allocator at its defaults,
  ``ALEXNET_NP_MALLOC=system``; its calls back to back, so its threads are still awake for the next: PyTorch
  at its best). A
  warning is printed and stored when the interleaved PyTorch minimum lies above the fresh-process range (the
  shared process slowed PyTorch down, which would flatter the ratio).
* **Rounds**: one warm-up call each, then ``--repeats`` (default 7) rounds, each timed call after a pause of
  ``--settle`` ms (default 20): PyTorch's OpenMP threads keep spinning for a few ms after each of its calls,
  and a call that started at once would be timed on a core they still hold (the conditions line gives the
  CPU time they burned after a call, :func:`idle_spin_ms`). Reported: the minimum (least sensitive to a noisy
  neighbour; the ratios use it), the median, and the spread (max − min) / min.
* **Conditions beside every table**: the load average (1 min) when the table started and ended, and
  NumPy's float32 2048² matmul GFLOP/s measured at both times; per row, the load when it was timed.
* **forward**: eval mode, no gradients. **train step**: forward in train mode, cross-entropy,
  backward, SGD with momentum and weight decay (PyTorch: ``torch.optim.SGD`` with the same settings).
* **GFLOP/s**: 2 × MACs per image × batch (× 3 for a training step: forward, input gradient,
  weight gradient) / time, beside NumPy's float32 square-matmul GFLOP/s measured in the same run.
* **GEMM share**: the matrix multiplies of every Conv2d and Linear layer are re-run alone with the
  same shapes, as the layers run them (:func:`alexnet_np.ops.gemm.matmul`; a layer's products of one shape
  as one stacked product, as Winograd runs them; each forward product in the faster of its two
  orientations, ``a @ wᵀ`` and ``(w @ aᵀ)ᵀ``), and timed; the rest of the
  step is "outside GEMM" (im2col, col2im, pooling, LRN,
  ReLU, dropout, the update, Python).
* **Floor**: the multiplies the chosen convolution algorithms and the Linear layers do (Winograd's GEMM
  multiplies where "auto" picks it, the direct count elsewhere; × 3 for a training step) ÷ the same run's
  NumPy GEMM rate: the time the step would take if it were nothing but GEMMs at that rate.
* **Per-layer convolution table** (``--conv``): every Conv2d of a variant at its input shape, forward and
  backward (both gradients) by each algorithm that applies (im2col, Winograd, space-to-depth) and by
  PyTorch's ``nn.Conv2d`` at its defaults (NCHW) and on channels_last memory, interleaved; each side's input in
  the layout it has inside its network (ours channels-last after conv1, the NCHW image batch for conv1, whose
  backward computes no input gradient); minimum and median; the algorithm "auto" picks; MACs (direct) and
  multiplies per image.
* **Peak memory**: each framework in a fresh process; the peak resident set size during the
  training steps minus the resident size before the first step (model, input and imports excluded).

``--json`` prints the results as JSON on standard output (the progress lines go to standard error) besides
writing ``bench.json``, ``bench.md`` and ``bench.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter

import numpy as np

from ..errors import BadArgument, UserError
from ..io import atomic_write, check_target, refuse_link
from ..ops.buffers import MALLOC_ENV
from ..peak_memory import peak_rss, reset_peak, rss

MiB = 2**20


BEST_SETTINGS = {"OPENBLAS_THREAD_TIMEOUT": "4", "OMP_WAIT_POLICY": "passive"}
SETTINGS_SEEN = (
    "OPENBLAS_THREAD_TIMEOUT",
    "OMP_WAIT_POLICY",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "ALEXNET_NP_BENCH_THREADS",
    "ALEXNET_NP_MALLOC",
)


def _threads():
    return int(os.environ.get("ALEXNET_NP_BENCH_THREADS", os.cpu_count() or 1))


def _torch_threads(torch):
    """PyTorch keeps its own default thread count unless ``ALEXNET_NP_BENCH_THREADS`` asks for one."""
    if "ALEXNET_NP_BENCH_THREADS" in os.environ:
        torch.set_num_threads(_threads())
    return torch.get_num_threads()


def load_average():
    """The machine's 1-minute load average (how many runnable jobs shared the cores), or None."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def settings_in_effect():
    """The thread settings this process runs under, as a reader of the results needs them."""
    from alexnet_np.ops import buffers, threads

    return dict(
        environment={k: os.environ.get(k) for k in SETTINGS_SEEN},
        blas_timeout_set_by_alexnet_np=threads.blas_timeout_set_here(),
        malloc_keeps_freed_memory=buffers.keeps_freed_memory,
    )


def summarize(seconds):
    """[seconds] -> {"min", "median", "max", "spread"}: spread = (max − min) / min."""
    lo, hi = min(seconds), max(seconds)
    return dict(min=lo, median=statistics.median(seconds), max=hi, spread=(hi - lo) / lo if lo > 0 else 0.0)


def matmul_gflops(n=2048, repeats=5, timer=time.perf_counter):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        t = timer()
        a @ b
        times.append(timer() - t)
    return 2 * n**3 / statistics.median(times) / 1e9


class OursRunner:
    """Forward and training step of an alexnet_np model, with the paper's SGD."""

    def __init__(self, variant, batch, backend="numba", algorithm="auto"):
        import alexnet_np as an
        from alexnet_np.training.optim import SGD

        self.an, self.backend, self.algorithm = an, backend, algorithm
        self.model = an.AlexNet(variant, seed=0)
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((batch, 3, *self.model.input_size)).astype(np.float32)
        self.y = rng.integers(0, 1000, size=batch)
        self.loss = an.CrossEntropyLoss()
        self.opt = SGD(self.model.params, self.model.grads, lr=1e-4, momentum=0.9, weight_decay=5e-4)

    def forward(self):
        with self.an.use_backend(self.backend), self.an.use_conv_algorithm(self.algorithm):
            return self.model.forward(self.x, train=False)

    def train_step(self):
        with self.an.use_backend(self.backend), self.an.use_conv_algorithm(self.algorithm):
            self.loss.forward(self.model.forward(self.x, train=True), self.y)
            self.model.backward(self.loss.backward(), input_grad=False)  # the input is data, as in PyTorch
            self.opt.step()


class TorchRunner:
    """The same network as a ``torch.nn`` module (built from our layers), with ``torch.optim.SGD``."""

    def __init__(self, variant, batch):
        import torch

        import alexnet_np as an
        from alexnet_np.tools.interop import build_torch_module

        self.torch = torch
        self.model = build_torch_module(an.AlexNet(variant, seed=0))
        rng = np.random.default_rng(0)
        h = an.model.DEFAULT_INPUT_SIZE[variant]
        self.x = torch.from_numpy(rng.standard_normal((batch, 3, h, h)).astype(np.float32))
        self.y = torch.from_numpy(rng.integers(0, 1000, size=batch))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)

    def forward(self):
        self.model.eval()
        with self.torch.no_grad():
            return self.model(self.x)

    def train_step(self):
        self.model.train()
        self.opt.zero_grad(set_to_none=True)
        loss = self.torch.nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()


SETTLE_S = 0.02
"""The pause before each timed call of an interleaved round (``--settle``, in ms). After a call PyTorch's OpenMP
threads keep spinning on a core for some milliseconds (libgomp's default wait policy; :func:`idle_spin_ms`
measures it, every run prints it, docs/benchmarks.md has the figures), and a call that starts at once shares
that core with them; alexnet_np's threads sleep when idle. Without a pause the side that follows PyTorch is
timed on a core PyTorch still holds, which a user of either library, running one of them, does not see.
PyTorch alone in its fresh process runs back to back (a PyTorch loop's next call finds its threads awake)."""


def _time_interleaved(fns: dict, repeats, timer=time.perf_counter, settle=SETTLE_S):
    """{name: fn} -> {name: [seconds]}; one warm-up call each, then rounds that call every fn once, each timed
    call after a pause of ``settle`` seconds (:data:`SETTLE_S`; 0: back to back).

    ``timer``: wall clock, or ``time.process_time`` (this process's CPU seconds, all threads together),
    which a machine saturated by other jobs inflates far less than the wall clock (run with 1 thread)."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            if settle > 0:
                time.sleep(settle)
            t = timer()
            fn()
            times[k].append(timer() - t)
    return times


def idle_spin_ms(fn, pause=0.05, repeats=5):
    """The CPU time (ms, median of ``repeats``) this process spends during a ``pause`` of the calling thread right
    after ``fn()`` returns: what the threads ``fn`` woke burn while they wait for more work."""
    fn()
    burned = []
    for _ in range(repeats):
        fn()
        t = time.process_time()
        time.sleep(pause)
        burned.append(1e3 * (time.process_time() - t))
    return statistics.median(burned)


def torch_idle_spin_ms(torch):
    """:func:`idle_spin_ms` of a small PyTorch convolution at its defaults: the CPU time its threads burn in the
    50 ms after a call (about 0 with ``OMP_WAIT_POLICY=passive`` or one thread)."""
    conv = torch.nn.Conv2d(3, 16, 3)
    x = torch.zeros(1, 3, 64, 64)

    def call():
        with torch.no_grad():
            conv(x)

    return idle_spin_ms(call)


def gemm_seconds(model, batch, train, repeats=3, timer=time.perf_counter):
    """Time the matrix multiplies of every Conv2d and Linear layer of ``model`` alone, at ``batch``.

    A layer's products of one shape are timed as one stacked product, as Winograd runs its α² of them (one
    ``gemm.matmul`` over the stack; timing each alone would charge α² hand-offs to the pool's threads that the
    layer does not make). Each forward product is timed in the faster of its two orientations, ``a @ wᵀ``
    (im2col) and ``(w @ aᵀ)ᵀ`` (Linear): the share outside the GEMMs is then, if anything, overstated.
    """
    rng = np.random.default_rng(0)
    shape = (batch, 3, *model.input_size)
    total = 0.0
    for index, (_, layer) in enumerate(model):
        out = layer.output_shape(shape)
        shapes = layer.gemm_shapes(shape)
        for (m, k, f), count in Counter(shapes).items():
            total += _products_seconds(rng, count, m, k, f, train, index > 0, repeats, timer)
        shape = out
    return total


def _products_seconds(rng, count, m, k, f, train, input_grad, repeats, timer):
    """``count`` stacked (m, k) @ (k, f) products: the forward's in its faster orientation, and in a training
    step the weight gradient and (unless ``input_grad`` is False: the first layer) the input gradient."""
    from ..ops.gemm import matmul as mm  # the products as the layers run them (on the Numba backend)

    a = rng.standard_normal((count, m, k)).astype(np.float32)
    w = rng.standard_normal((count, f, k)).astype(np.float32)
    d = rng.standard_normal((count, m, f)).astype(np.float32)
    forward = [lambda: mm(a, w.swapaxes(1, 2)), lambda: mm(w, a.swapaxes(1, 2))]
    backward = []
    if train:  # the weight gradient as the layers compute it (an outer product at batch 1)
        if m == 1:
            backward.append(lambda: [np.outer(d[i, 0], a[i, 0]) for i in range(count)])
        else:
            backward.append(lambda: mm(d.swapaxes(1, 2), a))
        if input_grad:
            backward.append(lambda: mm(d, w))
    seconds = [_best_of(call, repeats, timer) for call in forward + backward]
    return min(seconds[:2]) + sum(seconds[2:])


def _best_of(call, repeats, timer):
    """The least time of ``repeats`` calls, after one untimed call."""
    call()
    ts = []
    for _ in range(repeats):
        t = timer()
        call()
        ts.append(timer() - t)
    return min(ts)


def multiplies_per_image(model, batch=1):
    """Multiplies per image of the algorithms the layers choose ("auto") at ``batch``: Winograd's GEMM count
    where it runs, the direct count (``macs``) elsewhere."""
    shape, total = (batch, 3, *model.input_size), 0
    for _, layer in model:
        total += getattr(layer, "multiplies", layer.macs)(shape)  # only Conv2d has an algorithm to choose
        shape = layer.output_shape(shape)
    return total


def _time_conv_layer(
    layer, shape, out, rng, repeats, timer=time.perf_counter, *, first=False, settle=SETTLE_S
):
    """({"im2col fwd": ms, "im2col bwd": ms, "winograd …", "space_to_depth …", "torch …", "torch_cl …"}: minima,
    {…}: medians) for one Conv2d, interleaved.

    Each side gets the input it gets inside its own network: ours channels-last (what the layers before it
    return), or NCHW for the ``first`` layer (the image batch), whose backward computes no input gradient on
    either side, as in the networks; PyTorch at its defaults, NCHW tensors and module (``torch``), and also in
    channels_last memory (``torch_cl``, what the earlier tables timed)."""
    import torch

    def channels_last(a):
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # as inside the network

    x = rng.standard_normal(shape).astype(np.float32)
    x = x if first else channels_last(x)
    input_grad = not first  # neither network computes the image's gradient
    dout = channels_last(rng.standard_normal(out).astype(np.float32))
    fns = {}
    for algorithm in ALGORITHMS:
        conv = layer.astype(np.float32)
        try:
            conv.algorithm = algorithm
            conv.conv_algorithm(shape)
        except ValueError:
            continue  # the algorithm does not apply (Winograd at stride 4, space-to-depth at stride 1)
        fns[algorithm + " fwd"] = lambda c=conv: c.forward(x)
        fns[algorithm + " bwd"] = lambda c=conv: (c.forward(x), c.backward(dout, input_grad=input_grad))
    spec = layer.torch_spec()[1]
    for key, layout in (("torch", torch.contiguous_format), ("torch_cl", torch.channels_last)):
        xt = torch.from_numpy(np.ascontiguousarray(x)).contiguous(memory_format=layout)
        dt = torch.from_numpy(np.ascontiguousarray(dout)).contiguous(memory_format=layout)
        tconv = torch.nn.Conv2d(**spec).to(memory_format=layout)

        def torch_fwd(tconv=tconv, xt=xt):
            with torch.no_grad():
                return tconv(xt)

        def torch_bwd(tconv=tconv, xt=xt, dt=dt):
            tconv(xt.detach().requires_grad_(input_grad)).backward(dt)

        fns[key + " fwd"], fns[key + " bwd"] = torch_fwd, torch_bwd
    raw = _time_interleaved(fns, repeats, timer, settle)
    lows = {k: 1e3 * min(v) for k, v in raw.items()}
    medians = {k: 1e3 * statistics.median(v) for k, v in raw.items()}
    for times in (lows, medians):
        for k in [
            k for k in times if k.endswith(" bwd")
        ]:  # the backward alone: (forward + backward) − forward
            times[k] = max(0.0, times[k] - times[k.replace("bwd", "fwd")])
    return lows, medians


def conv_table(variant, batch, repeats=7, log=print, timer=time.perf_counter, settle=SETTLE_S):
    """Per Conv2d of ``variant`` at ``batch``: forward and backward ms by im2col, Winograd (where it applies)
    and PyTorch (at its defaults, NCHW; and channels_last), interleaved; ``ms``: minima, ``ms_median``: medians.
    Returns a list of row dicts."""
    import alexnet_np as an

    model = an.AlexNet(variant, seed=0)
    rng = np.random.default_rng(0)
    shape, rows = (batch, 3, *model.input_size), []
    for name, layer in model:
        out = layer.output_shape(shape)
        if not hasattr(layer, "conv_algorithm"):
            shape = out
            continue
        load = load_average()
        first = shape == (batch, 3, *model.input_size)  # conv1: it takes the image batch, NCHW
        times, medians = _time_conv_layer(layer, shape, out, rng, repeats, timer, first=first, settle=settle)
        chosen = layer.conv_algorithm(shape)
        row = dict(
            variant=variant,
            layer=name,
            batch=batch,
            describe=layer.describe(),
            auto=_describe_choice(layer, chosen, shape),
            macs=layer.macs(shape),
            multiplies=layer.multiplies(shape),
            our_input="NCHW (the image batch)" if first else "channels-last",
            ms={k: round(v, 2) for k, v in times.items()},
            ms_median={k: round(v, 2) for k, v in medians.items()},
            load=load,
            repeats=repeats,
        )
        rows.append(row)
        log(
            f"{variant:12} b{batch:<3} {name:6} {row['describe']:34} auto: {row['auto']:36} "
            + "  ".join(f"{k} {v:7.1f}" for k, v in row["ms"].items())
        )
        shape = out
    return rows


ALGORITHMS = ("im2col", "winograd", "space_to_depth")


def _describe_choice(layer, chosen, shape):
    name, m = chosen
    if name == "im2col":
        return name
    r = layer.space_to_depth_kernel() if name == "space_to_depth" else layer.kernel_size[0]
    text = f"{name} F({m}, {r})" if name == "winograd" else f"space_to_depth + F({m}, {r})"
    return text + (", in blocks" if layer.winograd_rows_per_block(shape) else "")


def conv_markdown(rows):
    """The per-layer table: minima over the rounds (ms); auto's forward over im2col's and over PyTorch's (at its
    defaults), all minima."""
    lines = [
        "| variant | batch | layer | auto picks | MACs/image (direct) | multiplies/image (auto) | im2col fwd / bwd ms "
        "| Winograd fwd / bwd ms | space-to-depth fwd / bwd ms | PyTorch NCHW (default) fwd / bwd ms "
        "| PyTorch channels_last fwd / bwd ms | auto fwd / im2col fwd | auto fwd / PyTorch fwd | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ms = r["ms"]

        def pair(alg, ms=ms):
            return f"{ms[alg + ' fwd']:.1f} / {ms[alg + ' bwd']:.1f}" if alg + " fwd" in ms else "—"

        auto = r["auto"].split(" ")[0]
        lines.append(
            f"| {r['variant']} | {r['batch']} | {r['layer']} | {r['auto']} | {r['macs'] / 1e6:.0f} M "
            f"| {r['multiplies'] / 1e6:.0f} M | {pair('im2col')} | {pair('winograd')} | {pair('space_to_depth')} "
            f"| {pair('torch')} | {pair('torch_cl')} | {ms[auto + ' fwd'] / ms['im2col fwd']:.2f} "
            f"| {ms[auto + ' fwd'] / ms['torch fwd']:.2f} | {r.get('load')} |"
        )
    return "\n".join(lines)


def layer_breakdown(variant, batch, repeats=3):
    """Forward and backward milliseconds per layer of our model (train mode), medians."""
    import alexnet_np as an

    model = an.AlexNet(variant, seed=0)
    x = np.random.default_rng(0).standard_normal((batch, 3, *model.input_size)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, model.num_classes, size=batch)
    loss = an.CrossEntropyLoss()
    rows = {name: [[], []] for name, _ in model}
    for _ in range(repeats + 1):
        h = x
        for name, layer in model:
            t = time.perf_counter()
            h = layer.forward(h, train=True)
            rows[name][0].append(time.perf_counter() - t)
        loss.forward(h, labels)
        d = loss.backward()  # a real gradient: tiny made-up ones turn into slow denormals
        for name, layer in reversed(list(model)):
            t = time.perf_counter()
            d = layer.backward(d)
            rows[name][1].append(time.perf_counter() - t)
    return {
        name: (1e3 * statistics.median(f[1:]), 1e3 * statistics.median(b[1:]))
        for name, (f, b) in rows.items()
    }


def measure_memory(framework, variant, batch, steps=3):
    """Peak resident memory added by training steps (MiB), in this process: call it in a fresh process.

    The baseline is the resident size once the model, the input and the optimizer exist (after the freed memory
    malloc holds for reuse is given back: :func:`alexnet_np.ops.buffers.release_freed_memory`); Linux's
    peak counter (VmHWM) is reset there (``/proc/self/clear_refs``), the steps run, and the peak is
    read back. Lazily allocated state (momentum buffers, work buffers) is counted, as it should be.
    """
    runner = OursRunner(variant, batch) if framework == "numpy" else TorchRunner(variant, batch)
    if framework == "torch":
        _torch_threads(runner.torch)
    from alexnet_np.ops.buffers import release_freed_memory

    release_freed_memory()  # memory malloc holds for reuse (the model's initialisation's temporaries) is not in use
    baseline = rss() / MiB
    reset_peak()
    for _ in range(steps):
        runner.train_step()
    return dict(
        framework=framework,
        variant=variant,
        batch=batch,
        peak_growth_mib=peak_rss() / MiB - baseline,
        baseline_mib=baseline,
    )


def memory_in_subprocess(framework, variant, batch):
    code = (
        f"import json, alexnet_np.tools.bench as b; "
        f"print(json.dumps(b.measure_memory({framework!r}, {variant!r}, {batch})))"
    )
    env = dict(os.environ)
    if framework == "torch":  # glibc's allocator as PyTorch's users have it (the harness imports alexnet_np)
        env[MALLOC_ENV] = "system"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(r.stdout.strip().splitlines()[-1])


def cold_compile_seconds():
    """Seconds to compile every float32 kernel from nothing: a fresh process with an empty Numba cache
    runs a forward and backward pass of a small network that reaches all of them (im2col on NCHW and
    channels-last input, Winograd's transforms, space-to-depth)."""
    import tempfile

    code = (
        "import time; t = time.perf_counter(); import numpy as np, alexnet_np as an; "
        "from alexnet_np.training.optim import SGD; "
        "net = an.Sequential(an.Conv2d(3, 4, 3, algorithm='im2col'), an.ReLU(), an.LocalResponseNorm(), "
        "an.MaxPool2d(3, 2), an.Conv2d(4, 4, 3, padding=1, algorithm='im2col'), "
        "an.Conv2d(4, 4, 3, padding=1, algorithm='winograd'), an.Flatten()); "
        "x = np.ones((1, 3, 9, 9), np.float32); y = net.forward(x, train=True); net.backward(np.ones_like(y)); "
        "SGD(net.params, net.grads).step(); s2d = an.Conv2d(3, 4, 5, stride=2, algorithm='space_to_depth'); "
        "s2d.backward(np.ones_like(s2d.forward(x))); print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return float(r.stdout.strip().splitlines()[-1])


def cold_start_seconds():
    """Seconds to import alexnet_np and run a first single_tower forward at batch 1, in a fresh process."""
    code = (
        "import time; t = time.perf_counter(); import numpy as np, alexnet_np as an; "
        "m = an.AlexNet('single_tower'); m.forward(np.zeros((1, 3, 227, 227), np.float32)); "
        "print(time.perf_counter() - t)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    return float(r.stdout.strip().splitlines()[-1])


def _rounds(variant, batch, mode, fns, repeats, timer, settle=SETTLE_S):
    """Interleaved rounds of ``fns`` -> {name: summarize(seconds)}, plus the load average at the start."""
    load = load_average()
    return {k: summarize(v) for k, v in _time_interleaved(fns, repeats, timer, settle).items()}, load


def interleaved_pairs(batches, variants, repeats, timer=time.perf_counter, settle=SETTLE_S):
    """Only ours and PyTorch, interleaved: {"variant/batch/mode": {"ours": summary, "torch": summary, "load"}}.
    What the best-settings process runs (:func:`main` with ``--child best``)."""
    import torch

    out = {"torch_threads": _torch_threads(torch), "settings": settings_in_effect(), "rows": {}}
    for variant in variants:
        for batch in batches:
            ours, theirs = OursRunner(variant, batch), TorchRunner(variant, batch)
            for mode in ("forward", "train_step"):
                fns = {"ours": getattr(ours, mode), "torch": getattr(theirs, mode)}
                summary, load = _rounds(variant, batch, mode, fns, repeats, timer, settle)
                out["rows"][f"{variant}/{batch}/{mode}"] = dict(summary, load=load)
    return out


def fresh_torch(batches, variants, repeats, timer=time.perf_counter, settle=SETTLE_S):
    """PyTorch alone (what ``--child torch`` runs in a fresh process): {"variant/batch/mode": summary}."""
    import torch

    out = {"torch_threads": _torch_threads(torch), "rows": {}}
    for variant in variants:
        for batch in batches:
            theirs = TorchRunner(variant, batch)
            for mode in ("forward", "train_step"):
                summary, load = _rounds(
                    variant, batch, mode, {"torch": getattr(theirs, mode)}, repeats, timer, settle
                )
                out["rows"][f"{variant}/{batch}/{mode}"] = dict(summary["torch"], load=load)
    return out


def _child(kind, batches, variants, repeats, cpu_time, settle=SETTLE_S):
    """Run ``kind`` ("best": ours and PyTorch with :data:`BEST_SETTINGS`, alexnet_np imported first; "torch":
    PyTorch alone, NumPy imported first, nothing set) in a fresh interpreter; its JSON results."""
    first = "alexnet_np" if kind == "best" else "numpy"
    env = dict(os.environ, **BEST_SETTINGS) if kind == "best" else dict(os.environ)
    if kind == "torch":  # the harness imports alexnet_np: leave glibc's allocator as a PyTorch user has it
        env[MALLOC_ENV] = "system"
    argv = [
        "--child",
        kind,
        "--batches",
        *map(str, batches),
        "--variants",
        *variants,
        "--repeats",
        str(repeats),
        "--settle",
        str(1e3 * settle),
    ]
    code = f"import {first}, sys; from alexnet_np.tools.bench import main; sys.exit(main(sys.argv[1:]))"
    r = subprocess.run(
        [sys.executable, "-c", code, *argv, *(["--cpu-time"] if cpu_time else [])],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def check_fresh(row):
    """A warning (or None) when PyTorch's interleaved minimum lies above its fresh-process range: the shared
    process slowed PyTorch down, and the ratio flatters us."""
    fresh = row.get("torch_fresh")
    if fresh is None or row["torch_s"] <= fresh["max"]:
        return None
    return (
        f"{row['variant']} batch {row['batch']} {row['mode']}: PyTorch's interleaved minimum "
        f"{1e3 * row['torch_s']:.1f} ms lies above its fresh-process range {1e3 * fresh['min']:.1f}–"
        f"{1e3 * fresh['max']:.1f} ms; the ratio against the fresh minimum is "
        f"{row['ours_s'] / fresh['min']:.2f}"
    )


def run(
    batches=(1, 8, 32),
    variants=("single_tower", "torchvision"),
    repeats=7,
    reference=True,
    memory=True,
    breakdown=True,
    log=print,
    im2col=True,
    timer=time.perf_counter,
    fresh=True,
    best=True,
    cold=True,
    gemm_n=2048,
    settle=SETTLE_S,
):
    """The whole-network table, timed in this process (the "as users run" column when this process imported
    NumPy first and set nothing). ``im2col``: also time our network with every convolution by im2col,
    interleaved with the rest. ``fresh``: PyTorch alone in a fresh process too; ``best``: ours and PyTorch
    again in a fresh process with :data:`BEST_SETTINGS`; ``cold``: the fresh-process start and compile times.
    ``timer``, ``settle``: see :func:`_time_interleaved`. ``gemm_n``: the size of the square matmul that measures
    the GEMM rate."""
    import torch

    from alexnet_np.model import AlexNet

    results = dict(
        threads=_threads(),
        torch_threads=_torch_threads(torch),
        numpy=np.__version__,
        torch=torch.__version__,
        cpu=_cpu_name(),
        repeats=repeats,
        gemm_n=gemm_n,
        settings=settings_in_effect(),
        load_start=load_average(),
        matmul_gflops=matmul_gflops(gemm_n, timer=timer),
        settle_ms=1e3 * settle,
        torch_idle_spin_ms=torch_idle_spin_ms(torch),
        rows=[],
        memory=[],
        breakdown={},
        warnings=[],
    )
    log(
        f"load average {results['load_start']}; threads: ours {results['threads']}, PyTorch "
        f"{results['torch_threads']}; NumPy float32 2048² matmul: {results['matmul_gflops']:.0f} GFLOP/s; "
        f"settings {results['settings']}"
    )
    for variant in variants:
        macs = AlexNet(variant).summary().total_macs
        for batch in batches:
            mults = multiplies_per_image(AlexNet(variant), batch)
            ours, theirs = OursRunner(variant, batch), TorchRunner(variant, batch)
            ref = OursRunner(variant, batch, backend="numpy") if reference else None
            direct = OursRunner(variant, batch, algorithm="im2col") if im2col else None
            for mode in ("forward", "train_step"):
                fns = {"ours": getattr(ours, mode), "torch": getattr(theirs, mode)}
                if ref is not None:
                    fns["reference"] = getattr(ref, mode)
                if direct is not None:
                    fns["im2col"] = getattr(direct, mode)
                summary, load = _rounds(variant, batch, mode, fns, repeats, timer, settle)
                low = {k: v["min"] for k, v in summary.items()}
                flops = 2 * macs * batch * (3 if mode == "train_step" else 1)
                gemm = gemm_seconds(ours.model, batch, train=mode == "train_step", timer=timer)
                floor = (
                    2 * mults * batch * (3 if mode == "train_step" else 1) / (results["matmul_gflops"] * 1e9)
                )
                row = dict(
                    variant=variant,
                    batch=batch,
                    mode=mode,
                    load=load,
                    ours_s=low["ours"],
                    torch_s=low["torch"],
                    ours=summary["ours"],
                    torch_interleaved=summary["torch"],
                    reference_s=low.get("reference"),
                    im2col_s=low.get("im2col"),
                    ratio=low["ours"] / low["torch"],
                    ratio_median=summary["ours"]["median"] / summary["torch"]["median"],
                    images_per_s=batch / low["ours"],
                    torch_images_per_s=batch / low["torch"],
                    gflops=flops / low["ours"] / 1e9,
                    torch_gflops=flops / low["torch"] / 1e9,
                    gemm_s=gemm,
                    outside_gemm=max(0.0, 1 - gemm / low["ours"]),
                    multiplies_per_image=mults,
                    floor_s=floor,
                )
                results["rows"].append(row)
                log(
                    f"{variant:12} batch {batch:>2} {mode:10} load {load}  ours {_ms(summary['ours'])}  "
                    f"torch {_ms(summary['torch'])}  ratio {row['ratio']:.2f} (medians {row['ratio_median']:.2f})"
                    f"  outside GEMM {100 * row['outside_gemm']:.0f}%  floor {1e3 * floor:.1f} ms"
                    + (f"  reference {1e3 * row['reference_s']:.0f} ms" if ref is not None else "")
                    + (f"  all-im2col {1e3 * row['im2col_s']:.0f} ms" if direct is not None else "")
                )
            del ours, theirs, ref, direct
        if breakdown:
            results["breakdown"][variant] = layer_breakdown(variant, max(batches))
    results["load_end"] = load_average()
    results["matmul_gflops_end"] = matmul_gflops(gemm_n, timer=timer)
    cpu_time = timer is time.process_time
    if fresh:
        log("PyTorch alone in a fresh process ...")
        got = _child("torch", batches, variants, repeats, cpu_time, 0.0)  # back to back: PyTorch at its best
        results["torch_fresh_threads"] = got["torch_threads"]
        for row in results["rows"]:
            row["torch_fresh"] = got["rows"][f"{row['variant']}/{row['batch']}/{row['mode']}"]
            warning = check_fresh(row)
            if warning:
                results["warnings"].append(warning)
                log("WARNING: " + warning)
    if best:
        log("ours and PyTorch with the best settings, in a fresh process ...")
        got = _child("best", batches, variants, repeats, cpu_time, settle)
        results["best_settings"] = got["settings"]
        for row in results["rows"]:
            pair = got["rows"][f"{row['variant']}/{row['batch']}/{row['mode']}"]
            row["best"] = dict(
                ours=pair["ours"],
                torch=pair["torch"],
                load=pair["load"],
                ratio=pair["ours"]["min"] / pair["torch"]["min"],
            )
    if memory:
        for fw in ("numpy", "torch"):
            m = memory_in_subprocess(fw, "single_tower", max(batches))
            results["memory"].append(m)
            growth = m["peak_growth_mib"]
            log(f"peak memory of a training step, single_tower batch {max(batches)}, {fw}: {growth:.0f} MiB")
    if cold:
        results["cold_start_s"] = cold_start_seconds()
        log(f"fresh process to first forward (warm Numba cache): {results['cold_start_s']:.2f} s")
        results["cold_compile_s"] = cold_compile_seconds()
        log(
            "fresh process with an empty Numba cache, compiling every float32 kernel: "
            f"{results['cold_compile_s']:.1f} s"
        )
    return results


def _ms(summary):
    return f"{1e3 * summary['min']:.1f}/{1e3 * summary['median']:.1f} ms (±{100 * summary['spread']:.0f}%)"


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def conditions(results):
    """The line printed above every table: load, GEMM rate, threads and settings of the run."""
    env = {k: v for k, v in results["settings"]["environment"].items() if v is not None}
    by_us = results["settings"]["blas_timeout_set_by_alexnet_np"]
    line = (
        f"Load average (1 min) {results['load_start']} at the start, {results.get('load_end')} at the end; "
        f"NumPy float32 {results['gemm_n']}² matmul {results['matmul_gflops']:.0f} GFLOP/s at the start, "
        f"{results.get('matmul_gflops_end', float('nan')):.0f} at the end; threads: ours {results['threads']}, "
        f"PyTorch {results['torch_threads']} (its default unless ALEXNET_NP_BENCH_THREADS); {results['repeats']} "
        f"interleaved rounds, each call after a pause of {results.get('settle_ms', 0):.0f} ms (PyTorch's threads "
        f"burned {results.get('torch_idle_spin_ms', float('nan')):.1f} ms of CPU in the 50 ms after a call); "
        f"{results.get('timer', 'wall clock')}; ours ran with "
        + (", ".join(f"{k}={v}" for k, v in env.items()) or "no thread setting in the environment")
        + (" (OPENBLAS_THREAD_TIMEOUT set by alexnet_np's import)" if by_us else "")
        + (
            "; glibc's malloc kept freed memory for reuse (alexnet_np's import: ALEXNET_NP_MALLOC=keep; the"
            " interleaved PyTorch shares the process and the setting, its fresh processes ran with"
            " ALEXNET_NP_MALLOC=system)"
            if results["settings"].get("malloc_keeps_freed_memory")
            else "; glibc's malloc at its defaults"
        )
        + "."
    )
    if "best_settings" in results:
        line += (
            " Best settings column: a fresh process that imported alexnet_np first with "
            + ", ".join(f"{k}={v}" for k, v in BEST_SETTINGS.items())
            + "."
        )
    return line


def markdown_table(results):
    """One row per (variant, batch, measure): minima over the rounds, with medians and spread beside them."""
    lines = [
        "| variant | batch | measure | alexnet_np min / median (spread) | PyTorch min / median (spread) "
        "| ratio (min) | ratio (median) | PyTorch, fresh process min–max | best settings: ours min, ratio "
        "| img/s | GFLOP/s (ours / torch) | outside GEMM | floor | all im2col | NumPy reference | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(summary):
        return (
            f"{1e3 * summary['min']:.1f} / {1e3 * summary['median']:.1f} ms ({100 * summary['spread']:.0f}%)"
        )

    for r in results["rows"]:
        ref = f"{1e3 * r['reference_s']:.0f} ms" if r.get("reference_s") else "—"
        direct = f"{1e3 * r['im2col_s']:.1f} ms" if r.get("im2col_s") else "—"
        tf = r.get("torch_fresh")
        fresh_cell = f"{1e3 * tf['min']:.1f}–{1e3 * tf['max']:.1f} ms" if tf else "—"
        b = r.get("best")
        best_cell = f"{1e3 * b['ours']['min']:.1f} ms, {b['ratio']:.2f}" if b else "—"
        lines.append(
            f"| {r['variant']} | {r['batch']} | {r['mode'].replace('_', ' ')} | {cell(r['ours'])} | "
            f"{cell(r['torch_interleaved'])} | {r['ratio']:.2f} | {r['ratio_median']:.2f} | {fresh_cell} | "
            f"{best_cell} | {r['images_per_s']:.1f} | {r['gflops']:.0f} / {r['torch_gflops']:.0f} | "
            f"{100 * r['outside_gemm']:.0f}% | {1e3 * r['floor_s']:.1f} ms | {direct} | {ref} | {r['load']} |"
        )
    return "\n".join(lines)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    labels = [f"{r['variant']}\nb{r['batch']} {r['mode'].replace('_step', '')}" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.9), 4.5))
    ax.bar(x - 0.2, [1e3 * r["ours_s"] for r in rows], 0.4, label="alexnet_np (Numba)")
    ax.bar(x + 0.2, [1e3 * r["torch_s"] for r in rows], 0.4, label=f"PyTorch {results['torch']}")
    ax.set_yscale("log")
    ax.set_ylabel("minimum time over the rounds (ms, log scale)")
    ax.set_xlabel("variant, batch, measure")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_title(f"{results['threads']} threads, {results['cpu']}")
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, dpi=110, format="png"))
    plt.close(fig)


def _check_out(folder, names, force):
    """``folder`` may hold the run's files: not a file or a symbolic link itself, and none of ``names`` in it
    unless ``force`` (nor ever a link or a folder in their place)."""
    refuse_link(folder, "--out")  # to a folder too: the run's files are never written through a link
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise BadArgument(f"--out {folder}: a file, not a folder")
    for name in names:
        check_target(os.path.join(folder, name), force=force)


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m alexnet_np bench", description="alexnet_np vs PyTorch on the CPU"
    )
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--variants", nargs="+", default=["single_tower", "torchvision"])
    p.add_argument("--repeats", type=int, default=7, help="interleaved rounds (default 7)")
    p.add_argument("--no-reference", dest="reference", action="store_false")
    p.add_argument("--no-memory", dest="memory", action="store_false")
    p.add_argument(
        "--settings",
        nargs="+",
        choices=["users", "best"],
        default=["users", "best"],
        help="users: this process as users run it (always); best: a second column with the best thread settings",
    )
    p.add_argument(
        "--no-fresh", dest="fresh", action="store_false", help="skip PyTorch alone in a fresh process"
    )
    p.add_argument(
        "--no-cold", dest="cold", action="store_false", help="skip the fresh-process start and compile times"
    )
    p.add_argument(
        "--out",
        default="bench_results",
        help="folder for bench.json, bench.md and bench.png (conv.json and conv.md with --conv); "
        "default bench_results",
    )
    p.add_argument("--force", action="store_true", help="replace those files if they exist")
    p.add_argument("--json", action="store_true", help="print the results as JSON on standard output")
    p.add_argument("--conv", action="store_true", help="only the per-layer convolution table, by algorithm")
    p.add_argument(
        "--cpu-time",
        action="store_true",
        help="time by process CPU time (for a loaded machine, with 1 thread)",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=1e3 * SETTLE_S,
        metavar="MS",
        help=f"pause before each timed call, in ms (default {1e3 * SETTLE_S:.0f}; 0: back to back): "
        "PyTorch's threads spin for a few ms after each of its calls",
    )
    p.add_argument("--child", choices=["best", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    from alexnet_np.model import VARIANTS

    # a user's mistake: one line and exit status 2, as the CLI does (this runs in the CLI's child process)
    if args.repeats < 1 or min(args.batches) < 1:
        p.exit(
            2, f"{p.prog}: error: --repeats and --batches must be >= 1, got {args.repeats}, {args.batches}\n"
        )
    if not 0 <= args.settle <= 10_000:  # also refuses nan and inf
        p.exit(2, f"{p.prog}: error: --settle must be between 0 and 10000 ms, got {args.settle}\n")
    settle = args.settle / 1e3
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        p.exit(2, f"{p.prog}: error: unknown variant(s) {unknown}; choose from {VARIANTS}\n")
    timer = time.process_time if args.cpu_time else time.perf_counter
    if not args.child:  # every file it will write, checked before the minutes of work
        names = ("conv.json", "conv.md") if args.conv else ("bench.json", "bench.md", "bench.png")
        try:
            _check_out(args.out, names, args.force)
        except UserError as err:
            p.exit(2, f"{p.prog}: error: {err}\n")
    if args.child:  # a fresh process the main run started: JSON on the last line of standard output
        fn = interleaved_pairs if args.child == "best" else fresh_torch
        print(json.dumps(fn(args.batches, args.variants, args.repeats, timer, settle)))
        return 0
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    if args.conv:
        import torch

        torch_threads, spin = _torch_threads(torch), torch_idle_spin_ms(torch)
        load_start, gflops = load_average(), matmul_gflops(timer=timer)
        rows = [
            r
            for v in args.variants
            for b in args.batches
            for r in conv_table(v, b, args.repeats, log=log, timer=timer, settle=settle)
        ]
        head = (
            f"Load average (1 min) {load_start} at the start, {load_average()} at the end; NumPy float32 2048² "
            f"matmul {gflops:.0f} GFLOP/s; threads: ours {_threads()}, PyTorch {torch_threads}; "
            f"{args.repeats} interleaved rounds, each call after a pause of {args.settle:.0f} ms (PyTorch's "
            f"threads burned {spin:.1f} ms of CPU in the 50 ms after a call), minima in ms; "
            + ("process CPU time" if args.cpu_time else "wall clock")
            + "."
        )
        for r in rows:
            r.update(threads=_threads(), timer="process CPU time" if args.cpu_time else "wall clock")
        os.makedirs(args.out, exist_ok=True)
        table = head + "\n\n" + conv_markdown(rows)
        atomic_write(
            os.path.join(args.out, "conv.json"), lambda f: f.write(json.dumps(rows, indent=1).encode())
        )
        atomic_write(os.path.join(args.out, "conv.md"), lambda f: f.write(table.encode() + b"\n"))
        log("\n" + table)
        if args.json:
            print(json.dumps(dict(conditions=head, rows=rows), indent=1))
        return 0

    results = run(
        tuple(args.batches),
        tuple(args.variants),
        args.repeats,
        args.reference,
        args.memory,
        log=log,
        timer=timer,
        fresh=args.fresh,
        best="best" in args.settings,
        cold=args.cold,
        settle=settle,
    )
    results["timer"] = "process CPU time" if args.cpu_time else "wall clock"
    os.makedirs(args.out, exist_ok=True)
    atomic_write(
        os.path.join(args.out, "bench.json"), lambda f: f.write(json.dumps(results, indent=1).encode())
    )
    plot(results, os.path.join(args.out, "bench.png"))
    table = conditions(results) + "\n\n" + markdown_table(results)
    if results["warnings"]:
        table += "\n\n" + "\n".join("Warning: " + w for w in results["warnings"])
    atomic_write(os.path.join(args.out, "bench.md"), lambda f: f.write(table.encode() + b"\n"))
    log("\n" + table)
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
