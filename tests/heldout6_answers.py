# ruff: noqa
"""A sixth held-out class of student answers for the exercise grader: 135 wrong answers (one mistake each) and 87
correct ones over all 37 exercises, by students careless with arrays rather than formulas (views and aliasing,
outputs reused across calls, inputs changed by accident, C-contiguity assumed, dtype and broadcasting accidents)
and correct answers in unusual layouts (Fortran order, einsum, reduce, recursion), written by a tester who had not
read the grader, its mistake catalogue or the earlier classes, each checked against the tester's own float64 loops
before grading. rf_ints (whole numbers returned as ints) passes by design, as in class 4: moved to the correct
answers; so is df_alias (the input itself returned in eval, as PyTorch's dropout does: the report passes it up to
a convention and says what it means). Judgement: tests/heldout6_judgement.md."""

from dataclasses import dataclass
from typing import Callable
import functools
import math

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


def _os(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def _pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


# ---------------------------------------------------------------- output_size
@answer("output_size", "correct", "math.floor of the true quotient")
def os_floor(n, kernel_size, stride, padding):
    return int(math.floor((n + 2 * padding - kernel_size) / stride)) + 1


@answer("output_size", "correct", "counts window starts by recursion")
def os_recursive(n, kernel_size, stride, padding):
    def count(start):
        return 0 if start + kernel_size > n + 2 * padding else 1 + count(start + stride)

    return count(0)


@answer("output_size", "wrong", "np.floor returns a numpy float, not an int")
def os_npfloat(n, kernel_size, stride, padding):
    return np.floor((n + 2 * padding - kernel_size) / stride) + 1


@answer("output_size", "wrong", "round instead of floor (54.25 ok, 2.5 -> 2 banker's but 2.75 -> 3)")
def os_round(n, kernel_size, stride, padding):
    return int(round((n + 2 * padding - kernel_size) / stride)) + 1


@answer("output_size", "wrong", "padding counted on one side only")
def os_onepad(n, kernel_size, stride, padding):
    return (n + padding - kernel_size) // stride + 1


# ---------------------------------------------------------------- output_size_by_hand
@answer("output_size_by_hand", "correct", "plain ints")
def osh_ok():
    return 3, 3, 55


@answer("output_size_by_hand", "correct", "a generator turned into a tuple")
def osh_gen():
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in [(7, 3, 2, 0), (6, 3, 2, 1), (227, 11, 4, 0)])


@answer("output_size_by_hand", "wrong", "second case ceil'd: 4")
def osh_ceil():
    return 3, 4, 55


@answer("output_size_by_hand", "wrong", "padding forgotten in the second case")
def osh_nopad():
    return 3, 2, 55


# ---------------------------------------------------------------- conv_out_by_hand
@answer("conv_out_by_hand", "correct", "typed")
def cob_ok():
    return np.array([[4.0, -1.0], [2.0, 6.0]])


@answer("conv_out_by_hand", "correct", "typed as ints in a Fortran array")
def cob_fortran():
    return np.asfortranarray(np.array([[4, -1], [2, 6]], dtype=float))


@answer("conv_out_by_hand", "wrong", "flipped kernel (true convolution)")
def cob_flip():
    return np.array([[0.0, 3.0], [0.0, 1.0]])  # w flipped = [[-1,0],[2,1]]


@answer("conv_out_by_hand", "wrong", "transposed result")
def cob_T():
    return np.array([[4.0, 2.0], [-1.0, 6.0]])


# ---------------------------------------------------------------- conv_forward
@answer("conv_forward", "correct", "loops, float32 kept for float32 input")
def cf_loops(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _pad(x, padding)
    ho, wo = _os(h, k, stride, padding), _os(wd, k, stride, padding)
    out = np.zeros((n, f, ho, wo), dtype=np.result_type(x, w, b))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    out[i, o, y, z] = (
                        np.sum(xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] * w[o])
                        + b[o]
                    )
    return out


@answer("conv_forward", "correct", "sliding_window_view + einsum(optimize=True), Fortran-ordered result")
def cf_einsum(x, w, b, stride, padding):
    k = w.shape[2]
    xp = _pad(x, padding)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("ncyzij,fcij->nfyz", win, w, optimize=True) + b[None, :, None, None]
    return np.asfortranarray(out)


@answer("conv_forward", "correct", "loop over the k*k kernel offsets only, functools.reduce to sum")
def cf_offsets(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _pad(x, padding)
    ho, wo = _os(h, k, stride, padding), _os(wd, k, stride, padding)
    terms = (
        np.einsum(
            "nchw,fc->nfhw",
            xp[:, :, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride],
            w[:, :, i, j],
        )
        for i in range(k)
        for j in range(k)
    )
    return functools.reduce(np.add, terms) + b.reshape(1, -1, 1, 1)


_CF_OUT = {}


@answer("conv_forward", "wrong", "output preallocated at module level per shape and reused across calls")
def cf_module_buf(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _pad(x, padding)
    ho, wo = _os(h, k, stride, padding), _os(wd, k, stride, padding)
    key = (n, f, ho, wo)
    if key not in _CF_OUT:
        _CF_OUT[key] = np.zeros(key)
    out = _CF_OUT[key]
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    out[i, o, y, z] = (
                        np.sum(xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] * w[o])
                        + b[o]
                    )
    return out


@answer("conv_forward", "wrong", "bias added with out += b (broadcasts over W, not F)")
def cf_bias_bcast(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _pad(x, padding)
    ho, wo = _os(h, k, stride, padding), _os(wd, k, stride, padding)
    out = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    out[i, o, y, z] = np.sum(
                        xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] * w[o]
                    )
    out += b
    return out


@answer("conv_forward", "wrong", "np.empty output, loop over z stops one column short")
def cf_empty_short(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _pad(x, padding)
    ho, wo = _os(h, k, stride, padding), _os(wd, k, stride, padding)
    out = np.empty((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo - 1):
                    out[i, o, y, z] = (
                        np.sum(xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] * w[o])
                        + b[o]
                    )
    return out


@answer("conv_forward", "wrong", "output width computed from H (square inputs only)")
def cf_square(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = _pad(x, padding)
    ho = _os(h, k, stride, padding)
    out = np.zeros((n, f, ho, ho))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(ho):
                    out[i, o, y, z] = (
                        np.sum(xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] * w[o])
                        + b[o]
                    )
    return out


@answer(
    "conv_forward", "wrong", "skips np.pad when padding == 0 (xp = x) and multiplies the window view in place"
)
def cf_mutates(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = x if padding == 0 else _pad(x, padding)
    ho, wo = _os(h, k, stride, padding), _os(wd, k, stride, padding)
    out = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    window = xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k]
                    window *= w[o]
                    out[i, o, y, z] = window.sum() + b[o]
    return out


# ---------------------------------------------------------------- conv_dw_by_hand
@answer("conv_dw_by_hand", "correct", "typed")
def cdw_ok():
    return np.array([[0.0, 1.0], [4.0, 0.0]])


@answer("conv_dw_by_hand", "correct", "computed with a tiny loop")
def cdw_loop():
    x = np.array([[1, 2, 0], [0, 1, 3], [2, 0, 1]], float)
    d = np.array([[1, 0], [2, -1]], float)
    return np.array([[np.sum(d * x[i : i + 2, j : j + 2]) for j in range(2)] for i in range(2)])


@answer("conv_dw_by_hand", "wrong", "transposed")
def cdw_T():
    return np.array([[0.0, 4.0], [1.0, 0.0]])


@answer("conv_dw_by_hand", "wrong", "dout flipped (convolution instead of correlation)")
def cdw_flip():
    return np.array([[4.0, 1.0], [2.0, 6.0]])  # dout flipped before correlating


# ---------------------------------------------------------------- conv_backward
def _cb_core(dout, x, w, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = _pad(x, p)
    dxp, dw = np.zeros_like(xp, dtype=float), np.zeros(w.shape)
    for i in range(n):
        for o in range(f):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    g = dout[i, o, y, z]
                    dw[o] += g * xp[i, :, ys : ys + k, zs : zs + k]
                    dxp[i, :, ys : ys + k, zs : zs + k] += g * w[o]
    return dxp, dw


@answer("conv_backward", "correct", "loops, crop returned as a copy")
def cb_loops(dout, x, w, b, stride, padding):
    p = padding
    h, wd = x.shape[2:]
    dxp, dw = _cb_core(dout, x, w, stride, padding)
    return dxp[:, :, p : p + h, p : p + wd].copy(), dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "correct", "einsum(optimize=True) over sliding windows; np.add.at for dx")
def cb_einsum(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = _pad(x, p)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    ho, wo = dout.shape[2:]
    win = win[:, :, :ho, :wo]
    dw = np.einsum("nfyz,ncyzij->fcij", dout, win, optimize=True)
    dxp = np.zeros(xp.shape)
    contrib = np.einsum("nfyz,fcij->ncyzij", dout, w, optimize=True)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride] += contrib[:, :, :, :, i, j]
    return dxp[:, :, p : p + h, p : p + wd], dw, np.einsum("nfyz->f", dout)


@answer("conv_backward", "correct", "Fortran-ordered outputs, generator-built db")
def cb_fortran(dout, x, w, b, stride, padding):
    p = padding
    h, wd = x.shape[2:]
    dxp, dw = _cb_core(dout, x, w, stride, padding)
    db = np.fromiter((dout[:, o].sum() for o in range(w.shape[0])), dtype=float, count=w.shape[0])
    return np.asfortranarray(dxp[:, :, p : p + h, p : p + wd]), np.asfortranarray(dw), db


@answer("conv_backward", "wrong", "overlapping windows assigned with = instead of +=")
def cb_assign(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = _pad(x, p)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(n):
        for o in range(f):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    g = dout[i, o, y, z]
                    dw[o] += g * xp[i, :, ys : ys + k, zs : zs + k]
                    dxp[i, :, ys : ys + k, zs : zs + k] = g * w[o]
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "db sums over (2, 3) only: batch axis forgotten")
def cb_db_axis(dout, x, w, b, stride, padding):
    p = padding
    h, wd = x.shape[2:]
    dxp, dw = _cb_core(dout, x, w, stride, padding)
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(2, 3))


_CB_DW = {}


@answer("conv_backward", "wrong", "dw buffer at module level, never reset between calls")
def cb_module_dw(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = _pad(x, p)
    dxp = np.zeros_like(xp)
    dw = _CB_DW.setdefault(w.shape, np.zeros(w.shape))
    for i in range(n):
        for o in range(f):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    g = dout[i, o, y, z]
                    dw[o] += g * xp[i, :, ys : ys + k, zs : zs + k]
                    dxp[i, :, ys : ys + k, zs : zs + k] += g * w[o]
    return dxp[:, :, p : p + h, p : p + wd], dw.copy(), dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "crop dxp[:, :, p:h, p:wd] (forgot + p on the end)")
def cb_crop(dout, x, w, b, stride, padding):
    p = padding
    h, wd = x.shape[2:]
    dxp, dw = _cb_core(dout, x, w, stride, padding)
    return dxp[:, :, p:h, p:wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "early return inside the batch loop (only image 0)")
def cb_early(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = _pad(x, p)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(n):
        for o in range(f):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    g = dout[i, o, y, z]
                    dw[o] += g * xp[i, :, ys : ys + k, zs : zs + k]
                    dxp[i, :, ys : ys + k, zs : zs + k] += g * w[o]
        return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3))


