"""Would conv1 gain from one fused Winograd loop? Transform, product and inverse per row of tiles, in cache.

    python experiments/conv1_fused.py [--rounds 15]

conv1 runs as space-to-depth + Winograd F(5×5, 3×3) on 48 channels (``layers.conv_algorithms.SpaceToDepth``):
four passes over memory (z, then V = Bᵀ z B of every tile, then the 49 stacked products M = V U by OpenBLAS,
then y = Aᵀ M A). V and M are large (single tower, batch 32: 36 MB and 73 MB) and are written and read back
once each. The loop below does all three steps for one row of tiles at a time, so V and M of that row stay in
the core's cache, and writes V out only when asked (a training step's backward needs it); the product is
plain loops (48 multiply-adds per output value, vectorised along the filters), not BLAS.

It prints, interleaved in one process and for each variant and batch, the fastest and median time of the
library's conv1 forward (inference: the filter transform kept) and of space-to-depth plus the fused loop, with
and without writing V; then the whole network's forward at batch 1 with conv1 swapped. The outputs are
compared first (largest absolute difference to the library's). Nothing is written; nothing here is used by
the library.
"""

import argparse
import time

import numpy as np
from numba import njit, prange

import alexnet_np as an
from alexnet_np.layers import conv_algorithms
from alexnet_np.ops import kernels, winograd_kernels
from alexnet_np.ops.buffers import reuse
from alexnet_np.shapes import ceil_div, output_hw


@njit(cache=True, parallel=True, fastmath={"contract"})
def fused_loop(zh, BT, AT, U, bias, th, tw, yh, Vt, keep_v):
    """yh[n, i·m + u, j·m + v, :] = bias + (Aᵀ [(Bᵀ d B) U] A)[u, v, :] for every tile d of zh.

    zh: (N, H, W, C) (no padding left: z holds it); U: (α², C, F); yh: (N, H_out, W_out, F);
    Vt: (P, α², C), written only when ``keep_v``. One row of tiles per iteration, its V and M in
    work arrays of the iteration (tw·α²·(C + F) values: 300 KB for the single tower).
    """
    n_img, h, w, c_all = zh.shape
    _, ho, wo, f = yh.shape
    m, alpha = AT.shape
    a2 = alpha * alpha
    zero = zh.dtype.type(0)
    for ni in prange(n_img * th):
        n, i = ni // th, ni % th
        y0 = i * m
        tmp = np.empty((alpha, alpha, c_all), dtype=zh.dtype)
        v_row = np.empty((tw, a2, c_all), dtype=zh.dtype)
        m_row = np.empty((tw, a2, f), dtype=zh.dtype)
        out = np.empty((m, alpha, f), dtype=zh.dtype)
        for j in range(tw):  # V of the row's tiles: the input transform's two passes
            x0 = j * m
            for u in range(alpha):
                for b in range(alpha):
                    for c in range(c_all):
                        tmp[u, b, c] = zero
                    if x0 + b >= w:
                        continue
                    for a in range(alpha):
                        coef = BT[u, a]
                        if coef != 0 and y0 + a < h:
                            for c in range(c_all):
                                tmp[u, b, c] += coef * zh[n, y0 + a, x0 + b, c]
            for u in range(alpha):
                for v in range(alpha):
                    xi = u * alpha + v
                    for c in range(c_all):
                        v_row[j, xi, c] = zero
                    for b in range(alpha):
                        coef = BT[v, b]
                        if coef != 0:
                            for c in range(c_all):
                                v_row[j, xi, c] += coef * tmp[u, b, c]
            if keep_v:
                for xi in range(a2):
                    for c in range(c_all):
                        Vt[ni * tw + j, xi, c] = v_row[j, xi, c]
        for xi in range(a2):  # M = V U, point by point (U[xi] stays in cache across the row's tiles)
            for j in range(tw):
                for k in range(f):
                    m_row[j, xi, k] = zero
                for c in range(c_all):
                    vv = v_row[j, xi, c]
                    for k in range(f):
                        m_row[j, xi, k] += vv * U[xi, c, k]
        rows = min(m, ho - i * m)
        for j in range(tw):  # y = Aᵀ M A + bias
            cols = min(m, wo - j * m)
            for u in range(rows):
                for b in range(alpha):
                    for k in range(f):
                        out[u, b, k] = zero
                    for a in range(alpha):
                        coef = AT[u, a]
                        if coef != 0:
                            for k in range(f):
                                out[u, b, k] += coef * m_row[j, a * alpha + b, k]
            for u in range(rows):
                for v in range(cols):
                    for k in range(f):
                        yh[n, i * m + u, j * m + v, k] = bias[k]
                    for b in range(alpha):
                        coef = AT[v, b]
                        if coef != 0:
                            for k in range(f):
                                yh[n, i * m + u, j * m + v, k] += coef * out[u, b, k]


