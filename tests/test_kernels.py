"""The Numba kernels equal the NumPy reference, and both equal naive loops, on odd shapes."""

import numba
import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.ops import kernels, naive, reference
from alexnet_np.shapes import is_channels_last
from alexnet_np.training.optim import SGD

# (N, C, H, W), kernel, stride, padding: non-square inputs and kernels, stride > 1,
# padding, overlapping and non-overlapping pools, batch of 1.
CASES = [
    ((2, 3, 9, 7), (3, 2), (2, 1), (1, 0)),
    ((1, 4, 11, 13), (3, 3), (2, 2), (0, 0)),
    ((3, 2, 8, 8), (2, 2), (2, 2), (0, 0)),
    ((2, 5, 10, 6), (5, 3), (3, 2), (2, 1)),
    ((1, 1, 5, 5), (1, 1), (1, 1), (0, 0)),
    ((2, 3, 15, 15), (11, 11), (4, 4), (2, 2)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k,s,p", CASES)
def test_im2col_col2im_twins_are_equal(shape, k, s, p, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    cols_ref = reference.im2col(x, k, s, p)
    cols_nb = kernels.im2col(x, k, s, p)
    assert cols_nb.dtype == dtype
    np.testing.assert_array_equal(cols_nb, cols_ref)  # a pure copy: bit-identical
    dcols = rng.standard_normal(cols_ref.shape).astype(dtype)
    rtol = 1e-6 if dtype == np.float32 else 1e-13  # sums of the same terms in another order
    np.testing.assert_allclose(
        kernels.col2im(dcols, shape, k, s, p), reference.col2im(dcols, shape, k, s, p), rtol=rtol, atol=rtol
    )


@pytest.mark.parametrize("shape,k,s,p", CASES)
def test_col2im_is_the_adjoint_of_im2col(shape, k, s, p, rng):
    # <im2col(x), c> == <x, col2im(c)> for every x, c: col2im sums the copies im2col made.
    x = rng.standard_normal(shape)
    c = rng.standard_normal(reference.im2col(x, k, s, p).shape)
    for impl in (reference, kernels):
        lhs = np.sum(impl.im2col(x, k, s, p) * c)
        rhs = np.sum(x * impl.col2im(c, shape, k, s, p))
        assert abs(lhs - rhs) < 1e-10 * (abs(lhs) + 1)


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("shape,k,s,p", CASES[:4])
def test_conv_layer_equals_naive_loops_on_both_backends(shape, k, s, p, groups, backend, rng):
    c = shape[1] * groups
    x = rng.standard_normal((shape[0], c, *shape[2:]))
    conv = an.Conv2d(c, 4, k, stride=s, padding=p, groups=groups, rng=rng, dtype=np.float64)
    expected = naive.conv2d_naive(x, conv.params["weight"], conv.params["bias"], s, p, groups)
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "shape,k,s,p", [c for c in CASES if c[3][0] <= c[1][0] // 2 and c[3][1] <= c[1][1] // 2]
)
def test_maxpool_twins_equal_naive(shape, k, s, p, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    out_ref, arg_ref = reference.maxpool_forward(x, k, s, p)
    out_nb, arg_nb = kernels.maxpool_forward(x, k, s, p)
    np.testing.assert_array_equal(out_nb, out_ref)
    np.testing.assert_array_equal(arg_nb, arg_ref)
    np.testing.assert_array_equal(out_ref, naive.maxpool2d_naive(x, k, s, p))
    dout = rng.standard_normal(out_ref.shape).astype(np.float32)
    np.testing.assert_allclose(
        kernels.maxpool_backward(dout, arg_nb, shape, k, s, p),
        reference.maxpool_backward(dout, arg_ref, shape, k, s, p),
        rtol=1e-6,
        atol=1e-6,
    )


POOLS = [  # (N, C, H, W), kernel, stride, padding, ceil_mode: AlexNet's 3×3/2, padding, overhanging windows
    ((2, 5, 13, 11), (3, 3), (2, 2), (0, 0), False),
    ((2, 5, 13, 11), (3, 3), (2, 2), (0, 0), True),
    ((1, 4, 9, 10), (3, 2), (2, 1), (1, 1), False),
    ((2, 3, 8, 7), (2, 2), (2, 2), (0, 0), True),
    ((1, 6, 10, 9), (5, 3), (3, 2), (2, 1), True),
]


@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k,s,p,ceil", POOLS)
def test_channels_last_pooling_equals_the_nchw_loops_bit_for_bit(
    shape, k, s, p, ceil, dtype, threaded, rng, monkeypatch
):
    """The channels-last loops (the forward's selects, the backward's gather) against the NCHW loops and the
    reference: the same maxima and positions (ties, NaN and −inf included) and the same dx, bit for bit
    (the gather adds each pixel's gradients in the scatter's order); the loops on threads and as their serial
    twins (ops.threads.sized: these arrays are small work unless SMALL_WORK is 0)."""
    monkeypatch.setattr(an.ops.threads, "SMALL_WORK", 0 if threaded else 1 << 62)
    x = rng.integers(-3, 4, shape).astype(dtype)  # small integers: many ties in every window
    x.flat[::17] = np.nan
    x.flat[5::23] = -np.inf
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    out, arg = kernels.maxpool_forward(x, k, s, p, ceil)
    out_cl, arg_cl = kernels.maxpool_forward(x_cl, k, s, p, ceil)
    assert is_channels_last(out_cl) and is_channels_last(arg_cl)
    np.testing.assert_array_equal(out_cl, out)
    np.testing.assert_array_equal(arg_cl, arg)
    out_ref, arg_ref = reference.maxpool_forward(x, k, s, p, ceil)
    np.testing.assert_array_equal(out, out_ref)
    np.testing.assert_array_equal(arg, arg_ref)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_cl = np.ascontiguousarray(dout.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    dx = kernels.maxpool_backward(dout, arg, shape, k, s, p, ceil)
    dx_cl = kernels.maxpool_backward(dout_cl, arg_cl, shape, k, s, p, ceil)
    assert is_channels_last(dx_cl) and not is_channels_last(dx)
    assert dx_cl.tobytes() == dx.tobytes()  # bit for bit, signed zeros too (tobytes: the logical order)
    # the reference adds in another order: at most 4 windows share a pixel here, each term |dout| < 6, so each
    # side's 3 roundings are under 3 · ε/2 · 24 and the two differ by less than 72ε
    expected = reference.maxpool_backward(dout, arg_ref, shape, k, s, p, ceil)
    assert np.abs(dout).max() < 6
    np.testing.assert_allclose(dx_cl, expected, rtol=0, atol=72 * np.finfo(dtype).eps)


def test_maxpool_ties_go_to_the_first_maximum(backend):
    x = np.ones((1, 1, 3, 3), np.float64)
    pool = an.MaxPool2d(2, stride=1)
    pool.forward(x)
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    # every window's first element (row-major) takes its gradient
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_maxpool_overlapping_windows_accumulate(backend):
    # One big value in the centre of a 5x5 input is the max of all four 3x3/2 windows.
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 10.0
    pool = an.MaxPool2d(3, 2)
    assert pool.forward(x).shape == (1, 1, 2, 2)
    dx = pool.backward(np.full((1, 1, 2, 2), 1.5))
    assert dx[0, 0, 2, 2] == 6.0 and dx.sum() == 6.0


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lrn_twins_equal_naive(size, dtype, channels_last, rng):
    x = rng.standard_normal((2, 7, 3, 4)).astype(dtype)
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    out_ref, scale = reference.lrn_forward(x, size, 0.3, 0.75, 2.0)
    out_nb, scale_nb = kernels.lrn_forward(x, size, 0.3, 0.75, 2.0)
    assert is_channels_last(out_nb) == is_channels_last(scale_nb) == channels_last  # the input's layout
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out_nb, out_ref, rtol=rtol)
    np.testing.assert_allclose(scale_nb, scale, rtol=rtol)  # the twins keep the same cache
    np.testing.assert_allclose(
        out_ref, naive.lrn_naive(x.astype(np.float64), size, 0.3, 0.75, 2.0), rtol=rtol
    )
    dout = rng.standard_normal(x.shape).astype(dtype)
    for cache in (scale, scale_nb):  # either backward takes either forward's cache
        np.testing.assert_allclose(
            kernels.lrn_backward(dout, x, cache, size, 0.3, 0.75),
            reference.lrn_backward(dout, x, scale, size, 0.3, 0.75),
            rtol=rtol * 10,
            atol=rtol,
        )


@pytest.mark.parametrize("size", [1, 2, 5, 12])
def test_lrn_pixel_loop_equals_the_nchw_loop(size, rng):
    """The channels-last loop (zero-padded window rows, 64 pixels per task) against the NCHW loop (a window
    with bounds per channel): 231 pixels, three full tasks and a part; a window wider than the 9 channels."""
    x = rng.standard_normal((3, 9, 7, 11))  # float64
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    dout = rng.standard_normal(x.shape)
    dout_cl = np.ascontiguousarray(dout.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    y, scale = kernels.lrn_forward(x, size, 0.3, 0.75, 2.0)
    y_cl, scale_cl = kernels.lrn_forward(x_cl, size, 0.3, 0.75, 2.0)
    assert is_channels_last(y_cl) and not is_channels_last(y)
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(scale_cl, scale, rtol=4 * eps)
    np.testing.assert_allclose(y_cl, y, rtol=8 * eps)
    dx = kernels.lrn_backward(dout, x, scale, size, 0.3, 0.75)
    dx_cl = kernels.lrn_backward(dout_cl, x_cl, scale_cl, size, 0.3, 0.75)
    assert is_channels_last(dx_cl)
    np.testing.assert_allclose(dx_cl, dx, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("beta", [0.75, 0.5, 1.3])
def test_lrn_fast_power_path_equals_pow(beta, rng):
    x = rng.standard_normal((1, 6, 2, 2)) * 5
    y, scale = kernels.lrn_forward(x, 5, 1e-2, beta, 2.0)
    np.testing.assert_allclose(scale, 2.0 + 1e-2 * reference._channel_window_sum(x * x, 2, 2), rtol=1e-13)
    np.testing.assert_allclose(y, x * scale**-beta, rtol=1e-13)  # β = 0.75 by square roots, others by pow
    dout = np.ones_like(x)
    np.testing.assert_allclose(
        kernels.lrn_backward(dout, x, scale, 5, 1e-2, beta),
        reference.lrn_backward(dout, x, scale, 5, 1e-2, beta),
        rtol=1e-12,
    )


@pytest.mark.parametrize("shape,k,s,p", CASES)
def test_channels_last_loops_equal_the_nchw_loops(shape, k, s, p, rng):
    """The two loop nests (W innermost, C innermost) compute the same arrays, and outputs keep the layout."""
    x = rng.standard_normal(shape).astype(np.float32)
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(kernels.im2col(x_cl, k, s, p), kernels.im2col(x, k, s, p))
    dcols = rng.standard_normal(kernels.im2col(x, k, s, p).shape).astype(np.float32)
    a = kernels.col2im(dcols, shape, k, s, p, channels_last=False)
    b = kernels.col2im(dcols, shape, k, s, p, channels_last=True)
    assert is_channels_last(b) == (shape[1] > 1)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    if p[0] <= k[0] // 2 and p[1] <= k[1] // 2:
        out, arg = kernels.maxpool_forward(x_cl, k, s, p)
        assert is_channels_last(out) == (shape[1] > 1)
        np.testing.assert_array_equal(out, kernels.maxpool_forward(x, k, s, p)[0])


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_twins_are_equal_in_every_layout(dtype, layout, rng):
    """One pass (Numba) or two (NumPy): the same y, mask and dx, bit for bit, NaN and signed zeros included."""
    x = rng.standard_normal((2, 5, 4, 3)).astype(dtype)
    x.flat[:4] = [np.nan, 0.0, -0.0, np.inf]
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif layout == "strided":
        x = np.repeat(x, 2, axis=3)[..., ::2]  # neither C order nor channels-last: the reference runs
    y, mask = kernels.relu_forward(x)
    y_ref, mask_ref = reference.relu_forward(x)
    np.testing.assert_array_equal(y, y_ref)  # NaN where NaN
    assert np.array_equal(np.signbit(y), np.signbit(y_ref)) and mask.dtype == bool
    np.testing.assert_array_equal(mask, mask_ref)
    if layout == "channels_last":
        assert is_channels_last(y) and is_channels_last(mask)
    dout = rng.standard_normal(x.shape).astype(dtype)
    dout.flat[5] = np.nan
    np.testing.assert_array_equal(kernels.relu_backward(dout, mask), reference.relu_backward(dout, mask_ref))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_update_twins_are_equal(dtype, rng):
    w, v, g = (rng.standard_normal(1000).astype(dtype) for _ in range(3))
    w2, v2 = w.copy(), v.copy()
    kernels.sgd_paper_update(w, v, g, 0.9, 5e-4, 0.01)
    reference.sgd_paper_update(w2, v2, g, 0.9, 5e-4, 0.01)
    np.testing.assert_array_equal(w, w2)
    np.testing.assert_array_equal(v, v2)


def test_numba_path_is_compiled_code():
    """No silent fallback to Python: the kernels are Numba dispatchers with compiled signatures."""
    assert not numba.config.DISABLE_JIT, "NUMBA_DISABLE_JIT is set: the numba backend would run as Python"
    with an.use_backend("numba"), an.use_conv_algorithm("im2col"):  # Winograd's kernels: test_winograd.py
        assert an.ops.fast()
        conv, pool, lrn = an.Conv2d(3, 4, 3), an.MaxPool2d(3, 2), an.LocalResponseNorm()
        conv2 = an.Conv2d(4, 4, 3, padding=1)
        x = np.random.default_rng(0).standard_normal((1, 3, 9, 9)).astype(np.float32)
        y = conv2.forward(pool.forward(lrn.forward(conv.forward(x))))  # NCHW input, then channels-last
        relu = an.ReLU()
        y = relu.forward(y)
        conv.backward(lrn.backward(pool.backward(conv2.backward(relu.backward(np.ones_like(y))))))
        SGD(conv.params, conv.grads).step()
        strided = an.Conv2d(3, 4, 5, stride=2, algorithm="space_to_depth")  # and the space-to-depth kernels
        strided.backward(np.ones_like(strided.forward(x)))
        for layer in (an.MaxPool2d(3, 2), an.LocalResponseNorm()):  # their NCHW loops
            layer.backward(np.ones_like(layer.forward(x)))
    # small arrays run a loop as its serial twin (ops.threads.sized): both must be compiled code, and every loop
    # ran compiled in float32 one way or the other (both ways: test_every_loop_gives_the_same_bits_...)
    for kernel in kernels.KERNELS:
        ran = (kernel, an.ops.threads.sized(kernel, 0))
        for compiled in ran:
            assert isinstance(compiled, numba.core.registry.CPUDispatcher), kernel
        signatures = [sig for k in ran for sig in k.signatures]
        assert signatures, f"{kernel.py_func.__name__} was never compiled"
        assert any(sig[0].dtype == numba.float32 for sig in signatures)


def test_backend_switch(rng):
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    conv = an.Conv2d(2, 3, 3, rng=rng, algorithm="im2col")  # one algorithm, two backends: the same GEMM
    with an.use_backend("numpy"):
        assert an.get_backend() == "numpy" and not an.ops.fast()
        y_ref = conv.forward(x)
    with an.use_backend("numba"):
        y_nb = conv.forward(x)
    np.testing.assert_allclose(y_nb, y_ref, rtol=1e-6)
    with pytest.raises(ValueError, match="unknown backend"):
        an.set_backend("cuda")


PURE_PYTHON = """
import numpy as np
from alexnet_np.ops import kernels, reference
assert type(kernels._im2col_loop).__name__ == "function"        # not a Numba dispatcher: plain Python
rng = np.random.default_rng(0)
x = rng.standard_normal((1, 3, 7, 6))
for xx in (x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)):
    assert np.allclose(kernels.im2col(xx, (3, 2), (2, 1), (1, 0)), reference.im2col(xx, (3, 2), (2, 1), (1, 0)))
    assert np.allclose(kernels.maxpool_forward(xx, (3, 3), (2, 2), (1, 1))[0],
                       reference.maxpool_forward(xx, (3, 3), (2, 2), (1, 1))[0])
    out, scale = kernels.lrn_forward(xx, 5, 0.1, 0.75, 2.0)
    assert np.allclose(out, reference.lrn_forward(xx, 5, 0.1, 0.75, 2.0)[0])
print("ok")
"""


def test_kernels_run_as_plain_python_with_jit_disabled():
    """NUMBA_DISABLE_JIT=1 turns the kernels into ordinary Python a student can step through."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    r = subprocess.run([sys.executable, "-c", PURE_PYTHON], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


@pytest.mark.parametrize("algorithm", ["auto", "im2col"])
def test_serial_twins_give_the_parallel_loops_bits(algorithm, monkeypatch):
    """Small work runs each kernel's loop compiled without threads (ops.threads.sized): a training step of the
    mini network, every kernel forced parallel and then every kernel forced serial, gives the same bits."""
    from alexnet_np.ops import threads, winograd_kernels

    # SMALL_WORK also decides whether Winograd's forward runs in blocks, whose products OpenBLAS may round
    # otherwise than the whole passes' (on some CPUs): whole passes in both runs, as the loops are the question
    monkeypatch.setattr(winograd_kernels, "MAX_BLOCKED_U_BYTES", 0)

    def step(small_work):
        monkeypatch.setattr(threads, "SMALL_WORK", small_work)
        model = an.AlexNet("mini", seed=0)
        rng = np.random.default_rng(1)
        x = rng.standard_normal((2, 3, *model.input_size)).astype(np.float32)
        loss = an.CrossEntropyLoss()
        with an.use_backend("numba"), an.use_conv_algorithm(algorithm):
            logits = model.forward(x, train=True)
            loss.forward(logits, np.array([1, 3]))
            dx = model.backward(loss.backward())
            SGD(model.params, model.grads, lr=0.1, momentum=0.9, weight_decay=5e-4).step()
        return [logits, dx, *model.grads.values(), *model.params.values()]

    parallel = step(0)
    serial = step(1 << 62)
    assert threads.serial_twin(kernels._relu_forward_loop) is not None  # the serial loops did run
    assert threads.serial_twin(kernels._sgd_paper_loop) is not None
    for a, b in zip(parallel, serial):
        np.testing.assert_array_equal(a, b)


def test_every_loop_gives_the_same_bits_on_threads_and_as_its_serial_twin(monkeypatch):
    """Every Numba loop (kernels.KERNELS and Winograd's) on NCHW and channels-last inputs, through the layers:
    run once with every loop on threads and once with every loop as its serial twin, float32; the same bits,
    and every twin is compiled code."""
    from alexnet_np.ops import threads, winograd_kernels

    def run_all(small_work):
        monkeypatch.setattr(threads, "SMALL_WORK", small_work)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, 4, 11, 11)).astype(np.float32)
        layouts = (x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))
        outs = []
        with an.use_backend("numba"):
            for a in layouts:
                for layer in (
                    an.Conv2d(4, 6, 3, padding=1, algorithm="im2col", rng=0),
                    an.Conv2d(4, 6, 3, padding=1, algorithm="winograd", rng=0),
                    an.Conv2d(4, 6, 5, stride=2, padding=1, algorithm="space_to_depth", rng=0),
                    an.MaxPool2d(3, 2),
                    an.LocalResponseNorm(),
                    an.ReLU(),
                ):
                    y = layer.forward(a)
                    dout = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
                    if is_channels_last(y):  # as the next layer hands it back: the channels-last loops run
                        dout = np.ascontiguousarray(dout.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
                    outs += [y, layer.backward(dout), *layer.grads.values()]
                    if layer.params:
                        SGD(layer.params, layer.grads, lr=0.1, momentum=0.9, weight_decay=5e-4).step()
                        outs += [p.copy() for p in layer.params.values()]
        return outs

    loops = (*kernels.KERNELS, *winograd_kernels.KERNELS)
    on_threads = run_all(0)
    serial = run_all(1 << 62)
    for a, b in zip(on_threads, serial, strict=True):
        np.testing.assert_array_equal(a, b)
    for loop in loops:
        assert isinstance(loop, numba.core.registry.CPUDispatcher), loop
        twin = threads.serial_twin(loop)
        assert isinstance(twin, numba.core.registry.CPUDispatcher), (
            f"{loop.py_func.__name__}: no serial twin ran"
        )
        assert any(sig[0].dtype == numba.float32 for sig in twin.signatures), loop.py_func.__name__
        assert threads.sized(loop, 0) is twin and threads.sized(loop, 1 << 62) is loop
