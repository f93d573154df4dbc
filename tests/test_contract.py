"""The layer contract: errors, dtypes, in-place gradients, untouched dout, fresh outputs, views."""

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.gradcheck import layer_catalogue

LAYER_IDS = list(layer_catalogue(np.random.default_rng(0)))  # one awkward configuration of every layer type


@pytest.fixture(params=LAYER_IDS)
def layer_and_shape(request):
    layer, shape = layer_catalogue(np.random.default_rng(0), np.float32)[request.param]
    return layer, shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("train", [True, False])
def test_dtype_preserved_and_shapes_predicted(layer_and_shape, dtype, train, backend):
    layer, shape = layer_and_shape
    layer = layer.astype(dtype)
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    y = layer.forward(x, train=train)
    assert y.dtype == dtype and y.shape == layer.output_shape(shape)
    dx = layer.backward(np.ones(y.shape, dtype))
    assert dx.dtype == dtype and dx.shape == x.shape
    for k in layer.params:
        assert layer.params[k].dtype == dtype and layer.grads[k].dtype == dtype
        assert layer.grads[k].shape == layer.params[k].shape


def test_backward_never_mutates_dout_and_writes_grads_in_place(layer_and_shape, backend):
    layer, shape = layer_and_shape
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    param_ids = {k: id(v) for k, v in layer.params.items()}
    grad_ids = {k: id(v) for k, v in layer.grads.items()}
    y = layer.forward(x, train=True)
    dout = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
    dout_before = dout.copy()
    layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_before)
    first = {k: g.copy() for k, g in layer.grads.items()}
    layer.forward(x, train=True)
    layer.backward(dout)
    assert {k: id(v) for k, v in layer.params.items()} == param_ids
    assert {k: id(v) for k, v in layer.grads.items()} == grad_ids
    if not isinstance(layer, an.Dropout):  # dropout draws a new mask; the rest must repeat exactly
        for k, g in layer.grads.items():
            np.testing.assert_allclose(g, first[k], rtol=1e-6)  # overwritten, not accumulated


def test_returned_arrays_are_never_overwritten(layer_and_shape, backend):
    layer, shape = layer_and_shape
    rng = np.random.default_rng(3)
    x1 = rng.standard_normal(shape).astype(np.float32)
    y1 = layer.forward(x1, train=False)
    y1_copy = y1.copy()
    dx1 = layer.backward(np.ones_like(y1))
    dx1_copy = dx1.copy()
    y2 = layer.forward(rng.standard_normal(shape).astype(np.float32), train=False)
    layer.backward(np.full_like(y2, 2.0))
    np.testing.assert_array_equal(y1, y1_copy)
    np.testing.assert_array_equal(dx1, dx1_copy)


@pytest.mark.parametrize("view", ["transposed", "sliced"])
def test_non_contiguous_input_gives_the_same_result(layer_and_shape, view, backend):
    layer, shape = layer_and_shape
    rng = np.random.default_rng(4)
    if view == "transposed":  # same logical array, reversed memory order
        x = np.ascontiguousarray(rng.standard_normal(shape).astype(np.float32).T).T
    else:  # every other element of a larger array
        big = rng.standard_normal(tuple(2 * s for s in shape)).astype(np.float32)
        x = big[tuple(slice(None, None, 2) for _ in shape)]
    assert not x.flags.c_contiguous
    dout_rng = np.random.default_rng(5)
    y_view = layer.forward(x, train=False)
    dout = dout_rng.standard_normal(y_view.shape).astype(np.float32)
    dx_view = layer.backward(dout)
    y_copy = layer.forward(np.ascontiguousarray(x), train=False)
    dx_copy = layer.backward(np.ascontiguousarray(dout))
    np.testing.assert_allclose(y_view, y_copy, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dx_view, dx_copy, rtol=1e-6, atol=1e-7)


def test_repr_is_one_line(layer_and_shape):
    layer, _ = layer_and_shape
    assert "\n" not in repr(layer) and repr(layer).startswith(type(layer).__name__ + "(")


def test_backward_before_forward_raises(layer_and_shape):
    layer, shape = layer_and_shape
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros(layer.output_shape(shape), np.float32))


def test_wrong_dout_shape_names_both_shapes(layer_and_shape):
    layer, shape = layer_and_shape
    y = layer.forward(np.ones(shape, np.float32), train=False)
    bad = y.shape[:-1] + (y.shape[-1] + 1,)
    with pytest.raises(ValueError) as err:
        layer.backward(np.zeros(bad, np.float32))
    assert (
        type(layer).__name__ in str(err.value)
        and str(y.shape) in str(err.value)
        and str(bad) in str(err.value)
    )


@pytest.mark.parametrize("bad_dtype", [np.int64, np.uint8, np.float16, bool])
def test_non_float_input_raises_type_error(layer_and_shape, bad_dtype):
    layer, shape = layer_and_shape
    with pytest.raises(TypeError, match=type(layer).__name__):
        layer.forward(np.ones(shape, dtype=bad_dtype))


def test_wrong_float_dtype_for_a_layer_with_parameters():
    with pytest.raises(TypeError, match=r"float32.*astype.*float64"):
        an.Linear(3, 2).forward(np.ones((1, 3), np.float64))


