# ruff: noqa
"""A seventh held-out class of student answers for the exercise grader: 146 wrong answers (one mistake each) and 58
correct ones over all 37 exercises, by students who *specialise*: AlexNet's sizes and hyperparameters hard-coded,
square inputs, C == F, a batch of one or stride 1 assumed, fast paths for common shapes, results memoised by shape,
special cases for zero or negative inputs, float16 accumulators, and a few who game the grader (zeros, the input,
seeded noise, a look through the caller's frames or the garbage collector); correct answers in unusual styles
(einsum, read-only as_strided, sliding_window_view, np.add.at, recursion, Fortran order, cumulative sums, band
matrices, logaddexp.reduce, math.fsum). Written by a tester who had not read the grader, its mistake catalogue or
the earlier classes, each checked against the tester's own float64 loops before grading. Copied from the tester's
answers.py, formatted by ruff (nothing else changed). Judgement: tests/heldout7_judgement.md."""

from dataclasses import dataclass
from typing import Callable
import functools
import math

import numpy as np


@dataclass
class Answer:
    exercise: str
    kind: str  # "correct" or "wrong"
    mistake: str  # one plain sentence; for correct answers, the unusual style used
    fn: Callable


ANSWERS = []


def answer(exercise, kind, mistake):
    def deco(fn):
        ANSWERS.append(Answer(exercise, kind, mistake, fn))
        return fn

    return deco


# ----------------------------------------------------------------------------- helpers (not answers)
def _pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def _osz(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def _win(c, C, size):
    return max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)


# ============================================================================= output_size
@answer(
    "output_size",
    "wrong",
    "Ignores the padding argument (assumes padding 0, as in AlexNet's conv1 and pools).",
)
def os_no_padding(n, kernel_size, stride, padding):
    return (n - kernel_size) // stride + 1


@answer("output_size", "wrong", "Pads on one side only: n + p instead of n + 2p.")
def os_one_side(n, kernel_size, stride, padding):
    return (n + padding - kernel_size) // stride + 1


@answer(
    "output_size",
    "wrong",
    "Rounds the number of steps to the nearest integer instead of flooring it (right for stride 1 and 2 only by luck).",
)
def os_round(n, kernel_size, stride, padding):
    if stride == 1:
        return n + 2 * padding - kernel_size + 1
    return int(round((n + 2 * padding - kernel_size) / stride)) + 1


@answer(
    "output_size",
    "wrong",
    "Counts windows over n - 1 positions (a habit from odd sizes), which loses a window whenever the span divides evenly.",
)
def os_minus_one(n, kernel_size, stride, padding):
    return (n - 1 + 2 * padding - kernel_size) // stride + 1


@answer("output_size", "correct", "Counts the window starts with len(range(...)).")
def os_range(n, kernel_size, stride, padding):
    return len(range(0, n + 2 * padding - kernel_size + 1, stride))


@answer("output_size", "correct", "Slides a window explicitly in a while loop and counts it.")
def os_while(n, kernel_size, stride, padding):
    count, start = 0, -padding
    while start + kernel_size <= n + padding:
        count += 1
        start += stride
    return count


# ============================================================================= output_size_by_hand
@answer("output_size_by_hand", "wrong", "Forgets the padding in the second case (gets 2 instead of 3).")
def osbh_no_pad():
    return (3, 2, 55)


@answer("output_size_by_hand", "wrong", "Uses ceil in the second case (gets 4 instead of 3).")
def osbh_ceil():
    return (3, 4, 55)


@answer("output_size_by_hand", "wrong", "Answers 54 for conv1, remembering the 224-pixel version of AlexNet.")
def osbh_224():
    return (3, 3, 54)


