import pytest

from alexnet_np import conv_output_size
from alexnet_np.shapes import conv_output_arithmetic, pair


@pytest.mark.parametrize(
    "n,k,s,p,out",
    [
        (227, 11, 4, 0, 55),
        (224, 11, 4, 0, 54),
        (224, 11, 4, 2, 55),
        (55, 3, 2, 0, 27),
        (27, 5, 1, 2, 27),
        (13, 3, 1, 1, 13),
        (13, 3, 2, 0, 6),
        (5, 5, 1, 0, 1),
        (1, 1, 1, 0, 1),
    ],
)
def test_conv_output_size_matches_the_floor_formula(n, k, s, p, out):
    assert conv_output_size(n, k, s, p) == out
    assert out == (n + 2 * p - k) // s + 1


@pytest.mark.parametrize("n,k,s,p", [(4, 5, 1, 0), (10, 11, 4, 0), (1, 3, 1, 0)])
def test_too_small_input_raises(n, k, s, p):
    with pytest.raises(ValueError, match="too small"):
        conv_output_size(n, k, s, p)


@pytest.mark.parametrize("k,s,p", [(0, 1, 0), (3, 0, 0), (3, 1, -1)])
def test_bad_hyper_parameters_raise(k, s, p):
    with pytest.raises(ValueError):
        conv_output_size(10, k, s, p)


def test_arithmetic_shows_the_remainder():
    assert conv_output_arithmetic(227, 11, 4) == "(227 − 11)/4 + 1 = 55"
    assert conv_output_arithmetic(224, 11, 4) == "(224 − 11)/4 + 1 = 54.25 → 54"
    assert conv_output_arithmetic(224, 11, 4, 2) == "(224 + 2·2 − 11)/4 + 1 = 55.25 → 55"


def test_pair():
    assert pair(3) == (3, 3) and pair((2, 5)) == (2, 5)
    for bad in (2.0, (1, 2, 3), "3", True):
        with pytest.raises(TypeError):
            pair(bad)


@pytest.mark.parametrize(
    "n,k,s,p,out",
    [
        (224, 11, 4, 0, 55),  # cuda-convnet's conv1 on the paper's 224: 54.25 rounded up
        (55, 3, 2, 0, 27),
        (27, 3, 2, 0, 13),
        (13, 3, 2, 0, 6),
        (6, 3, 2, 0, 3),  # 2.5 rounds up: the third window starts at 4, inside the input
        (5, 2, 2, 1, 3),  # 3.5 → 4 windows would put the last start at 6 ≥ 5 + 1: dropped
    ],
)
def test_ceil_mode(n, k, s, p, out):
    assert conv_output_size(n, k, s, p, ceil_mode=True) == out


def test_ceil_mode_matches_torch_max_pool2d():
    import torch  # a test dependency: missing, it fails rather than skips

    checked = 0
    for n in range(1, 16):
        for k in range(1, 6):
            for s in range(1, 5):
                for p in range(0, k // 2 + 1):
                    if n + 2 * p < k:
                        continue
                    x = torch.zeros(1, 1, n, 1)
                    for ceil in (False, True):
                        y = torch.nn.functional.max_pool2d(x, (k, 1), (s, 1), (p, 0), ceil_mode=ceil)
                        assert conv_output_size(n, k, s, p, ceil_mode=ceil) == y.shape[2], (n, k, s, p, ceil)
                        checked += 1
    assert checked > 500


def test_ceil_mode_too_small_input_raises():
    with pytest.raises(ValueError, match="too small"):
        conv_output_size(2, 3, 4, 0, ceil_mode=True)
