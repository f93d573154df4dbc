"""Shared helpers for the tests."""

import numpy as np

# Relative tolerances fitted to the dtype: float32 has 24 bits (ε ≈ 6e-8); a sum of a few
# thousand products loses a few more. The absolute part is the same relative tolerance times
# the largest magnitude of the reference, so elements that cancel to ~0 are judged on the
# tensor's scale instead of their own.
RTOL = {np.float32: 1e-4, np.float64: 1e-9}


def assert_close(ours, ref, dtype=None, rtol=None):
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    rtol = rtol if rtol is not None else RTOL[np.dtype(dtype or ours.dtype).type]
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=rtol * scale)


def random_conv_config(integers, max_groups=3):
    """A random Conv2d configuration and input shape: odd, non-square kernels, strides, paddings, groups.

    ``integers(lo, hi)`` draws an int in [lo, hi] (inclusive): a numpy Generator's ``integers`` or a
    hypothesis ``draw(st.integers(lo, hi))``, so the parametrised and the property tests share one generator.
    """
    groups = integers(1, max_groups)
    cin, cout = groups * integers(1, 3), groups * integers(1, 3)
    kh, kw = integers(1, 5), integers(1, 5)
    sh, sw = integers(1, 4), integers(1, 4)
    ph, pw = integers(0, 3), integers(0, 3)
    h = integers(max(1, kh - 2 * ph), 12)
    w = integers(max(1, kw - 2 * pw), 12)
    return dict(
        cin=cin, cout=cout, k=(kh, kw), s=(sh, sw), p=(ph, pw), g=groups, shape=(integers(1, 3), cin, h, w)
    )


def network_matches_torch(model, x, labels):
    """Hold a whole network to its torch twin (``build_torch_module``), robust to ReLU kinks and pool ties.

    The rule every gradient comparison in these tests follows: a derivative is compared only where the
    point is known to keep a margin from every kink. In float32 two correct implementations round
    differently by ~1e-7 of a layer's scale, so a pre-activation that close to 0 can have either sign and
    a gradient below it can differ by a whole unit's contribution: float32 networks are compared on
    their forward pass (logits and loss), which is continuous across kinks. In float64 the rounding
    difference is ~1e-15, and the test first checks that every ReLU input and every pool window keeps a
    relative margin of ``KINK_MARGIN_FLOAT64`` (1e-9) — then logits, loss, the input gradient and every
    parameter gradient must agree to 1e-9.
    """
    import torch

    from alexnet_np import CrossEntropyLoss
    from alexnet_np.gradcheck import KINK_MARGIN_FLOAT64, kink_margins
    from alexnet_np.tools.interop import build_torch_module, torch_key_map

    dtype = np.dtype(model.dtype).type
    smooth = dtype == np.float64
    if smooth:
        margins = kink_margins(model, x)
        close = {name: m for name, m in margins.items() if m < KINK_MARGIN_FLOAT64}
        assert not close, f"too close to a kink to compare gradients (relative margins): {close}"
    tmodel = build_torch_module(model).eval()
    loss = CrossEntropyLoss()
    logits = model.forward(x, train=False)
    value = loss.forward(logits, labels)
    xt = torch.tensor(x, requires_grad=True)
    tlogits = tmodel(xt)
    tloss = torch.nn.functional.cross_entropy(tlogits, torch.tensor(labels))
    assert_close(logits, tlogits.detach().numpy(), dtype)
    assert abs(value - tloss.item()) <= RTOL[dtype] * 10 * max(1.0, abs(value))
    if not smooth:
        return
    dx = model.backward(loss.backward())
    tloss.backward()
    assert_close(dx, xt.grad.numpy(), dtype)
    tparams = dict(tmodel.named_parameters())
    for ours, theirs in torch_key_map(model).items():
        if ours in model.grads:
            assert_close(model.grads[ours], tparams[theirs].grad.numpy(), dtype)
