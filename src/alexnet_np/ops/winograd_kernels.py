"""Numba kernels for Winograd F(m×m, r×r) convolution: the fast twins of :mod:`alexnet_np.ops.winograd_reference`.

The four transforms (filter, input, output) and their adjoints are plain ``@njit(cache=True)``
loops — set ``NUMBA_DISABLE_JIT=1`` to step through them as ordinary Python. The GEMMs are
not here: they are one stacked ``np.matmul`` per pass, called by the wrappers at the end.

Layouts. Images are channels-last in memory and the transform arrays are *tile-major*::

    x, dx  : (N, C, H, W) by shape, channels-last in memory: the kernels take the (N, H, W, C)
             array behind it (x.transpose(0, 2, 3, 1)), whose innermost axis is C
    y, dy  : (N, F, H_out, W_out) by shape, channels-last in memory, like im2col + GEMM's output
    U, dU  : (α², groups, C/groups, F/groups)   C-contiguous             ξ = u·α + v
    V, dV  : memory (P, α², C)                  p = (n·tiles_h + i)·tiles_w + j
    M, dM  : memory (P, α², F)

The GEMM sees V and M through :func:`gemm_view` as (α², groups, P, C/groups) — the reference's
layout, so the stages can be compared one by one — where each (ξ, g) matrix is P × C/groups with
row stride α²·C. BLAS takes that stride as its leading dimension, so ``np.matmul`` reads and
writes these views in place (measured: as fast as on contiguous stacks), while each tile's α²·C
transform values lie together in memory: a transform reads and writes one contiguous block per
tile instead of α² blocks a whole matrix apart (which defeats the hardware prefetcher), and its
innermost loop runs along channels, contiguous in both the image and the transform arrays
(it vectorises; there is no gather into a scratch copy of the tile).

Each 2-D transform ``Xᵀ d X`` is done as two 1-D passes through a small per-tile buffer
``tmp`` (columns first, then rows), skipping the zero entries of the transform matrix, so a
tile costs 2·α·nnz(row)·C multiply-adds instead of α⁴·C. Skipping an exact zero coefficient
never loses a NaN that the direct convolution would produce (every input→output dependence
of the direct convolution runs through a chain of non-zero coefficients), but Winograd does
*spread* a NaN/Inf of the input to the whole output tile(s) that read it.

Parallel loops (``prange``) split only work whose writes do not overlap: rows of tiles for the
transforms that write per tile, images for the input-transform adjoint (whose tiles overlap),
(group, channel) pairs for the filter transforms. Results do not depend on the thread count, nor on
whether the loop ran on threads or, for small work, as its serial twin (:func:`alexnet_np.ops.threads.sized`).
Accumulators live in the arrays' dtype: float32 work stays float32. The only fast-math flag is
``contract`` (fused multiply-add), so NaN and Inf propagate as IEEE says.

The forward in blocks. The whole passes write V and M out to memory and read them back (conv1 at batch 32:
36 MB and 73 MB), at about the memory's speed. Where U is small and V and M are large,
:func:`conv2d_winograd` runs the input transform, the products and the output transform one block of tile rows
at a time (:func:`rows_per_block`), so a block's V and M are read back from the cache they were just written
to; the blocks are shared between the threads of :func:`alexnet_np.ops.gemm.run_blocks`. Its loops
(``_input_transform_rows``, ``_output_transform_rows``) are the ones the whole passes run row by row: the same
V; y differs at most by how OpenBLAS rounds a product cut into other blocks (equal in the tests on one machine;
on an AMD EPYC the mini network's conv2 at batch 2 differed by 1.3e-5, 2e-6 of its largest value).

Threads: the wrappers are ``@serialised`` (:mod:`alexnet_np.ops.threads`), like those of
:mod:`alexnet_np.ops.kernels`: on Numba's ``workqueue`` layer two Python threads take turns.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange

from ..errors import BadArgument
from ..shapes import ceil_div, pair
from . import gemm, kernels, threads
from .buffers import scratch
from .threads import serialised, sized
from .winograd_reference import check, winograd_matrices, winograd_tiles

# FMA contraction only: a·b + c may be fused into one rounding. No flag that assumes finite values
# ('nnan', 'ninf', 'fast'), so NaN and Inf propagate exactly as IEEE arithmetic says.
_FASTMATH = {"contract"}

# ---- filter transform and its adjoint ------------------------------------------------------------


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _filter_transform_loop(w, G, U):
    """U[u·α + v, g, c, k] = Σ_{a,b} G[u, a] · w[g·F/groups + k, c, a, b] · G[v, b]   (U = G w Gᵀ).

    w: (F, C/groups, r, r); U: (α², groups, C/groups, F/groups). The inner loops run over the
    output filters k, contiguous in U, so the (r, r) weights of one input channel are first
    gathered into wt[a, b, k].
    """
    f, cg, r, _ = w.shape
    alpha = G.shape[0]
    groups, fg = U.shape[1], U.shape[3]
    zero = w.dtype.type(0)
    for gc in prange(groups * cg):  # one (group, input channel) per iteration: writes U[:, g, c, :]
        g, c = gc // cg, gc % cg
        wt = np.empty((r, r, fg), dtype=w.dtype)  # w[g·F/groups + k, c, a, b] at [a, b, k]
        tmp = np.empty((alpha, r, fg), dtype=w.dtype)  # (G w)[u, b, k]
        for k in range(fg):
            for a in range(r):
                for b in range(r):
                    wt[a, b, k] = w[g * fg + k, c, a, b]
        for u in range(alpha):  # pass 1: tmp[u, b, :] = Σ_a G[u, a] · wt[a, b, :]
            for b in range(r):
                for k in range(fg):
                    tmp[u, b, k] = zero
                for a in range(r):
                    coef = G[u, a]
                    if coef != 0:
                        for k in range(fg):
                            tmp[u, b, k] += coef * wt[a, b, k]
        for u in range(alpha):  # pass 2: U[u·α + v, g, c, :] = Σ_b G[v, b] · tmp[u, b, :]
            for v in range(alpha):
                xi = u * alpha + v
                for k in range(fg):
                    U[xi, g, c, k] = zero
                for b in range(r):
                    coef = G[v, b]
                    if coef != 0:
                        for k in range(fg):
                            U[xi, g, c, k] += coef * tmp[u, b, k]


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _filter_adjoint_loop(dU, G, dw):
    """dw[g·F/groups + k, c, a, b] = Σ_{u,v} G[u, a] · dU[u·α + v, g, c, k] · G[v, b]   (dw = Gᵀ dU G)."""
    f, cg, r, _ = dw.shape
    alpha = G.shape[0]
    groups, fg = dU.shape[1], dU.shape[3]
    zero = dw.dtype.type(0)
    for gc in prange(groups * cg):  # writes dw[:, c] of group g only
        g, c = gc // cg, gc % cg
        tmp = np.empty((r, alpha, fg), dtype=dw.dtype)  # (Gᵀ dU)[a, v, k]
        dwt = np.empty((r, r, fg), dtype=dw.dtype)  # dw[g·F/groups + k, c, a, b] at [a, b, k]
        for a in range(r):  # pass 1: tmp[a, v, :] = Σ_u G[u, a] · dU[u·α + v, g, c, :]
            for v in range(alpha):
                for k in range(fg):
                    tmp[a, v, k] = zero
                for u in range(alpha):
                    coef = G[u, a]
                    if coef != 0:
                        for k in range(fg):
                            tmp[a, v, k] += coef * dU[u * alpha + v, g, c, k]
        for a in range(r):  # pass 2: dwt[a, b, :] = Σ_v G[v, b] · tmp[a, v, :]
            for b in range(r):
                for k in range(fg):
                    dwt[a, b, k] = zero
                for v in range(alpha):
                    coef = G[v, b]
                    if coef != 0:
                        for k in range(fg):
                            dwt[a, b, k] += coef * tmp[a, v, k]
        for k in range(fg):
            for a in range(r):
                for b in range(r):
                    dw[g * fg + k, c, a, b] = dwt[a, b, k]


# ---- input transform and its adjoint --------------------------------------------------------------


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _input_transform_rows(xh, BT, m, pad, th, tw, r0, r1, Vt, tmp):
    """Vt[(ni − r0)·tw + j, u·α + v, :] = Σ_{a,b} Bᵀ[u, a] · d[a, b, :] · Bᵀ[v, b]   (V = Bᵀ d B, all C channels
    at once) for the tile rows ni = n·th + i in r0 … r1 − 1 and every tile j of a row.

    xh: (N, H, W, C); Vt: ((r1 − r0)·tw, α², C), tile-major; tmp: (α, α, C), a work array. d is the α×α patch
    of tile (n, i, j), read straight from xh at rows i·m − pad + a, columns j·m − pad + b (zero outside the
    image: the padding and the overhang of the last tiles).
    """
    _, h, w, c_all = xh.shape
    alpha = BT.shape[0]
    zero = xh.dtype.type(0)
    for ni in range(r0, r1):
        n, i = ni // th, ni % th
        y0 = i * m - pad
        for j in range(tw):
            x0 = j * m - pad
            p = (ni - r0) * tw + j
            for u in range(alpha):  # pass 1, down the columns: tmp[u, b, :] = Σ_a Bᵀ[u, a] · d[a, b, :]
                for b in range(alpha):
                    for c in range(c_all):
                        tmp[u, b, c] = zero
                    if x0 + b < 0 or x0 + b >= w:
                        continue
                    for a in range(alpha):
                        coef = BT[u, a]
                        if coef != 0 and 0 <= y0 + a < h:
                            for c in range(c_all):
                                tmp[u, b, c] += coef * xh[n, y0 + a, x0 + b, c]
            for u in range(alpha):  # pass 2, along the rows: Vt[p, u·α + v, :] = Σ_b Bᵀ[v, b] · tmp[u, b, :]
                for v in range(alpha):
                    xi = u * alpha + v
                    for c in range(c_all):
                        Vt[p, xi, c] = zero
                    for b in range(alpha):
                        coef = BT[v, b]
                        if coef != 0:
                            for c in range(c_all):
                                Vt[p, xi, c] += coef * tmp[u, b, c]


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _input_transform_loop(xh, BT, m, pad, th, tw, Vt):
    """Vt[p] for every tile p = (n·th + i)·tw + j of xh (``_input_transform_rows``, one row of tiles per
    iteration). xh: (N, H, W, C); Vt: (P, α², C), tile-major."""
    n_img, c_all = xh.shape[0], xh.shape[3]
    alpha = BT.shape[0]
    for ni in prange(n_img * th):  # writes Vt[p] of its own row's tiles only
        tmp = np.empty((alpha, alpha, c_all), dtype=xh.dtype)
        _input_transform_rows(xh, BT, m, pad, th, tw, ni, ni + 1, Vt[ni * tw : (ni + 1) * tw], tmp)


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _input_adjoint_loop(dVt, BT, m, pad, th, tw, dxh):
    """dxh[n, i·m − pad + a, j·m − pad + b, :] += (B dV_p Bᵀ)[a, b, :]  for every tile p = (n, i, j).

    dVt: (P, α², C) tile-major; dxh: (N, H, W, C), made zero here, image by image (on the thread that then
    adds to it). Neighbouring tiles overlap by r − 1 pixels, so the loop splits by image only (the tiles of
    one image are added in a fixed order: the result does not depend on the thread count).
    """
    n_img, h, w, c_all = dxh.shape
    alpha = BT.shape[0]
    zero = dxh.dtype.type(0)
    for n in prange(n_img):
        dxh[n] = zero
        tmp = np.empty((alpha, alpha, c_all), dtype=dxh.dtype)  # (dV B)[u, b, :]
        for i in range(th):
            y0 = i * m - pad
            for j in range(tw):
                x0 = j * m - pad
                p = (n * th + i) * tw + j
                for u in range(alpha):  # pass 1, along the rows: tmp[u, b, :] = Σ_v Bᵀ[v, b] · dV[u·α + v, :]
                    for b in range(alpha):
                        if x0 + b < 0 or x0 + b >= w:
                            continue  # this column of the tile lies in the padding: not needed
                        for c in range(c_all):
                            tmp[u, b, c] = zero
                        for v in range(alpha):
                            coef = BT[v, b]
                            if coef != 0:
                                for c in range(c_all):
                                    tmp[u, b, c] += coef * dVt[p, u * alpha + v, c]
                # pass 2, down the columns: dx[y0 + a, x0 + b] += Σ_u Bᵀ[u, a] · tmp[u, b]
                for a in range(alpha):
                    if y0 + a < 0 or y0 + a >= h:
                        continue
                    for b in range(alpha):
                        if x0 + b < 0 or x0 + b >= w:
                            continue
                        for u in range(alpha):
                            coef = BT[u, a]
                            if coef != 0:
                                for c in range(c_all):
                                    dxh[n, y0 + a, x0 + b, c] += coef * tmp[u, b, c]


# ---- output transform and its adjoint -------------------------------------------------------------


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _output_transform_rows(Mt, AT, bias, th, tw, r0, r1, yh, tmp, relu, maskh):
    """yh[n, i·m + u, j·m + v, :] = bias + Σ_{a,b} Aᵀ[u, a] · Mt[(ni − r0)·tw + j, a·α + b, :] · Aᵀ[v, b]
    (Y = Aᵀ M A) for the tile rows ni = n·th + i in r0 … r1 − 1 and every tile j of a row.

    Mt: ((r1 − r0)·tw, α², F) tile-major; yh: (N, H_out, W_out, F); tmp: (m, α, F), a work array. The
    outputs of an overhanging tile that fall outside H_out × W_out are neither computed nor written.
    ``relu``: each output pixel, while in cache, then goes through the ReLU that follows the layer, as
    ``kernels._relu_forward_loop`` does it: maskh (shaped like yh, bool) = y > 0, y = max(y, 0) (a NaN stays
    NaN); maskh is not touched otherwise.
    """
    _, ho, wo, f = yh.shape
    m, alpha = AT.shape
    zero = yh.dtype.type(0)
    for ni in range(r0, r1):
        n, i = ni // th, ni % th
        rows = min(m, ho - i * m)
        for j in range(tw):
            p = (ni - r0) * tw + j
            cols = min(m, wo - j * m)
            for u in range(rows):  # pass 1, down the columns: tmp[u, b, :] = Σ_a Aᵀ[u, a] · M[a·α + b, :]
                for b in range(alpha):
                    for k in range(f):
                        tmp[u, b, k] = zero
                    for a in range(alpha):
                        coef = AT[u, a]
                        if coef != 0:
                            for k in range(f):
                                tmp[u, b, k] += coef * Mt[p, a * alpha + b, k]
            # pass 2, along the rows: y[i·m + u, j·m + v] = bias + Σ_b Aᵀ[v, b] · tmp[u, b]
            for u in range(rows):
                for v in range(cols):
                    for k in range(f):
                        yh[n, i * m + u, j * m + v, k] = bias[k]
                    for b in range(alpha):
                        coef = AT[v, b]
                        if coef != 0:
                            for k in range(f):
                                yh[n, i * m + u, j * m + v, k] += coef * tmp[u, b, k]
                    if relu:
                        for k in range(f):
                            val = yh[n, i * m + u, j * m + v, k]
                            positive = val > 0
                            maskh[n, i * m + u, j * m + v, k] = positive
                            yh[n, i * m + u, j * m + v, k] = val if positive or val != val else zero


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _output_transform_loop(Mt, AT, bias, th, tw, yh, relu, maskh):
    """yh (and with ``relu`` maskh) from every tile of Mt (``_output_transform_rows``, one row of tiles per
    iteration). Mt: (P, α², F) tile-major; yh: (N, H_out, W_out, F)."""
    n_img, f = yh.shape[0], yh.shape[3]
    m, alpha = AT.shape
    for ni in prange(n_img * th):  # one row of tiles: writes output rows i·m … i·m + m − 1 only
        tmp = np.empty((m, alpha, f), dtype=yh.dtype)
        _output_transform_rows(
            Mt[ni * tw : (ni + 1) * tw], AT, bias, th, tw, ni, ni + 1, yh, tmp, relu, maskh
        )


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _output_adjoint_loop(dyh, AT, th, tw, dMt, bias_grad, db_rows, relu, maskh):
    """dMt[p, a·α + b, :] = Σ_{u,v} Aᵀ[u, a] · dY[n, i·m + u, j·m + v, :] · Aᵀ[v, b]   (dM = A dY Aᵀ).

    dyh: (N, H_out, W_out, F); dMt: (P, α², F) tile-major. The outputs an overhanging tile dropped
    have no gradient (they count as zero). ``bias_grad``: also db_rows[n·th + i, :] = the sum of dY over the
    output rows of tile row (n, i), each pixel added while in cache from the pass that reads it, in a fixed
    order (db = db_rows summed over rows: the same bits on any number of threads); db_rows: (N·th, F), not
    touched otherwise. ``relu``: dyh is the gradient at the output of the ReLU that follows the layer, and
    dY = dyh · maskh (maskh shaped like dyh, bool: y > 0), the ReLU's backward as
    ``kernels._relu_backward_loop`` does it, taken as each tile's pixels are copied into ``dyt`` (dY is read
    in place otherwise, and maskh not at all).
    """
    n_img, ho, wo, f = dyh.shape
    m, alpha = AT.shape
    zero = dyh.dtype.type(0)
    for ni in prange(n_img * th):  # writes dMt[p] of its own tiles only (and db_rows[ni])
        n, i = ni // th, ni % th
        rows = min(m, ho - i * m)
        dyt = np.empty((m, m, f), dtype=dyh.dtype)  # one tile's dY, where the ReLU's backward makes it
        tmp = np.empty((m, alpha, f), dtype=dyh.dtype)  # (dY A)[u, b, :]
        if bias_grad:
            for k in range(f):
                db_rows[ni, k] = zero
        for j in range(tw):
            p = ni * tw + j
            cols = min(m, wo - j * m)
            if relu:  # dY = dyh · mask, into dyt (and into db), read from there: src[y0 + u, x0 + v]
                src, y0, x0 = dyt, 0, 0
                for u in range(rows):
                    for v in range(cols):
                        if bias_grad:
                            for k in range(f):
                                g = dyh[n, i * m + u, j * m + v, k] * maskh[n, i * m + u, j * m + v, k]
                                dyt[u, v, k] = g
                                db_rows[ni, k] += g
                        else:
                            for k in range(f):
                                dyt[u, v, k] = (
                                    dyh[n, i * m + u, j * m + v, k] * maskh[n, i * m + u, j * m + v, k]
                                )
            else:  # dY is dyh, read in place
                src, y0, x0 = dyh[n], i * m, j * m
                if bias_grad:
                    for u in range(rows):
                        for v in range(cols):
                            for k in range(f):
                                db_rows[ni, k] += dyh[n, i * m + u, j * m + v, k]
            # pass 1, along the rows: tmp[u, b, :] = Σ_v Aᵀ[v, b] · dY[i·m + u, j·m + v, :]
            for u in range(rows):
                for b in range(alpha):
                    for k in range(f):
                        tmp[u, b, k] = zero
                    for v in range(cols):
                        coef = AT[v, b]
                        if coef != 0:
                            for k in range(f):
                                tmp[u, b, k] += coef * src[y0 + u, x0 + v, k]
            for a in range(alpha):  # pass 2, down the columns: dM[a·α + b, :] = Σ_u Aᵀ[u, a] · tmp[u, b, :]
                for b in range(alpha):
                    xi = a * alpha + b
                    for k in range(f):
                        dMt[p, xi, k] = zero
                    for u in range(rows):
                        coef = AT[u, a]
                        if coef != 0:
                            for k in range(f):
                                dMt[p, xi, k] += coef * tmp[u, b, k]


# ---- wrappers: the twins of the reference stages (same names and positional arguments) -------------


def _channels_last(a):
    """(N, C, H, W) -> the C-contiguous (N, H, W, C) array behind it (a copy only if a is not channels-last)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def gemm_view(t, groups):
    """Tile-major (P, α², C) memory -> the (α², groups, P, C/groups) view the stacked GEMM uses (no copy).

    Each (ξ, g) matrix is P × C/groups with row stride α²·C: BLAS takes that as its leading
    dimension, so np.matmul reads and writes these views in place.
    """
    p, a2, c = t.shape
    return t.reshape(p, a2, groups, c // groups).transpose(1, 2, 0, 3)


def tile_major(v):
    """(α², groups, P, C/groups) -> (P, α², C) C-contiguous (free when v is a :func:`gemm_view`)."""
    a2, groups, p, cg = v.shape
    return np.ascontiguousarray(v.transpose(2, 0, 1, 3)).reshape(p, a2, groups * cg)


def shape_only(shape, dtype):
    """A read-only all-zero array of ``shape`` that takes no memory (every stride 0): stands for the input in
    :func:`conv2d_winograd_backward` when its transform ``V`` is passed, since only x's shape is then read."""
    return np.broadcast_to(np.zeros((), dtype=dtype), shape)


@serialised
def filter_transform(weight, G, groups=1, *, out=None):
    """weight: (F, C/groups, r, r) -> U: (α², groups, C/groups, F/groups); ``out``: a C-contiguous U to fill.

    Twin: :func:`alexnet_np.ops.winograd_reference.filter_transform`."""
    f, cg = weight.shape[:2]
    alpha = G.shape[0]
    U = np.empty((alpha * alpha, groups, cg, f // groups), dtype=weight.dtype) if out is None else out
    sized(_filter_transform_loop, U.size)(np.ascontiguousarray(weight), G, U)
    return U


@serialised
def filter_transform_adjoint(du, G, *, out=None):
    """dU: (α², groups, C/groups, F/groups) -> dw: (F, C/groups, r, r); ``out``: a C-contiguous dw to fill.

    Twin: :func:`alexnet_np.ops.winograd_reference.filter_transform_adjoint`."""
    _, groups, cg, fg = du.shape
    r = G.shape[1]
    dw = np.empty((groups * fg, cg, r, r), dtype=du.dtype) if out is None else out
    sized(_filter_adjoint_loop, du.size)(np.ascontiguousarray(du), G, dw)
    return dw


@serialised
def input_transform(x, BT, m, padding=0, groups=1, *, out=None):
    """x: (N, C, H, W) -> V: (α², groups, P, C/groups), a :func:`gemm_view` of tile-major memory.

    ``out``: a (P, α², C) C-contiguous buffer to fill.
    Twin: :func:`alexnet_np.ops.winograd_reference.input_transform`.
    """
    n, c, h, w = x.shape
    alpha = BT.shape[0]
    _, _, th, tw = winograd_tiles(h, w, alpha - m + 1, padding, m)
    vt = np.empty((n * th * tw, alpha * alpha, c), dtype=x.dtype) if out is None else out
    sized(_input_transform_loop, vt.size)(_channels_last(x), BT, m, padding, th, tw, vt)
    return gemm_view(vt, groups)


@serialised
def input_transform_adjoint(dv, BT, x_shape, m, padding=0):
    """dV: (α², groups, P, C/groups) -> dx: (N, C, H, W), channels-last in memory.

    Twin: :func:`alexnet_np.ops.winograd_reference.input_transform_adjoint`."""
    n, c, h, w = x_shape
    alpha = BT.shape[0]
    _, _, th, tw = winograd_tiles(h, w, alpha - m + 1, padding, m)
    dxh = np.empty((n, h, w, c), dtype=dv.dtype)
    sized(_input_adjoint_loop, dv.size)(tile_major(dv), BT, m, padding, th, tw, dxh)
    return dxh.transpose(0, 3, 1, 2)


@serialised
def output_transform(M, AT, n, ho, wo, *, bias=None, relu=False):
    """M: (α², groups, P, F/groups) -> y: (N, F, H_out, W_out), channels-last in memory (+ ``bias``).

    ``relu=True``: the ReLU that follows the layer in the same pass -> (max(y, 0), y > 0), as
    :func:`alexnet_np.ops.kernels.relu_forward` gives them from y, bit for bit.
    Twin: :func:`alexnet_np.ops.winograd_reference.output_transform`."""
    _, groups, _, fg = M.shape
    m = AT.shape[0]
    f = groups * fg
    yh = np.empty((n, ho, wo, f), dtype=M.dtype)
    maskh = _relu_mask(yh, relu)
    b = np.zeros(f, dtype=M.dtype) if bias is None else np.ascontiguousarray(bias, dtype=M.dtype)
    sized(_output_transform_loop, M.size)(
        tile_major(M), AT, b, ceil_div(ho, m), ceil_div(wo, m), yh, relu, maskh
    )
    y = yh.transpose(0, 3, 1, 2)
    return (y, maskh.transpose(0, 3, 1, 2)) if relu else y


def _relu_mask(yh, relu):
    """The (N, H, W, F) bool mask a fused ReLU fills, or a 1-element stand-in the loops never touch."""
    return np.empty(yh.shape if relu else (1, 1, 1, 1), dtype=np.bool_)


@serialised
def output_transform_adjoint(dout, AT, groups=1, *, out=None, bias_grad=False, relu_mask=None):
    """dY: (N, F, H_out, W_out) -> dM: (α², groups, P, F/groups), a :func:`gemm_view`; ``out``: (P, α², F).

    ``bias_grad=True``: the bias gradient from the same pass -> (dM, db), db: (F,) = Σ_{n,h,w} dY (each tile
    row's sum, then those summed: equal to ``dout.sum(axis=(0, 2, 3))`` up to float32's rounding of a
    different order; the reference takes that sum).
    ``relu_mask`` (bool, shaped like dout): ``dout`` is the gradient at the output of the ReLU that follows the
    layer, and the pass runs that ReLU's backward first, dY = dout · relu_mask, as
    :func:`alexnet_np.ops.kernels.relu_backward` gives it (bit for bit: a product with 0 or 1 is exact).
    Twin: :func:`alexnet_np.ops.winograd_reference.output_transform_adjoint`."""
    n, f, ho, wo = dout.shape
    m, alpha = AT.shape
    th, tw = ceil_div(ho, m), ceil_div(wo, m)
    dmt = np.empty((n * th * tw, alpha * alpha, f), dtype=dout.dtype) if out is None else out
    db_rows = np.empty((n * th, f) if bias_grad else (1, 1), dtype=dout.dtype)
    relu = relu_mask is not None
    if relu and (relu_mask.shape != dout.shape or relu_mask.dtype != np.bool_):
        raise BadArgument(
            f"output_transform_adjoint: relu_mask must be a bool array of dout's shape {dout.shape}, "
            f"got {relu_mask.dtype} {relu_mask.shape}"
        )
    maskh = _channels_last(relu_mask) if relu else np.empty((1, 1, 1, 1), dtype=np.bool_)
    sized(_output_adjoint_loop, dmt.size)(
        _channels_last(dout), AT, th, tw, dmt, bias_grad, db_rows, relu, maskh
    )
    return (gemm_view(dmt, groups), db_rows.sum(axis=0)) if bias_grad else gemm_view(dmt, groups)


# ---- the convolution --------------------------------------------------------------------------------

_MATRICES: dict[tuple, tuple] = {}


def matrices(m, r, dtype):
    """Aᵀ, G, Bᵀ of F(m, r) in ``dtype``, built once and cached (read-only)."""
    key = (m, r, np.dtype(dtype))
    if key not in _MATRICES:
        mats = winograd_matrices(m, r, dtype)
        for a in mats:
            a.flags.writeable = False
        _MATRICES[key] = mats
    return _MATRICES[key]


def work_shapes(x_shape, weight_shape, padding, groups, m):
    """Shapes of the work arrays of a forward on ``x_shape``: {"U": (α², groups, C/groups, F/groups),
    "V": (P, α², C), "M": (P, α², F)} (V and M tile-major; dV and dM have the shapes of V and M)."""
    n, c, h, w = x_shape
    f, cg, r, _ = weight_shape
    _, _, th, tw = winograd_tiles(h, w, r, padding, m)
    a2, p = (m + r - 1) ** 2, n * th * tw
    return {"U": (a2, groups, cg, f // groups), "V": (p, a2, c), "M": (p, a2, f)}


BLOCK_BYTES = 1 << 20
"""The most bytes of V and M that one block of :func:`conv2d_winograd`'s forward in blocks holds, unless one row
of tiles alone holds more (a core's share of a mid-sized cache: they are written and read back while still
there)."""

MAX_BLOCKED_U_BYTES = 4 << 20
"""The forward runs in blocks only where the filter transform U takes at most this many bytes. Each block's
products read the whole of U, which stays in cache from block to block only while it is small (conv3–conv5's
19–29 MB do not)."""

MIN_BLOCKED_BYTES = 16 << 20
"""The forward runs in blocks only where V and M together take at least this many bytes. Below that they stay in
the last-level cache between the whole passes anyway, and the whole passes' few large products beat the blocks'
many small ones. Time in blocks / in whole passes, ``python experiments/winograd_blocks.py`` (docs/benchmarks.md),
conv1 of the single tower and of torchvision and torchvision's conv2: at batch 1 0.98–1.15 (ten measurements on
two machines), at batch 2 1.24–1.48 (six), at batch 8 0.82–1.21 (twelve, ten of them under 1)."""

MIN_BLOCKS = 8
"""About this many blocks or more (a block takes at most ⌈rows / MIN_BLOCKS⌉ tile rows), so the threads share
them evenly."""


def rows_per_block(x_shape, weight_shape, padding, m, itemsize):
    """Tile rows per block of :func:`conv2d_winograd`'s forward in blocks, or 0 where it runs whole passes.

    In blocks where U is at most :data:`MAX_BLOCKED_U_BYTES`, V and M together are at least twice U (the
    whole passes write V and M out and read them back; the blocks read U again each) and at least
    :data:`MIN_BLOCKED_BYTES`, and V is not small work (:data:`~alexnet_np.ops.threads.SMALL_WORK` values).
    A row of tiles holds tw·α²·(C + F) values of V and M; a block takes as many rows as fit in
    :data:`BLOCK_BYTES` (one at least), and no more than N·th / :data:`MIN_BLOCKS` rounded up. On AlexNet:
    conv1 (by space-to-depth) from batch 5 (torchvision's, of 64 filters, from 7), torchvision's conv2 from batch
    6 and the paper's (two groups, a smaller U) from 4; ``python -m alexnet_np bench --conv`` says which layers
    ran in blocks.
    """
    n, c, h, w = x_shape
    f, cg, r, _ = weight_shape
    _, _, th, tw = winograd_tiles(h, w, r, padding, m)
    a2 = (m + r - 1) ** 2
    u_bytes, row_bytes = a2 * cg * f * itemsize, tw * a2 * (c + f) * itemsize
    if (
        u_bytes > MAX_BLOCKED_U_BYTES
        or n * th * row_bytes < max(2 * u_bytes, MIN_BLOCKED_BYTES)
        or n * th * tw * a2 * c < threads.SMALL_WORK
    ):
        return 0
    return max(1, min(BLOCK_BYTES // row_bytes, ceil_div(n * th, MIN_BLOCKS)))


def space_to_depth_shape(x_shape, block, size):
    """The shape (N, C·sh·sw, H', W') of z = space_to_depth(x) (:func:`alexnet_np.ops.kernels.space_to_depth`)
    for x of ``x_shape``, ``block`` = (sh, sw) and ``size`` = (H', W')."""
    (sh, sw), (hz, wz) = pair(block), pair(size)
    return (x_shape[0], x_shape[1] * sh * sw, hz, wz)


@serialised
def conv2d_winograd(
    x,
    weight,
    bias=None,
    padding=0,
    groups=1,
    m=None,
    *,
    U=None,
    U_ready=False,
    V=None,
    M=None,
    space_to_depth=None,
    z=None,
    relu=False,
):
    """Stride-1 convolution by Winograd F(m×m, r×r): x: (N, C, H, W), weight: (F, C/groups, r, r),
    bias: (F,) or None -> y: (N, F, H_out, W_out), channels-last in memory.

    Steps: U = filter transform, V = input transform, M = V @ U (one stacked np.matmul over (ξ, group),
    on :func:`gemm_view` s of tile-major buffers), y = output transform + bias. ``U``, ``V``: work arrays to
    fill (shapes: :func:`work_shapes`), made here when None; a caller that keeps ``V`` passes it
    to :func:`conv2d_winograd_backward` instead of the input. ``U_ready``: ``U`` already holds the transform
    of ``weight`` (a caller that kept it from an earlier pass with the same weights); it is not remade.
    ``M``: a work array for the whole M (the whole passes only; the forward in blocks does not use it), borrowed
    from the thread's scratch when None.

    ``space_to_depth`` = (block, padding, size): the convolution runs on z = space_to_depth(x, block, size,
    padding) (:func:`alexnet_np.ops.kernels.space_to_depth`, shape :func:`space_to_depth_shape`) instead of x;
    ``padding`` (Winograd's) must then be 0. The whole passes make z first (into ``z`` when given); the forward
    in blocks never makes z whole: each block rearranges only the rows of z its tiles read.

    **In blocks** where :func:`rows_per_block` says so (a small U, as conv1's by space-to-depth): the last
    three steps run block by block of tile rows of one image, each block's V, its products (one stacked
    np.matmul) and its output transform in turn while V and M are still in cache, blocks shared between
    threads by :func:`alexnet_np.ops.gemm.run_blocks`; V is written whole (the backward reads it), M is never
    whole. The same loops (``_input_transform_rows``, ``_output_transform_rows``) and the same products
    per row as the whole passes: only the order of the work changes.

    ``relu=True``: the ReLU that follows the layer runs in the output transform's pass (:func:`output_transform`)
    -> (max(y, 0), y > 0), the mask channels-last too.
    Twin: :func:`alexnet_np.ops.winograd_reference.conv2d_winograd`.
    """
    shape = x.shape if space_to_depth is None else space_to_depth_shape(x.shape, *space_to_depth[::2])
    n, c, h, w, f, r, m = check(shape, x.dtype, weight, padding, groups, m)
    ho, wo, th, tw = winograd_tiles(h, w, r, padding, m)
    shapes = work_shapes(shape, weight.shape, padding, groups, m)
    AT, G, BT = matrices(m, r, x.dtype)
    if not (U_ready and U is not None):
        U = filter_transform(weight, G, groups, out=U)
    rows = rows_per_block(shape, weight.shape, padding, m, x.dtype.itemsize)
    if rows:
        vt = np.empty(shapes["V"], dtype=x.dtype) if V is None else V
        return _forward_in_blocks(x, U, bias, AT, BT, padding, groups, rows, vt, space_to_depth, relu)
    if space_to_depth is not None:
        block, s2d_padding, size = space_to_depth
        x = kernels.space_to_depth(x, block, size, s2d_padding, out=z)
    V = input_transform(x, BT, m, padding, groups, out=V)
    Mg = gemm_view(scratch(shapes["M"], x.dtype) if M is None else M, groups)
    gemm.matmul(V, U, out=Mg)
    return output_transform(Mg, AT, n, ho, wo, bias=bias, relu=relu)


def _forward_in_blocks(x, U, bias, AT, BT, padding, groups, rows, vt, space_to_depth, relu):
    """y from x and U, blocks of ``rows`` tile rows of one image at a time (:func:`conv2d_winograd`); vt: the
    tile-major V to fill. With ``space_to_depth``, each block first rearranges the rows of z its tiles read
    (z rows i0·m … i1·m + r − 2 for tile rows i0 … i1 − 1) into a slab, where its tile rows start at 0."""
    (m, alpha), f = AT.shape, U.shape[1] * U.shape[3]
    r = alpha - m + 1
    shape = x.shape if space_to_depth is None else space_to_depth_shape(x.shape, *space_to_depth[::2])
    n, c, h, w = shape
    ho, wo, th, tw = winograd_tiles(h, w, r, padding, m)
    xh = _channels_last(x) if space_to_depth is None else x
    yh = np.empty((n, ho, wo, f), dtype=x.dtype)
    maskh = _relu_mask(yh, relu)
    b = np.zeros(f, dtype=x.dtype) if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)
    m_size = rows * tw * alpha * alpha * f
    slab_size = 0 if space_to_depth is None else (rows * m + r - 1) * w * c

    def block(image, i0, i1):
        r0, r1 = image * th + i0, image * th + i1  # tile rows of the whole batch
        vb = vt[r0 * tw : r1 * tw]  # this block's tiles: contiguous in the tile-major V
        work = scratch((m_size + slab_size,), x.dtype)  # the running thread's own
        mb = work[: (r1 - r0) * tw * alpha * alpha * f].reshape((r1 - r0) * tw, alpha * alpha, f)
        tmp = np.empty((alpha, alpha, c), x.dtype)
        if space_to_depth is None:
            _input_transform_rows(xh, BT, m, padding, th, tw, r0, r1, vb, tmp)
        else:
            (sh, sw), (ph, pw), _ = (pair(v) for v in space_to_depth)
            z_rows = min(h - i0 * m, (i1 - i0) * m + r - 1)
            slab = work[m_size : m_size + z_rows * w * c].reshape(1, z_rows, w, c)
            kernels._space_to_depth_rows(x, image, i0 * m, i0 * m + z_rows, sh, sw, ph, pw, slab[0])
            _input_transform_rows(slab, BT, m, 0, i1 - i0, tw, 0, i1 - i0, vb, tmp)
        np.matmul(gemm_view(vb, groups), U, out=gemm_view(mb, groups))
        _output_transform_rows(mb, AT, b, th, tw, r0, r1, yh, np.empty((m, alpha, f), x.dtype), relu, maskh)

    blocks = [
        functools.partial(block, image, i0, min(i0 + rows, th))
        for image in range(n)
        for i0 in range(0, th, rows)
    ]
    gemm.run_blocks(blocks)
    y = yh.transpose(0, 3, 1, 2)
    return (y, maskh.transpose(0, 3, 1, 2)) if relu else y


@serialised
def conv2d_winograd_backward(
    dout,
    x,
    weight,
    padding=0,
    groups=1,
    m=None,
    *,
    V=None,
    input_grad=True,
    dw=None,
    U=None,
    U_ready=False,
    dM=None,
    dV=None,
    relu_mask=None,
):
    """dout: (N, F, H_out, W_out) -> (dx or None, dw: (F, C/groups, r, r), db: (F,)).

    dM = A dY Aᵀ (output-transform adjoint, with db = Σ dY from the same pass); dU = Vᵀ dM and dV = dM Uᵀ
    (stacked GEMMs; np.matmul hands the transposed views to BLAS without copies); dw = Gᵀ dU G; dx = Σ_tiles B dV Bᵀ.
    U is recomputed from ``weight`` as it is now, unless ``U_ready``: the ``U`` passed already holds the
    transform of ``weight`` (the forward's, the weights unchanged since). ``V``: the forward's input
    transform (a :func:`gemm_view`), so x is not transformed again (only its shape is read: pass
    :func:`shape_only`). ``input_grad=False``
    skips dx (the first layer). ``dw``: a C-contiguous array to write dw into; ``U``, ``dM``, ``dV``: work
    arrays (the shapes of U, M and V in :func:`work_shapes`), made here when None. ``relu_mask``: ``dout`` is
    the gradient at the output of the ReLU that follows the layer (y > 0 its mask), whose backward then runs
    in the output-transform adjoint's pass (:func:`output_transform_adjoint`).
    Twin: :func:`alexnet_np.ops.winograd_reference.conv2d_winograd_backward`.
    """
    n, c, h, w, f, r, m = check(x.shape, x.dtype, weight, padding, groups, m)
    AT, G, BT = matrices(m, r, dout.dtype)
    if V is None:
        V = input_transform(x, BT, m, padding, groups)
    shapes = work_shapes((n, c, h, w), weight.shape, padding, groups, m)
    dM, db = output_transform_adjoint(dout, AT, groups, out=dM, bias_grad=True, relu_mask=relu_mask)
    dU = gemm.matmul(V.swapaxes(-1, -2), dM)  # (α², groups, C/groups, F/groups)
    dw = filter_transform_adjoint(dU, G, out=dw)
    dx = None
    if input_grad:
        if not (U_ready and U is not None):
            U = filter_transform(weight, G, groups, out=U)
        dvt = np.empty(shapes["V"], dtype=dout.dtype) if dV is None else dV
        gemm.matmul(dM, U.swapaxes(-1, -2), out=gemm_view(dvt, groups))
        dx = input_transform_adjoint(gemm_view(dvt, groups), BT, (n, c, h, w), m, padding)
    return dx, dw, db


KERNELS = (
    _filter_transform_loop,
    _filter_adjoint_loop,
    _input_transform_loop,
    _input_adjoint_loop,
    _output_transform_loop,
    _output_adjoint_loop,
)
