"""Winograd's float32 accuracy and range on AlexNet's own layers, against im2col: the numbers quoted in the
docstring of :mod:`alexnet_np.ops.winograd_reference` ("Accuracy"). Deterministic (seeded), no timing:

    python experiments/winograd_accuracy.py            # writes experiments/results/winograd_accuracy.json
    python experiments/winograd_accuracy.py --out FILE  # writes FILE instead (atomically, as the default)

Per stride-1 layer of the single tower (conv2–conv5), at the tile "auto" picks for batch 1 and for batch 32,
on one image of random N(0, 1) input and the model's default weights: the float32 error's maximum over the
outputs divided by max|y| (y in float64, by im2col), for Winograd (Numba) and for im2col (Numba), and the
largest ratio of the error to the per-output bound of ``error_bound``. Then, per tile, the input scale at
which the float32 output first holds an inf for each algorithm (doubling |x| from 1e30).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import alexnet_np as an
from alexnet_np.io import atomic_write
from alexnet_np.ops import winograd_reference as wr


def layers():
    """(name, layer, input shape for one image) of the single tower's stride-1 convolutions."""
    shape, out = (1, 3, 227, 227), []
    for name, layer in an.AlexNet("single_tower", num_classes=10, seed=0):
        if name.startswith("conv") and layer.stride == (1, 1):
            out.append((name, layer, shape))
        shape = layer.output_shape(shape)
    return out


def first_overflow(conv, x):
    scale = 1e30
    while scale < 3e38:
        if not np.isfinite(conv.forward((x * scale).astype(np.float32))).all():
            return scale
        scale *= 2
    return None


RESULTS = Path(__file__).resolve().parent / "results" / "winograd_accuracy.json"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=RESULTS, help=f"the JSON file to write (default {RESULTS})")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    with an.use_backend("numba"):
        for name, layer, shape in layers():
            x64 = rng.standard_normal(shape)
            exact = layer.astype(np.float64)
            exact.algorithm = "im2col"
            y = exact.forward(x64)
            scale = np.abs(y).max()
            direct = layer.astype(np.float32)
            direct.algorithm = "im2col"
            err_im2col = np.abs(direct.forward(x64.astype(np.float32)) - y).max() / scale
            for batch in (1, 32):
                auto, m = layer.conv_algorithm((batch, *shape[1:]))
                r = layer.kernel_size[0]
                m = m or wr.auto_tile(batch, r, *y.shape[2:])[0]  # the tile "winograd" would take
                x32, w32 = x64.astype(np.float32), layer.params["weight"].astype(np.float32)
                y32 = an.ops.winograd_kernels.conv2d_winograd(
                    x32, w32, None, layer.padding[0], layer.groups, m
                )
                err = np.abs(y32 - (y - layer.params["bias"].astype(np.float64).reshape(1, -1, 1, 1)))
                bound = wr.error_bound(x32, w32, layer.padding[0], layer.groups, m)
                rows.append(
                    dict(
                        layer=name,
                        batch=batch,
                        auto_runs=auto,
                        tile=f"F({m}, {r})",
                        alpha=m + r - 1,
                        winograd_error=float(err.max() / scale),
                        im2col_error=float(err_im2col),
                        error_over_bound=float((err / bound).max()),
                    )
                )
    # overflow: the input scale at which the float32 output first holds an inf, per algorithm
    overflow = []
    for r, m in ((3, 6), (5, 4), (3, 2)):
        conv = an.Conv2d(16, 16, r, padding=r // 2, rng=1, bias=False, algorithm="im2col")
        x = np.random.default_rng(2).standard_normal((1, 16, 13, 13))
        im2col_at = first_overflow(conv, x)
        with an.use_backend("numba"):
            wino = an.ops.winograd_kernels.conv2d_winograd
            w = conv.params["weight"]
            scale = 1e30
            wino_at = None
            while scale < 3e38:
                if not np.isfinite(wino((x * scale).astype(np.float32), w, None, r // 2, 1, m)).all():
                    wino_at = scale
                    break
                scale *= 2
        overflow.append(dict(tile=f"F({m}, {r})", im2col_inf_at=im2col_at, winograd_inf_at=wino_at))
    out = dict(layers=rows, overflow=overflow)
    text = json.dumps(out, indent=1) + "\n"
    atomic_write(args.out, lambda f: f.write(text.encode()))
    print(text, end="")


if __name__ == "__main__":
    main()
