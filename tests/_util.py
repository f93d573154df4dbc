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
