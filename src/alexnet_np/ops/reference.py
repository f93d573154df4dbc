"""Readable NumPy reference kernels: im2col/col2im, space-to-depth, max pooling, local response norm, the SGD step.

This is the backend a student reads first: every function takes ints or (height, width) pairs,
has PyTorch's defaults, allocates its own result and knows nothing of memory layouts or work
buffers. Each has a fast twin in :mod:`alexnet_np.ops.kernels` (Numba loops, which own the
layouts and the reused buffers); the tests hold the two equal, and equal to the naive loops in
:mod:`alexnet_np.ops.naive`.

Column layout (shared by both backends)
---------------------------------------
``im2col`` turns ``x: (N, C, H, W)`` into ``cols: (N·H_out·W_out, C·kh·kw)``: one row per
output pixel ``(n, oh, ow)``, and inside a row the window in ``(c, i, j)`` order. That is
the order of ``weight.reshape(F, C·kh·kw)``, so a convolution is ``cols @ weight_matrix.T``,
and the channels of one group are a contiguous block of columns.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..shapes import output_hw, pair


def _pad_hw(x, padding, value=0.0):
    (ph, pw) = pair(padding)
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _windows(xp, kernel_size, stride, out_hw):
    """All windows of the padded input: (N, C, H_out, W_out, kh, kw), a view (no copy)."""
    (kh, kw), (sh, sw), (ho, wo) = pair(kernel_size), pair(stride), out_hw
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return win[:, :, ::sh, ::sw][:, :, :ho, :wo]


def im2col(x, kernel_size, stride=1, padding=0):
    """x: (N, C, H, W) -> cols: (N·H_out·W_out, C·kh·kw), rows ordered (n, oh, ow), columns (c, i, j).

    ``cols[(n·H_out + oh)·W_out + ow, (c·kh + i)·kw + j] = x_padded[n, c, oh·sh + i, ow·sw + j]``.

    >>> im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])

    Twin: :func:`alexnet_np.ops.kernels.im2col`.
    """
    n, c, h, w = x.shape
    kh, kw = pair(kernel_size)
    ho, wo = output_hw(h, w, kernel_size, stride, padding)
    win = _windows(_pad_hw(x, padding), kernel_size, stride, (ho, wo))  # (N, C, Ho, Wo, kh, kw)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """cols: (N·H_out·W_out, C·kh·kw) -> dx: (N, C, H, W), the adjoint of :func:`im2col`.

    Not an inverse: a pixel covered by several windows receives the *sum* of its copies,
    which is exactly the gradient of im2col.

    Twin: :func:`alexnet_np.ops.kernels.col2im`.
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    ho, wo = output_hw(h, w, kernel_size, stride, padding)
    cols6 = cols.reshape(n, ho, wo, c, kh, kw)
    dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = slice(i, i + sh * ho, sh), slice(j, j + sw * wo, sw)
            dxp[:, :, rows, columns] += cols6[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, ph : ph + h, pw : pw + w].copy()


