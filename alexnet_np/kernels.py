"""Numba kernels: the fast twins of :mod:`alexnet_np.reference`, written as plain loops.

Each ``_loop`` function is ``@njit(cache=True)`` and reads like the textbook definition;
set ``NUMBA_DISABLE_JIT=1`` to run them as ordinary Python and step through them in a
debugger. The thin wrappers below them allocate the outputs and have exactly the
signatures of the reference functions, so the backend switch is a module swap.

The loops over the batch use ``prange``: images are independent, every iteration writes
its own slice of the output, so the result does not depend on the thread count
(no shared accumulation, bit-identical runs). Matrix multiplies stay in NumPy (BLAS).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .shapes import conv_output_size


@njit(cache=True, parallel=True)
def _im2col_loop(x, kh, kw, sh, sw, ph, pw, ho, wo, cols):
    n_img, n_ch, h, w = x.shape
    for n in prange(n_img):
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
                                cols[row, col] = x[n, c, y, xx]
                            else:
                                cols[row, col] = 0
                            col += 1


@njit(cache=True, parallel=True)
def _col2im_loop(cols, kh, kw, sh, sw, ph, pw, ho, wo, dx):
    n_img, n_ch, h, w = dx.shape
    for n in prange(n_img):
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
def _maxpool_forward_loop(x, kh, kw, sh, sw, ph, pw, out, argmax):
    n_img, n_ch, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    for n in prange(n_img):
        for c in range(n_ch):
            for oh in range(ho):
                for ow in range(wo):
                    best = -np.inf
                    best_k = 0
                    for i in range(kh):
                        y = oh * sh - ph + i
                        for j in range(kw):
                            xx = ow * sw - pw + j
                            if 0 <= y < h and 0 <= xx < w:
                                v = x[n, c, y, xx]
                                # strictly greater: ties keep the first maximum; the first NaN wins
                                if v > best or (v != v and best == best):
                                    best = v
                                    best_k = i * kw + j
                    out[n, c, oh, ow] = best
                    argmax[n, c, oh, ow] = best_k


@njit(cache=True, parallel=True)
def _maxpool_backward_loop(dout, argmax, kw, sh, sw, ph, pw, dx):
    n_img, n_ch, h, w = dx.shape
    ho, wo = dout.shape[2], dout.shape[3]
    for n in prange(n_img):
        for c in range(n_ch):
            for oh in range(ho):
                for ow in range(wo):
                    k = argmax[n, c, oh, ow]
                    y = oh * sh - ph + k // kw
                    xx = ow * sw - pw + k % kw
                    if 0 <= y < h and 0 <= xx < w:
                        dx[n, c, y, xx] += dout[n, c, oh, ow]  # += : overlapping windows


@njit(cache=True, parallel=True)
def _lrn_forward_loop(x, size, alpha, beta, k, out, scale):
    n_img, n_ch, h, w = x.shape
    before, after = size // 2, (size - 1) // 2
    for n in prange(n_img):
        for y in range(h):
            for xx in range(w):
                for c in range(n_ch):
                    s = x.dtype.type(0)
                    for j in range(max(0, c - before), min(n_ch, c + after + 1)):
                        s += x[n, j, y, xx] * x[n, j, y, xx]
                    sc = k + alpha * s
                    scale[n, c, y, xx] = sc
                    out[n, c, y, xx] = x[n, c, y, xx] * sc ** (-beta)


@njit(cache=True, parallel=True)
def _lrn_backward_loop(dout, x, out, scale, size, alpha, beta, t, dx):
    n_img, n_ch, h, w = x.shape
    before, after = (size - 1) // 2, size // 2  # the reversed window: which c see channel j
    for n in prange(n_img):
        for y in range(h):
            for xx in range(w):
                for c in range(n_ch):
                    t[n, c, y, xx] = dout[n, c, y, xx] * out[n, c, y, xx] / scale[n, c, y, xx]
                for j in range(n_ch):
                    s = x.dtype.type(0)
                    for c in range(max(0, j - before), min(n_ch, j + after + 1)):
                        s += t[n, c, y, xx]
                    dx[n, j, y, xx] = (dout[n, j, y, xx] * scale[n, j, y, xx] ** (-beta)
                                       - 2 * alpha * beta * x[n, j, y, xx] * s)


# ---- wrappers with the signatures of alexnet_np.reference ---------------------------------

def _out_hw(h, w, kernel_size, stride, padding):
    return (conv_output_size(h, kernel_size[0], stride[0], padding[0]),
            conv_output_size(w, kernel_size[1], stride[1], padding[1]))


def im2col(x, kernel_size, stride, padding):
    """x: (N, C, H, W) -> cols: (N·H_out·W_out, C·kh·kw); see :func:`alexnet_np.reference.im2col`."""
    n, c, h, w = x.shape
    ho, wo = _out_hw(h, w, kernel_size, stride, padding)
    cols = np.empty((n * ho * wo, c * kernel_size[0] * kernel_size[1]), dtype=x.dtype)
    _im2col_loop(x, *kernel_size, *stride, *padding, ho, wo, cols)
    return cols


def col2im(cols, x_shape, kernel_size, stride, padding):
    """cols -> dx: (N, C, H, W), summing overlapping copies; see :func:`alexnet_np.reference.col2im`."""
    n, c, h, w = x_shape
    ho, wo = _out_hw(h, w, kernel_size, stride, padding)
    dx = np.zeros(x_shape, dtype=cols.dtype)
    _col2im_loop(cols, *kernel_size, *stride, *padding, ho, wo, dx)
    return dx


def maxpool_forward(x, kernel_size, stride, padding):
    """x -> (out, argmax); see :func:`alexnet_np.reference.maxpool_forward`."""
    n, c, h, w = x.shape
    ho, wo = _out_hw(h, w, kernel_size, stride, padding)
    out = np.empty((n, c, ho, wo), dtype=x.dtype)
    argmax = np.empty((n, c, ho, wo), dtype=np.int64)
    _maxpool_forward_loop(x, *kernel_size, *stride, *padding, out, argmax)
    return out, argmax


def maxpool_backward(dout, argmax, x_shape, kernel_size, stride, padding):
    """Scatter dout to the argmax positions; see :func:`alexnet_np.reference.maxpool_backward`."""
    dx = np.zeros(x_shape, dtype=dout.dtype)
    _maxpool_backward_loop(dout, argmax, kernel_size[1], *stride, *padding, dx)
    return dx


def lrn_forward(x, size, alpha, beta, k):
    """x -> (out, scale); see :func:`alexnet_np.reference.lrn_forward`."""
    out = np.empty(x.shape, dtype=x.dtype)
    scale = np.empty(x.shape, dtype=x.dtype)
    t = x.dtype.type
    _lrn_forward_loop(x, size, t(alpha), t(beta), t(k), out, scale)
    return out, scale


def lrn_backward(dout, x, out, scale, size, alpha, beta):
    """dx of LRN; see :func:`alexnet_np.reference.lrn_backward`."""
    dx = np.empty(x.shape, dtype=x.dtype)
    work = np.empty(x.shape, dtype=x.dtype)
    t = x.dtype.type
    _lrn_backward_loop(dout, x, out, scale, size, t(alpha), t(beta), work, dx)
    return dx


KERNELS = (_im2col_loop, _col2im_loop, _maxpool_forward_loop, _maxpool_backward_loop,
           _lrn_forward_loop, _lrn_backward_loop)
