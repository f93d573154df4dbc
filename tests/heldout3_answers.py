# ruff: noqa
"""A third held-out set of student answers for the exercise grader: one tester's answers to eleven exercises (wrong
answers with one mistake each, and correct answers in unusual styles), written without reading the grader or its
mistake catalogue and graded before they joined the suite. Copied from the tester's modules; the only edits: shared
helpers inlined, the answers that drew a fresh mask from the global np.random now draw it from a seeded generator
(deterministic, same mistake), and probes of the sandbox (not student answers) left out."""

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


def _osz(n, k, s, p):
    return (n + 2 * p - k) // s + 1


# ----------------------------------------------------------------------------------------------- conv_backward


@answer("conv_backward", "correct", "")
def conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding):
    """correct: one einsum per kernel offset (i, j) over strided slices of the padded input"""
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    s, p = stride, padding
    Ho, Wo = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(k):
        for j in range(k):
            sl = (slice(None), slice(None), slice(i, i + s * Ho, s), slice(j, j + s * Wo, s))
            dw[:, :, i, j] = np.einsum("nfyz,ncyz->fc", dout, xp[sl])
            dxp[sl] += np.einsum("nfyz,fc->ncyz", dout, w[:, :, i, j])
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "correct", "")
def conv_bwd_returns_list(dout, x, w, b, stride, padding):
    """correct: returns a list [dx, dw, db] instead of a tuple"""
    return list(conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding))


@answer("conv_backward", "correct", "")
def conv_bwd_transposed_conv(dout, x, w, b, stride, padding):
    """correct: dx as the full correlation of the stride-dilated dout with the 180°-rotated kernel"""
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    s, p = stride, padding
    Ho, Wo = dout.shape[2:]
    Hp, Wp = H + 2 * p, W + 2 * p
    dil = np.zeros((N, F, (Ho - 1) * s + 1, (Wo - 1) * s + 1))
    dil[:, :, ::s, ::s] = dout
    full = np.pad(
        dil,
        ((0, 0), (0, 0), (k - 1, k - 1 + Hp - ((Ho - 1) * s + k)), (k - 1, k - 1 + Wp - ((Wo - 1) * s + k))),
    )
    wr = w[:, :, ::-1, ::-1]
    dxp = np.zeros((N, C, Hp, Wp))
    for i in range(k):
        for j in range(k):
            dxp += np.einsum("nfyz,fc->ncyz", full[:, :, i : i + Hp, j : j + Wp], wr[:, :, i, j])
    _, dw, db = conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding)
    return dxp[:, :, p : p + H, p : p + W], dw, db


@answer("conv_backward", "wrong", "dx is cropped with [p:-p], which is empty when padding is 0.")
def conv_bwd_crop_minus_p(dout, x, w, b, stride, padding):
    dx, dw, db = conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding)
    p = padding
    dxp = np.pad(dx, ((0, 0), (0, 0), (p, p), (p, p)))
    return dxp[:, :, p:-p, p:-p], dw, db


@answer(
    "conv_backward",
    "wrong",
    "dx is assigned with = instead of accumulated with +=, so overlapping windows overwrite.",
)
def conv_bwd_overwrite_dx(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    dw[f] += dout[n, f, y, z] * xp[n, :, ys : ys + k, zs : zs + k]
                    dxp[n, :, ys : ys + k, zs : zs + k] = dout[n, f, y, z] * w[f]
    return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "db is averaged over the batch (a factor 1/N) instead of summed.")
def conv_bwd_db_mean(dout, x, w, b, stride, padding):
    dx, dw, _ = conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding)
    return dx, dw, dout.sum(axis=(2, 3)).mean(axis=0)


@answer("conv_backward", "wrong", "The height H is used for the width too (right only for square inputs).")
def conv_bwd_square_only(dout, x, w, b, stride, padding):
    N, C, H, _ = x.shape
    F, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros((N, C, H + 2 * p, H + 2 * p))
    dw = np.zeros_like(w)
    Ho = _osz(H, k, stride, p)
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for z in range(Ho):
                    ys, zs = y * stride, z * stride
                    if zs + k > xp.shape[3]:
                        continue
                    g = dout[n, f, y, z] if z < dout.shape[3] else 0.0
                    dw[f] += g * xp[n, :, ys : ys + k, zs : zs + k]
                    dxp[n, :, ys : ys + k, zs : zs + k] += g * w[f]
    return dxp[:, :, p : p + H, p : p + H], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "dw is computed from image 0 only (the batch loop is forgotten for dw).")
def conv_bwd_dw_image0(dout, x, w, b, stride, padding):
    dx, _, _ = conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding)
    _, dw, _ = conv_bwd_einsum_per_offset(dout[:1], x[:1], w, b, stride, padding)
    return dx, dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "The gradients are returned as float32 for float64 inputs.")
def conv_bwd_float32(dout, x, w, b, stride, padding):
    return tuple(a.astype(np.float32) for a in conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding))


@answer(
    "conv_backward", "wrong", "dw is rotated 180 degrees (convolution and correlation mixed up in dw only)."
)
def conv_bwd_dw_rotated(dout, x, w, b, stride, padding):
    dx, dw, db = conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding)
    return dx, dw[:, :, ::-1, ::-1], db


