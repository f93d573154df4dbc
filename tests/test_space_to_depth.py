"""Space-to-depth: the rearrangement (reference, Numba twin and naive loops, exactly equal in float64) and the
Conv2d strategy built on it (a strided convolution as a stride-1 Winograd one), held to the direct convolution.

Cost: about 6 s once Numba's cache is warm (small shapes; the first run compiles the two new kernels).
"""

import numpy as np
import pytest
from _util import assert_close

import alexnet_np as an
from alexnet_np.gradcheck import check_layer
from alexnet_np.ops import kernels, naive, reference

CASES = [  # block, padding, size (H', W') of z for a 23×21 image: whole, cut short and overhanging
    (4, 0, (6, 5)),
    (4, 2, (7, 6)),
    (3, 1, (9, 8)),
    (2, 0, (12, 11)),
    ((2, 3), (1, 0), (10, 4)),
]


@pytest.mark.parametrize("block, padding, size", CASES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_space_to_depth_twins_equal_the_naive_loops(block, padding, size, channels_last):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 23, 21))
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    z = naive.space_to_depth_naive(x, block, size, padding)
    np.testing.assert_array_equal(reference.space_to_depth(x, block, size, padding), z)
    fast = kernels.space_to_depth(x, block, size, padding)
    np.testing.assert_array_equal(fast, z)
    assert an.shapes.is_channels_last(fast)  # what Winograd's input transform reads
    # the adjoint: <space_to_depth(x), dz> = <x, depth_to_space(dz)>, and the twins agree exactly
    dz = rng.standard_normal(z.shape)
    dx = reference.depth_to_space(dz, block, x.shape, padding)
    np.testing.assert_array_equal(kernels.depth_to_space(dz, block, x.shape, padding), dx)
    np.testing.assert_array_equal(kernels.depth_to_space(dz, block, x.shape, padding, channels_last=True), dx)
    assert np.isclose(np.vdot(z, dz), np.vdot(x, dx), rtol=1e-12, atol=0)


def test_depth_to_space_moves_values_back():
    """Every pixel the rearrangement read comes back where it was; pixels it did not read get 0."""
    x = np.arange(2 * 3 * 23 * 21, dtype=np.float64).reshape(2, 3, 23, 21) + 1
    z = reference.space_to_depth(x, 4, (5, 5), 0)  # reads rows and columns 0..19 only
    back = reference.depth_to_space(z, 4, x.shape, 0)
    np.testing.assert_array_equal(back[:, :, :20, :20], x[:, :, :20, :20])
    assert not back[:, :, 20:].any() and not back[:, :, :, 20:].any()


# ---- the Conv2d strategy ------------------------------------------------------------------------------

LAYERS = [  # in, out, kernel, stride, padding, groups, input size: conv1's shapes and smaller odd ones
    (3, 8, 11, 4, 0, 1, 35),
    (3, 8, 11, 4, 2, 1, 32),
    (4, 6, 7, 3, 1, 2, 17),
    (2, 4, 5, 2, 2, 1, 12),
]


def _pair(cin, cout, k, s, p, g, dtype=np.float64):
    rng = np.random.default_rng(7)
    conv = an.Conv2d(cin, cout, k, s, p, g, rng=rng, dtype=dtype, algorithm="space_to_depth")
    direct = conv.astype(dtype)
    direct.algorithm = "im2col"
    return conv, direct


@pytest.mark.parametrize("cin, cout, k, s, p, g, size", LAYERS)
def test_space_to_depth_conv_equals_the_direct_one(cin, cout, k, s, p, g, size, backend):
    """float64, forward against the naive loops, and every gradient against im2col's (Winograd's rounding
    only: rtol 1e-9 of the largest value)."""
    conv, direct = _pair(cin, cout, k, s, p, g)
    x = np.random.default_rng(1).standard_normal((2, cin, size, size))
    y = conv.forward(x)
    assert conv.conv_algorithm(x.shape)[0] == "space_to_depth"
    assert_close(y, naive.conv2d_naive(x, conv.params["weight"], conv.params["bias"], s, p, g), rtol=1e-9)
    dout = np.random.default_rng(2).standard_normal(y.shape)
    dx, dx_direct = conv.backward(dout), (direct.forward(x), direct.backward(dout))[1]
    assert_close(dx, dx_direct, rtol=1e-9)
    for name in ("weight", "bias"):
        assert_close(conv.grads[name], direct.grads[name], rtol=1e-9)
    assert conv.backward(dout, input_grad=False) is None  # the first layer: no dx, the same weight gradient
    assert_close(conv.grads["weight"], direct.grads["weight"], rtol=1e-9)


