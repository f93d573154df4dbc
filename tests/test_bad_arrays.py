"""Arrays the layers must refuse or handle as documented: wrong dtypes and byte orders, empty batches,
non-finite and huge values, one layer object used twice, and the backend switch seen from two threads."""

import re
import threading

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np import ops
from alexnet_np.gradcheck import layer_catalogue

LAYER_IDS = list(layer_catalogue(np.random.default_rng(0)))
BAD_DTYPES = [np.float16, np.int32, np.uint8, bool, np.longdouble, np.complex64, ">f4", ">f8"]


def _one_line_naming(msg, name):
    assert "\n" not in msg, msg
    assert msg.startswith(name + "("), msg
    assert not re.search(r"(?<![\w.])_[A-Za-z]", msg), f"a private name in: {msg}"  # _BatchNorm, _check…


# ---- D: dtypes and byte order --------------------------------------------------------------------


@pytest.mark.parametrize("layer_id", LAYER_IDS)
@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=lambda d: str(np.dtype(d)))
def test_every_layer_refuses_other_dtypes_and_byte_orders_in_one_line(layer_id, dtype, backend):
    """Big-endian float32 used to reach the Numba kernels and fail there with a TypingError."""
    layer, shape = layer_catalogue(np.random.default_rng(0), np.float32)[layer_id]
    x = np.ones(shape, dtype=dtype)
    with pytest.raises(TypeError) as err:
        layer.forward(x, train=False)
    _one_line_naming(str(err.value), type(layer).__name__)
    assert f"got {np.dtype(dtype)}" in str(err.value)


@pytest.mark.parametrize("layer_id", LAYER_IDS)
def test_dout_in_big_endian_is_refused(layer_id, backend):
    layer, shape = layer_catalogue(np.random.default_rng(0), np.float32)[layer_id]
    y = layer.forward(np.ones(shape, np.float32), train=False)
    with pytest.raises(TypeError, match=r"dout dtype: expected float32.*got >f4"):
        layer.backward(np.ones(y.shape, ">f4"))


def test_a_parameter_free_layer_names_both_floats_and_the_byte_order():
    with pytest.raises(TypeError) as err:
        an.MaxPool2d(3, 2).forward(np.ones((1, 2, 7, 7), ">f4"))
    assert str(err.value) == (
        "MaxPool2d(kernel_size=(3, 3), stride=(2, 2)): input dtype: expected float32 or float64 "
        "(native byte order), got >f4"
    )


@pytest.mark.parametrize(
    "dtype", [np.float64, np.float16, np.int64, bool, ">f4"], ids=lambda d: str(np.dtype(d))
)
def test_the_model_names_itself_and_its_first_layer_not_its_whole_repr(dtype):
    model = an.AlexNet("mini", num_classes=10, seed=0)
    with pytest.raises(TypeError) as err:
        model.forward(np.zeros((1, 3, 31, 31), dtype))
    msg = str(err.value)
    _one_line_naming(msg, "AlexNet")
    assert msg.startswith(
        "AlexNet(variant='mini', num_classes=10, input_size=(31, 31)): input dtype: expected"
    )
    assert msg.endswith(f"got {np.dtype(dtype)} — first layer conv1"), msg


def test_the_advice_fits_the_dtype():
    model = an.AlexNet("mini", num_classes=10, seed=0)
    with pytest.raises(TypeError) as err:
        model.forward(np.zeros((1, 3, 31, 31), np.float64))
    assert (
        "expected float32 (the model's dtype; use model.astype(np.float64) or x.astype(np.float32))"
        in str(err.value)
    )
    with pytest.raises(TypeError) as err:
        an.Linear(3, 2, dtype=np.float64).forward(np.zeros((1, 3), np.int64))
    assert "expected float64 (the layer's dtype; use x.astype(np.float64)), got int64" in str(err.value)


def test_a_plain_sequential_is_named_in_one_line_too():
    net = an.Sequential(an.Linear(4, 3), an.ReLU())
    with pytest.raises(TypeError) as err:
        net.forward(np.zeros((2, 4), np.float16))
    _one_line_naming(str(err.value), "Sequential")
    assert str(err.value).endswith("got float16 — first layer 0")


