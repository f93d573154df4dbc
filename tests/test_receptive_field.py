"""Receptive fields: what each layer answers (``receptive_field``) against the support of input gradients.

The brute force: a *linearised* copy of the network (``linear_stand_in``: ReLU and LRN as the identity, max
pooling as the average over the same windows, every weight positive, float64) is linear with a positive
weight on every path from a pixel to a unit, so the input gradient of a unit is non-zero exactly on the
pixels it sees. (Through ReLUs and max pools the support is only a subset, and a dead unit has none.)
"""

import functools

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.layers import ReceptiveField

# Small inputs that keep at least a 2×2 pool5 grid where the variant allows one; torchvision's adaptive pool
# then spreads 2 units over 6 bins (uneven bins, no constant jump); seed_keras has no smaller valid input.
SMALL = {"single_tower": 99, "paper": 99, "torchvision": 99, "seed_keras": 215, "mini": 31}
UNITS = 3


def _units(grid):
    """Units of a (rows, columns) grid that test the start, the size and the jump: first, last and centre."""
    gh, gw = grid
    return sorted({(0, 0), (gh - 1, gw - 1), (gh // 2, gw // 2)})


def _one_hot(out_shape, grid, units):
    """dout for one unit per batch item; after Flatten a unit (i, j) of channel c is feature (c·gh + i)·gw + j."""
    d = np.zeros(out_shape)
    for b, (i, j) in enumerate(units):
        c = (3 * b) % out_shape[1] if len(out_shape) == 4 else b
        if len(out_shape) == 4:
            d[b, c, i, j] = 1.0
        else:
            gh, gw = grid
            channels = out_shape[1] // (gh * gw)
            d[b, ((c % channels) * gh + i) * gw + j] = 1.0
    return d


@functools.cache
def _supports(variant):
    """{layer name: (field from the layers, [(unit, support mask from the gradient)])} for every layer."""
    size = SMALL[variant]
    model = an.AlexNet(variant, num_classes=10, input_size=size)
    stand_in = model.linear_stand_in((1, 3, size, size))
    names = list(stand_in.layers)
    x = np.random.default_rng(0).uniform(0.5, 1.5, (UNITS, 3, size, size))
    stand_in.forward(x)  # each stand-in layer keeps its cache: any prefix can then run backward
    field, shape, results, last, done = ReceptiveField.of_input(size, size), x.shape, {}, None, {}
    for name, layer in model:
        field = layer.receptive_field(field)
        shape = layer.output_shape(shape)
        if name in stand_in.layers:
            last = names.index(name)
        units = _units(field.grid)
        key = (last, shape, tuple(units))
        if key not in done:  # a layer whose stand-in is the identity has its predecessor's supports
            d = _one_hot((UNITS, *shape[1:]), field.grid, units)
            for twin in reversed(names[: last + 1]):
                d = stand_in[twin].backward(d)
            done[key] = [np.any(d[b] != 0, axis=0) for b in range(len(units))]
        results[name] = (field, list(zip(units, done[key])))
    return model, results


@pytest.mark.parametrize("variant", an.VARIANTS)
def test_every_layer_sees_exactly_the_support_of_its_input_gradient(variant):
    model, results = _supports(variant)
    checked = 0
    for name, (field, units) in results.items():
        for (i, j), support in units:
            expected = field.mask(i, j)
            assert np.array_equal(support, expected), (
                f"{variant} {name} unit {(i, j)}: gradient support rows {np.flatnonzero(support.any(1))[[0, -1]]}, "
                f"columns {np.flatnonzero(support.any(0))[[0, -1]]}; field box {field.box(i, j)}"
            )
            checked += 1
    assert checked >= len(model)


def test_the_gradient_support_can_tell_a_wrong_field():
    """Control: the same comparison fails for a field one stride off (the check is not vacuous)."""
    field, units = _supports("single_tower")[1]["pool2"]
    (i, j), support = units[-1]
    assert not np.array_equal(support, field.mask(i - 1, j))
    assert support.sum() < support.size  # a pool2 unit does not see the whole 99×99 image


def test_pool5_of_the_single_tower_sees_195_pixels_32_apart():
    """The textbook recurrence (size += (k − 1)·jump, jump *= stride, start −= padding·jump), by hand."""
    size, jump, start = 1, 1, 0
    for k, s, p in [(11, 4, 0), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 2, 0)]:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p * jump
    assert (size, jump, start) == (195, 32, -64)
    model = an.AlexNet("single_tower", num_classes=10)
    field = model.receptive_field(ReceptiveField.of_input(227, 227))
    assert field.note == "all of its input" and field.size == (227, 227)  # fc8 sees the whole image
    f = ReceptiveField.of_input(227, 227)
    for name, layer in model:
        f = layer.receptive_field(f)
        if name == "pool5":
            break
    assert (f.size, f.jump, f.start, f.grid) == ((size, size), (jump, jump), (start, start), (6, 6))
    assert f.box(2, 3) == (0, 194, 32, 226)  # the central units see a full 195×195 window inside the image


def test_a_layer_refuses_something_that_is_not_a_field():
    with pytest.raises(TypeError, match=r"Conv2d\(3, 8.*field must be a ReceptiveField, got tuple"):
        an.Conv2d(3, 8, 3).receptive_field((11, 4, 0))


def test_the_uneven_bins_of_an_adaptive_pool_have_no_constant_jump():
    """2 units into 6 bins: bins 0-2 hold unit 0 and bins 3-5 unit 1 (PyTorch's rule), so the jump is None."""
    pool = an.AdaptiveAvgPool2d(6)
    f = pool.receptive_field(an.MaxPool2d(3, 2).receptive_field(ReceptiveField.of_input(5, 5)))
    assert f.jump == (None, None) and f.note == "union of its bins"
    assert [f.box(i, 0)[:2] for i in range(6)] == [(0, 2)] * 3 + [(2, 4)] * 3
