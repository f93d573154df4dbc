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
* Bad input raises ``ValueError`` (shapes, values) or ``TypeError`` (types, dtypes) with a
  one-line message that names the layer, what it expected and what it got. Nothing is cast:
  arrays are float32 or float64 in native byte order (a big-endian ``>f4`` from a file is
  refused, not byte-swapped), of the layer's dtype where it has parameters.
* A layer object keeps what its ``backward`` needs from its last ``forward`` (the cache), so
  one object must not run at two places of a network: ``Sequential`` refuses the same object
  twice. The cache holds references, not copies (a copy of every input would double the memory
  of a training step): an input modified in place between ``forward`` and ``backward`` gives
  wrong gradients without an error (``Linear`` and ``LocalResponseNorm`` read it again).
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
from collections import OrderedDict

import numpy as np

from . import ops
from .ops import kernels, reference, winograd_kernels, winograd_reference
from .shapes import conv_output_arithmetic, is_channels_last, output_hw, pair

_FLOATS = (np.float32, np.float64)


def _as_rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator, a seed or None, got {type(rng).__name__}")


_scratch = threading.local()


def _scratch_array(shape, dtype):
    """A scratch array shared by every layer in this thread, for values used and dropped within one call.

    Conv2d's column gradient lives here: it is made and consumed inside one ``backward``, so one
    buffer the size of the largest layer's serves them all (at batch 32 that saves ~340 MB on the
    single tower compared with one buffer per layer).
    """
    size = int(np.prod(shape))
    buf = getattr(_scratch, str(np.dtype(dtype)), None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=dtype)
        setattr(_scratch, str(np.dtype(dtype)), buf)
    return buf[:size].reshape(shape)


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype.type not in _FLOATS:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _window_arithmetic(input_shape, kernel_size, stride, padding):
    """The output-size arithmetic of a windowed layer, once per axis where the two differ."""
    h, w = input_shape[2], input_shape[3]
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    text = conv_output_arithmetic(h, kh, sh, ph)
    return text if (h, kh, sh, ph) == (w, kw, sw, pw) else f"{text} | {conv_output_arithmetic(w, kw, sw, pw)}"


class ReceptiveField:
    """The input pixels that each unit of a layer's output sees, per axis, in the network input's coordinates.

    Along the rows, output row ``i`` sees input rows ``lo_h[i] … hi_h[i]`` (inclusive); the same for columns.
    A chain of windows (convolutions, pools) keeps the classic three numbers per axis::

        size_out  = size_in + (d·(k − 1)) · jump_in       (k: kernel, d: dilation)
        jump_out  = jump_in · s                            (s: stride; the effective stride in pixels)
        start_out = start_in − p · jump_in                 (p: padding; the first field's first pixel)

    and ``lo[i] = start + i·jump``, ``hi[i] = lo[i] + size − 1``: the textbook field, which runs past the
    border where a window covers padding. What a unit really sees, :meth:`box`, is tracked beside it
    (``seen``): padding holds no pixel, so where the input's last unit stops short of the border (a
    window that does not fit at the right edge is dropped) a padded window sees no more. An adaptive
    pool's unit sees the union of the fields in its bin, whose spacing need not be constant (``jump`` is
    then None), and a Linear unit sees all the pixels its input sees. ``note`` says which rule made it.
    Build the input's field with :meth:`of_input`; each layer's ``receptive_field(field)`` gives the next.
    """

    def __init__(self, image, lo, hi, jump, seen=None, note=""):
        self.image = tuple(int(v) for v in image)  # (H, W) of the network's input
        self.lo = tuple(np.asarray(a, dtype=np.int64) for a in lo)  # (rows, columns), one entry per unit
        self.hi = tuple(np.asarray(a, dtype=np.int64) for a in hi)
        self.jump = tuple(None if j is None else int(j) for j in jump)
        if seen is None:  # (seen_lo, seen_hi), each (rows, columns): the bounds inside the image
            seen = tuple(
                tuple(np.clip(b[a], 0, self.image[a] - 1) for a in range(2)) for b in (self.lo, self.hi)
            )
        self.seen = tuple(tuple(np.asarray(a, dtype=np.int64) for a in b) for b in seen)
        self.note = note

    @classmethod
    def of_input(cls, h, w):
        """The field of the input itself: every pixel sees itself (size 1, jump 1, start 0)."""
        return cls((h, w), (np.arange(h), np.arange(w)), (np.arange(h), np.arange(w)), (1, 1))

    @property
    def grid(self):
        """(rows, columns) of units, e.g. (6, 6) for pool5."""
        return len(self.lo[0]), len(self.lo[1])

    @property
    def size(self):
        """(height, width) of the largest field in pixels, before clipping at the border."""
        return tuple(int(np.max(hi - lo)) + 1 for lo, hi in zip(self.lo, self.hi))

    @property
    def start(self):
        """(row, column) of the first unit's top-left pixel; negative where it lies in the padding."""
        return int(self.lo[0][0]), int(self.lo[1][0])

    def box(self, i, j):
        """Rows ``r0 … r1`` and columns ``c0 … c1`` (inclusive) that unit (i, j) sees, clipped to the input."""
        (lr, lc), (hr, hc) = self.seen
        return int(lr[i]), int(hr[i]), int(lc[j]), int(hc[j])

    def mask(self, i, j):
        """An (H, W) boolean array, True where unit (i, j) sees the input."""
        r0, r1, c0, c1 = self.box(i, j)
        out = np.zeros(self.image, dtype=bool)
        out[r0 : r1 + 1, c0 : c1 + 1] = True
        return out

    def text(self):
        """``195×195 /32`` (size / jump), or the union rule written out."""
        (sh, sw), (jh, jw) = self.size, self.jump
        jump = "" if jh is None or jw is None else f" /{jh}" if jh == jw else f" /{jh}×{jw}"
        return f"{sh}×{sw}{jump}" + (f" ({self.note})" if self.note else "")

    def __repr__(self):
        return f"ReceptiveField(size={self.size}, jump={self.jump}, start={self.start}, grid={self.grid})"


def _extend(bounds, jump, j):
    """``bounds[j]`` for indices that may fall outside ``bounds`` (a window over padding): the fields of the
    padded positions continue the spacing ``jump``; without a constant spacing they see nothing more."""
    inside = np.clip(j, 0, len(bounds) - 1)
    return bounds[inside] + (0 if jump is None else (j - inside) * jump)


def _window_field(field, out_hw, kernel_size, stride, padding, dilation=(1, 1)):
    """The field after a window of ``kernel_size`` (with ``stride``, ``padding``, ``dilation``) producing
    ``out_hw`` positions: shared by Conv2d and MaxPool2d. Output position o covers input positions
    ``o·s − p … o·s − p + d·(k − 1)``; its field runs from the first one's first pixel to the last one's last."""
    lo, hi, jump, seen_lo, seen_hi = [], [], [], [], []
    for axis in range(2):
        o = np.arange(out_hw[axis])
        first = o * stride[axis] - padding[axis]
        last = first + dilation[axis] * (kernel_size[axis] - 1)
        j = field.jump[axis]
        lo.append(_extend(field.lo[axis], j, first))
        hi.append(_extend(field.hi[axis], j, last))
        jump.append(None if j is None else j * stride[axis])
        seen_lo.append(_extend(field.seen[0][axis], None, first))  # padded positions see nothing
        seen_hi.append(_extend(field.seen[1][axis], None, last))
    return ReceptiveField(field.image, lo, hi, jump, seen=(seen_lo, seen_hi))


