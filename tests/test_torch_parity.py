"""Forward and backward of every layer against PyTorch, float32 and float64.

torch is a test-only dependency and is imported unconditionally: a missing torch fails
the run instead of skipping the parity tests.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _util import assert_close, random_conv_config

import alexnet_np as an
from alexnet_np.gradcheck import KINK_MARGIN_FLOAT64, kink_margins

torch.set_num_threads(2)
DTYPES = [np.float32, np.float64]


def _t(a, grad=True):
    return torch.tensor(np.ascontiguousarray(a), requires_grad=grad)


def _run_both(layer, x, torch_fn, rng, train=False):
    """Forward both, backward a random dout through both; return our and torch's (y, dx, grads)."""
    y = layer.forward(x, train=train)
    dout = rng.standard_normal(y.shape).astype(x.dtype)
    dx = layer.backward(dout)
    xt = _t(x)
    yt = torch_fn(xt)
    yt.backward(_t(dout, grad=False))
    return (y, dx), (yt.detach().numpy(), xt.grad.numpy())


def _random_conv_configs(n, seed):
    rng = np.random.default_rng(seed)
    return [random_conv_config(lambda lo, hi: int(rng.integers(lo, hi + 1)), max_groups=2) for _ in range(n)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "cfg", _random_conv_configs(12, seed=1), ids=lambda c: f"k{c['k']}s{c['s']}p{c['p']}g{c['g']}"
)
def test_conv2d(cfg, dtype, backend):
    rng = np.random.default_rng(0)
    conv = an.Conv2d(
        cfg["cin"],
        cfg["cout"],
        cfg["k"],
        stride=cfg["s"],
        padding=cfg["p"],
        groups=cfg["g"],
        rng=rng,
        dtype=dtype,
    )
    x = rng.standard_normal(cfg["shape"]).astype(dtype)
    wt, bt = _t(conv.params["weight"]), _t(conv.params["bias"])
    ours, theirs = _run_both(conv, x, lambda xt: F.conv2d(xt, wt, bt, cfg["s"], cfg["p"], 1, cfg["g"]), rng)
    for a, b in zip(ours, theirs):
        assert_close(a, b, dtype)
    assert_close(conv.grads["weight"], wt.grad.numpy(), dtype)
    assert_close(conv.grads["bias"], bt.grad.numpy(), dtype)
    assert ours[0].dtype == dtype and ours[1].dtype == dtype and conv.grads["weight"].dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 5])
def test_linear(n, dtype, rng):
    lin = an.Linear(9, 4, rng=rng, dtype=dtype)
    x = rng.standard_normal((n, 9)).astype(dtype)
    wt, bt = _t(lin.params["weight"]), _t(lin.params["bias"])
    ours, theirs = _run_both(lin, x, lambda xt: F.linear(xt, wt, bt), rng)
    for a, b in zip(ours, theirs):
        assert_close(a, b, dtype)
    assert_close(lin.grads["weight"], wt.grad.numpy(), dtype)
    assert_close(lin.grads["bias"], bt.grad.numpy(), dtype)


