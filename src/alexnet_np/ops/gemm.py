"""Matrix multiplies split over the library's own threads, with OpenBLAS held to one thread while they run.

Reference: ``np.matmul(a, b, out=out)``. :func:`matmul` computes the same product (same shapes, same dtype,
each block by the same BLAS routine) and differs only in who runs it:

* **Why.** After every multithreaded GEMM, OpenBLAS's worker threads spin for a while before they sleep
  (``OPENBLAS_THREAD_TIMEOUT``). The Numba kernel that runs next (im2col, Winograd's transforms, LRN, pooling)
  wants the same cores; on a 2-core machine the spinning threads take them, and the kernel runs several
  times slower. OpenBLAS reads its spin setting once, when NumPy loads it, so a notebook that imported NumPy
  first cannot change it; the number of threads, though, can be changed at any time.
* **How.** While a :func:`matmul` runs, OpenBLAS is set to one thread (no worker of its own runs, so none is
  left spinning) and the product is cut into blocks, two per thread OpenBLAS had (the leading batch axis of a
  stacked product, else rows of ``a`` or columns of ``b``, whichever are more). The calling thread and the
  threads of this module's pool take blocks one at a time until none is left (NumPy releases the GIL inside
  BLAS); the caller never waits for a pool thread to wake, so where another program holds a core the product
  runs at one thread's speed rather than stalling. Idle pool threads *sleep* on a queue. Then OpenBLAS's
  thread count is put back.
* **What it respects.** The thread count is whatever OpenBLAS had (``OPENBLAS_NUM_THREADS``,
  ``threadpoolctl.threadpool_limits``): with one thread, :func:`matmul` is plain ``np.matmul``. Where no
  OpenBLAS is found (another BLAS), it is plain ``np.matmul`` too.
* **What it changes.** While one of these products runs, a NumPy matrix multiply in *another* Python thread
  of the same process also runs on one BLAS thread.

The benchmark (``python -m alexnet_np bench``) measures what this is worth in a process that imported NumPy
first; the numbers are in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import queue
import threading

import numpy as np

MIN_MACS_TO_SPLIT = 1 << 21  # below ~2 M multiply-adds a block is too small to repay a thread hand-off
MIN_ROWS_PER_BLOCK = 32
BLOCKS_PER_THREAD = 2  # more blocks than threads: a thread slowed by another program takes fewer of them


class _Blas:
    """OpenBLAS's thread count, read and set through threadpoolctl (None where it finds no OpenBLAS)."""

    def __init__(self):
        self.controller = None
        try:
            from threadpoolctl import ThreadpoolController

            found = ThreadpoolController().select(internal_api="openblas").lib_controllers
            # NumPy's own OpenBLAS (a wheel bundles it under numpy.libs) before any other library's
            found.sort(key=lambda c: "numpy" not in str(c.filepath))
            self.controller = found[0] if found else None
        except Exception:  # threadpoolctl missing or unable to inspect this process: run plain np.matmul
            self.controller = None
        self.lock = threading.Lock()
        self.users = 0  # matmul calls in progress (any thread)
        self.saved = 1  # OpenBLAS's thread count before the first of them

    def enter(self) -> int:
        """Hold OpenBLAS at one thread; the number of blocks to cut the product into."""
        if self.controller is None:
            return 1
        with self.lock:
            if self.users == 0:
                self.saved = self.controller.get_num_threads() or 1
                if self.saved > 1:
                    self.controller.set_num_threads(1)
            self.users += 1
            return self.saved

    def leave(self) -> None:
        if self.controller is None:
            return
        with self.lock:
            self.users -= 1
            if self.users == 0 and self.saved > 1:
                self.controller.set_num_threads(self.saved)


class _Blocks:
    """One product's blocks, taken one at a time by whichever thread is free: the caller, and pool threads."""

    def __init__(self, blocks):
        self.blocks, self.next, self.finished, self.failure = blocks, 0, 0, None
        self.errors = np.geterr()  # NumPy keeps errstate per thread: the pool's threads take the caller's
        self.lock, self.all_done = threading.Lock(), threading.Event()

    def work(self):
        """Run blocks until none is left to take."""
        while True:
            with self.lock:
                i = self.next
                self.next += 1
            if i >= len(self.blocks):
                return
            try:
                with np.errstate(**self.errors):
                    self.blocks[i]()
            except BaseException as e:  # handed to the caller, raised there
                self.failure = self.failure or e
            with self.lock:
                self.finished += 1
                if self.finished == len(self.blocks):
                    self.all_done.set()


