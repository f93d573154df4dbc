"""Numba's threading layer, chosen to be safe with ``fork`` and with several Python threads.

* ``omp`` (Numba's own pick on Linux when TBB is missing) uses GNU OpenMP, which kills a child forked
  after a parallel region ran ("fork() called from a process already using GNU OpenMP"): a
  ``multiprocessing`` pool with the 'fork' start method then waits forever.
* ``workqueue`` survives a fork but aborts the whole process when two Python threads run parallel
  kernels at once ("Concurrent access has been detected"). So while it is the layer in use, every
  kernel call goes through one process-wide lock: two threads take turns, and each kernel still uses
  all of Numba's threads (each kernel is already parallel, so two threads lose little by taking turns).
* ``tbb`` is safe for both, where the user installs and selects it; the lock then steps aside, as it
  does for ``omp`` if the user chose it.

The user's ``NUMBA_THREADING_LAYER`` always wins.

OpenBLAS's idle threads. After each matrix multiply OpenBLAS's worker threads spin for a while
(``OPENBLAS_THREAD_TIMEOUT``, 2^28 cycles by default) before they sleep; on a machine with few cores they take
the CPU from the Numba kernel that runs next (im2col, Winograd's transforms, pools, LRN). :func:`choose_layer`
sets ``OPENBLAS_THREAD_TIMEOUT=4`` when ``alexnet_np`` is imported before NumPy (``python -m alexnet_np
train``/``evaluate``, or a script whose first import is ``alexnet_np``; :func:`blas_timeout_set_here` says
whether it did). OpenBLAS reads the variable once, when NumPy loads it, and has no call to change it later
(``openblas_set_num_threads`` and threadpoolctl change the thread count only), so a program that imports NumPy
first, as every notebook does, keeps OpenBLAS's default unless it sets the variable itself. That program is
covered another way: the layers' products run through :func:`alexnet_np.ops.gemm.matmul`, which holds
OpenBLAS at one thread (so none of its workers is woken, and none is left spinning) and runs the blocks of
each product on threads of its own that sleep when idle.

What these settings are worth is measured by the benchmark (``python -m alexnet_np bench``: its default column
runs as a notebook does, NumPy first and nothing set; ``--settings best`` adds a column with this setting and
``OMP_WAIT_POLICY=passive``) and reported in docs/benchmarks.md, not here: a number in a docstring goes stale.
"""

from __future__ import annotations

import functools
import os
import sys
import threading

DEFAULT_LAYER = "workqueue"


BLAS_THREAD_TIMEOUT = "4"
_set_blas_timeout = False  # whether choose_layer set OPENBLAS_THREAD_TIMEOUT in this process


def choose_layer() -> None:
    """Select ``workqueue`` unless the user chose a layer. Runs at import, before any parallel kernel.

    Also OpenBLAS's spin time (``OPENBLAS_THREAD_TIMEOUT``, module docstring), when NumPy is not loaded yet and
    the user has not set it."""
    global _set_blas_timeout
    if "numpy" not in sys.modules and "OPENBLAS_THREAD_TIMEOUT" not in os.environ:
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = BLAS_THREAD_TIMEOUT
        _set_blas_timeout = True
    if "NUMBA_THREADING_LAYER" in os.environ:
        return
    if "numba" not in sys.modules:
        os.environ["NUMBA_THREADING_LAYER"] = DEFAULT_LAYER  # read by numba when it is imported
        return
    # numba was imported before us: kernels loaded from the on-disk cache never re-read the environment,
    # so set the configuration itself (only while no parallel kernel has run: after that it is fixed)
    import numba
    from numba.np.ufunc import parallel

    if numba.config.THREADING_LAYER == "default" and not parallel._is_initialized:
        numba.config.THREADING_LAYER = DEFAULT_LAYER


_lock = threading.RLock()  # re-entrant: a locked wrapper may call another one
_threadsafe_layer = False  # True once Numba reports a layer that needs no lock


def _new_lock_in_child():  # a fork while another thread holds the lock would leave the child's copy held
    global _lock
    _lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def blas_timeout_set_here() -> bool:
    """True when importing alexnet_np set ``OPENBLAS_THREAD_TIMEOUT`` (NumPy was not loaded yet and the user had
    not set it); False in a process that imported NumPy first, as a notebook does."""
    return _set_blas_timeout


def layer_in_use():
    """The threading layer Numba runs (``"workqueue"``, ``"omp"``, ``"tbb"``), or None before the first kernel."""
    try:
        import numba

        return numba.threading_layer()
    except (ImportError, ValueError):
        return None


def serialised(fn):
    """Decorator for the functions that call ``parallel=True`` kernels: one thread at a time on workqueue."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        global _threadsafe_layer
        if _threadsafe_layer:
            return fn(*args, **kwargs)
        with _lock:
            out = fn(*args, **kwargs)
            _threadsafe_layer = layer_in_use() in ("tbb", "omp")
        return out

    return wrapper


# ---- small work runs without threads ------------------------------------------------------------------

SMALL_WORK = 1 << 17
"""The size (elements) of a kernel's largest array below which it runs its loop on the calling thread alone
(:func:`sized`).

Starting a ``parallel=True`` loop wakes Numba's worker threads and waits for them on every call, which costs
more than a small loop takes on one thread; a training step of the mini network makes about seventy kernel
calls, most of them on small arrays (biases in the update, the later layers' activations). 2^17 is the level
that kept every network measured at or below its all-threads time: ``python experiments/small_work.py`` times
one kernel and four networks at several levels, and docs/benchmarks.md has its numbers."""

_serial_twins: dict = {}


def sized(kernel, work):
    """``kernel`` (a ``parallel=True`` Numba loop) when ``work`` (the size of its largest array) is at least
    :data:`SMALL_WORK`, else its *serial twin*: the same Python function compiled without ``parallel``, where
    ``prange`` runs as ``range``. The kernels' parallel loops split only work whose writes do not overlap and add
    nothing across iterations, and no fast-math flag lets the compiler reorder their arithmetic (Winograd's
    loops allow only ``contract``), so both compute every element the same way; ``tests/test_kernels.py`` holds
    every loop's two compilations to the same bits.

    With ``NUMBA_DISABLE_JIT=1`` a kernel is its plain Python function, returned as it is.
    """
    if work >= SMALL_WORK or not hasattr(kernel, "py_func"):
        return kernel
    return make_serial_twin(kernel)


def make_serial_twin(kernel):
    """``kernel``'s serial twin, made on first use (a Numba dispatcher: it compiles on its first call, or loads
    from Numba's on-disk cache)."""
    twin = _serial_twins.get(kernel)
    if twin is None:
        twin = _serial_twins[kernel] = _compile_serial(kernel)
    return twin


def serial_twin(kernel):
    """The serial twin :func:`sized` runs for small work, or None before it was first needed."""
    return _serial_twins.get(kernel)


def with_serial_twins(kernels):
    """``kernels`` and the serial twins made of them so far: every dispatcher that may have compiled code."""
    return [*kernels, *(t for t in map(_serial_twins.get, kernels) if t is not None)]


def _compile_serial(kernel):
    import types

    from numba import njit

    f = kernel.py_func
    twin = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    twin.__qualname__ = f.__qualname__ + "_serial"  # its own entry in Numba's on-disk cache
    twin.__module__, twin.__doc__ = f.__module__, f.__doc__
    options = {k: v for k, v in kernel.targetoptions.items() if k not in ("parallel", "nopython")}
    return njit(cache=True, **options)(twin)
