# ruff: noqa
"""A fifth held-out class of student answers for the exercise grader: 151 wrong answers (one mistake each) and 78
correct ones over all 37 exercises, by students who bring habits from other courses and tools (CS231n-style loops,
einsum and sliding windows, NHWC thinking, float64, lists for arrays, in-place updates, ReLU6, flipped kernels),
written by a tester who had not read the grader, its mistake catalogue or the earlier classes, each checked against
the tester's own float64 loops before grading. Judgement: tests/heldout5_judgement.md."""

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

swv = np.lib.stride_tricks.sliding_window_view


@dataclass
class Answer:
    exercise: str
    kind: str  # "correct" or "wrong"
    mistake: str
    fn: Callable


ANSWERS = []


def answer(exercise, kind, mistake):
    def deco(fn):
        ANSWERS.append(Answer(exercise, kind, mistake, fn))
        return fn

    return deco


def _osz(n, k, s, p):
    return (n + 2 * p - k) // s + 1


# ---------------------------------------------------------------- output_size
@answer("output_size", "correct", "math.floor of a true division, cast to int")
def output_size_floor(n, kernel_size, stride, padding):
    return int(math.floor((n + 2 * padding - kernel_size) / stride)) + 1


@answer("output_size", "correct", "counts window starts with range()")
def output_size_count_starts(n, kernel_size, stride, padding):
    return len(range(0, n + 2 * padding - kernel_size + 1, stride))


@answer("output_size", "wrong", "true division: returns a float (e.g. 54.25 + 1)")
def output_size_true_div(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) / stride + 1


@answer("output_size", "wrong", "padding counted once (n + p - k), not on both sides")
def output_size_pad_once(n, kernel_size, stride, padding):
    return (n + padding - kernel_size) // stride + 1


@answer("output_size", "wrong", "ceil instead of floor (PyTorch ceil_mode habit)")
def output_size_ceil(n, kernel_size, stride, padding):
    return int(math.ceil((n + 2 * padding - kernel_size) / stride)) + 1


@answer("output_size", "wrong", "stride and kernel swapped: (n + 2p - s) // k + 1")
def output_size_swap_sk(n, kernel_size, stride, padding):
    return (n + 2 * padding - stride) // kernel_size + 1


# ---------------------------------------------------------------- output_size_by_hand
@answer("output_size_by_hand", "correct", "typed as a tuple of ints")
def output_size_by_hand_tuple():
    return (3, 3, 55)


@answer("output_size_by_hand", "correct", "returned as a list of ints")
def output_size_by_hand_list():
    return [3, 3, 55]


@answer("output_size_by_hand", "wrong", "second case rounded up (ceil): 4")
def output_size_by_hand_ceil():
    return 3, 4, 55


@answer("output_size_by_hand", "wrong", "forgot the +1 in every case")
def output_size_by_hand_no_plus1():
    return 2, 2, 54


@answer("output_size_by_hand", "wrong", "forgot the padding in the second case")
def output_size_by_hand_no_pad():
    return 3, 2, 55


# ---------------------------------------------------------------- conv_out_by_hand
@answer("conv_out_by_hand", "correct", "typed as a nested list")
def conv_out_by_hand_list():
    return [[4, -1], [2, 6]]


@answer("conv_out_by_hand", "correct", "an integer array")
def conv_out_by_hand_int():
    return np.array([[4, -1], [2, 6]])


@answer("conv_out_by_hand", "wrong", "flipped the kernel (true convolution)")
def conv_out_by_hand_flip():
    return np.array([[0.0, 3.0], [4.0, 0.0]])


@answer("conv_out_by_hand", "wrong", "typed the output transposed (column-major reading)")
def conv_out_by_hand_transposed():
    return np.array([[4.0, 2.0], [-1.0, 6.0]])


@answer("conv_out_by_hand", "wrong", "arithmetic slip in the last element (5 for 6)")
def conv_out_by_hand_slip():
    return np.array([[4.0, -1.0], [2.0, 5.0]])


# ---------------------------------------------------------------- conv_dw_by_hand
@answer("conv_dw_by_hand", "correct", "computed with a tiny loop inside the function")
def conv_dw_by_hand_loop():
    x = np.array([[1, 2, 0], [0, 1, 3], [2, 0, 1]], dtype=float)
    d = np.array([[1, 0], [2, -1]], dtype=float)
    return np.array([[np.sum(d * x[i : i + 2, j : j + 2]) for j in range(2)] for i in range(2)])


@answer("conv_dw_by_hand", "correct", "typed as a nested list")
def conv_dw_by_hand_list():
    return [[0, 1], [4, 0]]


@answer("conv_dw_by_hand", "wrong", "rotated by 180 degrees (convolution instead of correlation)")
def conv_dw_by_hand_rot():
    return np.array([[0.0, 4.0], [1.0, 0.0]])


@answer("conv_dw_by_hand", "wrong", "sign flipped (gradient descent step instead of gradient)")
def conv_dw_by_hand_sign():
    return np.array([[0.0, -1.0], [-4.0, 0.0]])


@answer("conv_dw_by_hand", "wrong", "correlated x with dout transposed")
def conv_dw_by_hand_doutT():
    return np.array([[4.0, -1.0], [2.0, 6.0]])


# ---------------------------------------------------------------- conv_forward
@answer("conv_forward", "correct", "CS231n loops over (n, f, i, j) with explicit inner sums over (c, ki, kj)")
def conv_forward_cs231n(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="constant")
    Ho, Wo = 1 + (H + 2 * padding - KH) // stride, 1 + (W + 2 * padding - KW) // stride
    out = np.empty((N, F, Ho, Wo), dtype=np.float64)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    acc = float(b[f])
                    for c in range(C):
                        for ki in range(KH):
                            for kj in range(KW):
                                acc += w[f, c, ki, kj] * xp[n, c, i * stride + ki, j * stride + kj]
                    out[n, f, i, j] = acc
    return out


