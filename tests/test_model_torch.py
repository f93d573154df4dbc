"""AlexNet against torch modules of the same layout: logits, input gradients, weight gradients."""

import numpy as np
import pytest
import torch
from _util import network_matches_torch

import alexnet_np as an
from alexnet_np.tools.interop import (
    build_torch_module,
    from_torch_state_dict,
    to_torch_state_dict,
    torch_key_map,
)

torch.set_num_threads(2)

TORCHVISION_KEYS = {
    "conv1": "features.0",
    "conv2": "features.3",
    "conv3": "features.6",
    "conv4": "features.8",
    "conv5": "features.10",
    "fc6": "classifier.1",
    "fc7": "classifier.4",
    "fc8": "classifier.6",
}


def test_torchvision_key_names():
    m = an.AlexNet("torchvision")
    expected = {
        f"{ours}.{t}": f"{theirs}.{t}"
        for ours, theirs in TORCHVISION_KEYS.items()
        for t in ("weight", "bias")
    }
    assert torch_key_map(m) == expected


VARIANT_SIZES = [
    ("torchvision", 224),
    ("single_tower", 227),
    ("paper", 227),
    ("torchvision", 100),
    ("seed_keras", 224),
]


def _model_with_torch_weights(variant, size, dtype):
    """A model whose weights came from a randomised torch twin (weights flow torch -> ours), and an input."""
    model = an.AlexNet(variant, num_classes=20, seed=1, input_size=size, dtype=dtype)
    tmodel = build_torch_module(model)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        for p in tmodel.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * (1.0 / np.sqrt(p[0].numel())))
    from_torch_state_dict(model, tmodel.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(dtype)
    return model, x


@pytest.mark.slow
@pytest.mark.parametrize("variant,size", VARIANT_SIZES)
def test_logits_match_torch_in_float32(variant, size):
    """float32: the forward pass (continuous across ReLU kinks and pool ties) to rtol 1e-4."""
    model, x = _model_with_torch_weights(variant, size, np.float32)
    network_matches_torch(model, x, np.array([3, 17]))


@pytest.mark.slow
@pytest.mark.parametrize("variant,size", VARIANT_SIZES)
def test_logits_and_every_gradient_match_torch_in_float64(variant, size):
    """float64: with every kink at a checked margin, logits, loss, dx and every weight gradient to 1e-9."""
    model, x = _model_with_torch_weights(variant, size, np.float64)
    network_matches_torch(model, x, np.array([3, 17]))


def _plant_near_kink(model, x, layer="relu3", value=5e-8):
    """Shift one channel's bias in the conv below ``layer`` so one of its pre-activations is ``value``."""
    conv = "conv" + layer[-1]
    _, acts = model.forward(x, return_activations=True)
    z = acts[conv]
    n, c, i, j = np.unravel_index(np.argmin(np.abs(z - np.median(z))), z.shape)
    model[conv].params["bias"][c] += value - z[n, c, i, j]
    _, acts = model.forward(x, return_activations=True)
    return acts[conv][n, c, i, j]


@pytest.mark.slow
def test_a_planted_near_kink_is_survived():
    """The case that failed on another machine (a relu3 pre-activation of +1.5e-7 in one implementation and
    −6e-8 in another), planted on purpose: the float32 comparison still passes (forward only), the float64
    comparison passes (a margin of 5e-8 is far above float64 rounding), and a kink planted within float64
    rounding is refused with a message instead of passing or failing by luck."""
    from alexnet_np.gradcheck import KINK_MARGIN_FLOAT64, kink_margins

    labels = np.array([3, 17])
    model32, x32 = _model_with_torch_weights("single_tower", 227, np.float32)
    planted = _plant_near_kink(model32, x32)
    assert abs(planted) < 1e-7  # the plant is where float32 rounding flips signs
    assert kink_margins(model32, x32)["relu3"] < 1e-7
    network_matches_torch(model32, x32, labels)

    model64, x64 = _model_with_torch_weights("single_tower", 227, np.float64)
    assert abs(_plant_near_kink(model64, x64) - 5e-8) < 1e-12
    assert KINK_MARGIN_FLOAT64 < kink_margins(model64, x64)["relu3"] < 1e-7
    network_matches_torch(model64, x64, labels)

    _plant_near_kink(model64, x64, value=1e-15)  # within float64 rounding: no verdict possible
    with pytest.raises(AssertionError, match="too close to a kink.*relu3"):
        network_matches_torch(model64, x64, labels)


def test_state_dict_round_trip_through_torch_names():
    a = an.AlexNet("torchvision", num_classes=5, seed=0)
    b = an.AlexNet("torchvision", num_classes=5, seed=1)
    from_torch_state_dict(b, {k: torch.from_numpy(v) for k, v in to_torch_state_dict(a).items()})
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    bad = to_torch_state_dict(a)
    bad["classifier.6.weight"] = bad["classifier.6.weight"][:3]
    with pytest.raises(ValueError, match="fc8.weight: expected shape"):
        from_torch_state_dict(b, bad)


@pytest.mark.parametrize("variant", ["single_tower", "mini"])
def test_a_file_with_the_old_dropout_placement_names_the_key_shift(variant):
    model = an.AlexNet(variant, num_classes=5, seed=0)
    state = to_torch_state_dict(model)
    assert {"classifier.0.weight", "classifier.3.weight", "classifier.6.weight"} <= set(state)
    old = {
        k.replace("classifier.0.", "classifier.1.").replace("classifier.3.", "classifier.4."): v
        for k, v in state.items()
    }
    with pytest.raises(
        ValueError, match=r"rename classifier\.1 -> classifier\.0 and classifier\.4 -> classifier\.3"
    ):
        from_torch_state_dict(model, old)
    from_torch_state_dict(model, state)  # the new names load


def test_the_torch_twin_drops_what_the_paper_drops():
    """In training mode the twin's dropout must sit where ours does: same masks, same logits."""
    model = an.AlexNet("mini", num_classes=7, seed=2, dtype=np.float64)
    twin = build_torch_module(model)
    kinds = [type(m).__name__ for m in twin.classifier]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
