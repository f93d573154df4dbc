"""Every layer gradient-checked in float64 with central differences, on both backends."""
import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.gradcheck import (check_layer, check_loss, kink_free_input, max_rel_error,
                                  numerical_gradient, rel_error)


def _layers(rng):
    f64 = dict(dtype=np.float64)
    return {
        "conv": (an.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, rng=rng, **f64), (2, 4, 7, 6)),
        "conv_groups": (an.Conv2d(4, 6, 3, stride=2, padding=(0, 1), groups=2, rng=rng, **f64), (1, 4, 7, 8)),
        "linear": (an.Linear(7, 5, rng=rng, **f64), (3, 7)),
        "maxpool_overlapping": (an.MaxPool2d(3, 2), (2, 3, 9, 7)),
        "maxpool_padded": (an.MaxPool2d((3, 2), stride=(2, 1), padding=1), (1, 2, 6, 5)),
        "avgpool_adaptive": (an.AdaptiveAvgPool2d((4, 3)), (2, 3, 9, 7)),
        "lrn_paper": (an.LocalResponseNorm(5, alpha=0.05), (2, 7, 3, 3)),
        "lrn_pytorch": (an.LocalResponseNorm(4, alpha=0.3, beta=0.6, k=1.0, form="pytorch"), (1, 6, 3, 2)),
        "relu": (an.ReLU(), (3, 4, 2, 2)),
        "tanh": (an.Tanh(), (3, 5)),
        "flatten": (an.Flatten(), (2, 3, 2, 2)),
        "dropout": (an.Dropout(0.5, rng=rng), (4, 6)),
        "dropout_paper": (an.Dropout(0.3, rng=rng, mode="paper"), (4, 6)),
        "batchnorm2d": (an.BatchNorm2d(3, **f64), (4, 3, 2, 3)),
        "batchnorm1d": (an.BatchNorm1d(5, **f64), (6, 5)),
    }


NAMES = list(_layers(np.random.default_rng(0)))
SMOOTH_TOL = 1e-7  # the bound for smooth layers; kinks are kept away by kink_free_input


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_layer_gradients(name, train, backend):
    rng = np.random.default_rng(7)
    layer, shape = _layers(rng)[name]
    x = kink_free_input(shape, rng, scale=2.0)
    results = check_layer(layer, x, train=train, rng=rng)
    assert set(results) == {"input", *layer.params}
    for r in results.values():
        assert r.rel_error < SMOOTH_TOL, (name, r)


def test_cross_entropy_gradient_with_large_logits():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((5, 7)) * 30  # exp(±90): would overflow without the max shift
    labels = np.array([0, 6, 3, 3, 1])
    r = check_loss(an.CrossEntropyLoss(), logits, labels)["input"]
    assert r.rel_error < SMOOTH_TOL


def test_sequential_gradients(backend):
    rng = np.random.default_rng(11)
    net = an.Sequential([
        ("conv", an.Conv2d(2, 4, 3, padding=1, rng=rng)), ("relu", an.ReLU()),
        ("lrn", an.LocalResponseNorm(3, alpha=0.1)), ("pool", an.MaxPool2d(3, 2)),
        ("flat", an.Flatten()), ("drop", an.Dropout(0.5, rng=rng)), ("fc", an.Linear(16, 3, rng=rng)),
    ]).astype(np.float64)
    x = kink_free_input((2, 2, 5, 5), rng)
    results = check_layer(net, x, train=True, rng=rng)
    assert set(results) == {"input", *net.params}
    assert max(r.rel_error for r in results.values()) < 1e-6


def test_a_broken_backward_is_caught():
    class LeakyByMistake(an.ReLU):
        def backward(self, dout):
            return super().backward(dout) + 0.01 * dout  # wrong: the forward has no leak

    rng = np.random.default_rng(0)
    r = check_layer(LeakyByMistake(), kink_free_input((4, 5), rng), rng=rng)["input"]
    assert r.rel_error > 1e-3


def test_float32_layers_are_refused():
    with pytest.raises(TypeError, match="float64"):
        check_layer(an.Linear(3, 2), np.zeros((1, 3), np.float32))


def test_error_measures():
    a = np.array([1.0, 2.0, 3.0])
    assert rel_error(a, a) == 0.0 and max_rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)
    assert max_rel_error(np.array([1.0, 0.0]), np.array([1.0, 1e-3])) == pytest.approx(1.0)


def test_numerical_gradient_of_a_known_function():
    x = np.array([0.5, -1.0, 2.0])
    g = numerical_gradient(lambda: x ** 3, x, np.ones(3))
    np.testing.assert_allclose(g, 3 * np.array([0.5, -1.0, 2.0]) ** 2, rtol=1e-8)


def test_kink_free_input_is_distinct_signed_and_away_from_zero():
    rng = np.random.default_rng(0)
    for shape in [(3, 5), (2, 3, 4, 4), (1,), (7,)]:
        x = kink_free_input(shape, rng)
        m = x.size
        assert x.shape == shape and len(np.unique(x)) == m
        assert np.min(np.abs(x)) >= 2 / m - 1e-12
        if m > 1:
            assert (x > 0).any() and (x < 0).any()
            assert np.min(np.diff(np.sort(x.ravel()))) >= 2 / m - 1e-12
