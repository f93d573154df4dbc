"""Output sizes of windowed layers: the one formula every layer, im2col and the summary use::

    out = floor((n + 2·p − k) / s) + 1          (PyTorch, Caffe: ceil_mode=False)
    out = ceil((n + 2·p − k) / s) + 1           (ceil_mode=True; cuda-convnet's rule, PyTorch's
                                                 pooling option), less one when the last window
                                                 would start in the right padding or beyond

Conv2d, MaxPool2d, im2col, the kernels and the model summary all call
:func:`conv_output_size` (or :func:`output_hw`, the (H_out, W_out) pair of it); nothing else
in the package writes the formula again.
"""

from __future__ import annotations


def pair(value, name: str = "value") -> tuple[int, int]:
    """An int or a pair of ints -> a pair of ints (PyTorch's ``_pair``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (value[0], value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def ceil_div(a: int, b: int) -> int:
    """``⌈a / b⌉`` for ints (b > 0), exactly, without floats: how many tiles of ``b`` cover ``a``.

    >>> ceil_div(13, 5)   # 13 outputs in tiles of 5: three tiles, the last overhanging
    3
    """
    return -(-a // b)


def conv_output_size(
    n: int, kernel_size: int, stride: int = 1, padding: int = 0, ceil_mode: bool = False
) -> int:
    """Output length of a convolution or pooling window sliding over ``n`` positions.

    ``floor((n + 2·padding − kernel_size) / stride) + 1``, the same floor as PyTorch. With
    ``ceil_mode=True``, PyTorch's pooling option: the division rounds up (a last, partial window
    hangs over the right edge), but a window that would start in the right padding or beyond
    the padded input is dropped: the last window must start inside the input or its left padding.

    Raises ValueError when the result is < 1 (the input is too small for the window)
    or when an argument is out of range.

    >>> conv_output_size(227, 11, 4)   # AlexNet conv1
    55
    >>> conv_output_size(224, 11, 4)   # 54.25 floored: the 224-vs-227 puzzle
    54
    >>> conv_output_size(224, 11, 4, ceil_mode=True)   # cuda-convnet's rule: 54.25 rounded up
    55
    """
    if kernel_size < 1 or stride < 1 or padding < 0:
        raise ValueError(
            f"kernel_size and stride must be >= 1 and padding >= 0, "
            f"got kernel_size={kernel_size}, stride={stride}, padding={padding}"
        )
    span = n + 2 * padding - kernel_size
    if ceil_mode:
        out = ceil_div(span, stride) + 1
        if out > 1 and (out - 1) * stride >= n + padding:  # the last window would start past the input
            out -= 1
    else:
        out = span // stride + 1
    if out < 1 or span < 0:
        raise ValueError(
            f"input size {n} is too small for kernel_size={kernel_size}, stride={stride}, "
            f"padding={padding}: ({n} + 2·{padding} − {kernel_size}) // {stride} + 1 = {span // stride + 1} < 1"
        )
    return out


def output_hw(h: int, w: int, kernel_size, stride=1, padding=0, ceil_mode=False) -> tuple[int, int]:
    """(H_out, W_out) of a window sliding over an H×W image: :func:`conv_output_size` per axis.

    ``kernel_size``, ``stride`` and ``padding`` are ints or (height, width) pairs.

    >>> output_hw(227, 227, 11, 4)
    (55, 55)
    """
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    return conv_output_size(h, kh, sh, ph, ceil_mode), conv_output_size(w, kw, sw, pw, ceil_mode)


def conv_output_arithmetic(
    n: int, kernel_size: int, stride: int = 1, padding: int = 0, ceil_mode: bool = False
) -> str:
    """The output-size arithmetic written out, e.g. ``(227 − 11)/4 + 1 = 55``.

    A division that is not exact is shown, not hidden:
    ``(224 − 11)/4 + 1 = 54.25 → 54`` (``→ 55`` with ``ceil_mode=True``).
    """
    out = conv_output_size(n, kernel_size, stride, padding, ceil_mode)
    top = f"{n} + 2·{padding} − {kernel_size}" if padding else f"{n} − {kernel_size}"
    span = n + 2 * padding - kernel_size
    if span % stride == 0:
        return f"({top})/{stride} + 1 = {out}"
    exact = span / stride + 1
    return f"({top})/{stride} + 1 = {exact:g} → {out}"


def is_channels_last(x) -> bool:
    """True when an (N, C, H, W) array is laid out as (N, H, W, C) in memory (PyTorch's ``channels_last``).

    A convolution's output is laid out this way (see :class:`alexnet_np.layers.Conv2d`); the kernels
    pick their loop order by it and allocate their outputs to match.
    """
    return x.ndim == 4 and x.shape[1] > 1 and x.transpose(0, 2, 3, 1).flags.c_contiguous
