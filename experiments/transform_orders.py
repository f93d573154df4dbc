"""Two other loop orders for Winograd's transforms, against the library's: measured, not built.

    python experiments/transform_orders.py [--variant single_tower] [--batch 32] [--rounds 11]

For each convolution that runs Winograd at this batch (conv2–conv5 of the single tower), interleaved, a pause of
10 ms before each timed call, fastest / median ms:

- **filter transform, channels in blocks** (and its adjoint): the library's loop gathers one input channel's
  weights from every filter at a time (``wt[a, b, k] = w[k, c, a, b]``: F reads C·r² floats apart, for each c);
  this one gathers 16 channels at a time, so each filter's run of 16·r² weights is read once, then transforms
  them one by one as the library does (the same arithmetic, the same bits).
- **output transform, one output row at a time**: the library runs pass 1 for the tile's m output rows into an
  (m, α, F) buffer, then pass 2; this one runs both passes for one output row u into an (α, F) buffer (m times
  smaller: 8 KB for conv2 instead of 32 KB, the size of a core's first-level cache) and adds each output pixel in
  a local row before one store. The same bits.

Run as users run it: NumPy first, nothing set. Nothing is written.
"""

import numpy as np  # noqa: F401, I001  (NumPy first, as users run it)
import argparse
import statistics
import time

from numba import njit, prange

import alexnet_np as an
from alexnet_np.ops import winograd_kernels as W
from alexnet_np.shapes import ceil_div

CHANNEL_BLOCK = 16


