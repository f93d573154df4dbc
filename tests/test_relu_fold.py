"""The ReLU folded into a convolution's output transform: the same y, mask and gradients as the two layers run
one after the other, bit for bit; it happens only where no one watches the outputs, and every output is there
by name where someone does."""

import copy

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.ops import kernels
from alexnet_np.ops import winograd_kernels as K

# (N, C, H, W, F, r, padding, groups, m): whole passes, and forwards in blocks (rows_per_block > 0)
CASES = [
    (2, 6, 11, 9, 5, 3, 1, 1, 2),  # whole passes, overhanging tiles
    (2, 8, 12, 12, 6, 5, 2, 2, 3),  # whole passes, 5×5, groups
    (1, 48, 53, 53, 16, 3, 0, 1, 5),  # in blocks (conv1 by space-to-depth, fewer filters)
    (3, 32, 35, 35, 12, 3, 1, 2, 4),  # in blocks, grouped, padded
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_folded_relu_equals_the_convolution_then_the_relu_kernel(case, dtype, small_blocks, monkeypatch):
    """y and mask against conv2d_winograd then kernels.relu_forward (whole passes or blocks alike), NaN, the
    zero a dead filter gives (its weights and bias 0: y = +0.0) and a padded border included."""
    n, c, h, w, f, r, pad, groups, m = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    x[0, 0, h // 2, w // 2] = np.nan  # NaN in every output that reads it, on both paths
    weight = rng.standard_normal((f, c // groups, r, r)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)
    weight[-1], bias[-1] = 0, 0  # a dead filter: its outputs are exactly 0 (bar the NaN's)
    blocked = K.rows_per_block(x.shape, weight.shape, pad, m, x.dtype.itemsize) > 0
    assert blocked == (case in CASES[2:])
    ran = []
    real_run_blocks = K.gemm.run_blocks
    monkeypatch.setattr(K.gemm, "run_blocks", lambda blocks: ran.append(1) or real_run_blocks(blocks))
    y, mask = K.conv2d_winograd(x, weight, bias, pad, groups, m, relu=True)
    assert bool(ran) == blocked  # the folded ReLU ran on the path the plain forward takes
    plain = K.conv2d_winograd(x, weight, bias, pad, groups, m)
    y_ref, mask_ref = kernels.relu_forward(plain)
    assert y.tobytes() == y_ref.tobytes() and np.array_equal(mask, mask_ref)
    assert np.isnan(y).any() and (y == 0).any() and (plain < 0).any() and not (y < 0).any()
    assert mask.dtype == bool and mask.shape == plain.shape
    assert y.transpose(0, 2, 3, 1).flags.c_contiguous and mask.transpose(0, 2, 3, 1).flags.c_contiguous


def _step(model, x, labels, watched):
    """A training step's forward and backward; watched: the outputs asked for by name."""
    loss = an.CrossEntropyLoss()
    if watched:
        out, acts = model.forward(x, train=True, return_activations=True)
    else:
        out, acts = model.forward(x, train=True), None
    loss.forward(out, labels)
    model.backward(loss.backward(), input_grad=False)
    return out, acts, {k: g.copy() for k, g in model.grads.items()}


@pytest.mark.parametrize("blocks", [False, True])
@pytest.mark.parametrize("variant", ["single_tower", "torchvision"])
def test_a_network_with_folded_relus_trains_as_one_without(variant, blocks, monkeypatch, request):
    """Unwatched, the ReLUs after the convolutions fold (relu_forward runs only for those after the Linear
    layers); watched, none folds, the convolutions' own outputs (negative values and all) are there by name;
    the logits and every gradient are equal bit for bit (dropout's draws too: the copies start alike). At
    batch 2 the forwards run whole passes; with blocks of any size, conv1 (by space-to-depth) runs in blocks."""
    if blocks:
        request.getfixturevalue("small_blocks")
    model = an.AlexNet(variant, seed=0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, *model.input_size)).astype(np.float32)
    labels = rng.integers(0, model.num_classes, 2)
    twin = copy.deepcopy(model)
    calls = []
    real = kernels.relu_forward
    monkeypatch.setattr(kernels, "relu_forward", lambda a: calls.append(a.shape) or real(a))
    with an.use_backend("numba"), an.use_conv_algorithm("auto"):
        assert (model["conv1"].winograd_rows_per_block(x.shape) > 0) == blocks
        out, _, grads = _step(model, x, labels, watched=False)
        assert calls == [(2, 4096), (2, 4096)]  # relu6, relu7: after a Linear, not folded
        calls.clear()
        out_w, acts, grads_w = _step(twin, x, labels, watched=True)
    assert len(calls) == 7  # watched: every ReLU runs as a layer of its own
    assert (acts["conv1"] < 0).any() and not (acts["relu1"] < 0).any()
    assert out.tobytes() == out_w.tobytes()
    assert grads.keys() == grads_w.keys()
    for k in grads:
        assert grads[k].tobytes() == grads_w[k].tobytes(), k


def test_hooks_see_every_output_and_nothing_folds(monkeypatch):
    """A forward hook is someone watching: it gets each layer's own output, the convolution's before the ReLU."""
    model = an.AlexNet("single_tower", seed=0)
    x = np.random.default_rng(2).standard_normal((1, 3, *model.input_size)).astype(np.float32)
    seen, calls = {}, []
    real = kernels.relu_forward
    monkeypatch.setattr(kernels, "relu_forward", lambda a: calls.append(a.shape) or real(a))
    with an.use_backend("numba"), an.use_conv_algorithm("auto"):
        with model.hooks(forward=lambda name, layer, a, y: seen.setdefault(name, y)):
            y = model.forward(x)
        assert len(calls) == 7
        calls.clear()
        unwatched = model.forward(x)
        # folded after conv1 and conv2; at batch 1 conv3-conv5 run im2col (no output pass to fold into), and
        # relu6, relu7 follow a Linear: five ReLUs ran as layers of their own
        assert calls == [(1, 384, 13, 13), (1, 384, 13, 13), (1, 256, 13, 13), (1, 4096), (1, 4096)]
    assert list(seen) == list(model.layers)
    assert (seen["conv2"] < 0).any() and np.array_equal(seen["relu2"], np.maximum(seen["conv2"], 0))
    assert y.tobytes() == unwatched.tobytes()


def test_a_subclass_with_its_own_forward_is_not_folded():
    """A layer whose forward is not the library's (the capstone's student layers subclass Conv2d and ReLU) runs
    its own forward, watched or not: nothing is folded past it."""

    class Shifted(an.Conv2d):
        def forward(self, x, train=False):
            return super().forward(x, train=train) + 1

    class Doubled(an.ReLU):
        def forward(self, x, train=False):
            return 2 * super().forward(x, train=train)

    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 9, 9))
    for first, second in ((Shifted, an.ReLU), (an.Conv2d, Doubled)):
        conv = first(3, 4, 3, padding=1, algorithm="winograd", rng=0, dtype=np.float64)
        model = an.Sequential(conv, second())
        with an.use_backend("numba"):
            watched = model.forward(x, return_activations=True)[0]
            np.testing.assert_array_equal(model.forward(x), watched)
            assert conv.forward_relu(x) is None or first is an.Conv2d


def test_what_cannot_fold_runs_the_two_layers():
    """im2col, the NumPy backend and a Linear have no output pass that takes the ReLU: forward_relu answers
    None and forward_after runs the two forwards, with the mask the ReLU's backward reads."""
    rng = np.random.default_rng(3)
    conv = an.Conv2d(3, 4, 3, padding=1, rng=rng, dtype=np.float64, algorithm="im2col")
    x = rng.standard_normal((2, 3, 6, 6))
    assert conv.forward_relu(x) is None
    with an.use_backend("numpy"):
        assert an.Conv2d(3, 4, 3, rng=rng, dtype=np.float64, algorithm="winograd").forward_relu(x) is None
    relu = an.ReLU()
    y = relu.forward_after(conv, x)
    pre = conv.forward(x)
    np.testing.assert_array_equal(y, np.maximum(pre, 0))
    dout = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(relu.backward(dout), dout * (pre > 0))
    linear = an.Linear(5, 3, rng=rng, dtype=np.float64)
    assert linear.forward_relu(rng.standard_normal((2, 5))) is None
