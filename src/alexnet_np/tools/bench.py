"""Benchmark: alexnet_np (Numba kernels, and the NumPy reference) against PyTorch on the CPU.

    python -m alexnet_np bench [--batches 1 8 32] [--variants single_tower torchvision] [--out bench_results]
    python -m alexnet_np bench --conv [--batches ...] [--variants ...]     # per-layer, by algorithm

What is measured, and how:

* Timing runs in **one process** that holds both frameworks with the same thread count, and
  interleaves them (ours, PyTorch, ours, ...), so a noisy neighbour hits both alike. Reported: the
  median of ``--repeats`` runs after a warm-up, images/s, and the ratio ours/PyTorch.
* **forward**: eval mode, no gradients. **train step**: forward in train mode, cross-entropy,
  backward, SGD with momentum and weight decay (PyTorch: ``torch.optim.SGD`` with the same settings).
* **GFLOP/s**: 2 × MACs per image × batch (× 3 for a training step: forward, input gradient,
  weight gradient) / time, beside NumPy's float32 square-matmul GFLOP/s measured in the same run.
* **GEMM share**: the matrix multiplies of every Conv2d and Linear layer are re-run alone with the
  same shapes and timed; the rest of the step is "outside GEMM" (im2col, col2im, pooling, LRN,
  ReLU, dropout, the update, Python).
* **Floor**: the multiplies the chosen convolution algorithms and the Linear layers do (Winograd's GEMM
  multiplies where "auto" picks it, the direct count elsewhere; × 3 for a training step) ÷ the same run's
  NumPy GEMM rate: the time the step would take if it were nothing but GEMMs at that rate.
* **Per-layer convolution table** (``--conv``): every Conv2d of a variant at its input shape, forward and
  backward (both gradients) by im2col, by Winograd where it applies, and by PyTorch's ``F.conv2d`` on
  channels_last input, interleaved; the algorithm "auto" picks; MACs (direct) and multiplies per image.
* **Peak memory**: each framework in a fresh process; the peak resident set size during the
  training steps minus the resident size before the first step (model, input and imports excluded).

Thread settings: ``python -m alexnet_np bench`` starts this module in a fresh interpreter with
``OPENBLAS_THREAD_TIMEOUT=4`` and ``OMP_WAIT_POLICY=passive`` in its environment, so they are in place
before NumPy, Numba and torch load (they stop the thread pools spinning against each other); the same
for both frameworks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from ..peak_memory import peak_rss, reset_peak, rss

MiB = 2**20


def _threads():
    return int(os.environ.get("ALEXNET_NP_BENCH_THREADS", os.cpu_count() or 1))


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


def _time_interleaved(fns: dict, repeats, timer=time.perf_counter):
    """{name: fn} -> {name: [seconds]}; one warm-up call each, then rounds that call every fn once.

    ``timer``: wall clock, or ``time.process_time`` (this process's CPU seconds, all threads together),
    which a machine saturated by other jobs inflates far less than the wall clock (run with 1 thread)."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = timer()
            fn()
            times[k].append(timer() - t)
    return times


def gemm_seconds(model, batch, train, repeats=3, timer=time.perf_counter):
    """Time the matrix multiplies of every Conv2d and Linear layer of ``model`` alone, at ``batch``."""
    rng = np.random.default_rng(0)
    shape = (batch, 3, *model.input_size)
    total = 0.0
    for index, (_, layer) in enumerate(model):
        out = layer.output_shape(shape)
        for m, k, f in layer.gemm_shapes(shape):
            a = rng.standard_normal((m, k)).astype(np.float32)
            w = rng.standard_normal((f, k)).astype(np.float32)
            d = rng.standard_normal((m, f)).astype(np.float32)
            calls = [lambda a=a, w=w: a @ w.T]
            if train:  # the weight gradient as the layers compute it (an outer product at batch 1)
                calls.append(
                    (lambda a=a, d=d: np.outer(d[0], a[0])) if m == 1 else (lambda a=a, d=d: d.T @ a)
                )
                if index > 0:  # the first layer's input gradient is not computed in a training step
                    calls.append(lambda d=d, w=w: d @ w)
            for call in calls:
                call()
                ts = []
                for _ in range(repeats):
                    t = timer()
                    call()
                    ts.append(timer() - t)
                total += min(ts)
        shape = out
    return total


def multiplies_per_image(model, batch=1):
    """Multiplies per image of the algorithms the layers choose ("auto") at ``batch``: Winograd's GEMM count
    where it runs, the direct count (``macs``) elsewhere."""
    shape, total = (batch, 3, *model.input_size), 0
    for _, layer in model:
        total += getattr(layer, "multiplies", layer.macs)(shape)  # only Conv2d has an algorithm to choose
        shape = layer.output_shape(shape)
    return total


def _time_conv_layer(layer, shape, out, rng, repeats, timer=time.perf_counter):
    """{"im2col fwd": ms, "im2col bwd": ms, "winograd …", "torch …"} for one Conv2d, medians, interleaved."""
    import torch

    def channels_last(a):
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # as inside the network

    x = channels_last(rng.standard_normal(shape).astype(np.float32))
    dout = channels_last(rng.standard_normal(out).astype(np.float32))
    fns = {}
    for algorithm in ("im2col", "winograd"):
        conv = layer.astype(np.float32)
        conv.algorithm = algorithm
        try:
            conv.conv_algorithm(shape)
        except ValueError:
            continue  # Winograd does not apply (stride 4)
        fns[algorithm + " fwd"] = lambda c=conv: c.forward(x)
        fns[algorithm + " bwd"] = lambda c=conv: (c.forward(x), c.backward(dout))
    xt = torch.from_numpy(np.ascontiguousarray(x)).contiguous(memory_format=torch.channels_last)
    dt = torch.from_numpy(np.ascontiguousarray(dout)).contiguous(memory_format=torch.channels_last)
    tconv = torch.nn.Conv2d(**layer.torch_spec()[1]).to(memory_format=torch.channels_last)

    def torch_fwd():
        with torch.no_grad():
            return tconv(xt)

    def torch_bwd():
        tconv(xt.detach().requires_grad_(True)).backward(dt)

    fns["torch fwd"], fns["torch bwd"] = torch_fwd, torch_bwd
    times = {k: 1e3 * statistics.median(v) for k, v in _time_interleaved(fns, repeats, timer).items()}
    for k in [k for k in times if k.endswith(" bwd")]:  # the backward alone: (forward + backward) − forward
        times[k] = max(0.0, times[k] - times[k.replace("bwd", "fwd")])
    return times


def conv_table(variant, batch, repeats=5, log=print, timer=time.perf_counter):
    """Per Conv2d of ``variant`` at ``batch``: forward and backward ms by im2col, Winograd (where it applies)
    and PyTorch (channels_last), interleaved; medians. Returns a list of row dicts."""
    import alexnet_np as an

    model = an.AlexNet(variant, seed=0)
    rng = np.random.default_rng(0)
    shape, rows = (batch, 3, *model.input_size), []
    for name, layer in model:
        out = layer.output_shape(shape)
        if not hasattr(layer, "conv_algorithm"):
            shape = out
            continue
        times = _time_conv_layer(layer, shape, out, rng, repeats, timer)
        chosen = layer.conv_algorithm(shape)
        row = dict(
            variant=variant,
            layer=name,
            batch=batch,
            describe=layer.describe(),
            auto=chosen[0] if chosen[1] is None else f"winograd F({chosen[1]}, {layer.kernel_size[0]})",
            macs=layer.macs(shape),
            multiplies=layer.multiplies(shape),
            ms={k: round(v, 2) for k, v in times.items()},
        )
        rows.append(row)
        log(
            f"{variant:12} b{batch:<3} {name:6} {row['describe']:34} auto: {row['auto']:18} "
            + "  ".join(f"{k} {v:7.1f}" for k, v in row["ms"].items())
        )
        shape = out
    return rows


def conv_markdown(rows):
    lines = [
        "| variant | batch | layer | auto picks | MACs/image (direct) | multiplies/image (auto) | im2col fwd / bwd ms "
        "| Winograd fwd / bwd ms | PyTorch fwd / bwd ms | auto fwd / im2col fwd |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ms = r["ms"]

        def pair(alg, ms=ms):
            return f"{ms[alg + ' fwd']:.1f} / {ms[alg + ' bwd']:.1f}" if alg + " fwd" in ms else "—"

        auto = "winograd" if r["auto"].startswith("winograd") else "im2col"
        lines.append(
            f"| {r['variant']} | {r['batch']} | {r['layer']} | {r['auto']} | {r['macs'] / 1e6:.0f} M "
            f"| {r['multiplies'] / 1e6:.0f} M | {pair('im2col')} | {pair('winograd')} | {pair('torch')} "
            f"| {ms[auto + ' fwd'] / ms['im2col fwd']:.2f} |"
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

    The baseline is the resident size once the model, the input and the optimizer exist; Linux's
    peak counter (VmHWM) is reset there (``/proc/self/clear_refs``), the steps run, and the peak is
    read back. Lazily allocated state (momentum buffers, work buffers) is counted, as it should be.
    """
    runner = OursRunner(variant, batch) if framework == "numpy" else TorchRunner(variant, batch)
    if framework == "torch":
        runner.torch.set_num_threads(_threads())
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
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def cold_compile_seconds():
    """Seconds to compile every float32 kernel from nothing: a fresh process with an empty Numba cache
    runs a forward and backward pass of a small network that reaches all of them (im2col on NCHW and
    channels-last input, Winograd's transforms)."""
    import tempfile

    code = (
        "import time; t = time.perf_counter(); import numpy as np, alexnet_np as an; "
        "from alexnet_np.training.optim import SGD; "
        "net = an.Sequential(an.Conv2d(3, 4, 3, algorithm='im2col'), an.ReLU(), an.LocalResponseNorm(), "
        "an.MaxPool2d(3, 2), an.Conv2d(4, 4, 3, padding=1, algorithm='im2col'), "
        "an.Conv2d(4, 4, 3, padding=1, algorithm='winograd'), an.Flatten()); "
        "x = np.ones((1, 3, 9, 9), np.float32); y = net.forward(x, train=True); net.backward(np.ones_like(y)); "
        "SGD(net.params, net.grads).step(); print(time.perf_counter() - t)"
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


def run(
    batches=(1, 8, 32),
    variants=("single_tower", "torchvision"),
    repeats=5,
    reference=True,
    memory=True,
    breakdown=True,
    log=print,
    im2col=True,
    timer=time.perf_counter,
):
    """The whole-network table. ``im2col``: also time our network with every convolution by im2col (the
    algorithm before Winograd), interleaved with the rest. ``timer``: see :func:`_time_interleaved`."""
    import torch

    from alexnet_np.model import AlexNet

    threads = _threads()
    torch.set_num_threads(threads)
    results = dict(
        threads=threads,
        numpy=np.__version__,
        torch=torch.__version__,
        cpu=_cpu_name(),
        matmul_gflops=matmul_gflops(timer=timer),
        rows=[],
        memory=[],
        breakdown={},
    )
    log(f"threads {threads}; NumPy float32 2048² matmul: {results['matmul_gflops']:.0f} GFLOP/s")
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
                reps = repeats if batch < 32 or mode == "forward" else max(3, repeats - 2)
                times = _time_interleaved(fns, reps, timer)
                med = {k: statistics.median(v) for k, v in times.items()}
                flops = 2 * macs * batch * (3 if mode == "train_step" else 1)
                gemm = gemm_seconds(ours.model, batch, train=mode == "train_step", timer=timer)
                floor = (
                    2 * mults * batch * (3 if mode == "train_step" else 1) / (results["matmul_gflops"] * 1e9)
                )
                row = dict(
                    variant=variant,
                    batch=batch,
                    mode=mode,
                    ours_s=med["ours"],
                    torch_s=med["torch"],
                    reference_s=med.get("reference"),
                    im2col_s=med.get("im2col"),
                    ratio=med["ours"] / med["torch"],
                    images_per_s=batch / med["ours"],
                    torch_images_per_s=batch / med["torch"],
                    gflops=flops / med["ours"] / 1e9,
                    torch_gflops=flops / med["torch"] / 1e9,
                    gemm_s=gemm,
                    outside_gemm=max(0.0, 1 - gemm / med["ours"]),
                    multiplies_per_image=mults,
                    floor_s=floor,
                )
                results["rows"].append(row)
                log(
                    f"{variant:12} batch {batch:>2} {mode:10} ours {1e3 * row['ours_s']:8.1f} ms  torch "
                    f"{1e3 * row['torch_s']:8.1f} ms  ratio {row['ratio']:.2f}  {row['gflops']:.0f} GFLOP/s  "
                    f"outside GEMM {100 * row['outside_gemm']:.0f}%  floor {1e3 * floor:.1f} ms"
                    + (f"  reference {1e3 * row['reference_s']:.0f} ms" if ref is not None else "")
                    + (f"  all-im2col {1e3 * row['im2col_s']:.0f} ms" if direct is not None else "")
                )
            del ours, theirs, ref, direct
        if breakdown:
            results["breakdown"][variant] = layer_breakdown(variant, max(batches))
    if memory:
        for fw in ("numpy", "torch"):
            m = memory_in_subprocess(fw, "single_tower", max(batches))
            results["memory"].append(m)
            growth = m["peak_growth_mib"]
            log(f"peak memory of a training step, single_tower batch {max(batches)}, {fw}: {growth:.0f} MiB")
    results["cold_start_s"] = cold_start_seconds()
    log(f"fresh process to first forward (warm Numba cache): {results['cold_start_s']:.2f} s")
    results["cold_compile_s"] = cold_compile_seconds()
    log(
        f"fresh process with an empty Numba cache, compiling every float32 kernel: {results['cold_compile_s']:.1f} s"
    )
    return results


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def markdown_table(results):
    lines = [
        "| variant | batch | measure | alexnet_np | PyTorch | ratio | img/s | GFLOP/s (ours / torch) "
        "| outside GEMM | floor | all im2col | NumPy reference |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        ref = f"{1e3 * r['reference_s']:.0f} ms" if r.get("reference_s") else "—"
        direct = f"{1e3 * r['im2col_s']:.1f} ms" if r.get("im2col_s") else "—"
        lines.append(
            f"| {r['variant']} | {r['batch']} | {r['mode'].replace('_', ' ')} | {1e3 * r['ours_s']:.1f} ms | "
            f"{1e3 * r['torch_s']:.1f} ms | {r['ratio']:.2f} | {r['images_per_s']:.1f} | "
            f"{r['gflops']:.0f} / {r['torch_gflops']:.0f} | {100 * r['outside_gemm']:.0f}% | "
            f"{1e3 * r['floor_s']:.1f} ms | {direct} | {ref} |"
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
    ax.set_ylabel("median time (ms, log scale)")
    ax.set_xlabel("variant, batch, measure")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_title(f"{results['threads']} threads, {results['cpu']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m alexnet_np bench", description="alexnet_np vs PyTorch on the CPU"
    )
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--variants", nargs="+", default=["single_tower", "torchvision"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-reference", dest="reference", action="store_false")
    p.add_argument("--no-memory", dest="memory", action="store_false")
    p.add_argument("--out", default="bench_results")
    p.add_argument("--conv", action="store_true", help="only the per-layer convolution table, by algorithm")
    p.add_argument(
        "--cpu-time",
        action="store_true",
        help="time by process CPU time (for a loaded machine, with 1 thread)",
    )
    args = p.parse_args(argv)
    from alexnet_np.io import atomic_write

    timer = time.process_time if args.cpu_time else time.perf_counter
    if args.conv:
        import torch

        torch.set_num_threads(_threads())
        rows = [
            r
            for v in args.variants
            for b in args.batches
            for r in conv_table(v, b, args.repeats, timer=timer)
        ]
        for r in rows:
            r.update(threads=_threads(), timer="process CPU time" if args.cpu_time else "wall clock")
        os.makedirs(args.out, exist_ok=True)
        table = conv_markdown(rows)
        atomic_write(
            os.path.join(args.out, "conv.json"), lambda f: f.write(json.dumps(rows, indent=1).encode())
        )
        atomic_write(os.path.join(args.out, "conv.md"), lambda f: f.write(table.encode() + b"\n"))
        print("\n" + table)
        return 0

    results = run(
        tuple(args.batches), tuple(args.variants), args.repeats, args.reference, args.memory, timer=timer
    )
    results["timer"] = "process CPU time" if args.cpu_time else "wall clock"
    os.makedirs(args.out, exist_ok=True)
    atomic_write(
        os.path.join(args.out, "bench.json"), lambda f: f.write(json.dumps(results, indent=1).encode())
    )
    plot(results, os.path.join(args.out, "bench.png"))
    table = markdown_table(results)
    atomic_write(os.path.join(args.out, "bench.md"), lambda f: f.write(table.encode() + b"\n"))
    print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