# ---------------------------------------------------------------- im2col_shape
@answer("im2col_shape", "correct", "ints")
def ims_ok(N, C, H, W, k, s, p):
    return N * _os(H, k, s, p) * _os(W, k, s, p), C * k * k


@answer("im2col_shape", "correct", "via np.prod cast to int")
def ims_prod(N, C, H, W, k, s, p):
    return int(np.prod([N, _os(H, k, s, p), _os(W, k, s, p)])), int(np.prod([C, k, k]))


@answer("im2col_shape", "wrong", "true division: floats and no floor")
def ims_float(N, C, H, W, k, s, p):
    return N * ((H + 2 * p - k) / s + 1) * ((W + 2 * p - k) / s + 1), C * k * k


@answer("im2col_shape", "wrong", "rows and cols swapped")
def ims_swap(N, C, H, W, k, s, p):
    return C * k * k, N * _os(H, k, s, p) * _os(W, k, s, p)


@answer("im2col_shape", "wrong", "uses H for both output sizes (square only)")
def ims_square(N, C, H, W, k, s, p):
    return N * _os(H, k, s, p) ** 2, C * k * k


# ---------------------------------------------------------------- im2col
@answer("im2col", "correct", "loops, rows appended then stacked")
def i2c_loops(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, p = kernel_size, padding
    xp = _pad(x, p)
    rows = [
        xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k].reshape(-1)
        for i in range(n)
        for y in range(_os(h, k, stride, p))
        for z in range(_os(w, k, stride, p))
    ]
    return np.array(rows)


@answer("im2col", "correct", "sliding_window_view, result Fortran-ordered copy")
def i2c_swv(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, s, p = kernel_size, stride, padding
    ho, wo = _os(h, k, s, p), _os(w, k, s, p)
    win = np.lib.stride_tricks.sliding_window_view(_pad(x, p), (k, k), axis=(2, 3))[:, :, ::s, ::s][
        :, :, :ho, :wo
    ]
    return np.asfortranarray(win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k))