class _Pool:
    """Worker threads that sleep on a queue until a product's blocks are put there."""

    def __init__(self):
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.workers: list[threading.Thread] = []
        self.lock = threading.Lock()

    def ensure(self, n):
        with self.lock:
            while len(self.workers) < n:
                t = threading.Thread(target=self._work, name="alexnet_np-gemm", daemon=True)
                t.start()
                self.workers.append(t)

    def _work(self):
        while True:
            self.tasks.get().work()

    def run(self, blocks, helpers):
        """Run ``blocks`` (callables) on the calling thread and up to ``helpers`` pool threads; re-raise the
        first failure.

        The caller does not wait for a pool thread to wake: it takes blocks itself until none is left, and
        then waits only for the blocks a pool thread has started. Where another program holds the other
        cores, the product so runs at one thread's speed instead of waiting for a thread that cannot run."""
        self.ensure(helpers)
        shared = _Blocks(blocks)
        for _ in range(min(helpers, len(blocks) - 1)):
            self.tasks.put(shared)
        shared.work()
        shared.all_done.wait()
        if shared.failure is not None:
            raise shared.failure


_blas: _Blas | None = None
_pool = _Pool()


def _reset_after_fork():  # threads do not survive a fork; the child starts an empty pool
    global _pool, _blas
    _pool = _Pool()
    if _blas is not None:
        _blas.lock = threading.Lock()
        _blas.users = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _cuts(n, parts):
    """``parts`` + 1 boundaries cutting range(n) into nearly equal pieces."""
    return [n * i // parts for i in range(parts + 1)]


def _blocks(a, b, out, parts):
    """Callables that each compute one block of ``out = a @ b``, or None when the product is not worth cutting."""
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = out.shape[:-2]
    macs = int(np.prod(batch, dtype=np.int64)) * m * k * n
    if macs < MIN_MACS_TO_SPLIT:
        return None
    if a.ndim == b.ndim and a.ndim >= 3 and a.shape[0] == b.shape[0] == out.shape[0] and a.shape[0] >= parts:
        edges = _cuts(a.shape[0], parts)  # the stacked products, a slice of them each
        return [lambda i=i, j=j: np.matmul(a[i:j], b[i:j], out=out[i:j]) for i, j in zip(edges, edges[1:])]
    # Each block packs its slice of one operand and the whole of the other: cut the longer side, so the
    # operand every block repacks is the smaller (conv3 at batch 1, 169 rows against 384 columns: cutting
    # rows had each thread pack the whole 2304 × 384 weight; docs/benchmarks.md has the batch-1 runs).
    for side in sorted(("rows", "columns"), key=lambda s: -(m if s == "rows" else n)):
        length = m if side == "rows" else n
        if length < parts * MIN_ROWS_PER_BLOCK:
            continue
        edges = _cuts(length, parts)
        if side == "rows":
            return [
                lambda i=i, j=j: np.matmul(a[..., i:j, :], b, out=out[..., i:j, :])
                for i, j in zip(edges, edges[1:])
            ]
        return [
            lambda i=i, j=j: np.matmul(a, b[..., i:j], out=out[..., i:j]) for i, j in zip(edges, edges[1:])
        ]
    return None


def run_blocks(blocks):
    """Run the callables ``blocks`` (each one block of some work, writing where no other block writes) on the
    calling thread and this module's pool, with OpenBLAS held to one thread, exactly as :func:`matmul` runs its
    blocks; return when all are done, re-raising the first failure. A block may call ``np.matmul`` and Numba
    code compiled with ``nogil=True`` (both release the GIL, so the blocks run side by side); it must not call
    a ``parallel=True`` kernel."""
    global _blas
    if _blas is None:
        _blas = _Blas()
    parts = _blas.enter()
    try:
        if parts > 1 and len(blocks) > 1:
            _pool.run(blocks, helpers=parts - 1)
        else:
            for block in blocks:
                block()
    finally:
        _blas.leave()


def matmul(a, b, out=None):
    """``a @ b`` (into ``out`` when given, as ``np.matmul``), cut into blocks run on this module's threads
    with OpenBLAS held to one thread (module docstring).

    a: (..., M, K), b: (..., K, N) -> (..., M, N), broadcast over the leading axes as ``np.matmul`` does.
    Reference: ``np.matmul(a, b, out=out)``; every block of the result is one ``np.matmul`` call on slices.
    """
    global _blas
    if out is None:
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            return np.matmul(a, b)  # let NumPy word the error (or handle 1-D operands)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        out = np.empty((*batch, a.shape[-2], b.shape[-1]), dtype=np.result_type(a, b))
    if _blas is None:
        _blas = _Blas()
    parts = _blas.enter()
    try:
        blocks = None
        if parts > 1 and a.ndim >= 2 and b.ndim >= 2:
            blocks = _blocks(a, b, out, BLOCKS_PER_THREAD * parts) or _blocks(a, b, out, parts)
        if blocks is None:
            np.matmul(a, b, out=out)
        else:
            _pool.run(blocks, helpers=parts - 1)
    finally:
        _blas.leave()
    return out
