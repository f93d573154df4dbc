"""Winograd convolution (ops.winograd_reference, ops.winograd_kernels, Conv2d(algorithm=...)) against
PyTorch's direct convolution and against im2col: forward, input gradient, weight gradient, float32 and float64.

Tolerances: float32 rtol 1e-4 with atol 1e-4·max|ref| (Winograd's rounding error grows with the tile,
α = m + r − 1 ≤ 8 keeps it near 2e-5 of max|y|); float64 1e-9 of max|ref|.
"""

import os
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest
import torch
from _util import assert_close as assert_close_rtol
from _util import network_matches_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import alexnet_np as an
from alexnet_np.gradcheck import check_layer
from alexnet_np.ops import winograd_kernels as K
from alexnet_np.ops import winograd_reference as R

torch.set_num_threads(2)

# (N, C, H, W, F, r, padding, groups, m): AlexNet-like layers shrunk, odd sizes, overhanging tiles
CASES = [
    (2, 4, 7, 9, 6, 3, 1, 1, 2),  # 7×9 output: F(2,3) overhangs on both axes
    (2, 4, 7, 9, 6, 3, 1, 2, 3),  # grouped
    (1, 3, 11, 10, 4, 5, 2, 1, 3),  # 5×5, 11×10 output: F(3,5) overhangs
    (2, 6, 5, 5, 4, 3, 0, 2, 4),  # output 3×3 smaller than one F(4,3) tile
    (1, 2, 6, 6, 2, 5, 0, 1, 2),  # output 2×2 = one F(2,5) tile
    (3, 8, 13, 13, 6, 3, 1, 1, 5),  # conv3-like: F(5,3), 13 = 2·5 + 3
    (2, 8, 27, 27, 4, 5, 2, 2, 4),  # conv2-like (grouped): F(4,5), 27 = 6·4 + 3
    (2, 4, 9, 8, 6, 3, 1, 2, 6),  # F(6,3), α = 8
    (1, 3, 5, 7, 5, 1, 0, 1, 3),  # 1×1 filter
]
IDS = [f"N{c[0]}C{c[1]}H{c[2]}W{c[3]}F{c[4]}r{c[5]}p{c[6]}g{c[7]}m{c[8]}" for c in CASES]


