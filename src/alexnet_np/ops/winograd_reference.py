"""Winograd minimal filtering F(m×m, r×r) for stride-1 2-D convolution: the readable NumPy reference.

Its fast twin is :mod:`alexnet_np.ops.winograd_kernels` (Numba loops, same stages, same layouts);
:class:`alexnet_np.Conv2d` runs this module on the ``"numpy"`` backend and the twin on ``"numba"``.

A convolution layer (cross-correlation, as in PyTorch) computes, for stride 1,

    y[n, f, oh, ow] = b[f] + Σ_c Σ_{i,j} w[f, c, i, j] · x_pad[n, c, oh + i, ow + j]

im2col + GEMM spends r² multiplies per output pixel and input channel. Winograd's minimal
filtering algorithm F(m, r) (Winograd 1980; Lavin & Gray 2015, "Fast Algorithms for
Convolutional Neural Networks") produces m outputs of an r-tap filter from α = m + r − 1
inputs with only α multiplies, as

    y = Aᵀ [ (G g) ⊙ (Bᵀ d) ]                    1-D:  d: (α,), g: (r,), y: (m,)
    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A              2-D:  d: (α, α), g: (r, r), Y: (m, m)

so an m×m output tile costs α² multiplies instead of m²·r². Across the channels the
elementwise products become matrix products, one per transform point ξ = (u, v) ∈ α×α:

    U[ξ, c, k] = (G w[k, c] Gᵀ)[ξ]                       filter transform   (α², C, K)
    V[ξ, p, c] = (Bᵀ d[p, c] B)[ξ]                       input transform    (α², P, C)
    M[ξ]       = V[ξ] @ U[ξ]                             stacked GEMM       (α², P, K)
    Y[p, k]    = Aᵀ M[:, p, k] A   (M[:, p, k] seen as α×α)   output transform  (P, K, m, m)

where p runs over the P = N·⌈H_out/m⌉·⌈W_out/m⌉ tiles: tile (n, i, j) covers the outputs
rows i·m … i·m+m−1, columns j·m … j·m+m−1, and reads the α×α input patch of the padded image
starting at (i·m, j·m). Tiles overhanging the bottom/right edge read zeros and their extra
outputs are dropped. With groups, every array gets a group axis after ξ and the GEMM is
stacked over (ξ, group).

Backward is Winograd on the adjoint: every step above is linear, so its adjoint is the
transposed step, in reverse order (with A = (Aᵀ)ᵀ, B = (Bᵀ)ᵀ):

    dM[ξ] = (A dY[p, k] Aᵀ)[ξ]          adjoint of the output transform (dY zero-padded to whole tiles)
    dU[ξ] = V[ξ]ᵀ @ dM[ξ]               stacked GEMM (α², C, K)
    dw    = Gᵀ dU[:, c, k] G            adjoint of the filter transform, (r, r) per (k, c)
    dV[ξ] = dM[ξ] @ U[ξ]ᵀ               stacked GEMM (α², P, C)
    dd    = B dV[:, p, c] Bᵀ            adjoint of the input transform, (α, α) per tile ...
    dx    = Σ_tiles dd                  ... added back where the tile was read (tiles overlap by r − 1)

The transform matrices come from interpolation (Cook–Toom): :func:`winograd_matrices`.

Accuracy and range
------------------
Every stage is a short sum, so the rounding error of one output of a tile is bounded, to first order, by
the classic bound for sums of products (Higham, "Accuracy and Stability of Numerical Algorithms", ch. 3)
applied along the chain of stages (:func:`error_bound` computes it per output)::

    |ŷ − y| ≤ γ_k · Σ_c |Aᵀ| [ (|G| |w_c| |G|ᵀ) ⊙ (|Bᵀ| |d_c| |B|) ] |A|,     γ_k = k·u / (1 − k·u),

with u the unit roundoff (2⁻²⁴ in float32), d_c the tile's α×α input patch of channel c and
k = 2r + 4α + C/groups + 13 the most roundings on any path. The entries of Aᵀ, G and Bᵀ grow with α, so the
bound grows with the tile; im2col's is the same sum without the transforms. The bound is a worst case
(every rounding error aligned): measured errors are 1e-4 to 1e-2 of it. Past α = 8 (:data:`MAX_ALPHA`) the
float32 error grows quickly with α (:func:`default_tile`: ~1e-4 of max|y| at α = 9); both twins refuse
such tiles, and a kernel wider than 8 has none.

Measured on AlexNet's own layers (single tower, one image of N(0, 1) input, the model's default weights;
``python experiments/winograd_accuracy.py``, results in ``experiments/results/winograd_accuracy.json``), the
float32 error's maximum divided by max|y|: at the tiles "auto" picks for batch 32, Winograd 7.9e-6 on conv2
(F(4, 5)) and 1.6e-5 to 2.0e-5 on conv3–conv5 (F(5, 3), the largest on conv4); at batch 1, 5.5e-6 on conv2
(F(3, 5); conv3–conv5 run by im2col there); im2col 4e-7 to 5e-7 on the same layers. So at the tiles it
runs on AlexNet Winograd is 17 to 39 times less accurate than im2col, 2e-5 of max|y| at worst: far below
what float32 training notices, but a test that compares it must allow for it.

Range: the transforms scale their inputs up before the products, so float32 overflows earlier than by
im2col: on a 16-channel 13×13 layer of N(0, 1) weights, the output first held an inf at an input scale of
2.1e36 with F(6, 3) and F(4, 5) and 6.7e37 with F(2, 3) (max|input| about 3 times that), where im2col's
output stayed finite until the input itself overflowed float32 (1.3e38): up to 64 times earlier. An inf or
NaN in the input spreads to every output of the tile(s) that read it, where im2col's spreads to the outputs
whose window holds it.

Layouts (shared with the Numba kernels, so they can be compared stage by stage)::

    U, dU : (α², groups, C/groups, F/groups)        ξ = u·α + v
    V, dV : (α², groups, P, C/groups)               p = (n·tiles_h + i)·tiles_w + j
    M, dM : (α², groups, P, F/groups)
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import BadArgument
from ..shapes import ceil_div, conv_output_size

# ---- transform matrices --------------------------------------------------------------------------

_PAIRS = (Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(2, 3), Fraction(3, 4))


def interpolation_points(count):
    """The first ``count`` finite interpolation points 0, 1, −1, 1/2, −2, −1/2, 2, 1/4, −4, −1/4, 4, …

    Exact :class:`~fractions.Fraction` values: 0, ±1, then pairs (a, −1/a) and (−a, 1/a) for
    a = 1/2, 1/4, … Small magnitudes keep the entries of Aᵀ, G, Bᵀ near 1, and taking a point
    with its *negated* reciprocal (Barabasz et al. 2020) rather than ±a first matters when only
    one pair fits: float32 error of F(4, 3) was 5.6e-6 of max|y| with {0, ±1, 1/2, −2} against 1.9e-5 with
    {0, ±1, ±1/2, ±2} and 9.8e-6 with Lavin & Gray's {0, ±1, ±2, ±1/2} (measured once on a random
    384→384 13×13 layer while this module was written; notebook 08 plots the error per tile).
    """
    pts = [Fraction(0), Fraction(1), Fraction(-1)]
    for a in _PAIRS:
        pts += [a, -1 / a, -a, 1 / a]
    if count > len(pts):
        raise ValueError(f"interpolation_points: at most {len(pts)} points are tabulated, asked {count}")
    return pts[:count]


def _poly_from_roots(roots):
    """Coefficients, lowest power first, of Π (x − a) over ``roots`` (exact)."""
    coeffs = [Fraction(1)]
    for a in roots:  # multiply by (x − a)
        coeffs = (
            [-a * coeffs[0]] + [coeffs[i - 1] - a * coeffs[i] for i in range(1, len(coeffs))] + [coeffs[-1]]
        )
    return coeffs


def winograd_matrices(m, r, dtype=np.float64, points=None):
    """Aᵀ (m, α), G (α, r), Bᵀ (α, α) of F(m, r), α = m + r − 1, as arrays of ``dtype``.

    Built exactly (fractions) from α − 1 finite points a_j and the point at infinity (Toom–Cook),
    then rounded once to ``dtype`` — so float32 work never meets a float64 matrix (which would
    silently upcast it). With f_j = Π_{k≠j} (a_j − a_k):

        Aᵀ[i, j] = a_jⁱ                        (i < m; the ∞ column is (0, …, 0, 1))
        G[j, i]  = a_jⁱ / f_j                  (i < r; the ∞ row is (0, …, 0, 1))
        Bᵀ[j, :] = coefficients of Π_{k≠j} (x − a_k)       (the ∞ row: of Π_k (x − a_k))

    Why: polynomial multiplication c = g·h (deg g = r − 1, deg h = m − 1) is evaluation at
    α points, a pointwise product, and interpolation back (Lagrange: the interpolation matrix's
    column j holds the coefficients of Π_{k≠j}(x − a_k) / f_j). Correlation is the transpose of
    that linear map in h, which swaps the roles: Aᵀ = (evaluation of h)ᵀ, Bᵀ = (interpolation)ᵀ,
    with the 1/f_j moved into G. Then ``Aᵀ [(G g) ⊙ (Bᵀ d)] = [Σ_k g_k d_{i+k}]_i``.

    ``points``: the α − 1 finite points (default :func:`interpolation_points`). With
    ``points=(0, 1, -1, 2, -2)`` F(4, 3) gives exactly Lavin & Gray's matrices; their F(2, 3)
    differs in sign in G's row 0, Bᵀ's rows 0 and 3 and Aᵀ's last column (scaling G's row j by c,
    Bᵀ's by c′ and Aᵀ's column j by 1/(c·c′) leaves every product where it was: equally valid).
    """
    if m < 1 or r < 1:
        raise ValueError(f"winograd_matrices: need m >= 1 and r >= 1, got m={m}, r={r}")
    alpha = m + r - 1
    a = [Fraction(p) for p in points] if points is not None else interpolation_points(alpha - 1)
    if len(a) != alpha - 1 or len(set(a)) != len(a):
        raise ValueError(
            f"winograd_matrices: F({m}, {r}) needs {alpha - 1} distinct finite points, got {points}"
        )
    f = [prod(aj - ak for k, ak in enumerate(a) if k != j) for j, aj in enumerate(a)]
    at = [[aj**i for aj in a] + [Fraction(int(i == m - 1))] for i in range(m)]
    g = [[aj**i / fj for i in range(r)] for aj, fj in zip(a, f)] + [
        [Fraction(int(i == r - 1)) for i in range(r)]
    ]
    bt = [_poly_from_roots(a[:j] + a[j + 1 :]) + [Fraction(0)] for j in range(alpha - 1)] + [
        _poly_from_roots(a)
    ]
    as_array = lambda rows: np.array([[float(v) for v in row] for row in rows]).astype(dtype)  # noqa: E731
    return as_array(at), as_array(g), as_array(bt)


# ---- shapes --------------------------------------------------------------------------------------


def winograd_tiles(h, w, r, padding, m):
    """(H_out, W_out, tiles_h, tiles_w) for a stride-1 r×r convolution tiled by m×m outputs."""
    ho, wo = conv_output_size(h, r, 1, padding), conv_output_size(w, r, 1, padding)
    return ho, wo, ceil_div(ho, m), ceil_div(wo, m)


def gemm_multiplies(ho, wo, r, m, in_per_group, out_channels):
    """Multiplies of the stacked GEMMs of one image's forward pass: α²·⌈H_out/m⌉·⌈W_out/m⌉·(C_in/groups)·C_out.

    The direct count (im2col + GEMM, ``Conv2d.macs``) is H_out·W_out·r²·(C_in/groups)·C_out. The
    transforms' own multiplies are left out: they scale with C_in + C_out, not C_in·C_out (notebook 08).
    """
    alpha = m + r - 1
    return alpha * alpha * ceil_div(ho, m) * ceil_div(wo, m) * in_per_group * out_channels


def default_tile(r, ho, wo, max_alpha=8):
    """The output tile m used when ``m=None``: the m that needs the fewest GEMM multiplies,
    α²·⌈H_out/m⌉·⌈W_out/m⌉ per (input, output) channel pair, among tiles with α = m + r − 1 ≤ max_alpha.

    Ties go to the smaller m (more accurate). Overhang counts: for 13×13 outputs F(5, 3) (15×15
    computed, 441 per channel pair) beats F(4, 3) (16×16, 576) and F(6, 3) (18×18, 576); for 27×27,
    F(4, 5) (3136) beats F(3, 5) (3969, exact fit). α ≤ 8 keeps the float32 error near 1e-5 of
    max|y| (notebook 08); at α = 9 it reached ~1e-4 with these points. This is the rule for large
    batches; :func:`auto_tile` adds the filter transform, which matters for small ones.
    """
    return auto_tile(1, r, ho, wo, max_alpha, filter_weight=0)[0]


FILTER_TRANSFORM_WEIGHT = 12
"""How many GEMM multiplies one multiply of the filter transform costs in time (:func:`auto_tile`).

