"""Numba's threading layer, chosen to be safe with ``fork`` and with several Python threads.

* ``omp`` (Numba's own pick on Linux when TBB is missing) uses GNU OpenMP, which kills a child forked
  after a parallel region ran ("fork() called from a process already using GNU OpenMP"): a
  ``multiprocessing`` pool with the 'fork' start method then waits forever.
* ``workqueue`` survives a fork but aborts the whole process when two Python threads run parallel
  kernels at once ("Concurrent access has been detected"). So while it is the layer in use, every
  kernel call goes through one process-wide lock: two threads take turns, and each kernel still uses
  all of Numba's threads. (Measured on 2 cores: two mini-AlexNet training steps in two threads took
  1.2–1.4× the time of one after the other; with TBB 1.1×. No layer made two threads faster there.)
* ``tbb`` is safe for both, where the user installs and selects it; the lock then steps aside, as it
  does for ``omp`` if the user chose it.

The user's ``NUMBA_THREADING_LAYER`` always wins.
"""

from __future__ import annotations

import functools
import os
import sys
import threading

DEFAULT_LAYER = "workqueue"


def choose_layer() -> None:
    """Select ``workqueue`` unless the user chose a layer. Runs at import, before any parallel kernel."""
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