@answer(
    "conv_backward", "wrong", "dw is computed as (C, F, k, k) and reshaped, not transposed, to (F, C, k, k)."
)
def conv_bwd_dw_cf_swapped(dout, x, w, b, stride, padding):
    dx, dw, db = conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding)
    F, C, k, _ = w.shape
    return dx, dw.transpose(1, 0, 2, 3).reshape(F, C, k, k), db


@answer(
    "conv_backward",
    "wrong",
    "im2col style with dout.reshape(F, -1): the batch axis is not moved behind F first.",
)
def conv_bwd_dout_reshape_no_transpose(dout, x, w, b, stride, padding):
    F, C, k, _ = w.shape
    cols = im2col_loop_over_offsets(x, k, stride, padding)
    d = dout.reshape(F, -1).T
    dw = (d.T @ cols).reshape(w.shape)
    dx = col2im_vectorised_per_offset(d @ w.reshape(F, -1), x.shape, k, stride, padding)
    return dx, dw, dout.sum(axis=(0, 2, 3))


@answer(
    "conv_backward",
    "wrong",
    "dx by the transposed-convolution formula without dilating dout (right only for stride 1).",
)
def conv_bwd_transposed_no_dilation(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    p = padding
    full = np.pad(dout, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)))
    Hp, Wp = H + 2 * p, W + 2 * p
    wr = w[:, :, ::-1, ::-1]
    dxp = np.zeros((N, C, Hp, Wp))
    for i in range(k):
        for j in range(k):
            blk = full[:, :, i : i + Hp, j : j + Wp]
            dxp[:, :, : blk.shape[2], : blk.shape[3]] += np.einsum("nfyz,fc->ncyz", blk, wr[:, :, i, j])
    _, dw, db = conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding)
    return dxp[:, :, p : p + H, p : p + W], dw, db


@answer(
    "conv_backward", "wrong", "The weights w are changed in place (an SGD step sneaked into the backward)."
)
def conv_bwd_mutates_w(dout, x, w, b, stride, padding):
    r = conv_bwd_einsum_per_offset(dout, x, w, b, stride, padding)
    w -= 0.0 * w + 1e-3 * r[1]
    return r


# ----------------------------------------------------------------------------------------------- im2col


@answer("im2col", "correct", "")
def im2col_loop_over_offsets(x, kernel_size, stride, padding):
    """correct: fills an (N, Ho, Wo, C, k, k) buffer one kernel offset at a time"""
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.empty((N, Ho, Wo, C, k, k), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            out[..., i, j] = xp[:, :, i : i + s * Ho : s, j : j + s * Wo : s].transpose(0, 2, 3, 1)
    return out.reshape(N * Ho * Wo, C * k * k)


@answer("im2col", "correct", "")
def im2col_sliding_window_view(x, kernel_size, stride, padding):
    """correct: np.lib.stride_tricks.sliding_window_view, view based"""
    k, s, p = kernel_size, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    v = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    N, C, Ho, Wo = v.shape[:4]
    return v.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * k * k)


@answer("im2col", "wrong", "Each window is flattened in (i, j, c) order instead of (c, i, j).")
def im2col_window_ijc(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    rows = []
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                rows.append(xp[n, :, y * s : y * s + k, z * s : z * s + k].transpose(1, 2, 0).ravel())
    return np.array(rows)


@answer("im2col", "wrong", "Each window is flattened column-major, (c, j, i), instead of (c, i, j).")
def im2col_window_cji(x, kernel_size, stride, padding):
    N, C = x.shape[:2]
    k = kernel_size
    c = im2col_loop_over_offsets(x, kernel_size, stride, padding)
    return c.reshape(-1, C, k, k).transpose(0, 1, 3, 2).reshape(c.shape[0], -1)


@answer("im2col", "wrong", "The rows are ordered (y, z, n), the batch loop innermost, instead of (n, y, z).")
def im2col_rows_batch_inner(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    rows = []
    for y in range(Ho):
        for z in range(Wo):
            for n in range(N):
                rows.append(xp[n, :, y * s : y * s + k, z * s : z * s + k].ravel())
    return np.array(rows)


@answer("im2col", "wrong", "The output size is ceil((H + 2p - k) / s) with no +1.")
def im2col_ceil_size_no_plus1(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = int(np.ceil((H + 2 * p - k) / s)), int(np.ceil((W + 2 * p - k) / s))
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    rows = [
        xp[n, :, y * s : y * s + k, z * s : z * s + k].ravel()
        for n in range(N)
        for y in range(Ho)
        for z in range(Wo)
    ]
    return np.array(rows)


@answer("im2col", "wrong", "The columns are returned as float32 for a float64 input.")
def im2col_float32(x, kernel_size, stride, padding):
    return im2col_loop_over_offsets(x, kernel_size, stride, padding).astype(np.float32)


@answer("im2col", "wrong", "All the padding (2p) is put on the bottom/right side, shifting the windows.")
def im2col_pad_one_side(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * p), (0, 2 * p)))
    rows = [
        xp[n, :, y * s : y * s + k, z * s : z * s + k].ravel()
        for n in range(N)
        for y in range(Ho)
        for z in range(Wo)
    ]
    return np.array(rows)


@answer("im2col", "wrong", "The column stride is forgotten: windows start at column z instead of z*stride.")
def im2col_column_stride_forgotten(x, kernel_size, stride, padding):
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    rows = [
        xp[n, :, y * s : y * s + k, z : z + k].ravel() for n in range(N) for y in range(Ho) for z in range(Wo)
    ]
    return np.array(rows)


# ----------------------------------------------------------------------------------------------- col2im


@answer("col2im", "correct", "")
def col2im_vectorised_per_offset(cols, x_shape, kernel_size, stride, padding):
    """correct: reshape to (N, C, k, k, Ho, Wo) blocks and add one kernel offset at a time"""
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    blocks = cols.reshape(N, Ho, Wo, C, k, k).transpose(0, 3, 4, 5, 1, 2)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + s * Ho : s, j : j + s * Wo : s] += blocks[:, :, i, j]
    return dxp[:, :, p : p + H, p : p + W]


