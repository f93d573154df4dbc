"""Choose the kernels the layers run: ``"numba"`` (default, fast) or ``"numpy"`` (the readable reference).

    >>> import alexnet_np as an
    >>> an.set_backend("numpy")          # for the rest of the process
    >>> with an.use_backend("numba"):    # for one block
    ...     y = layer.forward(x)

The environment variable ``ALEXNET_NP_BACKEND`` sets the starting choice. There is no
silent fallback: if Numba cannot be imported, choosing ``"numba"`` raises ImportError.
"""
from __future__ import annotations

import contextlib
import importlib
import os

BACKENDS = ("numba", "numpy")
_MODULES = {"numba": "alexnet_np.kernels", "numpy": "alexnet_np.reference"}
_current = None


def _validate(name):
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {BACKENDS}")
    return name


def set_backend(name: str) -> None:
    """Select the backend for every layer in this process."""
    global _current
    _validate(name)
    importlib.import_module(_MODULES[name])  # fail here, loudly, not at the first forward
    _current = name


def get_backend() -> str:
    """The name of the backend in use."""
    if _current is None:
        set_backend(os.environ.get("ALEXNET_NP_BACKEND", "numba"))
    return _current


@contextlib.contextmanager
def use_backend(name: str):
    """Context manager: run a block with another backend, then restore the previous one."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def ops():
    """The module of kernels in use: :mod:`alexnet_np.kernels` or :mod:`alexnet_np.reference`."""
    return importlib.import_module(_MODULES[get_backend()])