Fitted to forward passes of a 384→384 3×3 layer on 13×13 at batch 1 (one thread, CPU time): with F(2×2) and
F(5×5) the time was the GEMM multiplies at im2col's BLAS rate plus the filter-transform multiplies at 1/13–1/16
of that rate (a strided loop, not BLAS); 12, just below that range, was kept because the choices it gives are those
of any weight from about 9 to 34 at batch 1 (notebook 8 computes the range). The rule was then checked layer by
layer at batch 1, 8 and 32
(``python -m alexnet_np bench --conv``; docs/benchmarks.md)."""


def filter_transform_multiplies(r, m):
    """Multiplies of one filter's transform G·w·Gᵀ (two 1-D passes): α·r·r + α·α·r = α·r·(r + α)."""
    alpha = m + r - 1
    return alpha * r * (r + alpha)


def auto_tile(n, r, ho, wo, max_alpha=8, filter_weight=FILTER_TRANSFORM_WEIGHT):
    """``(m, cost)``: the tile of least estimated cost for a batch of ``n``, per (input, output) channel pair,

        cost(m) = n·α²·⌈H_out/m⌉·⌈W_out/m⌉  +  filter_weight · α·r·(r + α),     α = m + r − 1 ≤ max_alpha,

    in units of one GEMM multiply; the direct convolution costs n·H_out·W_out·r² in the same units. The
    filter transform is paid whatever the batch in each training step (the Numba backend remakes it only when
    the weights have changed, so on fixed weights it is paid once), so at batch 1 it can outweigh
    the GEMM saving (AlexNet's 13×13 layers: im2col wins there, measured) and smaller tiles win at small
    batches. The input and output transforms scale with C_in + C_out rather than C_in·C_out: left out.
    """
    best = None
    for m in range(1, max(2, max_alpha - r + 2)):
        alpha = m + r - 1
        tiles = ceil_div(ho, m) * ceil_div(wo, m)
        cost = n * alpha * alpha * tiles + filter_weight * filter_transform_multiplies(r, m)
        if best is None or cost < best[1]:
            best = (m, cost)
    return best