def _check_field(layer, field):
    if not isinstance(field, ReceptiveField):
        raise TypeError(f"{layer._label()}: field must be a ReceptiveField, got {type(field).__name__}")
    return field


class Layer:
    """Base class: parameters, gradients, buffers, the cache, input checks and ``astype``."""

    _cache_attrs: tuple[str, ...] = ()
    _role = "layer"  # what messages call it, and the name in their advice ("model" for containers)

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.dtype = None  # set by layers with parameters; the others follow their input
        self._out_shape = None
        self._clear_cache()

    # -- the contract ---------------------------------------------------------------------
    def forward(self, x, train=False):
        raise NotImplementedError

    def backward(self, dout, input_grad=True):
        raise NotImplementedError

    def output_shape(self, input_shape):
        """The output shape for an input of ``input_shape`` (checked), without data."""
        return tuple(input_shape)

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
        * ``scratch``: the thread's shared scratch its backward borrows (one for all layers: a network
          needs the largest, not the sum);
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
            scratch=0,
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
        if hasattr(self, "rng"):
            new.rng = copy.deepcopy(self.rng)
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

    def _begin_forward(self, x):
        """Check the input and remember the output shape so ``backward`` can check ``dout``."""
        self._check_array(x)
        self._out_shape = self.output_shape(x.shape)
        return self._out_shape

    def _begin_backward(self, dout):
        if self._out_shape is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        self._check_array(dout, "dout")
        if dout.shape != self._out_shape:
            raise self._fail(ValueError, "dout shape", self._out_shape, dout.shape)

    def _check_ndim(self, shape, ndim, pattern):
        shape = tuple(shape)
        if len(shape) != ndim:
            raise self._fail(ValueError, "input shape", pattern, shape)
        if any((not isinstance(s, (int, np.integer))) or s < 1 for s in shape):
            raise self._fail(ValueError, "input shape", f"{pattern} with positive sizes", shape)
        return shape

    def _check_window(self, shape, kernel_size, stride, padding, pattern):
        """Output (H_out, W_out) of a windowed layer, with an error naming this layer when too small."""
        n, c, h, w = shape
        try:
            return output_hw(h, w, kernel_size, stride, padding)
        except ValueError as err:
            raise self._fail(
                ValueError, "input shape", f"{pattern} large enough for the window ({err})", tuple(shape)
            ) from None