def space_to_depth(x, block, size, padding=0):
    """x: (N, C, H, W) -> z: (N, C·sh·sw, H', W'), with (sh, sw) = block and (H', W') = size:

        z[n, (c·sh + a)·sw + b, i, j] = x[n, c, i·sh + a − ph, j·sw + b − pw]      (0 outside x)

    Each sh×sw block of the padded image becomes one pixel of sh·sw times as many channels. A convolution
    of stride s = block and kernel k on x is a stride-1 convolution with kernel ⌈k/s⌉ on z, whose weights are
    ``space_to_depth(weight, block, (⌈kh/sh⌉, ⌈kw/sw⌉))`` (the kernel zero-padded to a multiple of s):

        Σ_{c,i,j} w[f, c, i, j] · x[n, c, oh·s + i − p, ow·s + j − p]
            = Σ_{c,a,b,u,v} w[f, c, u·s + a, v·s + b] · z[n, (c, a, b), oh + u, ow + v],   i = u·s + a.

    So the 11×11 stride-4 conv1 becomes a 3×3 stride-1 convolution on 48 channels, where Winograd applies
    (``SpaceToDepth`` in ``alexnet_np/layers/conv_algorithms.py``). Pixels of x past (H'·sh − ph, W'·sw − pw) are
    not read.

    Twin: :func:`alexnet_np.ops.kernels.space_to_depth`.
    """
    (sh, sw), (ph, pw), (hz, wz) = pair(block), pair(padding), pair(size)
    n, c, h, w = x.shape
    xp = np.zeros(
        (n, c, hz * sh, wz * sw), dtype=x.dtype
    )  # the padded image, cut or extended to whole blocks
    rows, cols = min(h, hz * sh - ph), min(w, wz * sw - pw)
    xp[:, :, ph : ph + rows, pw : pw + cols] = x[:, :, :rows, :cols]
    z = xp.reshape(n, c, hz, sh, wz, sw).transpose(0, 1, 3, 5, 2, 4)  # (n, c, a, b, i, j)
    return z.reshape(n, c * sh * sw, hz, wz)


def depth_to_space(dz, block, x_shape, padding=0):
    """The adjoint of :func:`space_to_depth`: dz: (N, C·sh·sw, H', W') -> dx: (N, C, H, W).

    Every pixel of x went to at most one entry of z, so this only moves values back (nothing is added);
    pixels that were not read (padding aside) get 0.

    Twin: :func:`alexnet_np.ops.kernels.depth_to_space`.
    """
    (sh, sw), (ph, pw) = pair(block), pair(padding)
    n, c, h, w = x_shape
    hz, wz = dz.shape[2:]
    xp = dz.reshape(n, c, sh, sw, hz, wz).transpose(0, 1, 4, 2, 5, 3).reshape(n, c, hz * sh, wz * sw)
    dx = np.zeros(x_shape, dtype=dz.dtype)
    rows, cols = min(h, hz * sh - ph), min(w, wz * sw - pw)
    dx[:, :, :rows, :cols] = xp[:, :, ph : ph + rows, pw : pw + cols]
    return dx


def _pad_for_ceil(xp, kernel_size, stride, out_hw, value):
    """Extend a padded input on the bottom/right so that the last (partial) window of ``ceil_mode`` fits."""
    (kh, kw), (sh, sw), (ho, wo) = pair(kernel_size), pair(stride), out_hw
    extra_h = max(0, (ho - 1) * sh + kh - xp.shape[2])
    extra_w = max(0, (wo - 1) * sw + kw - xp.shape[3])
    if extra_h == 0 and extra_w == 0:
        return xp
    return np.pad(xp, ((0, 0), (0, 0), (0, extra_h), (0, extra_w)), constant_values=value)


