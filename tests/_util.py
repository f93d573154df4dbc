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