@njit(parallel=True, fastmath={"contract"})
def filter_transform_blocked(w, G, U):
    """U = G w Gᵀ as ``winograd_kernels._filter_transform_loop``, the weights gathered CHANNEL_BLOCK channels at a
    time."""
    _, cg, r, _ = w.shape
    alpha = G.shape[0]
    groups, fg = U.shape[1], U.shape[3]
    zero = w.dtype.type(0)
    nb = (cg + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK
    for gb in prange(groups * nb):
        g, c0 = gb // nb, (gb % nb) * CHANNEL_BLOCK
        cb = min(CHANNEL_BLOCK, cg - c0)
        wt = np.empty((cb, r, r, fg), dtype=w.dtype)
        tmp = np.empty((alpha, r, fg), dtype=w.dtype)
        for k in range(fg):
            for cc in range(cb):
                for a in range(r):
                    for b in range(r):
                        wt[cc, a, b, k] = w[g * fg + k, c0 + cc, a, b]
        for cc in range(cb):
            for u in range(alpha):
                for b in range(r):
                    for k in range(fg):
                        tmp[u, b, k] = zero
                    for a in range(r):
                        coef = G[u, a]
                        if coef != 0:
                            for k in range(fg):
                                tmp[u, b, k] += coef * wt[cc, a, b, k]
            for u in range(alpha):
                for v in range(alpha):
                    xi = u * alpha + v
                    for k in range(fg):
                        U[xi, g, c0 + cc, k] = zero
                    for b in range(r):
                        coef = G[v, b]
                        if coef != 0:
                            for k in range(fg):
                                U[xi, g, c0 + cc, k] += coef * tmp[u, b, k]


@njit(parallel=True, fastmath={"contract"})
def filter_adjoint_blocked(dU, G, dw):
    """dw = Gᵀ dU G as ``winograd_kernels._filter_adjoint_loop``, written back CHANNEL_BLOCK channels at a time."""
    _, cg, r, _ = dw.shape
    alpha = G.shape[0]
    groups, fg = dU.shape[1], dU.shape[3]
    zero = dw.dtype.type(0)
    nb = (cg + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK
    for gb in prange(groups * nb):
        g, c0 = gb // nb, (gb % nb) * CHANNEL_BLOCK
        cb = min(CHANNEL_BLOCK, cg - c0)
        tmp = np.empty((r, alpha, fg), dtype=dw.dtype)
        dwt = np.empty((cb, r, r, fg), dtype=dw.dtype)
        for cc in range(cb):
            for a in range(r):
                for v in range(alpha):
                    for k in range(fg):
                        tmp[a, v, k] = zero
                    for u in range(alpha):
                        coef = G[u, a]
                        if coef != 0:
                            for k in range(fg):
                                tmp[a, v, k] += coef * dU[u * alpha + v, g, c0 + cc, k]
            for a in range(r):
                for b in range(r):
                    for k in range(fg):
                        dwt[cc, a, b, k] = zero
                    for v in range(alpha):
                        coef = G[v, b]
                        if coef != 0:
                            for k in range(fg):
                                dwt[cc, a, b, k] += coef * tmp[a, v, k]
        for k in range(fg):
            for cc in range(cb):
                for a in range(r):
                    for b in range(r):
                        dw[g * fg + k, c0 + cc, a, b] = dwt[cc, a, b, k]


@njit(parallel=True, fastmath={"contract"})
def output_transform_by_rows(Mt, AT, bias, th, tw, yh):
    """y = Aᵀ M A + bias as ``winograd_kernels._output_transform_loop`` (no ReLU), one output row of a tile at a
    time."""
    n_img, ho, wo, f = yh.shape
    m, alpha = AT.shape
    zero = yh.dtype.type(0)
    for ni in prange(n_img * th):
        n, i = ni // th, ni % th
        rows = min(m, ho - i * m)
        tmp = np.empty((alpha, f), dtype=yh.dtype)
        acc = np.empty(f, dtype=yh.dtype)
        for j in range(tw):
            p = ni * tw + j
            cols = min(m, wo - j * m)
            for u in range(rows):
                for b in range(alpha):
                    for k in range(f):
                        tmp[b, k] = zero
                    for a in range(alpha):
                        coef = AT[u, a]
                        if coef != 0:
                            for k in range(f):
                                tmp[b, k] += coef * Mt[p, a * alpha + b, k]
                for v in range(cols):
                    for k in range(f):
                        acc[k] = bias[k]
                    for b in range(alpha):
                        coef = AT[v, b]
                        if coef != 0:
                            for k in range(f):
                                acc[k] += coef * tmp[b, k]
                    for k in range(f):
                        yh[n, i * m + u, j * m + v, k] = acc[k]


def _interleaved(calls, rounds):
    """{name: (fastest ms, median ms)} of ``rounds`` rounds, the calls alternated, a pause before each."""
    for call in calls.values():
        call()
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            time.sleep(0.01)
            t = time.perf_counter()
            call()
            times[name].append(1e3 * (time.perf_counter() - t))
    return {name: (min(ts), statistics.median(ts)) for name, ts in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="single_tower")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=11)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    model = an.AlexNet(args.variant, seed=0)
    shape = (args.batch, 3, *model.input_size)
    print(f"{args.variant}, batch {args.batch}: fastest / median ms of {args.rounds} interleaved rounds")
    for name, layer in model:
        out = layer.output_shape(shape)
        if isinstance(layer, an.Conv2d) and layer.conv_algorithm(shape)[0] == "winograd":
            _measure(name, layer, shape, out, rng, args.rounds)
        shape = out


def _measure(name, layer, shape, out, rng, rounds):
    w = layer.params["weight"]
    m, r, groups = layer.conv_algorithm(shape)[1], w.shape[-1], layer.groups
    AT, G, _ = W.matrices(m, r, np.float32)
    ws = W.work_shapes(shape, w.shape, layer.padding[0], groups, m)
    u_lib, u_new = np.empty(ws["U"], np.float32), np.empty(ws["U"], np.float32)
    du = rng.standard_normal(ws["U"]).astype(np.float32)
    dw_lib, dw_new = np.empty_like(w), np.empty_like(w)
    mt = rng.standard_normal(ws["M"]).astype(np.float32)
    n, f, ho, wo = out
    th, tw = ceil_div(ho, m), ceil_div(wo, m)
    bias = rng.standard_normal(f).astype(np.float32)
    y_lib, y_new = np.empty((n, ho, wo, f), np.float32), np.empty((n, ho, wo, f), np.float32)
    no_mask = np.empty((1, 1, 1, 1), np.bool_)
    results = _interleaved(
        {
            "filter, library": lambda: W._filter_transform_loop(w, G, u_lib),
            "filter, channels in blocks": lambda: filter_transform_blocked(w, G, u_new),
            "filter adjoint, library": lambda: W._filter_adjoint_loop(du, G, dw_lib),
            "filter adjoint, channels in blocks": lambda: filter_adjoint_blocked(du, G, dw_new),
            "output, library": lambda: W._output_transform_loop(mt, AT, bias, th, tw, y_lib, False, no_mask),
            "output, one row at a time": lambda: output_transform_by_rows(mt, AT, bias, th, tw, y_new),
        },
        rounds,
    )
    same = [np.array_equal(a, b) for a, b in ((u_lib, u_new), (dw_lib, dw_new), (y_lib, y_new))]
    print(f"{name} F({m}, {r}), the same bits: filter {same[0]}, adjoint {same[1]}, output {same[2]}")
    for label, (fastest, median) in results.items():
        print(f"  {label:36s} {fastest:7.2f} / {median:7.2f}")


if __name__ == "__main__":
    main()
