"""Dropout in both conventions (PyTorch's inverted dropout and the paper's)."""

from __future__ import annotations

import numpy as np

from ..errors import BadArgument
from .base import Layer, _as_rng


class Dropout(Layer):
    """Dropout with probability ``p`` of zeroing each element in training mode.

    * ``convention="pytorch"`` (default; "inverted dropout"): train ``y = x · m / (1 − p)``, eval ``y = x``.
    * ``convention="paper"`` (Krizhevsky et al.): train ``y = x · m``, eval ``y = x · (1 − p)``.

    ``m ~ Bernoulli(1 − p)`` is drawn from ``rng`` (a ``numpy.random.Generator``), so a seeded
    generator gives the same masks; the backward uses the forward's mask. The two conventions
    have the same expectation and differ only in where the scale is applied.
    Shape: any -> the same.
    """

    _cache_attrs = ("mask", "scale")

    def __init__(self, p=0.5, *, rng=None, convention="pytorch"):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise BadArgument(f"Dropout: p must be in [0, 1], got {p}")
        if convention not in ("pytorch", "paper"):
            raise BadArgument(f"Dropout: convention must be 'pytorch' or 'paper', got {convention!r}")
        self.p, self.convention, self.rng = float(p), convention, _as_rng(rng)

    def forward(self, x, train=False):
        self._begin_forward(x)
        if train:
            self.mask = self.rng.random(x.shape) >= self.p  # drawn in float64: same masks for any dtype
            keep = 1.0 - self.p
            self.scale = (1.0 / keep if keep > 0 else 0.0) if self.convention == "pytorch" else 1.0
            return x * self.mask * x.dtype.type(self.scale)
        self.mask = None
        self.scale = 1.0 if self.convention == "pytorch" else 1.0 - self.p
        return x * x.dtype.type(self.scale)

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        if not input_grad:
            return None
        scale = dout.dtype.type(self.scale)
        return dout * scale if self.mask is None else dout * self.mask * scale

    def describe(self):
        return f"Dropout p={self.p:g}"

    def torch_spec(self):
        if self.convention != "pytorch":
            raise BadArgument(f"{self!r}: torch.nn.Dropout has only the PyTorch convention")
        return "Dropout", dict(p=self.p)

    def extra_repr(self):
        return f"p={self.p:g}, convention={self.convention!r}"

    def linear_stand_in(self, input_shape):
        return None  # in evaluation mode the identity (or a positive scale, the paper's convention)

    def train_memory(self, input_shape, dtype=np.float32):
        """The mask is kept, one byte per element; drawing it makes a float64 array of the input's size
        (beside the last step's mask)."""
        n = int(np.prod(self.output_shape(input_shape)))
        return self._memory(input_shape, dtype, kept=n, temporary=9 * n)
