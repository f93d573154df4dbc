"""Element-wise activations, :class:`ReLU` and :class:`Tanh`, and the row-wise :func:`softmax`."""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..ops import kernels, reference
from .base import Layer


class ReLU(Layer):
    """``y = max(x, 0)``; ``dx = dout · [x > 0]`` (the gradient at exactly 0 is 0, as in PyTorch).

    Shape: any -> the same.

    Kernels: :func:`alexnet_np.ops.reference.relu_forward` (``np.maximum`` and ``x > 0``, two passes) or its
    Numba twin in :mod:`alexnet_np.ops.kernels` (y and the mask in one pass over memory).

    Folded into the layer before it: inside a :class:`~alexnet_np.layers.Sequential` that no one watches (no
    hooks, no ``return_activations``), a ReLU after a convolution that runs Winograd or space-to-depth on the
    Numba backend is applied in that convolution's output transform, while each output pixel is in cache
    (:meth:`forward_after`): the same y and mask, bit for bit, without the pre-activations as an array of their
    own or a second pass over them. Watched, every layer's output is there by name, as always.
    """

    _cache_attrs = ("mask",)
    folds_into_previous = True

    def forward(self, x, train=False):
        self._begin_forward(x)
        y, self.mask = kernels.relu_forward(x) if ops.fast() else reference.relu_forward(x)
        return y

    def forward_after(self, layer, x, train=False):
        """``layer`` with this ReLU folded into its output pass where it offers one (:meth:`Layer.forward_relu`:
        no array of its pre-activations, no second pass over them) and this ReLU's forward is the library's; else
        the two forwards in turn. The same y and mask either way, bit for bit."""
        # a subclass with a forward of its own (the capstone's student layers) runs it: nothing folds past it
        folded = layer.forward_relu(x, train=train) if type(self).forward is _LIBRARY_FORWARD else None
        if folded is None:
            return self.forward(layer.forward(x, train=train), train=train)
        y, mask = folded
        self._begin_forward(y)  # the shapes of y and of the pre-activations are the same
        self.mask = mask
        return y

    def backward_before(self, layer, dout, input_grad=True):
        """This ReLU's backward folded into ``layer``'s where it offers a pass for it (:meth:`Layer.backward_relu`:
        dout · mask taken as ``layer``'s backward reads dout, no array of its own) and this ReLU's backward is
        the library's; else the two backwards in turn. The same dx and grads either way, bit for bit."""
        if type(self).backward is _LIBRARY_BACKWARD and self.mask is not None:
            self._begin_backward(dout)
            dx = layer.backward_relu(dout, self.mask, input_grad=input_grad)
            if dx is not NotImplemented:
                return dx
        return layer.backward(self.backward(dout), input_grad=input_grad)

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        if not input_grad:
            return None
        return (
            kernels.relu_backward(dout, self.mask) if ops.fast() else reference.relu_backward(dout, self.mask)
        )

    def kink_margin(self, x):
        """``min |x|``: the distance to the kink at 0."""
        return float(np.min(np.abs(x))) if x.size else math.inf

    def kink_pattern(self, x):
        return x > 0

    def linear_stand_in(self, input_shape):
        return None

    def train_memory(self, input_shape, dtype=np.float32):
        """The mask ``x > 0`` is kept, one byte per element (made anew each forward)."""
        n = int(np.prod(self.output_shape(input_shape)))
        return self._memory(input_shape, dtype, kept=n, temporary=n)


# The library's own passes, kept aside: a fold happens only where a ReLU runs these (a subclass's methods, or a
# function put in the class's place as the notebooks plant their bugs, run as written).
_LIBRARY_FORWARD, _LIBRARY_BACKWARD = ReLU.forward, ReLU.backward


class Tanh(Layer):
    """``y = tanh(x)``; ``dx = dout · (1 − y²)``. Shape: any -> the same."""

    _cache_attrs = ("y",)

    def forward(self, x, train=False):
        self._begin_forward(x)
        self.y = np.tanh(x)
        return self.y.copy()  # the caller's copy; ours stays untouched for backward

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        return dout * (1 - self.y * self.y) if input_grad else None

    def linear_stand_in(self, input_shape):
        return None

    def train_memory(self, input_shape, dtype=np.float32):
        """The output ``y`` is kept; the backward makes two temporaries (``y·y`` and ``1 − y²``)."""
        size = int(np.prod(self.output_shape(input_shape))) * np.dtype(dtype).itemsize
        return self._memory(input_shape, dtype, kept=size, temporary=2 * size)


def softmax(logits):
    """Row-wise softmax of (N, K) logits, with each row's maximum subtracted first so exp cannot overflow."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
