# ruff: noqa
"""A fourth held-out class of student answers for the exercise grader: 173 wrong answers (one mistake each) and 42
correct ones over all 37 exercises, written by a tester who had not read the grader, its mistake catalogue or the
earlier classes, each checked against the tester's own float64 loops before grading. Judgement:
tests/heldout4_judgement.md."""

from dataclasses import dataclass
from typing import Callable
import numpy as np


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


# ---------------------------------------------------------------- output_size
@answer("output_size", "wrong", "ceil instead of floor (counts an overhanging window)")
def output_size_ceil(n, kernel_size, stride, padding):
    return -(-(n + 2 * padding - kernel_size) // stride) + 1


@answer("output_size", "wrong", "padding added once, not on both sides")
def output_size_pad_once(n, kernel_size, stride, padding):
    return (n + padding - kernel_size) // stride + 1


@answer("output_size", "wrong", "round() instead of floor")
def output_size_round(n, kernel_size, stride, padding):
    return int(round((n + 2 * padding - kernel_size) / stride)) + 1


@answer("output_size", "wrong", "true division: returns a float with a fraction")
def output_size_truediv(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) / stride + 1


@answer("output_size", "wrong", "padding added after dividing by the stride")
def output_size_pad_outside(n, kernel_size, stride, padding):
    return (n - kernel_size) // stride + 1 + 2 * padding


@answer("output_size", "correct", "len(range(...)) of window starts")
def output_size_range(n, kernel_size, stride, padding):
    return len(range(0, n + 2 * padding - kernel_size + 1, stride))


# ---------------------------------------------------------------- output_size_by_hand
@answer("output_size_by_hand", "wrong", "rounded 3.5 up in the padded case (ceil)")
def output_size_by_hand_ceil():
    return 3, 4, 55


@answer("output_size_by_hand", "wrong", "forgot the +1 everywhere")
def output_size_by_hand_no_plus1():
    return 2, 2, 54


@answer("output_size_by_hand", "wrong", "ignored the padding in the second case")
def output_size_by_hand_no_pad():
    return 3, 2, 55


@answer("output_size_by_hand", "correct", "computed with the formula, numpy ints in a list")
def output_size_by_hand_formula():
    return [
        np.int64((n + 2 * p - k) // s + 1) for n, k, s, p in [(7, 3, 2, 0), (6, 3, 2, 1), (227, 11, 4, 0)]
    ]


# ---------------------------------------------------------------- conv_out_by_hand
@answer("conv_out_by_hand", "wrong", "flipped the kernel (true convolution)")
def conv_out_by_hand_flip():
    return np.array([[0.0, 3.0], [4.0, 0.0]])


@answer("conv_out_by_hand", "wrong", "typed the output transposed")
def conv_out_by_hand_transposed():
    return np.array([[4.0, 2.0], [-1.0, 6.0]])


@answer("conv_out_by_hand", "wrong", "arithmetic slip in the bottom-right entry")
def conv_out_by_hand_slip():
    return np.array([[4.0, -1.0], [2.0, 5.0]])


@answer("conv_out_by_hand", "wrong", "flattened to 4 numbers")
def conv_out_by_hand_flat():
    return np.array([4.0, -1.0, 2.0, 6.0])


@answer("conv_out_by_hand", "correct", "nested list of ints")
def conv_out_by_hand_ints():
    return [[4, -1], [2, 6]]


# ---------------------------------------------------------------- conv_forward
def _cf_pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


@answer("conv_forward", "wrong", "flipped the kernel (true convolution)")
def conv_forward_flip(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _cf_pad(x, padding)
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, f, ho, wo))
    wf = w[:, :, ::-1, ::-1]
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    out[i, o, y, z] = (
                        np.sum(xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] * wf[o])
                        + b[o]
                    )
    return out


@answer("conv_forward", "wrong", "bias forgotten")
def conv_forward_nobias(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _cf_pad(x, padding)
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    out[i, o, y, z] = np.sum(
                        xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] * w[o]
                    )
    return out


@answer("conv_forward", "wrong", "window starts at y, not y*stride (right only for stride 1)")
def conv_forward_nostride(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _cf_pad(x, padding)
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    out[i, o, y, z] = np.sum(xp[i, :, y : y + k, z : z + k] * w[o]) + b[o]
    return out


@answer("conv_forward", "wrong", "output width computed from H (right only for square inputs)")
def conv_forward_square(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _cf_pad(x, padding)
    ho = (h + 2 * padding - k) // stride + 1
    wo = ho
    out = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    out[i, o, y, z] = (
                        np.sum(xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] * w[o])
                        + b[o]
                    )
    return out


@answer("conv_forward", "wrong", "im2col columns in (i, j, c) order vs w.reshape(F, -1) in (c, i, j)")
def conv_forward_colorder(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _cf_pad(x, padding)
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride][
        :, :, :ho, :wo
    ]
    cols = win.transpose(0, 2, 3, 4, 5, 1).reshape(n * ho * wo, -1)
    out = cols @ w.reshape(f, -1).T + b
    return out.reshape(n, ho, wo, f).transpose(0, 3, 1, 2)


@answer("conv_forward", "wrong", "final reshape to (N, F, Ho, Wo) without the transpose")
def conv_forward_reshape(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _cf_pad(x, padding)
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride][
        :, :, :ho, :wo
    ]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, -1)
    out = cols @ w.reshape(f, -1).T + b
    return out.reshape(n, f, ho, wo)


@answer("conv_forward", "correct", "einsum over a strided window view")
def conv_forward_einsum(x, w, b, stride, padding):
    k = w.shape[2]
    xp = _cf_pad(x, padding)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", win, w) + b[None, :, None, None]


@answer("conv_forward", "correct", "shift-and-add over the k*k kernel offsets")
def conv_forward_shift(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _cf_pad(x, padding)
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, f, ho, wo)) + b[:, None, None]
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride]
            out += np.tensordot(patch, w[:, :, i, j], axes=([1], [1])).transpose(0, 3, 1, 2)
    return out


# ---------------------------------------------------------------- conv_dw_by_hand
@answer("conv_dw_by_hand", "wrong", "correlated x with dout rotated 180 degrees")
def conv_dw_by_hand_rot():
    return np.array([[4.0, 1.0], [2.0, 6.0]])


@answer("conv_dw_by_hand", "wrong", "typed transposed")
def conv_dw_by_hand_T():
    return np.array([[0.0, 4.0], [1.0, 0.0]])


@answer("conv_dw_by_hand", "wrong", "slid w over dout instead: typed the forward output")
def conv_dw_by_hand_fwd():
    return np.array([[4.0, -1.0], [2.0, 6.0]])


@answer("conv_dw_by_hand", "wrong", "sign slip on the -1 of dout (used +1)")
def conv_dw_by_hand_sign():
    return np.array([[2.0, 7.0], [4.0, 2.0]])


@answer("conv_dw_by_hand", "correct", "computed by einsum over windows")
def conv_dw_by_hand_einsum():
    x = np.array([[1, 2, 0], [0, 1, 3], [2, 0, 1]], dtype=float)
    d = np.array([[1, 0], [2, -1]], dtype=float)
    return np.einsum("yzij,yz->ij", np.lib.stride_tricks.sliding_window_view(x, (2, 2)), d)


# ---------------------------------------------------------------- conv_backward
def _cb_loop(dout, x, w, stride, padding, assign=False, flip=False, nostride=False):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    ww = w[:, :, ::-1, ::-1] if flip else w
    for i in range(n):
        for o in range(f):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = (y, z) if nostride else (y * stride, z * stride)
                    g = dout[i, o, y, z]
                    win = xp[i, :, ys : ys + k, zs : zs + k]
                    dw[o] += g * (win[:, ::-1, ::-1] if flip else win)
                    if assign:
                        dxp[i, :, ys : ys + k, zs : zs + k] = g * ww[o]
                    else:
                        dxp[i, :, ys : ys + k, zs : zs + k] += g * ww[o]
    return dxp, dw


