"""The kernels the layers run, and the switch between them.

Two implementations of the same functions, named and imported explicitly:

* :mod:`alexnet_np.ops.reference` — readable NumPy, the one to read first (``"numpy"`` backend);
* :mod:`alexnet_np.ops.kernels` — the same as plain Numba loops, the fast path (``"numba"``, the default);

and :mod:`alexnet_np.ops.naive`, loops written straight from the definitions, which the tests hold
both to. A layer calls one or the other in plain sight (``if ops.fast(): kernels.im2col(...) else:
reference.im2col(...)``), so go-to-definition leads from a layer to both.

    >>> import numpy as np, alexnet_np as an
    >>> layer, x = an.ReLU(), np.linspace(-1, 1, 6, dtype=np.float32)
    >>> an.set_backend("numpy")          # the process-wide default
    >>> with an.use_backend("numba"):    # for one block, in this thread only
    ...     y = layer.forward(x)
    >>> an.set_backend("numba")          # back to the library's default

The environment variable ``ALEXNET_NP_BACKEND`` sets the starting default. Numba is a hard
dependency: the layers import the kernels module (and so Numba) even when the NumPy backend is
chosen; nothing is compiled until a kernel first runs.
"""

from __future__ import annotations

import contextlib
import os
import threading

from ..errors import BadArgument


class _ThreadSetting:
    """A choice with a process-wide default (read first from an environment variable) and a per-thread
    override for one block: the backend and the convolution algorithm are both chosen this way."""

    def __init__(self, what, choices, env, fallback):
        self.what, self.choices, self.env, self.fallback = what, choices, env, fallback
        self.default = None
        self.this_thread = threading.local()  # the override, seen only by the thread that set it

    def validate(self, name, source=None):
        """``name`` if it is one of the choices (exactly: no case folding, no spaces), else BadArgument naming
        ``source`` (where the value came from) when given."""
        if name not in self.choices:
            where = f"{source}: " if source else ""
            raise BadArgument(f"{where}unknown {self.what} {name!r}; choose one of {self.choices}")
        return name

    def from_environment(self):
        """The process default from the environment variable (or the fallback), checked."""
        return self.validate(os.environ.get(self.env, self.fallback), f"environment variable {self.env}")

    def set(self, name):
        self.default = self.validate(name)

    def get(self):
        override = getattr(self.this_thread, "name", None)
        if override is not None:
            return override
        if self.default is None:
            self.default = self.from_environment()
        return self.default

    @contextlib.contextmanager
    def use(self, name):
        previous = getattr(self.this_thread, "name", None)
        self.this_thread.name = self.validate(name)
        try:
            yield
        finally:
            self.this_thread.name = previous


def check_environment() -> None:
    """Check ``ALEXNET_NP_BACKEND``, ``ALEXNET_NP_CONV_ALGORITHM`` and ``ALEXNET_NP_MALLOC`` now (BadArgument
    naming the variable), so a program can refuse a bad setting before it loads any data (the first layer would
    refuse the first two anyway; a bad ``ALEXNET_NP_MALLOC`` left glibc's allocator as it was at import)."""
    from .buffers import malloc_choice

    _backend.get()
    _conv.get()
    malloc_choice()


BACKENDS = ("numba", "numpy")
_backend = _ThreadSetting("backend", BACKENDS, "ALEXNET_NP_BACKEND", "numba")


def set_backend(name: str) -> None:
    """Select the backend for every thread of this process (a ``use_backend`` block still wins inside it)."""
    _backend.set(name)


def get_backend() -> str:
    """The name of the backend in use in this thread."""
    return _backend.get()


def fast() -> bool:
    """True when the layers should run :mod:`~alexnet_np.ops.kernels` (Numba), False for the reference."""
    return get_backend() == "numba"


def use_backend(name: str):
    """Context manager: run a block with another backend in this thread, then restore the previous one.

    Other threads keep theirs: two threads may each hold a different backend at once.
    """
    return _backend.use(name)


# ---- the convolution algorithm ------------------------------------------------------------------
# Which algorithm a Conv2d built without ``algorithm=`` uses, chosen the way the backend is: a process-wide
# default, and a per-thread override for one block. "auto" is a static rule on the layer's shape
# (Conv2d.conv_algorithm); "im2col", "winograd" and "space_to_depth" force one (a layer where it does not apply
# raises).

CONV_ALGORITHMS = ("auto", "im2col", "winograd", "space_to_depth")
_conv = _ThreadSetting("convolution algorithm", CONV_ALGORITHMS, "ALEXNET_NP_CONV_ALGORITHM", "auto")
validate_conv_algorithm = _conv.validate


def set_conv_algorithm(name: str) -> None:
    """Select the convolution algorithm for every thread of this process (``use_conv_algorithm`` still wins)."""
    _conv.set(name)


def get_conv_algorithm() -> str:
    """The convolution algorithm in use in this thread (the starting default: ``ALEXNET_NP_CONV_ALGORITHM``
    or ``"auto"``)."""
    return _conv.get()


def use_conv_algorithm(name: str):
    """Context manager: run a block with another convolution algorithm in this thread, then restore it.

    A layer built with an explicit ``algorithm=`` keeps its own; other threads keep theirs.
    """
    return _conv.use(name)