def _col2im_loop(cols, x_shape, k, s, p, assign=False, order="ckk", crop=True):
    N, C, H, W = x_shape
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    r = 0
    for n in range(N):
        for y in range(Ho):
            for z in range(Wo):
                blk = (
                    cols[r].reshape(C, k, k)
                    if order == "ckk"
                    else cols[r].reshape(k, k, C).transpose(2, 0, 1)
                )
                if assign:
                    dxp[n, :, y * s : y * s + k, z * s : z * s + k] = blk
                else:
                    dxp[n, :, y * s : y * s + k, z * s : z * s + k] += blk
                r += 1
    return dxp[:, :, p : p + H, p : p + W] if crop else dxp


@answer("col2im", "wrong", "Overlapping windows are assigned with = instead of summed with +=.")
def col2im_assign(cols, x_shape, kernel_size, stride, padding):
    return _col2im_loop(cols, x_shape, kernel_size, stride, padding, assign=True)


@answer("col2im", "wrong", "Each row is read as a (k, k, C) block and transposed, instead of (C, k, k).")
def col2im_row_as_kkc(cols, x_shape, kernel_size, stride, padding):
    return _col2im_loop(cols, x_shape, kernel_size, stride, padding, order="kkc")


@answer("col2im", "wrong", "The padding is not cropped: the padded (H + 2p, W + 2p) gradient is returned.")
def col2im_not_cropped(cols, x_shape, kernel_size, stride, padding):
    return _col2im_loop(cols, x_shape, kernel_size, stride, padding, crop=False)


@answer("col2im", "wrong", "cols is reshaped as (N, C, Ho, Wo, k, k) instead of (N, Ho, Wo, C, k, k).")
def col2im_reshape_n_c_ho_wo(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    blocks = cols.reshape(N, C, Ho, Wo, k, k)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + s * Ho : s, j : j + s * Wo : s] += blocks[..., i, j]
    return dxp[:, :, p : p + H, p : p + W]


@answer("col2im", "wrong", "cols is zeroed in place after use (to 'free memory').")
def col2im_zeroes_cols(cols, x_shape, kernel_size, stride, padding):
    out = col2im_vectorised_per_offset(cols, x_shape, kernel_size, stride, padding)
    cols[:] = 0
    return out


@answer("col2im", "wrong", "The columns are cropped with [:W] instead of [p:p + W].")
def col2im_column_crop_typo(cols, x_shape, kernel_size, stride, padding):
    N, C, H, W = x_shape
    p = padding
    d = _col2im_loop(cols, x_shape, kernel_size, stride, padding, crop=False)
    return d[:, :, p : p + H, :W]


# ----------------------------------------------------------------------------------------------- maxpool_backward


@answer("maxpool_backward", "correct", "")
def maxpool_bwd_vectorised_offsets(dout, x, kernel_size, stride):
    """correct: first maximum (row-major) found by scanning kernel offsets over the whole batch"""
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = dout.shape[2:]
    dx = np.zeros_like(x)
    best = np.full(dout.shape, -np.inf)
    arg = np.zeros(dout.shape, dtype=int)
    for i in range(k):
        for j in range(k):
            v = x[:, :, i : i + s * Ho : s, j : j + s * Wo : s]
            better = v > best
            best = np.where(better, v, best)
            arg = np.where(better, i * k + j, arg)
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + s * Ho : s, j : j + s * Wo : s] += np.where(arg == i * k + j, dout, 0.0)
    return dx


