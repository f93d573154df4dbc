"""Convolution: :class:`Conv2d`, run by im2col, Winograd or space-to-depth + Winograd
(:mod:`alexnet_np.layers.conv_algorithms`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..errors import BadArgument, BadInput
from ..ops import winograd_kernels, winograd_reference
from ..shapes import ceil_div, pair
from .base import Layer, _as_rng, _check_dtype, _window_arithmetic
from .conv_algorithms import Im2col, SpaceToDepth, Winograd
from .receptive_field import _check_field, _window_field


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
    :mod:`alexnet_np.ops.winograd_reference` / :mod:`~alexnet_np.ops.winograd_kernels`: fewer multiplies, for
    stride 1 and square kernels of at most 8×8 only; anything else raises BadArgument), ``"space_to_depth"``
    (a strided convolution rearranged into a stride-1 one with a ⌈k/s⌉ kernel on C·s² channels, run by
    Winograd: conv1's 11×11 stride 4 becomes 3×3 on 48 channels; square stride > 1, kernel, padding, and 2 ≤
    ⌈k/s⌉ ≤ 7) or ``"auto"``; ``None`` (the default) follows :func:`alexnet_np.use_conv_algorithm` /
    ``set_conv_algorithm``, which start at ``"auto"``. ``algorithm`` is checked whenever it is set.
    :meth:`conv_algorithm` says what runs for an input shape and why. ``macs()`` stays the direct count;
    :meth:`multiplies` is what the chosen algorithm's matrix multiplies do. Each algorithm is a small strategy
    object (``Im2col``, ``Winograd`` and ``SpaceToDepth`` in ``alexnet_np/layers/conv_algorithms.py``) chosen
    once per forward; the backward runs the algorithm and the backend its forward ran.

    Weights edited in place between forward and backward: on every path (im2col or Winograd, NumPy or
    Numba) the backward uses the weights *as they are at backward time*, as :class:`Linear` does: dx is
    computed from the edited weights (dw and db do not depend on them). An optimiser steps after the
    backward, so a training loop never sees the difference.

    Example:
        >>> conv1 = Conv2d(3, 96, kernel_size=11, stride=4, rng=np.random.default_rng(0))
        >>> conv1.output_shape((1, 3, 227, 227))
        (1, 96, 55, 55)
    """

    # the strategy the last forward ran, and the layer's one object of each kind (copies get their own)
    _cache_attrs = ("_strategy", "_im2col", "_winograd", "_space_to_depth")
    _strategy: Any  # Im2col | Winograd | SpaceToDepth: what the last forward ran
    _im2col: Im2col | None
    _winograd: Winograd | None
    _space_to_depth: SpaceToDepth | None

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
        self._algorithm = None
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise BadArgument(f"Conv2d: {name} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise BadArgument(
                f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must both be divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise BadArgument(
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
        self.algorithm = algorithm  # checked (the property below)

    def output_shape(self, input_shape):
        shape = self._check_ndim(input_shape, 4, f"(N, {self.in_channels}, H, W)")
        if shape[1] != self.in_channels:
            raise self._fail(BadInput, "input shape", f"(N, {self.in_channels}, H, W)", shape)
        ho, wo = self._check_window(
            shape, self.kernel_size, self.stride, self.padding, f"(N, {self.in_channels}, H, W)"
        )
        return (shape[0], self.out_channels, ho, wo)

    def forward(self, x, train=False):
        self._begin_forward(x)
        self._strategy = self._choose_strategy(x.shape)  # the backward runs what this forward ran
        return self._strategy.forward(x, self.params["weight"], self.params.get("bias"))

    def forward_relu(self, x, train=False):
        """Where the algorithm has an output pass that can take it (Winograd and space-to-depth on the Numba
        backend: the output transform), the ReLU that follows runs in it: ``(max(y, 0), y > 0)``; else None, and
        None for a subclass with a forward of its own (the capstone's student layers) or a forward put in the class's
        place (the notebooks' planted bugs), which must run."""
        if type(self).forward is not _LIBRARY_FORWARD:
            return None
        self._begin_forward(x)
        strategy = self._choose_strategy(x.shape)
        if not strategy.folds_relu:
            return None
        self._strategy = strategy
        return strategy.forward(x, self.params["weight"], self.params.get("bias"), relu=True)

    def backward(self, dout, input_grad=True):
        """Fill ``grads`` and return dx; with ``input_grad=False`` (the first layer of a network, whose
        input is data) skip dx and return None. dx uses the weights as they are now (class docstring)."""
        return self._backward(dout, input_grad)

    def backward_relu(self, dout, mask, input_grad=True):
        """The backward of the ReLU that follows this layer (``mask``: y > 0) folded into this layer's backward,
        where the algorithm that ran the forward can take it (``folds_relu``: Winograd's output-transform adjoint
        multiplies each pixel of ``dout`` by its mask as it reads it); else NotImplemented, and NotImplemented for
        a subclass with a backward of its own or a backward put in the class's place."""
        if type(self).backward is not _LIBRARY_BACKWARD or not getattr(self._strategy, "folds_relu", False):
            return NotImplemented
        return self._backward(dout, input_grad, relu_mask=mask)

    def _backward(self, dout, input_grad, **relu_mask):
        """The strategy that ran the forward, backward (``relu_mask=`` only to one that ``folds_relu``)."""
        self._begin_backward(dout)
        dx, _, _ = self._strategy.backward(
            dout,
            self.params["weight"],
            dw=self.grads["weight"],
            db=self.grads.get("bias"),
            input_grad=input_grad,
            **relu_mask,
        )
        return dx

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
    @property
    def algorithm(self):
        """``"auto"``, ``"im2col"``, ``"winograd"``, ``"space_to_depth"``, or None (follow the thread's default);
        checked when set."""
        return self._algorithm

    @algorithm.setter
    def algorithm(self, name):
        if name is not None and name not in ops.CONV_ALGORITHMS:
            raise BadArgument(
                f"Conv2d: unknown convolution algorithm {name!r}; choose one of {ops.CONV_ALGORITHMS} or None"
            )
        if name == "winograd" and self._winograd_misfit():
            raise BadArgument(f"{self._label()}: algorithm='winograd' needs {self._winograd_misfit()}")
        if name == "space_to_depth" and self._space_to_depth_misfit():
            raise BadArgument(
                f"{self._label()}: algorithm='space_to_depth' needs {self._space_to_depth_misfit()}"
            )
        self._algorithm = name

    def _winograd_misfit(self):
        """Why Winograd cannot run this layer ('' when it can): it needs stride 1 and a square kernel."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if (sh, sw) != (1, 1):
            return f"stride 1, got stride {self.stride}"
        if kh > winograd_reference.MAX_ALPHA:
            return (
                f"a kernel of at most {winograd_reference.MAX_ALPHA} (α = m + r − 1 <= "
                f"{winograd_reference.MAX_ALPHA}, the float32 error bound), got kernel_size {self.kernel_size}"
            )
        if kh != kw or ph != pw:
            return f"a square kernel and padding, got kernel_size {self.kernel_size}, padding {self.padding}"
        return ""

    def space_to_depth_kernel(self):
        """⌈k/s⌉: the kernel of the stride-1 convolution that space-to-depth turns this layer into."""
        return ceil_div(self.kernel_size[0], self.stride[0])

    def _space_to_depth_misfit(self):
        """Why space-to-depth + Winograd cannot run this layer ('' when it can): square kernel, stride and
        padding, stride > 1, and a stride-1 kernel ⌈k/s⌉ of at least 2 with a Winograd tile (α <= 8)."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if kh != kw or sh != sw or ph != pw:
            return (
                f"a square kernel, stride and padding, got kernel_size {self.kernel_size}, stride {self.stride}, "
                f"padding {self.padding}"
            )
        if sh == 1:
            return "a stride above 1 (at stride 1 use 'winograd'), got stride 1"
        r = self.space_to_depth_kernel()
        if not 2 <= r <= winograd_reference.MAX_ALPHA - 1:
            return (
                f"a kernel of 2 to {winograd_reference.MAX_ALPHA - 1} after space-to-depth (⌈kernel/stride⌉), "
                f"got ⌈{kh}/{sh}⌉ = {r}"
            )
        return ""

    def conv_algorithm(self, input_shape):
        """``(name, m)``: the algorithm a forward pass on ``input_shape`` runs, and its output tile (None for im2col).

        The requested algorithm is this layer's ``algorithm``, else the thread's default
        (:func:`alexnet_np.use_conv_algorithm`). ``"auto"``, a static rule on the layer's and the input's
        shape (deterministic, never timed at run time): Winograd where it applies (stride 1, a square kernel
        wider than 1) when its estimated cost is below the direct count. The cost of tile m per channel pair,
        in GEMM multiplies (:func:`~alexnet_np.ops.winograd_reference.auto_tile`), is
        ``N·α²·⌈H_out/m⌉·⌈W_out/m⌉ + 12·α·r·(r + α)`` with α = m + r − 1 ≤ 8 (the second term: the
        filter transform, paid whatever the batch in the first pass after the weights change, so in every
        training step; 12 fitted to measurements; on fixed weights the Numba backend keeps it, the NumPy backend
        remakes it in every pass); the direct
        count is ``N·H_out·W_out·r²``. On AlexNet: conv2 by Winograd at every batch, conv3–conv5 by im2col
        at batch 1 and by Winograd from batch 2 (docs/benchmarks.md has the measurements).
        ``"winograd"`` takes the tile of least cost even where im2col would cost less.

        Strided layers: ``"space_to_depth"`` runs Winograd on the rearranged input with the kernel r' = ⌈k/s⌉ and
        s² times as many input channels, so its cost per original channel pair is s² times ``auto_tile``'s
        for r'; ``"auto"`` takes it where r' >= 3 (a 2×2 kernel saves too little to pay for the rearrangement)
        and that cost is below the direct count. On AlexNet: conv1 (11×11 stride 4: r' = 3 on 48 channels) at
        every batch.
        """
        n, f, ho, wo = self.output_shape(input_shape)
        requested = self.algorithm or ops.get_conv_algorithm()
        if requested == "im2col":
            return "im2col", None
        if requested == "space_to_depth" or (requested == "auto" and self.stride[0] > 1):
            s2d_misfit = self._space_to_depth_misfit()
            if requested == "space_to_depth" and s2d_misfit:
                raise BadArgument(
                    f"{self._label()}: algorithm 'space_to_depth' (this thread's default) needs {s2d_misfit}"
                )
            r = self.space_to_depth_kernel()
            if s2d_misfit or (requested == "auto" and r < 3):
                return "im2col", None
            m, cost = winograd_reference.auto_tile(n, r, ho, wo)
            direct = n * ho * wo * self.kernel_size[0] ** 2
            s2 = self.stride[0] ** 2
            return (
                ("space_to_depth", m)
                if requested == "space_to_depth" or s2 * cost < direct
                else ("im2col", None)
            )
        misfit = self._winograd_misfit()
        if requested == "winograd" and misfit:
            raise BadArgument(
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

        Winograd: ``α²·⌈H_out/m⌉·⌈W_out/m⌉ · C_in/groups · C_out`` (transforms not counted, notebook 08);
        space-to-depth: the same with α = m + ⌈k/s⌉ − 1 and s²·C_in/groups input channels."""
        name, m = self.conv_algorithm(input_shape)
        if name == "im2col":
            return self.macs(input_shape)
        _, f, ho, wo = self.output_shape(input_shape)
        r, c = self.kernel_size[0], self.in_channels // self.groups
        if name == "space_to_depth":  # Winograd on s² times the channels with the ⌈k/s⌉ kernel
            r, c = self.space_to_depth_kernel(), c * self.stride[0] ** 2
        return winograd_reference.gemm_multiplies(ho, wo, r, m, c, f)

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
        one (tiles, C_in/groups) @ (C_in/groups, C_out/groups) per transform point and group (α²·groups); for
        space-to-depth the same on s²·C_in/groups channels."""
        n, f, ho, wo = self.output_shape(input_shape)
        name, m = self.conv_algorithm(input_shape)
        if name in ("winograd", "space_to_depth"):
            r, c = self.kernel_size[0], self.in_channels // self.groups
            if name == "space_to_depth":
                r, c = self.space_to_depth_kernel(), c * self.stride[0] ** 2
            alpha = m + r - 1
            tiles = n * ceil_div(ho, m) * ceil_div(wo, m)
            return [(tiles, c, f // self.groups)] * (alpha * alpha * self.groups)
        k = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        return [(n * ho * wo, k, f // self.groups)] * self.groups

    def receptive_field(self, field):
        """A kh×kw window of input units, ``stride`` apart, starting ``padding`` units before the first."""
        _check_field(self, field)
        out = self.output_shape((1, self.in_channels, *field.grid))[2:]
        return _window_field(field, out, self.kernel_size, self.stride, self.padding)

    def train_memory(self, input_shape, dtype=np.float32):
        """By the algorithm a forward on ``input_shape`` runs (:meth:`conv_algorithm`; the budget pins it).

        im2col: the column matrix (N·H_out·W_out, C_in·kh·kw) is kept for the weight gradient, and the backward
        fills a scratch array of the same size with its gradient. The NumPy backend builds a new column
        matrix each forward, so the last step's is still held while it does.

        Winograd on the Numba backend (``work``, kept from call to call): U (α², C_in, C_out/groups) and a copy
        of the weights it was made from, the input transform V (P, α², C_in) and the output gradient's dM
        (P, α², C_out), P = N·⌈H_out/m⌉·⌈W_out/m⌉ tiles;
        the forward borrows M (the size of dM) from the scratch, the backward dV (the size of V), and dU (the
        size of U) is a temporary. Where the forward runs in blocks
        (:func:`~alexnet_np.ops.winograd_kernels.rows_per_block`), it borrows one block of M instead (and, for
        space-to-depth, the block's rows of z, which is then never made whole); each of the other threads of
        :func:`~alexnet_np.ops.gemm.run_blocks` keeps one in its own scratch, left out (about ``BLOCK_BYTES``,
        1 MiB, a thread; counting them would make the budget depend on the thread count).
        Space-to-depth adds its rearranged input z (N, H', W', C_in·s²) and its rearranged weight to ``work``
        and counts Winograd on z;
        its backward's dz (z's size) is a temporary. The NumPy backend keeps the input
        (z for space-to-depth) and makes U, V and M anew in every pass (temporaries)."""
        n, f, ho, wo = self.output_shape(input_shape)
        item = np.dtype(self.dtype).itemsize
        name, m = self.conv_algorithm(input_shape)
        if name == "im2col":
            cols = n * ho * wo * self.in_channels * self.kernel_size[0] * self.kernel_size[1] * item
            return self._memory(
                input_shape, dtype, im2col=cols, scratch=cols, temporary=0 if ops.fast() else cols
            )
        shape, weight_shape, padding = self._winograd_problem(input_shape, name)
        z = int(np.prod(shape)) * item if name == "space_to_depth" else 0
        r = weight_shape[2]
        work = {
            k: int(np.prod(v)) * item
            for k, v in winograd_kernels.work_shapes(shape, weight_shape, padding, self.groups, m).items()
        }
        if not ops.fast():  # the reference keeps what its Winograd ran on (x, or z) and recomputes the rest
            kept = z or int(np.prod(input_shape)) * item
            return self._memory(input_shape, dtype, kept=kept, temporary=sum(work.values()))
        weight_copy = f * (shape[1] // self.groups) * r * r * item  # the weights U was made from
        rearranged = weight_copy if name == "space_to_depth" else 0  # space-to-depth's weight on z
        rows = self.winograd_rows_per_block(input_shape)
        m_forward, z_kept = work["M"], z
        if rows:  # one block of M and of z's rows (the other threads' blocks are left out); z is never whole
            m_forward = rows * work["M"] // (shape[0] * ceil_div(ho, m))
            m_forward += (rows * m + r - 1) * shape[3] * shape[1] * item if z else 0
            z_kept = 0
        return self._memory(
            input_shape,
            dtype,
            work=work["U"] + work["V"] + work["M"] + z_kept + weight_copy + rearranged,
            scratch=work["V"],
            scratch_forward=m_forward,
            temporary=work["U"] + z,
        )

    def _winograd_problem(self, input_shape, name):
        """(input shape, weight shape, padding) of the stride-1 convolution Winograd runs for ``name``
        ("winograd": the layer's own; "space_to_depth": the one on the rearranged input z)."""
        if name == "space_to_depth":
            n, _, ho, wo = self.output_shape(input_shape)
            r, c = self.space_to_depth_kernel(), self.in_channels * self.stride[0] ** 2
            return (n, c, ho + r - 1, wo + r - 1), (self.out_channels, c // self.groups, r, r), 0
        return tuple(input_shape), self.params["weight"].shape, self.padding[0]

    def winograd_rows_per_block(self, input_shape):
        """Tile rows per block where a forward on ``input_shape`` runs Winograd in blocks on the Numba backend
        (:func:`alexnet_np.ops.winograd_kernels.rows_per_block`), else 0 (im2col, or whole passes)."""
        name, m = self.conv_algorithm(input_shape)
        if name == "im2col":
            return 0
        shape, weight_shape, padding = self._winograd_problem(input_shape, name)
        return winograd_kernels.rows_per_block(shape, weight_shape, padding, m, np.dtype(self.dtype).itemsize)

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

    def _choose_strategy(self, input_shape):
        """This layer's :class:`Im2col`, :class:`Winograd` or :class:`SpaceToDepth` object, set for the algorithm,
        tile and backend a forward pass on ``input_shape`` runs (one object of each kind per layer: its work arrays are
        reused from call to call)."""
        name, m = self.conv_algorithm(input_shape)
        strategy: Im2col | Winograd | SpaceToDepth
        if name == "space_to_depth":
            if self._space_to_depth is None:
                self._space_to_depth = SpaceToDepth(self.kernel_size, self.stride, self.padding, self.groups)
            strategy, strategy.m = self._space_to_depth, m
        elif name == "winograd":
            if self._winograd is None:
                self._winograd = Winograd(self.padding[0], self.groups)
            strategy, strategy.m = self._winograd, m
        else:
            if self._im2col is None:
                self._im2col = Im2col(self.kernel_size, self.stride, self.padding, self.groups)
            strategy = self._im2col
        strategy.fast = ops.fast()
        return strategy


# The library's own passes, kept aside: a fold happens only where a Conv2d runs these (a subclass's methods, or a
# function put in the class's place as the notebooks plant their bugs, run as written).
_LIBRARY_FORWARD, _LIBRARY_BACKWARD = Conv2d.forward, Conv2d.backward
