"""Normalisation: the paper's :class:`LocalResponseNorm`, and :class:`BatchNorm2d` / :class:`BatchNorm1d`."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import BadArgument, BadInput
from ..ops import kernels, reference
from .base import Layer, _check_dtype


class LocalResponseNorm(Layer):
    """Local response normalisation across channels (Krizhevsky et al. 2012, section 3.3).

    Shape:
        x: (N, C, H, W) -> y: (N, C, H, W).

    ``y[c] = x[c] / (k + a · Σ_{j=c−⌊n/2⌋}^{c+⌊(n−1)/2⌋} x[j]²)^β``, the sum clipped at the first
    and last channel, with

    * ``convention="paper"`` (default): ``a = alpha``, the paper's formula (n=5, α=1e-4, β=0.75, k=2);
    * ``convention="pytorch"``: ``a = alpha / size``, the form of PyTorch's and Caffe's LRN layers.

    ``groups=g`` splits the C channels into g consecutive blocks of C/g and clips each window at its block's
    edges: one LRN per block, as in a network split into g towers (the paper's two GPUs), where a tower's
    window cannot reach the other tower's maps. ``groups=1`` (default) is one window over all C channels.

    PyTorch's ``torch.nn.LocalResponseNorm`` divides α by n and defaults k to 1, so the paper's
    layer is ``torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)``; the repr of this
    layer prints its PyTorch equivalent.

    Kernels: :func:`alexnet_np.ops.reference.lrn_forward` / :func:`~alexnet_np.ops.reference.lrn_backward`
    or their Numba twins in :mod:`alexnet_np.ops.kernels`; both keep ``scale`` (the Numba twin in an array
    reused from call to call), so the backward may run on either backend whatever the forward ran on.
    """

    _cache_attrs = ("x", "scale")
    x: np.ndarray | None
    scale: np.ndarray | None

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0, *, convention="paper", groups=1):
        super().__init__()
        if not isinstance(groups, (int, np.integer)) or groups < 1:
            raise BadArgument(f"LocalResponseNorm: groups must be a positive int, got {groups!r}")
        self.groups = int(groups)
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise BadArgument(f"LocalResponseNorm: size must be a positive int, got {size!r}")
        if convention not in ("paper", "pytorch"):
            raise BadArgument(
                f"LocalResponseNorm: convention must be 'paper' or 'pytorch', got {convention!r}"
            )
        if k <= 0 or alpha < 0:
            raise BadArgument(f"LocalResponseNorm: need k > 0 and alpha >= 0, got k={k}, alpha={alpha}")
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)
        self.convention = convention

    def output_shape(self, input_shape):
        if self.groups == 1:
            return self._check_ndim(input_shape, 4, "(N, C, H, W)")
        shape = self._check_ndim(input_shape, 4, f"(N, C, H, W) with C divisible by groups={self.groups}")
        if shape[1] % self.groups:
            raise self._fail(
                BadInput, "input shape", f"(N, C, H, W) with C divisible by {self.groups}", shape
            )
        return shape

    def _grouped(self, a):
        """(N, C, H, W) -> (N·g, C/g, H, W): each group of channels a sample of its own (a copy if ``a`` is not
        C-contiguous)."""
        n, c, h, w = a.shape
        return a.reshape(n * self.groups, c // self.groups, h, w)

    def forward(self, x, train=False):
        self._begin_forward(x)
        if self.groups > 1:
            shape, x = x.shape, self._grouped(x)
        a = self.effective_alpha
        if ops.fast():  # the last call's scale array is refilled when x has the same shape and layout
            y, self.scale = kernels.lrn_forward(x, self.size, a, self.beta, self.k, out=self.scale)
        else:
            y, self.scale = reference.lrn_forward(x, self.size, a, self.beta, self.k)
        self.x = x  # grouped, as scale is
        return y.reshape(shape) if self.groups > 1 else y

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        if not input_grad:
            return None
        backward = kernels.lrn_backward if ops.fast() else reference.lrn_backward
        if self.groups > 1:
            dx = backward(self._grouped(dout), self.x, self.scale, self.size, self.effective_alpha, self.beta)
            return dx.reshape(dout.shape)
        return backward(dout, self.x, self.scale, self.size, self.effective_alpha, self.beta)

    @property
    def effective_alpha(self) -> float:
        """The factor in front of the sum of squares, α (paper convention) or α/n (PyTorch convention)."""
        return self.alpha if self.convention == "paper" else self.alpha / self.size

    def torch_equivalent(self) -> dict:
        """Keyword arguments of ``torch.nn.LocalResponseNorm`` that compute the same function."""
        return dict(size=self.size, alpha=self.effective_alpha * self.size, beta=self.beta, k=self.k)

    def torch_spec(self):
        if self.groups > 1:
            raise BadArgument(f"{self!r}: torch.nn.LocalResponseNorm has no groups")
        return "LocalResponseNorm", self.torch_equivalent()

    def describe(self):
        return f"LRN n={self.size}, α={self.alpha:g}, β={self.beta:g}, k={self.k:g}" + (
            f", {self.groups} groups" if self.groups > 1 else ""
        )

    def extra_repr(self):
        t = self.torch_equivalent()
        return (
            f"size={self.size}, alpha={self.alpha:g}, beta={self.beta:g}, k={self.k:g}, "
            f"convention={self.convention!r}"
            + (
                f", groups={self.groups}"
                if self.groups > 1
                else f"; = torch.nn.LocalResponseNorm({t['size']}, alpha={t['alpha']:g}, beta={t['beta']:g}, "
                f"k={t['k']:g})"
            )
        )

    def linear_stand_in(self, input_shape):
        return None  # each output pixel depends on the same pixel of nearby channels only

    def train_memory(self, input_shape, dtype=np.float32):
        """The input is kept, and ``scale``, an array of its size (reused from step to step with the Numba
        backend)."""
        size = int(np.prod(self.output_shape(input_shape))) * np.dtype(dtype).itemsize
        return self._memory(input_shape, dtype, kept=2 * size)


class _BatchNorm(Layer):
    """Shared code of BatchNorm1d and BatchNorm2d; ``_axes`` are the axes averaged over."""

    _cache_attrs = ("x_hat", "inv_std", "used_batch_stats")

    _axes: tuple[int, ...] = ()

    _pattern = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, *, dtype=np.float32):
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise BadArgument(
                f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}"
            )
        if not 0.0 <= momentum <= 1.0 or eps <= 0:
            raise BadArgument(f"{type(self).__name__}: need 0 <= momentum <= 1 and eps > 0")
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

    def output_shape(self, input_shape):
        pattern = self._pattern.format(self.num_features)
        shape = self._check_ndim(input_shape, len(self._axes) + 1, pattern)
        if shape[1] != self.num_features:
            raise self._fail(BadInput, "input shape", pattern, shape)
        return shape

    def forward(self, x, train=False):
        """Train: normalise with the batch's mean and (biased) variance and update the running
        statistics with the unbiased variance, as PyTorch does. Eval: use the running statistics."""
        self._begin_forward(x)
        if train:
            count = x.size // self.num_features
            if count < 2:
                raise self._fail(
                    BadInput, "input shape in training mode", "more than one value per channel", x.shape
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

    def describe(self):
        return f"{type(self).__name__} {self.num_features}"

    def torch_spec(self):
        return type(self).__name__, dict(num_features=self.num_features, eps=self.eps, momentum=self.momentum)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"

    def _bshape(self, v):
        """A per-channel vector shaped to broadcast against the input: (1, C) or (1, C, 1, 1)."""
        return v.reshape((1, -1) + (1,) * (len(self._axes) - 1))

    def train_memory(self, input_shape, dtype=np.float32):
        """x̂ (made anew each forward) and 1/σ per channel are kept; forward and backward each make about two
        input-sized temporaries (x − μ and its square; dout − mean(dout) and x̂ · mean(dout · x̂))."""
        item = self.dtype.itemsize
        size = int(np.prod(self.output_shape(input_shape))) * item
        return self._memory(input_shape, dtype, kept=size + self.num_features * item, temporary=3 * size)


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
