"""The three ways :class:`~alexnet_np.layers.Conv2d` computes a convolution, as small strategy objects.

``Conv2d.forward`` picks one per call (:meth:`Conv2d.conv_algorithm` for the algorithm,
:func:`alexnet_np.ops.fast` for the backend) and keeps it until its backward, so a backward always runs the
algorithm *and* the backend its forward ran. Each strategy has the same two methods:

* ``forward(x, weight, bias) -> y``: x: (N, C_in, H, W), weight: (C_out, C_in/groups, kh, kw),
  bias: (C_out,) or None -> y: (N, C_out, H_out, W_out), channels-last in memory; where ``folds_relu`` is
  True (Winograd and space-to-depth on the Numba backend), ``forward(x, weight, bias, relu=True)`` runs the
  ReLU that follows the layer in the output transform's pass and returns (max(y, 0), y > 0);
* ``backward(dout, weight, *, dw, db, input_grad) -> (dx, dw, db)``: fills ``dw`` (and ``db`` unless None)
  in place and returns them with dx (None when ``input_grad`` is False). ``weight`` is the layer's weight
  *at the time of the backward*: every strategy, on every backend, computes dx with the weights as they are
  then (an in-place edit between forward and backward shows in dx, as it does in ``Linear``).

A layer keeps one object of each kind for its life and sets ``fast`` (the backend) and, for Winograd and
space-to-depth, ``m`` (the output tile) before each forward. What a strategy keeps for its backward lives on
it (``cols``; ``x`` or ``V``), and so do the work arrays it refills from call to call
(:func:`~alexnet_np.ops.buffers.reuse`); arrays used and dropped inside one call come from the thread's
:func:`~alexnet_np.ops.buffers.scratch`. All of them reach the kernels as explicit arguments but Winograd's M,
which :func:`~alexnet_np.ops.winograd_kernels.conv2d_winograd` borrows itself (whole, or a block per thread).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import gemm, kernels, reference, winograd_kernels, winograd_reference
from ..ops.buffers import reuse, scratch
from ..shapes import ceil_div, is_channels_last, output_hw


class Im2col:
    """``cols = im2col(x)``: (N·H_out·W_out, C_in·kh·kw); ``y = cols @ W.T + b``, one GEMM per group.

    Backward: ``dW = dY.T @ cols``, ``db = Σ dY``, ``dx = col2im(dY @ W)`` (the column gradient in the
    thread's scratch array). Kernels: :func:`alexnet_np.ops.reference.im2col` / ``col2im`` on the NumPy
    backend, their Numba twins in :mod:`alexnet_np.ops.kernels` on Numba's.
    """

    name = "im2col"
    folds_relu = False  # its output pass is the GEMM's

    def __init__(self, kernel_size, stride, padding, groups):
        self.kernel_size, self.stride, self.padding, self.groups = kernel_size, stride, padding, groups
        self.fast = True
        self.cols_buffer = None  # the Numba twin fills this work array, reused from call to call
        self.cols: Any = None  # (N·H_out·W_out, C_in·kh·kw), kept for dW
        self.x_shape, self.channels_last = None, False

    def forward(self, x, weight, bias):
        n, f = x.shape[0], weight.shape[0]
        ho, wo = output_hw(x.shape[2], x.shape[3], self.kernel_size, self.stride, self.padding)
        if self.fast:
            shape = (n * ho * wo, weight[0].size * self.groups)
            self.cols_buffer = reuse(self.cols_buffer, shape, x.dtype)
            cols = kernels.im2col(x, self.kernel_size, self.stride, self.padding, out=self.cols_buffer)
        else:
            cols = reference.im2col(x, self.kernel_size, self.stride, self.padding)  # (N·Ho·Wo, C·kh·kw)
        w = weight.reshape(f, -1)  # (F, C/groups·kh·kw), a view
        y = np.empty((cols.shape[0], f), dtype=x.dtype)
        mm = gemm.matmul if self.fast else np.matmul
        for cs, fs in self._group_slices(w.shape[1], f):
            mm(cols[:, cs], w[fs].T, out=y[:, fs])
        if bias is not None:
            y += bias
        self.cols, self.x_shape, self.channels_last = cols, x.shape, is_channels_last(x)
        return y.reshape(n, ho, wo, f).transpose(0, 3, 1, 2)  # (N, F, Ho, Wo), channels-last memory

    def backward(self, dout, weight, *, dw, db=None, input_grad=True):
        f = weight.shape[0]
        dy = dout.transpose(0, 2, 3, 1).reshape(-1, f)  # (N·Ho·Wo, F); a view when dout is channels-last
        w, dw_matrix = weight.reshape(f, -1), dw.reshape(f, -1)
        dcols: Any = scratch(self.cols.shape, self.cols.dtype) if input_grad else None
        mm = gemm.matmul if self.fast else np.matmul
        for cs, fs in self._group_slices(w.shape[1], f):
            mm(dy[:, fs].T, self.cols[:, cs], out=dw_matrix[fs])
            if input_grad:
                mm(dy[:, fs], w[fs], out=dcols[:, cs])
        if db is not None:
            np.sum(dy, axis=0, out=db)
        if not input_grad:
            return None, dw, db
        geometry = (self.x_shape, self.kernel_size, self.stride, self.padding)
        if self.fast:  # dx in the memory layout of x
            return kernels.col2im(dcols, *geometry, channels_last=self.channels_last), dw, db
        return reference.col2im(dcols, *geometry), dw, db

    def _group_slices(self, k, f):
        """(columns of cols, rows of W) of each group: k = C_in/groups·kh·kw, f = C_out."""
        fg = f // self.groups
        return [(slice(g * k, (g + 1) * k), slice(g * fg, (g + 1) * fg)) for g in range(self.groups)]


class Winograd:
    """Winograd F(m×m, r×r) (:mod:`alexnet_np.ops.winograd_reference`; Numba twin
    :mod:`~alexnet_np.ops.winograd_kernels`), stride 1 and square kernels.

    The filter transform U = G·w·Gᵀ follows the weights as they are at each pass (an optimiser updates
    ``params`` in place, and dx uses the weights as they are at the backward): the Numba backend keeps a copy of
    the weights its U was made from and remakes U only when the weights differ from it (every forward after an
    optimiser step; never in inference, nor in the backward that follows a forward). The NumPy backend remakes
    U in every pass, keeps x and recomputes V in backward; the Numba backend keeps V (the input transform, a
    per-layer work array) and borrows M and dV from the thread's scratch array (M one block at a time where the
    forward runs in blocks: :func:`alexnet_np.ops.winograd_kernels.conv2d_winograd`).
    """

    name = "winograd"

    @property
    def folds_relu(self):
        return self.fast

    def __init__(self, padding, groups):
        self.padding, self.groups = padding, groups
        self.m, self.fast = None, True
        self.U = self.V_buffer = self.dM = None  # Numba's work arrays, reused from call to call
        self.x = None  # NumPy backend: the input, for V in backward
        self.V = None  # Numba backend: the input transform (a gemm_view of a tile-major work array)
        self.x_shape, self.channels_last = None, False
        # Numba backend: a copy of the weights U was made from, to tell whether U is still theirs
        self.weight_seen: Any = None
        self.U_holds_weight_seen = False

    def forward(self, x, weight, bias, *, space_to_depth=None, z=None, relu=False):
        """``space_to_depth`` = (block, padding, size), Numba backend only: run on z = space_to_depth(x) without
        making it whole where the forward runs in blocks (:func:`~alexnet_np.ops.winograd_kernels.conv2d_winograd`;
        ``z``: its work array where it is made whole). ``relu``: Numba backend only (``folds_relu``)."""
        if space_to_depth is None:
            self.x_shape, self.channels_last = x.shape, is_channels_last(x)
        else:  # the backward's dx is dz, channels-last as kernels.space_to_depth makes z
            self.x_shape = winograd_kernels.space_to_depth_shape(x.shape, *space_to_depth[::2])
            self.channels_last = True
        args = (x, weight, bias, self.padding, self.groups, self.m)
        if not self.fast:
            assert not relu, "Winograd: the ReLU folds on the Numba backend only (folds_relu)"
            self.x, self.V = x, None  # what the NumPy backward reads; nothing of an earlier Numba forward
            return winograd_reference.conv2d_winograd(*args)
        self.x = None
        shapes = winograd_kernels.work_shapes(self.x_shape, weight.shape, self.padding, self.groups, self.m)
        old_U, self.U = self.U, reuse(self.U, shapes["U"], x.dtype)
        # a new buffer (another tile or dtype) holds no transform yet
        U_ready = self.U is old_U and self._U_is_of(weight)
        self.V_buffer = reuse(self.V_buffer, shapes["V"], x.dtype)  # kept for the backward, as V
        # M: the thread's scratch array, whole or one block at a time (conv2d_winograd's forward in blocks)
        y = winograd_kernels.conv2d_winograd(
            *args, U=self.U, U_ready=U_ready, V=self.V_buffer, space_to_depth=space_to_depth, z=z, relu=relu
        )
        self.V = winograd_kernels.gemm_view(self.V_buffer, self.groups)
        if not U_ready:
            self._keep_weight(weight)
        return y

    def _keep_weight(self, weight):
        """U was just made from ``weight``: keep a copy to compare later weights with."""
        self.weight_seen = reuse(self.weight_seen, weight.shape, weight.dtype)
        np.copyto(self.weight_seen, weight)
        self.U_holds_weight_seen = True

    def _U_is_of(self, weight):
        """Whether U holds the transform of ``weight`` as it is now (compared with the copy kept)."""
        return bool(
            self.U_holds_weight_seen
            and weight.shape == self.weight_seen.shape
            and weight.dtype == self.weight_seen.dtype
            and np.array_equal(weight, self.weight_seen)
        )

    def backward(self, dout, weight, *, dw, db=None, input_grad=True, relu_mask=None):
        """``relu_mask``: Numba backend only (``folds_relu``): dout is the gradient at the output of the ReLU that
        follows the layer, whose backward runs in the output-transform adjoint's pass."""
        if not self.fast:
            assert relu_mask is None, "Winograd: the ReLU folds on the Numba backend only (folds_relu)"
            dx, dw_new, db_new = winograd_reference.conv2d_winograd_backward(
                dout, self.x, weight, self.padding, self.groups, self.m
            )
            dw[...] = dw_new
            if db is not None:
                db[...] = db_new
            return (dx if input_grad else None), dw, db
        shapes = winograd_kernels.work_shapes(self.x_shape, weight.shape, self.padding, self.groups, self.m)
        self.dM = reuse(self.dM, shapes["M"], dout.dtype)
        U_ready = input_grad and self._U_is_of(weight)
        dx, _, db_new = winograd_kernels.conv2d_winograd_backward(
            dout,
            winograd_kernels.shape_only(self.x_shape, dout.dtype),
            weight,
            self.padding,
            self.groups,
            self.m,
            V=self.V,
            input_grad=input_grad,
            dw=dw,
            U=self.U,  # the forward's while the weights are the same, else refilled from them as they are now
            U_ready=U_ready,
            dM=self.dM,
            dV=scratch(shapes["V"], dout.dtype) if input_grad else None,
            relu_mask=relu_mask,
        )
        if input_grad and not U_ready:  # the backward refilled U from the weights as they are now
            self._keep_weight(weight)
        if db is not None:
            db[...] = db_new
        if dx is not None and not self.channels_last:
            dx = np.ascontiguousarray(dx)  # dx in the memory layout of x
        return dx, dw, db