@answer("im2col", "correct", "np.fromiter over a generator of pixels")
def i2c_fromiter(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, s, p = kernel_size, stride, padding
    ho, wo = _os(h, k, s, p), _os(w, k, s, p)
    xp = _pad(x, p)
    gen = (
        xp[i, ch, y * s + a, z * s + bb]
        for i in range(n)
        for y in range(ho)
        for z in range(wo)
        for ch in range(c)
        for a in range(k)
        for bb in range(k)
    )
    return np.fromiter(gen, dtype=xp.dtype, count=n * ho * wo * c * k * k).reshape(n * ho * wo, c * k * k)


@answer("im2col", "wrong", "rows in (y, z, n) order: batch innermost (right only for N = 1)")
def i2c_roworder(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, p = kernel_size, padding
    xp = _pad(x, p)
    rows = [
        xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k].reshape(-1)
        for y in range(_os(h, k, stride, p))
        for z in range(_os(w, k, stride, p))
        for i in range(n)
    ]
    return np.array(rows)


@answer(
    "im2col", "wrong", "columns in (i, j, c) order: window transposed channel-last (right only for C = 1)"
)
def i2c_colorder(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, p = kernel_size, padding
    xp = _pad(x, p)
    rows = [
        xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k].transpose(1, 2, 0).reshape(-1)
        for i in range(n)
        for y in range(_os(h, k, stride, p))
        for z in range(_os(w, k, stride, p))
    ]
    return np.array(rows)


@answer("im2col", "wrong", "output size computed without the padding")
def i2c_nopad_size(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, p = kernel_size, padding
    xp = _pad(x, p)
    rows = [
        xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k].reshape(-1)
        for i in range(n)
        for y in range(_os(h, k, stride, 0))
        for z in range(_os(w, k, stride, 0))
    ]
    return np.array(rows)


@answer("im2col", "wrong", "window start y*k instead of y*stride")
def i2c_stride_k(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, p = kernel_size, padding
    xp = _pad(x, p)
    rows = []
    for i in range(n):
        for y in range(_os(h, k, stride, p)):
            for z in range(_os(w, k, stride, p)):
                win = xp[i, :, y * k : y * k + k, z * k : z * k + k]
                if win.shape[1:] != (k, k):
                    win = xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k]
                rows.append(win.reshape(-1))
    return np.array(rows)


@answer("im2col", "wrong", "windows sliced one short (k - 1), zero-padded row to length")
def i2c_short(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, p = kernel_size, padding
    xp = _pad(x, p)
    out = np.zeros((n * _os(h, k, stride, p) * _os(w, k, stride, p), c * k * k))
    r = 0
    for i in range(n):
        for y in range(_os(h, k, stride, p)):
            for z in range(_os(w, k, stride, p)):
                win = np.zeros((c, k, k))
                win[:, : k - 1, : k - 1] = xp[
                    i, :, y * stride : y * stride + k - 1, z * stride : z * stride + k - 1
                ]
                out[r] = win.reshape(-1)
                r += 1
    return out


# ---------------------------------------------------------------- col2im_count_by_hand
@answer("col2im_count_by_hand", "correct", "outer product")
def cc_outer():
    a = np.array([1.0, 1.0, 2.0, 1.0, 1.0])
    return np.outer(a, a)


@answer("col2im_count_by_hand", "correct", "counted by a tiny loop")
def cc_loop():
    c = np.zeros((5, 5))
    for y in range(2):
        for z in range(2):
            c[2 * y : 2 * y + 3, 2 * z : 2 * z + 3] += 1
    return c


@answer("col2im_count_by_hand", "wrong", "= instead of += (all ones)")
def cc_ones():
    c = np.zeros((5, 5))
    for y in range(2):
        for z in range(2):
            c[2 * y : 2 * y + 3, 2 * z : 2 * z + 3] = 1
    return c


@answer("col2im_count_by_hand", "wrong", "outer SUM instead of outer product")
def cc_outersum():
    a = np.array([1.0, 1.0, 2.0, 1.0, 1.0])
    return a[:, None] + a[None, :] - 1


@answer("col2im_count_by_hand", "wrong", "window start every 1 (stride forgotten)")
def cc_stride1():
    c = np.zeros((5, 5))
    for y in range(3):
        for z in range(3):
            c[y : y + 3, z : z + 3] += 1
    return c


# ---------------------------------------------------------------- col2im
@answer("col2im", "correct", "loops")
def c2i_loops(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, p = kernel_size, padding
    ho, wo = _os(h, k, stride, p), _os(w, k, stride, p)
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] += cols[r].reshape(
                    c, k, k
                )
                r += 1
    return dxp[:, :, p : p + h, p : p + w]


@answer("col2im", "correct", "np.add.at with index arrays")
def c2i_addat(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, s, p = kernel_size, stride, padding
    ho, wo = _os(h, k, s, p), _os(w, k, s, p)
    ii, yy, zz, cc, aa, bb = np.meshgrid(
        np.arange(n), np.arange(ho), np.arange(wo), np.arange(c), np.arange(k), np.arange(k), indexing="ij"
    )
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=cols.dtype)
    np.add.at(dxp, (ii.ravel(), cc.ravel(), (yy * s + aa).ravel(), (zz * s + bb).ravel()), cols.ravel())
    return dxp[:, :, p : p + h, p : p + w].copy()


@answer("col2im", "correct", "kernel-offset loop, Fortran output")
def c2i_offsets(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, s, p = kernel_size, stride, padding
    ho, wo = _os(h, k, s, p), _os(w, k, s, p)
    blocks = cols.reshape(n, ho, wo, c, k, k)
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + s * ho : s, j : j + s * wo : s] += blocks[..., i, j].transpose(0, 3, 1, 2)
    return np.asfortranarray(dxp[:, :, p : p + h, p : p + w])


@answer("col2im", "wrong", "= instead of += on overlapping windows")
def c2i_assign(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, p = kernel_size, padding
    ho, wo = _os(h, k, stride, p), _os(w, k, stride, p)
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] = cols[r].reshape(c, k, k)
                r += 1
    return dxp[:, :, p : p + h, p : p + w]


@answer("col2im", "wrong", "np.empty accumulator (garbage where += adds to it)")
def c2i_empty(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, p = kernel_size, padding
    ho, wo = _os(h, k, stride, p), _os(w, k, stride, p)
    dxp = np.empty((n, c, h + 2 * p, w + 2 * p))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] += cols[r].reshape(
                    c, k, k
                )
                r += 1
    return dxp[:, :, p : p + h, p : p + w]


_C2I_BUF = {}


@answer("col2im", "wrong", "accumulator at module level, zeroed only when first created")
def c2i_module(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, p = kernel_size, padding
    ho, wo = _os(h, k, stride, p), _os(w, k, stride, p)
    key = (tuple(x_shape), k, stride, p)
    dxp = _C2I_BUF.setdefault(key, np.zeros((n, c, h + 2 * p, w + 2 * p)))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] += cols[r].reshape(
                    c, k, k
                )
                r += 1
    return dxp[:, :, p : p + h, p : p + w]


@answer("col2im", "wrong", "row reshaped to (k, k, c) then transposed (channel order wrong for C > 1)")
def c2i_kkc(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, p = kernel_size, padding
    ho, wo = _os(h, k, stride, p), _os(w, k, stride, p)
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] += (
                    cols[r].reshape(k, k, c).transpose(2, 0, 1)
                )
                r += 1
    return dxp[:, :, p : p + h, p : p + w]


@answer("col2im", "wrong", "padding not cropped off")
def c2i_nocrop(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, p = kernel_size, padding
    ho, wo = _os(h, k, stride, p), _os(w, k, stride, p)
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] += cols[r].reshape(
                    c, k, k
                )
                r += 1
    return dxp


# ---------------------------------------------------------------- maxpool_forward
@answer("maxpool_forward", "correct", "loops")
def mpf_loops(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = _os(h, k, stride, 0), _os(w, k, stride, 0)
    out = np.zeros((n, c, ho, wo), dtype=x.dtype)
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = x[:, :, y * stride : y * stride + k, z * stride : z * stride + k].max(
                axis=(2, 3)
            )
    return out


@answer("maxpool_forward", "correct", "functools.reduce(np.maximum) over kernel offsets")
def mpf_reduce(x, kernel_size, stride):
    n, c, h, w = x.shape
    k, s = kernel_size, stride
    ho, wo = _os(h, k, s, 0), _os(w, k, s, 0)
    return functools.reduce(
        np.maximum,
        (
            x[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s]
            for i in range(k)
            for j in range(k)
        ),
    )


@answer("maxpool_forward", "correct", "sliding_window_view max, Fortran copy")
def mpf_swv(x, kernel_size, stride):
    win = np.lib.stride_tricks.sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))[
        :, :, ::stride, ::stride
    ]
    return np.asfortranarray(win.max(axis=(4, 5)))


@answer("maxpool_forward", "wrong", "np.max(a, b) where np.maximum(a, b) is meant")
def mpf_npmax(x, kernel_size, stride):
    n, c, h, w = x.shape
    k, s = kernel_size, stride
    ho, wo = _os(h, k, s, 0), _os(w, k, s, 0)
    acc = x[:, :, 0 : s * (ho - 1) + 1 : s, 0 : s * (wo - 1) + 1 : s]
    for i in range(k):
        for j in range(k):
            acc = np.max(acc, x[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s])
    return acc


@answer("maxpool_forward", "wrong", "window slice y*s : y*s + k - 1 (one short)")
def mpf_short(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = _os(h, k, stride, 0), _os(w, k, stride, 0)
    out = np.zeros((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = x[:, :, y * stride : y * stride + k - 1, z * stride : z * stride + k - 1].max(
                axis=(2, 3)
            )
    return out


@answer("maxpool_forward", "wrong", "x.view() then .shape = (N*C, H, W): needs a contiguous x")
def mpf_view(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    xv = x.view()
    xv.shape = (n * c, h, w)
    ho, wo = _os(h, k, stride, 0), _os(w, k, stride, 0)
    out = np.zeros((n * c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, y, z] = xv[:, y * stride : y * stride + k, z * stride : z * stride + k].max(axis=(1, 2))
    return out.reshape(n, c, ho, wo)


@answer("maxpool_forward", "wrong", "max over axis (1, 2, 3) of the window: channels mixed")
def mpf_axis(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = _os(h, k, stride, 0), _os(w, k, stride, 0)
    out = np.zeros((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = x[:, :, y * stride : y * stride + k, z * stride : z * stride + k].max(
                axis=(1, 2, 3)
            )[:, None]
    return out


@answer(
    "maxpool_forward",
    "wrong",
    "np.zeros_like(x[..., ::stride, ::stride]) sized output: wrong shape when (H-k)//s+1 != ceil(H/s)",
)
def mpf_shape(x, kernel_size, stride):
    k = kernel_size
    out = np.zeros_like(x[:, :, ::stride, ::stride])
    ho, wo = out.shape[2:]
    for y in range(ho):
        for z in range(wo):
            win = x[:, :, y * stride : y * stride + k, z * stride : z * stride + k]
            out[:, :, y, z] = win.max(axis=(2, 3))
    return out


# ---------------------------------------------------------------- maxpool_dx_by_hand
@answer("maxpool_dx_by_hand", "correct", "typed")
def mdx_ok():
    dx = np.zeros((5, 5))
    dx[0, 2] = 3.0
    dx[4, 1] = 4.0
    dx[2, 3] = -1.0
    return dx


@answer("maxpool_dx_by_hand", "correct", "computed by a tiny loop")
def mdx_loop():
    x = np.array([[1, 2, 9, 0, 3], [4, 0, 1, 2, 1], [0, 3, 2, 8, 0], [5, 1, 0, 4, 2], [0, 7, 1, 0, 6]], float)
    d = np.array([[1, 2], [4, -1]], float)
    dx = np.zeros((5, 5))
    for y in range(2):
        for z in range(2):
            a = np.argmax(x[2 * y : 2 * y + 3, 2 * z : 2 * z + 3])
            dx[2 * y + a // 3, 2 * z + a % 3] += d[y, z]
    return dx


@answer("maxpool_dx_by_hand", "wrong", "= instead of += for the shared 9")
def mdx_assign():
    dx = np.zeros((5, 5))
    dx[0, 2] = 2.0
    dx[4, 1] = 4.0
    dx[2, 3] = -1.0
    return dx


@answer("maxpool_dx_by_hand", "wrong", "np.empty then set only the routed entries")
def mdx_empty():
    dx = np.empty((5, 5))
    dx.fill(np.nan)
    dx[0, 2] = 3.0
    dx[4, 1] = 4.0
    dx[2, 3] = -1.0
    return dx


# ---------------------------------------------------------------- maxpool_backward
@answer("maxpool_backward", "correct", "loops, first max")
def mpb_loops(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros(x.shape)
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    a = int(np.argmax(x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]))
                    dx[i, ch, y * stride + a // k, z * stride + a % k] += dout[i, ch, y, z]
    return dx


@answer(
    "maxpool_backward", "correct", "vectorised: argmax per window over a reshaped sliding view, np.add.at"
)
def mpb_vec(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    n, c, ho, wo = dout.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    a = win.reshape(n, c, ho, wo, k * k).argmax(axis=-1)
    ii, cc, yy, zz = np.meshgrid(np.arange(n), np.arange(c), np.arange(ho), np.arange(wo), indexing="ij")
    dx = np.zeros(x.shape)
    np.add.at(dx, (ii, cc, yy * s + a // k, zz * s + a % k), dout)
    return dx


@answer("maxpool_backward", "correct", "np.unravel_index, Fortran output")
def mpb_unravel(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros(x.shape, order="F")
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    a, bb = np.unravel_index(
                        np.argmax(x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]), (k, k)
                    )
                    dx[i, ch, y * stride + a, z * stride + bb] += dout[i, ch, y, z]
    return dx


@answer("maxpool_backward", "wrong", "= instead of += where windows overlap")
def mpb_assign(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros(x.shape)
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    a = int(np.argmax(x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]))
                    dx[i, ch, y * stride + a // k, z * stride + a % k] = dout[i, ch, y, z]
    return dx


@answer("maxpool_backward", "wrong", "argmax of the window decoded with // stride, % stride instead of k")
def mpb_decode(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros(x.shape)
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    a = int(np.argmax(x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]))
                    dx[i, ch, y * stride + a // stride, z * stride + a % stride] += dout[i, ch, y, z]
    return dx


@answer("maxpool_backward", "wrong", "np.empty_like(x): garbage where no gradient is routed")
def mpb_empty(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.empty_like(x)
    n, c, ho, wo = dout.shape
    routed = np.zeros(x.shape, bool)
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    a = int(np.argmax(x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]))
                    yy, zz = y * stride + a // k, z * stride + a % k
                    if not routed[i, ch, yy, zz]:
                        dx[i, ch, yy, zz] = 0.0
                        routed[i, ch, yy, zz] = True
                    dx[i, ch, yy, zz] += dout[i, ch, y, z]
    return dx


@answer("maxpool_backward", "wrong", "routes to every tied maximum (x == max mask)")
def mpb_ties(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros(x.shape)
    n, c, ho, wo = dout.shape
    for y in range(ho):
        for z in range(wo):
            win = x[:, :, y * stride : y * stride + k, z * stride : z * stride + k]
            m = win == win.max(axis=(2, 3), keepdims=True)
            dx[:, :, y * stride : y * stride + k, z * stride : z * stride + k] += (
                m * dout[:, :, y : y + 1, z : z + 1]
            )
    return dx


@answer(
    "maxpool_backward", "wrong", "loops over range(N) and range(C) from x but uses x[0] (batch of one only)"
)
def mpb_n1(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros(x.shape)
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    a = int(np.argmax(x[0, ch, y * stride : y * stride + k, z * stride : z * stride + k]))
                    dx[i, ch, y * stride + a // k, z * stride + a % k] += dout[i, ch, y, z]
    return dx


# ---------------------------------------------------------------- lrn_window
@answer("lrn_window", "correct", "max/min")
def lw_ok(c, C, size):
    return max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)


@answer("lrn_window", "correct", "numpy clip, cast to int")
def lw_clip(c, C, size):
    lo, hi = np.clip([c - size // 2, c + (size - 1) // 2 + 1], 0, C)
    return int(lo), int(hi)


@answer("lrn_window", "wrong", "symmetric window c +- size//2 (wrong for even sizes)")
def lw_sym(c, C, size):
    return max(0, c - size // 2), min(C, c + size // 2 + 1)


@answer("lrn_window", "wrong", "hi not clipped at C")
def lw_noclip(c, C, size):
    return max(0, c - size // 2), c + (size - 1) // 2 + 1


@answer("lrn_window", "wrong", "hi inclusive (off by one)")
def lw_incl(c, C, size):
    return max(0, c - size // 2), min(C - 1, c + (size - 1) // 2)


# ---------------------------------------------------------------- lrn_forward
def _lrn_s(x, size, alpha, k):
    C = x.shape[1]
    s = np.empty(x.shape, dtype=float)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s[:, ch] = k + alpha * np.sum(x[:, lo:hi].astype(float) ** 2, axis=1)
    return s


@answer("lrn_forward", "correct", "loops over channels")
def lf_loops(x, size, alpha, beta, k):
    return x / _lrn_s(x, size, alpha, k) ** beta


@answer("lrn_forward", "correct", "band matrix and einsum(optimize=True)")
def lf_band(x, size, alpha, beta, k):
    C = x.shape[1]
    c = np.arange(C)
    band = ((c[None, :] >= c[:, None] - size // 2) & (c[None, :] <= c[:, None] + (size - 1) // 2)).astype(
        float
    )
    s = k + alpha * np.einsum("cj,njhw->nchw", band, x * x, optimize=True)
    return x * s**-beta


@answer("lrn_forward", "correct", "float32 arithmetic for float32 input (cumsum in input dtype)")
def lf_cumsum(x, size, alpha, beta, k):
    C = x.shape[1]
    sq = np.concatenate([np.zeros_like(x[:, :1]), np.cumsum(x * x, axis=1)], axis=1)
    lo = np.maximum(np.arange(C) - size // 2, 0)
    hi = np.minimum(np.arange(C) + (size - 1) // 2 + 1, C)
    s = x.dtype.type(k) + x.dtype.type(alpha) * (sq[:, hi] - sq[:, lo])
    return x * s ** x.dtype.type(-beta)


@answer(
    "lrn_forward", "wrong", "out = x (no copy): writes channel results into the input, later windows see them"
)
def lf_alias(x, size, alpha, beta, k):
    C = x.shape[1]
    out = x
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@answer("lrn_forward", "wrong", "window symmetric c +- size//2 (even sizes wrong)")
def lf_sym(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + size // 2 + 1)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@answer("lrn_forward", "wrong", "np.sum without axis=1: sums the window over the batch and space too")
def lf_noaxis(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2)
        out[:, ch] = x[:, ch] / s**beta
    return out


@answer(
    "lrn_forward",
    "wrong",
    "squares accumulated in place into x (x **= 2 for the sum, then restored with sqrt: sign lost)",
)
def lf_inplace(x, size, alpha, beta, k):
    C = x.shape[1]
    sign = np.sign(x)
    out = np.zeros_like(x)
    x **= 2
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        s = k + alpha * np.sum(x[:, lo:hi], axis=1)
        out[:, ch] = sign[:, ch] * np.sqrt(x[:, ch]) / s**beta
    np.sqrt(x, out=x)
    return out


@answer("lrn_forward", "wrong", "hi = c + size//2 (exclusive): window one short at the top for odd sizes")
def lf_hi(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + size // 2)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


# ---------------------------------------------------------------- lrn_cross_derivative
@answer("lrn_cross_derivative", "correct", "formula")
def lcd_ok(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_c * a_j * s_c ** (-beta - 1)


@answer("lrn_cross_derivative", "correct", "via math.pow and division")
def lcd_pow(a_c, a_j, s_c, alpha, beta, k):
    return -2.0 * alpha * beta * a_c * a_j / math.pow(s_c, beta + 1)


@answer("lrn_cross_derivative", "wrong", "exponent -beta instead of -beta - 1")
def lcd_exp(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_c * a_j * s_c ** (-beta)


@answer("lrn_cross_derivative", "wrong", "factor 2 forgotten")
def lcd_no2(a_c, a_j, s_c, alpha, beta, k):
    return -alpha * beta * a_c * a_j * s_c ** (-beta - 1)


@answer("lrn_cross_derivative", "wrong", "s_c recomputed as k + alpha*a_j**2 (k double counted)")
def lcd_s(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_c * a_j * (s_c + k) ** (-beta - 1)


# ---------------------------------------------------------------- lrn_backward
@answer("lrn_backward", "correct", "loops")
def lb_loops(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    dx = dout * s**-beta
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1)
        for j in range(lo, hi):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t
    return dx


@answer("lrn_backward", "correct", "band matrix transposed, einsum(optimize=True)")
def lb_band(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    c = np.arange(C)
    band = ((c[None, :] >= c[:, None] - size // 2) & (c[None, :] <= c[:, None] + (size - 1) // 2)).astype(
        float
    )
    s = k + alpha * np.einsum("cj,njhw->nchw", band, x * x, optimize=True)
    t = dout * x * s ** (-beta - 1)
    return dout * s**-beta - 2 * alpha * beta * x * np.einsum("cj,nchw->njhw", band, t, optimize=True)


@answer("lrn_backward", "correct", "recursive over channels")
def lb_rec(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    t = dout * x * s ** (-beta - 1)

    def cross(j):
        if j == C:
            return []
        lo, hi = max(0, j - (size - 1) // 2), min(C, j + size // 2 + 1)
        return [t[:, lo:hi].sum(axis=1)] + cross(j + 1)

    return dout * s**-beta - 2 * alpha * beta * x * np.stack(cross(0), axis=1)


@answer("lrn_backward", "wrong", "dx = dout (alias): the cross terms are subtracted from the caller's dout")
def lb_alias(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    dx = dout
    t_all = dout * x * s ** (-beta - 1)
    dx *= s**-beta
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        for j in range(lo, hi):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t_all[:, ch]
    return dx


@answer(
    "lrn_backward",
    "wrong",
    "cross sum over j's own window instead of the windows that contain j (even sizes)",
)
def lb_dir(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    t = dout * x * s ** (-beta - 1)
    cross = np.zeros_like(x)
    for j in range(C):
        lo, hi = max(0, j - size // 2), min(C, j + (size - 1) // 2 + 1)
        cross[:, j] = t[:, lo:hi].sum(axis=1)
    return dout * s**-beta - 2 * alpha * beta * x * cross


@answer("lrn_backward", "wrong", "t computed with x[:, j] in place of x[:, ch] (index slip)")
def lb_idx(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    dx = dout * s**-beta
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        for j in range(lo, hi):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * dout[:, ch] * x[:, j] * s[:, ch] ** (-beta - 1)
    return dx


_LB_BUF = {}


@answer(
    "lrn_backward",
    "wrong",
    "dx buffer at module level, direct term written with =, cross terms -= accumulate... but buffer reused returned",
)
def lb_module(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    dx = _LB_BUF.setdefault(x.shape, np.zeros(x.shape))
    dx[...] = dout * s**-beta
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1)
        for j in range(lo, hi):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t
    return dx


@answer("lrn_backward", "wrong", "t summed with np.sum(..., axis=0) (over batch) instead of per sample")
def lb_batchaxis(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    dx = dout * s**-beta
    for ch in range(C):
        lo, hi = max(0, ch - size // 2), min(C, ch + (size - 1) // 2 + 1)
        t = np.sum(dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1), axis=0)
        for j in range(lo, hi):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t
    return dx


# ---------------------------------------------------------------- softmax_by_hand
@answer("softmax_by_hand", "correct", "typed fractions")
def sbh_ok():
    return np.log(8 / 3), np.array([1 / 8, 3 / 8 - 1, 4 / 8])


@answer("softmax_by_hand", "correct", "computed, loss as a 0-d array")
def sbh_comp():
    z = np.log(np.array([1.0, 3.0, 4.0]))
    p = np.exp(z) / np.exp(z).sum()
    d = p.copy()
    d[1] -= 1
    return -np.log(p[1:2]).reshape(()), d


@answer("softmax_by_hand", "wrong", "one-hot forgotten in dz")
def sbh_noonehot():
    return np.log(8 / 3), np.array([1 / 8, 3 / 8, 4 / 8])


@answer("softmax_by_hand", "wrong", "label 1 read as the first element (index 0)")
def sbh_index():
    return np.log(8), np.array([1 / 8 - 1, 3 / 8, 4 / 8])


@answer("softmax_by_hand", "wrong", "loss sign: log(3/8)")
def sbh_sign():
    return np.log(3 / 8), np.array([1 / 8, 3 / 8 - 1, 4 / 8])


# ---------------------------------------------------------------- softmax_cross_entropy
@answer("softmax_cross_entropy", "correct", "reference form")
def sce_ok(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return -lp[np.arange(n), labels].mean(), d / n


@answer("softmax_cross_entropy", "correct", "np.logaddexp.reduce and a one-hot from np.eye")
def sce_logaddexp(logits, labels):
    n, c = logits.shape
    lse = np.logaddexp.reduce(logits, axis=1, keepdims=True)
    lp = logits - lse
    onehot = np.eye(c)[labels]
    return float(-(lp * onehot).sum() / n), (np.exp(lp) - onehot) / n


@answer("softmax_cross_entropy", "correct", "tiny loop over rows with math.fsum")
def sce_loop(logits, labels):
    n = logits.shape[0]
    d = np.zeros(logits.shape)
    losses = []
    for i in range(n):
        z = logits[i] - logits[i].max()
        lse = math.log(math.fsum(np.exp(z)))
        losses.append(lse - z[labels[i]])
        d[i] = np.exp(z - lse)
        d[i, labels[i]] -= 1
    return math.fsum(losses) / n, d / n


@answer("softmax_cross_entropy", "wrong", "max without keepdims: (N,) broadcast against (N, C)")
def sce_keepdims(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return -lp[np.arange(n), labels].mean(), d / n


@answer("softmax_cross_entropy", "wrong", "logits -= max in place (caller's logits changed)")
def sce_inplace(logits, labels):
    n = logits.shape[0]
    logits -= logits.max(axis=1, keepdims=True)
    lp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return -lp[np.arange(n), labels].mean(), d / n


@answer(
    "softmax_cross_entropy", "wrong", "d[:, labels] -= 1 (outer indexing, all rows hit every label column)"
)
def sce_outer(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(lp)
    d[:, labels] -= 1
    return -lp[np.arange(n), labels].mean(), d / n


@answer("softmax_cross_entropy", "wrong", "log(softmax) instead of z - logsumexp (log(0) on huge logits)")
def sce_logsoftmax(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        loss = -np.log(p[np.arange(n), labels]).mean()
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return loss, d / n


@answer("softmax_cross_entropy", "wrong", "loss accumulated in an np.float32 (precision lost)")
def sce_f32acc(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    acc = np.float32(0)
    for i in range(n):
        acc += np.float32(-lp[i, labels[i]])
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return acc / n, d / n


# ---------------------------------------------------------------- dropout_scale
@answer("dropout_scale", "correct", "if/else")
def ds_ok(p, convention, train):
    if convention == "pytorch":
        return 1 / (1 - p) if train else 1.0
    return 1.0 if train else 1 - p


@answer("dropout_scale", "correct", "dict lookup")
def ds_dict(p, convention, train):
    return {
        ("pytorch", True): 1 / (1 - p),
        ("pytorch", False): 1.0,
        ("paper", True): 1.0,
        ("paper", False): 1 - p,
    }[(convention, bool(train))]


@answer("dropout_scale", "wrong", "1/p for pytorch training")
def ds_p(p, convention, train):
    if convention == "pytorch":
        return 1 / p if train else 1.0
    return 1.0 if train else 1 - p


@answer("dropout_scale", "wrong", "paper test mode multiplied by p")
def ds_paper(p, convention, train):
    if convention == "pytorch":
        return 1 / (1 - p) if train else 1.0
    return 1.0 if train else p


# ---------------------------------------------------------------- dropout_forward
@answer("dropout_forward", "correct", "np.where, copy in test mode")
def df_where(x, mask, p, convention, train):
    if train:
        scale = 1 / (1 - p) if convention == "pytorch" else 1.0
        return np.where(mask, x * scale, 0.0)
    return x.copy() if convention == "pytorch" else x * (1 - p)


@answer("dropout_forward", "correct", "float32 scale for float32 input, Fortran output")
def df_f32(x, mask, p, convention, train):
    t = x.dtype.type
    if train:
        out = x * mask * (t(1) / (t(1) - t(p)) if convention == "pytorch" else t(1))
    else:
        out = x * (t(1) if convention == "pytorch" else t(1) - t(p))
    return np.asfortranarray(out)


@answer(
    "dropout_forward",
    "correct",
    "pytorch test mode returns x itself: passed up to a convention, as PyTorch does (the report says so)",
)
def df_alias(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x
    return x * mask if train else x * (1 - p)


@answer("dropout_forward", "wrong", "x *= mask in place")
def df_inplace(x, mask, p, convention, train):
    if train:
        x *= mask
        return x / (1 - p) if convention == "pytorch" else x.copy()
    return x.copy() if convention == "pytorch" else x * (1 - p)


@answer("dropout_forward", "wrong", "draws its own mask with np.random.rand instead of using mask")
def df_random(x, mask, p, convention, train):
    if train:
        m = np.random.rand(*x.shape) >= p
        return x * m / (1 - p) if convention == "pytorch" else x * m
    return x.copy() if convention == "pytorch" else x * (1 - p)


@answer("dropout_forward", "wrong", "paper test mode returns x (no (1-p))")
def df_papertest(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p) if train else x.copy()
    return x * mask if train else x.copy()


_DF_OUT = {}


@answer("dropout_forward", "wrong", "np.multiply(..., out=module-level buffer)")
def df_module(x, mask, p, convention, train):
    out = _DF_OUT.setdefault(x.shape, np.zeros(x.shape))
    if train:
        np.multiply(x, mask, out=out)
        if convention == "pytorch":
            out /= 1 - p
    else:
        np.multiply(x, 1.0 if convention == "pytorch" else 1 - p, out=out)
    return out


# ---------------------------------------------------------------- dropout_backward
@answer("dropout_backward", "correct", "product")
def db_ok(dout, mask, p, convention):
    return dout * mask / (1 - p) if convention == "pytorch" else dout * mask


@answer("dropout_backward", "correct", "np.where")
def db_where(dout, mask, p, convention):
    return np.where(mask, dout * (1 / (1 - p) if convention == "pytorch" else 1.0), 0.0)


@answer("dropout_backward", "wrong", "dout[~mask] = 0 in place")
def db_inplace(dout, mask, p, convention):
    dout[~mask] = 0
    return dout / (1 - p) if convention == "pytorch" else dout


@answer("dropout_backward", "wrong", "paper convention also divided by (1 - p)")
def db_paper(dout, mask, p, convention):
    return dout * mask / (1 - p)


@answer("dropout_backward", "wrong", "mask ignored for the paper convention (returns dout itself)")
def db_nomask(dout, mask, p, convention):
    return dout * mask / (1 - p) if convention == "pytorch" else dout


# ---------------------------------------------------------------- sgd_terminal_velocity
@answer("sgd_terminal_velocity", "correct", "closed form")
def stv_ok(g, momentum, lr):
    return -lr * g / (1 - momentum)


@answer("sgd_terminal_velocity", "correct", "iterated until convergence")
def stv_iter(g, momentum, lr):
    v = 0.0 * np.asarray(g, dtype=float)
    for _ in range(20000):
        v = momentum * v - lr * g
    return v


@answer("sgd_terminal_velocity", "wrong", "sign: +lr*g/(1-mu)")
def stv_sign(g, momentum, lr):
    return lr * g / (1 - momentum)


@answer("sgd_terminal_velocity", "wrong", "geometric sum as 1/mu")
def stv_mu(g, momentum, lr):
    return -lr * g / momentum


@answer("sgd_terminal_velocity", "wrong", "iterates only 10 steps (early stop)")
def stv_short(g, momentum, lr):
    v = 0.0
    for _ in range(10):
        v = momentum * v - lr * g
    return v


# ---------------------------------------------------------------- sgd_momentum_paper
@answer("sgd_momentum_paper", "correct", "in place")
def sgd_ok(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * lr * w + lr * g
    w += v


@answer("sgd_momentum_paper", "correct", "returns new (w, v), inputs untouched")
def sgd_ret(w, v, g, momentum, weight_decay, lr):
    v2 = momentum * v - weight_decay * lr * w - lr * g
    return w + v2, v2


@answer("sgd_momentum_paper", "correct", "in place with out= ufuncs")
def sgd_out(w, v, g, momentum, weight_decay, lr):
    np.multiply(v, momentum, out=v)
    np.subtract(v, lr * (weight_decay * w + g), out=v)
    np.add(w, v, out=w)


@answer("sgd_momentum_paper", "wrong", "v = ... rebinds the name: nothing updated in place, nothing returned")
def sgd_rebind(w, v, g, momentum, weight_decay, lr):
    v = momentum * v - weight_decay * lr * w - lr * g
    w = w + v


@answer("sgd_momentum_paper", "wrong", "w += v before v is updated")
def sgd_order(w, v, g, momentum, weight_decay, lr):
    w += v
    v *= momentum
    v -= weight_decay * lr * w + lr * g


@answer(
    "sgd_momentum_paper", "wrong", "weight decay uses the updated w (w += v first, then decay term reads it)"
)
def sgd_decay_after(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= lr * g
    w += v
    dv = -weight_decay * lr * w
    v += dv
    w += dv


@answer("sgd_momentum_paper", "wrong", "w updated in place but v rebound (v stale for the caller)")
def sgd_vstale(w, v, g, momentum, weight_decay, lr):
    v = momentum * v - weight_decay * lr * w - lr * g
    w += v


# ---------------------------------------------------------------- linear_dw_by_hand
@answer("linear_dw_by_hand", "correct", "typed")
def ldw_ok():
    return np.array([[1.0, 3.0], [0.0, -3.0], [2.0, 3.0]])


@answer("linear_dw_by_hand", "correct", "computed with einsum")
def ldw_einsum():
    x = np.array([[1, 2], [0, -1]], float)
    d = np.array([[1, 0, 2], [-1, 3, 1]], float)
    return np.einsum("no,ni->oi", d, x, optimize=True)


@answer("linear_dw_by_hand", "wrong", "x.T @ dout: (2, 3)")
def ldw_T():
    return np.array([[1.0, 0.0, 2.0], [3.0, -3.0, 3.0]])


@answer("linear_dw_by_hand", "wrong", "sign slip in one entry")
def ldw_sign():
    return np.array([[1.0, 3.0], [0.0, 3.0], [2.0, 3.0]])


# ---------------------------------------------------------------- linear_forward
@answer("linear_forward", "correct", "x @ w.T + b")
def lfw_ok(x, w, b):
    return x @ w.T + b


@answer("linear_forward", "correct", "einsum(optimize=True), Fortran output")
def lfw_einsum(x, w, b):
    return np.asfortranarray(np.einsum("ni,oi->no", x, w, optimize=True) + b)


@answer("linear_forward", "correct", "tiny loop with functools.reduce over input features")
def lfw_reduce(x, w, b):
    return (
        functools.reduce(
            lambda acc, i: acc + np.outer(x[:, i], w[:, i]),
            range(x.shape[1]),
            np.zeros((x.shape[0], w.shape[0])),
        )
        + b
    )


@answer("linear_forward", "wrong", "x @ w (layout (in, out) assumed; square only)")
def lfw_layout(x, w, b):
    return x @ w + b


@answer("linear_forward", "wrong", "b[:, None] broadcast: (out, 1) against (N, out)")
def lfw_bcast(x, w, b):
    return x @ w.T + b[:, None]


_LF_OUT = {}


@answer("linear_forward", "wrong", "np.dot(..., out=module-level buffer)")
def lfw_module(x, w, b):
    key = (x.shape[0], w.shape[0])
    out = _LF_OUT.setdefault(key, np.zeros(key))
    np.dot(x, w.T, out=out)
    out += b
    return out


@answer("linear_forward", "wrong", "bias read as b[0] (scalar) for every output")
def lfw_b0(x, w, b):
    return x @ w.T + b[0]


# ---------------------------------------------------------------- linear_backward
@answer("linear_backward", "correct", "matrix form")
def lbw_ok(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.sum(axis=0)


@answer("linear_backward", "correct", "einsum(optimize=True)")
def lbw_einsum(dout, x, w, b):
    return (
        np.einsum("no,oi->ni", dout, w, optimize=True),
        np.einsum("no,ni->oi", dout, x, optimize=True),
        np.einsum("no->o", dout),
    )


@answer("linear_backward", "wrong", "dw = x.T @ dout (transposed, square only)")
def lbw_dwT(dout, x, w, b):
    dw = x.T @ dout
    return dout @ w, dw.reshape(w.shape) if dw.size == w.size else dw, dout.sum(axis=0)


@answer("linear_backward", "wrong", "db = dout.sum() (axis forgotten: a scalar)")
def lbw_db(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.sum()


@answer("linear_backward", "wrong", "db = dout.sum(axis=1)")
def lbw_db1(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.sum(axis=1)


@answer("linear_backward", "wrong", "db returned as dout[0] (works for batch of one)")
def lbw_db_n1(dout, x, w, b):
    return dout @ w, dout.T @ x, dout[0]


# ---------------------------------------------------------------- relu_derivative
@answer("relu_derivative", "correct", "float")
def rd_ok(x):
    return 1.0 if x > 0 else 0.0


@answer("relu_derivative", "correct", "float(np.heaviside)")
def rd_heav(x):
    return float(np.heaviside(x, 0.0))


@answer("relu_derivative", "wrong", "returns a bool")
def rd_bool(x):
    return x > 0


@answer("relu_derivative", "wrong", "returns max(x, 0) (the value, not the slope)")
def rd_value(x):
    return float(max(x, 0))


# ---------------------------------------------------------------- relu_forward
@answer("relu_forward", "correct", "np.maximum")
def rf_ok(x):
    return np.maximum(x, 0)


@answer("relu_forward", "correct", "x * (x > 0)")
def rf_mul(x):
    return x * (x > 0)


@answer("relu_forward", "correct", "np.where, Fortran order")
def rf_where(x):
    return np.asfortranarray(np.where(x > 0, x, 0).astype(x.dtype))


@answer("relu_forward", "wrong", "x[x < 0] = 0 on the input")
def rf_inplace(x):
    x[x < 0] = 0
    return x


@answer("relu_forward", "wrong", "np.max(x, 0): reduces over axis 0")
def rf_npmax(x):
    return np.max(x, 0)


@answer("relu_forward", "wrong", "np.empty_like(x) then out.ravel()[:] = ...: lost for non-C-contiguous x")
def rf_ravel(x):
    out = np.empty_like(x)
    out.ravel()[:] = np.maximum(x.ravel(), 0)
    return out


@answer("relu_forward", "wrong", "np.maximum(x, 0, out=x)")
def rf_outx(x):
    return np.maximum(x, 0, out=x)


@answer("relu_forward", "wrong", "np.clip(x, 0, None).astype(int) (dtype accident)")
def rf_int(x):
    return np.clip(x, 0, None).round().astype(int)


# ---------------------------------------------------------------- relu_backward
@answer("relu_backward", "correct", "dout * (x > 0)")
def rb_ok(dout, x):
    return dout * (x > 0)


@answer("relu_backward", "correct", "np.where, float32 kept")
def rb_where(dout, x):
    return np.where(x > 0, dout, dout.dtype.type(0))


@answer("relu_backward", "wrong", "dout[x <= 0] = 0 in place")
def rb_inplace(dout, x):
    dout[x <= 0] = 0
    return dout


@answer("relu_backward", "wrong", "dout * np.maximum(x, 0) (value instead of indicator)")
def rb_value(dout, x):
    return dout * np.maximum(x, 0)


@answer("relu_backward", "wrong", "dout[x > 0]: boolean indexing flattens")
def rb_flat(dout, x):
    return dout[x > 0]


@answer("relu_backward", "wrong", "uses dout > 0 instead of x > 0")
def rb_dout(dout, x):
    return dout * (dout > 0)


# ---------------------------------------------------------------- batchnorm_dx_formula
@answer("batchnorm_dx_formula", "correct", "formula")
def bdf_ok(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std / n * (n * g_i - sum_g - xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "correct", "expanded")
def bdf_exp(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std * g_i - gamma * inv_std * sum_g / n - gamma * inv_std * xhat_i * sum_g_xhat / n


@answer("batchnorm_dx_formula", "wrong", "1/n forgotten")
def bdf_non(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std * (n * g_i - sum_g - xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "wrong", "+ xhat term")
def bdf_sign(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std / n * (n * g_i - sum_g + xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "wrong", "integer division n // n... g_i * (n // n) fine; uses 1 // n")
def bdf_intdiv(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return (
        gamma * inv_std * (1 // n) * (n * g_i - sum_g - xhat_i * sum_g_xhat)
        if n == 1
        else gamma * inv_std * (n * g_i - sum_g - xhat_i * sum_g_xhat) // n
    )


# ---------------------------------------------------------------- batchnorm_forward
@answer("batchnorm_forward", "correct", "reference form")
def bnf_ok(x, gamma, beta, eps):
    return (x - x.mean(0)) / np.sqrt(x.var(0) + eps) * gamma + beta


@answer("batchnorm_forward", "correct", "einsum means, float32 kept")
def bnf_einsum(x, gamma, beta, eps):
    n = x.shape[0]
    mu = np.einsum("nd->d", x, optimize=True) / x.dtype.type(n)
    xc = x - mu
    var = np.einsum("nd,nd->d", xc, xc, optimize=True) / x.dtype.type(n)
    return xc / np.sqrt(var + x.dtype.type(eps)) * gamma + beta


@answer("batchnorm_forward", "wrong", "x.mean() without axis")
def bnf_noaxis(x, gamma, beta, eps):
    return (x - x.mean()) / np.sqrt(x.var(0) + eps) * gamma + beta


@answer("batchnorm_forward", "wrong", "x -= x.mean(0) in place")
def bnf_inplace(x, gamma, beta, eps):
    x -= x.mean(0)
    return x / np.sqrt((x * x).mean(0) + eps) * gamma + beta


@answer("batchnorm_forward", "wrong", "mean over axis 1 with keepdims (per sample)")
def bnf_axis1(x, gamma, beta, eps):
    return (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps) * gamma + beta


@answer(
    "batchnorm_forward",
    "wrong",
    "mean accumulated in a Python float over a flat loop... across features: scalar mean",
)
def bnf_pyacc(x, gamma, beta, eps):
    total = 0.0
    for v in x.ravel():
        total += float(v)
    mu = total / x.size
    return (x - mu) / np.sqrt(x.var(0) + eps) * gamma + beta


@answer("batchnorm_forward", "wrong", "eps added outside the sqrt")
def bnf_eps(x, gamma, beta, eps):
    return (x - x.mean(0)) / (np.sqrt(x.var(0)) + eps) * gamma + beta


# ---------------------------------------------------------------- batchnorm_backward
def _bn_parts(dout, x, eps):
    inv = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv
    return inv, xhat


@answer("batchnorm_backward", "correct", "reference form")
def bnb_ok(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv, xhat = _bn_parts(dout, x, eps)
    dgamma, dbeta = (dout * xhat).sum(0), dout.sum(0)
    return gamma * inv / n * (n * dout - dbeta - xhat * dgamma), dgamma, dbeta


@answer("batchnorm_backward", "correct", "chain rule through mean and var step by step")
def bnb_chain(dout, x, gamma, beta, eps):
    n = x.shape[0]
    mu = x.mean(0)
    xc = x - mu
    var = (xc**2).mean(0)
    inv = 1 / np.sqrt(var + eps)
    xhat = xc * inv
    dxhat = dout * gamma
    dvar = (dxhat * xc).sum(0) * -0.5 * (var + eps) ** -1.5
    dmu = -(dxhat * inv).sum(0) + dvar * (-2 * xc).mean(0)
    dx = dxhat * inv + dvar * 2 * xc / n + dmu / n
    return dx, (dout * xhat).sum(0), dout.sum(0)


@answer("batchnorm_backward", "wrong", "dgamma without axis (scalar)")
def bnb_dgamma(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv, xhat = _bn_parts(dout, x, eps)
    dgamma_v, dbeta = (dout * xhat).sum(0), dout.sum(0)
    return gamma * inv / n * (n * dout - dbeta - xhat * dgamma_v), (dout * xhat).sum(), dbeta


@answer("batchnorm_backward", "wrong", "dout *= gamma in place")
def bnb_inplace(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv, xhat = _bn_parts(dout, x, eps)
    dgamma, dbeta = (dout * xhat).sum(0), dout.sum(0)
    dout *= gamma
    return inv / n * (n * dout - dout.sum(0) - xhat * (dout * xhat).sum(0)), dgamma, dbeta


@answer(
    "batchnorm_backward", "wrong", "sums for dx with keepdims forgotten on axis 1... uses sum over axis 1"
)
def bnb_axis(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv, xhat = _bn_parts(dout, x, eps)
    dgamma, dbeta = (dout * xhat).sum(0), dout.sum(0)
    sg = dout.sum(1, keepdims=True)
    sgx = (dout * xhat).sum(1, keepdims=True)
    return gamma * inv / n * (n * dout - sg - xhat * sgx), dgamma, dbeta


@answer("batchnorm_backward", "wrong", "var with ddof=1")
def bnb_ddof(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv = 1 / np.sqrt(x.var(0, ddof=1) + eps)
    xhat = (x - x.mean(0)) * inv
    dgamma, dbeta = (dout * xhat).sum(0), dout.sum(0)
    return gamma * inv / n * (n * dout - dbeta - xhat * dgamma), dgamma, dbeta


@answer("batchnorm_backward", "wrong", "returns (dx, dbeta, dgamma) swapped")
def bnb_swap(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv, xhat = _bn_parts(dout, x, eps)
    dgamma, dbeta = (dout * xhat).sum(0), dout.sum(0)
    return gamma * inv / n * (n * dout - dbeta - xhat * dgamma), dbeta, dgamma


# ---------------------------------------------------------------- winograd_filter_transform
@answer("winograd_filter_transform", "correct", "array")
def wft_ok(g0, g1, g2):
    return np.array([g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2])


@answer("winograd_filter_transform", "correct", "G matrix product, other sign at 0")
def wft_G(g0, g1, g2):
    G = np.array([[-1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    return G @ np.array([g0, g1, g2], float)


@answer("winograd_filter_transform", "wrong", "halves forgotten")
def wft_nohalf(g0, g1, g2):
    return np.array([g0, g0 + g1 + g2, g0 - g1 + g2, g2])


@answer("winograd_filter_transform", "wrong", "shape (4, 1) from a column G @ g[:, None]")
def wft_col(g0, g1, g2):
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    return G @ np.array([[g0], [g1], [g2]], float)


@answer("winograd_filter_transform", "wrong", "integer division // 2")
def wft_intdiv(g0, g1, g2):
    return np.array([g0, (g0 + g1 + g2) // 2, (g0 - g1 + g2) // 2, g2])


# ---------------------------------------------------------------- winograd_f23
@answer("winograd_f23", "correct", "4 multiplications")
def wf_ok(d, g):
    u = np.array([g[0], (g[0] + g[1] + g[2]) / 2, (g[0] - g[1] + g[2]) / 2, g[2]])
    m1, m2 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1]
    m3, m4 = (d[2] - d[1]) * u[2], (d[1] - d[3]) * u[3]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


@answer("winograd_f23", "correct", "transform matrices, elementwise product of 4")
def wf_mat(d, g):
    BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float)
    return AT @ ((G @ np.asarray(g, float)) * (BT @ np.asarray(d, float)))


@answer("winograd_f23", "wrong", "m3 uses (d1 - d2)")
def wf_m3(d, g):
    u = np.array([g[0], (g[0] + g[1] + g[2]) / 2, (g[0] - g[1] + g[2]) / 2, g[2]])
    m1, m2 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1]
    m3, m4 = (d[1] - d[2]) * u[2], (d[1] - d[3]) * u[3]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


@answer("winograd_f23", "wrong", "y returned as (2, 1) column")
def wf_col(d, g):
    BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float)
    return AT @ ((G @ np.asarray(g, float)) * (BT @ np.asarray(d, float)))[:, None]


@answer("winograd_f23", "wrong", "convolution with the flipped filter (g reversed)")
def wf_flip(d, g):
    g = np.asarray(g, float)[::-1]
    u = np.array([g[0], (g[0] + g[1] + g[2]) / 2, (g[0] - g[1] + g[2]) / 2, g[2]])
    m1, m2 = (d[0] - d[2]) * u[0], (d[1] + d[2]) * u[1]
    m3, m4 = (d[2] - d[1]) * u[2], (d[1] - d[3]) * u[3]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


# ---------------------------------------------------------------- receptive_field_step
@answer("receptive_field_step", "correct", "tuple")
def rfs_ok(size, jump, start, k, s, p):
    return size + (k - 1) * jump, jump * s, start - p * jump


@answer("receptive_field_step", "correct", "numpy ints cast back")
def rfs_np(size, jump, start, k, s, p):
    v = np.array([size + (k - 1) * jump, jump * s, start - p * jump], dtype=np.int64)
    return tuple(int(t) for t in v)


@answer("receptive_field_step", "wrong", "start uses the new jump")
def rfs_newjump(size, jump, start, k, s, p):
    jump2 = jump * s
    return size + (k - 1) * jump, jump2, start - p * jump2


@answer("receptive_field_step", "wrong", "size + k*jump (off by one)")
def rfs_k(size, jump, start, k, s, p):
    return size + k * jump - 1, jump * s, start - p * jump


@answer("receptive_field_step", "wrong", "start - p (jump forgotten)")
def rfs_nojump(size, jump, start, k, s, p):
    return size + (k - 1) * jump, jump * s, start - p


# ---------------------------------------------------------------- receptive_field
@answer("receptive_field", "correct", "loop, float arrays")
def rf_loop(layers):
    size, jump, start = 1, 1, 0
    out = ([], [], [])
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p * jump
        for col, v in zip(out, (size, jump, start)):
            col.append(v)
    return tuple(np.array(c, dtype=float) for c in out)


@answer("receptive_field", "correct", "functools.reduce and itertools.accumulate")
def rf_accumulate(layers):
    import itertools

    states = list(
        itertools.accumulate(
            layers,
            lambda st, l: (st[0] + (l[0] - 1) * st[1], st[1] * l[1], st[2] - l[2] * st[1]),
            initial=(1, 1, 0),
        )
    )[1:]
    arr = np.array(states, dtype=float).reshape(-1, 3)
    return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()


@answer("receptive_field", "correct", "recursion")
def rf_recursive(layers):
    def go(ls, st):
        if not ls:
            return []
        k, s, p = ls[0]
        nst = (st[0] + (k - 1) * st[1], st[1] * s, st[2] - p * st[1])
        return [nst] + go(ls[1:], nst)

    r = np.array(go(list(layers), (1, 1, 0)), dtype=float).reshape(-1, 3)
    return tuple(np.asfortranarray(r[:, i]) for i in range(3))


@answer(
    "receptive_field", "correct", "np.array of ints (whole numbers typed as ints are accepted, by design)"
)
def rf_ints(layers):
    size, jump, start = 1, 1, 0
    out = ([], [], [])
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p * jump
        for col, v in zip(out, (size, jump, start)):
            col.append(v)
    return tuple(np.array(c) for c in out)


@answer("receptive_field", "wrong", "start updated with the new jump")
def rf_newjump(layers):
    size, jump, start = 1, 1, 0
    out = ([], [], [])
    for k, s, p in layers:
        size = size + (k - 1) * jump
        jump = jump * s
        start = start - p * jump
        for col, v in zip(out, (size, jump, start)):
            col.append(v)
    return tuple(np.array(c, dtype=float) for c in out)


@answer("receptive_field", "wrong", "early return inside the loop")
def rf_early(layers):
    size, jump, start = 1, 1, 0
    out = ([], [], [])
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p * jump
        for col, v in zip(out, (size, jump, start)):
            col.append(v)
        return tuple(np.array(c, dtype=float) for c in out)


@answer("receptive_field", "wrong", "initial size 0")
def rf_size0(layers):
    size, jump, start = 0, 1, 0
    out = ([], [], [])
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p * jump
        for col, v in zip(out, (size, jump, start)):
            col.append(v)
    return tuple(np.array(c, dtype=float) for c in out)