# ---------------------------------------------------------------------------------------------
# Convolution and fully connected layers
# ---------------------------------------------------------------------------------------------


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in PyTorch) by im2col and one matrix multiply per group.

    Shape:
        x: (N, C_in, H, W) -> y: (N, C_out, H_out, W_out), with
        ``H_out = floor((H + 2·padding − kh) / stride) + 1`` (:func:`conv_output_size`).

    ``y[n, f] = bias[f] + Σ_c weight[f, c] ⋆ x[n, g·C_in/groups + c]`` for f in group g.

    Parameters:
        weight: (C_out, C_in / groups, kh, kw); bias: (C_out,). Initialised like PyTorch:
        U(−1/√fan_in, 1/√fan_in) with fan_in = C_in/groups · kh · kw.

    How: ``cols = im2col(x)`` is (N·H_out·W_out, C_in·kh·kw); ``y = cols @ W.T + b`` gives
    (N·H_out·W_out, C_out), which is viewed as NCHW without a copy (channels-last in memory).
    Backward: ``dW = dY.T @ cols``, ``db = Σ dY``, ``dx = col2im(dY @ W)``.

    Kernels: :func:`alexnet_np.ops.reference.im2col` / :func:`~alexnet_np.ops.reference.col2im`
    (readable NumPy) or their Numba twins :func:`alexnet_np.ops.kernels.im2col` /
    :func:`~alexnet_np.ops.kernels.col2im`, by the backend (:func:`alexnet_np.set_backend`).

    Algorithm: ``algorithm="im2col"`` (above), ``"winograd"`` (minimal filtering F(m×m, r×r),
    :mod:`alexnet_np.ops.winograd_reference` / :mod:`~alexnet_np.ops.winograd_kernels`: fewer
    multiplies, for stride 1 and square kernels only; anything else raises) or ``"auto"``; ``None``
    (the default) follows :func:`alexnet_np.use_conv_algorithm` / ``set_conv_algorithm``, which start
    at ``"auto"``. :meth:`conv_algorithm` says what runs for an input shape and why. ``macs()``
    stays the direct count; :meth:`multiplies` is what the chosen algorithm's matrix multiplies do.

    Example:
        >>> conv1 = Conv2d(3, 96, kernel_size=11, stride=4, rng=np.random.default_rng(0))
        >>> conv1.output_shape((1, 3, 227, 227))
        (1, 96, 55, 55)
    """

    _cache_attrs = (
        "cols",
        "x_shape",
        "x_channels_last",
        "_cols_buffer",
        "_run",
        "_winograd_cache",
        "_winograd_work",
    )

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        groups=1,
        bias=True,
        *,
        rng=None,
        dtype=np.float32,
        algorithm=None,
    ):
        super().__init__()
        self.algorithm = None if algorithm is None else ops.validate_conv_algorithm(algorithm)
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Conv2d: {name} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must both be divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"Conv2d: kernel_size and stride must be >= 1 and padding >= 0, got "
                f"{self.kernel_size}, {self.stride}, {self.padding}"
            )
        self.dtype = _check_dtype(dtype)
        rng = _as_rng(rng)
        kh, kw = self.kernel_size
        fan_in = in_channels // groups * kh * kw
        bound = 1.0 / np.sqrt(fan_in)
        shape = (out_channels, in_channels // groups, kh, kw)
        self.params["weight"] = rng.uniform(-bound, bound, size=shape).astype(self.dtype)
        if bias:
            self.params["bias"] = rng.uniform(-bound, bound, size=out_channels).astype(self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        if self.algorithm == "winograd" and self._winograd_misfit():
            raise ValueError(f"{self._label()}: algorithm='winograd' needs {self._winograd_misfit()}")

    def describe(self):
        (kh, kw), (sh, _), (ph, _) = self.kernel_size, self.stride, self.padding
        return (
            f"Conv2d {self.in_channels}→{self.out_channels}, {kh}×{kw}/{sh}"
            + (f" pad {ph}" if ph else "")
            + (f" groups {self.groups}" if self.groups > 1 else "")
        )

    def macs(self, input_shape):
        """``C_out · H_out · W_out · (C_in/groups · kh · kw)``."""
        n, f, ho, wo = self.output_shape(input_shape)
        return f * ho * wo * (self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1])

    # -- which algorithm runs ------------------------------------------------------------------
    def _winograd_misfit(self):
        """Why Winograd cannot run this layer ('' when it can): it needs stride 1 and a square kernel."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if (sh, sw) != (1, 1):
            return f"stride 1, got stride {self.stride}"
        if kh != kw or ph != pw:
            return f"a square kernel and padding, got kernel_size {self.kernel_size}, padding {self.padding}"
        return ""

    def conv_algorithm(self, input_shape):
        """``(name, m)``: the algorithm a forward pass on ``input_shape`` runs, and its output tile (None for im2col).

        The requested algorithm is this layer's ``algorithm``, else the thread's default
        (:func:`alexnet_np.use_conv_algorithm`). ``"auto"``, a static rule on the layer's and the input's
        shape (deterministic, never timed at run time): Winograd where it applies (stride 1, a square kernel
        wider than 1) when its estimated cost is below the direct count. The cost of tile m per channel pair,
        in GEMM multiplies (:func:`~alexnet_np.ops.winograd_reference.auto_tile`), is
        ``N·α²·⌈H_out/m⌉·⌈W_out/m⌉ + 12·α·r·(r + α)`` with α = m + r − 1 ≤ 8 (the second term: the
        filter transform, paid once per pass whatever the batch, 12 fitted to measurements); the direct
        count is ``N·H_out·W_out·r²``. On AlexNet: conv2 by Winograd at every batch, conv3–conv5 by im2col
        at batch 1 and by Winograd from batch 2 (README, "Performance", has the measurements).
        ``"winograd"`` takes the tile of least cost even where im2col would cost less.
        """
        n, f, ho, wo = self.output_shape(input_shape)
        requested = self.algorithm or ops.get_conv_algorithm()
        if requested == "im2col":
            return "im2col", None
        misfit = self._winograd_misfit()
        if requested == "winograd" and misfit:
            raise ValueError(
                f"{self._label()}: algorithm 'winograd' (this thread's default) needs {misfit}; "
                "'auto' runs im2col where Winograd does not apply"
            )
        r = self.kernel_size[0]
        if misfit or (requested == "auto" and r == 1):
            return "im2col", None
        m, cost = winograd_reference.auto_tile(n, r, ho, wo)
        return ("winograd", m) if requested == "winograd" or cost < n * ho * wo * r * r else ("im2col", None)

    def multiplies(self, input_shape):
        """Multiplies per image in the chosen algorithm's matrix multiplies (:meth:`macs` for im2col).

        Winograd: ``α²·⌈H_out/m⌉·⌈W_out/m⌉ · C_in/groups · C_out`` (transforms not counted, notebook 08)."""
        name, m = self.conv_algorithm(input_shape)
        if name == "im2col":
            return self.macs(input_shape)
        _, f, ho, wo = self.output_shape(input_shape)
        return winograd_reference.gemm_multiplies(
            ho, wo, self.kernel_size[0], m, self.in_channels // self.groups, f
        )

    def output_arithmetic(self, input_shape):
        return _window_arithmetic(input_shape, self.kernel_size, self.stride, self.padding)

    def linear_stand_in(self, input_shape):
        """A float64 copy with positive weights that runs by im2col: the support of a gradient must be exact,
        and Winograd's transforms leave rounding-level values (not zeros) outside a unit's window."""
        new = super().linear_stand_in(input_shape)
        new.algorithm = "im2col"
        return new

    def gemm_shapes(self, input_shape):
        """One ``cols @ W.T`` per group: (N·H_out·W_out, C_in/groups·kh·kw) @ (…, C_out/groups); for Winograd,
        one (tiles, C_in/groups) @ (C_in/groups, C_out/groups) per transform point and group (α²·groups)."""
        n, f, ho, wo = self.output_shape(input_shape)
        name, m = self.conv_algorithm(input_shape)
        if name == "winograd":
            alpha = m + self.kernel_size[0] - 1
            tiles = n * -(-ho // m) * -(-wo // m)
            return [(tiles, self.in_channels // self.groups, f // self.groups)] * (
                alpha * alpha * self.groups
            )
        k = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        return [(n * ho * wo, k, f // self.groups)] * self.groups

    def receptive_field(self, field):
        """A kh×kw window of input units, ``stride`` apart, starting ``padding`` units before the first."""
        _check_field(self, field)
        out = self.output_shape((1, self.in_channels, *field.grid))[2:]
        return _window_field(field, out, self.kernel_size, self.stride, self.padding)

    def train_memory(self, input_shape, dtype=np.float32):
        """The column matrix (N·H_out·W_out, C_in·kh·kw) is kept for the weight gradient, and the backward
        fills a scratch array of the same size with its gradient. The NumPy backend builds a new column
        matrix each forward, so the last step's is still held while it does."""
        n, f, ho, wo = self.output_shape(input_shape)
        item = np.dtype(self.dtype).itemsize
        cols = n * ho * wo * self.in_channels * self.kernel_size[0] * self.kernel_size[1] * item
        return self._memory(
            input_shape, dtype, im2col=cols, scratch=cols, temporary=0 if ops.fast() else cols
        )

    def torch_spec(self):
        return "Conv2d", dict(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            groups=self.groups,
            bias="bias" in self.params,
        )

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if "bias" not in self.params:
            s += ", bias=False"
        if self.algorithm is not None:
            s += f", algorithm={self.algorithm!r}"
        return s

    def output_shape(self, input_shape):
        shape = self._check_ndim(input_shape, 4, f"(N, {self.in_channels}, H, W)")
        if shape[1] != self.in_channels:
            raise self._fail(ValueError, "input shape", f"(N, {self.in_channels}, H, W)", shape)
        ho, wo = self._check_window(
            shape, self.kernel_size, self.stride, self.padding, f"(N, {self.in_channels}, H, W)"
        )
        return (shape[0], self.out_channels, ho, wo)

    def _weight_matrix(self):
        return self.params["weight"].reshape(self.out_channels, -1)  # (F, C/groups·kh·kw), a view

    def _group_slices(self):
        k = self._weight_matrix().shape[1]
        f = self.out_channels // self.groups
        return [(slice(g * k, (g + 1) * k), slice(g * f, (g + 1) * f)) for g in range(self.groups)]

    def _work_buffer(self, name, shape, dtype):
        """A work array reused across calls while its shape and dtype stay the same (never returned)."""
        buf = getattr(self, name, None)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = np.empty(shape, dtype=dtype)
            setattr(self, name, buf)
        return buf

    def forward(self, x, train=False):
        n, f, ho, wo = self._begin_forward(x)
        self._run = (
            *self.conv_algorithm(x.shape),
            ops.fast(),
        )  # backward runs what forward ran, on its backend
        self.x_shape, self.x_channels_last = x.shape, is_channels_last(x)
        if self._run[0] == "winograd":
            return self._winograd_forward(x, self._run[1])
        k = self._weight_matrix().shape[1] * self.groups
        if ops.fast():  # the Numba twin fills a work array reused from call to call
            cols = self._work_buffer("_cols_buffer", (n * ho * wo, k), x.dtype)
            kernels.im2col(x, self.kernel_size, self.stride, self.padding, out=cols)
        else:
            cols = reference.im2col(x, self.kernel_size, self.stride, self.padding)  # (N·Ho·Wo, C·kh·kw)
        w = self._weight_matrix()
        y = np.empty((cols.shape[0], f), dtype=x.dtype)
        for cs, fs in self._group_slices():
            np.matmul(cols[:, cs], w[fs].T, out=y[:, fs])
        if "bias" in self.params:
            y += self.params["bias"]
        self.cols, self.x_shape = cols, x.shape
        self.x_channels_last = is_channels_last(x)
        return y.reshape(n, ho, wo, f).transpose(0, 3, 1, 2)  # (N, F, Ho, Wo), channels-last memory

    def backward(self, dout, input_grad=True):
        """Fill ``grads`` and return dx; with ``input_grad=False`` (the first layer of a network, whose
        input is data) skip dx — a matrix multiply and a col2im — and return None."""
        self._begin_backward(dout)
        if self._run[0] == "winograd":
            return self._winograd_backward(dout, input_grad)
        f = self.out_channels
        dy = dout.transpose(0, 2, 3, 1).reshape(-1, f)  # (N·Ho·Wo, F); a view when dout is channels-last
        w = self._weight_matrix()
        dw = self.grads["weight"].reshape(f, -1)
        dcols = _scratch_array(self.cols.shape, self.cols.dtype) if input_grad else None
        for cs, fs in self._group_slices():
            np.matmul(dy[:, fs].T, self.cols[:, cs], out=dw[fs])
            if input_grad:
                np.matmul(dy[:, fs], w[fs], out=dcols[:, cs])
        if "bias" in self.params:
            np.sum(dy, axis=0, out=self.grads["bias"])
        if not input_grad:
            return None
        if ops.fast():  # dx in the memory layout of x
            return kernels.col2im(
                dcols,
                self.x_shape,
                self.kernel_size,
                self.stride,
                self.padding,
                channels_last=self.x_channels_last,
            )
        return reference.col2im(dcols, self.x_shape, self.kernel_size, self.stride, self.padding)

    def _winograd_forward(self, x, m):
        """Winograd F(m×m, r×r). The filter transform G·w·Gᵀ is recomputed on every call (never cached:
        optimisers update ``params`` in place). Numba keeps U and V for the backward in per-layer work
        arrays; M, used only inside this call, lives in the thread's shared scratch array."""
        w, b, pad = self.params["weight"], self.params.get("bias"), self.padding[0]
        if not ops.fast():  # the readable version keeps x and recomputes U and V in backward
            self._winograd_cache = x
            return winograd_reference.conv2d_winograd(x, w, b, pad, self.groups, m)
        if self._winograd_work is None:
            self._winograd_work = {}
        n, f, ho, wo = self._out_shape
        alpha = m + self.kernel_size[0] - 1
        tiles = n * -(-ho // m) * -(-wo // m)
        self._winograd_work["M"] = _scratch_array((tiles, alpha * alpha, f), x.dtype)
        y, self._winograd_cache = winograd_kernels.conv2d_winograd_forward(
            x, w, b, pad, self.groups, m, work=self._winograd_work
        )
        del self._winograd_work["M"]  # no reference kept: the scratch array may be reallocated
        return y

    def _winograd_backward(self, dout, input_grad):
        _, m, fast = self._run
        if not fast:
            x = self._winograd_cache
            dx, dw, db = winograd_reference.conv2d_winograd_backward(
                dout, x, self.params["weight"], self.padding[0], self.groups, m
            )
            self.grads["weight"][...] = dw
        else:
            cache = self._winograd_cache
            v = cache["V"]
            # dV, used only inside this call, lives in the thread's shared scratch array
            self._winograd_work["dV"] = _scratch_array((v.shape[2], v.shape[0], self.in_channels), dout.dtype)
            dx, _, db = winograd_kernels.conv2d_winograd_backward(
                dout, cache, input_grad, work=self._winograd_work, dw_out=self.grads["weight"]
            )
            del self._winograd_work["dV"]
            if dx is not None and not self.x_channels_last:
                dx = np.ascontiguousarray(dx)  # dx in the memory layout of x
        if "bias" in self.params:
            self.grads["bias"][...] = db
        return dx if input_grad else None


class Linear(Layer):
    """Fully connected layer: ``y = x @ weight.T + bias``.

    Shape:
        x: (N, in_features) -> y: (N, out_features); weight: (out_features, in_features).

    Backward: ``dW = dout.T @ x``, ``db = Σ_n dout``, ``dx = dout @ W``.
    Initialised like PyTorch: U(−1/√in_features, 1/√in_features).
    """

    _cache_attrs = ("x",)

    def __init__(self, in_features, out_features, bias=True, *, rng=None, dtype=np.float32):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Linear: {name} must be a positive int, got {v!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.dtype = _check_dtype(dtype)
        rng = _as_rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.params["weight"] = rng.uniform(-bound, bound, size=(out_features, in_features)).astype(
            self.dtype
        )
        if bias:
            self.params["bias"] = rng.uniform(-bound, bound, size=out_features).astype(self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def describe(self):
        return f"Linear {self.in_features}→{self.out_features}"

    def macs(self, input_shape):
        """``in_features · out_features``."""
        self.output_shape(input_shape)
        return self.in_features * self.out_features

    def gemm_shapes(self, input_shape):
        """``x @ W.T``: (N, in_features) @ (in_features, out_features)."""
        n, _ = self.output_shape(input_shape)
        return [(n, self.in_features, self.out_features)]

    def receptive_field(self, field):
        """Every output unit sees all of its input: the union of the pixels its input units see (one unit
        per feature, all alike; padding beyond the image adds nothing to a sum over all inputs)."""
        _check_field(self, field)
        lo = [[int(np.min(a))] for a in field.seen[0]]
        hi = [[int(np.max(a))] for a in field.seen[1]]
        return ReceptiveField(field.image, lo, hi, (None, None), seen=(lo, hi), note="all of its input")

    def train_memory(self, input_shape, dtype=np.float32):
        """The input is kept for the weight gradient ``dW = dout.T @ x``."""
        self.output_shape(input_shape)
        return self._memory(input_shape, dtype, kept=int(np.prod(input_shape)) * self.dtype.itemsize)

    def torch_spec(self):
        return "Linear", dict(
            in_features=self.in_features, out_features=self.out_features, bias="bias" in self.params
        )

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}" + (
            "" if "bias" in self.params else ", bias=False"
        )

    def output_shape(self, input_shape):
        shape = self._check_ndim(input_shape, 2, f"(N, {self.in_features})")
        if shape[1] != self.in_features:
            raise self._fail(ValueError, "input shape", f"(N, {self.in_features})", shape)
        return (shape[0], self.out_features)

    def forward(self, x, train=False):
        self._begin_forward(x)
        y = x @ self.params["weight"].T
        if "bias" in self.params:
            y += self.params["bias"]
        self.x = x
        return y

    def backward(self, dout, input_grad=True):
        """Fill ``grads`` and return dx (None with ``input_grad=False``, as for Conv2d)."""
        self._begin_backward(dout)
        if dout.shape[0] == 1:  # an outer product: BLAS's GEMM is slow for K = 1
            np.outer(dout[0], self.x[0], out=self.grads["weight"])
        else:
            np.matmul(dout.T, self.x, out=self.grads["weight"])
        if "bias" in self.params:
            np.sum(dout, axis=0, out=self.grads["bias"])
        return dout @ self.params["weight"] if input_grad else None


# ---------------------------------------------------------------------------------------------
# Pooling and normalisation
# ---------------------------------------------------------------------------------------------


class MaxPool2d(Layer):
    """Max pooling over (possibly overlapping) windows.

    Shape:
        x: (N, C, H, W) -> y: (N, C, H_out, W_out), ``H_out = floor((H + 2·padding − kh) / stride) + 1``;
        with ``ceil_mode=True`` the division rounds up, as in PyTorch (:func:`conv_output_size`): the
        last window may hang over the bottom/right edge, and must start inside the input or its left padding.

    ``y[n, c, oh, ow] = max over the window at (oh·sh − ph, ow·sw − pw)``; padding counts as −inf.

    Backward routes each ``dout`` element to its window's maximum and **accumulates** (+=),
    which matters for AlexNet's overlapping 3×3/2 windows where one pixel can be the max of
    several windows. Ties: the gradient goes to the *first* maximum in row-major window order
    (PyTorch's choice). NaN propagates.

    Kernels: :func:`alexnet_np.ops.reference.maxpool_forward` / :func:`~alexnet_np.ops.reference.maxpool_backward`
    or their Numba twins in :mod:`alexnet_np.ops.kernels`.
    """

    _cache_attrs = ("argmax", "x_shape")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        self.ceil_mode = bool(ceil_mode)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride if stride is not None else kernel_size, "stride")
        self.padding = pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"MaxPool2d: kernel_size and stride must be >= 1 and padding >= 0, got "
                f"{self.kernel_size}, {self.stride}, {self.padding}"
            )
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(
                f"MaxPool2d: padding {self.padding} must be at most half of kernel_size "
                f"{self.kernel_size} (a window of padding alone has no maximum)"
            )

    def describe(self):
        return f"MaxPool2d {self.kernel_size[0]}×{self.kernel_size[1]}/{self.stride[0]}"

    def output_arithmetic(self, input_shape):
        if not self.ceil_mode:
            return _window_arithmetic(input_shape, self.kernel_size, self.stride, self.padding)
        axes = [
            conv_output_arithmetic(n, k, s, p, ceil_mode=True)
            for n, k, s, p in zip(input_shape[2:], self.kernel_size, self.stride, self.padding)
        ]
        return axes[0] if axes[0] == axes[1] else " | ".join(axes)

    def torch_spec(self):
        spec = dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding)
        return "MaxPool2d", (dict(spec, ceil_mode=True) if self.ceil_mode else spec)

    def receptive_field(self, field):
        """A kh×kw window of input units, ``stride`` apart (the same rule as Conv2d's)."""
        _check_field(self, field)
        out = self.output_shape((1, 1, *field.grid))[2:]
        return _window_field(field, out, self.kernel_size, self.stride, self.padding)

    def linear_stand_in(self, input_shape):
        """The average over the same windows: a depthwise Conv2d whose kernels are 1/(kh·kw) (its zero
        padding adds nothing, as −inf adds nothing to a maximum)."""
        c = self.output_shape(input_shape)[1]
        if self.ceil_mode:
            raise ValueError(f"{self!r}: no convolution has ceil_mode's partial last window")
        avg = Conv2d(
            c,
            c,
            self.kernel_size,
            self.stride,
            self.padding,
            groups=c,
            bias=False,
            dtype=np.float64,
            algorithm="im2col",  # exact zeros outside the window (see Conv2d.linear_stand_in)
        )
        avg.params["weight"][...] = 1.0 / (self.kernel_size[0] * self.kernel_size[1])
        return avg

    def train_memory(self, input_shape, dtype=np.float32):
        """The argmax of every window is kept (int32 with the Numba backend, int64 with NumPy's), made anew
        each forward."""
        argmax = int(np.prod(self.output_shape(input_shape))) * (4 if ops.fast() else 8)
        return self._memory(input_shape, dtype, kept=argmax, temporary=argmax)

    def extra_repr(self):
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        s += f", padding={self.padding}" if self.padding != (0, 0) else ""
        return s + (", ceil_mode=True" if self.ceil_mode else "")

    def output_shape(self, input_shape):
        shape = self._check_ndim(input_shape, 4, "(N, C, H, W)")
        ho, wo = self._check_window(shape, self.kernel_size, self.stride, self.padding, "(N, C, H, W)")
        if self.ceil_mode:  # the same inputs are valid; only the rounding differs
            ho, wo = output_hw(
                shape[2], shape[3], self.kernel_size, self.stride, self.padding, ceil_mode=True
            )
        return (shape[0], shape[1], ho, wo)

    def forward(self, x, train=False):
        self._begin_forward(x)
        pool = kernels.maxpool_forward if ops.fast() else reference.maxpool_forward
        y, self.argmax = pool(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)
        self.x_shape = x.shape
        return y

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        if not input_grad:
            return None
        route = kernels.maxpool_backward if ops.fast() else reference.maxpool_backward
        return route(
            dout, self.argmax, self.x_shape, self.kernel_size, self.stride, self.padding, self.ceil_mode
        )

    def _sorted_windows(self, x):
        """Every window's values (padding as −inf), sorted: (N, C, H_out, W_out, kh·kw)."""
        ho, wo = self.output_shape(x.shape)[2:]
        extra = [
            max(0, (o - 1) * s + k - (n + 2 * p))
            for o, s, k, n, p in zip((ho, wo), self.stride, self.kernel_size, x.shape[2:], self.padding)
        ]
        pads = [(p, p + e) for p, e in zip(self.padding, extra)]
        padded = np.pad(x, ((0, 0), (0, 0), *pads), constant_values=-np.inf)
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.kernel_size, axis=(2, 3))
        windows = windows[:, :, :: self.stride[0], :: self.stride[1]][:, :, :ho, :wo]
        return np.sort(windows.reshape(*windows.shape[:4], -1), axis=-1)

    def kink_margin(self, x):
        """The smallest gap between the two largest values of a window. A tie of exact zeros (dead ReLUs
        below) is not counted: every framework computes those zeros exactly and routes to a unit whose ReLU
        passes no gradient."""
        if self.kernel_size[0] * self.kernel_size[1] == 1:
            return math.inf  # windows of one value cannot tie
        top = self._sorted_windows(x)
        first, second = top[..., -1], top[..., -2]
        gap = np.where((first == 0) & (second == 0), np.inf, first - second)
        return float(np.min(gap)) if gap.size else math.inf

    def kink_pattern(self, x):
        return reference.maxpool_forward(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)[1]


def _adaptive_bins(n_in, n_out):
    """PyTorch's adaptive bins: [floor(i·n_in/n_out), ceil((i+1)·n_in/n_out)) for i < n_out."""
    return [((i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)) for i in range(n_out)]


class AdaptiveAvgPool2d(Layer):
    """Average pooling to a fixed output size, whatever the input size (torchvision's AlexNet).

    Shape:
        x: (N, C, H, W) -> y: (N, C, H_out, W_out) with (H_out, W_out) = output_size.

    Output bin i covers rows ``floor(i·H/H_out)`` up to ``ceil((i+1)·H/H_out)``, as in PyTorch;
    bins overlap when H is not a multiple of H_out. With H = H_out it is the identity.
    """

    _cache_attrs = ("x_shape",)

    def __init__(self, output_size):
        super().__init__()
        self.output_size = pair(output_size, "output_size")
        if min(self.output_size) < 1:
            raise ValueError(f"AdaptiveAvgPool2d: output_size must be >= 1, got {self.output_size}")

    def describe(self):
        return f"AdaptiveAvgPool2d →{self.output_size[0]}×{self.output_size[1]}"

    def torch_spec(self):
        return "AdaptiveAvgPool2d", dict(output_size=self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"

    def output_shape(self, input_shape):
        shape = self._check_ndim(input_shape, 4, "(N, C, H, W)")
        return (shape[0], shape[1], *self.output_size)

    def _bins(self, shape):
        return _adaptive_bins(shape[2], self.output_size[0]), _adaptive_bins(shape[3], self.output_size[1])

    def receptive_field(self, field):
        """Each output unit sees the union of the fields of the input units in its bin. Bins of equal size
        and spacing (H a multiple of H_out) are a window with kernel = stride = H/H_out; otherwise the spacing
        of the fields varies and ``jump`` is None."""
        _check_field(self, field)
        lo, hi, jump, seen_lo, seen_hi = [], [], [], [], []
        for axis, bins in enumerate(self._bins((1, 1, *field.grid))):
            first, last = np.array([b[0] for b in bins]), np.array([b[1] - 1 for b in bins])
            lo.append(field.lo[axis][first])
            hi.append(field.hi[axis][last])
            seen_lo.append(field.seen[0][axis][first])
            seen_hi.append(field.seen[1][axis][last])
            n_in, n_out, j = field.grid[axis], self.output_size[axis], field.jump[axis]
            jump.append(j * (n_in // n_out) if j is not None and n_in % n_out == 0 else None)
        return ReceptiveField(field.image, lo, hi, jump, seen=(seen_lo, seen_hi), note="union of its bins")

    def forward(self, x, train=False):
        self._begin_forward(x)
        rows, cols = self._bins(x.shape)
        y = np.empty(self._out_shape, dtype=x.dtype)
        for i, (h0, h1) in enumerate(rows):
            for j, (w0, w1) in enumerate(cols):
                y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
        self.x_shape = x.shape
        return y

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        if not input_grad:
            return None
        rows, cols = self._bins(self.x_shape)
        dx = np.zeros(self.x_shape, dtype=dout.dtype)
        for i, (h0, h1) in enumerate(rows):
            for j, (w0, w1) in enumerate(cols):
                area = (h1 - h0) * (w1 - w0)
                dx[:, :, h0:h1, w0:w1] += (dout[:, :, i, j] / area)[:, :, None, None]
        return dx


class LocalResponseNorm(Layer):
    """Local response normalisation across channels (Krizhevsky et al. 2012, section 3.3).

    Shape:
        x: (N, C, H, W) -> y: (N, C, H, W).

    ``y[c] = x[c] / (k + a · Σ_{j=c−⌊n/2⌋}^{c+⌊(n−1)/2⌋} x[j]²)^β``, the sum clipped at the first
    and last channel, with

    * ``convention="paper"`` (default): ``a = alpha``, the paper's formula (n=5, α=1e-4, β=0.75, k=2);
    * ``convention="pytorch"``: ``a = alpha / size``, the form of PyTorch's and Caffe's LRN layers.

    PyTorch's ``torch.nn.LocalResponseNorm`` divides α by n and defaults k to 1, so the paper's
    layer is ``torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)``; the repr of this
    layer prints its PyTorch equivalent.

    Kernels: :func:`alexnet_np.ops.reference.lrn_forward` / :func:`~alexnet_np.ops.reference.lrn_backward`
    (which keep ``scale``) or their Numba twins in :mod:`alexnet_np.ops.kernels` (which keep
    ``scale^(−β)`` and ``scale^(−β−1)`` in arrays reused from call to call).
    """

    _cache_attrs = ("x", "scale_cache", "cache_is_fast")

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0, *, convention="paper"):
        super().__init__()
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"LocalResponseNorm: size must be a positive int, got {size!r}")
        if convention not in ("paper", "pytorch"):
            raise ValueError(
                f"LocalResponseNorm: convention must be 'paper' or 'pytorch', got {convention!r}"
            )
        if k <= 0 or alpha < 0:
            raise ValueError(f"LocalResponseNorm: need k > 0 and alpha >= 0, got k={k}, alpha={alpha}")
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)
        self.convention = convention

    @property
    def effective_alpha(self) -> float:
        """The factor in front of the sum of squares, α (paper convention) or α/n (PyTorch convention)."""
        return self.alpha if self.convention == "paper" else self.alpha / self.size

    def torch_equivalent(self) -> dict:
        """Keyword arguments of ``torch.nn.LocalResponseNorm`` that compute the same function."""
        return dict(size=self.size, alpha=self.effective_alpha * self.size, beta=self.beta, k=self.k)

    def torch_spec(self):
        return "LocalResponseNorm", self.torch_equivalent()

    def describe(self):
        return f"LRN n={self.size}, α={self.alpha:g}, β={self.beta:g}, k={self.k:g}"

    def extra_repr(self):
        t = self.torch_equivalent()
        return (
            f"size={self.size}, alpha={self.alpha:g}, beta={self.beta:g}, k={self.k:g}, "
            f"convention={self.convention!r}; = torch.nn.LocalResponseNorm({t['size']}, alpha={t['alpha']:g}, "
            f"beta={t['beta']:g}, k={t['k']:g})"
        )

    def output_shape(self, input_shape):
        return self._check_ndim(input_shape, 4, "(N, C, H, W)")

    def linear_stand_in(self, input_shape):
        return None  # each output pixel depends on the same pixel of nearby channels only

    def train_memory(self, input_shape, dtype=np.float32):
        """The input is kept, and the scale's powers: two arrays of its size with the Numba backend
        (reused from step to step), ``scale`` itself with NumPy's."""
        size = int(np.prod(self.output_shape(input_shape))) * np.dtype(dtype).itemsize
        return self._memory(input_shape, dtype, kept=size * (3 if ops.fast() else 2))

    def forward(self, x, train=False):
        self._begin_forward(x)
        a = self.effective_alpha
        if ops.fast():  # the powers' arrays of the last call are reused when x has the same shape
            work = self.scale_cache if self.cache_is_fast else None
            y, self.scale_cache = kernels.lrn_forward(x, self.size, a, self.beta, self.k, work=work)
        else:
            y, self.scale_cache = reference.lrn_forward(x, self.size, a, self.beta, self.k)
        self.cache_is_fast = ops.fast()
        self.x = x
        return y

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        if not input_grad:
            return None
        backward = kernels.lrn_backward if self.cache_is_fast else reference.lrn_backward
        return backward(dout, self.x, self.scale_cache, self.size, self.effective_alpha, self.beta)


class _BatchNorm(Layer):
    """Shared code of BatchNorm1d and BatchNorm2d; ``_axes`` are the axes averaged over."""

    _cache_attrs = ("x_hat", "inv_std", "used_batch_stats")
    _axes: tuple[int, ...] = ()
    _pattern = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, *, dtype=np.float32):
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(
                f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}"
            )
        if not 0.0 <= momentum <= 1.0 or eps <= 0:
            raise ValueError(f"{type(self).__name__}: need 0 <= momentum <= 1 and eps > 0")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        self.dtype = _check_dtype(dtype)
        self.params = {
            "weight": np.ones(num_features, self.dtype),
            "bias": np.zeros(num_features, self.dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {
            "running_mean": np.zeros(num_features, self.dtype),
            "running_var": np.ones(num_features, self.dtype),
        }

    def describe(self):
        return f"{type(self).__name__} {self.num_features}"

    def torch_spec(self):
        return type(self).__name__, dict(num_features=self.num_features, eps=self.eps, momentum=self.momentum)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"

    def output_shape(self, input_shape):
        pattern = self._pattern.format(self.num_features)
        shape = self._check_ndim(input_shape, len(self._axes) + 1, pattern)
        if shape[1] != self.num_features:
            raise self._fail(ValueError, "input shape", pattern, shape)
        return shape

    def _bshape(self, v):
        """A per-channel vector shaped to broadcast against the input: (1, C) or (1, C, 1, 1)."""
        return v.reshape((1, -1) + (1,) * (len(self._axes) - 1))

    def train_memory(self, input_shape, dtype=np.float32):
        """x̂ (made anew each forward) and 1/σ per channel are kept; forward and backward each make about two
        input-sized temporaries (x − μ and its square; dout − mean(dout) and x̂ · mean(dout · x̂))."""
        item = self.dtype.itemsize
        size = int(np.prod(self.output_shape(input_shape))) * item
        return self._memory(input_shape, dtype, kept=size + self.num_features * item, temporary=3 * size)

    def forward(self, x, train=False):
        """Train: normalise with the batch's mean and (biased) variance and update the running
        statistics with the unbiased variance, as PyTorch does. Eval: use the running statistics."""
        self._begin_forward(x)
        if train:
            count = x.size // self.num_features
            if count < 2:
                raise self._fail(
                    ValueError, "input shape in training mode", "more than one value per channel", x.shape
                )
            mean = x.mean(axis=self._axes)
            var = x.var(axis=self._axes)
            m = self.momentum
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += m * var * (count / (count - 1))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - self._bshape(mean)) * self._bshape(inv_std)
        self.x_hat, self.inv_std, self.used_batch_stats = x_hat, inv_std, train
        return x_hat * self._bshape(self.params["weight"]) + self._bshape(self.params["bias"])

    def backward(self, dout, input_grad=True):
        """``dx = γ/σ · (dout − mean(dout) − x̂ · mean(dout · x̂))`` in training mode (the batch
        statistics depend on x); ``dx = γ/σ · dout`` in eval mode."""
        self._begin_backward(dout)
        np.sum(dout * self.x_hat, axis=self._axes, out=self.grads["weight"])
        np.sum(dout, axis=self._axes, out=self.grads["bias"])
        if not input_grad:
            return None
        g = self._bshape(self.params["weight"] * self.inv_std)
        if not self.used_batch_stats:
            return dout * g
        count = dout.size // self.num_features
        mean_dout = self._bshape(self.grads["bias"] / count)
        mean_dout_xhat = self._bshape(self.grads["weight"] / count)
        return g * (dout - mean_dout - self.x_hat * mean_dout_xhat)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation per channel of (N, C, H, W) input, statistics over N, H, W.

    ``y = γ · (x − μ) / √(σ² + eps) + β``; running statistics ``r ← (1 − momentum)·r + momentum·batch``.
    Shape: x: (N, C, H, W) -> y: (N, C, H, W).
    """

    _axes = (0, 2, 3)
    _pattern = "(N, {}, H, W)"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation per feature of (N, C) input, statistics over N. Shape: (N, C) -> (N, C)."""

    _axes = (0,)
    _pattern = "(N, {})"


# ---------------------------------------------------------------------------------------------
# Element-wise layers, dropout, flatten
# ---------------------------------------------------------------------------------------------


class ReLU(Layer):
    """``y = max(x, 0)``; ``dx = dout · [x > 0]`` (the gradient at exactly 0 is 0, as in PyTorch).

    Shape: any -> the same.
    """

    _cache_attrs = ("mask",)

    def forward(self, x, train=False):
        self._begin_forward(x)
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        return dout * self.mask if input_grad else None

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


class Tanh(Layer):
    """``y = tanh(x)``; ``dx = dout · (1 − y²)``. Shape: any -> the same."""

    _cache_attrs = ("y",)

    def linear_stand_in(self, input_shape):
        return None

    def train_memory(self, input_shape, dtype=np.float32):
        """The output ``y`` is kept; the backward makes two temporaries (``y·y`` and ``1 − y²``)."""
        size = int(np.prod(self.output_shape(input_shape))) * np.dtype(dtype).itemsize
        return self._memory(input_shape, dtype, kept=size, temporary=2 * size)

    def forward(self, x, train=False):
        self._begin_forward(x)
        self.y = np.tanh(x)
        return self.y.copy()  # the caller's copy; ours stays untouched for backward

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        return dout * (1 - self.y * self.y) if input_grad else None


class Flatten(Layer):
    """(N, C, H, W) -> (N, C·H·W) in NCHW order (PyTorch's ``x.flatten(1)``), whatever the memory layout."""

    _cache_attrs = ("x_shape",)

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) < 2:
            raise self._fail(ValueError, "input shape", "(N, ...) with at least 2 dimensions", shape)
        return (shape[0], int(np.prod(shape[1:])))

    def forward(self, x, train=False):
        self._begin_forward(x)
        self.x_shape = x.shape
        return x.reshape(self._out_shape).copy()

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        return dout.reshape(self.x_shape).copy() if input_grad else None


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
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        if convention not in ("pytorch", "paper"):
            raise ValueError(f"Dropout: convention must be 'pytorch' or 'paper', got {convention!r}")
        self.p, self.convention, self.rng = float(p), convention, _as_rng(rng)

    def describe(self):
        return f"Dropout p={self.p:g}"

    def torch_spec(self):
        if self.convention != "pytorch":
            raise ValueError(f"{self!r}: torch.nn.Dropout has only the PyTorch convention")
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


