"""The fully connected layer, :class:`Linear`."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import BadArgument, BadInput
from ..ops import gemm
from .base import Layer, _as_rng, _check_dtype
from .receptive_field import ReceptiveField, _check_field


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
                raise BadArgument(f"Linear: {name} must be a positive int, got {v!r}")
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

    def output_shape(self, input_shape):
        shape = self._check_ndim(input_shape, 2, f"(N, {self.in_features})")
        if shape[1] != self.in_features:
            raise self._fail(BadInput, "input shape", f"(N, {self.in_features})", shape)
        return (shape[0], self.out_features)

    def forward(self, x, train=False):
        self._begin_forward(x)
        if ops.fast():
            # The same product as (W @ xᵀ)ᵀ, on the library's threads: OpenBLAS runs it faster than x @ Wᵀ when
            # the batch is small against the features (fc6 at batch 8 and 32: about 1.5×, with the copy back to
            # C order; the same at batch 1; docs/benchmarks.md)
            y = np.ascontiguousarray(gemm.matmul(self.params["weight"], x.T).T)
        else:
            y = x @ self.params["weight"].T  # (N, in) @ (in, out)
        if "bias" in self.params:
            y += self.params["bias"]
        self.x = x
        return y

    def backward(self, dout, input_grad=True):
        """Fill ``grads`` and return dx (None with ``input_grad=False``, as for Conv2d)."""
        self._begin_backward(dout)
        mm = gemm.matmul if ops.fast() else np.matmul
        if dout.shape[0] == 1:  # an outer product: BLAS's GEMM is slow for K = 1
            np.outer(dout[0], self.x[0], out=self.grads["weight"])
        else:
            mm(dout.T, self.x, out=self.grads["weight"])
        if "bias" in self.params:
            np.sum(dout, axis=0, out=self.grads["bias"])
        return mm(dout, self.params["weight"]) if input_grad else None

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