MAX_ALPHA = 8
"""The largest transform size α = m + r − 1 that runs. Past it the float32 error grows quickly with α (module
docstring, "Accuracy and range"), so a kernel wider than 8 has no Winograd tile and a larger tile is refused."""


def check(x_shape, x_dtype, weight, padding=0, groups=1, m=None):
    """The checks both twins run on a convolution's arguments, once: ``(n, c, h, w, f, r, m)`` with the tile m
    chosen (:func:`default_tile`) when None. Refuses (BadArgument) a non-square filter, channels that do not
    match ``groups``, dtypes that differ, and α = m + r − 1 > :data:`MAX_ALPHA`."""
    n, c, h, w = x_shape
    f, cg, r, r2 = weight.shape
    if r != r2:
        raise BadArgument(f"winograd: square filters only, got {r}x{r2}")
    if c != cg * groups or f % groups:
        raise BadArgument(
            f"winograd: x {tuple(x_shape)} and weight {weight.shape} do not match groups={groups}"
        )
    if np.dtype(x_dtype) != weight.dtype:
        raise TypeError(f"winograd: x is {np.dtype(x_dtype)} but weight is {weight.dtype}")
    if r > MAX_ALPHA:
        raise BadArgument(
            f"winograd: a {r}×{r} filter needs α = m + {r} − 1 > {MAX_ALPHA} for every tile m >= 1, past the "
            f"float32 error bound; use im2col"
        )
    ho, wo, _, _ = winograd_tiles(h, w, r, padding, 1)
    m = default_tile(r, ho, wo) if m is None else m
    if m < 1 or m + r - 1 > MAX_ALPHA:
        raise BadArgument(f"winograd: F({m}, {r}) has α = {m + r - 1}; need 1 <= m and α <= {MAX_ALPHA}")
    return n, c, h, w, f, r, m