# ---------------------------------------------------------------------------------------------
# Containers and the loss
# ---------------------------------------------------------------------------------------------


class Sequential(Layer):
    """Named layers run in order, with the same contract as a single layer.

    ``Sequential(layer, layer, ...)`` names them "0", "1", ...; ``Sequential(OrderedDict(...))``
    or ``Sequential([(name, layer), ...])`` keeps the given names. ``params``/``grads``/``buffers``
    are flat dicts keyed ``"name.weight"`` holding the layers' own arrays (no copies).

    ``forward(x, train=False, return_activations=False)``: with ``return_activations=True``
    returns ``(y, {name: output of that layer})``.
    """

    _role = "model"

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (dict, list)):
            items = list(layers[0].items()) if isinstance(layers[0], dict) else list(layers[0])
        else:
            items = [(str(i), layer) for i, layer in enumerate(layers)]
        self.layers: OrderedDict[str, Layer] = OrderedDict()
        placed = {}  # id(layer) -> where it runs, through nested Sequentials too

        def place(where, layer):
            # a second use would overwrite the cache that the first use's backward reads
            if id(layer) in placed:
                raise ValueError(
                    f"Sequential: layer {where!r} is the same {type(layer).__name__} object as "
                    f"{placed[id(layer)]!r}; a layer keeps its last forward for backward, so the gradients "
                    f"would be wrong: create one object per use"
                )
            placed[id(layer)] = where
            if isinstance(layer, Sequential):
                for inner, sub in layer.layers.items():
                    place(f"{where}.{inner}", sub)

        for name, layer in items:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: {name!r} is a {type(layer).__name__}, not a Layer")
            if name in self.layers or "." in name:
                raise ValueError(f"Sequential: layer names must be unique and contain no '.', got {name!r}")
            place(name, layer)
            self.layers[name] = layer
        self._collect()

    def _label(self):
        return f"{type(self).__name__}({self.extra_repr()})"  # one line; __repr__ lists every layer

    def _check_array(self, x, name="input"):
        try:
            super()._check_array(x, name)
        except TypeError as err:
            first = next(iter(self.layers), None)
            raise TypeError(f"{err} — first layer {first}" if first is not None else str(err)) from None

    def _collect(self):
        self.params = {f"{n}.{k}": v for n, layer in self.layers.items() for k, v in layer.params.items()}
        self.grads = {f"{n}.{k}": v for n, layer in self.layers.items() for k, v in layer.grads.items()}
        self.buffers = {f"{n}.{k}": v for n, layer in self.layers.items() for k, v in layer.buffers.items()}
        dtypes = {layer.dtype for layer in self.layers.values() if layer.dtype is not None}
        if len(dtypes) > 1:
            raise TypeError(f"Sequential: layers have different dtypes {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop() if dtypes else None

    def __getitem__(self, name):
        return self.layers[name]

    def __iter__(self):
        return iter(self.layers.items())

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = "".join(f"\n  ({n}): {layer!r}" for n, layer in self.layers.items())
        return f"{type(self).__name__}({inner}\n)"

    def astype(self, dtype):
        new = copy.copy(self)
        new.layers = OrderedDict((n, layer.astype(dtype)) for n, layer in self.layers.items())
        new._collect()
        return new

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers.values():
            shape = layer.output_shape(shape)
        return shape

    def forward(self, x, train=False, return_activations=False):
        with self._one_thread():
            self._check_array(x)
            activations = {}
            for name, layer in self.layers.items():
                x = layer.forward(x, train=train)
                if return_activations:
                    activations[name] = x
            return (x, activations) if return_activations else x

    def __getstate__(self):  # copies and deep copies get a lock of their own
        state = self.__dict__.copy()
        state.pop("_busy", None)
        return state

    @contextlib.contextmanager
    def _one_thread(self):
        """Refuse a second thread while one is inside this network: layers keep their forward cache in
        attributes, so two threads sharing one model would silently mix their gradients. (Two models in
        two threads are fine.)"""
        busy = self.__dict__.setdefault("_busy", threading.Lock())
        if not busy.acquire(blocking=False):
            raise RuntimeError(
                f"{type(self).__name__}: used by two threads at once; give each thread its own model "
                f"(for example copy.deepcopy(model) or a model built with the same seed)"
            )
        try:
            yield
        finally:
            busy.release()

    def backward(self, dout, input_grad=True):
        """Backward through every layer, last to first; returns dx. ``input_grad=False`` (training on data,
        where dx is thrown away) is passed to the first layer, which may then skip computing it, as PyTorch
        does for inputs that do not require grad; None is returned."""
        layers = list(self.layers.values())
        if not layers:
            return dout if input_grad else None
        with self._one_thread():
            for layer in reversed(layers[1:]):
                dout = layer.backward(dout)
            return layers[0].backward(dout, input_grad=input_grad)

    def macs(self, input_shape):
        total, shape = 0, tuple(input_shape)
        for layer in self.layers.values():
            total += layer.macs(shape)
            shape = layer.output_shape(shape)
        return total

    def receptive_field(self, field):
        """The field of the last layer's units, each layer answering from the one before."""
        for layer in self.layers.values():
            field = layer.receptive_field(field)
        return field

    def linear_stand_in(self, input_shape):
        """The network with every layer replaced by its stand-in (the identity ones left out), float64."""
        shape, items = tuple(input_shape), []
        for name, layer in self.layers.items():
            twin = layer.linear_stand_in(shape)
            if twin is not None:
                items.append((name, twin))
            shape = layer.output_shape(shape)
        return Sequential(items)


def softmax(logits):
    """Row-wise softmax of (N, K) logits, with each row's maximum subtracted first so exp cannot overflow."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class CrossEntropyLoss:
    """Softmax and negative log-likelihood fused, averaged over the batch.

    ``loss = −(1/N) Σ_n log softmax(logits[n])[labels[n]]`` with the log-sum-exp computed after
    subtracting each row's maximum, so large logits do not overflow.
    ``backward() -> dlogits = (softmax(logits) − onehot(labels)) / N``.

    Shape: logits (N, K) float, labels (N,) integers in [0, K) -> a float.
    """

    def __init__(self):
        self.probs = None
        self.labels = None

    def __repr__(self):
        return "CrossEntropyLoss()"

    def forward(self, logits, labels) -> float:
        """The mean loss over the batch; an empty batch raises ValueError (a mean over nothing is undefined).

        Non-finite logits are propagated, as by the layers and by PyTorch: a row with NaN or +inf gives a
        NaN loss (and NaN in that row of ``backward``), never an exception: the caller sees it and decides
        (check ``np.isfinite(loss)`` before an SGD step, which would spread the NaN into every weight).
        """
        if (
            not isinstance(logits, np.ndarray)
            or logits.dtype.type not in _FLOATS
            or not logits.dtype.isnative
        ):
            raise TypeError(
                f"CrossEntropyLoss: logits must be a float32/float64 array (native byte order), got "
                f"{getattr(logits, 'dtype', type(logits).__name__)}"
            )
        if logits.ndim != 2 or 0 in logits.shape:
            raise ValueError(
                f"CrossEntropyLoss: logits shape: expected (N, K) with N >= 1 and K >= 1, got {logits.shape}"
            )
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"CrossEntropyLoss: labels must be integers, got dtype {labels.dtype}")
        if labels.shape != (logits.shape[0],):
            raise ValueError(
                f"CrossEntropyLoss: labels shape: expected ({logits.shape[0]},), got {labels.shape}"
            )
        k = logits.shape[1]
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(
                f"CrossEntropyLoss: labels must be in [0, {k}), got min {labels.min()}, max {labels.max()}"
            )
        z = logits - logits.max(axis=1, keepdims=True)
        log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self.probs, self.labels = np.exp(log_probs), labels
        return float(-log_probs[np.arange(len(labels)), labels].mean())

    __call__ = forward

    def backward(self):
        if self.probs is None:
            raise RuntimeError("CrossEntropyLoss: backward called before forward")
        d = self.probs.copy()
        d[np.arange(len(self.labels)), self.labels] -= 1
        return d / len(self.labels)
