"""Numba kernels: the fast twins of :mod:`alexnet_np.ops.reference`, written as plain loops.

Each ``_loop`` function is ``@njit(cache=True)`` and reads like the textbook definition;
set ``NUMBA_DISABLE_JIT=1`` to run them as ordinary Python and step through them in a
debugger. The wrappers at the end take the arguments of the reference functions (ints or pairs,
the same defaults) and add what only the fast path needs: a work array to fill (``out=``), the
memory layout of the result, and for LRN the two powers of the scale the backward multiplies by.

Memory layout. Arrays are NCHW by shape, but a convolution's output is produced
channels-last in memory (``(N, H, W, C)`` seen through ``transpose(0, 3, 1, 2)``, PyTorch's
``channels_last``), because that is how its matrix multiply lays it out. The kernels read any
strides, and where the order of the loops matters for speed there are two loop nests: one
whose innermost loop runs along W (for NCHW memory) and one whose innermost loop runs along C
(for channels-last memory). Outputs are allocated in the layout of their input, so a
channels-last network stays channels-last end to end without a copy.

Threads: the wrappers are ``@serialised`` (:mod:`alexnet_np.ops.threads`): on Numba's ``workqueue`` layer,
two Python threads take turns instead of aborting the process.

Parallel loops (``prange``) only ever split work whose writes do not overlap — rows of
``cols``, output pixels of a pool, images of a batch — so there is no shared accumulation and
the result does not depend on the thread count (bit-identical runs). Small work skips the threads: each
wrapper calls its loop through :func:`alexnet_np.ops.threads.sized`, which below
:data:`~alexnet_np.ops.threads.SMALL_WORK` elements (the loop's largest array) runs the same loop compiled
without ``parallel`` (waking the worker threads would cost more than the loop), with the same bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..shapes import is_channels_last, output_hw, pair
from . import reference
from .threads import serialised, sized

# ---- im2col / col2im -------------------------------------------------------------------------
# cols[(n·Ho + oh)·Wo + ow, (c·kh + i)·kw + j] = x[n, c, oh·sh − ph + i, ow·sw − pw + j] (0 outside)


@njit(cache=True, parallel=True)
def _im2col_loop(x, kh, kw, sh, sw, ph, pw, ho, wo, cols):
    """NCHW memory: the innermost loop (j) walks along a row of the image."""
    n_img, n_ch, h, w = x.shape
    for nh in prange(n_img * ho):
        n, oh = nh // ho, nh % ho
        for ow in range(wo):
            row = nh * wo + ow
            col = 0
            for c in range(n_ch):
                for i in range(kh):
                    y = oh * sh - ph + i
                    for j in range(kw):
                        xx = ow * sw - pw + j
                        if 0 <= y < h and 0 <= xx < w:
                            cols[row, col] = x[n, c, y, xx]
                        else:
                            cols[row, col] = 0
                        col += 1


@njit(cache=True, parallel=True)
def _im2col_channels_last_loop(x, kh, kw, sh, sw, ph, pw, ho, wo, cols):
    """Channels-last memory: the innermost loop (c) walks along the channels of one pixel."""
    n_img, n_ch, h, w = x.shape
    area = kh * kw
    for nh in prange(n_img * ho):
        n, oh = nh // ho, nh % ho
        for ow in range(wo):
            row = nh * wo + ow
            for i in range(kh):
                y = oh * sh - ph + i
                for j in range(kw):
                    xx = ow * sw - pw + j
                    inside = 0 <= y < h and 0 <= xx < w
                    for c in range(n_ch):
                        cols[row, c * area + i * kw + j] = x[n, c, y, xx] if inside else 0


@njit(cache=True, parallel=True)
def _col2im_loop(cols, kh, kw, sh, sw, ph, pw, ho, wo, dx):
    """The adjoint of im2col: each column entry is *added* to the pixel it was copied from."""
    n_img, n_ch, h, w = dx.shape
    for n in prange(n_img):  # windows of neighbouring rows overlap: split by image only
        for oh in range(ho):
            for ow in range(wo):
                row = (n * ho + oh) * wo + ow
                col = 0
                for c in range(n_ch):
                    for i in range(kh):
                        y = oh * sh - ph + i
                        for j in range(kw):
                            xx = ow * sw - pw + j
                            if 0 <= y < h and 0 <= xx < w:
                                dx[n, c, y, xx] += cols[row, col]
                            col += 1


@njit(cache=True, parallel=True)
def _col2im_channels_last_loop(cols, kh, kw, sh, sw, ph, pw, ho, wo, dx):
    n_img, n_ch, h, w = dx.shape
    area = kh * kw
    for n in prange(n_img):
        for oh in range(ho):
            for ow in range(wo):
                row = (n * ho + oh) * wo + ow
                for i in range(kh):
                    y = oh * sh - ph + i
                    for j in range(kw):
                        xx = ow * sw - pw + j
                        if 0 <= y < h and 0 <= xx < w:
                            for c in range(n_ch):
                                dx[n, c, y, xx] += cols[row, c * area + i * kw + j]


# ---- space-to-depth and its adjoint ------------------------------------------------------------------
# z[n, i, j, (c·sh + a)·sw + b] = x[n, c, i·sh + a − ph, j·sw + b − pw] (0 outside x); z channels-last in memory


@njit(cache=True, nogil=True)
def _space_to_depth_rows(x, n, i0, i1, sh, sw, ph, pw, zrows):
    """zrows[k] = row i0 + k of image n's z, for k < i1 − i0. x: (N, C, H, W) of any strides; zrows: (i1 − i0, W',
    C·sh·sw). The innermost loop copies sw neighbours of one image row into sw neighbouring channels of one pixel
    of z (the bounds are tested per block, not per value, away from the image's edges)."""
    _, n_ch, h, w = x.shape
    wz = zrows.shape[1]
    zero = zrows.dtype.type(0)
    for i in range(i0, i1):
        zr = zrows[i - i0]
        for c in range(n_ch):
            for a in range(sh):
                y = i * sh + a - ph
                base = (c * sh + a) * sw
                if y < 0 or y >= h:  # a row of padding, or past the image
                    for j in range(wz):
                        for b in range(sw):
                            zr[j, base + b] = zero
                    continue
                for j in range(wz):
                    x0 = j * sw - pw
                    if x0 >= 0 and x0 + sw <= w:
                        for b in range(sw):
                            zr[j, base + b] = x[n, c, y, x0 + b]
                    else:
                        for b in range(sw):
                            xx = x0 + b
                            zr[j, base + b] = x[n, c, y, xx] if 0 <= xx < w else zero


@njit(cache=True, parallel=True)
def _space_to_depth_loop(x, sh, sw, ph, pw, zh):
    """x: (N, C, H, W) of any strides; zh: (N, H', W', C·sh·sw). One row of z per iteration
    (``_space_to_depth_rows``)."""
    n_img, hz = x.shape[0], zh.shape[1]
    for ni in prange(n_img * hz):
        n, i = ni // hz, ni % hz
        _space_to_depth_rows(x, n, i, i + 1, sh, sw, ph, pw, zh[n, i : i + 1])


@njit(cache=True, parallel=True)
def _depth_to_space_loop(dzh, sh, sw, ph, pw, dx):
    """The adjoint: dx[n, c, i·sh + a − ph, j·sw + b − pw] = dzh[n, i, j, (c·sh + a)·sw + b]. Each pixel of dx
    receives at most one value, so rows of z split across threads without overlapping writes."""
    n_img, n_ch, h, w = dx.shape
    hz, wz = dzh.shape[1], dzh.shape[2]
    for ni in prange(n_img * hz):
        n, i = ni // hz, ni % hz
        for j in range(wz):
            for c in range(n_ch):
                for a in range(sh):
                    y = i * sh + a - ph
                    if y < 0 or y >= h:
                        continue
                    for b in range(sw):
                        xx = j * sw + b - pw
                        if 0 <= xx < w:
                            dx[n, c, y, xx] = dzh[n, i, j, (c * sh + a) * sw + b]


# ---- max pooling -------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def _maxpool_forward_loop(x, kh, kw, sh, sw, ph, pw, out, argmax):
    n_img, n_ch, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    for nh in prange(n_img * ho):
        n, oh = nh // ho, nh % ho
        for ow in range(wo):
            for c in range(n_ch):
                out[n, c, oh, ow] = -np.inf
                argmax[n, c, oh, ow] = 0
            # the window's rows and columns that fall inside the image (padding counts as −inf)
            for i in range(max(0, ph - oh * sh), min(kh, h + ph - oh * sh)):
                y = oh * sh - ph + i
                for j in range(max(0, pw - ow * sw), min(kw, w + pw - ow * sw)):
                    xx = ow * sw - pw + j
                    for c in range(n_ch):  # innermost over channels: contiguous for channels-last memory
                        v = x[n, c, y, xx]
                        best = out[n, c, oh, ow]
                        # strictly greater: ties keep the first maximum; the first NaN wins
                        if v > best or (v != v and best == best):
                            out[n, c, oh, ow] = v
                            argmax[n, c, oh, ow] = i * kw + j


@njit(cache=True, parallel=True)
def _maxpool_forward_nhwc_loop(x, kh, kw, sh, sw, ph, pw, out, argmax):
    """The same on (N, H, W, C) arrays, C contiguous. Each window's running maximum and its position live in
    two rows of C values and are updated by selects, not by a store under a branch, so the channel loop
    vectorises (2–3× faster than ``_maxpool_forward_loop``'s order at AlexNet's pools); the test is the same,
    so are ties and NaN."""
    n_img, h, w, n_ch = x.shape
    ho, wo = out.shape[1], out.shape[2]
    for nh in prange(n_img * ho):
        n, oh = nh // ho, nh % ho
        best = np.empty(n_ch, dtype=x.dtype)
        arg = np.empty(n_ch, dtype=argmax.dtype)
        for ow in range(wo):
            best[:] = -np.inf
            arg[:] = 0
            for i in range(max(0, ph - oh * sh), min(kh, h + ph - oh * sh)):
                y = oh * sh - ph + i
                for j in range(max(0, pw - ow * sw), min(kw, w + pw - ow * sw)):
                    xx = ow * sw - pw + j
                    k = argmax.dtype.type(i * kw + j)
                    for c in range(n_ch):
                        v, b = x[n, y, xx, c], best[c]
                        take = v > b or (v != v and b == b)
                        best[c] = v if take else b
                        arg[c] = k if take else arg[c]
            out[n, oh, ow, :] = best
            argmax[n, oh, ow, :] = arg


@njit(cache=True, parallel=True)
def _maxpool_backward_loop(dout, argmax, kw, sh, sw, ph, pw, dx):
    n_img, n_ch, h, w = dx.shape
    ho, wo = dout.shape[2], dout.shape[3]
    for n in prange(n_img):  # overlapping windows of one image share pixels: split by image only
        for oh in range(ho):
            for ow in range(wo):
                for c in range(n_ch):
                    k = argmax[n, c, oh, ow]
                    y = oh * sh - ph + k // kw
                    xx = ow * sw - pw + k % kw
                    if 0 <= y < h and 0 <= xx < w:
                        dx[n, c, y, xx] += dout[n, c, oh, ow]  # += : overlapping windows


@njit(cache=True, parallel=True)
def _maxpool_backward_nhwc_loop(dout, argmax, kh, kw, sh, sw, ph, pw, dx):
    """The same on (N, H, W, C) arrays, gathered instead of scattered: each pixel of dx sums, in the order
    ``_maxpool_backward_loop`` adds them (window rows, then columns), the dout of the windows that cover it
    and point at it, so each dx is written once (no zeroing first), rows of dx split across threads, and
    the channel loop vectorises; equal to the scatter bit for bit.

    The windows covering row y are oh = ⌊(y + ph − kh) / sh⌋ + 1 … ⌊(y + ph) / sh⌋, clipped to 0 … H_out − 1
    (and so for columns)."""
    n_img, h, w, n_ch = dx.shape
    ho, wo = dout.shape[1], dout.shape[2]
    zero = dx.dtype.type(0)
    for ny in prange(n_img * h):
        n, y = ny // h, ny % h
        acc = np.empty(n_ch, dtype=dx.dtype)
        oh0, oh1 = max(0, (y + ph - kh) // sh + 1), min(ho - 1, (y + ph) // sh)
        for xx in range(w):
            ow0, ow1 = max(0, (xx + pw - kw) // sw + 1), min(wo - 1, (xx + pw) // sw)
            acc[:] = zero
            for oh in range(oh0, oh1 + 1):
                for ow in range(ow0, ow1 + 1):
                    k = argmax.dtype.type((y - oh * sh + ph) * kw + xx - ow * sw + pw)
                    for c in range(n_ch):
                        acc[c] += dout[n, oh, ow, c] if argmax[n, oh, ow, c] == k else zero
            dx[n, y, xx, :] = acc


# ---- local response normalisation ------------------------------------------------------------------


@njit(cache=True, inline="always")
def _pow_minus(s, beta):
    """s^(−β), with the paper's β = 0.75 as two square roots (several times cheaper than pow)."""
    if beta == 0.75:
        r = np.sqrt(s)
        return 1 / (r * np.sqrt(r))
    return s ** (-beta)


@njit(cache=True, parallel=True)
def _lrn_forward_loop(x, size, alpha, beta, k, out, scale):
    n_img, n_ch, h, w = x.shape
    before, after = size // 2, (size - 1) // 2
    for nh in prange(n_img * h):
        n, y = nh // h, nh % h
        for xx in range(w):
            for c in range(n_ch):
                s = x.dtype.type(0)
                for j in range(max(0, c - before), min(n_ch, c + after + 1)):
                    s += x[n, j, y, xx] * x[n, j, y, xx]
                sc = k + alpha * s
                scale[n, c, y, xx] = sc
                out[n, c, y, xx] = x[n, c, y, xx] * _pow_minus(sc, beta)


_PIXELS_PER_TASK = 64  # pixels one prange iteration normalises: its padded work rows are made once per task


@njit(cache=True, inline="always")
def _pow_minus_row(s, beta, out):
    """out[c] = s[c]^(−β) for one row: :func:`_pow_minus` with its test of β made once per row, not per
    channel (a test inside the loop keeps the compiler from vectorising it)."""
    if beta == 0.75:
        for c in range(s.size):
            r = np.sqrt(s[c])
            out[c] = 1 / (r * np.sqrt(r))
    else:
        for c in range(s.size):
            out[c] = s[c] ** (-beta)


@njit(cache=True, parallel=True)
def _lrn_forward_pixels_loop(x, size, alpha, beta, k, out, scale):
    """The same on (pixels, C) arrays, C contiguous (the layout a convolution produces). Each pixel's squares
    go into a row padded with zeros (``before`` in front, ``after`` behind), so every window sum is ``size``
    adds at fixed offsets, one pass over the channels per offset that the compiler vectorises, instead of a
    loop with bounds per channel (several times faster at conv1's output); the padding's zeros change no sum."""
    n_pix, n_ch = x.shape
    before = size // 2
    for task in prange((n_pix + _PIXELS_PER_TASK - 1) // _PIXELS_PER_TASK):
        sq = np.zeros(n_ch + size - 1, dtype=x.dtype)  # sq[before + c] = x[c]², zeros at both ends
        s = np.empty(n_ch, dtype=x.dtype)
        r = np.empty(n_ch, dtype=x.dtype)
        for p in range(task * _PIXELS_PER_TASK, min(n_pix, (task + 1) * _PIXELS_PER_TASK)):
            for c in range(n_ch):
                sq[before + c] = x[p, c] * x[p, c]
            for c in range(n_ch):
                s[c] = sq[c]
            for j in range(1, size):  # s[c] = Σ sq[c … c + size − 1]: the squares of c's window
                for c in range(n_ch):
                    s[c] += sq[c + j]
            for c in range(n_ch):
                s[c] = k + alpha * s[c]
                scale[p, c] = s[c]
            _pow_minus_row(s, beta, r)
            for c in range(n_ch):
                out[p, c] = x[p, c] * r[c]


@njit(cache=True, parallel=True)
def _lrn_backward_pixels_loop(dout, x, scale, size, alpha, beta, dx):
    """The backward on (pixels, C) arrays, its window sums padded as in the forward."""
    n_pix, n_ch = x.shape
    before = (size - 1) // 2  # the reversed window: which c see channel j
    two_ab = 2 * alpha * beta
    for task in prange((n_pix + _PIXELS_PER_TASK - 1) // _PIXELS_PER_TASK):
        t = np.zeros(n_ch + size - 1, dtype=x.dtype)  # t[before + c] = dout[c]·x[c]·scale[c]^(−β−1)
        r = np.empty(n_ch, dtype=x.dtype)  # r[c] = scale[c]^(−β)
        s = np.empty(n_ch, dtype=x.dtype)
        for p in range(task * _PIXELS_PER_TASK, min(n_pix, (task + 1) * _PIXELS_PER_TASK)):
            _pow_minus_row(scale[p], beta, r)
            for c in range(n_ch):
                t[before + c] = dout[p, c] * x[p, c] * (r[c] / scale[p, c])
            for c in range(n_ch):
                s[c] = t[c]
            for i in range(1, size):
                for c in range(n_ch):
                    s[c] += t[c + i]
            for c in range(n_ch):
                dx[p, c] = dout[p, c] * r[c] - two_ab * x[p, c] * s[c]


@njit(cache=True, parallel=True)
def _lrn_backward_loop(dout, x, scale, size, alpha, beta, dx):
    n_img, n_ch, h, w = x.shape
    before, after = (size - 1) // 2, size // 2  # the reversed window: which c see channel j
    two_ab = 2 * alpha * beta
    for nh in prange(n_img * h):
        n, y = nh // h, nh % h
        t = np.empty(n_ch, dtype=x.dtype)  # t[c] = dout[c]·x[c]·scale[c]^(−β−1) for one pixel
        r = np.empty(n_ch, dtype=x.dtype)  # r[c] = scale[c]^(−β)
        for xx in range(w):
            for c in range(n_ch):
                r[c] = _pow_minus(scale[n, c, y, xx], beta)
                t[c] = dout[n, c, y, xx] * x[n, c, y, xx] * (r[c] / scale[n, c, y, xx])
            for j in range(n_ch):
                s = x.dtype.type(0)
                for c in range(max(0, j - before), min(n_ch, j + after + 1)):
                    s += t[c]
                dx[n, j, y, xx] = dout[n, j, y, xx] * r[j] - two_ab * x[n, j, y, xx] * s


# ---- ReLU ---------------------------------------------------------------------------------------------
# One pass writes both y and the mask (the reference makes two: np.maximum, then x > 0), over the arrays'
# memory in order, whatever their layout.


@njit(cache=True, parallel=True)
def _relu_forward_loop(x, y, mask):
    for i in prange(x.size):
        v = x[i]
        positive = v > 0
        mask[i] = positive
        y[i] = v if positive or v != v else 0  # max(v, 0), NaN kept as np.maximum keeps it


@njit(cache=True, parallel=True)
def _relu_backward_loop(dout, mask, dx):
    for i in prange(dout.size):
        dx[i] = dout[i] * mask[i]  # a product, as the reference's (a NaN in dout stays NaN)


# ---- the SGD update ---------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def _sgd_paper_loop(w, v, g, momentum, decay_lr, lr):
    """v ← μ·v − λε·w − ε·g;  w ← w + v, in one pass over flat arrays."""
    for i in prange(w.size):
        vi = momentum * v[i] - decay_lr * w[i] - lr * g[i]
        v[i] = vi
        w[i] += vi


def empty_nchw(shape, dtype, channels_last, zero=False):
    """An (N, C, H, W) array, channels-last in memory when asked."""
    make = np.zeros if zero else np.empty
    if channels_last:
        n, c, h, w = shape
        return make((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)
    return make(shape, dtype=dtype)


def _nhwc(*arrays):
    """(N, C, H, W) views of channels-last memory -> the (N, H, W, C) C-contiguous arrays behind them."""
    return tuple(a.transpose(0, 2, 3, 1) for a in arrays)


def _pixels(*arrays):
    """(N, C, H, W) views of channels-last memory -> (N·H·W, C) C-contiguous views of it."""
    return tuple(a.reshape(-1, a.shape[-1]) for a in _nhwc(*arrays))


@serialised
def im2col(x, kernel_size, stride=1, padding=0, *, out=None):
    """x: (N, C, H, W) -> cols: (N·H_out·W_out, C·kh·kw).

    Twin: :func:`alexnet_np.ops.reference.im2col`.
    ``out``: a C-contiguous work array of that shape to fill (Conv2d reuses one across calls).
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    ho, wo = output_hw(h, w, kernel_size, stride, padding)
    cols = np.empty((n * ho * wo, c * kh * kw), dtype=x.dtype) if out is None else out
    loop = _im2col_channels_last_loop if is_channels_last(x) else _im2col_loop
    sized(loop, cols.size)(x, kh, kw, sh, sw, ph, pw, ho, wo, cols)
    return cols


@serialised
def col2im(cols, x_shape, kernel_size, stride=1, padding=0, *, channels_last=False):
    """cols -> dx: (N, C, H, W), summing overlapping copies.

    Twin: :func:`alexnet_np.ops.reference.col2im`.
    ``channels_last``: lay dx out as (N, H, W, C) in memory (the layout of the layer's input).
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    ho, wo = output_hw(h, w, kernel_size, stride, padding)
    dx = empty_nchw(x_shape, cols.dtype, channels_last, zero=True)
    loop = _col2im_channels_last_loop if channels_last else _col2im_loop
    sized(loop, cols.size)(cols, kh, kw, sh, sw, ph, pw, ho, wo, dx)
    return dx


@serialised
def space_to_depth(x, block, size, padding=0, *, out=None):
    """x: (N, C, H, W) -> z: (N, C·sh·sw, H', W'), channels-last in memory (what Winograd's input transform
    reads). ``out``: a C-contiguous (N, H', W', C·sh·sw) work array to fill (the layer reuses one).

    Twin: :func:`alexnet_np.ops.reference.space_to_depth`."""
    (sh, sw), (ph, pw), (hz, wz) = pair(block), pair(padding), pair(size)
    n, c = x.shape[:2]
    zh = np.empty((n, hz, wz, c * sh * sw), dtype=x.dtype) if out is None else out
    sized(_space_to_depth_loop, zh.size)(x, sh, sw, ph, pw, zh)
    return zh.transpose(0, 3, 1, 2)


@serialised
def depth_to_space(dz, block, x_shape, padding=0, *, channels_last=False):
    """dz: (N, C·sh·sw, H', W') -> dx: (N, C, H, W); ``channels_last``: lay dx out as (N, H, W, C) in memory.

    Twin: :func:`alexnet_np.ops.reference.depth_to_space`."""
    (sh, sw), (ph, pw) = pair(block), pair(padding)
    dx = empty_nchw(x_shape, dz.dtype, channels_last, zero=True)
    sized(_depth_to_space_loop, dz.size)(_channels_last_memory(dz), sh, sw, ph, pw, dx)
    return dx


def _channels_last_memory(a):
    """(N, C, H, W) -> the C-contiguous (N, H, W, C) array behind it (a copy only if a is not channels-last)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


@serialised
def maxpool_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """x -> (out, argmax), in x's memory layout.

    Twin: :func:`alexnet_np.ops.reference.maxpool_forward`.
    The loops clip every window to the input, so ``ceil_mode``'s partial last window needs only its output size."""
    stride = kernel_size if stride is None else stride
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    ho, wo = output_hw(h, w, kernel_size, stride, padding, ceil_mode)
    channels_last = is_channels_last(x)
    out = empty_nchw((n, c, ho, wo), x.dtype, channels_last)
    argmax = empty_nchw((n, c, ho, wo), np.int32, channels_last)  # a position inside the window
    if channels_last:
        sized(_maxpool_forward_nhwc_loop, x.size)(*_nhwc(x), kh, kw, sh, sw, ph, pw, *_nhwc(out, argmax))
    else:
        sized(_maxpool_forward_loop, x.size)(x, kh, kw, sh, sw, ph, pw, out, argmax)
    return out, argmax


@serialised
def maxpool_backward(dout, argmax, x_shape, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Scatter dout to the argmax positions (on channels-last arrays: gather, each pixel of dx summing the dout that
    points at it; the same bits). The output size comes from ``argmax``, so ``ceil_mode`` changes nothing here.

    Twin: :func:`alexnet_np.ops.reference.maxpool_backward`."""
    stride = kernel_size if stride is None else stride
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    if is_channels_last(argmax) and is_channels_last(dout):
        dx = empty_nchw(x_shape, dout.dtype, True)
        sized(_maxpool_backward_nhwc_loop, dx.size)(*_nhwc(dout, argmax), kh, kw, sh, sw, ph, pw, *_nhwc(dx))
        return dx
    dx = empty_nchw(x_shape, dout.dtype, is_channels_last(argmax), zero=True)
    sized(_maxpool_backward_loop, dx.size)(dout, argmax, kw, sh, sw, ph, pw, dx)
    return dx


@serialised
def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=2.0, *, out=None):
    """x -> (y, scale), both in x's layout, ``scale = k + α·Σ x²`` over each channel's window.

    Twin: :func:`alexnet_np.ops.reference.lrn_forward` (the same cache, so either backward takes either's).
    ``out``: an array shaped and laid out like x to fill with ``scale`` (the layer reuses it across calls), or
    None. The powers scale^(−β) and scale^(−β−1) are recomputed in the backward: with the paper's β = 0.75
    two square roots, cheaper than keeping two more arrays of the input's size.
    """
    y = np.empty_like(x)
    same = (
        out is not None
        and out.shape == x.shape
        and out.dtype == x.dtype
        and is_channels_last(out) == is_channels_last(x)
    )
    scale = out if same else np.empty_like(x)
    t = x.dtype.type
    if is_channels_last(x):
        sized(_lrn_forward_pixels_loop, y.size)(
            *_pixels(x), size, t(alpha), t(beta), t(k), *_pixels(y, scale)
        )
    else:
        sized(_lrn_forward_loop, y.size)(x, size, t(alpha), t(beta), t(k), y, scale)
    return y, scale


@serialised
def lrn_backward(dout, x, scale, size=5, alpha=1e-4, beta=0.75):
    """dx of LRN from the ``scale`` :func:`lrn_forward` returned.

    Twin: :func:`alexnet_np.ops.reference.lrn_backward`."""
    dx = np.empty_like(x)
    t = x.dtype.type
    arrays = (dout, x, scale, dx)
    if all(is_channels_last(a) for a in arrays):
        sized(_lrn_backward_pixels_loop, dx.size)(
            *_pixels(*arrays[:3]), size, t(alpha), t(beta), *_pixels(dx)
        )
    else:
        sized(_lrn_backward_loop, dx.size)(dout, x, scale, size, t(alpha), t(beta), dx)
    return dx


def _flat_in_memory_order(*arrays):
    """1-D views of arrays of one shape and one layout (C order, or channels-last), else None."""
    if all(a.flags.c_contiguous for a in arrays):
        return [a.reshape(-1) for a in arrays]
    if all(is_channels_last(a) for a in arrays):
        return [a.reshape(-1) for a in _nhwc(*arrays)]
    return None


@serialised
def relu_forward(x):
    """x -> (y, mask) in x's layout, in one pass over memory.

    Twin: :func:`alexnet_np.ops.reference.relu_forward` (which also takes what this one hands it: an array
    neither C-ordered nor channels-last, or one not of floats)."""
    y, mask = np.empty_like(x), np.empty_like(x, dtype=bool)  # empty_like keeps x's layout
    flat = _flat_in_memory_order(x, y, mask) if x.dtype.kind == "f" else None
    if flat is None:
        return reference.relu_forward(x)
    sized(_relu_forward_loop, y.size)(*flat)
    return y, mask


@serialised
def relu_backward(dout, mask):
    """dx = dout · mask, in dout's layout.

    Twin: :func:`alexnet_np.ops.reference.relu_backward` (which takes the cases :func:`relu_forward` hands it)."""
    dx = np.empty_like(dout)
    flat = _flat_in_memory_order(dout, mask, dx) if dout.dtype.kind == "f" else None
    if flat is None:
        return reference.relu_backward(dout, mask)
    sized(_relu_backward_loop, dx.size)(*flat)
    return dx


@serialised
def sgd_paper_update(w, v, g, momentum=0.9, weight_decay=5e-4, lr=0.01):
    """In place: v ← μ·v − λ·ε·w − ε·g; w ← w + v (contiguous arrays of one dtype).

    Twin: :func:`alexnet_np.ops.reference.sgd_paper_update`."""
    t = w.dtype.type
    sized(_sgd_paper_loop, w.size)(
        w.reshape(-1), v.reshape(-1), g.reshape(-1), t(momentum), t(weight_decay * lr), t(lr)
    )


KERNELS = (
    _im2col_loop,
    _im2col_channels_last_loop,
    _col2im_loop,
    _col2im_channels_last_loop,
    _space_to_depth_loop,
    _depth_to_space_loop,
    _maxpool_forward_loop,
    _maxpool_forward_nhwc_loop,
    _maxpool_backward_loop,
    _maxpool_backward_nhwc_loop,
    _lrn_forward_loop,
    _lrn_forward_pixels_loop,
    _lrn_backward_loop,
    _lrn_backward_pixels_loop,
    _relu_forward_loop,
    _relu_backward_loop,
    _sgd_paper_loop,
)