# ---- E: empty batches, non-finite and huge values ----------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 10), (3, 0)])
def test_cross_entropy_over_nothing_raises(shape):
    """The mean over N = 0 used to come back as NaN, with only a RuntimeWarning."""
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: logits shape: expected \(N, K\) with N >= 1"):
        an.CrossEntropyLoss().forward(np.zeros(shape, np.float32), np.zeros(shape[0], np.int64))


def test_cross_entropy_propagates_non_finite_logits_as_documented():
    """NaN and +inf in a row give a NaN loss and a NaN row of dlogits; the other rows are untouched."""
    loss = an.CrossEntropyLoss()
    logits = np.array([[np.nan, 1.0], [np.inf, 0.0], [1.0, 2.0]])
    with np.errstate(invalid="ignore"):  # inf − inf: the NaN being propagated
        assert np.isnan(loss.forward(logits, np.array([0, 1, 1])))
    d = loss.backward()
    assert np.isnan(d[:2]).all() and np.isfinite(d[2]).all()
    assert "propagated" in an.CrossEntropyLoss.forward.__doc__


def test_a_huge_input_saturates_lrn_where_the_exact_value_is_zero_to_float_precision(backend):
    """Where 1e30 went: conv1 gives ~4e30, LRN's sum of squares overflows to inf (|x| > 1.8e19 in float32),
    and y = x / inf^β = 0. The exact value, y ≈ x / (α·Σx²)^0.75 ~ 1e-13, is 0 to float precision, so the
    logits that follow are the biases: finite, and no error anywhere (the NumPy backend warns)."""
    model = an.AlexNet("mini", num_classes=10, seed=0)
    x = np.full((1, 3, 31, 31), 1e30, np.float32)
    with np.errstate(over="ignore"):
        y, acts = model.forward(x, return_activations=True)
    assert np.isfinite(acts["relu1"]).all() and acts["relu1"].max() > 1e29
    assert (acts["lrn1"] == 0).all()
    lrn = model["lrn1"]
    r = acts["relu1"].astype(np.float64)
    exact, _ = an.ops.reference.lrn_forward(r, lrn.size, lrn.effective_alpha, lrn.beta, lrn.k)
    assert np.abs(exact).max() < 1e-10
    np.testing.assert_array_equal(y, np.broadcast_to(model.params["fc8.bias"], y.shape))


# ---- F: one layer object twice, inputs edited in place -------------------------------------------------


def test_sequential_refuses_one_layer_object_twice():
    relu = an.ReLU()
    with pytest.raises(ValueError, match=r"layer '3' is the same ReLU object as '1'"):
        an.Sequential(an.Linear(3, 3), relu, an.Linear(3, 3), relu)
    with pytest.raises(ValueError, match=r"layer 'b' is the same ReLU object as 'a\.0'"):
        an.Sequential([("a", an.Sequential(relu)), ("b", relu)])
    an.Sequential(an.Linear(3, 3), an.ReLU(), an.Linear(3, 3), an.ReLU())  # one object per use is fine


def test_the_contract_says_inputs_must_not_change_before_backward():
    """Documented, not checked: layers keep references to their input (a copy would cost memory)."""
    assert "modified in place between ``forward`` and ``backward``" in " ".join(an.layers.__doc__.split())
    layer = an.Linear(2, 1)
    x = np.ones((1, 2), np.float32)
    layer.forward(x)
    x[...] = 5.0  # what the contract warns about: dW is computed from the edited x
    layer.backward(np.ones((1, 1), np.float32))
    np.testing.assert_array_equal(layer.grads["weight"], [[5.0, 5.0]])


# ---- G: the backend switch is per thread ----------------------------------------------------------------


def test_two_threads_each_see_their_own_backend():
    """Both threads are inside their ``use_backend`` block at once (a barrier on each side of the look)."""
    before = an.get_backend()
    inside, done = threading.Barrier(2), threading.Barrier(2)
    seen, errors = {}, []

    def work(name):
        try:
            with an.use_backend(name):
                inside.wait(timeout=10)
                layer = an.MaxPool2d(3, 2)
                layer.forward(np.random.default_rng(0).standard_normal((1, 2, 9, 9)).astype(np.float32))
                seen[name] = (an.get_backend(), ops.fast())
                done.wait(timeout=10)
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("numba", "numpy")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert seen == {"numba": ("numba", True), "numpy": ("numpy", False)}
    assert an.get_backend() == before