@answer("conv_backward", "wrong", "dx with = instead of += (overlapping windows overwrite)")
def conv_backward_assign(dout, x, w, b, stride, padding):
    p = padding
    h, wd = x.shape[2:]
    dxp, dw = _cb_loop(dout, x, w, stride, padding, assign=True)
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "db averaged over the batch")
def conv_backward_dbmean(dout, x, w, b, stride, padding):
    p = padding
    h, wd = x.shape[2:]
    dxp, dw = _cb_loop(dout, x, w, stride, padding)
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.mean(axis=0).sum(axis=(1, 2))


@answer("conv_backward", "wrong", "crops the padding from the wrong side (keeps the top-left)")
def conv_backward_crop(dout, x, w, b, stride, padding):
    h, wd = x.shape[2:]
    dxp, dw = _cb_loop(dout, x, w, stride, padding)
    return dxp[:, :, :h, :wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "flipped kernel in dx and dw (true-convolution thinking)")
def conv_backward_flip(dout, x, w, b, stride, padding):
    p = padding
    h, wd = x.shape[2:]
    dxp, dw = _cb_loop(dout, x, w, stride, padding, flip=True)
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "window offsets ignore the stride (right only for stride 1)")
def conv_backward_nostride(dout, x, w, b, stride, padding):
    p = padding
    h, wd = x.shape[2:]
    dxp, dw = _cb_loop(dout, x, w, stride, padding, nostride=True)
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "dout flattened as (N, F, Ho, Wo).reshape(-1, F) without the transpose")
def conv_backward_reshape(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p, s = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = dout.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, -1)
    d = dout.reshape(-1, f)
    dw = (d.T @ cols).reshape(w.shape)
    dcols = (d @ w.reshape(f, -1)).reshape(n, ho, wo, c, k, k)
    dxp = np.zeros_like(xp)
    for y in range(ho):
        for z in range(wo):
            dxp[:, :, y * s : y * s + k, z * s : z * s + k] += dcols[:, y, z]
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "correct", "vectorised: window view + einsum, dx by per-offset scatter")
def conv_backward_einsum(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p, s = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = dout.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    dw = np.einsum("nchwij,nfhw->fcij", win, dout)
    dxp = np.zeros_like(xp)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s] += np.einsum(
                "nfhw,fc->nchw", dout, w[:, :, i, j]
            )
    return dxp[:, :, p : p + h, p : p + wd], dw, np.einsum("nfhw->f", dout)


# ---------------------------------------------------------------- im2col_shape
@answer("im2col_shape", "wrong", "transposed: (C*k*k, N*Ho*Wo)")
def im2col_shape_T(N, C, H, W, k, s, p):
    ho, wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    return C * k * k, N * ho * wo


@answer("im2col_shape", "wrong", "forgot the batch N in the rows")
def im2col_shape_noN(N, C, H, W, k, s, p):
    ho, wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    return ho * wo, C * k * k


@answer("im2col_shape", "wrong", "forgot the channels C in the columns")
def im2col_shape_noC(N, C, H, W, k, s, p):
    ho, wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    return N * ho * wo, k * k


@answer("im2col_shape", "wrong", "used H for both output sides (square only)")
def im2col_shape_square(N, C, H, W, k, s, p):
    ho = (H + 2 * p - k) // s + 1
    return N * ho * ho, C * k * k


@answer("im2col_shape", "wrong", "padding counted once")
def im2col_shape_pad1(N, C, H, W, k, s, p):
    ho, wo = (H + p - k) // s + 1, (W + p - k) // s + 1
    return N * ho * wo, C * k * k


@answer("im2col_shape", "correct", "shape of a real strided window view")
def im2col_shape_view(N, C, H, W, k, s, p):
    rows = len(range(0, H + 2 * p - k + 1, s)) * len(range(0, W + 2 * p - k + 1, s)) * N
    return int(rows), int(np.prod([C, k, k]))


# ---------------------------------------------------------------- im2col
def _i2c_loop(x, k, s, p, order="nyz", mode="constant", colorder="cij"):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode=mode)
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    rows = []
    idx = {
        "nyz": [(i, y, z) for i in range(n) for y in range(ho) for z in range(wo)],
        "yzn": [(i, y, z) for y in range(ho) for z in range(wo) for i in range(n)],
        "nzy": [(i, y, z) for i in range(n) for z in range(wo) for y in range(ho)],
    }[order]
    for i, y, z in idx:
        win = xp[i, :, y * s : y * s + k, z * s : z * s + k]
        if colorder == "ijc":
            win = win.transpose(1, 2, 0)
        rows.append(win.reshape(-1))
    return np.array(rows)


@answer("im2col", "wrong", "rows in (y, z, n) order: image loop innermost (right only for N=1)")
def im2col_rows_yzn(x, kernel_size, stride, padding):
    return _i2c_loop(x, kernel_size, stride, padding, order="yzn")


@answer("im2col", "wrong", "columns in (i, j, c) order (right only for C=1)")
def im2col_cols_ijc(x, kernel_size, stride, padding):
    return _i2c_loop(x, kernel_size, stride, padding, colorder="ijc")


@answer("im2col", "wrong", "output loops swapped: z outer, y inner")
def im2col_rows_nzy(x, kernel_size, stride, padding):
    return _i2c_loop(x, kernel_size, stride, padding, order="nzy")


@answer("im2col", "wrong", "pads with edge values instead of zeros")
def im2col_edgepad(x, kernel_size, stride, padding):
    return _i2c_loop(x, kernel_size, stride, padding, mode="edge")


@answer("im2col", "wrong", "returns the transposed matrix (C*k*k, rows)")
def im2col_T(x, kernel_size, stride, padding):
    return _i2c_loop(x, kernel_size, stride, padding).T