def _maxpool_loop(dout, x, k, s, decode="k", assign=False, ties="first", batch0=False):
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(1 if batch0 else N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    win = x[n, c, y * s : y * s + k, z * s : z * s + k]
                    if ties == "all":
                        dx[n, c, y * s : y * s + k, z * s : z * s + k] += (win == win.max()) * dout[
                            n, c, y, z
                        ]
                        continue
                    if ties == "colmajor":
                        a = int(np.argmax(win.T))
                        r, q = a % k, a // k
                    else:
                        a = int(np.argmax(win))
                        r, q = (a // k, a % k) if decode == "k" else (a // s, a % s)
                    if assign:
                        dx[n, c, y * s + r, z * s + q] = dout[n, c, y, z]
                    else:
                        dx[n, c, y * s + r, z * s + q] += dout[n, c, y, z]
    return dx


@answer("maxpool_backward", "correct", "")
def maxpool_bwd_first_max_column_major(dout, x, kernel_size, stride):
    """correct up to the tie convention: the first maximum in column-major order (argmax(win.T))"""
    return _maxpool_loop(dout, x, kernel_size, stride, ties="colmajor")


@answer(
    "maxpool_backward",
    "wrong",
    "The window argmax is decoded with divmod(a, stride) instead of divmod(a, kernel_size).",
)
def maxpool_bwd_decode_by_stride(dout, x, kernel_size, stride):
    return _maxpool_loop(dout, x, kernel_size, stride, decode="s")


@answer(
    "maxpool_backward",
    "wrong",
    "The gradient is assigned with = instead of +=, so overlapping windows overwrite.",
)
def maxpool_bwd_assign(dout, x, kernel_size, stride):
    return _maxpool_loop(dout, x, kernel_size, stride, assign=True)


@answer("maxpool_backward", "wrong", "On a tie every maximum of the window receives the gradient.")
def maxpool_bwd_all_tied_maxima(dout, x, kernel_size, stride):
    return _maxpool_loop(dout, x, kernel_size, stride, ties="all")


@answer("maxpool_backward", "wrong", "Only image 0 of the batch is looped over.")
def maxpool_bwd_image0_only(dout, x, kernel_size, stride):
    return _maxpool_loop(dout, x, kernel_size, stride, batch0=True)


@answer(
    "maxpool_backward",
    "wrong",
    "Mask x == (window max repeated s times), a shortcut that ignores overlap and stride.",
)
def maxpool_bwd_repeat_mask(dout, x, kernel_size, stride):
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    Ho, Wo = dout.shape[2:]
    out = np.zeros_like(dout)
    for y in range(Ho):
        for z in range(Wo):
            out[:, :, y, z] = x[:, :, y * s : y * s + k, z * s : z * s + k].max(axis=(2, 3))
    up = np.repeat(np.repeat(out, s, 2), s, 3)
    ud = np.repeat(np.repeat(dout, s, 2), s, 3)
    dx = np.zeros_like(x)
    hh, ww = min(H, up.shape[2]), min(W, up.shape[3])
    dx[:, :, :hh, :ww] = (x[:, :, :hh, :ww] == up[:, :, :hh, :ww]) * ud[:, :, :hh, :ww]
    return dx


@answer("maxpool_backward", "wrong", "The gradient goes to the argmax of |x| instead of x.")
def maxpool_bwd_argmax_abs(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for z in range(Wo):
                    a = int(np.argmax(np.abs(x[n, c, y * s : y * s + k, z * s : z * s + k])))
                    dx[n, c, y * s + a // k, z * s + a % k] += dout[n, c, y, z]
    return dx


@answer("maxpool_backward", "wrong", "x is changed in place (negative values set to 0) after computing dx.")
def maxpool_bwd_mutates_x(dout, x, kernel_size, stride):
    r = maxpool_bwd_vectorised_offsets(dout, x, kernel_size, stride)
    x[x < 0] = 0
    return r


# ----------------------------------------------------------------------------------------------- lrn_backward


def _lrn_win(c, C, n):
    return max(0, c - n // 2), min(C, c + (n - 1) // 2 + 1)


def _lrn_s(x, n, alpha, k):
    C = x.shape[1]
    return np.stack([k + alpha * (x[:, slice(*_lrn_win(c, C, n))] ** 2).sum(1) for c in range(C)], 1)


@answer("lrn_backward", "correct", "")
def lrn_bwd_membership_matrix(dout, x, size, alpha, beta, k):
    """correct: the cross term through a channel-membership matrix and an einsum"""
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    t = dout * x * s ** (-beta - 1)
    M = np.zeros((C, C))  # M[c, j] = 1 if j is in window(c)
    for c in range(C):
        lo, hi = _lrn_win(c, C, size)
        M[c, lo:hi] = 1
    cross = np.einsum("ncyz,cj->njyz", t, M)
    return dout * s**-beta - 2 * alpha * beta * x * cross


@answer("lrn_backward", "correct", "")
def lrn_bwd_exp_log_powers(dout, x, size, alpha, beta, k):
    """correct: powers through exp/log, the cross term added slice by slice"""
    C = x.shape[1]
    s = _lrn_s(x, size, alpha, k)
    t = dout * x * np.exp((-beta - 1) * np.log(s))
    dx = dout * np.exp(-beta * np.log(s))
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)
        dx[:, lo:hi] -= 2 * alpha * beta * x[:, lo:hi] * t[:, c : c + 1]
    return dx


def _lrn_generic(dout, x, size, alpha, beta, k, variant):
    C = x.shape[1]
    if variant == "wrap":
        s = np.stack(
            [k + alpha * (x[:, c - size // 2 : c + (size - 1) // 2 + 1] ** 2).sum(1) for c in range(C)], 1
        )
    else:
        s = _lrn_s(x, size, alpha, k)
    dx = dout * s**-beta
    for j in range(C):
        lo, hi = _lrn_win(j, C, size)
        if variant == "wrap":
            lo, hi = j - size // 2, j + (size - 1) // 2 + 1
        acc = 0
        for c in range(lo, hi) if variant != "wrap" else range(max(lo, 0), min(hi, C)):
            if variant == "pow":
                acc = acc + dout[:, c] * x[:, c] * s[:, c] ** (-beta)
            else:
                acc = acc + dout[:, c] * x[:, c] * s[:, c] ** (-beta - 1)
        f = 1 if variant == "no2" else 2
        dx[:, j] -= f * alpha * beta * x[:, j] * acc
    return dx


@answer(
    "lrn_backward",
    "wrong",
    "The cross term sums over window(j) instead of {c : j in window(c)} (differs for even sizes).",
)
def lrn_bwd_own_window(dout, x, size, alpha, beta, k):
    return _lrn_generic(dout, x, size, alpha, beta, k, "own")


@answer("lrn_backward", "wrong", "The cross term lacks the factor 2 from d(x^2)/dx.")
def lrn_bwd_no_factor2(dout, x, size, alpha, beta, k):
    return _lrn_generic(dout, x, size, alpha, beta, k, "no2")


@answer("lrn_backward", "wrong", "The cross term uses s^-beta instead of s^(-beta-1).")
def lrn_bwd_wrong_power(dout, x, size, alpha, beta, k):
    return _lrn_generic(dout, x, size, alpha, beta, k, "pow")


@answer("lrn_backward", "wrong", "The window start c - n//2 is not clipped at 0 (a negative slice start).")
def lrn_bwd_window_start_not_clipped(dout, x, size, alpha, beta, k):
    return _lrn_generic(dout, x, size, alpha, beta, k, "wrap")


@answer("lrn_backward", "wrong", "The cross term comes from the channel's own term only (c == j).")
def lrn_bwd_own_channel_only(dout, x, size, alpha, beta, k):
    s = _lrn_s(x, size, alpha, k)
    return dout * s**-beta - 2 * alpha * beta * x * dout * x * s ** (-beta - 1)


@answer("lrn_backward", "wrong", "The answer is written into dout, which is returned.")
def lrn_bwd_writes_into_dout(dout, x, size, alpha, beta, k):
    r = lrn_bwd_membership_matrix(dout, x, size, alpha, beta, k)
    dout[...] = r
    return dout


@answer("lrn_backward", "wrong", "The window is size//2 channels on both sides (right only for odd sizes).")
def lrn_bwd_symmetric_window(dout, x, size, alpha, beta, k):
    C = x.shape[1]
    h = size // 2
    W = lambda c: (max(0, c - h), min(C, c + h + 1))
    s = np.stack([k + alpha * (x[:, slice(*W(c))] ** 2).sum(1) for c in range(C)], 1)
    dx = dout * s**-beta
    for c in range(C):
        t = dout[:, c] * x[:, c] * s[:, c] ** (-beta - 1)
        for j in range(*W(c)):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t
    return dx


# ----------------------------------------------------------------------------------------------- softmax_cross_entropy


@answer("softmax_cross_entropy", "correct", "")
def softmax_ce_logsumexp(logits, labels):
    """correct: log-sum-exp after subtracting the row maximum"""
    N = len(labels)
    z = logits - logits.max(1, keepdims=True)
    lse = np.log(np.exp(z).sum(1))
    loss = np.mean(lse - z[np.arange(N), labels])
    p = np.exp(z - lse[:, None])
    onehot = np.zeros_like(p)
    onehot[np.arange(N), labels] = 1
    return loss, (p - onehot) / N


@answer("softmax_cross_entropy", "correct", "")
def softmax_ce_loss_0d_array(logits, labels):
    """correct: the loss as a 0-d array"""
    l, d = softmax_ce_logsumexp(logits, labels)
    return np.array(l), d


@answer("softmax_cross_entropy", "correct", "")
def softmax_ce_loss_python_float(logits, labels):
    """correct: the loss as a Python float"""
    l, d = softmax_ce_logsumexp(logits, labels)
    return float(l), d


@answer("softmax_cross_entropy", "correct", "")
def softmax_ce_loss_shape1_array(logits, labels):
    """correct: the loss as a shape-(1,) array"""
    l, d = softmax_ce_logsumexp(logits, labels)
    return np.array([l]), d


@answer(
    "softmax_cross_entropy",
    "wrong",
    "The loss is summed over the batch (the gradient is still divided by N).",
)
def softmax_ce_loss_summed(logits, labels):
    l, d = softmax_ce_logsumexp(logits, labels)
    return l * len(labels), d


@answer("softmax_cross_entropy", "wrong", "The gradient is not divided by N.")
def softmax_ce_grad_not_mean(logits, labels):
    l, d = softmax_ce_logsumexp(logits, labels)
    return l, d * len(labels)


@answer(
    "softmax_cross_entropy",
    "wrong",
    "The loss is -log(softmax + 1e-12), which saturates at 27.6 for large logits.",
)
def softmax_ce_log_plus_eps(logits, labels):
    N = len(labels)
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), labels] + 1e-12))
    d = p.copy()
    d[np.arange(N), labels] -= 1
    return loss, d / N


@answer(
    "softmax_cross_entropy", "wrong", "The maximum is subtracted over axis 0 (per class) instead of per row."
)
def softmax_ce_max_axis0(logits, labels):
    N = len(labels)
    z = logits - logits.max(0, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), labels]))
    d = p.copy()
    d[np.arange(N), labels] -= 1
    return loss, d / N


