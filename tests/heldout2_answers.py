# ruff: noqa
"""A second held-out class of student answers for the exercise grader: 60 wrong answers (one mistake each)
and 20 correct answers in unusual styles. Written without reading the grader or its mistake catalogue."""

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


# ----------------------------------------------------------------------------------------------- conv_forward


@answer("conv_forward", "wrong", "The bias b is never added to the output.")
def conv_fwd_no_bias(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = _osz(h, k, stride, padding), _osz(wd, k, stride, padding)
    out = np.zeros((n, f, ho, wo))
    for y in range(ho):
        for z in range(wo):
            win = xp[:, :, y * stride : y * stride + k, z * stride : z * stride + k]
            out[:, :, y, z] = np.einsum("ncij,fcij->nf", win, w)
    return out


@answer("conv_forward", "wrong", "The kernel is flipped (a true convolution instead of a cross-correlation).")
def conv_fwd_flipped(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = _osz(h, k, stride, padding), _osz(wd, k, stride, padding)
    wf = w[:, :, ::-1, ::-1]
    out = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    out[i, o, y, z] = (
                        np.sum(xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] * wf[o])
                        + b[o]
                    )
    return out


@answer("conv_forward", "wrong", "The window start ignores the stride (windows start at y, not y*stride).")
def conv_fwd_no_stride_offset(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = _osz(h, k, stride, padding), _osz(wd, k, stride, padding)
    out = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    out[i, o, y, z] = np.sum(xp[i, :, y : y + k, z : z + k] * w[o]) + b[o]
    return out


@answer("conv_forward", "wrong", "All the padding is put on the bottom/right side instead of p on each side.")
def conv_fwd_one_sided_pad(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * p), (0, 2 * p)))
    ho, wo = _osz(h, k, stride, p), _osz(wd, k, stride, p)
    out = np.empty((n, f, ho, wo))
    for y in range(ho):
        for z in range(wo):
            win = xp[:, :, y * stride : y * stride + k, z * stride : z * stride + k].reshape(n, -1)
            out[:, :, y, z] = win @ w.reshape(f, -1).T + b
    return out


@answer(
    "conv_forward",
    "wrong",
    "The kernel's i and j indices are swapped in the einsum (the kernel is transposed).",
)
def conv_fwd_einsum_ij(x, w, b, stride, padding):
    p, s = padding, stride
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    return np.einsum("nchwij,fcji->nfhw", win, w) + b[None, :, None, None]


@answer("conv_forward", "correct", "")
def conv_fwd_shift_add(x, w, b, stride, padding):
    # shift-and-add: one strided slice per kernel offset, contracted over channels
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    s, p = stride, padding
    ho, wo = _osz(h, k, s, p), _osz(wd, k, s, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((n, f, ho, wo), dtype=np.result_type(x, w, b))
    for i in range(k):
        for j in range(k):
            sl = xp[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s]
            out += np.tensordot(w[:, :, i, j], sl, axes=([1], [1])).transpose(1, 0, 2, 3)
    return out + b.reshape(1, f, 1, 1)


@answer("conv_forward", "correct", "")
def conv_fwd_as_strided(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    s, p = stride, padding
    ho, wo = _osz(h, k, s, p), _osz(wd, k, s, p)
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))))
    sn, sc, sh, sw = xp.strides
    win = np.lib.stride_tricks.as_strided(
        xp, shape=(n, ho, wo, c, k, k), strides=(sn, sh * s, sw * s, sc, sh, sw), writeable=False
    )
    out = win.reshape(n * ho * wo, c * k * k) @ w.reshape(f, -1).T + b
    return np.ascontiguousarray(out.reshape(n, ho, wo, f).transpose(0, 3, 1, 2))


# ---------------------------------------------------------------------------------------------- conv_backward


@answer(
    "conv_backward",
    "wrong",
    "The padding is cropped with [p:-p], which returns an empty dx when padding is 0.",
)
def conv_bwd_crop_minus(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(n):
        for o in range(f):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    g = dout[i, o, y, z]
                    dw[o] += g * xp[i, :, ys : ys + k, zs : zs + k]
                    dxp[i, :, ys : ys + k, zs : zs + k] += g * w[o]
    return dxp[:, :, p:-p, p:-p], dw, dout.sum(axis=(0, 2, 3))


@answer(
    "conv_backward",
    "wrong",
    "dx is assigned with = instead of accumulated with +=, so overlapping windows overwrite each other.",
)
def conv_bwd_assign(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for y in range(dout.shape[2]):
        for z in range(dout.shape[3]):
            ys, zs = y * stride, z * stride
            g = dout[:, :, y, z]
            dw += np.einsum("nf,ncij->fcij", g, xp[:, :, ys : ys + k, zs : zs + k])
            dxp[:, :, ys : ys + k, zs : zs + k] = np.einsum("nf,fcij->ncij", g, w)
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "db is averaged over the batch (divided by N) instead of summed.")
def conv_bwd_db_mean(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(n):
        for o in range(f):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    g = dout[i, o, y, z]
                    dw[o] += g * xp[i, :, ys : ys + k, zs : zs + k]
                    dxp[i, :, ys : ys + k, zs : zs + k] += g * w[o]
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3)) / n