def maxpool_windows(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """x: (N, C, H, W) -> every pooling window's values, (N, C, H_out, W_out, kh·kw) in row-major window order,
    padding (and ``ceil_mode``'s overhang) as −inf: what :func:`maxpool_forward` takes the maximum of."""
    stride = kernel_size if stride is None else stride
    n, c, h, w = x.shape
    kh, kw = pair(kernel_size)
    ho, wo = output_hw(h, w, kernel_size, stride, padding, ceil_mode)
    xp = _pad_for_ceil(_pad_hw(x, padding, -np.inf), kernel_size, stride, (ho, wo), -np.inf)
    return _windows(xp, kernel_size, stride, (ho, wo)).reshape(n, c, ho, wo, kh * kw)


def maxpool_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """x: (N, C, H, W) -> (out: (N, C, H_out, W_out), argmax: (N, C, H_out, W_out) int).

    ``stride`` defaults to ``kernel_size`` (PyTorch's default). ``argmax`` is the position of the
    maximum inside its window, ``i·kw + j`` (padding counts as −inf). Ties go to the first maximum
    in row-major window order, as in PyTorch; a NaN wins over numbers (the first NaN), so NaN
    propagates. ``ceil_mode=True``: PyTorch's rounding up of the output size; the last window may
    hang over the bottom/right edge, and what it hangs over counts as −inf.

    Twin: :func:`alexnet_np.ops.kernels.maxpool_forward`.
    """
    flat = maxpool_windows(x, kernel_size, stride, padding, ceil_mode)
    argmax = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    return out, argmax


def maxpool_backward(dout, argmax, x_shape, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Route each output gradient to its window's argmax; overlapping windows accumulate (+=).

    The output size comes from ``argmax``; ``ceil_mode`` is accepted for symmetry with the forward pass.

    Twin: :func:`alexnet_np.ops.kernels.maxpool_backward`.
    """
    stride = kernel_size if stride is None else stride
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    ho, wo = argmax.shape[2:]
    rows, cols = max(h + 2 * ph, (ho - 1) * sh + kh), max(w + 2 * pw, (wo - 1) * sw + kw)
    dxp = np.zeros((n, c, rows, cols), dtype=dout.dtype)
    for i in range(kh):
        for j in range(kw):
            routed = np.where(argmax == i * kw + j, dout, 0)
            dxp[:, :, i : i + sh * ho : sh, j : j + sw * wo : sw] += routed
    return dxp[:, :, ph : ph + h, pw : pw + w].copy()


def _channel_window_sum(a, before, after):
    """s[:, c] = sum of a[:, c − before .. c + after] (clipped at the edges), a: (N, C, H, W)."""
    padded = np.pad(a, ((0, 0), (before, after), (0, 0), (0, 0)))
    return sliding_window_view(padded, before + after + 1, axis=1).sum(axis=-1)


def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """Local response normalisation across channels, x: (N, C, H, W) -> (out, scale), both (N, C, H, W).

    ``scale[c] = k + alpha · Σ_{j = c − size//2}^{c + (size−1)//2} x[j]²`` and
    ``out[c] = x[c] · scale[c]^(−beta)``. ``alpha`` is used as given (the paper's form); the layer
    passes α/size for the PyTorch/Caffe form. ``scale`` is what :func:`lrn_backward` needs.

    Twin: :func:`alexnet_np.ops.kernels.lrn_forward`.
    """
    scale = k + alpha * _channel_window_sum(x * x, size // 2, (size - 1) // 2)
    return x * scale ** (-beta), scale


def lrn_backward(dout, x, scale, size=5, alpha=1e-4, beta=0.75):
    """dx[j] = dout[j]·scale[j]^(−β) − 2αβ·x[j]·Σ_{c : j in window(c)} dout[c]·x[c]·scale[c]^(−β−1).

    The first term is the direct path (x[j] in the numerator of out[j]); the second runs through the
    denominators of every out[c] whose window contains channel j.

    Twin: :func:`alexnet_np.ops.kernels.lrn_backward`.
    """
    t = dout * x * scale ** (-beta - 1)
    # j lies in window(c) exactly when c runs from j − (size−1)//2 to j + size//2.
    back = _channel_window_sum(t, (size - 1) // 2, size // 2)
    return dout * scale ** (-beta) - (2 * alpha * beta) * x * back


def relu_forward(x):
    """x: any shape -> (y, mask), both x's shape: ``y = max(x, 0)`` (a NaN stays NaN), ``mask = x > 0`` (bool).

    Twin: :func:`alexnet_np.ops.kernels.relu_forward`.
    """
    return np.maximum(x, 0), x > 0


def relu_backward(dout, mask):
    """dx = dout · mask (the gradient at exactly 0 is 0, as in PyTorch).

    Twin: :func:`alexnet_np.ops.kernels.relu_backward`.
    """
    return dout * mask


def sgd_paper_update(w, v, g, momentum=0.9, weight_decay=5e-4, lr=0.01):
    """In place: v ← μ·v − λ·ε·w − ε·g; w ← w + v (the paper's momentum update).

    Twin: :func:`alexnet_np.ops.kernels.sgd_paper_update`.
    """
    v *= momentum
    v -= (weight_decay * lr) * w
    v -= lr * g
    w += v