def test_lists_are_not_silently_converted():
    with pytest.raises(TypeError, match="numpy.ndarray"):
        an.ReLU().forward([[1.0, -1.0]])


@pytest.mark.parametrize(
    "layer,shape,expected",
    [
        (an.Conv2d(3, 8, 3), (2, 3, 8), "(N, 3, H, W)"),  # wrong ndim
        (an.Conv2d(3, 8, 3), (2, 4, 8, 8), "(N, 3, H, W)"),  # wrong channels
        (an.Conv2d(3, 8, 11, stride=4), (1, 3, 8, 8), "large enough"),  # too small for the kernel
        (an.MaxPool2d(3, 2), (1, 3, 2, 9), "large enough"),
        (an.MaxPool2d(3, 2), (3, 9, 9), "(N, C, H, W)"),
        (an.Linear(10, 2), (4, 9), "(N, 10)"),
        (an.Linear(10, 2), (4, 10, 1), "(N, 10)"),
        (an.BatchNorm2d(4), (2, 3, 5, 5), "(N, 4, H, W)"),
        (an.BatchNorm1d(4), (2, 5), "(N, 4)"),
        (an.LocalResponseNorm(), (2, 6), "(N, C, H, W)"),
        (an.AdaptiveAvgPool2d(6), (2, 6, 6), "(N, C, H, W)"),
        (an.Flatten(), (5,), "at least 2 dimensions"),
    ],
)
def test_bad_shapes_name_the_layer_and_both_shapes(layer, shape, expected):
    for call in (lambda: layer.forward(np.ones(shape, np.float32)), lambda: layer.output_shape(shape)):
        with pytest.raises(ValueError) as err:
            call()
        msg = str(err.value)
        assert type(layer).__name__ in msg and expected in msg and str(tuple(shape)) in msg, msg


def test_batchnorm_training_needs_more_than_one_value():
    with pytest.raises(ValueError, match="more than one value"):
        an.BatchNorm1d(3).forward(np.ones((1, 3), np.float32), train=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: an.Conv2d(3, 8, 3, groups=2),
        lambda: an.Conv2d(0, 8, 3),
        lambda: an.Conv2d(3, 8, 0),
        lambda: an.MaxPool2d(3, padding=2),
        lambda: an.Dropout(1.5),
        lambda: an.Dropout(0.5, convention="train"),
        lambda: an.LocalResponseNorm(0),
        lambda: an.LocalResponseNorm(convention="caffe"),
        lambda: an.Linear(0, 3),
        lambda: an.AdaptiveAvgPool2d(0),
        lambda: an.BatchNorm2d(3, momentum=2.0),
    ],
)
def test_bad_hyper_parameters_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: an.Conv2d(3, 8, 2.5),
        lambda: an.Conv2d(3, 8, 3, dtype=np.int32),
        lambda: an.Linear(3, 2, rng="seed"),
    ],
)
def test_bad_hyper_parameter_types_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_cross_entropy_bad_input():
    loss = an.CrossEntropyLoss()
    logits = np.zeros((3, 4), np.float32)
    with pytest.raises(TypeError, match="integers"):
        loss.forward(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"expected \(3,\), got \(2,\)"):
        loss.forward(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        loss.forward(logits, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match=r"expected \(N, K\)"):
        loss.forward(np.zeros(4, np.float32), np.array([0]))
    with pytest.raises(RuntimeError):
        an.CrossEntropyLoss().backward()


def test_dropout_masks_follow_the_generator():
    x = np.ones((100, 100), np.float32)
    a = an.Dropout(0.5, rng=np.random.default_rng(9)).forward(x, train=True)
    b = an.Dropout(0.5, rng=np.random.default_rng(9)).forward(x, train=True)
    np.testing.assert_array_equal(a, b)
    kept = (a != 0).mean()
    assert 0.47 < kept < 0.53 and set(np.unique(a)) == {0.0, 2.0}
    np.testing.assert_array_equal(an.Dropout(0.5).forward(x, train=False), x)
    np.testing.assert_array_equal(an.Dropout(0.5, convention="paper").forward(x, train=False), 0.5 * x)


def test_sequential_collects_the_layers_own_arrays():
    net = an.Sequential([("fc1", an.Linear(4, 3)), ("relu", an.ReLU()), ("fc2", an.Linear(3, 2))])
    assert list(net.params) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert net.params["fc2.weight"] is net["fc2"].params["weight"]
    assert net.grads["fc1.bias"] is net["fc1"].grads["bias"]
    assert net.num_params() == 4 * 3 + 3 + 3 * 2 + 2
    y, acts = net.forward(np.ones((5, 4), np.float32), return_activations=True)
    assert list(acts) == ["fc1", "relu", "fc2"] and acts["fc2"] is y
    net64 = net.astype(np.float64)
    assert net64.dtype == np.float64 and net.dtype == np.float32
    assert net64.params["fc1.weight"] is net64["fc1"].params["weight"]
    np.testing.assert_array_equal(net64.params["fc1.weight"], net.params["fc1.weight"])
    with pytest.raises(ValueError):
        an.Sequential([("a", an.ReLU()), ("a", an.ReLU())])
    with pytest.raises(TypeError):
        an.Sequential([("a", np.zeros(3))])
