"""Every layer gradient-checked in float64 with central differences, on both backends."""

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.gradcheck import (
    check_all_layers,
    check_layer,
    check_loss,
    kink_free_input,
    layer_catalogue,
    max_rel_error,
    numerical_gradient,
    rel_error,
)

NAMES = list(layer_catalogue(np.random.default_rng(0)))
SMOOTH_TOL = 1e-7  # the bound for smooth layers; kinks are kept away by kink_free_input


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_layer_gradients(name, train, backend):
    rng = np.random.default_rng(7)
    layer, shape = layer_catalogue(rng)[name]
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
    net = an.Sequential(
        [
            ("conv", an.Conv2d(2, 4, 3, padding=1, rng=rng)),
            ("relu", an.ReLU()),
            ("lrn", an.LocalResponseNorm(3, alpha=0.1)),
            ("pool", an.MaxPool2d(3, 2)),
            ("flat", an.Flatten()),
            ("drop", an.Dropout(0.5, rng=rng)),
            ("fc", an.Linear(16, 3, rng=rng)),
        ]
    ).astype(np.float64)
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
    g = numerical_gradient(lambda: x**3, x, np.ones(3))
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


def test_check_all_layers_covers_every_layer_class_and_passes():
    results = check_all_layers()
    checked = {type(layer).__name__ for layer, _ in layer_catalogue(np.random.default_rng(0)).values()}
    exported = {
        name
        for name in an.layers.__dict__
        if isinstance(getattr(an.layers, name), type)
        and issubclass(getattr(an.layers, name), an.Layer)
        and not name.startswith("_")
    }
    assert exported - {"Layer", "Sequential"} <= checked
    assert "CrossEntropyLoss" in results
    worst = max(r.rel_error for per in results.values() for r in per.values())
    assert worst < SMOOTH_TOL


def test_a_step_across_a_kink_is_refused_not_judged():
    """A ReLU input within h of 0 or a pool tie: check_layer raises KinkCrossed instead of a lucky verdict."""
    from alexnet_np.gradcheck import KinkCrossed

    x = np.array([[0.5, -1.0, 3e-7, 2.0]])  # 3e-7 < h = 1e-6: the central difference straddles the kink
    with pytest.raises(KinkCrossed, match="crosses a kink"):
        check_layer(an.ReLU(), x)
    tie = np.zeros((1, 1, 3, 3))
    tie[0, 0, 0, 0] = tie[0, 0, 2, 2] = 1.0  # two equal maxima in one window
    with pytest.raises(KinkCrossed):
        check_layer(an.MaxPool2d(3), tie)


def test_kink_margins_of_a_network():
    from alexnet_np.gradcheck import kink_margins

    net = an.Sequential(an.ReLU(), an.MaxPool2d(2)).astype(np.float64)
    x = np.array(
        [[[[1.0, -2.0, 4.0, 0.5], [3.0, 0.25, -1.0, 3.5], [1.0, 2.0, 3.0, 4.0], [0.1, 0.2, 0.3, 0.4]]]]
    )
    margins = kink_margins(net, x)
    assert margins["0"] == pytest.approx(0.1 / 4.0)  # min |x| / max |x|
    assert margins["1"] == pytest.approx(0.5 / 4.0)  # windows' top-two gaps: 2, 0.5, 2, 1 → 0.5