@answer("softmax_cross_entropy", "wrong", "The one-hot is subtracted with d[:, labels] -= 1 (whole columns).")
def softmax_ce_onehot_whole_columns(logits, labels):
    N = len(labels)
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), labels]))
    d = p.copy()
    d[:, labels] -= 1
    return loss, d / N


@answer("softmax_cross_entropy", "wrong", "The loss is returned as np.float32 (rounded to single precision).")
def softmax_ce_loss_float32(logits, labels):
    l, d = softmax_ce_logsumexp(logits, labels)
    return np.float32(l), d


@answer("softmax_cross_entropy", "wrong", "The row maximum is subtracted from logits in place.")
def softmax_ce_mutates_logits(logits, labels):
    logits -= logits.max(1, keepdims=True)
    return softmax_ce_logsumexp(logits, labels)


@answer(
    "softmax_cross_entropy",
    "wrong",
    "logits - logits.max(1) without keepdims (broadcasts only when N == 1 or N == C).",
)
def softmax_ce_max_no_keepdims(logits, labels):
    N = len(labels)
    z = logits - logits.max(1)
    e = np.exp(z)
    p = e / e.sum(1, keepdims=True)
    d = p.copy()
    d[np.arange(N), labels] -= 1
    return -np.mean(np.log(p[np.arange(N), labels])), d / N