def torch_conv(x, w, b, padding, groups, dout):
    """float64 direct convolution and its autograd: (y, dx, dw, db) as NumPy arrays."""
    xt = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    wt = torch.tensor(np.asarray(w, np.float64), requires_grad=True)
    bt = torch.tensor(np.asarray(b, np.float64), requires_grad=True)
    y = torch.nn.functional.conv2d(xt, wt, bt, padding=padding, groups=groups)
    if dout is None:
        return y.detach().numpy(), None, None, None
    y.backward(torch.tensor(np.asarray(dout, np.float64)))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def make(case, dtype, seed=0, channels_last=True):
    n, c, h, w, f, r, p, g, m = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c)).astype(dtype).transpose(0, 3, 1, 2)  # channels-last memory
    if not channels_last:
        x = np.ascontiguousarray(x)
    wt = rng.standard_normal((f, c // g, r, r)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    ho, wo = h + 2 * p - r + 1, w + 2 * p - r + 1
    dout = rng.standard_normal((n, ho, wo, f)).astype(dtype).transpose(0, 3, 1, 2)
    return x, wt, b, dout


def assert_close(actual, ref, dtype, what):
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {dtype}"
    assert actual.shape == ref.shape, f"{what}: shape {actual.shape} != {ref.shape}"
    scale = np.abs(ref).max()
    if dtype == np.float64:
        err = np.abs(actual - ref).max() / scale
        assert err < 1e-9, f"{what}: max error {err:.2e} of max|ref|"
    else:
        np.testing.assert_allclose(actual, ref, rtol=1e-4, atol=1e-4 * scale, err_msg=what)


def winograd_kernels(x, w, b, p, g, m, dout):
    y = K.conv2d_winograd(x, w, b, p, g, m)
    dx, dw, db = K.conv2d_winograd_backward(dout, x, w, p, g, m)
    return y, dx, dw, db


def winograd_reference(x, w, b, p, g, m, dout):
    y = R.conv2d_winograd(x, w, b, p, g, m)
    return (y,) + R.conv2d_winograd_backward(dout, x, w, p, g, m)


# ---- the transform matrices ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "m,r", [(1, 3), (2, 3), (3, 3), (4, 3), (6, 3), (2, 5), (3, 5), (4, 5), (3, 1), (2, 7)]
)
def test_matrices_compute_1d_correlation(m, r):
    AT, G, BT = R.winograd_matrices(m, r)
    assert AT.shape == (m, m + r - 1) and G.shape == (m + r - 1, r) and BT.shape == (m + r - 1,) * 2
    rng = np.random.default_rng(m * 10 + r)
    g, d = rng.standard_normal(r), rng.standard_normal(m + r - 1)
    expected = np.array([g @ d[i : i + r] for i in range(m)])
    np.testing.assert_allclose(AT @ ((G @ g) * (BT @ d)), expected, rtol=1e-12, atol=1e-12)


def test_matrices_f43_are_lavin_grays_for_their_points():
    AT, G, BT = R.winograd_matrices(4, 3, points=(0, 1, -1, 2, -2))
    np.testing.assert_array_equal(BT[0], [4, 0, -5, 0, 1, 0])
    np.testing.assert_allclose(G[1], [-1 / 6] * 3)
    np.testing.assert_array_equal(AT[3], [0, 1, -1, 8, -8, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matrices_are_built_in_the_requested_dtype(dtype):
    for a in R.winograd_matrices(3, 5, dtype):
        assert a.dtype == dtype
    x, w, b, dout = make(CASES[1], dtype)
    assert R.conv2d_winograd(x, w, b, 1, 2, 3).dtype == dtype
    assert K.conv2d_winograd(x, w, b, 1, 2, 3).dtype == dtype


def test_bad_points_and_shapes_raise():
    with pytest.raises(ValueError):
        R.winograd_matrices(2, 3, points=(0, 1, 1))
    x, w, b, _ = make(CASES[0], np.float64)
    with pytest.raises(ValueError):
        R.conv2d_winograd(x, w[:, :3], b, 1, 1, 2)  # channel mismatch
    with pytest.raises(ValueError):
        R.conv2d_winograd(x[:, :, :2, :2], w, b, 0, 1, 2)  # filter larger than the input


# ---- forward and backward against the direct convolution -------------------------------------------


@pytest.mark.parametrize("impl", [winograd_reference, winograd_kernels], ids=["reference", "kernels"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_and_gradients_match_direct_convolution(case, dtype, impl):
    n, c, h, w, f, r, p, g, m = case
    x, wt, b, dout = make(case, dtype)
    y_ref, dx_ref, dw_ref, db_ref = torch_conv(x, wt, b, p, g, dout)
    y, dx, dw, db = impl(x, wt, b, p, g, m, dout)
    assert_close(y, y_ref, dtype, "y")
    assert_close(dx, dx_ref, dtype, "dx")
    assert_close(dw, dw_ref, dtype, "dw")
    assert_close(db, db_ref, dtype, "db")


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6])
def test_conv3_sized_layer_float32(m):
    """A real AlexNet conv3 slice (256 channels in, 13×13): float32 error stays small at full depth."""
    case = (2, 256, 13, 13, 32, 3, 1, 1, m)
    x, wt, b, dout = make(case, np.float32, seed=m)
    y_ref, dx_ref, dw_ref, _ = torch_conv(x, wt, b, 1, 1, dout)
    y, dx, dw, _ = winograd_kernels(x, wt, b, 1, 1, m, dout)
    for a, ref, what in ((y, y_ref, "y"), (dx, dx_ref, "dx"), (dw, dw_ref, "dw")):
        assert_close(a, ref, np.float32, what)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    cg=st.integers(1, 4),
    groups=st.integers(1, 2),
    fg=st.integers(1, 4),
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    r=st.sampled_from([1, 2, 3, 5]),
    p=st.integers(0, 2),
    m=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_random_shapes_float64(n, cg, groups, fg, h, w, r, p, m, seed):
    if h + 2 * p < r or w + 2 * p < r:
        return
    case = (n, cg * groups, h, w, fg * groups, r, p, groups, m)
    x, wt, b, dout = make(case, np.float64, seed)
    refs = torch_conv(x, wt, b, p, groups, dout)
    for got, ref, what in zip(winograd_kernels(x, wt, b, p, groups, m, dout), refs, ("y", "dx", "dw", "db")):
        assert_close(got, ref, np.float64, what)


def test_default_tile_and_nchw_input():
    """m=None picks default_tile; an NCHW-contiguous input gives the same result as channels-last."""
    case = (2, 4, 13, 13, 6, 3, 1, 1, None)
    x, wt, b, dout = make(case, np.float64)
    x_nchw = np.ascontiguousarray(x)
    y_ref, dx_ref, dw_ref, _ = torch_conv(x, wt, b, 1, 1, dout)
    y = K.conv2d_winograd(x_nchw, wt, b, 1, 1, None)
    assert R.check(x.shape, x.dtype, wt, 1, 1)[-1] == R.default_tile(3, 13, 13)
    dx, dw, _ = K.conv2d_winograd_backward(np.ascontiguousarray(dout), x_nchw, wt, 1, 1, None)
    assert_close(y, y_ref, np.float64, "y")
    assert_close(dx, dx_ref, np.float64, "dx")
    assert_close(dw, dw_ref, np.float64, "dw")
    assert_close(R.conv2d_winograd(x, wt, b, 1), y_ref, np.float64, "reference y")


def test_backward_options_and_work_buffers():
    case = CASES[1]
    n, c, h, w, f, r, p, g, m = case
    x, wt, b, dout = make(case, np.float64)
    shapes = K.work_shapes(x.shape, wt.shape, p, g, m)
    U, V, M = (np.full(shapes[k], np.nan) for k in ("U", "V", "M"))  # filled, never read before written
    y = K.conv2d_winograd(x, wt, b, p, g, m, U=U, V=V, M=M)
    dw_out = np.empty_like(wt)
    kept = K.gemm_view(V, g)  # the forward's input transform stands in for x: only x's shape is read
    dx, dw, db = K.conv2d_winograd_backward(
        dout, K.shape_only(x.shape, x.dtype), wt, p, g, m, V=kept, input_grad=False, dw=dw_out
    )
    assert dx is None and dw is dw_out
    ref = torch_conv(x, wt, b, p, g, dout)
    assert_close(dw, ref[2], np.float64, "dw")
    dx, _, _ = K.conv2d_winograd_backward(dout, K.shape_only(x.shape, x.dtype), wt, p, g, m, V=kept)
    assert_close(dx, ref[1], np.float64, "dx")
    y3 = K.conv2d_winograd(x, wt, b, p, g, m, U=U, V=V, M=M)  # the same work arrays again
    np.testing.assert_array_equal(y3, y)


# ---- the Numba kernels equal the reference, stage by stage ------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_kernel_stages_equal_reference_stages(case):
    n, c, h, w, f, r, p, g, m = case
    x, wt, b, dout = make(case, np.float64)
    AT, G, BT = R.winograd_matrices(m, r)
    ho, wo, _, _ = R.winograd_tiles(h, w, r, p, m)
    close = dict(rtol=1e-12, atol=1e-12)
    U = R.filter_transform(wt, G, g)
    np.testing.assert_allclose(K.filter_transform(wt, G, g), U, **close)
    V = R.input_transform(x, BT, m, p, g)
    np.testing.assert_allclose(K.input_transform(x, BT, m, p, g), V, **close)
    M = np.matmul(V, U)
    np.testing.assert_allclose(
        K.output_transform(M, AT, n, ho, wo, bias=b),
        R.output_transform(M, AT, n, ho, wo) + b.reshape(1, -1, 1, 1),
        **close,
    )
    dM = R.output_transform_adjoint(dout, AT, g)
    np.testing.assert_allclose(K.output_transform_adjoint(dout, AT, g), dM, **close)
    dM_fused, db = K.output_transform_adjoint(
        dout, AT, g, bias_grad=True
    )  # the bias gradient from the same pass
    np.testing.assert_array_equal(dM_fused, K.output_transform_adjoint(dout, AT, g))
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)), **close)
    dU = np.matmul(V.swapaxes(-1, -2), dM)
    np.testing.assert_allclose(K.filter_transform_adjoint(dU, G), R.filter_transform_adjoint(dU, G), **close)
    dV = np.matmul(dM, U.swapaxes(-1, -2))
    np.testing.assert_allclose(
        K.input_transform_adjoint(dV, BT, x.shape, m, p),
        R.input_transform_adjoint(dV, BT, x.shape, m, p),
        **close,
    )


