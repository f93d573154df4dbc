"""The kernels the layers run, and the switch between them.

Two implementations of the same functions, named and imported explicitly:

* :mod:`alexnet_np.ops.reference` — readable NumPy, the one to read first (``"numpy"`` backend);
* :mod:`alexnet_np.ops.kernels` — the same as plain Numba loops, the fast path (``"numba"``, the default);

and :mod:`alexnet_np.ops.naive`, loops written straight from the definitions, which the tests hold
both to. A layer calls one or the other in plain sight (``if ops.fast(): kernels.im2col(...) else:
reference.im2col(...)``), so go-to-definition leads from a layer to both.

    >>> import alexnet_np as an
    >>> an.set_backend("numpy")          # the process-wide default
    >>> with an.use_backend("numba"):    # for one block, in this thread only
    ...     y = layer.forward(x)

The environment variable ``ALEXNET_NP_BACKEND`` sets the starting default. Numba is a hard
dependency: the layers import the kernels module (and so Numba) even when the NumPy backend is
chosen; nothing is compiled until a kernel first runs.
"""

from __future__ import annotations

import contextlib
import os
import threading

BACKENDS = ("numba", "numpy")
_default: str | None = None
_this_thread = threading.local()  # use_backend's override, seen only by the thread that set it


def _validate(name):
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {BACKENDS}")
    return name


def set_backend(name: str) -> None:
    """Select the backend for every thread of this process (a ``use_backend`` block still wins inside it)."""
    global _default
    _default = _validate(name)


def get_backend() -> str:
    """The name of the backend in use in this thread."""
    global _default
    override = getattr(_this_thread, "name", None)
    if override is not None:
        return override
    if _default is None:
        _default = _validate(os.environ.get("ALEXNET_NP_BACKEND", "numba"))
    return _default


def fast() -> bool:
    """True when the layers should run :mod:`~alexnet_np.ops.kernels` (Numba), False for the reference."""
    return get_backend() == "numba"


@contextlib.contextmanager
def use_backend(name: str):
    """Context manager: run a block with another backend in this thread, then restore the previous one.

    Other threads keep theirs: two threads may each hold a different backend at once.
    """
    previous = getattr(_this_thread, "name", None)
    _this_thread.name = _validate(name)
    try:
        yield
    finally:
        _this_thread.name = previous


# ---- the convolution algorithm ------------------------------------------------------------------
# Which algorithm a Conv2d built without ``algorithm=`` uses, chosen the way the backend is: a process-wide
# default, and a per-thread override for one block. "auto" is a static rule on the layer's shape
# (Conv2d.conv_algorithm); "im2col" and "winograd" force one (a layer where Winograd does not apply raises).

CONV_ALGORITHMS = ("auto", "im2col", "winograd")
_conv_default: str | None = None
_conv_this_thread = threading.local()


def validate_conv_algorithm(name):
    if name not in CONV_ALGORITHMS:
        raise ValueError(f"unknown convolution algorithm {name!r}; choose one of {CONV_ALGORITHMS}")
    return name


def set_conv_algorithm(name: str) -> None:
    """Select the convolution algorithm for every thread of this process (``use_conv_algorithm`` still wins)."""
    global _conv_default
    _conv_default = validate_conv_algorithm(name)


def get_conv_algorithm() -> str:
    """The convolution algorithm in use in this thread (the starting default: ``ALEXNET_NP_CONV_ALGORITHM``
    or ``"auto"``)."""
    global _conv_default
    override = getattr(_conv_this_thread, "name", None)
    if override is not None:
        return override
    if _conv_default is None:
        _conv_default = validate_conv_algorithm(os.environ.get("ALEXNET_NP_CONV_ALGORITHM", "auto"))
    return _conv_default


@contextlib.contextmanager
def use_conv_algorithm(name: str):
    """Context manager: run a block with another convolution algorithm in this thread, then restore it.

    A layer built with an explicit ``algorithm=`` keeps its own; other threads keep theirs.
    """
    previous = getattr(_conv_this_thread, "name", None)
    _conv_this_thread.name = validate_conv_algorithm(name)
    try:
        yield
    finally:
        _conv_this_thread.name = previous
