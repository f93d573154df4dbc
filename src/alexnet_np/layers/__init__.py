"""Layers with an explicit forward and backward pass, in PyTorch's names and layouts (NCHW).

The contract every layer keeps:

* ``params`` and ``grads``: dicts with the same keys (``"weight"``, ``"bias"``); ``backward``
  overwrites the arrays in ``grads`` in place, and no entry is ever rebound to a new array,
  so a model can keep flat views and an optimizer can update ``params`` in place.
* ``forward(x, train=False) -> y`` and ``backward(dout, input_grad=True) -> dx``; ``backward``
  never writes into ``dout`` and works after a forward in either mode. With
  ``input_grad=False`` (the first layer of a network, whose input is data) a layer fills its
  ``grads`` and returns None, skipping dx where that saves work. Arrays returned to the caller
  are fresh: a later call never overwrites them.
* ``output_shape(input_shape)`` checks an input shape and returns the output shape
  without touching data; ``forward`` runs the same check. ``num_params()``; a one-line repr.
* Facts about itself, so that no code outside a layer asks what kind of layer it is:
  ``describe()`` (a short line for tables), ``macs(input_shape)`` (multiply-accumulates per
  image, the direct count), ``output_arithmetic(input_shape)`` (the output-size formula written
  out), ``torch_spec()`` (the ``torch.nn`` class name and arguments of its twin),
  ``receptive_field(field)`` (the input pixels each output unit sees, from the field of its input units:
  :class:`ReceptiveField`), ``train_memory(input_shape)`` (the bytes it holds in a training step) and
  ``linear_stand_in(input_shape)`` (a linear layer with the same receptive field, for checking fields by
  gradients).
* Bad input raises :class:`~alexnet_np.errors.BadInput` (a ``ValueError``: shapes, values) or ``TypeError``
  (types, dtypes) with a
  one-line message that names the layer, what it expected and what it got. Nothing is cast:
  arrays are float32 or float64 in native byte order (a big-endian ``>f4`` from a file is
  refused, not byte-swapped), of the layer's dtype where it has parameters.
* A layer object keeps what its ``backward`` needs from its last ``forward`` (the cache), so
  one object must not run at two places of a network: ``Sequential`` refuses the same object
  twice. The cache holds references, not copies (a copy of every input would double the memory
  of a training step): an input modified in place between ``forward`` and ``backward`` gives
  wrong gradients without an error (``Linear`` and ``LocalResponseNorm`` read it again).

The package is laid out like ``torch.nn.modules``, one file per family, each class with ``__init__``,
``output_shape``, ``forward`` and ``backward`` first and the facts it answers after them: ``base.py``
(:class:`Layer`), ``conv.py`` (:class:`Conv2d`, whose three algorithms are in ``conv_algorithms.py``),
``linear.py``, ``pool.py``, ``norm.py``, ``activation.py``, ``dropout.py``, ``flatten.py``, ``container.py``
(:class:`Sequential`), ``loss.py`` and ``receptive_field.py``.
Every name is re-exported here: ``from alexnet_np.layers import Conv2d`` and ``an.Conv2d`` both work.
"""

from __future__ import annotations

from .activation import ReLU, Tanh, softmax
from .base import Layer
from .container import Sequential
from .conv import Conv2d
from .dropout import Dropout
from .flatten import Flatten
from .linear import Linear
from .loss import CrossEntropyLoss
from .norm import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from .pool import AdaptiveAvgPool2d, MaxPool2d
from .receptive_field import ReceptiveField, _window_field

__all__ = [
    "AdaptiveAvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Layer",
    "Linear",
    "LocalResponseNorm",
    "MaxPool2d",
    "ReLU",
    "ReceptiveField",
    "Sequential",
    "Tanh",
    "softmax",
    "_window_field",  # notebook 09's planted bug rebinds it here and in the modules that use it
]