@answer("im2col", "correct", "fancy indexing with precomputed index arrays")
def im2col_fancy(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, s, p = kernel_size, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    yy = (np.arange(ho) * s)[:, None, None, None, None] + np.arange(k)[None, None, None, :, None]
    zz = (np.arange(wo) * s)[None, :, None, None, None] + np.arange(k)[None, None, None, None, :]
    cc = np.arange(c)[None, None, :, None, None]
    g = xp[:, cc, yy, zz]  # (n, ho, wo, c, k, k)
    return g.reshape(n * ho * wo, c * k * k)


# ---------------------------------------------------------------- col2im
def _c2i_loop(cols, x_shape, k, s, p, assign=False, blk="cij", crop="ok", avg=False):
    n, c, h, w = x_shape
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    cnt = np.zeros_like(dxp)
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                b = cols[r].reshape(c, k, k) if blk == "cij" else cols[r].reshape(k, k, c).transpose(2, 0, 1)
                sl = (i, slice(None), slice(y * s, y * s + k), slice(z * s, z * s + k))
                if assign:
                    dxp[sl] = b
                else:
                    dxp[sl] += b
                cnt[sl] += 1
                r += 1
    if avg:
        dxp = dxp / np.maximum(cnt, 1)
    return dxp[:, :, :h, :w] if crop == "topleft" else dxp[:, :, p : p + h, p : p + w]


@answer("col2im", "wrong", "= instead of += (overlaps overwrite)")
def col2im_assign(cols, x_shape, kernel_size, stride, padding):
    return _c2i_loop(cols, x_shape, kernel_size, stride, padding, assign=True)


@answer("col2im", "wrong", "reshapes each row as (k, k, c)")
def col2im_kkc(cols, x_shape, kernel_size, stride, padding):
    return _c2i_loop(cols, x_shape, kernel_size, stride, padding, blk="kkc")


@answer("col2im", "wrong", "crops the top-left instead of removing the padding")
def col2im_crop(cols, x_shape, kernel_size, stride, padding):
    return _c2i_loop(cols, x_shape, kernel_size, stride, padding, crop="topleft")


@answer("col2im", "wrong", "averages overlapping copies (treats col2im as the inverse)")
def col2im_avg(cols, x_shape, kernel_size, stride, padding):
    return _c2i_loop(cols, x_shape, kernel_size, stride, padding, avg=True)


@answer("col2im", "correct", "np.add.at with index arrays")
def col2im_addat(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, s, p = kernel_size, stride, padding
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    yy = (np.arange(ho) * s)[:, None, None, None, None] + np.arange(k)[None, None, None, :, None]
    zz = (np.arange(wo) * s)[None, :, None, None, None] + np.arange(k)[None, None, None, None, :]
    cc = np.arange(c)[None, None, :, None, None]
    blocks = cols.reshape(n, ho, wo, c, k, k)
    for i in range(n):
        np.add.at(
            dxp[i],
            (
                np.broadcast_to(cc, blocks.shape[1:]),
                np.broadcast_to(yy, blocks.shape[1:]),
                np.broadcast_to(zz, blocks.shape[1:]),
            ),
            blocks[i],
        )
    return dxp[:, :, p : p + h, p : p + w]


# ---------------------------------------------------------------- col2im_count_by_hand
@answer("col2im_count_by_hand", "wrong", "thought the last row/column is not covered")
def col2im_count_by_hand_edge():
    a = np.array([1.0, 1, 2, 1, 0])
    return np.outer(a, a)


@answer("col2im_count_by_hand", "wrong", "added the per-axis counts instead of multiplying")
def col2im_count_by_hand_sum():
    a = np.array([1.0, 1, 2, 1, 1])
    return a[:, None] + a[None, :]


@answer("col2im_count_by_hand", "wrong", "max of the per-axis counts (centre 2, not 4)")
def col2im_count_by_hand_max():
    a = np.array([1.0, 1, 2, 1, 1])
    return np.maximum.outer(a, a)


@answer("col2im_count_by_hand", "wrong", "counted stride-1 windows")
def col2im_count_by_hand_stride1():
    a = np.array([1.0, 2, 3, 2, 1])
    return np.outer(a, a)


@answer("col2im_count_by_hand", "correct", "counted by looping over the windows, int array")
def col2im_count_by_hand_loop():
    c = np.zeros((5, 5), dtype=int)
    for y in (0, 2):
        for z in (0, 2):
            c[y : y + 3, z : z + 3] += 1
    return c


# ---------------------------------------------------------------- maxpool_forward
@answer("maxpool_forward", "wrong", "non-overlapping s*s blocks (right only when k == s)")
def maxpool_forward_blocks(x, kernel_size, stride):
    n, c, h, w = x.shape
    k, s = kernel_size, stride
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    return x[:, :, : ho * s, : wo * s].reshape(n, c, ho, s, wo, s).max(axis=(3, 5))


@answer("maxpool_forward", "wrong", "window starts at y, not y*stride")
def maxpool_forward_nostride(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = x[:, :, y : y + k, z : z + k].max(axis=(2, 3))
    return out


@answer("maxpool_forward", "wrong", "square assumption: Wo computed from H")
def maxpool_forward_square(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho = (h - k) // stride + 1
    wo = ho
    out = np.zeros((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = x[:, :, y * stride : y * stride + k, z * stride : z * stride + k].max(
                axis=(2, 3)
            )
    return out


@answer("maxpool_forward", "wrong", "max of absolute values")
def maxpool_forward_abs(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = np.abs(x[:, :, y * stride : y * stride + k, z * stride : z * stride + k]).max(
                axis=(2, 3)
            )
    return out


@answer("maxpool_forward", "wrong", "ceil mode: keeps a partial window at the edge")
def maxpool_forward_ceil(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = -(-(h - k) // stride) + 1, -(-(w - k) // stride) + 1
    out = np.zeros((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = x[:, :, y * stride : y * stride + k, z * stride : z * stride + k].max(
                axis=(2, 3)
            )
    return out


@answer("maxpool_forward", "correct", "np.maximum reduced over the k*k strided shifts")
def maxpool_forward_shifts(x, kernel_size, stride):
    n, c, h, w = x.shape
    k, s = kernel_size, stride
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.full((n, c, ho, wo), -np.inf)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, x[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s])
    return out


# ---------------------------------------------------------------- maxpool_backward
def _mpb_loop(dout, x, k, s, mode="first", assign=False, swap=False):
    dx = np.zeros_like(x)
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    win = x[i, ch, y * s : y * s + k, z * s : z * s + k]
                    g = dout[i, ch, y, z]
                    if mode == "all":
                        dx[i, ch, y * s : y * s + k, z * s : z * s + k] += g * (win == win.max())
                        continue
                    if mode == "avg":
                        dx[i, ch, y * s : y * s + k, z * s : z * s + k] += g / (k * k)
                        continue
                    a = (
                        int(np.argmax(win))
                        if mode == "first"
                        else win.size - 1 - int(np.argmax(win.reshape(-1)[::-1]))
                    )
                    r, q = (a % k, a // k) if swap else (a // k, a % k)
                    if assign:
                        dx[i, ch, y * s + r, z * s + q] = g
                    else:
                        dx[i, ch, y * s + r, z * s + q] += g
    return dx


@answer("maxpool_backward", "wrong", "= instead of += where windows overlap")
def maxpool_backward_assign(dout, x, kernel_size, stride):
    return _mpb_loop(dout, x, kernel_size, stride, assign=True)


@answer("maxpool_backward", "wrong", "routes to every tied maximum (mask == max)")
def maxpool_backward_allties(dout, x, kernel_size, stride):
    return _mpb_loop(dout, x, kernel_size, stride, mode="all")


@answer("maxpool_backward", "wrong", "argmax unravelled as (a % k, a // k): row/col swapped")
def maxpool_backward_swap(dout, x, kernel_size, stride):
    return _mpb_loop(dout, x, kernel_size, stride, swap=True)


@answer("maxpool_backward", "wrong", "spreads the gradient evenly (average-pool backward)")
def maxpool_backward_avg(dout, x, kernel_size, stride):
    return _mpb_loop(dout, x, kernel_size, stride, mode="avg")


@answer(
    "maxpool_backward",
    "correct",
    "ties routed to the last maximum: a tie convention (the library and PyTorch take the first), accepted as such",
)
def maxpool_backward_last(dout, x, kernel_size, stride):
    return _mpb_loop(dout, x, kernel_size, stride, mode="last")


@answer("maxpool_backward", "correct", "vectorised: argmax of a window view, np.add.at")
def maxpool_backward_addat(dout, x, kernel_size, stride):
    n, c, h, w = x.shape
    k, s = kernel_size, stride
    ho, wo = dout.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    a = win.reshape(n, c, ho, wo, k * k).argmax(axis=-1)
    yy = np.arange(ho)[:, None] * s + a // k
    zz = np.arange(wo)[None, :] * s + a % k
    dx = np.zeros_like(x)
    nn = np.arange(n)[:, None, None, None]
    cc = np.arange(c)[None, :, None, None]
    np.add.at(dx, (np.broadcast_to(nn, a.shape), np.broadcast_to(cc, a.shape), yy, zz), dout)
    return dx


# ---------------------------------------------------------------- maxpool_dx_by_hand
@answer("maxpool_dx_by_hand", "wrong", "overwrote instead of accumulating at the shared 9")
def maxpool_dx_by_hand_overwrite():
    dx = np.zeros((5, 5))
    dx[0, 2] = 2.0
    dx[4, 1] = 4.0
    dx[2, 3] = -1.0
    return dx


@answer("maxpool_dx_by_hand", "wrong", "read dout column-major (dout transposed)")
def maxpool_dx_by_hand_doutT():
    dx = np.zeros((5, 5))
    dx[0, 2] = 5.0
    dx[4, 1] = 2.0
    dx[2, 3] = -1.0
    return dx


@answer("maxpool_dx_by_hand", "wrong", "misread the bottom-right window's max as the 6")
def maxpool_dx_by_hand_misread():
    dx = np.zeros((5, 5))
    dx[0, 2] = 3.0
    dx[4, 1] = 4.0
    dx[4, 4] = -1.0
    return dx


@answer("maxpool_dx_by_hand", "wrong", "marked the max positions with counts, forgot dout")
def maxpool_dx_by_hand_counts():
    dx = np.zeros((5, 5))
    dx[0, 2] = 2.0
    dx[4, 1] = 1.0
    dx[2, 3] = 1.0
    return dx


@answer("maxpool_dx_by_hand", "correct", "computed with loops and argmax")
def maxpool_dx_by_hand_loop():
    x = np.array(
        [[1, 2, 9, 0, 3], [4, 0, 1, 2, 1], [0, 3, 2, 8, 0], [5, 1, 0, 4, 2], [0, 7, 1, 0, 6]], dtype=float
    )
    d = np.array([[1, 2], [4, -1]], dtype=float)
    dx = np.zeros((5, 5))
    for y in range(2):
        for z in range(2):
            a = np.argmax(x[2 * y : 2 * y + 3, 2 * z : 2 * z + 3])
            dx[2 * y + a // 3, 2 * z + a % 3] += d[y, z]
    return dx


# ---------------------------------------------------------------- lrn_window
@answer("lrn_window", "wrong", "size//2 on both sides (right only for odd size)")
def lrn_window_sym(c, C, size):
    return max(0, c - size // 2), min(C, c + size // 2 + 1)


@answer("lrn_window", "wrong", "hi off by one: forgot the +1 of an exclusive end")
def lrn_window_hi(c, C, size):
    return max(0, c - size // 2), min(C, c + (size - 1) // 2)


@answer("lrn_window", "wrong", "no clipping at the top channel")
def lrn_window_noclip(c, C, size):
    return max(0, c - size // 2), c + (size - 1) // 2 + 1


@answer("lrn_window", "wrong", "even size: extra channel on the wrong side")
def lrn_window_evenflip(c, C, size):
    return max(0, c - (size - 1) // 2), min(C, c + size // 2 + 1)


@answer("lrn_window", "wrong", "clipped hi at C - 1 (inclusive/exclusive mix)")
def lrn_window_cm1(c, C, size):
    return max(0, c - size // 2), min(C - 1, c + (size - 1) // 2 + 1)


@answer("lrn_window", "correct", "enumerates the channels in the window")
def lrn_window_enum(c, C, size):
    js = [j for j in range(C) if c - size // 2 <= j <= c + (size - 1) // 2]
    return js[0], js[-1] + 1


# ---------------------------------------------------------------- lrn_forward
def _lrnf(x, size, alpha, beta, k, lo_fn, hi_fn, sq=True):
    c = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(c):
        lo, hi = lo_fn(ch, c), hi_fn(ch, c)
        s = k + alpha * np.sum((x[:, lo:hi] ** 2) if sq else x[:, lo:hi], axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@answer("lrn_forward", "wrong", "alpha divided by size (PyTorch convention)")
def lrn_forward_alpha_n(x, size, alpha, beta, k):
    return _lrnf(
        x,
        size,
        alpha / size,
        beta,
        k,
        lambda ch, c: max(0, ch - size // 2),
        lambda ch, c: min(c, ch + (size - 1) // 2 + 1),
    )


@answer("lrn_forward", "wrong", "size//2 on both sides (right only for odd size)")
def lrn_forward_sym(x, size, alpha, beta, k):
    return _lrnf(
        x,
        size,
        alpha,
        beta,
        k,
        lambda ch, c: max(0, ch - size // 2),
        lambda ch, c: min(c, ch + size // 2 + 1),
    )


@answer(
    "lrn_forward", "wrong", "no max(0, ...): negative lo makes an empty/wrapped slice at the first channels"
)
def lrn_forward_negslice(x, size, alpha, beta, k):
    return _lrnf(
        x, size, alpha, beta, k, lambda ch, c: ch - size // 2, lambda ch, c: min(c, ch + (size - 1) // 2 + 1)
    )


@answer("lrn_forward", "wrong", "beta hard-coded to 0.75")
def lrn_forward_beta075(x, size, alpha, beta, k):
    return _lrnf(
        x,
        size,
        alpha,
        0.75,
        k,
        lambda ch, c: max(0, ch - size // 2),
        lambda ch, c: min(c, ch + (size - 1) // 2 + 1),
    )


@answer("lrn_forward", "wrong", "sums a_j instead of a_j squared")
def lrn_forward_nosq(x, size, alpha, beta, k):
    return _lrnf(
        np.abs(x),
        size,
        alpha,
        beta,
        k,
        lambda ch, c: max(0, ch - size // 2),
        lambda ch, c: min(c, ch + (size - 1) // 2 + 1),
        sq=False,
    ) * np.sign(x)


@answer("lrn_forward", "wrong", "normalises across the width axis (channels-last confusion)")
def lrn_forward_lastaxis(x, size, alpha, beta, k):
    xt = np.moveaxis(x, -1, 1)
    out = _lrnf(
        xt,
        size,
        alpha,
        beta,
        k,
        lambda ch, c: max(0, ch - size // 2),
        lambda ch, c: min(c, ch + (size - 1) // 2 + 1),
    )
    return np.moveaxis(out, 1, -1)


@answer("lrn_forward", "correct", "zero-padded channel axis + window view sum")
def lrn_forward_view(x, size, alpha, beta, k):
    lo, hi = size // 2, (size - 1) // 2
    sq = np.pad(x * x, ((0, 0), (lo, hi), (0, 0), (0, 0)))
    s = k + alpha * np.lib.stride_tricks.sliding_window_view(sq, size, axis=1).sum(axis=-1)
    return x * np.exp(-beta * np.log(s))


# ---------------------------------------------------------------- lrn_cross_derivative
@answer("lrn_cross_derivative", "wrong", "missing the factor 2 of d(a_j^2)")
def lrn_cross_derivative_no2(a_c, a_j, s_c, alpha, beta, k):
    return -alpha * beta * a_c * a_j * s_c ** (-beta - 1)


@answer("lrn_cross_derivative", "wrong", "exponent -beta instead of -beta-1")
def lrn_cross_derivative_exp(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_c * a_j * s_c ** (-beta)


@answer("lrn_cross_derivative", "wrong", "sign lost (positive)")
def lrn_cross_derivative_sign(a_c, a_j, s_c, alpha, beta, k):
    return 2 * alpha * beta * a_c * a_j * s_c ** (-beta - 1)


@answer("lrn_cross_derivative", "wrong", "a_j squared instead of a_c*a_j")
def lrn_cross_derivative_ajsq(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_j * a_j * s_c ** (-beta - 1)


@answer("lrn_cross_derivative", "wrong", "adds k again to s_c (thought s_c excludes k)")
def lrn_cross_derivative_k(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_c * a_j * (s_c + k) ** (-beta - 1)


@answer("lrn_cross_derivative", "correct", "chain rule as three factors")
def lrn_cross_derivative_chain(a_c, a_j, s_c, alpha, beta, k):
    db_ds = a_c * (-beta) * s_c ** (-beta) / s_c
    ds_daj = alpha * 2 * a_j
    return db_ds * ds_daj


# ---------------------------------------------------------------- lrn_backward
def _lrnb(
    dout, x, size, alpha, beta, k, direct_only=False, use_jwin=False, skip_self=False, exp=-1.0, fac=2.0
):
    c = x.shape[1]
    lo = [max(0, ch - size // 2) for ch in range(c)]
    hi = [min(c, ch + (size - 1) // 2 + 1) for ch in range(c)]
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(c)], axis=1)
    dx = dout * s**-beta
    if direct_only:
        return dx
    for ch in range(c):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta + exp)
        for j in range(lo[ch], hi[ch]):
            if skip_self and j == ch:
                continue
            if use_jwin:  # wrong: adds into channel ch using j's term (window of j, not transposed)
                tj = dout[:, j] * x[:, j] * s[:, j] ** (-beta + exp)
                dx[:, ch] -= fac * alpha * beta * x[:, ch] * tj
            else:
                dx[:, j] -= fac * alpha * beta * x[:, j] * t
    return dx


@answer("lrn_backward", "wrong", "direct term only (forgot the cross-channel term)")
def lrn_backward_direct(dout, x, size, alpha, beta, k):
    return _lrnb(dout, x, size, alpha, beta, k, direct_only=True)


@answer(
    "lrn_backward", "wrong", "sums over window(j) instead of {c: j in window(c)} (right only for odd size)"
)
def lrn_backward_jwin(dout, x, size, alpha, beta, k):
    return _lrnb(dout, x, size, alpha, beta, k, use_jwin=True)


@answer("lrn_backward", "wrong", "cross term skips c == j (j's own denominator)")
def lrn_backward_skipself(dout, x, size, alpha, beta, k):
    return _lrnb(dout, x, size, alpha, beta, k, skip_self=True)


@answer("lrn_backward", "wrong", "cross term exponent -beta instead of -beta-1")
def lrn_backward_exp(dout, x, size, alpha, beta, k):
    return _lrnb(dout, x, size, alpha, beta, k, exp=0.0)


@answer("lrn_backward", "wrong", "missing the factor 2")
def lrn_backward_no2(dout, x, size, alpha, beta, k):
    return _lrnb(dout, x, size, alpha, beta, k, fac=1.0)


@answer("lrn_backward", "correct", "explicit per-pixel Jacobian (C x C) times dout")
def lrn_backward_jac(dout, x, size, alpha, beta, k):
    n, c, h, w = x.shape
    a = np.moveaxis(x, 1, -1).reshape(-1, c)
    g = np.moveaxis(dout, 1, -1).reshape(-1, c)
    M = np.zeros((c, c))
    for ch in range(c):
        M[ch, max(0, ch - size // 2) : min(c, ch + (size - 1) // 2 + 1)] = 1.0
    s = k + alpha * (a * a) @ M.T
    J = (
        np.eye(c)[None] * (s**-beta)[:, :, None]
        - 2 * alpha * beta * (a * s ** (-beta - 1))[:, :, None] * M[None] * a[:, None, :]
    )
    dx = np.einsum("pc,pcj->pj", g, J)
    return np.moveaxis(dx.reshape(n, h, w, c), -1, 1)


# ---------------------------------------------------------------- softmax_by_hand
@answer("softmax_by_hand", "wrong", "forgot the -1 of the one-hot in dz")
def softmax_by_hand_noonehot():
    return np.log(8 / 3), np.array([1 / 8, 3 / 8, 4 / 8])


@answer("softmax_by_hand", "wrong", "label 1 read one-based (used the first logit)")
def softmax_by_hand_onebased():
    return np.log(8.0), np.array([1 / 8 - 1, 3 / 8, 4 / 8])


@answer("softmax_by_hand", "wrong", "loss sign flipped")
def softmax_by_hand_sign():
    return np.log(3 / 8), np.array([1 / 8, 3 / 8 - 1, 4 / 8])


@answer("softmax_by_hand", "wrong", "log10 instead of natural log")
def softmax_by_hand_log10():
    return np.log10(8 / 3), np.array([1 / 8, 3 / 8 - 1, 4 / 8])


@answer("softmax_by_hand", "correct", "computed with numpy, returned as a list")
def softmax_by_hand_np():
    z = np.log([1.0, 3.0, 4.0])
    p = np.exp(z) / np.exp(z).sum()
    return [float(-np.log(p[1])), p - np.eye(3)[1]]


# ---------------------------------------------------------------- softmax_cross_entropy
@answer("softmax_cross_entropy", "wrong", "no max subtraction (overflow on huge logits)")
def softmax_cross_entropy_nomax(logits, labels):
    n = logits.shape[0]
    with np.errstate(all="ignore"):
        e = np.exp(logits)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), labels]).mean()
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return loss, d / n


@answer("softmax_cross_entropy", "wrong", "sum over the batch instead of mean (loss and grad)")
def softmax_cross_entropy_sum(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return -lp[np.arange(n), labels].sum(), d


@answer("softmax_cross_entropy", "wrong", "gradient not divided by N (loss is the mean)")
def softmax_cross_entropy_gradN(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return -lp[np.arange(n), labels].mean(), d


@answer("softmax_cross_entropy", "wrong", "max subtracted per column (axis=0)")
def softmax_cross_entropy_axis0max(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=0, keepdims=True)
    with np.errstate(all="ignore"):
        lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return -lp[np.arange(n), labels].mean(), d / n


@answer("softmax_cross_entropy", "wrong", "log(softmax): log(0) on confident wrong predictions")
def softmax_cross_entropy_logsoftmax(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        loss = -np.log(p[np.arange(n), labels]).mean()
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return loss, d / n


@answer("softmax_cross_entropy", "wrong", "softmax over the batch axis")
def softmax_cross_entropy_axis0(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=0, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=0, keepdims=True))
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return -lp[np.arange(n), labels].mean(), d / n


@answer("softmax_cross_entropy", "correct", "np.logaddexp.reduce and a one-hot via np.eye")
def softmax_cross_entropy_lae(logits, labels):
    n, c = logits.shape
    lse = np.logaddexp.reduce(logits, axis=1)
    onehot = np.eye(c)[labels]
    loss = np.mean(lse - (logits * onehot).sum(axis=1))
    return loss, (np.exp(logits - lse[:, None]) - onehot) / n


# ---------------------------------------------------------------- dropout_scale
@answer("dropout_scale", "wrong", "p read as the keep probability: pytorch train 1/p")
def dropout_scale_keep(p, convention, train):
    if convention == "pytorch":
        return 1 / p if train else 1.0
    return 1.0 if train else 1 - p


@answer("dropout_scale", "wrong", "paper test scales by p instead of 1-p")
def dropout_scale_paper_p(p, convention, train):
    if convention == "pytorch":
        return 1 / (1 - p) if train else 1.0
    return 1.0 if train else p


@answer("dropout_scale", "wrong", "conventions swapped")
def dropout_scale_swapped(p, convention, train):
    if convention == "paper":
        return 1 / (1 - p) if train else 1.0
    return 1.0 if train else 1 - p


@answer("dropout_scale", "wrong", "pytorch train multiplies by (1-p) instead of dividing")
def dropout_scale_mul(p, convention, train):
    if convention == "pytorch":
        return (1 - p) if train else 1.0
    return 1.0 if train else 1 - p


@answer("dropout_scale", "correct", "dictionary lookup")
def dropout_scale_dict(p, convention, train):
    return {
        ("pytorch", True): 1 / (1 - p),
        ("pytorch", False): 1.0,
        ("paper", True): 1.0,
        ("paper", False): 1.0 - p,
    }[(convention, bool(train))]


# ---------------------------------------------------------------- dropout_forward
@answer("dropout_forward", "wrong", "mask read as True = drop")
def dropout_forward_invmask(x, mask, p, convention, train):
    m = ~mask.astype(bool)
    if convention == "pytorch":
        return x * m / (1 - p) if train else x.copy()
    return x * m if train else x * (1 - p)


@answer("dropout_forward", "wrong", "pytorch training multiplies by (1-p)")
def dropout_forward_mul(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask * (1 - p) if train else x.copy()
    return x * mask if train else x * (1 - p)


@answer("dropout_forward", "wrong", "paper test mode returns x unscaled")
def dropout_forward_papertest(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x.copy()
    return x * mask if train else x.copy()


@answer("dropout_forward", "wrong", "in place: multiplies x itself")
def dropout_forward_inplace(x, mask, p, convention, train):
    if train:
        x *= mask
        if convention == "pytorch":
            x /= 1 - p
    elif convention == "paper":
        x *= 1 - p
    return x


@answer("dropout_forward", "wrong", "test mode still applies the mask")
def dropout_forward_testmask(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x * mask
    return x * mask if train else x * mask * (1 - p)


@answer("dropout_forward", "correct", "np.where with a computed factor")
def dropout_forward_where(x, mask, p, convention, train):
    if not train:
        return x * (1.0 if convention == "pytorch" else 1.0 - p)
    f = 1.0 / (1.0 - p) if convention == "pytorch" else 1.0
    return np.where(mask, x * f, 0.0)


# ---------------------------------------------------------------- dropout_backward
@answer("dropout_backward", "wrong", "ignores the mask")
def dropout_backward_nomask(dout, mask, p, convention):
    return dout / (1 - p) if convention == "pytorch" else dout.copy()


@answer("dropout_backward", "wrong", "paper convention also divides by (1-p)")
def dropout_backward_paperdiv(dout, mask, p, convention):
    return dout * mask / (1 - p)


@answer("dropout_backward", "wrong", "pytorch convention forgets the 1/(1-p)")
def dropout_backward_noscale(dout, mask, p, convention):
    return dout * mask


@answer("dropout_backward", "wrong", "in place on dout")
def dropout_backward_inplace(dout, mask, p, convention):
    dout *= mask
    if convention == "pytorch":
        dout /= 1 - p
    return dout


@answer("dropout_backward", "correct", "np.where, scale chosen by a conditional expression")
def dropout_backward_where(dout, mask, p, convention):
    return np.where(mask, dout * (1 / (1 - p) if convention == "pytorch" else 1.0), 0.0)


# ---------------------------------------------------------------- sgd_terminal_velocity
@answer("sgd_terminal_velocity", "wrong", "sign: +lr*g/(1-mu)")
def sgd_terminal_velocity_sign(g, momentum, lr):
    return lr * g / (1 - momentum)


@answer("sgd_terminal_velocity", "wrong", "1/(1+mu) instead of 1/(1-mu)")
def sgd_terminal_velocity_plus(g, momentum, lr):
    return -lr * g / (1 + momentum)


@answer("sgd_terminal_velocity", "wrong", "forgot the learning rate (PyTorch's v)")
def sgd_terminal_velocity_nolr(g, momentum, lr):
    return -g / (1 - momentum)


@answer("sgd_terminal_velocity", "wrong", "geometric series started at mu^1")
def sgd_terminal_velocity_mu(g, momentum, lr):
    return -lr * g * momentum / (1 - momentum)


@answer("sgd_terminal_velocity", "correct", "iterates the update 20000 times")
def sgd_terminal_velocity_iter(g, momentum, lr):
    v = 0.0 * np.asarray(g, dtype=float)
    for _ in range(20000):
        v = momentum * v - lr * np.asarray(g, dtype=float)
    return v if np.ndim(g) else float(v)


# ---------------------------------------------------------------- sgd_momentum_paper
@answer("sgd_momentum_paper", "wrong", "PyTorch form (v = mu v + g + wd w; w -= lr v)")
def sgd_momentum_paper_pytorch(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v += g + weight_decay * w
    w -= lr * v


@answer("sgd_momentum_paper", "wrong", "weight decay not multiplied by lr")
def sgd_momentum_paper_wdnolr(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * w + lr * g
    w += v


@answer("sgd_momentum_paper", "wrong", "w updated with the old v before v is updated")
def sgd_momentum_paper_order(w, v, g, momentum, weight_decay, lr):
    w0 = w.copy()
    w += v
    v *= momentum
    v -= weight_decay * lr * w0 + lr * g


@answer("sgd_momentum_paper", "wrong", "rebinds names: nothing updated, nothing returned")
def sgd_momentum_paper_rebind(w, v, g, momentum, weight_decay, lr):
    v = momentum * v - weight_decay * lr * w - lr * g
    w = w + v


@answer("sgd_momentum_paper", "wrong", "weight decay sign flipped")
def sgd_momentum_paper_wdsign(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v += weight_decay * lr * w - lr * g
    w += v


@answer("sgd_momentum_paper", "correct", "returns new (w, v), inputs untouched")
def sgd_momentum_paper_return(w, v, g, momentum, weight_decay, lr):
    v2 = momentum * v - lr * (weight_decay * w + g)
    return w + v2, v2


@answer("sgd_momentum_paper", "correct", "in place with ufunc out=")
def sgd_momentum_paper_out(w, v, g, momentum, weight_decay, lr):
    step = lr * (g + weight_decay * w)
    np.multiply(v, momentum, out=v)
    np.subtract(v, step, out=v)
    np.add(w, v, out=w)


# ---------------------------------------------------------------- linear_dw_by_hand
@answer("linear_dw_by_hand", "wrong", "x.T @ dout: shape (2, 3)")
def linear_dw_by_hand_T():
    return np.array([[1.0, 0.0, 2.0], [3.0, -3.0, 3.0]])


@answer("linear_dw_by_hand", "wrong", "dout.T @ x.T (x transposed)")
def linear_dw_by_hand_xT():
    return np.array([[-1.0, 1.0], [6.0, -3.0], [4.0, -1.0]])


@answer("linear_dw_by_hand", "wrong", "only the first sample")
def linear_dw_by_hand_first():
    return np.array([[1.0, 2.0], [0.0, 0.0], [2.0, 4.0]])


@answer("linear_dw_by_hand", "wrong", "averaged over the batch")
def linear_dw_by_hand_mean():
    return np.array([[0.5, 1.5], [0.0, -1.5], [1.0, 1.5]])


@answer("linear_dw_by_hand", "correct", "sum of outer products")
def linear_dw_by_hand_outer():
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    d = np.array([[1.0, 0.0, 2.0], [-1.0, 3.0, 1.0]])
    return sum(np.outer(d[n], x[n]) for n in range(2))


# ---------------------------------------------------------------- linear_forward
@answer("linear_forward", "wrong", "bias forgotten")
def linear_forward_nobias(x, w, b):
    return x @ w.T


@answer("linear_forward", "wrong", "x @ w (assumed (in, out) layout)")
def linear_forward_layout(x, w, b):
    return x @ w + b


@answer("linear_forward", "wrong", "returns (out, N): w @ x.T + b[:, None]")
def linear_forward_colmajor(x, w, b):
    return w @ x.T + b[:, None]


@answer("linear_forward", "wrong", "adds only the first bias (index slip)")
def linear_forward_b0(x, w, b):
    return x @ w.T + b[0]


@answer("linear_forward", "wrong", "casts to float32")
def linear_forward_f32(x, w, b):
    return x.astype(np.float32) @ w.T.astype(np.float32) + b.astype(np.float32)


@answer("linear_forward", "correct", "einsum")
def linear_forward_einsum(x, w, b):
    return np.einsum("ni,oi->no", x, w) + b


@answer("linear_forward", "correct", "triple loop")
def linear_forward_loops(x, w, b):
    out = np.zeros((x.shape[0], w.shape[0]))
    for n in range(x.shape[0]):
        for o in range(w.shape[0]):
            out[n, o] = b[o] + sum(w[o, i] * x[n, i] for i in range(x.shape[1]))
    return out


# ---------------------------------------------------------------- linear_backward
@answer("linear_backward", "wrong", "dW = x.T @ dout (transposed, (in, out))")
def linear_backward_dwT(dout, x, w, b):
    return dout @ w, x.T @ dout, dout.sum(axis=0)


@answer("linear_backward", "wrong", "db = mean over the batch")
def linear_backward_dbmean(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.mean(axis=0)


@answer("linear_backward", "wrong", "dW averaged over the batch")
def linear_backward_dwmean(dout, x, w, b):
    return dout @ w, dout.T @ x / x.shape[0], dout.sum(axis=0)


@answer("linear_backward", "wrong", "returns (dw, dx, db) in the wrong order")
def linear_backward_order(dout, x, w, b):
    return dout.T @ x, dout @ w, dout.sum(axis=0)


@answer("linear_backward", "wrong", "db summed over the wrong axis (per sample)")
def linear_backward_dbaxis(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.sum(axis=1)


@answer("linear_backward", "correct", "einsum for all three")
def linear_backward_einsum(dout, x, w, b):
    return np.einsum("no,oi->ni", dout, w), np.einsum("no,ni->oi", dout, x), np.einsum("no->o", dout)


# ---------------------------------------------------------------- relu_forward
@answer("relu_forward", "wrong", "in place: np.maximum(x, 0, out=x)")
def relu_forward_inplace(x):
    return np.maximum(x, 0, out=x)


@answer("relu_forward", "wrong", "abs(x)")
def relu_forward_abs(x):
    return np.abs(x)


@answer("relu_forward", "wrong", "clip to [0, 1]")
def relu_forward_clip(x):
    return np.clip(x, 0, 1)


@answer("relu_forward", "wrong", "integer dtype")
def relu_forward_int(x):
    return np.maximum(x, 0).astype(int)


@answer("relu_forward", "wrong", "leaky slope 0.01")
def relu_forward_leaky(x):
    return np.where(x > 0, x, 0.01 * x)


@answer("relu_forward", "correct", "(x + |x|) / 2")
def relu_forward_abs2(x):
    return (x + np.abs(x)) / 2


# ---------------------------------------------------------------- relu_backward
@answer("relu_backward", "wrong", "masks with dout > 0 instead of x > 0")
def relu_backward_doutmask(dout, x):
    return dout * (dout > 0)


@answer("relu_backward", "wrong", "x >= 0: passes the gradient at the kink")
def relu_backward_ge(dout, x):
    return dout * (x >= 0)


@answer("relu_backward", "wrong", "returns the mask only, forgot dout")
def relu_backward_mask(dout, x):
    return (x > 0).astype(float)


@answer("relu_backward", "wrong", "in place on dout")
def relu_backward_inplace(dout, x):
    dout[x <= 0] = 0
    return dout


@answer("relu_backward", "wrong", "multiplies by relu(x) instead of the indicator")
def relu_backward_relux(dout, x):
    return dout * np.maximum(x, 0)


@answer("relu_backward", "correct", "np.where")
def relu_backward_where(dout, x):
    return np.where(x > 0, dout, 0.0)


# ---------------------------------------------------------------- relu_derivative
@answer("relu_derivative", "wrong", "returns relu(x) itself")
def relu_derivative_relu(x):
    return float(max(x, 0))


@answer("relu_derivative", "wrong", "sign(x): -1 for negatives")
def relu_derivative_sign(x):
    return float(np.sign(x))


@answer("relu_derivative", "wrong", "leaky: 0.01 for negatives")
def relu_derivative_leaky(x):
    return 1.0 if x > 0 else 0.01


@answer("relu_derivative", "correct", "heaviside")
def relu_derivative_heaviside(x):
    return float(np.heaviside(x, 0.0))


# ---------------------------------------------------------------- batchnorm_forward
@answer("batchnorm_forward", "wrong", "unbiased variance (ddof=1)")
def batchnorm_forward_ddof(x, gamma, beta, eps):
    return (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) * gamma + beta


@answer("batchnorm_forward", "wrong", "normalises each sample (axis=1, layer norm)")
def batchnorm_forward_axis1(x, gamma, beta, eps):
    return (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps) * gamma + beta


@answer("batchnorm_forward", "wrong", "eps outside the sqrt")
def batchnorm_forward_epsout(x, gamma, beta, eps):
    return (x - x.mean(0)) / (np.sqrt(x.var(0)) + eps) * gamma + beta


@answer("batchnorm_forward", "wrong", "gamma and beta swapped")
def batchnorm_forward_swap(x, gamma, beta, eps):
    return (x - x.mean(0)) / np.sqrt(x.var(0) + eps) * beta + gamma


@answer("batchnorm_forward", "wrong", "in place: x -= mean; x /= std")
def batchnorm_forward_inplace(x, gamma, beta, eps):
    x -= x.mean(0)
    x /= np.sqrt(x.var(0) + eps)
    x *= gamma
    x += beta
    return x


@answer("batchnorm_forward", "wrong", "std of the batch without eps")
def batchnorm_forward_noeps(x, gamma, beta, eps):
    return (x - x.mean(0)) / x.std(0) * gamma + beta


@answer("batchnorm_forward", "correct", "explicit loops per feature")
def batchnorm_forward_loops(x, gamma, beta, eps):
    n, d = x.shape
    out = np.empty((n, d))
    for j in range(d):
        mu = sum(x[i, j] for i in range(n)) / n
        var = sum((x[i, j] - mu) ** 2 for i in range(n)) / n
        for i in range(n):
            out[i, j] = gamma[j] * (x[i, j] - mu) / (var + eps) ** 0.5 + beta[j]
    return out


# ---------------------------------------------------------------- batchnorm_backward
def _bn_parts(x, eps, ddof=0):
    inv = 1 / np.sqrt(x.var(0, ddof=ddof) + eps)
    return inv, (x - x.mean(0)) * inv


@answer("batchnorm_backward", "wrong", "treats mean and variance as constants")
def batchnorm_backward_const(dout, x, gamma, beta, eps):
    inv, xh = _bn_parts(x, eps)
    return dout * gamma * inv, (dout * xh).sum(0), dout.sum(0)


@answer("batchnorm_backward", "wrong", "forgot the mean's term (-sum g)")
def batchnorm_backward_nomean(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv, xh = _bn_parts(x, eps)
    dg = (dout * xh).sum(0)
    return gamma * inv / n * (n * dout - xh * dg), dg, dout.sum(0)


@answer("batchnorm_backward", "wrong", "dgamma and dbeta swapped")
def batchnorm_backward_swap(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv, xh = _bn_parts(x, eps)
    dg, db = (dout * xh).sum(0), dout.sum(0)
    return gamma * inv / n * (n * dout - db - xh * dg), db, dg


@answer("batchnorm_backward", "wrong", "unbiased variance (ddof=1) in the backward")
def batchnorm_backward_ddof(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv, xh = _bn_parts(x, eps, ddof=1)
    dg, db = (dout * xh).sum(0), dout.sum(0)
    return gamma * inv / n * (n * dout - db - xh * dg), dg, db


@answer("batchnorm_backward", "wrong", "dx missing the gamma factor")
def batchnorm_backward_nogamma(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv, xh = _bn_parts(x, eps)
    dg, db = (dout * xh).sum(0), dout.sum(0)
    return inv / n * (n * dout - db - xh * dg), dg, db


@answer("batchnorm_backward", "correct", "staged computation graph, node by node")
def batchnorm_backward_graph(dout, x, gamma, beta, eps):
    n = x.shape[0]
    mu = x.mean(0)
    xc = x - mu
    var = (xc**2).mean(0)
    std = np.sqrt(var + eps)
    xh = xc / std
    dbeta = dout.sum(0)
    dgamma = (dout * xh).sum(0)
    dxh = dout * gamma
    dxc = dxh / std
    dstd = -(dxh * xc).sum(0) / std**2
    dvar = dstd / (2 * std)
    dxc = dxc + 2 * xc / n * dvar
    dmu = -dxc.sum(0)
    return dxc + dmu / n, dgamma, dbeta


# ---------------------------------------------------------------- batchnorm_dx_formula
@answer("batchnorm_dx_formula", "wrong", "missing gamma")
def batchnorm_dx_formula_nogamma(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return inv_std / n * (n * g_i - sum_g - xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "wrong", "missing n on g_i")
def batchnorm_dx_formula_non(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std / n * (g_i - sum_g - xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "wrong", "xhat term with + sign")
def batchnorm_dx_formula_plus(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std / n * (n * g_i - sum_g + xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "wrong", "forgot the 1/N outside")
def batchnorm_dx_formula_noN(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std * (n * g_i - sum_g - xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "correct", "distributed: gamma/sigma (g - mean g - xhat mean(g xhat))")
def batchnorm_dx_formula_dist(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std * (g_i - sum_g / n - xhat_i * (sum_g_xhat / n))


# ---------------------------------------------------------------- winograd_filter_transform
@answer("winograd_filter_transform", "wrong", "no /2 in the middle entries")
def winograd_filter_transform_nohalf(g0, g1, g2):
    return np.array([g0, g0 + g1 + g2, g0 - g1 + g2, g2])


@answer("winograd_filter_transform", "wrong", "sign slip: (g0 - g1 - g2)/2")
def winograd_filter_transform_sign(g0, g1, g2):
    return np.array([g0, (g0 + g1 + g2) / 2, (g0 - g1 - g2) / 2, g2])


@answer("winograd_filter_transform", "wrong", "/3 (averaged) instead of /2")
def winograd_filter_transform_third(g0, g1, g2):
    return np.array([g0, (g0 + g1 + g2) / 3, (g0 - g1 + g2) / 3, g2])


@answer("winograd_filter_transform", "wrong", "filter reversed (convolution order): g2 first, g0 last")
def winograd_filter_transform_rev(g0, g1, g2):
    return np.array([g2, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g0])


@answer("winograd_filter_transform", "correct", "G matrix times g")
def winograd_filter_transform_G(g0, g1, g2):
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    return G @ np.array([g0, g1, g2], dtype=float)


@answer("winograd_filter_transform", "correct", "the other sign for the point 0")
def winograd_filter_transform_neg0(g0, g1, g2):
    return np.array([-g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2])


# ---------------------------------------------------------------- winograd_f23
@answer("winograd_f23", "wrong", "filter flipped (convolution, not correlation)")
def winograd_f23_flip(d, g):
    g0, g1, g2 = g[2], g[1], g[0]
    u = (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)
    m1, m2, m3, m4 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1], (d[2] - d[1]) * u[2], (d[1] - d[3]) * u[3]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


@answer("winograd_f23", "wrong", "y0 = m1 + m2 - m3 (sign slip)")
def winograd_f23_y0sign(d, g):
    u = (g[0], (g[0] + g[1] + g[2]) / 2, (g[0] - g[1] + g[2]) / 2, g[2])
    m1, m2, m3, m4 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1], (d[2] - d[1]) * u[2], (d[1] - d[3]) * u[3]
    return np.array([m1 + m2 - m3, m2 - m3 - m4])


@answer("winograd_f23", "wrong", "m4 = (d3 - d1) g2 (data transform sign)")
def winograd_f23_m4(d, g):
    u = (g[0], (g[0] + g[1] + g[2]) / 2, (g[0] - g[1] + g[2]) / 2, g[2])
    m1, m2, m3, m4 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1], (d[2] - d[1]) * u[2], (d[3] - d[1]) * u[3]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


@answer("winograd_f23", "wrong", "filter transform without the /2")
def winograd_f23_nohalf(d, g):
    u = (g[0], g[0] + g[1] + g[2], g[0] - g[1] + g[2], g[2])
    m1, m2, m3, m4 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1], (d[2] - d[1]) * u[2], (d[1] - d[3]) * u[3]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


@answer("winograd_f23", "wrong", "direct 6-multiplication correlation (ignores the 4-mult requirement)")
def winograd_f23_direct(d, g):
    return np.array([g[0] * d[0] + g[1] * d[1] + g[2] * d[2], g[0] * d[1] + g[1] * d[2] + g[2] * d[3]])


@answer("winograd_f23", "correct", "matrix form A^T[(G g) * (B^T d)]")
def winograd_f23_matrix(d, g):
    BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=float)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=float)
    return AT @ ((G @ np.asarray(g, dtype=float)) * (BT @ np.asarray(d, dtype=float)))


# ---------------------------------------------------------------- receptive_field_step
@answer("receptive_field_step", "wrong", "size + k - 1 (forgot the jump)")
def receptive_field_step_nojump(size, jump, start, k, s, p):
    return size + k - 1, jump * s, start - p * jump


@answer("receptive_field_step", "wrong", "updates jump first, then uses the new jump")
def receptive_field_step_order(size, jump, start, k, s, p):
    jump = jump * s
    return size + (k - 1) * jump, jump, start - p * jump


@answer("receptive_field_step", "wrong", "start - p (forgot the jump)")
def receptive_field_step_start(size, jump, start, k, s, p):
    return size + (k - 1) * jump, jump * s, start - p


@answer("receptive_field_step", "wrong", "returns (size, start, jump)")
def receptive_field_step_retorder(size, jump, start, k, s, p):
    return size + (k - 1) * jump, start - p * jump, jump * s


@answer("receptive_field_step", "wrong", "size grows by (k-1)*s instead of (k-1)*jump")
def receptive_field_step_s(size, jump, start, k, s, p):
    return size + (k - 1) * s, jump * s, start - p * jump


@answer("receptive_field_step", "correct", "from the first unit's first and last covered pixels")
def receptive_field_step_edges(size, jump, start, k, s, p):
    first = start - p * jump
    last = start + (k - 1 - p) * jump + size - 1
    return int(last - first + 1), int(jump * s), int(first)


# ---------------------------------------------------------------- receptive_field
@answer("receptive_field", "wrong", "initial size 0 instead of 1")
def receptive_field_size0(layers):
    size, jump, start = 0, 1, 0
    out = ([], [], [])
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p * jump
        for col, v in zip(out, (size, jump, start)):
            col.append(v)
    return tuple(np.array(c, dtype=float) for c in out)


@answer("receptive_field", "wrong", "returns only the last layer's numbers")
def receptive_field_last(layers):
    size, jump, start = 1, 1, 0
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p * jump
    return np.array([size], dtype=float), np.array([jump], dtype=float), np.array([start], dtype=float)


@answer("receptive_field", "wrong", "uses the updated jump for size and start")
def receptive_field_newjump(layers):
    size, jump, start = 1, 1, 0
    out = ([], [], [])
    for k, s, p in layers:
        jump = jump * s
        size, start = size + (k - 1) * jump, start - p * jump
        for col, v in zip(out, (size, jump, start)):
            col.append(v)
    return tuple(np.array(c, dtype=float) for c in out)


@answer("receptive_field", "wrong", "start tracks the field centre, not its first pixel")
def receptive_field_centre(layers):
    size, jump, start = 1, 1, 0.0
    out = ([], [], [])
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start + ((k - 1) / 2 - p) * jump
        for col, v in zip(out, (size, jump, start)):
            col.append(v)
    return tuple(np.array(c, dtype=float) for c in out)


@answer("receptive_field", "wrong", "start - p (padding not scaled by the jump)")
def receptive_field_startp(layers):
    size, jump, start = 1, 1, 0
    out = ([], [], [])
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p
        for col, v in zip(out, (size, jump, start)):
            col.append(v)
    return tuple(np.array(c, dtype=float) for c in out)


@answer("receptive_field", "correct", "closed form with cumulative products")
def receptive_field_cumprod(layers):
    L = np.array(layers, dtype=float).reshape(-1, 3)
    k, s, p = L[:, 0], L[:, 1], L[:, 2]
    jin = np.concatenate([[1.0], np.cumprod(s)[:-1]])
    return 1 + np.cumsum((k - 1) * jin), np.cumprod(s), -np.cumsum(p * jin)