# ----------------------------------------------------------------------------------------------- relu_backward


@answer("relu_backward", "correct", "")
def relu_bwd_where(dout, x):
    """correct: np.where(x > 0, dout, 0)"""
    return np.where(x > 0, dout, 0.0)


@answer("relu_backward", "correct", "")
def relu_bwd_sign_clip(dout, x):
    """correct: dout * sign(x).clip(0)"""
    return dout * np.sign(x).clip(0)


@answer("relu_backward", "correct", "")
def relu_bwd_masked_array(dout, x):
    """correct: np.ma.masked_where(x <= 0, dout).filled(0)"""
    return np.ma.masked_where(x <= 0, dout).filled(0.0)


@answer("relu_backward", "correct", "")
def relu_bwd_returns_dout_when_all_positive(dout, x):
    """correct: returns dout itself (no copy) when no element is blocked"""
    m = x > 0
    return dout if m.all() else dout * m


@answer("relu_backward", "wrong", "dout is changed in place (dout[x <= 0] = 0) and returned.")
def relu_bwd_changes_dout(dout, x):
    dout[x <= 0] = 0
    return dout


@answer("relu_backward", "wrong", "The mask is x >= 0, passing the gradient at the kink x == 0.")
def relu_bwd_mask_ge(dout, x):
    return dout * (x >= 0)


@answer("relu_backward", "wrong", "The mask is taken from dout > 0 instead of x > 0.")
def relu_bwd_mask_by_dout(dout, x):
    return dout * (dout > 0)


@answer("relu_backward", "wrong", "dx is returned as float32 for float64 inputs.")
def relu_bwd_float32(dout, x):
    return (dout * (x > 0)).astype(np.float32)


@answer("relu_backward", "wrong", "dout * sign(x): the gradient of |x|, negative where x < 0.")
def relu_bwd_sign(dout, x):
    return dout * np.sign(x)


@answer("relu_backward", "wrong", "A leaky slope 0.01 is kept where x <= 0.")
def relu_bwd_leaky(dout, x):
    return np.where(x > 0, dout, 0.01 * dout)


@answer("relu_backward", "wrong", "dx is cast to int (astype(int)), truncating the gradient.")
def relu_bwd_int_output(dout, x):
    return (dout * (x > 0)).astype(int)


@answer("relu_backward", "wrong", "dout * where(x > 0, 1, nan): nan where the unit is blocked.")
def relu_bwd_nan_where_blocked(dout, x):
    return dout * np.where(x > 0, 1.0, np.nan)


@answer("relu_backward", "wrong", "x is changed in place (np.maximum(x, 0, out=x)).")
def relu_bwd_changes_x(dout, x):
    np.maximum(x, 0, out=x)
    return dout * (x > 0)


@answer("relu_backward", "wrong", "The return statement is forgotten (returns None).")
def relu_bwd_forgot_return(dout, x):
    dx = dout * (x > 0)


# ----------------------------------------------------------------------------------------------- dropout_backward


@answer("dropout_backward", "correct", "")
def dropout_bwd_where(dout, mask, p, convention):
    """correct: np.where(mask, dout * scale, 0)"""
    scale = 1.0 / (1.0 - p) if convention == "pytorch" else 1.0
    return np.where(mask, dout * scale, 0.0)


@answer("dropout_backward", "wrong", "PyTorch convention: divides by p instead of (1 - p).")
def dropout_bwd_divides_by_p(dout, mask, p, convention):
    return dout * mask / p if convention == "pytorch" else dout * mask


@answer(
    "dropout_backward",
    "wrong",
    "A fresh mask is drawn (its own seeded generator) instead of using the given mask.",
)
def dropout_bwd_redraws_mask(dout, mask, p, convention):
    m = np.random.default_rng(0).random(dout.shape) > p
    return dout * m / (1 - p) if convention == "pytorch" else dout * m


@answer("dropout_backward", "wrong", "dout is changed in place (dout *= mask) and returned.")
def dropout_bwd_changes_dout(dout, mask, p, convention):
    dout *= mask
    if convention == "pytorch":
        dout /= 1 - p
    return dout


@answer(
    "dropout_backward", "wrong", "Paper convention: the backward multiplies by (1 - p), the test-time scale."
)
def dropout_bwd_paper_scales(dout, mask, p, convention):
    return dout * mask / (1 - p) if convention == "pytorch" else dout * mask * (1 - p)


@answer("dropout_backward", "wrong", "The two conventions are swapped.")
def dropout_bwd_conventions_swapped(dout, mask, p, convention):
    return dout * mask / (1 - p) if convention == "paper" else dout * mask


@answer("dropout_backward", "wrong", "The mask is read as a drop mask (~mask keeps the gradient).")
def dropout_bwd_inverted_mask(dout, mask, p, convention):
    m = ~mask
    return dout * m / (1 - p) if convention == "pytorch" else dout * m


