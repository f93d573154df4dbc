"""What a pause between the interleaved calls changes: PyTorch's idle threads and the call that follows them.

    python experiments/settle.py [--rounds 15] [--batches 1 8 32] [--variants single_tower torchvision]

Run as users run it: NumPy is imported first and nothing is set. First, for each side, the CPU time the process
burns in the 50 ms after a call returns (``alexnet_np.tools.bench.idle_spin_ms``): what its idle threads do
while they wait for more work. Then conv1's forward (ours: the layer as the network runs it; PyTorch:
``nn.Conv2d`` at its defaults on the NCHW image batch) and the whole network's forward, timed in rounds that
interleave ours and PyTorch's calls with no pause and with pauses of 20 ms before each timed call (the
pauses alternate within each round, so a slow minute hits every setting alike). Prints the fastest / median
call of each side and the ratio of the fastest; nothing is written.
"""

import numpy as np  # noqa: I001  (NumPy first, as users run it)
import argparse
import statistics
import time

import torch

import alexnet_np as an
from alexnet_np.tools.bench import OursRunner, TorchRunner, idle_spin_ms

PAUSES = (0.0, 0.02)


def interleaved(pairs, rounds):
    """pairs: {label: (ours, theirs)} -> {(label, pause, side): [seconds]}, every pause in every round."""
    times = {(label, p, side): [] for label in pairs for p in PAUSES for side in ("ours", "torch")}
    for ours, theirs in pairs.values():
        ours(), theirs()
    for _ in range(rounds):
        for label, (ours, theirs) in pairs.items():
            for p in PAUSES:
                for side, fn in (("ours", ours), ("torch", theirs)):
                    if p:
                        time.sleep(p)
                    t = time.perf_counter()
                    fn()
                    times[(label, p, side)].append(time.perf_counter() - t)
    return times


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--variants", nargs="+", default=["single_tower", "torchvision"])
    args = p.parse_args(argv)
    torch.set_grad_enabled(False)
    rng = np.random.default_rng(0)
    print(f"threads: PyTorch {torch.get_num_threads()}; {args.rounds} rounds")
    for variant in args.variants:
        model = an.AlexNet(variant, seed=0)
        conv = model["conv1"]
        tconv = torch.nn.Conv2d(**conv.torch_spec()[1])
        for batch in args.batches:
            x = rng.standard_normal((batch, 3, *model.input_size)).astype(np.float32)
            tx = torch.from_numpy(x.copy())
            pairs = {"conv1 forward": (lambda c=conv, x=x: c.forward(x), lambda t=tconv, tx=tx: t(tx))}
            if batch == 1:
                ours, theirs = OursRunner(variant, batch), TorchRunner(variant, batch)
                pairs["network forward"] = (ours.forward, theirs.forward)
                spin = {side: idle_spin_ms(fn) for side, fn in zip(("ours", "torch"), pairs["conv1 forward"])}
                print(
                    f"{variant}: CPU burned in the 50 ms after conv1's forward returns: ours "
                    f"{spin['ours']:.2f} ms, PyTorch {spin['torch']:.2f} ms (medians of 5)"
                )
            times = interleaved(pairs, args.rounds)
            for label in pairs:
                for pause in PAUSES:
                    o, t = times[(label, pause, "ours")], times[(label, pause, "torch")]
                    print(
                        f"  {variant:12} batch {batch:>2} {label:15} pause {1e3 * pause:2.0f} ms: ours "
                        f"{1e3 * min(o):7.2f} / {1e3 * statistics.median(o):7.2f}  PyTorch {1e3 * min(t):7.2f} / "
                        f"{1e3 * statistics.median(t):7.2f} ms  ratio {min(o) / min(t):.2f}"
                    )


if __name__ == "__main__":
    main()
