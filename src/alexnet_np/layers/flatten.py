""":class:`Flatten`: (N, C, H, W) -> (N, C·H·W) in NCHW order."""

from __future__ import annotations

import numpy as np

from ..errors import BadInput
from .base import Layer


class Flatten(Layer):
    """(N, C, H, W) -> (N, C·H·W) in NCHW order (PyTorch's ``x.flatten(1)``), whatever the memory layout."""

    _cache_attrs = ("x_shape",)

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) < 2:
            raise self._fail(BadInput, "input shape", "(N, ...) with at least 2 dimensions", shape)
        return (shape[0], int(np.prod(shape[1:])))

    def forward(self, x, train=False):
        self._begin_forward(x)
        self.x_shape = x.shape
        return x.reshape(self._out_shape).copy()

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        return dout.reshape(self.x_shape).copy() if input_grad else None