POOLS = [
    ((3, 3), (2, 2), (0, 0), (2, 3, 13, 11)),
    ((3, 2), (2, 1), (1, 1), (1, 2, 7, 6)),
    ((2, 2), (2, 2), (0, 0), (2, 2, 8, 9)),
    ((3, 3), (1, 2), (1, 0), (1, 1, 5, 7)),
    ((3, 3), (2, 2), (0, 0), (1, 4, 55, 55)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,s,p,shape", POOLS)
def test_maxpool2d(k, s, p, shape, dtype, backend, rng):
    pool = an.MaxPool2d(k, s, p)
    x = rng.standard_normal(shape).astype(dtype)
    ours, theirs = _run_both(pool, x, lambda xt: F.max_pool2d(xt, k, s, p), rng)
    for a, b in zip(ours, theirs):
        assert_close(a, b, dtype)


CEIL_POOLS = [
    ((3, 3), (2, 2), (0, 0), (1, 3, 54, 54)),  # cuda-convnet's pool1 on the 224 network: 26.5 → 27
    ((3, 3), (2, 2), (0, 0), (2, 2, 6, 7)),
    ((2, 2), (2, 2), (1, 1), (1, 2, 5, 5)),  # 3.5 → 4 would start the last window in the padding: 3
    ((3, 2), (3, 2), (1, 0), (1, 1, 8, 7)),
    ((3, 3), (1, 2), (1, 1), (2, 2, 9, 10)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,s,p,shape", CEIL_POOLS)
def test_maxpool2d_ceil_mode(k, s, p, shape, dtype, backend, rng):
    pool = an.MaxPool2d(k, s, p, ceil_mode=True)
    x = rng.standard_normal(shape).astype(dtype)
    ours, theirs = _run_both(pool, x, lambda xt: F.max_pool2d(xt, k, s, p, ceil_mode=True), rng)
    assert ours[0].shape == theirs[0].shape == pool.output_shape(shape)
    for a, b in zip(ours, theirs):
        assert_close(a, b, dtype)
    assert pool.output_shape(shape) != an.MaxPool2d(k, s, p).output_shape(shape) or shape == (1, 2, 5, 5)


def test_maxpool2d_ceil_mode_naive_and_torch_spec(rng):
    from alexnet_np.ops import naive

    x = rng.standard_normal((1, 2, 54, 54))
    pool = an.MaxPool2d(3, 2, ceil_mode=True)
    np.testing.assert_array_equal(pool.forward(x), naive.maxpool2d_naive(x, 3, 2, ceil_mode=True))
    assert pool.torch_spec() == (
        "MaxPool2d",
        dict(kernel_size=(3, 3), stride=(2, 2), padding=(0, 0), ceil_mode=True),
    )
    assert "ceil_mode=True" in repr(pool) and "→ 27" in pool.output_arithmetic((1, 2, 54, 54))


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxpool2d_ties_match_pytorch(dtype, backend, rng):
    # Values from a set of 3 make ties in most windows: the gradient must go where PyTorch sends it.
    x = rng.integers(0, 3, size=(2, 2, 9, 9)).astype(dtype)
    ours, theirs = _run_both(an.MaxPool2d(3, 2), x, lambda xt: F.max_pool2d(xt, 3, 2), rng)
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert_close(ours[1], theirs[1], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "out_size,shape",
    [((6, 6), (2, 3, 6, 6)), ((4, 3), (1, 2, 9, 7)), ((2, 5), (2, 1, 5, 11)), ((3, 3), (1, 2, 13, 13))],
)
def test_adaptive_avgpool2d(out_size, shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    ours, theirs = _run_both(
        an.AdaptiveAvgPool2d(out_size), x, lambda xt: F.adaptive_avg_pool2d(xt, out_size), rng
    )
    for a, b in zip(ours, theirs):
        assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", ["paper", "pytorch"])
@pytest.mark.parametrize("size,channels", [(5, 96), (5, 3), (2, 6), (3, 7), (1, 4)])
def test_local_response_norm(size, channels, form, dtype, backend, rng):
    # Channel counts below and near the window size exercise the clipped edges.
    lrn = an.LocalResponseNorm(size, alpha=1e-2, beta=0.75, k=2.0, convention=form)
    t = lrn.torch_equivalent()
    x = (3 * rng.standard_normal((2, channels, 3, 4))).astype(dtype)
    ours, theirs = _run_both(
        lrn, x, lambda xt: F.local_response_norm(xt, t["size"], t["alpha"], t["beta"], t["k"]), rng
    )
    for a, b in zip(ours, theirs):
        assert_close(a, b, dtype)


def test_lrn_paper_defaults_are_torch_alpha_5e4_k2():
    lrn = an.LocalResponseNorm()
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k, lrn.convention) == (5, 1e-4, 0.75, 2.0, "paper")
    assert lrn.torch_equivalent() == dict(size=5, alpha=pytest.approx(5e-4), beta=0.75, k=2.0)
    assert "torch.nn.LocalResponseNorm(5, alpha=0.0005, beta=0.75, k=2)" in repr(lrn)
    # and it really is the same function as that torch module
    x = np.random.default_rng(0).standard_normal((1, 8, 2, 2)) * 40
    ref = torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(torch.tensor(x)).numpy()
    assert_close(lrn.forward(x), ref, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "layer,fn", [(an.ReLU(), torch.relu), (an.Tanh(), torch.tanh), (an.Flatten(), lambda t: t.flatten(1))]
)
def test_elementwise_and_flatten(layer, fn, dtype, rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(dtype)
    x[0, 0, 0, :2] = 0.0  # ReLU's gradient at exactly 0 is 0 in both
    ours, theirs = _run_both(layer, x, fn, rng)
    for a, b in zip(ours, theirs):
        assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("convention", ["pytorch", "paper"])
def test_dropout_with_the_same_mask(convention, dtype, rng):
    p = 0.4
    drop = an.Dropout(p, rng=np.random.default_rng(5), convention=convention)
    x = rng.standard_normal((6, 50)).astype(dtype)
    scale = 1 / (1 - p) if convention == "pytorch" else 1.0
    # The mask is ours (two RNGs cannot agree); the arithmetic around it is compared with torch.
    ours, theirs = _run_both(
        drop, x, lambda xt: xt * torch.tensor(drop_mask(drop, x)) * scale, rng, train=True
    )
    for a, b in zip(ours, theirs):
        assert_close(a, b, dtype)
    eval_scale = 1.0 if convention == "pytorch" else 1 - p
    assert_close(
        drop.forward(x, train=False),
        F.dropout(torch.tensor(x), p, training=False).numpy() * eval_scale,
        dtype,
    )


def drop_mask(drop, x):
    return drop.mask.astype(x.dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,shape", [("2d", (4, 3, 5, 2)), ("1d", (7, 6)), ("2d", (1, 2, 3, 3))])
def test_batchnorm(kind, shape, dtype, rng):
    c = shape[1]
    ours_bn = (an.BatchNorm2d if kind == "2d" else an.BatchNorm1d)(c, eps=1e-3, momentum=0.2, dtype=dtype)
    ours_bn.params["weight"][:] = rng.standard_normal(c)
    ours_bn.params["bias"][:] = rng.standard_normal(c)
    tbn = (torch.nn.BatchNorm2d if kind == "2d" else torch.nn.BatchNorm1d)(c, eps=1e-3, momentum=0.2)
    tbn = tbn.to(torch.float32 if dtype == np.float32 else torch.float64)
    with torch.no_grad():
        tbn.weight.copy_(torch.tensor(ours_bn.params["weight"]))
        tbn.bias.copy_(torch.tensor(ours_bn.params["bias"]))
    for train in (True, False, True):
        tbn.train(train)
        x = (2 * rng.standard_normal(shape) + 1).astype(dtype)
        ours, theirs = _run_both(ours_bn, x, tbn, rng, train=train)
        for a, b in zip(ours, theirs):
            assert_close(a, b, dtype)
        assert_close(ours_bn.grads["weight"], tbn.weight.grad.numpy(), dtype)
        assert_close(ours_bn.grads["bias"], tbn.bias.grad.numpy(), dtype)
        assert_close(ours_bn.buffers["running_mean"], tbn.running_mean.numpy(), dtype)
        assert_close(ours_bn.buffers["running_var"], tbn.running_var.numpy(), dtype)
        tbn.weight.grad = tbn.bias.grad = None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 8])
def test_cross_entropy(n, dtype, rng):
    logits = (rng.standard_normal((n, 10)) * 20).astype(dtype)
    labels = rng.integers(0, 10, size=n)
    loss = an.CrossEntropyLoss()
    value = loss.forward(logits, labels)
    lt = _t(logits)
    ref = F.cross_entropy(lt, torch.tensor(labels))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-5 if dtype == np.float32 else 1e-12)
    assert_close(loss.backward(), lt.grad.numpy(), dtype)


def test_cross_entropy_survives_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4]], dtype=np.float32)
    loss = an.CrossEntropyLoss()
    assert loss.forward(logits, np.array([0])) == 0.0
    assert np.isfinite(loss.forward(logits, np.array([2])))
    assert np.all(np.isfinite(loss.backward()))


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_network_end_to_end(dtype, backend):
    """A conv-relu-lrn-pool-conv(groups)-flatten-linear stack against the same torch.nn stack."""
    rng = np.random.default_rng(2)
    net = an.Sequential(
        [
            ("conv1", an.Conv2d(3, 8, 5, stride=2, padding=2, rng=rng)),
            ("relu1", an.ReLU()),
            ("lrn1", an.LocalResponseNorm(5, alpha=1e-3)),
            ("pool1", an.MaxPool2d(3, 2)),
            ("conv2", an.Conv2d(8, 4, 3, padding=1, groups=2, rng=rng)),
            ("relu2", an.ReLU()),
            ("flatten", an.Flatten()),
            ("fc", an.Linear(4 * 3 * 3, 5, rng=rng)),
        ]
    ).astype(dtype)
    tnet = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 5, stride=2, padding=2),
        torch.nn.ReLU(),
        torch.nn.LocalResponseNorm(5, alpha=5e-3, beta=0.75, k=2.0),
        torch.nn.MaxPool2d(3, 2),
        torch.nn.Conv2d(8, 4, 3, padding=1, groups=2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(36, 5),
    ).to(torch.float32 if dtype == np.float32 else torch.float64)
    tparams = dict(
        zip(
            ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"],
            tnet.parameters(),
        )
    )
    with torch.no_grad():
        for k, p in tparams.items():
            p.copy_(torch.tensor(net.params[k]))
    x = rng.standard_normal((2, 3, 15, 15)).astype(dtype)
    if dtype == np.float64:  # gradients are compared only at a checked distance from every kink
        margins = kink_margins(net, x)
        assert min(margins.values()) > KINK_MARGIN_FLOAT64, margins
    ours, theirs = _run_both(net, x, tnet, rng)
    assert_close(ours[0], theirs[0], dtype)  # the forward pass is continuous across kinks: any dtype
    if dtype == np.float32:
        return  # float32 rounding (~1e-7 of the scale) may put a ReLU input on either side of 0
    assert_close(ours[1], theirs[1], dtype)
    for k, p in tparams.items():
        assert_close(net.grads[k], p.grad.numpy(), dtype)