@answer(
    "dropout_backward",
    "wrong",
    "PyTorch convention: divides by mask.mean() (the empirical keep rate) instead of (1 - p).",
)
def dropout_bwd_divides_by_mask_mean(dout, mask, p, convention):
    return dout * mask / mask.mean() if convention == "pytorch" else dout * mask


# ----------------------------------------------------------------------------------------------- dropout_forward


@answer("dropout_forward", "correct", "")
def dropout_fwd_plain(x, mask, p, convention, train):
    """correct: plain branches, a copy (x + 0.0) at test time"""
    if not train:
        return x * (1 - p) if convention == "paper" else x + 0.0
    return x * mask / (1 - p) if convention == "pytorch" else x * mask


@answer("dropout_forward", "correct", "")
def dropout_fwd_test_mode_returns_x(x, mask, p, convention, train):
    """correct: PyTorch convention at test time returns x itself (as PyTorch does)"""
    if not train:
        return x * (1 - p) if convention == "paper" else x
    return x * mask / (1 - p) if convention == "pytorch" else x * mask


@answer(
    "dropout_forward",
    "wrong",
    "Paper convention: the train flag is ignored (the mask is applied at test time too).",
)
def dropout_fwd_paper_ignores_train(x, mask, p, convention, train):
    if convention == "paper":
        return x * mask
    return x * mask / (1 - p) if train else x.copy()


@answer(
    "dropout_forward",
    "wrong",
    "A fresh mask is drawn (its own seeded generator) instead of using the given mask.",
)
def dropout_fwd_redraws_mask(x, mask, p, convention, train):
    if not train:
        return x * (1 - p) if convention == "paper" else x.copy()
    m = np.random.default_rng(0).random(x.shape) >= p
    return x * m / (1 - p) if convention == "pytorch" else x * m


# ----------------------------------------------------------------------------------------------- linear_backward


@answer("linear_backward", "correct", "")
def linear_bwd_einsum(dout, x, w, b):
    """correct: einsum for dx and dw"""
    dx = np.einsum("no,oi->ni", dout, w)
    dw = np.einsum("no,ni->oi", dout, x)
    return dx, dw, dout.sum(0)


@answer("linear_backward", "correct", "")
def linear_bwd_np_matrix(dout, x, w, b):
    """correct: np.matrix arithmetic"""
    D, X, Wm = np.matrix(dout), np.matrix(x), np.matrix(w)
    return D * Wm, D.T * X, np.asarray(D.sum(0)).ravel()


@answer("linear_backward", "wrong", "dw = x.T @ dout, the transpose of the (out, in) layout.")
def linear_bwd_dw_transposed(dout, x, w, b):
    return dout @ w, x.T @ dout, dout.sum(0)