# ---- the four transforms and their adjoints ------------------------------------------------------


def filter_transform(weight, G, groups=1):
    """weight: (F, C/groups, r, r) -> U: (α², groups, C/groups, F/groups), U[ξ, g, c, k] = (G w Gᵀ)[ξ].

    Twin: :func:`alexnet_np.ops.winograd_kernels.filter_transform`.
    """
    f, cg = weight.shape[:2]
    alpha = G.shape[0]
    u = G @ weight @ G.T  # (F, C/groups, α, α)
    return u.reshape(groups, f // groups, cg, alpha * alpha).transpose(3, 0, 2, 1).copy()


def filter_transform_adjoint(du, G):
    """dU: (α², groups, C/groups, F/groups) -> dw: (F, C/groups, r, r), dw[k, c] = Gᵀ dU[:, c, k] G.

    Twin: :func:`alexnet_np.ops.winograd_kernels.filter_transform_adjoint`.
    """
    _, groups, cg, fg = du.shape
    alpha = G.shape[0]
    du = du.transpose(1, 3, 2, 0).reshape(groups * fg, cg, alpha, alpha)  # (F, C/groups, α, α)
    return G.T @ du @ G


def input_transform(x, BT, m, padding=0, groups=1):
    """x: (N, C, H, W) -> V: (α², groups, P, C/groups), V[ξ, g, p, c] = (Bᵀ d[p, c] B)[ξ].

    d[p, c] is the α×α patch of the zero-padded image that tile p reads: tile (n, i, j) starts
    at row i·m, column j·m of x padded by ``padding`` on the top/left and by enough zeros on the
    bottom/right for the last (overhanging) tile.

    Twin: :func:`alexnet_np.ops.winograd_kernels.input_transform`.
    """
    n, c, h, w = x.shape
    alpha = BT.shape[0]
    r = alpha - m + 1
    _, _, th, tw = winograd_tiles(h, w, r, padding, m)
    xp = np.zeros((n, c, th * m + r - 1, tw * m + r - 1), dtype=x.dtype)
    xp[:, :, padding : padding + h, padding : padding + w] = x
    d = sliding_window_view(xp, (alpha, alpha), axis=(2, 3))[:, :, ::m, ::m]  # (N, C, th, tw, α, α), a view
    v = BT @ d @ BT.T  # (N, C, th, tw, α, α)
    v = v.reshape(n, groups, c // groups, th, tw, alpha * alpha)
    return v.transpose(5, 1, 0, 3, 4, 2).reshape(alpha * alpha, groups, n * th * tw, c // groups)


def input_transform_adjoint(dv, BT, x_shape, m, padding=0):
    """dV: (α², groups, P, C/groups) -> dx: (N, C, H, W), the adjoint of :func:`input_transform`.

    Each tile's dd = B dV[:, p, c] Bᵀ (α×α) is *added* to the patch of the padded image the
    tile was read from (neighbouring tiles overlap by r − 1 rows/columns); the padding is cut off.

    Twin: :func:`alexnet_np.ops.winograd_kernels.input_transform_adjoint`.
    """
    n, c, h, w = x_shape
    alpha = BT.shape[0]
    r = alpha - m + 1
    _, _, th, tw = winograd_tiles(h, w, r, padding, m)
    groups, cg = dv.shape[1], dv.shape[3]
    dv = dv.reshape(alpha, alpha, groups, n, th, tw, cg).transpose(3, 2, 6, 4, 5, 0, 1)
    dd = BT.T @ dv.reshape(n, c, th, tw, alpha, alpha) @ BT  # (N, C, th, tw, α, α)
    dxp = np.zeros((n, c, th * m + r - 1, tw * m + r - 1), dtype=dv.dtype)
    for i in range(th):
        for j in range(tw):
            dxp[:, :, i * m : i * m + alpha, j * m : j * m + alpha] += dd[:, :, i, j]
    return dxp[:, :, padding : padding + h, padding : padding + w].copy()


def output_transform(M, AT, n, ho, wo):
    """M: (α², groups, P, F/groups) -> y: (N, F, H_out, W_out), tile Y = Aᵀ M[:, p, k] A (m×m), cropped.

    Twin: :func:`alexnet_np.ops.winograd_kernels.output_transform`.
    """
    a2, groups, _, fg = M.shape
    m, alpha = AT.shape
    th, tw = ceil_div(ho, m), ceil_div(wo, m)
    # (N, g, F/g, th, tw, α, α)
    mt = M.reshape(alpha, alpha, groups, n, th, tw, fg).transpose(3, 2, 6, 4, 5, 0, 1)
    y = AT @ mt @ AT.T  # (N, groups, F/groups, th, tw, m, m)
    y = y.reshape(n, groups * fg, th, tw, m, m).transpose(0, 1, 2, 4, 3, 5)  # (N, F, th, m, tw, m)
    return y.reshape(n, groups * fg, th * m, tw * m)[:, :, :ho, :wo]


def output_transform_adjoint(dout, AT, groups=1):
    """dY: (N, F, H_out, W_out) -> dM: (α², groups, P, F/groups), dM[:, p, k] = A dY_tile Aᵀ.

    dY is zero-padded to whole tiles first (the dropped outputs of overhanging tiles have no gradient).

    Twin: :func:`alexnet_np.ops.winograd_kernels.output_transform_adjoint`.
    """
    n, f, ho, wo = dout.shape
    m, alpha = AT.shape
    th, tw = ceil_div(ho, m), ceil_div(wo, m)
    dy = np.zeros((n, f, th * m, tw * m), dtype=dout.dtype)
    dy[:, :, :ho, :wo] = dout
    dy = dy.reshape(n, f, th, m, tw, m).transpose(0, 1, 2, 4, 3, 5)  # (N, F, th, tw, m, m)
    dm = AT.T @ dy @ AT  # (N, F, th, tw, α, α)
    dm = dm.reshape(n, groups, f // groups, th, tw, alpha * alpha)
    return dm.transpose(5, 1, 0, 3, 4, 2).reshape(alpha * alpha, groups, n * th * tw, f // groups)


# ---- the convolution -----------------------------------------------------------------------------


def conv2d_winograd(x, weight, bias=None, padding=0, groups=1, m=None):
    """Stride-1 convolution by Winograd F(m×m, r×r). x: (N, C, H, W), weight: (F, C/groups, r, r),
    bias: (F,) or None -> y: (N, F, H_out, W_out), H_out = H + 2·padding − r + 1.

    ``m``: output tile size (``None``: :func:`default_tile`). Same result as im2col + GEMM up to
    rounding; the rounding error grows with α = m + r − 1 (tests/test_winograd.py bounds it).

    Twin: :func:`alexnet_np.ops.winograd_kernels.conv2d_winograd`.
    """
    n, c, h, w, f, r, m = check(x.shape, x.dtype, weight, padding, groups, m)
    ho, wo, _, _ = winograd_tiles(h, w, r, padding, m)
    AT, G, BT = winograd_matrices(m, r, x.dtype)
    U = filter_transform(weight, G, groups)  # (α², groups, C/groups, F/groups)
    V = input_transform(x, BT, m, padding, groups)  # (α², groups, P, C/groups)
    M = np.matmul(V, U)  # (α², groups, P, F/groups): one GEMM per (ξ, group)
    y = output_transform(M, AT, n, ho, wo)
    if bias is not None:
        y = y + bias.reshape(1, f, 1, 1)
    return y


def conv2d_winograd_backward(dout, x, weight, padding=0, groups=1, m=None):
    """Gradients of :func:`conv2d_winograd`: dout: (N, F, H_out, W_out) -> (dx, dw, db).

    dx: (N, C, H, W), dw: (F, C/groups, r, r), db: (F,). Winograd on the adjoint (module
    docstring): dM = A dY Aᵀ; dU = Vᵀ dM, dw = Gᵀ dU G; dV = dM Uᵀ, dx = Σ_tiles B dV Bᵀ.
    U and V are recomputed here (the Numba path keeps them from the forward pass).

    Twin: :func:`alexnet_np.ops.winograd_kernels.conv2d_winograd_backward`.
    """
    n, c, h, w, f, r, m = check(x.shape, x.dtype, weight, padding, groups, m)
    AT, G, BT = winograd_matrices(m, r, x.dtype)
    U = filter_transform(weight, G, groups)
    V = input_transform(x, BT, m, padding, groups)
    dM = output_transform_adjoint(dout, AT, groups)  # (α², groups, P, F/groups)
    dU = np.matmul(V.swapaxes(-1, -2), dM)  # (α², groups, C/groups, F/groups)
    dV = np.matmul(dM, U.swapaxes(-1, -2))  # (α², groups, P, C/groups)
    dw = filter_transform_adjoint(dU, G)
    dx = input_transform_adjoint(dV, BT, x.shape, m, padding)
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


# ---- accuracy ------------------------------------------------------------------------------------


def error_bound(x, weight, padding=0, groups=1, m=None, dtype=np.float32):
    """The first-order rounding bound of F(m×m, r×r) in ``dtype`` (bias left out), per output: an array
    shaped like y (module docstring, "Accuracy and range")::

        |ŷ − y| ≤ γ_k · Σ_c |Aᵀ| [ (|G| |w_c| |G|ᵀ) ⊙ (|Bᵀ| |d_c| |B|) ] |A|,    γ_k = k·u / (1 − k·u),

    with u the unit roundoff of ``dtype`` (2⁻²⁴ for float32) and k = 2r + 4α + C/groups + 13 the roundings
    on the longest path through the stages (each 1-D pass of n terms at most n + 1, the GEMM over C/groups
    channels C/groups + 1, and 6 for the rounded entries of Aᵀ, G, Bᵀ). Computed in float64 by running the
    stages on the absolute values of x, w and the matrices.
    """
    n, c, h, w, f, r, m = check(x.shape, weight.dtype, weight, padding, groups, m)
    ho, wo, _, _ = winograd_tiles(h, w, r, padding, m)
    AT, G, BT = (np.abs(a) for a in winograd_matrices(m, r, np.float64))
    U = filter_transform(np.abs(weight).astype(np.float64), G, groups)
    V = input_transform(np.abs(x).astype(np.float64), BT, m, padding, groups)
    S = output_transform(np.matmul(V, U), AT, n, ho, wo)
    k = 2 * r + 4 * (m + r - 1) + c // groups + 13
    u = float(np.finfo(dtype).eps) / 2
    return k * u / (1 - k * u) * S