@answer(
    "conv_backward",
    "wrong",
    "dw reads the input window without the stride (at y, z instead of y*stride, z*stride).",
)
def conv_bwd_dw_no_stride(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(n):
        for o in range(f):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    g = dout[i, o, y, z]
                    dw[o] += g * xp[i, :, y : y + k, z : z + k]
                    dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] += g * w[o]
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "wrong", "dw is accumulated with the window flipped (rotated 180 degrees).")
def conv_bwd_dw_flipped(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(n):
        for o in range(f):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    ys, zs = y * stride, z * stride
                    g = dout[i, o, y, z]
                    dw[o] += g * xp[i, :, ys : ys + k, zs : zs + k][:, ::-1, ::-1]
                    dxp[i, :, ys : ys + k, zs : zs + k] += g * w[o]
    return dxp[:, :, p : p + h, p : p + wd], dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "correct", "")
def conv_bwd_shift_add(dout, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    s, p = stride, padding
    ho, wo = dout.shape[2], dout.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros(xp.shape, dtype=np.result_type(dout, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dout, x))
    for i in range(k):
        for j in range(k):
            ys = slice(i, i + s * (ho - 1) + 1, s)
            zs = slice(j, j + s * (wo - 1) + 1, s)
            dw[:, :, i, j] = np.einsum("nfyz,ncyz->fc", dout, xp[:, :, ys, zs])
            dxp[:, :, ys, zs] += np.einsum("nfyz,fc->ncyz", dout, w[:, :, i, j])
    return dxp[:, :, p : p + h, p : p + wd].copy(), dw, dout.sum(axis=(0, 2, 3))


@answer("conv_backward", "correct", "")
def conv_bwd_add_at(dout, x, w, b, stride, padding):
    # gather/scatter with explicit index arrays
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    s, p = stride, padding
    ho, wo = dout.shape[2], dout.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    rows = (np.arange(ho) * s)[:, None, None, None] + np.arange(k)[None, None, :, None]  # (ho,1,k,1)
    cols = (np.arange(wo) * s)[None, :, None, None] + np.arange(k)[None, None, None, :]  # (1,wo,1,k)
    rows, cols = np.broadcast_arrays(rows, cols)  # (ho, wo, k, k)
    patches = xp[:, :, rows, cols]  # (n, c, ho, wo, k, k)
    dw = np.einsum("nfyz,ncyzij->fcij", dout, patches)
    dpatch = np.einsum("nfyz,fcij->ncyzij", dout, w)
    dxp = np.zeros(xp.shape, dtype=dpatch.dtype)
    np.add.at(dxp, (slice(None), slice(None), rows, cols), dpatch)
    return dxp[:, :, p : p + h, p : p + wd].copy(), dw, dout.sum(axis=(0, 2, 3))


# ------------------------------------------------------------------------------------------------------ im2col


@answer(
    "im2col",
    "wrong",
    "The rows are ordered (y, z, n) — the batch index varies fastest — instead of (n, y, z).",
)
def im2col_batch_inner(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, p = kernel_size, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = _osz(h, k, stride, p), _osz(w, k, stride, p)
    rows = []
    for y in range(ho):
        for z in range(wo):
            for i in range(n):
                rows.append(xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k].reshape(-1))
    return np.array(rows)


@answer("im2col", "wrong", "Inside a row the window is flattened in (i, j, c) order instead of (c, i, j).")
def im2col_channels_last(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, s, p = kernel_size, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = _osz(h, k, s, p), _osz(w, k, s, p)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    return win.transpose(0, 2, 3, 4, 5, 1).reshape(n * ho * wo, -1)


@answer("im2col", "wrong", "The input is padded by repeating the edge pixels instead of with zeros.")
def im2col_edge_pad(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, p = kernel_size, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="edge")
    ho, wo = _osz(h, k, stride, p), _osz(w, k, stride, p)
    out = np.empty((n * ho * wo, c * k * k))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                out[r] = xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k].ravel()
                r += 1
    return out


@answer(
    "im2col", "wrong", "The output pixels are visited column-major (z outer, y inner) instead of row-major."
)
def im2col_col_major(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, p = kernel_size, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = _osz(h, k, stride, p), _osz(w, k, stride, p)
    rows = []
    for i in range(n):
        for z in range(wo):
            for y in range(ho):
                rows.append(xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k].flatten())
    return np.stack(rows)


@answer("im2col", "correct", "")
def im2col_fancy_index(x, kernel_size, stride, padding):
    # cs231n-style index arrays
    n, c, h, w = x.shape
    k, s, p = kernel_size, stride, padding
    ho, wo = _osz(h, k, s, p), _osz(w, k, s, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ci = np.repeat(np.arange(c), k * k)  # (c*k*k,)
    ii = np.tile(np.repeat(np.arange(k), k), c)
    jj = np.tile(np.arange(k), k * c)
    yy = np.repeat(np.arange(ho) * s, wo)  # (ho*wo,)
    zz = np.tile(np.arange(wo) * s, ho)
    r = yy[:, None] + ii[None, :]
    q = zz[:, None] + jj[None, :]
    cols = xp[:, ci[None, :], r, q]  # (n, ho*wo, c*k*k)
    return cols.reshape(n * ho * wo, c * k * k)


# ------------------------------------------------------------------------------------------------------ col2im


@answer("col2im", "wrong", "Overlapping contributions are assigned with = instead of summed with +=.")
def col2im_assign(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, p = kernel_size, padding
    ho, wo = _osz(h, k, stride, p), _osz(w, k, stride, p)
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] = cols[r].reshape(c, k, k)
                r += 1
    return dxp[:, :, p : p + h, p : p + w]


@answer(
    "col2im",
    "wrong",
    "The summed gradient is divided by the number of windows covering each pixel (an average, as if inverting im2col).",
)
def col2im_average(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, p = kernel_size, padding
    ho, wo = _osz(h, k, stride, p), _osz(w, k, stride, p)
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    cnt = np.zeros((h + 2 * p, w + 2 * p))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] += cols[r].reshape(
                    c, k, k
                )
                if i == 0:
                    cnt[y * stride : y * stride + k, z * stride : z * stride + k] += 1
                r += 1
    dxp = dxp / np.maximum(cnt, 1)
    return dxp[:, :, p : p + h, p : p + w]


@answer(
    "col2im",
    "wrong",
    "Each row is unflattened as (k, k, c) and transposed, assuming (i, j, c) column order instead of (c, i, j).",
)
def col2im_hwc(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, p = kernel_size, padding
    ho, wo = _osz(h, k, stride, p), _osz(w, k, stride, p)
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


@answer(
    "col2im",
    "wrong",
    "The rows are read as if ordered (y, z, n) with the batch index fastest, instead of (n, y, z).",
)
def col2im_batch_inner(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, s, p = kernel_size, stride, padding
    ho, wo = _osz(h, k, s, p), _osz(w, k, s, p)
    blocks = cols.reshape(ho, wo, n, c, k, k)
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for y in range(ho):
        for z in range(wo):
            dxp[:, :, y * s : y * s + k, z * s : z * s + k] += blocks[y, z]
    return dxp[:, :, p : p + h, p : p + w]


@answer("col2im", "correct", "")
def col2im_bincount(cols, x_shape, kernel_size, stride, padding):
    # flat-index scatter with np.bincount
    n, c, h, w = x_shape
    k, s, p = kernel_size, stride, padding
    ho, wo = _osz(h, k, s, p), _osz(w, k, s, p)
    hp, wp = h + 2 * p, w + 2 * p
    nn, yy, zz, cc, ii, jj = np.meshgrid(
        np.arange(n), np.arange(ho), np.arange(wo), np.arange(c), np.arange(k), np.arange(k), indexing="ij"
    )
    flat = ((nn * c + cc) * hp + (yy * s + ii)) * wp + (zz * s + jj)
    dxp = np.bincount(
        flat.ravel(), weights=np.asarray(cols, dtype=np.float64).ravel(), minlength=n * c * hp * wp
    )
    return dxp.reshape(n, c, hp, wp)[:, :, p : p + h, p : p + w].copy()


# --------------------------------------------------------------------------------------------- maxpool_forward


@answer(
    "maxpool_forward",
    "wrong",
    "The window slice is one pixel short (y*s : y*s + k - 1), so it pools (k-1)x(k-1) windows.",
)
def maxpool_fwd_short_window(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = _osz(h, k, stride, 0), _osz(w, k, stride, 0)
    out = np.zeros((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = x[:, :, y * stride : y * stride + k - 1, z * stride : z * stride + k - 1].max(
                axis=(2, 3)
            )
    return out


@answer(
    "maxpool_forward",
    "wrong",
    "The running maximum starts at 0 instead of -inf, so all-negative windows give 0.",
)
def maxpool_fwd_zero_init(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = _osz(h, k, stride, 0), _osz(w, k, stride, 0)
    out = np.zeros((n, c, ho, wo))
    for i in range(k):
        for j in range(k):
            out = np.maximum(
                out, x[:, :, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride]
            )
    return out


@answer(
    "maxpool_forward",
    "wrong",
    "The window's row and column offsets are swapped (the window for (y, z) is taken at (z*s, y*s)).",
)
def maxpool_fwd_swapped(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = _osz(h, k, stride, 0), _osz(w, k, stride, 0)
    out = np.zeros((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = x[:, :, z * stride : z * stride + k, y * stride : y * stride + k].max(
                axis=(2, 3)
            )
    return out


@answer(
    "maxpool_forward", "wrong", "The output size rounds up (ceil mode), adding a partial window at the edge."
)
def maxpool_fwd_ceil(x, kernel_size, stride):
    n, c, h, w = x.shape
    k = kernel_size
    ho, wo = -(-(h - k) // stride) + 1, -(-(w - k) // stride) + 1
    out = np.empty((n, c, ho, wo))
    for y in range(ho):
        for z in range(wo):
            out[:, :, y, z] = x[:, :, y * stride : y * stride + k, z * stride : z * stride + k].max(
                axis=(2, 3)
            )
    return out


@answer("maxpool_forward", "correct", "")
def maxpool_fwd_swv(x, kernel_size, stride):
    k, s = kernel_size, stride
    ho, wo = _osz(x.shape[2], k, s, 0), _osz(x.shape[3], k, s, 0)
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    return win.max(axis=(-2, -1))


# -------------------------------------------------------------------------------------------- maxpool_backward


@answer(
    "maxpool_backward",
    "wrong",
    "The gradient is assigned with = instead of +=, so a pixel that is the maximum of two overlapping windows keeps only one.",
)
def maxpool_bwd_assign(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros_like(x)
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    window = x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]
                    a = int(np.argmax(window))
                    dx[i, ch, y * stride + a // k, z * stride + a % k] = dout[i, ch, y, z]
    return dx


@answer(
    "maxpool_backward",
    "wrong",
    "On a tie the gradient is sent to every maximum of the window instead of only the first.",
)
def maxpool_bwd_all_ties(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros_like(x)
    n, c, ho, wo = dout.shape
    for y in range(ho):
        for z in range(wo):
            win = x[:, :, y * stride : y * stride + k, z * stride : z * stride + k]
            m = win.max(axis=(2, 3), keepdims=True)
            dx[:, :, y * stride : y * stride + k, z * stride : z * stride + k] += (win == m) * dout[
                :, :, y : y + 1, z : z + 1
            ]
    return dx


@answer(
    "maxpool_backward",
    "wrong",
    "The argmax is decoded with row and column swapped (a % k as the row, a // k as the column).",
)
def maxpool_bwd_decode_swapped(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros_like(x)
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    window = x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]
                    a = int(np.argmax(window))
                    dx[i, ch, y * stride + a % k, z * stride + a // k] += dout[i, ch, y, z]
    return dx


@answer(
    "maxpool_backward",
    "wrong",
    "The column offset of the window (z*stride) is forgotten when routing the gradient.",
)
def maxpool_bwd_no_col_offset(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros_like(x)
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    window = x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[i, ch, y * stride + r, q] += dout[i, ch, y, z]
    return dx


@answer(
    "maxpool_backward",
    "wrong",
    "The routed gradient is multiplied by the maximum value (dout * max) instead of passed through unchanged.",
)
def maxpool_bwd_times_max(dout, x, kernel_size, stride):
    k = kernel_size
    dx = np.zeros_like(x)
    n, c, ho, wo = dout.shape
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    window = x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]
                    a = int(np.argmax(window))
                    dx[i, ch, y * stride + a // k, z * stride + a % k] += dout[i, ch, y, z] * window.max()
    return dx


@answer("maxpool_backward", "correct", "")
def maxpool_bwd_vector_argmax(dout, x, kernel_size, stride):
    k, s = kernel_size, stride
    n, c, ho, wo = dout.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    a = win.reshape(n, c, ho, wo, k * k).argmax(axis=-1)  # first maximum
    rows = np.arange(ho)[None, None, :, None] * s + a // k
    colz = np.arange(wo)[None, None, None, :] * s + a % k
    nn = np.arange(n)[:, None, None, None]
    cc = np.arange(c)[None, :, None, None]
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    np.add.at(dx, (np.broadcast_to(nn, a.shape), np.broadcast_to(cc, a.shape), rows, colz), dout)
    return dx


@answer("maxpool_backward", "correct", "")
def maxpool_bwd_offset_scan(dout, x, kernel_size, stride):
    # scan the k*k offsets in row-major order, claim each window's first maximum
    k, s = kernel_size, stride
    n, c, ho, wo = dout.shape
    ys = lambda i: slice(i, i + s * (ho - 1) + 1, s)
    zs = lambda j: slice(j, j + s * (wo - 1) + 1, s)
    m = np.full(dout.shape, -np.inf)
    for i in range(k):
        for j in range(k):
            m = np.maximum(m, x[:, :, ys(i), zs(j)])
    taken = np.zeros(dout.shape, dtype=bool)
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    for i in range(k):
        for j in range(k):
            hit = (x[:, :, ys(i), zs(j)] == m) & ~taken
            taken |= hit
            dx[:, :, ys(i), zs(j)] += np.where(hit, dout, 0.0)
    return dx


# ------------------------------------------------------------------------------------------------- lrn_forward


@answer(
    "lrn_forward",
    "wrong",
    "The window is size//2 channels on both sides, which is one channel too wide for an even size.",
)
def lrn_fwd_symmetric(x, size, alpha, beta, k):
    c = x.shape[1]
    out = np.zeros_like(x)
    half = size // 2
    for ch in range(c):
        lo, hi = max(0, ch - half), min(c, ch + half + 1)
        s = k + alpha * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@answer(
    "lrn_forward",
    "wrong",
    "alpha is divided by size (PyTorch's convention) although the paper's form uses alpha as given.",
)
def lrn_fwd_alpha_over_n(x, size, alpha, beta, k):
    c = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        s = k + alpha / size * np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@answer(
    "lrn_forward",
    "wrong",
    "The power beta is applied to alpha*sum before adding k, instead of to (k + alpha*sum).",
)
def lrn_fwd_power_misplaced(x, size, alpha, beta, k):
    c = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        out[:, ch] = x[:, ch] / (k + (alpha * np.sum(x[:, lo:hi] ** 2, axis=1)) ** beta)
    return out


@answer(
    "lrn_forward",
    "wrong",
    "The window's lower end is not clipped at 0, so a negative slice start gives an empty window for the first channels.",
)
def lrn_fwd_unclipped(x, size, alpha, beta, k):
    c = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(c):
        s = k + alpha * np.sum(x[:, ch - size // 2 : ch + (size - 1) // 2 + 1] ** 2, axis=1)
        out[:, ch] = x[:, ch] / s**beta
    return out


@answer("lrn_forward", "correct", "")
def lrn_fwd_cumsum(x, size, alpha, beta, k):
    c = x.shape[1]
    sq = x.astype(np.float64) ** 2
    cs = np.concatenate([np.zeros_like(sq[:, :1]), np.cumsum(sq, axis=1)], axis=1)  # cs[:, j] = sum_{<j}
    lo = np.maximum(0, np.arange(c) - size // 2)
    hi = np.minimum(c, np.arange(c) + (size - 1) // 2 + 1)
    s = k + alpha * (cs[:, hi] - cs[:, lo])
    return x / s**beta


# ------------------------------------------------------------------------------------------------ lrn_backward


def _lrn_windows(c, size):
    lo = [max(0, ch - size // 2) for ch in range(c)]
    hi = [min(c, ch + (size - 1) // 2 + 1) for ch in range(c)]
    return lo, hi


@answer(
    "lrn_backward",
    "wrong",
    "Only the direct term g*s^-beta is kept; the cross-channel term through the denominators is missing.",
)
def lrn_bwd_direct_only(dout, x, size, alpha, beta, k):
    c = x.shape[1]
    lo, hi = (
        [max(0, ch - size // 2) for ch in range(c)],
        [min(c, ch + (size - 1) // 2 + 1) for ch in range(c)],
    )
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(c)], axis=1)
    return dout * s**-beta


@answer(
    "lrn_backward", "wrong", "The cross-channel term is missing the factor 2 from the derivative of a_j^2."
)
def lrn_bwd_no_two(dout, x, size, alpha, beta, k):
    c = x.shape[1]
    lo, hi = (
        [max(0, ch - size // 2) for ch in range(c)],
        [min(c, ch + (size - 1) // 2 + 1) for ch in range(c)],
    )
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(c)], axis=1)
    dx = dout * s**-beta
    for ch in range(c):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1)
        for j in range(lo[ch], hi[ch]):
            dx[:, j] -= alpha * beta * x[:, j] * t
    return dx


@answer("lrn_backward", "wrong", "The cross-channel term uses the exponent -beta instead of -beta-1 on s_c.")
def lrn_bwd_wrong_exponent(dout, x, size, alpha, beta, k):
    c = x.shape[1]
    lo, hi = (
        [max(0, ch - size // 2) for ch in range(c)],
        [min(c, ch + (size - 1) // 2 + 1) for ch in range(c)],
    )
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(c)], axis=1)
    dx = dout * s**-beta
    for ch in range(c):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta)
        for j in range(lo[ch], hi[ch]):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t
    return dx


@answer(
    "lrn_backward",
    "wrong",
    "The cross term sums over channel j's own window instead of over the channels c whose windows contain j (differs for an even size).",
)
def lrn_bwd_transposed_window(dout, x, size, alpha, beta, k):
    c = x.shape[1]
    lo, hi = (
        [max(0, ch - size // 2) for ch in range(c)],
        [min(c, ch + (size - 1) // 2 + 1) for ch in range(c)],
    )
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(c)], axis=1)
    t = dout * x * s ** (-beta - 1)
    dx = dout * s**-beta
    for j in range(c):
        dx[:, j] -= 2 * alpha * beta * x[:, j] * t[:, lo[j] : hi[j]].sum(axis=1)
    return dx


@answer(
    "lrn_backward",
    "wrong",
    "The cross term is multiplied by a_c (the output channel's input) instead of a_j, so a_c appears squared.",
)
def lrn_bwd_a_c_twice(dout, x, size, alpha, beta, k):
    c = x.shape[1]
    lo, hi = (
        [max(0, ch - size // 2) for ch in range(c)],
        [min(c, ch + (size - 1) // 2 + 1) for ch in range(c)],
    )
    s = np.stack([k + alpha * np.sum(x[:, lo[ch] : hi[ch]] ** 2, axis=1) for ch in range(c)], axis=1)
    dx = dout * s**-beta
    for ch in range(c):
        t = dout[:, ch] * x[:, ch] * s[:, ch] ** (-beta - 1)
        for j in range(lo[ch], hi[ch]):
            dx[:, j] -= 2 * alpha * beta * x[:, ch] * t
    return dx


@answer("lrn_backward", "correct", "")
def lrn_bwd_window_matrix(dout, x, size, alpha, beta, k):
    # M[c, j] = 1 when channel j is in channel c's window; both sums become einsums
    c = x.shape[1]
    idx = np.arange(c)
    lo = np.maximum(0, idx - size // 2)[:, None]
    hi = np.minimum(c, idx + (size - 1) // 2 + 1)[:, None]
    M = ((idx[None, :] >= lo) & (idx[None, :] < hi)).astype(np.float64)
    s = k + alpha * np.einsum("cj,nj...->nc...", M, x**2)
    t = dout * x * s ** (-beta - 1)
    return dout * s**-beta - 2 * alpha * beta * x * np.einsum("cj,nc...->nj...", M, t)


# ---------------------------------------------------------------------------------------- softmax_cross_entropy


@answer(
    "softmax_cross_entropy",
    "wrong",
    "The row maximum is not subtracted before exp, so large logits overflow to inf/nan.",
)
def sce_no_shift(logits, labels):
    n = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), labels]))
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return loss, d / n


@answer(
    "softmax_cross_entropy",
    "wrong",
    "The loss and gradient are summed over the batch instead of averaged (no 1/N).",
)
def sce_sum(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -lp[np.arange(n), labels].sum()
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return loss, d


@answer(
    "softmax_cross_entropy",
    "wrong",
    "The loss is averaged over the batch but the gradient is not divided by N.",
)
def sce_grad_not_averaged(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return -lp[np.arange(n), labels].mean(), d


@answer(
    "softmax_cross_entropy",
    "wrong",
    "The log-probability is computed as log(softmax), which is log(0) = -inf when a probability underflows.",
)
def sce_log_of_softmax(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), labels]).mean()
    onehot = np.zeros_like(p)
    onehot[np.arange(n), labels] = 1
    return loss, (p - onehot) / n


@answer(
    "softmax_cross_entropy",
    "wrong",
    "The softmax is normalised over the batch axis (axis 0) instead of over the classes.",
)
def sce_wrong_axis(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=0, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=0, keepdims=True))
    d = np.exp(lp)
    d[np.arange(n), labels] -= 1
    return -lp[np.arange(n), labels].mean(), d / n


@answer("softmax_cross_entropy", "correct", "")
def sce_take_along(logits, labels):
    z = np.asarray(logits, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))
    lab = np.asarray(labels).reshape(-1, 1)
    picked = np.take_along_axis(z, lab, axis=-1)
    n = z.shape[0]
    grad = np.exp(z - lse)
    np.put_along_axis(grad, lab, np.take_along_axis(grad, lab, axis=-1) - 1.0, axis=-1)
    return float(np.mean(lse - picked)), grad / n


@answer("softmax_cross_entropy", "correct", "")
def sce_row_loop(logits, labels):
    n, kk = logits.shape
    total = 0.0
    d = np.empty((n, kk))
    for i in range(n):
        row = logits[i]
        m = row.max()
        e = np.exp(row - m)
        ssum = e.sum()
        total += np.log(ssum) + m - row[labels[i]]
        d[i] = e / ssum
        d[i, labels[i]] -= 1.0
    return total / n, d / n


# ---------------------------------------------------------------------------------------------- dropout_forward


@answer(
    "dropout_forward",
    "wrong",
    "The pytorch convention divides by p instead of by the keep probability 1 - p.",
)
def drop_fwd_div_p(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / p if train else x.copy()
    return x * mask if train else x * (1 - p)


@answer("dropout_forward", "wrong", "In the paper's convention the test-time output is not scaled by 1 - p.")
def drop_fwd_paper_test_unscaled(x, mask, p, convention, train):
    if not train:
        return x.copy()
    return x * mask / (1 - p) if convention == "pytorch" else x * mask


@answer(
    "dropout_forward", "wrong", "The mask is inverted: the elements marked True (keep) are the ones dropped."
)
def drop_fwd_inverted_mask(x, mask, p, convention, train):
    if not train:
        return x.copy() if convention == "pytorch" else x * (1 - p)
    y = np.where(mask, 0.0, x)
    return y / (1 - p) if convention == "pytorch" else y


@answer(
    "dropout_forward",
    "wrong",
    "The input x is modified in place (x *= mask) and returned, so the caller's array is changed.",
)
def drop_fwd_inplace(x, mask, p, convention, train):
    if train:
        x *= mask
        if convention == "pytorch":
            x /= 1 - p
        return x
    if convention == "paper":
        x *= 1 - p
    return x


@answer("dropout_forward", "correct", "")
def drop_fwd_table(x, mask, p, convention, train):
    scale = {
        ("pytorch", True): 1 / (1 - p),
        ("pytorch", False): 1.0,
        ("paper", True): 1.0,
        ("paper", False): 1 - p,
    }[(convention, bool(train))]
    keep = mask if train else np.ones(np.shape(x), dtype=bool)
    return np.where(keep, x * scale, 0.0).astype(np.result_type(x, np.float64))


# --------------------------------------------------------------------------------------------- dropout_backward


@answer("dropout_backward", "wrong", "The pytorch convention's backward forgets the 1/(1-p) scale.")
def drop_bwd_no_scale(dout, mask, p, convention):
    return dout * mask


@answer(
    "dropout_backward",
    "wrong",
    "The paper convention's backward also divides by 1 - p (the pytorch scale is used for both).",
)
def drop_bwd_always_scaled(dout, mask, p, convention):
    return dout * mask / (1 - p)


@answer(
    "dropout_backward",
    "wrong",
    "The paper convention's backward multiplies by 1 - p (the test-time factor) instead of 1.",
)
def drop_bwd_paper_test_factor(dout, mask, p, convention):
    if convention == "pytorch":
        return dout * mask / (1 - p)
    return dout * mask * (1 - p)


@answer("dropout_backward", "correct", "")
def drop_bwd_where(dout, mask, p, convention):
    factor = 1.0 / (1.0 - p) if convention == "pytorch" else 1.0
    return np.where(mask, dout * factor, np.zeros_like(dout))


# ------------------------------------------------------------------------------------------- sgd_momentum_paper


@answer(
    "sgd_momentum_paper", "wrong", "The weight decay term has the wrong sign (+lambda*eps*w in the velocity)."
)
def sgd_decay_sign(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v += weight_decay * lr * w - lr * g
    w += v


@answer("sgd_momentum_paper", "wrong", "w is updated with the old velocity, before v is updated.")
def sgd_old_v(w, v, g, momentum, weight_decay, lr):
    w += v
    v[...] = momentum * v - weight_decay * lr * w - lr * g


@answer("sgd_momentum_paper", "wrong", "The weight decay term is not multiplied by the learning rate.")
def sgd_decay_no_lr(w, v, g, momentum, weight_decay, lr):
    v[:] = momentum * v - weight_decay * w - lr * g
    w[:] = w + v


_VELOCITY = {}


@answer(
    "sgd_momentum_paper",
    "wrong",
    "The velocity is kept in a module-level cache between calls instead of using the v passed in.",
)
def sgd_cached_velocity(w, v, g, momentum, weight_decay, lr):
    key = w.shape
    vel = _VELOCITY.get(key, np.zeros_like(w))
    vel = momentum * vel - weight_decay * lr * w - lr * g
    _VELOCITY[key] = vel
    v[...] = vel
    w += vel


@answer("sgd_momentum_paper", "correct", "")
def sgd_return_new(w, v, g, momentum, weight_decay, lr):
    v_new = momentum * v - lr * (weight_decay * w + g)
    return w + v_new, v_new


@answer("sgd_momentum_paper", "correct", "")
def sgd_ufunc_out(w, v, g, momentum, weight_decay, lr):
    step = np.multiply(weight_decay, w)
    np.add(step, g, out=step)
    np.multiply(step, lr, out=step)
    np.multiply(v, momentum, out=v)
    np.subtract(v, step, out=v)
    np.add(w, v, out=w)
    return w, v


# ---------------------------------------------------------------------------------------------- linear_backward


@answer("linear_backward", "wrong", "dw is computed as x.T @ dout, the transpose of the (out, in) layout.")
def lin_bwd_dw_transposed(dout, x, w, b):
    return dout @ w, x.T @ dout, dout.sum(axis=0)


@answer("linear_backward", "wrong", "db is the mean of dout over the batch instead of the sum.")
def lin_bwd_db_mean(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.mean(axis=0)


@answer("linear_backward", "wrong", "dw is divided by the batch size N.")
def lin_bwd_dw_over_n(dout, x, w, b):
    n = x.shape[0]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for i in range(n):
        dx[i] = w.T @ dout[i]
        dw += np.outer(dout[i], x[i])
    return dx, dw / n, dout.sum(axis=0)


@answer("linear_backward", "wrong", "db sums dout over the output axis (axis 1) instead of the batch axis.")
def lin_bwd_db_axis(dout, x, w, b):
    return np.einsum("no,oi->ni", dout, w), np.einsum("no,ni->oi", dout, x), dout.sum(axis=1)


@answer("linear_backward", "correct", "")
def lin_bwd_loops(dout, x, w, b):
    n, d_in = x.shape
    d_out = w.shape[0]
    dx = np.zeros((n, d_in))
    dw = np.zeros((d_out, d_in))
    db = np.zeros(d_out)
    for i in range(n):
        for o in range(d_out):
            g = dout[i, o]
            db[o] += g
            dw[o, :] += g * x[i, :]
            dx[i, :] += g * w[o, :]
    return dx, dw, db


# ------------------------------------------------------------------------------------------- batchnorm_backward


@answer(
    "batchnorm_backward",
    "wrong",
    "dx treats the batch mean and variance as constants (dx = gamma * dout / sigma).",
)
def bn_bwd_no_stats(dout, x, gamma, beta, eps):
    inv_std = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv_std
    return gamma * dout * inv_std, (dout * xhat).sum(0), dout.sum(0)


@answer(
    "batchnorm_backward",
    "wrong",
    "The unbiased variance (ddof=1) is used instead of the biased batch variance.",
)
def bn_bwd_unbiased(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv_std = 1 / np.sqrt(x.var(0, ddof=1) + eps)
    xhat = (x - x.mean(0)) * inv_std
    dgamma, dbeta = (dout * xhat).sum(0), dout.sum(0)
    dx = gamma * inv_std / n * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


@answer(
    "batchnorm_backward",
    "wrong",
    "dx forgets the variance's term (-xhat * sum(g*xhat)); only the mean is subtracted.",
)
def bn_bwd_no_var_term(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv_std = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv_std
    dgamma, dbeta = (dout * xhat).sum(0), dout.sum(0)
    dx = gamma * inv_std / n * (n * dout - dbeta)
    return dx, dgamma, dbeta


@answer(
    "batchnorm_backward",
    "wrong",
    "dgamma is sum(dout * x) with the raw input instead of the normalised xhat.",
)
def bn_bwd_dgamma_raw_x(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv_std = 1 / np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) * inv_std
    dbeta = dout.sum(0)
    dx = gamma * inv_std / n * (n * dout - dbeta - xhat * (dout * xhat).sum(0))
    return dx, (dout * x).sum(0), dbeta


@answer("batchnorm_backward", "correct", "")
def bn_bwd_staged(dout, x, gamma, beta, eps):
    # backprop through the computational graph one node at a time
    n = x.shape[0]
    mu = x.sum(0) / n
    xc = x - mu
    var = (xc**2).sum(0) / n
    std = np.sqrt(var + eps)
    istd = 1.0 / std
    xhat = xc * istd
    dbeta = dout.sum(0)
    dgamma = (dout * xhat).sum(0)
    dxhat = dout * gamma
    distd = (dxhat * xc).sum(0)
    dxc = dxhat * istd
    dstd = -distd / std**2
    dvar = dstd * 0.5 / std
    dxc = dxc + 2.0 * xc * dvar / n
    dmu = -dxc.sum(0)
    dx = dxc + dmu / n
    return dx, dgamma, dbeta


@answer("batchnorm_backward", "correct", "")
def bn_bwd_projection(dout, x, gamma, beta, eps):
    # dx = gamma/sigma * (I - 11^T/N - xhat xhat^T/N) g, per feature, as an explicit projection
    n, d = x.shape
    sig = np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) / sig
    dx = np.empty((n, d))
    for f in range(d):
        P = np.eye(n) - np.ones((n, n)) / n - np.outer(xhat[:, f], xhat[:, f]) / n
        dx[:, f] = gamma[f] / sig[f] * (P @ dout[:, f])
    return dx, np.einsum("nd,nd->d", dout, xhat), np.einsum("nd->d", dout)
