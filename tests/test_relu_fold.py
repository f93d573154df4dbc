"""The ReLU folded into a convolution's output transform and its backward into the output-transform adjoint: the
same y, mask and gradients as the two layers run one after the other, bit for bit; it happens only where no one
watches (the outputs, the backward), and every output is there by name where someone does."""

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
    """A training step's forward and backward; watched: the outputs asked for by name and a backward hook that
    records the names of the layers it sees."""
    loss = an.CrossEntropyLoss()
    if watched:
        out, acts = model.forward(x, train=True, return_activations=True)
    else:
        out, acts = model.forward(x, train=True), None
    loss.forward(out, labels)
    if watched:
        seen = []
        with model.hooks(backward=lambda name, layer, dout, dx: seen.append(name)):
            model.backward(loss.backward(), input_grad=False)
        assert seen == list(model.layers)[::-1]  # every layer's backward by name, none folded
    else:
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
    calls, back = [], []
    real, real_back = kernels.relu_forward, kernels.relu_backward
    monkeypatch.setattr(kernels, "relu_forward", lambda a: calls.append(a.shape) or real(a))
    monkeypatch.setattr(kernels, "relu_backward", lambda d, m: back.append(d.shape) or real_back(d, m))
    with an.use_backend("numba"), an.use_conv_algorithm("auto"):
        assert (model["conv1"].winograd_rows_per_block(x.shape) > 0) == blocks
        out, _, grads = _step(model, x, labels, watched=False)
        assert calls == [(2, 4096), (2, 4096)]  # relu6, relu7: after a Linear, not folded
        assert back == [(2, 4096), (2, 4096)]  # and their backwards: the others' run in the convolutions'
        calls.clear(), back.clear()
        out_w, acts, grads_w = _step(twin, x, labels, watched=True)
    assert len(calls) == 7 and len(back) == 7  # watched: every ReLU runs as a layer of its own
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


@pytest.mark.parametrize("case", CASES[:3], ids=str)
def test_the_folded_relu_backward_equals_the_relu_kernel_then_the_adjoint(case):
    """The output-transform adjoint with the ReLU's mask against kernels.relu_backward then the adjoint: dM and
    the bias gradient bit for bit, a NaN of dout where the mask is 0 and where it is 1 included (both stay
    NaN: a product, as relu_backward takes it); a mask of another shape or dtype is refused by name."""
    n, c, h, w, f, r, pad, groups, m = case
    rng = np.random.default_rng(5)
    AT = K.matrices(m, r, np.float32)[0]
    ho, wo = h + 2 * pad - r + 1, w + 2 * pad - r + 1
    dout = rng.standard_normal((n, ho, wo, f)).astype(np.float32).transpose(0, 3, 1, 2)
    mask = rng.random(dout.shape) < 0.5
    dout[0, 0, 0, 0], mask[0, 0, 0, 0] = np.nan, False
    dout[0, 1, 1, 1], mask[0, 1, 1, 1] = np.nan, True
    dm, db = K.output_transform_adjoint(dout, AT, groups, bias_grad=True, relu_mask=mask)
    dm_ref, db_ref = K.output_transform_adjoint(kernels.relu_backward(dout, mask), AT, groups, bias_grad=True)
    assert dm.tobytes() == dm_ref.tobytes() and db.tobytes() == db_ref.tobytes()
    assert np.isnan(db[0]) and np.isnan(db[1]) and not np.isnan(db[2:]).any()
    for bad in (mask[:, :, :-1], mask.astype(np.float32)):
        with pytest.raises(an.errors.BadArgument, match="relu_mask"):
            K.output_transform_adjoint(dout, AT, groups, relu_mask=bad)


def test_a_subclass_with_its_own_backward_is_not_folded():
    """A layer whose backward is not the library's runs its own backward, watched or not; im2col has no pass
    that takes the ReLU's backward (backward_relu answers NotImplemented) and the two backwards run."""

    class Halved(an.Conv2d):
        def backward(self, dout, input_grad=True):
            return super().backward(dout / 2, input_grad=input_grad)

    class Leaky(an.ReLU):
        def backward(self, dout, input_grad=True):
            return super().backward(dout, input_grad=input_grad) + 0.5 * dout

    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 9, 9))
    dout = rng.standard_normal((2, 4, 9, 9))
    for first, second, algorithm in (
        (Halved, an.ReLU, "winograd"),
        (an.Conv2d, Leaky, "winograd"),
        (an.Conv2d, an.ReLU, "im2col"),
    ):
        conv = first(3, 4, 3, padding=1, algorithm=algorithm, rng=0, dtype=np.float64)
        model = an.Sequential(conv, second())
        with an.use_backend("numba"):
            model.forward(x)
            dx = model.backward(dout)
            grads = {k: g.copy() for k, g in model.grads.items()}
            with model.hooks(backward=lambda *args: None):
                dx_watched = model.backward(dout)
        np.testing.assert_array_equal(dx, dx_watched)
        for k in grads:
            np.testing.assert_array_equal(grads[k], model.grads[k])
        conv_folds = first is an.Conv2d and algorithm == "winograd"  # what the convolution offers
        assert (conv.backward_relu(dout, dout > 0) is NotImplemented) == (not conv_folds)


def test_a_pass_put_in_the_class_s_place_runs_unwatched(monkeypatch):
    """The notebooks plant their bugs by putting a function in the class's place (``ReLU.backward = _ungated``):
    unwatched, that function runs, forward and backward, for ReLU and for Conv2d alike."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 9, 9))
    dout = rng.standard_normal((2, 4, 9, 9))
    model = an.Sequential(
        an.Conv2d(3, 4, 3, padding=1, algorithm="winograd", rng=0, dtype=np.float64), an.ReLU()
    )
    with an.use_backend("numba"):
        y = model.forward(x)
        dx = model.backward(dout)
        for cls, name, planted in (
            (an.ReLU, "forward", lambda self, x, train=False: an.ReLU.__dict__["_real"](self, x, train) + 1),
            (
                an.Conv2d,
                "forward",
                lambda self, x, train=False: an.Conv2d.__dict__["_real"](self, x, train) + 1,
            ),
            (an.ReLU, "backward", lambda self, d, input_grad=True: an.ReLU.__dict__["_real"](self, d) * 2),
            (
                an.Conv2d,
                "backward",
                lambda self, d, input_grad=True: an.Conv2d.__dict__["_real"](self, d) * 2,
            ),
        ):
            with monkeypatch.context() as patch:
                patch.setattr(cls, "_real", getattr(cls, name), raising=False)
                patch.setattr(cls, name, planted)
                y_planted = model.forward(x)
                dx_planted = model.backward(dout)
            if name == "forward":
                assert not np.array_equal(y_planted, y), cls
            else:
                np.testing.assert_array_equal(y_planted, y)
                np.testing.assert_array_equal(
                    dx_planted, 2 * dx
                )  # scaling by 2 is exact through linear passes


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