class SpaceToDepth:
    """A strided convolution as a stride-1 one: ``z = space_to_depth(x)`` turns each s×s block of the padded
    input into one pixel of C·s² channels, the kernel becomes ⌈k/s⌉×⌈k/s⌉ on those channels
    (``space_to_depth(weight)``, the kernel zero-padded to a multiple of s), and :class:`Winograd` runs the
    stride-1 convolution on z. conv1 of AlexNet (11×11, stride 4, 3 channels) becomes a 3×3 convolution on
    48 channels of a 57×57 image: F(m×m, 3×3) spends α²/m² multiplies per output and channel where the direct
    11×11 spends 121/16 per output and z-channel (:func:`alexnet_np.ops.reference.space_to_depth` has the
    identity).

    Backward: the Winograd backward gives dz and the weight gradient of the 3×3 kernel; ``depth_to_space`` maps
    both back (the padded kernel's extra taps are dropped: they were zero, and their gradient is no part of
    the layer's). Kernels: :func:`alexnet_np.ops.reference.space_to_depth` / ``depth_to_space`` and Winograd's
    reference on the NumPy backend, their Numba twins on Numba's, for the weight too (:meth:`weight`).
    Where Winograd's forward runs in blocks (conv1 from batch 5, torchvision's from 7), z is never made whole:
    each block rearranges the rows of z its tiles read (``space_to_depth=`` of
    :func:`~alexnet_np.ops.winograd_kernels.conv2d_winograd`); elsewhere it is a per-layer work array. Either way
    the backward keeps z's Winograd transform V, not z.
    """

    name = "space_to_depth"

    @property
    def folds_relu(self):
        return self.fast

    def __init__(self, kernel_size, stride, padding, groups):
        self.kernel_size, self.stride, self.padding, self.groups = kernel_size, stride, padding, groups
        self.kernel = tuple(ceil_div(k, s) for k, s in zip(kernel_size, stride))  # ⌈k/s⌉: the stride-1 kernel
        self.m, self.fast = None, True
        self.winograd = Winograd(0, groups)  # the stride-1 convolution on z (no padding: z holds it)
        self.z_buffer = None  # Numba backend: z, a per-layer work array (where the forward runs whole passes)
        self.w_buffer = None  # Numba backend: the rearranged weight
        self.x_shape, self.channels_last = None, False

    def weight(self, weight):
        """(F, C/groups, kh, kw) -> (F, C/groups·sh·sw, ⌈kh/sh⌉, ⌈kw/sw⌉), the stride-1 kernel on z (on the Numba
        backend into a per-layer work array, channels-last in memory: rearranged in every pass, as the weights
        may have changed, so its cost counts at batch 1)."""
        if not self.fast:
            return reference.space_to_depth(weight, self.stride, self.kernel)
        f, c = weight.shape[:2]
        shape = (f, *self.kernel, c * self.stride[0] * self.stride[1])
        self.w_buffer = reuse(self.w_buffer, shape, weight.dtype)
        return kernels.space_to_depth(weight, self.stride, self.kernel, out=self.w_buffer)

    def forward(self, x, weight, bias, *, relu=False):
        ho, wo = output_hw(x.shape[2], x.shape[3], self.kernel_size, self.stride, self.padding)
        size = (
            ho + self.kernel[0] - 1,
            wo + self.kernel[1] - 1,
        )  # z's H', W': a stride-1 'valid' conv gives ho, wo
        self.x_shape, self.channels_last = x.shape, is_channels_last(x)
        self.winograd.m, self.winograd.fast = self.m, self.fast
        w = self.weight(weight)
        if not self.fast:
            return self.winograd.forward(
                reference.space_to_depth(x, self.stride, size, self.padding), w, bias
            )
        z_shape = winograd_kernels.space_to_depth_shape(x.shape, self.stride, size)
        if winograd_kernels.rows_per_block(z_shape, w.shape, 0, self.m, x.dtype.itemsize):
            self.z_buffer = None  # the forward in blocks rearranges a slab of z per block, never the whole
        else:
            n, c, hz, wz = z_shape
            self.z_buffer = reuse(self.z_buffer, (n, hz, wz, c), x.dtype)
        return self.winograd.forward(
            x, w, bias, space_to_depth=(self.stride, self.padding, size), z=self.z_buffer, relu=relu
        )

    def backward(self, dout, weight, *, dw, db=None, input_grad=True, relu_mask=None):
        w = self.weight(weight)  # the weights as they are now
        dz, dw_z, db = self.winograd.backward(
            dout, w, dw=np.empty(w.shape, w.dtype), db=db, input_grad=input_grad, relu_mask=relu_mask
        )
        dw[...] = reference.depth_to_space(dw_z, self.stride, dw.shape)
        if not input_grad:
            return None, dw, db
        if self.fast:
            dx = kernels.depth_to_space(
                dz, self.stride, self.x_shape, self.padding, channels_last=self.channels_last
            )
        else:
            dx = reference.depth_to_space(dz, self.stride, self.x_shape, self.padding)
        return dx, dw, db