@answer("linear_backward", "wrong", "db = dout.sum(axis=1), over the features instead of the batch.")
def linear_bwd_db_axis1(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.sum(axis=1)


@answer("linear_backward", "wrong", "db = dout.mean(0) instead of the sum.")
def linear_bwd_db_mean(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.mean(0)


@answer("linear_backward", "wrong", "dx = dout @ w.T (shapes agree only for a square w).")
def linear_bwd_dx_w_transposed(dout, x, w, b):
    return dout @ w.T, dout.T @ x, dout.sum(0)


@answer("linear_backward", "wrong", "db = np.squeeze(dout), right only for a batch of 1.")
def linear_bwd_db_squeezed_dout(dout, x, w, b):
    return dout @ w, dout.T @ x, np.squeeze(dout)


@answer("linear_backward", "wrong", "dw is divided by N.")
def linear_bwd_dw_div_n(dout, x, w, b):
    return dout @ w, dout.T @ x / len(x), dout.sum(0)


@answer("linear_backward", "wrong", "db keeps the batch axis: shape (1, out) instead of (out,).")
def linear_bwd_db_keepdims(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.sum(0, keepdims=True)


# ----------------------------------------------------------------------------------------------- batchnorm


@answer("batchnorm_backward", "correct", "")
def bn_bwd_staged_graph(dout, x, gamma, beta, eps):
    """correct: staged through the computational graph"""
    N = x.shape[0]
    mu = x.mean(0)
    xc = x - mu
    var = (xc**2).mean(0)
    std = np.sqrt(var + eps)
    xhat = xc / std
    dgamma = (dout * xhat).sum(0)
    dbeta = dout.sum(0)
    dxhat = dout * gamma
    dstd = -(dxhat * xc).sum(0) / std**2
    dvar = dstd / (2 * std)
    dxc = dxhat / std + 2 * xc * dvar / N
    dx = dxc - dxc.mean(0)
    return dx, dgamma, dbeta


@answer("batchnorm_backward", "correct", "")
def bn_bwd_var_shortcut(dout, x, gamma, beta, eps):
    """correct: compact formula with var = E[x^2] - E[x]^2"""
    N = x.shape[0]
    mu = x.mean(0)
    var = (x * x).mean(0) - mu * mu
    inv = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * inv
    dg, db = (dout * xhat).sum(0), dout.sum(0)
    return gamma * inv / N * (N * dout - db - xhat * dg), dg, db


@answer("batchnorm_backward", "wrong", "The unbiased variance (ddof=1) is used.")
def bn_bwd_unbiased_variance(dout, x, gamma, beta, eps):
    N = x.shape[0]
    inv = 1 / np.sqrt(x.var(0, ddof=1) + eps)
    xhat = (x - x.mean(0)) * inv
    dg, db = (dout * xhat).sum(0), dout.sum(0)
    return gamma * inv / N * (N * dout - db - xhat * dg), dg, db


@answer(
    "batchnorm_backward",
    "wrong",
    "The batch mean and variance are treated as constants: dx = dout * gamma / sigma.",
)
def bn_bwd_stats_as_constants(dout, x, gamma, beta, eps):
    inv = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv
    return dout * gamma * inv, (dout * xhat).sum(0), dout.sum(0)


@answer("batchnorm_backward", "wrong", "dgamma = sum(dout * x) with the raw x instead of xhat.")
def bn_bwd_dgamma_from_x(dout, x, gamma, beta, eps):
    dx, _, db = bn_bwd_staged_graph(dout, x, gamma, beta, eps)
    return dx, (dout * x).sum(0), db


@answer("batchnorm_backward", "wrong", "dx drops the -sum(g) term (the mean's path).")
def bn_bwd_no_mean_term(dout, x, gamma, beta, eps):
    N = x.shape[0]
    inv = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv
    dg, db = (dout * xhat).sum(0), dout.sum(0)
    return gamma * inv / N * (N * dout - xhat * dg), dg, db


@answer(
    "batchnorm_backward",
    "wrong",
    "The statistics are taken over axis 1 (the features, as layer norm) instead of the batch.",
)
def bn_bwd_stats_over_axis1(dout, x, gamma, beta, eps):
    N = x.shape[0]
    mu = x.mean(1, keepdims=True)
    inv = 1 / np.sqrt(x.var(1, keepdims=True) + eps)
    xhat = (x - mu) * inv
    dg, db = (dout * xhat).sum(0), dout.sum(0)
    return gamma * inv / N * (N * dout - db - xhat * dg), dg, db


@answer("batchnorm_forward", "correct", "")
def bn_fwd_var_shortcut(x, gamma, beta, eps):
    """correct: var = E[x^2] - E[x]^2"""
    mu = x.mean(0)
    var = (x * x).mean(0) - mu * mu
    return (x - mu) / np.sqrt(var + eps) * gamma + beta


# ----------------------------------------------------------------------------------------------- sgd_momentum_paper


@answer("sgd_momentum_paper", "correct", "")
def sgd_paper_in_place(w, v, g, momentum, weight_decay, lr):
    """correct: v[...] = ..., w += v, in place, returns None"""
    v[...] = momentum * v - weight_decay * lr * w - lr * g
    w += v


@answer("sgd_momentum_paper", "correct", "")
def sgd_paper_returns_new_arrays(w, v, g, momentum, weight_decay, lr):
    """correct: returns new arrays (w, v), inputs untouched"""
    v2 = momentum * v - lr * (weight_decay * w + g)
    return w + v2, v2


@answer("sgd_momentum_paper", "correct", "")
def sgd_paper_in_place_and_returns(w, v, g, momentum, weight_decay, lr):
    """correct: updates in place AND returns (w, v)"""
    v *= momentum
    v -= lr * (weight_decay * w + g)
    w += v
    return w, v


@answer("sgd_momentum_paper", "wrong", "v = ... rebinds the local name, so the caller's v is never updated.")
def sgd_paper_v_rebound(w, v, g, momentum, weight_decay, lr):
    v = momentum * v - weight_decay * lr * w - lr * g
    w += v


@answer("sgd_momentum_paper", "wrong", "The weight decay term is not multiplied by the learning rate.")
def sgd_paper_decay_without_lr(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= weight_decay * w + lr * g
    w += v


@answer("sgd_momentum_paper", "wrong", "w is moved by the old v before v is updated.")
def sgd_paper_w_moved_by_old_v(w, v, g, momentum, weight_decay, lr):
    w_old = w.copy()
    w += v
    v *= momentum
    v -= weight_decay * lr * w_old + lr * g


@answer("sgd_momentum_paper", "wrong", "The decay is applied to w after the step (decoupled), not inside v.")
def sgd_paper_decay_after_step(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v -= lr * g
    w += v
    w -= weight_decay * lr * w


@answer("sgd_momentum_paper", "wrong", "Only the new w is returned; v is neither updated nor returned.")
def sgd_paper_returns_w_only(w, v, g, momentum, weight_decay, lr):
    v2 = momentum * v - lr * (weight_decay * w + g)
    return w + v2


@answer("sgd_momentum_paper", "wrong", "New arrays are returned in the order (v, w) instead of (w, v).")
def sgd_paper_returns_v_w(w, v, g, momentum, weight_decay, lr):
    v2 = momentum * v - lr * (weight_decay * w + g)
    return v2, w + v2


# ----------------------------------------------------------------------------------------------- output_size, lrn_window


@answer("output_size", "correct", "")
def output_size_np_int64(n, kernel_size, stride, padding):
    """correct: returns np.int64"""
    return np.int64((n + 2 * padding - kernel_size) // stride + 1)


@answer(
    "output_size", "wrong", "True division: returns a float, not the floor when the stride does not divide."
)
def output_size_true_division(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) / stride + 1


@answer(
    "output_size",
    "wrong",
    "np.floor(...) + 1: the right value as a float, which cannot be an array dimension.",
)
def output_size_floor_float(n, kernel_size, stride, padding):
    return np.floor((n + 2 * padding - kernel_size) / stride) + 1


@answer("lrn_window", "correct", "")
def lrn_window_as_list(c, C, size):
    """correct: returns a list [lo, hi] instead of a tuple"""
    return [max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)]
