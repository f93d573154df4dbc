"""The base class every layer derives from: parameters, gradients, the cache, input checks, and the facts a layer
answers about itself (the contract is in :mod:`alexnet_np.layers`)."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ..errors import BadInput
from ..shapes import conv_output_arithmetic, output_hw
from .receptive_field import _check_field

_FLOATS = (np.float32, np.float64)


def _as_rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator, a seed or None, got {type(rng).__name__}")


def _check_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype.type not in _FLOATS:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _window_arithmetic(input_shape, kernel_size, stride, padding):
    """The output-size arithmetic of a windowed layer, once per axis where the two differ."""
    h, w = input_shape[2], input_shape[3]
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    text = conv_output_arithmetic(h, kh, sh, ph)
    return text if (h, kh, sh, ph) == (w, kw, sw, pw) else f"{text} | {conv_output_arithmetic(w, kw, sw, pw)}"


class Layer:
    """Base class: parameters, gradients, buffers, the cache, input checks and ``astype``."""

    _cache_attrs: tuple[str, ...] = ()

    # True where forward_after may fold this layer into the output pass of the one before it (ReLU)
    folds_into_previous = False

    _role = "layer"  # what messages call it, and the name in their advice ("model" for containers)

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.dtype: Any = None  # np.dtype, set by layers with parameters; the others follow their input
        self._out_shape = None
        self._clear_cache()

    def output_shape(self, input_shape):
        """The output shape for an input of ``input_shape`` (checked), without data."""
        return tuple(input_shape)

    # -- the contract ---------------------------------------------------------------------
    def forward(self, x, train=False):
        raise NotImplementedError

    def backward(self, dout, input_grad=True):
        raise NotImplementedError

    def forward_after(self, layer, x, train=False):
        """``layer``'s forward on x, then this layer's on its output: what :class:`Sequential` runs for a layer
        with ``folds_into_previous`` and the one before it when no one watches the outputs (no hooks, no
        ``return_activations``), so that it can fold into that layer's output pass (:class:`ReLU` does, where
        :meth:`forward_relu` lets it). This default runs the two forwards one after the other."""
        return self.forward(layer.forward(x, train=train), train=train)

    def forward_relu(self, x, train=False):
        """This layer's forward with the ReLU that follows it folded into its output pass: ``(max(y, 0), y > 0)``
        bit for bit as the two layers give them, or None where it has no such pass (this default; the two
        layers then run one after the other)."""
        return None

    def backward_before(self, layer, dout, input_grad=True):
        """This layer's backward, then ``layer``'s on the gradient it gives: what :class:`Sequential` runs for a
        layer with ``folds_into_previous`` and the one before it when no one watches the backward (no backward
        hooks), so that it can fold into that layer's backward pass (:class:`ReLU` does, where
        :meth:`backward_relu` lets it). This default runs the two backwards one after the other."""
        return layer.backward(self.backward(dout), input_grad=input_grad)

    def backward_relu(self, dout, mask, input_grad=True):
        """This layer's backward with the backward of the ReLU that follows it folded in: ``dout`` is the gradient
        at the ReLU's output, ``mask`` its y > 0; the same dx and grads bit for bit as the two backwards give
        them, or NotImplemented where this layer has no pass that takes it (this default; the two backwards
        then run one after the other)."""
        return NotImplemented

    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    # -- facts a layer answers about itself (tables, accounting, interop) ------------------
    def describe(self) -> str:
        """A short description for tables, e.g. ``Conv2d 3→96, 11×11/4``."""
        return type(self).__name__

    def macs(self, input_shape) -> int:
        """Multiply-accumulates for one image of ``input_shape`` (the direct count; 0 for layers without
        weights)."""
        return 0

    def output_arithmetic(self, input_shape) -> str:
        """The output-size formula written out for this input, e.g. ``(227 − 11)/4 + 1 = 55`` ('' if none)."""
        return ""

    def gemm_shapes(self, input_shape) -> list:
        """The matrix multiplies of one forward pass as (M, K, N) triples, ``(M×K) @ (K×N)`` ([] if none)."""
        return []

    def torch_spec(self):
        """``(name, kwargs)`` of the ``torch.nn`` module that computes the same function (torch is not needed)."""
        return type(self).__name__, {}

    def receptive_field(self, field):
        """The :class:`ReceptiveField` of this layer's output units, given ``field``, that of its input units.

        A layer that keeps each unit where it is (element-wise layers, LRN, BatchNorm, Dropout; Flatten,
        which only renumbers the units) passes the field on."""
        return _check_field(self, field)

    def linear_stand_in(self, input_shape):
        """A float64 layer that computes a linear function with this layer's receptive field and positive
        weights, or None where the identity stands in (ReLU, Tanh, LRN: each output pixel depends on the
        same input pixel only). Every path from input to output then carries a positive weight, so the
        support of an input gradient through a network of stand-ins is exactly the receptive field (with
        ReLUs and max pooling it is a subset, and a dead unit has none). This default: a float64 copy with
        every parameter replaced by its absolute value (shape-preserving and pass-through layers)."""
        new = self.astype(np.float64)
        for p in new.params.values():
            np.abs(p, out=p)
        return new

    def train_memory(self, input_shape, dtype=np.float32) -> dict:
        """Bytes this layer holds in one training step on a batch of ``input_shape``, under the current backend:

        * ``weights``, ``grads``, ``buffers``: its parameters, their gradients, its running statistics;
        * ``kept``: what ``forward(train=True)`` keeps for ``backward`` (an input it keeps a reference to
          counts here: nothing else holds it once the next layer has run);
        * ``im2col``: the column matrix a convolution keeps for its weight gradient;
        * ``work``: the work arrays a convolution by Winograd or space-to-depth keeps from call to call (the
          transformed filters, input tiles and output gradient, the rearranged input);
        * ``scratch``: the thread's shared scratch its backward borrows (one for all layers: a network
          needs the largest, not the sum); ``scratch_forward``: what its forward borrows from it;
        * ``temporary``: arrays made and dropped inside one forward or backward besides output and dx
          (a cache made anew in each forward counts once more here: the last step's is dropped only
          when the new one is stored);
        * ``input``, ``output``: the input (dx in backward) and output (dout in backward) sizes.

        Floats are ``dtype`` (the layer's own where it has one)."""
        self.output_shape(input_shape)
        return self._memory(input_shape, dtype)

    def _memory(self, input_shape, dtype, **extra):
        item = np.dtype(self.dtype or dtype).itemsize
        out = self.output_shape(input_shape)
        sizes = dict(
            weights=sum(p.nbytes for p in self.params.values()),
            grads=sum(g.nbytes for g in self.grads.values()),
            buffers=sum(b.nbytes for b in self.buffers.values()),
            kept=0,
            im2col=0,
            work=0,
            scratch=0,
            scratch_forward=0,
            temporary=0,
            input=int(np.prod(input_shape)) * item,
            output=int(np.prod(out)) * item,
        )
        sizes.update({k: int(v) for k, v in extra.items()})
        return sizes

    # Where the backward pass jumps. ReLU's derivative jumps at 0 and max pooling's routing jumps where two
    # values of a window tie; everywhere else the layers are smooth. Tests that compare gradients computed two
    # ways (PyTorch, central differences) must stay away from those points (see gradcheck.kink_margins).
    def kink_margin(self, x) -> float:
        """How far input ``x`` is from a point where this layer's derivative jumps (inf for a smooth layer)."""
        return math.inf

    def kink_pattern(self, x):
        """What decides this layer's derivative at ``x`` (ReLU: the signs; max pool: the argmaxes), or None."""
        return None

    def __call__(self, x, train=False):
        return self.forward(x, train=train)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def astype(self, dtype):
        """A copy of the layer with parameters, gradients and buffers in ``dtype`` (float32 or float64)."""
        dtype = _check_dtype(dtype)
        new = copy.copy(self)
        new.params = {k: v.astype(dtype) for k, v in self.params.items()}
        new.grads = {k: np.zeros_like(v) for k, v in new.params.items()}
        new.buffers = {k: v.astype(dtype) for k, v in self.buffers.items()}
        if self.dtype is not None:
            new.dtype = dtype
        if "rng" in vars(self):  # a layer that draws (Dropout): its own copy of the generator
            vars(new)["rng"] = copy.deepcopy(vars(self)["rng"])
        new._clear_cache()
        return new

    # -- helpers for subclasses ------------------------------------------------------------
    def _clear_cache(self):
        self._out_shape = None
        for name in self._cache_attrs:
            setattr(self, name, None)

    def _label(self) -> str:
        """How error messages name this layer: its repr, one line."""
        return repr(self)

    def _fail(self, exc, what, expected, got):
        return exc(f"{self._label()}: {what}: expected {expected}, got {got}")

    def _check_array(self, x, name="input"):
        """A numpy array of float32 or float64 in native byte order, of the layer's dtype if it has one."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{self._label()}: {name} must be a numpy.ndarray, got {type(x).__name__}")
        usable = x.dtype.type in _FLOATS and x.dtype.isnative  # Numba's kernels take no other
        if self.dtype is None and not usable:
            raise self._fail(TypeError, f"{name} dtype", "float32 or float64 (native byte order)", x.dtype)
        if self.dtype is not None and x.dtype != self.dtype:
            role, want = self._role, f"np.{self.dtype}"
            advice = (
                f"use {role}.astype(np.{x.dtype}) or x.astype({want})" if usable else f"use x.astype({want})"
            )
            raise self._fail(
                TypeError, f"{name} dtype", f"{self.dtype} (the {role}'s dtype; {advice})", x.dtype
            )

    def _begin_forward(self, x) -> tuple[int, ...]:
        """Check the input and remember the output shape so ``backward`` can check ``dout``."""
        self._check_array(x)
        out_shape = self._out_shape = tuple(self.output_shape(x.shape))
        return out_shape

    def _begin_backward(self, dout):
        if self._out_shape is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        self._check_array(dout, "dout")
        if dout.shape != self._out_shape:
            raise self._fail(BadInput, "dout shape", self._out_shape, dout.shape)

    def _check_ndim(self, shape, ndim, pattern):
        shape = tuple(shape)
        if len(shape) != ndim:
            raise self._fail(BadInput, "input shape", pattern, shape)
        if any((not isinstance(s, (int, np.integer))) or s < 1 for s in shape):
            raise self._fail(BadInput, "input shape", f"{pattern} with positive sizes", shape)
        return shape

    def _check_window(self, shape, kernel_size, stride, padding, pattern):
        """Output (H_out, W_out) of a windowed layer, with an error naming this layer when too small."""
        n, c, h, w = shape
        try:
            return output_hw(h, w, kernel_size, stride, padding)
        except ValueError as err:
            raise self._fail(
                BadInput, "input shape", f"{pattern} large enough for the window ({err})", tuple(shape)
            ) from None
