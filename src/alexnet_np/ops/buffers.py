"""Reusing arrays from call to call: one rule for the layers' and the kernels' work arrays.

A fresh 100 MB array costs page faults on its first touch in every call, so the arrays a layer fills
again in every forward or backward pass (im2col's column matrix, Winograd's transforms) are kept and
reused while their shape and dtype stay the same: :func:`reuse`. Arrays made and consumed inside one
call (the column gradient, Winograd's M and dV) borrow the thread's one :func:`scratch` array instead,
shared by every layer: a network needs the largest, not the sum.

The arrays a step makes afresh (activations, their gradients, the caches) are handed back to the C allocator
when dropped; :func:`keep_freed_memory` has glibc's malloc keep that memory for the next step instead of
returning it to the system and faulting it in again.
"""

from __future__ import annotations

import ctypes
import os
import threading
import warnings
from math import prod

import numpy as np

from ..errors import BadArgument

_scratch = threading.local()

MALLOC_ENV = "ALEXNET_NP_MALLOC"
"""``keep`` (the default): :func:`keep_freed_memory` runs when alexnet_np is imported; ``system``: it does not."""

MMAP_THRESHOLD = 256 << 20
"""Blocks smaller than this come from malloc's heap, whose freed memory is reused, rather than from a mapping of
their own (glibc's default moves between 128 KiB and 32 MiB: conv1's activations at batch 32, 37 MB, were
mapped, and so unmapped when freed and faulted in again, page by page, in every step). An older glibc refuses
more than 32 MiB (:data:`OLD_GLIBC_MMAP_THRESHOLD`), which is then set instead; glibc 2.36 accepts 256 MiB."""

OLD_GLIBC_MMAP_THRESHOLD = 32 << 20
"""The largest mmap threshold an older glibc accepts on 64-bit (its mallopt checked the value against half its
64 MiB heap size)."""

TRIM_THRESHOLD = 256 << 20
"""Free memory at the top of the heap is given back to the system only beyond this (glibc's default: twice the
mmap threshold, which gave back and faulted in again about 2,400–2,600 pages per training step of the single
tower)."""

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)

keeps_freed_memory = False
"""Whether :func:`keep_freed_memory` took effect in this process (the benchmark prints it)."""

mmap_threshold = None
"""The mmap threshold :func:`keep_freed_memory` set (bytes), or None where it set none."""


def malloc_choice(env=None):
    """``ALEXNET_NP_MALLOC`` (or ``env``), checked: ``keep`` when unset; BadArgument naming the variable."""
    choice = os.environ.get(MALLOC_ENV, "keep") if env is None else env
    if choice not in ("keep", "system"):
        raise BadArgument(f"environment variable {MALLOC_ENV}: expected 'keep' or 'system', got {choice!r}")
    return choice


def _glibc():
    """The C library loaded in this process when it is glibc (which has ``mallopt`` and ``malloc_trim``), else
    None. No subprocess (``ctypes.util.find_library`` would run ldconfig)."""
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return None
        return ctypes.CDLL(None)
    except (AttributeError, ValueError, OSError):  # no confstr (not Unix), no such name (not glibc)
        return None


def keep_freed_memory(env=None):
    """Have glibc's malloc keep freed memory for reuse: :data:`MMAP_THRESHOLD` and :data:`TRIM_THRESHOLD`.

    Under glibc's defaults a training step of the single tower at batch 32 makes about 2,400–2,600 page faults
    and spends 43–65 ms in the system (medians per step); its large arrays go back to the system when freed and
    come back, zeroed page by page, in the next step. With the thresholds raised: no faults, and the step's
    fastest / median time 593–598 / 628–673 ms against 622–652 / 688–761 ms, three fresh processes each,
    alternated (``python experiments/allocator_ab.py``, AMD EPYC, glibc 2.36, 2 threads, 2026-12-07).

    The cost is memory. What is freed stays resident until new arrays reuse it (:func:`release_freed_memory`
    gives it back; glibc gives back on its own only free memory at the top of its heap beyond
    :data:`TRIM_THRESHOLD`), and freed blocks that a later array does not fit add to the peak: two training steps
    of the single tower under "auto" grew the process by 1,574 / 3,839 MiB at batch 32 / 128, against 1,490 /
    3,566 MiB of arrays alive (``python experiments/memory_peak.py --algorithm auto``, docs/benchmarks.md).

    Does nothing where the C library is not glibc (macOS, musl), where ``ALEXNET_NP_MALLOC=system``, or where that
    variable holds anything else (a warning says so on import; :func:`malloc_choice` refuses it when
    :func:`alexnet_np.ops.check_environment` runs, as the command line does). On a glibc that refuses 256 MiB,
    the mmap threshold is set to :data:`OLD_GLIBC_MMAP_THRESHOLD`: arrays above 32 MiB are then
    still mapped afresh. Returns whether the thresholds were set; also kept in :data:`keeps_freed_memory` and
    :data:`mmap_threshold`.
    """
    global keeps_freed_memory, mmap_threshold
    keeps_freed_memory, mmap_threshold = False, None
    try:
        choice = malloc_choice(env)
    except BadArgument as err:  # one line, named after the variable, no line of our source under it
        warnings.warn_explicit(f"{err}; glibc's allocator left as it is", UserWarning, MALLOC_ENV, 0)
        return False
    libc = _glibc() if choice == "keep" else None
    if libc is None:
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # the mmap threshold first: setting either fixes both (glibc stops adjusting them), and the trim
    # threshold alone would leave every block above 128 KiB mapped
    for threshold in (MMAP_THRESHOLD, OLD_GLIBC_MMAP_THRESHOLD):
        if mallopt(_M_MMAP_THRESHOLD, threshold) == 1:
            mmap_threshold = threshold
            break
    else:
        return False
    keeps_freed_memory = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return keeps_freed_memory


def reuse(buf, shape, dtype):
    """``buf`` when it has ``shape`` and ``dtype`` (C-contiguous), else a new empty array of them.

    The caller stores the result and passes it back next time; nothing here keeps a reference.
    """
    shape = tuple(shape)
    if buf is None or buf.shape != shape or buf.dtype != np.dtype(dtype) or not buf.flags.c_contiguous:
        return np.empty(shape, dtype=dtype)
    return buf


def scratch(shape, dtype):
    """A scratch array shared by every layer in this thread, for values used and dropped within one call.

    Its contents are overwritten by the next call that borrows it: never keep it, never return it. At
    batch 32 one buffer the size of the largest layer's column gradient saves ~340 MB on the single tower
    compared with one buffer per layer.
    """
    size, key = prod(shape), str(np.dtype(dtype))
    flat = getattr(_scratch, key, None)
    if flat is None or flat.size < size:
        flat = np.empty(size, dtype=dtype)
        setattr(_scratch, key, flat)
    return flat[:size].reshape(shape)


def release_freed_memory():
    """Give back to the system the freed memory malloc holds for reuse (glibc's ``malloc_trim(0)``), now.

    With :func:`keep_freed_memory`, a dropped model's arrays may stay resident until new ones reuse them; call
    this after training in a long-lived process (a notebook) to shrink it, or before reading a baseline resident
    size (:mod:`alexnet_np.peak_memory`, the benchmark's memory rows) so that memory held for reuse is not
    counted as in use. Returns whether any was given back (False where the C library is not glibc).
    """
    libc = _glibc()
    if libc is None:
        return False
    trim = libc.malloc_trim
    trim.argtypes, trim.restype = (ctypes.c_size_t,), ctypes.c_int
    return trim(0) == 1