class FusedConv1:
    """Space-to-depth, then :func:`fused_loop`; the filter transform made once (inference, fixed weights)."""

    def __init__(self, strategy, weight, keep_v):
        self.s, self.keep_v = strategy, keep_v
        wz = strategy.weight(weight)
        self.m = 5
        self.AT, G, self.BT = winograd_kernels.matrices(self.m, wz.shape[-1], weight.dtype)
        self.U = np.ascontiguousarray(winograd_kernels.filter_transform(wz, G, 1)[:, 0])  # (α², C, F)
        self.V = None

    def forward(self, x, weight, bias):
        s = self.s
        ho, wo = output_hw(x.shape[2], x.shape[3], s.kernel_size, s.stride, s.padding)
        size = (ho + s.kernel[0] - 1, wo + s.kernel[1] - 1)
        n, c = x.shape[:2]
        zshape = (n, *size, c * s.stride[0] * s.stride[1])
        s.z_buffer = reuse(s.z_buffer, zshape, x.dtype)
        kernels.space_to_depth(x, s.stride, size, s.padding, out=s.z_buffer)
        th, tw = ceil_div(ho, self.m), ceil_div(wo, self.m)
        alpha = self.AT.shape[1]
        self.V = reuse(self.V, (n * th * tw, alpha * alpha, zshape[3]), x.dtype)
        yh = np.empty((n, ho, wo, weight.shape[0]), dtype=x.dtype)
        b = np.zeros(weight.shape[0], x.dtype) if bias is None else bias
        fused_loop(s.z_buffer, self.BT, self.AT, self.U, b, th, tw, yh, self.V, self.keep_v)
        return yh.transpose(0, 3, 1, 2)


def timed(times, fn, *args):
    t = time.perf_counter()
    fn(*args)
    times.append(time.perf_counter() - t)


def cells(times):
    return "   ".join(f"{k} {1e3 * min(v):.2f} / {1e3 * np.median(v):.2f}" for k, v in times.items())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"conv1 forward, ms: fastest / median of {args.rounds} interleaved rounds")
    for variant in ("single_tower", "torchvision"):
        for batch in (1, 8, 32):
            model = an.AlexNet(variant, seed=0)
            conv = model.layers["conv1"]
            x = rng.standard_normal((batch, 3, *model.input_size)).astype(np.float32)
            y = conv.forward(x)
            if conv.conv_algorithm(x.shape)[0] != "space_to_depth":
                raise SystemExit(f"{variant} conv1 does not run space-to-depth here")
            strategy = next(v for v in vars(conv).values() if isinstance(v, conv_algorithms.SpaceToDepth))
            w, b = conv.params["weight"], conv.params["bias"]
            fused = {
                k: FusedConv1(strategy, w, keep) for k, keep in (("fused, V kept", True), ("fused", False))
            }
            diff = max(float(np.abs(f.forward(x, w, b) - y).max()) for f in fused.values())
            times = {"library": [], **{k: [] for k in fused}}
            for _ in range(args.rounds):
                timed(times["library"], conv.forward, x)
                for k, f in fused.items():
                    timed(times[k], f.forward, x, w, b)
            print(f"{variant:12s} b{batch:<2d} (max |diff| {diff:.1e})  " + cells(times))
    print(f"whole forward at batch 1, ms: fastest / median of {args.rounds} interleaved rounds")
    for variant in ("single_tower", "torchvision"):
        model = an.AlexNet(variant, seed=0)
        conv = model.layers["conv1"]
        x = rng.standard_normal((1, 3, *model.input_size)).astype(np.float32)
        model.forward(x)
        strategy = next(v for v in vars(conv).values() if isinstance(v, conv_algorithms.SpaceToDepth))
        library, fused = strategy.forward, FusedConv1(strategy, conv.params["weight"], False)
        times = {"library": [], "conv1 fused": []}
        for _ in range(args.rounds):
            for k in times:
                strategy.forward = library if k == "library" else fused.forward
                timed(times[k], model.forward, x)
        strategy.forward = library
        print(f"{variant:12s}  " + cells(times))


if __name__ == "__main__":
    main()
