# ruff: noqa
"""Held-out student answers to notebooks/exercises/01_backward_passes.ipynb.

Written without looking at the grader's catalogue of mistakes or its heuristics, to measure the grader on
answers it was not tuned to. Every entry is an ``Answer(exercise, kind, mistake, fn)``: ``kind`` is
"correct" or "wrong", ``mistake`` one plain sentence (empty for correct answers), ``fn`` a self-contained
function as a student would write it in the notebook (numpy only). tests/heldout_report.py grades them all.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Answer:
    exercise: str
    kind: str  # "correct" | "wrong"
    mistake: str
    fn: Callable


ANSWERS: list = []


def _answer(exercise, kind, mistake=""):
    assert kind in ("correct", "wrong") and (kind == "correct") == (mistake == "")

    def register(fn):
        ANSWERS.append(Answer(exercise, kind, mistake, fn))
        return fn

    return register


# =====================================================================================================
# 1. output_size
# =====================================================================================================


@_answer("output_size", "correct")
def output_size_while(n, kernel_size, stride, padding):
    total = n + 2 * padding
    count, start = 0, 0
    while start + kernel_size <= total:
        count += 1
        start += stride
    return count


@_answer("output_size", "correct")
def output_size_range(n, kernel_size, stride, padding):
    return len(range(0, n + 2 * padding - kernel_size + 1, stride))


@_answer("output_size", "correct")
def output_size_ceil_trick(n, kernel_size, stride, padding):
    # floor(a / s) + 1 == ceil((a + 1) / s) for integers a >= 0
    return -(-(n + 2 * padding - kernel_size + 1) // stride)


@_answer("output_size", "correct")
def output_size_np_floor(n, kernel_size, stride, padding):
    return int(np.floor((n + 2 * padding - kernel_size) / stride)) + 1


@_answer("output_size", "wrong", "rounds to the nearest integer instead of taking the floor")
def output_size_round(n, kernel_size, stride, padding):
    return int(round((n + 2 * padding - kernel_size) / stride)) + 1


@_answer("output_size", "wrong", "takes the ceiling instead of the floor, counting a window that overhangs")
def output_size_ceil(n, kernel_size, stride, padding):
    return int(np.ceil((n + 2 * padding - kernel_size) / stride)) + 1


@_answer("output_size", "wrong", "adds the padding only once instead of on both sides")
def output_size_pad_once(n, kernel_size, stride, padding):
    return (n + padding - kernel_size) // stride + 1


@_answer("output_size", "wrong", "operator precedence: only the kernel size is divided by the stride")
def output_size_precedence(n, kernel_size, stride, padding):
    return n + 2 * padding - kernel_size // stride + 1


@_answer(
    "output_size", "wrong", "uses true division, so it returns a float like 54.25 instead of a floored int"
)
def output_size_true_div(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) / stride + 1


@_answer(
    "output_size",
    "wrong",
    "the while loop uses < instead of <=, so the last window that fits exactly is not counted",
)
def output_size_while_strict(n, kernel_size, stride, padding):
    total = n + 2 * padding
    count, start = 0, 0
    while start + kernel_size < total:
        count += 1
        start += stride
    return count


@_answer("output_size", "wrong", "adds the padding to the output size instead of to the input size")
def output_size_pad_on_output(n, kernel_size, stride, padding):
    return (n - kernel_size) // stride + 1 + 2 * padding


@_answer("output_size", "wrong", "divides by the kernel size instead of the stride")
def output_size_div_kernel(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) // kernel_size + 1


# =====================================================================================================
# 2. conv_forward
# =====================================================================================================


@_answer("conv_forward", "correct")
def conv_forward_scalar_loops(x, w, b, stride, padding):
    # no padded copy: out-of-range taps are skipped (they would multiply zeros)
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    Ho = (H + 2 * padding - K) // stride + 1
    Wo = (W + 2 * padding - K) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for z in range(Wo):
                    acc = b[f]
                    for c in range(C):
                        for i in range(K):
                            for j in range(K):
                                r = y * stride + i - padding
                                q = z * stride + j - padding
                                if 0 <= r < H and 0 <= q < W:
                                    acc += w[f, c, i, j] * x[n, c, r, q]
                    out[n, f, y, z] = acc
    return out


@_answer("conv_forward", "correct")
def conv_forward_swv_einsum(x, w, b, stride, padding):
    from numpy.lib.stride_tricks import sliding_window_view

    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    k = w.shape[2]
    win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", win, w) + b[None, :, None, None]


@_answer("conv_forward", "correct")
def conv_forward_as_strided(x, w, b, stride, padding):
    from numpy.lib.stride_tricks import as_strided

    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))))
    Ho = (H + 2 * p - K) // stride + 1
    Wo = (W + 2 * p - K) // stride + 1
    sN, sC, sH, sW = xp.strides
    win = as_strided(
        xp, shape=(N, C, Ho, Wo, K, K), strides=(sN, sC, sH * stride, sW * stride, sH, sW), writeable=False
    )
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, F)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2)) + b[:, None, None]


@_answer("conv_forward", "correct")
def conv_forward_channels_last(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xl = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (p, p), (p, p), (0, 0)))  # NHWC
    Ho = (H + 2 * p - K) // stride + 1
    Wo = (W + 2 * p - K) // stride + 1
    out = np.zeros((N, Ho, Wo, F)) + b
    for i in range(K):
        for j in range(K):
            patch = xl[:, i : i + stride * (Ho - 1) + 1 : stride, j : j + stride * (Wo - 1) + 1 : stride, :]
            out += patch @ w[:, :, i, j].T
    return out.transpose(0, 3, 1, 2).copy()


@_answer("conv_forward", "wrong", "the bias is never added")
def conv_forward_no_bias(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - K) // stride + 1, (W + 2 * p - K) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for z in range(Wo):
                    out[n, f, y, z] = np.sum(
                        xp[n, :, y * stride : y * stride + K, z * stride : z * stride + K] * w[f]
                    )
    return out


@_answer("conv_forward", "wrong", "pads by reflecting the border pixels instead of padding with zeros")
def conv_forward_reflect_pad(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="reflect")
    Ho, Wo = (H + 2 * p - K) // stride + 1, (W + 2 * p - K) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for z in range(Wo):
                    win = xp[n, :, y * stride : y * stride + K, z * stride : z * stride + K]
                    out[n, f, y, z] = np.sum(win * w[f]) + b[f]
    return out


@_answer(
    "conv_forward",
    "wrong",
    "the window starts at (y, z) instead of (y*stride, z*stride): the stride is forgotten",
)
def conv_forward_window_no_stride(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - K) // stride + 1, (W + 2 * p - K) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for z in range(Wo):
                    out[n, f, y, z] = np.sum(xp[n, :, y : y + K, z : z + K] * w[f]) + b[f]
    return out


@_answer(
    "conv_forward", "wrong", "uses the first image of the batch for every image (xp[0] instead of xp[n])"
)
def conv_forward_first_image(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - K) // stride + 1, (W + 2 * p - K) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for z in range(Wo):
                    win = xp[0, :, y * stride : y * stride + K, z * stride : z * stride + K]
                    out[n, f, y, z] = np.sum(win * w[f]) + b[f]
    return out


@_answer("conv_forward", "wrong", "each filter is transposed (w[f, c, j, i] instead of w[f, c, i, j])")
def conv_forward_filter_transposed(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - K) // stride + 1, (W + 2 * p - K) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            wt = w[f].transpose(0, 2, 1)
            for y in range(Ho):
                for z in range(Wo):
                    win = xp[n, :, y * stride : y * stride + K, z * stride : z * stride + K]
                    out[n, f, y, z] = np.sum(win * wt) + b[f]
    return out


@_answer(
    "conv_forward", "wrong", "the row loop stops one early (range(Ho - 1)), so the last output row stays zero"
)
def conv_forward_last_row_missing(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - K) // stride + 1, (W + 2 * p - K) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for y in range(Ho - 1):
                for z in range(Wo):
                    win = xp[n, :, y * stride : y * stride + K, z * stride : z * stride + K]
                    out[n, f, y, z] = np.sum(win * w[f]) + b[f]
    return out


@_answer(
    "conv_forward", "wrong", "forgets the padding altogether (no zero border, output size for padding 0)"
)
def conv_forward_no_padding(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    Ho, Wo = (H - K) // stride + 1, (W - K) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for z in range(Wo):
                    win = x[n, :, y * stride : y * stride + K, z * stride : z * stride + K]
                    out[n, f, y, z] = np.sum(win * w[f]) + b[f]
    return out


@_answer("conv_forward", "wrong", "adds the bias inside the channel loop, so it is added C times")
def conv_forward_bias_per_channel(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - K) // stride + 1, (W + 2 * p - K) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for z in range(Wo):
                    for c in range(C):
                        win = xp[n, c, y * stride : y * stride + K, z * stride : z * stride + K]
                        out[n, f, y, z] += np.sum(win * w[f, c]) + b[f]
    return out


@_answer("conv_forward", "wrong", "computes in float32 inside")
def conv_forward_float32(x, w, b, stride, padding):
    from numpy.lib.stride_tricks import sliding_window_view

    x32, w32, b32 = x.astype(np.float32), w.astype(np.float32), b.astype(np.float32)
    p = padding
    xp = np.pad(x32, ((0, 0), (0, 0), (p, p), (p, p)))
    k = w.shape[2]
    win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwij,fcij->nfhw", win, w32) + b32[None, :, None, None]
    return out.astype(np.float64)


# =====================================================================================================
# 3. conv_backward
# =====================================================================================================


@_answer("conv_backward", "correct")
def conv_backward_scalar_loops(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    _, _, Ho, Wo = dout.shape
    dx, dw, db = np.zeros(x.shape), np.zeros(w.shape), np.zeros(b.shape)
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for z in range(Wo):
                    g = dout[n, f, y, z]
                    db[f] += g
                    for c in range(C):
                        for i in range(K):
                            for j in range(K):
                                r, q = y * stride + i - padding, z * stride + j - padding
                                if 0 <= r < H and 0 <= q < W:
                                    dw[f, c, i, j] += g * x[n, c, r, q]
                                    dx[n, c, r, q] += g * w[f, c, i, j]
    return dx, dw, db


@_answer("conv_backward", "correct")
def conv_backward_swv_offsets(dout, x, w, b, stride, padding):
    from numpy.lib.stride_tricks import sliding_window_view

    N, C, H, W = x.shape
    K = w.shape[2]
    Ho, Wo = dout.shape[2:]
    p, s = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, (K, K), axis=(2, 3))[:, :, ::s, ::s]
    dw = np.einsum("nfhw,nchwij->fcij", dout, win)
    db = dout.sum(axis=(0, 2, 3))
    dwin = np.einsum("nfhw,fcij->nchwij", dout, w)
    dxp = np.zeros(xp.shape)
    for i in range(K):
        for j in range(K):
            dxp[:, :, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s] += dwin[..., i, j]
    return dxp[:, :, p : p + H, p : p + W], dw, db


@_answer("conv_backward", "correct")
def conv_backward_transposed_conv(dout, x, w, b, stride, padding):
    # dx = full correlation of the stride-dilated dout with the 180-degree-rotated kernels
    from numpy.lib.stride_tricks import sliding_window_view

    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    Ho, Wo = dout.shape[2:]
    p, s = padding, stride
    dil = np.zeros((N, F, (Ho - 1) * s + 1, (Wo - 1) * s + 1))
    dil[:, :, ::s, ::s] = dout
    dilp = np.pad(dil, ((0, 0), (0, 0), (K - 1, K - 1), (K - 1, K - 1)))
    full = np.einsum("nfrqij,fcij->ncrq", sliding_window_view(dilp, (K, K), axis=(2, 3)), w[:, :, ::-1, ::-1])
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    dxp[:, :, : full.shape[2], : full.shape[3]] = full
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dw = np.einsum("nfhw,nchwij->fcij", dout, sliding_window_view(xp, (K, K), axis=(2, 3))[:, :, ::s, ::s])
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@_answer("conv_backward", "correct")
def conv_backward_im2col_addat(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    Ho, Wo = dout.shape[2:]
    p, s = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    rows = (np.arange(Ho) * s)[:, None] + np.arange(K)[None, :]  # (Ho, K)
    colz = (np.arange(Wo) * s)[:, None] + np.arange(K)[None, :]  # (Wo, K)
    A, B = rows[:, None, :, None], colz[None, :, None, :]
    cols = xp[:, :, A, B].transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * K * K)
    d2 = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dw = (d2.T @ cols).reshape(w.shape)
    dcols = (d2 @ w.reshape(F, -1)).reshape(N, Ho, Wo, C, K, K).transpose(0, 3, 1, 2, 4, 5)
    dxp = np.zeros(xp.shape)
    np.add.at(dxp, (slice(None), slice(None), A, B), dcols)
    return dxp[:, :, p : p + H, p : p + W], dw, d2.sum(axis=0)


@_answer("conv_backward", "wrong", "crops with [p:-p], which gives an empty dx when the padding is 0")
def conv_backward_crop_minus_p(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[n, :, ys : ys + K, zs : zs + K]
                    dxp[n, :, ys : ys + K, zs : zs + K] += dout[n, f, y, z] * w[f]
    return dxp[:, :, p:-p, p:-p], dw, dout.sum(axis=(0, 2, 3))


@_answer("conv_backward", "wrong", "returns dx of the padded input without cropping the padding off")
def conv_backward_no_crop(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[n, :, ys : ys + K, zs : zs + K]
                    dxp[n, :, ys : ys + K, zs : zs + K] += dout[n, f, y, z] * w[f]
    return dxp, dw, dout.sum(axis=(0, 2, 3))


@_answer(
    "conv_backward",
    "wrong",
    "crops the top-left H x W corner of the padded dx instead of removing p on every side",
)
def conv_backward_crop_corner(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[n, :, ys : ys + K, zs : zs + K]
                    dxp[n, :, ys : ys + K, zs : zs + K] += dout[n, f, y, z] * w[f]
    return dxp[:, :, :H, :W], dw, dout.sum(axis=(0, 2, 3))


@_answer("conv_backward", "wrong", "dx assigns (=) each window's contribution instead of accumulating (+=)")
def conv_backward_dx_assign(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for y in range(dout.shape[2]):
            for z in range(dout.shape[3]):
                ys, zs = y * stride, z * stride
                g = dout[n, :, y, z]
                dw += g[:, None, None, None] * xp[n, :, ys : ys + K, zs : zs + K]
                dxp[n, :, ys : ys + K, zs : zs + K] = np.tensordot(g, w, axes=1)
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@_answer(
    "conv_backward", "wrong", "dw is reset to zero for every image, so only the last image's gradient is kept"
)
def conv_backward_dw_reset(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)
    for n in range(N):
        dw = np.zeros_like(w)
        for f in range(F):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[n, :, ys : ys + K, zs : zs + K]
                    dxp[n, :, ys : ys + K, zs : zs + K] += dout[n, f, y, z] * w[f]
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@_answer("conv_backward", "wrong", "db is averaged over the batch instead of summed")
def conv_backward_db_mean(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[n, :, ys : ys + K, zs : zs + K]
                    dxp[n, :, ys : ys + K, zs : zs + K] += dout[n, f, y, z] * w[f]
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(2, 3)).mean(axis=0)


@_answer(
    "conv_backward",
    "wrong",
    "dx uses the 180-degree-rotated filter (w[f, :, ::-1, ::-1]) as if the loop were a true convolution",
)
def conv_backward_dx_flipped(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            wf = w[f, :, ::-1, ::-1]
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[n, :, ys : ys + K, zs : zs + K]
                    dxp[n, :, ys : ys + K, zs : zs + K] += dout[n, f, y, z] * wf
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@_answer(
    "conv_backward",
    "wrong",
    "dw takes the windows of the first image for every image (xp[0] instead of xp[n])",
)
def conv_backward_dw_first_image(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[0, :, ys : ys + K, zs : zs + K]
                    dxp[n, :, ys : ys + K, zs : zs + K] += dout[n, f, y, z] * w[f]
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@_answer(
    "conv_backward",
    "wrong",
    "dx places each window at (y, z) instead of (y*stride, z*stride): the stride is forgotten in dx only",
)
def conv_backward_dx_no_stride(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[n, :, ys : ys + K, zs : zs + K]
                    dxp[n, :, y : y + K, z : z + K] += dout[n, f, y, z] * w[f]
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@_answer(
    "conv_backward", "wrong", "db sums only the first image's gradient (dout[0]) instead of the whole batch"
)
def conv_backward_db_first_image(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, K, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[n, :, ys : ys + K, zs : zs + K]
                    dxp[n, :, ys : ys + K, zs : zs + K] += dout[n, f, y, z] * w[f]
    return dxp[:, :, p : p + H, p : p + W], dw, dout[0].sum(axis=(1, 2))


# =====================================================================================================
# 4. im2col
# =====================================================================================================


@_answer("im2col", "correct")
def im2col_swv(x, kernel_size, stride, padding):
    from numpy.lib.stride_tricks import sliding_window_view

    N, C = x.shape[:2]
    k, p = kernel_size, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]  # N, C, Ho, Wo, k, k
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(-1, C * k * k)


@_answer("im2col", "correct")
def im2col_as_strided(x, kernel_size, stride, padding):
    from numpy.lib.stride_tricks import as_strided

    N, C, H, W = x.shape
    k, p, s = kernel_size, padding, stride
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))))
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    sN, sC, sH, sW = xp.strides
    v = as_strided(xp, (N, Ho, Wo, C, k, k), (sN, sH * s, sW * s, sC, sH, sW), writeable=False)
    return v.reshape(N * Ho * Wo, C * k * k)


@_answer("im2col", "correct")
def im2col_column_loop(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, p, s = kernel_size, padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    cols = np.empty((N * Ho * Wo, C * k * k))
    col = 0
    for c in range(C):
        for i in range(k):
            for j in range(k):
                cols[:, col] = xp[:, c, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s].reshape(
                    -1
                )
                col += 1
    return cols


@_answer("im2col", "wrong", "orders each row's columns (i, j, c), channel last, instead of (c, i, j)")
def im2col_channel_last_columns(x, kernel_size, stride, padding):
    from numpy.lib.stride_tricks import sliding_window_view

    N, C = x.shape[:2]
    k, p = kernel_size, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return win.transpose(0, 2, 3, 4, 5, 1).reshape(-1, C * k * k)


@_answer("im2col", "wrong", "orders the rows (y, z, n), image index fastest, instead of (n, y, z)")
def im2col_rows_image_fastest(x, kernel_size, stride, padding):
    from numpy.lib.stride_tricks import sliding_window_view

    N, C = x.shape[:2]
    k, p = kernel_size, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return win.transpose(2, 3, 0, 1, 4, 5).reshape(-1, C * k * k)


@_answer("im2col", "wrong", "flattens each window column-major (c, j, i) instead of row-major (c, i, j)")
def im2col_window_transposed(x, kernel_size, stride, padding):
    from numpy.lib.stride_tricks import sliding_window_view

    N, C = x.shape[:2]
    k, p = kernel_size, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return win.transpose(0, 2, 3, 1, 5, 4).reshape(-1, C * k * k)


@_answer(
    "im2col",
    "wrong",
    "reshapes the (N, C, Ho, Wo, k, k) windows straight to 2-D without moving the channel axis",
)
def im2col_reshape_no_transpose(x, kernel_size, stride, padding):
    from numpy.lib.stride_tricks import sliding_window_view

    N, C = x.shape[:2]
    k, p = kernel_size, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return win.reshape(-1, C * k * k)


@_answer("im2col", "wrong", "returns the transpose, shape (C*k*k, N*Ho*Wo)")
def im2col_transposed(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, p, s = kernel_size, padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    cols = []
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                cols.append(xp[n, :, y * s : y * s + k, z * s : z * s + k].ravel())
    return np.stack(cols, axis=1)


@_answer("im2col", "wrong", "the window starts at (y, z) instead of (y*stride, z*stride)")
def im2col_window_no_stride(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, p, s = kernel_size, padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    rows = []
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                rows.append(xp[n, :, y : y + k, z : z + k].ravel())
    return np.array(rows)


@_answer("im2col", "wrong", "forgets to pad the input (and so computes the output size for padding 0)")
def im2col_no_padding(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    rows = []
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                rows.append(x[n, :, y * s : y * s + k, z * s : z * s + k].ravel())
    return np.array(rows)


@_answer("im2col", "wrong", "orders the rows (n, z, y), scanning the output column by column")
def im2col_rows_column_major(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, p, s = kernel_size, padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    rows = []
    for n in range(N):
        for z in range(Wo):
            for y in range(Ho):
                rows.append(xp[n, :, y * s : y * s + k, z * s : z * s + k].ravel())
    return np.array(rows)


# =====================================================================================================
# 5. col2im
# =====================================================================================================


@_answer("col2im", "correct")
def col2im_add_at(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    rows = (np.arange(Ho) * s)[:, None] + np.arange(k)
    colz = (np.arange(Wo) * s)[:, None] + np.arange(k)
    A, B = rows[:, None, :, None], colz[None, :, None, :]  # (Ho, 1, k, 1), (1, Wo, 1, k)
    vals = cols.reshape(N, Ho, Wo, C, k, k).transpose(0, 3, 1, 2, 4, 5)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    np.add.at(dxp, (slice(None), slice(None), A, B), vals)
    return dxp[:, :, p : p + H, p : p + W]


@_answer("col2im", "correct")
def col2im_column_loop(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    col = 0
    for c in range(C):
        for i in range(k):
            for j in range(k):
                # for a fixed (i, j) the strided positions are all distinct, so a slice += is safe
                dxp[:, c, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s] += cols[:, col].reshape(
                    N, Ho, Wo
                )
                col += 1
    return dxp[:, :, p : p + H, p : p + W]


@_answer("col2im", "correct")
def col2im_scalar_loops(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dx = np.zeros((N, C, H, W))
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                r = (n * Ho + y) * Wo + z
                for c in range(C):
                    for i in range(k):
                        for j in range(k):
                            yy, zz = y * s + i - p, z * s + j - p
                            if 0 <= yy < H and 0 <= zz < W:
                                dx[n, c, yy, zz] += cols[r, (c * k + i) * k + j]
    return dx


@_answer(
    "col2im",
    "wrong",
    "uses fancy-index += (dxp[:, :, A, B] += vals), which does not accumulate repeated positions; it needs np.add.at",
)
def col2im_fancy_plus_equals(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    rows = (np.arange(Ho) * s)[:, None] + np.arange(k)
    colz = (np.arange(Wo) * s)[:, None] + np.arange(k)
    A, B = rows[:, None, :, None], colz[None, :, None, :]
    vals = cols.reshape(N, Ho, Wo, C, k, k).transpose(0, 3, 1, 2, 4, 5)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    dxp[:, :, A, B] += vals
    return dxp[:, :, p : p + H, p : p + W]


@_answer("col2im", "wrong", "returns the padded gradient without cropping the padding off")
def col2im_no_crop(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                dxp[n, :, y * s : y * s + k, z * s : z * s + k] += cols[r].reshape(C, k, k)
                r += 1
    return dxp


@_answer("col2im", "wrong", "crops the top-left H x W corner instead of removing p on every side")
def col2im_crop_corner(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                dxp[n, :, y * s : y * s + k, z * s : z * s + k] += cols[r].reshape(C, k, k)
                r += 1
    return dxp[:, :, :H, :W]


@_answer(
    "col2im",
    "wrong",
    "divides each pixel by the number of windows covering it, treating col2im as an inverse of im2col",
)
def col2im_average(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    count = np.zeros((H + 2 * p, W + 2 * p))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                dxp[n, :, y * s : y * s + k, z * s : z * s + k] += cols[r].reshape(C, k, k)
                if n == 0:
                    count[y * s : y * s + k, z * s : z * s + k] += 1
                r += 1
    dxp = dxp / np.maximum(count, 1)
    return dxp[:, :, p : p + H, p : p + W]


@_answer("col2im", "wrong", "unpacks each row as (i, j, c), channel last, instead of (c, i, j)")
def col2im_row_channel_last(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                dxp[n, :, y * s : y * s + k, z * s : z * s + k] += cols[r].reshape(k, k, C).transpose(2, 0, 1)
                r += 1
    return dxp[:, :, p : p + H, p : p + W]


@_answer("col2im", "wrong", "places each window at (y, z) instead of (y*stride, z*stride)")
def col2im_no_stride(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                dxp[n, :, y : y + k, z : z + k] += cols[r].reshape(C, k, k)
                r += 1
    return dxp[:, :, p : p + H, p : p + W]


_col2im_buffers = {}


@_answer(
    "col2im",
    "wrong",
    "keeps its output buffer in a module-level dict and never zeroes it, so a second call with the same shape adds onto the first call's result",
)
def col2im_stale_buffer(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    key = (N, C, H + 2 * p, W + 2 * p)
    if key not in _col2im_buffers:
        _col2im_buffers[key] = np.zeros(key)
    dxp = _col2im_buffers[key]
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                dxp[n, :, y * s : y * s + k, z * s : z * s + k] += cols[r].reshape(C, k, k)
                r += 1
    return dxp[:, :, p : p + H, p : p + W].copy()


@_answer("col2im", "wrong", "reads the rows in (y, z, n) order, image index fastest, instead of (n, y, z)")
def col2im_rows_image_fastest(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, p, s = kernel_size, padding, stride
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    r = 0
    for y in range(Ho):
        for z in range(Wo):
            for n in range(N):
                dxp[n, :, y * s : y * s + k, z * s : z * s + k] += cols[r].reshape(C, k, k)
                r += 1
    return dxp[:, :, p : p + H, p : p + W]


# =====================================================================================================
# 6. maxpool_forward
# =====================================================================================================


@_answer("maxpool_forward", "correct")
def maxpool_forward_scalar(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.empty((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    best = -np.inf
                    for i in range(k):
                        for j in range(k):
                            v = x[n, c, y * s + i, z * s + j]
                            if v > best:
                                best = v
                    out[n, c, y, z] = best
    return out


@_answer("maxpool_forward", "correct")
def maxpool_forward_swv(x, kernel_size, stride):
    from numpy.lib.stride_tricks import sliding_window_view

    k = kernel_size
    return sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride].max(axis=(4, 5))


@_answer("maxpool_forward", "correct")
def maxpool_forward_offsets(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = None
    for i in range(k):
        for j in range(k):
            tap = x[:, :, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s]
            out = tap.copy() if out is None else np.maximum(out, tap)
    return out


@_answer("maxpool_forward", "wrong", "the window slice ends at y*s + k - 1, so windows are (k-1) x (k-1)")
def maxpool_forward_window_short(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.zeros((N, C, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            out[:, :, y, z] = x[:, :, y * s : y * s + k - 1, z * s : z * s + k - 1].max(axis=(2, 3))
    return out


@_answer(
    "maxpool_forward", "wrong", "uses ceil mode for the output size, adding a partial window at the border"
)
def maxpool_forward_ceil_mode(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = -(-(H - k) // s) + 1, -(-(W - k) // s) + 1
    out = np.zeros((N, C, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            out[:, :, y, z] = x[:, :, y * s : y * s + k, z * s : z * s + k].max(axis=(2, 3))
    return out


@_answer(
    "maxpool_forward",
    "wrong",
    "uses the kernel size as the stride (non-overlapping windows), ignoring the stride argument",
)
def maxpool_forward_stride_is_kernel(x, kernel_size, stride):
    N, C, H, W = x.shape
    k = kernel_size
    Ho, Wo = (H - k) // stride + 1, (W - k) // stride + 1
    out = np.zeros((N, C, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            win = x[:, :, y * k : y * k + k, z * k : z * k + k]
            out[:, :, y, z] = win.max(axis=(2, 3)) if win.size else 0
    return out


@_answer("maxpool_forward", "wrong", "takes the mean of each window (average pooling) instead of the maximum")
def maxpool_forward_mean(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.zeros((N, C, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            out[:, :, y, z] = x[:, :, y * s : y * s + k, z * s : z * s + k].mean(axis=(2, 3))
    return out


@_answer(
    "maxpool_forward",
    "wrong",
    "starts the running maximum at 0 instead of -inf, so an all-negative window gives 0",
)
def maxpool_forward_max_from_zero(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    best = 0.0
                    for i in range(k):
                        for j in range(k):
                            best = max(best, x[n, c, y * s + i, z * s + j])
                    out[n, c, y, z] = best
    return out


@_answer(
    "maxpool_forward",
    "wrong",
    "takes the maximum over the channels as well (axis=(1, 2, 3)), mixing channels",
)
def maxpool_forward_max_over_channels(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.zeros((N, C, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            out[:, :, y, z] = x[:, :, y * s : y * s + k, z * s : z * s + k].max(axis=(1, 2, 3))[:, None]
    return out


@_answer(
    "maxpool_forward",
    "wrong",
    "the column loop stops one early (range(Wo - 1)), leaving the last output column zero",
)
def maxpool_forward_last_column_missing(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.zeros((N, C, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo - 1):
            out[:, :, y, z] = x[:, :, y * s : y * s + k, z * s : z * s + k].max(axis=(2, 3))
    return out


@_answer("maxpool_forward", "wrong", "swaps the row and column of the window (x[..., z*s:, y*s:])")
def maxpool_forward_swapped_axes(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.zeros((N, C, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            out[:, :, y, z] = x[:, :, z * s : z * s + k, y * s : y * s + k].max(axis=(2, 3))
    return out


# =====================================================================================================
# 7. maxpool_backward
# =====================================================================================================


@_answer("maxpool_backward", "correct")
def maxpool_backward_scalar(dout, x, kernel_size, stride):
    N, C, Ho, Wo = dout.shape
    k, s = kernel_size, stride
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    bi, bj, best = 0, 0, -np.inf
                    for i in range(k):
                        for j in range(k):
                            if x[n, c, y * s + i, z * s + j] > best:  # strict: keeps the first maximum
                                best, bi, bj = x[n, c, y * s + i, z * s + j], i, j
                    dx[n, c, y * s + bi, z * s + bj] += dout[n, c, y, z]
    return dx


@_answer("maxpool_backward", "correct")
def maxpool_backward_reverse_scan(dout, x, kernel_size, stride):
    # scans the window backwards with >=, so the last one found is the first maximum in row-major order
    N, C, Ho, Wo = dout.shape
    k, s = kernel_size, stride
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    best, pos = -np.inf, None
                    for t in range(k * k - 1, -1, -1):
                        v = x[n, c, y * s + t // k, z * s + t % k]
                        if v >= best:
                            best, pos = v, t
                    dx[n, c, y * s + pos // k, z * s + pos % k] += dout[n, c, y, z]
    return dx


@_answer("maxpool_backward", "correct")
def maxpool_backward_swv_add_at(dout, x, kernel_size, stride):
    from numpy.lib.stride_tricks import sliding_window_view

    N, C, Ho, Wo = dout.shape
    k, s = kernel_size, stride
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s].reshape(N, C, Ho, Wo, k * k)
    a = win.argmax(axis=-1)  # first maximum
    rows = np.arange(Ho)[None, None, :, None] * s + a // k
    colz = np.arange(Wo)[None, None, None, :] * s + a % k
    nn = np.arange(N)[:, None, None, None]
    cc = np.arange(C)[None, :, None, None]
    dx = np.zeros(x.shape)
    np.add.at(dx, (nn, cc, rows, colz), dout)
    return dx


@_answer("maxpool_backward", "correct")
def maxpool_backward_claimed_mask(dout, x, kernel_size, stride):
    N, C, Ho, Wo = dout.shape
    k, s = kernel_size, stride
    taps = [
        [x[:, :, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s] for j in range(k)]
        for i in range(k)
    ]
    m = np.max([t for row in taps for t in row], axis=0)
    claimed = np.zeros(m.shape, dtype=bool)
    dx = np.zeros(x.shape)
    for i in range(k):
        for j in range(k):
            take = (taps[i][j] == m) & ~claimed
            claimed |= take
            dx[:, :, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s] += np.where(take, dout, 0.0)
    return dx


@_answer(
    "maxpool_backward",
    "wrong",
    "splits the gradient evenly between tied maxima instead of routing it to one of them",
)
def maxpool_backward_split_ties(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    win = x[n, c, y * s : y * s + k, z * s : z * s + k]
                    mask = win == win.max()
                    dx[n, c, y * s : y * s + k, z * s : z * s + k] += mask * dout[n, c, y, z] / mask.sum()
    return dx


@_answer(
    "maxpool_backward",
    "wrong",
    "assigns (=) the gradient instead of accumulating (+=) where overlapping windows share a maximum",
)
def maxpool_backward_assign(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    a = int(np.argmax(x[n, c, y * s : y * s + k, z * s : z * s + k]))
                    dx[n, c, y * s + a // k, z * s + a % k] = dout[n, c, y, z]
    return dx


@_answer(
    "maxpool_backward",
    "wrong",
    "unravels the flat argmax with the stride (a // s, a % s) instead of the kernel size",
)
def maxpool_backward_unravel_stride(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    a = int(np.argmax(x[n, c, y * s : y * s + k, z * s : z * s + k]))
                    dx[n, c, y * s + a // s, z * s + a % s] += dout[n, c, y, z]
    return dx


@_answer("maxpool_backward", "wrong", "unravels the flat argmax transposed: row a % k, column a // k")
def maxpool_backward_unravel_transposed(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    a = int(np.argmax(x[n, c, y * s : y * s + k, z * s : z * s + k]))
                    dx[n, c, y * s + a % k, z * s + a // k] += dout[n, c, y, z]
    return dx


@_answer("maxpool_backward", "wrong", "multiplies the routed gradient by the maximum's value (dout * x)")
def maxpool_backward_times_value(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    win = x[n, c, y * s : y * s + k, z * s : z * s + k]
                    a = int(np.argmax(win))
                    dx[n, c, y * s + a // k, z * s + a % k] += dout[n, c, y, z] * win.flat[a]
    return dx


@_answer(
    "maxpool_backward",
    "wrong",
    "the window slice ends at y*s + k - 1, so the last row and column of each window are never searched",
)
def maxpool_backward_window_short(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    a = int(np.argmax(x[n, c, y * s : y * s + k - 1, z * s : z * s + k - 1]))
                    dx[n, c, y * s + a // (k - 1), z * s + a % (k - 1)] += dout[n, c, y, z]
    return dx


@_answer(
    "maxpool_backward", "wrong", "writes dx into x's memory (dx = x; dx[...] = 0), zeroing the caller's input"
)
def maxpool_backward_reuses_x(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    N, C, Ho, Wo = dout.shape
    where = {}
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    where[n, c, y, z] = int(np.argmax(x[n, c, y * s : y * s + k, z * s : z * s + k]))
    dx = x  # save memory
    dx[...] = 0
    for (n, c, y, z), a in where.items():
        dx[n, c, y * s + a // k, z * s + a % k] += dout[n, c, y, z]
    return dx


@_answer(
    "maxpool_backward",
    "wrong",
    "routes to (y + a//k, z + a%k), forgetting to multiply the window position by the stride",
)
def maxpool_backward_route_no_stride(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    a = int(np.argmax(x[n, c, y * s : y * s + k, z * s : z * s + k]))
                    dx[n, c, y + a // k, z + a % k] += dout[n, c, y, z]
    return dx


# =====================================================================================================
# 8. lrn_forward
# =====================================================================================================


@_answer("lrn_forward", "correct")
def lrn_forward_scalar(x, size, alpha, beta, k):
    N, C, H, W = x.shape
    out = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            lo, hi = max(0, c - size // 2), min(C - 1, c + (size - 1) // 2)
            for h in range(H):
                for w in range(W):
                    sq = 0.0
                    for j in range(lo, hi + 1):
                        sq += x[n, j, h, w] * x[n, j, h, w]
                    out[n, c, h, w] = x[n, c, h, w] / (k + alpha * sq) ** beta
    return out


@_answer("lrn_forward", "correct")
def lrn_forward_cumsum(x, size, alpha, beta, k):
    C = x.shape[1]
    cs = np.concatenate([np.zeros_like(x[:, :1]), np.cumsum(x**2, axis=1)], axis=1)
    c = np.arange(C)
    lo = np.maximum(0, c - size // 2)
    hi = np.minimum(C, c + (size - 1) // 2 + 1)
    s = k + alpha * (cs[:, hi] - cs[:, lo])
    return x / s**beta


@_answer("lrn_forward", "correct")
def lrn_forward_channels_last(x, size, alpha, beta, k):
    xl = np.moveaxis(x, 1, -1)  # N, H, W, C
    C = xl.shape[-1]
    out = np.empty(xl.shape)
    for c in range(C):
        idx = [j for j in range(c - size // 2, c + (size - 1) // 2 + 1) if 0 <= j < C]
        s = k + alpha * np.take(xl, idx, axis=-1).__pow__(2).sum(axis=-1)
        out[..., c] = xl[..., c] * s ** (-beta)
    return np.moveaxis(out, -1, 1)


@_answer("lrn_forward", "correct")
def lrn_forward_band_matrix(x, size, alpha, beta, k):
    C = x.shape[1]
    c = np.arange(C)[:, None]
    j = np.arange(C)[None, :]
    band = ((j >= c - size // 2) & (j <= c + (size - 1) // 2)).astype(x.dtype)
    s = k + alpha * np.einsum("cj,njhw->nchw", band, x * x)
    return x * np.exp(-beta * np.log(s))


@_answer("lrn_forward", "wrong", "sums x over the window instead of x squared")
def lrn_forward_no_square(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s = k + alpha * np.sum(x[:, lo:hi], axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@_answer(
    "lrn_forward",
    "wrong",
    "divides alpha by the window size (PyTorch's alpha/n) though the paper's alpha is given",
)
def lrn_forward_alpha_over_n(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s = k + alpha / size * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@_answer("lrn_forward", "wrong", "puts the power beta on the sum term only: k + (alpha * sum)**beta")
def lrn_forward_beta_misplaced(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s = k + (alpha * np.sum(x[:, lo:hi] ** 2, axis=1)) ** beta
        out[:, ch] = x[:, ch] / s
    return out


@_answer(
    "lrn_forward",
    "wrong",
    "uses size//2 channels on both sides, so an even size gives a window one channel too wide",
)
def lrn_forward_symmetric_even(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + size // 2 + 1)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@_answer(
    "lrn_forward",
    "wrong",
    "the window's end is exclusive by mistake (forgets the + 1), dropping its last channel",
)
def lrn_forward_end_exclusive(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@_answer("lrn_forward", "wrong", "wraps the window around the channel ends (modulo C) instead of clipping it")
def lrn_forward_wraparound(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        idx = [j % C for j in range(ch - size // 2, ch + (size - 1) // 2 + 1)]
        s = k + alpha * np.sum(x[:, idx] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@_answer(
    "lrn_forward",
    "wrong",
    "forgets max(0, ...) on the window's start, so near the first channels the slice starts at a negative index and is empty",
)
def lrn_forward_negative_start(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = ch - size // 2, min(C, ch + (size - 1) // 2 + 1)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@_answer("lrn_forward", "wrong", "averages the squares over the window (mean) instead of summing them")
def lrn_forward_mean(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s = k + alpha * np.mean(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@_answer("lrn_forward", "wrong", "for an even size puts the extra channel after c instead of before it")
def lrn_forward_even_wrong_side(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - (size - 1) // 2), min(C, ch + size // 2 + 1)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@_answer("lrn_forward", "wrong", "computes in float32 inside")
def lrn_forward_float32(x, size, alpha, beta, k):
    x32 = x.astype(np.float32)
    C = x.shape[1]
    out = np.zeros_like(x32)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s = np.float32(k) + np.float32(alpha) * np.sum(x32[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x32[:, ch] / s ** np.float32(beta)
    return out.astype(np.float64)


# =====================================================================================================
# 9. lrn_backward
# =====================================================================================================


@_answer("lrn_backward", "correct")
def lrn_backward_scalar(dout, x, size, alpha, beta, k):
    N, C, H, W = x.shape

    def lo(c):
        return max(0, c - size // 2)

    def hi(c):  # inclusive
        return min(C - 1, c + (size - 1) // 2)

    dx = np.zeros(x.shape)
    for n in range(N):
        for h in range(H):
            for w in range(W):
                s = [k + alpha * sum(x[n, j, h, w] ** 2 for j in range(lo(c), hi(c) + 1)) for c in range(C)]
                for j in range(C):
                    total = dout[n, j, h, w] * s[j] ** (-beta)
                    for c in range(C):
                        if lo(c) <= j <= hi(c):
                            total -= (
                                2
                                * alpha
                                * beta
                                * x[n, j, h, w]
                                * dout[n, c, h, w]
                                * x[n, c, h, w]
                                * s[c] ** (-beta - 1)
                            )
                    dx[n, j, h, w] = total
    return dx


@_answer("lrn_backward", "correct")
def lrn_backward_cumsum(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    c = np.arange(C)
    lo = np.maximum(0, c - size // 2)
    hi = np.minimum(C, c + (size - 1) // 2 + 1)
    z = np.zeros_like(x[:, :1])
    cs = np.concatenate([z, np.cumsum(x * x, axis=1)], axis=1)
    s = k + alpha * (cs[:, hi] - cs[:, lo])
    t = dout * x * s ** (-beta - 1)
    # channel j is in window(c) exactly when c - size//2 <= j <= c + (size-1)//2,
    # i.e. j - (size-1)//2 <= c <= j + size//2
    lo2 = np.maximum(0, c - (size - 1) // 2)
    hi2 = np.minimum(C, c + size // 2 + 1)
    ct = np.concatenate([z, np.cumsum(t, axis=1)], axis=1)
    cross = ct[:, hi2] - ct[:, lo2]
    return dout * s ** (-beta) - 2 * alpha * beta * x * cross


@_answer("lrn_backward", "correct")
def lrn_backward_band_matrix(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    c = np.arange(C)[:, None]
    j = np.arange(C)[None, :]
    M = ((j >= c - size // 2) & (j <= c + (size - 1) // 2)).astype(np.float64)  # M[c, j]: j in window(c)
    s = k + alpha * np.einsum("cj,njhw->nchw", M, x**2)
    t = dout * x * s ** (-beta - 1)
    return dout * s ** (-beta) - 2 * alpha * beta * x * np.einsum("cj,nchw->njhw", M, t)


@_answer("lrn_backward", "wrong", "keeps only the direct term g * s**-beta and drops the cross-channel term")
def lrn_backward_direct_only(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    dx = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2, axis=1)
        dx[:, ch] = dout[:, ch] * s**-beta
    return dx


@_answer("lrn_backward", "wrong", "the cross-channel term misses the factor 2 from d(a^2)/da")
def lrn_backward_no_factor_two(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    lo = [max(0, ch - size // 2) for ch in range(C)]
    hi = [min(C, ch + (size - 1) // 2 + 1) for ch in range(C)]
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(C)], axis=1)
    dx = dout * s**-beta
    for ch in range(C):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1)
        for j in range(lo[ch], hi[ch]):
            dx[:, j] -= alpha * beta * x[:, j] * t
    return dx


@_answer("lrn_backward", "wrong", "adds the cross-channel term instead of subtracting it")
def lrn_backward_cross_plus(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    lo = [max(0, ch - size // 2) for ch in range(C)]
    hi = [min(C, ch + (size - 1) // 2 + 1) for ch in range(C)]
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(C)], axis=1)
    dx = dout * s**-beta
    for ch in range(C):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1)
        for j in range(lo[ch], hi[ch]):
            dx[:, j] += 2 * alpha * beta * x[:, j] * t
    return dx


@_answer(
    "lrn_backward",
    "wrong",
    "sums the cross-channel term over window(j) instead of over the channels c whose window contains j",
)
def lrn_backward_cross_wrong_window(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    lo = [max(0, ch - size // 2) for ch in range(C)]
    hi = [min(C, ch + (size - 1) // 2 + 1) for ch in range(C)]
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(C)], axis=1)
    t = dout * x * s ** (-beta - 1)
    dx = dout * s**-beta
    for j in range(C):
        dx[:, j] -= 2 * alpha * beta * x[:, j] * t[:, lo[j] : hi[j]].sum(axis=1)
    return dx


@_answer("lrn_backward", "wrong", "uses s**-beta instead of s**(-beta - 1) in the cross-channel term")
def lrn_backward_exponent(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    lo = [max(0, ch - size // 2) for ch in range(C)]
    hi = [min(C, ch + (size - 1) // 2 + 1) for ch in range(C)]
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(C)], axis=1)
    dx = dout * s**-beta
    for ch in range(C):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta)
        for j in range(lo[ch], hi[ch]):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t
    return dx


@_answer("lrn_backward", "wrong", "multiplies the cross term by a_c instead of a_j (uses a_c squared)")
def lrn_backward_ac_squared(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    lo = [max(0, ch - size // 2) for ch in range(C)]
    hi = [min(C, ch + (size - 1) // 2 + 1) for ch in range(C)]
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(C)], axis=1)
    dx = dout * s**-beta
    for ch in range(C):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1)
        for j in range(lo[ch], hi[ch]):
            dx[:, j] -= 2 * alpha * beta * x[:, ch] * t
    return dx


@_answer(
    "lrn_backward",
    "wrong",
    "modifies dout in place (dx = dout; dx *= s**-beta ...), so the caller's dout is overwritten",
)
def lrn_backward_mutates_dout(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    lo = [max(0, ch - size // 2) for ch in range(C)]
    hi = [min(C, ch + (size - 1) // 2 + 1) for ch in range(C)]
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(C)], axis=1)
    t = dout * x * s ** (-beta - 1)
    dx = dout
    dx *= s**-beta
    for ch in range(C):
        for j in range(lo[ch], hi[ch]):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t[:, ch]
    return dx


@_answer("lrn_backward", "wrong", "uses PyTorch's alpha/n everywhere though the paper's alpha is given")
def lrn_backward_alpha_over_n(dout, x, size, alpha, beta, k):
    a = alpha / size
    C = x.shape[1]
    lo = [max(0, ch - size // 2) for ch in range(C)]
    hi = [min(C, ch + (size - 1) // 2 + 1) for ch in range(C)]
    s = np.stack([k + a * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(C)], axis=1)
    dx = dout * s**-beta
    for ch in range(C):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1)
        for j in range(lo[ch], hi[ch]):
            dx[:, j] -= 2 * a * beta * x[:, j] * t
    return dx


@_answer(
    "lrn_backward",
    "wrong",
    "forgets max(0, ...) on the window's start, so the first channels get an empty (negative-start) window",
)
def lrn_backward_negative_start(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    lo = [ch - size // 2 for ch in range(C)]
    hi = [min(C, ch + (size - 1) // 2 + 1) for ch in range(C)]
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(C)], axis=1)
    dx = dout * s**-beta
    for ch in range(C):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1)
        for j in range(max(lo[ch], 0), hi[ch]):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t
    return dx


# =====================================================================================================
# 10. softmax_cross_entropy
# =====================================================================================================


@_answer("softmax_cross_entropy", "correct")
def softmax_ce_row_loops(logits, labels):
    N, K = logits.shape
    loss = 0.0
    d = np.zeros(logits.shape)
    for n in range(N):
        m = max(logits[n])
        ex = [np.exp(v - m) for v in logits[n]]
        total = sum(ex)
        loss -= (logits[n, labels[n]] - m) - np.log(total)
        for c in range(K):
            d[n, c] = ex[c] / total - (1.0 if c == labels[n] else 0.0)
    return loss / N, d / N


@_answer("softmax_cross_entropy", "correct")
def softmax_ce_logaddexp(logits, labels):
    N = logits.shape[0]
    lse = np.logaddexp.reduce(logits, axis=1)
    loss = np.mean(lse - logits[np.arange(N), labels])
    d = np.exp(logits - lse[:, None])
    d[np.arange(N), labels] -= 1.0
    return loss, d / N


@_answer("softmax_cross_entropy", "correct")
def softmax_ce_onehot_einsum(logits, labels):
    N, K = logits.shape
    onehot = np.eye(K)[labels]
    z = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    loss = np.einsum("nk,nk->", onehot, lse[:, None] - z) / N
    return loss, (np.exp(z - lse[:, None]) - onehot) / N


@_answer("softmax_cross_entropy", "correct")
def softmax_ce_inplace_copy(logits, labels):
    z = np.array(logits, dtype=np.float64, copy=True)
    N = z.shape[0]
    z -= z.max(axis=1)[:, None]
    p = np.exp(z)
    norm = p.sum(axis=1)
    p /= norm[:, None]
    loss = 0.0
    for n, y in enumerate(labels):
        loss += np.log(norm[n]) - z[n, y]
        p[n, y] -= 1
    p /= N
    return float(loss / N), p


@_answer(
    "softmax_cross_entropy",
    "wrong",
    "normalises the softmax over the batch axis (axis=0) instead of over each row's classes",
)
def softmax_ce_axis0(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max(axis=0, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=0, keepdims=True))
    loss = -log_probs[np.arange(N), labels].mean()
    d = np.exp(log_probs)
    d[np.arange(N), labels] -= 1
    return loss, d / N


@_answer(
    "softmax_cross_entropy",
    "wrong",
    "subtracts the global maximum of the whole batch instead of each row's maximum, so a row far below it underflows",
)
def softmax_ce_global_max(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max()
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), labels].mean()
    d = np.exp(log_probs)
    d[np.arange(N), labels] -= 1
    return loss, d / N


@_answer(
    "softmax_cross_entropy",
    "wrong",
    "the gradient is not divided by N (the loss is a mean, so dlogits needs 1/N)",
)
def softmax_ce_grad_no_mean(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), labels].mean()
    d = np.exp(log_probs)
    d[np.arange(N), labels] -= 1
    return loss, d


@_answer("softmax_cross_entropy", "wrong", "the loss is summed over the batch instead of averaged")
def softmax_ce_loss_sum(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), labels].sum()
    d = np.exp(log_probs)
    d[np.arange(N), labels] -= 1
    return loss, d / N


@_answer(
    "softmax_cross_entropy",
    "wrong",
    "computes log(softmax + 1e-12) instead of z_y - logsumexp, which clips the loss when a probability underflows",
)
def softmax_ce_log_eps(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), labels] + 1e-12).mean()
    d = p.copy()
    d[np.arange(N), labels] -= 1
    return loss, d / N


@_answer(
    "softmax_cross_entropy", "wrong", "does not subtract the row maximum, so exp overflows on large logits"
)
def softmax_ce_no_shift(logits, labels):
    N = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -(logits[np.arange(N), labels] - np.log(e.sum(axis=1))).mean()
    d = p.copy()
    d[np.arange(N), labels] -= 1
    return loss, d / N


@_answer(
    "softmax_cross_entropy",
    "wrong",
    "subtracts the row maximum in place (logits -= ...), changing the caller's logits",
)
def softmax_ce_mutates_logits(logits, labels):
    N = logits.shape[0]
    logits -= logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), labels].mean()
    d = np.exp(log_probs)
    d[np.arange(N), labels] -= 1
    return loss, d / N


@_answer(
    "softmax_cross_entropy",
    "wrong",
    "subtracts the one-hot with d[labels] -= 1, which hits whole rows, instead of d[range(N), labels]",
)
def softmax_ce_onehot_rows(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), labels].mean()
    d = np.exp(log_probs)
    d[labels] -= 1
    return loss, d / N


@_answer(
    "softmax_cross_entropy",
    "wrong",
    "indexes the loss with log_probs[:, labels], averaging an N x N block instead of one entry per row",
)
def softmax_ce_loss_block(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_probs[:, labels].mean()
    d = np.exp(log_probs)
    d[np.arange(N), labels] -= 1
    return loss, d / N


@_answer("softmax_cross_entropy", "wrong", "the gradient has the wrong sign: (onehot - softmax) / N")
def softmax_ce_grad_sign(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), labels].mean()
    d = np.exp(log_probs)
    d[np.arange(N), labels] -= 1
    return loss, -d / N


@_answer("softmax_cross_entropy", "wrong", "computes in float32 inside")
def softmax_ce_float32(logits, labels):
    z32 = logits.astype(np.float32)
    N = z32.shape[0]
    z = z32 - z32.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), labels].mean()
    d = np.exp(log_probs)
    d[np.arange(N), labels] -= 1
    return float(loss), (d / N).astype(np.float64)


# =====================================================================================================
# 11. dropout_forward
# =====================================================================================================


@_answer("dropout_forward", "correct")
def dropout_forward_loops(x, mask, p, convention, train):
    out = np.empty(x.shape)
    for idx in np.ndindex(x.shape):
        if not train:
            out[idx] = x[idx] if convention == "pytorch" else x[idx] * (1 - p)
        elif mask[idx]:
            out[idx] = x[idx] / (1 - p) if convention == "pytorch" else x[idx]
        else:
            out[idx] = 0.0
    return out


@_answer("dropout_forward", "correct")
def dropout_forward_where(x, mask, p, convention, train):
    if train:
        kept = x / (1 - p) if convention == "pytorch" else x
        return np.where(mask, kept, 0.0)
    return np.array(x, copy=True) if convention == "pytorch" else (1 - p) * x


@_answer("dropout_forward", "correct")
def dropout_forward_scale_table(x, mask, p, convention, train):
    scale = {
        ("pytorch", True): 1 / (1 - p),
        ("pytorch", False): 1.0,
        ("paper", True): 1.0,
        ("paper", False): 1 - p,
    }
    keep = mask if train else np.ones(x.shape, dtype=bool)
    return x * keep * scale[convention, bool(train)]


@_answer("dropout_forward", "wrong", "applies the mask at test time too")
def dropout_forward_mask_at_eval(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x * mask
    return x * mask if train else x * mask * (1 - p)


@_answer(
    "dropout_forward",
    "wrong",
    "inverted dropout multiplies the kept units by (1 - p) instead of dividing by it",
)
def dropout_forward_pytorch_times(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask * (1 - p) if train else x.copy()
    return x * mask if train else x * (1 - p)


@_answer("dropout_forward", "wrong", "the paper's test mode forgets to scale by (1 - p)")
def dropout_forward_paper_test_unscaled(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x.copy()
    return x * mask if train else x.copy()


@_answer("dropout_forward", "wrong", "inverted dropout also divides by (1 - p) at test time")
def dropout_forward_pytorch_test_scaled(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x / (1 - p)
    return x * mask if train else x * (1 - p)


@_answer("dropout_forward", "wrong", "treats the mask as a drop mask (keeps the units where mask is False)")
def dropout_forward_mask_inverted(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * ~mask / (1 - p) if train else x.copy()
    return x * ~mask if train else x * (1 - p)


@_answer("dropout_forward", "wrong", "inverted dropout divides by p instead of by (1 - p)")
def dropout_forward_divide_by_p(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / p if train else x.copy()
    return x * mask if train else x * (1 - p)


@_answer(
    "dropout_forward",
    "wrong",
    "the paper's test mode scales x in place (x *= 1 - p), changing the caller's array",
)
def dropout_forward_paper_inplace(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x.copy()
    if train:
        return x * mask
    x *= 1 - p
    return x


@_answer(
    "dropout_forward",
    "wrong",
    "compares the convention to the wrong string ('inverted'), so the pytorch convention is run as the paper's",
)
def dropout_forward_wrong_string(x, mask, p, convention, train):
    if convention == "inverted":
        return x * mask / (1 - p) if train else x.copy()
    return x * mask if train else x * (1 - p)


# =====================================================================================================
# 12. dropout_backward
# =====================================================================================================


@_answer("dropout_backward", "correct")
def dropout_backward_loops(dout, mask, p, convention):
    dx = np.zeros(dout.shape)
    scale = 1.0 / (1.0 - p) if convention == "pytorch" else 1.0
    for idx in np.ndindex(dout.shape):
        if mask[idx]:
            dx[idx] = dout[idx] * scale
    return dx


@_answer("dropout_backward", "correct")
def dropout_backward_where(dout, mask, p, convention):
    return np.where(mask, dout / (1 - p) if convention == "pytorch" else dout, 0.0)


@_answer("dropout_backward", "correct")
def dropout_backward_float_mask(dout, mask, p, convention):
    m = mask.astype(np.float64)
    if convention == "pytorch":
        m /= 1 - p
    return dout * m


@_answer("dropout_backward", "wrong", "inverted dropout's backward forgets the 1/(1 - p) factor")
def dropout_backward_pytorch_unscaled(dout, mask, p, convention):
    return dout * mask


@_answer("dropout_backward", "wrong", "the paper's convention is also divided by (1 - p) in the backward")
def dropout_backward_paper_scaled(dout, mask, p, convention):
    return dout * mask / (1 - p)


_rng = np.random.default_rng(0)


@_answer("dropout_backward", "wrong", "draws a new mask in the backward instead of using the forward's mask")
def dropout_backward_redraws_mask(dout, mask, p, convention):
    new_mask = _rng.random(dout.shape) >= p
    return dout * new_mask / (1 - p) if convention == "pytorch" else dout * new_mask


@_answer(
    "dropout_backward", "wrong", "multiplies dout in place and returns it, overwriting the caller's dout"
)
def dropout_backward_inplace(dout, mask, p, convention):
    dout *= mask
    if convention == "pytorch":
        dout /= 1 - p
    return dout


@_answer("dropout_backward", "wrong", "inverted dropout's backward multiplies by (1 - p) instead of dividing")
def dropout_backward_pytorch_times(dout, mask, p, convention):
    return dout * mask * (1 - p) if convention == "pytorch" else dout * mask


@_answer("dropout_backward", "wrong", "uses the mask inverted (passes the gradient of the dropped units)")
def dropout_backward_mask_inverted(dout, mask, p, convention):
    return dout * ~mask / (1 - p) if convention == "pytorch" else dout * ~mask


@_answer("dropout_backward", "wrong", "the paper's training backward uses the test-time factor (1 - p)")
def dropout_backward_paper_test_factor(dout, mask, p, convention):
    return dout * mask / (1 - p) if convention == "pytorch" else dout * mask * (1 - p)


_dropout_out = {}


@_answer(
    "dropout_backward",
    "wrong",
    "writes into a module-level buffer and returns the same array object on every call, so an earlier result is overwritten by the next call",
)
def dropout_backward_shared_buffer(dout, mask, p, convention):
    buf = _dropout_out.get(dout.shape)
    if buf is None:
        buf = _dropout_out[dout.shape] = np.empty(dout.shape)
    np.multiply(dout, mask, out=buf)
    if convention == "pytorch":
        buf /= 1 - p
    return buf


# =====================================================================================================
# 13. sgd_momentum_paper
# =====================================================================================================


@_answer("sgd_momentum_paper", "correct")
def sgd_elementwise_loop(w, v, g, momentum, weight_decay, lr):
    for idx in np.ndindex(w.shape):
        v[idx] = momentum * v[idx] - weight_decay * lr * w[idx] - lr * g[idx]
        w[idx] = w[idx] + v[idx]


@_answer("sgd_momentum_paper", "correct")
def sgd_ufunc_out_returns_w(w, v, g, momentum, weight_decay, lr):
    np.multiply(v, momentum, out=v)
    np.subtract(v, lr * (weight_decay * w + g), out=v)
    np.add(w, v, out=w)
    return w


@_answer("sgd_momentum_paper", "correct")
def sgd_ellipsis_assign_returns_both(w, v, g, momentum, weight_decay, lr):
    v[...] = momentum * v - weight_decay * lr * w - lr * g
    w[...] += v
    return w, v


@_answer("sgd_momentum_paper", "correct")
def sgd_flat_loop(w, v, g, momentum, weight_decay, lr):
    for i in range(w.size):
        v.flat[i] = momentum * v.flat[i] - lr * (weight_decay * w.flat[i] + g.flat[i])
        w.flat[i] += v.flat[i]


@_answer("sgd_momentum_paper", "wrong", "updates w with the old velocity before updating v")
def sgd_w_before_v(w, v, g, momentum, weight_decay, lr):
    w += v
    v *= momentum
    v -= weight_decay * lr * w + lr * g


@_answer("sgd_momentum_paper", "wrong", "adds the weight decay term instead of subtracting it")
def sgd_decay_sign(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v += weight_decay * lr * w
    v -= lr * g
    w += v


@_answer("sgd_momentum_paper", "wrong", "forgets to multiply the weight decay term by the learning rate")
def sgd_decay_no_lr(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * w + lr * g
    w += v


@_answer(
    "sgd_momentum_paper",
    "wrong",
    "implements PyTorch's form (v = mu v + g + wd w; w -= lr v) instead of the paper's",
)
def sgd_pytorch_form(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v += g + weight_decay * w
    w -= lr * v


@_answer(
    "sgd_momentum_paper",
    "wrong",
    "rebinds w and v to new arrays (v = ...; w = w + v) instead of updating them in place, and returns nothing",
)
def sgd_rebinds(w, v, g, momentum, weight_decay, lr):
    v = momentum * v - weight_decay * lr * w - lr * g
    w = w + v


@_answer(
    "sgd_momentum_paper", "wrong", "applies the momentum after adding the step: v = mu (v - lr g - lr wd w)"
)
def sgd_momentum_after(w, v, g, momentum, weight_decay, lr):
    v -= weight_decay * lr * w + lr * g
    v *= momentum
    w += v


@_answer(
    "sgd_momentum_paper",
    "wrong",
    "folds the weight decay into g in place (g += wd * w), changing the caller's gradient",
)
def sgd_mutates_g(w, v, g, momentum, weight_decay, lr):
    g += weight_decay * w
    v *= momentum
    v -= lr * g
    w += v


@_answer("sgd_momentum_paper", "wrong", "subtracts the velocity from w (w -= v) instead of adding it")
def sgd_w_minus_v(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * lr * w + lr * g
    w -= v


@_answer(
    "sgd_momentum_paper",
    "wrong",
    "multiplies the velocity by the learning rate again when updating w (w += lr * v)",
)
def sgd_lr_twice(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * lr * w + lr * g
    w += lr * v


_sgd_velocity = {}


@_answer(
    "sgd_momentum_paper",
    "wrong",
    "keeps its own velocity in a module-level buffer (never reset) instead of using the v it is given",
)
def sgd_global_velocity(w, v, g, momentum, weight_decay, lr):
    vel = _sgd_velocity.setdefault(w.shape, np.zeros(w.shape))
    vel *= momentum
    vel -= weight_decay * lr * w + lr * g
    w += vel
    v[...] = vel
