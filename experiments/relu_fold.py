"""What folding the ReLUs into the convolutions' output transforms is worth: the same network, folded and not.

    python experiments/relu_fold.py [--variant single_tower] [--batch 32] [--rounds 9]

Run as users run it: NumPy is imported first and nothing is set. The same model runs training steps (forward in
train mode, cross-entropy, backward, SGD with momentum and weight decay) and forwards, alternately with
``ReLU.folds_into_previous`` True (the library's default: where no one watches, a ReLU after a Winograd or
space-to-depth convolution runs in its output transform) and False (every ReLU a pass of its own), the order
swapped every round, a pause of 20 ms before each timed call. Prints the fastest / median call of each; nothing
is written.
"""

import numpy as np  # noqa: F401, I001  (NumPy first, as users run it)
import argparse
import statistics
import time

import alexnet_np as an
from alexnet_np.tools.bench import OursRunner  # the benchmark's model, batch, loss and SGD


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="single_tower")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args(argv)
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