def test_gradcheck_float64(backend):
    rng = np.random.default_rng(5)
    conv = an.Conv2d(2, 3, 5, 2, 1, rng=rng, dtype=np.float64, algorithm="space_to_depth")
    results = check_layer(conv, rng.standard_normal((2, 2, 11, 10)), rng=rng)
    assert set(results) == {"input", "weight", "bias"}
    assert all(r.rel_error < 1e-8 for r in results.values()), results


def test_weights_edited_between_forward_and_backward(backend):
    """dx follows the weights as they are at backward time, as on every other path (Conv2d's docstring)."""
    conv, direct = _pair(3, 4, 7, 3, 1, 1)
    x = np.random.default_rng(3).standard_normal((1, 3, 16, 16))
    dout = np.random.default_rng(4).standard_normal(conv.output_shape(x.shape))
    conv.forward(x)
    conv.params["weight"] *= -2.0  # in place
    direct.params["weight"][...] = conv.params["weight"]
    direct.forward(x)
    assert_close(conv.backward(dout), direct.backward(dout), rtol=1e-9)


def test_auto_runs_conv1_of_every_variant_by_space_to_depth():
    """conv1 (11×11 stride 4: a 3×3 kernel on 48 channels after the rearrangement) at batch 1, 8 and 32; a 3×3
    stride-2 layer (a 2×2 kernel after it) stays with im2col. (conv1 alone, as each variant builds it: a whole
    AlexNet per variant would cost seconds of weight initialisation.)"""
    from alexnet_np.model import CONVS, DEFAULT_INPUT_SIZE

    for variant in an.VARIANTS:
        cin, cout, k, s, p, g = CONVS[variant][0]
        if s == 1:
            continue  # mini
        conv1 = an.Conv2d(cin, cout, k, s, p, g)
        for batch in (1, 8, 32):
            shape = (batch, cin, DEFAULT_INPUT_SIZE[variant], DEFAULT_INPUT_SIZE[variant])
            name, m = conv1.conv_algorithm(shape)
            assert name == "space_to_depth" and 2 <= m <= 6, (variant, batch, name, m)
            assert conv1.multiplies(shape) < conv1.macs(shape) / 2
            gemms = conv1.gemm_shapes(shape)
            assert sum(a * b * c for a, b, c in gemms) == batch * conv1.multiplies(shape)
    assert an.Conv2d(4, 4, 3, stride=2).conv_algorithm((64, 4, 33, 33)) == ("im2col", None)


def test_space_to_depth_refuses_what_it_cannot_run():
    with pytest.raises(an.errors.BadArgument, match="stride above 1"):
        an.Conv2d(3, 4, 3, algorithm="space_to_depth")
    with pytest.raises(an.errors.BadArgument, match="square kernel, stride and padding"):
        an.Conv2d(3, 4, (5, 3), stride=2, algorithm="space_to_depth")
    with pytest.raises(an.errors.BadArgument, match="after space-to-depth"):
        an.Conv2d(3, 4, 2, stride=2, algorithm="space_to_depth")  # a 1×1 kernel after it
    conv = an.Conv2d(3, 4, 3)
    with an.use_conv_algorithm("space_to_depth"), pytest.raises(an.errors.BadArgument, match="this thread's"):
        conv.forward(np.zeros((1, 3, 8, 8), np.float32))


def test_float32_network_path_is_compiled(backend):
    """float32 forward and backward of a stride-4 layer on channels-last and NCHW input: the same result."""
    conv = an.Conv2d(3, 8, 11, 4, 2, rng=0, algorithm="space_to_depth")
    x = np.random.default_rng(0).standard_normal((2, 3, 35, 35)).astype(np.float32)
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    y = conv.forward(x)
    assert y.dtype == np.float32 and an.shapes.is_channels_last(y) == (backend == "numba")
    dx = conv.backward(np.ones_like(y))
    np.testing.assert_array_equal(conv.forward(xl), y)
    dxl = conv.backward(np.ones_like(y))
    np.testing.assert_array_equal(dxl, dx)
    assert an.shapes.is_channels_last(dxl) == (backend == "numba")
