"""What Winograd's forward in blocks is worth: the same layer with blocks and with whole passes, and PyTorch.

    python experiments/winograd_blocks.py [--rounds 15] [--batches 1 8 32] [--variants single_tower torchvision]
                                          [--min-blocks K ...]

Run as users run it: NumPy is imported first and nothing is set. For each variant and batch, the forward of every
convolution that runs in blocks (``Conv2d.winograd_rows_per_block``: conv1 by space-to-depth, and conv2 where
its U is small) is timed three ways, interleaved in rounds with a pause of 20 ms before each timed call (as
``bench`` does): the layer as the library runs it (in blocks), the same layer with
``winograd_kernels.MAX_BLOCKED_U_BYTES`` set to 0 for the call (every forward in whole passes: space-to-depth
makes z first, the input transform writes all of V, the products all of M), and ``torch.nn.Conv2d`` at its
defaults on the NCHW input; with ``--min-blocks``, also in blocks with ``winograd_kernels.MIN_BLOCKS`` set to
each K for the call (``rows_per_block``: fewer, larger blocks for a smaller K). The outputs are compared first.
Prints the fastest / median call and the ratios of the fastest; nothing is written.
"""

import numpy as np  # noqa: I001  (NumPy first, as users run it)
import argparse
import statistics
import time

import torch

import alexnet_np as an
from alexnet_np.ops import winograd_kernels

PAUSE_S = 0.02


def timed_rounds(fns, rounds):
    """{label: fn} -> {label: [seconds]}, each call after a pause, the labels in turn in every round."""
    for fn in fns.values():
        fn()
    times = {label: [] for label in fns}
    for _ in range(rounds):
        for label, fn in fns.items():
            time.sleep(PAUSE_S)
            t = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - t)
    return times


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--variants", nargs="+", default=["single_tower", "torchvision"])
    p.add_argument("--min-blocks", type=int, nargs="*", default=[])
    args = p.parse_args(argv)
    torch.set_grad_enabled(False)
    rng = np.random.default_rng(0)
    limit, min_blocks = winograd_kernels.MAX_BLOCKED_U_BYTES, winograd_kernels.MIN_BLOCKS
    print(
        f"threads: PyTorch {torch.get_num_threads()}; {args.rounds} rounds, a pause of 20 ms before each call"
    )
    for variant in args.variants:
        model = an.AlexNet(variant, seed=0)
        for batch in args.batches:
            shape = (batch, 3, *model.input_size)
            for name, layer in model:
                out = layer.output_shape(shape)
                if hasattr(layer, "winograd_rows_per_block") and layer.winograd_rows_per_block(shape):
                    x = rng.standard_normal(shape).astype(np.float32)
                    if name != "conv1":  # what the layers before it hand a convolution: channels-last
                        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
                    tconv = torch.nn.Conv2d(**layer.torch_spec()[1])
                    tx = torch.from_numpy(np.ascontiguousarray(x))

                    def whole(layer=layer, x=x):
                        winograd_kernels.MAX_BLOCKED_U_BYTES = 0
                        try:
                            return layer.forward(x)
                        finally:
                            winograd_kernels.MAX_BLOCKED_U_BYTES = limit

                    def blocks_of(k, layer=layer, x=x):
                        winograd_kernels.MIN_BLOCKS = k
                        try:
                            return layer.forward(x)
                        finally:
                            winograd_kernels.MIN_BLOCKS = min_blocks

                    fns = {"blocks": lambda layer=layer, x=x: layer.forward(x), "whole": whole}
                    for k in args.min_blocks:
                        fns[f"MIN_BLOCKS={k}"] = lambda k=k, f=blocks_of: f(k)
                    fns["torch"] = lambda t=tconv, tx=tx: t(tx)
                    y_blocks, y_whole = fns["blocks"]().copy(), fns["whole"]()
                    difference = float(np.abs(y_blocks - y_whole).max())
                    times = timed_rounds(fns, args.rounds)
                    low = {k: min(v) for k, v in times.items()}
                    print(
                        f"  {variant:12} batch {batch:>2} {name} ({layer.winograd_rows_per_block(shape)} tile rows a "
                        "block): "
                        + "  ".join(
                            f"{k} {1e3 * low[k]:6.2f} / {1e3 * statistics.median(v):6.2f} ms"
                            for k, v in times.items()
                        )
                        + f"  blocks/whole {low['blocks'] / low['whole']:.2f}  blocks/torch "
                        f"{low['blocks'] / low['torch']:.2f}  (max |blocks − whole| {difference:.1e})",
                        flush=True,
                    )
                shape = out


if __name__ == "__main__":
    main()