@answer("output_size_by_hand", "correct", "Returns a list computed from the formula with integer division.")
def osbh_list():
    return [(n + 2 * p - k) // s + 1 for n, k, s, p in ((7, 3, 2, 0), (6, 3, 2, 1), (227, 11, 4, 0))]


# ============================================================================= conv_out_by_hand
_X3 = np.array([[1, 2, 0], [0, 1, 3], [2, 0, 1]], dtype=float)
_W2 = np.array([[1, 2], [0, -1]], dtype=float)


@answer(
    "conv_out_by_hand", "wrong", "Flips the kernel (a true convolution) although the statement says no flip."
)
def cobh_flip():
    return np.array([[-1.0, 1.0], [1.0, 4.0]])


@answer("conv_out_by_hand", "wrong", "Types the output transposed (columns as rows).")
def cobh_transposed():
    return np.array([[4.0, 2.0], [-1.0, 6.0]])


@answer(
    "conv_out_by_hand",
    "correct",
    "Computes it with a list comprehension of elementwise products and nested lists.",
)
def cobh_compute():
    return [[float((_X3[y : y + 2, z : z + 2] * _W2).sum()) for z in range(2)] for y in range(2)]


# ============================================================================= conv_dw_by_hand
_D2 = np.array([[1, 0], [2, -1]], dtype=float)


@answer(
    "conv_dw_by_hand", "wrong", "Flips dout when correlating it with x (treats dW as a true convolution)."
)
def cdwbh_flip():
    f = _D2[::-1, ::-1]
    return np.array([[float((_X3[i : i + 2, j : j + 2] * f).sum()) for j in range(2)] for i in range(2)])


@answer("conv_dw_by_hand", "wrong", "Types dW transposed.")
def cdwbh_transposed():
    return np.array([[float((_X3[i : i + 2, j : j + 2] * _D2).sum()) for j in range(2)] for i in range(2)]).T


@answer("conv_dw_by_hand", "correct", "Typed as numbers in a float32 array.")
def cdwbh_numbers():
    return np.array([[0.0, 1.0], [4.0, 0.0]], dtype=np.float32)


# ============================================================================= conv_forward
@answer("conv_forward", "wrong", "Assumes square inputs: the output width is computed from H.")
def cf_square(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho = _osz(H, k, stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((N, F, Ho, Ho))
    for y in range(Ho):
        for z in range(Ho):
            win = xp[:, :, y * stride : y * stride + k, z * stride : z * stride + k]
            out[:, :, y, z] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@answer(
    "conv_forward",
    "wrong",
    "Fast path for stride 1 is right, but the general path forgets the stride on the column index.",
)
def cf_stride_cols(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = _osz(H, k, stride, padding), _osz(W, k, stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((N, F, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            zz = z if stride != 1 else z * stride
            win = xp[:, :, y * stride : y * stride + k, zz : zz + k]
            out[:, :, y, z] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@answer(
    "conv_forward",
    "wrong",
    "Loops over input channels with range(F), assuming C == F as in AlexNet's 3x3 convs.",
)
def cf_c_equals_f(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = _osz(H, k, stride, padding), _osz(W, k, stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((N, F, Ho, Wo)) + b[None, :, None, None]
    for f in range(F):
        for c in range(min(F, C)):
            for y in range(Ho):
                for z in range(Wo):
                    out[:, f, y, z] += (
                        xp[:, c, y * stride : y * stride + k, z * stride : z * stride + k] * w[f, c]
                    ).sum(axis=(1, 2))
    return out


@answer("conv_forward", "wrong", "Pads only the bottom and right (2p there, none on top/left).")
def cf_pad_bottom_right(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = _osz(H, k, stride, padding), _osz(W, k, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * padding), (0, 2 * padding)))
    out = np.zeros((N, F, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            win = xp[:, :, y * stride : y * stride + k, z * stride : z * stride + k]
            out[:, :, y, z] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


_cf_cache = {}


@answer(
    "conv_forward",
    "wrong",
    "Memoises the padded input by shape, so a second call with new values of the same shape reuses the old input.",
)
def cf_memo(x, w, b, stride, padding):
    key = (x.shape, padding)
    if key not in _cf_cache:
        _cf_cache[key] = _pad(x, padding)
    xp = _cf_cache[key]
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = _osz(H, k, stride, padding), _osz(W, k, stride, padding)
    out = np.zeros((N, F, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            win = xp[:, :, y * stride : y * stride + k, z * stride : z * stride + k]
            out[:, :, y, z] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@answer("conv_forward", "wrong", "Accumulates the sums in float16 to save memory.")
def cf_float16(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = _osz(H, k, stride, padding), _osz(W, k, stride, padding)
    xp = _pad(x, padding).astype(np.float16)
    wh = w.astype(np.float16)
    out = np.zeros((N, F, Ho, Wo), dtype=np.float16)
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i : i + stride * Ho : stride, j : j + stride * Wo : stride][:, :, :Ho, :Wo]
            out += np.einsum("nchw,fc->nfhw", patch, wh[:, :, i, j])
    return out.astype(np.float64) + b[None, :, None, None]


@answer(
    "conv_forward",
    "wrong",
    "Hard-codes 'same' padding (k-1)//2 whenever stride is 1, ignoring the padding argument.",
)
def cf_same_pad(x, w, b, stride, padding):
    k = w.shape[2]
    if stride == 1:
        padding = (k - 1) // 2
    N, C, H, W = x.shape
    F = w.shape[0]
    Ho, Wo = _osz(H, k, stride, padding), _osz(W, k, stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((N, F, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            win = xp[:, :, y * stride : y * stride + k, z * stride : z * stride + k]
            out[:, :, y, z] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@answer(
    "conv_forward",
    "wrong",
    "Gaming: returns the bias broadcast over an output of the right shape (zeros plus b).",
)
def cf_zeros(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    return np.zeros((N, F, _osz(H, k, stride, padding), _osz(W, k, stride, padding))) + b[None, :, None, None]


@answer(
    "conv_forward",
    "wrong",
    "Gaming: walks inspect.stack() looking for an array of the output's shape in the caller's locals and returns it (zeros if none).",
)
def cf_probe(x, w, b, stride, padding):
    inspect = __import__("inspect")
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    shape = (N, F, _osz(H, k, stride, padding), _osz(W, k, stride, padding))
    for fr in inspect.stack()[1:]:
        for name, val in fr.frame.f_locals.items():
            if isinstance(val, np.ndarray) and val.shape == shape and val is not x:
                return val.copy()
    return np.zeros(shape)


@answer("conv_forward", "correct", "einsum over a sliding_window_view of the padded input.")
def cf_einsum(x, w, b, stride, padding):
    k = w.shape[2]
    v = np.lib.stride_tricks.sliding_window_view(_pad(x, padding), (k, k), axis=(2, 3))[
        :, :, ::stride, ::stride
    ]
    return np.einsum("nchwij,fcij->nfhw", v, w) + b[None, :, None, None]


@answer(
    "conv_forward", "correct", "Read-only as_strided windows and tensordot, float64 Fortran-ordered output."
)
def cf_as_strided(x, w, b, stride, padding):
    xp = np.ascontiguousarray(_pad(x, padding))
    N, C, Hp, Wp = xp.shape
    F, _, k, _ = w.shape
    Ho, Wo = (Hp - k) // stride + 1, (Wp - k) // stride + 1
    sN, sC, sH, sW = xp.strides
    v = np.lib.stride_tricks.as_strided(
        xp, (N, Ho, Wo, C, k, k), (sN, sH * stride, sW * stride, sC, sH, sW), writeable=False
    )
    out = np.asfortranarray(np.tensordot(v, w, axes=([3, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2))
    return out + b[None, :, None, None]


@answer("conv_forward", "correct", "Loops over kernel offsets outermost, accumulating strided slices.")
def cf_offsets(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = _osz(H, k, stride, padding), _osz(W, k, stride, padding)
    xp = _pad(x, padding)
    out = np.broadcast_to(b[None, :, None, None], (N, F, Ho, Wo)).astype(np.float64)
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i : i + stride * (Ho - 1) + 1 : stride, j : j + stride * (Wo - 1) + 1 : stride]
            out = out + np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    return out


# ============================================================================= conv_backward
def _cb_core(dout, x, w, stride, padding, dw_stride=None, crop=None, dtype=np.float64):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    _, _, Ho, Wo = dout.shape
    xp = _pad(x, padding)
    dxp = np.zeros_like(xp, dtype=np.float64)
    dw = np.zeros(w.shape, dtype=dtype)
    ds = stride if dw_stride is None else dw_stride
    for y in range(Ho):
        for z in range(Wo):
            g = dout[:, :, y, z]
            dxp[:, :, y * stride : y * stride + k, z * stride : z * stride + k] += np.tensordot(
                g, w, axes=([1], [0])
            )
            win = xp[:, :, y * ds : y * ds + k, z * ds : z * ds + k]
            dw += np.tensordot(g, win, axes=([0], [0])).astype(dtype)
    dx = dxp[:, :, padding : padding + H, padding : padding + W] if crop is None else crop(dxp, padding)
    return dx, dw.astype(np.float64), dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "Takes db from the first image only (assumes a batch of one).")
def cb_db_first(dout, x, w, b, stride, padding):
    dx, dw, _ = _cb_core(dout, x, w, stride, padding)
    return dx, dw, dout[0].sum(axis=(1, 2))


@answer(
    "conv_backward", "wrong", "Crops the padding with [p:-p], which returns an empty dx when padding is 0."
)
def cb_crop_neg(dout, x, w, b, stride, padding):
    return _cb_core(dout, x, w, stride, padding, crop=lambda a, p: a[:, :, p:-p, p:-p])


@answer(
    "conv_backward",
    "wrong",
    "dW indexes the input windows as if the stride were 1 (x[y + i] instead of x[y*s + i]).",
)
def cb_dw_stride1(dout, x, w, b, stride, padding):
    return _cb_core(dout, x, w, stride, padding, dw_stride=1)


@answer("conv_backward", "wrong", "Accumulates dW in float16.")
def cb_dw_f16(dout, x, w, b, stride, padding):
    return _cb_core(dout, x, w, stride, padding, dtype=np.float16)


@answer("conv_backward", "wrong", "Assumes a square output: loops over W_out = H_out.")
def cb_square(dout, x, w, b, stride, padding):
    Ho = dout.shape[2]
    N, C, H, W = x.shape
    Wo = dout.shape[3]
    if Wo > Ho:
        dout = dout[:, :, :, :Ho]
    else:
        dout = np.pad(dout, ((0, 0), (0, 0), (0, 0), (0, Ho - Wo)))
        need = (Ho - 1) * stride + w.shape[3] - 2 * padding
        if need > W:
            x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, need - W)))
    dx, dw, db = _cb_core(dout, x, w, stride, padding)
    return dx[..., :W], dw, db


_cb_cache = {}


@answer(
    "conv_backward",
    "wrong",
    "Caches the padded input by shape between calls, so new values of the same shape give stale dW.",
)
def cb_memo(dout, x, w, b, stride, padding):
    key = (x.shape, padding)
    if key not in _cb_cache:
        _cb_cache[key] = x.copy()
    return _cb_core(dout, _cb_cache[key], w, stride, padding)[0:1] and (
        _cb_core(dout, x, w, stride, padding)[0],
        _cb_core(dout, _cb_cache[key], w, stride, padding)[1],
        dout.sum(axis=(0, 2, 3)),
    )


@answer("conv_backward", "correct", "einsum on sliding windows for dW, np.add.at scatter for dx.")
def cb_einsum(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = dout.shape[2:]
    xp = _pad(x, padding)
    v = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride][
        :, :, :Ho, :Wo
    ]
    dw = np.einsum("nfhw,nchwij->fcij", dout, v)
    contrib = np.einsum("nfhw,fcij->nchwij", dout, w)
    dxp = np.zeros_like(xp, dtype=np.float64)
    ys = (np.arange(Ho) * stride)[:, None, None, None] + np.arange(k)[None, None, :, None]
    zs = (np.arange(Wo) * stride)[None, :, None, None] + np.arange(k)[None, None, None, :]
    ys, zs = np.broadcast_arrays(ys, zs)
    np.add.at(dxp, (slice(None), slice(None), ys, zs), contrib)
    return dxp[:, :, padding : padding + H, padding : padding + W], dw, dout.sum(axis=(0, 2, 3))


@answer(
    "conv_backward", "correct", "dx as a full correlation of the stride-dilated dout with the flipped kernel."
)
def cb_full_corr(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = dout.shape[2:]
    xp = _pad(x, padding)
    Hp, Wp = xp.shape[2:]
    dil = np.zeros((N, F, (Ho - 1) * stride + 1, (Wo - 1) * stride + 1))
    dil[:, :, ::stride, ::stride] = dout
    # make the dilated map cover the whole padded input plus k-1 on each side
    big = np.zeros((N, F, Hp + k - 1, Wp + k - 1))
    big[:, :, k - 1 : k - 1 + dil.shape[2], k - 1 : k - 1 + dil.shape[3]] = dil
    wf = w[:, :, ::-1, ::-1]
    dxp = np.zeros((N, C, Hp, Wp))
    for i in range(k):
        for j in range(k):
            dxp += np.einsum("nfhw,fc->nchw", big[:, :, i : i + Hp, j : j + Wp], wf[:, :, i, j])
    dw = np.zeros_like(w, dtype=np.float64)
    for i in range(k):
        for j in range(k):
            dw[:, :, i, j] = np.einsum(
                "nfhw,nchw->fc",
                dout,
                xp[:, :, i : i + stride * (Ho - 1) + 1 : stride, j : j + stride * (Wo - 1) + 1 : stride],
            )
    return dxp[:, :, padding : padding + H, padding : padding + W], dw, np.einsum("nfhw->f", dout)


# ============================================================================= im2col_shape
@answer("im2col_shape", "wrong", "Assumes H == W: rows use H_out squared.")
def i2s_square(N, C, H, W, k, s, p):
    ho = (H + 2 * p - k) // s + 1
    return (N * ho * ho, C * k * k)


@answer("im2col_shape", "wrong", "Leaves out the padding (AlexNet's conv1 has none).")
def i2s_nopad(N, C, H, W, k, s, p):
    return (N * ((H - k) // s + 1) * ((W - k) // s + 1), C * k * k)


@answer("im2col_shape", "wrong", "Leaves the batch out of the rows (assumes N == 1).")
def i2s_n1(N, C, H, W, k, s, p):
    return (((H + 2 * p - k) // s + 1) * ((W + 2 * p - k) // s + 1), C * k * k)


@answer("im2col_shape", "correct", "math.prod over a list of factors, built with range lengths.")
def i2s_prod(N, C, H, W, k, s, p):
    return (
        math.prod([N, len(range(0, H + 2 * p - k + 1, s)), len(range(0, W + 2 * p - k + 1, s))]),
        math.prod((C, k, k)),
    )


# ============================================================================= im2col
def _i2c_ref_like(x, k, s, p, order="cij", rows="nyz", stride_cols=None, Wo=None, Ho=None):
    N, C, H, W = x.shape
    Ho = _osz(H, k, s, p) if Ho is None else Ho
    Wo = _osz(W, k, s, p) if Wo is None else Wo
    xp = _pad(x, p)
    sc = s if stride_cols is None else stride_cols
    out = []
    idx = [(n, y, z) for n in range(N) for y in range(Ho) for z in range(Wo)]
    if rows == "yzn":
        idx = [(n, y, z) for y in range(Ho) for z in range(Wo) for n in range(N)]
    for n, y, z in idx:
        win = xp[n, :, y * s : y * s + k, z * sc : z * sc + k]
        out.append(win.ravel() if order == "cij" else win.transpose(1, 2, 0).ravel())
    return np.array(out).reshape(len(idx), C * k * k)


@answer(
    "im2col", "wrong", "Orders each row's window as (i, j, c), channels last; identical only when C == 1."
)
def i2c_ijc(x, kernel_size, stride, padding):
    return _i2c_ref_like(x, kernel_size, stride, padding, order="ijc")


@answer("im2col", "wrong", "Orders the rows (y, z, n) with the batch innermost; identical only when N == 1.")
def i2c_rows_yzn(x, kernel_size, stride, padding):
    return _i2c_ref_like(x, kernel_size, stride, padding, rows="yzn")


@answer("im2col", "wrong", "Assumes square images: W_out is taken equal to H_out.")
def i2c_square(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    ho = _osz(H, kernel_size, stride, padding)
    xp = _pad(x, padding)
    need = (ho - 1) * stride + kernel_size
    if need > xp.shape[3]:
        xp = np.pad(xp, ((0, 0), (0, 0), (0, 0), (0, need - xp.shape[3])))
    x2 = xp
    return _i2c_ref_like(x2, kernel_size, stride, 0, Ho=ho, Wo=ho)


@answer(
    "im2col",
    "wrong",
    "Keeps the last partial window (ceil mode, zero-filled) when the stride does not divide the span.",
)
def i2c_ceil(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho = -(-(H + 2 * p - k) // s) + 1
    Wo = -(-(W + 2 * p - k) // s) + 1
    xp = _pad(x, p)
    xp = np.pad(
        xp, ((0, 0), (0, 0), (0, (Ho - 1) * s + k - xp.shape[2]), (0, (Wo - 1) * s + k - xp.shape[3]))
    )
    return _i2c_ref_like(xp, k, s, 0, Ho=Ho, Wo=Wo)


_i2c_cache = {}


@answer(
    "im2col",
    "wrong",
    "Memoises the column matrix by input shape, so a second call with new values returns the old columns.",
)
def i2c_memo(x, kernel_size, stride, padding):
    key = (x.shape, kernel_size, stride, padding)
    if key not in _i2c_cache:
        _i2c_cache[key] = _i2c_ref_like(x, kernel_size, stride, padding)
    return _i2c_cache[key]


@answer("im2col", "wrong", "Stride handled only along rows: the window's column start ignores the stride.")
def i2c_stride_rows_only(x, kernel_size, stride, padding):
    return _i2c_ref_like(x, kernel_size, stride, padding, stride_cols=1)


@answer("im2col", "correct", "sliding_window_view, a strided slice, transpose and reshape.")
def i2c_swv(x, kernel_size, stride, padding):
    k = kernel_size
    v = np.lib.stride_tricks.sliding_window_view(_pad(x, padding), (k, k), axis=(2, 3))[
        :, :, ::stride, ::stride
    ]
    N, C, Ho, Wo = v.shape[:4]
    return v.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * k * k)


@answer(
    "im2col",
    "correct",
    "Fills the matrix column by column, looping over (c, i, j), into a Fortran-ordered array.",
)
def i2c_columns(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    xp = _pad(x, p)
    cols = np.empty((N * Ho * Wo, C * k * k), dtype=np.float64, order="F")
    col = 0
    for c in range(C):
        for i in range(k):
            for j in range(k):
                cols[:, col] = xp[:, c, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s].reshape(
                    -1
                )
                col += 1
    return cols


# ============================================================================= col2im
def _c2i_loop(cols, x_shape, k, s, p, assign=False, order="cij", Wo=None, crop=None):
    N, C, H, W = x_shape
    Ho = _osz(H, k, s, p)
    Wo = _osz(W, k, s, p) if Wo is None else Wo
    dxp = np.zeros((N, C, H + 2 * p, max(W + 2 * p, (Wo - 1) * s + k)))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                row = cols[r]
                win = row.reshape(C, k, k) if order == "cij" else row.reshape(k, k, C).transpose(2, 0, 1)
                if assign:
                    dxp[n, :, y * s : y * s + k, z * s : z * s + k] = win
                else:
                    dxp[n, :, y * s : y * s + k, z * s : z * s + k] += win
                r += 1
    if crop is not None:
        return crop(dxp, p)
    return dxp[:, :, p : p + H, p : p + W]


@answer(
    "col2im",
    "wrong",
    "Writes each window with assignment (assumes non-overlapping windows, stride == kernel) so overlapping copies overwrite instead of summing.",
)
def c2i_assign(cols, x_shape, kernel_size, stride, padding):
    return _c2i_loop(cols, x_shape, kernel_size, stride, padding, assign=True)


@answer("col2im", "wrong", "Crops the padding with [p:-p], which gives an empty result when padding is 0.")
def c2i_crop_neg(cols, x_shape, kernel_size, stride, padding):
    return _c2i_loop(cols, x_shape, kernel_size, stride, padding, crop=lambda a, p: a[:, :, p:-p, p:-p])


@answer("col2im", "wrong", "Reads each row's window as (i, j, c), channels last; identical only when C == 1.")
def c2i_ijc(cols, x_shape, kernel_size, stride, padding):
    return _c2i_loop(cols, x_shape, kernel_size, stride, padding, order="ijc")


@answer(
    "col2im",
    "wrong",
    "Averages the copies of each pixel instead of summing them (treats col2im as the inverse of im2col); right only where each pixel is covered once.",
)
def c2i_average(cols, x_shape, kernel_size, stride, padding):
    total = _c2i_loop(cols, x_shape, kernel_size, stride, padding)
    count = _c2i_loop(np.ones_like(cols), x_shape, kernel_size, stride, padding)
    return total / np.maximum(count, 1)


@answer("col2im", "correct", "np.add.at with index grids on the padded gradient.")
def c2i_add_at(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    yy = (np.arange(Ho) * s)[:, None, None, None, None] + np.arange(k)[None, None, None, :, None]
    zz = (np.arange(Wo) * s)[None, :, None, None, None] + np.arange(k)[None, None, None, None, :]
    cc = np.arange(C)[None, None, :, None, None]
    yy, zz, cc = np.broadcast_arrays(yy, zz, cc)
    nn = np.arange(N)[:, None, None, None, None, None]
    g = cols.reshape(N, Ho, Wo, C, k, k)
    np.add.at(dxp, (nn, cc[None], yy[None], zz[None]), g)
    return dxp[:, :, p : p + H, p : p + W]


@answer(
    "col2im",
    "correct",
    "Loops over the k*k kernel offsets (Fortran-ordered scratch array), adding strided slices.",
)
def c2i_offsets(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = _osz(H, k, s, p), _osz(W, k, s, p)
    g = cols.reshape(N, Ho, Wo, C, k, k).transpose(0, 3, 4, 5, 1, 2)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), order="F")
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s] += g[:, :, i, j]
    return np.ascontiguousarray(dxp[:, :, p : p + H, p : p + W])


# ============================================================================= col2im_count_by_hand
@answer("col2im_count_by_hand", "wrong", "Counts with stride 1 (the pattern 1 2 3 2 1) instead of stride 2.")
def c2icbh_stride1(*args):
    a = np.array([1, 2, 3, 2, 1], dtype=float)
    return np.outer(a, a)


@answer("col2im_count_by_hand", "wrong", "Gaming: returns all ones, as if col2im undid im2col.")
def c2icbh_ones():
    return np.ones((5, 5))


@answer("col2im_count_by_hand", "correct", "Outer product of the per-axis counts, as ints.")
def c2icbh_outer():
    a = np.array([1, 1, 2, 1, 1])
    return np.outer(a, a)


# ============================================================================= maxpool_forward
def _mp_loop(x, k, s, init=None, key=None, Wo=None):
    N, C, H, W = x.shape
    Ho = (H - k) // s + 1
    Wo = (W - k) // s + 1 if Wo is None else Wo
    out = np.empty((N, C, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            win = x[:, :, y * s : y * s + k, z * s : z * s + k].reshape(N, C, -1)
            if init is not None:
                win = np.concatenate([win, np.full((N, C, 1), init)], axis=2)
            if key is None:
                out[:, :, y, z] = win.max(axis=2)
            else:
                idx = key(win).argmax(axis=2)
                out[:, :, y, z] = np.take_along_axis(win, idx[..., None], axis=2)[..., 0]
    return out


@answer(
    "maxpool_forward",
    "wrong",
    "Hard-codes AlexNet's 3x3 windows with stride 2, ignoring kernel_size and stride.",
)
def mpf_alexnet(x, kernel_size, stride):
    return _mp_loop(x, 3, 2)


@answer("maxpool_forward", "wrong", "Starts the running maximum at 0, so all-negative windows give 0.")
def mpf_init0(x, kernel_size, stride):
    return _mp_loop(x, kernel_size, stride, init=0.0)


@answer(
    "maxpool_forward",
    "wrong",
    "Picks the entry of largest magnitude (argmax of |x|), which differs only where negatives dominate.",
)
def mpf_abs(x, kernel_size, stride):
    return _mp_loop(x, kernel_size, stride, key=np.abs)


@answer("maxpool_forward", "wrong", "Assumes square inputs: W_out is taken equal to H_out.")
def mpf_square(x, kernel_size, stride):
    Ho = (x.shape[2] - kernel_size) // stride + 1
    Wo = (x.shape[3] - kernel_size) // stride + 1
    if Wo >= Ho:
        return _mp_loop(x, kernel_size, stride, Wo=Ho)
    xp = np.pad(
        x,
        ((0, 0), (0, 0), (0, 0), (0, (Ho - 1) * stride + kernel_size - x.shape[3])),
        constant_values=-np.inf,
    )
    return _mp_loop(xp, kernel_size, stride, Wo=Ho)


@answer(
    "maxpool_forward",
    "wrong",
    "Keeps the last partial window (ceil mode) when the stride does not divide the span.",
)
def mpf_ceil(x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = -(-(H - k) // s) + 1, -(-(W - k) // s) + 1
    out = np.empty((N, C, Ho, Wo))
    for y in range(Ho):
        for z in range(Wo):
            out[:, :, y, z] = x[:, :, y * s : y * s + k, z * s : z * s + k].max(axis=(2, 3))
    return out


_mpf_cache = {}


@answer(
    "maxpool_forward",
    "wrong",
    "Memoises the result by input shape, returning stale maxima for new values of the same shape.",
)
def mpf_memo(x, kernel_size, stride):
    key = (x.shape, kernel_size, stride)
    if key not in _mpf_cache:
        _mpf_cache[key] = _mp_loop(x, kernel_size, stride)
    return _mpf_cache[key].copy()


@answer(
    "maxpool_forward",
    "wrong",
    "Gaming: returns the input subsampled at the window starts (x[..., ::s, ::s] cropped), which looks like a pooled map.",
)
def mpf_subsample(x, kernel_size, stride):
    Ho = (x.shape[2] - kernel_size) // stride + 1
    Wo = (x.shape[3] - kernel_size) // stride + 1
    return x[:, :, ::stride, ::stride][:, :, :Ho, :Wo].copy()


@answer(
    "maxpool_forward",
    "wrong",
    "Gaming: scans gc.get_objects() for a list or dict holding an array of the output's shape and returns it (zeros if none).",
)
def mpf_gc(x, kernel_size, stride):
    gc = __import__("gc")
    shape = (
        x.shape[0],
        x.shape[1],
        (x.shape[2] - kernel_size) // stride + 1,
        (x.shape[3] - kernel_size) // stride + 1,
    )
    for obj in gc.get_objects():
        vals = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list) else ()
        try:
            for v in vals:
                if isinstance(v, np.ndarray) and v.shape == shape and v.dtype == np.float64:
                    return v.copy()
        except Exception:
            pass
    return np.zeros(shape)


@answer(
    "maxpool_forward", "correct", "sliding_window_view with a strided slice and max over the window axes."
)
def mpf_swv(x, kernel_size, stride):
    k = kernel_size
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride].max(
        axis=(4, 5)
    )


@answer("maxpool_forward", "correct", "functools.reduce of np.maximum over the k*k strided slices.")
def mpf_reduce(x, kernel_size, stride):
    k, s = kernel_size, stride
    Ho, Wo = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
    sl = [
        x[:, :, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s]
        for i in range(k)
        for j in range(k)
    ]
    return functools.reduce(np.maximum, sl)


@answer(
    "maxpool_forward",
    "correct",
    "Separable: max over rows of each window first, then over columns, via recursion on pairs.",
)
def mpf_separable(x, kernel_size, stride):
    def pair_max(arrs):
        if len(arrs) == 1:
            return arrs[0]
        h = len(arrs) // 2
        return np.maximum(pair_max(arrs[:h]), pair_max(arrs[h:]))

    k, s = kernel_size, stride
    Ho, Wo = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
    rows = pair_max([x[:, :, i : i + s * (Ho - 1) + 1 : s, :] for i in range(k)])
    return pair_max([rows[:, :, :, j : j + s * (Wo - 1) + 1 : s] for j in range(k)])


# ============================================================================= maxpool_backward
def _mpb_loop(dout, x, k, s, mode="first", assign=False, key=None):
    N, C, H, W = x.shape
    Ho, Wo = dout.shape[2:]
    dx = np.zeros(x.shape, dtype=np.float64)
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    win = x[n, c, y * s : y * s + k, z * s : z * s + k]
                    kw = win if key is None else key(win)
                    if mode == "all":
                        m = (kw == kw.max()).astype(float)
                        dx[n, c, y * s : y * s + k, z * s : z * s + k] += m * dout[n, c, y, z]
                        continue
                    a, bb = np.unravel_index(np.argmax(kw), kw.shape)
                    if assign:
                        dx[n, c, y * s + a, z * s + bb] = dout[n, c, y, z]
                    else:
                        dx[n, c, y * s + a, z * s + bb] += dout[n, c, y, z]
    return dx


@answer("maxpool_backward", "wrong", "Routes the gradient to every tied maximum instead of the first one.")
def mpb_all_ties(dout, x, kernel_size, stride):
    return _mpb_loop(dout, x, kernel_size, stride, mode="all")


@answer(
    "maxpool_backward",
    "wrong",
    "Assigns instead of accumulating (assumes non-overlapping windows), so a pixel that is the maximum of two windows keeps only one gradient.",
)
def mpb_assign(dout, x, kernel_size, stride):
    return _mpb_loop(dout, x, kernel_size, stride, assign=True)


@answer("maxpool_backward", "wrong", "Hard-codes AlexNet's 3x3/2 windows, ignoring kernel_size and stride.")
def mpb_alexnet(dout, x, kernel_size, stride):
    return _mpb_loop(dout, x, 3, 2)


@answer(
    "maxpool_backward",
    "wrong",
    "Finds each window's argmax on |x|, which is wrong only where a negative entry has the largest magnitude.",
)
def mpb_abs(dout, x, kernel_size, stride):
    return _mpb_loop(dout, x, kernel_size, stride, key=np.abs)


@answer(
    "maxpool_backward",
    "wrong",
    "Special case: returns zeros when x has no positive entry, assuming the pool always follows a ReLU.",
)
def mpb_nonpos(dout, x, kernel_size, stride):
    if np.all(x <= 0):
        return np.zeros_like(x)
    return _mpb_loop(dout, x, kernel_size, stride)


@answer(
    "maxpool_backward",
    "correct",
    "Vectorised: argmax over flattened sliding windows, scattered with np.add.at.",
)
def mpb_vec(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    N, C, H, W = x.shape
    Ho, Wo = dout.shape[2:]
    v = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :Ho, :Wo]
    am = v.reshape(N, C, Ho, Wo, k * k).argmax(axis=-1)
    ys = np.arange(Ho)[None, None, :, None] * s + am // k
    zs = np.arange(Wo)[None, None, None, :] * s + am % k
    nn = np.arange(N)[:, None, None, None]
    cc = np.arange(C)[None, :, None, None]
    dx = np.zeros(x.shape)
    np.add.at(dx, (nn, cc, ys, zs), dout)
    return dx


@answer(
    "maxpool_backward",
    "correct",
    "Loops over kernel offsets in reverse row-major order, overwriting a 'winner' index only on >= so the first maximum wins, then scatters.",
)
def mpb_reverse(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    Ho, Wo = dout.shape[2:]
    best = np.full(dout.shape, -np.inf)
    wi = np.zeros(dout.shape, dtype=int)
    wj = np.zeros(dout.shape, dtype=int)
    for i in reversed(range(k)):
        for j in reversed(range(k)):
            val = x[:, :, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s]
            take = val >= best
            best = np.where(take, val, best)
            wi = np.where(take, i, wi)
            wj = np.where(take, j, wj)
    dx = np.zeros(x.shape)
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s] += dout * (
                (wi == i) & (wj == j)
            )
    return dx


# ============================================================================= maxpool_dx_by_hand
_MPX = np.array(
    [[1, 2, 9, 0, 3], [4, 0, 1, 2, 1], [0, 3, 2, 8, 0], [5, 1, 0, 4, 2], [0, 7, 1, 0, 6]], dtype=float
)
_MPD = np.array([[1, 2], [4, -1]], dtype=float)


def _mpdx(route_assign=False, dout=_MPD):
    dx = np.zeros((5, 5))
    for y in range(2):
        for z in range(2):
            win = _MPX[2 * y : 2 * y + 3, 2 * z : 2 * z + 3]
            a, b = np.unravel_index(np.argmax(win), (3, 3))
            if route_assign:
                dx[2 * y + a, 2 * z + b] = dout[y, z]
            else:
                dx[2 * y + a, 2 * z + b] += dout[y, z]
    return dx


@answer(
    "maxpool_dx_by_hand",
    "wrong",
    "Does not add the two gradients at the pixel (the 9) that is the maximum of two overlapping windows: the later one overwrites.",
)
def mpdbh_assign():
    return _mpdx(route_assign=True)


@answer(
    "maxpool_dx_by_hand",
    "wrong",
    "Pools with non-overlapping 2x2 windows (stride 2, kernel 2) as in VGG instead of 3x3/2.",
)
def mpdbh_2x2():
    dx = np.zeros((5, 5))
    for y in range(2):
        for z in range(2):
            win = _MPX[2 * y : 2 * y + 2, 2 * z : 2 * z + 2]
            a, b = np.unravel_index(np.argmax(win), (2, 2))
            dx[2 * y + a, 2 * z + b] += _MPD[y, z]
    return dx


@answer("maxpool_dx_by_hand", "correct", "Computed with a small routing loop rather than typed.")
def mpdbh_loop():
    return _mpdx()


# ============================================================================= lrn_window
@answer(
    "lrn_window",
    "wrong",
    "Uses a symmetric window of size//2 on both sides, which is one channel too wide for even sizes.",
)
def lw_symmetric(c, C, size):
    return max(0, c - size // 2), min(C, c + size // 2 + 1)


@answer("lrn_window", "wrong", "Hard-codes AlexNet's size 5 (c - 2 ... c + 2).")
def lw_size5(c, C, size):
    return max(0, c - 2), min(C, c + 3)


@answer(
    "lrn_window", "wrong", "Puts the extra channel of an even window after c instead of before it (mirrored)."
)
def lw_mirrored(c, C, size):
    return max(0, c - (size - 1) // 2), min(C, c + size // 2 + 1)


@answer(
    "lrn_window",
    "correct",
    "Clips a Python range against range(C) and returns its first and one-past-last element.",
)
def lw_range(c, C, size):
    r = [j for j in range(c - size // 2, c + (size - 1) // 2 + 1) if 0 <= j < C]
    return r[0], r[-1] + 1


@answer("lrn_window", "correct", "np.clip on the unclipped ends, cast back to int.")
def lw_clip(c, C, size):
    lo, hi = np.clip([c - size // 2, c - size // 2 + size], 0, C)
    return int(lo), int(hi)


# ============================================================================= lrn_forward
def _lrn_scale_loop(x, size, alpha, k, window=None, dtype=np.float64):
    C = x.shape[1]
    window = window or (lambda c: _win(c, C, size))
    sq = (x.astype(dtype)) ** 2
    s = np.empty(x.shape, dtype=np.float64)
    for c in range(C):
        lo, hi = window(c)
        if isinstance(lo, list):
            acc = sq[:, lo].sum(axis=1, dtype=dtype)
        else:
            acc = sq[:, lo:hi].sum(axis=1, dtype=dtype)
        s[:, c] = k + alpha * acc.astype(np.float64)
    return s


@answer("lrn_forward", "wrong", "Hard-codes AlexNet's k = 2, ignoring the k passed in.")
def lf_k2(x, size, alpha, beta, k):
    return x * _lrn_scale_loop(x, size, alpha, 2.0) ** (-beta)


@answer("lrn_forward", "wrong", "Hard-codes beta = 0.75, ignoring the beta passed in.")
def lf_beta(x, size, alpha, beta, k):
    return x * _lrn_scale_loop(x, size, alpha, k) ** (-0.75)


@answer(
    "lrn_forward", "wrong", "Uses a symmetric window of size//2 on both sides, wrong only for even sizes."
)
def lf_even(x, size, alpha, beta, k):
    C = x.shape[1]
    return x * _lrn_scale_loop(
        x, size, alpha, k, window=lambda c: (max(0, c - size // 2), min(C, c + size // 2 + 1))
    ) ** (-beta)


@answer(
    "lrn_forward",
    "wrong",
    "Wraps the window around the channel axis (np.roll indices) instead of clipping it at the edges.",
)
def lf_wrap(x, size, alpha, beta, k):
    C = x.shape[1]
    return x * _lrn_scale_loop(
        x,
        size,
        alpha,
        k,
        window=lambda c: ([j % C for j in range(c - size // 2, c + (size - 1) // 2 + 1)], None),
    ) ** (-beta)


@answer("lrn_forward", "wrong", "Sums the squares in float16.")
def lf_f16(x, size, alpha, beta, k):
    return x * _lrn_scale_loop(x, size, alpha, k, dtype=np.float16) ** (-beta)


_lf_cache = {}


@answer(
    "lrn_forward",
    "wrong",
    "Memoises the scale by (shape, size), so a second call with new values uses the old denominators.",
)
def lf_memo(x, size, alpha, beta, k):
    key = (x.shape, size)
    if key not in _lf_cache:
        _lf_cache[key] = _lrn_scale_loop(x, size, alpha, k)
    return x * _lf_cache[key] ** (-beta)


@answer(
    "lrn_forward",
    "wrong",
    "Gaming: returns the input unchanged (LRN 'barely changes anything' with alpha = 1e-4).",
)
def lf_identity(x, size, alpha, beta, k):
    return x.copy()


@answer("lrn_forward", "wrong", "Uses x * |x| as the square, which is wrong only for negative activations.")
def lf_signed_square(x, size, alpha, beta, k):
    C = x.shape[1]
    sq = x * np.abs(x)
    s = np.empty(x.shape)
    for c in range(C):
        lo, hi = _win(c, C, size)
        s[:, c] = k + alpha * sq[:, lo:hi].sum(axis=1)
    return x * s ** (-beta)


@answer("lrn_forward", "correct", "Window sums from a cumulative sum over a zero-padded channel axis.")
def lf_cumsum(x, size, alpha, beta, k):
    C = x.shape[1]
    sq = x * x
    cs = np.concatenate([np.zeros_like(sq[:, :1]), np.cumsum(sq, axis=1)], axis=1)
    lo = np.maximum(np.arange(C) - size // 2, 0)
    hi = np.minimum(np.arange(C) + (size - 1) // 2 + 1, C)
    s = k + alpha * (cs[:, hi] - cs[:, lo])
    return x / s**beta


@answer("lrn_forward", "correct", "A banded 0/1 channel matrix applied with einsum, then exp(-beta*log(s)).")
def lf_band(x, size, alpha, beta, k):
    C = x.shape[1]
    c = np.arange(C)
    band = ((c[None, :] >= c[:, None] - size // 2) & (c[None, :] <= c[:, None] + (size - 1) // 2)).astype(
        float
    )
    s = k + alpha * np.einsum("cj,njhw->nchw", band, x * x)
    return x * np.exp(-beta * np.log(s))


# ============================================================================= lrn_cross_derivative
@answer("lrn_cross_derivative", "wrong", "Drops the minus sign.")
def lcd_sign(a_c, a_j, s_c, alpha, beta, k):
    return 2 * alpha * beta * a_c * a_j * s_c ** (-beta - 1)


@answer("lrn_cross_derivative", "wrong", "Uses the exponent -beta instead of -beta - 1.")
def lcd_exponent(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_c * a_j * s_c ** (-beta)


@answer("lrn_cross_derivative", "wrong", "Hard-codes beta = 0.75.")
def lcd_beta(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * 0.75 * a_c * a_j * s_c ** (-1.75)


@answer(
    "lrn_cross_derivative",
    "wrong",
    "Uses a_j squared instead of a_c * a_j (mixes up which activation is in the numerator), equal only when a_c == a_j.",
)
def lcd_aj2(a_c, a_j, s_c, alpha, beta, k):
    return -2 * alpha * beta * a_j * a_j * s_c ** (-beta - 1)


@answer(
    "lrn_cross_derivative", "correct", "Written as -2*alpha*beta*a_c*a_j*exp(-(beta+1)*log(s_c)), k unused."
)
def lcd_exp(a_c, a_j, s_c, alpha, beta, k):
    return -2.0 * alpha * beta * a_c * a_j * np.exp(-(beta + 1.0) * np.log(s_c))


# ============================================================================= lrn_backward
def _lrn_bwd(dout, x, size, alpha, beta, k, cross=True, rev=True, skip_self=False, s_own=False, kk=None):
    C = x.shape[1]
    s = _lrn_scale_loop(x, size, alpha, k if kk is None else kk)
    dx = dout * s ** (-beta)
    if not cross:
        return dx
    t = dout * x * s ** (-beta - 1)
    for j in range(C):
        acc = np.zeros_like(x[:, 0])
        for c in range(C):
            if skip_self and c == j:
                continue
            lo, hi = _win(c, C, size) if rev else _win(j, C, size)
            if rev and not (lo <= j < hi):
                continue
            if not rev and not (lo <= c < hi):
                continue
            acc += (dout[:, c] * x[:, c] * s[:, j] ** (-beta - 1)) if s_own else t[:, c]
        dx[:, j] -= 2 * alpha * beta * x[:, j] * acc
    return dx


@answer(
    "lrn_backward",
    "wrong",
    "Keeps only the direct term dout * s^-beta, forgetting the path through the other channels' denominators.",
)
def lb_direct_only(dout, x, size, alpha, beta, k):
    return _lrn_bwd(dout, x, size, alpha, beta, k, cross=False)


@answer(
    "lrn_backward",
    "wrong",
    "Sums the cross term over channel j's own window instead of the channels c whose window contains j (differs for even sizes).",
)
def lb_not_transposed(dout, x, size, alpha, beta, k):
    return _lrn_bwd(dout, x, size, alpha, beta, k, rev=False)


@answer("lrn_backward", "wrong", "Hard-codes k = 2 when recomputing the scale.")
def lb_k2(dout, x, size, alpha, beta, k):
    return _lrn_bwd(dout, x, size, alpha, beta, k, kk=2.0)


@answer(
    "lrn_backward",
    "wrong",
    "Uses s_j instead of s_c in the cross term; cancels when the scale is the same in every channel.",
)
def lb_s_own(dout, x, size, alpha, beta, k):
    return _lrn_bwd(dout, x, size, alpha, beta, k, s_own=True)


@answer(
    "lrn_backward",
    "wrong",
    "Gaming: returns dout scaled by k^-beta plus tiny seeded noise, which looks like a plausible gradient.",
)
def lb_noise(dout, x, size, alpha, beta, k):
    rng = np.random.default_rng(0)
    return dout * k ** (-beta) + 1e-6 * rng.standard_normal(dout.shape)


@answer(
    "lrn_backward",
    "correct",
    "Banded channel matrix: the transposed band carries the cross term, all in einsum.",
)
def lb_band(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    c = np.arange(C)
    band = ((c[None, :] >= c[:, None] - size // 2) & (c[None, :] <= c[:, None] + (size - 1) // 2)).astype(
        float
    )
    s = k + alpha * np.einsum("cj,njhw->nchw", band, x * x)
    t = dout * x * s ** (-beta - 1)
    return dout * s ** (-beta) - 2 * alpha * beta * x * np.einsum("cj,nchw->njhw", band, t)


@answer(
    "lrn_backward",
    "correct",
    "Explicit loops over (c, j) pairs with the chain rule, float64 scratch in Fortran order.",
)
def lb_pairs(dout, x, size, alpha, beta, k):
    N, C, H, W = x.shape
    s = np.empty(x.shape, order="F")
    for c in range(C):
        lo, hi = _win(c, C, size)
        s[:, c] = k + alpha * (x[:, lo:hi] ** 2).sum(axis=1)
    dx = np.zeros(x.shape, order="F")
    for c in range(C):
        lo, hi = _win(c, C, size)
        dx[:, c] += dout[:, c] * s[:, c] ** (-beta)
        for j in range(lo, hi):
            dx[:, j] += dout[:, c] * (-2 * alpha * beta * x[:, c] * x[:, j] * s[:, c] ** (-beta - 1))
    return dx


# ============================================================================= softmax_cross_entropy
def _sce(logits, labels, shift="row", mean=True, clip=None):
    z = np.asarray(logits, dtype=np.float64)
    N = z.shape[0]
    if shift == "row":
        z = z - z.max(axis=1, keepdims=True)
    elif shift == "global":
        z = z - z.max()
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    pl = p[np.arange(N), labels]
    if clip is not None:
        pl = np.clip(pl, clip, 1.0)
    loss = -np.log(pl).sum()
    d = p.copy()
    d[np.arange(N), labels] -= 1
    if mean:
        return float(loss / N), d / N
    return float(loss), d


@answer(
    "softmax_cross_entropy",
    "wrong",
    "Skips the max subtraction (fine for small logits, overflows to nan for huge ones).",
)
def sce_nomax(logits, labels):
    return _sce(logits, labels, shift=None)


@answer(
    "softmax_cross_entropy",
    "wrong",
    "Subtracts the batch-wide maximum instead of each row's, so rows far below it underflow to log(0).",
)
def sce_global(logits, labels):
    return _sce(logits, labels, shift="global")


@answer(
    "softmax_cross_entropy",
    "wrong",
    "Sums the loss and the gradient over the batch instead of averaging (right only for N == 1).",
)
def sce_sum(logits, labels):
    return _sce(logits, labels, mean=False)


@answer("softmax_cross_entropy", "wrong", "Uses labels[0] for every row (written for a batch of one).")
def sce_label0(logits, labels):
    labels = np.full(len(labels), np.asarray(labels).ravel()[0])
    return _sce(logits, labels)


_sce_cache = {}


@answer(
    "softmax_cross_entropy",
    "wrong",
    "Memoises the softmax probabilities by logits' shape, reusing stale probabilities for new logits.",
)
def sce_memo(logits, labels):
    z = np.asarray(logits, dtype=np.float64)
    if z.shape not in _sce_cache:
        zz = z - z.max(axis=1, keepdims=True)
        e = np.exp(zz)
        _sce_cache[z.shape] = e / e.sum(axis=1, keepdims=True)
    p = _sce_cache[z.shape]
    N = z.shape[0]
    d = p.copy()
    d[np.arange(N), labels] -= 1
    return float(-np.log(p[np.arange(N), labels]).mean()), d / N


@answer("softmax_cross_entropy", "correct", "log-softmax via np.logaddexp.reduce per row.")
def sce_logaddexp(logits, labels):
    z = np.asarray(logits, dtype=np.float64)
    N = z.shape[0]
    lse = np.logaddexp.reduce(z, axis=1)
    logp = z - lse[:, None]
    d = np.exp(logp)
    d[np.arange(N), labels] -= 1.0
    return float(-logp[np.arange(N), labels].mean()), d / N


@answer(
    "softmax_cross_entropy",
    "correct",
    "A plain Python loop over rows with math.exp / math.log and a one-hot built by np.eye.",
)
def sce_loop(logits, labels):
    z = np.asarray(logits, dtype=np.float64)
    N, K = z.shape
    onehot = np.eye(K)[np.asarray(labels)]
    loss = 0.0
    d = np.empty_like(z)
    for n in range(N):
        m = max(z[n])
        ex = [math.exp(v - m) for v in z[n]]
        tot = math.fsum(ex)
        loss += math.log(tot) + m - z[n, labels[n]]
        d[n] = np.array(ex) / tot - onehot[n]
    return loss / N, d / N


# ============================================================================= softmax_by_hand
@answer("softmax_by_hand", "wrong", "Flips the gradient's sign (one-hot minus softmax).")
def sbh_sign():
    return math.log(8 / 3), np.array([-1 / 8, 5 / 8, -1 / 2])


@answer(
    "softmax_by_hand",
    "wrong",
    "Reads label 1 as the first class (1-based), giving loss log(8) and the one-hot at index 0.",
)
def sbh_one_based():
    return math.log(8), np.array([1 / 8 - 1, 3 / 8, 1 / 2])


@answer(
    "softmax_by_hand", "correct", "Computed numerically from z with np.exp, returned as (numpy float, list)."
)
def sbh_numeric():
    z = np.log(np.array([1.0, 3.0, 4.0]))
    p = np.exp(z) / np.exp(z).sum()
    d = p.copy()
    d[1] -= 1
    return -np.log(p[1]), list(d)


# ============================================================================= dropout_scale
@answer("dropout_scale", "wrong", "Swaps the paper's two modes: 1 - p in training and 1 at test time.")
def ds_paper_swapped(p, convention, train):
    if convention == "pytorch":
        return 1.0 / (1.0 - p) if train else 1.0
    return (1.0 - p) if train else 1.0


@answer(
    "dropout_scale", "wrong", "Hard-codes p = 0.5 (AlexNet's value): the PyTorch training factor is always 2."
)
def ds_half(p, convention, train):
    if convention == "pytorch":
        return 2.0 if train else 1.0
    return 1.0 if train else 1.0 - p


@answer(
    "dropout_scale",
    "wrong",
    "Multiplies by 1 - p instead of dividing by it in PyTorch's training mode (equal only for p = 0).",
)
def ds_times(p, convention, train):
    if convention == "pytorch":
        return (1.0 - p) if train else 1.0
    return 1.0 if train else 1.0 - p


@answer("dropout_scale", "correct", "A dict lookup of lambdas keyed by (convention, train).")
def ds_dict(p, convention, train):
    table = {
        ("pytorch", True): lambda q: 1 / (1 - q),
        ("pytorch", False): lambda q: 1.0,
        ("paper", True): lambda q: 1.0,
        ("paper", False): lambda q: 1 - q,
    }
    return float(table[(convention, bool(train))](p))


# ============================================================================= dropout_forward / backward
def _dscale(p, convention, train):
    if convention == "pytorch":
        return 1.0 / (1.0 - p) if train else 1.0
    return 1.0 if train else 1.0 - p


@answer("dropout_forward", "wrong", "Applies the mask at test time too in the paper's convention.")
def df_paper_mask_test(x, mask, p, convention, train):
    if not train and convention == "paper":
        return x * mask * (1 - p)
    return x * mask * _dscale(p, convention, train) if train else x * _dscale(p, convention, train)


@answer("dropout_forward", "wrong", "Hard-codes p = 0.5: PyTorch training multiplies kept elements by 2.")
def df_half(x, mask, p, convention, train):
    if train and convention == "pytorch":
        return x * mask * 2.0
    return x * mask * _dscale(p, convention, train) if train else x * _dscale(p, convention, train)


@answer("dropout_forward", "wrong", "Reads the mask as a drop-mask (True = drop).")
def df_dropmask(x, mask, p, convention, train):
    return x * ~mask * _dscale(p, convention, train) if train else x * _dscale(p, convention, train)


@answer(
    "dropout_forward",
    "wrong",
    "Gaming: returns x unchanged in every mode (the expectation is the same anyway).",
)
def df_identity(x, mask, p, convention, train):
    return x.copy()


@answer("dropout_forward", "correct", "np.where on the mask with the factor from a match statement.")
def df_where(x, mask, p, convention, train):
    match (convention, bool(train)):
        case ("pytorch", True):
            f = 1.0 / (1.0 - p)
        case ("paper", False):
            f = 1.0 - p
        case _:
            f = 1.0
    return np.where(mask, x * f, 0.0) if train else x * f


@answer("dropout_backward", "wrong", "Forgets the 1/(1 - p) factor in PyTorch's convention (just masks).")
def db_noscale(dout, mask, p, convention):
    return dout * mask


@answer("dropout_backward", "wrong", "Hard-codes p = 0.5 (factor 2) for PyTorch's convention.")
def db_half(dout, mask, p, convention):
    return dout * mask * (2.0 if convention == "pytorch" else 1.0)


@answer("dropout_backward", "wrong", "Mixes up the arguments: masks with dout > 0 instead of the keep-mask.")
def db_sign_mask(dout, mask, p, convention):
    return dout * (dout > 0) * (1.0 / (1.0 - p) if convention == "pytorch" else 1.0)


@answer("dropout_backward", "correct", "np.where with the factor, as float64 Fortran-order array.")
def db_where(dout, mask, p, convention):
    f = 1.0 / (1.0 - p) if convention == "pytorch" else 1.0
    return np.asfortranarray(np.where(mask, dout * f, 0.0))


# ============================================================================= sgd_terminal_velocity
@answer("sgd_terminal_velocity", "wrong", "Drops the minus sign (v points along g).")
def stv_sign(g, momentum, lr):
    return lr * g / (1 - momentum)


@answer("sgd_terminal_velocity", "wrong", "Hard-codes momentum 0.9 (factor 10).")
def stv_m09(g, momentum, lr):
    return -10.0 * lr * g


@answer(
    "sgd_terminal_velocity",
    "correct",
    "Sums the geometric series in closed form with an explicit sign flip: -(lr*g) * (1/(1-momentum)).",
)
def stv_closed(g, momentum, lr):
    return -(lr * g) * (1.0 / (1.0 - momentum))


# ============================================================================= sgd_momentum_paper
@answer("sgd_momentum_paper", "wrong", "Does not multiply the weight decay by the learning rate.")
def sgd_decay_no_lr(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * w
    v -= lr * g
    w += v


@answer("sgd_momentum_paper", "wrong", "Hard-codes the paper's weight decay 5e-4, ignoring the argument.")
def sgd_wd_fixed(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= 5e-4 * lr * w
    v -= lr * g
    w += v


@answer(
    "sgd_momentum_paper",
    "wrong",
    "Mixes up w and g (same shape): decays the gradient and steps along the weights.",
)
def sgd_swap_wg(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * lr * g
    v -= lr * w
    w += v


@answer(
    "sgd_momentum_paper",
    "wrong",
    "Special case: skips the whole update when the gradient is all zeros (so momentum and decay stop).",
)
def sgd_skip_zero(w, v, g, momentum, weight_decay, lr):
    if not np.any(g):
        return
    v *= momentum
    v -= weight_decay * lr * w
    v -= lr * g
    w += v


@answer("sgd_momentum_paper", "wrong", "Returns new (w, v) computed in float16.")
def sgd_f16(w, v, g, momentum, weight_decay, lr):
    w16, v16, g16 = (a.astype(np.float16) for a in (w, v, g))
    v16 = np.float16(momentum) * v16 - np.float16(weight_decay * lr) * w16 - np.float16(lr) * g16
    return (w16 + v16).astype(np.float64), v16.astype(np.float64)


@answer("sgd_momentum_paper", "correct", "In place with out= ufunc calls.")
def sgd_out(w, v, g, momentum, weight_decay, lr):
    np.multiply(v, momentum, out=v)
    np.subtract(v, (weight_decay * lr) * w, out=v)
    np.subtract(v, lr * g, out=v)
    np.add(w, v, out=w)


@answer("sgd_momentum_paper", "correct", "Pure: returns fresh (w, v) without touching the inputs.")
def sgd_pure(w, v, g, momentum, weight_decay, lr):
    v_new = momentum * v - lr * (weight_decay * w + g)
    return w + v_new, v_new


# ============================================================================= linear_dw_by_hand
_LX = np.array([[1, 2], [0, -1]], dtype=float)
_LD = np.array([[1, 0, 2], [-1, 3, 1]], dtype=float)


@answer(
    "linear_dw_by_hand", "wrong", "Uses only the first sample's outer product (as if the batch had one row)."
)
def ldbh_first():
    return np.outer(_LD[0], _LX[0])


@answer("linear_dw_by_hand", "wrong", "Averages over the batch (divides by 2).")
def ldbh_mean():
    return _LD.T @ _LX / 2


@answer("linear_dw_by_hand", "correct", "Typed as nested lists of ints.")
def ldbh_typed():
    return [[1, 3], [0, -3], [2, 3]]


# ============================================================================= linear_forward
@answer(
    "linear_forward",
    "wrong",
    "Computes x @ w + b (no transpose); it runs only when in == out, and then gives the transposed weight's result.",
)
def lf_no_t(x, w, b):
    return x @ w + b


@answer("linear_forward", "wrong", "Accumulates the matrix product in float16.")
def lfw_f16(x, w, b):
    return (x.astype(np.float16) @ w.T.astype(np.float16)).astype(np.float64) + b


_lfw_cache = {}


@answer(
    "linear_forward",
    "wrong",
    "Memoises x @ w.T by the shapes, so new values of the same shapes return stale outputs (plus the new bias).",
)
def lfw_memo(x, w, b):
    key = (x.shape, w.shape)
    if key not in _lfw_cache:
        _lfw_cache[key] = x @ w.T
    return _lfw_cache[key] + b


@answer("linear_forward", "wrong", "Special case for a batch of one: skips the bias when N == 1.")
def lfw_nobias_n1(x, w, b):
    if x.shape[0] == 1:
        return x @ w.T
    return x @ w.T + b


@answer("linear_forward", "wrong", "Gaming: returns the bias broadcast to (N, out), zeros for x @ w.T.")
def lfw_zeros(x, w, b):
    return np.zeros((x.shape[0], w.shape[0])) + b


@answer("linear_forward", "correct", "einsum 'ni,oi->no'.")
def lfw_einsum(x, w, b):
    return np.einsum("ni,oi->no", x, w) + b


@answer("linear_forward", "correct", "Computes (w @ x.T).T and adds b as a column before transposing.")
def lfw_wx(x, w, b):
    return (w @ x.T + b[:, None]).T


# ============================================================================= linear_backward
@answer(
    "linear_backward",
    "wrong",
    "Returns dW as x.T @ dout, shape (in, out); transposed, and silently wrong when in == out.",
)
def lb_dw_t(dout, x, w, b):
    return dout @ w, x.T @ dout, dout.sum(axis=0)


@answer("linear_backward", "wrong", "Takes db from the first sample only (assumes N == 1).")
def lb_db_first(dout, x, w, b):
    return dout @ w, dout.T @ x, dout[0].copy()


@answer(
    "linear_backward",
    "wrong",
    "Computes dx = dout @ w.T, which runs only when in == out, and then uses the transposed weight.",
)
def lb_dx_t(dout, x, w, b):
    return dout @ w.T, dout.T @ x, dout.sum(axis=0)


@answer(
    "linear_backward",
    "wrong",
    "Special case for zero inputs: returns dW = 0 and dx = 0 when x is all zeros, but also zeroes dx, which does not depend on x.",
)
def lb_zero_x(dout, x, w, b):
    if not np.any(x):
        return np.zeros_like(x), np.zeros_like(w), dout.sum(axis=0)
    return dout @ w, dout.T @ x, dout.sum(axis=0)


@answer("linear_backward", "correct", "einsum for all three gradients.")
def lb_einsum(dout, x, w, b):
    return np.einsum("no,oi->ni", dout, w), np.einsum("no,ni->oi", dout, x), np.einsum("no->o", dout)


@answer("linear_backward", "correct", "Sum of per-sample outer products for dW, loop over samples.")
def lb_outer(dout, x, w, b):
    dw = np.zeros(w.shape)
    dx = np.empty(x.shape)
    for n in range(x.shape[0]):
        dw += np.outer(dout[n], x[n])
        dx[n] = w.T @ dout[n]
    return dx, dw, dout.sum(axis=0)


# ============================================================================= relu_derivative
@answer("relu_derivative", "wrong", "Returns 1.0 for every x (only thought about positive activations).")
def rd_one(x):
    return 1.0


@answer("relu_derivative", "wrong", "Returns sign(x): -1 for negative inputs.")
def rd_sign(x):
    return float(np.sign(x))


@answer("relu_derivative", "correct", "(sign(x) + 1) / 2 as a float.")
def rd_signhalf(x):
    return float((np.sign(x) + 1) / 2)


# ============================================================================= relu_forward
@answer(
    "relu_forward",
    "wrong",
    "Fast path returns x when it has no negatives; the general path clips to [0, 1] (values above 1 are lost).",
)
def rf_clip01(x):
    if x.min() >= 0:
        return x.copy()
    return np.clip(x, 0, 1)


_rf_cache = {}


@answer("relu_forward", "wrong", "Memoises the positive mask by shape and reuses it for new values.")
def rf_memo(x):
    if x.shape not in _rf_cache:
        _rf_cache[x.shape] = x > 0
    return x * _rf_cache[x.shape]


@answer("relu_forward", "wrong", "Gaming: returns the input itself.")
def rf_identity(x):
    return x


@answer("relu_forward", "wrong", "Applies the ReLU to the first image only (written for a batch of one).")
def rf_first(x):
    out = np.array(x, dtype=np.float64, copy=True)
    out[0] = np.maximum(out[0], 0)
    return out


@answer("relu_forward", "correct", "(x + |x|) / 2.")
def rf_absavg(x):
    return (x + np.abs(x)) / 2


@answer("relu_forward", "correct", "clip(min=0) into a Fortran-ordered copy.")
def rf_clipf(x):
    return np.asfortranarray(x).clip(min=0)


# ============================================================================= relu_backward
@answer(
    "relu_backward", "wrong", "Masks with dout > 0 instead of x > 0 (the two arguments have the same shape)."
)
def rb_dout_mask(dout, x):
    return dout * (dout > 0)


@answer("relu_backward", "wrong", "Lets the gradient through at x == 0 (x >= 0).")
def rb_ge(dout, x):
    return dout * (x >= 0)


@answer(
    "relu_backward",
    "wrong",
    "Multiplies dout by relu(x) instead of the 0/1 mask (right only where x is 0 or 1).",
)
def rb_times_relu(dout, x):
    return dout * np.maximum(x, 0)


@answer("relu_backward", "wrong", "Gaming: returns dout unchanged.")
def rb_identity(dout, x):
    return dout.copy()


@answer("relu_backward", "correct", "np.where(x > 0, dout, 0.0).")
def rb_where(dout, x):
    return np.where(x > 0, dout, 0.0)


# ============================================================================= batchnorm_dx_formula
@answer("batchnorm_dx_formula", "wrong", "Forgets the term through the variance (xhat_i * sum_g_xhat).")
def bdf_no_var(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std / n * (n * g_i - sum_g)


@answer("batchnorm_dx_formula", "wrong", "Divides by n - 1 (unbiased variance habit).")
def bdf_nm1(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std / (n - 1) * ((n - 1) * g_i - sum_g - xhat_i * sum_g_xhat)


@answer("batchnorm_dx_formula", "wrong", "Hard-codes gamma = 1 (freshly initialised layer).")
def bdf_gamma1(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return inv_std / n * (n * g_i - sum_g - xhat_i * sum_g_xhat)


@answer(
    "batchnorm_dx_formula", "correct", "Expanded form gamma*inv_std*(g_i - mean(g) - xhat_i*mean(g*xhat))."
)
def bdf_expanded(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n):
    return gamma * inv_std * (g_i - sum_g / n - xhat_i * (sum_g_xhat / n))


# ============================================================================= batchnorm_forward
def _bn_xhat(x, eps, ddof=0):
    mu = x.mean(axis=0)
    var = x.var(axis=0, ddof=ddof)
    return (x - mu) / np.sqrt(var + eps)


@answer("batchnorm_forward", "wrong", "Uses the unbiased variance (ddof = 1).")
def bnf_unbiased(x, gamma, beta, eps):
    return gamma * _bn_xhat(x, eps, ddof=1) + beta


@answer("batchnorm_forward", "wrong", "Hard-codes eps = 1e-5, ignoring the argument.")
def bnf_eps(x, gamma, beta, eps):
    return gamma * _bn_xhat(x, 1e-5) + beta


@answer(
    "batchnorm_forward",
    "wrong",
    "Special case for a batch of one: returns x unchanged (no statistics to normalise with).",
)
def bnf_n1(x, gamma, beta, eps):
    if x.shape[0] == 1:
        return x.copy()
    return gamma * _bn_xhat(x, eps) + beta


@answer("batchnorm_forward", "wrong", "Computes mean and variance in float16.")
def bnf_f16(x, gamma, beta, eps):
    x16 = x.astype(np.float16)
    mu = x16.mean(axis=0, dtype=np.float16)
    var = ((x16 - mu) ** 2).mean(axis=0, dtype=np.float16)
    return gamma * (x - mu.astype(np.float64)) / np.sqrt(var.astype(np.float64) + eps) + beta


_bnf_cache = {}


@answer(
    "batchnorm_forward", "wrong", "Memoises the batch mean and variance by shape, reusing stale statistics."
)
def bnf_memo(x, gamma, beta, eps):
    if x.shape not in _bnf_cache:
        _bnf_cache[x.shape] = (x.mean(axis=0), x.var(axis=0))
    mu, var = _bnf_cache[x.shape]
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


@answer("batchnorm_forward", "wrong", "Mixes up gamma and beta (same shape): beta scales and gamma shifts.")
def bnf_swap(x, gamma, beta, eps):
    return beta * _bn_xhat(x, eps) + gamma


@answer("batchnorm_forward", "correct", "Per-feature loop with math.fsum statistics.")
def bnf_loop(x, gamma, beta, eps):
    N, D = x.shape
    out = np.empty((N, D))
    for d in range(D):
        col = x[:, d]
        mu = math.fsum(col) / N
        var = math.fsum((col - mu) ** 2) / N
        out[:, d] = gamma[d] * (col - mu) / math.sqrt(var + eps) + beta[d]
    return out


@answer(
    "batchnorm_forward",
    "correct",
    "Centering matrix (I - 1/N) applied by einsum, variance from the centred data.",
)
def bnf_centering(x, gamma, beta, eps):
    N = x.shape[0]
    P = np.eye(N) - 1.0 / N
    xc = np.einsum("mn,nd->md", P, x)
    return gamma * xc / np.sqrt(np.einsum("nd,nd->d", xc, xc) / N + eps) + beta


# ============================================================================= batchnorm_backward
def _bnb(dout, x, gamma, eps, ddof=0):
    N = x.shape[0]
    mu = x.mean(axis=0)
    var = x.var(axis=0, ddof=ddof)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv
    dx = gamma * inv / N * (N * dout - dout.sum(0) - xhat * (dout * xhat).sum(0))
    return dx, (dout * xhat).sum(0), dout.sum(0), xhat, inv


@answer("batchnorm_backward", "wrong", "Forgets the variance path in dx: gamma/sigma * (dout - mean(dout)).")
def bnb_no_var(dout, x, gamma, beta, eps):
    _, dg, db, xhat, inv = _bnb(dout, x, gamma, eps)
    return gamma * inv * (dout - dout.mean(0)), dg, db


@answer("batchnorm_backward", "wrong", "dgamma = sum(dout), forgetting to multiply by xhat.")
def bnb_dgamma(dout, x, gamma, beta, eps):
    dx, _, db, _, _ = _bnb(dout, x, gamma, eps)
    return dx, dout.sum(0), db


@answer("batchnorm_backward", "wrong", "Hard-codes eps = 1e-5 when recomputing the statistics.")
def bnb_eps(dout, x, gamma, beta, eps):
    return _bnb(dout, x, gamma, 1e-5)[:3]


@answer("batchnorm_backward", "wrong", "Assumes gamma = 1 in dx (the layer is freshly initialised).")
def bnb_gamma1(dout, x, gamma, beta, eps):
    dx, dg, db, _, _ = _bnb(dout, x, np.ones_like(gamma), eps)
    return dx, dg, db


@answer(
    "batchnorm_backward",
    "correct",
    "Step-by-step chain rule through mu and var (the computational graph, no closed form).",
)
def bnb_graph(dout, x, gamma, beta, eps):
    N = x.shape[0]
    mu = x.mean(0)
    xc = x - mu
    var = (xc**2).mean(0)
    std = np.sqrt(var + eps)
    xhat = xc / std
    dxhat = dout * gamma
    dvar = (dxhat * xc).sum(0) * -0.5 * (var + eps) ** -1.5
    dmu = -(dxhat / std).sum(0) + dvar * (-2.0 * xc).mean(0)
    dx = dxhat / std + dvar * 2.0 * xc / N + dmu / N
    return dx, (dout * xhat).sum(0), dout.sum(0)


@answer("batchnorm_backward", "correct", "Closed form with einsum reductions.")
def bnb_closed(dout, x, gamma, beta, eps):
    N = x.shape[0]
    xc = x - x.mean(0)
    inv = 1.0 / np.sqrt(np.einsum("nd,nd->d", xc, xc) / N + eps)
    xhat = xc * inv
    sg = np.einsum("nd->d", dout)
    sgx = np.einsum("nd,nd->d", dout, xhat)
    return gamma * inv * (dout - sg / N - xhat * sgx / N), sgx, sg


# ============================================================================= winograd_filter_transform
@answer("winograd_filter_transform", "wrong", "Leaves out the halves: (g0, g0+g1+g2, g0-g1+g2, g2).")
def wft_no_half(g0, g1, g2):
    return np.array([g0, g0 + g1 + g2, g0 - g1 + g2, g2], dtype=float)


@answer(
    "winograd_filter_transform",
    "wrong",
    "Puts g0 in the last entry (point infinity), which only works for symmetric filters.",
)
def wft_last_g0(g0, g1, g2):
    return np.array([g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g0], dtype=float)


@answer(
    "winograd_filter_transform",
    "wrong",
    "Halves with integer floor division, specialised to even integer sums.",
)
def wft_floordiv(g0, g1, g2):
    return np.array([g0, (g0 + g1 + g2) // 2, (g0 - g1 + g2) // 2, g2], dtype=float)


@answer(
    "winograd_filter_transform",
    "correct",
    "G matrix times g, with the sign for the point 0 flipped (-g0), which the statement accepts.",
)
def wft_matrix_neg(g0, g1, g2):
    G = np.array([[-1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    return G @ np.array([g0, g1, g2], dtype=float)


# ============================================================================= winograd_f23
@answer(
    "winograd_f23",
    "wrong",
    "Flips the filter (convolution instead of correlation), which only matters for non-symmetric filters.",
)
def wf_flip(d, g):
    d = np.asarray(d, dtype=float)
    g = np.asarray(g, dtype=float)[::-1]
    m1 = (d[0] - d[2]) * g[0]
    m2 = (d[1] + d[2]) * (g[0] + g[1] + g[2]) / 2
    m3 = (d[2] - d[1]) * (g[0] - g[1] + g[2]) / 2
    m4 = (d[1] - d[3]) * g[2]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


@answer("winograd_f23", "wrong", "Adds m4 in the second output instead of subtracting it.")
def wf_m4_sign(d, g):
    d = np.asarray(d, dtype=float)
    g = np.asarray(g, dtype=float)
    m1 = (d[0] - d[2]) * g[0]
    m2 = (d[1] + d[2]) * (g[0] + g[1] + g[2]) / 2
    m3 = (d[2] - d[1]) * (g[0] - g[1] + g[2]) / 2
    m4 = (d[1] - d[3]) * g[2]
    return np.array([m1 + m2 + m3, m2 - m3 + m4])


@answer(
    "winograd_f23",
    "wrong",
    "Computes y0 with 3 products and copies it into y1 (right only for constant data).",
)
def wf_copy(d, g):
    d = np.asarray(d, dtype=float)
    g = np.asarray(g, dtype=float)
    y0 = g[0] * d[0] + g[1] * d[1] + g[2] * d[2]
    return np.array([y0, y0])


@answer("winograd_f23", "correct", "Full matrix form A^T [(G g) * (B^T d)].")
def wf_matrices(d, g):
    BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=float)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=float)
    return AT @ ((G @ np.asarray(g, dtype=float)) * (BT @ np.asarray(d, dtype=float)))


@answer(
    "winograd_f23",
    "correct",
    "The four m's with the point-0 sign flipped in both the data and the filter transform.",
)
def wf_negzero(d, g):
    d0, d1, d2, d3 = (float(v) for v in d)
    g0, g1, g2 = (float(v) for v in g)
    m1 = (d2 - d0) * (-g0)
    m2 = (d1 + d2) * (0.5 * (g0 + g1 + g2))
    m3 = (d2 - d1) * (0.5 * (g0 - g1 + g2))
    m4 = (d1 - d3) * g2
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


# ============================================================================= receptive_field_step
@answer(
    "receptive_field_step",
    "wrong",
    "Grows the size with the new jump (jump * s) instead of the incoming jump.",
)
def rfs_new_jump(size, jump, start, k, s, p):
    return size + (k - 1) * jump * s, jump * s, start - p * jump


@answer(
    "receptive_field_step",
    "wrong",
    "Moves the start by -p input pixels, forgetting to scale the padding by the jump.",
)
def rfs_start_nojump(size, jump, start, k, s, p):
    return size + (k - 1) * jump, jump * s, start - p


@answer(
    "receptive_field_step",
    "wrong",
    "Sets the jump to s, as if every layer read the image directly (first-layer specialisation).",
)
def rfs_jump_s(size, jump, start, k, s, p):
    return size + (k - 1) * jump, s, start - p * jump


@answer(
    "receptive_field_step",
    "correct",
    "Returns the three ints built from a tuple of per-layer deltas added to the input's numbers.",
)
def rfs_delta(size, jump, start, k, s, p):
    delta = ((k - 1) * jump, jump * (s - 1), -p * jump)
    return tuple(int(a + b) for a, b in zip((size, jump, start), delta))


# ============================================================================= receptive_field
@answer("receptive_field", "wrong", "Moves the start by -p, forgetting to scale the padding by the jump.")
def rf_start_nojump(layers):
    size, jump, start = 1, 1, 0
    S, J, T = [], [], []
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p
        S.append(size)
        J.append(jump)
        T.append(start)
    return np.array(S, float), np.array(J, float), np.array(T, float)


@answer("receptive_field", "wrong", "Never updates the jump (assumes stride-1 layers).")
def rf_jump_fixed(layers):
    size, start = 1, 0
    S, J, T = [], [], []
    for k, s, p in layers:
        size, start = size + (k - 1), start - p
        S.append(size)
        J.append(1)
        T.append(start)
    return np.array(S, float), np.array(J, float), np.array(T, float)


@answer(
    "receptive_field", "wrong", "Updates the jump before growing the size, so the size uses the new jump."
)
def rf_jump_first(layers):
    size, jump, start = 1, 1, 0
    S, J, T = [], [], []
    for k, s, p in layers:
        start -= p * jump
        jump *= s
        size += (k - 1) * jump
        S.append(size)
        J.append(jump)
        T.append(start)
    return np.array(S, float), np.array(J, float), np.array(T, float)


@answer("receptive_field", "correct", "Recursion on the list of layers, carrying (size, jump, start).")
def rf_recursive(layers):
    def go(rest, state):
        if not rest:
            return []
        size, jump, start = state
        k, s, p = rest[0]
        nxt = (size + (k - 1) * jump, jump * s, start - p * jump)
        return [nxt] + go(rest[1:], nxt)

    rows = go(list(layers), (1, 1, 0))
    arr = np.array(rows, dtype=float).reshape(-1, 3)
    return arr[:, 0], arr[:, 1], arr[:, 2]


@answer("receptive_field", "correct", "Closed form with cumulative products of the strides.")
def rf_closed(layers):
    L = np.array(layers, dtype=float).reshape(-1, 3)
    k, s, p = L[:, 0], L[:, 1], L[:, 2]
    jumps = np.cumprod(s)
    before = np.concatenate([[1.0], jumps[:-1]])
    return 1 + np.cumsum((k - 1) * before), jumps, -np.cumsum(p * before)