def test_adjoints_are_transposes():
    """<T(a), b> = <a, Tᵀ(b)> for each transform and its adjoint (the backward is the exact adjoint)."""
    n, c, h, w, f, r, p, g, m = CASES[1]
    rng = np.random.default_rng(1)
    AT, G, BT = R.winograd_matrices(m, r)
    x = rng.standard_normal((n, c, h, w))
    ho, wo, th, tw = R.winograd_tiles(h, w, r, p, m)
    dV = rng.standard_normal(((m + r - 1) ** 2, g, n * th * tw, c // g))
    lhs = np.vdot(K.input_transform(x, BT, m, p, g), dV)
    assert np.isclose(lhs, np.vdot(x, K.input_transform_adjoint(dV, BT, x.shape, m, p)), rtol=1e-12)
    M = rng.standard_normal(((m + r - 1) ** 2, g, n * th * tw, f // g))
    dy = rng.standard_normal((n, f, ho, wo))
    assert np.isclose(
        np.vdot(K.output_transform(M, AT, n, ho, wo), dy),
        np.vdot(M, K.output_transform_adjoint(dy, AT, g)),
        rtol=1e-12,
    )


def test_results_do_not_depend_on_thread_count():
    import numba

    case = (4, 8, 13, 13, 6, 3, 1, 2, 4)
    x, wt, b, dout = make(case, np.float32)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = winograd_kernels(x, wt, b, 1, 2, 4, dout)
        numba.set_num_threads(before)
        many = winograd_kernels(x, wt, b, 1, 2, 4, dout)
    finally:
        numba.set_num_threads(before)
    for a, b_ in zip(one, many):
        np.testing.assert_array_equal(a, b_)


# ---- NaN propagates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", [winograd_reference, winograd_kernels], ids=["reference", "kernels"])
@pytest.mark.parametrize("where", ["x", "weight", "dout"])
def test_nan_propagates(impl, where):
    """Every output the direct convolution makes NaN is NaN here too (Winograd may spread it further,
    over the tiles that read the NaN, but never further than that)."""
    case = (2, 4, 11, 11, 6, 3, 1, 2, 4)
    n, c, h, w, f, r, p, g, m = case
    x, wt, b, dout = make(case, np.float32)
    x, wt, dout = x.copy(), wt.copy(), dout.copy()
    {"x": x, "weight": wt, "dout": dout}[where][(1, 2, 4, 5) if where != "weight" else (4, 1, 2, 0)] = np.nan
    refs = torch_conv(x, wt, b, p, g, dout)
    with np.errstate(invalid="ignore"):
        got = impl(x, wt, b, p, g, m, dout)
    assert np.isnan(refs[0 if where != "dout" else 1]).any()  # the test does test something
    for a, ref, what in zip(got, refs, ("y", "dx", "dw", "db")):
        missing = np.isnan(ref) & ~np.isnan(a)
        assert not missing.any(), f"{what}: {missing.sum()} NaN lost"
    if where == "x":  # image 0 and the other group never see the NaN
        assert np.isfinite(got[0][0]).all() and np.isfinite(got[0][1, : f // 2]).all()


# ---- the layer: Conv2d(algorithm=...) ------------------------------------------------------------------

LAYER_CASES = [  # (cin, cout, k, padding, groups, input shape)
    (4, 6, 3, 1, 1, (2, 4, 13, 13)),
    (4, 6, 5, 2, 2, (2, 4, 11, 9)),
    (6, 4, 3, 0, 2, (1, 6, 8, 10)),
    (3, 5, 2, 1, 1, (2, 3, 6, 7)),
]


def _torch_layer(conv, x, dout):
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    wt = torch.tensor(conv.params["weight"], requires_grad=True)
    bt = torch.tensor(conv.params["bias"], requires_grad=True)
    y = torch.nn.functional.conv2d(xt, wt, bt, 1, conv.padding, 1, conv.groups)
    y.backward(torch.tensor(np.ascontiguousarray(dout)))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ["winograd", "auto", "im2col"])
@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: f"k{c[2]}p{c[3]}g{c[4]}")
def test_layer_matches_torch(case, algorithm, dtype, backend):
    cin, cout, k, p, g, shape = case
    rng = np.random.default_rng(3)
    conv = an.Conv2d(cin, cout, k, padding=p, groups=g, rng=rng, dtype=dtype, algorithm=algorithm)
    x = rng.standard_normal(shape).astype(dtype)
    y = conv.forward(x)
    dout = rng.standard_normal(y.shape).astype(dtype)
    dx = conv.backward(dout)
    ref = _torch_layer(conv, x, dout)
    for ours, theirs in zip((y, dx, conv.grads["weight"], conv.grads["bias"]), ref):
        assert ours.dtype == dtype
        assert_close_rtol(ours, theirs, dtype)
    if algorithm == "winograd":
        assert conv.conv_algorithm(shape)[0] == "winograd"


@pytest.mark.parametrize("algorithm", ["winograd", "im2col"])
def test_gradcheck_float64(algorithm, backend):
    """Central differences on a grouped 3×3 layer whose tiles overhang (gradcheck perturbs the weights in
    place, so it also checks that the filter transform follows them)."""
    rng = np.random.default_rng(5)
    conv = an.Conv2d(4, 6, 3, padding=1, groups=2, rng=rng, dtype=np.float64, algorithm=algorithm)
    x = rng.standard_normal((2, 4, 7, 6))
    results = check_layer(conv, x, rng=rng)
    assert set(results) == {"input", "weight", "bias"}
    for name, r in results.items():
        assert r.rel_error < 1e-8, (name, r)


def test_filter_transform_is_never_stale(backend):
    """An in-place weight update between two forwards (what SGD.step does) is seen by the second."""
    rng = np.random.default_rng(6)
    conv = an.Conv2d(4, 6, 3, padding=1, rng=rng, dtype=np.float64, algorithm="winograd")
    x = rng.standard_normal((2, 4, 9, 9))
    y1 = conv.forward(x).copy()
    conv.params["weight"] += 0.5 * rng.standard_normal(conv.params["weight"].shape)  # in place, same array
    conv.params["bias"] -= 1.0
    y2 = conv.forward(x)
    direct = an.Conv2d(4, 6, 3, padding=1, dtype=np.float64, algorithm="im2col")
    direct.params["weight"][...] = conv.params["weight"]
    direct.params["bias"][...] = conv.params["bias"]
    assert_close_rtol(y2, direct.forward(x), np.float64)
    assert np.abs(y2 - y1).max() > 0.1


@pytest.mark.parametrize("edit", [False, True])
def test_the_filter_transform_is_remade_only_when_the_weights_change(edit, monkeypatch):
    """On the Numba backend U is remade only when the weights differ from those it was made from: a second
    forward and the backward reuse it; an in-place edit before the backward (the layers' contract: dx uses the
    weights as they are then) remakes it, and dx equals im2col's with the same weights either way. Edits
    between forwards: ``test_filter_transform_is_never_stale``."""
    rng = np.random.default_rng(7)
    conv = an.Conv2d(4, 6, 3, padding=1, rng=rng, dtype=np.float64, algorithm="winograd")
    x = rng.standard_normal((2, 4, 9, 9))
    dout = rng.standard_normal((2, 6, 9, 9))
    calls = []
    transform = K.filter_transform
    monkeypatch.setattr(K, "filter_transform", lambda *a, **k: calls.append(1) or transform(*a, **k))
    with an.use_backend("numba"):
        conv.forward(x, train=True)
        conv.forward(x, train=True)  # the same weights: U is not remade
        assert len(calls) == 1
        if edit:
            conv.params["weight"] *= -2.0  # in place, same array
        dx = conv.backward(dout)
        assert len(calls) == (2 if edit else 1)  # remade only for edited weights
        conv.forward(x)
        assert len(calls) == (2 if edit else 1)  # and U is theirs after the backward that remade it
    direct = an.Conv2d(4, 6, 3, padding=1, dtype=np.float64, algorithm="im2col")
    direct.params["weight"][...] = conv.params["weight"]
    direct.forward(x)
    assert_close_rtol(dx, direct.backward(dout), np.float64)


def test_auto_rule_on_alexnet():
    """conv1 (stride 4) runs space-to-depth + Winograd (test_space_to_depth.py). At batch 32: conv2 F(4×4, 5×5)
    at 27×27, conv3–conv5 F(5×5, 3×3) at 13×13.
    At batch 1 the filter transform (paid in every training step) outweighs conv3–conv5's saving: im2col there, and
    conv2 takes the smaller F(3×3, 5×5)."""
    model = an.AlexNet("paper")
    chosen = {}
    for batch in (1, 32):
        shape = (batch, 3, 227, 227)
        for name, layer in model:
            if name.startswith("conv"):
                chosen[name, batch] = layer.conv_algorithm(shape)
                assert layer.macs(shape) >= layer.multiplies(shape)
            shape = layer.output_shape(shape)
    assert {k: v[0] for k, v in chosen.items() if k[0] == "conv1"} == {
        ("conv1", b): "space_to_depth" for b in (1, 32)
    }
    assert {k: v for k, v in chosen.items() if k[0] != "conv1"} == {
        ("conv2", 1): ("winograd", 3),
        ("conv2", 32): ("winograd", 4),
        **{(f"conv{i}", 1): ("im2col", None) for i in (3, 4, 5)},
        **{(f"conv{i}", 32): ("winograd", 5) for i in (3, 4, 5)},
    }
    conv2, shape = model["conv2"], (32, 96, 27, 27)  # 48→128 per group, 27×27 output
    assert conv2.macs(shape) == 256 * 27 * 27 * 48 * 25  # per image, the direct count
    assert conv2.multiplies(shape) == 8 * 8 * 7 * 7 * 48 * 256  # α² · 7×7 tiles · C_in/groups · C_out
    gemms = conv2.gemm_shapes(shape)  # the whole batch: 32 images
    assert len(gemms) == 64 * 2 and sum(m * k * n for m, k, n in gemms) == 32 * conv2.multiplies(shape)


def test_auto_cost_by_hand():
    """The cost rule of ``auto_tile`` worked out for one case: 3×3 filter, 13×13 output, batch 2."""
    costs = {m: 2 * (m + 2) ** 2 * (-(-13 // m)) ** 2 + 12 * (m + 2) * 3 * (3 + m + 2) for m in range(1, 7)}
    assert min(costs, key=costs.get) == 2 and costs[2] == 2 * 16 * 49 + 12 * 84
    assert an.ops.winograd_reference.auto_tile(2, 3, 13, 13) == (2, costs[2])
    assert costs[2] < 2 * 13 * 13 * 9  # cheaper than the direct count: Winograd F(2×2, 3×3)
    assert an.Conv2d(4, 4, 3, padding=1).conv_algorithm((2, 4, 13, 13)) == ("winograd", 2)


def test_auto_keeps_im2col_where_winograd_saves_nothing():
    assert an.Conv2d(4, 4, 1).conv_algorithm((64, 4, 9, 9)) == ("im2col", None)  # 1×1: no saving
    assert an.Conv2d(4, 4, 3, stride=2).conv_algorithm((64, 4, 9, 9)) == ("im2col", None)
    assert an.Conv2d(4, 4, (3, 1)).conv_algorithm((64, 4, 9, 9)) == ("im2col", None)
    # 1×1 output: nothing to share
    assert an.Conv2d(4, 4, 3).conv_algorithm((64, 4, 3, 3)) == ("im2col", None)
    # one small image: U costs more
    assert an.Conv2d(4, 4, 3).conv_algorithm((1, 4, 8, 8)) == ("im2col", None)
    assert an.Conv2d(4, 4, 3).conv_algorithm((64, 4, 8, 8)) == ("winograd", 6)  # 6×6 output, one F(6×6) tile


def test_winograd_where_it_does_not_apply_raises():
    with pytest.raises(ValueError, match="algorithm='winograd' needs stride 1"):
        an.Conv2d(3, 4, 3, stride=2, algorithm="winograd")
    with pytest.raises(ValueError, match="square kernel"):
        an.Conv2d(3, 4, (3, 5), algorithm="winograd")
    with pytest.raises(ValueError, match="unknown convolution algorithm 'fft'"):
        an.Conv2d(3, 4, 3, algorithm="fft")
    conv = an.Conv2d(3, 4, 3, stride=2)
    x = np.zeros((1, 3, 9, 9), np.float32)
    with an.use_conv_algorithm("winograd"), pytest.raises(ValueError, match="Conv2d.*stride 1, got stride"):
        conv.forward(x)
    with an.use_conv_algorithm("im2col"):
        assert conv.forward(x).shape == (1, 4, 4, 4)


def test_the_default_is_per_thread_and_a_layers_own_choice_wins():
    assert an.get_conv_algorithm() == "auto"
    seen = {}
    conv, pinned = an.Conv2d(3, 4, 3), an.Conv2d(3, 4, 3, algorithm="winograd")

    def other():
        seen["other"] = (an.get_conv_algorithm(), conv.conv_algorithm((32, 3, 8, 8)))

    with an.use_conv_algorithm("im2col"):
        assert conv.conv_algorithm((32, 3, 8, 8)) == ("im2col", None)
        assert pinned.conv_algorithm((32, 3, 8, 8))[0] == "winograd"
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen["other"] == ("auto", ("winograd", 3))
    assert an.get_conv_algorithm() == "auto"
    assert "algorithm='winograd'" in repr(pinned) and "algorithm" not in repr(conv)


def test_backward_runs_what_forward_ran():
    """The algorithm and backend are fixed at forward: other ones chosen at backward time change nothing."""
    rng = np.random.default_rng(8)
    conv = an.Conv2d(4, 6, 3, padding=1, rng=rng, dtype=np.float64, algorithm="winograd")
    x = rng.standard_normal((2, 4, 7, 7))
    with an.use_backend("numba"):
        y = conv.forward(x)
    conv.algorithm = "im2col"  # changed between forward and backward, and the backend too
    with an.use_conv_algorithm("im2col"), an.use_backend("numpy"):
        dx = conv.backward(np.ones_like(y))
    assert conv._strategy.name == "winograd" and conv._strategy.fast  # numba, as at forward
    ref = _torch_layer(conv, x, np.ones_like(y))
    assert_close_rtol(dx, ref[1], np.float64)
    assert_close_rtol(conv.grads["weight"], ref[2], np.float64)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_property_winograd_equals_im2col(data, dtype):
    """Random stride-1 layers (grouped, padded, odd sizes): Numba Winograd == Numba im2col, forward and both
    gradients."""
    draw = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    g, k, p = draw(1, 2), draw(2, 5), draw(0, 2)
    cin, cout = g * draw(1, 3), g * draw(1, 3)
    h, w = draw(max(1, k - 2 * p), 12), draw(max(1, k - 2 * p), 12)
    x = np.random.default_rng(draw(0, 999)).standard_normal((draw(1, 3), cin, h, w)).astype(dtype)
    fast = an.Conv2d(cin, cout, k, padding=p, groups=g, rng=draw(0, 999), dtype=dtype, algorithm="winograd")
    direct = fast.astype(dtype)
    direct.algorithm = "im2col"
    y, y_ref = fast.forward(x), direct.forward(x)
    dout = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    assert_close_rtol(y, y_ref, dtype)
    assert_close_rtol(fast.backward(dout), direct.backward(dout), dtype)
    assert_close_rtol(fast.grads["weight"], direct.grads["weight"], dtype)


def test_single_tower_with_auto_matches_torch():
    """The whole single_tower network at batch 2 under "auto" runs conv2–conv5 by Winograd and matches its torch
    twin (float32 forward here; test_model_torch holds the same configuration, under the same default, to torch in
    float64 with every gradient, and the paper variant's grouped convolutions too)."""
    model = an.AlexNet("single_tower", num_classes=20, seed=1)
    x = np.random.default_rng(0).standard_normal((2, 3, 227, 227)).astype(np.float32)
    for variant in ("single_tower", "paper"):
        shape, chosen = x.shape, {}
        for name, layer in an.AlexNet(variant):
            if name.startswith("conv"):
                chosen[name] = layer.conv_algorithm(shape)[0]
            shape = layer.output_shape(shape)
        assert chosen == {"conv1": "space_to_depth", **{f"conv{i}": "winograd" for i in (2, 3, 4, 5)}}
    network_matches_torch(model, x, np.array([3, 17]))


def test_bench_conv_table_reports_what_the_layers_say(small_blocks):
    """``python -m alexnet_np bench --conv`` rows: both algorithms and PyTorch timed, auto's pick and the counts
    taken from the same layer objects (timing goals live in the benchmark, not here)."""
    from alexnet_np.tools import bench

    rows = bench.conv_table("mini", 8, repeats=1, log=lambda *a: None)
    model, shape = an.AlexNet("mini"), (8, 3, *an.AlexNet("mini").input_size)
    expected, blocks = {}, {}
    for name, layer in model:
        if name.startswith("conv"):
            expected[name] = (layer.conv_algorithm(shape), layer.macs(shape), layer.multiplies(shape))
            blocks[name] = layer.winograd_rows_per_block(shape) > 0
        shape = layer.output_shape(shape)
    assert [r["layer"] for r in rows] == list(expected)
    for r in rows:
        (algorithm, m), macs, mults = expected[r["layer"]]
        assert r["auto"].startswith(algorithm) and (m is None or f"F({m}, " in r["auto"])
        assert r["auto"].endswith(", in blocks") == blocks[r["layer"]]
        assert (r["macs"], r["multiplies"]) == (macs, mults) and mults <= macs
        timed = {f"{who} {way}" for who in ("im2col", "torch", "torch_cl") for way in ("fwd", "bwd")}
        assert timed <= set(r["ms"])
        assert r["our_input"] == ("NCHW (the image batch)" if r["layer"] == "conv1" else "channels-last")
        assert ("winograd fwd" in r["ms"]) == (model[r["layer"]].stride == (1, 1))
        assert all(v >= 0 for v in r["ms"].values())
    assert bench.conv_markdown(rows).count("\n") == len(rows) + 1
    assert bench.multiplies_per_image(model, 32) < model.summary().total_macs
    assert any(blocks.values()) and not all(
        blocks.values()
    )  # mini at batch 8, blocks of any size: conv1 whole, the others in blocks


# ---- the kernels run as plain Python (NUMBA_DISABLE_JIT=1), for stepping through in a debugger ------


def test_kernels_run_without_jit():
    code = (
        "import numpy as np, torch\n"
        "from alexnet_np.ops import winograd_kernels as K\n"
        "assert type(K._input_transform_loop).__name__ == 'function'\n"
        "K.threads.SMALL_WORK = K.MIN_BLOCKED_BYTES = 0\n"
        "assert K.rows_per_block((1, 4, 5, 6), (4, 2, 3, 3), 1, 2, 8) > 0  # blocks\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.standard_normal((1, 4, 5, 6)); w = rng.standard_normal((4, 2, 3, 3))\n"
        "d = rng.standard_normal((1, 4, 5, 6))\n"
        "y = K.conv2d_winograd(x, w, None, 1, 2, 2)\n"
        "dx, dw, db = K.conv2d_winograd_backward(d, x, w, 1, 2, 2)\n"
        "xt = torch.tensor(x, requires_grad=True); wt = torch.tensor(w, requires_grad=True)\n"
        "yt = torch.nn.functional.conv2d(xt, wt, padding=1, groups=2); yt.backward(torch.tensor(d))\n"
        "assert np.allclose(y, yt.detach().numpy()) and np.allclose(dx, xt.grad.numpy()) "
        "and np.allclose(dw, wt.grad.numpy())\n"
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr


def test_kernels_are_compiled_in_float32():
    """No silent fallback to Python: after a float32 Conv2d runs Winograd, every transform is compiled code."""
    assert not numba.config.DISABLE_JIT
    conv = an.Conv2d(4, 6, 3, padding=1, algorithm="winograd", rng=0)
    x = np.random.default_rng(0).standard_normal((2, 4, 7, 7)).astype(np.float32)
    with an.use_backend("numba"):
        conv.backward(np.ones_like(conv.forward(x)))
    for kernel in K.KERNELS:  # small arrays run a loop as its serial twin (ops.threads.sized)
        ran = [k for k in (kernel, an.ops.threads.serial_twin(kernel)) if k is not None]
        assert all(isinstance(k, numba.core.registry.CPUDispatcher) for k in ran), kernel
        signatures = [sig for k in ran for sig in k.signatures]
        assert any(sig[0].dtype == numba.float32 for sig in signatures), kernel.py_func.__name__


# ---- OpenBLAS's spin time: the benchmark's setting is what `import alexnet_np` gives ----------------------

_PROBE = "import os, sys; {first}; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"


@pytest.mark.parametrize(
    "first, env, expected",
    [
        ("import alexnet_np, numpy", {}, "4"),  # alexnet_np first: the benchmark's setting
        ("import numpy, alexnet_np", {}, "None"),  # NumPy (and OpenBLAS) loaded first: too late, left alone
        ("import alexnet_np", {"OPENBLAS_THREAD_TIMEOUT": "7"}, "7"),  # the user's own value wins
    ],
)
def test_openblas_thread_timeout_default(first, env, expected):
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    code = _PROBE.format(first=first)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**base, **env})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expected


# ---- refusals and the behaviours the reliability issue pinned down -----------------------------------


@pytest.mark.parametrize("backend", an.BACKENDS)
@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
def test_weights_edited_between_forward_and_backward_are_read_at_backward(backend, algorithm):
    """One behaviour on all four paths: dx uses the weights as they are at backward (documented in Conv2d)."""
    rng = np.random.default_rng(5)
    conv = an.Conv2d(4, 6, 3, padding=1, groups=2, rng=rng, dtype=np.float64, algorithm=algorithm)
    x = rng.standard_normal((2, 4, 7, 7))
    dout = rng.standard_normal((2, 6, 7, 7))
    with an.use_backend(backend):
        conv.forward(x)
        conv.params["weight"][...] = rng.standard_normal(conv.params["weight"].shape)  # in place
        dx = conv.backward(dout)
    _, dx_now, dw, _ = torch_conv(x, conv.params["weight"], conv.params["bias"], 1, 2, dout)
    assert_close(dx, dx_now, np.float64, f"{backend}/{algorithm} dx")
    assert_close(conv.grads["weight"], dw, np.float64, f"{backend}/{algorithm} dw")  # dw needs no weight


@pytest.mark.parametrize("r", [9, 11])
def test_kernels_past_the_error_bound_are_refused_not_run(r):
    """α = m + r − 1 ≤ 8 or nothing: forced Winograd on a 9×9 or 11×11 kernel refuses; auto runs im2col."""
    with pytest.raises(an.errors.BadArgument, match="at most 8"):
        an.Conv2d(2, 2, r, algorithm="winograd")
    conv = an.Conv2d(2, 2, r, padding=r // 2)
    x = np.random.default_rng(0).standard_normal((4, 2, 12, 12)).astype(np.float32)
    assert conv.conv_algorithm(x.shape) == ("im2col", None)
    with an.use_conv_algorithm("winograd"), pytest.raises(an.errors.BadArgument, match="at most 8"):
        conv.forward(x)
    w = conv.params["weight"]
    for twin in (R.conv2d_winograd, K.conv2d_winograd):
        with pytest.raises(an.errors.BadArgument, match="error bound"):
            twin(x, w, None, r // 2)
    with pytest.raises(an.errors.BadArgument, match="α = 9"):
        R.conv2d_winograd(x, np.ones((2, 2, 3, 3), np.float32), None, 1, 1, 7)  # F(7, 3): α = 9


def test_the_algorithm_is_checked_when_set_after_construction():
    conv = an.Conv2d(3, 4, 3, stride=2)
    for bad in ("bogus", "Winograd", " im2col"):
        with pytest.raises(an.errors.BadArgument, match="unknown convolution algorithm"):
            conv.algorithm = bad
    with pytest.raises(an.errors.BadArgument, match="needs stride 1"):
        conv.algorithm = "winograd"
    assert conv.algorithm is None  # unchanged by the refusals
    conv.algorithm = "im2col"
    assert conv.algorithm == "im2col"


@pytest.mark.parametrize("value", ["bogus", "Winograd", " im2col"])
def test_a_bad_environment_variable_is_named(value, monkeypatch):
    monkeypatch.setenv("ALEXNET_NP_CONV_ALGORITHM", value)
    monkeypatch.setattr(an.ops._conv, "default", None)  # as in a fresh process: the variable not read yet
    with pytest.raises(
        an.errors.BadArgument, match=r"environment variable ALEXNET_NP_CONV_ALGORITHM: unknown"
    ):
        an.ops.check_environment()
    with pytest.raises(an.errors.BadArgument, match="ALEXNET_NP_CONV_ALGORITHM"):
        an.Conv2d(3, 4, 3).forward(np.zeros((1, 3, 5, 5), np.float32))


@pytest.mark.parametrize("case", CASES[:8], ids=IDS[:8])
def test_float32_errors_stay_within_the_stated_bound(case):
    """The per-output bound of error_bound (module docstring, "Accuracy and range") holds for both twins in float32,
    and says something: within 1e-2 of max|y| (2.8e-3 at most on these cases; the worst case, every rounding
    error aligned, is far from the errors made: 1e-2 of the bound or less)."""
    n, c, h, w, f, r, p, g, m = case
    x, wt, _, _ = make(case, np.float32)
    exact = torch_conv(x, wt, np.zeros(f), p, g, None)[0]
    bound = R.error_bound(x, wt, p, g, m)
    for y in (R.conv2d_winograd(x, wt, None, p, g, m), K.conv2d_winograd(x, wt, None, p, g, m)):
        err = np.abs(y - exact)
        assert (err <= bound).all(), float((err / bound).max())
    assert bound.max() < 1e-2 * np.abs(exact).max()


# ---- the forward in blocks of tile rows (winograd_kernels.rows_per_block) ------------------------------------

# (N, C, H, W, F, r, padding, groups, m): each runs in blocks, the last block shorter than the others
BLOCKED = [
    (1, 48, 53, 53, 16, 3, 0, 1, 5),  # conv1 by space-to-depth, fewer filters: 3×3 on 48 channels, F(5, 3)
    (3, 32, 35, 35, 12, 3, 1, 2, 4),  # grouped, padded, overhanging tiles (35 = 8·4 + 3)
    (1, 32, 43, 36, 8, 5, 2, 1, 3),  # 5×5, F(3, 5), a non-square image
]


@pytest.mark.parametrize("case", BLOCKED, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_forward_in_blocks_equals_the_whole_passes(
    case, dtype, two_blas_threads, small_blocks, monkeypatch
):
    """Same loops and products in another order: the V kept for the backward equals the whole passes' bit for
    bit, y within the tolerance of Winograd against the direct convolution (the products are cut otherwise)."""
    n, c, h, w, f, r, pad, groups, m = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((f, c // groups, r, r)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)
    rows = K.rows_per_block(x.shape, weight.shape, pad, m, x.dtype.itemsize)
    _, _, th, _ = R.winograd_tiles(h, w, r, pad, m)
    assert 0 < rows < th and th % rows != 0  # in blocks, each image's last one shorter
    shapes = K.work_shapes(x.shape, weight.shape, pad, groups, m)
    V_blocks = np.full(shapes["V"], np.nan, dtype=dtype)
    ran = []
    real_run_blocks = K.gemm.run_blocks
    monkeypatch.setattr(
        K.gemm, "run_blocks", lambda blocks: ran.append(len(blocks)) or real_run_blocks(blocks)
    )
    y_blocks = K.conv2d_winograd(x, weight, bias, pad, groups, m, V=V_blocks)
    assert ran == [n * -(-th // rows)]  # the forward ran in blocks of one image's tile rows
    monkeypatch.setattr(K, "MAX_BLOCKED_U_BYTES", 0)  # every forward in whole passes
    assert K.rows_per_block(x.shape, weight.shape, pad, m, x.dtype.itemsize) == 0
    V_whole = np.empty(shapes["V"], dtype=dtype)
    y_whole = K.conv2d_winograd(x, weight, bias, pad, groups, m, V=V_whole)
    np.testing.assert_array_equal(V_blocks, V_whole)  # the same loop on the same tiles
    assert_close_rtol(y_blocks, y_whole, dtype)  # OpenBLAS may round a product cut otherwise differently
    y_direct = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(bias), padding=pad, groups=groups
    ).numpy()
    assert_close_rtol(y_blocks, y_direct, dtype)


def test_a_layer_run_in_blocks_keeps_what_its_backward_needs(two_blas_threads, small_blocks):
    """conv1 by space-to-depth runs in blocks; its backward (from the V the blocks wrote) equals PyTorch's."""
    conv = an.Conv2d(3, 16, 11, stride=4, padding=2, algorithm="space_to_depth", dtype=np.float64, rng=0)
    x = np.random.default_rng(1).standard_normal((2, 3, 131, 131))
    assert conv.winograd_rows_per_block(x.shape) > 0
    with an.use_backend("numba"):
        y = conv.forward(x)
        dy = np.random.default_rng(2).standard_normal(y.shape)
        dx = conv.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(conv.params["weight"], requires_grad=True)
    bt = torch.tensor(conv.params["bias"], requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride=4, padding=2)
    yt.backward(torch.from_numpy(dy))
    for ours, theirs in (
        (y, yt),
        (dx, xt.grad),
        (conv.grads["weight"], wt.grad),
        (conv.grads["bias"], bt.grad),
    ):
        assert_close_rtol(ours, theirs.detach().numpy(), np.float64)


def test_which_forwards_run_in_blocks(monkeypatch):
    """The rule: a small U, V and M at least twice U and at least MIN_BLOCKED_BYTES, V not small work; blocks of
    at most BLOCK_BYTES (or one row), about MIN_BLOCKS of them or more."""
    item = 4
    assert K.rows_per_block((32, 48, 57, 57), (96, 48, 3, 3), 0, 5, item) > 0  # conv1 by space-to-depth
    v_and_m = 11 * 11 * 49 * (48 + 96) * item  # conv1 at batch 1: tiles, α², channels in and out
    assert (
        v_and_m < K.MIN_BLOCKED_BYTES and K.rows_per_block((1, 48, 57, 57), (96, 48, 3, 3), 0, 5, item) == 0
    )
    assert K.rows_per_block((32, 384, 13, 13), (384, 384, 3, 3), 1, 5, item) == 0  # conv4: U is 29 MB
    monkeypatch.setattr(K, "MIN_BLOCKED_BYTES", 0)  # the other conditions alone
    assert K.rows_per_block((1, 48, 57, 57), (96, 48, 3, 3), 0, 5, item) > 0
    assert K.rows_per_block((1, 64, 27, 27), (192, 64, 5, 5), 2, 3, item) == 0  # V and M under twice U
    assert K.rows_per_block((1, 4, 9, 9), (4, 4, 3, 3), 1, 2, item) == 0  # small work
    for x_shape, w_shape, pad, m in [
        ((32, 48, 57, 57), (96, 48, 3, 3), 0, 5),
        ((3, 32, 35, 35), (12, 16, 3, 3), 1, 4),
    ]:
        rows = K.rows_per_block(x_shape, w_shape, pad, m, item)
        n, c, h, w = x_shape
        _, _, th, tw = R.winograd_tiles(h, w, w_shape[2], pad, m)
        row_bytes = tw * (m + w_shape[2] - 1) ** 2 * (c + w_shape[0]) * item
        assert rows == 1 or rows * row_bytes <= K.BLOCK_BYTES
        assert rows <= -(-n * th // K.MIN_BLOCKS)  # about MIN_BLOCKS blocks or more
    monkeypatch.undo()
    # the docstring's AlexNet list: the first batch at which each layer runs in blocks (and every one after)
    first = {}
    with an.use_conv_algorithm("auto"):  # the default, whatever ALEXNET_NP_CONV_ALGORITHM says
        for variant in ("single_tower", "torchvision", "paper"):
            model = an.AlexNet(variant)
            for batch in range(1, 13):
                shape = (batch, 3, *model.input_size)
                for name, layer in model:
                    if hasattr(layer, "winograd_rows_per_block") and layer.winograd_rows_per_block(shape):
                        first.setdefault((variant, name), batch)
                    elif (variant, name) in first:
                        raise AssertionError(
                            f"{variant} {name}: in blocks at {first[variant, name]}, not at {batch}"
                        )
                    shape = layer.output_shape(shape)
    assert first == {
        ("single_tower", "conv1"): 5,
        ("torchvision", "conv1"): 7,
        ("torchvision", "conv2"): 6,
        ("paper", "conv1"): 5,
        ("paper", "conv2"): 4,
    }


def test_space_to_depth_in_blocks_never_makes_z_whole(small_blocks, monkeypatch):
    """In blocks, each block rearranges only the rows of z it reads: no z buffer, and the same V and y as the
    whole passes, which make z first."""
    conv = an.Conv2d(3, 16, 11, stride=4, padding=2, algorithm="space_to_depth", dtype=np.float64, rng=0)
    x = np.random.default_rng(1).standard_normal((2, 3, 131, 131))
    with an.use_backend("numba"):
        y_blocks = conv.forward(x).copy()
        s2d = conv._space_to_depth
        V_blocks = s2d.winograd.V_buffer.copy()
        assert conv.winograd_rows_per_block(x.shape) > 0 and s2d.z_buffer is None
        monkeypatch.setattr(K, "MAX_BLOCKED_U_BYTES", 0)
        y_whole = conv.forward(x)
        assert s2d.z_buffer is not None and s2d.z_buffer.shape == (2, 34, 34, 48)  # 32 outputs + 2
    np.testing.assert_array_equal(s2d.winograd.V_buffer, V_blocks)
    assert_close_rtol(y_blocks, y_whole, np.float64)
