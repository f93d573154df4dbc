"""Naive loops: the definitions, written as directly as possible, for tests and notebooks.

They are slow (pure Python over every output element) and exist to be obviously right:
the tests hold both backends equal to them on small, odd shapes.
"""

from __future__ import annotations

import numpy as np

from ..shapes import output_hw, pair


def conv2d_naive(x, weight, bias=None, stride=1, padding=0, groups=1):
    """x: (N, C, H, W), weight: (F, C/groups, kh, kw) -> (N, F, H_out, W_out).

    ``out[n, f, oh, ow] = bias[f] + Σ_{c, i, j} weight[f, c, i, j] · x_pad[n, g·C/groups + c, oh·sh + i, ow·sw + j]``
    with g the group of filter f.
    """
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    n, c, h, w = x.shape
    f, cg, kh, kw = weight.shape
    ho, wo = output_hw(h, w, (kh, kw), (sh, sw), (ph, pw))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, f, ho, wo), dtype=x.dtype)
    per_group = f // groups
    for b in range(n):
        for o in range(f):
            c0 = (o // per_group) * cg
            for oh in range(ho):
                for ow in range(wo):
                    window = xp[b, c0 : c0 + cg, oh * sh : oh * sh + kh, ow * sw : ow * sw + kw]
                    out[b, o, oh, ow] = np.sum(window * weight[o])
            if bias is not None:
                out[b, o] += bias[o]
    return out


def space_to_depth_naive(x, block, size, padding=0):
    """``z[n, (c·sh + a)·sw + b, i, j] = x[n, c, i·sh + a − ph, j·sw + b − pw]`` (0 outside x), element by element."""
    (sh, sw), (ph, pw), (hz, wz) = pair(block), pair(padding), pair(size)
    n, c, h, w = x.shape
    z = np.zeros((n, c * sh * sw, hz, wz), dtype=x.dtype)
    for b_ in range(n):
        for ch in range(c):
            for a in range(sh):
                for b in range(sw):
                    for i in range(hz):
                        for j in range(wz):
                            y, xx = i * sh + a - ph, j * sw + b - pw
                            if 0 <= y < h and 0 <= xx < w:
                                z[b_, (ch * sh + a) * sw + b, i, j] = x[b_, ch, y, xx]
    return z


def maxpool2d_naive(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """x: (N, C, H, W) -> (N, C, H_out, W_out), the maximum of each window (padding = −inf; with
    ``ceil_mode``, a last window hanging past the bottom/right edge takes the maximum of what it covers)."""
    (kh, kw) = pair(kernel_size)
    (sh, sw) = pair(stride if stride is not None else kernel_size)
    (ph, pw) = pair(padding)
    n, c, h, w = x.shape
    ho, wo = output_hw(h, w, (kh, kw), (sh, sw), (ph, pw), ceil_mode)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((n, c, ho, wo), dtype=x.dtype)
    for b in range(n):
        for ch in range(c):
            for oh in range(ho):
                for ow in range(wo):
                    out[b, ch, oh, ow] = xp[b, ch, oh * sh : oh * sh + kh, ow * sw : ow * sw + kw].max()
    return out


def lrn_naive(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """The paper's formula element by element: b[c] = a[c] / (k + α Σ_{j near c} a[j]²)^β."""
    n, c, h, w = x.shape
    out = np.empty_like(x)
    for b in range(n):
        for ch in range(c):
            lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
            for y in range(h):
                for xx in range(w):
                    s = np.sum(x[b, lo:hi, y, xx] ** 2)
                    out[b, ch, y, xx] = x[b, ch, y, xx] / (k + alpha * s) ** beta
    return out
