"""AlexNet against torch modules of the same layout: logits, input gradients, weight gradients."""

import numpy as np
import pytest
import torch
from _util import assert_close

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


@pytest.mark.parametrize(
    "variant,size",
    [("torchvision", 224), ("single_tower", 227), ("paper", 227), ("torchvision", 100), ("seed_keras", 224)],
)
def test_logits_and_gradients_match_torch(variant, size):
    model = an.AlexNet(variant, num_classes=20, seed=1, input_size=size)
    tmodel = build_torch_module(model).eval()
    # weights flow torch -> ours too: randomise torch's, copy them across
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        for p in tmodel.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (1.0 / np.sqrt(p[0].numel())))
    from_torch_state_dict(model, tmodel.state_dict())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, size, size)).astype(np.float32)
    labels = np.array([3, 17])
    loss = an.CrossEntropyLoss()
    logits = model.forward(x, train=False)
    value = loss.forward(logits, labels)
    dx = model.backward(loss.backward())

    xt = torch.tensor(x, requires_grad=True)
    tlogits = tmodel(xt)
    tloss = torch.nn.functional.cross_entropy(tlogits, torch.tensor(labels))
    tloss.backward()
    assert_close(logits, tlogits.detach().numpy(), np.float32, rtol=1e-4)
    assert value == pytest.approx(tloss.item(), rel=1e-5)
    assert_close(dx, xt.grad.numpy(), np.float32, rtol=1e-4)
    tparams = dict(tmodel.named_parameters())
    for ours, theirs in torch_key_map(model).items():
        if ours in model.grads:
            assert_close(model.grads[ours], tparams[theirs].grad.numpy(), np.float32, rtol=1e-4)


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