@answer("conv_forward", "correct", "d2l-style sliding_window_view + einsum")
def conv_forward_einsum(x, w, b, stride, padding):
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = swv(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("ncyzij,fcij->nfyz", win, w) + b[None, :, None, None]


@answer(
    "conv_forward", "correct", "NHWC thinking: transpose to NHWC, tensordot over kernel offsets, back to NCHW"
)
def conv_forward_nhwc(x, w, b, stride, padding):
    xh = np.transpose(x, (0, 2, 3, 1))
    xh = np.pad(xh, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    F, C, k, _ = w.shape
    N, Hp, Wp, _ = xh.shape
    Ho, Wo = (Hp - k) // stride + 1, (Wp - k) // stride + 1
    wh = np.transpose(w, (2, 3, 1, 0))  # HWIO
    out = np.zeros((N, Ho, Wo, F))
    for i in range(k):
        for j in range(k):
            patch = xh[:, i : i + stride * Ho : stride, j : j + stride * Wo : stride, :]
            out += patch @ wh[i, j]
    out += b
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


@answer("conv_forward", "wrong", "flipped kernel (true convolution, scipy.signal.convolve habit)")
def conv_forward_flipped(x, w, b, stride, padding):
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = swv(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("ncyzij,fcij->nfyz", win, w[:, :, ::-1, ::-1]) + b[None, :, None, None]


@answer("conv_forward", "wrong", "forgot the bias")
def conv_forward_nobias(x, w, b, stride, padding):
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = swv(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("ncyzij,fcij->nfyz", win, w)


@answer("conv_forward", "wrong", "pads 2p at the bottom/right only (TF 'SAME'-style asymmetric pad)")
def conv_forward_pad_one_side(x, w, b, stride, padding):
    k = w.shape[2]
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * p), (0, 2 * p)))
    win = swv(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("ncyzij,fcij->nfyz", win, w) + b[None, :, None, None]


@answer("conv_forward", "wrong", "window start uses the output index, not index*stride (correct output size)")
def conv_forward_no_stride_offset(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = _osz(H, k, stride, p), _osz(W, k, stride, p)
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i : i + k, j : j + k] * w[f]) + b[f]
    return out


@answer("conv_forward", "wrong", "only square inputs: W_out computed from H")
def conv_forward_square_only(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho = _osz(H, k, stride, p)
    Wo = Ho
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    win = xp[n, :, i * stride : i * stride + k, j * stride : j * stride + k]
                    out[n, f, i, j] = np.sum(win * w[f]) + b[f] if win.shape[-1] == k else b[f]
    return out


# ---------------------------------------------------------------- conv_backward
@answer("conv_backward", "correct", "CS231n loops over (n, f, i, j), dx on the padded array then cropped")
def conv_backward_cs231n(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    _, _, Ho, Wo = dout.shape
    for n in range(N):
        for f in range(F):
            db[f] += dout[n, f].sum()
            for i in range(Ho):
                for j in range(Wo):
                    hs, ws = i * stride, j * stride
                    dw[f] += dout[n, f, i, j] * xp[n, :, hs : hs + k, ws : ws + k]
                    dxp[n, :, hs : hs + k, ws : ws + k] += dout[n, f, i, j] * w[f]
    return dxp[:, :, p : p + H, p : p + W], dw, db


@answer("conv_backward", "correct", "einsum for dw and np.add.at over kernel offsets for dx")
def conv_backward_einsum_addat(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    p, s = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = dout.shape[2:]
    win = swv(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :Ho, :Wo]
    dw = np.einsum("nfyz,ncyzij->fcij", dout, win)
    dxp = np.zeros_like(xp)
    contrib = np.einsum("nfyz,fcij->ncyzij", dout, w)
    ys = np.arange(Ho) * s
    zs = np.arange(Wo) * s
    for i in range(k):
        for j in range(k):
            np.add.at(
                dxp, (slice(None), slice(None), (ys + i)[:, None], (zs + j)[None, :]), contrib[..., i, j]
            )
    return dxp[:, :, p : p + H, p : p + W], dw, np.einsum("nfyz->f", dout)


@answer("conv_backward", "wrong", "db averaged over the batch (dout.mean over n) instead of summed")
def conv_backward_db_mean(dout, x, w, b, stride, padding):
    dx, dw, db = conv_backward_cs231n(dout, x, w, b, stride, padding)
    return dx, dw, dout.sum(axis=(2, 3)).mean(axis=0)


@answer("conv_backward", "wrong", "dx assigned with = instead of += (overlapping windows lose contributions)")
def conv_backward_dx_assign(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    _, _, Ho, Wo = dout.shape
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                hs, ws = i * stride, j * stride
                g = dout[n, :, i, j]
                dw += g[:, None, None, None] * xp[n, None, :, hs : hs + k, ws : ws + k]
                dxp[n, :, hs : hs + k, ws : ws + k] = np.tensordot(g, w, axes=(0, 0))
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "dx uses the kernel rotated by 180 degrees")
def conv_backward_dx_rot(dout, x, w, b, stride, padding):
    dx, dw, db = conv_backward_cs231n(dout, x, w[:, :, ::-1, ::-1].copy(), b, stride, padding)
    _, dw_true, _ = conv_backward_cs231n(dout, x, w, b, stride, padding)
    return dx, dw_true, db


@answer("conv_backward", "wrong", "forgot to crop the padding off dx")
def conv_backward_no_crop(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    _, _, Ho, Wo = dout.shape
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    hs, ws = i * stride, j * stride
                    dw[f] += dout[n, f, i, j] * xp[n, :, hs : hs + k, ws : ws + k]
                    dxp[n, :, hs : hs + k, ws : ws + k] += dout[n, f, i, j] * w[f]
    return dxp, dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "dw divided by N (mean-over-batch habit)")
def conv_backward_dw_over_n(dout, x, w, b, stride, padding):
    dx, dw, db = conv_backward_cs231n(dout, x, w, b, stride, padding)
    return dx, dw / x.shape[0], db


# ---------------------------------------------------------------- im2col_shape
@answer("im2col_shape", "correct", "via math.floor of true division")
def im2col_shape_floor(N, C, H, W, k, s, p):
    ho = math.floor((H + 2 * p - k) / s) + 1
    wo = math.floor((W + 2 * p - k) / s) + 1
    return N * ho * wo, C * k * k


@answer("im2col_shape", "correct", "returns a list [rows, cols]")
def im2col_shape_list(N, C, H, W, k, s, p):
    return [N * _osz(H, k, s, p) * _osz(W, k, s, p), C * k**2]


@answer("im2col_shape", "wrong", "forgot the channels in the columns (k*k)")
def im2col_shape_no_c(N, C, H, W, k, s, p):
    return N * _osz(H, k, s, p) * _osz(W, k, s, p), k * k


@answer("im2col_shape", "wrong", "square-input assumption: H_out * H_out")
def im2col_shape_square(N, C, H, W, k, s, p):
    ho = _osz(H, k, s, p)
    return N * ho * ho, C * k * k


@answer("im2col_shape", "wrong", "Caffe layout: (C*k*k, N*H_out*W_out), transposed")
def im2col_shape_caffe(N, C, H, W, k, s, p):
    return C * k * k, N * _osz(H, k, s, p) * _osz(W, k, s, p)


# ---------------------------------------------------------------- im2col
@answer("im2col", "correct", "sliding_window_view, transposed to (n, y, z, c, i, j)")
def im2col_swv(x, kernel_size, stride, padding):
    k, s, p = kernel_size, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = swv(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    n, c, ho, wo = win.shape[:4]
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * ho * wo, c * k * k)


@answer("im2col", "correct", "CS231n fast-layers style: loop over kernel offsets into (C, k, k, N, Ho, Wo)")
def im2col_offsets(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    buf = np.empty((C, k, k, N, Ho, Wo))
    for i in range(k):
        for j in range(k):
            buf[:, i, j] = xp[:, :, i : i + s * Ho : s, j : j + s * Wo : s].transpose(1, 0, 2, 3)
    return buf.reshape(C * k * k, N * Ho * Wo).T.copy()


@answer("im2col", "wrong", "columns in (i, j, c) order (NHWC / TensorFlow patch order)")
def im2col_ijc(x, kernel_size, stride, padding):
    k, s, p = kernel_size, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = swv(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    n, c, ho, wo = win.shape[:4]
    return np.ascontiguousarray(win.transpose(0, 2, 3, 4, 5, 1)).reshape(n * ho * wo, c * k * k)


@answer("im2col", "wrong", "rows in (y, z, n) order: the batch varies fastest")
def im2col_batch_fastest(x, kernel_size, stride, padding):
    k, s, p = kernel_size, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = swv(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    n, c, ho, wo = win.shape[:4]
    return np.ascontiguousarray(win.transpose(2, 3, 0, 1, 4, 5)).reshape(n * ho * wo, c * k * k)


@answer("im2col", "wrong", "Caffe layout: returns the (C*k*k, N*Ho*Wo) transpose")
def im2col_caffe(x, kernel_size, stride, padding):
    return im2col_swv(x, kernel_size, stride, padding).T


@answer("im2col", "wrong", "pads with mode='edge' instead of zeros")
def im2col_edge_pad(x, kernel_size, stride, padding):
    k, s, p = kernel_size, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="edge")
    win = swv(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    n, c, ho, wo = win.shape[:4]
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * ho * wo, c * k * k)


# ---------------------------------------------------------------- col2im
@answer("col2im", "correct", "np.add.at with fancy index arrays")
def col2im_addat(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    blocks = cols.reshape(N, Ho, Wo, C, k, k)
    n_i = np.arange(N)[:, None, None, None, None, None]
    y_i = (np.arange(Ho) * s)[None, :, None, None, None, None] + np.arange(k)[None, None, None, None, :, None]
    z_i = (np.arange(Wo) * s)[None, None, :, None, None, None] + np.arange(k)[None, None, None, None, None, :]
    c_i = np.arange(C)[None, None, None, :, None, None]
    np.add.at(dxp, (n_i, c_i, y_i, z_i), blocks)
    return dxp[:, :, p : p + H, p : p + W]


@answer("col2im", "correct", "transpose the rows back and accumulate one kernel offset at a time")
def col2im_offsets(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    buf = cols.T.reshape(C, k, k, N, Ho, Wo)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + s * Ho : s, j : j + s * Wo : s] += buf[:, i, j].transpose(1, 0, 2, 3)
    return dxp[:, :, p : p + H, p : p + W]


@answer("col2im", "wrong", "= instead of += (treated as an inverse: overlapping copies overwrite)")
def col2im_assign(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                dxp[n, :, y * s : y * s + k, z * s : z * s + k] = cols[r].reshape(C, k, k)
                r += 1
    return dxp[:, :, p : p + H, p : p + W]


@answer("col2im", "wrong", "forgot to crop the padding")
def col2im_nocrop(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    buf = cols.T.reshape(C, k, k, N, Ho, Wo)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + s * Ho : s, j : j + s * Wo : s] += buf[:, i, j].transpose(1, 0, 2, 3)
    return dxp


@answer("col2im", "wrong", "divides by the window count (averaging inverse, not the adjoint)")
def col2im_average(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    buf = cols.T.reshape(C, k, k, N, Ho, Wo)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    cnt = np.zeros((H + 2 * p, W + 2 * p))
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + s * Ho : s, j : j + s * Wo : s] += buf[:, i, j].transpose(1, 0, 2, 3)
            cnt[i : i + s * Ho : s, j : j + s * Wo : s] += 1
    dxp = dxp / np.maximum(cnt, 1)
    return dxp[:, :, p : p + H, p : p + W]


@answer("col2im", "wrong", "reads each row as (k, k, C) instead of (C, k, k)")
def col2im_kkc(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                dxp[n, :, y * s : y * s + k, z * s : z * s + k] += cols[r].reshape(k, k, C).transpose(2, 0, 1)
                r += 1
    return dxp[:, :, p : p + H, p : p + W]


# ---------------------------------------------------------------- col2im_count_by_hand
@answer("col2im_count_by_hand", "correct", "typed as a nested list of ints")
def col2im_count_by_hand_list():
    return [[1, 1, 2, 1, 1], [1, 1, 2, 1, 1], [2, 2, 4, 2, 2], [1, 1, 2, 1, 1], [1, 1, 2, 1, 1]]


@answer("col2im_count_by_hand", "correct", "counted with loops over the 2x2 windows")
def col2im_count_by_hand_loop():
    c = np.zeros((5, 5))
    for y in range(2):
        for z in range(2):
            c[2 * y : 2 * y + 3, 2 * z : 2 * z + 3] += 1
    return c


@answer("col2im_count_by_hand", "wrong", "used stride 1 (windows at 0, 1, 2)")
def col2im_count_by_hand_stride1():
    a = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    return np.outer(a, a)


@answer("col2im_count_by_hand", "wrong", "added the row and column counts instead of multiplying")
def col2im_count_by_hand_sum():
    a = np.array([1.0, 1.0, 2.0, 1.0, 1.0])
    return a[:, None] + a[None, :]


@answer("col2im_count_by_hand", "wrong", "only the centre pixel counted as shared")
def col2im_count_by_hand_centre_only():
    c = np.ones((5, 5))
    c[2, 2] = 4.0
    return c


# ---------------------------------------------------------------- maxpool_forward
@answer("maxpool_forward", "correct", "sliding_window_view then max over the last two axes")
def maxpool_forward_swv(x, kernel_size, stride):
    return swv(x, (kernel_size, kernel_size), axis=(2, 3))[:, :, ::stride, ::stride].max(axis=(-2, -1))


@answer("maxpool_forward", "correct", "CS231n loops over (n, c, i, j)")
def maxpool_forward_loops(x, kernel_size, stride):
    N, C, H, W = x.shape
    k = kernel_size
    Ho, Wo = (H - k) // stride + 1, (W - k) // stride + 1
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = np.max(
                        x[n, c, i * stride : i * stride + k, j * stride : j * stride + k]
                    )
    return out


@answer("maxpool_forward", "correct", "NHWC thinking: running np.maximum over kernel offsets on an NHWC copy")
def maxpool_forward_nhwc(x, kernel_size, stride):
    xh = x.transpose(0, 2, 3, 1)
    N, H, W, C = xh.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.full((N, Ho, Wo, C), -np.inf)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, xh[:, i : i + s * Ho : s, j : j + s * Wo : s, :])
    return out.transpose(0, 3, 1, 2)


@answer("maxpool_forward", "wrong", "stride ignored: windows step by kernel_size (non-overlapping)")
def maxpool_forward_stride_is_k(x, kernel_size, stride):
    k = kernel_size
    return swv(x, (k, k), axis=(2, 3))[:, :, ::k, ::k].max(axis=(-2, -1))


@answer("maxpool_forward", "wrong", "off-by-one window: slices y*s : y*s + k - 1")
def maxpool_forward_window_km1(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s : i * s + k - 1, j * s : j * s + k - 1].max(axis=(2, 3))
    return out


@answer("maxpool_forward", "wrong", "average instead of max")
def maxpool_forward_avg(x, kernel_size, stride):
    k = kernel_size
    return swv(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride].mean(axis=(-2, -1))


@answer(
    "maxpool_forward",
    "wrong",
    "ceil_mode output size (PyTorch ceil_mode=True habit), overhanging windows clipped",
)
def maxpool_forward_ceil(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = -(-(H - k) // s) + 1, -(-(W - k) // s) + 1
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s : i * s + k, j * s : j * s + k].max(axis=(2, 3))
    return out


# ---------------------------------------------------------------- maxpool_backward
@answer("maxpool_backward", "correct", "CS231n loops, first argmax via unravel_index")
def maxpool_backward_loops(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros_like(x, dtype=np.float64)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[n, c, i * s : i * s + k, j * s : j * s + k]
                    a, b = np.unravel_index(np.argmax(win), win.shape)
                    dx[n, c, i * s + a, j * s + b] += dout[n, c, i, j]
    return dx


@answer("maxpool_backward", "correct", "vectorised: sliding_window_view argmax + np.add.at")
def maxpool_backward_addat(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    N, C, Ho, Wo = dout.shape
    win = swv(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :Ho, :Wo].reshape(N, C, Ho, Wo, k * k)
    a = win.argmax(axis=-1)
    rows = np.arange(Ho)[None, None, :, None] * s + a // k
    colz = np.arange(Wo)[None, None, None, :] * s + a % k
    nn = np.arange(N)[:, None, None, None]
    cc = np.arange(C)[None, :, None, None]
    dx = np.zeros(x.shape)
    np.add.at(dx, (nn, cc, rows, colz), dout)
    return dx


@answer("maxpool_backward", "correct", "ties routed to the LAST maximum (stated as accepted)")
def maxpool_backward_last_tie(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros(x.shape)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[n, c, i * s : i * s + k, j * s : j * s + k].ravel()
                    a = k * k - 1 - int(np.argmax(win[::-1]))
                    dx[n, c, i * s + a // k, j * s + a % k] += dout[n, c, i, j]
    return dx


@answer("maxpool_backward", "wrong", "every tied maximum gets the gradient (mask == max)")
def maxpool_backward_all_ties(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros(x.shape)
    N, C, Ho, Wo = dout.shape
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * s : i * s + k, j * s : j * s + k]
            m = win == win.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * s : i * s + k, j * s : j * s + k] += m * dout[:, :, i, j][:, :, None, None]
    return dx


@answer("maxpool_backward", "wrong", "dx[...] = instead of += where windows overlap")
def maxpool_backward_assign(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros(x.shape)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    a = int(np.argmax(x[n, c, i * s : i * s + k, j * s : j * s + k]))
                    dx[n, c, i * s + a // k, j * s + a % k] = dout[n, c, i, j]
    return dx


@answer("maxpool_backward", "wrong", "flat argmax decoded as (a % k, a // k): row and column swapped")
def maxpool_backward_swapped_decode(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros(x.shape)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    a = int(np.argmax(x[n, c, i * s : i * s + k, j * s : j * s + k]))
                    dx[n, c, i * s + a % k, j * s + a // k] += dout[n, c, i, j]
    return dx


@answer("maxpool_backward", "wrong", "only the first image of the batch")
def maxpool_backward_first_image(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros(x.shape)
    _, C, Ho, Wo = dout.shape
    for c in range(C):
        for i in range(Ho):
            for j in range(Wo):
                a = int(np.argmax(x[0, c, i * s : i * s + k, j * s : j * s + k]))
                dx[0, c, i * s + a // k, j * s + a % k] += dout[0, c, i, j]
    return dx


# ---------------------------------------------------------------- maxpool_dx_by_hand
@answer("maxpool_dx_by_hand", "correct", "typed as a nested list")
def maxpool_dx_by_hand_list():
    return [[0, 0, 3, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, -1, 0], [0, 0, 0, 0, 0], [0, 4, 0, 0, 0]]


@answer("maxpool_dx_by_hand", "correct", "computed with loops over the four windows")
def maxpool_dx_by_hand_loop():
    x = np.array([[1, 2, 9, 0, 3], [4, 0, 1, 2, 1], [0, 3, 2, 8, 0], [5, 1, 0, 4, 2], [0, 7, 1, 0, 6]], float)
    d = np.array([[1, 2], [4, -1]], float)
    dx = np.zeros((5, 5))
    for y in range(2):
        for z in range(2):
            w = x[2 * y : 2 * y + 3, 2 * z : 2 * z + 3]
            a, b = np.unravel_index(np.argmax(w), w.shape)
            dx[2 * y + a, 2 * z + b] += d[y, z]
    return dx


@answer("maxpool_dx_by_hand", "wrong", "the shared maximum keeps only the last window's gradient (2, not 3)")
def maxpool_dx_by_hand_assign():
    dx = np.zeros((5, 5))
    dx[0, 2], dx[4, 1], dx[2, 3] = 2.0, 4.0, -1.0
    return dx


@answer("maxpool_dx_by_hand", "wrong", "dropped the minus sign of the -1")
def maxpool_dx_by_hand_abs():
    dx = np.zeros((5, 5))
    dx[0, 2], dx[4, 1], dx[2, 3] = 3.0, 4.0, 1.0
    return dx


@answer("maxpool_dx_by_hand", "wrong", "average-pool thinking: each dout spread as dout/9 over its window")
def maxpool_dx_by_hand_avg():
    d = np.array([[1, 2], [4, -1]], float)
    dx = np.zeros((5, 5))
    for y in range(2):
        for z in range(2):
            dx[2 * y : 2 * y + 3, 2 * z : 2 * z + 3] += d[y, z] / 9
    return dx


# ---------------------------------------------------------------- lrn_window
@answer("lrn_window", "correct", "half-widths computed as size//2 before and size-1-size//2 after")
def lrn_window_halves(c, C, size):
    before = size // 2
    after = size - 1 - before
    return max(c - before, 0), min(c + after, C - 1) + 1


@answer("lrn_window", "correct", "list the channels with range and take the ends; returns a list")
def lrn_window_range(c, C, size):
    chans = [j for j in range(c - size // 2, c + (size - 1) // 2 + 1) if 0 <= j < C]
    return [chans[0], chans[-1] + 1]


@answer("lrn_window", "wrong", "symmetric window c - size//2 .. c + size//2 (wrong for even sizes)")
def lrn_window_symmetric(c, C, size):
    return max(0, c - size // 2), min(C, c + size // 2 + 1)


@answer("lrn_window", "wrong", "even-size asymmetry reversed: (size-1)//2 before, size//2 after")
def lrn_window_reversed(c, C, size):
    return max(0, c - (size - 1) // 2), min(C, c + size // 2 + 1)


@answer("lrn_window", "wrong", "hi returned inclusive (the last channel, not one past it)")
def lrn_window_inclusive(c, C, size):
    return max(0, c - size // 2), min(C - 1, c + (size - 1) // 2)


@answer("lrn_window", "wrong", "clips hi at C - 1 instead of C")
def lrn_window_clip_cm1(c, C, size):
    return max(0, c - size // 2), min(C - 1, c + (size - 1) // 2 + 1)


# ---------------------------------------------------------------- lrn_forward
def _lrn_s(x, size, alpha, k):
    C = x.shape[1]
    s = np.empty_like(x, dtype=np.float64)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)
        s[:, c] = k + alpha * (x[:, lo:hi] ** 2).sum(axis=1)
    return s


@answer("lrn_forward", "correct", "pad channels, sliding_window_view over the channel axis, sum of squares")
def lrn_forward_swv(x, size, alpha, beta, k):
    sq = np.pad(x * x, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    s = k + alpha * swv(sq, size, axis=1).sum(axis=-1)
    return x / s**beta


@answer("lrn_forward", "correct", "CS231n loops over (n, c, h, w) and the window")
def lrn_forward_loops(x, size, alpha, beta, k):
    N, C, H, W = x.shape
    out = np.zeros((N, C, H, W))
    for n in range(N):
        for c in range(C):
            for h in range(H):
                for w_ in range(W):
                    acc = 0.0
                    for j in range(max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)):
                        acc += x[n, j, h, w_] ** 2
                    out[n, c, h, w_] = x[n, c, h, w_] * (k + alpha * acc) ** (-beta)
    return out


@answer("lrn_forward", "wrong", "alpha divided by size (PyTorch LocalResponseNorm habit)")
def lrn_forward_alpha_over_n(x, size, alpha, beta, k):
    return x / _lrn_s(x, size, alpha / size, k) ** beta


@answer("lrn_forward", "wrong", "forgot the power beta")
def lrn_forward_no_beta(x, size, alpha, beta, k):
    return x / _lrn_s(x, size, alpha, k)


@answer("lrn_forward", "wrong", "symmetric window c - size//2 .. c + size//2 for even sizes")
def lrn_forward_symmetric(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.empty_like(x)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C, c + size // 2 + 1)
        out[:, c] = x[:, c] / (k + alpha * (x[:, lo:hi] ** 2).sum(axis=1)) ** beta
    return out


@answer("lrn_forward", "wrong", "NHWC thinking: normalises across the last axis (W) instead of channels")
def lrn_forward_last_axis(x, size, alpha, beta, k):
    xt = np.moveaxis(x, -1, 1)
    return np.moveaxis(xt / _lrn_s(xt, size, alpha, k) ** beta, 1, -1)


@answer("lrn_forward", "wrong", "k outside the power: x / (k + (alpha*sum)**beta)")
def lrn_forward_k_outside(x, size, alpha, beta, k):
    return x / (k + (_lrn_s(x, size, alpha, 0.0)) ** beta)


# ---------------------------------------------------------------- lrn_cross_derivative
@answer("lrn_cross_derivative", "correct", "written with a division")
def lrn_cross_derivative_div(a_c, a_j, s_c, alpha, beta, k):
    return -(2.0 * alpha * beta * a_c * a_j) / s_c ** (beta + 1.0)


@answer("lrn_cross_derivative", "correct", "via exp/log of the power (s_c > 0)")
def lrn_cross_derivative_explog(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_c * a_j * np.exp(-(beta + 1) * np.log(s_c))


@answer("lrn_cross_derivative", "wrong", "forgot the 2 from d(a_j^2)")
def lrn_cross_derivative_no2(a_c, a_j, s_c, alpha, beta, k):
    return -alpha * beta * a_c * a_j * s_c ** (-beta - 1)


@answer("lrn_cross_derivative", "wrong", "power -beta instead of -beta - 1")
def lrn_cross_derivative_pow(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_c * a_j * s_c ** (-beta)


@answer("lrn_cross_derivative", "wrong", "sign: +2 alpha beta ...")
def lrn_cross_derivative_sign(a_c, a_j, s_c, alpha, beta, k):
    return 2 * alpha * beta * a_c * a_j * s_c ** (-beta - 1)


# ---------------------------------------------------------------- lrn_backward
@answer("lrn_backward", "correct", "plain loops over every (c, j) pair in float64")
def lrn_backward_loops(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    dx = dout * s ** (-beta)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)
        for j in range(lo, hi):
            dx[:, j] += dout[:, c] * (-2 * alpha * beta * x[:, c] * x[:, j] * s[:, c] ** (-beta - 1))
    return dx


@answer("lrn_backward", "correct", "window matrix M[c, j] and einsum")
def lrn_backward_einsum(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    M = np.zeros((C, C))
    for c in range(C):
        M[c, max(0, c - size // 2) : min(C, c + (size - 1) // 2 + 1)] = 1
    s = k + alpha * np.einsum("cj,njhw->nchw", M, x * x)
    t = dout * x * s ** (-beta - 1)
    return dout * s ** (-beta) - 2 * alpha * beta * x * np.einsum("cj,nchw->njhw", M, t)


@answer("lrn_backward", "wrong", "only the direct term (cross-channel term missing)")
def lrn_backward_direct_only(dout, x, size, alpha, beta, k):
    return dout * _lrn_s(x, size, alpha, k) ** (-beta)


@answer(
    "lrn_backward", "wrong", "cross term summed over j's own window (transposed window: wrong for even sizes)"
)
def lrn_backward_transposed_window(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    t = dout * x * s ** (-beta - 1)
    dx = dout * s ** (-beta)
    for j in range(C):
        lo, hi = max(0, j - size // 2), min(C, j + (size - 1) // 2 + 1)
        dx[:, j] -= 2 * alpha * beta * x[:, j] * t[:, lo:hi].sum(axis=1)
    return dx


@answer("lrn_backward", "wrong", "cross term skips c == j (thought the direct term covers it)")
def lrn_backward_skip_self(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    dx = dout * s ** (-beta)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)
        for j in range(lo, hi):
            if j != c:
                dx[:, j] -= 2 * alpha * beta * dout[:, c] * x[:, c] * x[:, j] * s[:, c] ** (-beta - 1)
    return dx


@answer("lrn_backward", "wrong", "alpha divided by size (PyTorch form)")
def lrn_backward_alpha_over_n(dout, x, size, alpha, beta, k):
    return lrn_backward_loops(dout, x, size, alpha / size, beta, k)


# ---------------------------------------------------------------- softmax_by_hand
@answer("softmax_by_hand", "correct", "returns a float and a list of fractions")
def softmax_by_hand_list():
    return float(np.log(8 / 3)), [1 / 8, -5 / 8, 1 / 2]


@answer("softmax_by_hand", "correct", "computed from z in the function")
def softmax_by_hand_computed():
    z = np.log(np.array([1.0, 3.0, 4.0]))
    p = np.exp(z) / np.exp(z).sum()
    d = p.copy()
    d[1] -= 1
    return -np.log(p[1]), d


@answer("softmax_by_hand", "wrong", "dz forgot the one-hot (just the probabilities)")
def softmax_by_hand_no_onehot():
    return np.log(8 / 3), np.array([1 / 8, 3 / 8, 4 / 8])


@answer("softmax_by_hand", "wrong", "label 1 read as 1-indexed (the first class)")
def softmax_by_hand_one_indexed():
    return np.log(8.0), np.array([1 / 8 - 1, 3 / 8, 4 / 8])


@answer("softmax_by_hand", "wrong", "loss sign: log(3/8) instead of -log(3/8)")
def softmax_by_hand_loss_sign():
    return np.log(3 / 8), np.array([1 / 8, 3 / 8 - 1, 4 / 8])


# ---------------------------------------------------------------- softmax_cross_entropy
@answer("softmax_cross_entropy", "correct", "logaddexp.reduce for the log-sum-exp")
def softmax_ce_logaddexp(logits, labels):
    N = logits.shape[0]
    lse = np.logaddexp.reduce(logits, axis=1)
    logp = logits - lse[:, None]
    loss = -np.mean(logp[np.arange(N), labels])
    return loss, (np.exp(logp) - np.eye(logits.shape[1])[labels]) / N


@answer("softmax_cross_entropy", "correct", "per-row python loop in float64, one-hot by hand")
def softmax_ce_rows(logits, labels):
    N, K = logits.shape
    loss = 0.0
    d = np.zeros((N, K))
    for n in range(N):
        z = logits[n] - np.max(logits[n])
        e = np.exp(z)
        ssum = e.sum()
        loss += np.log(ssum) - z[labels[n]]
        d[n] = e / ssum
        d[n, labels[n]] -= 1.0
    return loss / N, d / N


@answer("softmax_cross_entropy", "wrong", "no max subtraction: exp overflows for logits of 1000")
def softmax_ce_no_shift(logits, labels):
    N = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(logits[np.arange(N), labels] - np.log(e.sum(axis=1)))
    p[np.arange(N), labels] -= 1
    return loss, p / N


@answer("softmax_cross_entropy", "wrong", "gradient missing the 1/N")
def softmax_ce_grad_no_n(logits, labels):
    loss, d = softmax_ce_logaddexp(logits, labels)
    return loss, d * logits.shape[0]


@answer("softmax_cross_entropy", "wrong", "loss summed over the batch, not averaged")
def softmax_ce_loss_sum(logits, labels):
    loss, d = softmax_ce_logaddexp(logits, labels)
    return loss * logits.shape[0], d


@answer("softmax_cross_entropy", "wrong", "loss as -log(clip(softmax, 1e-12)) (Keras clipping habit)")
def softmax_ce_clip(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(np.clip(p[np.arange(N), labels], 1e-12, 1.0)))
    d = p.copy()
    d[np.arange(N), labels] -= 1
    return loss, d / N


@answer(
    "softmax_cross_entropy",
    "wrong",
    "broadcasting accident: d[:, labels] -= 1 (every row, every label column)",
)
def softmax_ce_broadcast(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[:, labels] -= 1
    return -logp[np.arange(N), labels].mean(), d / N


# ---------------------------------------------------------------- dropout_scale
@answer("dropout_scale", "correct", "dict lookup on (convention, train)")
def dropout_scale_dict(p, convention, train):
    return {
        ("pytorch", True): 1 / (1 - p),
        ("pytorch", False): 1.0,
        ("paper", True): 1.0,
        ("paper", False): 1 - p,
    }[(convention, bool(train))]


@answer("dropout_scale", "wrong", "paper test factor p instead of 1 - p")
def dropout_scale_paper_p(p, convention, train):
    if convention == "pytorch":
        return 1 / (1 - p) if train else 1.0
    return 1.0 if train else p


@answer("dropout_scale", "wrong", "pytorch train factor 1/p (p read as keep probability)")
def dropout_scale_inv_p(p, convention, train):
    if convention == "pytorch":
        return 1 / p if train else 1.0
    return 1.0 if train else 1 - p


@answer("dropout_scale", "wrong", "pytorch convention scales at test time too")
def dropout_scale_pytorch_test(p, convention, train):
    if convention == "pytorch":
        return 1 / (1 - p)
    return 1.0 if train else 1 - p


@answer("dropout_scale", "wrong", "conventions swapped (the paper's factors for pytorch and vice versa)")
def dropout_scale_swapped(p, convention, train):
    if convention == "paper":
        return 1 / (1 - p) if train else 1.0
    return 1.0 if train else 1 - p


# ---------------------------------------------------------------- dropout_forward
@answer("dropout_forward", "correct", "np.where with the scale chosen first")
def dropout_forward_where(x, mask, p, convention, train):
    if not train:
        return x * (1.0 if convention == "pytorch" else 1 - p)
    scale = 1 / (1 - p) if convention == "pytorch" else 1.0
    return np.where(mask, x * scale, 0.0)


@answer("dropout_forward", "correct", "float mask, explicit float64")
def dropout_forward_float(x, mask, p, convention, train):
    m = mask.astype(np.float64)
    if convention == "pytorch":
        return (x * m) / (1.0 - p) if train else np.array(x, dtype=np.float64)
    return x * m if train else (1.0 - p) * x


@answer("dropout_forward", "wrong", "mask read as the drop-mask (True = drop)")
def dropout_forward_inverted_mask(x, mask, p, convention, train):
    m = ~mask
    if convention == "pytorch":
        return x * m / (1 - p) if train else x.copy()
    return x * m if train else x * (1 - p)


@answer("dropout_forward", "wrong", "paper test mode multiplies by p")
def dropout_forward_paper_p(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x.copy()
    return x * mask if train else x * p


@answer("dropout_forward", "wrong", "modifies x in place (x *= mask)")
def dropout_forward_inplace(x, mask, p, convention, train):
    if not train:
        if convention == "paper":
            x *= 1 - p
        return x
    x *= mask
    if convention == "pytorch":
        x /= 1 - p
    return x


@answer("dropout_forward", "wrong", "pytorch test mode also divides by 1 - p")
def dropout_forward_pytorch_test_scaled(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x / (1 - p)
    return x * mask if train else x * (1 - p)


# ---------------------------------------------------------------- dropout_backward
@answer("dropout_backward", "correct", "np.where with the convention's factor")
def dropout_backward_where(dout, mask, p, convention):
    return np.where(mask, dout * (1 / (1 - p) if convention == "pytorch" else 1.0), 0.0)


@answer("dropout_backward", "wrong", "forgot the 1/(1 - p) for pytorch")
def dropout_backward_no_scale(dout, mask, p, convention):
    return dout * mask


@answer("dropout_backward", "wrong", "paper convention also divides by 1 - p")
def dropout_backward_paper_scaled(dout, mask, p, convention):
    return dout * mask / (1 - p)


@answer("dropout_backward", "wrong", "mask not applied (scale only)")
def dropout_backward_no_mask(dout, mask, p, convention):
    return dout / (1 - p) if convention == "pytorch" else dout.copy()


@answer("dropout_backward", "wrong", "modifies dout in place")
def dropout_backward_inplace(dout, mask, p, convention):
    dout[~mask] = 0
    if convention == "pytorch":
        dout /= 1 - p
    return dout


# ---------------------------------------------------------------- sgd_terminal_velocity
@answer("sgd_terminal_velocity", "correct", "closed form")
def sgd_terminal_velocity_closed(g, momentum, lr):
    return -(lr * g) / (1.0 - momentum)


@answer("sgd_terminal_velocity", "correct", "iterate the update 20000 times")
def sgd_terminal_velocity_iter(g, momentum, lr):
    v = 0.0 * np.asarray(g, dtype=float)
    for _ in range(20000):
        v = momentum * v - lr * np.asarray(g, dtype=float)
    return v


@answer("sgd_terminal_velocity", "wrong", "sign: +lr g / (1 - mu)")
def sgd_terminal_velocity_sign(g, momentum, lr):
    return lr * g / (1 - momentum)


@answer("sgd_terminal_velocity", "wrong", "series started one term late: -lr g mu / (1 - mu)")
def sgd_terminal_velocity_offby1(g, momentum, lr):
    return -lr * g * momentum / (1 - momentum)


@answer("sgd_terminal_velocity", "wrong", "PyTorch units: -g / (1 - mu), no lr")
def sgd_terminal_velocity_no_lr(g, momentum, lr):
    return -g / (1 - momentum)


# ---------------------------------------------------------------- sgd_momentum_paper
@answer("sgd_momentum_paper", "correct", "returns new (w, v) without touching the inputs")
def sgd_paper_functional(w, v, g, momentum, weight_decay, lr):
    v_new = momentum * v - weight_decay * lr * w - lr * g
    return w + v_new, v_new


@answer("sgd_momentum_paper", "correct", "in place with ufunc out= arguments")
def sgd_paper_out(w, v, g, momentum, weight_decay, lr):
    np.multiply(v, momentum, out=v)
    np.subtract(v, lr * (weight_decay * w + g), out=v)
    np.add(w, v, out=w)


@answer("sgd_momentum_paper", "wrong", "PyTorch's form: v = mu v + g + wd w; w -= lr v")
def sgd_paper_pytorch(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v += g + weight_decay * w
    w -= lr * v


@answer("sgd_momentum_paper", "wrong", "weight decay not multiplied by lr")
def sgd_paper_wd_no_lr(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * w + lr * g
    w += v


@answer("sgd_momentum_paper", "wrong", "w updated with the old v (w += v before v's update)")
def sgd_paper_old_v(w, v, g, momentum, weight_decay, lr):
    w_old = w.copy()
    w += v
    v *= momentum
    v -= weight_decay * lr * w_old + lr * g


@answer("sgd_momentum_paper", "wrong", "rebinds v and w locally (not in place) and returns nothing")
def sgd_paper_rebind(w, v, g, momentum, weight_decay, lr):
    v = momentum * v - weight_decay * lr * w - lr * g
    w = w + v


# ---------------------------------------------------------------- linear_dw_by_hand
@answer("linear_dw_by_hand", "correct", "nested list")
def linear_dw_by_hand_list():
    return [[1, 3], [0, -3], [2, 3]]


@answer("linear_dw_by_hand", "correct", "computed as dout.T @ x in the function")
def linear_dw_by_hand_computed():
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    d = np.array([[1.0, 0.0, 2.0], [-1.0, 3.0, 1.0]])
    return np.einsum("no,ni->oi", d, x)


@answer("linear_dw_by_hand", "wrong", "x.T @ dout: (2, 3), transposed (Keras layout)")
def linear_dw_by_hand_keras():
    return np.array([[1.0, 0.0, 2.0], [3.0, -3.0, 3.0]])


@answer("linear_dw_by_hand", "wrong", "used x transposed: dout.T @ x.T")
def linear_dw_by_hand_xT():
    return np.array([[-1.0, 1.0], [6.0, -3.0], [4.0, -1.0]])


@answer("linear_dw_by_hand", "wrong", "averaged over the batch (divided by N = 2)")
def linear_dw_by_hand_mean():
    return np.array([[0.5, 1.5], [0.0, -1.5], [1.0, 1.5]])


# ---------------------------------------------------------------- linear_forward
@answer("linear_forward", "correct", "einsum ni,oi->no")
def linear_forward_einsum(x, w, b):
    return np.einsum("ni,oi->no", x, w) + b


@answer("linear_forward", "correct", "CS231n loops")
def linear_forward_loops(x, w, b):
    N, D = x.shape
    O = w.shape[0]
    out = np.zeros((N, O))
    for n in range(N):
        for o in range(O):
            out[n, o] = b[o] + sum(x[n, i] * w[o, i] for i in range(D))
    return out


@answer("linear_forward", "wrong", "Keras layout: x @ w + b")
def linear_forward_keras(x, w, b):
    return x @ w + b


@answer("linear_forward", "wrong", "forgot the bias")
def linear_forward_nobias(x, w, b):
    return x @ w.T


@answer("linear_forward", "wrong", "returns (out, N): w @ x.T + b[:, None]")
def linear_forward_transposed(x, w, b):
    return w @ x.T + b[:, None]


# ---------------------------------------------------------------- linear_backward
@answer("linear_backward", "correct", "einsum for all three")
def linear_backward_einsum(dout, x, w, b):
    return np.einsum("no,oi->ni", dout, w), np.einsum("no,ni->oi", dout, x), np.einsum("no->o", dout)


@answer("linear_backward", "correct", "loop over the batch accumulating outer products")
def linear_backward_loop(dout, x, w, b):
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(b.shape)
    for n in range(x.shape[0]):
        dx[n] = w.T @ dout[n]
        dw += np.outer(dout[n], x[n])
        db += dout[n]
    return dx, dw, db


@answer("linear_backward", "wrong", "dw = x.T @ dout (in, out): Keras layout")
def linear_backward_dw_keras(dout, x, w, b):
    return dout @ w, x.T @ dout, dout.sum(0)


@answer("linear_backward", "wrong", "db = dout.mean(0)")
def linear_backward_db_mean(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.mean(0)


@answer("linear_backward", "wrong", "db summed over the wrong axis (1)")
def linear_backward_db_axis(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.sum(axis=1)


@answer("linear_backward", "wrong", "returned as a list [dx, dw] without db")
def linear_backward_two(dout, x, w, b):
    return [dout @ w, dout.T @ x]


# ---------------------------------------------------------------- relu_derivative
@answer("relu_derivative", "correct", "float(x > 0)")
def relu_derivative_float(x):
    return float(x > 0)


@answer("relu_derivative", "correct", "np.heaviside (numpy float)")
def relu_derivative_heaviside(x):
    return np.heaviside(x, 0.0)


@answer("relu_derivative", "wrong", "returns relu itself, max(x, 0)")
def relu_derivative_relu(x):
    return float(max(x, 0.0))


@answer("relu_derivative", "wrong", "always 1.0 (identity's derivative)")
def relu_derivative_one(x):
    return 1.0


@answer("relu_derivative", "wrong", "sign(x): -1 for negative x")
def relu_derivative_sign(x):
    return float(np.sign(x))


# ---------------------------------------------------------------- relu_forward
@answer("relu_forward", "correct", "x * (x > 0)")
def relu_forward_mult(x):
    return x * (x > 0)


@answer("relu_forward", "correct", "np.where")
def relu_forward_where(x):
    return np.where(x > 0, x, 0.0)


@answer("relu_forward", "wrong", "in place: np.maximum(x, 0, out=x)")
def relu_forward_inplace(x):
    return np.maximum(x, 0, out=x)


@answer("relu_forward", "wrong", "abs(x)")
def relu_forward_abs(x):
    return np.abs(x)


@answer("relu_forward", "wrong", "ReLU6 habit: np.clip(x, 0, 6)")
def relu_forward_relu6(x):
    return np.clip(x, 0, 6)


# ---------------------------------------------------------------- relu_backward
@answer("relu_backward", "correct", "np.where(x > 0, dout, 0)")
def relu_backward_where(dout, x):
    return np.where(x > 0, dout, 0.0)


@answer("relu_backward", "correct", "dout * np.heaviside(x, 0)")
def relu_backward_heaviside(dout, x):
    return dout * np.heaviside(x, 0.0)


@answer("relu_backward", "wrong", "masked by dout > 0 instead of x > 0")
def relu_backward_dout_mask(dout, x):
    return dout * (dout > 0)


@answer("relu_backward", "wrong", "x >= 0 (gradient 1 at the kink)")
def relu_backward_ge(dout, x):
    return dout * (x >= 0)


@answer("relu_backward", "wrong", "modifies dout in place")
def relu_backward_inplace(dout, x):
    dout[x <= 0] = 0
    return dout


@answer("relu_backward", "wrong", "forgot dout: returns the mask as floats")
def relu_backward_mask_only(dout, x):
    return (x > 0).astype(np.float64)


# ---------------------------------------------------------------- batchnorm_dx_formula
@answer("batchnorm_dx_formula", "correct", "expanded form with 1/N inside")
def bn_dx_expanded(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std * (g_i - sum_g / n - xhat_i * sum_g_xhat / n)


@answer("batchnorm_dx_formula", "correct", "three separate terms")
def bn_dx_terms(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    a = gamma * inv_std * g_i
    b = -gamma * inv_std * sum_g / n
    c = -gamma * inv_std * xhat_i * sum_g_xhat / n
    return a + b + c


@answer("batchnorm_dx_formula", "wrong", "the variance path missing (no xhat term)")
def bn_dx_no_var(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std * (g_i - sum_g / n)


@answer("batchnorm_dx_formula", "wrong", "forgot the 1/N")
def bn_dx_no_n(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std * (n * g_i - sum_g - xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "wrong", "forgot gamma")
def bn_dx_no_gamma(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return inv_std / n * (n * g_i - sum_g - xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "wrong", "uses 1/(n-1) (unbiased-variance habit)")
def bn_dx_nm1(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std / n * (n * g_i - sum_g - xhat_i * sum_g_xhat * n / (n - 1))


# ---------------------------------------------------------------- batchnorm_forward
@answer("batchnorm_forward", "correct", "per-feature python loop in float64")
def bn_forward_loop(x, gamma, beta, eps):
    N, D = x.shape
    out = np.empty((N, D))
    for d in range(D):
        col = x[:, d]
        mu = sum(col) / N
        var = sum((col - mu) ** 2) / N
        out[:, d] = gamma[d] * (col - mu) / math.sqrt(var + eps) + beta[d]
    return out


@answer("batchnorm_forward", "correct", "via np.std then sqrt(std**2 + eps)")
def bn_forward_std(x, gamma, beta, eps):
    mu = x.mean(axis=0, keepdims=True)
    sd = x.std(axis=0, keepdims=True)
    return gamma * (x - mu) / np.sqrt(sd**2 + eps) + beta


@answer("batchnorm_forward", "wrong", "unbiased variance (ddof=1, torch.var default)")
def bn_forward_ddof1(x, gamma, beta, eps):
    return gamma * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) + beta


@answer("batchnorm_forward", "wrong", "normalised over features (axis 1, LayerNorm) instead of the batch")
def bn_forward_axis1(x, gamma, beta, eps):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


@answer("batchnorm_forward", "wrong", "eps outside the sqrt: / (std + eps)")
def bn_forward_eps_outside(x, gamma, beta, eps):
    return gamma * (x - x.mean(0)) / (x.std(0) + eps) + beta


@answer("batchnorm_forward", "wrong", "centres x in place (x -= mean)")
def bn_forward_inplace(x, gamma, beta, eps):
    x -= x.mean(axis=0)
    return gamma * x / np.sqrt((x**2).mean(0) + eps) + beta


# ---------------------------------------------------------------- batchnorm_backward
@answer("batchnorm_backward", "correct", "CS231n staged computational graph")
def bn_backward_staged(dout, x, gamma, beta, eps):
    N = x.shape[0]
    mu = x.mean(0)
    xmu = x - mu
    sq = xmu**2
    var = sq.mean(0)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1 / sqrtvar
    xhat = xmu * ivar
    dbeta = dout.sum(0)
    dgamma = (dout * xhat).sum(0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -divar / sqrtvar**2
    dvar = 0.5 * dsqrtvar / sqrtvar
    dsq = np.ones_like(x) * dvar / N
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -dx1.sum(0)
    dx2 = np.ones_like(x) * dmu / N
    return dx1 + dx2, dgamma, dbeta


@answer("batchnorm_backward", "correct", "compact formula, expanded")
def bn_backward_compact(dout, x, gamma, beta, eps):
    N = x.shape[0]
    inv = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv
    dbeta = dout.sum(0)
    dgamma = np.sum(dout * xhat, axis=0)
    dx = gamma * inv * (dout - dbeta / N - xhat * dgamma / N)
    return dx, dgamma, dbeta


@answer("batchnorm_backward", "wrong", "treats mean and variance as constants (eval-mode backward)")
def bn_backward_eval(dout, x, gamma, beta, eps):
    inv = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv
    return dout * gamma * inv, (dout * xhat).sum(0), dout.sum(0)


@answer("batchnorm_backward", "wrong", "dgamma and dbeta swapped in the return")
def bn_backward_swapped(dout, x, gamma, beta, eps):
    dx, dg, db = bn_backward_compact(dout, x, gamma, beta, eps)
    return dx, db, dg


@answer("batchnorm_backward", "wrong", "inv_std from the unbiased variance (ddof=1)")
def bn_backward_ddof1(dout, x, gamma, beta, eps):
    N = x.shape[0]
    inv = 1 / np.sqrt(x.var(0, ddof=1) + eps)
    xhat = (x - x.mean(0)) * inv
    dbeta = dout.sum(0)
    dgamma = np.sum(dout * xhat, axis=0)
    dx = gamma * inv * (dout - dbeta / N - xhat * dgamma / N)
    return dx, dgamma, dbeta


@answer("batchnorm_backward", "wrong", "dgamma summed over axis 1 (features) instead of 0")
def bn_backward_dgamma_axis(dout, x, gamma, beta, eps):
    dx, dg, db = bn_backward_compact(dout, x, gamma, beta, eps)
    inv = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv
    return dx, (dout * xhat).sum(1), db


# ---------------------------------------------------------------- winograd_filter_transform
@answer("winograd_filter_transform", "correct", "returns a list")
def wino_ft_list(g0, g1, g2):
    return [g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2]


@answer("winograd_filter_transform", "correct", "the other sign convention for the point 0 (-g0)")
def wino_ft_neg(g0, g1, g2):
    return np.array([-g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2])


@answer("winograd_filter_transform", "correct", "as the matrix G @ g")
def wino_ft_matrix(g0, g1, g2):
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    return G @ np.array([g0, g1, g2], dtype=float)


@answer("winograd_filter_transform", "wrong", "forgot the 1/2")
def wino_ft_no_half(g0, g1, g2):
    return np.array([g0, g0 + g1 + g2, g0 - g1 + g2, g2])


@answer("winograd_filter_transform", "wrong", "points 1 and -1 swapped")
def wino_ft_swapped(g0, g1, g2):
    return np.array([g0, (g0 - g1 + g2) / 2, (g0 + g1 + g2) / 2, g2])


@answer("winograd_filter_transform", "wrong", "integer division // 2")
def wino_ft_floordiv(g0, g1, g2):
    return np.array([g0, (g0 + g1 + g2) // 2, (g0 - g1 + g2) // 2, g2])


# ---------------------------------------------------------------- winograd_f23
@answer("winograd_f23", "correct", "matrix form A^T[(G g) * (B^T d)]")
def wino_matrix(d, g):
    BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=float)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=float)
    return AT @ ((G @ np.asarray(g, float)) * (BT @ np.asarray(d, float)))


@answer("winograd_f23", "correct", "the -g0 convention, returned as a list")
def wino_neg_list(d, g):
    u0 = -g[0]
    u1, u2 = (g[0] + g[1] + g[2]) / 2, (g[0] - g[1] + g[2]) / 2
    m1 = (d[2] - d[0]) * u0
    m2 = (d[1] + d[2]) * u1
    m3 = (d[2] - d[1]) * u2
    m4 = (d[1] - d[3]) * g[2]
    return [m1 + m2 + m3, m2 - m3 - m4]


@answer("winograd_f23", "wrong", "true convolution (kernel flipped)")
def wino_flipped(d, g):
    g = np.asarray(g)[::-1]
    return np.array([g[0] * d[0] + g[1] * d[1] + g[2] * d[2], g[0] * d[1] + g[1] * d[2] + g[2] * d[3]])


@answer("winograd_f23", "wrong", "sign slip in m3: (d1 - d2) instead of (d2 - d1)")
def wino_m3_sign(d, g):
    u = [g[0], (g[0] + g[1] + g[2]) / 2, (g[0] - g[1] + g[2]) / 2, g[2]]
    m1, m2 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1]
    m3, m4 = (d[1] - d[2]) * u[2], (d[1] - d[3]) * u[3]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


@answer("winograd_f23", "wrong", "filter transform without the 1/2")
def wino_no_half(d, g):
    u = [g[0], g[0] + g[1] + g[2], g[0] - g[1] + g[2], g[2]]
    m1, m2 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1]
    m3, m4 = (d[2] - d[1]) * u[2], (d[1] - d[3]) * u[3]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


@answer("winograd_f23", "wrong", "y1 = m2 - m3 + m4 (sign of m4)")
def wino_m4_sign(d, g):
    u = [g[0], (g[0] + g[1] + g[2]) / 2, (g[0] - g[1] + g[2]) / 2, g[2]]
    m1, m2 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1]
    m3, m4 = (d[2] - d[1]) * u[2], (d[1] - d[3]) * u[3]
    return np.array([m1 + m2 + m3, m2 - m3 + m4])


# ---------------------------------------------------------------- receptive_field_step
@answer("receptive_field_step", "correct", "tuple, start updated before jump")
def rf_step_tuple(size, jump, start, k, s, p):
    new_start = start - p * jump
    new_size = size + (k - 1) * jump
    return int(new_size), int(jump * s), int(new_start)


@answer("receptive_field_step", "correct", "returns a list")
def rf_step_list(size, jump, start, k, s, p):
    return [size + (k - 1) * jump, jump * s, start - p * jump]


@answer("receptive_field_step", "wrong", "size uses the new jump (jump updated first)")
def rf_step_new_jump(size, jump, start, k, s, p):
    jump = jump * s
    return size + (k - 1) * jump, jump, start - p * jump // s


@answer("receptive_field_step", "wrong", "start + p * jump (sign)")
def rf_step_start_sign(size, jump, start, k, s, p):
    return size + (k - 1) * jump, jump * s, start + p * jump


@answer("receptive_field_step", "wrong", "start - p (forgot the jump)")
def rf_step_start_nojump(size, jump, start, k, s, p):
    return size + (k - 1) * jump, jump * s, start - p


@answer("receptive_field_step", "wrong", "returned in (size, start, jump) order")
def rf_step_order(size, jump, start, k, s, p):
    return size + (k - 1) * jump, start - p * jump, jump * s


# ---------------------------------------------------------------- receptive_field
@answer("receptive_field", "correct", "float loop")
def rf_loop(layers):
    size, jump, start = 1.0, 1.0, 0.0
    S, J, T = [], [], []
    for k, s, p in layers:
        size += (k - 1) * jump
        start -= p * jump
        jump *= s
        S.append(size)
        J.append(jump)
        T.append(start)
    return np.array(S), np.array(J), np.array(T)


@answer("receptive_field", "correct", "cumprod / cumsum, vectorised")
def rf_cumsum(layers):
    L = np.asarray(layers, dtype=float).reshape(-1, 3)
    k, s, p = L[:, 0], L[:, 1], L[:, 2]
    jumps = np.cumprod(s)
    prev = np.concatenate([[1.0], jumps[:-1]])
    return 1.0 + np.cumsum((k - 1) * prev), jumps, -np.cumsum(p * prev)


@answer("receptive_field", "wrong", "includes the input (1, 1, 0) as the first entry")
def rf_with_input(layers):
    S, J, T = [1.0], [1.0], [0.0]
    for k, s, p in layers:
        S.append(S[-1] + (k - 1) * J[-1])
        T.append(T[-1] - p * J[-1])
        J.append(J[-1] * s)
    return np.array(S), np.array(J), np.array(T)


@answer("receptive_field", "wrong", "size uses the new jump")
def rf_new_jump(layers):
    size, jump, start = 1.0, 1.0, 0.0
    S, J, T = [], [], []
    for k, s, p in layers:
        start -= p * jump
        jump *= s
        size += (k - 1) * jump
        S.append(size)
        J.append(jump)
        T.append(start)
    return np.array(S), np.array(J), np.array(T)


@answer("receptive_field", "wrong", "start -= p (padding not scaled by the jump)")
def rf_start_nojump(layers):
    size, jump, start = 1.0, 1.0, 0.0
    S, J, T = [], [], []
    for k, s, p in layers:
        size += (k - 1) * jump
        start -= p
        jump *= s
        S.append(size)
        J.append(jump)
        T.append(start)
    return np.array(S), np.array(J), np.array(T)


@answer("receptive_field", "wrong", "returns one (L, 3) array of rows instead of three arrays")
def rf_rows(layers):
    return np.stack(rf_loop(layers), axis=1)


# ---------------------------------------------------------------- second round: more habits
@answer("conv_forward", "wrong", "computes in float32 (GPU habit): the result is float32")
def conv_forward_float32(x, w, b, stride, padding):
    out = conv_forward_einsum(
        x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), stride, padding
    )
    return out


@answer("conv_backward", "wrong", "only the first image of the batch (loop over range(1))")
def conv_backward_first_image(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros_like(b)
    _, _, Ho, Wo = dout.shape
    for n in range(1):
        for f in range(F):
            db[f] += dout[n, f].sum()
            for i in range(Ho):
                for j in range(Wo):
                    hs, ws = i * stride, j * stride
                    dw[f] += dout[n, f, i, j] * xp[n, :, hs : hs + k, ws : ws + k]
                    dxp[n, :, hs : hs + k, ws : ws + k] += dout[n, f, i, j] * w[f]
    return dxp[:, :, p : p + H, p : p + W], dw, db


@answer(
    "conv_backward",
    "correct",
    "textbook form: dx = full correlation of the stride-dilated dout with rot180(w)",
)
def conv_backward_full_conv(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    s, p = stride, padding
    Ho, Wo = dout.shape[2:]
    Hp, Wp = H + 2 * p, W + 2 * p
    D = np.zeros((N, F, (Ho - 1) * s + 1, (Wo - 1) * s + 1))
    D[:, :, ::s, ::s] = dout
    rh, rw = Hp - ((Ho - 1) * s + k), Wp - ((Wo - 1) * s + k)
    Dp = np.pad(D, ((0, 0), (0, 0), (k - 1, k - 1 + rh), (k - 1, k - 1 + rw)))
    wrot = w[:, :, ::-1, ::-1]
    win = swv(Dp, (k, k), axis=(2, 3))  # (N, F, Hp, Wp, k, k)
    dxp = np.einsum("nfabij,fcij->ncab", win, wrot)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    xwin = swv(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :Ho, :Wo]
    dw = np.einsum("nfyz,ncyzij->fcij", dout, xwin)
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@answer("im2col", "wrong", "only the first channel filled (loop over range(1) of the channels)")
def im2col_one_channel(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.zeros((N * Ho * Wo, C * k * k))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                for c in range(1):
                    cols[r, c * k * k : (c + 1) * k * k] = xp[
                        n, c, y * s : y * s + k, z * s : z * s + k
                    ].ravel()
                r += 1
    return cols


@answer("col2im", "wrong", "only square inputs: W_out taken from H")
def col2im_square(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho = _osz(H, k, s, p)
    Wo = Ho
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                if r < len(cols):
                    blk = dxp[n, :, y * s : y * s + k, z * s : z * s + k]
                    blk += cols[r].reshape(C, k, k)[:, : blk.shape[1], : blk.shape[2]]
                r += 1
    return dxp[:, :, p : p + H, p : p + W]


@answer("softmax_cross_entropy", "wrong", "subtracts one global maximum instead of each row's")
def softmax_ce_global_max(logits, labels):
    N = logits.shape[0]
    z = logits - logits.max()
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(N), labels] -= 1
    return -logp[np.arange(N), labels].mean(), d / N


@answer("batchnorm_backward", "wrong", "scales dout by gamma in place (dout *= gamma)")
def bn_backward_inplace(dout, x, gamma, beta, eps):
    N = x.shape[0]
    inv = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv
    dbeta = dout.sum(0)
    dgamma = (dout * xhat).sum(0)
    dout *= gamma
    dx = inv * (dout - dout.mean(0) - xhat * (dout * xhat).mean(0))
    return dx, dgamma, dbeta


@answer("lrn_forward", "wrong", "computes in float32")
def lrn_forward_float32(x, size, alpha, beta, k):
    return lrn_forward_swv(x.astype(np.float32), size, np.float32(alpha), np.float32(beta), np.float32(k))


@answer("maxpool_forward", "wrong", "only square inputs: W_out taken from H")
def maxpool_forward_square(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho = (H - k) // s + 1
    out = np.zeros((N, C, Ho, Ho))
    for i in range(Ho):
        for j in range(Ho):
            win = x[:, :, i * s : i * s + k, j * s : j * s + k]
            out[:, :, i, j] = win.max(axis=(2, 3)) if win.shape[-1] else 0.0
    return out


@answer("maxpool_backward", "correct", "NHWC thinking: transpose, route with np.add.at, transpose back")
def maxpool_backward_nhwc(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    xh = x.transpose(0, 2, 3, 1)
    dh = dout.transpose(0, 2, 3, 1)
    N, Ho, Wo, C = dh.shape
    win = swv(xh, (k, k), axis=(1, 2))[:, ::s, ::s][:, :Ho, :Wo]  # (N, Ho, Wo, C, k, k)
    a = win.reshape(N, Ho, Wo, C, k * k).argmax(-1)
    dxh = np.zeros(xh.shape)
    nn, yy, zz, cc = np.meshgrid(np.arange(N), np.arange(Ho), np.arange(Wo), np.arange(C), indexing="ij")
    np.add.at(dxh, (nn, yy * s + a // k, zz * s + a % k, cc), dh)
    return dxh.transpose(0, 3, 1, 2)


@answer("relu_backward", "wrong", "casts the result to float32")
def relu_backward_float32(dout, x):
    return (dout * (x > 0)).astype(np.float32)


@answer("dropout_forward", "wrong", "integer-division habit: x * mask // (1 - p) in pytorch training")
def dropout_forward_floordiv(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask // (1 - p) if train else x.copy()
    return x * mask if train else x * (1 - p)


@answer("sgd_momentum_paper", "wrong", "v updated in place but w rebound (w = w + v), nothing returned")
def sgd_paper_w_rebound(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * lr * w + lr * g
    w = w + v


@answer("linear_forward", "wrong", "only the first sample: out[0] broadcast to every row")
def linear_forward_first_row(x, w, b):
    return np.broadcast_to(x[0] @ w.T + b, (x.shape[0], w.shape[0])).copy()


@answer("lrn_backward", "wrong", "direct term uses s^(-beta-1) (one power too many)")
def lrn_backward_direct_pow(dout, x, size, alpha, beta, k):
    s = _lrn_s(x, size, alpha, k)
    return lrn_backward_loops(dout, x, size, alpha, beta, k) - dout * s ** (-beta) + dout * s ** (-beta - 1)
