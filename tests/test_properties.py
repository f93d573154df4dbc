"""Property-based tests (hypothesis): random layer configurations and shapes, 200 examples per property.

Each property draws a configuration (channels, kernel, stride, padding, groups, batch, spatial
size), and checks that the Numba kernels equal the NumPy reference, that both equal PyTorch,
and that shape inference predicts the real output shape.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _util import assert_close, random_conv_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import alexnet_np as an

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def conv_configs(draw):
    cfg = random_conv_config(lambda lo, hi: draw(st.integers(lo, hi)))
    return dict(cfg, seed=draw(st.integers(0, 2**31 - 1)))


@pytest.mark.slow
@PROPERTY
@given(conv_configs())
def test_conv2d_backends_torch_and_shapes_agree(cfg):
    rng = np.random.default_rng(cfg["seed"])
    conv = an.Conv2d(
        cfg["cin"], cfg["cout"], cfg["k"], cfg["s"], cfg["p"], cfg["g"], rng=rng, dtype=np.float64
    )
    x = rng.standard_normal(cfg["shape"])
    results = {}
    for backend in an.BACKENDS:
        with an.use_backend(backend):
            y = conv.forward(x)
            dout = np.random.default_rng(1).standard_normal(y.shape)
            results[backend] = (
                y,
                conv.backward(dout),
                conv.grads["weight"].copy(),
                conv.grads["bias"].copy(),
            )
    assert y.shape == conv.output_shape(x.shape)
    for a, b in zip(results["numba"], results["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(conv.params["weight"], requires_grad=True)
    bt = torch.tensor(conv.params["bias"], requires_grad=True)
    yt = F.conv2d(xt, wt, bt, cfg["s"], cfg["p"], 1, cfg["g"])
    yt.backward(torch.tensor(dout))
    for ours, theirs in zip(results["numba"], (yt, xt.grad, wt.grad, bt.grad)):
        assert_close(ours, theirs.detach().numpy(), np.float64)


@st.composite
def pool_configs(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 11))
    w = draw(st.integers(max(1, kw - 2 * pw), 11))
    ties = draw(st.booleans())
    return dict(
        k=(kh, kw),
        s=(sh, sw),
        p=(ph, pw),
        shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w),
        ties=ties,
        seed=draw(st.integers(0, 2**31 - 1)),
    )


@pytest.mark.slow
@PROPERTY
@given(pool_configs())
def test_maxpool_backends_torch_and_shapes_agree(cfg):
    rng = np.random.default_rng(cfg["seed"])
    x = (
        rng.integers(0, 3, cfg["shape"]).astype(np.float64)
        if cfg["ties"]
        else rng.standard_normal(cfg["shape"])
    )
    pool = an.MaxPool2d(cfg["k"], cfg["s"], cfg["p"])
    results = {}
    for backend in an.BACKENDS:
        with an.use_backend(backend):
            y = pool.forward(x)
            dout = np.random.default_rng(1).standard_normal(y.shape)
            results[backend] = (y, pool.backward(dout))
    assert y.shape == pool.output_shape(x.shape)
    for a, b in zip(results["numba"], results["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    xt = torch.tensor(x, requires_grad=True)
    yt = F.max_pool2d(xt, cfg["k"], cfg["s"], cfg["p"])
    yt.backward(torch.tensor(dout))
    np.testing.assert_array_equal(results["numba"][0], yt.detach().numpy())
    assert_close(results["numba"][1], xt.grad.numpy(), np.float64)


@pytest.mark.slow
@PROPERTY
@given(
    size=st.integers(1, 7),
    channels=st.integers(1, 12),
    form=st.sampled_from(["paper", "pytorch"]),
    alpha=st.floats(1e-4, 1.0),
    beta=st.floats(0.1, 1.5),
    k=st.floats(0.5, 3.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_lrn_backends_and_torch_agree(size, channels, form, alpha, beta, k, seed):
    rng = np.random.default_rng(seed)
    x = 2 * rng.standard_normal((2, channels, 3, 2))
    lrn = an.LocalResponseNorm(size, alpha, beta, k, convention=form)
    results = {}
    for backend in an.BACKENDS:
        with an.use_backend(backend):
            y = lrn.forward(x)
            dout = np.random.default_rng(1).standard_normal(y.shape)
            results[backend] = (y, lrn.backward(dout))
    for a, b in zip(results["numba"], results["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)
    t = lrn.torch_equivalent()
    xt = torch.tensor(x, requires_grad=True)
    yt = F.local_response_norm(xt, t["size"], t["alpha"], t["beta"], t["k"])
    yt.backward(torch.tensor(dout))
    assert_close(results["numba"][0], yt.detach().numpy(), np.float64)
    assert_close(results["numba"][1], xt.grad.numpy(), np.float64)


@st.composite
def networks(draw):
    """A random small stack of layers and an input size that may or may not fit it."""
    layers, c = [], 3
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "pool", "relu", "lrn", "avgpool"]))
        if kind == "conv":
            out = draw(st.integers(1, 4))
            layers.append(
                (
                    f"l{i}",
                    an.Conv2d(
                        c,
                        out,
                        draw(st.integers(1, 4)),
                        draw(st.integers(1, 3)),
                        draw(st.integers(0, 2)),
                        rng=np.random.default_rng(i),
                    ),
                )
            )
            c = out
        elif kind == "pool":
            k = draw(st.integers(1, 3))
            layers.append((f"l{i}", an.MaxPool2d(k, draw(st.integers(1, 3)), draw(st.integers(0, k // 2)))))
        elif kind == "avgpool":
            layers.append((f"l{i}", an.AdaptiveAvgPool2d((draw(st.integers(1, 3)), draw(st.integers(1, 3))))))
        else:
            layers.append(
                (f"l{i}", an.ReLU() if kind == "relu" else an.LocalResponseNorm(draw(st.integers(1, 5))))
            )
    shape = (draw(st.integers(1, 2)), 3, draw(st.integers(1, 16)), draw(st.integers(1, 16)))
    return an.Sequential(layers), shape


@pytest.mark.slow
@PROPERTY
@given(networks())
def test_shape_inference_matches_the_real_forward(net_and_shape):
    net, shape = net_and_shape
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    try:
        predicted = net.output_shape(shape)
    except ValueError as err:
        # too small somewhere: the forward must refuse it too, with the same message, before computing garbage
        try:
            net.forward(x)
        except ValueError as err2:
            assert str(err2) == str(err)
        else:
            raise AssertionError(f"output_shape refused {shape} but forward accepted it")
        return
    y, acts = net.forward(x, return_activations=True)
    assert y.shape == predicted
    s = shape
    for name, layer in net:
        s = layer.output_shape(s)
        assert acts[name].shape == s
