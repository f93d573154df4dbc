"""What folding the ReLUs into the convolutions' output transforms is worth: the same network, folded and not.

    python experiments/relu_fold.py [--variant single_tower] [--batch 32] [--rounds 9] [--per-layer]

Run as users run it: NumPy is imported first and nothing is set. The same model runs training steps (forward in
train mode, cross-entropy, backward, SGD with momentum and weight decay) and forwards, alternately with
``ReLU.folds_into_previous`` True (the library's default: where no one watches, a ReLU after a Winograd or
space-to-depth convolution runs in its output transform) and False (every ReLU a pass of its own), the order
swapped every round, a pause of 20 ms before each timed call. Prints the fastest / median call of each; nothing
is written.

``--per-layer``: instead, for each convolution that runs Winograd or space-to-depth at this batch, the backward's
output-transform adjoint on a random gradient and mask of the layer's output shape, interleaved: the ReLU's
backward as a pass of its own then the adjoint (what runs watched), and the adjoint with the ReLU's mask (folded).
"""

import numpy as np  # noqa: F401, I001  (NumPy first, as users run it)
import argparse
import statistics
import time

import alexnet_np as an
from alexnet_np.ops import kernels
from alexnet_np.ops import winograd_kernels as W
from alexnet_np.shapes import ceil_div
from alexnet_np.tools.bench import OursRunner  # the benchmark's model, batch, loss and SGD


def _adjoint_minima(dout, mask, AT, rounds):
    """{"apart": ms, "folded": ms}: the fastest of ``rounds`` interleaved calls of each, into one dM work array
    (as the layer keeps its own)."""
    (n, f, ho, wo), (m, alpha) = dout.shape, AT.shape
    dm = np.empty((n * ceil_div(ho, m) * ceil_div(wo, m), alpha * alpha, f), np.float32)
    calls = {
        "apart": lambda: W.output_transform_adjoint(
            kernels.relu_backward(dout, mask), AT, out=dm, bias_grad=True
        ),
        "folded": lambda: W.output_transform_adjoint(dout, AT, out=dm, bias_grad=True, relu_mask=mask),
    }
    times = {k: [] for k in calls}
    for fn in calls.values():
        fn()
    for i in range(rounds):
        for k in calls if i % 2 == 0 else reversed(list(calls)):
            time.sleep(0.02)
            t = time.perf_counter()
            calls[k]()
            times[k].append(time.perf_counter() - t)
    return {k: 1e3 * min(v) for k, v in times.items()}


def per_layer(variant, batch, rounds):
    """The output-transform adjoint with and without the ReLU's backward folded in, per Winograd convolution."""
    model = an.AlexNet(variant, seed=0)
    rng = np.random.default_rng(0)
    shape = (batch, 3, *model.input_size)
    for name, layer in model:
        out = layer.output_shape(shape)
        algorithm, m = layer.conv_algorithm(shape) if isinstance(layer, an.Conv2d) else (None, None)
        shape = out
        if algorithm not in ("winograd", "space_to_depth"):
            continue
        r = layer.space_to_depth_kernel() if algorithm == "space_to_depth" else layer.kernel_size[0]
        AT = W.matrices(m, r, np.float32)[0]
        n, f, ho, wo = out
        dout = rng.standard_normal((n, ho, wo, f)).astype(np.float32).transpose(0, 3, 1, 2)  # channels-last
        mask = (rng.random((n, ho, wo, f)) < 0.5).transpose(0, 3, 1, 2)
        best = _adjoint_minima(dout, mask, AT, rounds)
        print(
            f"{variant}, batch {batch}, {name} {out}: ReLU backward then adjoint {best['apart']:.2f} ms, "
            f"folded {best['folded']:.2f} ms (fastest of {rounds}); saved {best['apart'] - best['folded']:.2f} ms",
            flush=True,
        )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="single_tower")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument(
        "--per-layer", action="store_true", help="the backward's adjoint per convolution, folded or not"
    )
    args = p.parse_args(argv)
    if args.per_layer:
        return per_layer(args.variant, args.batch, args.rounds)
    runner = OursRunner(args.variant, args.batch)

    for name, fn in (("training step", runner.train_step), ("forward", runner.forward)):
        times = {True: [], False: []}
        for folded in (True, False):  # a warm-up call each
            an.ReLU.folds_into_previous = folded
            fn()
        for r in range(args.rounds):
            for folded in (True, False) if r % 2 == 0 else (False, True):
                an.ReLU.folds_into_previous = folded
                time.sleep(0.02)
                t = time.perf_counter()
                fn()
                times[folded].append(time.perf_counter() - t)
        an.ReLU.folds_into_previous = True
        ms = {k: (1e3 * min(v), 1e3 * statistics.median(v)) for k, v in times.items()}
        print(
            f"{args.variant}, batch {args.batch}, {name}: folded {ms[True][0]:.1f} / {ms[True][1]:.1f} ms, "
            f"not folded {ms[False][0]:.1f} / {ms[False][1]:.1f} ms (fastest / median of {args.rounds}); "
            f"ratio of the fastest {ms[True][0] / ms[False][0]:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
