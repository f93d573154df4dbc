"""Pooling: :class:`MaxPool2d` (overlapping windows) and :class:`AdaptiveAvgPool2d`."""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..errors import BadArgument
from ..ops import kernels, reference
from ..shapes import ceil_div, conv_output_arithmetic, output_hw, pair
from .base import Layer, _window_arithmetic
from .conv import Conv2d
from .receptive_field import ReceptiveField, _check_field, _window_field


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
            raise BadArgument(
                f"MaxPool2d: kernel_size and stride must be >= 1 and padding >= 0, got "
                f"{self.kernel_size}, {self.stride}, {self.padding}"
            )
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise BadArgument(
                f"MaxPool2d: padding {self.padding} must be at most half of kernel_size "
                f"{self.kernel_size} (a window of padding alone has no maximum)"
            )

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
            raise BadArgument(f"{self!r}: no convolution has ceil_mode's partial last window")
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

    def _sorted_windows(self, x):
        """Every window's values (padding as −inf), sorted: (N, C, H_out, W_out, kh·kw)."""
        self.output_shape(x.shape)
        windows = reference.maxpool_windows(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)
        return np.sort(windows, axis=-1)

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
    return [((i * n_in) // n_out, ceil_div((i + 1) * n_in, n_out)) for i in range(n_out)]


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
            raise BadArgument(f"AdaptiveAvgPool2d: output_size must be >= 1, got {self.output_size}")

    def output_shape(self, input_shape):
        shape = self._check_ndim(input_shape, 4, "(N, C, H, W)")
        return (shape[0], shape[1], *self.output_size)

    def forward(self, x, train=False):
        out_shape = self._begin_forward(x)
        rows, cols = self._bins(x.shape)
        y = np.empty(out_shape, dtype=x.dtype)
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

    def describe(self):
        return f"AdaptiveAvgPool2d →{self.output_size[0]}×{self.output_size[1]}"

    def torch_spec(self):
        return "AdaptiveAvgPool2d", dict(output_size=self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"

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
